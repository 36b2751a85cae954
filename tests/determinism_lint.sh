#!/bin/sh
# determinism_lint.sh - the rooms of DESIGN.md keep to their walls ("Folders", "Seams"):
#
#   determinism  mqtt/ sim/ broker/ conformance/ (what runs inside the simulation) reach for
#                no wall clock, libc randomness, threads or sleeps: time comes from sim_now()
#                or the injected clock, randomness from sim_rng streams.
#   no I/O       mqtt/ sim/ broker/ call no socket, file, stream or directory function: the
#                shells and readers in harness/ do I/O and hand over bytes or text.
#   headers      exec/ includes of the project only exec/ (it is preloaded into a foreign broker);
#                mqtt/ sim/ broker/ include only libc headers that do no I/O (and
#                broker/sha256.c OpenSSL's crypto, evp and hmac), and of the project's
#                only what the arrows allow: harness -> {broker, sim} -> mqtt.
#
# Calls are looked for in code only (comments and string literals are blanked first); a
# call through a pointer (env->send(...), ops.read(...)) is the injected interface, not
# libc, and passes. Fails listing each offending line.
set -u

# FILE... -> "FILE:LINE:code" with comments and string/char literals blanked.
code_of() {
	awk '
	FNR == 1 { incom = 0 }
	{
		s = $0; n = length(s); out = ""; i = 1
		while (i <= n) {
			c = substr(s, i, 1); c2 = substr(s, i, 2)
			if (incom) {
				if (c2 == "*/") { incom = 0; i += 2; out = out " " } else i++
				continue
			}
			if (c2 == "/*") { incom = 1; i += 2; continue }
			if (c2 == "//") break
			if (c == "\"" || c == "\047") {
				q = c; out = out q; i++
				while (i <= n && substr(s, i, 1) != q) {
					if (substr(s, i, 1) == "\\") i++
					i++
				}
				out = out q; i++
				continue
			}
			out = out c; i++
		}
		print FILENAME ":" FNR ":" out
	}' "$@"
}

files_in() {
	for d in "$@"; do [ -d "$d" ] && find "$d" -name '*.[ch]'; done | sort
}

passed=0
failed=0
report() { # NAME WHAT HITS
	if [ -n "$3" ]; then
		echo "determinism lint: $1: $2:"
		echo "$3" | sed 's/^/    /'
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
}

# A call of NAME: not part of a longer identifier, not a member (-> or .) call.
calls() { # REGEX-ALTERNATION FILE...
	alt=$1
	shift
	code_of "$@" | grep -E "^[^:]+:[0-9]+:(.*[^A-Za-z0-9_>.])?($alt)[[:space:]]*\(" |
		grep -vE '^[^:]+:[0-9]+:[[:space:]]*#' | cut -d: -f1,2 |
		while IFS=: read -r f l; do printf '%s:%s:%s\n' "$f" "$l" "$(sed -n "${l}p" "$f")"; done
}

# ---- determinism -------------------------------------------------------------------------
clock_rand='rand|srand|random|srandom|drand48|time|gettimeofday|clock_gettime|clock|pthread_[a-z_]+|getpid|sleep|usleep|nanosleep'
report determinism "wall clock, randomness or threads in simulated code" \
	"$(calls "$clock_rand" $(files_in mqtt sim broker conformance))"

# ---- no I/O --------------------------------------------------------------------------------
sockets='socket|socketpair|bind|listen|accept|accept4|connect|send|sendto|sendmsg|recv|recvfrom|recvmsg|shutdown|getaddrinfo|poll|select|epoll_create|epoll_create1|epoll_ctl|epoll_wait'
fds='open|openat|creat|close|read|write|pread|pwrite|readv|writev|lseek|fsync|fdatasync|ftruncate|truncate|dup|dup2|pipe|ioctl|fcntl|mmap'
paths='rename|renameat|unlink|unlinkat|remove|mkdir|rmdir|stat|fstat|lstat|access|chdir|realpath|opendir|readdir|closedir'
streams='fopen|fdopen|freopen|fclose|fread|fwrite|fgets|fgetc|getc|getchar|fputs|fputc|putc|putchar|puts|printf|fprintf|vprintf|vfprintf|fscanf|scanf|fflush|fseek|ftell|rewind|fileno|tmpfile|perror|popen|system'
report "no I/O" "socket, file or stream calls in mqtt/, sim/ or broker/" \
	"$(calls "$sockets|$fds|$paths|$streams" $(files_in mqtt sim broker))"

