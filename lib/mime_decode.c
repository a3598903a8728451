/*
 * mime_decode: a message built by mime.c (or one of a similar shape) back
 * into text a person can read in a terminal — for `letter show --decode`
 * and `preview --decode`.  Bounded in its output whatever the input, and
 * nothing but printable UTF-8, LF and TAB reaches it.
 */
#include "mime_decode.h"

#include <string.h>
#include <strings.h>

#include "mime.h"

static const char hexdig[] = "0123456789ABCDEF";
static const char b64dig[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#define DEC_MSG_MAX	(64UL * 1024 * 1024)
#define DEC_FIELD_MAX	(64 * 1024)
#define DEC_PARTS_MAX	16
#define DEC_WORD_MAX	998	/* an encoded word, generously */

/* What the decoder needs from a header block. */
struct dec_part {
	char type[64];		/* lower case, without parameters */
	char boundary[72];	/* RFC 2046: at most 70 */
	char cte[32];		/* lower case */
	char filename[IW_MIME_FNAME_MAX * 2 + 1];
};

/* The line at p: its length without CR LF in *n; returns the next one. */
static const char *
dec_line(const char *p, const char *end, size_t *n)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *e = nl != NULL ? nl : end;

	*n = (size_t)(e - p);
	if (*n > 0 && p[*n - 1] == '\r')
		(*n)--;
	return nl != NULL ? nl + 1 : end;
}

/*
 * Appends p[0..n) for a terminal: CR LF becomes LF, other control
 * characters but TAB and LF, C1 controls and invalid UTF-8 become '?'.
 */
static int
put_display(struct iw_buf *out, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;

	for (size_t i = 0; i < n;) {
		size_t k = iw_utf8_char_len((const char *)s + i, n - i);
		int bad = k == 0 || (k == 1 && ((s[i] < 0x20 && s[i] != '\t' &&
		    s[i] != '\n') || s[i] == 0x7f)) || (k == 2 &&
		    s[i] == 0xc2 && s[i + 1] < 0xa0);

		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			i++;
			continue;
		}
		if (iw_buf_append(out, bad ? "?" : p + i, bad ? 1 : k) != 0)
			return -1;
		i += k != 0 ? k : 1;
	}
	return 0;
}

/* A hex digit's value (either case), -1 for anything else. */
static int
hexv(int c)
{
	const char *d = c > 0 ? strchr(hexdig, c >= 'a' ? c - 32 : c) : NULL;

	return d != NULL ? (int)(d - hexdig) : -1;
}

/* Quoted-printable (and with q the RFC 2047 Q form: '_' is a space). */
static int
dec_qp(const char *p, size_t n, int q, struct iw_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '=' && i + 1 < n && (p[i + 1] == '\n' ||
		    (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n'))) {
			i += p[i + 1] == '\r' ? 2 : 1;	/* soft break */
			continue;
		}
		if (c == '=' && i + 2 < n && hexv(p[i + 1]) >= 0 &&
		    hexv(p[i + 2]) >= 0) {
			c = (char)(hexv(p[i + 1]) * 16 + hexv(p[i + 2]));
			i += 2;
		} else if (q && c == '_')
			c = ' ';
		if (iw_buf_putc(out, c) != 0)
			return -1;
	}
	return 0;
}

static int
dec_base64(const char *p, size_t n, struct iw_buf *out)
{
	unsigned long acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n && p[i] != '='; i++) {
		const char *d = p[i] != '\0' ? strchr(b64dig, p[i]) : NULL;

		if (d == NULL)
			continue;	/* line breaks */
		acc = ((acc << 6) | (unsigned long)(d - b64dig)) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (iw_buf_putc(out, (char)((acc >> bits) & 0xff)))
				return -1;
		}
	}
	return 0;
}

/*
 * An encoded word "=?UTF-8?Q|B?text?=" at v[0..n): its length, its
 * decoded bytes appended to out; 0 if there is none (left as text).
 */
