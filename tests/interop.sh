#!/bin/sh
# interop.sh - `mqttsim broker` on loopback against clients nobody here wrote:
# mosquitto_pub / mosquitto_sub (Debian mosquitto-clients) and Eclipse Paho
# (Debian python3-paho-mqtt). Each case prints PASS or FAIL; the last line counts them.
# Without either client, nothing is checked: a NOTE, or under CI a failure (tests/lib.sh).
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
HERE=$(dirname "$0")
pass=0 fail=0
have=1
need_tool mosquitto_pub mosquitto-clients "the broker was not checked against mosquitto's and Paho's clients" || have=0
need_tool mosquitto_sub mosquitto-clients "the broker was not checked against mosquitto's and Paho's clients" || have=0
need_py $PY paho.mqtt python3-paho-mqtt "the broker was not checked against mosquitto's and Paho's clients" || have=0
if [ $have -eq 0 ]; then
	echo "interop: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi

tmp=$(mktemp -d)
trap 'kill $bpid 2>/dev/null; rm -rf "$tmp"' EXIT
broker_start "$tmp/broker.log" --sys-interval 1
[ -n "$port" ] || { echo "interop: the broker did not start:"; cat "$tmp/broker.log"; exit 1; }

ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "    $l"; done; }

# mosquitto clients: QoS 0, 1, 2 delivered in order at the granted QoS.
timeout 10 mosquitto_sub -p "$port" -t 'm/#' -q 2 -C 3 -F '%t %q %p' >"$tmp/sub.out" &
spid=$!
sleep 0.3
for q in 0 1 2; do mosquitto_pub -p "$port" -t "m/q$q" -m "v$q" -q $q; done
wait $spid
want="m/q0 0 v0
m/q1 1 v1
m/q2 2 v2"
[ "$(cat "$tmp/sub.out")" = "$want" ] && ok "mosquitto qos 0/1/2" || bad "mosquitto qos 0/1/2" "$(cat "$tmp/sub.out")"

# Retained: stored, flagged on a new subscription, replaced, deleted by an empty payload.
mosquitto_pub -p "$port" -t r/x -m first -r -q 1
mosquitto_pub -p "$port" -t r/x -m second -r -q 1
out=$(timeout 5 mosquitto_sub -p "$port" -t r/x -C 1 -F '%r %p')
[ "$out" = "1 second" ] && ok "mosquitto retained" || bad "mosquitto retained" "got: $out"
mosquitto_pub -p "$port" -t r/x -n -r
out=$(timeout 1 mosquitto_sub -p "$port" -t r/x -C 1 -F '%r %p' 2>&1)
[ -z "$out" ] && ok "mosquitto retained delete" || bad "mosquitto retained delete" "got: $out"

# $SYS is reachable by name and never by '#'.
out=$(timeout 5 mosquitto_sub -p "$port" -t '$SYS/broker/version' -C 1)
[ "$out" = "mqttsim reference broker" ] && ok "\$SYS version" || bad "\$SYS version" "got: $out"
out=$(timeout 2 mosquitto_sub -p "$port" -t '#' -C 1 -F '%t' 2>&1)
case "$out" in '$SYS'*) bad "'#' excludes \$SYS" "got: $out";; *) ok "'#' excludes \$SYS";; esac

# Paho cases.
for c in qos session malformed; do
	out=$($PY "$HERE/interop_paho.py" "$port" $c 2>&1)
	[ $? -eq 0 ] && ok "paho $c" || bad "paho $c" "$out"
done

# Will on a killed client: SIGKILL leaves no DISCONNECT behind.
$PY "$HERE/interop_paho.py" "$port" will-holder >"$tmp/holder.out" 2>&1 &
hpid=$!
for i in $(seq 1 50); do grep -q READY "$tmp/holder.out" && break; sleep 0.1; done
kill -9 $hpid
wait $hpid 2>/dev/null
out=$($PY "$HERE/interop_paho.py" "$port" will-check 2>&1)
[ $? -eq 0 ] && ok "paho will on kill -9" || bad "paho will on kill -9" "$out"

