/*
 * jsonl: one JSON object a line, for `ipwarn enqueue --format jsonl`.  A
 * recursive-descent reader over (buf, len) that keeps the top-level members
 * (strings decoded to UTF-8, numbers and literals as text) and checks and
 * steps over nested values without keeping them, to a fixed depth.  Every
 * write into the caller's store is bounded, nothing assumes a NUL, and each
 * refusal says what was wrong and at which byte.
 */
#include "jsonl.h"

#include <string.h>

/* The reader's cursor and the caller's store. */
struct jp {
	const char *p;
	size_t len;
	size_t pos;
	char *store;
	size_t storesz;
	size_t used;
	struct iw_err *err;
};

static int
fail(struct jp *j, const char *what)
{
	iw_err_set(j->err, "bad JSON at byte %zu: %s", j->pos + 1, what);
	return -1;
}

static void
skip_ws(struct jp *j)
{
	while (j->pos < j->len && (j->p[j->pos] == ' ' ||
	    j->p[j->pos] == '\t' || j->p[j->pos] == '\r' ||
	    j->p[j->pos] == '\n'))
		j->pos++;
}

/* Append one byte when keeping (keep != 0). */
static int
put(struct jp *j, int keep, unsigned char c)
{
	if (!keep)
		return 0;
	if (j->used >= j->storesz)
		return fail(j, "line too long for the buffer");
	j->store[j->used++] = (char)c;
	return 0;
}

static int
hex4(struct jp *j, unsigned *v)
{
	*v = 0;
	if (j->len - j->pos < 4)
		return fail(j, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = j->p[j->pos++];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return fail(j, "bad hex digit in \\u escape");
	}
	return 0;
}

static int
put_utf8(struct jp *j, int keep, unsigned cp)
{
	if (cp < 0x80)
		return put(j, keep, (unsigned char)cp);
	if (cp < 0x800)
		return put(j, keep, (unsigned char)(0xc0 | cp >> 6)) ||
		    put(j, keep, (unsigned char)(0x80 | (cp & 0x3f)));
	if (cp < 0x10000)
		return put(j, keep, (unsigned char)(0xe0 | cp >> 12)) ||
		    put(j, keep, (unsigned char)(0x80 | (cp >> 6 & 0x3f))) ||
		    put(j, keep, (unsigned char)(0x80 | (cp & 0x3f)));
	return put(j, keep, (unsigned char)(0xf0 | cp >> 18)) ||
	    put(j, keep, (unsigned char)(0x80 | (cp >> 12 & 0x3f))) ||
	    put(j, keep, (unsigned char)(0x80 | (cp >> 6 & 0x3f))) ||
	    put(j, keep, (unsigned char)(0x80 | (cp & 0x3f)));
}

/* \uXXXX, with a surrogate pair as one character; after the 'u'. */
static int
unicode_escape(struct jp *j, int keep)
{
	unsigned hi, lo;

	if (hex4(j, &hi) != 0)
		return -1;
	if (hi == 0)
		return fail(j, "NUL character (\\u0000) in a string");
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail(j, "lone low surrogate in \\u escape");
	if (hi < 0xd800 || hi > 0xdbff)
		return put_utf8(j, keep, hi);
	if (j->len - j->pos < 2 || j->p[j->pos] != '\\' ||
	    j->p[j->pos + 1] != 'u')
		return fail(j, "lone high surrogate in \\u escape");
	j->pos += 2;
	if (hex4(j, &lo) != 0)
		return -1;
	if (lo < 0xdc00 || lo > 0xdfff)
		return fail(j, "bad surrogate pair in \\u escape");
	return put_utf8(j, keep, 0x10000 + ((hi - 0xd800) << 10) +
	    (lo - 0xdc00));
}

static int
escape(struct jp *j, int keep)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	const char *e;

	if (j->pos >= j->len)
		return fail(j, "unterminated string");
	if (j->p[j->pos] == 'u') {
		j->pos++;
		return unicode_escape(j, keep);
	}
	e = memchr(from, j->p[j->pos], sizeof(from) - 1);
	if (e == NULL || j->p[j->pos] == '\0')
		return fail(j, "unknown escape in a string");
	j->pos++;
	return put(j, keep, (unsigned char)to[e - from]);
}

/* A string; the cursor is on its opening quote.  When keeping, its
 * decoded bytes start at *off and are *n long. */
