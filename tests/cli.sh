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
check decode-nul 2 "stdin: '\\x00' at character 6 is not a hex digit" sh -c 'printf "c0 00\000zzzz" | "$1" decode' sh "$M"
check decode-escape 2 "'\\x1b' at character 4 is not a hex digit" $M decode c0 "$(printf '\033')[31m"
check decode-option-after 0 '"type":"PINGREQ"' $M decode c0 00 --json
check decode-stdin-dir 2 'stdin is a directory' sh -c '"$1" decode < /' sh "$M"
check decode-stdin-big 2 'input is larger than 16 MiB' sh -c 'head -c 16777217 /dev/zero | "$1" decode' sh "$M"
check decode-stdin-16mib 2 "'\\x00' at character 1" sh -c 'head -c 16777216 /dev/zero | "$1" decode' sh "$M"
check no-command 2 'usage: mqttsim' $M
check bad-command 2 "'frob' is not a command" $M frob
check help 0 'decode' $M --help
check version 0 'mqttsim ' $M --version
check decode-help 0 'usage: mqttsim decode' $M decode --help
check passwd-create 0 'format-ok' sh -c 'd=$(mktemp -d); "$1" passwd "$d/pw" alice s3cret >/dev/null && grep -Eq "^alice:[\$]mqs2[\$]10000[\$][0-9a-f]{32}[\$][0-9a-f]{64}[\$][0-9a-f]{64}\$" "$d/pw" && [ "$(stat -c %a "$d/pw")" = 600 ] && [ "$(wc -l < "$d/pw")" -eq 1 ] && echo format-ok; rm -rf "$d"' sh "$M"
check passwd-keeps-mode 0 'mode-kept' sh -c 'd=$(mktemp -d); "$1" passwd "$d/pw" alice s3cret >/dev/null && chmod 640 "$d/pw" && "$1" passwd "$d/pw" bob pw2 >/dev/null && [ "$(stat -c %a "$d/pw")" = 640 ] && [ "$(wc -l < "$d/pw")" -eq 2 ] && echo mode-kept; rm -rf "$d"' sh "$M"
check passwd-stdin 0 'replaced-ok' sh -c 'd=$(mktemp -d); "$1" passwd "$d/pw" alice one >/dev/null; a=$(cat "$d/pw"); printf "two\n" | "$1" passwd "$d/pw" alice && [ "$(grep -c "^alice:" "$d/pw")" -eq 1 ] && [ "$(cat "$d/pw")" != "$a" ] && echo replaced-ok; rm -rf "$d"' sh "$M"
check passwd-delete 0 'deleted-ok' sh -c 'd=$(mktemp -d); "$1" passwd "$d/pw" alice a >/dev/null; "$1" passwd "$d/pw" bob b >/dev/null; "$1" passwd --delete "$d/pw" alice && ! grep -q "^alice:" "$d/pw" && grep -q "^bob:" "$d/pw" && echo deleted-ok; rm -rf "$d"' sh "$M"
check passwd-delete-missing 2 "there is no user 'carol'" sh -c 'd=$(mktemp -d); "$1" passwd "$d/pw" alice a >/dev/null; "$1" passwd --delete "$d/pw" carol; rc=$?; rm -rf "$d"; exit $rc' sh "$M"
check passwd-bad-file 2 ':2: expected USER:' sh -c 'd=$(mktemp -d); printf "# users\nalice\n" > "$d/pw"; "$1" passwd "$d/pw" bob b; rc=$?; rm -rf "$d"; exit $rc' sh "$M"
check passwd-symlink 0 'link-kept' sh -c 'd=$(mktemp -d); mkdir "$d/etc"; "$1" passwd "$d/etc/pw" alice a >/dev/null; ln -s etc/pw "$d/link"; "$1" passwd "$d/link" bob b && [ -L "$d/link" ] && grep -q "^alice:" "$d/etc/pw" && grep -q "^bob:" "$d/etc/pw" && [ "$(ls "$d" | wc -l)" -eq 2 ] && [ "$(ls "$d/etc")" = pw ] && echo link-kept; rm -rf "$d"' sh "$M"
check passwd-symlink-dangling 2 'is a symbolic link that cannot be followed: No such file or directory' sh -c 'd=$(mktemp -d); ln -s nothere "$d/pw"; "$1" passwd "$d/pw" alice a; rc=$?; [ -L "$d/pw" ] || rc=9; rm -rf "$d"; exit $rc' sh "$M"
check passwd-user-not-utf8 2 'the user name is not an MQTT string (UTF-8 without U+0000, MQTT-1.5.3-1): ill-formed UTF-8: byte 0xFF cannot start a character (byte 2)' sh -c 'd=$(mktemp -d); "$1" passwd "$d/pw" "$(printf "a\377b")" x; rc=$?; [ -e "$d/pw" ] && rc=9; rm -rf "$d"; exit $rc' sh "$M"
check passwd-user-overlong-nul 2 'byte 0xC0 starts an overlong encoding' sh -c 'd=$(mktemp -d); "$1" passwd "$d/pw" "$(printf "a\300\200")" x; rc=$?; rm -rf "$d"; exit $rc' sh "$M"
check passwd-user-utf8 0 "added user 'José'" sh -c 'd=$(mktemp -d); "$1" passwd "$d/pw" "José" x; rc=$?; rm -rf "$d"; exit $rc' sh "$M"
check passwd-usage 2 'usage: mqttsim passwd' $M passwd only-a-file
check broker-bad-listen 2 "--listen takes ADDR:PORT" $M broker --listen nonsense
check broker-bad-store 2 "--store /nonexistent-dir-of-mqttsim" $M broker --listen 127.0.0.1:0 --store /nonexistent-dir-of-mqttsim
# A password file of the first format ($mqs1$, SaltedPassword on file): the broker refuses it
# with file, line and what to run; `mqttsim passwd` for any user rewrites every such line as
# $mqs2$ and the broker then takes it, the other user's password unchanged (alice/s3cret).
V1_ALICE='alice:$mqs1$10000$000102030405060708090a0b0c0d0e0f$712eeb933e00ddb01d8998ddcb671ce687e4d8e59badb4a461aa73677bfebc61'
check broker-passwords-v1 2 ":2: user 'alice': this line is in the old \$mqs1\$ format" sh -c 'd=$(mktemp -d); printf "# old\n%s\n" "$2" > "$d/pw"; "$1" broker --listen 127.0.0.1:0 --passwords "$d/pw"; rc=$?; rm -rf "$d"; exit $rc' sh "$M" "$V1_ALICE"
check passwd-upgrades-v1 0 'v1-upgraded' sh -c 'd=$(mktemp -d); printf "# old\n%s\n" "$2" > "$d/pw"; out=$("$1" passwd "$d/pw" bob b) && echo "$out" | grep -q "rewrote 1 line of the old" && grep -qxF "alice:\$mqs2\$10000\$000102030405060708090a0b0c0d0e0f\$cdfe0b6fb1a004178f59e4b58b4f40c9c411c7ec420a2e5a03d1bfb98aa877a1\$7ccd762f5e4d9d487a88dade469e6c634dcf6cfe3ea745a6f9bccdf495a79d17" "$d/pw" && ! grep -q 712eeb93 "$d/pw" && grep -q "^bob:[\$]mqs2[\$]" "$d/pw" && [ "$(sed -n 1p "$d/pw")" = "# old" ] && echo v1-upgraded; rm -rf "$d"' sh "$M" "$V1_ALICE"
check broker-bad-passwords 2 "/nonexistent-file-of-mqttsim" $M broker --listen 127.0.0.1:0 --passwords /nonexistent-file-of-mqttsim
check broker-bad-option 2 "unknown option '--frob'" $M broker --frob
check broker-bad-number 2 "--max-queued takes a whole number from 1 to 4294967295, not '-3'" $M broker --max-queued -3
check broker-inflight-range 2 "--max-inflight takes a whole number from 1 to 65535, not '70000'" $M broker --max-inflight 70000
check broker-sys-interval-range 2 "--sys-interval takes a whole number from 0 to 4294967295 (seconds; 0 disables \$SYS), not 'x'" $M broker --sys-interval x
check broker-max-packet-range 2 "--max-packet takes a whole number from 1 to 4294967295 (bytes), not '0'" $M broker --max-packet 0
check broker-max-subscriptions-range 2 "--max-subscriptions takes a whole number from 1 to 4294967295 (4294967295: no practical limit), not '0'" $M broker --max-subscriptions 0
check broker-port-range 2 "--listen takes ADDR:PORT with PORT from 0 to 65535" $M broker --listen 127.0.0.1:70000
check broker-option-escaped 2 "unknown option '--\\x1b[2J'" $M broker "--$(printf '\033')[2J"
check broker-config-dir 2 "--config / is a directory" timeout 3 $M broker --listen 127.0.0.1:0 --config /
cfg=$(mktemp)
printf '# comment\nlisten 127.0.0.1:0\nmax-queued 10\nfrob 3\n' >"$cfg"
check broker-config-error 2 "$cfg:4: unknown option '--frob'" $M broker --config "$cfg"
printf 'listen 127.0.0.1:0\nsys-interval 0 extra\n' >"$cfg"
check broker-config-extra 2 "$cfg:2: one option and at most one value per line ('extra' is extra)" $M broker --config "$cfg"
printf 'listen 127.0.0.1:0\n\177ELF\002\001\001\000\000\n' >"$cfg"
check broker-config-binary 2 "$cfg:2:1: '\\x7f' is a control character, but a config file is text" $M broker --config "$cfg"
printf 'listen 127.0.0.1:0\nstore /tmp/\377\n' >"$cfg"
check broker-config-not-utf8 2 "$cfg:2:12: '\\xff' is a byte that is not UTF-8 text" $M broker --config "$cfg"
printf 'listen 127.0.0.1:0\nmax-inflight 70000\n' >"$cfg"
check broker-config-range 2 "$cfg:2: --max-inflight takes a whole number from 1 to 65535, not '70000'" $M broker --config "$cfg"
printf 'listen 127.0.0.1:0\nmax-subscriptions 10k\n' >"$cfg"
check broker-config-max-subscriptions 2 "$cfg:2: --max-subscriptions takes a whole number from 1 to 4294967295 (4294967295: no practical limit), not '10k'" $M broker --config "$cfg"
printf 'listen 127.0.0.1:0 # any free port\nsys-interval 0\n' >"$cfg"
check broker-config-runs 124 "listening on 127.0.0.1:" timeout 1 $M broker --config "$cfg"
rm -f "$cfg"
# A store whose log is not a log: the broker says so, keeps the bytes aside, and starts.
st=$(mktemp -d)
printf 'this is not a broker log, but somebody may want it back\n' >"$st/broker.log"
cp "$st/broker.log" "$st/orig"
check broker-store-garbage 124 "could not be read (a record of 1952999795 bytes with only 48 left in the log: a write a crash tore, or a corrupt length): kept in $st/broker.log.torn-1" timeout 1 $M broker --listen 127.0.0.1:0 --sys-interval 0 --store "$st"
if cmp -s "$st/orig" "$st/broker.log.torn-1" && [ ! -s "$st/broker.log" ]; then pass=$((pass+1)); else echo "FAIL broker-store-garbage: the unread bytes were not kept"; fail=$((fail+1)); fi
check broker-store-clean-restart 124 "listening on" timeout 1 $M broker --listen 127.0.0.1:0 --sys-interval 0 --store "$st"
if [ -e "$st/broker.log.torn-2" ]; then echo "FAIL broker-store-clean-restart: a clean log was set aside"; fail=$((fail+1)); else pass=$((pass+1)); fi
# If the unread bytes cannot be kept, the log stays as it is and the broker does not start.
printf 'not a log either\n' >"$st/broker.log"
cp "$st/broker.log" "$st/orig"
(cd "$st" && for i in $(seq 1 1000); do : >"broker.log.torn-$i"; done)
check broker-store-keep-fails 2 "NOT kept ($st/broker.log.torn-1 to -1000 all exist: move old ones away), so the log is left as it is" timeout 3 $M broker --listen 127.0.0.1:0 --sys-interval 0 --store "$st"
if cmp -s "$st/orig" "$st/broker.log"; then pass=$((pass+1)); else echo "FAIL broker-store-keep-fails: the log was changed"; fail=$((fail+1)); fi
rm -rf "$st"
tl=$(mktemp -d)
$M run scenarios/examples/qos1-publish.yaml --out "$tl" >/dev/null
check timeline 0 'pub        -> broker     PUBLISH qos=1 retain=0 dup=0 id=1 topic="q1/a" payload=3B' $M timeline "$tl/qos1-publish.trace"
check timeline-no-colour-on-pipe 0 'broker     -> sub        PUBLISH' $M timeline "$tl/qos1-publish.trace"
if $M timeline "$tl/qos1-publish.trace" | grep -q "$(printf '\033')"; then echo "FAIL timeline: colour codes on a pipe"; fail=$((fail+1)); else pass=$((pass+1)); fi
if NO_COLOR=1 $M timeline --color auto "$tl/qos1-publish.trace" | grep -q "$(printf '\033')"; then echo "FAIL timeline: colour with NO_COLOR"; fail=$((fail+1)); else pass=$((pass+1)); fi
if $M timeline --color always "$tl/qos1-publish.trace" | grep -q "$(printf '\033')"; then pass=$((pass+1)); else echo "FAIL timeline: --color always has no colour"; fail=$((fail+1)); fi
check timeline-missing 2 'No such file' $M timeline "$tl/nothing.trace"
check timeline-not-a-trace 2 'holds no events' $M timeline README.md
check timeline-directory 2 "$tl is a directory; give one of the .trace files" $M timeline "$tl"
check timeline-device 2 '/dev/zero is a device, not a trace file' $M timeline /dev/zero
truncate -s 2G "$tl/huge.trace"
check timeline-huge-file 2 "huge.trace is larger than 1 GiB, the most mqttsim timeline reads" $M timeline "$tl/huge.trace"
rm -f "$tl/huge.trace"
check timeline-huge-pipe 2 'stdin is larger than 1 GiB, the most mqttsim timeline reads' sh -c 'head -c 1073741825 /dev/zero | "$1" timeline -' sh "$M"
check timeline-pipe 0 'broker     -> sub        PUBLISH' sh -c 'cat "$2" | "$1" timeline -' sh "$M" "$tl/qos1-publish.trace"
mkfifo "$tl/fifo"
cat "$tl/qos1-publish.trace" >"$tl/fifo" &
check timeline-fifo 0 'broker     -> sub        PUBLISH' timeout 5 $M timeline "$tl/fifo"
wait
check timeline-color-needs-value 2 '--color needs a value: auto, always or never' $M timeline "$tl/qos1-publish.trace" --color
check timeline-color-escaped 2 "--color takes auto, always or never, not '\\x1b[2J'" $M timeline "$tl/qos1-publish.trace" --color "$(printf '\033')[2J"
check timeline-color-equals 0 'PUBLISH' $M timeline --color=never "$tl/qos1-publish.trace"
# Output that cannot be written is a failure, whatever the command did.
full="cannot write output: No space left on device"
check full-list 2 "$full" sh -c '"$1" list >/dev/full' sh "$M"
check full-decode 2 "$full" sh -c '"$1" decode c0 00 >/dev/full' sh "$M"
check full-timeline 2 "$full" sh -c '"$1" timeline "$2" >/dev/full' sh "$M" "$tl/qos1-publish.trace"
check full-help 2 "$full" sh -c '"$1" --help >/dev/full' sh "$M"
check full-version 2 "$full" sh -c '"$1" --version >/dev/full' sh "$M"
check full-passwd 2 "$full" sh -c 'd=$(mktemp -d); "$1" passwd "$d/pw" alice s3cret >/dev/full; rc=$?; rm -rf "$d"; exit $rc' sh "$M"
check full-decode-malformed 1 "$full" sh -c '"$1" decode 10 0c 00 04 4d 51 54 54 04 03 00 3c 00 00 >/dev/full' sh "$M"
check full-stderr 2 "" sh -c 'timeout --preserve-status 0.5 "$1" broker --listen 127.0.0.1:0 --sys-interval 0 2>/dev/full' sh "$M"
rm -rf "$tl"
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
