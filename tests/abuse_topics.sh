#!/bin/sh
# abuse_topics.sh - `mqttsim broker` on loopback under a subscription storm (issue 20,
# defect 3): one client subscribes 100,000 distinct filters under one level in 100
# SUBSCRIBEs of 1,000 while another pings; with 10,000 retained messages on their topics.
# The old topic tree took about 35 s (12 s more for the retained store) and held the other
# client's PINGRESP for seconds; the bounds here are generous for a loaded 2-core CI box.
# Then the default max_subscriptions (10,000): the filters past it get SUBACK 0x80, logged
# once. Each case prints PASS or FAIL; the last line counts them.
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
HERE=$(dirname "$0")
tmp=$(mktemp -d)
bpid=""
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "    $l"; done; }

broker_start "$tmp/big.log" --sys-interval 0 --max-subscriptions 100000
[ -n "$port" ] || { echo "abuse_topics: the broker did not start:"; cat "$tmp/big.log"; exit 1; }
out=$(timeout 60 $PY "$HERE/abuse_topics.py" "$port" --filters 100000 --per 1000 --retained 10000 \
	--route 1000 --limit 20 --ping-limit 5 2>&1)
if [ $? -eq 0 ]; then
	ok "100000 filters, 10000 retained, another client served"
	echo "$out" | sed 's/^/    /'
else
	bad "100000 filters, 10000 retained, another client served" "$out"
fi
kill $bpid; wait $bpid 2>/dev/null; bpid=""

broker_start "$tmp/bound.log" --sys-interval 0
[ -n "$port" ] || { echo "abuse_topics: the broker did not start:"; cat "$tmp/bound.log"; exit 1; }
out=$(timeout 30 $PY "$HERE/abuse_topics.py" "$port" --filters 12000 --per 1000 --expect-refused 2000 \
	--route 100 --limit 10 2>&1)
[ $? -eq 0 ] && ok "default max_subscriptions 10000: SUBACK 0x80 past it" || bad "max_subscriptions" "$out"
n=$(grep -c 'max_subscriptions 10000 reached' "$tmp/bound.log")
[ "$n" -eq 1 ] && ok "the refusal is logged once" || bad "the refusal is logged once" "$n lines:" "$(cat "$tmp/bound.log")"
kill $bpid; wait $bpid 2>/dev/null; bpid=""

# The bound from a config line.
printf 'sys-interval 0\nmax-subscriptions 500  # per session\n' >"$tmp/broker.conf"
broker_start "$tmp/conf.log" --config "$tmp/broker.conf"
[ -n "$port" ] || { echo "abuse_topics: the broker did not start:"; cat "$tmp/conf.log"; exit 1; }
out=$(timeout 30 $PY "$HERE/abuse_topics.py" "$port" --filters 1000 --per 100 --expect-refused 500 \
	--route 10 --limit 10 2>&1)
[ $? -eq 0 ] && ok "max-subscriptions 500 from a config line" || bad "max-subscriptions from a config line" "$out"
kill $bpid; wait $bpid 2>/dev/null; bpid=""

echo "abuse_topics: $pass passed, $fail failed"
[ $fail -eq 0 ]
