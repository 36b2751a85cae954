/*
 * cmd_passwd.c - `mqttsim passwd [--delete] FILE USER [PASSWORD]`: add, replace or delete
 * a user in the broker's password file (format in broker/auth.h).
 *
 * The file is checked with the broker's own loader before it is touched, so the tool
 * never carries a bad line forward, and rewritten through a temporary file and rename(),
 * so a crash leaves either the old file or the new one, never half of each. A FILE that is
 * a symbolic link is written through: the temporary file goes next to the link's target
 * and is renamed onto it, so the link stays a link.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "harness/broker_auth_file.h"
#include "harness/cli.h"

#include "broker/sha256.h"
#include "mqtt/mqtt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define MAX_PASSWORD 65535 /* an MQTT password is binary data of at most this many bytes */

static const char passwd_usage[] =
	"usage: mqttsim passwd [--delete] FILE USER [PASSWORD]\n"
	"\n"
	"Add USER to the broker password FILE, or give an existing USER a new password.\n"
	"FILE is created (mode 0600) if it does not exist; an existing one keeps its mode and\n"
	"owner. Without PASSWORD, one line is read from stdin, which keeps the password out of\n"
	"the process list and shell history:\n"
	"    printf '%s\\n' \"$PW\" | mqttsim passwd broker.passwd alice\n"
	"Passwords are stored as SCRAM's StoredKey and ServerKey (RFC 5802), derived by\n"
	"PBKDF2-HMAC-SHA256 (10000 iterations, 16-byte random salt); use the file with\n"
	"`mqttsim broker --passwords FILE`. Lines of the old $mqs1$ format (which kept the\n"
	"salted password itself) are rewritten in the new one, passwords unchanged. A FILE\n"
	"that is a symbolic link is rewritten through the link (the link stays). USER must be\n"
	"UTF-8 (an MQTT string).\n"
	"\n"
	"  --delete   remove USER from FILE\n"
	"\n"
	"exit: 0 done, 2 bad usage, a bad FILE or an I/O error\n";

/* The whole file, or NULL with errno set (ENOENT: it does not exist; EFBIG: larger than
 * the broker would load). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	const char *why;
	char *buf = cli_read_all(f, BROKER_AUTH_MAX_FILE, len, &why);
	int e = errno;
	fclose(f);
	if (!buf)
		errno = !strcmp(why, "too large") ? EFBIG : !strcmp(why, "out of memory") ? ENOMEM : e ? e : EIO;
	return buf;
}

/* One line of stdin without its newline; a terminal does not echo it. Returns the
 * length, or -1 with a message in why. */
static long read_password(FILE *in, FILE *err, char *buf, size_t cap, const char **why)
{
	int fd = fileno(in);
	struct termios old, quiet;
	bool tty = fd >= 0 && isatty(fd) && tcgetattr(fd, &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
		fputs("Password: ", err);
		fflush(err);
	}
	char *got = fgets(buf, (int)cap, in);
	if (tty) {
		tcsetattr(fd, TCSAFLUSH, &old);
		fputc('\n', err);
	}
	if (!got) {
		*why = "no password on stdin (give it as an argument or pipe one line)";
		return -1;
	}
	size_t n = strlen(buf);
	bool had_newline = n && buf[n - 1] == '\n';
	if (!had_newline && n == cap - 1 && !feof(in)) {
		*why = "the password is longer than 65535 bytes, the most MQTT can carry";
		return -1;
	}
	if (had_newline)
		buf[--n] = 0;
	if (n && buf[n - 1] == '\r')
		buf[--n] = 0;
	return (long)n;
}

/* The user name of a password line, or length 0 for a comment or blank line. */
static size_t line_user(const char *s, size_t n, const char **name)
{
	while (n && (*s == ' ' || *s == '\t' || *s == '\r')) {
		s++;
		n--;
	}
	if (n == 0 || *s == '#')
		return 0;
	const char *colon = memchr(s, ':', n);
	*name = s;
	return colon ? (size_t)(colon - s) : n;
}

