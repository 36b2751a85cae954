#!/bin/sh
# scram.sh - MQTT 5.0 enhanced authentication (SCRAM-SHA-256) against `mqttsim broker
# --passwords` on loopback, by a client in Python (tests/scram_tcp.py) written apart from
# the broker's C code: login, re-authentication, wrong password, unknown method, a
# malformed message, nonces that differ per connection.
set -u
M=${MQTTSIM:-build/mqttsim}
. tests/lib.sh
tmp=$(mktemp -d)
bpid=""
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null; rm -rf "$tmp"' EXIT
printf 'pencil\n' | "$M" passwd "$tmp/passwd" user >/dev/null 2>&1 || { echo "FAIL mqttsim passwd"; exit 1; }
broker_start "$tmp/broker.log" --sys-interval 0 --passwords "$tmp/passwd"
if [ -z "$port" ]; then
	echo "FAIL the broker did not start:"
	sed 's/^/    /' "$tmp/broker.log"
	exit 1
fi
python3 tests/scram_tcp.py "$port"
rc=$?
[ $rc -eq 0 ] || { echo "broker log:"; sed 's/^/    /' "$tmp/broker.log"; }
exit $rc
