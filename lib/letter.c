/*
 * letter: loads the letter templates (one file per locale, format in
 * locales/README) and renders a letter for one or many flagged IPs.  Loading
 * is strict — a template that does not parse, misspells a placeholder or
 * lacks the IP list in one of its wordings or the {attached} block is
 * refused with FILE:LINE — so that rendering cannot fail on template content
 * (only on a {var.KEY} the campaign does not define).  Item texts (IP,
 * evidence, observation time) and the campaign's values come from outside
 * and are cleaned and bounded here.
 */
#include "letter.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TMPL_MAX_SIZE	(64 * 1024)
#define LOCALE_MAX	16
#define EVIDENCE_MAX	200
#define OBSERVED_MAX	64
#define IP_MAX		64

/* When a body line is used: a bit per wording, one for a cut list. */
enum { CTX_ONE = 1, CTX_MANY = 2, CTX_BOTH = 3, CTX_ATTACHED = 4,
	CTX_FALLBACK = 8 };
enum {
	PH_IP = 1, PH_COUNT = 2, PH_TIME = 4, PH_IPS = 8, PH_CAMPAIGN = 16,
	PH_REF = 32, PH_VAR = 64, PH_PREVIOUS = 128
};
/* What may appear wherever {count} may. */
#define PH_TEXT	(PH_COUNT | PH_CAMPAIGN | PH_REF | PH_VAR)

struct line {
	char *text;		/* NULL for the {ips} line */
	unsigned ctx;
	size_t lineno;
};

struct tmpl {
	char locale[LOCALE_MAX];	/* normalised: "pt-BR" */
	char *path;
	char *subject_one;
	char *subject_many;
	char *observed;
	size_t one_line, many_line;	/* where the subjects are */
	size_t attached_line;		/* where {attached} opens */
	size_t fallback_line;		/* where {fallback} opens; 0: none */
	struct line *lines;
	size_t nlines;
};

struct iw_letters {
	struct tmpl *t;
	size_t n;
};

/* Values substituted into a template. */
struct vars {
	const char *ip;
	size_t count;
	const char *time;
	const struct iw_letter_ctx *ctx;	/* NULL: nothing defined */
};

static void
tmpl_clear(struct tmpl *t)
{
	free(t->path);
	free(t->subject_one);
	free(t->subject_many);
	free(t->observed);
	for (size_t i = 0; i < t->nlines; i++)
		free(t->lines[i].text);
	free(t->lines);
	memset(t, 0, sizeof(*t));
}

void
iw_letters_free(struct iw_letters *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		tmpl_clear(&l->t[i]);
	free(l->t);
	free(l);
}

/*
 * Locale code: 2-3 lower-case letters, optionally "-XX" or "_XX" with an
 * upper-case region.  Writes the normalised form ("-") to out when it is one.
 */
static int
locale_norm(const char *s, char *out, size_t outsz, int strict)
{
	size_t n = 0, len = strlen(s);

	while (n < len && s[n] >= 'a' && s[n] <= 'z')
		n++;
	if (n < 2 || n > 3)
		return -1;
	if (n != len) {
		char a, b;

		if (len != n + 3 || (s[n] != '-' && s[n] != '_'))
			return -1;
		a = s[n + 1];
		b = s[n + 2];
		if (!strict) {
			if (a >= 'a' && a <= 'z')
				a = (char)(a - 'a' + 'A');
			if (b >= 'a' && b <= 'z')
				b = (char)(b - 'a' + 'A');
		}
		if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
			return -1;
		if (outsz < len + 1)
			return -1;
		memcpy(out, s, n);
		out[n] = '-';
		out[n + 1] = a;
		out[n + 2] = b;
		out[n + 3] = '\0';
		return 0;
	}
	if (outsz < len + 1)
		return -1;
	memcpy(out, s, len + 1);
	return 0;
}

static int put_clean(struct iw_buf *out, const char *s, size_t max,
    int collapse);

