# lib.sh - sourced by the shell tests (after they set M to the mqttsim binary).

# broker_start LOG [ARGS...]: start `mqttsim broker --listen 127.0.0.1:0 ARGS` in the
# background, its log in LOG; set bpid, and port to the port it took (empty when it did not
# start within 5 s).
broker_start() {
	_log=$1
	shift
	"$M" broker --listen 127.0.0.1:0 "$@" 2>"$_log" &
	bpid=$!
	port=""
	for _ in $(seq 1 50); do
		port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$_log")
		[ -n "$port" ] && break
		sleep 0.1
	done
}
