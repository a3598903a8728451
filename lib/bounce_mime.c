/*
 * bounce_mime: read the MIME structure of a returned message (see
 * bounce_mime.h).  Every function takes explicit bounds; header values are
 * capped at MAX_HVALUE and blocks at MAX_HEADERS fields.  Charsets are
 * converted with iconv(3) from glibc: a descriptor per conversion, so there
 * is no state between calls.
 */
#include "bounce_mime.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADERS	512		/* fields kept per header block */
#define MAX_HVALUE	8192		/* one unfolded header value */

/* ---------------------------------------------------------------- text */

static int
lc(int c)
{
	return tolower((unsigned char)c);
}

/* Case-insensitive prefix test of a NUL-terminated s. */
int
iw_bounce_mime_starts_ci(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++)
		if (lc(*s) != lc(*prefix))
			return 0;
	return 1;
}

/* Case-insensitive search of needle (lower case) in s. */
const char *
iw_bounce_mime_find_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return s;
	for (; *s != '\0'; s++) {
		if (lc(*s) == needle[0] && iw_bounce_mime_starts_ci(s, needle))
			return s;
	}
	(void)n;
	return NULL;
}

/* Copy [p, p+n) lower-cased into a fresh NUL-terminated string. */
char *
iw_bounce_mime_lower_dup(const char *p, size_t n)
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
int
iw_bounce_mime_normalise(struct iw_buf *out, const char *p, size_t n)
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
const char *
iw_bounce_mime_line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl != NULL ? nl : end;
}

const char *
iw_bounce_mime_next_line(const char *p, const char *end)
{
	const char *e = iw_bounce_mime_line_end(p, end);

	return e < end ? e + 1 : end;
}

int
iw_bounce_mime_blank_line(const char *p, const char *e)
{
	for (; p < e; p++)
		if (*p != ' ' && *p != '\t')
			return 0;
	return 1;
}

/* ------------------------------------------------------------- headers */

void
iw_bounce_mime_hdrs_free(struct iw_bounce_mime_hdrs *h)
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
hdrs_add(struct iw_bounce_mime_hdrs *h, const char *name, size_t nlen,
    const char *val, size_t vlen)
{
	if (h->n >= MAX_HEADERS)
		return 0;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct iw_bounce_mime_hdr *v = realloc(h->v, cap * sizeof(*v));

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
hdrs_continue(struct iw_bounce_mime_hdrs *h, const char *p, size_t n)
{
	struct iw_bounce_mime_hdr *last;
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
parse_block(const char *p, const char *end, struct iw_bounce_mime_hdrs *h,
    int *oom)
{
	int first = 1;

	while (p < end) {
		const char *e = iw_bounce_mime_line_end(p, end);
		const char *q = p;

		if (e == p)
			return iw_bounce_mime_next_line(p, end);
		if ((*p == ' ' || *p == '\t') && !first) {
			if (iw_bounce_mime_blank_line(p, e))
				return iw_bounce_mime_next_line(p, end);
			if (hdrs_continue(h, p, (size_t)(e - p)) != 0)
				*oom = 1;
			p = iw_bounce_mime_next_line(p, end);
			continue;
		}
		if (first && e - p > 5 && memcmp(p, "From ", 5) == 0) {
			first = 0;
			p = iw_bounce_mime_next_line(p, end);
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
				p = iw_bounce_mime_next_line(p, end);
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
		p = iw_bounce_mime_next_line(p, end);
	}
	return end;
}

const char *
iw_bounce_mime_hdr(const struct iw_bounce_mime_hdrs *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->v[i].name, name) == 0)
			return h->v[i].value;
	return NULL;
}

/* "type/subtype; params" -> "type/subtype" lower-cased. */
void
iw_bounce_mime_type(const char *v, char *out, size_t outsz)
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
int
iw_bounce_mime_param(const char *v, const char *name, char *out,
    size_t outsz)
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
int
iw_bounce_mime_html(struct iw_buf *out, const char *p, size_t n)
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
				{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;",
				    '&' },
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
int
iw_bounce_mime_next_address(const char *p, const char *end,
    const char **pos, const char **start, char *out, size_t outsz)
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
int
iw_bounce_mime_first_address(const char *v, char *out, size_t outsz)
{
	const char *pos, *start;

	out[0] = '\0';
	if (v == NULL)
		return -1;
	pos = v;
	return iw_bounce_mime_next_address(v, v + strlen(v), &pos, &start,
	    out, outsz);
}

void
iw_bounce_mime_oneline(char *out, size_t outsz, const char *p,
    size_t n)
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
/* ------------------------------------------------------------ charsets */

/*
 * iconv names for labels mail systems write that glibc does not know by
 * that name (WHATWG Encoding aliases; ks_c_5601-1987 is what Outlook
 * writes for Korean).
 */
static const char *
charset_alias(const char *cs)
{
	static const struct { const char *label, *name; } alias[] = {
		{ "x-sjis", "SHIFT_JIS" }, { "shift-jis", "SHIFT_JIS" },
		{ "sjis", "SHIFT_JIS" }, { "x-euc-jp", "EUC-JP" },
		{ "ks_c_5601-1987", "CP949" }, { "x-gbk", "GBK" },
		{ "unicode-1-1-utf-7", "UTF-7" }, { "iso-2022-jp-3",
		    "ISO-2022-JP-3" },
		{ "cp-850", "CP850" }, { "ansi_x3.4-1968", "ASCII" },
	};

	for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (strcasecmp(cs, alias[i].label) == 0)
			return alias[i].name;
	return cs;
}

/* Bytes that need no conversion to be read as UTF-8. */
static int
is_utf8_label(const char *cs)
{
	return cs[0] == '\0' || strcasecmp(cs, "utf-8") == 0 ||
	    strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "us-ascii") == 0 ||
	    strcasecmp(cs, "ascii") == 0;
}