/* "{var.KEY}": KEY is [a-z0-9_]{1,32}. */
static int
var_key_ok(const char *k, size_t n)
{
	if (n == 0 || n > IW_LETTER_VAR_KEY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') ||
		    (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return 0;
	return 1;
}

/* The value ctx gives KEY (NULL value: ""); NULL if it defines none. */
static const char *
var_value(const struct iw_letter_ctx *ctx, const char *k, size_t n)
{
	if (ctx == NULL || ctx->var_keys == NULL)
		return NULL;
	for (size_t i = 0; i < ctx->nvars; i++) {
		const char *key = ctx->var_keys[i];

		if (key != NULL && strlen(key) == n && memcmp(key, k, n) == 0)
			return ctx->var_values != NULL &&
			    ctx->var_values[i] != NULL ? ctx->var_values[i] :
			    "";
	}
	return NULL;
}

/*
 * The placeholder name of n bytes at p: its PH_* bit, or 0 with the
 * reason in why.  For {var.KEY}, *key and *klen give KEY.
 */
static unsigned
ph_kind(const char *p, size_t n, const char **key, size_t *klen, char *why,
    size_t whysz)
{
	static const struct {
		const char *name;
		unsigned ph;
	} names[] = {
		{ "ip", PH_IP }, { "count", PH_COUNT }, { "time", PH_TIME },
		{ "ips", PH_IPS }, { "campaign", PH_CAMPAIGN },
		{ "ref", PH_REF }, { "previous", PH_PREVIOUS },
	};

	if (n > 4 && memcmp(p, "var.", 4) == 0) {
		*key = p + 4;
		*klen = n - 4;
		if (var_key_ok(*key, *klen))
			return PH_VAR;
		snprintf(why, whysz, "{%.*s}: a variable name is 1 to %d of "
		    "a-z, 0-9 and _", (int)(n > 40 ? 40 : n), p,
		    IW_LETTER_VAR_KEY_MAX);
		return 0;
	}
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strlen(names[k].name) == n &&
		    memcmp(names[k].name, p, n) == 0)
			return names[k].ph;
	snprintf(why, whysz, "unknown placeholder {%.*s}",
	    (int)(n > 40 ? 40 : n), p);
	return 0;
}

/* Appends the value of placeholder ph (never {ips}) to out. */
static int
ph_put(unsigned ph, const char *key, size_t klen, const struct vars *v,
    struct iw_buf *out)
{
	const struct iw_letter_ctx *c = v->ctx;

	switch (ph) {
	case PH_IP:
		return iw_buf_puts(out, v->ip);
	case PH_COUNT:
		return iw_buf_printf(out, "%zu", v->count);
	case PH_TIME:
		return iw_buf_puts(out, v->time);
	case PH_CAMPAIGN:
		return put_clean(out, c != NULL && c->campaign != NULL ?
		    c->campaign : "", IW_LETTER_VALUE_MAX, 1);
	case PH_REF:
		return put_clean(out, c != NULL && c->ref != NULL ? c->ref :
		    "", IW_LETTER_VALUE_MAX, 1);
	case PH_PREVIOUS:
		return put_clean(out, c != NULL && c->fallback != NULL ?
		    c->fallback : "", IW_LETTER_VALUE_MAX, 1);
	case PH_VAR:
		key = var_value(c, key, klen);
		return put_clean(out, key != NULL ? key : "",
		    IW_LETTER_VALUE_MAX, 1);
	default:
		return 0;
	}
}

static void
not_allowed(unsigned ph, const char *p, size_t n, char *why, size_t whysz)
{
	snprintf(why, whysz, "placeholder {%.*s} not allowed here%s",
	    (int)(n > 40 ? 40 : n), p, ph == PH_IPS ?
	    " ({ips} goes alone on its line)" : ph == PH_IP ?
	    " (only in subject-one and {one} blocks)" : ph == PH_PREVIOUS ?
	    " (only in the {fallback} block)" : "");
}

/*
 * Scan s for placeholders; allowed is a PH_* mask.  With v != NULL every
 * {var.KEY} must be defined by v->ctx; with out != NULL the expansion is
 * appended there.  On a problem writes it to why and returns -1.
 */
static int
expand(const char *s, unsigned allowed, const struct vars *v,
    struct iw_buf *out, char *why, size_t whysz)
{
	while (*s != '\0') {
		const char *open = strchr(s, '{'), *close, *key = NULL;
		size_t nlen, klen = 0;
		unsigned ph;

		if (open == NULL)
			return out != NULL && iw_buf_puts(out, s) != 0 ?
			    (snprintf(why, whysz, "out of memory"), -1) : 0;
		if (out != NULL && iw_buf_append(out, s, (size_t)(open - s)))
			goto oom;
		if (open[1] == '{') {
			if (out != NULL && iw_buf_putc(out, '{') != 0)
				goto oom;
			s = open + 2;
			continue;
		}
		close = strchr(open, '}');
		nlen = close != NULL ? (size_t)(close - open - 1) : 0;
		if (close == NULL || nlen == 0 || nlen > 4 +
		    IW_LETTER_VAR_KEY_MAX || memchr(open + 1, '{', nlen)) {
			snprintf(why, whysz, "unmatched '{' (write {{ for a "
			    "literal brace)");
			return -1;
		}
		if ((ph = ph_kind(open + 1, nlen, &key, &klen, why,
		    whysz)) == 0)
			return -1;
		if (!(allowed & ph)) {
			not_allowed(ph, open + 1, nlen, why, whysz);
			return -1;
		}
		if (ph == PH_VAR && v != NULL &&
		    var_value(v->ctx, key, klen) == NULL) {
			snprintf(why, whysz, "{var.%.*s} is not defined by the "
			    "campaign (--var %.*s=VALUE)", (int)klen, key,
			    (int)klen, key);
			return -1;
		}
		if (out != NULL && ph_put(ph, key, klen, v, out) != 0)
			goto oom;
		s = close + 1;
	}
	return 0;
oom:
	snprintf(why, whysz, "out of memory");
	return -1;
}

/* Checks one raw line: UTF-8, no control characters but TAB. */
static int
line_ok(const char *p, size_t n, char *why, size_t whysz)
{
	if (!iw_utf8_valid(p, n)) {
		snprintf(why, whysz, "invalid UTF-8");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(why, whysz, "control character 0x%02x", c);
			return -1;
		}
	}
	return 0;
}

