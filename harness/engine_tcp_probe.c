/*
 * engine_tcp_probe.c - is anybody there? Before any scenario runs over TCP, TLS or WebSocket,
 * one connection says whether the broker answers at all, and why not: cannot resolve, refused,
 * no answer in time, TLS refused or not trusted, a WebSocket handshake refused, a CONNECT
 * refused (and with which code), no MQTT 5.0. Out of engine_tcp.c, which runs the scenarios.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/engine.h"
#include "harness/engine_tcp_internal.h"
#include "mqtt/alloc.h"
#include "harness/tls.h"
#include "harness/ws.h"

#include <openssl/rand.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct engine_tcp_probed engine_tcp__probed;


/* Wait for a non-blocking connect to finish, then shake hands. 0, or -1 (no connection, or no
 * answer in time: why says) or -3 (the handshake failed: why says why). */
static int probe_tls(int fd, SSL *ssl, const char *host, unsigned port, const char *names, int64_t until,
		     int64_t bound_us, char *why, size_t cap)
{
	short ev = POLLOUT;
	bool connected = false;
	for (;;) {
		int64_t left = until - run_mono_us();
		if (left <= 0) {
			snprintf(why, cap, "%s:%u did not answer within %llds: %s", host, port, (long long)(bound_us / 1000000),
				 connected ? "the TLS handshake did not finish" : "the connection did not open");
			return -1;
		}
		struct pollfd pf = { fd, ev, 0 };
		if (poll(&pf, 1, (int)(left / 1000) + 1) <= 0)
			continue;
		if (!connected) {
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			if (soerr) {
				snprintf(why, cap, "cannot connect to %s:%u: %s", host, port, strerror(soerr));
				return -1;
			}
			connected = true;
		}
		char w[500];
		int st = tls_step(ssl, host, names, &ev, w, sizeof w);
		if (st == 1)
			return 0;
		if (st < 0) {
			snprintf(why, cap, "%s", w);
			return -3;
		}
	}
}

/* Connect to the first of ai's addresses that takes the connection, within until. The socket
 * (non-blocking), or -1 with why. */
static int probe_connect(struct addrinfo *ai, const char *host, unsigned port, int64_t until, int64_t bound_us,
			 char *why, size_t cap)
{
	int err = ECONNREFUSED;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			err = errno;
			close(fd);
			continue;
		}
		for (;;) {
			int64_t left = until - run_mono_us();
			if (left <= 0) {
				snprintf(why, cap, "%s:%u did not answer within %llds: the connection did not open", host, port,
					 (long long)(bound_us / 1000000));
				close(fd);
				return -1;
			}
			struct pollfd pf = { fd, POLLOUT, 0 };
			if (poll(&pf, 1, (int)(left / 1000) + 1) > 0)
				break;
		}
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr) {
			err = soerr;
			close(fd);
			continue;
		}
		engine_tcp__probed.set = strlen(host) < sizeof engine_tcp__probed.host && a->ai_addrlen <= sizeof engine_tcp__probed.addr;
		if (engine_tcp__probed.set) {
			snprintf(engine_tcp__probed.host, sizeof engine_tcp__probed.host, "%s", host);
			engine_tcp__probed.port = port;
			memcpy(&engine_tcp__probed.addr, a->ai_addr, a->ai_addrlen);
			engine_tcp__probed.len = (socklen_t)a->ai_addrlen;
		}
		return fd;
	}
	snprintf(why, cap, "cannot connect to %s:%u: %s", host, port, strerror(err));
	return -1;
}

/* The probe's WebSocket: the unframed bytes land in in[] (cap bytes, *got so far). */
typedef struct probe_ws {
	ws_dec dec;
	uint8_t *in;
	size_t *got, cap;
	bool closed;
} probe_ws;

static void probe_ws_data(void *ctx, const uint8_t *p, size_t n)
{
	probe_ws *w = ctx;
	size_t room = w->cap - *w->got, take = n < room ? n : room;
	memcpy(w->in + *w->got, p, take);
	*w->got += take;
}