/* ISO-2022-JP in undeclared 7-bit text: ESC $ B, ESC $ @ or ESC ( J. */
static int
has_jis_escape(const char *p, size_t n)
{
	const char *e = memchr(p, 0x1b, n);

	while (e != NULL && (size_t)(e - p) + 2 < n) {
		if ((e[1] == '$' && (e[2] == 'B' || e[2] == '@')) ||
		    (e[1] == '(' && e[2] == 'J'))
			return 1;
		e = memchr(e + 1, 0x1b, n - (size_t)(e + 1 - p));
	}
	return 0;
}

static int
convert(struct iw_buf *out, iconv_t cd, const char *p, size_t n)
{
	char chunk[1024];
	char *in = (char *)(uintptr_t)p;
	size_t left = n;

	while (left > 0) {
		char *o = chunk;
		size_t room = sizeof(chunk);
		size_t rc = iconv(cd, &in, &left, &o, &room);

		if (o > chunk && iw_buf_append(out, chunk,
		    (size_t)(o - chunk)) != 0)
			return -1;
		if (rc != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		if (errno == EINVAL)	/* cut in a character: done */
			break;
		/* EILSEQ: one byte is not of this charset */
		if (iw_buf_putc(out, '?') != 0)
			return -1;
		in++;
		left--;
	}
	{
		char *o = chunk;
		size_t room = sizeof(chunk);

		/* return stateful encodings (ISO-2022-JP) to their start */
		if (iconv(cd, NULL, NULL, &o, &room) != (size_t)-1 &&
		    o > chunk && iw_buf_append(out, chunk,
		    (size_t)(o - chunk)) != 0)
			return -1;
	}
	return 0;
}

int
iw_bounce_mime_to_utf8(struct iw_buf *out, const char *charset,
    const char *p, size_t n)
{
	const char *cs = charset != NULL ? charset : "";
	iconv_t cd;
	int rc;

	if (is_utf8_label(cs) || strcasecmp(cs, "iso-2022-jp") == 0)
		cs = has_jis_escape(p, n) ? "ISO-2022-JP" :
		    strcasecmp(cs, "iso-2022-jp") == 0 ? "ISO-2022-JP" : "";
	if (cs[0] == '\0')
		return iw_buf_append(out, p, n);
	cd = iconv_open("UTF-8", charset_alias(cs));
	if (cd == (iconv_t)-1)
		return iw_buf_append(out, p, n);
	rc = convert(out, cd, p, n);
	iconv_close(cd);
	return rc;
}

/* ------------------------------------------------------- encoded words */

/*
 * The encoded word at p (RFC 2047 "=?charset?B|Q?text?="), bounded by end:
 * its length, with the charset, encoding and text located; 0 if none.
 */
static size_t
encoded_word(const char *p, const char *end, char *cs, size_t cssz,
    char *enc, const char **text, size_t *tlen)
{
	const char *q = p + 2, *s, *t;
	size_t n = 0;

	if (end - p < 8 || p[0] != '=' || p[1] != '?')
		return 0;
	for (s = q; s < end && *s != '?' && n + 1 < cssz; s++)
		cs[n++] = *s;
	cs[n] = '\0';
	if (s + 3 >= end || *s != '?' || n == 0 || s[2] != '?')
		return 0;
	*enc = (char)lc(s[1]);
	if (*enc != 'b' && *enc != 'q')
		return 0;
	t = s + 3;
	for (s = t; s + 1 < end; s++) {
		if (s[0] == '?' && s[1] == '=') {
			*text = t;
			*tlen = (size_t)(s - t);
			/* RFC 2231 language suffix: "utf-8*ja" */
			if ((q = strchr(cs, '*')) != NULL)
				cs[q - cs] = '\0';
			return (size_t)(s + 2 - p);
		}
		if (*s == ' ' || *s == '\n')
			return 0;
	}
	return 0;
}

static int decode_base64(struct iw_buf *out, const char *p, size_t n);
static int decode_qp(struct iw_buf *out, const char *p, size_t n);

/* Q encoding is quoted-printable with '_' for a space. */
static int
decode_q(struct iw_buf *out, const char *p, size_t n)
{
	size_t start = out->len;

	if (decode_qp(out, p, n) != 0)
		return -1;
	for (size_t i = start; i < out->len; i++)
		if (out->data[i] == '_')
			out->data[i] = ' ';
	return 0;
}

int
iw_bounce_mime_words(struct iw_buf *out, const char *p, size_t n)
{
	const char *start = p, *end = p + n, *gap = NULL;
	struct iw_buf raw = IW_BUF_INIT;
	int rc = 0;

	while (p < end && rc == 0) {
		char cs[40], enc;
		const char *text;
		size_t tl, wl = encoded_word(p, end, cs, sizeof(cs), &enc,
		    &text, &tl);

		/* RFC 2047 section 5: a word stands alone, never inside an
		 * addr-spec ("=?utf-8?B?...?=@example.org" stays as it is) */
		if (wl != 0 && ((p > start && !strchr(" \t(\"", p[-1])) ||
		    (p + wl < end && !strchr(" \t)\",;", p[wl]))))
			wl = 0;

		if (wl == 0) {
			if (*p != ' ' && *p != '\t')
				gap = NULL;
			rc = iw_buf_putc(out, *p++);
			continue;
		}
		if (gap != NULL)	/* only space since the last word */
			out->len -= (size_t)(p - gap);
		iw_buf_reset(&raw);
		rc = enc == 'b' ? decode_base64(&raw, text, tl) :
		    decode_q(&raw, text, tl);
		if (rc == 0 && raw.len > 0)
			rc = iw_bounce_mime_to_utf8(out, cs, raw.data, raw.len);
		p += wl;
		gap = p;	/* space after it is dropped before a word */
	}
	iw_buf_free(&raw);
	return rc;
}

/* Decode the encoded words of every value that has one, in place. */
static int
decode_values(struct iw_bounce_mime_hdrs *h)
{
	for (size_t i = 0; i < h->n; i++) {
		struct iw_buf b = IW_BUF_INIT;
		char *v = h->v[i].value;
		size_t len;

		if (strstr(v, "=?") == NULL)
			continue;
		if (iw_bounce_mime_words(&b, v, strlen(v)) != 0 ||
		    iw_buf_putc(&b, '\0') != 0) {
			iw_buf_free(&b);
			return -1;
		}
		len = b.len - 1 > MAX_HVALUE ? MAX_HVALUE : b.len - 1;
		for (size_t k = 0; k < len; k++)	/* one line, no NUL */
			if (b.data[k] == '\0' || b.data[k] == '\n' ||
			    b.data[k] == '\r')
				b.data[k] = ' ';
		b.data[len] = '\0';
		free(h->v[i].value);
		h->v[i].value = iw_buf_steal(&b);
	}
	return 0;
}

const char *
iw_bounce_mime_headers(const char *p, const char *end,
    struct iw_bounce_mime_hdrs *h, int *oom)
{
	const char *body = parse_block(p, end, h, oom);

	if (decode_values(h) != 0)
		*oom = 1;
	return body;
}
/* ---------------------------------------------------------------- walk */

#define MAX_PARTS	128		/* parts looked at per multipart */

struct walker {
	iw_bounce_mime_fn fn;
	void *arg;
	int oom;
};

static void walk(struct walker *w, const char *body, const char *end,
    const struct iw_bounce_mime_hdrs *h, int depth);

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
	return iw_bounce_mime_blank_line(p, e) ? 1 : 0;
}

