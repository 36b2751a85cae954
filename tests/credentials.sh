#!/bin/sh
# credentials.sh - the suite against a broker that wants a user name and allows topics only
# under a namespace (mosquitto: allow_anonymous false, a password file made with
# mosquitto_passwd, an ACL): anonymous, the probe says the broker refused and what to give
# (exit 2); with --username/--password (or --password-file, or MQTTSIM_PASSWORD) and
# --topic-prefix it runs as it does anonymously, the scenarios that write CONNECT bytes by
# hand skipped (they cannot carry a user name: their statements stay untested there); bad values of the flags are refused.
set -u
M=${MQTTSIM:-build/mqttsim}
. tests/lib.sh
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
chmod 755 "$tmp" # mosquitto drops root for its own user, which must read the files
mpid=""
trap '[ -n "$mpid" ] && kill $mpid 2>/dev/null; rm -rf "$tmp"' EXIT
finish() { echo "credentials: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

out=$("$M" conform --password x 2>&1); rc=$?
[ $rc -eq 2 ] && case "$out" in *"needs --username"*) true;; *) false;; esac && ok "--password without --username: exit 2" || bad "--password alone (exit $rc)" "$out"
out=$("$M" conform --topic-prefix 'a/#' 2>&1); rc=$?
[ $rc -eq 2 ] && ok "--topic-prefix with a wildcard: exit 2" || bad "--topic-prefix a/# (exit $rc)" "$out"
out=$("$M" run scenarios/examples --password-file "$tmp/none" 2>&1); rc=$?
[ $rc -eq 2 ] && case "$out" in *"--password-file $tmp/none: No such file"*) true;; *) false;; esac && ok "a missing --password-file: exit 2, named" || bad "missing password file (exit $rc)" "$out"

need_tool mosquitto mosquitto "the suite was not run against a broker that needs credentials" || finish
MOSQ=$tool
need_tool mosquitto_passwd mosquitto "the suite was not run against a broker that needs credentials" || finish
"$tool" -c -b "$tmp/pw" alice 's3cret pass' >/dev/null 2>&1
printf 's3cret pass\n' >"$tmp/secret"
printf 'user alice\ntopic readwrite tenant/#\ntopic readwrite $mqttsim/#\ntopic read $SYS/#\n' >"$tmp/acl"
chmod 644 "$tmp/pw" "$tmp/acl"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous false\npassword_file %s\nacl_file %s\n' "$port" "$tmp/pw" "$tmp/acl" >"$tmp/m.conf"
"$MOSQ" -c "$tmp/m.conf" >"$tmp/mosq.log" 2>&1 &
mpid=$!
sleep 0.5
B="tcp://127.0.0.1:$port"
X=conformance/expected-failures/mosquitto.txt

out=$("$M" conform --broker "$B" -j 4 2>&1); rc=$?
[ $rc -eq 2 ] && case "$out" in *"refused our CONNECT: not authorized (CONNACK 5); give --username and --password"*) true;; *) false;; esac &&
	ok "anonymous: the probe says the broker refused and what to give (exit 2)" || bad "anonymous (exit $rc)" "$(echo "$out" | tail -3)"
verdicts() { grep -E '^(FAIL|XFAIL|XPASS|OPTIONAL|UNREACHED|statements:) ' | sed 's/  seed=.*//' | sort; }
"$M" conform --broker "$B" -j 4 --expect-failures $X --username alice --password 's3cret pass' --topic-prefix tenant >"$tmp/a" 2>&1; rc=$?
[ $rc -eq 0 ] && ! grep -q '^XPASS' "$tmp/a" && ok "--username --password --topic-prefix: $(grep '^statements:' "$tmp/a")" ||
	bad "with credentials (exit $rc)" "$(grep -E '^(FAIL|XPASS|statements)' "$tmp/a" | head)"
"$M" conform --broker "$B" -j 4 --expect-failures $X -v --username alice --password 's3cret pass' --topic-prefix tenant 2>&1 |
	grep -c "^SKIP .*cannot carry --username" >"$tmp/nskip"
[ "$(cat "$tmp/nskip")" -ge 2 ] && ok "the $(cat "$tmp/nskip") scenarios with CONNECT bytes written by hand are skipped, naming the step" || bad "skipped: $(cat "$tmp/nskip")"
verdicts <"$tmp/a" >"$tmp/va"
"$M" conform --broker "$B" -j 4 --expect-failures $X --username alice --password-file "$tmp/secret" --topic-prefix tenant 2>&1 | verdicts >"$tmp/vf"
MQTTSIM_PASSWORD='s3cret pass' "$M" conform --broker "$B" -j 4 --expect-failures $X --username alice --topic-prefix tenant 2>&1 | verdicts >"$tmp/ve"
cmp -s "$tmp/va" "$tmp/vf" && cmp -s "$tmp/va" "$tmp/ve" && ok "--password-file and MQTTSIM_PASSWORD give the same verdicts" ||
	bad "password sources differ" "$(diff "$tmp/va" "$tmp/vf" | head -5)" "$(diff "$tmp/va" "$tmp/ve" | head -5)"
out=$("$M" conform --broker "$B" -j 4 --expect-failures $X --username alice --password 's3cret pass' 2>&1); rc=$?
[ $rc -eq 1 ] && ok "without --topic-prefix the ACL denies the topics: statements fail (exit 1), so the prefix is what made it pass" ||
	bad "without --topic-prefix (exit $rc)" "$(echo "$out" | grep statements)"
out=$("$M" conform --broker "$B" -j 4 --username alice --password wrong 2>&1); rc=$?
[ $rc -eq 2 ] && ok "a wrong password: exit 2 before anything runs" || bad "wrong password (exit $rc)" "$(echo "$out" | tail -2)"
out=$("$M" run scenarios/examples/qos1-publish.yaml --broker "$B" --username alice --password 's3cret pass' --topic-prefix tenant --client-id-prefix dev- 2>&1); rc=$?
[ $rc -eq 0 ] && ok "run with --client-id-prefix" || bad "run with --client-id-prefix (exit $rc)" "$out"
finish