static size_t
dec_word(const char *v, size_t n, struct iw_buf *out)
{
	const char *q1, *q2, *e;
	size_t cl, tl, mark = out->len;

	if (n < 8 || v[0] != '=' || v[1] != '?' ||
	    (q1 = memchr(v + 2, '?', n - 2)) == NULL)
		return 0;
	cl = (size_t)(q1 - v - 2);
	if (!((cl == 5 && strncasecmp(v + 2, "UTF-8", 5) == 0) ||
	    (cl == 8 && strncasecmp(v + 2, "US-ASCII", 8) == 0)) ||
	    (size_t)(q1 - v) + 3 > n || q1[2] != '?')
		return 0;
	q2 = q1 + 3;
	for (e = q2; (size_t)(e - v) + 1 < n && !(e[0] == '?' && e[1] == '=');
	    e++)
		if (*e == ' ' || *e == '\t' || (size_t)(e - q2) > DEC_WORD_MAX)
			return 0;
	if ((size_t)(e - v) + 1 >= n)
		return 0;
	tl = (size_t)(e - q2);
	if ((q1[1] == 'Q' || q1[1] == 'q' ? dec_qp(q2, tl, 1, out) :
	    q1[1] == 'B' || q1[1] == 'b' ? dec_base64(q2, tl, out) : 1) != 0) {
		out->len = mark;
		return 0;
	}
	return (size_t)(e - v) + 2;
}

/* A header value with its encoded words decoded; the white space between
 * two encoded words goes (RFC 2047 6.2). */
static int
dec_words(const char *v, size_t n, struct iw_buf *out)
{
	struct iw_buf w = IW_BUF_INIT;
	size_t i = 0, ws = 0, wsn = 0;
	int last_word = 0, rc = 0;

	while (rc == 0 && i < n) {
		size_t k;

		if (v[i] == ' ' || v[i] == '\t') {
			for (ws = i; i < n && (v[i] == ' ' || v[i] == '\t');)
				i++;
			wsn = i - ws;
			continue;
		}
		iw_buf_reset(&w);
		k = dec_word(v + i, n - i, &w);
		if (wsn > 0 && !(k > 0 && last_word))
			rc = put_display(out, v + ws, wsn);
		if (rc == 0)
			rc = k > 0 ? put_display(out, w.data, w.len) :
			    put_display(out, v + i, 1);
		last_word = k > 0;
		i += k > 0 ? k : 1;
		wsn = 0;
	}
	if (rc == 0 && wsn > 0)
		rc = put_display(out, v + ws, wsn);
	iw_buf_free(&w);
	return rc;
}

/* Parameter name of a header value ("; name=value" or "; name=\"v\""). */
static void
dec_param(const char *v, size_t n, const char *name, char *out,
    size_t outsz)
{
	size_t nl = strlen(name), o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t j = i + 1;

		if (v[i] != ';')
			continue;
		while (j < n && (v[j] == ' ' || v[j] == '\t'))
			j++;
		if (n - j <= nl || strncasecmp(v + j, name, nl) != 0 ||
		    v[j + nl] != '=')
			continue;
		j += nl + 1;
		if (j < n && v[j] == '"') {
			for (j++; j < n && v[j] != '"' && o + 1 < outsz; j++)
				out[o++] = v[j];
		} else {
			for (; j < n && v[j] != ';' && v[j] != ' ' &&
			    v[j] != '\t' && o + 1 < outsz; j++)
				out[o++] = v[j];
		}
		out[o] = '\0';
		return;
	}
}

/* v[0..n) up to the first ';' or blank, lower-cased, into out. */
static void
dec_token(const char *v, size_t n, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < n && v[i] != ';' && v[i] != ' ' &&
	    v[i] != '\t' && o + 1 < outsz; i++)
		out[o++] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 :
		    v[i]);
	out[o] = '\0';
}

