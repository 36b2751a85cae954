#!/bin/sh
# abuse_shell.sh - `mqttsim broker`'s socket shell under abuse, on loopback (issue 20):
# a subscriber that never reads, running out of file descriptors, a wrong-password flood.
# Each case prints its figures and PASS or FAIL; the last line counts them. The checks and
# their bounds are in abuse_shell.py.
set -u
M=${MQTTSIM:-build/mqttsim}
PY=/usr/bin/python3
HERE=$(dirname "$0")
[ -x $PY ] || PY=python3

# Under ASan (make asan) freed memory waits in a quarantine instead of going back to the
# system, which would hide whether the cut-off buffer is released; with no quarantine ASan
# still catches out-of-bounds access and use after free of memory not yet reused.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
export ASAN_OPTIONS

tmp=$(mktemp -d)
bpid=""
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null; rm -rf "$tmp"' EXIT

pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "    $l"; done; }

# start NOFILE LOG [ARGS...]: the broker under `ulimit -n NOFILE` (or unlimited with -),
# its pid in bpid and its port in port (empty when it did not start within 5 s).
start() {
	_n=$1 _log=$2
	shift 2
	if [ "$_n" = - ]; then
		"$M" broker --listen 127.0.0.1:0 --sys-interval 0 "$@" 2>"$_log" &
	else
		(ulimit -n "$_n" && exec "$M" broker --listen 127.0.0.1:0 --sys-interval 0 "$@") 2>"$_log" &
	fi
	bpid=$!
	port=""
	for _ in $(seq 1 50); do
		port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$_log")
		[ -n "$port" ] && break
		sleep 0.1
	done
}

# run NAME NOFILE [BROKER ARGS...]: one case against a fresh broker.
run() {
	_name=$1 _nofile=$2
	shift 2
	start "$_nofile" "$tmp/$_name.log" "$@"
	if [ -z "$port" ]; then
		bad "$_name" "the broker did not start:" "$(cat "$tmp/$_name.log")"
	else
		out=$(timeout 60 $PY "$HERE/abuse_shell.py" "$port" "$bpid" "$tmp/$_name.log" "$_name" 2>&1)
		rc=$?
		echo "$out" | grep -v '^FAIL' | sed 's/^/    /'
		if [ $rc -eq 0 ]; then ok "$_name"; else bad "$_name" "$(echo "$out" | grep '^FAIL')" "broker log (tail):" "$(tail -5 "$tmp/$_name.log")"; fi
	fi
	kill -TERM "$bpid" 2>/dev/null
	# A broker that does not stop on SIGTERM within 5 s is a failure too.
	for _ in $(seq 1 50); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$bpid" 2>/dev/null; then
		kill -9 "$bpid"
		bad "$_name: stops on SIGTERM" "still running 5 s after SIGTERM"
	fi
	wait "$bpid" 2>/dev/null
	bpid=""
}

run slowreader -
run emfile 48
"$M" passwd "$tmp/passwd" alice s3cret >/dev/null
run authflood - --passwords "$tmp/passwd"

echo "abuse_shell: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
