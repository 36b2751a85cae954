/*
 * test_auth.c - SHA-256, HMAC and PBKDF2 against published vectors; the password and ACL
 * files (loading, exact FILE:LINE messages, decisions); and authentication and
 * authorisation end to end through the broker's simulation shell.
 */
#include "tests.h"

#include "broker/auth.h"
#include "broker/sha256.h"
#include "harness/broker_auth_file.h"
#include "harness/broker_shell_sim.h"
#include "tclient.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------------------------- */

static void hex_of(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = 0;
}

/* Files live in one directory per test case, made before its tests and removed after them
 * in the runner's process, so nothing is left in /tmp even when a test fails. */
static char tmpdir[64];

static void tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/mqttsim-auth-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		abort();
	}
}

static void tmp_teardown(void)
{
	DIR *d = opendir(tmpdir);
	if (d) {
		struct dirent *e;
		char p[512];
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

/* Write a file under tmpdir; returns its path in a static buffer of four in turn. */
static const char *put(const char *name, const char *text, size_t len)
{
	static char paths[4][512];
	static int k;
	char *p = paths[k++ % 4];
	snprintf(p, 512, "%s/%s", tmpdir, name);
	FILE *f = fopen(p, "wb");
	ck_assert_msg(f != NULL, "cannot write %s", p);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	fclose(f);
	return p;
}

static const char *puts_file(const char *name, const char *text)
{
	return put(name, text, strlen(text));
}

static const uint8_t salt16[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* A password file line made by the module itself (checked against Python below). */
static void line_for(char *out, size_t cap, const char *user, const char *pw, uint32_t iterations)
{
	char err[200];
	int n = broker_auth_format(out, cap, user, (const uint8_t *)pw, strlen(pw), salt16,
				   sizeof salt16, iterations, err, sizeof err);
	ck_assert_msg(n > 0, "format %s: %s", user, err);
}

static int try_connect(const broker_auth *a, const char *user, const char *pw)
{
	return a->connect(a->ctx, "c", user, (const uint8_t *)pw, pw ? strlen(pw) : 0);
}

/* ---- SHA-256, HMAC, PBKDF2 ---------------------------------------------------------------- */

START_TEST(test_sha256_vectors)
{
	/* FIPS 180-4 examples (NIST CSRC "Examples with intermediate values") and the empty
	 * message; each checked with Python's hashlib. */
	static const struct {
		const char *msg, *hex;
	} rows[] = {
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
		  "klmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	uint8_t d[SHA256_LEN];
	char hex[65];
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		broker_sha256(rows[i].msg, strlen(rows[i].msg), d);
		hex_of(d, sizeof d, hex);
		ck_assert_msg(!strcmp(hex, rows[i].hex), "sha256(\"%s\") = %s, want %s", rows[i].msg, hex,
			      rows[i].hex);
	}
	/* One million 'a' (FIPS 180-2 appendix B.3). */
	char *a = malloc(1000000);
	ck_assert_ptr_nonnull(a);
	memset(a, 'a', 1000000);
	broker_sha256(a, 1000000, d);
	free(a);
	hex_of(d, sizeof d, hex);
	ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(test_hmac_vectors)
{
	/* RFC 4231 §4.2-4.8, test cases 1 to 7 (case 5 is truncated to 128 bits). Cases 6
	 * and 7 use a 131-byte key of 0xaa (key NULL here) and text messages. */
	static const struct {
		const char *key, *data, *text, *mac;
	} rows[] = {
		{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265", NULL,
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		{ "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f", NULL,
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		  "dddddddddddddddddd", NULL,
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
		{ "0102030405060708090a0b0c0d0e0f10111213141516171819",
		  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
		  "cdcdcdcdcdcdcdcdcd", NULL,
		  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
		{ "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "546573742057697468205472756e636174696f6e",
		  NULL, "a3b6167473100ee06e0c796c2955552b" },
		{ NULL, NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
		{ NULL, NULL,
		  "This is a test using a larger than block-size key and a larger than block-size "
		  "data. The key needs to be hashed before being used by the HMAC algorithm.",
		  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		uint8_t key[200], data[300], mac[SHA256_LEN];
		char hex[65];
		size_t kn, dn;
		if (rows[i].key) {
			kn = unhex(rows[i].key, key, sizeof key);
		} else {
			memset(key, 0xaa, 131);
			kn = 131;
		}
		if (rows[i].data) {
			dn = unhex(rows[i].data, data, sizeof data);
		} else {
			dn = strlen(rows[i].text);
			memcpy(data, rows[i].text, dn);
		}
		broker_sha256_hmac(key, kn, data, dn, mac);
		hex_of(mac, sizeof mac, hex);
		hex[strlen(rows[i].mac)] = 0; /* case 5 compares the first 128 bits only */
		ck_assert_msg(!strcmp(hex, rows[i].mac), "RFC 4231 case %zu: %s, want %s", i + 1, hex,
			      rows[i].mac);
	}
}
END_TEST

START_TEST(test_pbkdf2_vectors)
{
	/* RFC 7914 §11, then the PBKDF2-HMAC-SHA256 vectors of draft-josefsson-pbkdf2-test-
	 * vectors (RFC 6070's inputs); every expected value checked with Python's
	 * hashlib.pbkdf2_hmac. */
	static const struct {
		const char *pw;
		size_t pw_len;
		const char *salt;
		size_t salt_len;
		uint32_t c;
		const char *dk;
	} rows[] = {
		{ "passwd", 6, "salt", 4, 1,
		  "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
		  "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783" },
		{ "Password", 8, "NaCl", 4, 80000,
		  "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
		  "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d" },
		{ "password", 8, "salt", 4, 1, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b" },
		{ "password", 8, "salt", 4, 2, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43" },
		{ "password", 8, "salt", 4, 4096, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a" },
		{ "passwordPASSWORDpassword", 24, "saltSALTsaltSALTsaltSALTsaltSALTsalt", 36, 4096,
		  "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9" },
		{ "pass\0word", 9, "sa\0lt", 5, 4096, "89b69d0516f829893c696226650a8687" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		uint8_t dk[64];
		char hex[129];
		size_t n = strlen(rows[i].dk) / 2;
		ck_assert_int_eq(broker_sha256_pbkdf2(rows[i].pw, rows[i].pw_len, rows[i].salt, rows[i].salt_len,
						      rows[i].c, dk, n),
				 0);
		hex_of(dk, n, hex);
		ck_assert_msg(!strcmp(hex, rows[i].dk), "PBKDF2 row %zu: %s, want %s", i, hex, rows[i].dk);
	}
	uint8_t dk[4];
	ck_assert_int_eq(broker_sha256_pbkdf2("p", 1, "s", 1, 0, dk, sizeof dk), -1);
	ck_assert_int_eq(broker_sha256_pbkdf2("p", 1, "s", 1, 1, dk, 0), -1);
}
END_TEST

START_TEST(test_equal)
{
	uint8_t a[32], b[32];
	memset(a, 7, sizeof a);
	memcpy(b, a, sizeof b);
	ck_assert(broker_sha256_equal(a, b, sizeof a));
	b[0] ^= 1;
	ck_assert(!broker_sha256_equal(a, b, sizeof a));
	b[0] ^= 1;
	b[31] ^= 0x80;
	ck_assert(!broker_sha256_equal(a, b, sizeof a));
	ck_assert(broker_sha256_equal(a, b, 31));
}
END_TEST

/* ---- password file --------------------------------------------------------------------- */

/* "alice" with password "s3cret", salt 00..0f, 10000 iterations, by Python:
 *   sp = hashlib.pbkdf2_hmac('sha256', b's3cret', bytes(range(16)), 10000, 32)
 *   StoredKey = sha256(hmac(sp, b'Client Key')), ServerKey = hmac(sp, b'Server Key')
 * ALICE_V1 is the first format's line for the same password: sp itself. */
#define ALICE_LINE                                                                                \
	"alice:$mqs2$10000$000102030405060708090a0b0c0d0e0f$"                                     \
	"cdfe0b6fb1a004178f59e4b58b4f40c9c411c7ec420a2e5a03d1bfb98aa877a1$"                       \
	"7ccd762f5e4d9d487a88dade469e6c634dcf6cfe3ea745a6f9bccdf495a79d17"
#define ALICE_V1                                                                                  \
	"alice:$mqs1$10000$000102030405060708090a0b0c0d0e0f$"                                     \
	"712eeb933e00ddb01d8998ddcb671ce687e4d8e59badb4a461aa73677bfebc61"

START_TEST(test_format_and_connect)
{
	char line[BROKER_AUTH_LINE_CAP(5)];
	line_for(line, sizeof line, "alice", "s3cret", BROKER_AUTH_ITERATIONS);
	ck_assert_str_eq(line, ALICE_LINE);

	char err[256] = "";
	const char *text = ALICE_LINE "\n";
	broker_file_auth *fa = broker_auth_parse("pw", text, strlen(text), NULL, NULL, 0, err, sizeof err);
	ck_assert_msg(fa != NULL, "%s", err);
	const broker_auth *a = broker_auth_get(fa);
	ck_assert_int_eq(try_connect(a, "alice", "s3cret"), 0);
	ck_assert_int_eq(try_connect(a, "alice", "s3cret!"), 4);
	ck_assert_int_eq(try_connect(a, "alice", "s3cre"), 4);
	ck_assert_int_eq(try_connect(a, "alice", "S3cret"), 4);
	ck_assert_int_eq(try_connect(a, "alice", ""), 4);
	ck_assert_int_eq(try_connect(a, "alice", NULL), 4);   /* user name without password */
	ck_assert_int_eq(try_connect(a, "bob", "s3cret"), 4); /* unknown user */
	ck_assert_int_eq(try_connect(a, "Alice", "s3cret"), 4);
	ck_assert_int_eq(try_connect(a, NULL, NULL), 0);      /* anonymous: the broker's call */
	/* Passwords are bytes: an embedded NUL is part of them. (A trailing NUL is not told
	 * apart: HMAC pads short keys with zeros, so PBKDF2 itself equates "pw" and "pw\0".) */
	ck_assert_int_eq(a->connect(a->ctx, "c", "alice", (const uint8_t *)"s3\0cret", 7), 4);
	ck_assert_int_eq(a->connect(a->ctx, "c", "alice", (const uint8_t *)"s3cret\0", 7), 0);
	/* No ACL file: everything allowed. */
	ck_assert(a->allow(a->ctx, "c", "alice", "any/topic", true));
	ck_assert(a->allow(a->ctx, "c", NULL, "#", false));
	broker_auth_free(fa);

	/* A StoredKey that differs from the right one in its last bit only: the whole key
	 * is compared. */
	char last[] = ALICE_LINE "\n";
	last[strlen(last) - 2 - 65] ^= 1; /* ...a1$ -> ...a0$ */
	fa = broker_auth_parse("pw", last, strlen(last), NULL, NULL, 0, err, sizeof err);
	ck_assert_msg(fa != NULL, "%s", err);
	a = broker_auth_get(fa);
	ck_assert_int_eq(try_connect(a, "alice", "s3cret"), 4);
	broker_auth_free(fa);

	/* No files at all: every CONNECT is accepted. */
	fa = broker_auth_parse(NULL, NULL, 0, NULL, NULL, 0, err, sizeof err);
	ck_assert_ptr_nonnull(fa);
	ck_assert_int_eq(try_connect(broker_auth_get(fa), "who", "ever"), 0);
	broker_auth_free(fa);

	/* An empty password file: nobody with a user name gets in. */
	fa = broker_auth_parse("pw", "", 0, NULL, NULL, 0, err, sizeof err);
	ck_assert_ptr_nonnull(fa);
	ck_assert_int_eq(try_connect(broker_auth_get(fa), "alice", "s3cret"), 4);
	ck_assert_int_eq(try_connect(broker_auth_get(fa), NULL, NULL), 0);
	broker_auth_free(fa);
}
END_TEST

START_TEST(test_format_rejects)
{
	static const struct {
		const char *user;
		size_t salt_len;
		uint32_t iterations;
		size_t cap;
		const char *msg;
	} rows[] = {
		{ "", 16, 10, 300, "the user name is empty" },
		{ "a:b", 16, 10, 300, "the user name contains ':', which separates it from the hash" },
		{ "#x", 16, 10, 300, "the user name starts with '#', which would make its line a comment" },
		{ " x", 16, 10, 300, "the user name starts or ends with a blank, which the file ignores" },
		{ "x ", 16, 10, 300, "the user name starts or ends with a blank, which the file ignores" },
		{ "x\t", 16, 10, 300, "the user name contains a control character (byte 2)" },
		{ "a\nb", 16, 10, 300, "the user name contains a control character (byte 2)" },
		{ "ok", 0, 10, 300, "the salt is 0 bytes; it must be 1 to 64" },
		{ "ok", 65, 10, 300, "the salt is 65 bytes; it must be 1 to 64" },
		{ "ok", 16, 0, 300, "0 iterations; it must be 1 to 1000000" },
		{ "ok", 16, 1000001, 300, "1000001 iterations; it must be 1 to 1000000" },
		{ "ok", 16, 10, 100, "a buffer of 100 bytes is too small; 290 needed" },
	};
	uint8_t salt[65] = { 0 };
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char out[300], err[200] = "";
		int n = broker_auth_format(out, rows[i].cap, rows[i].user, (const uint8_t *)"pw", 2, salt,
					   rows[i].salt_len, rows[i].iterations, err, sizeof err);
		ck_assert_msg(n == -1, "row %zu accepted", i);
		ck_assert_str_eq(err, rows[i].msg);
	}
	/* The smallest buffer that is enough is enough. */
	char out[BROKER_AUTH_LINE_CAP(2)], err[100];
	ck_assert_int_gt(broker_auth_format(out, sizeof out, "ok", (const uint8_t *)"pw", 2, salt,
					    BROKER_AUTH_MAX_SALT, BROKER_AUTH_MAX_ITERATIONS / 1000,
					    err, sizeof err),
			 0);
	ck_assert_uint_lt(strlen(out), sizeof out);
}
END_TEST

START_TEST(test_passwd_file_good)
{
	char bob[300], carol[300];
	line_for(bob, sizeof bob, "bob smith", "hunter2", 1);
	line_for(carol, sizeof carol, "carol", "pässwörd", 3);
	/* Upper-case hex is read too. */
	for (char *p = strrchr(carol, '$'); *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	char text[2048];
	snprintf(text, sizeof text,
		 "# users of the greenhouse broker\n"
		 "\n"
		 "   %s   \r\n"       /* blanks around, CRLF */
		 "\t# an indented comment\n"
		 "%s\n"
		 "%s",                /* no newline at the end */
		 ALICE_LINE, bob, carol);
	const char *path = puts_file("passwd", text);
	char err[256] = "";
	broker_file_auth *fa = broker_auth_load(path, NULL, err, sizeof err);
	ck_assert_msg(fa != NULL, "%s", err);
	const broker_auth *a = broker_auth_get(fa);
	ck_assert_int_eq(try_connect(a, "alice", "s3cret"), 0);
	ck_assert_int_eq(try_connect(a, "bob smith", "hunter2"), 0);
	ck_assert_int_eq(try_connect(a, "bob smith", "hunter3"), 4);
	ck_assert_int_eq(try_connect(a, "bob", "hunter2"), 4);
	ck_assert_int_eq(try_connect(a, "carol", "pässwörd"), 0);
	ck_assert_int_eq(try_connect(a, "carol", "passwort"), 4);
	broker_auth_free(fa);
}
END_TEST

START_TEST(test_passwd_file_bad)
{
	static const char *key = "712eeb933e00ddb01d8998ddcb671ce687e4d8e59badb4a461aa73677bfebc61";
	static const struct {
		const char *text;
		const char *msg; /* after "PATH" */
	} rows[] = {
		{ "alice\n", ":1: expected USER:$mqs2$ITERATIONS$SALT$STOREDKEY$SERVERKEY, found no ':' in "
			     "'alice' (lines like this are written by 'mqttsim passwd')" },
		{ "# users\n\n:$mqs2$1$00$H\n", ":3: the user name before ':' is empty" },
		{ "bob:plain\n", ":1: user 'bob': the password is not a $mqs2$ entry ('plain'); "
				 "set it with 'mqttsim passwd'" },
		{ "bob:$2y$10$abcdefghijkl\n", ":1: user 'bob': the password is not a $mqs2$ entry "
					       "('$2y$10$abcde'); set it with 'mqttsim passwd'" },
		{ "bob:$mqs2$10000$00\n",
		  ":1: user 'bob': expected $mqs2$ITERATIONS$SALT$STOREDKEY$SERVERKEY, found 2 fields after $mqs2$" },
		{ "bob:$mqs2$10000\n",
		  ":1: user 'bob': expected $mqs2$ITERATIONS$SALT$STOREDKEY$SERVERKEY, found 1 field after $mqs2$" },
		{ "bob:$mqs2$1$00$K\n",
		  ":1: user 'bob': expected $mqs2$ITERATIONS$SALT$STOREDKEY$SERVERKEY, found 3 fields after $mqs2$" },
		{ "bob:$mqs2$1$00$H$x\n",
		  ":1: user 'bob': expected $mqs2$ITERATIONS$SALT$STOREDKEY$SERVERKEY, found 5 fields after $mqs2$" },
		{ "bob:$mqs1$1$00$K$x\n",
		  ":1: user 'bob': this line is in the old $mqs1$ format" }, /* refused before its fields */
		{ "bob:$mqs2$0$00$H\n", ":1: user 'bob': iteration count '0' is not a number from 1 to 1000000" },
		{ "bob:$mqs2$1000001$00$H\n",
		  ":1: user 'bob': iteration count '1000001' is not a number from 1 to 1000000" },
		{ "bob:$mqs2$99999999999999999999$00$H\n",
		  ":1: user 'bob': iteration count '99999999999999999999' is not a number from 1 to 1000000" },
		{ "bob:$mqs2$-5$00$H\n", ":1: user 'bob': iteration count '-5' is not a number from 1 to 1000000" },
		{ "bob:$mqs2$$00$H\n", ":1: user 'bob': iteration count '' is not a number from 1 to 1000000" },
		{ "bob:$mqs2$10$abc$H\n",
		  ":1: user 'bob': the salt has 3 hex digits; it needs an even number from 2 to 128" },
		{ "bob:$mqs2$10$$H\n",
		  ":1: user 'bob': the salt has 0 hex digits; it needs an even number from 2 to 128" },
		{ "bob:$mqs2$10$zz$H\n", ":1: user 'bob': the salt 'zz' is not hex" },
		{ "bob:$mqs2$10$00$abc$K\n", ":1: user 'bob': the StoredKey has 3 hex digits; it needs 64" },
		{ "bob:$mqs2$10$00$K$abc\n", ":1: user 'bob': the ServerKey has 3 hex digits; it needs 64" },
		{ "bob:$mqs2$10$00$712eeb933e00ddb01d8998ddcb671ce687e4d8e59badb4a461aa73677bfebcXY$K\n",
		  ":1: user 'bob': the StoredKey '712eeb933e00ddb01d8998ddcb671ce687e4d8e5...' is not hex" },
		{ "bob:$mqs2$10$00$K$712eeb933e00ddb01d8998ddcb671ce687e4d8e59badb4a461aa73677bfebcX\n",
		  ":1: user 'bob': the ServerKey has 63 hex digits; it needs 64" },
		{ "a\x01" "b:x\n", ":1: user 'a?b': the password is not a $mqs2$ entry ('x'); "
				 "set it with 'mqttsim passwd'" },
	};
	char err[512], want[512];
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		/* "$K" stands for a good key, "$H" for both, so a row tests one field at a time. */
		char text[512];
		size_t n = 0;
		for (const char *c = rows[i].text; *c; c++) {
			if (c[0] == '$' && (c[1] == 'K' || c[1] == 'H') && (c[2] == '\n' || c[2] == '$')) {
				n += (size_t)snprintf(text + n, sizeof text - n, c[1] == 'K' ? "$%s" : "$%s$%s",
						      key, key);
				c++;
				continue;
			}
			text[n++] = *c;
		}
		text[n] = 0;
		const char *path = puts_file("bad", text);
		err[0] = 0;
		broker_file_auth *fa = broker_auth_load(path, NULL, err, sizeof err);
		ck_assert_msg(fa == NULL, "row %zu loaded: %s", i, text);
		snprintf(want, sizeof want, "%s%s", path, rows[i].msg);
		ck_assert_msg(!strncmp(err, want, strlen(want)) &&
				      (strstr(rows[i].text, "$mqs1$") || !strcmp(err, want)),
			      "row %zu:\n  got  %s\n  want %s", i, err, want);
	}

	/* The same user twice: the second line is the one reported. */
	char text[1024];
	char bob[300];
	line_for(bob, sizeof bob, "bob", "x", 1);
	snprintf(text, sizeof text, "%s\n%s\n# again:\n%s\n%s\n", ALICE_LINE, bob, ALICE_LINE, bob);
	const char *path = puts_file("dup", text);
	ck_assert_ptr_null(broker_auth_load(path, NULL, err, sizeof err));
	snprintf(want, sizeof want, "%s:4: user 'alice' appears again (first on line 1)", path);
	ck_assert_str_eq(err, want);

	/* A file of the first format (SaltedPassword on file): refused, naming the file, the
	 * line and what to run, even though its lines could be read. */
	snprintf(text, sizeof text, "# old\n%s\n", ALICE_V1);
	path = puts_file("v1", text);
	ck_assert_ptr_null(broker_auth_load(path, NULL, err, sizeof err));
	snprintf(want, sizeof want,
		 "%s:2: user 'alice': this line is in the old $mqs1$ format, which keeps the SaltedPassword, "
		 "enough to log in as the user by SCRAM; run 'mqttsim passwd %s USER' (for any user: it "
		 "rewrites every $mqs1$ line as $mqs2$, passwords unchanged)", path, path);
	ck_assert_str_eq(err, want);
	/* broker_auth_upgrade() makes of it the line `mqttsim passwd` writes for that password. */
	char *up = NULL;
	size_t up_len = 0;
	int nup = 0;
	ck_assert_int_eq(broker_auth_upgrade(path, text, strlen(text), &up, &up_len, &nup, err, sizeof err), 0);
	ck_assert_int_eq(nup, 1);
	ck_assert_str_eq(up, "# old\n" ALICE_LINE "\n");
	free(up);

	/* A NUL byte: binary files are refused, on the line it is on. */
	path = put("nul", "# ok\nalice\0:x\n", 14);
	ck_assert_ptr_null(broker_auth_load(path, NULL, err, sizeof err));
	snprintf(want, sizeof want, "%s:2: contains a NUL byte; is this a text file?", path);
	ck_assert_str_eq(err, want);

	/* Files that cannot be read. */
	snprintf(want, sizeof want, "%s/missing", tmpdir);
	ck_assert_ptr_null(broker_auth_load(want, NULL, err, sizeof err));
	strcat(want, ": cannot open: No such file or directory");
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(broker_auth_load(tmpdir, NULL, err, sizeof err));
	snprintf(want, sizeof want, "%s: cannot read: Is a directory", tmpdir);
	ck_assert_str_eq(err, want);
	/* A good password file and a missing ACL: the ACL's name is in the message. */
	path = puts_file("good", ALICE_LINE "\n");
	snprintf(want, sizeof want, "%s/no-acl", tmpdir);
	ck_assert_ptr_null(broker_auth_load(path, want, err, sizeof err));
	ck_assert_msg(strstr(err, "/no-acl: cannot open: No such file or directory") != NULL, "%s", err);
	/* A tiny error buffer is cut, not overrun; a NULL one is allowed. */
	char small[8];
	ck_assert_ptr_null(broker_auth_parse("p", "x\n", 2, NULL, NULL, 0, small, sizeof small));
	ck_assert_str_eq(small, "p:1: ex");
	ck_assert_ptr_null(broker_auth_parse("p", "x\n", 2, NULL, NULL, 0, NULL, 0));
}
END_TEST

/* Random lines built from the format's own pieces: loading must either succeed or say
 * FILE:LINE, and never crash or leak (ASan and valgrind runs check the latter). */
START_TEST(test_garbage_never_crashes)
{
	static const char *pieces[] = { "alice", ":", "$", "mqs1", "$mqs1$", "$mqs2$", "10", "0", "00", "ff",
					"zz", "#", " ", "\t", "\r", "\n", "\n", "\n", ":$mqs1$1$00$",
					"712eeb933e00ddb01d8998ddcb671ce687e4d8e59badb4a461aa73677bfebc61",
					"topic", "read", "write", "pattern", "user", "client", "a/#",
					"+", "%u", "%c", "/", "#/a", "readwrite", "\xff", "\x01" };
	uint32_t x = 12345;
	int ok = 0, bad = 0;
	for (int round = 0; round < 2000; round++) {
		char text[512];
		size_t n = 0;
		int count = 1 + (int)((x = x * 1103515245u + 12345u) >> 16) % 12;
		for (int k = 0; k < count; k++) {
			x = x * 1103515245u + 12345u;
			const char *p = pieces[(x >> 16) % (sizeof pieces / sizeof pieces[0])];
			size_t l = strlen(p);
			memcpy(text + n, p, l);
			n += l;
		}
		char err[256] = "";
		bool acl = round % 2;
		broker_file_auth *fa = acl ? broker_auth_parse(NULL, NULL, 0, "F", text, n, err, sizeof err)
					   : broker_auth_parse("F", text, n, NULL, NULL, 0, err, sizeof err);
		if (fa) {
			ok++;
			const broker_auth *a = broker_auth_get(fa);
			a->allow(a->ctx, "%c", "%u", "a/b", true);
			a->allow(a->ctx, "c", NULL, "a/#", false);
			a->connect(a->ctx, "c", "alice", (const uint8_t *)"x", 1);
			broker_auth_free(fa);
		} else {
			bad++;
			ck_assert_msg(!strncmp(err, "F:", 2) && err[2] >= '1' && err[2] <= '9',
				      "no FILE:LINE in '%s' for '%.*s'", err, (int)n, text);
		}
	}
	/* Both outcomes happened, so both paths were exercised. */
	ck_assert_int_gt(ok, 100);
	ck_assert_int_gt(bad, 100);
}
END_TEST

/* ---- ACL ------------------------------------------------------------------------------- */

static const char acl_text[] =
	"# Everyone, anonymous clients too.\n"
	"topic read public/#\n"
	"topic write public/in/+\n"
	"pattern readwrite devices/%u/#\n"
	"pattern read clients/%c/inbox\n"
	"\n"
	"user alice\n"
	"topic readwrite alice/#\n"
	"topic read sensors/+/temp\n"
	"pattern write logs/%c\n"
	"\n"
	"user bob\n"
	"  topic write   sensors/bob/+  \n"
	"topic shared/bob\n"
	"\n"
	"client admin-console\n"
	"topic read #\n"
	"topic read $SYS/#\n";

START_TEST(test_acl_table)
{
	static const struct {
		const char *client, *user, *topic;
		bool publish, want;
	} rows[] = {
		/* before any section: everyone */
		{ "c1", NULL, "public/in/x", true, true },
		{ "c1", NULL, "public/in/x/y", true, false },   /* '+' is one level */
		{ "c1", NULL, "public/news", true, false },     /* read only */
		{ "c1", NULL, "public/#", false, true },
		{ "c1", NULL, "public/+", false, true },        /* covered by public/# */
		{ "c1", NULL, "public/in/+", false, true },
		{ "c1", NULL, "public", false, true },          /* public/# matches its parent */
		{ "c1", NULL, "#", false, false },
		{ "c1", NULL, "+/in", false, false },
		{ "c1", "alice", "public/news", false, true },  /* the global lines apply to users too */
		/* user alice */
		{ "c1", "alice", "alice/x", true, true },
		{ "c1", "alice", "alice/#", false, true },
		{ "c1", "alice", "alice", true, true },
		{ "c1", "alice", "sensors/+/temp", false, true },
		{ "c1", "alice", "sensors/1/temp", false, true },
		{ "c1", "alice", "sensors/#", false, false },
		{ "c1", "alice", "sensors/+/+", false, false },
		{ "c1", "alice", "sensors/1/humidity", false, false },
		{ "c1", "alice", "sensors/1/temp", true, false }, /* read only */
		{ "alice", NULL, "alice/x", true, false },       /* a client id is not a user name */
		/* user bob */
		{ "c2", "bob", "alice/x", true, false },
		{ "c2", "bob", "alice/#", false, false },
		{ "c2", "bob", "sensors/bob/temp", true, true },  /* blanks around the line */
		{ "c2", "bob", "sensors/bob/temp", false, false },
		{ "c2", "bob", "shared/bob", true, true },        /* no access word: readwrite */
		{ "c2", "bob", "shared/bob", false, true },
		/* patterns for everyone: %u and %c */
		{ "c1", "alice", "devices/alice/t", true, true },
		{ "c1", "alice", "devices/alice/#", false, true },
		{ "c1", "alice", "devices/bob/t", true, false },
		{ "c1", "alice", "devices/+/t", false, false },
		{ "c1", NULL, "devices//t", true, false },        /* %u needs a user name */
		{ "c1", "+", "devices/+/t", false, false },       /* a wildcard name grants nothing */
		{ "c1", "#", "devices/#", false, false },
		{ "c1", "a/b", "devices/a/b/x", true, false },    /* nor does a name with '/' */
		{ "c1", NULL, "clients/c1/inbox", false, true },
		{ "c1", NULL, "clients/c2/inbox", false, false },
		{ "c1", NULL, "clients/c1/inbox", true, false },
		{ "+", NULL, "clients/+/inbox", false, false },
		/* a pattern inside alice's section: only alice's clients */
		{ "dev7", "alice", "logs/dev7", true, true },
		{ "dev7", "alice", "logs/dev8", true, false },
		{ "dev7", "bob", "logs/dev7", true, false },
		/* client admin-console */
		{ "admin-console", NULL, "#", false, true },
		{ "admin-console", NULL, "a/+/b", false, true },
		{ "admin-console", NULL, "$SYS/#", false, true },
		{ "admin-console", NULL, "$SYS/broker/uptime", false, true },
		{ "admin-console", NULL, "x", true, false },
		{ "c1", NULL, "$SYS/#", false, false },
		{ "c1", "alice", "$SYS/broker/uptime", false, false },
	};
	char err[256] = "";
	const char *path = puts_file("acl", acl_text);
	broker_file_auth *fa = broker_auth_load(NULL, path, err, sizeof err);
	ck_assert_msg(fa != NULL, "%s", err);
	const broker_auth *a = broker_auth_get(fa);
	ck_assert_int_ge((int)(sizeof rows / sizeof rows[0]), 30);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		bool got = a->allow(a->ctx, rows[i].client, rows[i].user, rows[i].topic, rows[i].publish);
		ck_assert_msg(got == rows[i].want, "row %zu: %s client=%s user=%s %s: got %s", i,
			      rows[i].publish ? "publish" : "subscribe", rows[i].client,
			      rows[i].user ? rows[i].user : "(none)", rows[i].topic,
			      got ? "allowed" : "denied");
	}
	/* No password file was given: CONNECT is not checked. */
	ck_assert_int_eq(try_connect(a, "mallory", "x"), 0);
	broker_auth_free(fa);

	/* An ACL file with no grants denies everything; one long pattern expands on the heap. */
	fa = broker_auth_parse(NULL, NULL, 0, "acl", "# nothing\n", 10, err, sizeof err);
	ck_assert_ptr_nonnull(fa);
	a = broker_auth_get(fa);
	ck_assert(!a->allow(a->ctx, "c", "u", "t", true));
	ck_assert(!a->allow(a->ctx, "c", "u", "t", false));
	broker_auth_free(fa);
	char big[400];
	memset(big, 'x', 300);
	big[300] = 0;
	fa = broker_auth_parse(NULL, NULL, 0, "acl", "pattern write %u/%c/%u\n", 23, err, sizeof err);
	ck_assert_ptr_nonnull(fa);
	a = broker_auth_get(fa);
	char topic[1000];
	snprintf(topic, sizeof topic, "%s/c/%s", big, big);
	ck_assert(a->allow(a->ctx, "c", big, topic, true));
	topic[0] = 'y';
	ck_assert(!a->allow(a->ctx, "c", big, topic, true));
	broker_auth_free(fa);
}
END_TEST

START_TEST(test_acl_file_bad)
{
	static const struct {
		const char *text, *msg;
	} rows[] = {
		{ "topic\n", ":1: 'topic' needs a topic filter" },
		{ "# c\ntopic read\n", ":2: 'topic' needs a topic filter" },
		{ "pattern write   \n", ":1: 'pattern' needs a topic filter" },
		{ "topic readonly a/b\n",
		  ":1: unknown access 'readonly'; expected read, write or readwrite before the filter" },
		{ "topic a b\n", ":1: unknown access 'a'; expected read, write or readwrite before the filter" },
		{ "topc read a\n", ":1: unknown directive 'topc'; expected topic, pattern, user or client" },
		{ "deny a\n", ":1: unknown directive 'deny'; expected topic, pattern, user or client" },
		{ "user\n", ":1: 'user' needs a user name" },
		{ "topic a\nclient \t\n", ":2: 'client' needs a client id" },
		{ "topic read a/#/b\n",
		  ":1: bad topic filter 'a/#/b': '#' must be the last character and stand alone in its level" },
		{ "user x\npattern write x+\n", ":2: bad topic filter 'x+': '+' must occupy a whole topic level" },
		{ "topic read a/\xff\n", ":1: bad topic filter 'a/?': " },
		{ "topic a\n\ntopic b\0\n", ":3: contains a NUL byte; is this a text file?" },
	};
	char err[512], want[512];
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		size_t len = strlen(rows[i].text);
		if (strstr(rows[i].msg, "NUL"))
			len += 2; /* the row's text goes on past its NUL */
		const char *path = put("acl", rows[i].text, len);
		err[0] = 0;
		broker_file_auth *fa = broker_auth_load(NULL, path, err, sizeof err);
		ck_assert_msg(fa == NULL, "row %zu loaded", i);
		snprintf(want, sizeof want, "%s%s", path, rows[i].msg);
		/* The UTF-8 row ends with the codec's message, whatever its words. */
		if (rows[i].msg[strlen(rows[i].msg) - 1] == ' ')
			ck_assert_msg(!strncmp(err, want, strlen(want)) && strlen(err) > strlen(want),
				      "row %zu: got %s", i, err);
		else
			ck_assert_msg(!strcmp(err, want), "row %zu:\n  got  %s\n  want %s", i, err, want);
	}
}
END_TEST

/* ---- end to end through the simulation shell -------------------------------------------- */

#define PORT 1883
#define MS 1000

static sim_world *w;
static sim_host *bh;
static broker_sim *bs;
static broker_file_auth *fauth;

static void e2e_teardown(void)
{
	if (bs)
		broker_sim_free(bs); /* before the auth it points to */
	bs = NULL;
	if (w)
		sim_world_free(w);
	w = NULL;
	broker_auth_free(fauth);
	fauth = NULL;
}


#define CONNACK_BAD_PW "CONNACK session_present=0 rc=4 (Connection Refused, bad user name or password)"

static tclient *connect_as(const char *host, const char *id, const char *user, const char *pw)
{
	mqtt_packet p = { .type = MQTT_CONNECT, .version = MQTT_V311 };
	p.connect.client_id = (mqtt_str){ (const uint8_t *)id, (uint32_t)strlen(id) };
	p.connect.clean_start = true;
	if (user) {
		p.connect.has_username = true;
		p.connect.username = (mqtt_str){ (const uint8_t *)user, (uint32_t)strlen(user) };
	}
	if (pw) {
		p.connect.has_password = true;
		p.connect.password = (mqtt_str){ (const uint8_t *)pw, (uint32_t)strlen(pw) };
	}
	tclient *c = tc_new(w, host, bh, PORT);
	tc_send(c, &p);
	tc_run(w, 10 * MS);
	return c;
}

START_TEST(test_end_to_end)
{
	char alice[300], bob[300], text[700], err[256] = "";
	line_for(alice, sizeof alice, "alice", "s3cret", BROKER_AUTH_ITERATIONS);
	line_for(bob, sizeof bob, "bob", "hunter2", BROKER_AUTH_ITERATIONS);
	snprintf(text, sizeof text, "%s\n%s\n", alice, bob);
	const char *pw_path = puts_file("passwd", text);
	const char *acl_path = puts_file("acl", acl_text);
	fauth = broker_auth_load(pw_path, acl_path, err, sizeof err);
	ck_assert_msg(fauth != NULL, "%s", err);

	broker_config cfg;
	broker_config_init(&cfg);
	cfg.sys_interval_s = 0;
	cfg.allow_anonymous = false;
	cfg.auth = broker_auth_get(fauth);
	w = sim_world_new(7);
	sim_link l = { .latency_us = 1 * MS };
	sim_net_set_default(w, &l);
	bh = sim_host_add(w, "broker");
	bs = broker_sim_start(w, bh, PORT, &cfg);

	/* Wrong password, unknown user: CONNACK 4 and the connection closed [MQTT-3.2.2-5]. */
	tclient *c1 = connect_as("c1", "x1", "alice", "wrong");
	TC_EXPECT(c1, CONNACK_BAD_PW);
	ck_assert(c1->closed);
	tclient *c2 = connect_as("c2", "x2", "mallory", "s3cret");
	TC_EXPECT(c2, CONNACK_BAD_PW);
	ck_assert(c2->closed);
	/* No user name, anonymous access off: CONNACK 5, the broker's own rule. */
	tclient *c3 = connect_as("c3", "x3", NULL, NULL);
	TC_EXPECT(c3, "CONNACK session_present=0 rc=5 (Connection Refused, not authorized)");

	/* The right password. */
	tclient *sub = connect_as("sub", "dash", "alice", "s3cret");
	TC_EXPECT(sub, CONNACK_OK);
	ck_assert(!sub->closed);
	tclient *pub = connect_as("pub", "sensor", "bob", "hunter2");
	TC_EXPECT(pub, CONNACK_OK);

	/* Per filter: granted, denied (0x80), granted. */
	mqtt_sub subs[3] = { { .filter = MQTT_STR("alice/#"), .qos = 1 },
			     { .filter = MQTT_STR("sensors/#"), .qos = 1 },
			     { .filter = MQTT_STR("sensors/+/temp"), .qos = 1 } };
	mqtt_packet sp = { .type = MQTT_SUBSCRIBE, .version = MQTT_V311, .packet_id = 1 };
	sp.subscribe.items = subs;
	sp.subscribe.count = 3;
	tc_send(sub, &sp);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub, "SUBACK id=1 codes=0x01,0x80,0x01");

	/* bob may not write alice/#: acknowledged, but nobody receives it, and as a retained
	 * message it is not stored either. */
	tc_publish(pub, "alice/inbox", "hi", 1, true, 5);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBACK id=5");
	TC_EXPECT_NOTHING(sub);
	tc_publish(pub, "alice/inbox", "hi", 2, false, 6);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBREC id=6");
	TC_EXPECT_NOTHING(sub);
	/* What bob may write does arrive, so the silence above was the ACL. */
	tc_publish(pub, "sensors/bob/temp", "21.5", 1, false, 7);
	tc_run(w, 10 * MS);
	TC_EXPECT(pub, "PUBACK id=7");
	TC_EXPECT(sub, "PUBLISH qos=1 retain=0 dup=0 id=1 topic=\"sensors/bob/temp\" payload=4B");
	/* A fresh subscription to alice/# finds no retained message from bob. */
	tclient *sub2 = connect_as("sub2", "dash2", "alice", "s3cret");
	TC_EXPECT(sub2, CONNACK_OK);
	tc_subscribe(sub2, 2, "alice/#", 1);
	tc_run(w, 10 * MS);
	TC_EXPECT(sub2, "SUBACK id=2 codes=0x01");
	TC_EXPECT_NOTHING(sub2);

	broker_stats st;
	broker_get_stats(broker_sim_core(bs), &st);
	ck_assert_uint_eq(st.msgs_dropped, 2);

	tc_free(c1);
	tc_free(c2);
	tc_free(c3);
	tc_free(sub);
	tc_free(sub2);
	tc_free(pub);
}
END_TEST

Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("hash");
	tcase_add_test(tc, test_sha256_vectors);
	tcase_add_test(tc, test_hmac_vectors);
	tcase_add_test(tc, test_pbkdf2_vectors);
	tcase_add_test(tc, test_equal);
	tcase_set_timeout(tc, 30); /* 80000 PBKDF2 rounds under sanitizers */
	suite_add_tcase(s, tc);
	tc = tcase_create("passwd");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_format_and_connect);
	tcase_add_test(tc, test_format_rejects);
	tcase_add_test(tc, test_passwd_file_good);
	tcase_add_test(tc, test_passwd_file_bad);
	tcase_add_test(tc, test_garbage_never_crashes);
	tcase_set_timeout(tc, 60); /* thousands of loads; slow under coverage and sanitizers */
	suite_add_tcase(s, tc);
	tc = tcase_create("acl");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_acl_table);
	tcase_add_test(tc, test_acl_file_bad);
	suite_add_tcase(s, tc);
	tc = tcase_create("end_to_end");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_checked_fixture(tc, NULL, e2e_teardown);
	tcase_add_test(tc, test_end_to_end);
	suite_add_tcase(s, tc);
	return s;
}
