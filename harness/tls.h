/*
 * tls.h - TLS for the sockets of the harness, through OpenSSL: the client side of the tcp
 * engine and of the probe (mqtts:// targets), and the reference broker's TLS listener.
 * No crypto of our own: this only configures OpenSSL and puts its errors into words.
 *
 * Every socket is non-blocking: a handshake is stepped (tls_step) whenever poll/epoll says
 * the socket is ready for what OpenSSL last wanted.
 */
#ifndef HARNESS_TLS_H
#define HARNESS_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

struct run_opts;

/* What the broker's certificate names (subjectAltName DNS and IP entries, else its CN), for
 * a name mismatch message; filled by the verification of a client session. */
#define TLS_NAMES_CAP 200

/* The client context for o's TLS options (--cafile, --capath, --cert, --key, --alpn,
 * --insecure), made on the first call and kept for the life of the process (worker
 * processes inherit it). NULL with the reason in why (a file that cannot be loaded, a key
 * that does not match its certificate). */
SSL_CTX *tls_client_ctx(const struct run_opts *o, char *why, size_t cap);

/* A client session on fd (connected or connecting) to host: SNI is host when it is a name
 * (not an IP address), and, unless --insecure, the certificate must match host. names
 * (TLS_NAMES_CAP bytes, owned by the caller, alive as long as the session) receives what the
 * certificate names. NULL when OpenSSL is out of memory. Free with SSL_free. */
SSL *tls_client_new(SSL_CTX *ctx, int fd, const char *host, char *names);

/* One step of the handshake. 1 done; 0 not yet (*events gets POLLIN or POLLOUT: what to wait
 * for); -1 failed, with why filled: "certificate not trusted (...)", "certificate name
 * mismatch: ... does not match HOST", or "TLS handshake refused: ..." (host and names as
 * given to tls_client_new; NULL on the server side). */
int tls_step(SSL *ssl, const char *host, const char *names, short *events, char *why, size_t cap);

/* The reason a session failed after the handshake (a read or write error): the alert the
 * peer sent (say, the certificate it required), or the system error. */
void tls_error(SSL *ssl, int ret, char *why, size_t cap);

/* Read or write like recv/send on a non-blocking socket: >0 bytes, 0 the peer closed
 * (close_notify or EOF), -1 with errno EAGAIN (try again when the socket is ready) or another
 * errno for a failure (EPROTO for a TLS error; tls_error says which). */
long tls_read(SSL *ssl, void *buf, size_t len);
long tls_write(SSL *ssl, const void *buf, size_t len);

/* The broker's context: its certificate chain and key; with cafile, clients must present a
 * certificate that cafile's CAs signed. NULL with the reason in why. */
SSL_CTX *tls_server_ctx(const char *cert, const char *key, const char *cafile, char *why, size_t cap);

#endif
