# bash completion for mqttsim; installed by `make install` into
# $(PREFIX)/share/bash-completion/completions/mqttsim.
_mqttsim()
{
	local cur prev cmd
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	cmd=${COMP_WORDS[1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "broker proxy conform run list timeline explore shrink replay decode passwd --help --version" -- "$cur"))
		return
	fi
	case $prev in
	--broker|--upstream) COMPREPLY=($(compgen -W "sim mqtt://127.0.0.1:1883 mqtts://localhost:8883 ws://127.0.0.1:8080/mqtt wss://localhost:8081/mqtt" -- "$cur")); return;;
	--report) COMPREPLY=($(compgen -W "junit json tap html pcap" -- "$cur")); return;;
	--html-diagrams) COMPREPLY=($(compgen -W "auto failed all none" -- "$cur")); return;;
	--tap-version) COMPREPLY=($(compgen -W "13 14" -- "$cur")); return;;
	--break-broker) COMPREPLY=($(compgen -W "retain-flag skip-will qos2-twice forget-session ignore-keepalive retained-stored-qos queued-retain dollar-wildcard plus-multi-level dup-copied released-resent unsubscribe-drops-inflight no-local-ignored retain-as-published-ignored retain-handling-ignored sub-id-dropped message-expiry-ignored shared-to-all session-expiry-ignored will-delay-ignored no-takeover-disconnect assigned-id-missing problem-info-ignored disconnect-keeps-will response-info-unasked auth-method-ignored will-not-cancelled second-connect-answered ws-text-accepted ws-frame-is-packet ws-no-subprotocol" -- "$cur")); return;;
	--broker-variant) COMPREPLY=($(compgen -W "one-in-flight random-packet-ids no-sys dollar-refused qos0-not-queued overlap-copies server-keepalive low-receive-max" -- "$cur")); return;;
	--expect-failures|--catalog|--out|--pcap|--json|--cafile|--cert|--key|--tls-cert|--tls-key|--tls-cafile) COMPREPLY=($(compgen -f -- "$cur")); return;;
	--scenarios|--report-dir|--capath) COMPREPLY=($(compgen -d -- "$cur")); return;;
	esac
	local opts
	case $cmd in
	conform) opts="--broker --version --only -j --expect-failures --seed -v --broker-variant --catalog --scenarios --report --report-dir --html-diagrams --tap-version --username --password --password-file --client-id-prefix --topic-prefix --tls --cafile --capath --cert --key --alpn --insecure";;
	run) opts="--broker --seed --out --pcap -j -v --swarm --broker-variant --report --report-dir --html-diagrams --tap-version --username --password --password-file --client-id-prefix --topic-prefix --tls --cafile --capath --cert --key --alpn --insecure";;
	proxy) opts="--listen --upstream --faults --seed --log --schedule-out --duration --help";;
	broker) opts="--listen --listen-tls --listen-ws --listen-wss --tls-cert --tls-key --tls-cafile --store --passwords --acl --check-payload-format --broker-variant --config --help";;
	explore) opts="--seeds --broker --swarm --time-budget --shard -j --check-determinism --report --report-dir --json --merge";;
	shrink) opts="--seed --swarm --broker --out";;
	replay) opts="--scenario --broker";;
	*) opts="--help";;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -F _mqttsim mqttsim