static int
is_name(const char *f, size_t nl, const char *name)
{
	return strlen(name) == nl && strncasecmp(f, name, nl) == 0;
}

/* One unfolded field: note what the decoder needs; show it if asked. */
static int
dec_field(const char *f, size_t n, struct dec_part *pi, struct iw_buf *show)
{
	const char *colon = memchr(f, ':', n), *v;
	size_t nl, vn;

	if (colon == NULL)
		return show != NULL && (put_display(show, f, n) != 0 ||
		    iw_buf_putc(show, '\n') != 0) ? -1 : 0;
	nl = (size_t)(colon - f);
	v = colon + 1;
	vn = n - nl - 1;
	iw_trim(&v, &vn);
	if (is_name(f, nl, "Content-Type")) {
		dec_token(v, vn, pi->type, sizeof(pi->type));
		dec_param(v, vn, "boundary", pi->boundary,
		    sizeof(pi->boundary));
	} else if (is_name(f, nl, "Content-Transfer-Encoding"))
		dec_token(v, vn, pi->cte, sizeof(pi->cte));
	else if (is_name(f, nl, "Content-Disposition"))
		dec_param(v, vn, "filename", pi->filename,
		    sizeof(pi->filename));
	if (show == NULL)
		return 0;
	if (is_name(f, nl, "Subject") || is_name(f, nl, "From") ||
	    is_name(f, nl, "To") || is_name(f, nl, "Reply-To")) {
		if (put_display(show, f, nl) != 0 ||
		    iw_buf_puts(show, ": ") != 0 || dec_words(v, vn, show) != 0)
			return -1;
	} else if (put_display(show, f, n) != 0)
		return -1;
	return iw_buf_putc(show, '\n');
}

/*
 * The header block at p: fields unfolded (the line break before a
 * continuation line removed), shown if show != NULL; *body is where the
 * body starts.
 */
static int
dec_headers(const char *p, const char *end, struct dec_part *pi,
    struct iw_buf *show, const char **body, struct iw_err *err)
{
	struct iw_buf f = IW_BUF_INIT;
	int rc = 0;

	memset(pi, 0, sizeof(*pi));
	*body = end;
	while (rc == 0 && p < end) {
		size_t n;
		const char *next = dec_line(p, end, &n);

		if (n > 0 && (p[0] == ' ' || p[0] == '\t') && f.len > 0)
			rc = iw_buf_append(&f, p, n);
		else {
			if (f.len > 0)
				rc = dec_field(f.data, f.len, pi, show);
			iw_buf_reset(&f);
			if (n == 0) {
				*body = next;
				break;
			}
			if (rc == 0)
				rc = iw_buf_append(&f, p, n);
		}
		if (f.len > DEC_FIELD_MAX) {
			iw_buf_free(&f);
			iw_err_set(err, "header field longer than %d octets",
			    DEC_FIELD_MAX);
			return -1;
		}
		p = next;
	}
	if (rc == 0 && f.len > 0)
		rc = dec_field(f.data, f.len, pi, show);
	iw_buf_free(&f);
	if (rc != 0)
		iw_err_set(err, "decoding: out of memory");
	return rc;
}

/* A part's content, decoded: the text, or an attachment after a title. */
static int
dec_content(const struct dec_part *pi, const char *p, size_t n, int first,
    struct iw_buf *out)
{
	struct iw_buf d = IW_BUF_INIT;
	int rc;

