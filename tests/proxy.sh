#!/bin/sh
# proxy.sh - `mqttsim proxy` between clients and mosquitto on loopback: pass-through, latency,
# a partition healing (QoS 1 arrives late), reset, blackhole, limit_data, selection by client
# id, the same seed giving the same schedule, and the errors (exit 2). Every wait is bounded.
# Without mosquitto or its clients: a NOTE, or under CI a failure (tests/lib.sh).
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
HERE=$(dirname "$0")
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "    $l"; done; }
tmp=$(mktemp -d)
mpid="" ppid=""
trap 'kill $ppid $mpid 2>/dev/null; rm -rf "$tmp"' EXIT
freeport() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ms() { $PY -c 'import time; print(int(time.monotonic()*1000))'; }

# ---- without a broker: schedules and errors ----------------------------------------------
cat >"$tmp/rand.yaml" <<'Y'
name: proxy-random
duration: 10m
clients:
  - { id: sensor-1 }
  - { id: sensor-2 }
random_faults:
  partition: { per_hour: 60, mean: 5s }
  reset: { per_hour: 30 }
Y
up=127.0.0.1:$(freeport)
for n in 1 2; do
	timeout 5 "$M" proxy --listen 127.0.0.1:0 --upstream tcp://$up --faults "$tmp/rand.yaml" --seed 7 \
		--schedule-out "$tmp/s$n.yaml" --duration 100ms >/dev/null 2>&1
done
timeout 5 "$M" proxy --listen 127.0.0.1:0 --upstream tcp://$up --faults "$tmp/rand.yaml" --seed 8 \
	--schedule-out "$tmp/s8.yaml" --duration 100ms >/dev/null 2>&1
timeout 5 "$M" proxy --listen 127.0.0.1:0 --upstream tcp://$up --faults "$tmp/s1.yaml" \
	--schedule-out "$tmp/replay.yaml" --duration 100ms >/dev/null 2>&1
nf=$(grep -c '^  - { at:' "$tmp/s1.yaml")
[ "$nf" -gt 3 ] && cmp -s "$tmp/s1.yaml" "$tmp/s2.yaml" && ! cmp -s "$tmp/s1.yaml" "$tmp/s8.yaml" &&
	ok "seed 7 twice: the same schedule ($nf faults); seed 8 another" ||
	bad "schedules by seed" "$(head -12 "$tmp/s1.yaml")"
cmp -s "$tmp/s1.yaml" "$tmp/replay.yaml" && ok "--faults of a written schedule writes the same schedule" ||
	bad "replayed schedule" "$(diff "$tmp/s1.yaml" "$tmp/replay.yaml" | head)"

expect2() { # NAME PATTERN ARGS...: exit 2 with PATTERN on stderr
	_n=$1 _p=$2
	shift 2
	timeout 5 "$M" proxy "$@" >/dev/null 2>"$tmp/err"
	_rc=$?
	[ $_rc -eq 2 ] && grep -q "$_p" "$tmp/err" && ok "$_n: exit 2" || bad "$_n (exit $_rc)" "$(cat "$tmp/err")"
}
expect2 "unknown flag" "unknown option '--bogus'" --bogus
expect2 "missing --upstream" "upstream tcp://HOST:PORT is required" --listen 127.0.0.1:0
expect2 "bad --upstream" "takes tcp://HOST:PORT" --listen 127.0.0.1:0 --upstream http://x:1
printf 'name: bad\nclients:\n  - { id: a }\nfaults:\n  - { at: 1s, partition: [a, broker], for: 2q }\n' >"$tmp/bad.yaml"
expect2 "bad faults file" "bad.yaml:5:" --listen 127.0.0.1:0 --upstream tcp://$up --faults "$tmp/bad.yaml"
printf 'name: bad\nclients:\n  - { id: a }\n  - { id: b }\nfaults:\n  - { at: 1s, partition: [a, b], for: 2s }\n' >"$tmp/bad2.yaml"
expect2 "client-to-client fault" "bad2.yaml:6:5: a proxy applies only" --listen 127.0.0.1:0 --upstream tcp://$up --faults "$tmp/bad2.yaml"
busy=$(freeport)
$PY -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$busy)); s.listen(); time.sleep(3)" &
hold=$!
sleep 0.3
expect2 "port in use" "Address already in use" --listen 127.0.0.1:$busy --upstream tcp://$up --duration 1s
kill $hold 2>/dev/null

if ! need_tool mosquitto mosquitto "the proxy was not checked in front of mosquitto"; then
	echo "proxy: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi
