/*
 * tls.c - OpenSSL configured for the harness's clients and the reference broker (tls.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "harness/tls.h"

#include "harness/run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static SSL_CTX *client_ctx;
static int names_idx = -1;

/* The most recent OpenSSL error of this thread as text ("...: certificate verify failed"),
 * or fallback when the queue is empty; the queue is cleared. */
static void last_error(char *out, size_t cap, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	if (!e) {
		snprintf(out, cap, "%s", fallback);
		return;
	}
	char buf[256];
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	snprintf(out, cap, "%s", buf);
}

/* OpenSSL refused a key because it is not the certificate's. */
static bool key_mismatch(void)
{
	unsigned long e = ERR_peek_last_error();
	return ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
}

static void names_add(char *names, const char *kind, const char *v)
{
	size_t n = strlen(names);
	if (n + 1 < TLS_NAMES_CAP)
		snprintf(names + n, TLS_NAMES_CAP - n, "%s%s:%s", n ? ", " : "", kind, v);
}

/* What a certificate names: its subjectAltName DNS and IP entries, else its common name. */
static void describe(X509 *x, char *names)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			char v[128];
			int l = ASN1_STRING_length(g->d.dNSName);
			snprintf(v, sizeof v, "%.*s", l < 127 ? l : 127, (const char *)ASN1_STRING_get0_data(g->d.dNSName));
			names_add(names, "DNS", v);
		} else if (g->type == GEN_IPADD) {
			char v[INET6_ADDRSTRLEN] = "?";
			int l = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
			if (l == 4 || l == 16)
				inet_ntop(l == 4 ? AF_INET : AF_INET6, d, v, sizeof v);
			names_add(names, "IP", v);
		}
	}
	GENERAL_NAMES_free(gens);
	if (!*names) {
		char cn[128];
		if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) > 0)
			names_add(names, "CN", cn);
		else
			names_add(names, "no", "names");
	}
}

/* Verification goes on as OpenSSL decides; this only notes what the broker's own
 * certificate (depth 0) names, for the message when the name does not match. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	if (X509_STORE_CTX_get_error_depth(x) != 0)
		return ok;
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	char *names = ssl ? SSL_get_ex_data(ssl, names_idx) : NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(x);
	if (names && !*names && cert)
		describe(cert, names);
	return ok;
}

/* "mqtt,foo" in ALPN's wire format: a length byte before each protocol. */
static int alpn_wire(const char *list, unsigned char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");
		if (l == 0 || l > 255 || n + 1 + l > cap)
			return -1;
		out[n++] = (unsigned char)l;
		memcpy(out + n, p, l);
		n += l;
		p += l;
		if (*p == ',')
			p++;
	}
	return (int)n;
}

SSL_CTX *tls_client_ctx(const run_opts *o, char *why, size_t cap)
{
	if (client_ctx)
		return client_ctx;
	if (names_idx < 0)
		names_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	/* OpenSSL writes with write(), which has no MSG_NOSIGNAL: a broker that hangs up must
	 * be an error to report, not a signal that ends the command. */
	signal(SIGPIPE, SIG_IGN);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char e[256];
	if (!ctx) {
		last_error(e, sizeof e, "out of memory");
		snprintf(why, cap, "cannot set up TLS: %s", e);
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (o->insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
		if (o->tls_cafile || o->tls_capath) {
			if (SSL_CTX_load_verify_locations(ctx, o->tls_cafile, o->tls_capath) != 1) {
				last_error(e, sizeof e, "no certificates in it");
				snprintf(why, cap, "%s %s: cannot load the CA certificates: %s",
					 o->tls_cafile ? "--cafile" : "--capath", o->tls_cafile ? o->tls_cafile : o->tls_capath, e);
				goto fail;
			}
		} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			last_error(e, sizeof e, "none found");
			snprintf(why, cap, "cannot load the system's CA certificates (%s): give --cafile", e);
			goto fail;
		}
	}
	if (o->tls_cert) {
		const char *key = o->tls_key ? o->tls_key : o->tls_cert;
		if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1) {
			last_error(e, sizeof e, "not a PEM certificate");
			snprintf(why, cap, "--cert %s: %s", o->tls_cert, e);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
			bool other = key_mismatch();
			last_error(e, sizeof e, "not a PEM private key");
			snprintf(why, cap, other ? "--key %s does not belong to the certificate in --cert %s: %s" : "--key %s: %s%s",
				 key, other ? o->tls_cert : e, other ? e : "");
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			last_error(e, sizeof e, "they differ");
			snprintf(why, cap, "--key %s does not belong to the certificate in --cert %s: %s", key, o->tls_cert, e);
			goto fail;
		}
	}
	if (o->tls_alpn) {
		unsigned char w[512];
		int n = alpn_wire(o->tls_alpn, w, sizeof w);
		if (n <= 0 || SSL_CTX_set_alpn_protos(ctx, w, (unsigned)n) != 0) {
			snprintf(why, cap, "--alpn takes protocol names separated by commas (each 1 to 255 bytes), not '%s'",
				 o->tls_alpn);
			goto fail;
		}
	}
	client_ctx = ctx;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL *tls_client_new(SSL_CTX *ctx, int fd, const char *host, char *names)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	*names = 0;
	SSL_set_ex_data(ssl, names_idx, names);
	SSL_set_fd(ssl, fd);
	SSL_set_connect_state(ssl);
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	if (!is_ip)
		SSL_set_tlsext_host_name(ssl, host); /* SNI carries names only (RFC 6066 §3) */
	if (SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (is_ip)
			X509_VERIFY_PARAM_set1_ip_asc(vp, host);
		else
			X509_VERIFY_PARAM_set1_host(vp, host, 0);
	}
	return ssl;
}

