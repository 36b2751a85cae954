# lib.sh - sourced by the shell tests (after they set M to the mqttsim binary).

# broker_start LOG [ARGS...]: start `mqttsim broker --listen 127.0.0.1:0 ARGS` in the
# background, its log in LOG; set bpid, and port to the port it took (empty when it did not
# start within 5 s).
broker_start() {
	_log=$1
	shift
	"$M" broker --listen 127.0.0.1:0 "$@" 2>"$_log" &
	bpid=$!
	port=$(log_port "$_log" "listening on")
}

# log_port LOG PHRASE: the port of the broker's log line "PHRASE 127.0.0.1:PORT" (e.g.
# "listening for TLS on"), waited for up to 5 s; empty when it did not come.
log_port() {
	for _ in $(seq 1 50); do
		_p=$(sed -n "s/.*$2 127.0.0.1:\([0-9]*\).*/\1/p" "$1")
		[ -n "$_p" ] && break
		sleep 0.1
	done
	echo "$_p"
}

# Real peers and tools (mosquitto, tshark, node for aedes, Paho, xmllint, ...). CI installs
# them all (.ci/run), so there a missing one is a failure: a test that skips what it exists to
# check must not pass. Elsewhere it is a NOTE naming the package, and that part is skipped.
# The caller's `fail` counts the failure, so its last line and exit status show it.

# in_ci: true when the environment variable CI is set (not empty, 0 or false).
in_ci() {
	case "${CI:-}" in "" | 0 | false) return 1 ;; esac
}

# missing WHY PKG WHAT: WHAT was not checked because of WHY; PKG is the Debian package that
# cures it. A FAIL (counted) under CI, a NOTE otherwise. Returns 1.
missing() {
	if in_ci; then
		fail=$((${fail:-0} + 1))
		echo "FAIL $1 (apt-get install -y $2), which CI (CI=$CI) must have: $3"
	else
		echo "NOTE $1 (apt-get install -y $2): $3"
	fi
	return 1
}

# need_tool NAME PKG WHAT: 0, with tool set to the command's path, when NAME can be run: on
# PATH, or in /usr/sbin or /sbin, where Debian puts daemons such as mosquitto and a non-root
# PATH does not look. Otherwise `missing` (tool empty) and 1.
need_tool() {
	tool=$(command -v "$1" 2>/dev/null) || tool=""
	for _d in /usr/sbin /sbin; do
		[ -z "$tool" ] && [ -f "$_d/$1" ] && [ -x "$_d/$1" ] && tool=$_d/$1
	done
	[ -n "$tool" ] && return 0
	missing "$1 is not installed" "$2" "$3"
}

# need_py PYTHON MODULE PKG WHAT: 0 when PYTHON can import MODULE; otherwise `missing` and 1.
need_py() {
	"$1" -c "import $2" 2>/dev/null && return 0
	missing "$2 (for $1) is not installed" "$3" "$4"
}
