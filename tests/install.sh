#!/bin/sh
# install.sh - `make install` gives a mqttsim that works from any directory: it carries its
# suite (harness/suite.h), so from an empty directory `conform` gives the verdicts it gives in the tree, in
# simulation and against mosquitto with its list of expected failures; `list`, `run` of an
# example and `explore` find the built-in scenarios; the man page and bash completion land.
set -u
M=${MQTTSIM:-build/mqttsim}
. tests/lib.sh
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }
tmp=$(mktemp -d)
mpid=""
trap '[ -n "$mpid" ] && kill $mpid 2>/dev/null; rm -rf "$tmp"' EXIT
finish() { echo "install: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

# PREFIX under the temporary directory, then DESTDIR before it, as a packager does.
P="$tmp/prefix"
R="$tmp/root$P"
out=$(make -s install DESTDIR="$tmp/root" PREFIX="$P" 2>&1); rc=$?
I="$R/bin/mqttsim"
# Away from any tree: an empty directory of its own.
away="$tmp/away"
mkdir -p "$away"
[ $rc -eq 0 ] && [ -x "$I" ] && ok "make install DESTDIR PREFIX puts the binary in PREFIX/bin" || { bad "make install (exit $rc)" "$out"; finish; }
[ -f "$R/share/man/man1/mqttsim.1" ] && ok "the man page lands in PREFIX/share/man/man1" || bad "no man page"
c="$R/share/bash-completion/completions/mqttsim"
[ -f "$c" ] && bash -c ". '$c' && complete -p mqttsim" >/dev/null 2>&1 && ok "bash completion installs and loads" || bad "bash completion"

verdicts() { grep -E '^(FAIL|XFAIL|XPASS|OPTIONAL|UNREACHED|statements:) ' | sed 's/  seed=.*//' | sort; }
"$M" conform -j 2 2>&1 | verdicts >"$tmp/tree"
(cd "$away" && "$I" conform -j 2 2>&1) | verdicts >"$tmp/inst"
[ -s "$tmp/tree" ] && cmp -s "$tmp/tree" "$tmp/inst" && ok "conform from an empty directory (sim): the verdicts of the tree ($(grep statements: "$tmp/inst"))" ||
	bad "conform from an empty directory differs from the tree" "$(diff "$tmp/tree" "$tmp/inst" | head)"
n=$(cd "$away" && "$I" list | wc -l)
[ "$n" -eq "$("$M" list | wc -l)" ] && [ "$n" -gt 100 ] && ok "list from an empty directory shows the $n built-in scenarios" || bad "list from an empty directory shows $n scenarios"
out=$(cd "$away" && "$I" run scenarios/examples/qos1-publish.yaml 2>&1); rc=$?
[ $rc -eq 0 ] && ok "run scenarios/examples/qos1-publish.yaml from an empty directory (built in)" || bad "run an example from an empty directory (exit $rc)" "$out"
out=$(cd "$away" && "$I" explore scenarios/explore/planted-qos0-partition.yaml --seeds 20 2>&1); rc=$?
[ $rc -eq 0 ] && ok "explore a built-in scenario from an empty directory" || bad "explore from an empty directory (exit $rc)" "$out"
out=$(cd "$away" && "$I" run scenarios/no-such.yaml 2>&1); rc=$?
[ $rc -eq 2 ] && case "$out" in *"scenarios/no-such.yaml"*) true;; *) false;; esac && ok "a path in neither place: exit 2, named" || bad "missing path (exit $rc)" "$out"
# A file on disk wins over the built-in one of the same path.
mkdir -p "$tmp/here/scenarios/examples"
sed 's/^name: .*/name: my-own/' scenarios/examples/qos1-publish.yaml >"$tmp/here/scenarios/examples/qos1-publish.yaml"
out=$(cd "$tmp/here" && "$I" run scenarios/examples/qos1-publish.yaml 2>&1)
case "$out" in *"PASS  my-own "*) ok "a named file on disk is read from disk";; *) bad "disk file not preferred" "$out";; esac

if need_tool mosquitto mosquitto "the installed conform was not run against mosquitto"; then
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$tool" -p "$port" >"$tmp/mosq.log" 2>&1 &
	mpid=$!
	sleep 0.5
	x=conformance/expected-failures/mosquitto.txt
	"$M" conform --broker "tcp://127.0.0.1:$port" -j 4 --expect-failures $x 2>&1 | verdicts >"$tmp/mtree"
	(cd "$away" && "$I" conform --broker "tcp://127.0.0.1:$port" -j 4 --expect-failures $x 2>&1) | verdicts >"$tmp/minst"
	[ -s "$tmp/mtree" ] && cmp -s "$tmp/mtree" "$tmp/minst" && ok "conform from an empty directory against mosquitto, its built-in list: the verdicts of the tree" ||
		bad "conform from an empty directory against mosquitto differs" "$(diff "$tmp/mtree" "$tmp/minst" | head)"
	# Target exec finds its library in PREFIX/lib/mqttsim.
	[ -f "$R/lib/mqttsim/libmqttsim_exec.so" ] && out=$(cd "$away" && "$I" run scenarios/conformance/4.3-qos0-delivery.yaml \
		--broker "exec:$tool -c {config}" 2>&1) && ok "the installed mqttsim runs exec:mosquitto with its installed library" ||
		bad "exec:mosquitto from the installed tree" "$out"
fi
finish
