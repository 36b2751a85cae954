#!/bin/sh
# explore.sh - mqttsim explore, shrink and replay end to end, on a planted rare failure
# (scenarios/explore/planted-qos0-partition.yaml: a QoS 0 reading is lost only when a
# partition drawn from the seed overlaps a publish):
#  - explore finds it within 1,000 seeds, grouped under the expectation, with replay commands;
#  - -j 2 finds the same seeds; --time-budget stops starting seeds;
#  - shards 1/4..4/4 cover the range exactly once, and --merge joins them to the same result;
#  - shrink cuts the seed's faults to at most 3; the shrunk file fails alone; its trace
#    renders as a timeline;
#  - replay reproduces a recorded trace (also with --swarm) and refuses a changed scenario or
#    another version; an edited trace is reported as different;
#  - --check-determinism passes, and fails (naming the line) when runs leak state;
#  - bad input exits 2 with a message.
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
S=scenarios/explore/planted-qos0-partition.yaml
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- explore ------------------------------------------------------------------------------
out=$("$M" explore "$S" --seeds 1000 --json "$tmp/all.json" 2>&1); rc=$?
seed=$(echo "$out" | sed -n 's/^    seed \([0-9]*\): .*delivered:.*/\1/p' | head -1)
nfail=$(echo "$out" | sed -n 's/^explore: 1000 seeds run in .*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
case "$out" in *"seeds: expect delivered (sensor -> dashboard on greenhouse/#) at $S:71:5  [MQTT-4.3.1-1]"*"replay: mqttsim run $S --seed $seed"*) r=1;; *) r=0;; esac
if [ $rc -eq 1 ] && [ $r -eq 1 ] && [ -n "$seed" ] && [ "${nfail:-0}" -gt 0 ] && [ "$nfail" -lt 100 ]; then
	ok "explore finds the planted failure within 1000 seeds ($nfail seeds fail, first $seed), grouped, with replay commands"
else
	bad "explore finds the planted failure (exit $rc, seed '$seed', failed '$nfail')" "$out"
	seed=170
fi

out=$("$M" run "$S" --seed "$seed" 2>&1); rc=$?
case "$out" in *"FAIL  planted-qos0-partition"*"delivered:"*) r=1;; *) r=0;; esac
[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "the printed replay command fails the same way" || bad "replay command (exit $rc)" "$out"
out=$("$M" run "$S" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "the scenario passes with its own seed" || bad "own seed passes (exit $rc)" "$out"

if need_tool python3 python3 "the explore JSON was not validated"; then
	PY=$tool
	out=$("$PY" tests/check_explore_json.py reports/schema/mqttsim-explore-1.json "$tmp/all.json" 2>&1) &&
		ok "the JSON results validate against reports/schema/mqttsim-explore-1.json" || bad "explore JSON" "$out"
fi

out=$("$M" explore "$S" --seeds 1000 -j 2 --json "$tmp/j2.json" 2>&1); rc=$?
a=$(grep -o '"seed": [0-9]*' "$tmp/all.json" | tr '\n' ' ')
b=$(grep -o '"seed": [0-9]*' "$tmp/j2.json" 2>/dev/null | tr '\n' ' ')
[ $rc -eq 1 ] && [ -n "$a" ] && [ "$a" = "$b" ] && ok "-j 2 finds the same failing seeds" || bad "-j 2 (exit $rc)" "$a" "$b" "$out"

out=$("$M" explore "$S" --seeds 1..100000000 --time-budget 1s 2>&1); rc=$?
case "$out" in *"the time budget (1s) ran out: "*" of 100000000 seeds ran; not run: "*) r=1;; *) r=0;; esac
[ $rc -le 1 ] && [ $r -eq 1 ] && ok "--time-budget stops starting seeds and says which did not run" || bad "--time-budget (exit $rc)" "$out"

cp "$S" "$tmp/changed.yaml"
echo "# one more line" >>"$tmp/changed.yaml"

