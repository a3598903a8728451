/*
 * mime: turns a rendered letter into an RFC 5322 + MIME 1.0 message —
 * validated headers (RFC 2047 Q encoded words for non-ASCII, folded at 78
 * columns), a text/plain UTF-8 body in quoted-printable, an optional base64
 * attachment (multipart/mixed), CRLF line ends.  (Such a message is shown
 * as text by mime_decode.c.)
 * Every caller-supplied header value is checked before anything is written,
 * so a CR, LF, NUL or broken UTF-8 from a WHOIS record or a configuration
 * file ends in an error naming the header, never in the message.
 */
#include "mime.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_HDR	78	/* RFC 5322 2.1.1 "SHOULD" */
#define WORD_MAX	75	/* RFC 2047 2: an encoded word */
#define QP_LINE_MAX	76	/* RFC 2045 6.7 (5) */
#define HNAME_MAX	50	/* leaves room for an encoded word on line 1 */
#define VALUE_MAX	998
#define ADDR_IN_MAX	998
#define B64_LINE	76	/* RFC 2045 6.8 */
#define ATYPE_MAX	60	/* so does Content-Type */
#define BOUNDARY_LEN	21	/* "=_iw_" + 16 hex digits */

static const char hexdig[] = "0123456789ABCDEF";
static const char b64dig[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#define TEXT_PART_HEADERS "Content-Type: text/plain; charset=UTF-8\r\n" \
	"Content-Transfer-Encoding: quoted-printable\r\n"


/* A header value: bounded, UTF-8, no control characters but TAB. */
static int
check_value(const char *hname, const char *v, struct iw_err *err)
{
	size_t n;

	if (v == NULL) {
		iw_err_set(err, "%s: missing", hname);
		return -1;
	}
	n = strnlen(v, VALUE_MAX + 1);
	if (n > VALUE_MAX) {
		iw_err_set(err, "%s: longer than %d octets", hname, VALUE_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\r' || c == '\n') {
			iw_err_set(err, "%s: contains a line break", hname);
			return -1;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			iw_err_set(err, "%s: contains control character "
			    "0x%02x", hname, c);
			return -1;
		}
	}
	if (!iw_utf8_valid(v, n)) {
		iw_err_set(err, "%s: invalid UTF-8", hname);
		return -1;
	}
	return 0;
}

/*
 * Q encoding (RFC 2047 4.2) restricted to the characters allowed in a
 * phrase (5 (3)), so the same words serve Subject and display names.
 */
static size_t
q_char(const unsigned char *s, size_t k, char *t)
{
	unsigned char c = s[0];

	if (k == 1 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!*+-/", c) != NULL)) {
		t[0] = (char)c;
		return 1;
	}
	if (k == 1 && c == ' ') {
		t[0] = '_';
		return 1;
	}
	for (size_t i = 0; i < k; i++) {
		t[3 * i] = '=';
		t[3 * i + 1] = hexdig[s[i] >> 4];
		t[3 * i + 2] = hexdig[s[i] & 15];
	}
	return 3 * k;
}

/*
 * The value as encoded words, none longer than 75, whole characters in
 * each, folded so no line passes 78; *col is the column the first word
 * starts at and, on return, the column after the last.
 */
static int
encode_words(const char *v, size_t *col, struct iw_buf *out)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t n = strlen(v), i = 0, wlen = 0;
	size_t limit = LINE_MAX_HDR - *col;

	if (limit > WORD_MAX)
		limit = WORD_MAX;
	if (limit < 10 + 12 + 2)
		return -1;
	if (iw_buf_puts(out, "=?UTF-8?Q?") != 0)
		return -1;
	wlen = 10;
	while (i < n) {
		char t[12];
		size_t k = iw_utf8_char_len((const char *)s + i, n - i), tl;

		if (k == 0)
			return -1;
		tl = q_char(s + i, k, t);
		if (wlen + tl + 2 > limit) {
			if (iw_buf_puts(out, "?=\r\n =?UTF-8?Q?") != 0)
				return -1;
			*col = 1;
			wlen = 10;
			limit = WORD_MAX;
		}
		if (iw_buf_append(out, t, tl) != 0)
			return -1;
		wlen += tl;
		i += k;
	}
	if (iw_buf_puts(out, "?=") != 0)
		return -1;
	*col += wlen + 2;
	return 0;
}

