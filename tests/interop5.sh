#!/bin/sh
# interop5.sh - MQTT 5.0 in `mqttsim broker` on loopback against 5.0 clients nobody here wrote
# (issue 14): mosquitto_pub / mosquitto_sub -V 5 (Debian mosquitto-clients) with -D
# properties, MQTT.js 5 (npm mqtt, the version pinned in tests/mqttjs/package.json, installed
# into build/mqttjs like tests/aedes.sh does aedes), Eclipse Paho in v5 mode (Debian
# python3-paho-mqtt, under /usr/bin/python3), and a persistent 5.0 session, delayed will and
# expiring queued messages across `kill -9` of `mqttsim broker --store`. Each case prints
# PASS or FAIL; the last line counts them. A missing peer skips its part: a NOTE, or under CI
# a failure (tests/lib.sh). Every wait is bounded (timeout, -W, -C).
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
HERE=$(dirname "$0")
PREFIX=build/mqttjs
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
ms() { echo $(($(date +%s%N) / 1000000)); } # wall milliseconds, for the timer checks

tmp=$(mktemp -d)
bpid=""
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null; rm -rf "$tmp"' EXIT
# start_broker ARGS...: `mqttsim broker ARGS` in the background, port set from its log.
start_broker() {
	: >"$tmp/broker.log"
	"$M" broker --sys-interval 0 "$@" 2>"$tmp/broker.log" &
	bpid=$!
	port=""
	for _ in $(seq 1 50); do
		port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/broker.log")
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || { bad "broker start ($*)" "$(cat "$tmp/broker.log")"; bpid=""; return 1; }
}
stop_broker() {
	kill -TERM $bpid 2>/dev/null
	wait $bpid 2>/dev/null
	bpid=""
}
# connected ID: wait (5 s at most) for the broker's log to show client ID connected.
connected() {
	for _ in $(seq 1 50); do
		grep -q "connect .* client=$1 " "$tmp/broker.log" && return 0
		sleep 0.1
	done
	return 1
}
start_broker --listen 127.0.0.1:0 || { echo "interop5: $pass passed, $fail failed"; exit 1; }

