#!/bin/sh
# variants.sh - the permitted-variant matrix (issue 13): the 3.1.1 and 5.0 suites never fail a
# broker for what the spec permits.
#  - each variant of the reference broker (BROKER_VAR_*, `--broker-variant NAME`; the names and
#    the statements that permit each are in broker/broker.h and scenarios/README.md) really
#    changes behaviour: the `variants` Check suite does the same thing with and without each and
#    asserts on both (a no-op variant fails it);
#  - under each variant the whole 3.1.1 suite passes, with no expected failures, in simulation
#    (`conform --broker-variant X`) and over TCP on loopback against
#    `mqttsim broker --broker-variant X`;
#  - under each variant the whole 5.0 suite passes too, with no expected failures, in
#    simulation, and over TCP for the variants in V5_TCP (the ones 5.0 flow control and keep
#    alive see: a send quota of one, Server Keep Alive, a low Receive Maximum);
#  - and against `mqttsim broker --queue-qos0`, the other side of qos0-not-queued;
#  - with all of them at once, MQTT-4.7.2-1 (nothing to look at: no $SYS, '$' publishes
#    refused) is untested with its reason, never failed, in either suite;
#  - a bad name is exit 2 with the list of names; a variant with a network target is exit 2.
set -u
M=${MQTTSIM:-build/mqttsim}
CHECK=${CHECK:-build/check_mqttsim}
. "$(dirname "$0")/lib.sh"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
bpid=""
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null; rm -rf "$tmp"' EXIT
VARIANTS="one-in-flight random-packet-ids no-sys dollar-refused qos0-not-queued overlap-copies server-keepalive low-receive-max"
V5_TCP="one-in-flight server-keepalive low-receive-max"

# Each variant changes what a client sees (tests/test_variants.c).
if [ -x "$CHECK" ]; then
	out=$(CK_RUN_SUITE=variants CK_VERBOSITY=normal "$CHECK" 2>&1); rc=$?
	n=$(echo "$out" | sed -n 's/.*Checks: \([0-9]*\), Failures: 0, Errors: 0.*/\1/p')
	[ $rc -eq 0 ] && [ "${n:-0}" -eq "$(echo $VARIANTS | wc -w)" ] &&
		ok "each of the $n variants changes behaviour (Check suite 'variants', with and without each)" ||
		bad "Check suite 'variants' (exit $rc)" "$out"
else
	bad "$CHECK not built (make $CHECK)"
fi

# passes LABEL RC OUT: exit 0, nothing failed, no expected failure in play.
passes() {
	st=$(echo "$3" | grep '^statements:')
	if [ "$2" -eq 0 ] && echo "$st" | grep -q ' 0 fail, 0 expected failures,'; then
		ok "$1: $st"
	else
		bad "$1 (exit $2)" "$(echo "$3" | grep -E '^(FAIL|UNREACHED|statements)' | head -20)"
	fi
}

for v in $VARIANTS; do
	out=$("$M" conform -j 2 --broker-variant "$v" 2>&1); rc=$?
	passes "simulation, --broker-variant $v" $rc "$out"
	out=$("$M" conform --version 5.0 -j 2 --broker-variant "$v" 2>&1); rc=$?
	passes "5.0, simulation, --broker-variant $v" $rc "$out"
	broker_start "$tmp/broker.log" --sys-interval 1 --broker-variant "$v"
	if [ -z "$port" ]; then
		bad "broker --broker-variant $v did not start" "$(cat "$tmp/broker.log")"
	else
		out=$("$M" conform --broker "tcp://127.0.0.1:$port" 2>&1); rc=$?
		passes "over TCP, broker --broker-variant $v" $rc "$out"
		case " $V5_TCP " in *" $v "*)
			out=$("$M" conform --version 5.0 -j 4 --broker "mqtt://127.0.0.1:$port" 2>&1); rc=$?
			passes "5.0 over TCP, broker --broker-variant $v" $rc "$out" ;;
		esac
	fi
	kill -TERM $bpid 2>/dev/null
	wait $bpid 2>/dev/null
	bpid=""
done

# Under server-keepalive the scripted clients ping as CONNACK tells them (MQTT-3.2.2-21): one
# that asked for no keep alive idles 40 s and stays; one that does not ping is cut off at 15 s.
cat >"$tmp/idle.yaml" <<'EOF2'
name: idle-under-server-keepalive
description: A 5.0 client that asked for no keep alive pings at the Server Keep Alive; a silent one is cut off.
version: 5.0
clients:
  - { id: c }
  - { id: quiet, auto_ping: false }