/* Folds plain ASCII text at spaces; -1 if some piece cannot fit in 78. */
static int
fold_plain(const char *v, size_t *col, struct iw_buf *out)
{
	size_t n = strlen(v), i = 0, c = *col;

	while (i < n) {
		size_t j = i;

		while (j < n && v[j] == ' ')	/* a token: spaces + a word */
			j++;
		while (j < n && v[j] != ' ')
			j++;
		if (c + (j - i) > LINE_MAX_HDR && i > 0 && v[i] == ' ') {
			/* the spaces go first on the next line: never blank */
			if (iw_buf_puts(out, "\r\n") != 0)
				return -1;
			c = 0;
		}
		if (c + (j - i) > LINE_MAX_HDR)
			return -1;
		if (iw_buf_append(out, v + i, j - i) != 0)
			return -1;
		c += j - i;
		i = j;
	}
	*col = c;
	return 0;
}

static int
needs_encoding(const char *v)
{
	size_t n = strlen(v);

	if (strstr(v, "=?") != NULL || (n > 0 && (v[0] == ' ' ||
	    v[n - 1] == ' ')))
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c >= 0x7f)
			return 1;
	}
	return 0;
}

/* Encode/fold value for a header whose "Name: " ends at column *col. */
static int
header_value(const char *v, size_t *col, struct iw_buf *out)
{
	size_t mark = out->len, c = *col;

	if (!needs_encoding(v)) {
		if (fold_plain(v, &c, out) == 0) {
			*col = c;
			return 0;
		}
		out->len = mark;	/* a word too long to fold: encode */
		if (out->data != NULL)
			out->data[mark] = '\0';
		c = *col;
	}
	if (encode_words(v, &c, out) != 0)
		return -1;
	*col = c;
	return 0;
}

int
iw_mime_header_encode(const char *value, size_t namelen, struct iw_buf *out)
{
	size_t col = namelen + 2;

	if (namelen > HNAME_MAX || check_value("header", value, NULL) != 0)
		return -1;
	return header_value(value, &col, out);
}

/* a, b and c, one after the other: cheaper than a format. */
static int
put3(struct iw_buf *out, const char *a, const char *b, const char *c)
{
	return iw_buf_puts(out, a) != 0 || iw_buf_puts(out, b) != 0 ||
	    iw_buf_puts(out, c) != 0 ? -1 : 0;
}

static int
put_header(struct iw_buf *out, const char *name, const char *value)
{
	size_t col = strlen(name) + 2;

	if (put3(out, name, ": ", "") != 0 ||
	    header_value(value, &col, out) != 0)
		return -1;
	return iw_buf_puts(out, "\r\n");
}

/* Characters that must not appear unquoted in a display name. */
static int
name_special(unsigned char c)
{
	return c != 0 && strchr("\"<>,;:@\\()[]", c) != NULL;
}

/* A quoted display name: "...", with backslash escapes, trailing ws. */
static int
parse_quoted(const char *p, size_t n, size_t *used, char *name,
    size_t namesz, struct iw_err *err)
{
	size_t i = 1, o = 0;

	while (i < n && p[i] != '"') {
		if (p[i] == '\\') {
			if (++i == n)
				break;
		}
		if (o + 1 >= namesz) {
			iw_err_set(err, "display name too long");
			return -1;
		}
		name[o++] = p[i++];
	}
	if (i >= n) {
		iw_err_set(err, "unterminated quoted display name");
		return -1;
	}
	name[o] = '\0';
	*used = i + 1;
	return 0;
}

