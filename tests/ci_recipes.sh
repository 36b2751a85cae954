#!/bin/sh
# ci_recipes.sh - the CI recipes in README ("In CI") are valid YAML of the expected shape, and
# the mqttsim commands in them work: each is run here against a mosquitto on loopback (its
# host and port put in), and must pass and write the JUnit file the recipe publishes.
set -u
M=${MQTTSIM:-build/mqttsim}
. tests/lib.sh
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
mpid=""
trap '[ -n "$mpid" ] && kill $mpid 2>/dev/null; rm -rf "$tmp"' EXIT
finish() { echo "ci_recipes: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

for r in github gitlab; do
	sed -n "/<!-- ci-recipe: $r -->/,/^\`\`\`\$/p" README.md | sed '1,2d;$d' >"$tmp/$r.yml"
	[ -s "$tmp/$r.yml" ] && ok "README holds the $r recipe" || bad "no $r recipe in README"
done
need_py python3 yaml python3-yaml "the CI recipes were not parsed" || finish
out=$(python3 - "$tmp/github.yml" "$tmp/gitlab.yml" <<'PY' 2>&1
import sys, yaml
gh = yaml.safe_load(open(sys.argv[1]))
job = gh["jobs"]["conform"]
assert "broker" in job["services"], "no broker service"
runs = [s["run"] for s in job["steps"] if "run" in s]
assert any("mqttsim conform" in r for r in runs), "no mqttsim conform step"
assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in job["steps"]), "the JUnit file is not published"
gl = yaml.safe_load(open(sys.argv[2]))["conform"]
assert gl["services"], "no broker service"
assert any("mqttsim conform" in l for l in gl["script"]), "no mqttsim conform line"
assert gl["artifacts"]["reports"]["junit"] == "reports/conform.junit.xml", "JUnit report path"
for f, cmds in (("github", runs), ("gitlab", gl["script"])):
    for c in cmds:
        if c.startswith("mqttsim "):
            print(f + "\t" + c)
PY
); rc=$?
[ $rc -eq 0 ] && ok "both recipes parse as YAML, with a broker service, a conform step and the JUnit file published" || { bad "recipe YAML" "$out"; finish; }
echo "$out" | grep "	" >"$tmp/cmds"

need_tool mosquitto mosquitto "the recipes' commands were not run" || finish
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tool" -p "$port" >"$tmp/mosq.log" 2>&1 &
mpid=$!
sleep 0.5
while IFS="	" read -r r cmd; do
	c=$(echo "$cmd" | sed -e "s|^mqttsim |$M |" -e "s|tcp://[a-z0-9.]*:1883|tcp://127.0.0.1:$port|" \
		-e "s|--report-dir reports|--report-dir $tmp/$r-reports|")
	out=$(sh -c "$c" 2>&1); rc=$?
	[ $rc -eq 0 ] && [ -s "$tmp/$r-reports/conform.junit.xml" ] && ok "$r: '$cmd' passes against mosquitto and writes the JUnit file" ||
		bad "$r: '$cmd' (exit $rc)" "$(echo "$out" | tail -3)"
done <"$tmp/cmds"
finish
