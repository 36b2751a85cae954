#!/bin/sh
# badinput.sh - what `mqttsim run`, `list` and `conform` do with inputs that are not what
# they should be: every case a clear message on stderr, exit 2 for bad input, and nothing
# run (or, for an absent broker, every scenario reported as an error, reports included).
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
pass=0 fail=0
check() { # name expected_rc expected_substring cmd...
	name=$1 want=$2 needle=$3; shift 3
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, wanted $want"; echo "$out" | sed 's/^/    /'; fail=$((fail+1)); return
	fi
	case "$out" in *"$needle"*) pass=$((pass+1)); echo "PASS $name";;
	*) echo "FAIL $name: output lacks '$needle'"; echo "$out" | sed 's/^/    /'; fail=$((fail+1));;
	esac
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/empty" "$tmp/loop"
cp scenarios/examples/qos0-publish.yaml "$tmp/loop/"
ln -s ../loop "$tmp/loop/self"
mkfifo "$tmp/fifo.yaml"
ln -s "$tmp/nowhere" "$tmp/dangling.yaml"
# A closed port: bind one, note it, close it.
closed=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

check empty-dir 2 'no scenarios (.yaml files) in this directory' $M run "$tmp/empty"
check list-empty-dir 2 'no scenarios (.yaml files) in this directory' $M list "$tmp/empty"
check conform-empty-dir 2 'no scenarios (.yaml files) in this directory' $M conform --scenarios "$tmp/empty"
check fifo 2 'not a regular file or a directory' $M run "$tmp/fifo.yaml"
check dangling-link 2 'a symbolic link to nothing' $M run "$tmp/dangling.yaml"
check link-loop 0 'skipped: a link back to a directory it is in' $M run "$tmp/loop"
out=$($M run "$tmp/loop" 2>/dev/null | grep -c '^PASS')
[ "$out" = 1 ] && { pass=$((pass+1)); echo "PASS link-loop runs the scenario once"; } || { fail=$((fail+1)); echo "FAIL link-loop ran $out times"; }
check only-untestable 2 'MQTT-3.1.0-1 is not testable from outside a server' $M conform --only MQTT-3.1.0-1
check only-empty 2 '--only needs statement ids' $M conform --only ""
check xfail-dir 2 'not a regular file' $M conform --expect-failures "$tmp/empty"
check xfail-missing 2 "mqttsim conform: --expect-failures $tmp/none.txt: No such file or directory" $M conform --expect-failures "$tmp/none.txt"
printf 'MQTT-3.1.2-24 late\0\n' >"$tmp/xfnul.txt"
check xfail-nul 2 "xfnul.txt: not a text file (a NUL byte)" $M conform --expect-failures "$tmp/xfnul.txt"
head -c 1100000 /dev/zero | tr '\0' '#' >"$tmp/xfbig.txt"
check xfail-big 2 "xfbig.txt: larger than 1 MiB: not an expected-failures list" $M conform --expect-failures "$tmp/xfbig.txt"
printf '# comment\nMQTT-9.9.9-9  no such statement\n' >"$tmp/xf.txt"
check xfail-unknown-id 2 "xf.txt:2: 'MQTT-9.9.9-9' is not a statement of the MQTT 3.1.1 catalog" $M conform --expect-failures "$tmp/xf.txt"
# A statement of a scenario's spec that no step or expectation names could never fail there.
mkdir "$tmp/unnamed"
sed 's/, spec: MQTT-3.1.0-2 }/ }/' scenarios/conformance/3.1-second-connect.yaml >"$tmp/unnamed/second-connect.yaml"
check conform-spec-unchecked 2 "second-connect.yaml: MQTT-3.1.0-2 is in spec but no step or expectation names it" $M conform --scenarios "$tmp/unnamed"
# MQTT 5.0 keys: on a 3.1.1 client, or a property in a packet that cannot carry it.
printf 'name: v5\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: { properties: { session_expiry: 5 } } }\n' >"$tmp/v5-on-311.yaml"
check v5-key-on-311-client 2 "v5-on-311.yaml:4:29: 'properties' is MQTT 5.0, but client 'a' speaks 3.1.1" $M run "$tmp/v5-on-311.yaml"
printf 'name: v5\nversion: 5.0\nclients: [{ id: a }]\nsteps:\n  - { client: a, publish: { topic: t, properties: { receive_maximum: 3 } } }\n' >"$tmp/v5-where.yaml"
check v5-property-not-allowed 2 "v5-where.yaml:5:53: PUBLISH cannot carry 'receive_maximum' (Receive Maximum goes in CONNECT, CONNACK)" $M run "$tmp/v5-where.yaml"
check run-closed-port 2 "no MQTT broker at tcp://127.0.0.1:$closed: cannot connect" $M run scenarios/examples/qos0-publish.yaml --broker "tcp://127.0.0.1:$closed"
check run-closed-port-summary 2 'run: 0 passed, 0 failed, 1 error (ERROR above: could not run, or lost its output)' $M run scenarios/examples/qos0-publish.yaml --broker "tcp://127.0.0.1:$closed"
check conform-closed-port 2 'conform: nothing ran: no MQTT broker' $M conform --broker "tcp://127.0.0.1:$closed"
# A broker that takes 3.1.1 and refuses 5.0 (tests/v5_refuser.py; aedes in tests/aedes.sh):
# the probe says so before anything runs, and exit 2.
for mode in 84 close; do
	/usr/bin/python3 tests/v5_refuser.py "$tmp/refuser-$mode" $mode &
	rpid=$!
	for _ in $(seq 1 50); do [ -s "$tmp/refuser-$mode" ] && break; sleep 0.1; done
	rp=$(cat "$tmp/refuser-$mode" 2>/dev/null)
	case $mode in
	84) why='refused MQTT 5.0 (CONNACK 0x84, unsupported protocol version): run --version 3.1.1; nothing was run' ;;
	*) why='refused MQTT 5.0 (it closed the connection after a 5.0 CONNECT, before any CONNACK, and takes a 3.1.1 one): run --version 3.1.1' ;;
	esac
	check "conform-5.0-refused-$mode" 2 "mqttsim conform: the broker at tcp://127.0.0.1:$rp $why" $M conform --version 5.0 --broker "tcp://127.0.0.1:$rp"
	check "run-5.0-refused-$mode" 2 "its 5.0 scenarios cannot run there" $M run scenarios/conformance-5.0/3.8-no-local.yaml --broker "tcp://127.0.0.1:$rp"
	kill $rpid 2>/dev/null
	wait $rpid 2>/dev/null