/* Split a multipart body into its parts; 0 parts when no delimiter. */
static size_t
split_parts(const char *p, const char *end, const char *bd,
    struct part *parts, size_t max)
{
	size_t bl = strlen(bd), n = 0;
	const char *start = NULL;

	while (p < end) {
		const char *e = iw_bounce_mime_line_end(p, end);
		int d = is_delimiter(p, e, bd, bl);

		if (d != 0) {
			if (start != NULL && n < max) {
				parts[n].p = start;
				parts[n].end = p > start ? p - 1 : p;
				n++;
			}
			if (d == 2)
				return n;
			start = iw_bounce_mime_next_line(p, end);
		}
		p = iw_bounce_mime_next_line(p, end);
	}
	if (start != NULL && n < max && start < end) {
		parts[n].p = start;
		parts[n].end = end;
		n++;
	}
	return n;
}

static void
leaf(struct walker *w, const char *type, const char *p, const char *end,
    const struct iw_bounce_mime_hdrs *h, int depth)
{
	struct iw_bounce_mime_leaf l = { type, p, end, h, depth };

	if (w->fn(w->arg, &l) == 1 && depth < IW_BOUNCE_MIME_MAX_DEPTH) {
		/* an attached message read as a message of its own */
		struct iw_bounce_mime_hdrs ih = IW_BOUNCE_MIME_HDRS_INIT;
		const char *ib = iw_bounce_mime_headers(p, end, &ih, &w->oom);

		walk(w, ib, end, &ih, depth + 1);
		iw_bounce_mime_hdrs_free(&ih);
	}
}

