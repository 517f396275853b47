// SPDX-License-Identifier: GPL-2.0
/*
 * A QMP client for the balloon agent: connect to QEMU's monitor socket,
 * negotiate, send a command and wait for its answer.
 *
 * QMP sends one JSON object per line. The agent needs only a few members
 * ("QMP", "return", "error", "event", "actual", "desc"), so instead of
 * building a tree the minimal JSON reader below validates a message and
 * finds members in place. All its functions take a pointer into a
 * NUL-terminated message and never read past the NUL.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "psharectl.h"

#define JSON_MAX_DEPTH 64

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* @p at '"': the character after the closing quote, or NULL. */
static const char *json_skip_string(const char *p)
{
	if (*p != '"')
		return NULL;
	for (p++; *p && *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\')
			continue;
		p++;
		if (*p == 'u') {
			int i;

			for (i = 1; i <= 4; i++)
				if (!isxdigit((unsigned char)p[i]))
					return NULL;
			p += 4;
		} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
			return NULL;
		}
	}
	return *p == '"' ? p + 1 : NULL;
}

/* Past one or more digits at @p, or NULL when there is none. */
static const char *json_skip_digits(const char *p)
{
	const char *start = p;

	while (*p >= '0' && *p <= '9')
		p++;
	return p == start ? NULL : p;
}

static const char *json_skip_number(const char *p)
{
	if (*p == '-')
		p++;
	p = json_skip_digits(p);
	if (p && *p == '.')
		p = json_skip_digits(p + 1);
	if (p && (*p == 'e' || *p == 'E')) {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		p = json_skip_digits(p);
	}
	return p;
}

/* Skip one value (after leading blanks): the end of it, or NULL if bad. */
static const char *json_skip_value(const char *p, int depth)
{
	p = json_ws(p);
	if (depth > JSON_MAX_DEPTH)
		return NULL;
	switch (*p) {
	case '"':
		return json_skip_string(p);
	case '{':
	case '[': {
		char close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';

		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = json_skip_string(json_ws(p));
				if (!p)
					return NULL;
				p = json_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			p = json_skip_value(p, depth + 1);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	default:
		return json_skip_number(p);
	}
}

/* Is @text one valid JSON value and nothing else? */
static bool json_valid(const char *text)
{
	const char *end = json_skip_value(text, 0);

	return end && *json_ws(end) == '\0';
}

/*
 * Decode the string at @p (at '"') into @out (at most @len bytes with the
 * NUL). \uXXXX outside ASCII becomes '?': QMP keys and the messages we
 * print are ASCII.
 */
static void json_string(const char *p, char *out, size_t len)
{
	size_t n = 0;

	if (*p != '"' || !len)
		return;
	for (p++; *p && *p != '"'; p++) {
		char ch = *p;

		if (ch == '\\') {
			p++;
			switch (*p) {
			case 'b':
				ch = '\b';
				break;
			case 'f':
				ch = '\f';
				break;
			case 'n':
				ch = '\n';
				break;
			case 'r':
				ch = '\r';
				break;
			case 't':
				ch = '\t';
				break;
			case 'u': {
				unsigned int v = 0;
				int i;

				for (i = 1; i <= 4 && p[i]; i++)
					v = v * 16 + (isdigit((unsigned char)p[i]) ?
						      p[i] - '0' :
						      (tolower((unsigned char)p[i]) - 'a' + 10));
				p += 4;
				ch = v < 0x80 ? (char)v : '?';
				break;
			}
			default:
				ch = *p;
			}
		}
		if (n + 1 < len)
			out[n++] = ch;
	}
	out[n] = '\0';
}

/*
 * The value of member @key of the object at @obj (after blanks), or NULL
 * when @obj is not an object or has no such member. @obj must be valid.
 */
static const char *json_member(const char *obj, const char *key)
{
	const char *p = json_ws(obj);

	if (*p != '{')
		return NULL;
	p = json_ws(p + 1);
	if (*p == '}')
		return NULL;
	for (;;) {
		char name[64];
		const char *v;

		json_string(p, name, sizeof(name));
		p = json_ws(json_skip_string(p));
		v = json_ws(p + 1);		/* past ':' */
		if (!strcmp(name, key))
			return v;
		p = json_ws(json_skip_value(v, 0));
		if (*p != ',')
			return NULL;
		p = json_ws(p + 1);
	}
}

/* The unsigned integer at @p, if it is one. */
static bool json_u64(const char *p, unsigned long long *out)
{
	char *end;

	if (!p || *p < '0' || *p > '9')
		return false;
	errno = 0;
	*out = strtoull(p, &end, 10);
	return errno == 0 && *end != '.' && *end != 'e' && *end != 'E';
}

/*
 * ======================================================================
 * A QMP client on a unix socket
 * ======================================================================
 */

/* Seconds QEMU gets for each message. */
#define QMP_TIMEOUT_S	10

/* Largest QMP message accepted; the agent's replies are tiny. */
#define QMP_MAX_MSG	(1 << 20)

/* Close the session and free its buffer; @q may be closed again. */
void qmp_close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	memset(q, 0, sizeof(*q));
	q->fd = -1;
}

