#!/bin/sh
# golden.sh - what `run`, `conform` and `explore` print, byte for byte, compared with outputs
# recorded before the harness was rebuilt around results as data (issue 12); the MQTT 5.0
# suite and its break switches were added to it later. Wall-clock
# figures (timestamps, seeds/s, elapsed seconds) are masked; everything else must match.
#   sh tests/golden.sh            compare (exit 1 on any difference, showing the first lines)
#   sh tests/golden.sh --record   write tests/golden/*.txt anew (only for a deliberate change)
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
G=tests/golden
record=0
[ "${1:-}" = "--record" ] && record=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# Wall time differs between runs; nothing else may.
mask() {
	sed -e 's/"started": "[^"]*"/"started": "T"/' \
	    -e 's/timestamp="[^"]*"/timestamp="T"/g' \
	    -e 's/run in [0-9.]*s ([0-9]* seeds\/s)/run in Ts (N seeds\/s)/' \
	    -e 's/"time_s": [0-9.]*,\(.*"clock": "wall"\)/"time_s": T,\1/' \
	    -e 's/time="[0-9.]*"/time="T"/g' \
	    -e 's/started: .*/started: T/' \
	    -e 's/, started [0-9TZ:-]*/, started T/' \
	    -e "s|$tmp|TMP|g"
}

case_() { # name command...
	name=$1; shift
	"$@" >"$tmp/out" 2>&1
	echo "exit $?" >>"$tmp/out"
	for f in "$tmp"/rep/*; do
		[ -f "$f" ] || continue
		printf '==== %s\n' "${f##*/}" >>"$tmp/out"
		cat "$f" >>"$tmp/out"
	done
	rm -rf "$tmp/rep"
	mask <"$tmp/out" >"$tmp/$name.txt"
	if [ $record -eq 1 ]; then
		cp "$tmp/$name.txt" "$G/$name.txt"
		echo "recorded $name"
	elif cmp -s "$tmp/$name.txt" "$G/$name.txt"; then
		pass=$((pass+1)); echo "PASS $name"
	else
		fail=$((fail+1)); echo "FAIL $name: output differs from $G/$name.txt"
		diff "$G/$name.txt" "$tmp/$name.txt" | head -12 | sed 's/^/    /'
	fi
}

D="scenarios/conformance scenarios/examples scenarios/flaky scenarios/explore"
case_ run-all "$M" run $D -j 2
case_ run-json "$M" run scenarios/examples scenarios/flaky --report json,junit,tap --report-dir "$tmp/rep"
case_ conform-sim "$M" conform -j 2
case_ conform-sim-reports "$M" conform -j 2 --report json,junit,tap --report-dir "$tmp/rep"
B311="retain-flag skip-will qos2-twice forget-session ignore-keepalive retained-stored-qos queued-retain dollar-wildcard"
for b in $B311; do
	case_ "conform-break-$b" "$M" conform -j 2 --break-broker "$b"
done
# The MQTT 5.0 suite, and the switches that break 5.0 behaviour, against it (recorded later
# than the files above: when each landed).
B50="plus-multi-level dup-copied released-resent unsubscribe-drops-inflight no-local-ignored retain-as-published-ignored retain-handling-ignored sub-id-dropped message-expiry-ignored shared-to-all second-connect-answered session-expiry-ignored will-delay-ignored no-takeover-disconnect assigned-id-missing problem-info-ignored disconnect-keeps-will response-info-unasked auth-method-ignored will-not-cancelled"
case_ conform-5.0-sim "$M" conform --version 5.0 -j 2
for b in $B50; do
	case_ "conform-5.0-break-$b" "$M" conform --version 5.0 -j 2 --break-broker "$b"
done
# The switches of the broker's WebSocket listener (--listen-ws) do nothing in simulation, where
# there is no WebSocket: tests/ws.sh shows each failing its statement of section 6 over ws://.
BWS="ws-text-accepted ws-frame-is-packet ws-no-subprotocol"
# Every switch the binary has is one of those: a new switch must be added here.
have=$("$M" conform --break-broker '?' 2>&1 | sed -n 's/.*--break-broker takes one of: //p' | tr ' ' '\n' | grep . | LC_ALL=C sort)
want=$(echo $B311 $B50 $BWS | tr ' ' '\n' | LC_ALL=C sort)
if [ $record -eq 0 ]; then
	if [ -n "$have" ] && [ "$have" = "$want" ]; then
		pass=$((pass+1)); echo "PASS every --break-broker switch ($(echo "$have" | wc -l)) has its golden case"
	else
		fail=$((fail+1)); echo "FAIL the --break-broker switches and golden.sh's lists differ"
		printf '%s\n' "$want" >"$tmp/want.txt"
		printf '%s\n' "$have" | LC_ALL=C comm -23 - "$tmp/want.txt" | sed 's/^/    not in golden.sh: /'
		printf '%s\n' "$have" | LC_ALL=C comm -13 - "$tmp/want.txt" | sed 's/^/    not in the binary: /'
	fi
fi
case_ conform-break-skip-will-json "$M" conform -j 2 --break-broker skip-will --report json --report-dir "$tmp/rep"
S=scenarios/explore/planted-qos0-partition.yaml
case_ explore-1000 "$M" explore "$S" --seeds 1000 -j 2 --report json --report-dir "$tmp/rep"
case_ explore-swarm "$M" explore "$S" --seeds 300..500 --swarm --json "$tmp/rep/swarm.json"
# Against mosquitto over TCP: wall-clock runs, so only the verdicts are compared.
# Without mosquitto: a NOTE, or under CI a failure (tests/lib.sh).
if need_tool mosquitto mosquitto "mosquitto's verdicts were not compared"; then
	MOSQ=$tool
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$MOSQ" -p "$port" >"$tmp/mosq.log" 2>&1 &
	mpid=$!
	trap 'kill $mpid 2>/dev/null; rm -rf "$tmp"' EXIT
	sleep 0.5
	verdicts() { "$@" | grep -E '^(FAIL|XFAIL|XPASS|OPTIONAL|UNREACHED|statements:) ' | sed 's/  seed=.*//' | sort; }
	case_ conform-mosquitto-verdicts verdicts "$M" conform --broker "tcp://127.0.0.1:$port" -j 4 \
		--expect-failures conformance/expected-failures/mosquitto.txt
fi
[ $record -eq 1 ] && exit 0
echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