done
# The reports still land, every scenario an error.
$M run scenarios/examples --broker "tcp://127.0.0.1:$closed" --report junit --report-dir "$tmp/rep" >/dev/null 2>&1
n=$(grep -c '<error ' "$tmp/rep/run.junit.xml" 2>/dev/null)
[ "${n:-0}" -ge 10 ] && { pass=$((pass+1)); echo "PASS closed port: JUnit has an <error> per scenario ($n)"; } || { fail=$((fail+1)); echo "FAIL closed port: JUnit errors: ${n:-none}"; }
mkdir "$tmp/d1" "$tmp/d2"
cp scenarios/examples/qos0-publish.yaml "$tmp/d1/a.yaml"
cp scenarios/examples/qos0-publish.yaml "$tmp/d2/a.yaml"
check same-name-out 2 "are both named 'qos0-publish'; their files in $tmp/out would overwrite each other" $M run "$tmp/d1" "$tmp/d2" --out "$tmp/out"
# Output that cannot be written is an error, not a silent pass.
: >"$tmp/afile"
check pcap-into-a-file 2 "could not write the capture to $tmp/afile/qos0-publish.pcap: Not a directory" $M run scenarios/examples/qos0-publish.yaml --pcap "$tmp/afile"
if [ -w /dev/full ]; then
	ln -s /dev/full "$tmp/full.trace" 2>/dev/null
	mkdir "$tmp/tr" && ln -s /dev/full "$tmp/tr/qos0-publish.trace"
	check trace-disk-full 2 "could not write the trace to $tmp/tr/qos0-publish.trace: No space left on device" $M run scenarios/examples/qos0-publish.yaml --out "$tmp/tr"
