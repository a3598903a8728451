/*
 * input: parser for the `ipwarn enqueue` line format.  One line of CSV
 * (RFC 4180 quoting, so evidence may contain commas and "" escapes) holds a
 * flagged IP, optional evidence text and an optional ISO-8601 observation
 * time.  Everything is validated here, before it reaches the queue: the IP
 * is canonicalised (IPv4-mapped IPv6 becomes plain IPv4) and must be a
 * possible target, the evidence must be printable UTF-8 that fits the
 * letter, and the time must be a real calendar instant, normalised so that
 * PostgreSQL reads it as a timestamptz without guessing a zone.  Reasons
 * quote the offending value, made printable and bounded, because they end
 * up on an operator's terminal.
 */
#include "input.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_FIELDS	3
#define QUOTE_MAX	60	/* input bytes of a value shown in a reason */

/* A cursor over the fields of one CSV line. */
struct csv {
	const char *p;
	size_t len;
	size_t pos;
	int done;	/* the last field has been read */
	char sep;	/* ',', ';' or TAB */
};

/*
 * Render v as a double-quoted, printable-ASCII string for a reason:
 * non-printable bytes become \xHH, long values are cut with "...".
 */
static void
quote_value(char *out, size_t outsz, const char *v, size_t n)
{
	size_t o = 0;
	size_t lim = n > QUOTE_MAX ? QUOTE_MAX : n;

	if (outsz < 16) {
		if (outsz > 0)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (size_t i = 0; i < lim && o + 12 < outsz; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outsz - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (lim < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* Append byte c to a field of size outsz, counting what does not fit. */
static void
field_put(char *out, size_t outsz, size_t *n, char c)
{
	if (*n + 1 < outsz)
		out[*n] = c;
	(*n)++;
}

/* Blank around a field: space or TAB, unless TAB separates the fields. */
static int
is_blank(const struct csv *c, char ch)
{
	return (ch == ' ' || ch == '\t') && ch != c->sep;
}

/* Body of a quoted field; the cursor is just past the opening quote. */
static int
csv_quoted(struct csv *c, char *out, size_t outsz, size_t *n,
    struct iw_err *err)
{
	for (;;) {
		char ch;

		if (c->pos >= c->len) {
			iw_err_set(err, "unterminated quoted field (a field "
			    "cannot span lines)");
			return -1;
		}
		ch = c->p[c->pos++];
		if (ch == '"') {
			if (c->pos < c->len && c->p[c->pos] == '"')
				c->pos++;
			else
				break;
		}
		field_put(out, outsz, n, ch);
	}
	while (c->pos < c->len && is_blank(c, c->p[c->pos]))
		c->pos++;
	if (c->pos < c->len && c->p[c->pos] != c->sep) {
		char q[100];

		quote_value(q, sizeof(q), c->p + c->pos, c->len - c->pos);
		iw_err_set(err, "text after a closing quote: %s", q);
		return -1;
	}
	return 0;
}

/*
 * Read the next field into out (always NUL-terminated, cut to outsz - 1);
 * *outlen gets the full decoded length so callers can tell it was cut.
 * Unquoted fields are trimmed; a '"' inside an unquoted field is taken
 * literally, as most CSV readers do.
 */
static int
csv_next(struct csv *c, char *out, size_t outsz, size_t *outlen,
    struct iw_err *err)
{
	size_t n = 0;

	while (c->pos < c->len && is_blank(c, c->p[c->pos]))
		c->pos++;
	if (c->pos < c->len && c->p[c->pos] == '"') {
		c->pos++;
		if (csv_quoted(c, out, outsz, &n, err) != 0)
			return -1;
	} else {
		const char *s = c->p + c->pos;
		size_t l = 0;

		while (c->pos < c->len && c->p[c->pos] != c->sep) {
			c->pos++;
			l++;
		}
		iw_trim(&s, &l);
		for (size_t i = 0; i < l; i++)
			field_put(out, outsz, &n, s[i]);
	}
	out[n < outsz ? n : outsz - 1] = '\0';
	*outlen = n;
	if (c->pos < c->len)
		c->pos++;	/* the comma */
	else
		c->done = 1;
	return 0;
}

int
iw_input_canon_ip(const char *buf, size_t len, char *out, size_t outsz)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	struct in_addr a4;
	struct in6_addr a6;

	if (len == 0 || len >= sizeof(tmp) || memchr(buf, '\0', len) != NULL)
		return -1;
	memcpy(tmp, buf, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, &a4) == 1)
		return inet_ntop(AF_INET, &a4, out, (socklen_t)outsz) ? 0 : -1;
	if (inet_pton(AF_INET6, tmp, &a6) != 1)
		return -1;
	/* ::ffff:a.b.c.d is the IPv4 host; one spelling per host. */
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, a6.s6_addr + 12, 4);
		return inet_ntop(AF_INET, &a4, out, (socklen_t)outsz) ? 0 : -1;
	}
	return inet_ntop(AF_INET6, &a6, out, (socklen_t)outsz) ? 0 : -1;
}

