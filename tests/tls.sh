#!/bin/sh
# tls.sh - the suite over TLS (mqtts://). Certificates are made here, at test time, with
# `openssl req` and `openssl x509` (no key is kept in git): a CA, a server certificate for
# localhost and 127.0.0.1, one for another name, a CA nobody trusts, a client certificate.
# `conform` over mqtts:// against the reference broker's --listen-tls and against mosquitto
# with a TLS listener gives the verdicts it gives over plain TCP; a wrong CA, a wrong name, a
# missing client certificate and a plain port are each exit 2 with the reason, before
# anything runs; --insecure says so loudly; the broker wants client certificates with
# --tls-cafile and drops a client that never shakes hands.
set -u
M=${MQTTSIM:-build/mqttsim}
. tests/lib.sh
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
chmod 755 "$tmp" # mosquitto drops root for its own user, which must read the files
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
finish() { echo "tls: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
verdicts() { grep -E '^(FAIL|XFAIL|XPASS|OPTIONAL|UNREACHED|statements:) ' | sed 's/  seed=.*//' | sort; }
has() { case "$1" in *"$2"*) return 0;; esac; return 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Options that need TLS, or each other, are refused up front.
out=$("$M" run scenarios/examples/qos1-publish.yaml --broker mqtts://127.0.0.1:1 --insecure --cafile x 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "--insecure verifies nothing" && ok "--insecure with --cafile: exit 2" || bad "--insecure --cafile (exit $rc)" "$out"
out=$("$M" run scenarios/examples/qos1-publish.yaml --broker tcp://127.0.0.1:1 --cafile x 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "are for TLS: give --broker mqtts://" && ok "--cafile over plain TCP: exit 2" || bad "--cafile with tcp:// (exit $rc)" "$out"
out=$("$M" conform --broker mqtts://127.0.0.1:1 --cafile "$tmp/none.pem" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "--cafile $tmp/none.pem: cannot load" && ok "a missing --cafile: exit 2, named" || bad "missing --cafile (exit $rc)" "$out"
out=$("$M" run scenarios/examples/qos1-publish.yaml --tls 2>&1); rc=$?
[ $rc -eq 2 ] && ok "--tls in simulation: exit 2" || bad "--tls with sim (exit $rc)" "$out"
out=$("$M" broker --listen 127.0.0.1:0 --listen-tls 127.0.0.1:0 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "needs --tls-cert FILE and --tls-key FILE" && ok "broker --listen-tls without a certificate: exit 2" || bad "--listen-tls alone (exit $rc)" "$out"

need_tool openssl openssl "no certificates could be made, so nothing ran over TLS" || finish
OPENSSL=$tool
cd "$tmp" || exit 2
mk() { # mk NAME SUBJECT SAN CA: a key and a certificate signed by CA (self-signed when CA is -)
	if [ "$4" = - ]; then
		"$OPENSSL" req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days 2 -subj "$2" >/dev/null 2>&1
	else
		"$OPENSSL" req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" >/dev/null 2>&1 &&
			printf 'subjectAltName=%s\n' "$3" >"$1.ext" &&
			"$OPENSSL" x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial -out "$1.pem" -days 2 \
				-extfile "$1.ext" >/dev/null 2>&1
	fi
}
mk ca /CN=mqttsim-test-CA - - && mk server /CN=localhost DNS:localhost,IP:127.0.0.1 ca &&
	mk other /CN=elsewhere.invalid DNS:elsewhere.invalid ca && mk rogue /CN=rogue-CA - - &&
	mk client /CN=device-1 DNS:device-1 ca && mk rclient /CN=device-2 DNS:device-2 rogue
rc=$?
chmod 644 ./*
cd - >/dev/null || exit 2
[ $rc -eq 0 ] && [ -s "$tmp/client.pem" ] && ok "certificates made with openssl req/x509" || { bad "openssl could not make the certificates"; finish; }
T=$tmp

# tls_broker LOG [ARGS...]: the reference broker with a plain and a TLS listener; sets port
# (plain) and tport (TLS).
tls_broker() {
	broker_start "$@"
	pids="$pids $bpid"
	tport=$(log_port "$1" "listening for TLS on")
}
tls_broker "$T/b.log" --listen-tls 127.0.0.1:0 --tls-cert "$T/server.pem" --tls-key "$T/server.key"
[ -n "$port" ] && [ -n "$tport" ] && ok "reference broker: plain on $port, TLS on $tport" || { bad "the broker did not start" "$(cat "$T/b.log")"; finish; }

# A client that connects and never shakes hands is dropped after 10 s; checked at the end.
python3 -c 'import socket,sys,time; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); time.sleep(13)' "$tport" &
idle=$!
pids="$pids $idle"

"$M" conform --broker "tcp://127.0.0.1:$port" -j 8 >"$T/plain" 2>&1
"$M" conform --broker "mqtts://localhost:$tport" --cafile "$T/ca.pem" -j 8 >"$T/tls" 2>&1; rc=$?
verdicts <"$T/plain" >"$T/vplain"
verdicts <"$T/tls" >"$T/vtls"
[ $rc -eq 0 ] && [ -s "$T/vtls" ] && cmp -s "$T/vplain" "$T/vtls" &&
	ok "conform over mqtts:// against the reference broker: the verdicts of plain TCP ($(grep '^statements:' "$T/tls"))" ||
	bad "reference broker over TLS (exit $rc)" "$(diff "$T/vplain" "$T/vtls" | head)" "$(tail -3 "$T/tls")"

out=$("$M" run scenarios/examples --broker "mqtts://127.0.0.1:$tport" --cafile "$T/ca.pem" --alpn mqtt -j 2 2>&1); rc=$?
[ $rc -eq 0 ] && ok "run over mqtts://127.0.0.1 (the certificate's IP name), with --alpn mqtt" || bad "run via 127.0.0.1 (exit $rc)" "$(echo "$out" | tail -3)"
out=$("$M" run scenarios/examples/qos1-publish.yaml --broker "mqtt://localhost:$tport" --tls --cafile "$T/ca.pem" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "--tls over an mqtt:// target" || bad "--tls (exit $rc)" "$out"
out=$("$M" run scenarios/examples/qos1-publish.yaml --broker "mqtt://127.0.0.1:$port" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "mqtt:// is plain TCP, like tcp://" || bad "mqtt:// (exit $rc)" "$out"

out=$("$M" conform --broker "mqtts://localhost:$tport" --cafile "$T/rogue.pem" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "certificate not trusted (" &&
	ok "a CA that did not sign the broker's certificate: exit 2, $(echo "$out" | sed -n 's/.*\(certificate not trusted ([^)]*)\).*/\1/p' | head -1)" ||
	bad "wrong CA (exit $rc)" "$out"
out=$("$M" run scenarios/examples/qos1-publish.yaml --broker "mqtts://localhost:$tport" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "certificate not trusted" && ok "the system's CAs (no --cafile) do not know the test CA: exit 2" || bad "system CAs (exit $rc)" "$out"
out=$("$M" run scenarios/examples/qos1-publish.yaml --broker "mqtts://localhost:$tport" --insecure 2>&1); rc=$?
[ $rc -eq 0 ] && has "$out" "WARNING: --insecure: the broker's certificate is NOT verified" && ok "--insecure runs with a certificate nobody here trusts, and warns" || bad "--insecure (exit $rc)" "$out"
out=$("$M" conform --broker "mqtts://127.0.0.1:$port" --cafile "$T/ca.pem" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "TLS handshake refused" && ok "mqtts:// to a plain port: exit 2, the handshake refused" || bad "TLS to a plain port (exit $rc)" "$out"

# The name: a broker whose certificate is for another host.
tls_broker "$T/o.log" --listen-tls 127.0.0.1:0 --tls-cert "$T/other.pem" --tls-key "$T/other.key"
out=$("$M" conform --broker "mqtts://localhost:$tport" --cafile "$T/ca.pem" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "certificate name mismatch: the broker's certificate (DNS:elsewhere.invalid) does not match localhost" &&
	ok "a certificate for another name: exit 2, the names said" || bad "name mismatch (exit $rc)" "$out"
out=$("$M" run scenarios/examples/qos1-publish.yaml --broker "mqtts://127.0.0.1:$tport" --cafile "$T/ca.pem" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "does not match 127.0.0.1" && ok "an IP address the certificate does not name: exit 2" || bad "IP mismatch (exit $rc)" "$out"

# Client certificates: with --tls-cafile the broker wants one signed by that CA.
tls_broker "$T/c.log" --listen-tls 127.0.0.1:0 --tls-cert "$T/server.pem" --tls-key "$T/server.key" --tls-cafile "$T/ca.pem"
out=$("$M" run scenarios/examples/qos1-publish.yaml --broker "mqtts://localhost:$tport" --cafile "$T/ca.pem" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "TLS handshake refused" && ok "no client certificate for a broker that wants one: exit 2, refused" || bad "no client cert (exit $rc)" "$out"
out=$("$M" run scenarios/examples/qos1-publish.yaml --broker "mqtts://localhost:$tport" --cafile "$T/ca.pem" --cert "$T/rclient.pem" --key "$T/rclient.key" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "TLS handshake refused" && ok "a client certificate from another CA: exit 2, refused" || bad "rogue client cert (exit $rc)" "$out"
out=$("$M" run scenarios/examples/qos1-publish.yaml --broker "mqtts://localhost:$tport" --cafile "$T/ca.pem" --cert "$T/client.pem" --key "$T/server.key" 2>&1); rc=$?
[ $rc -eq 2 ] && has "$out" "does not belong to the certificate" && ok "--key of another certificate: exit 2" || bad "mismatched --key (exit $rc)" "$out"
"$M" conform --broker "mqtts://localhost:$tport" --cafile "$T/ca.pem" --cert "$T/client.pem" --key "$T/client.key" -j 8 >"$T/ctls" 2>&1; rc=$?
verdicts <"$T/ctls" >"$T/vctls"
[ $rc -eq 0 ] && cmp -s "$T/vplain" "$T/vctls" && ok "conform with a client certificate: the verdicts of plain TCP" ||
	bad "client certificate (exit $rc)" "$(diff "$T/vplain" "$T/vctls" | head)" "$(tail -3 "$T/ctls")"
grep -q "TLS handshake with 127.0.0.1:[0-9]* failed" "$T/c.log" && ok "the broker logs the refused handshakes" || bad "no log line for refused handshakes" "$(tail -5 "$T/c.log")"

# mosquitto with a plain and a TLS listener: the same verdicts both ways.
if need_tool mosquitto mosquitto "the suite was not run over TLS against mosquitto"; then
	mp=$(free_port)
	mt=$(free_port)
	printf 'per_listener_settings true\nlistener %s 127.0.0.1\nallow_anonymous true\nlistener %s 127.0.0.1\nallow_anonymous true\ncafile %s\ncertfile %s\nkeyfile %s\n' \
		"$mp" "$mt" "$T/ca.pem" "$T/server.pem" "$T/server.key" >"$T/m.conf"
	"$tool" -c "$T/m.conf" >"$T/mosq.log" 2>&1 &
	pids="$pids $!"
	sleep 0.5
	X=conformance/expected-failures/mosquitto.txt
	"$M" conform --broker "tcp://127.0.0.1:$mp" -j 8 --expect-failures $X >"$T/mplain" 2>&1
	"$M" conform --broker "mqtts://localhost:$mt" --cafile "$T/ca.pem" -j 8 --expect-failures $X >"$T/mtls" 2>&1; rc=$?
	verdicts <"$T/mplain" >"$T/vmplain"
	verdicts <"$T/mtls" >"$T/vmtls"
	[ $rc -eq 0 ] && [ -s "$T/vmtls" ] && cmp -s "$T/vmplain" "$T/vmtls" &&
		ok "conform over mqtts:// against mosquitto: the verdicts of plain TCP ($(grep '^statements:' "$T/mtls"))" ||
		bad "mosquitto over TLS (exit $rc)" "$(diff "$T/vmplain" "$T/vmtls" | head)" "$(tail -3 "$T/mtls")" "$(tail -3 "$T/mosq.log")"
	out=$("$M" conform --broker "mqtts://localhost:$mt" --cafile "$T/rogue.pem" 2>&1); rc=$?
	[ $rc -eq 2 ] && has "$out" "certificate not trusted" && ok "mosquitto, a wrong CA: exit 2" || bad "mosquitto wrong CA (exit $rc)" "$out"
fi

wait $idle 2>/dev/null
grep -q "dropping 127.0.0.1:[0-9]*: no TLS handshake within 10 s" "$T/b.log" && ok "a client that never shakes hands is dropped after 10 s, logged" ||
	bad "the silent TLS client was not dropped" "$(tail -5 "$T/b.log")"
finish
