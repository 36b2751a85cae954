#!/bin/sh
# tcpfaults.sh - every network fault of a scenario over TCP, applied by the tcp engine in real
# time (the proxy's link model, in-process), against mosquitto on a free loopback port: one
# scenario per fault kind (tests/scenarios/tcpfaults), each passing in simulation and over
# TCP; controls showing the checks fail without the fault; random_faults drawn from the seed
# (the same schedule twice, another for another seed, the simulator's own times); and the
# faults refused over TCP, with their place and why (exit 2). Every wait is bounded.
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
D=tests/scenarios/tcpfaults
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "    $l"; done; }
tmp=$(mktemp -d)
mpid=""
trap 'kill $mpid 2>/dev/null; rm -rf "$tmp"' EXIT

n=$(ls $D/*.yaml | wc -l)
out=$("$M" run $D -j 2 2>&1); rc=$?
[ $rc -eq 0 ] && ok "simulation: the $n fault scenarios pass" || bad "simulation (exit $rc)" "$out"

if ! need_tool mosquitto mosquitto "faults over TCP were not checked against mosquitto"; then
	echo "tcpfaults: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi
mport=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tool" -p "$mport" >"$tmp/mosq.log" 2>&1 &
mpid=$!
B=tcp://127.0.0.1:$mport
for _ in $(seq 1 50); do
	$PY -c "import socket; socket.create_connection(('127.0.0.1',$mport),1)" 2>/dev/null && break
	sleep 0.1
done

# Each fault kind through the engine, against mosquitto.
out=$("$M" run $D --broker "$B" -j 2 2>&1); rc=$?
[ $rc -eq 0 ] && ok "over TCP: the $n fault scenarios pass against mosquitto" || bad "over TCP (exit $rc)" "$out"

# Controls: without the fault the same checks fail, so it is the fault they see.
sed 's/pub: { latency: 300ms }/pub: { latency: 0ms }/' $D/latency.yaml >"$tmp/nolat.yaml"
out=$("$M" run "$tmp/nolat.yaml" --broker "$B" 2>&1); rc=$?
case "$out" in *"PUBACK no sooner than 600ms after the last action"*) r=1 ;; *) r=0 ;; esac
[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "control: without the latency the round trip check fails" || bad "latency control (exit $rc)" "$out"
sed '/partition: \[sub, broker\]/d; s/^faults:$/faults: []/' $D/partition.yaml >"$tmp/nopart.yaml"
out=$("$M" run "$tmp/nopart.yaml" --broker "$B" 2>&1); rc=$?
case "$out" in *"no sooner than 1500ms"*) r=1 ;; *) r=0 ;; esac
[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "control: without the partition the late delivery check fails" || bad "partition control (exit $rc)" "$out"
sed 's/blackhole: \[sub, broker\]/partition: [sub, broker]/' $D/blackhole.yaml >"$tmp/part-abort.yaml"
out=$("$M" run "$tmp/part-abort.yaml" --broker "$B" 2>&1); rc=$?
case "$out" in *"expected PUBLISH payload=\"held\""*"closed sub's connection"*) r=1 ;; *) r=0 ;; esac
[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "control: a partition as long as the blackhole aborts the connection (3 retries)" ||
	bad "blackhole control (exit $rc)" "$out"

# random_faults: the schedule (said in -v) is the seed's: twice the same, another for seed 8,
# and at the times the simulator draws for that seed.
sched() { "$M" run $D/random.yaml --broker "$B" --seed "$1" -v 2>&1 | grep '^  fault at'; }
sched 7 >"$tmp/s7a"
sched 7 >"$tmp/s7b"
sched 8 >"$tmp/s8"
k=$(wc -l <"$tmp/s7a")
[ "$k" -ge 3 ] && cmp -s "$tmp/s7a" "$tmp/s7b" && ! cmp -s "$tmp/s7a" "$tmp/s8" &&
	ok "random_faults: seed 7 twice, the same $k faults; seed 8 another schedule" ||
	bad "random_faults schedule" "$(cat "$tmp/s7a")" "--" "$(cat "$tmp/s7b")"
"$M" run $D/random.yaml --seed 7 --out "$tmp" >/dev/null 2>&1
# The simulator's fault lines on a link with the broker (partition, clog, blackhole start):
# their times are the TCP schedule's (a reset with no connection to reset leaves no line).
grep -E ' fault (partition|clog|blackhole) .*broker' "$tmp/tcpfault-random.trace" | grep -v ' off$' |
	awk '{print $1}' | sort >"$tmp/simt"
grep -v ': reset ' "$tmp/s7a" | sed 's/.*fault at \([0-9.]*\)s:.*/\1/' | sort >"$tmp/tcpt"
[ -s "$tmp/simt" ] && cmp -s "$tmp/simt" "$tmp/tcpt" &&
	ok "random_faults: over TCP at the times the simulator draws for seed 7 ($(wc -l <"$tmp/tcpt") faults)" ||
	bad "random_faults vs the simulator" "sim: $(tr '\n' ' ' <"$tmp/simt")" "tcp: $(tr '\n' ' ' <"$tmp/tcpt")"

# What cannot be done from the client's side is refused, with its place and why, exit 2.
refuse() { # NAME PATTERN FAULTS-YAML
	printf 'name: r\nclients: [{ id: a }, { id: b }]\n%s\nsteps:\n  - { client: a, connect: {} }\n' "$3" >"$tmp/r.yaml"
	out=$("$M" run "$tmp/r.yaml" --broker "$B" 2>&1); rc=$?
	case "$out" in *"$2"*) r=1 ;; *) r=0 ;; esac
	[ $rc -eq 2 ] && [ $r -eq 1 ] && ok "refused over TCP: $1 (exit 2)" || bad "refusal of $1 (exit $rc)" "$out"
}
refuse "a broker crash" "r.yaml:4:5: over TCP: a crash of the broker needs a broker mqttsim started itself" \
	"faults:
  - { at: 1s, crash: broker, restart_after: 1s }"
refuse "a clock drift" "r.yaml:4:5: over TCP: a drift changes a host's clock: clock faults are simulation-only" \
	"faults:
  - { at: 1s, drift: { node: a, ppm: 100 } }"
refuse "a partition between two clients" "r.yaml:4:5: over TCP: a partition between a and b" \
	"faults:
  - { at: 1s, partition: [a, b], for: 1s }"
refuse "random clock jumps" "over TCP random_faults cannot draw jump: a jump changes a host's clock" \
	"duration: 5s
random_faults:
  partition: { per_hour: 10, mean: 1s }
  jump: { per_hour: 10, by: 1s }"

echo "tcpfaults: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
