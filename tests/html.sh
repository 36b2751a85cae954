#!/bin/sh
# html.sh - `--report html,pcap` of `mqttsim run` and `mqttsim conform`, end to end:
#  - the page is well-formed (it is polyglot XHTML: xmllint parses it as XML), has no
#    scripts and fetches nothing (no src at all, every href an in-page anchor, no URL);
#  - the sequence diagram of every example scenario has exactly one packet arrow per MQTT
#    packet of its trace (class "pkt"), one undecodable arrow per "mqtt-bad" line, and the
#    partition of flaky-wifi-qos1 is drawn as a band, its lost segments as marks;
#  - conform: the statement matrix has a cell per statement, with the terminal's counts;
#    failed scenarios get a diagram; --html-diagrams none|failed|all; bad values exit 2;
#  - pcap: DIR/NAME.pcap for every simulated scenario; over TCP a note, no crash;
#  - the same run gives the same page, with -j 4 too; the temporary trace directory is
#    removed; the writers read no clock and no files;
#  - headless Chromium opens the page without console errors, the DOM holds the SVG with its
#    arrows, and a screenshot is written (reports/out/html-screenshot.png, kept to look at).
# Missing xmllint, tshark or chromium: that part is skipped, with a NOTE, or under CI a failure
# (tests/lib.sh).
set -u
M=${MQTTSIM:-build/mqttsim}
. "$(dirname "$0")/lib.sh"
PY=${PYTHON:-python3}
[ -x "$M" ] || { echo "html: $M is not built (make, or set MQTTSIM)"; echo "html: 0 passed, 1 failed"; exit 1; }
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
bpid=""
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null; rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=1700000000
need_tool xmllint libxml2-utils "the page's XML form was checked with python only"
XMLLINT=$tool

# wellformed FILE NAME: parses as XML (xmllint, and python's parser for the checks below).
wellformed() {
	if [ -n "$XMLLINT" ]; then
		out=$("$XMLLINT" --noout "$1" 2>&1) && ok "$2: well-formed (xmllint)" || bad "$2: not well-formed" "$(echo "$out" | head -5)"
	fi
	out=$("$PY" -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])' "$1" 2>&1) &&
		ok "$2: parses as XML (python)" || bad "$2: python's XML parser fails" "$out"
}

# selfcontained FILE NAME: no script, no src, only #anchors as href, no URL anywhere.
selfcontained() {
	out=$(grep -noE '<script|<link|<iframe|<object|<embed|src=|@import|https?://|href="[^#][^"]*"|url\([^#][^)]*\)' "$1" | head -5)
	[ -z "$out" ] && ok "$2: self-contained (no script, no src, no external href or URL)" || bad "$2: refers outside the page" "$out"
}

# The examples, with their traces kept (--out) to count against.
"$M" run scenarios/examples --report html,pcap --report-dir "$tmp/run" --out "$tmp/traces" >"$tmp/run.out" 2>&1; rc=$?
[ $rc -eq 0 ] && [ -s "$tmp/run/run.html" ] && ok "run --report html,pcap: exit 0, run.html written" || bad "run --report html (exit $rc)" "$(tail -3 "$tmp/run.out")"
wellformed "$tmp/run/run.html" run
selfcontained "$tmp/run/run.html" run

# Per scenario: arrows in its diagram == packets in its trace.
out=$("$PY" - "$tmp/run/run.html" "$tmp/traces" <<'EOF'
import re, sys, os, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
probs, n = [], 0
for sec in root.iter("section"):
    h3 = "".join(sec.find("h3").itertext())
    name = h3.split()[1]
    trace = open(os.path.join(sys.argv[2], name + ".trace"), encoding="utf-8").read().splitlines()
    want = sum(1 for l in trace if re.search(r" mqtt [<-]", l))
    wbad = sum(1 for l in trace if " mqtt-bad " in l)
    svg = sec.find(".//svg")
    if svg is None:
        probs.append("%s: no svg" % name); continue
    cls = [g.get("class", "").split() for g in svg.iter("g")]
    got = sum(1 for c in cls if c and c[0] == "pkt")
    gbad = sum(1 for c in cls if c and c[0] == "bad")
    if got != want or gbad != wbad:
        probs.append("%s: %d packet arrows for %d trace packets, %d undecodable for %d" % (name, got, want, gbad, wbad))
    n += 1
    if name == "flaky-wifi-qos1":
        bands = [r for r in svg.iter("rect") if r.get("class") == "band"]
        lost = [g for g in svg.iter("g") if g.get("class") == "lost"]
        faults = [g for g in svg.iter("g") if g.get("class") == "fault"]
        if len(bands) != 1 or not lost or len(faults) != 2:
            probs.append("flaky-wifi-qos1: %d partition bands (want 1), %d lost marks, %d fault marks (want 2)" % (len(bands), len(lost), len(faults)))
if n != len([f for f in os.listdir(sys.argv[2]) if f.endswith(".trace")]):
    probs.append("%d diagrams for %d traces" % (n, len(os.listdir(sys.argv[2]))))
print("\n".join(probs) if probs else n)
sys.exit(1 if probs else 0)
EOF
) && ok "run: every example's diagram has one arrow per MQTT packet of its trace ($out diagrams); flaky-wifi-qos1 shows its partition and lost segments" ||
	bad "run: diagram arrows" "$out"
