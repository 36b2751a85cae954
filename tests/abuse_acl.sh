#!/bin/sh
# abuse_acl.sh - `mqttsim broker` with --passwords/--acl on loopback, attacked by an
# authenticated user (issue 20, defects 1 and 7): alice presents bob's client id to take his
# persistent session (queued and live messages), and a QoS 1 '#'-style subscriber asks for
# 10,000 retained messages, more than the in-flight window and the offline-queue bound
# together. Clients: mosquitto_pub/mosquitto_sub and Eclipse Paho. Each case prints PASS or
# FAIL; the last line counts them. Every client runs under timeout. Without either client,
# nothing is checked: a NOTE, or under CI a failure (tests/lib.sh).
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
N=${ABUSE_RETAINED:-10000}
pass=0 fail=0
have=1
need_tool mosquitto_pub mosquitto-clients "the session-takeover and retained-flood attacks were not made" || have=0
need_tool mosquitto_sub mosquitto-clients "the session-takeover and retained-flood attacks were not made" || have=0
need_py $PY paho.mqtt python3-paho-mqtt "the session-takeover and retained-flood attacks were not made" || have=0
if [ $have -eq 0 ]; then
	echo "abuse_acl: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi

tmp=$(mktemp -d)
bpid=""
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null; rm -rf "$tmp"' EXIT
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "    $l"; done; }

for u in alice bob loader; do "$M" passwd "$tmp/passwd" $u "pw-$u" >/dev/null || exit 1; done
printf 'user alice\ntopic readwrite users/alice/#\nuser bob\ntopic readwrite users/bob/#\nuser loader\ntopic readwrite r/#\n' >"$tmp/acl"
broker_start "$tmp/broker.log" --sys-interval 0 --passwords "$tmp/passwd" --acl "$tmp/acl" --no-anonymous
[ -n "$port" ] || { echo "abuse_acl: the broker did not start:"; cat "$tmp/broker.log"; exit 1; }

sub() { # user args...: mosquitto_sub as that user, bounded
	_u=$1
	shift
	timeout 20 mosquitto_sub -p "$port" -u "$_u" -P "pw-$_u" "$@"
}
pub() { # user args...
	_u=$1
	shift
	timeout 10 mosquitto_pub -p "$port" -u "$_u" -P "pw-$_u" "$@"
}

# bob makes a persistent session and leaves; a message for him is queued.
sub bob -i bobsess -c -q 1 -t 'users/bob/#' -E || bad "bob subscribes" "exit $?"
pub bob -i bobpub -t users/bob/queued -m q1 -q 1 || bad "bob publishes" "exit $?"

# alice presents bob's client id with clean session 0, subscribes only to what is hers and
# waits: an inherited session would hand her bob's queued message and, as bob publishes
# meanwhile, a live one. Then with clean session 1, which would discard bob's session.
sub alice -i bobsess -c -q 1 -t 'users/alice/#' -C 2 -W 3 -F '%t %p' >"$tmp/alice1.out" 2>"$tmp/alice1.err" &
a1=$!
sleep 0.5
pub bob -i bobpub -t users/bob/live0 -m l0 -q 1 || bad "bob publishes" "exit $?"
wait $a1
rc=$?
[ $rc -ne 0 ] && [ ! -s "$tmp/alice1.out" ] && ok "alice refused bob's session (clean 0)" || bad "alice refused bob's session (clean 0)" "exit $rc" "$(cat "$tmp/alice1.out" "$tmp/alice1.err")"
sub alice -i bobsess -q 1 -t 'users/alice/#' -C 1 -W 1 -F '%t %p' >"$tmp/alice2.out" 2>"$tmp/alice2.err"
# (The broker logs a refusal just after sending it: give the line a moment under load.)
for _ in $(seq 1 50); do
	n=$(grep -c "client id bobsess is a session of user bob, not of user alice (CONNACK 5)" "$tmp/broker.log")
	[ "$n" -ge 2 ] && break
	sleep 0.1
done
[ "$n" -eq 2 ] && [ ! -s "$tmp/alice2.out" ] && ok "alice refused bob's session (clean 1); both refusals logged with the user names" || bad "alice refused bob's session (clean 1)" "$n refusals logged" "$(cat "$tmp/alice2.out" "$tmp/alice2.err")"

