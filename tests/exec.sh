#!/bin/sh
# exec.sh - target exec (--broker exec:CMD, exec/README.md): mosquitto run in virtual time.
#
#   - conform 3.1.1 against exec:mosquitto passes with mosquitto's expected failures, with
#     the verdicts mosquitto gets over real TCP; conform 5.0 passes with its 5.0 ones;
#   - the same runs twice (in one process and in worker processes) give the same trace hashes,
#     and explore --check-determinism finds no difference;
#   - a broker crash kills it, the restart starts it again (tests/scenarios/exec-crash-restart);
#   - a broker that starts a thread is refused, naming pthread_create (exit 2);
#   - a broker not found, one that exits at start (its output shown), one that never listens
#     and a statically linked one are each refused with exit 2 and the reason.
# Without mosquitto: a NOTE, or under CI a failure (tests/lib.sh).
set -u
M=${MQTTSIM:-build/mqttsim}
THREADED=${EXEC_THREADED:-build/exec_threaded}
. "$(dirname "$0")/lib.sh"
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# expect_refusal NAME CODE PATTERN CMD...: CMD exits CODE and its output matches PATTERN.
expect_refusal() {
	_name=$1 _code=$2 _pat=$3
	shift 3
	"$@" >"$tmp/out" 2>&1
	_rc=$?
	if [ "$_rc" -eq "$_code" ] && grep -q -- "$_pat" "$tmp/out"; then
		ok
	else
		bad "$_name: exit $_rc (want $_code), output:"
		sed 's/^/    /' "$tmp/out" | head -8
	fi
}