/*
 * Read one message (one line) into q->msg. Returns 0, or -1 with a
 * reason in @why.
 */
static int qmp_read(struct qmp *q, char *why, size_t whylen)
{
	char *nl;

	/* Drop the previous message. */
	if (q->msg) {
		memmove(q->buf, q->buf + q->used, q->len - q->used + 1);
		q->len -= q->used;
		q->msg = NULL;
	}
	while (!q->buf || !(nl = memchr(q->buf, '\n', q->len))) {
		ssize_t n;

		if (q->len + 4096 + 1 > q->cap) {
			char *b;

			if (q->cap >= QMP_MAX_MSG) {
				snprintf(why, whylen, "QMP message longer than %d bytes",
					 QMP_MAX_MSG);
				return -1;
			}
			b = realloc(q->buf, q->cap ? 2 * q->cap : 8192);
			if (!b) {
				snprintf(why, whylen, "out of memory");
				return -1;
			}
			q->buf = b;
			q->cap = q->cap ? 2 * q->cap : 8192;
		}
		n = recv(q->fd, q->buf + q->len, q->cap - q->len - 1, 0);
		if (n == 0) {
			snprintf(why, whylen, "QEMU closed the connection");
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR && !psharectl_stop)
				continue;
			snprintf(why, whylen, "%s",
				 errno == EAGAIN || errno == EWOULDBLOCK ?
				 "no answer from QEMU within 10 s (another client may hold this QMP socket: it serves one at a time)" :
				 strerror(errno));
			return -1;
		}
		q->len += n;
		q->buf[q->len] = '\0';
	}
	*nl = '\0';
	q->used = nl - q->buf + 1;
	if (nl > q->buf && nl[-1] == '\r')
		nl[-1] = '\0';
	q->msg = q->buf;
	if (!json_valid(q->msg)) {
		snprintf(why, whylen, "QEMU sent something that is not JSON: %.60s",
			 q->msg);
		return -1;
	}
	return 0;
}

/*
 * Send one command (a JSON text) and wait for its reply, skipping events.
 * On success q->msg is the reply and *@ret its "return" value. On a QMP
 * error, -1 with the error's class and desc in @why.
 */
int qmp_cmd(struct qmp *q, const char *json, const char **ret,
	    char *why, size_t whylen)
{
	size_t len = strlen(json), off = 0;

	while (off < len) {
		ssize_t n = send(q->fd, json + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "sending to QEMU: %s",
				 strerror(errno));
			return -1;
		}
		off += n;
	}
	for (;;) {
		const char *err, *r;

		if (qmp_read(q, why, whylen))
			return -1;
		if (json_member(q->msg, "event"))
			continue;
		err = json_member(q->msg, "error");
		if (err) {
			char cls[64] = "", desc[256] = "";
			const char *v;

			v = json_member(err, "class");
			if (v && *v == '"')
				json_string(v, cls, sizeof(cls));
			v = json_member(err, "desc");
			if (v && *v == '"')
				json_string(v, desc, sizeof(desc));
			snprintf(why, whylen, "QEMU refused: %s%s%s", desc,
				 *cls ? " " : "", *cls ? cls : "");
			return -1;
		}
		r = json_member(q->msg, "return");
		if (r) {
			if (ret)
				*ret = r;
			return 0;
		}
		/* Neither: an unknown message type; ignore it like an event. */
	}
}

/* Connect to a QMP socket and leave command mode set up. */
int qmp_open(struct qmp *q, const char *path, char *why, size_t whylen)
{
	struct timeval tv = { .tv_sec = QMP_TIMEOUT_S };
	struct sockaddr_un sun;

	memset(q, 0, sizeof(*q));
	q->fd = -1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(why, whylen, "socket path longer than %zu bytes",
			 sizeof(sun.sun_path) - 1);
		return -1;
	}
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(q->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(q->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if (connect(q->fd, (struct sockaddr *)&sun, sizeof(sun))) {
		int err = errno;

		snprintf(why, whylen, "connect: %s%s", strerror(err),
			 err == ENOENT || err == ECONNREFUSED ?
			 " (is QEMU running with -qmp unix:PATH,server=on,wait=off?)" :
			 err == EACCES ? " (run as the user QEMU runs as, or root)" :
			 "");
		goto fail;
	}
	if (qmp_read(q, why, whylen))
		goto fail;
	if (!json_member(q->msg, "QMP")) {
		snprintf(why, whylen, "no QMP greeting (is this a QMP socket, not an HMP monitor?)");
		goto fail;
	}
	if (qmp_cmd(q, "{\"execute\":\"qmp_capabilities\"}\n", NULL, why,
		    whylen))
		goto fail;
	return 0;
fail:
	qmp_close(q);
	return -1;
}

/* The guest's RAM as the balloon sees it: query-balloon "actual". */
int qmp_balloon_actual(struct qmp *q, unsigned long long *actual,
		       char *why, size_t whylen)
{
	const char *ret;

	if (qmp_cmd(q, "{\"execute\":\"query-balloon\"}\n", &ret, why, whylen))
		return -1;
	if (!json_u64(json_member(ret, "actual"), actual)) {
		snprintf(why, whylen, "query-balloon answered without a number \"actual\"");
		return -1;
	}
	return 0;
}
