#!/bin/sh
# lint_plants.sh - the determinism lint (tests/determinism_lint.sh) catches what it is for:
# each plant below goes into a copy of the broker core (or another simulated room) in a
# scratch directory, and the lint must fail naming the planted line; look-alikes that are
# no call (a comment, a string, a call through the injected interface) must pass. The tree
# itself is never touched.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); echo "PASS $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/    /'; done; }

for d in mqtt sim broker conformance exec; do cp -R "$top/$d" "$tmp/$d"; done
lint() { (cd "$tmp" && sh "$top/tests/determinism_lint.sh") 2>&1; }

out=$(lint); rc=$?
[ $rc -eq 0 ] && ok "the copy passes as it is" || bad "the unplanted copy fails the lint (exit $rc)" "$out"

# plant FILE WANT(1 fail, 0 pass) LABEL LINE: LINE appended to FILE, the lint run, FILE restored.
plant() {
	f=$1 want=$2 label=$3 line=$4
	cp "$tmp/$f" "$tmp/$f.orig"
	printf '%s\n' "$line" >>"$tmp/$f"
	n=$(wc -l <"$tmp/$f" | tr -d ' ')
	out=$(lint); rc=$?
	mv "$tmp/$f.orig" "$tmp/$f"
	if [ "$want" -eq 1 ]; then
		if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -q "$f:$n:"; then
			ok "$label in $f fails the lint, naming $f:$n"
		else
			bad "$label in $f: the lint did not fail naming $f:$n (exit $rc)" "$out"
		fi
	else
		[ $rc -eq 0 ] && ok "$label in $f passes" || bad "$label in $f: the lint failed (exit $rc)" "$out"
	fi
}

plant broker/core.c 1 "a socket() call" 'int broker__planted(void) { return socket(2, 1, 0); }'
plant broker/core.c 1 "an fopen() call" 'void *broker__planted(void) { return fopen("x", "r"); }'
plant broker/core.c 1 "a time() call" 'long broker__planted(void) { return (long)time(0); }'
plant broker/core.c 1 '#include "sim/sim.h"' '#include "sim/sim.h"'
plant broker/core.c 1 '#include "harness/run.h"' '#include "harness/run.h"'
plant broker/core.c 1 "#include <sys/socket.h>" '#include <sys/socket.h>'
plant broker/handle_publish.c 1 "a clock_gettime() call" 'void broker__planted(void *t) { clock_gettime(1, t); }'
plant sim/net.c 1 "a rand() call" 'int sim__planted(void) { return rand(); }'
plant mqtt/codec.c 1 "a printf() call" 'void mqtt__planted(void) { printf("x"); }'
plant conformance/verdict.c 1 "a gettimeofday() call" 'void verdict__planted(void *t) { gettimeofday(t, 0); }'
plant broker/core.c 0 "socket() in a comment" '/* never socket(2, 1, 0) here */'
plant broker/core.c 0 "fopen() in a string" 'const char *broker__planted = "fopen(x)";'
plant broker/core.c 0 "a call through the injected interface" 'void broker__planted(struct broker *b) { b->env.send(0, 0, 0); }'

# The symbol check over a library: a broker object that exports an unprefixed global fails,
# naming it; one whose globals are broker_ (API) and broker__ (shared inside) passes.
CC=${CC:-cc}
symlib() { # BROKER-CODE -> the lint's exit status over a library of core.o and codec.o
	rm -rf "$tmp/o" && mkdir "$tmp/o"
	printf '%s\n' "$1" >"$tmp/o/core.c"
	printf 'int mqtt_planted(void);\nint mqtt_planted(void) { return 0; }\n' >"$tmp/o/codec.c"
	(cd "$tmp/o" && $CC -c core.c codec.c && ar rc lib.a core.o codec.o) >/dev/null 2>&1 || return 99
	out=$(cd "$tmp" && sh "$top/tests/determinism_lint.sh" "$tmp/o/lib.a" 2>&1)
}
symlib 'int route(void); int route(void) { return 1; }'; rc=$?
[ $rc -ne 0 ] && [ $rc -ne 99 ] && printf '%s\n' "$out" | grep -q 'core.o: T route' &&
	ok "an unprefixed global (route) in a broker object fails the symbol check" ||
	bad "an unprefixed global in a broker object (exit $rc)" "$out"
symlib 'int broker_helper(void); int broker_helper(void) { return 1; }'; rc=$?
[ $rc -ne 0 ] && [ $rc -ne 99 ] && printf '%s\n' "$out" | grep -q 'core.o: T broker_helper' &&
	ok "a broker_ global that no API header declares (broker_helper) fails the symbol check" ||
	bad "a broker_ global outside the API (exit $rc)" "$out"
symlib 'int broker_new(void); int broker__shared(void); static int local(void) { return 0; }
int broker_new(void) { return local(); } int broker__shared(void) { return 2; }'; rc=$?
[ $rc -eq 0 ] && ok "an API global (broker_new), a broker__ global and statics pass the symbol check" ||
	bad "prefixed globals in a broker object (exit $rc)" "$out"

echo "lint_plants: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