static void
walk_multipart(struct walker *w, const char *body, const char *end,
    const char *type, const char *bd, const struct iw_bounce_mime_hdrs *h,
    int depth)
{
	struct part *parts = calloc(MAX_PARTS, sizeof(*parts));
	size_t n;
	int alt = strcmp(type, "multipart/alternative") == 0, have_plain = 0;

	if (parts == NULL) {
		w->oom = 1;
		return;
	}
	n = split_parts(body, end, bd, parts, MAX_PARTS);
	for (int pass = 0; pass < (alt ? 2 : 1); pass++) {
		for (size_t i = 0; i < n; i++) {
			struct iw_bounce_mime_hdrs ph =
			    IW_BOUNCE_MIME_HDRS_INIT;
			const char *pb = iw_bounce_mime_headers(parts[i].p,
			    parts[i].end, &ph, &w->oom);
			char pt[64];

			iw_bounce_mime_type(iw_bounce_mime_hdr(&ph,
			    "Content-Type"), pt, sizeof(pt));
			if (alt && pass == 0) {
				if (pt[0] == '\0' ||
				    strcmp(pt, "text/plain") == 0)
					have_plain = 1;
			} else if (!alt || !have_plain ||
			    strcmp(pt, "text/html") != 0) {
				walk(w, pb, parts[i].end, &ph, depth + 1);
			}
			iw_bounce_mime_hdrs_free(&ph);
		}
	}
	if (n == 0)	/* declared multipart, but is not: read as text */
		leaf(w, "text/plain", body, end, h, depth);
	free(parts);
}