static int
add_line(struct tmpl *t, size_t *cap, const char *p, size_t n, unsigned ctx,
    size_t lineno, int ips)
{
	if (t->nlines == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct line *nl = realloc(t->lines, nc * sizeof(*nl));

		if (nl == NULL)
			return -1;
		t->lines = nl;
		*cap = nc;
	}
	t->lines[t->nlines].ctx = ctx;
	t->lines[t->nlines].lineno = lineno;
	t->lines[t->nlines].text = NULL;
	if (!ips && (t->lines[t->nlines].text = iw_strndup(p, n)) == NULL)
		return -1;
	t->nlines++;
	return 0;
}

/* Header line "key: value". */
static int
header_line(struct tmpl *t, const char *p, size_t n, size_t lineno,
    char *why, size_t whysz)
{
	const char *colon = memchr(p, ':', n), *v;
	size_t klen, vlen;
	char **slot;
	unsigned allowed;

	if (colon == NULL) {
		snprintf(why, whysz, "expected \"key: value\" in the header "
		    "(the body follows the first empty line)");
		return -1;
	}
	klen = (size_t)(colon - p);
	v = colon + 1;
	vlen = n - klen - 1;
	iw_trim(&v, &vlen);
	if (klen == 11 && memcmp(p, "subject-one", 11) == 0) {
		slot = &t->subject_one;
		t->one_line = lineno;
		allowed = PH_IP | PH_TEXT;
	} else if (klen == 12 && memcmp(p, "subject-many", 12) == 0) {
		slot = &t->subject_many;
		t->many_line = lineno;
		allowed = PH_TEXT;
	} else if (klen == 8 && memcmp(p, "observed", 8) == 0) {
		slot = &t->observed;
		allowed = PH_TIME;
	} else {
		snprintf(why, whysz, "unknown header key '%.*s'",
		    (int)(klen > 40 ? 40 : klen), p);
		return -1;
	}
	if (*slot != NULL) {
		snprintf(why, whysz, "'%.*s' given twice", (int)klen, p);
		return -1;
	}
	if (vlen == 0) {
		snprintf(why, whysz, "'%.*s' is empty", (int)klen, p);
		return -1;
	}
	if ((*slot = iw_strndup(v, vlen)) == NULL) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	if (expand(*slot, allowed, NULL, NULL, why, whysz) != 0)
		return -1;
	if (slot == &t->observed && strstr(*slot, "{time}") == NULL) {
		snprintf(why, whysz, "'observed' must contain {time}");
		return -1;
	}
	return 0;
}

