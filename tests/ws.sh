#!/bin/sh
# ws.sh - the suite over WebSocket (ws://, wss://; harness/ws.h):
#  - bad ws URLs and broker options are exit 2, named; a server that answers the handshake with
#    404, with a wrong Sec-WebSocket-Accept or without the subprotocol mqtt is exit 2 with the
#    reason, before anything runs;
#  - `conform` over ws:// against `mqttsim broker --listen-ws` gives the verdicts of plain TCP,
#    and the three statements of section 6 (MQTT-6.0.0-1, -2, -4) pass there, n/a elsewhere;
#    each fails (or, -4, stops the run with exit 2) on the broker with its break switch;
#  - the broker's WebSocket side: ping answered, close answered, an unmasked client frame
#    closed with 1002, no mqtt offered 400, another path 404 (tests/ws_peer.py);
#  - over wss:// (certificates made here with openssl) the same verdicts;
#  - aedes over WebSocket (tests/aedes/server.js ws: npm ws in front of aedes, installed
#    into build/aedes from tests/aedes/package-lock.json) gives its TCP verdicts with its
#    expected failures, section 6 apart;
#  - mosquitto over WebSocket when its build has websockets (Debian's 2.0.11 here has not:
#    a NOTE says so).
set -u
M=${MQTTSIM:-build/mqttsim}
. tests/lib.sh
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
finish() { echo "ws: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
has() { case "$1" in *"$2"*) return 0;; esac; return 1; }
# Verdict lines without section 6 (and its scenarios), seeds and times; XPASS is XFAIL (flaky
# deviations of aedes, see its list).
verdicts() { grep -E '^(FAIL|XFAIL|XPASS|OPTIONAL|UNREACHED) ' | grep -vE 'MQTT-6\.0\.0-|ws-frames|ws-text-frame' |
	sed 's/^XPASS/XFAIL/; s/ (.*//' | sort -u; }
Q=scenarios/examples/qos1-publish.yaml

# ---- bad input -----------------------------------------------------------------------------
for u in "ws://127.0.0.1:0/mqtt" "ws://127.0.0.1:99999/mqtt" "ws://127.0.0.1/mqtt" "ws://127.0.0.1:1883/a b" "wss://:1883/mqtt"; do
	out=$("$M" run $Q --broker "$u" 2>&1); rc=$?
	[ $rc -eq 2 ] && has "$out" "--broker takes" && has "$out" "ws://HOST:PORT[/PATH]" && ok "--broker '$u': exit 2, the forms named" ||
		bad "--broker '$u' (exit $rc)" "$out"
