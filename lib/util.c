/*
 * util: shared helpers — error carrier, growable buffer, bounded copies,
 * UTF-8 and mailbox validation, durations.  See util.h.
 */
#include "util.h"

#include <openssl/evp.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
iw_err_set(struct iw_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void
iw_err_prefix(struct iw_err *err, const char *fmt, ...)
{
	char pre[IW_ERR_MAX], old[IW_ERR_MAX];
	size_t n;
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	iw_strlcpy(old, err->msg, sizeof(old));
	/* Build piecewise: a long prefix truncates rather than overflowing. */
	iw_strlcpy(err->msg, pre, sizeof(err->msg));
	n = strlen(err->msg);
	if (n + 2 < sizeof(err->msg)) {
		memcpy(err->msg + n, ": ", 3);
		iw_strlcpy(err->msg + n + 2, old, sizeof(err->msg) - n - 2);
	}
}

static int
buf_grow(struct iw_buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (need < b->len || need == SIZE_MAX)
		return -1;
	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need + 1) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
iw_buf_reserve(struct iw_buf *b, size_t n)
{
	if (n > SIZE_MAX - b->len - 1)
		return -1;
	return buf_grow(b, b->len + n);
}

int
iw_buf_append(struct iw_buf *b, const void *p, size_t n)
{
	/* Room already there (the common case: a letter is appended in
	 * hundreds of small pieces) needs no call. */
	if (b->cap - b->len <= n && (n > SIZE_MAX - b->len - 1 ||
	    buf_grow(b, b->len + n) != 0))
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
iw_buf_puts(struct iw_buf *b, const char *s)
{
	return iw_buf_append(b, s, strlen(s));
}

int
iw_buf_putc(struct iw_buf *b, char c)
{
	return iw_buf_append(b, &c, 1);
}

int
iw_buf_printf(struct iw_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	/* One formatting pass when it fits (it nearly always does): each
	 * pass costs as much as the rest of appending a header line. */
	if (iw_buf_reserve(b, 128) != 0)
		return -1;
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto fail;
	if ((size_t)n >= room) {
		if (buf_grow(b, b->len + (size_t)n) != 0)
			goto fail;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
fail:
	b->data[b->len] = '\0';	/* drop a partial write */
	return -1;
}

void
iw_buf_reset(struct iw_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
iw_buf_free(struct iw_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
iw_buf_steal(struct iw_buf *b)
{
	char *p;

	if (b->data == NULL && buf_grow(b, 0) != 0)
		return NULL;
	b->data[b->len] = '\0';
	p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

size_t
iw_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

size_t
iw_strlcpy_n(char *dst, size_t size, const char *src, size_t n)
{
	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

char *
iw_strdup(const char *s)
{
	return s ? iw_strndup(s, strlen(s)) : NULL;
}

char *
iw_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *
iw_calloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size ? size : 1);
}

int
iw_utf8_valid(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			/* Mostly ASCII: on eight bytes at a time while none
			 * has its high bit set. */
			while (i + 8 <= len) {
				uint64_t w;

				memcpy(&w, s + i, 8);
				if (w & 0x8080808080808080ULL)
					break;
				i += 8;
			}
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
atext(int c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int
check_local(const char *p, size_t n, struct iw_err *err)
{
	if (n == 0) {
		iw_err_set(err, "empty local part");
		return -1;
	}
	if (n > 64) {
		iw_err_set(err, "local part longer than 64 octets");
		return -1;
	}
	if (p[0] == '.' || p[n - 1] == '.') {
		iw_err_set(err, "local part starts or ends with a dot");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '.') {
			if (p[i + 1] == '.') {
				iw_err_set(err, "two dots in a row in local part");
				return -1;
			}
			continue;
		}
		if (!atext(c)) {
			iw_err_set(err, "character 0x%02x not allowed in "
			    "local part", c);
			return -1;
		}
	}
	return 0;
}

static int
check_domain(const char *p, size_t n, struct iw_err *err)
{
	size_t label = 0, labels = 0;

	if (n == 0) {
		iw_err_set(err, "empty domain");
		return -1;
	}
	if (n > 253) {
		iw_err_set(err, "domain longer than 253 octets");
		return -1;
	}
	if (p[0] == '[') {
		iw_err_set(err, "address literals are not accepted as "
		    "abuse contacts");
		return -1;
	}
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)p[i] : '.';
		if (c == '.') {
			if (label == 0) {
				iw_err_set(err, "empty label in domain");
				return -1;
			}
			if (p[i - 1] == '-') {
				iw_err_set(err, "domain label ends with '-'");
				return -1;
			}
			label = 0;
			labels++;
			continue;
		}
		if (!isalnum(c) && c != '-') {
			iw_err_set(err, "character 0x%02x not allowed in "
			    "domain", c);
			return -1;
		}
		if (label == 0 && c == '-') {
			iw_err_set(err, "domain label starts with '-'");
			return -1;
		}
		if (++label > 63) {
			iw_err_set(err, "domain label longer than 63 octets");
			return -1;
		}
	}
	if (labels < 2) {
		iw_err_set(err, "domain '%.*s' has no dot", (int)n, p);
		return -1;
	}
	return 0;
}

int
iw_mailbox_normalize(const char *buf, size_t len, char *out, size_t outsz,
    struct iw_err *err)
{
	const char *at = NULL;

	iw_trim(&buf, &len);
	if (len == 0) {
		iw_err_set(err, "empty address");
		return -1;
	}
	if (len > 254) {
		iw_err_set(err, "address longer than 254 octets");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '@') {
			if (at != NULL) {
				iw_err_set(err, "more than one '@'");
				return -1;
			}
			at = buf + i;
		}
	}
	if (at == NULL) {
		iw_err_set(err, "no '@'");
		return -1;
	}
	if (check_local(buf, (size_t)(at - buf), err) != 0)
		return -1;
	if (check_domain(at + 1, len - (size_t)(at - buf) - 1, err) != 0)
		return -1;
	if (len + 1 > outsz) {
		iw_err_set(err, "address too long for buffer");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		out[i] = buf + i > at ? (char)tolower((unsigned char)c) : c;
	}
	out[len] = '\0';
	return 0;
}

int
iw_duration_parse(const char *s, long long *seconds)
{
	char *end;
	long long v, mul = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > (long long)1e12 / mul)
		return -1;
	*seconds = v * mul;
	return 0;
}

void
iw_trim(const char **p, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**p)) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)(*p)[*len - 1]))
		(*len)--;
}