# ---- headers -------------------------------------------------------------------------------
libc_ok='assert|ctype|errno|inttypes|limits|math|stdarg|stdbool|stddef|stdint|stdio|stdlib|string'
# One exception: broker/sha256.c wraps libcrypto's digest, MAC and key derivation (no
# cryptography is written here), and only it may include those three OpenSSL headers.
sys_bad=$(grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' $(files_in mqtt sim broker) |
	grep -vE "<($libc_ok)\.h>" |
	grep -vE '^broker/sha256\.c:[0-9]+:[[:space:]]*#[[:space:]]*include[[:space:]]*<openssl/(crypto|evp|hmac)\.h>')
report headers "system headers beyond the I/O-free libc in mqtt/, sim/ or broker/" "$sys_bad"
# Project headers: broker/ -> broker/, mqtt/; sim/ -> sim/, mqtt/; mqtt/ -> mqtt/ (its own
# files by bare name).
inc() { grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' $(files_in "$1"); }
arrows=$( (inc broker | grep -vE '#[[:space:]]*include[[:space:]]*"(broker|mqtt)/'
	inc sim | grep -vE '#[[:space:]]*include[[:space:]]*"(sim|mqtt)/'
	inc mqtt | grep -vE '#[[:space:]]*include[[:space:]]*"(mqtt/)?[a-z0-9_]+\.h"') 2>/dev/null)
report headers "includes against the arrows (broker/ includes no sim/ or harness/; sim/ no broker/)" "$arrows"
# exec/ is preloaded into a foreign broker: libc only, and of the project only exec/ itself.
exec_bad=$(inc exec | grep -vE '#[[:space:]]*include[[:space:]]*"exec/' 2>/dev/null)
report headers "exec/ includes a project header outside exec/ (it is libc only)" "$exec_bad"

# ---- symbols -------------------------------------------------------------------------------
# Every global the broker's objects define starts with broker_ (and the codec's with mqtt_): broker_ for the API in
# broker.h, auth.h and sha256.h, broker__ for what its files share (DESIGN.md, "Naming").
# Exceptions, by name, one a line (none today):
symbol_exceptions=''
lib=${1:-build/libmqttsim.a}
if [ -f "$lib" ]; then
	# The codec likewise: mqtt_ for its API, mqtt__ for what its files share.
	for mod in broker mqtt; do
	members=$(for f in $mod/*.c; do basename "$f" .c; done)
	syms=$(nm -A --defined-only "$lib" 2>/dev/null | awk -v members="$members" '
		BEGIN { n = split(members, m, "\n"); for (i = 1; i <= n; i++) want[m[i] ".o"] = 1 }
		{
			# archive:member.o:ADDR TYPE NAME (ADDR may be absent)
			split($1, p, ":"); obj = p[2]
			type = $(NF - 1); name = $NF
			if ((obj in want) && type ~ /^[A-Z]$/ && type != "U") print obj ": " type " " name
		}')
	nglobal=$(printf '%s\n' "$syms" | grep -c .)
	bad=$(printf '%s\n' "$syms" | grep . | awk -v pre="^${mod}_" '$3 !~ pre' |
		grep -vwF "${symbol_exceptions:-@none@}")
	if [ "$nglobal" -eq 0 ]; then
		report symbols "no $mod objects found in $lib" "$lib"
	else
		report symbols "globals of $mod/ objects in $lib without the ${mod}_ prefix" "$bad"
	fi
	done
	# broker_ (one underscore) is the API: such a global must be declared in one of the API
	# headers; what the broker's files only share among themselves takes broker__.
	api_h="broker/broker.h broker/auth.h broker/sha256.h"
	if [ -f broker/broker.h ]; then
		members=$(for f in broker/*.c; do basename "$f" .c; done)
		notapi=$(nm -A --defined-only "$lib" 2>/dev/null | awk -v members="$members" '
			BEGIN { n = split(members, m, "\n"); for (i = 1; i <= n; i++) want[m[i] ".o"] = 1 }
			{ split($1, p, ":"); if ((p[2] in want) && $(NF - 1) ~ /^[A-Z]$/ && $(NF - 1) != "U" &&
			  $NF ~ /^broker_[^_]/) print p[2] ": " $(NF - 1) " " $NF }' |
			while read -r obj type name; do
				grep -qw "$name" $api_h 2>/dev/null || echo "$obj $type $name"
			done)
		report symbols "broker_ globals that no API header ($api_h) declares: internal ones take broker__" "$notapi"
	fi
elif [ $# -gt 0 ]; then
	report symbols "no library" "$lib: not found; build it first (make)"
else
	echo "determinism lint: symbols: skipped ($lib not built; make lint builds it)"
fi

total=$((passed + failed))
echo "determinism lint: $passed passed, $failed failed (of $total checks)"
[ "$failed" -eq 0 ]