static int
parse_plain_name(const char *p, size_t n, char *name, size_t namesz,
    struct iw_err *err)
{
	iw_trim(&p, &n);
	for (size_t i = 0; i < n; i++) {
		if (name_special((unsigned char)p[i])) {
			iw_err_set(err, "'%c' in a display name must be "
			    "quoted", p[i]);
			return -1;
		}
	}
	if (n + 1 > namesz) {
		iw_err_set(err, "display name too long");
		return -1;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	return 0;
}

int
iw_mime_parse_address(const char *s, char *name, size_t namesz, char *addr,
    size_t addrsz, struct iw_err *err)
{
	const char *p = s, *lt, *a;
	size_t n, used = 0, alen;

	if (namesz == 0 || addrsz == 0) {
		iw_err_set(err, "no room for the result");
		return -1;
	}
	name[0] = addr[0] = '\0';
	if (s == NULL || (n = strnlen(s, ADDR_IN_MAX + 1)) > ADDR_IN_MAX) {
		iw_err_set(err, s == NULL ? "no address" : "address too long");
		return -1;
	}
	if (check_value("address", s, err) != 0)
		return -1;
	iw_trim(&p, &n);
	if (n > 0 && p[0] == '"') {
		if (parse_quoted(p, n, &used, name, namesz, err) != 0)
			return -1;
		while (used < n && (p[used] == ' ' || p[used] == '\t'))
			used++;
		if (used == n || p[used] != '<') {
			iw_err_set(err, "expected '<address>' after the "
			    "quoted display name");
			return -1;
		}
		lt = p + used;
	} else if ((lt = memchr(p, '<', n)) != NULL) {
		if (parse_plain_name(p, (size_t)(lt - p), name, namesz,
		    err) != 0)
			return -1;
	} else {
		if (memchr(p, '>', n) != NULL) {
			iw_err_set(err, "'>' without '<'");
			return -1;
		}
		return iw_mailbox_normalize(p, n, addr, addrsz, err);
	}
	a = lt + 1;
	alen = n - (size_t)(a - p);
	if (alen == 0 || a[alen - 1] != '>') {
		iw_err_set(err, "address after '<' must end with '>' and "
		    "nothing may follow it");
		return -1;
	}
	alen--;
	if (memchr(a, '<', alen) != NULL || memchr(a, '>', alen) != NULL) {
		iw_err_set(err, "more than one '<address>'");
		return -1;
	}
	if (iw_mailbox_normalize(a, alen, addr, addrsz, err) != 0) {
		name[0] = '\0';
		return -1;
	}
	return 0;
}

static int
is_atom_name(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == ' ' ||
		    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL))
			return 0;
	}
	return 1;
}

/* "Name <addr>" for an address header, name quoted or encoded. */
static int
put_mailbox(struct iw_buf *out, const char *hname, const char *value,
    struct iw_err *err)
{
	char name[VALUE_MAX + 1], addr[256];
	size_t col = strlen(hname) + 2;
	int rc;

	if (check_value(hname, value, err) != 0)
		return -1;
	if (iw_mime_parse_address(value, name, sizeof(name), addr,
	    sizeof(addr), err) != 0) {
		iw_err_prefix(err, "%s", hname);
		return -1;
	}
	if (put3(out, hname, ": ", "") != 0)
		goto oom;
	if (name[0] != '\0') {
		size_t nlen = strlen(name), qlen = nlen + 2;

		for (size_t i = 0; i < nlen; i++)
			qlen += name[i] == '"' || name[i] == '\\';
		if (!needs_encoding(name) && strstr(name, "  ") == NULL &&
		    qlen + col <= LINE_MAX_HDR) {
			if (is_atom_name(name))
				rc = iw_buf_puts(out, name);
			else {
				rc = iw_buf_putc(out, '"');
				for (size_t i = 0; rc == 0 && i < nlen; i++) {
					if (name[i] == '"' || name[i] == '\\')
						rc = iw_buf_putc(out, '\\');
					if (rc == 0)
						rc = iw_buf_putc(out, name[i]);
				}
				if (rc == 0)
					rc = iw_buf_putc(out, '"');
				nlen = qlen;
			}
			col += nlen;
		} else
			rc = encode_words(name, &col, out);
		if (rc != 0)
			goto oom;
		if (col + 1 + strlen(addr) + 2 > LINE_MAX_HDR) {
			if (iw_buf_puts(out, "\r\n") != 0)
				goto oom;
			col = 0;
		}
		if (put3(out, " <", addr, ">") != 0)
			goto oom;
	} else if (iw_buf_puts(out, addr) != 0)
		goto oom;
	if (iw_buf_puts(out, "\r\n") != 0)
		goto oom;
	return 0;
oom:
	iw_err_set(err, "%s: cannot encode", hname);
	return -1;
}

/* "<left@right>", dot-atom text on both sides. */
static int
check_msgid(const char *v, struct iw_err *err)
{
	size_t n, at = 0, ats = 0;

	if (check_value("Message-ID", v, err) != 0)
		return -1;
	n = strlen(v);
	if (n < 5 || n > 250 || v[0] != '<' || v[n - 1] != '>')
		goto bad;
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '@') {
			at = i;
			ats++;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' ||
		    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL))
			goto bad;
	}
	if (ats != 1 || at == 1 || at == n - 2)
		goto bad;
	return 0;
bad:
	iw_err_set(err, "Message-ID: not of the form <left@right>");
	return -1;
}