static void fail_why(SSL *ssl, int ret, const char *host, const char *names, char *why, size_t cap)
{
	long v = SSL_get_verify_result(ssl);
	if (host && SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE && v != X509_V_OK) {
		ERR_clear_error();
		if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
			snprintf(why, cap, "certificate name mismatch: the broker's certificate (%s) does not match %s",
				 names && *names ? names : "no names", host);
		else
			snprintf(why, cap, "certificate not trusted (%s)%s", X509_verify_cert_error_string(v),
				 v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY || v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
						 v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
					 ? ": give the CA that signed it with --cafile or --capath"
					 : "");
		return;
	}
	char e[300];
	tls_error(ssl, ret, e, sizeof e);
	snprintf(why, cap, "TLS handshake refused: %s%s", e,
		 host && !strcmp(e, "the connection was closed") ? " (is it a TLS port?)" : "");
}

void tls_error(SSL *ssl, int ret, char *why, size_t cap)
{
	int se = SSL_get_error(ssl, ret);
	if (se == SSL_ERROR_SYSCALL && !ERR_peek_last_error()) {
		if (errno && ret < 0)
			snprintf(why, cap, "%s", strerror(errno));
		else
			snprintf(why, cap, "the connection was closed");
		return;
	}
	if (se == SSL_ERROR_ZERO_RETURN) {
		snprintf(why, cap, "the peer closed the session");
		return;
	}
	last_error(why, cap, "a TLS error");
}

int tls_step(SSL *ssl, const char *host, const char *names, short *events, char *why, size_t cap)
{
	ERR_clear_error();
	errno = 0;
	int r = SSL_do_handshake(ssl);
	if (r == 1)
		return 1;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*events = POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		return 0;
	default:
		fail_why(ssl, r, host, names, why, cap);
		return -1;
	}
}

static long io_result(SSL *ssl, int r)
{
	if (r > 0)
		return r;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (!ERR_peek_last_error()) {
			if (r == 0 || !errno)
				return 0; /* EOF without close_notify: the peer is gone all the same */
			return -1;
		}
		/* fall through */
	default:
		errno = EPROTO;
		return -1;
	}
}

long tls_read(SSL *ssl, void *buf, size_t len)
{
	ERR_clear_error();
	errno = 0;
	return io_result(ssl, SSL_read(ssl, buf, len > 0x7fffffff ? 0x7fffffff : (int)len));
}

long tls_write(SSL *ssl, const void *buf, size_t len)
{
	ERR_clear_error();
	errno = 0;
	return io_result(ssl, SSL_write(ssl, buf, len > 0x7fffffff ? 0x7fffffff : (int)len));
}

SSL_CTX *tls_server_ctx(const char *cert, const char *key, const char *cafile, char *why, size_t cap)
{
	char e[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		last_error(e, sizeof e, "out of memory");
		snprintf(why, cap, "cannot set up TLS: %s", e);
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		last_error(e, sizeof e, "not a PEM certificate");
		snprintf(why, cap, "--tls-cert %s: %s", cert, e);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		bool other = key_mismatch();
		last_error(e, sizeof e, "not a PEM private key");
		snprintf(why, cap, other ? "--tls-key %s does not belong to the certificate in --tls-cert %s: %s" : "--tls-key %s: %s%s",
			 key, other ? cert : e, other ? e : "");
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		last_error(e, sizeof e, "they differ");
		snprintf(why, cap, "--tls-key %s does not belong to the certificate in --tls-cert %s: %s", key, cert, e);
		goto fail;
	}
	static const unsigned char sid[] = "mqttsim-broker";
	SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
	if (cafile) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cafile);
		if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1 || !names) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			last_error(e, sizeof e, "no certificates in it");
			snprintf(why, cap, "--tls-cafile %s: cannot load the CA certificates: %s", cafile, e);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