static const char *
ctx_name(unsigned ctx)
{
	return ctx == CTX_ONE ? "one" : ctx == CTX_MANY ? "many" :
	    ctx == CTX_FALLBACK ? "fallback" : "attached";
}

/*
 * A block marker line: {one}, {many}, {attached} or {end}; 1 if p is one
 * (handled or refused in why), 0 if it is not a marker.
 */
static int
block_marker(struct tmpl *t, const char *p, size_t n, unsigned *ctx,
    size_t *open_line, size_t lineno, char *why, size_t whysz)
{
	unsigned next;

	if (n == 5 && memcmp(p, "{end}", 5) == 0) {
		if (*ctx == CTX_BOTH)
			return snprintf(why, whysz, "{end} without {one}, "
			    "{many} or {attached}"), -1;
		*ctx = CTX_BOTH;
		return 1;
	}
	if (n == 5 && memcmp(p, "{one}", 5) == 0)
		next = CTX_ONE;
	else if (n == 6 && memcmp(p, "{many}", 6) == 0)
		next = CTX_MANY;
	else if (n == 10 && memcmp(p, "{attached}", 10) == 0)
		next = CTX_ATTACHED;
	else if (n == 10 && memcmp(p, "{fallback}", 10) == 0)
		next = CTX_FALLBACK;
	else
		return 0;
	/* {many} right after a {one} block closes it; nothing else nests */
	if (*ctx != CTX_BOTH && !(*ctx == CTX_ONE && next == CTX_MANY))
		return snprintf(why, whysz, "%.*s inside the {%s} block (close "
		    "it with {end})", (int)n, p, ctx_name(*ctx)), -1;
	if (next == CTX_ATTACHED && t->attached_line != 0)
		return snprintf(why, whysz, "a second {attached} block (the "
		    "first is at line %zu)", t->attached_line), -1;
	if (next == CTX_FALLBACK && t->fallback_line != 0)
		return snprintf(why, whysz, "a second {fallback} block (the "
		    "first is at line %zu)", t->fallback_line), -1;
	if (next == CTX_ATTACHED)
		t->attached_line = lineno;
	if (next == CTX_FALLBACK)
		t->fallback_line = lineno;
	*ctx = next;
	*open_line = lineno;
	return 1;
}

/* Body line: a marker, the {ips} line or text. */
static int
body_line(struct tmpl *t, size_t *cap, const char *p, size_t n,
    unsigned *ctx, size_t *open_line, size_t lineno, char *why,
    size_t whysz)
{
	int m = block_marker(t, p, n, ctx, open_line, lineno, why, whysz);

	if (m != 0)
		return m < 0 ? -1 : 0;
	if (n == 5 && memcmp(p, "{ips}", 5) == 0 && (*ctx == CTX_ATTACHED ||
	    *ctx == CTX_FALLBACK))
		return snprintf(why, whysz, "{ips} inside the {%s} block (the "
		    "list goes outside it)", ctx_name(*ctx)), -1;
	if (add_line(t, cap, p, n, *ctx, lineno,
	    n == 5 && memcmp(p, "{ips}", 5) == 0) != 0) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	if (t->lines[t->nlines - 1].text == NULL)
		return 0;
	return expand(t->lines[t->nlines - 1].text,
	    PH_TEXT | (*ctx == CTX_ONE ? PH_IP : 0) |
	    (*ctx == CTX_FALLBACK ? PH_PREVIOUS : 0), NULL, NULL, why, whysz);
}

/*
 * Every template has one {attached} block with some text, so a letter
 * whose list is cut always says where the rest is.
 */
static int
check_attached(const struct tmpl *t, char *why, size_t whysz)
{
	if (t->attached_line == 0) {
		snprintf(why, whysz, "no {attached} block: every template "
		    "must say, in {attached} ... {end}, that the list is cut "
		    "and all {count} IPs are in the attached ips.csv");
		return -1;
	}
	for (size_t i = 0; i < t->nlines; i++)
		if (t->lines[i].ctx == CTX_ATTACHED &&
		    t->lines[i].text != NULL && t->lines[i].text[0] != '\0')
			return 0;
	snprintf(why, whysz, "the {attached} block has no text");
	return -1;
}