static int
check_language(const char *v, char *out, size_t outsz, struct iw_err *err)
{
	size_t n;

	if (check_value("Content-Language", v, err) != 0)
		return -1;
	n = strlen(v);
	if (n == 0 || n >= outsz || n > 35)
		goto bad;
	for (size_t i = 0; i <= n; i++) {
		char c = v[i];

		if (c == '_')
			c = '-';
		if (c != '\0' && c != '-' && !((c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			goto bad;
		out[i] = c;
	}
	return 0;
bad:
	iw_err_set(err, "Content-Language: not a language tag");
	return -1;
}

/* Headers the builder writes itself; an extra one may not repeat them. */
static const char *const own_headers[] = {
	"Date", "From", "Reply-To", "To", "Subject", "Message-ID",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"Content-Language", "Auto-Submitted", "Sender", "Cc", "Bcc",
};

static int
check_extra(const struct iw_mime_header *h, struct iw_err *err)
{
	size_t n;

	if (h->name == NULL || (n = strnlen(h->name, HNAME_MAX + 1)) == 0 ||
	    n > HNAME_MAX) {
		iw_err_set(err, "extra header: name missing or longer than "
		    "%d", HNAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h->name[i];

		if (c <= 32 || c >= 127 || c == ':') {
			iw_err_set(err, "extra header: bad character 0x%02x "
			    "in name", c);
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof(own_headers) / sizeof(*own_headers);
	    i++) {
		if (strcasecmp(h->name, own_headers[i]) == 0) {
			iw_err_set(err, "%s: may not be given as an extra "
			    "header", h->name);
			return -1;
		}
	}
	return check_value(h->name, h->value, err);
}

static int
put_date(struct iw_buf *out, time_t t, struct iw_err *err)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec" };
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1900 ||
	    tm.tm_year + 1900 > 9999 || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		iw_err_set(err, "Date: time out of range");
		return -1;
	}
	return iw_buf_printf(out, "Date: %s, %d %s %04d %02d:%02d:%02d "
	    "+0000\r\n", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The attachment's name and type go into headers as they are. */
static int
check_attachment(const struct iw_mime_attachment *a, struct iw_err *err)
{
	size_t n = a->filename != NULL ?
	    strnlen(a->filename, IW_MIME_FNAME_MAX + 1) : 0;

	if (n == 0 || n > IW_MIME_FNAME_MAX || strspn(a->filename,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
	    != n || a->filename[0] == '.') {
		iw_err_set(err, "attachment: file name must be 1 to %d of "
		    "A-Z a-z 0-9 . _ - (not starting with '.')",
		    IW_MIME_FNAME_MAX);
		return -1;
	}
	n = a->type != NULL ? strnlen(a->type, ATYPE_MAX + 1) : 0;
	if (n == 0 || n > ATYPE_MAX || strchr(a->type, '/') == NULL) {
		iw_err_set(err, "attachment: type must be type/subtype");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (a->type[i] <= ' ' && a->type[i] != ' ') {
			iw_err_set(err, "attachment: control character in "
			    "type");
			return -1;
		}
		if ((unsigned char)a->type[i] >= 0x7f) {
			iw_err_set(err, "attachment: type is not ASCII");
			return -1;
		}
	}
	if (a->data == NULL && a->len > 0) {
		iw_err_set(err, "attachment: data missing");
		return -1;
	}
	return 0;
}

static int
check_all(const struct iw_mime_msg *m, const char *body, size_t len,
    char *lang, size_t langsz, struct iw_err *err)
{
	if (check_value("Subject", m->subject, err) != 0 ||
	    check_msgid(m->message_id, err) != 0)
		return -1;
	if (m->language != NULL &&
	    check_language(m->language, lang, langsz, err) != 0)
		return -1;
	if (m->nextra > 0 && m->extra == NULL) {
		iw_err_set(err, "extra headers missing");
		return -1;
	}
	for (size_t i = 0; i < m->nextra; i++)
		if (check_extra(&m->extra[i], err) != 0)
			return -1;
	if (body == NULL && len > 0) {
		iw_err_set(err, "body: missing");
		return -1;
	}
	if (len > 0 && memchr(body, '\0', len) != NULL) {
		iw_err_set(err, "body: contains a NUL byte");
		return -1;
	}
	if (len > 0 && !iw_utf8_valid(body, len)) {
		iw_err_set(err, "body: invalid UTF-8");
		return -1;
	}
	return m->attachment != NULL ? check_attachment(m->attachment, err) :
	    0;
}

/*
 * "=_iw_" and a hash of the Message-ID: reproducible, and "=_" cannot
 * occur in quoted-printable ('=' is followed by hex or a line break) nor in
 * base64, so the boundary cannot occur in the parts (RFC 2045 6.7, 2046
 * 5.1.1).
 */
static void
make_boundary(const char *message_id, char *out, size_t outsz)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (const char *p = message_id; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(out, outsz, "=_iw_%016llx", (unsigned long long)h);
}

static int
put_headers(const struct iw_mime_msg *m, const char *lang,
    const char *boundary, struct iw_buf *out, struct iw_err *err)
{
	if (put_date(out, m->date, err) != 0 ||
	    put_mailbox(out, "From", m->from, err) != 0 ||
	    (m->reply_to != NULL &&
	    put_mailbox(out, "Reply-To", m->reply_to, err) != 0) ||
	    put_mailbox(out, "To", m->to, err) != 0)
		return -1;
	if (put_header(out, "Subject", m->subject) != 0 ||
	    put3(out, "Message-ID: ", m->message_id, "\r\n") != 0 ||
	    iw_buf_puts(out, "MIME-Version: 1.0\r\n") != 0 ||
	    (boundary != NULL ? iw_buf_printf(out, "Content-Type: "
	    "multipart/mixed; boundary=\"%s\"\r\n", boundary) :
	    iw_buf_puts(out, TEXT_PART_HEADERS)) != 0 ||
	    (m->language != NULL &&
	    put3(out, "Content-Language: ", lang, "\r\n") != 0) ||
	    iw_buf_puts(out, "Auto-Submitted: auto-generated\r\n") != 0) {
		iw_err_set(err, "building headers: out of memory");
		return -1;
	}
	for (size_t i = 0; i < m->nextra; i++) {
		if (put_header(out, m->extra[i].name, m->extra[i].value)) {
			iw_err_set(err, "%s: cannot encode", m->extra[i].name);
			return -1;
		}
	}
	return iw_buf_puts(out, "\r\n");
}

/* The letter as QP, ending in CRLF. */
static int
put_text(const char *body, size_t len, struct iw_buf *out)
{
	if (iw_mime_qp_encode(body != NULL ? body : "", len, out) != 0)
		return -1;
	if (out->len >= 2 && memcmp(out->data + out->len - 2, "\r\n", 2) != 0)
		return iw_buf_puts(out, "\r\n");
	return 0;
}

/*
 * The two parts.  The CRLF before a delimiter belongs to it (RFC 2046
 * 5.1.1), hence the empty line after the text: the text keeps its last
 * line break.
 */
static int
put_parts(const struct iw_mime_msg *m, const char *body, size_t len,
    const char *boundary, struct iw_buf *out)
{
	const struct iw_mime_attachment *a = m->attachment;

	if (iw_buf_printf(out, "--%s\r\n" TEXT_PART_HEADERS "\r\n",
	    boundary) != 0 || put_text(body, len, out) != 0 ||
	    iw_buf_printf(out, "\r\n--%s\r\nContent-Type: %s\r\n"
	    "Content-Disposition: attachment; filename=\"%s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", boundary, a->type,
	    a->filename) != 0 ||
	    iw_mime_base64_encode(a->data != NULL ? a->data : "", a->len,
	    out) != 0)
		return -1;
	return iw_buf_printf(out, "--%s--\r\n", boundary);
}

int
iw_mime_build(const struct iw_mime_msg *m, const char *body, size_t len,
    struct iw_buf *out, struct iw_err *err)
{
	char lang[40], boundary[BOUNDARY_LEN + 1];

	if (m == NULL) {
		iw_err_set(err, "no message");
		return -1;
	}
	if (check_all(m, body, len, lang, sizeof(lang), err) != 0)
		return -1;
	iw_buf_reset(out);
	make_boundary(m->message_id, boundary, sizeof(boundary));
	if (put_headers(m, lang, m->attachment != NULL ? boundary : NULL, out,
	    err) != 0)
		goto fail;
	if ((m->attachment != NULL ? put_parts(m, body, len, boundary, out) :
	    put_text(body, len, out)) != 0) {
		iw_err_set(err, "body: out of memory");
		goto fail;
	}
	return 0;
fail:
	iw_buf_reset(out);
	return -1;
}

/* Bytes that stand for themselves anywhere but at the start of an output
 * line (where "." and "From " need care) and at the end of the input line
 * (where whitespace must be encoded). */
static int
qp_plain(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e && c != '=') || c == ' ' || c == '\t';
}

/*
 * One QP token for the character at p[j] of a line of n bytes, written to
 * t: a whole UTF-8 character is one token so a soft break never splits it.
 */
static size_t
qp_token(const unsigned char *p, size_t j, size_t n, size_t col, char *t,
    size_t *used)
{
	unsigned char c = p[j];
	size_t k = 1;
	int enc;

	if (c >= 0x80) {
		k = iw_utf8_char_len((const char *)p + j, n - j);
		if (k == 0)
			k = 1;
		enc = 1;
	} else if (c == ' ' || c == '\t')
		enc = j + 1 == n;	/* trailing whitespace */
	else if (!qp_plain(c))
		enc = 1;
	else if (col == 0 && c == '.')	/* a lone "." ends SMTP DATA */
		enc = 1;
	else if (col == 0 && c == 'F' && n - j >= 5 &&
	    memcmp(p + j, "From ", 5) == 0)	/* mbox "From " line */
		enc = 1;
	else
		enc = 0;
	*used = k;
	if (!enc) {
		t[0] = (char)c;
		return 1;
	}
	for (size_t i = 0; i < k; i++) {
		t[3 * i] = '=';
		t[3 * i + 1] = hexdig[p[j + i] >> 4];
		t[3 * i + 2] = hexdig[p[j + i] & 15];
	}
	return 3 * k;
}

static int
qp_line(const unsigned char *p, size_t n, struct iw_buf *out)
{
	/* One output line is gathered here and appended whole: appending
	 * token by token was a fifth of the daemon's CPU time. */
	char line[QP_LINE_MAX + 16];
	size_t j = 0, col = 0;

	while (j < n) {
		char t[12];
		size_t k, tl, limit;

		/* Runs of plain bytes are copied as they are, up to the last
		 * column a non-final token may take (a letter is mostly such
		 * runs; token by token was most of the cost of composing). */
		if (col > 0 && qp_plain(p[j])) {
			/* No further than this output line can take: a long
			 * paragraph is one input line. */
			size_t room = QP_LINE_MAX - 1 - col;
			size_t stop = n - j > room ? j + room : n;
			size_t r = j, take;

			while (r < stop && qp_plain(p[r]))
				r++;
			if (r == n && (p[r - 1] == ' ' || p[r - 1] == '\t'))
				r--;
			take = r - j;
			if (take > 0) {
				memcpy(line + col, p + j, take);
				col += take;
				j += take;
				continue;
			}
		}
		tl = qp_token(p, j, n, col, t, &k);
		limit = j + k == n ? QP_LINE_MAX : QP_LINE_MAX - 1;

		if (col + tl > limit) {
			memcpy(line + col, "=\r\n", 3);
			if (iw_buf_append(out, line, col + 3) != 0)
				return -1;
			col = 0;
			tl = qp_token(p, j, n, col, t, &k);
		}
		memcpy(line + col, t, tl);
		col += tl;
		j += k;
	}
	return col > 0 ? iw_buf_append(out, line, col) : 0;
}

int
iw_mime_qp_encode(const char *buf, size_t len, struct iw_buf *out)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		const unsigned char *nl = memchr(p + i, '\n', len - i);
		size_t e = nl != NULL ? (size_t)(nl - p) : len, n = e - i;

		if (nl != NULL && n > 0 && p[e - 1] == '\r')
			n--;
		if (qp_line(p + i, n, out) != 0)
			return -1;
		if (nl != NULL && iw_buf_puts(out, "\r\n") != 0)
			return -1;
		i = e + 1;
	}
	return 0;
}

int
iw_mime_base64_encode(const char *buf, size_t len, struct iw_buf *out)
{
	const unsigned char *p = (const unsigned char *)buf;
	char line[B64_LINE + 2];
	size_t col = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16;
		size_t k = len - i < 3 ? len - i : 3;

		if (k > 1)
			v |= (unsigned long)p[i + 1] << 8;
		if (k > 2)
			v |= p[i + 2];
		line[col++] = b64dig[(v >> 18) & 63];
		line[col++] = b64dig[(v >> 12) & 63];
		line[col++] = k > 1 ? b64dig[(v >> 6) & 63] : '=';
		line[col++] = k > 2 ? b64dig[v & 63] : '=';
		if (col == B64_LINE || i + 3 >= len) {
			memcpy(line + col, "\r\n", 2);
			if (iw_buf_append(out, line, col + 2) != 0)
				return -1;
			col = 0;
		}
	}
	return 0;
}