/* Why an IPv4 address can never be a target, or NULL. */
static const char *
v4_unusable(const unsigned char *a)
{
	if (a[0] == 0)
		return "unspecified (0.0.0.0/8) address";
	if (a[0] == 127)
		return "loopback address";
	if (a[0] == 169 && a[1] == 254)
		return "link-local address";
	if (a[0] >= 224 && a[0] <= 239)
		return "multicast address";
	if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255)
		return "broadcast address";
	return NULL;
}

/* Why an IPv6 address can never be a target, or NULL. */
static const char *
v6_unusable(const struct in6_addr *a6)
{
	const unsigned char *a = a6->s6_addr;

	if (IN6_IS_ADDR_UNSPECIFIED(a6))
		return "unspecified address";
	if (IN6_IS_ADDR_LOOPBACK(a6))
		return "loopback address";
	if (a[0] == 0xff)
		return "multicast address";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "link-local address";
	if (IN6_IS_ADDR_V4MAPPED(a6))
		return v4_unusable(a + 12);
	return NULL;
}

int
iw_input_check_target(const char *ip, struct iw_err *err)
{
	struct in_addr a4;
	struct in6_addr a6;
	const char *why;

	if (inet_pton(AF_INET, ip, &a4) == 1)
		why = v4_unusable((const unsigned char *)&a4.s_addr);
	else if (inet_pton(AF_INET6, ip, &a6) == 1)
		why = v6_unusable(&a6);
	else
		why = "not an IP address";
	if (why != NULL) {
		char q[100];

		quote_value(q, sizeof(q), ip, strlen(ip));
		iw_err_set(err, "%s is never a valid target: %s", why, q);
		return -1;
	}
	return 0;
}

static int
check_ip(const char *f, size_t n, char *out, size_t outsz,
    struct iw_err *err)
{
	char q[100];

	if (n == 0) {
		iw_err_set(err, "missing IP address");
		return -1;
	}
	quote_value(q, sizeof(q), f, n);
	if (iw_input_canon_ip(f, n, out, outsz) == 0)
		return iw_input_check_target(out, err);
	if (memchr(f, '/', n) != NULL)
		iw_err_set(err, "network prefixes are not accepted, give single "
		    "addresses: %s", q);
	else if (memchr(f, '%', n) != NULL)
		iw_err_set(err, "zone ids are not accepted: %s", q);
	else
		iw_err_set(err, "not an IP address: %s", q);
	return -1;
}

/* Length of the UTF-8 sequence at s that is a control or format
 * character we refuse (C0, DEL, C1, line/paragraph separators, bidi
 * overrides and isolates), or 0. */
