#!/bin/sh
# reports.sh - `--report junit,json,tap` of `mqttsim run` and `mqttsim conform`, end to end:
#  - the JUnit files validate against tests/junit.xsd (xmllint) and their counts add up;
#  - the JSON files validate against reports/schema/mqttsim-report-1.json (python3, standard
#    library only: tests/check_report_json.py) and agree with the terminal summary;
#  - the TAP files parse with prove, which fails exactly when something failed;
#  - failures carry the message and the last packets; skipped, error and wall-clock runs
#    (the in-tree broker over TCP) are reported too;
#  - the terminal output does not change; reports are byte-identical across runs and -j;
#  - bad --report values exit 2 with a clear message.
# Missing xmllint or prove: that check is skipped, with a NOTE, or under CI a failure
# (tests/lib.sh).
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
PY=${PYTHON:-python3}
SCHEMA=reports/schema/mqttsim-report-1.json
[ -x "$M" ] || { echo "reports: $M is not built (make, or set MQTTSIM)"; echo "reports: 0 passed, 1 failed"; exit 1; }
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
bpid=""
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null; rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=1700000000 # reports comparable byte for byte

need_tool xmllint libxml2-utils "the JUnit files were not validated"
XMLLINT=$tool
need_tool prove perl "the TAP files were not parsed"
PROVE=$tool

# junit FILE NAME: validate against the XSD; the suite's counts match its testcases.
junit() {
	[ -n "$XMLLINT" ] || return 0
	out=$("$XMLLINT" --noout --schema tests/junit.xsd "$1" 2>&1) && ok "$2: JUnit validates against tests/junit.xsd" ||
		bad "$2: JUnit does not validate" "$out"
	out=$("$PY" - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
probs = []
for s in root.iter("testsuite"):
    cases = s.findall("testcase")
    got = {"tests": len(cases),
           "failures": sum(1 for c in cases if c.find("failure") is not None),
           "errors": sum(1 for c in cases if c.find("error") is not None),
           "skipped": sum(1 for c in cases if c.find("skipped") is not None)}
    for k, v in got.items():
        if int(s.get(k, "0")) != v or int(root.get(k, "0")) != v:
            probs.append("%s=%s but %d testcases say so" % (k, s.get(k), v))
print("\n".join(probs))
sys.exit(1 if probs else 0)
EOF
	) && ok "$2: JUnit counts match the testcases" || bad "$2: JUnit counts" "$out"
}

# json FILE NAME [KEY=VALUE...]: validate against the schema, with expectations on the summary.
json() {
	jf=$1 jn=$2; shift 2
	out=$("$PY" tests/check_report_json.py "$SCHEMA" "$jf" "$@" 2>&1) && ok "$jn: JSON validates against $SCHEMA${1:+ ($*)}" ||
		bad "$jn: JSON" "$out"
}

# testcase NAME FILE: the <testcase> element of that name.
testcase() { sed -n "/<testcase name=\"$1\"/,/<\/testcase>/p" "$2"; }

# tap FILE NAME WANT_RC: plain `prove FILE` (a .tap file is read as TAP) parses it without
# parse errors, and passes (0) or fails (1). The report is TAP 13 by default, which every
# prove reads (Debian bookworm's Test::Harness 3.44 calls a version 14 line a parse error).
tap() {
	[ -n "$PROVE" ] || return 0
	out=$("$PROVE" "$1" 2>&1); rc=$?
	case "$out" in *"Parse errors"*) bad "$2: prove reports parse errors" "$out"; return;; esac
	[ $rc -eq "$3" ] && ok "$2: TAP parses with prove (exit $rc)" || bad "$2: prove exit $rc, wanted $3" "$out"
}

# run: every example scenario; output unchanged by --report.
"$M" run scenarios/examples >"$tmp/plain.out" 2>&1
"$M" run scenarios/examples --report junit,json,tap --report-dir "$tmp/run" >"$tmp/rep.out" 2>&1; rc=$?
[ $rc -eq 0 ] && [ -f "$tmp/run/run.junit.xml" ] && [ -f "$tmp/run/run.json" ] && [ -f "$tmp/run/run.tap" ] &&
	ok "run --report junit,json,tap writes run.junit.xml, run.json, run.tap" || bad "run --report (exit $rc)" "$(ls "$tmp/run" 2>&1)" "$(cat "$tmp/rep.out")"