/* Every wording must list the IPs exactly once. */
static int
check_ips(const struct tmpl *t, char *why, size_t whysz)
{
	static const struct {
		unsigned ctx;
		const char *name;
	} w[] = { { CTX_ONE, "singular" }, { CTX_MANY, "plural" } };

	for (size_t k = 0; k < 2; k++) {
		size_t c = 0;

		for (size_t i = 0; i < t->nlines; i++)
			if (t->lines[i].text == NULL &&
			    (t->lines[i].ctx & w[k].ctx))
				c++;
		if (c != 1) {
			snprintf(why, whysz, "the %s wording shows {ips} %zu "
			    "times; it must show it exactly once", w[k].name,
			    c);
			return -1;
		}
	}
	return 0;
}

static int
parse_template(const char *path, const char *buf, size_t len,
    struct tmpl *t, struct iw_err *err)
{
	char why[200];
	size_t off = 0, lineno = 0, cap = 0, open_line = 0;
	int in_body = 0;
	unsigned ctx = CTX_BOTH;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		off = 3;
	while (off < len) {
		const char *p = buf + off, *nl = memchr(p, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - p) : len - off;

		off += n + (nl != NULL);
		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (line_ok(p, n, why, sizeof(why)) != 0)
			goto fail;
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (!in_body) {
			if (n == 0)
				in_body = 1;
			else if (p[0] != '#' &&
			    header_line(t, p, n, lineno, why, sizeof(why)) != 0)
				goto fail;
			continue;
		}
		if (body_line(t, &cap, p, n, &ctx, &open_line, lineno, why,
		    sizeof(why)) != 0)
			goto fail;
	}
	if (!in_body) {
		snprintf(why, sizeof(why), "no empty line between header "
		    "and body");
		goto fail;
	}
	if (ctx != CTX_BOTH) {
		lineno = open_line;
		snprintf(why, sizeof(why), "{%s} block not closed",
		    ctx_name(ctx));
		goto fail;
	}
	if (t->subject_one == NULL || t->subject_many == NULL) {
		snprintf(why, sizeof(why), "missing %s",
		    t->subject_one == NULL ? "subject-one" : "subject-many");
		goto fail;
	}
	if (t->observed == NULL &&
	    (t->observed = iw_strdup("(observed {time})")) == NULL) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	if (check_ips(t, why, sizeof(why)) != 0)
		goto fail;
	if (check_attached(t, why, sizeof(why)) != 0) {
		if (t->attached_line != 0)
			lineno = t->attached_line;
		goto fail;
	}
	if ((t->path = iw_strdup(path)) == NULL) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	return 0;
fail:
	iw_err_set(err, "%s:%zu: %s", path, lineno ? lineno : 1, why);
	return -1;
}

static int
read_file(const char *path, char **out, size_t *outlen, struct iw_err *err)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		iw_err_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(TMPL_MAX_SIZE + 1)) == NULL) {
		fclose(f);
		iw_err_set(err, "%s: out of memory", path);
		return -1;
	}
	n = fread(buf, 1, TMPL_MAX_SIZE + 1, f);
	if (ferror(f) || n > TMPL_MAX_SIZE) {
		iw_err_set(err, "%s: %s", path, ferror(f) ? "read error" :
		    "larger than 64 KiB");
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	*out = buf;
	*outlen = n;
	return 0;
}

static int
load_one(const char *dir, const char *name, struct tmpl *t,
    struct iw_err *err)
{
	char path[4096];
	struct stat st;
	char *buf;
	size_t len;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		iw_err_set(err, "%s: path too long", dir);
		return -1;
	}
	if (stat(path, &st) != 0) {
		iw_err_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		iw_err_set(err, "%s: not a regular file", path);
		return -1;
	}
	if (read_file(path, &buf, &len, err) != 0)
		return -1;
	memset(t, 0, sizeof(*t));
	(void)locale_norm(name, t->locale, sizeof(t->locale), 1);
	rc = parse_template(path, buf, len, t, err);
	free(buf);
	if (rc != 0)
		tmpl_clear(t);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The locale file names in dir, sorted (so errors are reproducible). */
