#!/bin/sh
# v5_scenarios.sh - scenarios/conformance-5.0: every scenario passes against the reference
# broker in simulation and over TCP; every spec: id is in conformance/mqtt-5.0.yaml; each
# 5.0 break switch makes the scenarios it breaks fail (over TCP: `run` has no --break-broker).
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
D=scenarios/conformance-5.0
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
bpid=""
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null; rm -rf "$tmp"' EXIT

out=$("$M" run "$D" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "5.0 conformance scenarios pass in simulation" || bad "in simulation (exit $rc)" "$out"

grep -ho 'MQTT-[0-9.]*-[0-9]*' "$D"/*.yaml | sort -u >"$tmp/ids"
missing=$(while read -r id; do grep -q "id: $id\$" conformance/mqtt-5.0.yaml || echo "$id"; done <"$tmp/ids")
[ -s "$tmp/ids" ] && [ -z "$missing" ] && ok "all $(wc -l <"$tmp/ids") statement ids are in mqtt-5.0.yaml" || bad "unknown ids" "$missing"

# FILE... must fail (exit 1) against a broker started with --break-broker NAME.
broken() {
	name=$1; shift
	broker_start "$tmp/$name.log" --sys-interval 0 --break-broker "$name"
	[ -n "$port" ] || { bad "$name: broker did not start" "$(cat "$tmp/$name.log")"; return; }
	for f in "$@"; do
		out=$("$M" run "$D/$f" --broker "mqtt://127.0.0.1:$port" 2>&1); rc=$?
		[ $rc -eq 1 ] && ok "$name fails $f" || bad "$name: $f exit $rc, wanted 1" "$out"
	done
	kill $bpid; wait $bpid 2>/dev/null; bpid=""
}

broker_start "$tmp/broker.log" --sys-interval 0
if [ -n "$port" ]; then
	out=$("$M" run "$D" --broker "mqtt://127.0.0.1:$port" 2>&1); rc=$?
	n=$(printf '%s\n' "$out" | grep -c '^PASS ')
	[ $rc -eq 0 ] && [ "$n" -ge 10 ] && ok "over TCP against mqttsim broker ($n ran)" || bad "over TCP (exit $rc, $n passed)" "$out"
	# Shared subscriptions run over TCP too: the run prefix goes inside $share/GROUP/FILTER.
	printf '%s\n' "$out" | grep -q '^PASS  4.8-shared-subscriptions ' && ok "4.8-shared-subscriptions ran and passed over TCP" ||
		bad "4.8-shared-subscriptions did not pass over TCP" "$(printf '%s\n' "$out" | grep 4.8-shared)"
	kill $bpid; wait $bpid 2>/dev/null; bpid=""
else
	bad "the reference broker did not start" "$(cat "$tmp/broker.log")"
fi
broken no-local-ignored 3.8-no-local.yaml
broken retain-as-published-ignored 3.3-retain-as-published.yaml
broken retain-handling-ignored 3.3-retain-handling.yaml
broken sub-id-dropped 3.3-subscription-ids.yaml
broken message-expiry-ignored 3.3-message-expiry.yaml

echo "v5_scenarios: $pass passed, $fail failed"
[ $fail -eq 0 ]
