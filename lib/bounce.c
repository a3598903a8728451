/*
 * bounce: turn one returned message into recipients, status codes and a
 * class (see bounce.h).  The input is first copied with every line ending
 * made LF and NUL bytes made spaces, so the rest can use C strings; MIME is
 * then walked recursively, collecting delivery-status fields, feedback
 * reports, the returned headers and the human-readable text.  Messages
 * without delivery-status fields are read the way their mail systems write
 * them: the part of the text before the returned message is searched for the
 * failed addresses, and the lines after each address for the SMTP reply.
 * Reasons are inferred from the reply text first (mail systems put the real
 * cause there and often a vague code in front of it), then from the code.
 */
#include "bounce.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH	12		/* MIME nesting followed */
#define MAX_PARTS	128		/* parts looked at per multipart */
#define MAX_HEADERS	512		/* header fields kept per header block */
#define MAX_HVALUE	8192		/* one unfolded header value */
#define MAX_TEXT	(512u * 1024)	/* human-readable text collected */
#define MAX_REGION	(64u * 1024)	/* error text searched for addresses */
#define MAX_SEGMENT	4096		/* text read for one recipient */

struct hdr {
	char *name;
	char *value;
};

struct hdrs {
	struct hdr *v;
	size_t n, cap;
};

struct ctx {
	struct iw_bounce *b;
	struct iw_buf text;	/* text/plain (and stripped html) parts */
	int oom;
	int arf;
	int have_returned;	/* a returned header block was read */
	char orig_to[IW_BOUNCE_ADDR_MAX];
	char orig_from[IW_BOUNCE_ADDR_MAX];
	char top_from[IW_BOUNCE_ADDR_MAX];
	char arf_rcpt[IW_BOUNCE_ADDR_MAX];
	/* addresses of the bounce's own recipient: never a failed one */
	char excl[IW_BOUNCE_MAX_ENVELOPE][IW_BOUNCE_ADDR_MAX];
	size_t nexcl;
	/* the reporting MTA is known to say "user unknown" only for dead
	 * addresses (see mta_rules) */
	int strong_userunknown;
};

/* ---------------------------------------------------------------- text */

static int
lc(int c)
{
	return tolower((unsigned char)c);
}

/* Case-insensitive prefix test of a NUL-terminated s. */
static int
starts_ci(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++)
		if (lc(*s) != lc(*prefix))
			return 0;
	return 1;
}

/* Case-insensitive search of needle (lower case) in s. */
static const char *
find_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return s;
	for (; *s != '\0'; s++) {
		if (lc(*s) == needle[0] && starts_ci(s, needle))
			return s;
	}
	(void)n;
	return NULL;
}

/* Copy [p, p+n) lower-cased into a fresh NUL-terminated string. */
static char *
lower_dup(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = (char)lc(p[i]);
	s[n] = '\0';
	return s;
}

/*
 * Append [p, p+n) to out with CRLF and lone CR made LF and NUL made a
 * space, so later stages may treat the data as one C string of LF lines.
 */
static int
normalise(struct iw_buf *out, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && p[j] != '\r' && p[j] != '\0')
			j++;
		if (j > i && iw_buf_append(out, p + i, j - i) != 0)
			return -1;
		if (j >= n)
			break;
		if (p[j] == '\0') {
			if (iw_buf_putc(out, ' ') != 0)
				return -1;
		} else {
			if (iw_buf_putc(out, '\n') != 0)
				return -1;
			if (j + 1 < n && p[j + 1] == '\n')
				j++;
		}
		i = j + 1;
	}
	return 0;
}

/* Find the end of the line starting at p (the '\n' or end). */
static const char *
line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl != NULL ? nl : end;
}

static const char *
next_line(const char *p, const char *end)
{
	const char *e = line_end(p, end);

	return e < end ? e + 1 : end;
}

static int
blank_line(const char *p, const char *e)
{
	for (; p < e; p++)
		if (*p != ' ' && *p != '\t')
			return 0;
	return 1;
}

/* ------------------------------------------------------------- headers */

static void
hdrs_free(struct hdrs *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

static int
hdrs_add(struct hdrs *h, const char *name, size_t nlen, const char *val,
    size_t vlen)
{
	if (h->n >= MAX_HEADERS)
		return 0;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct hdr *v = realloc(h->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	if (vlen > MAX_HVALUE)
		vlen = MAX_HVALUE;
	h->v[h->n].name = iw_strndup(name, nlen);
	h->v[h->n].value = iw_strndup(val, vlen);
	if (h->v[h->n].name == NULL || h->v[h->n].value == NULL) {
		free(h->v[h->n].name);
		free(h->v[h->n].value);
		return -1;
	}
	h->n++;
	return 0;
}

/* Append a folded continuation to the last header's value. */
static int
hdrs_continue(struct hdrs *h, const char *p, size_t n)
{
	struct hdr *last;
	size_t old;
	char *v;

	if (h->n == 0)
		return 0;
	iw_trim(&p, &n);
	last = &h->v[h->n - 1];
	old = strlen(last->value);
	if (n == 0 || old >= MAX_HVALUE)
		return 0;
	if (old + 1 + n > MAX_HVALUE)
		n = MAX_HVALUE - old - 1;
	v = realloc(last->value, old + n + 2);
	if (v == NULL)
		return -1;
	v[old] = ' ';
	memcpy(v + old + 1, p, n);
	v[old + 1 + n] = '\0';
	last->value = v;
	return 0;
}

static int
field_name_char(int c)
{
	return c > 32 && c < 127 && c != ':' && c != '=';
}

/*
 * Parse the header block at [p, end); return where the body starts.  A
 * line that is neither a field, a continuation nor blank ends the block
 * and belongs to the body (broken parts, bodies without headers).
 */
static const char *
parse_headers(const char *p, const char *end, struct hdrs *h, int *oom)
{
	int first = 1;

	while (p < end) {
		const char *e = line_end(p, end);
		const char *q = p;

		if (e == p)
			return next_line(p, end);
		if ((*p == ' ' || *p == '\t') && !first) {
			if (blank_line(p, e))
				return next_line(p, end);
			if (hdrs_continue(h, p, (size_t)(e - p)) != 0)
				*oom = 1;
			p = next_line(p, end);
			continue;
		}
		if (first && e - p > 5 && memcmp(p, "From ", 5) == 0) {
			first = 0;
			p = next_line(p, end);
			continue;
		}
		while (q < e && field_name_char(*q))
			q++;
		{
			const char *colon = q;

			while (colon < e && (*colon == ' ' || *colon == '\t'))
				colon++;
			if (!first && q < e && *q == '=' && q > p) {
				/* "boundary=..." folded without indentation */
				if (hdrs_continue(h, p, (size_t)(e - p)) != 0)
					*oom = 1;
				p = next_line(p, end);
				continue;
			}
			if (q == p || colon >= e || *colon != ':' || q - p > 76)
				return p;
			{
				const char *v = colon + 1;
				size_t vl = (size_t)(e - v);

				iw_trim(&v, &vl);
				if (hdrs_add(h, p, (size_t)(q - p), v, vl) != 0)
					*oom = 1;
			}
		}
		first = 0;
		p = next_line(p, end);
	}
	return end;
}

static const char *
hdr_get(const struct hdrs *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->v[i].name, name) == 0)
			return h->v[i].value;
	return NULL;
}

/* "type/subtype; params" -> "type/subtype" lower-cased. */
static void
ct_type(const char *v, char *out, size_t outsz)
{
	size_t n = 0;

	out[0] = '\0';
	if (v == NULL)
		return;
	while (*v == ' ' || *v == '\t')
		v++;
	while (*v != '\0' && *v != ';' && *v != ' ' && *v != '\t' &&
	    n + 1 < outsz)
		out[n++] = (char)lc(*v++);
	out[n] = '\0';
}

/* The value of parameter name in a Content-Type style header. */
static int
ct_param(const char *v, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	if (v == NULL)
		return -1;
	while ((v = strchr(v, ';')) != NULL) {
		size_t n = 0;

		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		if (strncasecmp(v, name, nl) != 0)
			continue;
		v += nl;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '=')
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == '"') {
			v++;
			while (*v != '\0' && *v != '"' && n + 1 < outsz)
				out[n++] = *v++;
		} else {
			while (*v != '\0' && *v != ';' && *v != ' ' &&
			    *v != '\t' && n + 1 < outsz)
				out[n++] = *v++;
		}
		out[n] = '\0';
		return n > 0 ? 0 : -1;
	}
	return -1;
}

/* ----------------------------------------------------------- encodings */

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static int
decode_base64(struct iw_buf *out, const char *p, size_t n)
{
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)p[i]);

		if (p[i] == '=')
			break;
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (iw_buf_putc(out, (char)((acc >> bits) & 0xff)) != 0)
				return -1;
		}
	}
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lc(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
decode_qp(struct iw_buf *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '=' && i + 1 < n && p[i + 1] == '\n') {
			i++;
			continue;
		}
		if (p[i] == '=' && i + 2 < n && hexval(p[i + 1]) >= 0 &&
		    hexval(p[i + 2]) >= 0) {
			int c = hexval(p[i + 1]) * 16 + hexval(p[i + 2]);

			if (iw_buf_putc(out, (char)c) != 0)
				return -1;
			i += 2;
			continue;
		}
		if (iw_buf_putc(out, p[i]) != 0)
			return -1;
	}
	return 0;
}

/* Strip tags and the common entities from html, keeping line structure. */
static int
append_html(struct iw_buf *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '<') {
			size_t j = i + 1;
			char tag[8];
			size_t t = 0;

			if (j < n && p[j] == '/')
				j++;
			while (j < n && isalpha((unsigned char)p[j]) &&
			    t + 1 < sizeof(tag))
				tag[t++] = (char)lc(p[j++]);
			tag[t] = '\0';
			while (j < n && p[j] != '>')
				j++;
			if (strcmp(tag, "br") == 0 || strcmp(tag, "p") == 0 ||
			    strcmp(tag, "div") == 0 || strcmp(tag, "tr") == 0 ||
			    strcmp(tag, "li") == 0)
				if (iw_buf_putc(out, '\n') != 0)
					return -1;
			i = j;
			continue;
		}
		if (p[i] == '&') {
			static const struct { const char *e; char c; } ent[] = {
				{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
				{ "&nbsp;", ' ' }, { "&quot;", '"' },
				{ "&#64;", '@' },
			};
			size_t k;

			for (k = 0; k < sizeof(ent) / sizeof(ent[0]); k++) {
				size_t el = strlen(ent[k].e);

				if (n - i >= el &&
				    strncasecmp(p + i, ent[k].e, el) == 0) {
					if (iw_buf_putc(out, ent[k].c) != 0)
						return -1;
					i += el - 1;
					break;
				}
			}
			if (k < sizeof(ent) / sizeof(ent[0]))
				continue;
		}
		if (iw_buf_putc(out, p[i]) != 0)
			return -1;
	}
	return 0;
}