# MQTT 5.0 (mosquitto clients -V 5) beside 3.1.1: both subscribers get a 5.0 publisher's
# message (user property and message expiry dropped for 3.1.1), and a 3.1.1 one's.
timeout 10 mosquitto_sub -V 5 -p "$port" -t 'v/#' -q 1 -C 2 -F '%t %q %p' >"$tmp/sub5.out" &
s5=$!
timeout 10 mosquitto_sub -V 311 -p "$port" -t 'v/#' -q 1 -C 2 -F '%t %q %p' >"$tmp/sub4.out" &
s4=$!
sleep 0.3
mosquitto_pub -V 5 -p "$port" -t v/5 -m five -q 1 -D publish user-property k v -D publish message-expiry-interval 30
mosquitto_pub -V 311 -p "$port" -t v/4 -m four -q 1
wait $s5 $s4
want="v/5 1 five
v/4 1 four"
[ "$(cat "$tmp/sub5.out")" = "$want" ] && [ "$(cat "$tmp/sub4.out")" = "$want" ] && ok "mosquitto -V 5 and -V 311 on one broker" ||
	bad "mosquitto -V 5 and -V 311 on one broker" "5.0: $(cat "$tmp/sub5.out")" "3.1.1: $(cat "$tmp/sub4.out")"
# Session Expiry Interval 60: the session and what queued for it are there on return.
timeout 5 mosquitto_sub -V 5 -p "$port" -i exp5 -c -x 60 -t e/t -q 1 -W 1 >/dev/null 2>&1
mosquitto_pub -V 5 -p "$port" -t e/t -m queued -q 1
out=$(timeout 5 mosquitto_sub -V 5 -p "$port" -i exp5 -c -x 60 -t e/t -q 1 -C 1)
[ "$out" = "queued" ] && ok "mosquitto -V 5 session expiry keeps the session" || bad "mosquitto -V 5 session expiry" "got: $out"

# The broker survived all of it and shuts down cleanly on SIGTERM.
if kill -0 $bpid 2>/dev/null; then
	kill -TERM $bpid; wait $bpid; rc=$?
	[ $rc -eq 0 ] && grep -q "shutting down" "$tmp/broker.log" && ok "clean shutdown" || bad "clean shutdown" "exit $rc"
else
	bad "broker alive" "$(tail -5 "$tmp/broker.log")"
fi
# A persistent session survives kill -9 of the broker and a restart from --store.
start_broker() { # extra args...
	: >"$tmp/broker.log"
	"$M" broker --sys-interval 0 "$@" 2>"$tmp/broker.log" &
	bpid=$!
	port=""
	for i in $(seq 1 50); do
		port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/broker.log")
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || { bad "broker start ($*)" "$(cat "$tmp/broker.log")"; return 1; }
}
mkdir "$tmp/store"
if start_broker --listen 127.0.0.1:0 --store "$tmp/store"; then
	out=$($PY "$HERE/interop_paho.py" "$port" persist-setup 2>&1) || bad "persist setup" "$out"
	for m in a b c; do mosquitto_pub -p "$port" -t d/t -m $m -q 1; done
	kill -9 $bpid; wait $bpid 2>/dev/null
	if start_broker --listen "127.0.0.1:$port" --store "$tmp/store"; then
		out=$($PY "$HERE/interop_paho.py" "$port" persist-check 2>&1)
		[ $? -eq 0 ] && ok "session survives kill -9 of the broker (--store)" || bad "session survives kill -9" "$out"
		grep -q "store: recovered [1-9][0-9]* records, skipped 0; " "$tmp/broker.log" && ok "restart logs what recovery did" || bad "restart logs what recovery did" "$(head -3 "$tmp/broker.log")"
		kill -TERM $bpid; wait $bpid
	fi
fi

# Passwords and ACLs, with mosquitto clients.
"$M" passwd "$tmp/passwd" alice s3cret >/dev/null
printf 'user alice\ntopic readwrite home/#\n' >"$tmp/acl"
if start_broker --listen 127.0.0.1:0 --passwords "$tmp/passwd" --acl "$tmp/acl" --no-anonymous; then
	mosquitto_pub -p "$port" -u alice -P wrong -t home/x -m 1 2>"$tmp/err" && bad "wrong password refused" "accepted" || ok "wrong password refused"
	mosquitto_pub -p "$port" -t home/x -m 1 2>"$tmp/err" && bad "anonymous refused" "accepted" || ok "anonymous refused"
	timeout 5 mosquitto_sub -p "$port" -u alice -P s3cret -t 'home/#' -C 1 >"$tmp/acl.out" &
	spid=$!
	sleep 0.3
	mosquitto_pub -p "$port" -u alice -P s3cret -t garage/x -m denied
	mosquitto_pub -p "$port" -u alice -P s3cret -t home/x -m allowed
	wait $spid
	[ "$(cat "$tmp/acl.out")" = "allowed" ] && ok "ACL: denied publish dropped, allowed one delivered" || bad "ACL" "got: $(cat "$tmp/acl.out")"
	kill -TERM $bpid; wait $bpid
fi

echo "interop: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