static int
string(struct jp *j, int keep, size_t *off, size_t *n)
{
	size_t start = j->used;

	j->pos++;
	for (;;) {
		unsigned char c;

		if (j->pos >= j->len)
			return fail(j, "unterminated string");
		c = (unsigned char)j->p[j->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(j, "control character in a string");
		j->pos++;
		if (c == '\\') {
			if (escape(j, keep) != 0)
				return -1;
		} else if (put(j, keep, c) != 0) {
			return -1;
		}
	}
	j->pos++;
	*off = start;
	*n = j->used - start;
	return 0;
}

static size_t
digits(struct jp *j)
{
	size_t n = 0;

	while (j->pos < j->len && j->p[j->pos] >= '0' && j->p[j->pos] <= '9') {
		j->pos++;
		n++;
	}
	return n;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, kept as written. */
static int
number(struct jp *j, int keep, size_t *off, size_t *n)
{
	size_t start = j->pos;

	if (j->p[j->pos] == '-')
		j->pos++;
	if (j->pos < j->len && j->p[j->pos] == '0')
		j->pos++;
	else if (digits(j) == 0)
		return fail(j, "not a value");
	if (j->pos < j->len && j->p[j->pos] == '.') {
		j->pos++;
		if (digits(j) == 0)
			return fail(j, "digits must follow a decimal point");
	}
	if (j->pos < j->len && (j->p[j->pos] == 'e' || j->p[j->pos] == 'E')) {
		j->pos++;
		if (j->pos < j->len && (j->p[j->pos] == '+' ||
		    j->p[j->pos] == '-'))
			j->pos++;
		if (digits(j) == 0)
			return fail(j, "digits must follow an exponent");
	}
	*off = j->used;
	for (size_t i = start; i < j->pos; i++)
		if (put(j, keep, (unsigned char)j->p[i]) != 0)
			return -1;
	*n = j->used - *off;
	return 0;
}

/* true, false or null; null keeps no text. */
static int
literal(struct jp *j, int keep, size_t *off, size_t *n)
{
	static const char *const words[] = { "true", "false", "null" };

	*off = j->used;
	*n = 0;
	for (size_t w = 0; w < 3; w++) {
		size_t l = strlen(words[w]);

		if (j->len - j->pos < l || memcmp(j->p + j->pos, words[w], l))
			continue;
		j->pos += l;
		for (size_t i = 0; w < 2 && i < l; i++)
			if (put(j, keep, (unsigned char)words[w][i]) != 0)
				return -1;
		*n = j->used - *off;
		return 0;
	}
	return fail(j, "not a value");
}

static int value(struct jp *j, int depth, int keep,
    struct iw_jsonl_member *m);

/* An object or array below the top level, checked and not kept. */
static int
nested(struct jp *j, int depth)
{
	char close = j->p[j->pos] == '{' ? '}' : ']';
	size_t off, n;

	if (depth >= IW_JSONL_DEPTH_MAX)
		return fail(j, "nested deeper than 32 levels");
	j->pos++;
	skip_ws(j);
	if (j->pos < j->len && j->p[j->pos] == close) {
		j->pos++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			skip_ws(j);
			if (j->pos >= j->len || j->p[j->pos] != '"')
				return fail(j, "expected a member name");
			if (string(j, 0, &off, &n) != 0)
				return -1;
			skip_ws(j);
			if (j->pos >= j->len || j->p[j->pos] != ':')
				return fail(j, "expected ':'");
			j->pos++;
		}
		if (value(j, depth + 1, 0, NULL) != 0)
			return -1;
		skip_ws(j);
		if (j->pos < j->len && j->p[j->pos] == close) {
			j->pos++;
			return 0;
		}
		if (j->pos >= j->len || j->p[j->pos] != ',')
			return fail(j, close == '}' ? "expected ',' or '}'" :
			    "expected ',' or ']'");
		j->pos++;
	}
}

/* Any value; at depth 0 (a member of the line's object) its text and type
 * go to m when keeping. */
static int
value(struct jp *j, int depth, int keep, struct iw_jsonl_member *m)
{
	struct iw_jsonl_member dummy;
	char c;
	int r;

	if (m == NULL)
		m = &dummy;
	skip_ws(j);
	if (j->pos >= j->len)
		return fail(j, "missing value");
	c = j->p[j->pos];
	m->val_off = j->used;
	m->val_len = 0;
	if (c == '{' || c == '[') {
		m->type = IW_JSONL_NESTED;
		return nested(j, depth);
	}
	if (c == '"') {
		m->type = IW_JSONL_STRING;
		r = string(j, keep, &m->val_off, &m->val_len);
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		m->type = IW_JSONL_NUMBER;
		r = number(j, keep, &m->val_off, &m->val_len);
	} else {
		m->type = IW_JSONL_LITERAL;
		r = literal(j, keep, &m->val_off, &m->val_len);
	}
	return r;
}

/* One member "name": value of the line's object. */
static int
member(struct jp *j, struct iw_jsonl_member *m, int keep)
{
	skip_ws(j);
	if (j->pos >= j->len || j->p[j->pos] != '"')
		return fail(j, "expected a member name");
	if (string(j, keep, &m->name_off, &m->name_len) != 0)
		return -1;
	skip_ws(j);
	if (j->pos >= j->len || j->p[j->pos] != ':')
		return fail(j, "expected ':'");
	j->pos++;
	return value(j, 0, keep, m);
}

/* The members of the object; the cursor is past its '{'. */
static int
members(struct jp *j, struct iw_jsonl_member *m, size_t maxm, size_t *nm)
{
	struct iw_jsonl_member extra;

	skip_ws(j);
	if (j->pos < j->len && j->p[j->pos] == '}') {
		j->pos++;
		return 0;
	}
	for (;;) {
		/* Members past maxm are checked but not kept. */
		int keep = *nm < maxm;

		if (member(j, keep ? &m[*nm] : &extra, keep) != 0)
			return -1;
		if (keep)
			(*nm)++;
		skip_ws(j);
		if (j->pos < j->len && j->p[j->pos] == '}') {
			j->pos++;
			return 0;
		}
		if (j->pos >= j->len || j->p[j->pos] != ',')
			return fail(j, "expected ',' or '}'");
		j->pos++;
	}
}

int
iw_jsonl_parse(const char *buf, size_t len, char *store, size_t storesz,
    struct iw_jsonl_member *m, size_t maxm, size_t *nm, struct iw_err *err)
{
	struct jp j = { buf, len, 0, store, storesz, 0, err };

	*nm = 0;
	skip_ws(&j);
	if (j.pos >= j.len || j.p[j.pos] != '{')
		return fail(&j, "a line must be one JSON object");
	j.pos++;
	if (members(&j, m, maxm, nm) != 0) {
		*nm = 0;
		return -1;
	}
	skip_ws(&j);
	if (j.pos < j.len) {
		*nm = 0;
		return fail(&j, "text after the object");
	}
	return 0;
}
