#!/bin/sh
# aedes.sh - the conformance suite against aedes, the Node.js MQTT broker from npm:
#  - aedes, at the version pinned in tests/aedes/package.json (dependencies from
#    tests/aedes/package-lock.json), is installed into build/aedes when it is not there yet;
#  - tests/aedes/server.js starts it on a free loopback port;
#  - `mqttsim conform` passes apart from the deviations listed, with reasons, in
#    conformance/expected-failures/aedes.txt, and two runs give the same verdicts;
#  - aedes speaks no MQTT 5.0: `conform --version 5.0` says so and exits 2, `--version all`
#    judges 3.1.1 alone.
# Without Node.js 20 or later (or npm, to install aedes) nothing is checked: a NOTE, or under
# CI a failure (tests/lib.sh).
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
X=conformance/expected-failures/aedes.txt
PREFIX=build/aedes
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
finish() { echo "aedes: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

need_tool node nodejs "conform was not run against aedes" || finish
want=$(node -p "require('./tests/aedes/package.json').dependencies.aedes")
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
	missing "node $(node --version) is older than aedes $want needs (20)" "nodejs (20 or later)" "conform was not run against aedes"
	finish
fi

tmp=$(mktemp -d)
apid=""
trap '[ -n "$apid" ] && kill $apid 2>/dev/null; rm -rf "$tmp"' EXIT

# Install when the pinned version is missing or the lockfile changed since the last install.
have=$(node -p "require('./$PREFIX/node_modules/aedes/package.json').version" 2>/dev/null)
if [ "$have" != "$want" ] || ! cmp -s tests/aedes/package-lock.json "$PREFIX/package-lock.json"; then
	need_tool npm npm "aedes $want could not be installed, and conform was not run against it" || finish
	rm -rf "$PREFIX"
	mkdir -p "$PREFIX"
	cp tests/aedes/package.json tests/aedes/package-lock.json "$PREFIX/"
	if npm ci --prefix "$PREFIX" --no-audit --no-fund --loglevel=error >"$tmp/npm.log" 2>&1; then
		ok "installed aedes $want into $PREFIX"
	else
		bad "npm ci --prefix $PREFIX (aedes $want)" "$(tail -15 "$tmp/npm.log")"
		rm -rf "$PREFIX"
		finish
	fi
fi

# Port 0: the server takes a free one and says which.
node tests/aedes/server.js 0 "$PREFIX" >"$tmp/aedes.log" 2>&1 &
apid=$!
port=""
for _ in $(seq 1 100); do
	port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/aedes.log")
	[ -n "$port" ] && break
	kill -0 $apid 2>/dev/null || break
	sleep 0.1
done
if [ -z "$port" ]; then
	bad "aedes $want did not start" "$(tail -15 "$tmp/aedes.log")"
	finish
fi
ok "aedes $want listening on 127.0.0.1:$port"

for run in 1 2; do
	"$M" conform --broker "tcp://127.0.0.1:$port" -j 4 --expect-failures "$X" >"$tmp/c$run" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "aedes run $run: $(grep '^statements:' "$tmp/c$run")"
	else
		# Unexpected failures first, then what their scenarios saw.
		bad "aedes run $run (exit $rc)" "$(grep -E '^(FAIL |XPASS|statements)' "$tmp/c$run" | head -20)" \
			"$(sed -n '/^FAIL  [^M]/,$p' "$tmp/c$run" | grep -vE '^(XFAIL|  expected:)' | head -60)"
	fi
done
# A listed deviation may pass now and then (a race in aedes, see the file's entries): XPASS and
# XFAIL are the same verdict here, "known deviation". Everything else must be identical.
for run in 1 2; do
	grep -E '^(FAIL|XFAIL|XPASS|OPTIONAL|UNREACHED)' "$tmp/c$run" | sed 's/^XPASS/XFAIL/; s/ (.*//' | sort -u >"$tmp/v$run"
done
if cmp -s "$tmp/v1" "$tmp/v2"; then
	ok "aedes: two runs, the same verdicts"
else
	bad "aedes verdicts differ between runs" "$(diff "$tmp/v1" "$tmp/v2" | head)"
fi

# aedes speaks no MQTT 5.0 (it answers a 5.0 CONNECT with the 3.1.1 CONNACK 0x01): the probe
# says so and nothing runs (exit 2); with --version all the 3.1.1 suite still runs and its
# verdict is the exit code, 5.0 reported as not supported by the broker.
t0=$(date +%s)
"$M" conform --version 5.0 --broker "tcp://127.0.0.1:$port" -j 4 >"$tmp/v5" 2>"$tmp/v5.err"; rc=$?
t1=$(date +%s)
want="mqttsim conform: the broker at tcp://127.0.0.1:$port refused MQTT 5.0 (CONNACK 0x01, unacceptable protocol version: the answer of a 3.1.1 broker): run --version 3.1.1; nothing was run"
if [ $rc -eq 2 ] && grep -qxF "$want" "$tmp/v5.err" && [ $((t1 - t0)) -le 3 ] && grep -q '^statements: 0 pass, 0 fail' "$tmp/v5"; then
	ok "aedes, --version 5.0: refused MQTT 5.0, said before anything ran (exit 2)"
else
	bad "aedes, --version 5.0 (exit $rc, $((t1 - t0)) s; wanted exit 2 and: $want)" "$(cat "$tmp/v5.err")" "$(grep -E '^(statements|conform)' "$tmp/v5")"
fi
"$M" conform --version all --only MQTT-3.1.0-2,MQTT-4.8.2-1 --broker "tcp://127.0.0.1:$port" --expect-failures "$X" >"$tmp/all" 2>"$tmp/all.err"; rc=$?
if [ $rc -eq 0 ] && grep -qxF 'conform --version all: 3.1.1 passed, 5.0 not supported by the broker (it refused MQTT 5.0)' "$tmp/all" &&
	grep -q '^statements: 1 pass, 0 fail' "$tmp/all"; then
	ok "aedes, --version all: 3.1.1 judged (exit 0), 5.0 not supported by the broker"
else
	bad "aedes, --version all (exit $rc, wanted 0)" "$(cat "$tmp/all.err")" "$(grep -E '^(statements|conform)' "$tmp/all")"
fi

if kill -0 $apid 2>/dev/null; then
	kill -TERM $apid
	wait $apid
	rc=$?
	apid=""
	if [ $rc -eq 0 ]; then
		ok "aedes stopped on SIGTERM"
	else
		bad "aedes exit status $rc on SIGTERM" "$(tail -5 "$tmp/aedes.log")"
	fi
else
	apid=""
	bad "aedes exited during the runs" "$(tail -15 "$tmp/aedes.log")"
fi
finish
