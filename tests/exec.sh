#!/bin/sh
# exec.sh - target exec (--broker exec:CMD, exec/README.md): mosquitto run in virtual time.
#
#   - conform 3.1.1 against exec:mosquitto passes with mosquitto's expected failures, with
#     the verdicts mosquitto gets over real TCP; conform 5.0 passes with its 5.0 ones;
#   - the same runs twice (in one process and in worker processes) give the same trace hashes,
#     and explore --check-determinism finds no difference;
#   - a broker crash kills it, the restart starts it again (tests/scenarios/exec-crash-restart);
#   - with mosquitto's persistence (exec_config) what autosave saved survives the crash, and
#     without an autosave it is lost (tests/scenarios/exec-persistence-crash);
#   - explore finds the planted scenario's failing seed under exec, shrink --broker exec:
#     shrinks it, replay runs its trace again identically;
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
	# mosquitto's own persistence across a crash (tests/scenarios/exec-persistence-crash,
	# broker: exec_config): what autosave wrote before the SIGKILL survives the restart, the
	# same trace twice; with autosave_interval 3600 nothing was saved and the session is gone
	# (the kill is a real SIGKILL, not a clean shutdown that writes the database). The
	# reference broker's persistence keeps it on sim too.
	P=tests/scenarios/exec-persistence-crash.yaml
	"$M" run "$P" --broker "$B" >"$tmp/p1" 2>&1
	"$M" run "$P" --broker "$B" >"$tmp/p2" 2>&1
	if grep -q '^PASS .* trace=' "$tmp/p1" && cmp -s "$tmp/p1" "$tmp/p2" && "$M" run "$P" >/dev/null 2>&1; then
		ok
	else
		bad "mosquitto persistence across a crash (twice the same, and on sim):"
		cat "$tmp/p1" "$tmp/p2" | sed 's/^/    /' | head -8
	fi
	sed 's/autosave_interval 1"/autosave_interval 3600"/' "$P" >"$tmp/nosave.yaml"
	"$M" run "$tmp/nosave.yaml" --broker "$B" >"$tmp/p3" 2>&1
	if grep -q 'expected CONNACK rc=0 session_present=1, got CONNACK session_present=0' "$tmp/p3"; then
		ok
	else
		bad "with autosave_interval 3600 the crash should lose the session:"
		sed 's/^/    /' "$tmp/p3" | head -6
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
	# The planted failure under exec: explore finds seed 170 (of 168..172, each run twice with
	# no difference), the shrink command it prints (with the broker) cuts the seed's faults
	# and publishes down and checks the result fails alone, and replay runs the recorded
	# trace of the shrunk scenario again, byte for byte; with the other broker it differs.
	X=scenarios/explore/planted-qos0-partition.yaml
	"$M" explore "$X" --seeds 168..172 --check-determinism --broker "$B" >"$tmp/ex170" 2>&1
	xrc=$?
	cmd=$(sed -n 's/^shrink one: mqttsim //p' "$tmp/ex170")
	if [ "$xrc" -eq 1 ] && grep -q '4 passed, 1 failed' "$tmp/ex170" && grep -q '^    seed 170: ' "$tmp/ex170" &&
		[ "$cmd" = "shrink $X --seed 170 --broker 'exec:$tool -c {config}'" ]; then
		ok
	else
		bad "explore --seeds 168..172 under exec should find the planted seed 170 (exit $xrc):"
		sed 's/^/    /' "$tmp/ex170" | head -8
	fi
	if eval "\"\$M\" $cmd --out \"\$tmp/shrunk.yaml\"" >"$tmp/shrink" 2>&1 && grep -q ' -> 1 in ' "$tmp/shrink" &&
		grep -q "it fails alone: mqttsim run .*--broker 'exec:" "$tmp/shrink"; then
		ok
	else
		bad "shrink --broker exec: of seed 170:"
		sed 's/^/    /' "$tmp/shrink" | head -8
	fi
	mkdir -p "$tmp/rp"
	"$M" run "$tmp/shrunk.yaml" --broker "$B" --out "$tmp/rp" >/dev/null 2>&1
	tr=$tmp/rp/planted-qos0-partition-seed170-shrunk.trace
	if "$M" replay "$tr" >"$tmp/replay" 2>&1 && grep -q 'replay: identical: .* on exec:.* the run fails, as recorded' "$tmp/replay" &&
		! "$M" replay "$tr" --broker sim >/dev/null 2>&1; then
		ok
	else
		bad "replay of the shrunk seed 170 under exec:"
		sed 's/^/    /' "$tmp/replay" | head -6
	fi
	expect_refusal "replay with a broker not found" 2 "not found in PATH" "$M" replay "$tr" --broker "exec:no-such-broker-here"
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