static size_t
bad_char_at(const unsigned char *s, size_t left)
{
	if (s[0] < 0x20 || s[0] == 0x7f)
		return 1;
	if (s[0] == 0xc2 && left >= 2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	if (s[0] == 0xe2 && left >= 3 && s[1] == 0x80 &&
	    (s[2] == 0xa8 || s[2] == 0xa9 || (s[2] >= 0xaa && s[2] <= 0xae)))
		return 3;
	if (s[0] == 0xe2 && left >= 3 && s[1] == 0x81 &&
	    s[2] >= 0xa6 && s[2] <= 0xa9)
		return 3;
	return 0;
}

static int
check_evidence(const char *ev, size_t n, struct iw_err *err)
{
	const unsigned char *s = (const unsigned char *)ev;
	char q[100];

	if (n > IW_INPUT_EVIDENCE_MAX - 1) {
		iw_err_set(err, "evidence too long (%zu bytes, at most %d)", n,
		    IW_INPUT_EVIDENCE_MAX - 1);
		return -1;
	}
	quote_value(q, sizeof(q), ev, n);
	if (!iw_utf8_valid(ev, n)) {
		iw_err_set(err, "evidence is not valid UTF-8: %s", q);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		size_t l = bad_char_at(s + i, n - i);

		if (l > 0) {
			iw_err_set(err, "control character in evidence at "
			    "byte %zu: %s", i + 1, q);
			return -1;
		}
	}
	return 0;
}

/* Exactly n decimal digits at *p, advancing it. */
static int
num(const char **p, const char *end, size_t n, int *v)
{
	int x = 0;

	if ((size_t)(end - *p) < n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		x = x * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*v = x;
	return 0;
}

static int
lit(const char **p, const char *end, char c)
{
	if (*p < end && **p == c) {
		(*p)++;
		return 0;
	}
	return -1;
}

static int
days_in_month(int y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

/* The broken-down parts of an ISO-8601 time, as parsed. */
struct tparts {
	int y, mo, d, h, mi, s;
	char frac[10];		/* digits after the decimal mark, or "" */
	char tz[8];		/* "Z" or "+HH:MM" */
};

/* Zone designator: Z, +HH, +HHMM or +HH:MM (hours <= 14). */
static int
parse_zone(const char **p, const char *end, struct tparts *t)
{
	int zh, zm = 0;
	char sign;

	if (*p == end) {
		/* No zone: read as UTC rather than the session's zone. */
		strcpy(t->tz, "Z");
		return 0;
	}
	/* "2026-11-01 10:00:00 +02:00" and "... UTC", as exports write. */
	if (**p == ' ' && end - *p > 1)
		(*p)++;
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		strcpy(t->tz, "Z");
		return 0;
	}
	if (end - *p == 3 && (strncasecmp(*p, "UTC", 3) == 0 ||
	    strncasecmp(*p, "GMT", 3) == 0)) {
		*p += 3;
		strcpy(t->tz, "Z");
		return 0;
	}
	sign = **p;
	if (sign != '+' && sign != '-')
		return -1;
	(*p)++;
	if (num(p, end, 2, &zh) != 0)
		return -1;
	if (*p < end) {
		(void)lit(p, end, ':');
		if (num(p, end, 2, &zm) != 0)
			return -1;
	}
	if (zh > 14 || zm > 59)
		return -2;
	/* By hand: both values are range-checked two-digit numbers. */
	t->tz[0] = sign;
	t->tz[1] = (char)('0' + zh / 10);
	t->tz[2] = (char)('0' + zh % 10);
	t->tz[3] = ':';
	t->tz[4] = (char)('0' + zm / 10);
	t->tz[5] = (char)('0' + zm % 10);
	t->tz[6] = '\0';
	return 0;
}

/* Syntax only: -1 on a malformed string, -2 on a bad zone value. */
static int
parse_parts(const char *p, const char *end, struct tparts *t)
{
	int r;

	memset(t, 0, sizeof(*t));
	if (num(&p, end, 4, &t->y) || lit(&p, end, '-') ||
	    num(&p, end, 2, &t->mo) || lit(&p, end, '-') ||
	    num(&p, end, 2, &t->d))
		return -1;
	if (p == end) {
		strcpy(t->tz, "Z");
		return 0;
	}
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (num(&p, end, 2, &t->h) || lit(&p, end, ':') ||
	    num(&p, end, 2, &t->mi))
		return -1;
	if (lit(&p, end, ':') == 0) {
		if (num(&p, end, 2, &t->s))
			return -1;
		if (p < end && (*p == '.' || *p == ',')) {
			size_t n = 0;

			p++;
			while (p < end && isdigit((unsigned char)*p) &&
			    n < sizeof(t->frac) - 1)
				t->frac[n++] = *p++;
			if (n == 0 || (p < end && isdigit((unsigned char)*p)))
				return -1;
		}
	}
	if ((r = parse_zone(&p, end, t)) != 0)
		return r;
	return p == end ? 0 : -1;
}

static const char *
check_parts(const struct tparts *t)
{
	if (t->y < 1)
		return "year out of range";
	if (t->mo < 1 || t->mo > 12)
		return "month out of range";
	if (t->d < 1 || t->d > days_in_month(t->y, t->mo))
		return "day out of range for the month";
	if (t->h > 23)
		return "hour out of range";
	if (t->mi > 59)
		return "minute out of range";
	if (t->s > 59)
		return "second out of range";
	return NULL;
}

int
iw_input_parse_time(const char *buf, size_t len, char *out, size_t outsz,
    struct iw_err *err)
{
	struct tparts t;
	const char *why = NULL;
	char q[100];
	int r, n;

	quote_value(q, sizeof(q), buf, len);
	r = len > 64 ? -1 : parse_parts(buf, buf + len, &t);
	if (r == -1) {
		iw_err_set(err, "not an ISO-8601 time (YYYY-MM-DD"
		    "[( |T)HH:MM[:SS[.frac]]][Z|+HH:MM|UTC]): %s", q);
		return -1;
	}
	if (r == -2)
		why = "time zone offset out of range";
	else
		why = check_parts(&t);
	if (why != NULL) {
		iw_err_set(err, "bad time, %s: %s", why, q);
		return -1;
	}
	n = snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d%s%s%s", t.y,
	    t.mo, t.d, t.h, t.mi, t.s, t.frac[0] ? "." : "", t.frac, t.tz);
	if (n < 0 || (size_t)n >= outsz) {
		iw_err_set(err, "time too long for buffer: %s", q);
		return -1;
	}
	return 0;
}

/* Count the fields left after the ones already read (for the reason). */
static size_t
count_rest(struct csv *c)
{
	size_t k = 0, l;
	char dummy[1];

	while (!c->done && k < 1000) {
		if (csv_next(c, dummy, sizeof(dummy), &l, NULL) != 0)
			break;
		k++;
	}
	return k;
}

/* The line's bytes without BOM (first record only) and line end. */
static void
strip_line(const char **buf, size_t *len, int first_record)
{
	if (first_record && *len >= 3 && memcmp(*buf, "\xef\xbb\xbf", 3) == 0) {
		*buf += 3;
		*len -= 3;
	}
	while (*len > 0 && ((*buf)[*len - 1] == '\r' ||
	    (*buf)[*len - 1] == '\n'))
		(*len)--;
}

/* Split the line into its fields; 0 ok, 1 header line, -1 bad. */
static int
split_fields(const char *buf, size_t len, int first_record, char sep,
    char *ipf, size_t ipsz, size_t *ipn, char *ev, size_t *evn, char *tf,
    size_t tsz, size_t *tn, struct iw_err *err)
{
	struct csv c = { buf, len, 0, 0, sep };

	*evn = *tn = 0;
	if (csv_next(&c, ipf, ipsz, ipn, err) != 0)
		return -1;
	if (first_record && strcasecmp(ipf, "ip") == 0 && *ipn == 2)
		return 1;
	if (!c.done && csv_next(&c, ev, IW_INPUT_EVIDENCE_MAX, evn, err) != 0)
		return -1;
	if (!c.done && csv_next(&c, tf, tsz, tn, err) != 0)
		return -1;
	if (!c.done) {
		iw_err_set(err, "too many fields (%zu, at most %d: "
		    "ip,evidence,observed)", MAX_FIELDS + count_rest(&c),
		    MAX_FIELDS);
		return -1;
	}
	return 0;
}

char
iw_input_separator(const char *buf, size_t len)
{
	size_t i;

	/* The IP (or a header's first name) never holds one of them, so the
	 * character that ends the first field is the file's separator; a
	 * quoted first field (a header's "timestamp") is stepped over. */
	for (i = 0; i < len && (buf[i] == ' ' || buf[i] == '\t'); i++)
		;
	if (i < len && buf[i] == '"') {
		for (i++; i < len && buf[i] != '"'; i++)
			;
	} else {
		i = 0;
	}
	for (; i < len; i++)
		if (buf[i] == ',' || buf[i] == ';' || buf[i] == '\t')
			return buf[i];
	return ',';
}

enum iw_input_kind
iw_input_parse_line(const char *buf, size_t len, int first_record,
    struct iw_input_rec *rec, struct iw_err *err)
{
	return iw_input_parse_line_sep(buf, len, first_record, ',', rec, err);
}

int
iw_input_record(const char *ip, size_t ipn, const char *ev, size_t evn,
    const char *t, size_t tn, struct iw_input_rec *rec, struct iw_err *err)
{
	memset(rec, 0, sizeof(*rec));
	iw_trim(&ip, &ipn);
	iw_trim(&t, &tn);
	if (check_ip(ip, ipn, rec->ip, sizeof(rec->ip), err) != 0 ||
	    check_evidence(ev, evn, err) != 0)
		goto bad;
	memcpy(rec->evidence, ev, evn);
	rec->evidence[evn] = '\0';
	if (tn > 0 && iw_input_parse_time(t, tn, rec->observed,
	    sizeof(rec->observed), err) != 0)
		goto bad;
	return 0;
bad:
	memset(rec, 0, sizeof(*rec));
	return -1;
}

int
iw_input_split(const char *buf, size_t len, char sep, char *store,
    size_t storesz, struct iw_input_field *f, size_t maxf, size_t *nf,
    struct iw_err *err)
{
	struct csv c = { buf, len, 0, 0, sep };
	size_t used = 0;

	*nf = 0;
	while (!c.done) {
		size_t n;

		if (*nf == maxf) {
			iw_err_set(err, "more than %zu fields", maxf);
			return -1;
		}
		if (used >= storesz) {
			iw_err_set(err, "line too long");
			return -1;
		}
		if (csv_next(&c, store + used, storesz - used, &n, err) != 0)
			return -1;
		if (n >= storesz - used) {
			iw_err_set(err, "line too long");
			return -1;
		}
		f[*nf].off = used;
		f[*nf].len = n;
		(*nf)++;
		used += n + 1;
	}
	return 0;
}

enum iw_input_kind
iw_input_parse_line_sep(const char *buf, size_t len, int first_record,
    char sep, struct iw_input_rec *rec, struct iw_err *err)
{
	char ipf[128], tf[128], ev[IW_INPUT_EVIDENCE_MAX];
	size_t ipn, evn, tn;
	const char *t;
	size_t tlen;
	int r;

	memset(rec, 0, sizeof(*rec));
	strip_line(&buf, &len, first_record);
	t = buf;
	tlen = len;
	iw_trim(&t, &tlen);
	if (tlen == 0 || t[0] == '#')
		return IW_INPUT_SKIP;
	r = split_fields(buf, len, first_record, sep, ipf, sizeof(ipf), &ipn,
	    ev, &evn, tf, sizeof(tf), &tn, err);
	if (r == 1)
		return IW_INPUT_SKIP;
	/* A cut IP or time field is refused by its check; the evidence
	 * check looks at its full length before reading it. */
	if (r != 0 || iw_input_record(ipf, ipn < sizeof(ipf) ? ipn :
	    sizeof(ipf) - 1, ev, evn, tf, tn < sizeof(tf) ? tn :
	    sizeof(tf) - 1, rec, err) != 0) {
		memset(rec, 0, sizeof(*rec));
		return IW_INPUT_BAD;
	}
	return IW_INPUT_RECORD;
}
