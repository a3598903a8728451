/*
 * compose: letter row + IPs -> envelope and RFC 5322 message, with the
 * complete IP list attached as ips.csv when the letter's body shows only
 * the first ones.  See compose.h.
 */
#include "compose.h"

#include <string.h>
#include <time.h>

#include "input.h"
#include "mime.h"

/* In ips.csv evidence is whole, as long as enqueue accepts it. */
#define CSV_EVIDENCE_MAX	(IW_INPUT_EVIDENCE_MAX - 1)

/*
 * The template set and locale for in: the campaign's, else the global
 * one; a locale neither has falls back to the default (campaign first).
 */
static const struct iw_letters *
pick_letters(const struct iw_config *cfg, const struct iw_letters *l,
    const struct iw_compose_in *in, const char **locale)
{
	*locale = in->locale;
	if (*locale == NULL || (!iw_letters_has(in->campaign_letters,
	    *locale) && !iw_letters_has(l, *locale)))
		*locale = cfg->letters_default_locale;
	return iw_letters_has(in->campaign_letters, *locale) ?
	    in->campaign_letters : l;
}

/* X-Ipwarn-Ref goes into the header as it is. */
static int
check_ref(const char *ref, struct iw_err *err)
{
	size_t n = strnlen(ref, IW_COMPOSE_REF_MAX + 1);

	if (n > IW_COMPOSE_REF_MAX) {
		iw_err_set(err, "ref: longer than %d octets",
		    IW_COMPOSE_REF_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (ref[i] < 0x21 || ref[i] > 0x7e) {
			iw_err_set(err, "ref: not printable ASCII without "
			    "spaces");
			return -1;
		}
	}
	return 0;
}

/* One RFC 4180 field, quoted if it must be. */
static int
csv_field(struct iw_buf *out, const char *s, size_t n)
{
	if (strcspn(s, ",\"\r\n") >= n)
		return iw_buf_append(out, s, n);
	if (iw_buf_putc(out, '"') != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((s[i] == '"' && iw_buf_putc(out, '"') != 0) ||
		    iw_buf_putc(out, s[i]) != 0)
			return -1;
	return iw_buf_putc(out, '"');
}

int
iw_compose_csv(const struct iw_letter_item *items, size_t n,
    struct iw_buf *out)
{
	static const size_t max[3] = { 64, CSV_EVIDENCE_MAX, 64 };
	struct iw_buf f = IW_BUF_INIT;
	int rc = iw_buf_puts(out, "ip,evidence,observed\r\n");

	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *v[3] = { items[i].ip, items[i].evidence,
		    items[i].observed };

		for (size_t k = 0; rc == 0 && k < 3; k++) {
			iw_buf_reset(&f);
			rc = (k > 0 && iw_buf_putc(out, ',') != 0) ||
			    iw_letter_clean(&f, v[k], max[k], 0) != 0 ||
			    csv_field(out, f.data != NULL ? f.data : "",
			    f.len) != 0 ? -1 : 0;
		}
		if (rc == 0)
			rc = iw_buf_puts(out, "\r\n");
	}
	iw_buf_free(&f);
	return rc;
}

/* Subject and body, and the complete list as ips.csv if it was cut. */
static int
render(const struct iw_letters *set, const char *locale,
    const struct iw_compose_in *in, struct iw_buf *subject,
    struct iw_buf *body, struct iw_buf *csv, struct iw_err *err)
{
	int attached = 0;

	if (iw_letter_render(set, locale, in->items, in->nitems, &in->ctx,
	    subject, body, &attached, err) < 0)
		return -1;
	if (attached && iw_compose_csv(in->items, in->nitems, csv) != 0) {
		iw_err_set(err, "ips.csv: out of memory");
		return -1;
	}
	return 0;
}

static int
build(const struct iw_config *cfg, const struct iw_compose_in *in,
    const char *locale, const struct iw_buf *subject,
    const struct iw_buf *body, const struct iw_buf *csv,
    struct iw_buf *out, struct iw_err *err)
{
	/* Exchange and others: no out-of-office replies to a bulk sender. */
	struct iw_mime_header extra[2] = {
		{ "X-Auto-Response-Suppress", "All" },
		{ "X-Ipwarn-Ref", in->ctx.ref },
	};
	struct iw_mime_attachment att = { "ips.csv",
	    "text/csv; charset=utf-8", csv->data, csv->len };
	struct iw_mime_msg m;

	memset(&m, 0, sizeof(m));
	m.from = cfg->sender_from;
	m.reply_to = cfg->sender_reply_to;
	m.to = in->email;
	m.subject = subject->data != NULL ? subject->data : "";
	m.message_id = in->message_id;
	m.date = in->date;
	m.language = locale;
	m.extra = extra;
	m.nextra = in->ctx.ref != NULL && in->ctx.ref[0] != '\0' ? 2 : 1;
	m.attachment = csv->data != NULL ? &att : NULL;
	return iw_mime_build(&m, body->data != NULL ? body->data : "",
	    body->len, out, err);
}

int
iw_compose(const struct iw_config *cfg, const struct iw_letters *l,
    const struct iw_compose_in *in, struct iw_composed *out,
    struct iw_err *err)
{
	struct iw_buf subject = IW_BUF_INIT, body = IW_BUF_INIT;
	struct iw_buf csv = IW_BUF_INIT;
	const struct iw_letters *set;
	const char *locale;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	set = pick_letters(cfg, l, in, &locale);
	iw_strlcpy(out->locale, locale, sizeof(out->locale));
	if (in->ctx.ref != NULL && check_ref(in->ctx.ref, err) != 0) {
		iw_err_prefix(err, "letter %lld", (long long)in->letter_id);
		goto out;
	}
	if (cfg->sender_verp_secret == NULL ||
	    iw_verp_token(cfg->sender_verp_secret, in->letter_id, out->envid,
	    sizeof(out->envid)) < 0) {
		iw_err_set(err, "letter %lld: cannot sign its VERP token",
		    (long long)in->letter_id);
		goto out;
	}
	if (iw_verp_address(cfg->sender_return_path, out->envid,
	    out->reverse_path, sizeof(out->reverse_path), err) < 0) {
		iw_err_prefix(err, "letter %lld: return path",
		    (long long)in->letter_id);
		goto out;
	}
	if (render(set, locale, in, &subject, &body, &csv, err) < 0) {
		iw_err_prefix(err, "letter %lld: render",
		    (long long)in->letter_id);
		goto out;
	}
	if (build(cfg, in, locale, &subject, &body, &csv, &out->data,
	    err) < 0) {
		iw_err_prefix(err, "letter %lld: message",
		    (long long)in->letter_id);
		goto out;
	}
	rc = 0;
out:
	iw_buf_free(&subject);
	iw_buf_free(&body);
	iw_buf_free(&csv);
	if (rc < 0)
		iw_buf_free(&out->data);
	return rc;
}

void
iw_composed_free(struct iw_composed *c)
{
	if (c != NULL)
		iw_buf_free(&c->data);
}

int
iw_compose_mbox(const struct iw_composed *c, struct iw_buf *out)
{
	const char *p = c->data.data, *end = p + c->data.len;

	if (iw_buf_printf(out, "From %s Thu Jan  1 00:00:00 1970\n"
	    "Return-Path: <%s>\n", c->reverse_path, c->reverse_path) < 0)
		return -1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *q = p;

		if (n > 0 && p[n - 1] == '\r')
			n--;
		/* mboxrd: quote ">*From " lines by one more '>'. */
		while (q < p + n && *q == '>')
			q++;
		if ((size_t)(p + n - q) >= 5 && memcmp(q, "From ", 5) == 0 &&
		    iw_buf_putc(out, '>') < 0)
			return -1;
		if (iw_buf_append(out, p, n) < 0 || iw_buf_putc(out, '\n') < 0)
			return -1;
		p = nl != NULL ? nl + 1 : end;
	}
	return iw_buf_putc(out, '\n');
}