	if (strcmp(pi->cte, "quoted-printable") == 0)
		rc = dec_qp(p, n, 0, &d);
	else if (strcmp(pi->cte, "base64") == 0)
		rc = dec_base64(p, n, &d);
	else
		rc = iw_buf_append(&d, p, n);
	if (rc == 0 && !first && (iw_buf_puts(out, "\n--- attachment ") ||
	    put_display(out, pi->filename[0] != '\0' ? pi->filename :
	    "(unnamed)", strlen(pi->filename[0] != '\0' ? pi->filename :
	    "(unnamed)")) || iw_buf_puts(out, " (") ||
	    put_display(out, pi->type, strlen(pi->type)) ||
	    iw_buf_puts(out, ") ---\n")))
		rc = -1;
	if (rc == 0 && (first || strncmp(pi->type, "text/", 5) == 0))
		rc = put_display(out, d.data != NULL ? d.data : "", d.len);
	else if (rc == 0)
		rc = iw_buf_printf(out, "(%zu bytes, not shown)\n", d.len);
	if (rc == 0 && out->len > 0 && out->data[out->len - 1] != '\n')
		rc = iw_buf_putc(out, '\n');
	iw_buf_free(&d);
	return rc;
}

/* "--boundary" or "--boundary--" (then maybe blanks): 1 or 2; else 0. */
static int
dec_delimiter(const char *p, size_t n, const char *b, size_t bl)
{
	size_t i = bl + 2;
	int close;

	if (n < i || p[0] != '-' || p[1] != '-' || memcmp(p + 2, b, bl) != 0)
		return 0;
	close = n - i >= 2 && p[i] == '-' && p[i + 1] == '-';
	for (i += close ? 2 : 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return 0;
	return close ? 2 : 1;
}

static int
dec_part(const char *p, const char *e, int first, struct iw_buf *out,
    struct iw_err *err)
{
	struct dec_part pi;
	const char *body;

	/* the line break before the delimiter belongs to it (RFC 2046) */
	if (e > p && e[-1] == '\n')
		e--;
	if (e > p && e[-1] == '\r')
		e--;
	if (dec_headers(p, e, &pi, NULL, &body, err) != 0)
		return -1;
	if (dec_content(&pi, body, (size_t)(e - body), first, out) != 0) {
		iw_err_set(err, "decoding: out of memory");
		return -1;
	}
	return 0;
}

static int
dec_multipart(const char *p, const char *end, const char *b,
    struct iw_buf *out, struct iw_err *err)
{
	const char *part = NULL;
	size_t bl = strlen(b), nparts = 0;

	while (p < end) {
		size_t n;
		const char *next = dec_line(p, end, &n);
		int d = dec_delimiter(p, n, b, bl);

		if (d != 0 && part != NULL && dec_part(part, p, nparts++ == 0,
		    out, err) != 0)
			return -1;
		if (d == 2)
			return 0;
		if (d != 0 && nparts >= DEC_PARTS_MAX) {
			iw_err_set(err, "more than %d MIME parts",
			    DEC_PARTS_MAX);
			return -1;
		}
		if (d != 0)
			part = next;
		p = next;
	}
	if (part == NULL) {
		iw_err_set(err, "multipart message without parts");
		return -1;
	}
	return dec_part(part, end, nparts == 0, out, err);
}

int
iw_mime_decode_text(const char *msg, size_t len, struct iw_buf *out,
    struct iw_err *err)
{
	struct dec_part top;
	const char *body, *end = msg + len;
	int rc;

	if (msg == NULL || len > DEC_MSG_MAX) {
		iw_err_set(err, msg == NULL ? "no message" : "message larger "
		    "than %lu octets", DEC_MSG_MAX);
		return -1;
	}
	iw_buf_reset(out);
	if (dec_headers(msg, end, &top, out, &body, err) != 0)
		goto fail;
	if (iw_buf_putc(out, '\n') != 0) {
		iw_err_set(err, "decoding: out of memory");
		goto fail;
	}
	if (strncmp(top.type, "multipart/", 10) == 0 &&
	    top.boundary[0] != '\0')
		rc = dec_multipart(body, end, top.boundary, out, err);
	else if ((rc = dec_content(&top, body, (size_t)(end - body), 1,
	    out)) != 0)
		iw_err_set(err, "decoding: out of memory");
	if (rc == 0)
		return 0;
fail:
	iw_buf_reset(out);
	return -1;
}