/*
 * Parts whose charset matters: text, and delivery-status fields (RFC 3464
 * wants ASCII there, but Lotus Domino, for one, writes ISO-2022-JP).
 */
static int
is_text(const char *type)
{
	return type[0] == '\0' || strncmp(type, "text/", 5) == 0 ||
	    strstr(type, "delivery-status") != NULL;
}

/*
 * Undo the transfer encoding and, for text, the charset into out (LF lines,
 * NUL-terminated).  0, or -1 when out of memory.
 */
static int
decode_leaf(struct iw_buf *out, const char *type, const char *ctv,
    const char *cte, const char *p, const char *end)
{
	struct iw_buf dec = IW_BUF_INIT, utf = IW_BUF_INIT;
	char cs[48] = "";
	int rc = 0;

	if (cte != NULL && iw_bounce_mime_starts_ci(cte, "base64"))
		rc = decode_base64(&dec, p, (size_t)(end - p));
	else if (cte != NULL &&
	    iw_bounce_mime_starts_ci(cte, "quoted-printable"))
		rc = decode_qp(&dec, p, (size_t)(end - p));
	else
		rc = iw_buf_append(&dec, p, (size_t)(end - p));
	if (rc == 0 && is_text(type)) {
		iw_bounce_mime_param(ctv, "charset", cs, sizeof(cs));
		rc = iw_bounce_mime_to_utf8(&utf, cs, dec.data != NULL ?
		    dec.data : "", dec.len);
		if (rc == 0) {
			iw_buf_free(&dec);
			dec = utf;
			utf = (struct iw_buf)IW_BUF_INIT;
		}
	}
	if (rc == 0)
		rc = iw_bounce_mime_normalise(out, dec.data != NULL ?
		    dec.data : "", dec.len);
	if (rc == 0)
		rc = iw_buf_putc(out, '\0');
	if (rc == 0)
		out->len--;
	iw_buf_free(&dec);
	iw_buf_free(&utf);
	return rc;
}

/* Text that needs neither a transfer decoding nor a charset conversion. */
static int
is_plain(const char *type, const char *ctv, const char *cte, const char *p,
    const char *end)
{
	char cs[48] = "";

	if (cte != NULL && (iw_bounce_mime_starts_ci(cte, "base64") ||
	    iw_bounce_mime_starts_ci(cte, "quoted-printable")))
		return 0;
	if (!is_text(type))
		return 1;
	iw_bounce_mime_param(ctv, "charset", cs, sizeof(cs));
	return is_utf8_label(cs) && !has_jis_escape(p, (size_t)(end - p));
}

static void
walk(struct walker *w, const char *body, const char *end,
    const struct iw_bounce_mime_hdrs *h, int depth)
{
	const char *ctv = iw_bounce_mime_hdr(h, "Content-Type");
	const char *cte = iw_bounce_mime_hdr(h, "Content-Transfer-Encoding");
	char type[64], bd[128];
	struct iw_buf dec = IW_BUF_INIT;

	if (depth > IW_BOUNCE_MIME_MAX_DEPTH)
		return;
	iw_bounce_mime_type(ctv, type, sizeof(type));
	if (iw_bounce_mime_starts_ci(type, "multipart/") &&
	    iw_bounce_mime_param(ctv, "boundary", bd, sizeof(bd)) == 0) {
		walk_multipart(w, body, end, type, bd, h, depth);
		return;
	}
	if (is_plain(type, ctv, cte, body, end)) {
		leaf(w, type, body, end, h, depth);
		return;
	}
	if (decode_leaf(&dec, type, ctv, cte, body, end) != 0)
		w->oom = 1;
	else
		leaf(w, type, dec.data, dec.data + dec.len, h, depth);
	iw_buf_free(&dec);
}

int
iw_bounce_mime_walk(const char *body, const char *end,
    const struct iw_bounce_mime_hdrs *h, iw_bounce_mime_fn fn, void *arg)
{
	struct walker w = { fn, arg, 0 };

	walk(&w, body, end, h, 0);
	return w.oom ? -1 : 0;
}
