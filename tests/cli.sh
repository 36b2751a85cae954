#!/bin/sh
# cli.sh - command-line tests of the built binary: output and exit codes exactly as a user
# sees them from a shell (argument splitting, stdin, exit status), which the in-process
# tests in test_cli.c cannot show.
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
CONNECT="10 0c 00 04 4d 51 54 54 04 02 00 3c 00 00"
check connect 0 'CONNECT v=3.1.1 clean=1 keepalive=60 client_id=""' $M decode $CONNECT
check connect-one-arg 0 'keepalive=60' $M decode "$CONNECT"
check corrupt 1 '[MQTT-3.1.2-3]' $M decode 10 0c 00 04 4d 51 54 54 04 03 00 3c 00 00
check stdin 0 'PINGREQ' sh -c "echo 'c0 00' | $M decode"
check stdin-json 0 '"type":"PINGRESP"' sh -c "printf '0xd0\n0x00\n' | $M decode --json"
check not-hex 2 'not a hex digit' $M decode 10 0q
check no-command 2 'usage: mqttsim' $M
check bad-command 2 "'frob' is not a command" $M frob
check help 0 'decode' $M --help
check version 0 'mqttsim ' $M --version
check decode-help 0 'usage: mqttsim decode' $M decode --help
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