# ---- shards -------------------------------------------------------------------------------
okshards=1
for i in 1 2 3 4; do
	"$M" explore "$S" --seeds 1..1000 --shard $i/4 --report json --report-dir "$tmp/shards" >"$tmp/shard$i.out" 2>&1
	rc=$?
	[ $rc -le 1 ] && [ -f "$tmp/shards/explore-shard-$i-of-4.json" ] || okshards=0
done
ranges=$(for i in 1 2 3 4; do sed -n 's/.*"ran": \[\(.*\)\],$/\1/p' "$tmp/shards/explore-shard-$i-of-4.json"; done | tr '\n' ' ')
[ $okshards -eq 1 ] && [ "$ranges" = "[1, 250] [251, 500] [501, 750] [751, 1000] " ] &&
	ok "shards 1/4..4/4 run 1..250, 251..500, 501..750, 751..1000" || bad "shards ($ranges)" "$(cat "$tmp"/shard*.out)"
out=$("$M" explore --merge "$tmp"/shards/explore-shard-*.json --json "$tmp/merged.json" 2>&1); rc=$?
m=$(grep -o '"seed": [0-9]*' "$tmp/merged.json" 2>/dev/null | tr '\n' ' ')
case "$out" in *"coverage: every seed of 1..1000 ran exactly once"*"explore: 1000 seeds run: "*" $nfail failed"*) r=1;; *) r=0;; esac
[ $rc -eq 1 ] && [ $r -eq 1 ] && [ "$m" = "$a" ] && ok "--merge: the shards cover 1..1000 exactly once and give the same failures" ||
	bad "--merge (exit $rc)" "$out" "$m" "$a"
if [ -n "$PY" ]; then
	out=$("$PY" tests/check_explore_json.py reports/schema/mqttsim-explore-1.json "$tmp/merged.json" 2>&1) &&
		ok "the merged JSON validates too" || bad "merged JSON" "$out"
fi
out=$("$M" explore --merge "$tmp/shards/explore-shard-2-of-4.json" "$tmp/shards/explore-shard-2-of-4.json" 2>&1); rc=$?
case "$out" in *"seed 251 ran more than once"*) r=1;; *) r=0;; esac
[ $rc -eq 2 ] && [ $r -eq 1 ] && ok "--merge refuses a shard given twice" || bad "--merge twice (exit $rc)" "$out"
out=$("$M" explore --merge "$tmp/shards/explore-shard-1-of-4.json" "$tmp/shards/explore-shard-3-of-4.json" 2>&1); rc=$?
case "$out" in *"500 of the 1000 seeds of 1..1000 ran, each once; not run: 251..500 751..1000"*) r=1;; *) r=0;; esac
[ $rc -le 1 ] && [ $r -eq 1 ] && ok "--merge names the seeds no shard ran" || bad "--merge gaps (exit $rc)" "$out"

"$M" explore "$tmp/changed.yaml" --seeds 1..1000 --shard 1/4 --json "$tmp/other-scenario.json" >/dev/null 2>&1
out=$("$M" explore --merge "$tmp/shards/explore-shard-2-of-4.json" "$tmp/other-scenario.json" 2>&1); rc=$?
case "$out" in *"merge results of the same scenario text and options only"*) r=1;; *) r=0;; esac
[ $rc -eq 2 ] && [ $r -eq 1 ] && ok "--merge refuses results of another scenario text" || bad "--merge other scenario (exit $rc)" "$out"

# ---- shrink -------------------------------------------------------------------------------
out=$("$M" shrink "$S" --seed "$seed" --out "$tmp/shrunk.yaml" 2>&1); rc=$?
before=$(echo "$out" | sed -n 's/^shrink: \([0-9]*\) faults* -> \([0-9]*\) in .*/\1/p')
after=$(echo "$out" | sed -n 's/^shrink: \([0-9]*\) faults* -> \([0-9]*\) in .*/\2/p')
infile=$(grep -c '^  - { at: ' "$tmp/shrunk.yaml" 2>/dev/null)
if [ $rc -eq 0 ] && [ -n "$after" ] && [ "$after" -le 3 ] && [ "$after" -ge 1 ] && [ "$before" -gt "$after" ] &&
	[ "$infile" = "$after" ] && ! grep -q random_faults "$tmp/shrunk.yaml"; then
	ok "shrink: $before faults -> $after (at most 3), written as explicit faults with random faults off"