# bob comes back: his session and its message are there. While he is connected, alice
# tries again (as bobsess, and as herself on users/#) and bob publishes live.
sub bob -i bobsess -c -q 1 -t 'users/bob/#' -C 4 -F '%t %p' >"$tmp/bob.out" 2>&1 &
bsub=$!
for _ in $(seq 1 50); do [ -s "$tmp/bob.out" ] && break; sleep 0.1; done
sub alice -i bobsess -c -q 1 -t 'users/alice/#' -C 1 -W 2 -F '%t %p' >"$tmp/alice3.out" 2>/dev/null &
a3=$!
sub alice -i alice-w -q 1 -t 'users/#' -C 1 -W 3 -F '%t %p' >"$tmp/alice4.out" 2>/dev/null &
a4=$!
sleep 0.5
pub bob -i bobpub -t users/bob/live1 -m l1 -q 1
pub bob -i bobpub -t users/bob/live2 -m l2 -q 0
wait $bsub
wait $a3 $a4
want="users/bob/queued q1
users/bob/live0 l0
users/bob/live1 l1
users/bob/live2 l2"
[ "$(cat "$tmp/bob.out")" = "$want" ] && ok "bob keeps his session: queued and live messages" || bad "bob keeps his session" "got: $(cat "$tmp/bob.out")"
cat "$tmp/alice1.out" "$tmp/alice2.out" "$tmp/alice3.out" "$tmp/alice4.out" >"$tmp/alice.all"
[ ! -s "$tmp/alice.all" ] && ok "nothing of bob's reaches alice (queued and live)" || bad "nothing of bob's reaches alice" "$(cat "$tmp/alice.all")"

# Retained: N QoS 1 messages on distinct topics, then one QoS 1 subscriber to all of them.
$PY - "$port" "$N" >"$tmp/load.out" 2>&1 <<'EOF'
import sys, time
import paho.mqtt.client as mqtt
port, n = int(sys.argv[1]), int(sys.argv[2])
c = mqtt.Client(client_id="loader", clean_session=True, protocol=mqtt.MQTTv311)
c.username_pw_set("loader", "pw-loader")
c.max_inflight_messages_set(200)
c.max_queued_messages_set(0)
acked = [0]
c.on_publish = lambda cl, ud, mid: acked.__setitem__(0, acked[0] + 1)
c.connect("127.0.0.1", port, 60)
c.loop_start()
for i in range(n):
    c.publish("r/%05d" % i, "v%d" % i, qos=1, retain=True)
deadline = time.time() + 60
while acked[0] < n and time.time() < deadline:
    time.sleep(0.05)
c.disconnect()
c.loop_stop()
print("acked", acked[0])
sys.exit(0 if acked[0] == n else 1)
EOF
[ $? -eq 0 ] && ok "$N retained messages stored" || bad "$N retained messages stored" "$(cat "$tmp/load.out")"
t0=$(date +%s)
timeout 120 mosquitto_sub -p "$port" -u loader -P pw-loader -i rsub -q 1 -t 'r/#' -C "$N" -W 100 -F '%r %q %t' >"$tmp/ret.out" 2>&1
t1=$(date +%s)
got=$(grep -c '^1 1 r/' "$tmp/ret.out")
uniq=$(sort -u "$tmp/ret.out" | wc -l)
if [ "$got" -eq "$N" ] && [ "$uniq" -eq "$N" ] && sort -c "$tmp/ret.out" 2>/dev/null; then
	ok "all $N retained messages to a QoS 1 subscriber, RETAIN=1, in order ($((t1 - t0)) s)"
else
	bad "retained delivery of $N" "got $got with RETAIN=1 and QoS 1 ($uniq distinct) in $((t1 - t0)) s" "$(tail -2 "$tmp/ret.out")"
fi

if kill -0 $bpid 2>/dev/null; then
	kill -TERM $bpid; wait $bpid; rc=$?
	bpid=""
	[ $rc -eq 0 ] && ok "broker alive and shuts down cleanly" || bad "clean shutdown" "exit $rc"
else
	bad "broker alive" "$(tail -5 "$tmp/broker.log")"
fi
echo "abuse_acl: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