# The same page again, with -j 4 (children hand back text; the traces come from files).
"$M" run scenarios/examples -j 4 --report html --report-dir "$tmp/run4" --out "$tmp/traces4" >/dev/null 2>&1
cmp -s "$tmp/run/run.html" "$tmp/run4/run.html" && ok "run: -j 4 gives a byte-identical page" || bad "run: -j 4 page differs" "$(diff "$tmp/run/run.html" "$tmp/run4/run.html" | head -5)"
grep -q 'class="bad badpkt"' "$tmp/run/run.html" && ok "run: the undecodable packet of malformed-closes-connection is drawn" || bad "run: no undecodable packet drawn"

# pcap: one per simulated scenario, next to the reports.
np=$(ls "$tmp/run"/*.pcap 2>/dev/null | wc -l)
nt=$(ls "$tmp/traces"/*.trace | wc -l)
[ "$np" -eq "$nt" ] && [ -s "$tmp/run/flaky-wifi-qos1.pcap" ] && ok "run --report pcap: $np captures, one per scenario" || bad "run --report pcap: $np captures for $nt scenarios"
if need_tool tshark tshark "the capture of qos2-exactly-once was not decoded"; then
	want=$(grep -c ' mqtt [<-]' "$tmp/traces/qos2-exactly-once.trace")
	got=$(tshark -r "$tmp/run/qos2-exactly-once.pcap" -Y mqtt -T fields -e mqtt.msgtype 2>/dev/null | tr ',' '\n' | grep -c .)
	[ "$want" = "$got" ] && ok "run --report pcap: tshark decodes the $got packets of qos2-exactly-once" || bad "pcap: tshark $got, trace $want"
fi
# The existing --pcap DIR still works, and wins over the report directory.
"$M" run scenarios/examples/qos0-publish.yaml --pcap "$tmp/own" --report pcap --report-dir "$tmp/rd" >/dev/null 2>&1
[ -s "$tmp/own/qos0-publish.pcap" ] && ok "--pcap DIR still writes DIR/NAME.pcap" || bad "--pcap DIR" "$(ls "$tmp/own" "$tmp/rd" 2>&1)"

# No temporary trace directory is left behind when --out is not given.
"$M" run scenarios/examples/qos1-publish.yaml --report html --report-dir "$tmp/clean" >/dev/null 2>&1
left=$(ls -A "$tmp/clean")
[ "$left" = "run.html" ] && grep -q '<svg class="seq"' "$tmp/clean/run.html" && ok "without --out: traces in a temporary directory, removed after; the diagram is drawn" ||
	bad "temporary traces" "$left"

# --html-diagrams.
"$M" run scenarios/examples --report html --html-diagrams none --report-dir "$tmp/none" >/dev/null 2>&1
"$M" run scenarios/examples --report html --html-diagrams failed --report-dir "$tmp/failed" >/dev/null 2>&1
a=$(grep -c '<svg class="seq"' "$tmp/none/run.html"); b=$(grep -c '<svg class="seq"' "$tmp/failed/run.html")
[ "$a" -eq 0 ] && [ "$b" -eq 0 ] && ok "--html-diagrams none / failed on a passing run: no diagrams" || bad "--html-diagrams none $a, failed $b"
"$M" run tests/scenarios/expectation-is-false.yaml scenarios/examples/qos0-publish.yaml --report html --html-diagrams failed --report-dir "$tmp/f2" >/dev/null 2>&1; rc=$?
n=$(grep -c '<svg class="seq"' "$tmp/f2/run.html")
[ $rc -eq 1 ] && [ "$n" -eq 1 ] && grep -q '<span class="b s-fail">fail</span> expectation-is-false' "$tmp/f2/run.html" &&
	ok "--html-diagrams failed: the failed scenario alone gets a diagram and its report" || bad "--html-diagrams failed (exit $rc, $n diagrams)"
wellformed "$tmp/f2/run.html" "a failed run"

# conform with a broken broker: the matrix, failures with diagrams.
printf 'MQTT-3.1.2-17  broken on purpose by --break-broker skip-will\n' >"$tmp/xf.txt"
"$M" conform --break-broker skip-will --expect-failures "$tmp/xf.txt" -j 2 --report html,json --report-dir "$tmp/c" >"$tmp/c.out" 2>&1; rc=$?
[ $rc -eq 1 ] && ok "conform --break-broker --report html: exit 1" || bad "conform html (exit $rc)" "$(tail -3 "$tmp/c.out")"
wellformed "$tmp/c/conform.html" conform
selfcontained "$tmp/c/conform.html" conform
out=$("$PY" - "$tmp/c/conform.html" "$tmp/c/conform.json" <<'EOF'
import sys, json, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
doc = json.load(open(sys.argv[2], encoding="utf-8"))
probs = []
cells = [a for a in root.iter("a") if (a.get("class") or "").startswith("v-")]
if len(cells) != len(doc["statements"]):
    probs.append("%d matrix cells for %d statements" % (len(cells), len(doc["statements"])))
for a, s in zip(cells, doc["statements"]):
    if a.get("class") != "v-" + s["verdict"] or not a.get("title", "").startswith(s["id"] + ":"):
        probs.append("cell %s %s for %s %s" % (a.get("class"), a.get("title"), s["id"], s["verdict"])); break
foot = [t for t in root.iter("tfoot")][0]
nums = [int(td.text) for td in foot.iter("td") if td.text]
want = [doc["summary"]["statements"][k] for k in ("pass", "fail", "xfail", "xpass", "optional", "untested", "na", "total")]
if nums != want:
    probs.append("matrix totals %s, JSON %s" % (nums, want))
failed = {c["name"] for c in doc["scenarios"] if c["status"] == "fail"}
drawn = set()
for sec in root.iter("section"):
    name = "".join(sec.find("h3").itertext()).split()[1]
    if sec.find(".//svg") is not None and sec.find("pre") is not None:
        drawn.add(name)
if drawn != failed:
    probs.append("diagrams for %s, failed %s" % (sorted(drawn), sorted(failed)))
print("\n".join(probs) if probs else "%d statements, %d failed scenarios drawn" % (len(cells), len(failed)))
sys.exit(1 if probs else 0)
EOF
) && ok "conform: matrix cells and totals agree with the JSON report; each failed scenario has its report and diagram ($out)" || bad "conform: matrix" "$out"
"$M" conform --only MQTT-3.3.1-9 --html-diagrams all -j 2 --report html --report-dir "$tmp/call" >/dev/null 2>&1
n=$(grep -c '<svg class="seq"' "$tmp/call/conform.html"); ns=$(grep -c '<tr id="sc-' "$tmp/call/conform.html")
[ "$n" -ge 1 ] && [ "$n" -eq "$ns" ] && ok "conform --html-diagrams all: a diagram for each of the $ns scenarios" || bad "conform --html-diagrams all: $n diagrams, $ns scenarios"

# Over TCP (the in-tree broker): pcap is noted, not a crash; the client-side trace is drawn.
broker_start "$tmp/broker.log"
if [ -n "$port" ]; then
	"$M" run scenarios/examples/qos1-publish.yaml --broker "tcp://127.0.0.1:$port" --report html,pcap --report-dir "$tmp/tcp" >"$tmp/tcp.out" 2>&1; rc=$?
	[ $rc -eq 0 ] && grep -q 'note: --report pcap: tcp://127.0.0.1:[0-9]* is a real broker' "$tmp/tcp.out" && ! ls "$tmp/tcp"/*.pcap >/dev/null 2>&1 &&
		ok "run over TCP --report pcap: exit 0, a note, no capture" || bad "TCP pcap note (exit $rc)" "$(cat "$tmp/tcp.out")"
	n=$(grep -c 'class="pkt ' "$tmp/tcp/run.html")
	[ "$n" -gt 0 ] && ok "run over TCP: the packets the clients received are drawn ($n)" || bad "TCP diagram: no arrows"
	kill $bpid 2>/dev/null; wait $bpid 2>/dev/null; bpid=""
else
	bad "the in-tree broker did not start" "$(cat "$tmp/broker.log")"
fi

# Bad values: exit 2 with a message.
check_usage() { # name needle args...
	name=$1 needle=$2; shift 2
	out=$("$M" "$@" 2>&1); rc=$?
	case "$out" in *"$needle"*) r=1;; *) r=0;; esac
	[ $rc -eq 2 ] && [ $r -eq 1 ] && ok "usage: $name (exit 2)" || bad "usage: $name: exit $rc, wanted 2 and '$needle'" "$out"
}
check_usage "--html-diagrams bad value" "--html-diagrams takes auto, failed, all or none, not 'some'" run scenarios/examples --report html --html-diagrams some
check_usage "--html-diagrams without html" "--html-diagrams is for the HTML report: add --report html" conform --report json --html-diagrams all
check_usage "--html-diagrams without value" "--html-diagrams takes auto, failed, all or none" conform --report html --html-diagrams

# The writers are pure: no clock, no environment, no files.
out=$(grep -nE '\b(time|gettimeofday|clock_gettime|clock|getenv|secure_getenv|localtime|gmtime|rand|fopen)[[:space:]]*\(' \
	reports/html.c reports/diagram.c | grep -vE ':[0-9]+:\s*(\*|/\*|//)')
[ -z "$out" ] && ok "html.c and diagram.c read no clock, no environment, no files" || bad "html writers are not pure" "$out"

# Headless Chromium: no console errors, the SVG in the DOM, a screenshot.
CHROMIUM=$(command -v chromium || command -v chromium-browser)
if [ -n "$CHROMIUM" ] || need_tool chromium chromium "the page was not opened in a browser"; then
	CHROMIUM=${CHROMIUM:-$tool}
	"$M" run scenarios/examples/flaky-wifi-qos1.yaml --report html --report-dir "$tmp/one" >/dev/null 2>&1
	page="file://$(cd "$tmp/one" && pwd)/run.html"
	want=$(grep -c 'class="pkt ' "$tmp/one/run.html")
	chrome() { timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$tmp/chrome" \
		--enable-logging=stderr --v=0 "$@"; }
	chrome --dump-dom "$page" >"$tmp/dom.html" 2>"$tmp/dom.err"; rc=$?
	got=$(grep -o 'class="pkt ' "$tmp/dom.html" | wc -l)
	errs=$(grep -E 'CONSOLE|net::ERR|Failed to load|Uncaught' "$tmp/dom.err" | head -5)
	[ $rc -eq 0 ] && [ -z "$errs" ] && ok "chromium: the page loads without console or network errors" || bad "chromium: errors (exit $rc)" "$errs" "$(tail -3 "$tmp/dom.err")"
	[ "$got" -eq "$want" ] && grep -q '<svg class="seq"' "$tmp/dom.html" && ok "chromium: the DOM holds the sequence diagram with its $got arrows" || bad "chromium DOM: $got arrows, the page has $want"
	mkdir -p reports/out
	shot=reports/out/html-screenshot.png
	rm -f "$shot"
	chrome --screenshot="$shot" --window-size=1400,1600 --hide-scrollbars "$page" >/dev/null 2>"$tmp/shot.err"; rc=$?
	size=$(wc -c <"$shot" 2>/dev/null || echo 0)
	dims=$("$PY" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]) if d[:8]==b"\x89PNG\r\n\x1a\n" else "not a PNG")' "$shot" 2>&1)
	[ $rc -eq 0 ] && [ "$size" -gt 30000 ] && [ "$dims" = "1400x1600" ] && ok "chromium: screenshot $shot ($dims, $size bytes)" ||
		bad "chromium screenshot (exit $rc, $size bytes, $dims)" "$(tail -3 "$tmp/shot.err")"
fi

echo "html: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
