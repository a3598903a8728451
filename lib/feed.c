/*
 * feed: the meaning of an enqueue input file — format detection, header
 * mapping and evidence templates (the rules are in feed.h).  The CSV line
 * syntax and the checks of an IP, evidence and time stay in input.c; this
 * file only decides which text goes into which of the three.  Per-line work
 * uses buffers allocated once per file, so memory does not grow with it.
 */
#include "feed.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonl.h"
#include "lines.h"

/* Bytes of the decoded fields of one line, with a NUL after each. */
#define STORE_SIZE	(IW_LINES_MAX + IW_FEED_COLUMNS_MAX + 1)
#define BUILT_MAX	(2 * IW_INPUT_EVIDENCE_MAX)

static const char *const ip_names[] = { "ip", "ip_address", "src_ip",
    "address", NULL };
static const char *const time_names[] = { "timestamp", "observed", "time",
    "first_seen", NULL };
static const char *const evidence_names[] = { "evidence", NULL };

struct span {
	size_t off, len;
};

/* A parsed --evidence template: lit[i] comes before placeholder i,
 * lit[n] after the last. */
struct tmpl {
	size_t n;
	char text[IW_FEED_TEMPLATE_MAX];
	size_t used;
	struct span lit[IW_FEED_PLACEHOLDERS_MAX + 1];
	struct span name[IW_FEED_PLACEHOLDERS_MAX];
	int col[IW_FEED_PLACEHOLDERS_MAX];	/* CSV column */
};

struct iw_feed {
	enum iw_feed_format fmt;	/* AUTO until the first content line */
	int seen_line;			/* for the BOM */
	int started;			/* the first content line was read */
	char sep;
	int mapped;			/* columns by the header's names */
	int col_ip, col_time, col_ev;	/* -1: none */
	size_t ncols;
	int has_tmpl;
	struct tmpl tmpl;
	char *store;
	struct iw_input_field *fields;
	struct iw_jsonl_member *members;
};

/* A pointer and length: one value taken from a row. */
struct val {
	const char *p;
	size_t n;
};

int
iw_feed_format_parse(const char *s, enum iw_feed_format *fmt)
{
	if (strcmp(s, "csv") == 0)
		*fmt = IW_FEED_CSV;
	else if (strcmp(s, "jsonl") == 0)
		*fmt = IW_FEED_JSONL;
	else if (strcmp(s, "auto") == 0)
		*fmt = IW_FEED_AUTO;
	else
		return -1;
	return 0;
}

static int
tmpl_put(struct tmpl *t, char c)
{
	if (t->used + 1 >= sizeof(t->text))
		return -1;
	t->text[t->used++] = c;
	return 0;
}

/* "{name}" at s[*i] (on the '{'): its trimmed name into the template. */
static int
tmpl_name(struct tmpl *t, const char *s, size_t *i, struct iw_err *err)
{
	const char *close = strchr(s + *i + 1, '}');
	const char *open = strchr(s + *i + 1, '{');
	const char *name = s + *i + 1;
	size_t n;

	if (close == NULL || (open != NULL && open < close)) {
		iw_err_set(err, "--evidence: '{' at character %zu is not "
		    "closed (write {{ for a brace)", *i + 1);
		return -1;
	}
	n = (size_t)(close - name);
	iw_trim(&name, &n);
	if (n == 0) {
		iw_err_set(err, "--evidence: empty {} at character %zu",
		    *i + 1);
		return -1;
	}
	if (t->n == IW_FEED_PLACEHOLDERS_MAX) {
		iw_err_set(err, "--evidence: more than %d columns",
		    IW_FEED_PLACEHOLDERS_MAX);
		return -1;
	}
	t->lit[t->n].len = t->used - t->lit[t->n].off;
	t->name[t->n].off = t->used;
	t->name[t->n].len = n;
	for (size_t k = 0; k < n; k++)
		(void)tmpl_put(t, name[k]);
	t->n++;
	t->lit[t->n].off = t->used;
	*i = (size_t)(close - s) + 1;
	return 0;
}