else
	bad "shrink (exit $rc, $before -> $after, $infile in the file)" "$out" "$(cat "$tmp/shrunk.yaml" 2>/dev/null)"
fi
npub=$(grep -c 'publish:' "$tmp/shrunk.yaml")
case "$out" in *"shrink: 20 publish steps -> $npub in "*) r=1;; *) r=0;; esac
[ $r -eq 1 ] && [ "$npub" -ge 1 ] && [ "$npub" -le 3 ] && ok "shrink: 20 publish steps -> $npub" || bad "shrink messages ($npub)" "$out"
out=$("$M" run "$tmp/shrunk.yaml" --out "$tmp/tr" 2>&1); rc=$?
case "$out" in *"FAIL  planted-qos0-partition-seed$seed-shrunk"*"delivered:"*"never reached dashboard"*) r=1;; *) r=0;; esac
[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "the shrunk scenario fails alone, on the same expectation" || bad "shrunk alone (exit $rc)" "$out"
out=$("$M" timeline "$tmp/tr/planted-qos0-partition-seed$seed-shrunk.trace" --color never 2>&1); rc=$?
case "$out" in *"CONNECT"*"partition sensor <-> broker"*"lost segment"*"(partition)"*"timed out"*"heal sensor <-> broker"*) r=1;; *) r=0;; esac
[ $rc -eq 0 ] && [ $r -eq 1 ] && ok "its trace renders as a timeline (the partition, the lost reading, the timeout)" || bad "timeline (exit $rc)" "$out"
out=$("$M" shrink "$S" --seed 1 --out "$tmp/none.yaml" 2>&1); rc=$?
case "$out" in *"passes with seed 1: nothing to shrink"*) r=1;; *) r=0;; esac
[ $rc -eq 2 ] && [ $r -eq 1 ] && [ ! -f "$tmp/none.yaml" ] && ok "shrink of a passing seed is refused" || bad "shrink passing seed (exit $rc)" "$out"

# ---- replay -------------------------------------------------------------------------------
"$M" run "$S" --seed "$seed" --out "$tmp/rec" >/dev/null 2>&1
T="$tmp/rec/planted-qos0-partition.trace"
out=$("$M" replay "$T" 2>&1); rc=$?
h=$(sed -n 's/^# trace hash //p' "$T")
case "$out" in *"replay: identical: $S seed $seed, trace $h"*"fails, as recorded"*) r=1;; *) r=0;; esac
[ $rc -eq 0 ] && [ $r -eq 1 ] && ok "replay reproduces the recorded trace ($h)" || bad "replay (exit $rc)" "$out"
"$M" run "$S" --seed 77 --swarm --out "$tmp/sw" >/dev/null 2>&1
out=$("$M" replay "$tmp/sw/planted-qos0-partition.trace" 2>&1); rc=$?
case "$out" in *"identical"*"(swarm)"*) r=1;; *) r=0;; esac
[ $rc -eq 0 ] && [ $r -eq 1 ] && ok "replay of a --swarm run" || bad "replay --swarm (exit $rc)" "$out"
out=$("$M" replay "$T" --scenario "$tmp/changed.yaml" 2>&1); rc=$?
case "$out" in *"has changed since"*"scenario hash"*) r=1;; *) r=0;; esac
[ $rc -eq 2 ] && [ $r -eq 1 ] && ok "replay refuses a changed scenario (exit 2)" || bad "replay changed scenario (exit $rc)" "$out"
sed '2s/^# mqttsim [^ ]* /# mqttsim 0.0.1-old /' "$T" >"$tmp/old.trace"
out=$("$M" replay "$tmp/old.trace" 2>&1); rc=$?
case "$out" in *"recorded by mqttsim 0.0.1-old"*) r=1;; *) r=0;; esac
[ $rc -eq 2 ] && [ $r -eq 1 ] && ok "replay refuses another mqttsim version (exit 2)" || bad "replay version (exit $rc)" "$out"
sed '6s/connect/konnect/' "$T" >"$tmp/edited.trace"
out=$("$M" replay "$tmp/edited.trace" 2>&1); rc=$?
case "$out" in *"DIFFERENT"*"from event line 4"*"konnect"*) r=1;; *) r=0;; esac
[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "replay of an edited trace names the line that differs" || bad "replay edited (exit $rc)" "$out"
sed '2d' "$T" >"$tmp/nohdr.trace"
out=$("$M" replay "$tmp/nohdr.trace" 2>&1); rc=$?
case "$out" in *":2: the trace records no mqttsim version"*) r=1;; *) r=0;; esac
[ $rc -eq 2 ] && [ $r -eq 1 ] && ok "replay of a trace without version and hash is refused" || bad "replay old format (exit $rc)" "$out"

