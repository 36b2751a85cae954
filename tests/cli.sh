#!/bin/sh
# cli.sh - command-line tests of build/mqttsim: output and exit codes as a user sees them.
set -u
M=${MQTTSIM:-build/mqttsim}
pass=0 fail=0
check() { # name expected_rc expected_substring cmd...
	name=$1 want=$2 needle=$3; shift 3
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, wanted $want"; echo "$out" | sed 's/^/    /'; fail=$((fail+1)); return
	fi
	case "$out" in *"$needle"*) pass=$((pass+1));;
	*) echo "FAIL $name: output lacks '$needle'"; echo "$out" | sed 's/^/    /'; fail=$((fail+1));;
	esac
}
check connect 0 'CONNECT v=3.1.1 clean=1 keepalive=60 client_id=""' $M decode 10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
