#!/bin/sh
# run.sh - run libFuzzer targets one after the other (`make fuzz`), each for FUZZ_SECONDS,
# and print one line per target: executions, coverage (cov: edges, ft: features), corpus.
# Exit 1 when a target crashed, leaked, timed out or did not finish; the log and the input
# that did it are kept under FUZZ_DIR.
#
#   FUZZ_SECONDS=60 FUZZ_DIR=build/fuzz sh tests/fuzz/run.sh decode broker ...
#
# The small surfaces (hexdecode, timeline, ws) saturate in seconds and run for a sixth of
# FUZZ_SECONDS (at least 10 s) so that CI's fuzzing stays within its budget.
set -u
secs=${FUZZ_SECONDS:-60}
dir=${FUZZ_DIR:-build/fuzz}
case $secs in '' | *[!0-9]*) echo "run.sh: FUZZ_SECONDS must be a number of seconds, not '$secs'" >&2; exit 2 ;; esac
[ $# -gt 0 ] || { echo "usage: run.sh TARGET..." >&2; exit 2; }

# Per target: the longest input and anything else it needs.
opts() {
	case $1 in
	decode) echo "-max_len=4096" ;;
	broker) echo "-max_len=8192" ;;
	scenario | catalog) echo "-max_len=16384" ;;
	acl | passwd) echo "-max_len=4096" ;;
	hexdecode | ws) echo "-max_len=4096" ;;
	timeline) echo "-max_len=8192" ;;
	*) echo "" ;;
	esac
}

failed=0
summary=""
for t in "$@"; do
	bin=$dir/fuzz_$t
	seeds=tests/fuzz/seeds/$t
	[ -x "$bin" ] || { echo "run.sh: $bin is not built (make fuzz-build)" >&2; exit 2; }
	[ -d "$seeds" ] || { echo "run.sh: no seed corpus $seeds" >&2; exit 2; }
	s=$secs
	case $t in hexdecode | timeline | ws) s=$((secs / 6)); [ "$s" -ge 10 ] || s=10 ;; esac
	[ "$secs" -ge 1 ] || s=1
	corpus=$dir/corpus/$t
	log=$dir/$t.log
	mkdir -p "$corpus"
	echo "fuzz $t: ${s}s ($log)"
	# A bound beyond libFuzzer's own, in case it hangs at exit (a leak check on a loaded
	# machine); -timeout is per input, -rss_limit_mb per process.
	# shellcheck disable=SC2046
	timeout -k 10 $((s + 120)) "$bin" -max_total_time="$s" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$dir/$t-" $(opts "$t") "$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
	[ -n "$done_line" ] || done_line=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(echo "$done_line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$done_line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$done_line" | sed -n 's/.* corp: \([^ ]*\).*/\1/p')
	rate=$(echo "$done_line" | sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p')
	rss=$(echo "$done_line" | sed -n 's/.* rss: \([^ ]*\).*/\1/p')
	line=$(printf 'fuzz %-9s %s execs=%s exec/s=%s cov=%s ft=%s corp=%s rss=%s' "$t" \
		"$([ $rc = 0 ] && echo ok || echo FAIL)" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}")
	if [ $rc != 0 ]; then
		failed=1
		echo "fuzz $t: FAILED (exit $rc); the end of $log:" >&2
		tail -n 40 "$log" >&2
		ls "$dir/$t-"* 2>/dev/null | sed 's/^/fuzz: reproducer: /' >&2
	fi
	summary="$summary$line
"
done
printf '%s' "$summary"
exit $failed