# ---- mosquitto_pub / mosquitto_sub -V 5 -----------------------------------------------------
have_mosq=1
need_tool mosquitto_pub mosquitto-clients "5.0 was not checked against mosquitto's clients" || have_mosq=0
need_tool mosquitto_sub mosquitto-clients "5.0 was not checked against mosquitto's clients" || have_mosq=0
P="-V 5 -p $port"
if [ $have_mosq -eq 1 ]; then
	# Session Expiry Interval: reconnecting within it finds the session and its queued message
	# [MQTT-3.1.2-23]; after it, the session and the message are gone [MQTT-4.1.0-2].
	mosquitto_sub $P -i se-in -c -x 5 -q 1 -t se/in -E
	mosquitto_sub $P -i se-out -c -x 1 -q 1 -t se/out -E
	mosquitto_pub $P -t se/in -m kept -q 1
	mosquitto_pub $P -t se/out -m lost -q 1
	out=$(mosquitto_sub $P -i se-in -c -x 5 -q 1 -t se/in -C 1 -W 3 2>&1)
	[ "$out" = kept ] && ok "mosquitto: reconnect within session expiry keeps the queued message" ||
		bad "mosquitto: reconnect within session expiry" "got: $out"
	sleep 1.5
	out=$(mosquitto_sub $P -i se-out -c -x 1 -q 1 -t se/none -C 1 -W 2 2>/dev/null)
	[ -z "$out" ] && ok "mosquitto: after session expiry the queued message is gone" ||
		bad "mosquitto: after session expiry" "got: $out"

	# User Properties, a repeated name among them, forwarded unchanged and in order
	# [MQTT-3.3.2-17, MQTT-3.3.2-18]; Response Topic, Correlation Data, Content Type and the
	# Payload Format Indicator forwarded unchanged; Message Expiry forwarded (no wait here).
	F='%t|%P|%R|%D|%C|%F|%E|%p'
	timeout 10 mosquitto_sub $P -t 'pr/#' -q 1 -C 1 -F "$F" >"$tmp/pr.out" &
	spid=$!
	sleep 0.3
	mosquitto_pub $P -t pr/x -m body -q 1 -D publish user-property b 2 -D publish user-property a 1 \
		-D publish user-property b 3 -D publish response-topic re/ply -D publish correlation-data c0rr \
		-D publish content-type text/x -D publish payload-format-indicator 1 -D publish message-expiry-interval 300
	wait $spid
	out=$(cat "$tmp/pr.out")
	case "$out" in
	"pr/x|b:2 a:1 b:3|re/ply|c0rr|text/x|1|"*"|body")
		e=$(echo "$out" | cut -d'|' -f7)
		[ "$e" -le 300 ] && [ "$e" -ge 295 ] && ok "mosquitto: user properties in order, response topic, correlation data, content type, format indicator forwarded" ||
			bad "mosquitto: message expiry forwarded to a live subscriber" "got: $out"
		;;
	*) bad "mosquitto: publish properties forwarded" "got: $out" "want: pr/x|b:2 a:1 b:3|re/ply|c0rr|text/x|1|300|body" ;;
	esac

	# Message Expiry: queued for an offline session, a message whose interval runs out is never
	# delivered; one within it is, its interval reduced by the time it waited [MQTT-3.3.2-5,
	# MQTT-3.3.2-6].
	mosquitto_sub $P -i me -c -x 60 -q 1 -t me/t -E
	mosquitto_pub $P -t me/t -m short -q 1 -D publish message-expiry-interval 1
	mosquitto_pub $P -t me/t -m long -q 1 -D publish message-expiry-interval 30
	sleep 2.2
	out=$(mosquitto_sub $P -i me -c -x 60 -q 1 -t me/t -C 2 -W 2 -F '%p %E' 2>/dev/null)
	case "$out" in
	"long 2"[6-8]) ok "mosquitto: queued message past its expiry dropped, the other's interval reduced ($out)" ;;
	*) bad "mosquitto: message expiry of queued messages" "got: $out" "want: long 26..28 alone (30 s less the 2.2 s it waited)" ;;
	esac

	# Topic Alias: the publisher (mosquitto_pub -l) sends the topic with alias 1 once, then the
	# alias alone; the subscriber gets every message with the topic. An alias above the
	# broker's Topic Alias Maximum (10) ends the connection with DISCONNECT 0x94 [MQTT-3.3.2-9].
	timeout 10 mosquitto_sub $P -t 'ta/#' -q 1 -C 3 -F '%t %p' >"$tmp/ta.out" &
	spid=$!
	sleep 0.4
	printf 'l1\nl2\nl3\n' | mosquitto_pub $P -t ta/t -q 1 -l -D publish topic-alias 1 -d >"$tmp/tapub.out" 2>&1
	wait $spid
	if [ "$(cat "$tmp/ta.out")" = "ta/t l1
ta/t l2
ta/t l3" ] && [ "$(grep -c "sending PUBLISH.*'(null)'" "$tmp/tapub.out")" = 2 ]; then
		ok "mosquitto: topic alias set once then used alone, 3 messages delivered with their topic"
	else
		bad "mosquitto: topic alias" "subscriber: $(cat "$tmp/ta.out")" "publisher: $(cat "$tmp/tapub.out")"
	fi
	mosquitto_pub $P -i ta-over -t ta/t -m x -q 1 -D publish topic-alias 11 -d >"$tmp/over.out" 2>&1
	grep -q "^Received DISCONNECT (148)" "$tmp/over.out" && ok "mosquitto: topic alias 11 over the maximum 10 gets DISCONNECT 0x94" ||
		bad "mosquitto: topic alias over the maximum" "client: $(cat "$tmp/over.out")" "broker: $(grep ta-over "$tmp/broker.log")"

	# Subscription Identifier given with -D subscribe comes back on the PUBLISH [MQTT-3.3.4-3].
	timeout 10 mosquitto_sub $P -t sid/t -q 1 -C 1 -F '%S %p' -D subscribe subscription-identifier 42 >"$tmp/sid.out" &
	spid=$!
	sleep 0.4
	mosquitto_pub $P -t sid/t -m x -q 1
	wait $spid
	[ "$(cat "$tmp/sid.out")" = "42 x" ] && ok "mosquitto: subscription identifier 42 on the PUBLISH" ||
		bad "mosquitto: subscription identifier" "got: $(cat "$tmp/sid.out")"
fi

# ---- MQTT.js 5 --------------------------------------------------------------------------------
have_js=1
need_tool node nodejs "5.0 was not checked against MQTT.js" || have_js=0
if [ $have_js -eq 1 ]; then
	want=$(node -p "require('./tests/mqttjs/package.json').dependencies.mqtt")
	have=$(node -p "require('./$PREFIX/node_modules/mqtt/package.json').version" 2>/dev/null)
	if [ "$have" != "$want" ] || ! cmp -s tests/mqttjs/package-lock.json "$PREFIX/package-lock.json"; then
		if need_tool npm npm "MQTT.js $want could not be installed, and 5.0 was not checked against it"; then
			rm -rf "$PREFIX"
			mkdir -p "$PREFIX"
			cp tests/mqttjs/package.json tests/mqttjs/package-lock.json "$PREFIX/"
			if timeout 300 npm ci --prefix "$PREFIX" --no-audit --no-fund --loglevel=error >"$tmp/npm.log" 2>&1; then
				ok "installed MQTT.js $want into $PREFIX"
			else
				bad "npm ci --prefix $PREFIX (mqtt $want)" "$(tail -15 "$tmp/npm.log")"
				rm -rf "$PREFIX"
				have_js=0
			fi
		else
			have_js=0
		fi
	fi
fi
if [ $have_js -eq 1 ]; then
	for c in shared alias subid; do
		out=$(timeout 20 node "$HERE/mqttjs/interop5.js" "$PREFIX" "$port" $c 2>&1)
		[ $? -eq 0 ] && ok "MQTT.js $c: $out" || bad "MQTT.js $c" "$out"
	done
fi

# ---- Paho (python3-paho-mqtt) v5 ------------------------------------------------------------
if need_py $PY paho.mqtt python3-paho-mqtt "5.0 was not checked against Paho"; then
	for c in reqresp userprops session; do
		out=$(timeout 20 $PY "$HERE/interop5_paho.py" "$port" $c 2>&1)
		[ $? -eq 0 ] && ok "paho v5 $c: $out" || bad "paho v5 $c" "$out"
	done
fi

if kill -0 $bpid 2>/dev/null; then
	ok "broker alive after the 5.0 clients"
else
	bad "broker alive after the 5.0 clients" "$(tail -5 "$tmp/broker.log")"
fi
stop_broker

# ---- Crash safety: kill -9 of `mqttsim broker --store` -----------------------------------------
# Three persistent 5.0 sessions whose clients are killed (no DISCONNECT), then the broker:
#  cw: Session Expiry 120, a will delayed 4 s, two queued messages (expiry 3 s and 60 s);
#      it stays away, so its will is published 4 s after it vanished [MQTT-3.1.3-9], not
#      before; on its late return the 3 s message is gone and the 60 s one comes with its
#      interval reduced by all the time it waited, the broker's downtime included.
#  cb: a will delayed 8 s; it returns after the restart within the delay: no will
#      [MQTT-3.1.3-9], and its queued message is there.
#  cx: Session Expiry 3: after it, on return, nothing queued is delivered.
if [ $have_mosq -eq 1 ]; then
	mkdir "$tmp/store"
	start_broker --listen 127.0.0.1:0 --store "$tmp/store" || have_mosq=0
fi
if [ $have_mosq -eq 1 ]; then
	P="-V 5 -p $port"
	# Not under timeout(1): kill -9 must hit the client itself (a surviving mosquitto_sub
	# reconnects to the restarted broker); it is killed a second after it connects.
	mosquitto_sub $P -i cw -c -x 120 -q 1 -t cq/w --will-topic will/cw --will-payload cw-gone \
		-D will will-delay-interval 4 >/dev/null 2>&1 &
	w1=$!
	mosquitto_sub $P -i cb -c -x 120 -q 1 -t cq/b --will-topic will/cb --will-payload cb-gone \
		-D will will-delay-interval 8 >/dev/null 2>&1 &
	w2=$!
	mosquitto_sub $P -i cx -c -x 3 -q 1 -t cq/x >/dev/null 2>&1 &
	w3=$!
	connected cw && connected cb && connected cx || bad "crash: the three clients connected" "$(cat "$tmp/broker.log")"
	sleep 0.3 # their SUBSCRIBEs
	kill -9 $w1 $w2 $w3
	t0=$(ms)
	wait $w1 $w2 $w3 2>/dev/null
	mosquitto_pub $P -t cq/w -m w-short -q 1 -D publish message-expiry-interval 3
	mosquitto_pub $P -t cq/w -m w-long -q 1 -D publish message-expiry-interval 60
	mosquitto_pub $P -t cq/b -m b-kept -q 1
	mosquitto_pub $P -t cq/x -m x-lost -q 1
	sleep 0.3
	kill -9 $bpid
	wait $bpid 2>/dev/null
	sleep 0.5 # the broker is down a while: its timers must count that time too
	cp "$tmp/broker.log" "$tmp/broker1.log"
	if start_broker --listen "127.0.0.1:$port" --store "$tmp/store"; then
		grep -q "store: recovered [1-9][0-9]* records, skipped 0; " "$tmp/broker.log" && ok "crash: restart recovers the store" ||
			bad "crash: restart recovers the store" "$(head -3 "$tmp/broker.log")"
		# Watch the wills for 9.5 s from t0; record when each arrives.
		left=$(( (9500 - ($(ms) - t0)) / 1000 ))
		(timeout $((left + 2)) mosquitto_sub $P -t 'will/#' -q 1 -W $left -F '%t %p' 2>/dev/null |
			while read -r line; do echo "$(($(ms) - t0)) $line"; done) >"$tmp/wills.out" &
		wpid=$!
		# cb returns within its delay (before 8 s), without a will this time.
		while [ $(($(ms) - t0)) -lt 5000 ]; do sleep 0.1; done
		out=$(mosquitto_sub $P -i cb -c -x 120 -q 1 -t cq/b -C 1 -W 3 2>&1)
		[ "$out" = b-kept ] && ok "crash: a session resumed after the restart gets its queued message" ||
			bad "crash: session resumed after the restart" "got: $out"
		out=$(mosquitto_sub $P -i cx -c -x 3 -q 1 -t cq/x -C 1 -W 1 2>/dev/null)
		[ -z "$out" ] && ok "crash: a session past its expiry (3 s) has nothing queued" ||
			bad "crash: session expiry across the restart" "got: $out"
		wait $wpid
		wills=$(cat "$tmp/wills.out")
		at=$(echo "$wills" | sed -n 's/^\([0-9]*\) will\/cw cw-gone$/\1/p')
		if [ -n "$at" ] && [ "$at" -ge 3900 ] && [ "$at" -le 5500 ] && [ "$(echo "$wills" | wc -l)" = 1 ]; then
			ok "crash: the delayed will (4 s) published ${at} ms after its client vanished, across the restart"
		else
			bad "crash: delayed will across the restart" "wills seen (ms after the client vanished): $wills" \
				"want: will/cw cw-gone at 4000..5500 ms alone (cb came back within its 8 s)"
		fi
		waited=$(( ($(ms) - t0) / 1000 ))
		out=$(mosquitto_sub $P -i cw -c -x 120 -q 1 -t cq/w -C 2 -W 2 -F '%p %E' 2>/dev/null)
		e=$(echo "$out" | sed -n 's/^w-long \([0-9]*\)$/\1/p')
		if [ -n "$e" ] && [ "$(echo "$out" | wc -l)" = 1 ] && [ "$e" -le $((60 - waited + 1)) ] && [ "$e" -ge $((60 - waited - 2)) ]; then
			ok "crash: queued message past its expiry not delivered; the other's interval reduced to $e s after about $waited s"
		else
			bad "crash: message expiry across the restart" "got: $out" "want: w-long alone with about $((60 - waited)) s left"
		fi
		stop_broker
	fi
fi

echo "interop5: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