static void probe_ws_control(void *ctx, int op, const uint8_t *p, size_t n)
{
	(void)p;
	(void)n;
	if (op == WS_CLOSE)
		((probe_ws *)ctx)->closed = true;
}

/* Unframe n bytes read into the probe's buffer. >0 bytes added, 0 the broker closed (a close
 * frame), -1 with errno EAGAIN (a frame not complete yet) or EPROTO (bad framing: why). */
static long probe_ws_feed(probe_ws *w, uint8_t *buf, size_t n, char *why, size_t cap)
{
	size_t before = *w->got;
	ws_sink sk = { probe_ws_data, probe_ws_control, NULL, w };
	int st = ws_feed(&w->dec, buf, n, &sk);
	if (st < 0) {
		snprintf(why, cap, "the broker broke the WebSocket framing: %s", w->dec.why);
		errno = EPROTO;
		return -1;
	}
	if (*w->got > before)
		return (long)(*w->got - before);
	if (st == 1 || w->closed)
		return 0;
	errno = EAGAIN;
	return -1;
}

/* The opening handshake on a connected socket (and TLS session), within until. 0, or -1 (no
 * answer in time) or -3 (refused or wrong: why says how). Bytes after the answer are frames:
 * they are unframed into w. */
static int probe_ws_handshake(int fd, SSL *ssl, const char *host, unsigned port, const char *path, probe_ws *w,
			      int64_t until, int64_t bound_us, char *why, size_t cap)
{
	uint8_t nonce[16];
	char key[25];
	if (RAND_bytes(nonce, sizeof nonce) != 1)
		abort();
	ws_key(nonce, key);
	char req[1024];
	size_t rl = ws_client_request(req, sizeof req, host, port, path, key), off = 0;
	uint8_t ans[WS_HTTP_MAX];
	size_t al = 0;
	if (!rl) {
		snprintf(why, cap, "the WebSocket request for %s does not fit", path);
		return -3;
	}
	for (;;) {
		int64_t left = until - run_mono_us();
		if (left <= 0) {
			snprintf(why, cap, "%s:%u did not answer within %llds: %s", host, port, (long long)(bound_us / 1000000),
				 off < rl ? "the WebSocket request could not be sent" : "no answer to the WebSocket handshake");
			return -1;
		}
		struct pollfd pf = { fd, (short)(off < rl ? POLLOUT : POLLIN), 0 };
		if (!(ssl && off == rl && SSL_has_pending(ssl)) && poll(&pf, 1, (int)(left / 1000) + 1) <= 0)
			continue;
		long n;
		if (off < rl) {
			n = ssl ? tls_write(ssl, req + off, rl - off) : send(fd, req + off, rl - off, MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				if (ssl) {
					snprintf(why, cap, "TLS handshake refused: the broker reset the connection right after the "
							   "handshake (%s): did it refuse our certificate? (--cert and --key give one)",
						 strerror(errno));
					return -3;
				}
				snprintf(why, cap, "cannot send the WebSocket handshake to %s:%u: %s", host, port, strerror(errno));
				return -1;
			}
			continue;
		}
		n = ssl ? tls_read(ssl, ans + al, sizeof ans - al) : recv(fd, ans + al, sizeof ans - al, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0 && ssl && errno == EPROTO) {
			/* Over TLS 1.3 a broker judges our certificate after the handshake: its alert. */
			char e[300];
			tls_error(ssl, -1, e, sizeof e);
			snprintf(why, cap, "TLS handshake refused: %s%s", e,
				 strstr(e, "certificate required") ? " (the broker wants a client certificate: give --cert and --key)" : "");
			return -3;
		}
		if (n <= 0) {
			snprintf(why, cap, "%s:%u closed the connection during the WebSocket handshake%s%s", host, port,
				 n < 0 ? ": " : " (is it a WebSocket listener?)", n < 0 ? strerror(errno) : "");
			return -3;
		}
		al += (size_t)n;
		int status;
		char w2[400];
		long end = ws_client_response(ans, al, key, &status, w2, sizeof w2);
		if (end < 0) {
			snprintf(why, cap, "WebSocket handshake refused: %s", w2);
			return -3;
		}
		if (end > 0) {
			if ((size_t)end < al && probe_ws_feed(w, ans + end, al - (size_t)end, why, cap) < 0 && errno == EPROTO)
				return -3;
			return 0;
		}
	}
}