static int
tmpl_parse(struct tmpl *t, const char *s, struct iw_err *err)
{
	size_t i = 0, len = strlen(s);

	memset(t, 0, sizeof(*t));
	if (len >= IW_FEED_TEMPLATE_MAX) {
		iw_err_set(err, "--evidence: template longer than %d bytes",
		    IW_FEED_TEMPLATE_MAX - 1);
		return -1;
	}
	while (i < len) {
		if ((s[i] == '{' || s[i] == '}') && s[i + 1] == s[i]) {
			(void)tmpl_put(t, s[i]);
			i += 2;
		} else if (s[i] == '{') {
			if (tmpl_name(t, s, &i, err) != 0)
				return -1;
		} else if (s[i] == '}') {
			iw_err_set(err, "--evidence: '}' at character %zu "
			    "without '{' (write }} for a brace)", i + 1);
			return -1;
		} else {
			(void)tmpl_put(t, s[i++]);
		}
	}
	t->lit[t->n].len = t->used - t->lit[t->n].off;
	return 0;
}

static void
built_put(char *out, size_t *n, const char *p, size_t len)
{
	size_t room = BUILT_MAX - *n;

	if (len > room)
		len = room;
	memcpy(out + *n, p, len);
	*n += len;
}

/*
 * The evidence from the template and the placeholders' values (v[i] for
 * placeholder i), by the rule in feed.h, cut to the evidence limit at a
 * UTF-8 character boundary.  out holds BUILT_MAX + 1 bytes.
 */
static size_t
tmpl_render(const struct tmpl *t, const struct val *v, char *out)
{
	const char *s;
	size_t n = 0;
	int last = t->n == 0;	/* the last placeholder is not empty */

	for (size_t i = 0; i < t->n; i++) {
		struct val x = v[i];

		iw_trim(&x.p, &x.n);
		last = x.n > 0;
		if (x.n == 0)
			continue;
		built_put(out, &n, t->text + t->lit[i].off, t->lit[i].len);
		built_put(out, &n, x.p, x.n);
	}
	if (last)
		built_put(out, &n, t->text + t->lit[t->n].off,
		    t->lit[t->n].len);
	if (n > IW_INPUT_EVIDENCE_MAX - 1) {
		n = IW_INPUT_EVIDENCE_MAX - 1;
		while (n > 0 && ((unsigned char)out[n] & 0xc0) == 0x80)
			n--;
	}
	s = out;
	iw_trim(&s, &n);
	memmove(out, s, n);
	return n;
}

int
iw_feed_new(enum iw_feed_format fmt, const char *tmpl, struct iw_feed **out,
    struct iw_err *err)
{
	struct iw_feed *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (f == NULL || (f->store = malloc(STORE_SIZE)) == NULL ||
	    (f->fields = calloc(IW_FEED_COLUMNS_MAX,
	    sizeof(*f->fields))) == NULL || (f->members =
	    calloc(IW_FEED_COLUMNS_MAX, sizeof(*f->members))) == NULL) {
		iw_feed_free(f);
		iw_err_set(err, "out of memory");
		return -2;
	}
	f->fmt = fmt;
	f->sep = ',';
	f->col_ip = f->col_time = f->col_ev = -1;
	if (tmpl != NULL) {
		f->has_tmpl = 1;
		if (tmpl_parse(&f->tmpl, tmpl, err) != 0) {
			iw_feed_free(f);
			return -1;
		}
	}
	*out = f;
	return 0;
}

void
iw_feed_free(struct iw_feed *f)
{
	if (f == NULL)
		return;
	free(f->store);
	free(f->fields);
	free(f->members);
	free(f);
}

/* 1 if a[0..an) and b[0..bn) are the same name, ASCII
 * case-insensitively. */
static int
same_name(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && strncasecmp(a, b, an) == 0;
}

/* The first CSV column of the split header named name[0..n), or -1. */
static int
column_named(const struct iw_feed *f, size_t nf, const char *name, size_t n)
{
	for (size_t i = 0; i < nf; i++)
		if (same_name(f->store + f->fields[i].off, f->fields[i].len,
		    name, n))
			return (int)i;
	return -1;
}

/* The CSV column of the first of names the header has, or -1. */
static int
header_col(const struct iw_feed *f, size_t nf, const char *const *names)
{
	int c = -1;

	for (; *names != NULL && c < 0; names++)
		c = column_named(f, nf, *names, strlen(*names));
	return c;
}

/* Every template name must be a header column. */
static int
tmpl_resolve(struct iw_feed *f, size_t nf, struct iw_err *err)
{
	struct tmpl *t = &f->tmpl;

	for (size_t k = 0; k < t->n; k++) {
		const char *name = t->text + t->name[k].off;

		t->col[k] = column_named(f, nf, name, t->name[k].len);
		if (t->col[k] < 0) {
			iw_err_set(err, "--evidence: the header has no column "
			    "\"%.*s\"", (int)t->name[k].len, name);
			return -1;
		}
	}
	return 0;
}

