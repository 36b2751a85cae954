#!/bin/sh
# bench_conform.sh - wall time of the full conformance suite: against the reference broker
# in simulation (target under 2 s) and against mosquitto with the default -j (target 10 s,
# issue 19), and the MQTT 5.0 suite against mosquitto over TCP (target 10 s, issue 15), each
# figure with MET or MISSED.
set -u
M=${MQTTSIM:-build/mqttsim}
now() { date +%s.%N; }
verdict() { awk "BEGIN{print ($1 <= $2) ? \"MET\" : \"MISSED\"}"; }
t0=$(now); "$M" conform >/dev/null 2>&1; rc=$?; t1=$(now)
t=$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}")
echo "conform, reference broker in simulation:    ${t}s (exit $rc; target <= 2s: $(verdict "$t" 2))"
MOSQ=$(command -v mosquitto || ls /usr/sbin/mosquitto 2>/dev/null)
if [ -n "$MOSQ" ]; then
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$MOSQ" -p "$port" >/dev/null 2>&1 &
	mpid=$!
	sleep 0.5
	for j in "" "-j 4"; do
		t0=$(now)
		"$M" conform --broker "tcp://127.0.0.1:$port" $j --expect-failures conformance/expected-failures/mosquitto.txt >/dev/null 2>&1
		rc=$?
		t1=$(now)
		t=$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}")
		if [ -z "$j" ]; then
			echo "conform, mosquitto over TCP, default -j:    ${t}s (exit $rc; target <= 10s: $(verdict "$t" 10))"
		else
			echo "conform, mosquitto over TCP, $j (for scale): ${t}s (exit $rc)"
		fi
	done
	t0=$(now)
	"$M" conform --version 5.0 --broker "tcp://127.0.0.1:$port" --expect-failures conformance/expected-failures/mosquitto.txt >/dev/null 2>&1
	rc=$?
	t1=$(now)
	t=$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}")
	echo "conform --version 5.0, mosquitto over TCP, default -j: ${t}s (exit $rc; target <= 10s: $(verdict "$t" 10))"
	kill $mpid
else
	echo "conform against mosquitto: not measured (mosquitto is not installed)"
fi