int
iw_compose_check_locales(const struct iw_config *cfg,
    const struct iw_letters *l, struct iw_err *err)
{
	size_t i;

	if (!iw_letters_has(l, cfg->letters_default_locale)) {
		iw_err_set(err, "%s: letters.default_locale: no template "
		    "'%s' in %s", cfg->path, cfg->letters_default_locale,
		    cfg->letters_directory);
		return -1;
	}
	for (i = 0; i < cfg->letters_ncountries; i++) {
		const struct iw_country_locale *m = &cfg->letters_countries[i];

		if (!iw_letters_has(l, m->locale)) {
			iw_err_set(err, "%s: letters.countries.%s: no "
			    "template '%s' in %s", cfg->path, m->cc,
			    m->locale, cfg->letters_directory);
			return -1;
		}
	}
	return 0;
}

int
iw_compose_letter_in(const struct iw_db_letter *l,
    const struct iw_db_item *rows, size_t n, struct iw_compose_in *in,
    struct iw_letter_item **items)
{
	size_t i;

	*items = iw_calloc(n > 0 ? n : 1, sizeof(**items));
	if (*items == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		(*items)[i].ip = rows[i].ip;
		(*items)[i].evidence = rows[i].evidence;
		(*items)[i].observed = rows[i].observed;
	}
	in->letter_id = l->id;
	in->email = l->email;
	in->locale = l->locale;
	in->message_id = l->message_id;
	in->ctx.ref = l->ref;
	in->ctx.fallback = l->fallback;
	in->items = *items;
	in->nitems = n;
	in->date = time(NULL);
	return 0;
}