/*
 * The first content line of a CSV file, split in f->fields: 1 if it is a
 * header (mapped now), 0 if it is a record, -1 on a template name the
 * header lacks.
 */
static int
csv_header(struct iw_feed *f, size_t nf, struct iw_err *err)
{
	char canon[48];

	if (nf == 0 || iw_input_canon_ip(f->store + f->fields[0].off,
	    f->fields[0].len, canon, sizeof(canon)) == 0)
		return 0;
	f->col_ip = header_col(f, nf, ip_names);
	if (f->col_ip < 0)
		return 0;
	f->col_time = header_col(f, nf, time_names);
	f->col_ev = header_col(f, nf, evidence_names);
	f->ncols = nf;
	/* `ip,reason` has always meant ip,evidence,observed by position. */
	f->mapped = f->has_tmpl || f->col_ip != 0 || f->col_time >= 0 ||
	    f->col_ev >= 0;
	if (f->has_tmpl && tmpl_resolve(f, nf, err) != 0)
		return -1;
	return 1;
}

/* Field i of the split line, empty when the row is shorter. */
static struct val
field(const struct iw_feed *f, size_t nf, int i)
{
	struct val v = { "", 0 };

	if (i >= 0 && (size_t)i < nf) {
		v.p = f->store + f->fields[i].off;
		v.n = f->fields[i].len;
	}
	return v;
}

static enum iw_feed_kind
from_input(enum iw_input_kind k)
{
	switch (k) {
	case IW_INPUT_RECORD:
		return IW_FEED_RECORD;
	case IW_INPUT_SKIP:
		return IW_FEED_SKIP;
	case IW_INPUT_BAD:
		break;
	}
	return IW_FEED_BAD;
}

/* Fill rec from the row's IP, time and evidence (or template values). */
static enum iw_feed_kind
make_record(const struct iw_feed *f, struct val ip, struct val t,
    struct val ev, const struct val *tv, struct iw_input_rec *rec,
    struct iw_err *err)
{
	char built[BUILT_MAX + 1];

	if (f->has_tmpl) {
		ev.p = built;
		ev.n = tmpl_render(&f->tmpl, tv, built);
	}
	if (iw_input_record(ip.p, ip.n, ev.p, ev.n, t.p, t.n, rec, err) != 0)
		return IW_FEED_BAD;
	return IW_FEED_RECORD;
}

/* 1 if the IP column's value is one of the IP column names. */
static int
repeated_header(struct val ip)
{
	for (size_t i = 0; ip_names[i] != NULL; i++)
		if (same_name(ip.p, ip.n, ip_names[i], strlen(ip_names[i])))
			return 1;
	return 0;
}

static enum iw_feed_kind
csv_mapped(struct iw_feed *f, const char *buf, size_t len,
    struct iw_input_rec *rec, struct iw_err *err)
{
	struct val tv[IW_FEED_PLACEHOLDERS_MAX];
	size_t nf;

	memset(rec, 0, sizeof(*rec));
	if (iw_input_split(buf, len, f->sep, f->store, STORE_SIZE, f->fields,
	    IW_FEED_COLUMNS_MAX, &nf, err) != 0)
		return IW_FEED_BAD;
	if (nf > f->ncols) {
		iw_err_set(err, "%zu fields, but the header names %zu", nf,
		    f->ncols);
		return IW_FEED_BAD;
	}
	/* Reports joined with cat repeat their header: not a bad line. */
	if (repeated_header(field(f, nf, f->col_ip)))
		return IW_FEED_SKIP;
	for (size_t k = 0; k < f->tmpl.n; k++)
		tv[k] = field(f, nf, f->tmpl.col[k]);
	return make_record(f, field(f, nf, f->col_ip),
	    field(f, nf, f->col_time), field(f, nf, f->col_ev), tv, rec, err);
}

/* The first content line of a CSV file: a header, or the first record. */
static enum iw_feed_kind
csv_first(struct iw_feed *f, const char *buf, size_t len,
    struct iw_input_rec *rec, struct iw_err *err)
{
	size_t nf;
	int r = 0;