/* ----------------------------------------------------------- addresses */

static int
local_char(int c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+/=?^_`{|}~.-", c));
}

static int
domain_char(int c)
{
	return isalnum(c) || c == '.' || c == '-';
}

/*
 * Find the next mailbox-looking token in [p, end) at or after *pos; on
 * success write the normalised address and set *start / *pos.
 */
static int
next_address(const char *p, const char *end, const char **pos,
    const char **start, char *out, size_t outsz)
{
	while (*pos < end) {
		const char *s = *pos;
		const char *at = memchr(s, '@', (size_t)(end - s));
		const char *l, *r;
		struct iw_err e;

		if (at == NULL)
			break;
		l = at;
		while (l > p && local_char((unsigned char)l[-1]) &&
		    at - l < 64)
			l--;
		while (l < at && (*l == '.' || *l == '/' || *l == '='))
			l++;
		r = at + 1;
		while (r < end && domain_char((unsigned char)*r) &&
		    r - at < 255)
			r++;
		while (r > at + 1 && (r[-1] == '.' || r[-1] == '-'))
			r--;
		*pos = r > at + 1 ? r : at + 1;
		if (l == at || r == at + 1)
			continue;
		/* Tokens inside URLs and Message-IDs are not recipients. */
		if (l > p && (l[-1] == '/' || l[-1] == ':' ) &&
		    !(l - p >= 7 && strncasecmp(l - 7, "mailto:", 7) == 0))
			continue;
		if (iw_mailbox_normalize(l, (size_t)(r - l), out, outsz,
		    &e) != 0)
			continue;
		if (memchr(at + 1, '.', (size_t)(r - at - 1)) == NULL &&
		    at[1] != '[')
			continue;
		*start = l;
		return 0;
	}
	*pos = end;
	return -1;
}

/* First valid address in a header value. */
static int
first_address(const char *v, char *out, size_t outsz)
{
	const char *pos, *start;

	out[0] = '\0';
	if (v == NULL)
		return -1;
	pos = v;
	return next_address(v, v + strlen(v), &pos, &start, out, outsz);
}

/* ---------------------------------------------------------- recipients */

static struct iw_bounce_rcpt *
rcpt_add(struct ctx *c)
{
	struct iw_bounce *b = c->b;
	struct iw_bounce_rcpt *r;

	if (b->nrcpt >= IW_BOUNCE_MAX_RCPT)
		return NULL;
	if (b->rcpt == NULL) {
		b->rcpt = calloc(IW_BOUNCE_MAX_RCPT, sizeof(*b->rcpt));
		if (b->rcpt == NULL) {
			c->oom = 1;
			return NULL;
		}
	}
	r = &b->rcpt[b->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->cls = IW_BOUNCE_UNDETERMINED;
	return r;
}

/*
 * Copy text into a diagnostic: whitespace runs become one space, control
 * bytes and invalid UTF-8 become '?', cut on a character boundary.
 */
static void
set_diag(char *out, size_t outsz, const char *p, size_t n)
{
	size_t o = 0;
	int sp = 1;

	for (size_t i = 0; i < n && o + 1 < outsz;) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
			if (!sp)
				out[o++] = ' ';
			sp = 1;
			i++;
			continue;
		}
		sp = 0;
		if (ch < 0x20 || ch == 0x7f) {
			out[o++] = '?';
			i++;
			continue;
		}
		if (ch < 0x80) {
			out[o++] = (char)ch;
			i++;
			continue;
		}
		{
			size_t k = ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 :
			    ch >= 0xc2 ? 2 : 0;

			if (k == 0 || i + k > n || !iw_utf8_valid(p + i, k)) {
				out[o++] = '?';
				i++;
				continue;
			}
			if (o + k + 1 > outsz)
				break;
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* "rfc822; user@example.org" -> address, validated. */
static void
dsn_address(const char *v, char *out, size_t outsz)
{
	const char *semi = strchr(v, ';');

	first_address(semi != NULL ? semi + 1 : v, out, outsz);
}

/* "smtp; 550 ..." / "dns; mx.example.org" -> the part after the type. */
static const char *
after_type(const char *v)
{
	const char *semi = strchr(v, ';');

	if (semi != NULL && semi - v < 16) {
		v = semi + 1;
		while (*v == ' ')
			v++;
	}
	return v;
}

static int
is_status_code(const char *s, size_t *len)
{
	size_t i = 0, d;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	if (s[1] != '.')
		return 0;
	/* RFC 3463 subjects are 0..7: "2.753.1" is a version number */
	if (s[2] < '0' || s[2] > '7' || s[3] != '.')
		return 0;
	i = 3;
	i++;
	for (d = 0; isdigit((unsigned char)s[i]) && d < 4; d++)
		i++;
	if (d == 0 || d > 3)
		return 0;
	if (s[i] == '.' && isdigit((unsigned char)s[i + 1]))
		return 0;
	*len = i;
	return 1;
}

/*
 * The first RFC 3463 code in [p, end) of class 4 or 5 (else of class 2),
 * not part of an IP address or version number.
 */
static int reply_at(const char *s, const char *p, const char *end);

/* 1 if a reply code ("550 ", "550-", "550-'") stands right before s. */
static int
after_reply(const char *s, const char *p)
{
	for (int skip = 1; skip <= 2; skip++) {
		const char *r = s - 3 - skip;

		if (r < p)
			return 0;
		if (reply_at(r, p, s) >= 400 && (r[3] == ' ' || r[3] == '-'))
			return 1;
	}
	return 0;
}

static const char *
find_status(const char *p, const char *end, char *out, size_t outsz)
{
	const char *found2 = NULL, *first = NULL;
	size_t len2 = 0, len1 = 0;

	for (const char *s = p; s + 5 <= end; s++) {
		size_t len;

		if (*s != '2' && *s != '4' && *s != '5')
			continue;
		if (s > p && (isalnum((unsigned char)s[-1]) || s[-1] == '.' ||
		    s[-1] == '-' || s[-1] == '/'))
			continue;
		if (!is_status_code(s, &len) || s + len > end)
			continue;
		if (*s == '2') {
			if (found2 == NULL) {
				found2 = s;
				len2 = len;
			}
			continue;
		}
		if (after_reply(s, p)) {
			iw_strlcpy_n(out, outsz, s, len);
			return s;
		}
		if (first == NULL) {
			first = s;
			len1 = len;
		}
	}
	if (first != NULL) {
		iw_strlcpy_n(out, outsz, first, len1);
		return first;
	}
	if (found2 != NULL) {
		iw_strlcpy_n(out, outsz, found2, len2);
		return found2;
	}
	out[0] = '\0';
	return NULL;
}

static int
reply_at(const char *s, const char *p, const char *end)
{
	if (s + 3 > end || (*s != '4' && *s != '5' && *s != '2'))
		return 0;
	if (!isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
		return 0;
	if (s[1] > '5')
		return 0;
	if (s > p && (isalnum((unsigned char)s[-1]) || s[-1] == '.' ||
	    s[-1] == '-' || s[-1] == '/' || s[-1] == '#' || s[-1] == '+' ||
	    s[-1] == ':'))
		return 0;
	if (s + 3 < end && s[3] != ' ' && s[3] != '-' && s[3] != '\n' &&
	    s[3] != ')' && s[3] != ']' && s[3] != ':' && s[3] != ',')
		return 0;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/* An SMTP reply code: preferably the one right before the status code. */
static int
find_reply(const char *p, const char *end, const char *status_at)
{
	int first2 = 0;

	if (status_at != NULL && status_at - p >= 4) {
		int r = reply_at(status_at - 4, p, end);

		if (r >= 400)
			return r;
	}
	for (const char *s = p; s + 3 <= end; s++) {
		int r = reply_at(s, p, end);

		if (r >= 400)
			return r;
		if (r >= 200 && first2 == 0)
			first2 = r;
	}
	return 0;
}

/* ------------------------------------------------------------- reasons */

struct phrase {
	const char *text;	/* lower case */
	const char *reason;
};

/*
 * What mail systems write, most specific first.  Learnt from the bounce
 * texts of the common MTAs and mailbox providers.
 */
static const struct phrase phrases[] = {
	/* local delivery agents failing, whatever they then say */
	{ "procmail:", "mailererror" },
	{ "domain may not exist", "hostunknown" },
	{ "too many recipients", "speeding" },
	/* the sender, not the recipient, was refused */
	{ "sender was rejected", "rejected" },
	{ "sender address rejected", "rejected" },
	{ "sender rejected", "rejected" },
	{ "sender verify failed", "rejected" },
	{ "domain of sender address", "rejected" },
	{ "sender domain must exist", "rejected" },
	{ "envelope sender", "rejected" },
	{ "invalid sender", "rejected" },
	{ "sender is not allowed", "rejected" },
	{ "not allowed to send", "rejected" },
	{ "mail from not owned", "rejected" },
	/* authentication of our mail */
	{ "dmarc", "authfailure" },
	{ "spf ", "authfailure" },
	{ "spf:", "authfailure" },
	{ "spf)", "authfailure" },
	{ "sender policy framework", "authfailure" },
	{ "dkim", "authfailure" },
	{ "unauthenticated email", "authfailure" },
	{ "not authenticated", "authfailure" },
	/* our IP / reputation */
	{ "reverse dns", "requireptr" },
	{ "ptr record", "requireptr" },
	{ "reverse lookup", "requireptr" },
	{ "no ptr", "requireptr" },
	{ "cannot find your hostname", "requireptr" },
	{ "cannot resolve your address", "requireptr" },
	{ "does not have a reverse", "requireptr" },
	{ "no reverse", "requireptr" },
	{ "reverse hostname", "requireptr" },
	{ "rdns", "requireptr" },
	{ "relay access denied", "norelaying" },
	{ "relaying denied", "norelaying" },
	{ "relay not permitted", "norelaying" },
	{ "not permitted to relay", "norelaying" },
	{ "unable to relay", "norelaying" },
	{ "we do not relay", "norelaying" },
	{ "relay denied", "norelaying" },
	{ "virus", "virusdetected" },
	{ "malware", "virusdetected" },
	{ "spamhaus", "blocked" },
	{ "blacklist", "blocked" },
	{ "blocklist", "blocked" },
	{ "block list", "blocked" },
	{ "dnsbl", "blocked" },
	{ "rbl", "blocked" },
	{ "client host rejected", "blocked" },
	{ "poor reputation", "badreputation" },
	{ "bad reputation", "badreputation" },
	{ "reputation", "badreputation" },
	{ "spam", "spamdetected" },
	{ "junk mail", "spamdetected" },
	{ "unsolicited", "spamdetected" },
	{ "too many connections", "toomanyconn" },
	{ "too many concurrent", "toomanyconn" },
	{ "connection rate", "toomanyconn" },
	{ "rate limit", "speeding" },
	{ "too many messages", "speeding" },
	/* the address is dead */
	{ "recipient address rejected: access denied", "userunknown" },
	{ "user unknown", "userunknown" },
	{ "unknown user", "userunknown" },
	{ "user is unknown", "userunknown" },
	{ "unknown recipient", "userunknown" },
	{ "recipient unknown", "userunknown" },
	{ "no such user", "userunknown" },
	{ "no such mailbox", "userunknown" },
	{ "no such recipient", "userunknown" },
	{ "no such account", "userunknown" },
	{ "no such person", "userunknown" },
	{ "no mailbox", "userunknown" },
	{ "mailbox not found", "userunknown" },
	{ "mailbox does not exist", "userunknown" },
	{ "user not found", "userunknown" },
	{ "recipient not found", "userunknown" },
	{ "address not found", "userunknown" },
	{ "account does not exist", "userunknown" },
	{ "address does not exist", "userunknown" },
	{ "user does not exist", "userunknown" },
	{ "user doesn't exist", "userunknown" },
	{ "doesn't have a", "userunknown" },
	{ "not a valid mailbox", "userunknown" },
	{ "invalid mailbox", "userunknown" },
	{ "invalid recipient", "userunknown" },
	{ "bad recipient", "userunknown" },
	{ "unknown address", "userunknown" },
	{ "unknown local part", "userunknown" },
	{ "unrouteable address", "hostunknown" },
	{ "unroutable address", "hostunknown" },
	{ "unroutable sender", "rejected" },
	{ "addressee unknown", "userunknown" },
	{ "unknown or illegal alias", "userunknown" },
	{ "no valid recipients", "userunknown" },
	{ "recipient rejected", "userunknown" },
	{ "not listed in", "userunknown" },
	{ "no longer available", "userunknown" },
	{ "invalid address", "userunknown" },
	{ "invalid user", "userunknown" },
	{ "invalid final delivery userid", "userunknown" },
	{ "recipient name is not recognized", "userunknown" },
	{ "no such local user", "userunknown" },
	{ "user not exist", "userunknown" },
	{ "is not a known user", "userunknown" },
	{ "unknown mailbox", "userunknown" },
	/* the domain is dead */
	{ "host not found", "hostunknown" },
	{ "dns lookup failure", "hostunknown" },
	{ "domain is not reachable", "hostunknown" },
	{ "host unknown", "hostunknown" },
	{ "unknown host", "hostunknown" },
	{ "domain not found", "hostunknown" },
	{ "no such domain", "hostunknown" },
	{ "domain does not exist", "hostunknown" },
	{ "unrouteable mail domain", "hostunknown" },
	{ "name or service not known", "hostunknown" },
	{ "host or domain name not found", "hostunknown" },
	{ "unknown domain", "hostunknown" },
	{ "nxdomain", "hostunknown" },
	{ "non-existent host", "hostunknown" },
	{ "null mx", "notaccept" },
	{ "no smtp service", "notaccept" },
	{ "no mx record", "notaccept" },
	{ "no mx found", "notaccept" },
	{ "permission to post", "rejected" },
	{ "does not accept mail", "notaccept" },
	{ "not accepting mail", "notaccept" },
	{ "accepts no mail", "notaccept" },
	{ "has moved", "hasmoved" },
	{ "address has changed", "hasmoved" },
	/* the mailbox is there but cannot take it now */
	{ "mailbox full", "mailboxfull" },
	{ "mailbox is full", "mailboxfull" },
	{ "mailbox is over", "mailboxfull" },
	{ "full mailbox", "mailboxfull" },
	{ "relay quota", "blocked" },
	{ "invalid ip for sending", "blocked" },
	{ "folder is full", "mailboxfull" },
	{ "over quota", "mailboxfull" },
	{ "overquota", "mailboxfull" },
	{ "quota", "mailboxfull" },
	{ "exceeded storage", "mailboxfull" },
	{ "mailbox size limit", "mailboxfull" },
	{ "too much mail", "mailboxfull" },
	{ "insufficient storage", "mailboxfull" },
	{ "account disabled", "suspend" },
	{ "account has been disabled", "suspend" },
	{ "account is disabled", "suspend" },
	{ "mailbox disabled", "suspend" },
	{ "is disabled", "suspend" },
	{ "suspended", "suspend" },
	{ "deactivated", "suspend" },
	{ "inactive", "suspend" },
	{ "not active", "suspend" },
	{ "temporarily disabled", "suspend" },
	/* gave up */
	{ "retry timeout exceeded", "expired" },
	{ "retry time not reached", "expired" },
	{ "message expired", "expired" },
	{ "has expired", "expired" },
	{ "delivery time expired", "expired" },
	{ "been in the queue too long", "expired" },
	{ "could not be delivered within", "expired" },
	{ "was not delivered within", "expired" },
	{ "message timed out", "expired" },
	{ "delivery expired", "expired" },
	{ "giving up", "expired" },
	{ "envelope expired", "expired" },
	{ "will be retried", "expired" },
	{ "requests to connect", "expired" },
	{ "network error", "networkerror" },
	{ "account is locked", "suspend" },
	{ "exceeded the local limit", "mailboxfull" },
	/* the message itself */
	{ "message too large", "mesgtoobig" },
	{ "message is too large", "mesgtoobig" },
	{ "message size exceeds", "mesgtoobig" },
	{ "exceeds the maximum size", "mesgtoobig" },
	{ "size limit", "mesgtoobig" },
	{ "too big", "mesgtoobig" },
	{ "exceeded the maximum", "exceedlimit" },
	{ "routing loop", "networkerror" },
	{ "mail loop", "networkerror" },
	{ "too many hops", "networkerror" },
	{ "loop detected", "networkerror" },
	{ "loops back to myself", "systemerror" },
	{ "connection refused", "networkerror" },
	{ "connection timed out", "networkerror" },
	{ "no route to host", "networkerror" },
	{ "network is unreachable", "networkerror" },
	{ "local configuration error", "systemerror" },
	{ "system error", "systemerror" },
	{ "internal error", "systemerror" },
	{ "mailer error", "mailererror" },
	{ "command died", "mailererror" },
	{ "exited with", "mailererror" },
	{ "starttls", "securityerror" },
	{ "tls required", "securityerror" },
	{ "authentication required", "securityerror" },
	{ "policy", "policyviolation" },
	{ "prohibited", "policyviolation" },
	{ "blocked", "blocked" },
	{ "listed", "blocked" },
	{ "access denied", "rejected" },
	{ "filtered", "filtered" },
	{ "syntax error", "syntaxerror" },
	{ "temporary locked", "suspend" },
	{ "on hold", "onhold" },
	{ "disabled recipient", "suspend" },
};

/* Said of many causes: used only when the code says nothing better. */
static const struct phrase weak_phrases[] = {
	{ "does not exist", "userunknown" },
	{ "doesn't exist", "userunknown" },
	{ "mailbox unavailable", "userunknown" },
	{ "mailbox is unavailable", "userunknown" },
	{ "address rejected", "userunknown" },
};

static const char *
reason_from_text(const char *lower)
{
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (strstr(lower, phrases[i].text) != NULL)
			return phrases[i].reason;
	return NULL;
}

static const char *
weak_reason(const char *text)
{
	char *lower = lower_dup(text, strlen(text));
	const char *r = NULL;

	if (lower == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(weak_phrases) / sizeof(weak_phrases[0]);
	    i++)
		if (strstr(lower, weak_phrases[i].text) != NULL) {
			r = weak_phrases[i].reason;
			break;
		}
	free(lower);
	return r;
}

struct code_reason {
	const char *code;	/* exact code, or "5.7." style prefix */
	const char *reason;
};

static const struct code_reason code_reasons[] = {
	{ "5.1.1", "userunknown" }, { "5.1.0", "userunknown" },
	{ "5.1.2", "hostunknown" }, { "5.1.3", "userunknown" },
	{ "5.1.4", "userunknown" }, { "5.1.6", "hasmoved" },
	{ "5.1.7", "rejected" }, { "5.1.8", "rejected" },
	{ "5.1.10", "userunknown" }, { "5.1.351", "userunknown" },
	{ "5.2.0", "filtered" }, { "5.2.1", "suspend" },
	{ "5.2.2", "mailboxfull" }, { "4.2.2", "mailboxfull" },
	{ "5.2.3", "exceedlimit" }, { "5.3.0", "systemerror" },
	{ "5.3.1", "systemfull" }, { "5.3.2", "notaccept" },
	{ "5.3.4", "mesgtoobig" }, { "5.4.4", "hostunknown" },
	{ "5.4.6", "networkerror" }, { "4.4.6", "networkerror" },
	{ "5.4.7", "expired" }, { "4.4.7", "expired" },
	{ "4.4.1", "networkerror" }, { "5.4.1", "networkerror" },
	{ "5.5.", "syntaxerror" }, { "5.6.", "contenterror" },
	{ "5.7.25", "requireptr" }, { "5.7.26", "authfailure" },
	{ "5.7.23", "authfailure" }, { "5.7.509", "authfailure" },
	{ "5.7.27", "authfailure" }, { "5.7.9", "policyviolation" },
	{ "5.7.606", "blocked" }, { "5.7.", "securityerror" },
	{ "4.7.", "blocked" },
};

static const char *
reason_from_code(const char *status)
{
	for (size_t i = 0; i < sizeof(code_reasons) / sizeof(code_reasons[0]);
	    i++) {
		const char *c = code_reasons[i].code;
		size_t n = strlen(c);

		if (c[n - 1] == '.' ? strncmp(status, c, n) == 0 :
		    strcmp(status, c) == 0)
			return code_reasons[i].reason;
	}
	return NULL;
}

/* Sisimai-compatible pseudo codes for a reason without a code. */
static const struct phrase pseudo[] = {
	{ "911", "userunknown" }, { "912", "hostunknown" },
	{ "922", "mailboxfull" }, { "921", "suspend" },
	{ "918", "rejected" }, { "910", "filtered" }, { "947", "expired" },
	{ "971", "blocked" }, { "932", "notaccept" }, { "939", "mailererror" },
	{ "934", "mesgtoobig" }, { "944", "networkerror" },
	{ "980", "spamdetected" }, { "973", "requireptr" },
	{ "916", "hasmoved" }, { "923", "exceedlimit" },
	{ "909", "norelaying" }, { "930", "systemerror" },
	{ "931", "systemfull" }, { "945", "toomanyconn" },
	{ "960", "contenterror" }, { "970", "securityerror" },
	{ "972", "policyviolation" }, { "902", "syntaxerror" },
	{ "900", "undefined" },
};

static const char *
pseudo_code(const char *reason)
{
	for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
		if (strcmp(pseudo[i].reason, reason) == 0)
			return pseudo[i].text;
	return "900";
}

static enum iw_bounce_class
class_of_reason(const char *reason)
{
	static const char *hard[] = { "userunknown", "hostunknown",
	    "hasmoved", "notaccept" };
	static const char *soft[] = { "mailboxfull", "suspend", "expired",
	    "exceedlimit", "systemfull", "filtered", "networkerror",
	    "systemerror", "mailererror" };
	static const char *ours[] = { "rejected", "blocked", "spamdetected",
	    "policyviolation", "authfailure", "requireptr", "securityerror",
	    "norelaying", "virusdetected", "badreputation", "contenterror",
	    "mesgtoobig", "toomanyconn", "speeding", "syntaxerror",
	    "notcompliantrfc" };

	for (size_t i = 0; i < sizeof(hard) / sizeof(hard[0]); i++)
		if (strcmp(reason, hard[i]) == 0)
			return IW_BOUNCE_HARD;
	for (size_t i = 0; i < sizeof(soft) / sizeof(soft[0]); i++)
		if (strcmp(reason, soft[i]) == 0)
			return IW_BOUNCE_SOFT;
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (strcmp(reason, ours[i]) == 0)
			return IW_BOUNCE_OURS;
	return IW_BOUNCE_UNDETERMINED;
}

/*
 * Settle status, reason and class of one recipient from what was found:
 * the explicit Status, the diagnostic text and (for body bounces) the text
 * read around the address.
 */
static const char *const after_data[] = { "end of data", "data command",
    "final data", "after data", "in reply to data" };

/*
 * The failure came after DATA: a "user unknown" there is a filter.  In a
 * transcript the command is the last ">>> " line before the first error.
 */
static int
is_after_data(const char *text)
{
	const char *last = NULL;

	for (size_t i = 0; i < sizeof(after_data) / sizeof(after_data[0]); i++)
		if (find_ci(text, after_data[i]) != NULL)
			return 1;
	for (const char *p = text; *p != '\0'; ) {
		const char *e = strchr(p, '\n');

		if (e == NULL)
			e = p + strlen(p);
		if (strncmp(p, ">>> ", 4) == 0)
			last = p + 4;
		else if (strncmp(p, "<<< ", 4) == 0 && (p[4] == '4' ||
		    p[4] == '5'))
			/* pipelined: a 503 to DATA means RCPT failed */
			return last != NULL && starts_ci(last, "data") &&
			    strstr(p, "<<< 503") == NULL;
		p = *e != '\0' ? e + 1 : e;
	}
	return 0;
}

/*
 * "user unknown" proves a dead address only when it answered RCPT (or came
 * with a *.1.x status).  Said after DATA, or where the command is unknown,
 * it is often a content filter's wording; Sisimai, whose labels the corpus
 * follows, calls that "filtered" (not hard), and so do we: such an address
 * is suppressed only after bounces.soft_limit soft bounces.
 */
static int
is_after_data_near(const char *near)
{
	return near != NULL && is_after_data(near);
}

static int
said_at_rcpt(const char *text)
{
	static const char *const rcpt[] = { "in reply to rcpt", "after rcpt",
	    "rcpt to command", ">>> rcpt", "rcpt to:<", "rcpt to: <",
	    "[rcpt_to]", "smtp:rcpt" };

	if (text == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(rcpt) / sizeof(rcpt[0]); i++)
		if (find_ci(text, rcpt[i]) != NULL)
			return 1;
	return 0;
}

static void
finish_rcpt_at(struct iw_bounce_rcpt *r, const char *context,
    const char *near, int at_rcpt)
{
	char code[IW_BOUNCE_STATUS_MAX] = "";
	const char *at, *reason = NULL;
	char *lower;
	const char *text = context != NULL ? context : r->diagnostic;

	at = find_status(r->diagnostic, r->diagnostic + strlen(r->diagnostic),
	    code, sizeof(code));
	if (r->reply_code == 0)
		r->reply_code = find_reply(r->diagnostic,
		    r->diagnostic + strlen(r->diagnostic), at);
	/* A vague Status gives way to the precise one in the reply. */
	if (code[0] != '\0' && (r->status[0] == '\0' ||
	    strcmp(code + 1, ".0.0") != 0))
		iw_strlcpy(r->status, code, sizeof(r->status));
	if (r->status[0] == '\0' && context != NULL) {
		at = find_status(context, context + strlen(context), code,
		    sizeof(code));
		if (code[0] != '\0')
			iw_strlcpy(r->status, code, sizeof(r->status));
	}
	if (text == r->diagnostic && at != NULL && at > text + 4)
		text = at - 4;	/* the reply, not what the relay said about it */
	lower = lower_dup(text, strlen(text));
	if (lower != NULL) {
		reason = reason_from_text(lower);
		free(lower);
	}
	if (reason == NULL && text != r->diagnostic) {
		lower = lower_dup(r->diagnostic, strlen(r->diagnostic));
		if (lower != NULL) {
			reason = reason_from_text(lower);
			free(lower);
		}
	}
	if (reason == NULL && near != NULL) {
		lower = lower_dup(near, strlen(near));
		if (lower != NULL) {
			reason = reason_from_text(lower);
			free(lower);
		}
	}
	if (reason != NULL && strcmp(reason, "userunknown") == 0 &&
	    strncmp(r->status, "5.1.", 4) != 0 && !at_rcpt &&
	    (is_after_data(r->diagnostic) || is_after_data_near(near) ||
	    (!said_at_rcpt(r->diagnostic) && !said_at_rcpt(near) &&
	    !said_at_rcpt(context))))
		reason = "filtered";
	if (reason == NULL && r->status[0] != '\0' &&
	    strcmp(r->status + 1, ".0.0") != 0)
		reason = reason_from_code(r->status);
	if (reason == NULL)
		reason = weak_reason(r->diagnostic);
	if (reason == NULL && near != NULL)
		reason = weak_reason(near);
	if (reason == NULL && r->status[0] != '\0')
		reason = reason_from_code(r->status);
	if (strcasecmp(r->action, "delivered") == 0 ||
	    strcasecmp(r->action, "relayed") == 0 ||
	    strcasecmp(r->action, "expanded") == 0 || r->status[0] == '2') {
		r->cls = IW_BOUNCE_DELIVERED;
		iw_strlcpy(r->reason, "delivered", sizeof(r->reason));
		return;
	}
	if (reason == NULL)
		reason = "undefined";
	iw_strlcpy(r->reason, reason, sizeof(r->reason));
	if (r->status[0] == '\0') {
		int temp = r->reply_code / 100 == 4 ||
		    strcasecmp(r->action, "delayed") == 0 ||
		    find_ci(text, "temporary failure") != NULL ||
		    (near != NULL && find_ci(near, "temporary failure") != NULL);

		r->status[0] = temp ? '4' : '5';
		r->status[1] = '\0';
		iw_strlcpy(r->status + 1, ".0.", sizeof(r->status) - 1);
		iw_strlcpy(r->status + 4, pseudo_code(reason),
		    sizeof(r->status) - 4);
	}
	if (strcasecmp(r->action, "delayed") == 0) {
		r->cls = IW_BOUNCE_TRANSIENT;
		return;
	}
	r->cls = class_of_reason(reason);
	/* a temporary code never proves an address dead */
	if (r->cls == IW_BOUNCE_HARD && r->status[0] == '4')
		r->cls = IW_BOUNCE_SOFT;
	if (r->cls == IW_BOUNCE_UNDETERMINED && r->status[0] == '4' &&
	    r->action[0] == '\0')
		r->cls = IW_BOUNCE_TRANSIENT;
	/* A body bounce names no Action: say what it reported. */
	if (r->action[0] == '\0')
		iw_strlcpy(r->action, r->cls == IW_BOUNCE_TRANSIENT ?
		    "delayed" : "failed", sizeof(r->action));
}

static void
finish_rcpt(struct iw_bounce_rcpt *r, const char *context, const char *near)
{
	finish_rcpt_at(r, context, near, 0);
}

/* ---------------------------------------------------------------- DSN */

/*
 * Read RFC 3464 fields.  Recipient blocks are normally separated by blank
 * lines; a second Final-Recipient in one block also starts a new one.
 */
static void
parse_dsn(struct ctx *c, const char *p, const char *end)
{
	struct hdrs h = { NULL, 0, 0 };
	struct iw_bounce_rcpt *r = NULL;
	int have_final = 0;

	while (p < end) {
		const char *q;

		while (p < end && *p == '\n')
			p++;
		if (p >= end)
			break;
		q = parse_headers(p, end, &h, &c->oom);
		if (q == p) {	/* not a field line: skip it */
			p = next_line(p, end);
			continue;
		}
		p = q;
		r = NULL;
		have_final = 0;
		for (size_t i = 0; i < h.n; i++) {
			const char *n = h.v[i].name, *v = h.v[i].value;
			int is_final = strcasecmp(n, "Final-Recipient") == 0;
			int is_orig = strcasecmp(n, "Original-Recipient") == 0;

			if (strcasecmp(n, "Original-Envelope-Id") == 0) {
				iw_strlcpy(c->b->envid, v, sizeof(c->b->envid));
				continue;
			}
			/* PowerMTA's own verdict on the address */
			if (strcasecmp(n, "X-PowerMTA-BounceCategory") == 0 &&
			    strcasecmp(v, "bad-mailbox") == 0) {
				c->strong_userunknown = 1;
				continue;
			}
			if (strcasecmp(n, "Reporting-MTA") == 0) {
				iw_strlcpy(c->b->reporting_mta, after_type(v),
				    sizeof(c->b->reporting_mta));
				continue;
			}
			if (is_final || is_orig) {
				if (r == NULL || (is_final && have_final)) {
					r = rcpt_add(c);
					have_final = 0;
					if (r == NULL)
						break;
				}
				if (is_final) {
					char a[IW_BOUNCE_ADDR_MAX];

					have_final = 1;
					dsn_address(v, a, sizeof(a));
					if (a[0] != '\0' || r->address[0] == '\0')
						iw_strlcpy(r->address, a,
						    sizeof(r->address));
				} else if (r->address[0] == '\0') {
					dsn_address(v, r->address,
					    sizeof(r->address));
				}
				continue;
			}
			if (r == NULL)
				continue;
			if (strcasecmp(n, "Action") == 0) {
				size_t k = 0;

				while (v[k] != '\0' && v[k] != ' ' &&
				    v[k] != '(' && k + 1 < sizeof(r->action)) {
					r->action[k] = (char)lc(v[k]);
					k++;
				}
				r->action[k] = '\0';
			} else if (strcasecmp(n, "Status") == 0) {
				size_t len;
				const char *s = v;

				while (*s != '\0' && !isdigit((unsigned char)*s))
					s++;
				if (is_status_code(s, &len))
					iw_strlcpy_n(r->status,
					    sizeof(r->status), s, len);
			} else if (strcasecmp(n, "Diagnostic-Code") == 0) {
				const char *d = after_type(v);

				set_diag(r->diagnostic, sizeof(r->diagnostic),
				    d, strlen(d));
			} else if (strcasecmp(n, "Remote-MTA") == 0) {
				const char *d = after_type(v);

				set_diag(r->remote_mta, sizeof(r->remote_mta),
				    d, strlen(d));
			}
		}
		hdrs_free(&h);
	}
	hdrs_free(&h);
	if (c->b->nrcpt > 0)
		c->b->is_dsn = 1;
}

/* RFC 5965 machine-readable part. */
static void
parse_arf(struct ctx *c, const char *p, const char *end)
{
	struct hdrs h = { NULL, 0, 0 };
	const char *v;

	parse_headers(p, end, &h, &c->oom);
	c->arf = 1;
	if ((v = hdr_get(&h, "Original-Rcpt-To")) != NULL)
		first_address(v, c->arf_rcpt, sizeof(c->arf_rcpt));
	else if ((v = hdr_get(&h, "Removal-Recipient")) != NULL)
		first_address(v, c->arf_rcpt, sizeof(c->arf_rcpt));
	hdrs_free(&h);
}

/* The headers of the returned message: Message-ID, To, From. */
static void
parse_returned(struct ctx *c, const char *p, const char *end)
{
	struct hdrs h = { NULL, 0, 0 };
	const char *v;

	if (c->have_returned)
		return;
	parse_headers(p, end, &h, &c->oom);
	if (h.n == 0) {
		hdrs_free(&h);
		return;
	}
	c->have_returned = 1;
	if ((v = hdr_get(&h, "Message-ID")) != NULL)
		set_diag(c->b->orig_message_id, sizeof(c->b->orig_message_id),
		    v, strlen(v));
	if ((v = hdr_get(&h, "To")) != NULL)
		first_address(v, c->orig_to, sizeof(c->orig_to));
	if ((v = hdr_get(&h, "From")) != NULL)
		first_address(v, c->orig_from, sizeof(c->orig_from));
	hdrs_free(&h);
}

/* ---------------------------------------------------------------- MIME */

static void walk(struct ctx *c, const char *body, const char *end,
    const struct hdrs *h, int depth);

struct part {
	const char *p, *end;
};

static int
is_delimiter(const char *p, const char *e, const char *bd, size_t bl)
{
	if (e - p < (long)bl + 2 || p[0] != '-' || p[1] != '-' ||
	    memcmp(p + 2, bd, bl) != 0)
		return 0;
	p += bl + 2;
	if (e - p >= 2 && p[0] == '-' && p[1] == '-')
		return 2;
	return blank_line(p, e) ? 1 : 0;
}

/* Split a multipart body into its parts; 0 parts when no delimiter. */
static size_t
split_parts(const char *p, const char *end, const char *bd,
    struct part *parts, size_t max)
{
	size_t bl = strlen(bd), n = 0;
	const char *start = NULL;

	while (p < end) {
		const char *e = line_end(p, end);
		int d = is_delimiter(p, e, bd, bl);

		if (d != 0) {
			if (start != NULL && n < max) {
				parts[n].p = start;
				parts[n].end = p > start ? p - 1 : p;
				n++;
			}
			if (d == 2)
				return n;
			start = next_line(p, end);
		}
		p = next_line(p, end);
	}
	if (start != NULL && n < max && start < end) {
		parts[n].p = start;
		parts[n].end = end;
		n++;
	}
	return n;
}

static void
walk_multipart(struct ctx *c, const char *body, const char *end,
    const char *type, const char *bd, int depth)
{
	struct part *parts = calloc(MAX_PARTS, sizeof(*parts));
	size_t n;
	int alt = strcmp(type, "multipart/alternative") == 0, have_plain = 0;

	if (parts == NULL) {
		c->oom = 1;
		return;
	}
	n = split_parts(body, end, bd, parts, MAX_PARTS);
	for (int pass = 0; pass < (alt ? 2 : 1); pass++) {
		for (size_t i = 0; i < n; i++) {
			struct hdrs ph = { NULL, 0, 0 };
			const char *pb = parse_headers(parts[i].p, parts[i].end,
			    &ph, &c->oom);
			char pt[64];

			ct_type(hdr_get(&ph, "Content-Type"), pt, sizeof(pt));
			if (alt && pass == 0) {
				if (pt[0] == '\0' || strcmp(pt, "text/plain") == 0)
					have_plain = 1;
			} else if (!alt || !have_plain ||
			    strcmp(pt, "text/html") != 0) {
				walk(c, pb, parts[i].end, &ph, depth + 1);
			}
			hdrs_free(&ph);
		}
	}
	if (n == 0)	/* declared multipart, but is not: read as text */
		iw_buf_append(&c->text, body, (size_t)(end - body));
	free(parts);
}

static int
is_text_room(struct ctx *c)
{
	return c->text.len < MAX_TEXT;
}

/* Is the attached message itself a bounce (a forwarded DSN)? */
static int
forwarded_bounce(const char *p, const char *end)
{
	struct hdrs h = { NULL, 0, 0 };
	int oom = 0, yes;
	const char *from, *ct;

	parse_headers(p, end, &h, &oom);
	from = hdr_get(&h, "From");
	ct = hdr_get(&h, "Content-Type");
	yes = (from != NULL && (find_ci(from, "mailer-daemon") != NULL ||
	    find_ci(from, "postmaster") != NULL)) ||
	    (ct != NULL && find_ci(ct, "report-type=delivery-status") != NULL);
	hdrs_free(&h);
	return yes;
}

static void
walk_leaf(struct ctx *c, const char *type, const char *p, const char *end,
    int depth)
{
	if (strcmp(type, "message/delivery-status") == 0 ||
	    strcmp(type, "message/global-delivery-status") == 0 ||
	    strcmp(type, "text/delivery-status") == 0 ||
	    strcmp(type, "message/x-delivery-status") == 0) {
		if (c->b->nrcpt == 0)
			parse_dsn(c, p, end);
		return;
	}
	if (strcmp(type, "message/feedback-report") == 0) {
		parse_arf(c, p, end);
		return;
	}
	if ((strcmp(type, "message/rfc822") == 0 ||
	    strcmp(type, "message/global") == 0) && depth < MAX_DEPTH &&
	    c->b->nrcpt == 0 && !c->have_returned && forwarded_bounce(p, end)) {
		/* a bounce forwarded as an attachment: read the bounce */
		struct hdrs ih = { NULL, 0, 0 };
		const char *ib = parse_headers(p, end, &ih, &c->oom);

		walk(c, ib, end, &ih, depth + 1);
		hdrs_free(&ih);
		return;
	}
	if (strncmp(type, "message/", 8) == 0 ||
	    strcmp(type, "text/rfc822-headers") == 0) {
		parse_returned(c, p, end);
		return;
	}
	if (type[0] != '\0' && strncmp(type, "text/", 5) != 0)
		return;
	if (!is_text_room(c))
		return;
	if (c->text.len > 0)
		iw_buf_putc(&c->text, '\n');
	if (strcmp(type, "text/html") == 0)
		append_html(&c->text, p, (size_t)(end - p));
	else
		iw_buf_append(&c->text, p, (size_t)(end - p));
	if (c->text.len > MAX_TEXT + (size_t)(end - p))
		c->oom = 1;
}

static void
walk(struct ctx *c, const char *body, const char *end, const struct hdrs *h,
    int depth)
{
	const char *ctv = hdr_get(h, "Content-Type");
	const char *cte = hdr_get(h, "Content-Transfer-Encoding");
	char type[64], bd[128];
	struct iw_buf dec = IW_BUF_INIT, norm = IW_BUF_INIT;

	ct_type(ctv, type, sizeof(type));
	if (depth > MAX_DEPTH)
		return;
	if (strncmp(type, "multipart/", 10) == 0 &&
	    ct_param(ctv, "boundary", bd, sizeof(bd)) == 0) {
		walk_multipart(c, body, end, type, bd, depth);
		return;
	}
	if (cte != NULL && (starts_ci(cte, "base64") ||
	    starts_ci(cte, "quoted-printable"))) {
		int rc = starts_ci(cte, "base64") ?
		    decode_base64(&dec, body, (size_t)(end - body)) :
		    decode_qp(&dec, body, (size_t)(end - body));

		if (rc != 0 || normalise(&norm, dec.data != NULL ? dec.data : "",
		    dec.len) != 0) {
			c->oom = 1;
		} else if (norm.len > 0) {
			body = norm.data;
			end = norm.data + norm.len;
		} else {
			body = end = "";
		}
	}
	walk_leaf(c, type, body, end, depth);
	iw_buf_free(&dec);
	iw_buf_free(&norm);
}

/* ---------------------------------------------------------- body bounces */

static const char *const cut_markers[] = {
	"below this line is a copy of the message",
	"this is a copy of the message",
	"this is a copy of the headers",
	"----- original message",
	"-----original message",
	"original message follows",
	"original message headers",
	"message headers follow",
	"unsent message below",
	"header of the original message",
	"original message header",
	"------ received message",
	"returned message follows",
	"--- the header of",
	"the original message was:",
	"----- message header follows",
	"------- returned message",
	"----- returned message",
	"content-type: message/rfc822",
	"following is a copy of the",
	"original message text follows",
};

static const char *const header_starts[] = {
	"return-path:", "received:", "dkim-signature:", "x-received:",
	"arc-seal:", "x-google-dkim-signature:", "authentication-results:",
	"x-google-smtp-source:", "message-id:", "mime-version:",
};

/* Where the returned copy of the original message begins in the text. */
static size_t
find_cut(const char *t, size_t len, size_t *hdr_start)
{
	const char *p = t, *end = t + len;

	while (p < end) {
		const char *e = line_end(p, end);
		size_t n = (size_t)(e - p);
		char line[160];
		size_t k;

		iw_strlcpy_n(line, sizeof(line), p, n);
		for (k = 0; line[k] != '\0'; k++)
			line[k] = (char)lc(line[k]);
		for (k = 0; k < sizeof(cut_markers) / sizeof(cut_markers[0]);
		    k++) {
			if (strstr(line, cut_markers[k]) != NULL) {
				const char *h = next_line(p, end);

				while (h < end && blank_line(h, line_end(h, end)))
					h = next_line(h, end);
				*hdr_start = (size_t)(h - t);
				return (size_t)(p - t);
			}
		}
		for (k = 0; k < sizeof(header_starts) / sizeof(header_starts[0]);
		    k++) {
			if (strncmp(line, header_starts[k],
			    strlen(header_starts[k])) == 0) {
				*hdr_start = (size_t)(p - t);
				return (size_t)(p - t);
			}
		}
		p = next_line(p, end);
	}
	*hdr_start = len;
	return len;
}

/* An address not to be taken for a failed recipient. */
static int
excluded(const struct ctx *c, const char *a)
{
	const struct iw_bounce *b = c->b;

	if (strncasecmp(a, "mailer-daemon@", 14) == 0)
		return 1;
	if (strcasecmp(a, c->top_from) == 0 || strcasecmp(a, c->orig_from) == 0)
		return 1;
	(void)b;
	for (size_t i = 0; i < c->nexcl; i++)
		if (strcasecmp(a, c->excl[i]) == 0)
			return 1;
	return 0;
}

static int
known_rcpt(const struct iw_bounce *b, const char *a)
{
	for (size_t i = 0; i < b->nrcpt; i++)
		if (strcasecmp(b->rcpt[i].address, a) == 0)
			return 1;
	return 0;
}

/* Lines that name the sender or are headers, not failures. */
static int
skip_line(const char *p, const char *e)
{
	static const char *const skip[] = { "from:", "reply-to:", "sender:",
	    "message-id:", "in-reply-to:", "references:", ">>> mail from",
	    "mail from:", "return-path:", "to:", "cc:", "subject:", "sent:",
	    "date:" };
	size_t n = (size_t)(e - p);

	while (n > 0 && (*p == ' ' || *p == '\t' || *p == '>')) {
		p++;
		n--;
	}
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
		size_t k = strlen(skip[i]);

		if (n >= k && strncasecmp(p, skip[i], k) == 0)
			return 1;
	}
	return 0;
}

struct mention {
	size_t off;	/* line start of the first mention in the region */
};

/* A line holding nothing but the address ("<a@b>:", "  a@b"). */
static int
address_only_line(const char *p, const char *e)
{
	size_t n = 0;

	for (; p < e; p++)
		if (!strchr(" \t<>:;,.\"'", *p))
			n++;
		else if (*p == ' ' && n > 0)
			return 0;
	return 1;
}

/* Pick the diagnostic out of a recipient's text: the SMTP reply lines. */
static void
diag_from_segment(struct iw_bounce_rcpt *r, const char *s, const char *end)
{
	char code[IW_BOUNCE_STATUS_MAX];
	const char *at = find_status(s, end, code, sizeof(code));
	const char *from = NULL, *to;
	int lines = 0;

	if (at == NULL) {
		for (const char *q = s; q < end; q = next_line(q, end)) {
			const char *e = line_end(q, end), *t = q;

			while (t < e && (*t == ' ' || *t == '\t' || *t == '<'))
				t++;
			if (reply_at(t, q, e) >= 400) {
				at = t;
				break;
			}
		}
	}
	if (at != NULL) {
		from = at;
		while (from > s && from[-1] != '\n')
			from--;
	} else {
		int paras = 0;

		from = s;
		if (address_only_line(s, line_end(s, end)))
			from = next_line(s, end);
		while (from < end && blank_line(from, line_end(from, end)))
			from = next_line(from, end);
		/* no reply code: the words after the address say it */
		for (to = from; to < end && lines < 8; lines++) {
			const char *e = line_end(to, end);

			if (blank_line(to, e)) {
				if (paras++ > 0 || lines > 2)
					break;
				while (to < end && blank_line(to,
				    line_end(to, end)))
					to = next_line(to, end);
				continue;
			}
			to = next_line(to, end);
		}
		set_diag(r->diagnostic, sizeof(r->diagnostic), from,
		    (size_t)(to - from));
		return;
	}
	for (to = from; to < end && lines < 6; lines++) {
		const char *e = line_end(to, end);

		if (blank_line(to, e))
			break;
		to = next_line(to, end);
	}
	set_diag(r->diagnostic, sizeof(r->diagnostic), from,
	    (size_t)(to - from));
}

static void
scan_body(struct ctx *c, const char *t, size_t len, const char *xfailed)
{
	struct iw_bounce *b = c->b;
	size_t offs[IW_BOUNCE_MAX_RCPT];
	size_t first = b->nrcpt;
	const char *end = t + len;
	const size_t none = (size_t)-1;

	for (size_t i = 0; i < IW_BOUNCE_MAX_RCPT; i++)
		offs[i] = none;
	/* Exim names its failures in a header: trust it. */
	if (xfailed != NULL) {
		const char *pos = xfailed, *st;
		char a[IW_BOUNCE_ADDR_MAX];

		while (next_address(xfailed, xfailed + strlen(xfailed), &pos,
		    &st, a, sizeof(a)) == 0) {
			struct iw_bounce_rcpt *r;

			if (known_rcpt(b, a) || (r = rcpt_add(c)) == NULL)
				continue;
			iw_strlcpy(r->address, a, sizeof(r->address));
		}
	}
	for (const char *p = t; p < end; p = next_line(p, end)) {
		const char *e = line_end(p, end), *pos = p, *st;
		char a[IW_BOUNCE_ADDR_MAX];

		if (skip_line(p, e))
			continue;
		while (next_address(p, e, &pos, &st, a, sizeof(a)) == 0) {
			size_t i;
			struct iw_bounce_rcpt *r;

			if (excluded(c, a))
				continue;
			for (i = first; i < b->nrcpt; i++)
				if (strcasecmp(b->rcpt[i].address, a) == 0)
					break;
			if (i < b->nrcpt) {
				if (offs[i - first] == none)
					offs[i - first] = (size_t)(p - t);
				continue;
			}
			if (xfailed != NULL && b->nrcpt > first)
				continue;
			if ((r = rcpt_add(c)) == NULL)
				break;
			iw_strlcpy(r->address, a, sizeof(r->address));
			offs[b->nrcpt - 1 - first] = (size_t)(p - t);
		}
	}
	for (size_t i = first; i < b->nrcpt; i++) {
		size_t s = offs[i - first], e = len;

		if (s == none)
			s = 0;
		for (size_t j = first; j < b->nrcpt; j++) {
			size_t o = offs[j - first];

			if (o != none && o > s && o < e)
				e = o;
		}
		if (e - s > MAX_SEGMENT)
			e = s + MAX_SEGMENT;
		diag_from_segment(&b->rcpt[i], t + s, t + e);
	}
}

/* ------------------------------------------------------------- message */

static void
add_envelope(struct iw_bounce *b, const char *v)
{
	const char *pos, *st;
	char a[IW_BOUNCE_ADDR_MAX];

	if (v == NULL)
		return;
	pos = v;
	while (b->nenvelope < IW_BOUNCE_MAX_ENVELOPE &&
	    next_address(v, v + strlen(v), &pos, &st, a, sizeof(a)) == 0) {
		size_t i;

		for (i = 0; i < b->nenvelope; i++)
			if (strcasecmp(b->envelope[i], a) == 0)
				break;
		if (i == b->nenvelope)
			iw_strlcpy(b->envelope[b->nenvelope++], a,
			    sizeof(b->envelope[0]));
	}
}

static void
collect_excluded(struct ctx *c, const struct hdrs *h)
{
	static const char *const names[] = { "To", "Delivered-To",
	    "Envelope-To", "X-Envelope-To" };

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		for (size_t i = 0; i < h->n; i++) {
			const char *v = h->v[i].value, *pos = v, *st;
			char a[IW_BOUNCE_ADDR_MAX];

			if (strcasecmp(h->v[i].name, names[k]) != 0)
				continue;
			while (c->nexcl < IW_BOUNCE_MAX_ENVELOPE &&
			    next_address(v, v + strlen(v), &pos, &st, a,
			    sizeof(a)) == 0)
				iw_strlcpy(c->excl[c->nexcl++], a,
				    sizeof(c->excl[0]));
		}
	}
}

static void
collect_envelope(struct iw_bounce *b, const struct hdrs *h)
{
	static const char *const names[] = { "X-Original-To", "Delivered-To",
	    "Envelope-To", "X-Envelope-To", "X-Rcpt-To", "To" };

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		for (size_t i = 0; i < h->n; i++)
			if (strcasecmp(h->v[i].name, names[k]) == 0)
				add_envelope(b, h->v[i].value);
}

static int
has_ci(const char *v, const char *needle)
{
	return v != NULL && find_ci(v, needle) != NULL;
}

/* From a mail system rather than a person. */
static int
bounce_sender(const struct hdrs *h)
{
	const char *from = hdr_get(h, "From"), *subj = hdr_get(h, "Subject");

	return has_ci(from, "mailer-daemon") || has_ci(from, "postmaster") ||
	    has_ci(subj, "undeliver") || has_ci(subj, "delivery status") ||
	    has_ci(subj, "returned mail") || has_ci(subj, "failure notice") ||
	    hdr_get(h, "X-Failed-Recipients") != NULL;
}

static int
is_autoreply(const struct hdrs *h)
{
	const char *as = hdr_get(h, "Auto-Submitted");
	const char *subj = hdr_get(h, "Subject");
	const char *prec = hdr_get(h, "Precedence");
	static const char *const subjects[] = { "auto:", "automatic reply",
	    "auto reply", "autoreply", "auto-reply", "out of office",
	    "out of the office", "vacation", "away from", "abwesend",
	    "absence", "afwezig", "fravær", "frånvaro", "autosvar",
	    "automatisch antwoord", "automatische antwort", "away until" };

	if (has_ci(as, "auto-replied"))
		return 1;
	if (hdr_get(h, "X-Autoreply") != NULL ||
	    hdr_get(h, "X-Autorespond") != NULL ||
	    hdr_get(h, "X-Vacation") != NULL)
		return 1;
	if (has_ci(prec, "auto_reply"))
		return 1;
	for (size_t i = 0; subj != NULL && i < sizeof(subjects) /
	    sizeof(subjects[0]); i++)
		if (has_ci(subj, subjects[i]))
			return 1;
	return 0;
}

/* Signs that a message without DSN fields is a bounce at all. */
static int
looks_like_bounce(const struct hdrs *h, const char *text)
{
	static const char *const from_words[] = { "mailer-daemon", "postmaster",
	    "mail delivery", "mail administrator", "mailer", "daemon",
	    "post_master",
	    "delivery" };
	static const char *const subj_words[] = { "undeliver", "delivery",
	    "returned", "failure", "failed", "bounce", "not delivered",
	    "rejected", "error", "could not", "unable", "notify",
	    "nondeliverable", "non-deliverable", "problem" };
	static const char *const body_words[] = { "qmail-send program",
	    "mail delivery software", "could not be delivered",
	    "transcript of session follows", "delivery has failed",
	    "failed permanently", "unable to deliver", "undeliverable",
	    "was not delivered", "permanent error", "delivery failed",
	    "couldn't be delivered", "not be delivered" };
	const char *from = hdr_get(h, "From"), *subj = hdr_get(h, "Subject");
	const char *rp = hdr_get(h, "Return-Path");

	if (hdr_get(h, "X-Failed-Recipients") != NULL)
		return 1;
	if (rp != NULL && strstr(rp, "<>") != NULL)
		return 1;
	for (size_t i = 0; i < sizeof(from_words) / sizeof(from_words[0]); i++)
		if (has_ci(from, from_words[i]))
			return 1;
	for (size_t i = 0; i < sizeof(subj_words) / sizeof(subj_words[0]); i++)
		if (has_ci(subj, subj_words[i]))
			return 1;
	for (size_t i = 0; i < sizeof(body_words) / sizeof(body_words[0]); i++)
		if (has_ci(text, body_words[i]))
			return 1;
	return 0;
}

/* A DSN pasted into the text rather than sent as its own MIME part. */
static void
inline_dsn(struct ctx *c, const char *t, size_t len)
{
	const char *p = t, *end = t + len;

	while (p < end) {
		const char *e = line_end(p, end);

		if ((size_t)(e - p) > 16 && (starts_ci(p, "Final-Recipient:") ||
		    starts_ci(p, "Original-Recipient:") ||
		    starts_ci(p, "Reporting-MTA:"))) {
			parse_dsn(c, p, end);
			return;
		}
		p = next_line(p, end);
	}
}

/*
 * Per-MTA rules.  The "filtered" rule above (user unknown not said at
 * RCPT) is right for generic MTAs, but some systems word a dead address
 * so that nothing else can be meant, or are known to reject only at RCPT;
 * Sisimai's MTA modules (whose labels the corpus carries) call those
 * userunknown, and so do we: Lotus Domino's directory lookup, Exchange
 * 2003's IMS message, IMail (X-Mailer SMTP32), McAfee's appliance
 * (X-NAI-Header), PowerMTA's bad-mailbox category, Yahoo's and Orange's
 * (France PTT) own "no such account" replies.
 */
static const char *const strong_phrases[] = {
	"not listed in domino directory",
	"not listed in public name & address book",
	"the recipient name is not recognized",
	"adresse destinataire invalide",
	"doesn't have a yahoo.com account",
	"doesn't have a ymail.com account",
};

static int
strong_mta(const struct hdrs *top)
{
	const char *x = hdr_get(top, "X-Mailer");

	return hdr_get(top, "X-NAI-Header") != NULL ||
	    (x != NULL && find_ci(x, "SMTP32") != NULL);
}

static int
strong_phrase(const char *diag)
{
	for (size_t i = 0; i < sizeof(strong_phrases) /
	    sizeof(strong_phrases[0]); i++)
		if (find_ci(diag, strong_phrases[i]) != NULL)
			return 1;
	return 0;
}

static void
mta_rules(struct ctx *c, const struct hdrs *top)
{
	int strong = c->strong_userunknown || strong_mta(top);

	for (size_t i = 0; i < c->b->nrcpt; i++) {
		struct iw_bounce_rcpt *r = &c->b->rcpt[i];
		char *lower;
		const char *why;

		if (strcmp(r->reason, "filtered") != 0 || r->status[0] != '5')
			continue;
		if (!strong && !strong_phrase(r->diagnostic))
			continue;
		if ((lower = lower_dup(r->diagnostic,
		    strlen(r->diagnostic))) == NULL)
			continue;
		why = reason_from_text(lower);
		free(lower);
		if (why == NULL || strcmp(why, "userunknown") != 0)
			continue;
		iw_strlcpy(r->reason, "userunknown", sizeof(r->reason));
		if (strcmp(r->status, "5.0.910") == 0)
			iw_strlcpy(r->status, "5.0.911", sizeof(r->status));
		r->cls = IW_BOUNCE_HARD;
	}
}

static enum iw_bounce_class
message_class(const struct iw_bounce *b)
{
	static const enum iw_bounce_class order[] = { IW_BOUNCE_HARD,
	    IW_BOUNCE_SOFT, IW_BOUNCE_OURS, IW_BOUNCE_TRANSIENT,
	    IW_BOUNCE_DELIVERED };

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (size_t i = 0; i < b->nrcpt; i++)
			if (b->rcpt[i].cls == order[k])
				return order[k];
	return IW_BOUNCE_UNDETERMINED;
}

/*
 * A bounce forwarded as a quoted reply ("> " on every line) is read as if
 * unquoted.  Returns a new string, or NULL when the text is not quoted.
 */
static char *
unquote(const char *t, size_t len, size_t *outlen)
{
	size_t quoted = 0, lines = 0;
	const char *end = t + len;
	struct iw_buf b = IW_BUF_INIT;

	for (const char *p = t; p < end; p = next_line(p, end)) {
		if (blank_line(p, line_end(p, end)))
			continue;
		lines++;
		quoted += *p == '>';
	}
	if (lines < 4 || quoted * 2 < lines)
		return NULL;
	for (const char *p = t; p < end; p = next_line(p, end)) {
		const char *e = line_end(p, end);

		if (p < e && *p == '>') {
			p++;
			if (p < e && *p == ' ')
				p++;
		}
		if (iw_buf_append(&b, p, (size_t)(e - p)) != 0 ||
		    iw_buf_putc(&b, '\n') != 0) {
			iw_buf_free(&b);
			return NULL;
		}
	}
	*outlen = b.len;
	return iw_buf_steal(&b);
}

/* The lines around the first mention of addr in the error text. */
static void
near_text(const char *region, size_t rl, const char *addr, char *out,
    size_t outsz)
{
	const char *end = region + rl, *p, *q;
	int lines = 0, blanks = 0;

	out[0] = '\0';
	if (addr[0] == '\0' || (p = find_ci(region, addr)) == NULL)
		return;
	while (p > region && p[-1] != '\n')
		p--;
	for (q = p; q < end && lines < 12; lines++) {
		const char *e = line_end(q, end);

		if (blank_line(q, e) && ++blanks > 1)
			break;
		q = next_line(q, end);
	}
	iw_strlcpy_n(out, outsz, p, (size_t)(q - p));
}

/* Amazon SES notifications: JSON in the body, not DSN fields. */
static void
json_str(const char *p, const char *end, const char *key, char *out,
    size_t outsz)
{
	char pat[40];
	size_t n = 0;
	const char *k;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	k = find_ci(p, pat);
	if (k == NULL || k >= end)
		return;
	for (k += strlen(pat); k < end && *k != '"' && n + 1 < outsz; k++) {
		if (*k == '\\' && k + 1 < end)
			k++;
		out[n++] = *k;
	}
	out[n] = '\0';
}

static void
parse_ses(struct ctx *c, const char *t, size_t len)
{
	const char *end = t + len, *p, *stop;
	char tmp[IW_BOUNCE_DIAG_MAX];

	if ((p = strstr(t, "\"bouncedRecipients\":[")) != NULL) {
		stop = strchr(p, ']');
		if (stop == NULL)
			stop = end;
		while ((p = strstr(p, "{")) != NULL && p < stop) {
			const char *oe = strchr(p, '}');
			struct iw_bounce_rcpt *r;

			if (oe == NULL || oe > stop)
				oe = stop;
			if ((r = rcpt_add(c)) == NULL)
				return;
			json_str(p, oe, "emailAddress", tmp, sizeof(tmp));
			first_address(tmp, r->address, sizeof(r->address));
			json_str(p, oe, "action", r->action, sizeof(r->action));
			json_str(p, oe, "status", tmp, sizeof(tmp));
			{
				size_t l;

				if (is_status_code(tmp, &l))
					iw_strlcpy_n(r->status,
					    sizeof(r->status), tmp, l);
			}
			json_str(p, oe, "diagnosticCode", tmp, sizeof(tmp));
			set_diag(r->diagnostic, sizeof(r->diagnostic),
			    after_type(tmp), strlen(after_type(tmp)));
			p = oe;
		}
	} else if ((p = strstr(t, "\"notificationType\":\"Delivery\"")) !=
	    NULL && (p = strstr(p, "\"delivery\":")) != NULL) {
		const char *rs = strstr(p, "\"recipients\":[");
		struct iw_bounce_rcpt *r;

		if (rs == NULL || (r = rcpt_add(c)) == NULL)
			return;
		rs = strchr(rs, '[');
		first_address(rs, r->address, sizeof(r->address));
		json_str(p, end, "smtpResponse", tmp, sizeof(tmp));
		set_diag(r->diagnostic, sizeof(r->diagnostic), tmp,
		    strlen(tmp));
		iw_strlcpy(r->action, "delivered", sizeof(r->action));
	}
}

static void
analyse(struct ctx *c, const struct hdrs *top)
{
	struct iw_bounce *b = c->b;
	const char *text = c->text.data != NULL ? c->text.data : "";
	size_t tlen = c->text.len, hdr_start, cut;
	int autoreply = is_autoreply(top);

	first_address(hdr_get(top, "From"), c->top_from, sizeof(c->top_from));
	collect_envelope(b, top);
	collect_excluded(c, top);
	cut = find_cut(text, tlen, &hdr_start);
	if (hdr_start < tlen)
		parse_returned(c, text + hdr_start, text + tlen);
	if (c->arf) {
		struct iw_bounce_rcpt *r;

		b->is_arf = 1;
		b->kind = IW_BOUNCE_KIND_ARF;
		b->cls = IW_BOUNCE_COMPLAINT;
		if ((r = rcpt_add(c)) != NULL) {
			iw_strlcpy(r->address, c->arf_rcpt[0] ? c->arf_rcpt :
			    c->orig_to, sizeof(r->address));
			iw_strlcpy(r->reason, "feedback", sizeof(r->reason));
			r->cls = IW_BOUNCE_COMPLAINT;
		}
		return;
	}
	if (b->nrcpt == 0)
		inline_dsn(c, text, cut);
	if (b->nrcpt == 0 && strstr(text, "\"notificationType\"") != NULL)
		parse_ses(c, text, tlen);
	if (b->nrcpt == 0 && autoreply && !bounce_sender(top)) {
		struct iw_bounce_rcpt *r;

		b->is_autoreply = 1;
		b->kind = IW_BOUNCE_KIND_AUTOREPLY;
		b->cls = IW_BOUNCE_AUTOREPLY;
		if ((r = rcpt_add(c)) != NULL) {
			iw_strlcpy(r->address, c->top_from, sizeof(r->address));
			iw_strlcpy(r->reason, "vacation", sizeof(r->reason));
			r->cls = IW_BOUNCE_AUTOREPLY;
		}
		return;
	}
	if (b->nrcpt == 0 && !looks_like_bounce(top, text))
		return;
	{
		size_t rl = cut < MAX_REGION ? cut : MAX_REGION, ul = 0;
		char *region = iw_strndup(text, rl), *uq;
		char near[2048];
		int dsn = b->nrcpt > 0;

		if (region == NULL) {
			c->oom = 1;
			return;
		}
		if ((uq = unquote(region, rl, &ul)) != NULL) {
			size_t hs;

			free(region);
			region = uq;
			rl = find_cut(region, ul, &hs);
			region[rl] = '\0';
			if (hs < ul)
				parse_returned(c, uq + hs, uq + ul);
		}
		if (!dsn) {
			scan_body(c, region, rl,
			    hdr_get(top, "X-Failed-Recipients"));
			if (b->nrcpt == 0 && c->orig_to[0] != '\0') {
				struct iw_bounce_rcpt *r = rcpt_add(c);

				if (r != NULL) {
					iw_strlcpy(r->address, c->orig_to,
					    sizeof(r->address));
					diag_from_segment(r, region,
					    region + rl);
				}
			}
		}
		for (size_t i = 0; i < b->nrcpt; i++) {
			struct iw_bounce_rcpt *r = &b->rcpt[i];

			if (r->address[0] == '\0' && b->nrcpt == 1)
				iw_strlcpy(r->address, c->orig_to,
				    sizeof(r->address));
			near_text(region, rl, r->address, near, sizeof(near));
			if (near[0] == '\0' && b->nrcpt == 1)
				iw_strlcpy(near, region, sizeof(near));
			if (dsn && r->diagnostic[0] == '\0' && near[0] != '\0')
				diag_from_segment(r, near, near + strlen(near));
			finish_rcpt(r, NULL, near[0] != '\0' ? near : NULL);
		}
		for (size_t i = 0; i < b->nrcpt; i++) {
			struct iw_bounce_rcpt *r = &b->rcpt[i];
			size_t al = strlen(r->address);

			/* Google Groups refuse posts to groups one cannot post to */
			if (strcmp(r->reason, "undefined") == 0 && al > 17 &&
			    strcmp(r->address + al - 17, "@googlegroups.com") == 0) {
				iw_strlcpy(r->reason, "rejected", sizeof(r->reason));
				r->cls = IW_BOUNCE_OURS;
				if (strncmp(r->status + 1, ".0.9", 4) == 0)
					iw_strlcpy(r->status + 4, "918",
					    sizeof(r->status) - 4);
			}
		}
		if (b->nrcpt == 1 && strcmp(b->rcpt[0].reason, "undefined") == 0) {
			/* the cause may stand above the address */
			char *lower = lower_dup(region, rl);
			const char *rs = lower ? reason_from_text(lower) : NULL;

			if (rs != NULL) {
				struct iw_bounce_rcpt *r = &b->rcpt[0];

				iw_strlcpy(r->reason, rs, sizeof(r->reason));
				r->cls = class_of_reason(rs);
				if (strncmp(r->status + 1, ".0.9", 4) == 0)
					iw_strlcpy(r->status + 4, pseudo_code(rs),
					    sizeof(r->status) - 4);
			}
			free(lower);
		}
		free(region);
		if (dsn)
			b->is_dsn = 1;
	}
	if (b->nrcpt > 0) {
		b->kind = b->is_dsn ? IW_BOUNCE_KIND_DSN : IW_BOUNCE_KIND_BODY;
		mta_rules(c, top);
		b->cls = message_class(b);
	}
}

int
iw_bounce_parse(const char *buf, size_t len, struct iw_bounce **out,
    struct iw_err *err)
{
	struct ctx c;
	struct iw_buf norm = IW_BUF_INIT;
	struct hdrs top = { NULL, 0, 0 };
	const char *body, *end;

	if (out == NULL || (buf == NULL && len > 0)) {
		iw_err_set(err, "bounce: bad arguments");
		return -1;
	}
	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.b = calloc(1, sizeof(*c.b));
	if (c.b == NULL) {
		iw_err_set(err, "bounce: out of memory");
		return -1;
	}
	c.b->cls = IW_BOUNCE_UNDETERMINED;
	if (len > IW_BOUNCE_MAX_INPUT)
		len = IW_BOUNCE_MAX_INPUT;
	if (normalise(&norm, buf != NULL ? buf : "", len) != 0 ||
	    iw_buf_putc(&norm, '\0') != 0) {
		c.oom = 1;
	} else {
		norm.len--;	/* the NUL is a terminator, not data */
		end = norm.data + norm.len;
		body = parse_headers(norm.data, end, &top, &c.oom);
		walk(&c, body, end, &top, 0);
		if (!c.oom)
			analyse(&c, &top);
	}
	hdrs_free(&top);
	iw_buf_free(&norm);
	iw_buf_free(&c.text);
	if (c.oom) {
		iw_bounce_free(c.b);
		iw_err_set(err, "bounce: out of memory");
		return -1;
	}
	*out = c.b;
	return 0;
}

void
iw_bounce_free(struct iw_bounce *b)
{
	if (b == NULL)
		return;
	free(b->rcpt);
	free(b);
}

const char *
iw_bounce_class_name(enum iw_bounce_class cls)
{
	switch (cls) {
	case IW_BOUNCE_HARD:		return "hard";
	case IW_BOUNCE_SOFT:		return "soft";
	case IW_BOUNCE_TRANSIENT:	return "transient";
	case IW_BOUNCE_OURS:		return "ours";
	case IW_BOUNCE_COMPLAINT:	return "complaint";
	case IW_BOUNCE_AUTOREPLY:	return "autoreply";
	case IW_BOUNCE_DELIVERED:	return "delivered";
	case IW_BOUNCE_UNDETERMINED:	return "undetermined";
	}
	return "undetermined";
}

/* ------------------------------------------------- synchronous replies */

enum iw_bounce_class
iw_bounce_classify_status(int code, const char *enhanced, const char *text)
{
	struct iw_bounce_rcpt r;
	size_t elen;

	memset(&r, 0, sizeof(r));
	iw_strlcpy(r.action, "failed", sizeof(r.action));

	if (enhanced != NULL && is_status_code(enhanced, &elen) &&
	    enhanced[elen] == '\0')
		iw_strlcpy(r.status, enhanced, sizeof(r.status));
	r.reply_code = code;
	set_diag(r.diagnostic, sizeof(r.diagnostic), text != NULL ? text : "",
	    text != NULL ? strlen(text) : 0);
	/* It is the reply to RCPT: no filter after DATA can have said it. */
	finish_rcpt_at(&r, NULL, NULL, 1);
	if (code / 100 == 4 && r.cls == IW_BOUNCE_HARD)
		r.cls = IW_BOUNCE_SOFT;
	if (r.cls == IW_BOUNCE_UNDETERMINED || r.cls == IW_BOUNCE_DELIVERED ||
	    r.cls == IW_BOUNCE_TRANSIENT)
		r.cls = code / 100 == 4 ? IW_BOUNCE_TRANSIENT : IW_BOUNCE_SOFT;
	return r.cls;
}

/* ---------------------------------------------------------------- JSON */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
utf8_seq(const char *s)
{
	unsigned char c = (unsigned char)s[0];
	size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
	    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;

	for (size_t k = 1; k < n; k++)
		if (s[k] == '\0')
			return 0;
	return n != 0 && iw_utf8_valid(s, n) ? n : 0;
}

int
iw_bounce_json_str(struct iw_buf *out, const char *s)
{
	if (iw_buf_putc(out, '"') < 0)
		return -1;
	while (*s != '\0') {
		unsigned char ch = (unsigned char)*s;
		size_t n;
		int r;

		if (ch == '"' || ch == '\\')
			r = iw_buf_printf(out, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			r = iw_buf_printf(out, "\\u%04x", ch);
		else if ((n = utf8_seq(s)) == 0)
			r = iw_buf_puts(out, "\\ufffd");
		else {
			r = iw_buf_append(out, s, n);
			s += n;
			if (r < 0)
				return -1;
			continue;
		}
		if (r < 0)
			return -1;
		s++;
	}
	return iw_buf_putc(out, '"');
}

int
iw_bounce_json(const struct iw_bounce *b, int verified, long long letter_id,
    struct iw_buf *out)
{
	int r = iw_buf_printf(out, "{\"verified\": %s, \"letter\": ",
	    verified ? "true" : "false");

	if (r == 0)
		r = letter_id > 0 ? iw_buf_printf(out, "%lld", letter_id) :
		    iw_buf_puts(out, "null");
	if (r == 0)
		r = iw_buf_puts(out, ", \"class\": ");
	if (r == 0)
		r = iw_bounce_json_str(out, iw_bounce_class_name(b->cls));
	if (r == 0)
		r = iw_buf_puts(out, ", \"recipients\": [");
	for (size_t i = 0; r == 0 && i < b->nrcpt; i++) {
		const struct iw_bounce_rcpt *p = &b->rcpt[i];

		r = iw_buf_puts(out, i > 0 ? ", {\"address\": " :
		    "{\"address\": ");
		if (r == 0)
			r = iw_bounce_json_str(out, p->address);
		if (r == 0)
			r = iw_buf_puts(out, ", \"action\": ");
		if (r == 0)
			r = iw_bounce_json_str(out, p->action);
		if (r == 0)
			r = iw_buf_puts(out, ", \"status\": ");
		if (r == 0)
			r = iw_bounce_json_str(out, p->status);
		if (r == 0)
			r = iw_buf_puts(out, ", \"diagnostic\": ");
		if (r == 0)
			r = iw_bounce_json_str(out, p->diagnostic);
		if (r == 0)
			r = iw_buf_putc(out, '}');
	}
	if (r == 0)
		r = iw_buf_puts(out, "]}");
	return r < 0 ? -1 : 0;
}