if need_tool mosquitto mosquitto "mosquitto was not run in virtual time"; then
	B="exec:$tool -c {config}"
	# The whole 3.1.1 suite, its verdicts against mosquitto's known deviations: exit 0, and
	# verdict for verdict those of mosquitto over real TCP (tests/golden.sh records them).
	if "$M" conform --broker "$B" --expect-failures conformance/expected-failures/mosquitto.txt >"$tmp/conform" 2>&1; then
		ok
	else
		bad "conform --broker '$B' with mosquitto's expected failures:"
		grep -E '^(FAIL|ERROR|XPASS)' "$tmp/conform" | head -8 | sed 's/^/    /'
	fi
	grep -E '^(FAIL|XFAIL|XPASS|OPTIONAL|UNREACHED|statements:) ' "$tmp/conform" | sed 's/  seed=.*//' | sort >"$tmp/v.exec"
	grep -v '^exit ' tests/golden/conform-mosquitto-verdicts.txt >"$tmp/v.tcp"
	if [ -s "$tmp/v.exec" ] && cmp -s "$tmp/v.exec" "$tmp/v.tcp"; then
		ok
	else
		bad "the verdicts under exec differ from mosquitto's over TCP (tests/golden/conform-mosquitto-verdicts.txt):"
		diff "$tmp/v.tcp" "$tmp/v.exec" | head -8 | sed 's/^/    /'
	fi
	# The 5.0 suite too: exit 0 with mosquitto's pinned 5.0 deviations, and nothing failed.
	if "$M" conform --version 5.0 --broker "$B" --expect-failures conformance/expected-failures/mosquitto.txt >"$tmp/conform5" 2>&1 &&
	   grep -q '^statements: [0-9]* pass, 0 fail, [1-9]' "$tmp/conform5"; then
		ok
	else
		bad "conform --version 5.0 --broker '$B' with mosquitto's expected failures:"
		grep -E '^(FAIL|ERROR|XPASS|statements)' "$tmp/conform5" | head -8 | sed 's/^/    /'
	fi
	# Determinism: the same scenarios twice, once in worker processes, once in one process;
	# every line (verdict, virtual time, events, trace hash) must agree.
	set -- scenarios/conformance scenarios/explore scenarios/flaky/qos1-duplicates-after-reconnect.yaml
	"$M" run "$@" --broker "$B" -j 2 >"$tmp/r1" 2>&1
	"$M" run "$@" --broker "$B" -j 1 >"$tmp/r2" 2>&1
	n=$(grep -c ' trace=' "$tmp/r1")
	if [ "$n" -ge 90 ] && cmp -s "$tmp/r1" "$tmp/r2"; then
		ok
	else
		bad "two runs of $n scenarios against exec:mosquitto differ (or too few ran):"
		diff "$tmp/r1" "$tmp/r2" | head -6 | sed 's/^/    /'
	fi
	# A crash kills the broker at a virtual instant; the restart starts it again, and without
	# persistence the session is gone (Session Present 0).
	"$M" run tests/scenarios/exec-crash-restart.yaml --broker "$B" --out "$tmp" >"$tmp/crash" 2>&1
	if grep -q '^PASS' "$tmp/crash" && grep -q 'exec broker .* killed' "$tmp/exec-crash-restart.trace" &&
		grep -q 'exec broker .* started again' "$tmp/exec-crash-restart.trace"; then
		ok
	else
		bad "crash and restart under exec:"
		sed 's/^/    /' "$tmp/crash" | head -8
	fi
	# explore under exec: the planted failure's scenario, each seed twice and once in a fresh
	# process, with no difference.
	if "$M" explore scenarios/explore/planted-qos0-partition.yaml --seeds 8 --check-determinism --broker "$B" \
		>"$tmp/explore" 2>&1 && grep -q '8 seeds run.*8 passed' "$tmp/explore"; then
		ok
	else
		bad "explore --check-determinism under exec:"
		sed 's/^/    /' "$tmp/explore" | head -8
	fi
	# A failing run names its replay with the command quoted for the shell.
	"$M" run scenarios/conformance/2.2-flags-pingreq.yaml --broker "$B" >"$tmp/fail" 2>&1
	if grep -q -- "--broker 'exec:$tool -c {config}'" "$tmp/fail"; then ok; else bad "no quoted replay line:"; cat "$tmp/fail"; fi
	# Trace with the broker's bytes decoded, as in simulation.
	"$M" run scenarios/conformance/4.3-qos0-delivery.yaml --broker "$B" --out "$tmp" >/dev/null 2>&1
	if grep -q 'broker c1 mqtt -> CONNECT' "$tmp/4.3-qos0-delivery.trace" 2>/dev/null &&
		grep -q 'exec broker .*mosquitto started' "$tmp/4.3-qos0-delivery.trace"; then
		ok
	else
		bad "the trace of 4.3-qos0-delivery under exec lacks the decoded CONNECT or the start line"
	fi
fi

s=scenarios/conformance/4.3-qos0-delivery.yaml
if [ -x "$THREADED" ]; then
	expect_refusal "a threaded broker" 2 "called pthread_create" "$M" run "$s" --broker "exec:$THREADED"
else
	bad "$THREADED is missing (make $THREADED)"
fi
expect_refusal "a broker not found" 2 "not found in PATH" "$M" run "$s" --broker "exec:no-such-broker-here -c {config}"
expect_refusal "a broker exiting at start" 2 "exited at start (exit status 3).*" "$M" run "$s" \
	--broker "exec:sh -c 'echo broken config >&2; exit 3'"
grep -q "broken config" "$tmp/out" && ok || bad "the output of a broker exiting at start is not shown"
expect_refusal "a broker that never listens" 2 "does not listen on port 1883" "$M" run "$s" --broker "exec:sleep 5"
expect_refusal "an empty exec command" 2 "takes" "$M" run "$s" --broker "exec:"
printf 'int main(void){return 0;}\n' >"$tmp/st.c"
if ${CC:-cc} -static -o "$tmp/static" "$tmp/st.c" 2>/dev/null; then
	expect_refusal "a static broker" 2 "statically linked" "$M" run "$s" --broker "exec:$tmp/static"
else
	missing "no static libc (libc.a) to link a static test binary" libc6-dev "the static-binary refusal was not checked"
fi
echo "exec: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