done
out=$("$M" broker --listen 127.0.0.1:0 --listen-ws 127.0.0.1:70000 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "--listen-ws takes ADDR:PORT[/PATH]" && ok "broker --listen-ws with a bad port: exit 2" || bad "--listen-ws bad port (exit $rc)" "$out"
out=$("$M" broker --listen 127.0.0.1:0 --listen-ws "127.0.0.1:0/a b" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "printable ASCII without spaces" && ok "broker --listen-ws with a bad path: exit 2" || bad "--listen-ws bad path (exit $rc)" "$out"
out=$("$M" broker --listen 127.0.0.1:0 --listen-wss 127.0.0.1:0 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "--listen-wss needs --tls-cert FILE and --tls-key FILE" && ok "broker --listen-wss without a certificate: exit 2" ||
	bad "--listen-wss alone (exit $rc)" "$out"
out=$("$M" proxy --listen 127.0.0.1:0 --upstream "ws://127.0.0.1:0/mqtt" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "ws://HOST:PORT[/PATH]" && ok "proxy --upstream ws:// with port 0: exit 2" || bad "proxy bad ws upstream (exit $rc)" "$out"

# A server that answers the handshake wrongly: exit 2 with the reason, nothing run.
for mode in 404 accept noproto; do
	python3 tests/ws_peer.py server $mode >"$tmp/peer.$mode" 2>&1 &
	ppid=$!
	pids="$pids $ppid"
	pport=""
	for _ in $(seq 1 50); do
		pport=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/peer.$mode")
		[ -n "$pport" ] && break
		sleep 0.1
	done
	out=$("$M" run $Q --broker "ws://127.0.0.1:$pport/mqtt" 2>&1); rc=$?
	case $mode in
	404) want="answered the WebSocket handshake with 404 Not Found" ;;
	accept) want="Sec-WebSocket-Accept is wrong" ;;
	noproto) want="selected no subprotocol: it must answer Sec-WebSocket-Protocol: mqtt (MQTT-6.0.0-4)" ;;
	esac
	[ $rc -eq 2 ] && has "$out" "$want" && has "$out" "nothing was run" && ok "a server answering $mode: exit 2, '$want'" ||
		bad "server $mode (exit $rc)" "$out"
	kill $ppid 2>/dev/null
done

# ---- the reference broker ----------------------------------------------------------------------
# ws_broker LOG [ARGS...]: the reference broker with a plain and a WebSocket listener; sets
# port (plain) and wport (WebSocket), and bpid.
ws_broker() {
	broker_start "$@"
	pids="$pids $bpid"
	wport=$(log_port "$1" "listening for WebSocket on")
}
ws_broker "$tmp/b.log" --listen-ws 127.0.0.1:0/mqtt
[ -n "$port" ] && [ -n "$wport" ] && ok "reference broker: plain on $port, WebSocket on $wport/mqtt" || { bad "the broker did not start" "$(cat "$tmp/b.log")"; finish; }
# A client that connects and never sends its handshake is dropped after 10 s; checked below.
python3 -c 'import socket,sys,time; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); time.sleep(13)' "$wport" &
pids="$pids $!"

"$M" conform --broker "tcp://127.0.0.1:$port" -j 8 >"$tmp/plain" 2>&1
"$M" conform --broker "ws://127.0.0.1:$wport/mqtt" -j 8 >"$tmp/ws" 2>&1; rc=$?
verdicts <"$tmp/plain" >"$tmp/vp"
verdicts <"$tmp/ws" >"$tmp/vw"
if [ $rc -eq 0 ] && cmp -s "$tmp/vp" "$tmp/vw"; then
	ok "conform over ws:// = over tcp:// ($(grep '^statements:' "$tmp/ws"))"
else
	bad "conform over ws:// (exit $rc) differs from tcp://" "$(diff "$tmp/vp" "$tmp/vw")" "$(tail -5 "$tmp/ws")"
fi
grep -q '^  §6        3 pass    0 fail    0 expected fail    0 untested    1 n/a$' "$tmp/ws" &&
	ok "over ws:// section 6 passes: 6.0.0-1, -2, -4 (6.0.0-3 binds clients)" || bad "section 6 over ws://" "$(grep '§6' "$tmp/ws")"
grep -q '^  §6        0 pass    0 fail    0 expected fail    0 untested    4 n/a$' "$tmp/plain" &&
	ok "over tcp:// section 6 is n/a (WebSocket only)" || bad "section 6 over tcp://" "$(grep '§6' "$tmp/plain")"
"$M" conform --report json --report-dir "$tmp/rep" >"$tmp/sim" 2>&1
grep -rq 'WebSocket only (MQTT section 6): checked over ws:// and wss:// targets' "$tmp/rep" &&
	grep -q '^  §6        0 pass    0 fail    0 expected fail    0 untested    4 n/a$' "$tmp/sim" &&
	ok "in simulation section 6 is n/a, the reports say why" || bad "section 6 in simulation" "$(grep '§6' "$tmp/sim")"
out=$("$M" run $Q --broker "ws://127.0.0.1:$wport/other" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "404 Not Found" && ok "ws:// with a path the broker does not serve: exit 2, 404" || bad "wrong path (exit $rc)" "$out"
out=$("$M" run $Q --broker "ws://127.0.0.1:$port/mqtt" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "WebSocket" && ok "ws:// to a plain MQTT port: exit 2, said" || bad "ws:// to plain MQTT (exit $rc)" "$out"
out=$("$M" run $Q --broker "tcp://127.0.0.1:$wport" 2>&1); rc=$?
[ $rc -eq 2 ] && ok "tcp:// to the WebSocket port: exit 2" || bad "tcp:// to WebSocket (exit $rc)" "$out"
for check in ping close unmasked noproto path; do
	out=$(python3 tests/ws_peer.py client "$wport" $check 2>&1) && ok "broker WebSocket side: $check" || bad "broker WebSocket side: $check" "$out"
done
grep -q "an unmasked frame from a client: connection closed (close 1002)" "$tmp/b.log" && ok "the broker logs why it closed" ||
	bad "no log line for the unmasked frame" "$(tail -5 "$tmp/b.log")"

for _ in $(seq 1 100); do
	grep -q "no WebSocket handshake within 10 s" "$tmp/b.log" && break
	sleep 0.2
done
grep -q "dropping 127.0.0.1:[0-9]*: no WebSocket handshake within 10 s" "$tmp/b.log" &&
	ok "a client that never sends its handshake is dropped after 10 s, logged" || bad "the silent WebSocket client" "$(tail -5 "$tmp/b.log")"

# The fault proxy in front of the WebSocket listener: the stream passes as TCP bytes, sliced by
# the link profile into pieces of at most 3 bytes, and the scenarios still pass.
printf 'name: slices\nnetwork:\n  default: { latency: 1ms, slice: 3B }\n' >"$tmp/slices.yaml"
"$M" proxy --listen 127.0.0.1:0 --upstream "ws://127.0.0.1:$wport/mqtt" --faults "$tmp/slices.yaml" --duration 30s \
	--log "$tmp/px.log" 2>"$tmp/px.err" &
pxpid=$!
pids="$pids $pxpid"
pxport=""
for _ in $(seq 1 50); do
	pxport=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/px.err")
	[ -n "$pxport" ] && break
	sleep 0.1
done
out=$("$M" run scenarios/conformance/6-ws-frames.yaml $Q --broker "ws://127.0.0.1:$pxport/mqtt" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "conn-2 c2 connected to upstream" "$tmp/px.log" && ok "through mqttsim proxy --upstream ws:// (slices of 3 bytes): the scenarios pass" ||
	bad "through the proxy (exit $rc)" "$out" "$(tail -5 "$tmp/px.err")"
kill $pxpid 2>/dev/null

# Each statement of section 6 fails on the broker that breaks it.
for brk in ws-text-accepted:MQTT-6.0.0-1 ws-frame-is-packet:MQTT-6.0.0-2 ws-no-subprotocol:MQTT-6.0.0-4; do
	b=${brk%%:*} st=${brk#*:}
	ws_broker "$tmp/b-$b.log" --listen-ws 127.0.0.1:0 --break-broker "$b"
	"$M" conform --broker "ws://127.0.0.1:$wport" --only MQTT-6.0.0-1 --only MQTT-6.0.0-2 --only MQTT-6.0.0-4 >"$tmp/brk" 2>&1; rc=$?
	if [ "$b" = ws-no-subprotocol ]; then
		[ $rc -eq 2 ] && grep -q "selected no subprotocol.*($st); nothing was run" "$tmp/brk" &&
			ok "--break-broker $b: exit 2 naming $st" || bad "--break-broker $b (exit $rc)" "$(tail -5 "$tmp/brk")"
	else
		[ $rc -eq 1 ] && grep -q "^FAIL  $st " "$tmp/brk" && [ "$(grep -c '^FAIL  MQTT-' "$tmp/brk")" -eq 1 ] &&
			ok "--break-broker $b: $st fails, alone" || bad "--break-broker $b (exit $rc)" "$(grep -E '^(FAIL|statements)' "$tmp/brk")"
	fi
	kill $bpid 2>/dev/null
done

# ---- over TLS ----------------------------------------------------------------------------------
if need_tool openssl openssl "nothing ran over wss://"; then
	(cd "$tmp" && "$tool" req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=mqttsim-ws-CA >/dev/null 2>&1 &&
		"$tool" req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost >/dev/null 2>&1 &&
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext &&
		"$tool" x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext >/dev/null 2>&1)
	broker_start "$tmp/bs.log" --listen-wss 127.0.0.1:0 --tls-cert "$tmp/server.pem" --tls-key "$tmp/server.key"
	pids="$pids $bpid"
	sport=$(log_port "$tmp/bs.log" "listening for WebSocket over TLS on")
	"$M" conform --broker "wss://localhost:$sport/mqtt" --cafile "$tmp/ca.pem" -j 8 >"$tmp/wss" 2>&1; rc=$?
	verdicts <"$tmp/wss" >"$tmp/vs"
	[ $rc -eq 0 ] && cmp -s "$tmp/vp" "$tmp/vs" && grep -q '^  §6        3 pass' "$tmp/wss" &&
		ok "conform over wss:// = over tcp://, section 6 passing ($(grep '^statements:' "$tmp/wss"))" ||
		bad "conform over wss:// (exit $rc)" "$(diff "$tmp/vp" "$tmp/vs")" "$(tail -5 "$tmp/wss")"
	out=$("$M" run $Q --broker "wss://localhost:$sport/mqtt" 2>&1); rc=$?
	[ $rc -eq 2 ] && has "$out" "certificate not trusted" && ok "wss:// with an untrusted certificate: exit 2, said" || bad "wss:// untrusted (exit $rc)" "$out"
	kill $bpid 2>/dev/null
	# A broker that wants client certificates: without one, exit 2 saying so.
	broker_start "$tmp/bc.log" --listen-wss 127.0.0.1:0 --tls-cert "$tmp/server.pem" --tls-key "$tmp/server.key" --tls-cafile "$tmp/ca.pem"
	pids="$pids $bpid"
	sport=$(log_port "$tmp/bc.log" "listening for WebSocket over TLS on")
	out=$("$M" run $Q --broker "wss://localhost:$sport/mqtt" --cafile "$tmp/ca.pem" 2>&1); rc=$?
	[ $rc -eq 2 ] && has "$out" "TLS handshake refused" && has "$out" "--cert and --key" &&
		ok "wss:// to a broker that wants a client certificate, without one: exit 2, said" || bad "wss:// no client certificate (exit $rc)" "$out"
	kill $bpid 2>/dev/null
fi

# ---- aedes over WebSocket ------------------------------------------------------------------
X=conformance/expected-failures/aedes.txt
PREFIX=build/aedes
aedes_ws() {
	need_tool node nodejs "conform was not run against aedes over WebSocket" || return
	major=$(node -p 'process.versions.node.split(".")[0]')
	[ "$major" -ge 20 ] || { missing "node $(node --version) is older than aedes needs (20)" "nodejs (20 or later)" "aedes over WebSocket"; return; }
	want=$(node -p "require('./tests/aedes/package.json').dependencies.ws")
	have=$(node -p "require('./$PREFIX/node_modules/ws/package.json').version" 2>/dev/null)
	if [ "$have" != "$want" ] || ! cmp -s tests/aedes/package-lock.json "$PREFIX/package-lock.json"; then
		need_tool npm npm "aedes and ws could not be installed, and conform was not run against them" || return
		rm -rf "$PREFIX"
		mkdir -p "$PREFIX"
		cp tests/aedes/package.json tests/aedes/package-lock.json "$PREFIX/"
		if npm ci --prefix "$PREFIX" --no-audit --no-fund --loglevel=error >"$tmp/npm.log" 2>&1; then
			ok "installed aedes and ws $want into $PREFIX"
		else
			bad "npm ci --prefix $PREFIX" "$(tail -15 "$tmp/npm.log")"
			rm -rf "$PREFIX"
			return
		fi
	fi
	for mode in tcp ws; do
		node tests/aedes/server.js 0 "$PREFIX" $([ $mode = ws ] && echo ws) >"$tmp/aedes.$mode" 2>&1 &
		pids="$pids $!"
	done
	for mode in tcp ws; do
		ap=""
		for _ in $(seq 1 100); do
			ap=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/aedes.$mode")
			[ -n "$ap" ] && break
			sleep 0.1
		done
		[ -n "$ap" ] || { bad "aedes ($mode) did not start" "$(tail -5 "$tmp/aedes.$mode")"; return; }
		eval "ap_$mode=$ap"
	done
	"$M" conform --broker "tcp://127.0.0.1:$ap_tcp" -j 4 --expect-failures "$X" >"$tmp/at" 2>&1; rtc=$?
	"$M" conform --broker "ws://127.0.0.1:$ap_ws/mqtt" -j 4 --expect-failures "$X" >"$tmp/aw" 2>&1; rc=$?
	verdicts <"$tmp/at" >"$tmp/vat"
	verdicts <"$tmp/aw" >"$tmp/vaw"
	[ $rtc -eq 0 ] && [ $rc -eq 0 ] && cmp -s "$tmp/vat" "$tmp/vaw" &&
		ok "aedes over ws:// = aedes over tcp:// with its expected failures ($(grep '^statements:' "$tmp/aw"))" ||
		bad "aedes over ws:// (exit $rc; tcp exit $rtc)" "$(diff "$tmp/vat" "$tmp/vaw")" "$(grep -E '^(FAIL|statements)' "$tmp/aw" | head)"
	grep -q '^  §6        2 pass    0 fail    1 expected fail' "$tmp/aw" &&
		ok "aedes over ws://: 6.0.0-2 and -4 pass, 6.0.0-1 its expected failure (text frames read as MQTT)" ||
		bad "aedes section 6" "$(grep '§6' "$tmp/aw")"
}
aedes_ws

# ---- mosquitto over WebSocket --------------------------------------------------------------
if need_tool mosquitto mosquitto "conform was not run against mosquitto over WebSocket"; then
	MOSQ=$tool
	mp=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	printf 'listener %s 127.0.0.1\nprotocol websockets\nallow_anonymous true\n' "$mp" >"$tmp/mosq.conf"
	chmod 755 "$tmp"
	"$MOSQ" -c "$tmp/mosq.conf" >"$tmp/mosq.log" 2>&1 &
	mpid=$!
	pids="$pids $mpid"
	sleep 0.5
	if ! kill -0 $mpid 2>/dev/null; then
		echo "NOTE mosquitto $("$MOSQ" -h 2>/dev/null | sed -n 's/^mosquitto version //p') cannot listen for WebSocket (built without libwebsockets: '$(grep -m1 Error "$tmp/mosq.log")'): not tested over ws://"
	else
		"$M" conform --broker "ws://127.0.0.1:$mp/mqtt" -j 8 --expect-failures conformance/expected-failures/mosquitto.txt >"$tmp/mw" 2>&1; rc=$?
		[ $rc -eq 0 ] && grep -q '^  §6        3 pass' "$tmp/mw" && ok "mosquitto over ws:// ($(grep '^statements:' "$tmp/mw"))" ||
			bad "mosquitto over ws:// (exit $rc)" "$(grep -E '^(FAIL|statements|  §6)' "$tmp/mw")"
	fi
fi
finish