static int
list_dir(const char *dir, char ***names, size_t *n, struct iw_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;
	char norm[LOCALE_MAX];

	*names = NULL;
	*n = 0;
	if (d == NULL) {
		iw_err_set(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (locale_norm(de->d_name, norm, sizeof(norm), 1) != 0)
			continue;
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **nn = realloc(*names, nc * sizeof(*nn));

			if (nn == NULL)
				goto oom;
			*names = nn;
			cap = nc;
		}
		if (((*names)[*n] = iw_strdup(de->d_name)) == NULL)
			goto oom;
		(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(*names, *n, sizeof(**names), cmp_str);
	return 0;
oom:
	closedir(d);
	iw_err_set(err, "%s: out of memory", dir);
	return -1;
}

static const struct tmpl *
find(const struct iw_letters *l, const char *locale)
{
	char norm[LOCALE_MAX];

	if (l == NULL || locale == NULL ||
	    locale_norm(locale, norm, sizeof(norm), 0) != 0)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->t[i].locale, norm) == 0)
			return &l->t[i];
	return NULL;
}

int
iw_letters_load(const char *dir, struct iw_letters **out, struct iw_err *err)
{
	struct iw_letters *l;
	char **names;
	size_t n;
	int rc = -1;

	*out = NULL;
	if (list_dir(dir, &names, &n, err) != 0)
		goto done;
	if (n == 0) {
		iw_err_set(err, "%s: no letter templates (files named by "
		    "locale, e.g. 'en')", dir);
		goto done;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->t = calloc(n, sizeof(*l->t))) == NULL) {
		free(l);
		iw_err_set(err, "%s: out of memory", dir);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (find(l, names[i]) != NULL) {
			iw_err_set(err, "%s/%s: a template for this locale is "
			    "already loaded", dir, names[i]);
			iw_letters_free(l);
			goto done;
		}
		if (load_one(dir, names[i], &l->t[l->n], err) != 0) {
			iw_letters_free(l);
			goto done;
		}
		l->n++;
	}
	*out = l;
	rc = 0;