	f->sep = iw_input_separator(buf, len);
	if (iw_input_split(buf, len, f->sep, f->store, STORE_SIZE, f->fields,
	    IW_FEED_COLUMNS_MAX, &nf, err) == 0)
		r = csv_header(f, nf, err);
	if (r < 0)
		return IW_FEED_USAGE;
	if (r > 0) {
		memset(rec, 0, sizeof(*rec));
		return IW_FEED_SKIP;
	}
	if (f->has_tmpl) {
		iw_err_set(err, "--evidence names columns, but the input has "
		    "no header line (one naming an ip column)");
		return IW_FEED_USAGE;
	}
	return from_input(iw_input_parse_line_sep(buf, len, 1, f->sep, rec,
	    err));
}

/* The first member of the object named name[0..n), or NULL. */
static const struct iw_jsonl_member *
member_named(const struct iw_feed *f, size_t nm, const char *name, size_t n)
{
	for (size_t i = 0; i < nm; i++)
		if (same_name(f->store + f->members[i].name_off,
		    f->members[i].name_len, name, n))
			return &f->members[i];
	return NULL;
}

/* The member of the object named by the first of names it has, or NULL. */
static const struct iw_jsonl_member *
member(const struct iw_feed *f, size_t nm, const char *const *names)
{
	const struct iw_jsonl_member *m = NULL;

	for (; *names != NULL && m == NULL; names++)
		m = member_named(f, nm, *names, strlen(*names));
	return m;
}

/* A member's value as text; -1 (reason in err) for an object or array. */
static int
member_val(const struct iw_feed *f, const struct iw_jsonl_member *m,
    const char *what, struct val *v, struct iw_err *err)
{
	v->p = "";
	v->n = 0;
	if (m == NULL)
		return 0;
	if (m->type == IW_JSONL_NESTED) {
		iw_err_set(err, "\"%.*s\" is an object or array, not %s",
		    (int)(m->name_len > 40 ? 40 : m->name_len),
		    f->store + m->name_off, what);
		return -1;
	}
	v->p = f->store + m->val_off;
	v->n = m->val_len;
	return 0;
}

static enum iw_feed_kind
jsonl_line(struct iw_feed *f, const char *buf, size_t len,
    struct iw_input_rec *rec, struct iw_err *err)
{
	struct val tv[IW_FEED_PLACEHOLDERS_MAX], ip, t, ev;
	size_t nm;

	memset(rec, 0, sizeof(*rec));
	if (iw_jsonl_parse(buf, len, f->store, STORE_SIZE, f->members,
	    IW_FEED_COLUMNS_MAX, &nm, err) != 0)
		return IW_FEED_BAD;
	if (member_val(f, member(f, nm, ip_names), "an IP address", &ip,
	    err) != 0 || member_val(f, member(f, nm, time_names), "a time",
	    &t, err) != 0 || member_val(f, member(f, nm, evidence_names),
	    "evidence text", &ev, err) != 0)
		return IW_FEED_BAD;
	for (size_t k = 0; k < f->tmpl.n; k++) {
		/* A name a row lacks, or an object there, is empty. */
		const struct iw_jsonl_member *m = member_named(f, nm,
		    f->tmpl.text + f->tmpl.name[k].off, f->tmpl.name[k].len);

		tv[k].p = "";
		tv[k].n = 0;
		if (m != NULL && m->type != IW_JSONL_NESTED) {
			tv[k].p = f->store + m->val_off;
			tv[k].n = m->val_len;
		}
	}
	return make_record(f, ip, t, ev, tv, rec, err);
}

/* Blank or '#' (after leading blanks): never a record. */
static int
skippable(const char *buf, size_t len)
{
	iw_trim(&buf, &len);
	return len == 0 || buf[0] == '#';
}

enum iw_feed_kind
iw_feed_line(struct iw_feed *f, const char *buf, size_t len,
    struct iw_input_rec *rec, struct iw_err *err)
{
	const char *t;
	size_t tl;

	if (!f->seen_line && len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	f->seen_line = 1;
	while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	if (skippable(buf, len)) {
		memset(rec, 0, sizeof(*rec));
		return IW_FEED_SKIP;
	}
	if (!f->started) {
		f->started = 1;
		t = buf;
		tl = len;
		iw_trim(&t, &tl);
		if (f->fmt == IW_FEED_AUTO)
			f->fmt = t[0] == '{' ? IW_FEED_JSONL : IW_FEED_CSV;
		if (f->fmt == IW_FEED_CSV)
			return csv_first(f, buf, len, rec, err);
	}
	if (f->fmt == IW_FEED_JSONL)
		return jsonl_line(f, buf, len, rec, err);
	if (f->mapped)
		return csv_mapped(f, buf, len, rec, err);
	return from_input(iw_input_parse_line_sep(buf, len, 0, f->sep, rec,
	    err));
}