steps:
  - { client: c, connect: { keepalive: 0s } }
  - { client: quiet, connect: { keepalive: 60s, connack_properties: { server_keep_alive: 10 } } }
  - { client: quiet, expect_closed: { within: 16s } }
  - { wait: 25s }
  - { client: c, subscribe: [{ filter: "idle/x", qos: 0 }] }
  - { client: c, expect: { packet: SUBACK, codes: [0] } }
EOF2
out=$("$M" run --broker-variant server-keepalive "$tmp/idle.yaml" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "server-keepalive: a client asking for no keep alive pings as told and stays 40 s; a silent one is cut off" ||
	bad "server-keepalive idle client (exit $rc)" "$out"

# The other side of qos0-not-queued: the reference broker queues no QoS 0 by default, so the
# suite also runs against one that does (`--queue-qos0`, MQTT-3.1.2-5 leaves it open).
broker_start "$tmp/broker.log" --sys-interval 1 --queue-qos0
if [ -z "$port" ]; then
	bad "broker --queue-qos0 did not start" "$(cat "$tmp/broker.log")"
else
	out=$("$M" conform --broker "tcp://127.0.0.1:$port" 2>&1); rc=$?
	passes "over TCP, broker --queue-qos0" $rc "$out"
fi
kill -TERM $bpid 2>/dev/null
wait $bpid 2>/dev/null
bpid=""

# All at once: still no failure; 4.7.2-1 has nothing to look at, so it is untested, with why.
all=""
for v in $VARIANTS; do all="$all --broker-variant $v"; done
out=$("$M" conform -j 2 $all 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q '^UNREACHED MQTT-4.7.2-1 .*not reached' &&
	echo "$out" | grep -q '^statements: .* 0 fail, 0 expected failures, .* 1 untested'; then
	ok "all variants at once: nothing fails, MQTT-4.7.2-1 untested with its reason"
else
	bad "all variants at once (exit $rc)" "$(echo "$out" | grep -E '^(FAIL|UNREACHED|statements)' | head -20)"
fi
# The same in 5.0, where 4.7-dollar-topics has only client '$' publishes to look at; the
# untested count is the suite's own (statements it has no scenario for) plus that one.
base=$("$M" conform --version 5.0 -j 2 2>&1 | sed -n 's/^statements: .* \([0-9]*\) untested,.*/\1/p')
out=$("$M" conform --version 5.0 -j 2 $all 2>&1); rc=$?
if [ $rc -eq 0 ] && [ -n "$base" ] && echo "$out" | grep -q '^UNREACHED MQTT-4.7.2-1 .*not reached' &&
	echo "$out" | grep -q "^statements: .* 0 fail, 0 expected failures, .* $((base + 1)) untested"; then
	ok "5.0, all variants at once: nothing fails, MQTT-4.7.2-1 untested with its reason"
else
	bad "5.0, all variants at once (exit $rc, $base untested without variants)" \
		"$(echo "$out" | grep -E '^(FAIL|UNREACHED|statements)' | head -20)"
fi

# Bad input.
err=$("$M" conform --broker-variant no-such-thing 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$err" | grep -q "no variant 'no-such-thing'; the names are: $VARIANTS" &&
	ok "an unknown variant is exit 2 with the names" || bad "unknown variant (exit $rc)" "$err"
err=$("$M" broker --broker-variant 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$err" | grep -q "needs a name, one of: $VARIANTS" &&
	ok "broker --broker-variant without a name is exit 2 with the names" || bad "broker --broker-variant alone (exit $rc)" "$err"
err=$("$M" run --broker tcp://127.0.0.1:1 --broker-variant no-sys scenarios/conformance/4.7-dollar-sys.yaml 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$err" | grep -q "mqttsim broker --broker-variant" &&
	ok "a variant with a network target is exit 2, pointing at mqttsim broker" || bad "variant with tcp target (exit $rc)" "$err"
# A failure under a variant replays with it.
out=$("$M" run --broker-variant no-sys scenarios/conformance/4.7-dollar-sys.yaml 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'replay: .* --broker-variant no-sys$' &&
	ok "a run failed under a variant says how to replay it, variant included" || bad "replay line (exit $rc)" "$out"

echo "variants: $pass passed, $fail failed"
[ $fail -eq 0 ]