done:
	for (size_t i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int
iw_letters_has(const struct iw_letters *l, const char *locale)
{
	return find(l, locale) != NULL;
}

/* Decodes one UTF-8 character at s[0..n); 0 bytes if it is not valid. */
static size_t
utf8_char(const unsigned char *s, size_t n, unsigned long *cp)
{
	size_t k;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	k = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 :
	    (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (k == 0 || k > n || !iw_utf8_valid((const char *)s, k))
		return 0;
	*cp = s[0] & (0x7f >> k);
	for (size_t i = 1; i < k; i++)
		*cp = (*cp << 6) | (s[i] & 0x3f);
	return k;
}

/* Characters that would move text around or hide it on the screen. */
static int
is_format_char(unsigned long cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0xad ||
	    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff ||
	    (cp >= 0xfff9 && cp <= 0xfffb);
}

/*
 * Appends untrusted text s, cleaned: line breaks and tabs become a space,
 * other control and format characters '?', invalid UTF-8 '?', with
 * collapse spaces collapsed and trimmed, at most max bytes (cut at a
 * character, marked "...").
 */
static int
put_clean(struct iw_buf *out, const char *s, size_t max, int collapse)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, start = out->len, used = 0;
	int space = collapse;

	while (i < n) {
		unsigned long cp;
		size_t k = utf8_char(p + i, n - i, &cp);
		const char *rep = NULL;
		size_t rlen;

		if (k == 0) {
			rep = "?";
			k = 1;
		} else if (cp == '\t' || cp == '\n' || cp == '\r' ||
		    cp == '\v' || cp == '\f' || cp == ' ' || cp == 0x85 ||
		    cp == 0x2028 || cp == 0x2029)
			rep = " ";
		else if (cp < 0x20 || cp == 0x7f || is_format_char(cp))
			rep = "?";
		rlen = rep != NULL ? 1 : k;
		if (rep != NULL && rep[0] == ' ' && space && collapse) {
			i += k;
			continue;
		}
		if (used + rlen > max) {
			while (collapse && out->len > start &&
			    out->data[out->len - 1] == ' ')
				out->len--;
			return iw_buf_puts(out, "...");
		}
		if (iw_buf_append(out, rep != NULL ? rep : (const char *)p + i,
		    rlen) != 0)
			return -1;
		space = rep != NULL && rep[0] == ' ';
		used += rlen;
		i += k;
	}
	while (collapse && out->len > start && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
	return 0;
}

int
iw_letter_clean(struct iw_buf *out, const char *s, size_t max, int collapse)
{
	return put_clean(out, s != NULL ? s : "", max, collapse);
}

/* Characters (not bytes) in UTF-8 text. */
static size_t
utf8_width(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

/* Width of the widest IP of the list, so the evidence lines up. */
static size_t
ip_column(const struct iw_letter_item *items, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		struct iw_buf b = IW_BUF_INIT;

		if (put_clean(&b, items[i].ip, IP_MAX, 1) == 0 &&
		    utf8_width(b.data, b.len) > w)
			w = utf8_width(b.data, b.len);
		iw_buf_free(&b);
	}
	return w;
}

static int
put_item(struct iw_buf *b, const struct tmpl *t,
    const struct iw_letter_item *it, size_t ipw)
{
	char why[64];
	size_t mark = b->len;

	if (iw_buf_puts(b, "  ") != 0 || put_clean(b, it->ip, IP_MAX, 1) != 0)
		return -1;
	if (it->evidence != NULL && it->evidence[0] != '\0') {
		size_t w = utf8_width(b->data + mark + 2, b->len - mark - 2);

		mark = b->len;
		for (; w < ipw; w++)
			if (iw_buf_putc(b, ' ') != 0)
				return -1;
		if (iw_buf_puts(b, "  ") != 0 ||
		    put_clean(b, it->evidence, EVIDENCE_MAX, 1) != 0)
			return -1;
		/* put_clean trims: a trailing blank means it added nothing */
		if (b->data[b->len - 1] == ' ')
			b->data[b->len = mark] = '\0';
	}
	if (it->observed != NULL && it->observed[0] != '\0') {
		struct iw_buf tm = IW_BUF_INIT;
		struct vars v = { NULL, 0, NULL, NULL };
		int rc;

		if (put_clean(&tm, it->observed, OBSERVED_MAX, 1) != 0) {
			iw_buf_free(&tm);
			return -1;
		}
		v.time = tm.data != NULL ? tm.data : "";
		rc = tm.len == 0 ? 0 : iw_buf_putc(b, ' ') != 0 ? -1 :
		    expand(t->observed, PH_TIME, &v, b, why, sizeof(why));
		iw_buf_free(&tm);
		if (rc != 0)
			return -1;
	}
	return iw_buf_putc(b, '\n');
}

/* Drops leading and trailing empty lines; ends the text with one LF. */
static int
trim_body(const struct iw_buf *raw, struct iw_buf *body)
{
	const char *p = raw->data != NULL ? raw->data : "";
	size_t s = 0, e = raw->len;

	while (s < e && p[s] == '\n')
		s++;
	while (e > s && p[e - 1] == '\n')
		e--;
	if (iw_buf_append(body, p + s, e - s) != 0)
		return -1;
	return iw_buf_putc(body, '\n');
}

static int
render_body(const struct tmpl *t, unsigned ctx, const struct vars *v,
    const struct iw_letter_item *items, size_t n, struct iw_buf *raw,
    char *why, size_t whysz)
{
	for (size_t i = 0; i < t->nlines; i++) {
		const struct line *ln = &t->lines[i];

		if (!(ln->ctx & ctx))
			continue;
		if (ln->text == NULL) {
			size_t ipw = ip_column(items, n);

			for (size_t k = 0; k < n; k++)
				if (put_item(raw, t, &items[k], ipw) != 0)
					goto oom;
			continue;
		}
		if (expand(ln->text, PH_TEXT | PH_IP | PH_PREVIOUS, v, raw, why,
		    whysz) != 0)
			return -1;
		if (iw_buf_putc(raw, '\n') != 0)
			goto oom;
	}
	return 0;
oom:
	snprintf(why, whysz, "out of memory");
	return -1;
}

/*
 * Every {var.KEY} of t must be defined by ctx, in whichever wording it is:
 * a letter must not render for one IP and fail for two.
 */
static int
check_tmpl_vars(const struct tmpl *t, const struct iw_letter_ctx *ctx,
    struct iw_err *err)
{
	const struct vars v = { "", 0, "", ctx };
	int many_first = t->many_line < t->one_line;
	const char *subj[2] = {
		many_first ? t->subject_many : t->subject_one,
		many_first ? t->subject_one : t->subject_many };
	const size_t at[2] = {
		many_first ? t->many_line : t->one_line,
		many_first ? t->one_line : t->many_line };
	char why[160];

	for (size_t i = 0; i < 2; i++)
		if (expand(subj[i], PH_IP | PH_TEXT, &v, NULL, why,
		    sizeof(why)) != 0)
			return iw_err_set(err, "%s:%zu: %s", t->path, at[i],
			    why), -1;
	for (size_t i = 0; i < t->nlines; i++)
		if (t->lines[i].text != NULL && expand(t->lines[i].text,
		    PH_IP | PH_TEXT | PH_PREVIOUS, &v, NULL, why,
		    sizeof(why)) != 0)
			return iw_err_set(err, "%s:%zu: %s", t->path,
			    t->lines[i].lineno, why), -1;
	return 0;
}

int
iw_letters_check_vars(const struct iw_letters *l, const char *const *keys,
    size_t nkeys, struct iw_err *err)
{
	struct iw_letter_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.var_keys = keys;
	ctx.nvars = keys != NULL ? nkeys : 0;
	for (size_t i = 0; l != NULL && i < l->n; i++)
		if (check_tmpl_vars(&l->t[i], &ctx, err) != 0)
			return -1;
	return 0;
}

const char *
iw_letters_path(const struct iw_letters *l, const char *locale)
{
	const struct tmpl *t = find(l, locale);

	return t != NULL ? t->path : NULL;
}

/*
 * The IP is the caller's canonical text form; anything else in its place
 * is a bug upstream, and a letter must not carry it.
 */
static int
check_ip(const char *ip, size_t i, struct iw_err *err)
{
	size_t n = ip != NULL ? strnlen(ip, IP_MAX) : 0;

	if (n == 0 || n >= IP_MAX ||
	    strspn(ip, "0123456789abcdefABCDEF.:") != n) {
		iw_err_set(err, "item %zu: not an IP address in text form",
		    i + 1);
		return -1;
	}
	return 0;
}

/* Refuses what no template can render: an unknown locale, no IPs, an IP
 * that is not one. */
static int
check_items(const struct tmpl *t, const char *locale,
    const struct iw_letter_item *items, size_t n, struct iw_err *err)
{
	if (t == NULL) {
		iw_err_set(err, "no letter template for locale '%s'",
		    locale != NULL ? locale : "(null)");
		return -1;
	}
	if (items == NULL || n == 0) {
		iw_err_set(err, "a letter needs at least one IP");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (check_ip(items[i].ip, i, err) != 0)
			return -1;
	return 0;
}

int
iw_letter_render(const struct iw_letters *l, const char *locale,
    const struct iw_letter_item *items, size_t n,
    const struct iw_letter_ctx *ctx, struct iw_buf *subject,
    struct iw_buf *body, int *attached, struct iw_err *err)
{
	const struct tmpl *t = find(l, locale);
	struct iw_buf ip = IW_BUF_INIT, raw = IW_BUF_INIT;
	struct vars v;
	char why[160];
	size_t shown = n;
	int rc = -1;

	if (attached != NULL)
		*attached = 0;
	if (check_items(t, locale, items, n, err) != 0 ||
	    check_tmpl_vars(t, ctx, err) != 0)
		return -1;
	if (ctx != NULL && ctx->max_inline > 0 && n > ctx->max_inline)
		shown = ctx->max_inline;
	iw_buf_reset(subject);
	iw_buf_reset(body);
	if (put_clean(&ip, items[0].ip, IP_MAX, 1) != 0)
		goto oom;
	v.ip = ip.data != NULL ? ip.data : "";
	v.count = n;
	v.time = "";
	v.ctx = ctx;
	if (expand(n == 1 ? t->subject_one : t->subject_many, PH_IP | PH_TEXT,
	    &v, subject, why, sizeof(why)) != 0 ||
	    render_body(t, (n == 1 ? CTX_ONE : CTX_MANY) |
	    (shown < n ? CTX_ATTACHED : 0) | (ctx != NULL &&
	    ctx->fallback != NULL && ctx->fallback[0] != '\0' ?
	    CTX_FALLBACK : 0), &v, items, shown, &raw, why,
	    sizeof(why)) != 0)
		goto fail;
	if (trim_body(&raw, body) != 0)
		goto oom;
	if (attached != NULL)
		*attached = shown < n;
	rc = 0;
	goto done;
oom:
	snprintf(why, sizeof(why), "out of memory");
fail:
	/* only memory can fail here: the variables were checked above */
	iw_err_set(err, "rendering letter (%s): %s", t->path, why);
done:
	iw_buf_free(&ip);
	iw_buf_free(&raw);
	return rc;
}