MOSQ=$tool
need_tool mosquitto_sub mosquitto-clients "the proxy was not checked with mosquitto's clients" || {
	echo "proxy: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

# Upstream unreachable: said per connection, and the client's connection is closed.
"$M" proxy --listen 127.0.0.1:0 --upstream tcp://$up --duration 5s >"$tmp/un.log" 2>"$tmp/un.err" &
ppid=$!
for _ in $(seq 1 50); do pport=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/un.err"); [ -n "$pport" ] && break; sleep 0.1; done
r=$(timeout 5 $PY "$HERE/proxy_probe.py" "$pport" un 2 2>&1)
kill $ppid 2>/dev/null; wait $ppid 2>/dev/null
case $r in eof* | reset*) grep -q "connection 1: upstream 127.0.0.1:.* unreachable" "$tmp/un.err" &&
	ok "upstream unreachable: said for connection 1, client closed ($r)" || bad "upstream unreachable" "$(cat "$tmp/un.err")" ;;
*) bad "upstream unreachable: the client saw $r" "$(cat "$tmp/un.err")" ;; esac

mport=$(freeport)
"$MOSQ" -p "$mport" >"$tmp/mosq.log" 2>&1 &
mpid=$!
sleep 0.5

# proxy_start FAULTS|-: start a proxy in front of mosquitto; set ppid and pport.
proxy_start() {
	_f=""
	[ "$1" != - ] && _f="--faults $1"
	# shellcheck disable=SC2086
	"$M" proxy --listen 127.0.0.1:0 --upstream tcp://127.0.0.1:$mport $_f --duration 30s --log "$tmp/p.log" 2>"$tmp/p.err" &
	ppid=$!
	pport=""
	for _ in $(seq 1 50); do
		pport=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/p.err")
		[ -n "$pport" ] && break
		sleep 0.1
	done
}
proxy_stop() { kill $ppid 2>/dev/null; wait $ppid 2>/dev/null; ppid=""; }

# Pass-through: a QoS 1 message through the proxy both ways, every packet in the log.
proxy_start -
timeout 10 mosquitto_sub -p "$pport" -t pt/x -q 1 -C 1 -i pt-sub >"$tmp/pt.out" &
spid=$!
sleep 0.5
mosquitto_pub -p "$pport" -t pt/x -q 1 -m hello -i pt-pub
wait $spid
proxy_stop
[ "$(cat "$tmp/pt.out")" = hello ] && grep -q 'pt-sub c1 mqtt <- PUBLISH qos=1.*topic="pt/x"' "$tmp/p.log" &&
	grep -q 'pt-pub c2 mqtt -> CONNECT' "$tmp/p.log" && ok "pass-through delivers; packets decoded in the log" ||
	bad "pass-through" "got: $(cat "$tmp/pt.out")" "$(head -20 "$tmp/p.log")"

# Latency 300 ms each way: a QoS 1 publish is two round trips (CONNECT, PUBLISH) >= 1200 ms.
printf 'name: lat\nnetwork:\n  default: { latency: 300ms }\n' >"$tmp/lat.yaml"
proxy_start "$tmp/lat.yaml"
t0=$(ms)
timeout 10 mosquitto_pub -p "$pport" -t lat/x -q 1 -m x -i lat-pub
t1=$(ms)
proxy_stop
d=$((t1 - t0))
[ $d -ge 1200 ] && [ $d -lt 5000 ] && ok "latency 300ms: a QoS 1 publish took ${d} ms (>= 1200)" || bad "latency: ${d} ms"

# A partition holds a QoS 1 message; it arrives after the partition heals.
printf 'name: part\nclients:\n  - { id: part-sub }\nfaults:\n  - { at: 1500ms, partition: [part-sub, broker], for: 2s }\n' >"$tmp/part.yaml"
proxy_start "$tmp/part.yaml"
timeout 12 mosquitto_sub -p "$pport" -t part/x -q 1 -C 1 -i part-sub -c >"$tmp/part.out" &
spid=$!
sleep 2
mosquitto_pub -p "$mport" -t part/x -q 1 -m held -i part-pub
sleep 1
early=$(cat "$tmp/part.out")
wait $spid
proxy_stop
[ -z "$early" ] && [ "$(cat "$tmp/part.out")" = held ] && grep -q 'fault lift partition part-sub' "$tmp/p.log" &&
	grep -q 'lost <- segment.*(partition)' "$tmp/p.log" &&
	ok "partition: QoS 1 held during it ($(grep -c 'lost <-' "$tmp/p.log") retransmissions), delivered after it healed" ||
	bad "partition" "early: $early" "late: $(cat "$tmp/part.out")" "$(grep -E 'fault|lost' "$tmp/p.log" | head)"

