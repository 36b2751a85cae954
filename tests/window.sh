#!/bin/sh
# window.sh - a check that nothing may arrive looks at everything received since the action
# that could cause it (issue 13): against a server that answers each SUBSCRIBE with two SUBACKs
# at once (tests/dup_broker.py) over loopback, where the second lands while the positive
# check is still matching the first, `expect_none` must still see it. (Its window used to
# start when its own step began, so over a fast network it passed having seen nothing.)
set -u
M=${MQTTSIM:-build/mqttsim}
. tests/lib.sh
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
bpid="" dpid=""
trap 'kill $bpid $dpid 2>/dev/null; rm -rf "$tmp"' EXIT
if need_tool python3 python3 "the window of expect_none over TCP was not checked"; then
	python3 tests/dup_broker.py "$tmp/port" &
	dpid=$!
	for _ in $(seq 1 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
	port=$(cat "$tmp/port")
	cat >"$tmp/twice.yaml" <<'Y'
name: suback-twice
description: One SUBSCRIBE, one SUBACK; a second one is a defect the negative check must see.
clients:
  - { id: sub }
steps:
  - { client: sub, connect: { within: 2s } }
  - { client: sub, subscribe: { filter: w/x, qos: 0 } }
  - { client: sub, expect: { packet: SUBACK, within: 2s } }
  - { client: sub, expect_none: { packet: SUBACK, for: 300ms } }
Y
	for k in 1 2 3 4 5; do
		out=$("$M" run "$tmp/twice.yaml" --broker "tcp://127.0.0.1:$port" 2>&1); rc=$?
		case "$out" in *"expected no SUBACK for 300ms, but got SUBACK"*) [ $rc -eq 1 ] || rc=99;; *) rc=98;; esac
		[ $rc -eq 1 ] || break
	done
	[ $rc -eq 1 ] && ok "the second SUBACK, sent at once, fails expect_none over TCP (5 of 5 runs)" || bad "expect_none missed the second SUBACK (run $k)" "$out"
	# A malformed packet (a PINGRESP with flags set) between two good ones: the run fails the
	# statement the decoder names, and goes on to see the PUBLISH after it.
	python3 tests/dup_broker.py "$tmp/port2" malformed &
	dpid="$dpid $!"
	for _ in $(seq 1 50); do [ -s "$tmp/port2" ] && break; sleep 0.1; done
	cat >"$tmp/bad.yaml" <<'Y'
name: malformed-then-publish
description: A malformed packet from the server is a failure of its own; the checks after it still see.
clients:
  - { id: sub }
steps:
  - { client: sub, connect: { within: 2s } }
  - { client: sub, subscribe: { filter: w/y, qos: 0 } }
  - { client: sub, expect: { packet: SUBACK, within: 2s } }
  - { client: sub, expect: { packet: PUBLISH, topic: w/y, payload: after, within: 2s } }
Y
	out=$("$M" run "$tmp/bad.yaml" --broker "tcp://127.0.0.1:$(cat "$tmp/port2")" 2>&1); rc=$?
	case "$out" in *"sub received a malformed packet at "*"[MQTT-2.2.2-2]"*) r=1;; *) r=0;; esac
	case "$out" in *"did not come"*) r=0;; esac
	[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "a malformed packet fails the run naming MQTT-2.2.2-2, and the PUBLISH after it is still seen" ||
		bad "malformed packet (exit $rc)" "$out"
	# In conform the decoder's statement fails, though the scenario does not name it; the
	# statement its own check names passes.
	mkdir -p "$tmp/suite"
	sed -e 's/^name: .*/name: malformed-then-publish\nspec: [MQTT-3.8.4-1]/' \
	    -e 's/expect: { packet: SUBACK, within: 2s } }/expect: { packet: SUBACK, within: 2s }, spec: MQTT-3.8.4-1 }/' \
	    "$tmp/bad.yaml" >"$tmp/suite/bad.yaml"
	out=$("$M" conform --scenarios "$tmp/suite" --broker "tcp://127.0.0.1:$(cat "$tmp/port2")" 2>&1); rc=$?
	case "$out" in *"FAIL  MQTT-2.2.2-2 "*) r=1;; *) r=0;; esac
	case "$out" in *"FAIL  MQTT-3.8.4-1 "*) r=0;; esac
	[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "conform: the malformed packet fails MQTT-2.2.2-2; MQTT-3.8.4-1, checked and passed, passes" ||
		bad "conform with a malformed packet (exit $rc)" "$(echo "$out" | grep -E '^(FAIL|statements)')"
	# The reference broker sends one SUBACK: the same scenario passes against it.
	broker_start "$tmp/b.log"
	out=$("$M" run "$tmp/twice.yaml" --broker "tcp://127.0.0.1:$port" 2>&1); rc=$?
	[ $rc -eq 0 ] && ok "one SUBACK (the reference broker): it passes" || bad "against the reference broker (exit $rc)" "$out"
fi
echo "window: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