/* Write text to path through a temporary file in the same directory. */
static int write_atomically(const char *path, const char *text, size_t len, FILE *err)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 8);
	if (!tmp) {
		fprintf(err, "mqttsim passwd: out of memory\n");
		return -1;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".XXXXXX", 8);
	/* mkstemp creates the file with mode 0600: the hashes are never readable by others,
	 * not even for a moment. */
	int fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(err, "mqttsim passwd: cannot create a file next to %s: %s\n", path,
			strerror(errno));
		free(tmp);
		return -1;
	}
	const char *p = text;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		left -= (size_t)w;
	}
	/* A file that exists keeps its mode and owner (an admin may have given the broker's
	 * group read access); a new one is 0600. */
	struct stat st;
	bool had = stat(path, &st) == 0;
	if (fchmod(fd, had ? st.st_mode & 07777 : 0600) || fsync(fd))
		goto fail;
	if (had && (st.st_uid != geteuid() || st.st_gid != getegid()) && fchown(fd, st.st_uid, st.st_gid))
		goto fail;
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path))
		goto fail;
	free(tmp);
	return 0;
fail:
	fprintf(err, "mqttsim passwd: cannot write %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

int cmd_passwd(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	bool del = false, opts = true;
	const char *pos[3];
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && !strcmp(a, "--")) {
			opts = false;
		} else if (opts && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
			fputs(passwd_usage, out);
			return EXIT_PASS;
		} else if (opts && (!strcmp(a, "--delete") || !strcmp(a, "-D"))) {
			del = true;
		} else if (opts && a[0] == '-' && a[1] != 0) {
			fprintf(err, "mqttsim passwd: unknown option '%s'\n%s", a, passwd_usage);
			return EXIT_USAGE;
		} else if (npos < 3) {
			pos[npos++] = a;
		} else {
			fprintf(err, "mqttsim passwd: too many arguments\n%s", passwd_usage);
			return EXIT_USAGE;
		}
	}
	if (npos < 2 || (del && npos > 2)) {
		fprintf(err, "mqttsim passwd: %s\n%s",
			npos < 2 ? "needs FILE and USER" : "--delete takes no PASSWORD", passwd_usage);
		return EXIT_USAGE;
	}
	const char *path = pos[0], *user = pos[1];
	char why[160];
	/* A CONNECT carries the user name as an MQTT string: UTF-8 without U+0000
	 * (MQTT-1.5.3-1, MQTT-1.5.3-2). A name no client can send is a typo or a wrong
	 * terminal encoding, not an account. */
	mqtt_err ue;
	if (mqtt_utf8_check((const uint8_t *)user, strlen(user), MQTT_V311, &ue) < 0) {
		fprintf(err, "mqttsim passwd: the user name is not an MQTT string (UTF-8 without U+0000, "
			     "%s): %s (byte %u)\n", ue.stmt ? ue.stmt : "MQTT-1.5.3-1", ue.msg, ue.offset + 1);
		return EXIT_USAGE;
	}
	if (broker_auth_user_check(user, why, sizeof why)) {
		fprintf(err, "mqttsim passwd: %s\n", why);
		return EXIT_USAGE;
	}
	/* Through a symbolic link to its target: renaming onto the link itself would
	 * replace the link with a plain file and leave the target stale. */
	char *real = NULL;
	struct stat lst;
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		real = realpath(path, NULL);
		if (!real) {
			fprintf(err, "mqttsim passwd: %s is a symbolic link that cannot be followed: %s%s\n", path,
				strerror(errno),
				errno == ENOENT ? " (create its target first, or give the target's path)" : "");
			return EXIT_USAGE;
		}
		path = real;
	}

	int rc = EXIT_USAGE;
	char *old = NULL, *pw = NULL, *entry = NULL, *text = NULL;
	size_t old_len = 0;
	old = slurp(path, &old_len);
	if (!old && (errno != ENOENT || del)) {
		fprintf(err, "mqttsim passwd: cannot read %s: %s\n", path, strerror(errno));
		goto done;
	}
	int upgraded = 0;
	if (old) {
		/* Lines of the first format, which kept SaltedPassword (enough to log in by SCRAM),
		 * are rewritten as StoredKey and ServerKey whatever else this run does; the
		 * broker refuses to load them and sends its users here. */
		char msg[512], *up = NULL;
		size_t up_len = 0;
		if (broker_auth_upgrade(path, old, old_len, &up, &up_len, &upgraded, msg, sizeof msg)) {
			fprintf(err, "mqttsim passwd: %s\n(fix or remove that line first; the file was not changed)\n",
				msg);
			goto done;
		}
		if (upgraded) {
			broker_sha256_wipe(old, old_len);
			free(old);
			old = up;
			old_len = up_len;
		} else {
			free(up);
		}
		/* Refuse to rewrite a file the broker would refuse to load. */
		broker_file_auth *check = broker_auth_parse(path, old, old_len, NULL, NULL, 0, msg, sizeof msg);
		if (!check) {
			fprintf(err, "mqttsim passwd: %s\n(fix or remove that line first; the file was not changed)\n",
				msg);
			goto done;
		}
		broker_auth_free(check);
	}

	size_t ulen = strlen(user);
	size_t entry_len = 0;
	if (!del) {
		long n;
		pw = malloc(MAX_PASSWORD + 2);
		entry = malloc(BROKER_AUTH_LINE_CAP(ulen));
		if (!pw || !entry) {
			fprintf(err, "mqttsim passwd: out of memory\n");
			goto done;
		}
		if (npos == 3) {
			n = (long)strlen(pos[2]);
			if (n > MAX_PASSWORD) {
				fprintf(err, "mqttsim passwd: the password is longer than 65535 bytes, the most MQTT can carry\n");
				goto done;
			}
			memcpy(pw, pos[2], (size_t)n);
		} else {
			const char *bad = NULL;
			n = read_password(in, err, pw, MAX_PASSWORD + 2, &bad);
			if (n < 0) {
				fprintf(err, "mqttsim passwd: %s\n", bad);
				goto done;
			}
		}
		if (n == 0) {
			fprintf(err, "mqttsim passwd: the password is empty\n");
			goto done;
		}
		/* The salt makes equal passwords hash differently; it must not be guessable,
		 * so it comes from the kernel, not from a simulation's seeded streams. */
		uint8_t salt[BROKER_AUTH_SALT_LEN];
		FILE *r = fopen("/dev/urandom", "rb");
		size_t got = r ? fread(salt, 1, sizeof salt, r) : 0;
		if (r)
			fclose(r);
		if (got != sizeof salt) {
			fprintf(err, "mqttsim passwd: cannot read random bytes from /dev/urandom\n");
			goto done;
		}
		int k = broker_auth_format(entry, BROKER_AUTH_LINE_CAP(ulen), user, (const uint8_t *)pw,
					   (size_t)n, salt, sizeof salt, BROKER_AUTH_ITERATIONS, why,
					   sizeof why);
		broker_sha256_wipe(pw, (size_t)n);
		if (k < 0) {
			fprintf(err, "mqttsim passwd: %s\n", why);
			goto done;
		}
		entry_len = (size_t)k;
	}

	/* The new file: every line as it was, the user's line replaced or dropped, or the new
	 * entry appended. Comments and blank lines stay where they are. */
	text = malloc(old_len + entry_len + 2);
	if (!text) {
		fprintf(err, "mqttsim passwd: out of memory\n");
		goto done;
	}
	size_t n = 0;
	bool found = false;
	for (size_t i = 0; i < old_len;) {
		const char *nl = memchr(old + i, '\n', old_len - i);
		size_t end = nl ? (size_t)(nl - old) + 1 : old_len;
		const char *name = NULL;
		size_t nlen = line_user(old + i, end - i, &name);
		if (nlen == ulen && !memcmp(name, user, ulen)) {
			found = true;
			if (!del) {
				memcpy(text + n, entry, entry_len);
				n += entry_len;
				text[n++] = '\n';
			}
		} else {
			memcpy(text + n, old + i, end - i);
			n += end - i;
		}
		i = end;
	}
	if (del && !found) {
		fprintf(err, "mqttsim passwd: there is no user '%s' in %s\n", user, path);
		goto done;
	}
	if (!del && !found) {
		if (n && text[n - 1] != '\n')
			text[n++] = '\n';
		memcpy(text + n, entry, entry_len);
		n += entry_len;
		text[n++] = '\n';
	}
	if (write_atomically(path, text, n, err))
		goto done;
	fprintf(out, "%s user '%s' %s %s", del ? "deleted" : found ? "changed the password of" : "added",
		user, del ? "from" : found ? "in" : "to", pos[0]);
	if (real)
		fprintf(out, " (written through the link to %s)", real);
	fputc('\n', out);
	if (upgraded)
		fprintf(out, "rewrote %d line%s of the old $mqs1$ format as $mqs2$ (StoredKey and ServerKey; "
			     "the passwords are unchanged)\n", upgraded, upgraded == 1 ? "" : "s");
	rc = EXIT_PASS;
done:
	if (pw)
		broker_sha256_wipe(pw, MAX_PASSWORD + 2);
	free(pw);
	free(entry);
	free(text);
	free(old);
	free(real);
	return rc;
}
