#!/bin/sh
# trace_hashes.sh - every scenario in the tree, in simulation, gives the trace hash (and the
# number of events) recorded in tests/trace_hashes.txt: a change to the simulator's speed
# or structure must not change one event of any run. The 10,000-node fleet (about 30 s) runs
# only with TRACE_HASHES_FLEET=1 (make bench sets it); the rest takes a few seconds.
# Record again, on purpose, with
#   TRACE_HASHES_FLEET=1 MQTTSIM=build/mqttsim sh tests/trace_hashes.sh --record
set -u
M=${MQTTSIM:-build/mqttsim}
fail() { echo "FAIL trace_hashes: $*" >&2; exit 1; }
want=tests/trace_hashes.txt
got=$(mktemp)
trap 'rm -f "$got"' EXIT
dirs="scenarios/examples scenarios/flaky scenarios/conformance scenarios/conformance-5.0 scenarios/explore"
fleet=${TRACE_HASHES_FLEET:-0}
[ "${1:-}" = --record ] && fleet=1
[ "$fleet" = 1 ] && dirs="$dirs scenarios/fleet"
for d in $dirs; do
	"$M" run "$d" -j 2 2>&1
done | sed -n 's/^[A-Z]*  *\([^ ]*\) .*  seed=\([0-9]*\) .* events=\([0-9]*\)  trace=\([0-9a-f]*\).*/\1 seed=\2 events=\3 trace=\4/p' | sort >"$got"
n=$(wc -l <"$got")
if [ "${1:-}" = --record ]; then
	cp "$got" "$want"
	echo "trace_hashes: recorded $n scenarios in $want"
	exit 0
fi
[ "$n" -ge 100 ] || fail "only $n scenarios ran"
exp=$(mktemp)
trap 'rm -f "$got" "$exp"' EXIT
if [ "$fleet" = 1 ]; then cp "$want" "$exp"; else grep -v '^greenhouse-' "$want" >"$exp"; fi
if ! diff -u "$exp" "$got"; then
	fail "trace hashes differ from $want (above: - recorded, + now)"
fi
echo "PASS trace_hashes: $n scenarios, every trace hash and event count as recorded"