int run_probe_broker(const char *host, unsigned port, bool tls, const run_opts *o, uint8_t version, int64_t bound_us,
		     char *why, size_t cap)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char ps[16];
	snprintf(ps, sizeof ps, "%u", port);
	int g = getaddrinfo(host, ps, &hints, &ai);
	if (g || !ai) {
		snprintf(why, cap, "cannot resolve %s: %s", host, gai_strerror(g));
		return -1;
	}
	SSL_CTX *ctx = NULL;
	if (tls && !(ctx = tls_client_ctx(o, why, cap))) {
		freeaddrinfo(ai);
		return -1;
	}
	int64_t until = run_mono_us() + bound_us;
	int fd = probe_connect(ai, host, port, until, bound_us, why, cap);
	freeaddrinfo(ai);
	if (fd < 0)
		return -1;
	int rc;
	SSL *ssl = NULL;
	char names[TLS_NAMES_CAP];
	if (ctx) {
		ssl = tls_client_new(ctx, fd, host, names);
		if (!ssl) {
			snprintf(why, cap, "cannot set up TLS: out of memory");
			rc = -1;
			goto done;
		}
		rc = probe_tls(fd, ssl, host, port, names, until, bound_us, why, cap);
		if (rc < 0)
			goto done;
	}
	uint8_t in[1024]; /* a CONNACK, read whole up to here (5.0 ones carry properties) */
	size_t got = 0, want = 2;
	char ws_path[RUN_WS_PATH_MAX];
	bool ws = o && run_target_ws(o->broker, ws_path, sizeof ws_path);
	probe_ws pw = { .in = in, .got = &got, .cap = sizeof in };
	if (ssl && SSL_version(ssl) == TLS1_3_VERSION) {
		/* TLS 1.3 ends the client's handshake before the broker has judged its certificate;
		 * the verdict (session tickets, or an alert) follows at once. Read it before the
		 * CONNECT: a CONNECT reaching a broker that has closed resets the connection, and
		 * the reset destroys the alert before we read it. */
		int64_t end = run_mono_us() + 250000 < until ? run_mono_us() + 250000 : until;
		for (int64_t left; (left = end - run_mono_us()) > 0;) {
			struct pollfd pf = { fd, POLLIN, 0 };
			if (poll(&pf, 1, (int)(left / 1000) + 1) <= 0)
				continue;
			long n = tls_read(ssl, in, sizeof in);
			if (n > 0)
				got += (size_t)n; /* nothing comes before a CONNACK, but keep it all the same */
			if (n < 0 && errno == EPROTO) {
				char e[300];
				tls_error(ssl, -1, e, sizeof e);
				snprintf(why, cap, "TLS handshake refused: %s%s", e,
					 strstr(e, "certificate required") ? " (the broker wants a client certificate: give --cert and --key)" : "");
				rc = -3;
				goto done;
			}
			break; /* tickets read, or the broker closed: the CONNECT will tell */
		}
	}
	if (ws) {
		rc = probe_ws_handshake(fd, ssl, host, port, ws_path, &pw, until, bound_us, why, cap);
		if (rc < 0)
			goto done;
	}
	/* CONNECT, clean session, a client id of its own, keepalive 0: then wait for CONNACK. */
	char cid[300];
	snprintf(cid, sizeof cid, "%smqttsim-probe-%x", o && o->id_prefix ? o->id_prefix : "", (unsigned)getpid());
	mqtt_packet cp = { .type = MQTT_CONNECT, .version = version == MQTT_V5 ? MQTT_V5 : MQTT_V311 };
	cp.connect.client_id = (mqtt_str){ (const uint8_t *)cid, (uint32_t)strlen(cid) };
	cp.connect.clean_start = true;
	if (o && o->username) {
		cp.connect.has_username = true;
		cp.connect.username = (mqtt_str){ (const uint8_t *)o->username, (uint32_t)strlen(o->username) };
	}
	if (o && o->password) {
		cp.connect.has_password = true;
		cp.connect.password = (mqtt_str){ (const uint8_t *)o->password, (uint32_t)strlen(o->password) };
	}
	uint8_t pkt[1024];
	int el = mqtt_encode(&cp, pkt, sizeof pkt, NULL);
	if (el <= 0) {
		snprintf(why, cap, "the probe's CONNECT does not fit (a client id prefix or credentials too long)");
		rc = -1;
		goto done;
	}
	size_t plen = (size_t)el, sent = 0;
	uint8_t framed[sizeof pkt + WS_HDR_MAX];
	if (ws) {
		uint8_t mask[4];
		if (RAND_bytes(mask, sizeof mask) != 1)
			abort();
		plen = ws_frame(framed, WS_BINARY, true, pkt, plen, mask);
		memcpy(pkt, framed, plen <= sizeof pkt ? plen : 0);
		if (plen > sizeof pkt) {
			snprintf(why, cap, "the probe's CONNECT does not fit (a client id prefix or credentials too long)");
			rc = -1;
			goto done;
		}
	}
	const char *stage = ssl ? "no CONNACK to a CONNECT" : "the connection did not open";
	rc = -1;
	while (got < want) {
		int64_t left = until - run_mono_us();
		if (left <= 0) {
			snprintf(why, cap, "%s:%u did not answer within %llds: %s", host, port,
				 (long long)(bound_us / 1000000), stage);
			goto done;
		}
		/* TLS may hold a decrypted record poll cannot see: try reading before waiting. */
		struct pollfd pf = { fd, (short)(sent < plen ? POLLOUT : POLLIN), 0 };
		if (!(ssl && sent == plen && SSL_has_pending(ssl)) && poll(&pf, 1, (int)(left / 1000) + 1) <= 0)
			continue;
		ssize_t n;
		if (sent < plen) {
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			if (soerr) {
				if (ssl) {
					snprintf(why, cap, "TLS handshake refused: the broker reset the connection right after the "
							   "handshake (%s): did it refuse our certificate? (--cert and --key give one)",
						 strerror(soerr));
					rc = -3;
				} else {
					snprintf(why, cap, "cannot connect to %s:%u: %s", host, port, strerror(soerr));
				}
				goto done;
			}
			n = ssl ? tls_write(ssl, pkt + sent, plen - sent) : send(fd, pkt + sent, plen - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			stage = "no CONNACK to a CONNECT";
		} else {
			if (ws) {
				uint8_t raw[2048];
				n = ssl ? tls_read(ssl, raw, sizeof raw) : recv(fd, raw, sizeof raw, 0);
				if (n > 0) {
					n = probe_ws_feed(&pw, raw, (size_t)n, why, cap);
					if (n > 0)
						got -= (size_t)n; /* counted again below */
					if (n < 0 && errno == EPROTO)
						goto done;
				}
				if (n < 0 && errno == EAGAIN)
					continue;
			} else {
				n = ssl ? tls_read(ssl, in + got, sizeof in - got) : recv(fd, in + got, sizeof in - got, 0);
			}
			if (n < 0 && ssl && errno == EPROTO) {
				/* Over TLS 1.3 a broker judges our certificate after the handshake. */
				char e[300];
				tls_error(ssl, -1, e, sizeof e);
				snprintf(why, cap, "TLS handshake refused: %s%s", e,
					 strstr(e, "certificate required") ? " (the broker wants a client certificate: give --cert and --key)" : "");
				rc = -3;
				goto done;
			}
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				snprintf(why, cap, "%s:%u closed the connection after a%s CONNECT, before any CONNACK%s%s", host,
					 port, version == MQTT_V5 ? " 5.0" : "", n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
				rc = -5;
				goto done;
			}
			if (n > 0)
				got += (size_t)n;
			/* The whole packet once its Remaining Length is in (not a CONNACK: say so now). */
			uint32_t total = 0;
			int fr = got >= 2 && in[0] == 0x20 ? mqtt_frame(in, got, &total) : -1;
			if (got >= 2 && fr < 0)
				break;
			want = fr > 0 ? (total < sizeof in ? total : sizeof in) : got + 1;
			if (want < 4)
				want = 4; /* a CONNACK has at least its flags and its code */
		}
	}
	/* hl: the fixed header's length; code: the CONNACK's return or reason code. */
	uint32_t total = 0;
	size_t hl = 2;
	while (hl < got && hl < 5 && (in[hl - 1] & 0x80))
		hl++;
	bool connack = got >= 4 && in[0] == 0x20 && mqtt_frame(in, got, &total) > 0 && hl + 2 <= got;
	uint32_t rl = connack ? total - (uint32_t)hl : 0;
	uint8_t code = connack ? in[hl + 1] : 0;
	if (version == MQTT_V5 && connack && (rl == 2 || code == 0x84)) {
		/* A 3.1.1 broker answers a 5.0 CONNECT with its own CONNACK 1 (MQTT-3.1.2-2 of 3.1.1); a
		 * 5.0 one that will not speak 5.0 with reason 0x84. */
		if (rl == 2 && code == 1)
			snprintf(why, cap, "CONNACK 0x01, unacceptable protocol version: the answer of a 3.1.1 broker");
		else if (rl == 2)
			snprintf(why, cap, "a 3.1.1 CONNACK, return code %u, to a 5.0 CONNECT", code);
		else
			snprintf(why, cap, "CONNACK 0x84, unsupported protocol version");
		rc = -4;
		goto done;
	}
	if (version == MQTT_V5 && connack && rl >= 3) {
		if (code != 0) {
			const char *hint = code == 0x86 || code == 0x87 || code == 0x8C
						   ? "; give --username and --password (or --password-file, or MQTTSIM_PASSWORD)"
					   : code == 0x85 ? "; if it only takes some client ids, give --client-id-prefix"
							   : "";
			snprintf(why, cap, "the broker refused our CONNECT: %s (CONNACK 0x%02X)%s", mqtt_reason_name(code),
				 code, hint);
			rc = -2;
			goto done;
		}
	} else if (in[0] != 0x20 || in[1] != 2) {
		snprintf(why, cap, "%s:%u answered a%s CONNECT with bytes %02x %02x, not a%s CONNACK: is it an MQTT broker?",
			 host, port, version == MQTT_V5 ? " 5.0" : "", in[0], in[1], version == MQTT_V5 ? " 5.0" : "");
		goto done;
	} else if (in[3] != 0) {
		/* A refusal: every scenario would fail on it, so nothing is run (exit 2). */
		static const char *const rc_name[] = { "", "unacceptable protocol version", "identifier rejected",
						       "server unavailable", "bad user name or password", "not authorized" };
		const char *hint = in[3] == 4 || in[3] == 5 ? "; give --username and --password (or --password-file, or MQTTSIM_PASSWORD)"
				   : in[3] == 2 ? "; if it only takes some client ids, give --client-id-prefix"
						: "";
		snprintf(why, cap, "the broker refused our CONNECT: %s (CONNACK %u)%s",
			 in[3] < 6 ? rc_name[in[3]] : "a return code 3.1.1 does not define", in[3], hint);
		rc = -2;
		goto done;
	}
	static const uint8_t disc0[2] = { 0xE0, 0 };
	uint8_t disc[WS_HDR_MAX + 2], mask[4] = { 0 };
	size_t dl = sizeof disc0;
	memcpy(disc, disc0, dl);
	if (ws) {
		if (RAND_bytes(mask, sizeof mask) != 1)
			abort();
		dl = ws_frame(disc, WS_BINARY, true, disc0, sizeof disc0, mask);
	}
	if (ssl)
		(void)tls_write(ssl, disc, dl);
	else
		(void)!send(fd, disc, dl, MSG_NOSIGNAL);
	rc = 0;
done:
	if (ssl) {
		if (rc == 0)
			SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
	return rc;
}