int64_t
iw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
iw_pace_due(const struct iw_pace *p, int64_t now_ms)
{
	return p->next_ms == 0 || now_ms >= p->next_ms;
}

void
iw_pace_done(struct iw_pace *p, int64_t start_ms, int64_t end_ms,
    int64_t min_ms)
{
	int64_t took = end_ms > start_ms ? end_ms - start_ms : 0;

	p->next_ms = end_ms + (took * IW_PACE_FACTOR > min_ms ?
	    took * IW_PACE_FACTOR : min_ms);
}

/* Length of the well-formed UTF-8 sequence at s (NUL-terminated), 0 if
 * there is none. */
size_t
iw_utf8_char_len(const char *s, size_t n)
{
	unsigned char c = n > 0 ? (unsigned char)s[0] : 0;
	size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
	    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;

	if (n == 0 || k == 0 || k > n || !iw_utf8_valid(s, k))
		return 0;
	return k;
}

/* The same in a NUL-terminated string. */
static size_t
utf8_seq_len(const char *s)
{
	return iw_utf8_char_len(s, strnlen(s, 4));
}

int
iw_text_to_utf8(struct iw_buf *b, int *latin1)
{
	struct iw_buf o = IW_BUF_INIT;
	int l1 = b->len > 0 && !iw_utf8_valid(b->data, b->len);

	if (latin1 != NULL)
		*latin1 = l1;
	if (!l1) {
		for (size_t i = 0; i < b->len; i++)
			if (b->data[i] == '\0')
				b->data[i] = '?';
		return 0;
	}
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];
		char u[2] = { (char)(0xc0 | c >> 6), (char)(0x80 | (c & 0x3f)) };
		int r = c >= 0x80 ? iw_buf_append(&o, u, 2) :
		    iw_buf_putc(&o, c == 0 ? '?' : (char)c);

		if (r < 0) {
			iw_buf_free(&o);
			return -1;
		}
	}
	iw_buf_free(b);
	*b = o;
	return 0;
}

void
iw_utf8_scrub(char *s)
{
	while (*s != '\0') {
		size_t n = utf8_seq_len(s);

		if (n == 0) {
			*s++ = '?';
			continue;
		}
		s += n;
	}
}

int
iw_json_str(struct iw_buf *out, const char *s)
{
	if (iw_buf_putc(out, '"') < 0)
		return -1;
	while (*s != '\0') {
		unsigned char ch = (unsigned char)*s;
		size_t n = 1;
		int r;

		if (ch == '"' || ch == '\\')
			r = iw_buf_printf(out, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			r = iw_buf_printf(out, "\\u%04x", ch);
		else if ((n = utf8_seq_len(s)) == 0) {
			r = iw_buf_puts(out, "\\ufffd");
			n = 1;
		} else
			r = iw_buf_append(out, s, n);
		if (r < 0)
			return -1;
		s += n;
	}
	return iw_buf_putc(out, '"');
}

int
iw_sha256_hex(const void *p, size_t n, char out[IW_SHA256_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return -1;
	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * len] = '\0';
	return 0;
}