fi
mkdir "$tmp/dupc"
cp scenarios/conformance/7-plain-tcp.yaml "$tmp/dupc/a.yaml"
cp scenarios/conformance/7-plain-tcp.yaml "$tmp/dupc/b.yaml"
check conform-same-name-html 2 "are both named 'plain-tcp'; their files in" $M conform --scenarios "$tmp/dupc" --report html --report-dir "$tmp/dupc-rep"
# A step never outlasts the run's duration.
printf 'name: long-wait\nduration: 10m\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n  - { wait: 10000000h }\n' >"$tmp/long.yaml"
check duration-bounds-wait 1 'the run reached its duration (600s) here' timeout 20 $M run "$tmp/long.yaml"
check skipped-not-passed 0 'run: 0 passed, 0 failed, 1 skipped (not for this target)' $M run tests/scenarios/tcp-only.yaml
# Aliases that repeat a large anchor are refused at the alias that crosses the budget, before
# anything is copied: little memory (under ulimit -v, unless a sanitizer's reservation rules
# that out) and little time. The file (1 MiB used 3,000 times) is made here, not committed.
{
	printf 'name: amp\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n'
	printf '  - { client: a, publish: { topic: t, payload: &p "'
	head -c 1048576 /dev/zero | tr '\0' x
	printf '" } }\n'
	i=0
	while [ $i -lt 3000 ]; do
		printf '  - { client: a, publish: { topic: t, payload: *p } }\n'
		i=$((i+1))
	done
} >"$tmp/amp.yaml"
lim=""
(ulimit -v 300000 && "$M" --help) >/dev/null 2>&1 && lim="ulimit -v 300000 &&"
check alias-amplification 2 "$tmp/amp.yaml:68:48: the scenario is too large: with its aliases expanded it holds more than 64 MiB of text" \
	timeout 10 sh -c "$lim exec \"\$0\" list \"\$1\"" "$M" "$tmp/amp.yaml"
# Killing `run -j` ends its workers too: none is left talking to the broker.
broker_start "$tmp/broker.log" --sys-interval 0
printf 'name: slow-%s\ntargets: [tcp]\nduration: 50s\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n  - { wait: 40s }\n' 1 >"$tmp/slow1.yaml"
printf 'name: slow-%s\ntargets: [tcp]\nduration: 50s\nclients: [{ id: a }]\nsteps:\n  - { client: a, connect: {} }\n  - { wait: 40s }\n' 2 >"$tmp/slow2.yaml"
"$M" run "$tmp/slow1.yaml" "$tmp/slow2.yaml" -j 2 --broker "tcp://127.0.0.1:$port" >/dev/null 2>&1 &
rpid=$!
for i in $(seq 1 50); do
	[ "$(pgrep -P $rpid | wc -l)" -ge 2 ] && break
	sleep 0.1
done
kids=$(pgrep -P $rpid | tr '\n' ' ')
kill -TERM $rpid
wait $rpid 2>/dev/null
sleep 0.5
left=""
# (A worker that ended but nobody reaped yet is a zombie: state Z in /proc, not running.)
for k in $kids; do
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$k/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ] && left="$left $k"
done
[ -n "$kids" ] && [ -z "$left" ] && { pass=$((pass+1)); echo "PASS kill run -j: its workers ($kids) ended with it"; } ||
	{ fail=$((fail+1)); echo "FAIL kill run -j: workers '$kids', still running '$left'"; kill $left 2>/dev/null; }
kill -TERM $bpid 2>/dev/null
wait $bpid 2>/dev/null
echo "badinput: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
