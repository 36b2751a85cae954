#!/bin/sh
# bench_conform.sh - wall time of the full conformance suite: against the reference broker
# in simulation (target under 2 s) and against mosquitto with -j 4 (target under 30 s).
set -u
M=${MQTTSIM:-build/mqttsim}
now() { date +%s.%N; }
t0=$(now); "$M" conform >/dev/null 2>&1; rc=$?; t1=$(now)
echo "conform, reference broker in simulation:  $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}")s (exit $rc; target < 2s)"
MOSQ=$(command -v mosquitto || ls /usr/sbin/mosquitto 2>/dev/null)
if [ -n "$MOSQ" ]; then
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$MOSQ" -p "$port" >/dev/null 2>&1 &
	mpid=$!
	sleep 0.5
	t0=$(now)
	"$M" conform --broker "tcp://127.0.0.1:$port" -j 4 --expect-failures conformance/expected-failures/mosquitto.txt >/dev/null 2>&1
	rc=$?
	t1=$(now)
	kill $mpid
	echo "conform, mosquitto over TCP with -j 4:      $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}")s (exit $rc; target < 30s)"
else
	echo "conform against mosquitto: not measured (mosquitto is not installed)"
fi