# ---- determinism guard --------------------------------------------------------------------
out=$("$M" explore "$S" --seeds 1..200 --check-determinism 2>&1); rc=$?
case "$out" in *"each seed twice"*"200 seeds run"*) r=1;; *) r=0;; esac
[ $rc -le 1 ] && [ $r -eq 1 ] && ! echo "$out" | grep -q determinism: && ok "--check-determinism: 200 seeds, two runs each, no difference" ||
	bad "--check-determinism (exit $rc)" "$out"
out=$("$M" explore "$S" --seeds 1..3 --check-determinism --break-determinism 2>&1); rc=$?
case "$out" in *"3 seeds: determinism: the two runs of the seed differ"*"from event line 2: first run: "*"test leak"*) r=1;; *) r=0;; esac
[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "--check-determinism catches state leaking between runs and names the line" || bad "determinism guard (exit $rc)" "$out"
out=$("$M" explore "$S" --seeds 1..60 --check-determinism --break-determinism=process 2>&1); rc=$?
case "$out" in *"2 seeds: determinism: the run in a fresh process differs"*"seed 1: "*"fresh process: "*"seed 51: "*) r=1;; *) r=0;; esac
[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "--check-determinism also runs seeds 1, 51... in a fresh process and catches what differs between processes" ||
	bad "determinism guard, fresh process (exit $rc)" "$out"
out=$("$M" explore "$S" --seeds 1..4 -j 2 --check-determinism --break-determinism 2>&1); rc=$?
case "$out" in *"4 seeds: determinism"*) r=1;; *) r=0;; esac
[ $rc -eq 1 ] && [ $r -eq 1 ] && ok "... in -j workers too" || bad "determinism guard -j 2 (exit $rc)" "$out"

# ---- bad input ----------------------------------------------------------------------------
allbad=1
for args in "--seeds 0" "--seeds 9..1" "--shard 5/4" "--shard 1/0" "-j 0" "--time-budget soon" "--report xml" "--bogus"; do
	out=$("$M" explore "$S" $args 2>&1); rc=$?
	[ $rc -eq 2 ] && [ -n "$out" ] || { bad "explore $args should exit 2 with a message (exit $rc)" "$out"; allbad=0; }
done
[ $allbad -eq 1 ] && ok "explore refuses bad seeds, shards, -j, budgets and options (exit 2)"
echo '{"schema": "something-else"}' >"$tmp/other.json"
out=$("$M" explore --merge "$tmp/other.json" 2>&1); rc=$?
case "$out" in *"other.json: not the results of mqttsim explore"*) r=1;; *) r=0;; esac
[ $rc -eq 2 ] && [ $r -eq 1 ] && ok "--merge refuses a file that is not explore results" || bad "--merge other (exit $rc)" "$out"
echo '{"schema": ' >"$tmp/broken.json"
out=$("$M" explore --merge "$tmp/broken.json" 2>&1); rc=$?
case "$out" in *"broken.json: not JSON: line 2: the text ends where a value should be"*) r=1;; *) r=0;; esac
[ $rc -eq 2 ] && [ $r -eq 1 ] && ok "--merge says where a broken file breaks" || bad "--merge broken (exit $rc)" "$out"

echo "explore: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
