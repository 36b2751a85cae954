#!/bin/sh
# progress.sh - the progress line of `mqttsim run` and `mqttsim conform`: on a terminal
# (a pty from util-linux `script`), stderr shows "[k/n] name" for every scenario, overwritten
# in place (carriage return, erase line) and cleared at the end, while stdout stays clean;
# with stderr not a terminal there is none at all, on either stream.
# Without `script`, only the non-terminal half is checked: a NOTE, or under CI a failure
# (tests/lib.sh).
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
[ -x "$M" ] || { echo "progress: $M is not built (make, or set MQTTSIM)"; echo "progress: 0 passed, 1 failed"; exit 1; }
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
esc=$(printf '\033')
cr=$(printf '\r')
n=$(ls scenarios/examples/*.yaml | wc -l)
last=$(ls scenarios/examples/*.yaml | tail -1 | xargs basename | sed 's/\.yaml$//')

# Not a terminal: nothing.
"$M" run scenarios/examples >"$tmp/out" 2>"$tmp/err"; rc=$?
"$M" conform -j 2 >"$tmp/cout" 2>"$tmp/cerr"; crc=$?
if [ $rc -eq 0 ] && [ $crc -eq 0 ] && [ ! -s "$tmp/err" ] && [ ! -s "$tmp/cerr" ] &&
	! grep -q "[$esc$cr]" "$tmp/out" "$tmp/cout"; then
	ok "stderr not a terminal: no progress, no control characters (run, conform)"
else
	bad "progress without a terminal (exit $rc, $crc)" "$(head -c 300 "$tmp/err" | od -c | head -5)"
fi

if need_tool script bsdutils "the progress line on a terminal was not checked"; then
	# run: stdout to a file, stderr the pty that script copies to its own stdout.
	script -qec "$M run scenarios/examples >$tmp/tty.out" /dev/null >"$tmp/tty.err" 2>&1; rc=$?
	lines=$(tr "$cr" '\n' <"$tmp/tty.err" | sed "s/$esc\[K//g" | grep -c '^\[[0-9]*/'"$n"'\] ')
	if [ $rc -eq 0 ] && [ "$lines" -eq "$n" ] && grep -q "\[1/$n\] connect-and-ping" "$tmp/tty.err" &&
		grep -q "\[$n/$n\] $last" "$tmp/tty.err"; then
		ok "run on a terminal: [k/$n] for each of the $n scenarios"
	else
		bad "run on a terminal (exit $rc, $lines progress lines)" "$(od -c "$tmp/tty.err" | head -8)"
	fi
	tail -c 4 "$tmp/tty.err" | od -c | grep -q '\\r 033   \[   K' && ok "run on a terminal: the line is cleared at the end" ||
		bad "run: not cleared at the end" "$(tail -c 40 "$tmp/tty.err" | od -c)"
	cmp -s "$tmp/tty.out" "$tmp/out" && ok "run on a terminal: stdout unchanged" || bad "run: stdout differs" "$(diff "$tmp/tty.out" "$tmp/out" | head -5)"
	# A report interleaved: every report line starts clean (the progress is erased first).
	script -qec "$M run scenarios/examples 2>&1" /dev/null >"$tmp/both" 2>&1
	nres=$(grep -c "${esc}\[KPASS  " "$tmp/both")
	[ "$nres" -eq "$n" ] && ok "run, both streams on the terminal: each report erases the progress line first" || bad "interleaving: $nres of $n reports after an erase" "$(head -c 300 "$tmp/both" | od -c | head -6)"
	# conform -j 2: counts up to the number of scenarios it ran.
	script -qec "$M conform -j 2 >$tmp/ctty.out" /dev/null >"$tmp/ctty.err" 2>&1; rc=$?
	m=$(sed -n 's/.*(\([0-9]*\) scenarios)$/\1/p' "$tmp/ctty.out")
	if [ $rc -eq 0 ] && [ -n "$m" ] && grep -q "\[$m/$m\] " "$tmp/ctty.err" && grep -q "\[1/$m\] " "$tmp/ctty.err" &&
		cmp -s "$tmp/ctty.out" "$tmp/cout"; then
		ok "conform -j 2 on a terminal: [1/$m] .. [$m/$m], stdout unchanged"
	else
		bad "conform on a terminal (exit $rc, m=$m)" "$(tr "$cr" "\n" <"$tmp/ctty.err" | grep -v "^$esc\[K\[[0-9]*/" | tail -15 | cat -v)"
	fi
fi
echo "progress: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
