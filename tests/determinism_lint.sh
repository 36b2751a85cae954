#!/bin/sh
# determinism_lint.sh - the modules that run inside the simulation must not reach for the
# wall clock, libc randomness or threads (DESIGN.md, "Seams"). Time comes from sim_now(),
# randomness from sim_rng streams. Fails listing each offending line.
set -u
dirs="mqtt sim broker conformance"
# The broker's socket shell (real time, real sockets) lives in harness/, outside these.
exclude="harness/broker_shell_tcp.c"
pattern='\b(rand|srand|random|srandom|drand48|time|gettimeofday|clock_gettime|clock|pthread_[a-z_]+|getpid|sleep|usleep|nanosleep)[[:space:]]*\('
bad=$(grep -HnE "$pattern" $(for d in $dirs; do [ -d "$d" ] && find "$d" -name '*.[ch]'; done) 2>/dev/null |
	grep -vE '^\S+:[0-9]+:\s*(\*|/\*|//)' | grep -vF "$exclude:")
if [ -n "$bad" ]; then
	echo "determinism lint: forbidden calls in simulated code:"
	echo "$bad" | sed 's/^/    /'
	echo "determinism lint: 0 passed, 1 failed"
	exit 1
fi
echo "determinism lint: 1 passed, 0 failed"