cmp -s "$tmp/plain.out" "$tmp/rep.out" && ok "run: terminal output unchanged by --report" || bad "run: terminal output changed" "$(diff "$tmp/plain.out" "$tmp/rep.out" | head)"
n=$(ls scenarios/examples/*.yaml | wc -l)
junit "$tmp/run/run.junit.xml" run
json "$tmp/run/run.json" run scenarios.total=$n scenarios.pass=$n
tap "$tmp/run/run.tap" run 0
grep -q "<testcase name=\"flaky-wifi-qos1\" classname=\"scenarios.examples\" file=\"scenarios/examples/flaky-wifi-qos1.yaml\" time=\"21.613\">" "$tmp/run/run.junit.xml" &&
	testcase flaky-wifi-qos1 "$tmp/run/run.junit.xml" | grep -q '<property name="seed" value="7"/>' &&
	ok "run: JUnit testcase has the file, the virtual time and the seed as a property" ||
	bad "run: JUnit testcase of flaky-wifi-qos1" "$(grep -A3 flaky-wifi-qos1 "$tmp/run/run.junit.xml")"

# The same reports, byte for byte, again and with -j 4 (children hand back text only).
"$M" run scenarios/examples -j 4 --report junit,json,tap --report-dir "$tmp/run4" >/dev/null 2>&1
same=1
for f in run.junit.xml run.json run.tap; do cmp -s "$tmp/run/$f" "$tmp/run4/$f" || same=0; done
[ $same -eq 1 ] && ok "run: -j 4 gives byte-identical reports" || bad "run: -j 4 reports differ" "$(diff "$tmp/run/run.json" "$tmp/run4/run.json" | head)"

# A failing run: the message and the last packets; a replay seed.
"$M" run scenarios/examples/qos1-publish.yaml --seed 5 --report junit,json,tap --report-dir "$tmp/one" >/dev/null 2>&1
grep -q '"seed": 5,' "$tmp/one/run.json" && ok "run --seed 5: the JSON has seed 5" || bad "run --seed 5" "$(grep seed "$tmp/one/run.json")"

# conform, reference broker in simulation: everything passes.
"$M" conform -j 4 >"$tmp/c-plain.out" 2>&1
"$M" conform -j 4 --report junit,json,tap --report-dir "$tmp/c" >"$tmp/c-rep.out" 2>&1; rc=$?
[ $rc -eq 0 ] && ok "conform --report: exit 0" || bad "conform --report (exit $rc)" "$(tail -3 "$tmp/c-rep.out")"
cmp -s "$tmp/c-plain.out" "$tmp/c-rep.out" && ok "conform: terminal output unchanged by --report" || bad "conform: terminal output changed" "$(diff "$tmp/c-plain.out" "$tmp/c-rep.out" | head)"
line=$(grep '^statements:' "$tmp/c-rep.out")
np=$(echo "$line" | sed 's/statements: \([0-9]*\) pass.*/\1/')
nna=$(echo "$line" | sed 's/.*, \([0-9]*\) not testable.*/\1/')
junit "$tmp/c/conform.junit.xml" conform
json "$tmp/c/conform.json" conform statements.pass="$np" statements.na="$nna" statements.fail=0
tap "$tmp/c/conform.tap" conform 0

# A broken broker: the statements it breaks fail in all three, with the packets; one of them
# listed as an expected failure becomes xfail (JUnit skipped, TAP TODO).
printf 'MQTT-3.1.2-17  broken on purpose by --break-broker skip-will\n' >"$tmp/xf.txt"
"$M" conform --break-broker skip-will --expect-failures "$tmp/xf.txt" -j 4 --report junit,json,tap --report-dir "$tmp/b" >"$tmp/b.out" 2>&1; rc=$?
nf=$(sed -n 's/^statements: [0-9]* pass, \([0-9]*\) fail.*/\1/p' "$tmp/b.out")
[ $rc -eq 1 ] && [ "${nf:-0}" -gt 0 ] && ok "conform --break-broker skip-will: exit 1, $nf statements fail" || bad "broken broker (exit $rc)" "$(tail -3 "$tmp/b.out")"
junit "$tmp/b/conform.junit.xml" "conform, broken broker"
json "$tmp/b/conform.json" "conform, broken broker" statements.fail="$nf" statements.xfail=1
tap "$tmp/b/conform.tap" "conform, broken broker" 1
nj=$(grep -c '<failure ' "$tmp/b/conform.junit.xml")
nt=$(grep -c '^not ok [0-9]* - [^#]*$' "$tmp/b/conform.tap")
[ "$nj" = "$nf" ] && [ "$nt" = "$nf" ] && ok "broken broker: $nf failures in JUnit and TAP, as on the terminal" || bad "broken broker: JUnit $nj, TAP $nt, terminal $nf failures"
testcase MQTT-3.1.2-8 "$tmp/b/conform.junit.xml" | grep -q 'bytes: ' &&
	testcase MQTT-3.1.2-8 "$tmp/b/conform.junit.xml" | grep -q '<failure message="scenarios/conformance/' &&
	ok "broken broker: the JUnit failure has the failed step as message and the packets' bytes" ||
	bad "broken broker: the JUnit failure of MQTT-3.1.2-8" "$(testcase MQTT-3.1.2-8 "$tmp/b/conform.junit.xml")"
testcase MQTT-3.1.2-17 "$tmp/b/conform.junit.xml" | grep -q '<skipped message="expected failure: broken on purpose' &&
	grep -q '^not ok [0-9]* - MQTT-3.1.2-17 # TODO expected failure: broken on purpose' "$tmp/b/conform.tap" &&
	ok "broken broker: the listed statement is JUnit skipped (xfail) and TAP not ok # TODO" ||
	bad "broken broker: xfail mapping" "$(testcase MQTT-3.1.2-17 "$tmp/b/conform.junit.xml")" "$(grep 'MQTT-3.1.2-17 ' "$tmp/b/conform.tap")"

# The YAML of the TAP file reads back (TAP::Parser) to exactly the details in the JSON.
if [ -n "$PROVE" ] && perl -MTAP::Parser -e 1 2>/dev/null; then
	perl -MTAP::Parser -e '
		open my $fh, "<", $ARGV[0] or die; local $/; my $t = <$fh>;
		my $p = TAP::Parser->new({ tap => $t });
		while (my $r = $p->next) { print $r->data->{details}, "\0" if $r->is_yaml && defined $r->data->{details} }
	' "$tmp/b/conform.tap" >"$tmp/yaml-details"
	out=$("$PY" - "$tmp/b/conform.json" "$tmp/yaml-details" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
got = open(sys.argv[2], encoding="utf-8").read().split("\0")[:-1]
byname = {c["name"]: c for c in doc["scenarios"]}
want = []
for s in doc["statements"]:
    if s["verdict"] in ("fail", "xfail", "optional"):
        want.append("".join(byname[n]["details"] for n in s["scenarios"] if byname[n]["status"] in ("fail", "error")))
if got != want:
    print("%d YAML details, %d expected; first difference:" % (len(got), len(want)))
    for g, w in zip(got, want):
        if g != w:
            print(repr(g[:300])); print(repr(w[:300])); break
    sys.exit(1)
print(len(got))
EOF
	) && ok "broken broker: TAP YAML details read back by TAP::Parser equal the JSON details ($out)" || bad "TAP YAML round trip" "$out"
fi

# Over TCP against the in-tree broker: wall-clock times, and the simulation-only scenario skipped.
broker_start "$tmp/broker.log"
if [ -n "$port" ]; then
	"$M" run scenarios/examples --broker "tcp://127.0.0.1:$port" -j 4 --report junit,json,tap --report-dir "$tmp/tcp" >"$tmp/tcp.out" 2>&1; rc=$?
	[ $rc -eq 0 ] && ok "run over TCP: exit 0" || bad "run over TCP (exit $rc)" "$(cat "$tmp/tcp.out")"
	junit "$tmp/tcp/run.junit.xml" "run over TCP"
	json "$tmp/tcp/run.json" "run over TCP" scenarios.skip=1 scenarios.total=$n
	tap "$tmp/tcp/run.tap" "run over TCP" 0
	grep -q '"clock": "wall"' "$tmp/tcp/run.json" && grep -q "\"target\": \"tcp://127.0.0.1:$port\"" "$tmp/tcp/run.json" &&
		grep -q '^ok [0-9]* - flaky-wifi-qos1 # SKIP not for this target$' "$tmp/tcp/run.tap" &&
		testcase flaky-wifi-qos1 "$tmp/tcp/run.junit.xml" | grep -q '<skipped message="not for this target"' &&
		ok "run over TCP: wall clock, the target, the skipped scenario in JSON, TAP and JUnit" ||
		bad "run over TCP: skip/wall" "$(testcase flaky-wifi-qos1 "$tmp/tcp/run.junit.xml")"
	kill $bpid 2>/dev/null; wait $bpid 2>/dev/null; bpid=""
else
	bad "the in-tree broker did not start" "$(cat "$tmp/broker.log")"
fi

# A broker address that does not resolve: the run could not happen -> JUnit <error>, exit 2.
"$M" run scenarios/examples/qos0-publish.yaml --broker tcp://no-such-host.invalid:1883 --report junit,json,tap --report-dir "$tmp/err" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q '<error message=' "$tmp/err/run.junit.xml" && ok "unresolvable broker: exit 2, JUnit <error>" || bad "unresolvable broker (exit $rc)" "$(cat "$tmp/err/run.junit.xml" 2>&1)"
junit "$tmp/err/run.junit.xml" "unresolvable broker"
json "$tmp/err/run.json" "unresolvable broker" scenarios.error=1
tap "$tmp/err/run.tap" "unresolvable broker" 1

# Default directory: reports/out under the current directory.
Mabs=$(cd "$(dirname "$M")" && pwd)/$(basename "$M")
here=$(pwd)
(cd "$tmp" && "$Mabs" run "$here/scenarios/examples/qos0-publish.yaml" --report json >/dev/null 2>&1) &&
	[ -f "$tmp/reports/out/run.json" ] && ok "--report without --report-dir writes reports/out/run.json" || bad "default report dir" "$(ls -R "$tmp/reports" 2>&1 | head)"

# Bad values: exit 2, a message that says what is accepted; nothing is run.
check_usage() { # name needle args...
	name=$1 needle=$2; shift 2
	out=$("$M" "$@" 2>&1); rc=$?
	case "$out" in *"$needle"*) r=1;; *) r=0;; esac
	[ $rc -eq 2 ] && [ $r -eq 1 ] && ok "usage: $name (exit 2)" || bad "usage: $name: exit $rc, wanted 2 and '$needle'" "$out"
}
: >"$tmp/afile"
check_usage "unknown format" "unknown format 'xml'; formats: junit, json, tap, html, pcap" run scenarios/examples --report junit,xml
check_usage "empty item" "an empty format in the list" run scenarios/examples --report junit,,tap
check_usage "no value" "--report needs a list of formats" run scenarios/examples --report
check_usage "--report-dir alone" "say which reports to write with --report" conform --report-dir "$tmp/x"
check_usage "--report-dir is a file" "--report-dir $tmp/afile" run scenarios/examples --report json --report-dir "$tmp/afile"
check_usage "--report-dir without value" "--report-dir needs a directory" conform --report json --report-dir

# The writers are pure: no clock, no environment.
out=$(grep -nE '\b(time|gettimeofday|clock_gettime|clock|getenv|secure_getenv|localtime|gmtime|rand|fopen)[[:space:]]*\(' \
	reports/report.c reports/junit.c reports/json.c reports/tap.c | grep -vE ':[0-9]+:\s*(\*|/\*|//)')
[ -z "$out" ] && ok "writers read no clock, no environment, no files" || bad "writers are not pure" "$out"

echo "reports: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