# Bandwidth 16 kbit/s: a 4000-byte payload (32,000 bits) takes at least 2 s to go through.
printf 'name: bw\nclients:\n  - { id: bw-pub }\nnetwork:\n  links:\n    bw-pub: { bandwidth: 16kbit }\n' >"$tmp/bw.yaml"
proxy_start "$tmp/bw.yaml"
t0=$(ms)
timeout 15 mosquitto_pub -p "$pport" -t bw/x -q 1 -i bw-pub -m "$($PY -c 'print("x"*4000)')"
t1=$(ms)
proxy_stop
d=$((t1 - t0))
[ $d -ge 2000 ] && [ $d -lt 10000 ] && ok "bandwidth 16kbit: a 4000-byte publish took ${d} ms (>= 2000)" || bad "bandwidth: ${d} ms"

# partition_oneway broker -> client: the client's pings go out, no answer comes back, and
# the log shows the broker's segments lost; another client's connection is untouched.
printf 'name: ow\nclients:\n  - { id: ow }\nfaults:\n  - { at: 1s, partition_oneway: [broker, ow], for: 20s }\n' >"$tmp/ow.yaml"
proxy_start "$tmp/ow.yaml"
r=$($PY "$HERE/proxy_probe.py" "$pport" ow 3 2>&1)
proxy_stop
case $r in "open early="[1-9]*" late=0 "*) grep -q 'ow c1 lost <- segment.*(partition)' "$tmp/p.log" && ! grep -q 'ow c1 lost ->' "$tmp/p.log" &&
	ok "partition_oneway broker -> client: answers lost, requests delivered ($r)" || bad "partition_oneway log" "$(grep lost "$tmp/p.log" | head -3)" ;;
*) bad "partition_oneway" "$r" ;; esac

# reset, blackhole, limit_data and selection, seen by a small client that pings every 250 ms.
cat >"$tmp/kinds.yaml" <<'Y'
name: kinds
clients:
  - { id: rst }
  - { id: hole }
  - { id: lim }
network:
  links:
    lim: { limit: 40B }
faults:
  - { at: 1s, reset: [rst, broker] }
  - { at: 1s, blackhole: [hole, broker] }
Y
proxy_start "$tmp/kinds.yaml"
$PY "$HERE/proxy_probe.py" "$pport" rst 3 >"$tmp/rst.out" 2>&1 &
p1=$!
$PY "$HERE/proxy_probe.py" "$pport" hole 3 >"$tmp/hole.out" 2>&1 &
p2=$!
$PY "$HERE/proxy_probe.py" "$pport" lim 3 >"$tmp/lim.out" 2>&1 &
p3=$!
$PY "$HERE/proxy_probe.py" "$pport" other 3 >"$tmp/other.out" 2>&1 &
p4=$!
wait $p1 $p2 $p3 $p4
proxy_stop
case $(cat "$tmp/rst.out") in reset*) ok "reset: the client's connection was reset ($(cat "$tmp/rst.out"))" ;;
*) bad "reset" "$(cat "$tmp/rst.out")" ;; esac
case $(cat "$tmp/hole.out") in "open early="[1-9]*" late=0 "*) ok "blackhole: connection kept open, silent after 1 s ($(cat "$tmp/hole.out"))" ;;
*) bad "blackhole" "$(cat "$tmp/hole.out")" ;; esac
case $(cat "$tmp/lim.out") in eof*) grep -q 'lim c[0-9]* fault limit_data reached after 40B ->' "$tmp/p.log" &&
	ok "limit_data 40B: closed after 40 bytes ($(cat "$tmp/lim.out"))" || bad "limit_data log" "$(grep lim "$tmp/p.log" | tail -3)" ;;
*) bad "limit_data" "$(cat "$tmp/lim.out")" ;; esac
case $(cat "$tmp/other.out") in "open early="[1-9]*" late="[1-9]*) ! grep -q 'other c[0-9]* fault' "$tmp/p.log" &&
	ok "selection by client id: an unselected client untouched ($(cat "$tmp/other.out"))" || bad "selection: faults on other" ;;
*) bad "selection: other client" "$(cat "$tmp/other.out")" ;; esac

echo "proxy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
