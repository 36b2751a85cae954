#!/bin/sh
# pcap.sh - `mqttsim run --pcap` against tshark's MQTT dissector: for each example
# scenario, tshark must decode exactly the MQTT packets the trace shows, type by type, and
# flag nothing as malformed. Without tshark: a NOTE, or under CI a failure (tests/lib.sh).
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
pass=0 fail=0
if ! need_tool tshark tshark "the pcap files were not decoded"; then
	echo "pcap: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$M" run scenarios/examples --pcap "$tmp" --out "$tmp" >/dev/null 2>&1
types="CONNECT CONNACK PUBLISH PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE SUBACK UNSUBSCRIBE UNSUBACK PINGREQ PINGRESP DISCONNECT"
for trace in "$tmp"/*.trace; do
	name=$(basename "$trace" .trace)
	pcap="$tmp/$name.pcap"
	# From the trace: the type of every packet decoded, in order.
	want=$(grep ' mqtt [<>-]' "$trace" | sed 's/.* mqtt [<>-]* \([A-Z]*\).*/\1/')
	# From tshark: message types by number, several per frame when writes coalesced.
	got=$(tshark -r "$pcap" -Y mqtt -T fields -e mqtt.msgtype 2>/dev/null | tr ',' '\n' | while read -r n; do
		[ -n "$n" ] && set -- $types && eval "echo \${$n}"; done)
	bad=$(tshark -r "$pcap" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null | wc -l)
	# Packets mqttsim rejects (a wildcard in a topic name, say) end the trace's decoding of
	# that stream; tshark, which does not judge them, decodes one more each.
	nbad=$(grep -c ' mqtt-bad ' "$trace")
	nwant=$(echo "$want" | grep -c .)
	head=$(echo "$got" | head -n "$nwant")
	ngot=$(echo "$got" | grep -c .)
	if [ -n "$want" ] && [ "$want" = "$head" ] && [ "$ngot" -eq $((nwant + nbad)) ] && [ "$bad" -eq 0 ]; then
		pass=$((pass+1))
	else
		fail=$((fail+1))
		echo "FAIL $name: trace has $(echo "$want" | wc -l) packets, tshark decoded $(echo "$got" | grep -c .), $bad malformed"
		echo "$want" >"$tmp/w"; echo "$got" >"$tmp/g"; diff "$tmp/w" "$tmp/g" | head -5 | sed 's/^/    /'
	fi
done
echo "pcap: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
