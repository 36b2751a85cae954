#!/bin/sh
# scenarios.sh - the example scenarios, end to end through `mqttsim run`:
#  - every example passes against the reference broker in simulation;
#  - the same scenario and seed give the same trace hash in two processes;
#  - every example that supports TCP passes against mosquitto, started here on a free
#    loopback port (without mosquitto: a NOTE, or under CI a failure; tests/lib.sh);
#  - scenarios whose expectations are false fail, naming what failed.
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
trap 'kill $mpid 2>/dev/null; rm -rf "$tmp"' EXIT
mpid=""

out=$("$M" run scenarios/examples 2>&1); rc=$?
[ $rc -eq 0 ] && ok "examples in simulation" || bad "examples in simulation (exit $rc)" "$out"

a=$("$M" run scenarios/examples/flaky-wifi-qos1.yaml --seed 11 | sed -n 's/.*trace=\([0-9a-f]*\).*/\1/p')
b=$("$M" run scenarios/examples/flaky-wifi-qos1.yaml --seed 11 | sed -n 's/.*trace=\([0-9a-f]*\).*/\1/p')
c=$("$M" run scenarios/examples/flaky-wifi-qos1.yaml --seed 12 | sed -n 's/.*trace=\([0-9a-f]*\).*/\1/p')
[ -n "$a" ] && [ "$a" = "$b" ] && ok "same seed, same trace hash in two processes ($a)" || bad "same seed, same hash" "$a vs $b"
[ -n "$c" ] && [ "$a" != "$c" ] && ok "another seed, another trace hash" || bad "another seed, another hash" "$a vs $c"

out=$("$M" run scenarios/examples -j 4 2>&1); rc=$?
[ $rc -eq 0 ] && ok "examples with -j 4" || bad "examples with -j 4 (exit $rc)" "$out"
# Parallel runs finish in any order; the output is still in file order, failures included.
some="scenarios/examples tests/scenarios/expectation-is-false.yaml tests/scenarios/step-is-false.yaml tests/scenarios/tcp-only.yaml scenarios/flaky scenarios/conformance"
one=$("$M" run $some 2>&1); rc1=$?
four=$("$M" run $some -j 4 2>&1); rc4=$?
[ "$one" = "$four" ] && [ $rc1 -eq 1 ] && [ $rc4 -eq 1 ] && ok "-j 4 prints what -j 1 prints, in the same order (exit 1 both)" ||
	bad "-j 4 output differs from -j 1 (exit $rc1 and $rc4)" "$(printf '%s\n' "$one" >"$tmp/one"; printf '%s\n' "$four" | diff "$tmp/one" - | head)"

# The flaky-network library (simulated NodeMCU nodes): each passes, twice alike.
out=$("$M" run scenarios/flaky 2>&1); rc=$?
[ $rc -eq 0 ] && ok "flaky-network scenarios in simulation" || bad "flaky-network scenarios (exit $rc)" "$out"
a=$("$M" run scenarios/flaky | sed -n 's/.*trace=\([0-9a-f]*\).*/\1/p' | tr '\n' ' ')
b=$("$M" run scenarios/flaky -j 2 | sed -n 's/.*trace=\([0-9a-f]*\).*/\1/p' | tr '\n' ' ')
n=$(ls scenarios/flaky/*.yaml | wc -l)
[ "$(echo $a | wc -w)" -eq "$n" ] && [ "$a" = "$b" ] && ok "flaky scenarios: two runs, the same $n trace hashes" \
	|| bad "flaky scenarios: same trace hashes" "$a" "$b"
out=$("$M" run scenarios/flaky/reconnect-storm.yaml --broker tcp://127.0.0.1:1 2>&1); rc=$?
case "$out" in *SKIP*) r=1;; *) r=0;; esac
[ $rc -eq 0 ] && [ $r -eq 1 ] && ok "a scenario with nodes is skipped over TCP" || bad "nodes over TCP (exit $rc)" "$out"
out=$("$M" run tests/scenarios/node-errors.yaml 2>&1); rc=$?
case "$out" in *"node-errors.yaml:3:10: this scenario has nodes"*"node-errors.yaml:8:53: pubsubclient publishes at QoS 0"*"node-errors.yaml:10:12: a fleet of 3 nodes needs"*"node-errors.yaml:11:15: 'firmware' must be one of"*) r=1;; *) r=0;; esac
[ $rc -eq 2 ] && [ $r -eq 1 ] && ok "bad nodes: every error with its place, exit 2" || bad "bad nodes (exit $rc)" "$out"

out=$("$M" run tests/scenarios/expectation-is-false.yaml 2>&1); rc=$?
case "$out" in *"retained: expected \"never published retained\""*) r=1;; *) r=0;; esac
[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "a false expectation fails the run" || bad "a false expectation fails the run (exit $rc)" "$out"
out=$("$M" run tests/scenarios/step-is-false.yaml 2>&1); rc=$?
case "$out" in *"step-is-false.yaml:"*"expected PUBLISH payload=\"goodbye\""*"replay: mqttsim run"*) r=1;; *) r=0;; esac
[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "a false expect step fails the run and names the step" || bad "a false expect step (exit $rc)" "$out"

if need_tool mosquitto mosquitto "the examples were not run against mosquitto over TCP"; then
	MOSQ=$tool
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$MOSQ" -p "$port" >"$tmp/mosq.log" 2>&1 &
	mpid=$!
	sleep 0.5
	out=$("$M" run scenarios/examples --broker "tcp://127.0.0.1:$port" -j 4 2>&1); rc=$?
	[ $rc -eq 0 ] && ok "examples against mosquitto" || bad "examples against mosquitto (exit $rc)" "$out"
fi

out=$("$M" run scenarios/examples --broker tcp://127.0.0.1:1 2>&1); rc=$?
case "$out" in *"no MQTT broker at tcp://127.0.0.1:1: cannot connect"*"could not run"*) r=1;; *) r=0;; esac
[ $rc -eq 2 ] && [ $r -eq 1 ] && ok "an unreachable broker is a clear error (exit 2), not a hang" || bad "unreachable broker (exit $rc)" "$out"

echo "scenarios: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
