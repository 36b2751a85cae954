#!/bin/sh
# lang50.sh - the scenario language in MQTT 5.0 (tests/scenarios/v5): every scenario passes
# against the reference broker in simulation, and each fails when the broker is told to
# break what it checks, or when one of its checks is changed to say something false (a check
# that cannot fail would pass both ways).
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
bpid=""
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null; rm -rf "$tmp"' EXIT
D=tests/scenarios/v5

out=$("$M" run "$D" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "5.0 scenarios pass in simulation" || bad "5.0 scenarios (exit $rc)" "$out"

# Same scenario, same seed: the same trace, the Receive Maximum queue included.
a=$("$M" run "$D/v5-receive-max.yaml" | sed -n 's/.*trace=\([0-9a-f]*\).*/\1/p')
b=$("$M" run "$D/v5-receive-max.yaml" | sed -n 's/.*trace=\([0-9a-f]*\).*/\1/p')
[ -n "$a" ] && [ "$a" = "$b" ] && ok "5.0 run twice, one trace hash ($a)" || bad "5.0 trace hashes differ" "$a vs $b"

# mutant NAME FILE SED-EXPR NEEDLE: the changed scenario must fail (exit 1) saying NEEDLE.
mutant() {
	name=$1 file=$2 expr=$3 needle=$4
	sed "$expr" "$D/$file" >"$tmp/$file"
	if cmp -s "$D/$file" "$tmp/$file"; then bad "$name: the edit changed nothing"; return; fi
	out=$("$M" run "$tmp/$file" 2>&1); rc=$?
	if [ $rc -ne 1 ]; then bad "$name: exit $rc, wanted 1" "$out"; return; fi
	case "$out" in *"$needle"*) ok "$name fails";; *) bad "$name: output lacks '$needle'" "$out";; esac
}

mutant "connack: broker announces another topic alias maximum" v5-connack.yaml \
	's/broker: { topic_alias_maximum: 7/broker: { topic_alias_maximum: 9/' 'topic_alias_maximum=7'
mutant "connack: reason string said present" v5-connack.yaml 's/reason_string: absent/reason_string: present/' 'it has no Reason String'
mutant "connack: assigned client id said absent" v5-connack.yaml \
	's/assigned_client_identifier: present/assigned_client_identifier: absent/' 'which must be absent'
mutant "sub-ids: broker without subscription identifiers" v5-sub-ids.yaml \
	's/^targets: \[sim, tcp\]$/targets: [sim]\nbroker: { subscription_identifiers: false }/' 'SUBACK codes=0x01'
mutant "sub-ids: one identifier expected of two" v5-sub-ids.yaml 's/subscription_identifier: \[1, 2\]/subscription_identifier: [1]/' 'subscription_identifier=1'
mutant "sub-ids: user properties in another order" v5-sub-ids.yaml \
	's/\[ \[b, "2"\], \[a, "1"\]/[ [a, "1"], [b, "2"]/' 'expected PUBLISH'
mutant "receive-max: the client forced past the server's Receive Maximum" v5-receive-max.yaml \
	's/qos: 2 } }$/qos: 2, force: true } }/' 'DISCONNECT'
mutant "receive-max: broker takes one" v5-receive-max.yaml 's/^broker: { receive_maximum: 2 }/broker: { receive_maximum: 1 }/' 'receive_maximum=2'
mutant "topic-alias: the alias never set" v5-topic-alias.yaml 's/payload: first, topic_alias: 3/payload: first/' 'has no topic on this connection yet'
mutant "topic-alias: forced alias never set" v5-topic-alias.yaml \
	's/payload: first, topic_alias: 3/payload: first/; s/payload: second, topic_alias: 3/payload: second, topic_alias: 3, force: true/' 'expected PUBLISH topic="t/long/name" payload="second"'
mutant "topic-alias: server maximum below the alias" v5-topic-alias.yaml \
	's/broker: { topic_alias_maximum: 5 }/broker: { topic_alias_maximum: 2 }/; s/topic_alias_maximum: 5 } }/topic_alias_maximum: 2 } }/' 'Topic Alias Maximum is 2'
mutant "options: No Local off" v5-options.yaml 's/no_local: true/no_local: false/' 'expected no PUBLISH'
mutant "options: Retain Handling 0" v5-options.yaml 's/no_local: true, retain_handling: 2/no_local: true, retain_handling: 0/' 'expected no PUBLISH'
mutant "options: Retain As Published off" v5-options.yaml 's/retain_as_published: true/retain_as_published: false/' 'topic="r/3" retain=1'
mutant "options: a normal disconnect sends no will" v5-options.yaml 's/disconnect: { rc: 0x04 }/disconnect: { rc: 0 }/' 'topic="r/will"'
mutant "options: will content type" v5-options.yaml 's/content_type: text\/plain, user_properties: \[\[x, y\]\] } } }$/content_type: text\/html, user_properties: [[x, y]] } } }/' 'content_type="text/plain"'

# Over TCP, against the reference broker on a loopback port: the scenarios that take no
# simulated-broker options (the others say targets: [sim]).
broker_start "$tmp/broker.log" --sys-interval 0
if [ -n "$port" ]; then
	out=$("$M" run "$D" --broker "mqtt://127.0.0.1:$port" 2>&1); rc=$?
	n=$(printf '%s\n' "$out" | grep -c '^PASS ')
	[ $rc -eq 0 ] && [ "$n" -ge 2 ] && ok "5.0 scenarios over TCP against mqttsim broker ($n ran)" || bad "over TCP (exit $rc, $n passed)" "$out"
	mutant_tcp() { sed "$2" "$D/$1" >"$tmp/tcp-$1"; out=$("$M" run "$tmp/tcp-$1" --broker "mqtt://127.0.0.1:$port" 2>&1); rc=$?
		[ $rc -eq 1 ] && ok "over TCP: $3 fails" || bad "over TCP: $3 (exit $rc, wanted 1)" "$out"; }
	mutant_tcp v5-options.yaml 's/no_local: true/no_local: false/' "No Local off"
	mutant_tcp v5-sub-ids.yaml 's/subscription_identifier: \[1, 2\]/subscription_identifier: [2]/' "one identifier expected of two"
	kill $bpid; wait $bpid 2>/dev/null; bpid=""
else
	bad "the reference broker did not start" "$(cat "$tmp/broker.log")"
fi

echo "lang50: $pass passed, $fail failed"
[ $fail -eq 0 ]
