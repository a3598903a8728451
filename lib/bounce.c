/*
 * bounce: turn one returned message into recipients, status codes, reasons
 * and a class (see bounce.h).  This is the core: it normalises the input
 * (every line ending LF, NUL bytes spaces, so the rest can use C strings),
 * walks the MIME tree (bounce_mime) collecting the structured reports —
 * RFC 3464 delivery-status fields, RFC 5965 feedback reports, Amazon SES
 * JSON notifications, the returned headers — and the human-readable text,
 * falls back to reading that text the way each mail system writes it
 * (bounce_body), and settles each recipient's reason from its codes first
 * and its words last (bounce_reason).
 */
#include "bounce.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce_body.h"
#include "bounce_mime.h"
#include "bounce_reason.h"

#define MAX_TEXT	(512u * 1024)	/* human-readable text collected */
#define MAX_REGION	(64u * 1024)	/* error text searched for addresses */

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
	struct iw_bounce_body_skip skip;
	/* the reporting MTA is known to say "user unknown" only in reply to
	 * RCPT (see rcpt_only_mta) */
	int strong_userunknown;
	const unsigned char *off;	/* phrases switched off, or NULL */
	int depth;			/* bounces pasted into bounces */
};

/* ---------------------------------------------------------- recipients */

struct iw_bounce_rcpt *
iw_bounce_rcpt_add(struct iw_bounce *b, int *oom)
{
	struct iw_bounce_rcpt *r;

	if (b->nrcpt >= IW_BOUNCE_MAX_RCPT)
		return NULL;
	if (b->rcpt == NULL) {
		b->rcpt = calloc(IW_BOUNCE_MAX_RCPT, sizeof(*b->rcpt));
		if (b->rcpt == NULL) {
			*oom = 1;
			return NULL;
		}
	}
	r = &b->rcpt[b->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->cls = IW_BOUNCE_UNDETERMINED;
	return r;
}

/* "rfc822; user@example.org" -> address, validated. */
static void
dsn_address(const char *v, char *out, size_t outsz)
{
	const char *semi = strchr(v, ';');

	iw_bounce_mime_first_address(semi != NULL ? semi + 1 : v, out, outsz);
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

/* ---------------------------------------------------------------- DSN */

/*
 * Read RFC 3464 fields.  Recipient blocks are normally separated by blank
 * lines; a second Final-Recipient in one block also starts a new one.
 */
static void
parse_dsn(struct ctx *c, const char *p, const char *end)
{
	struct iw_bounce_mime_hdrs h = IW_BOUNCE_MIME_HDRS_INIT;
	struct iw_bounce_rcpt *r = NULL;
	int have_final = 0;

	while (p < end) {
		const char *q;

		while (p < end && *p == '\n')
			p++;
		if (p >= end)
			break;
		q = iw_bounce_mime_headers(p, end, &h, &c->oom);
		if (q == p) {	/* not a field line: skip it */
			p = iw_bounce_mime_next_line(p, end);
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
					r = iw_bounce_rcpt_add(c->b, &c->oom);
					have_final = 0;
					if (r == NULL)
						break;
				}
				if (is_final) {
					char a[IW_BOUNCE_ADDR_MAX];

					have_final = 1;
					dsn_address(v, a, sizeof(a));
					if (a[0] != '\0' ||
					    r->address[0] == '\0')
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
					r->action[k] = (char)tolower(
					    (unsigned char)v[k]);
					k++;
				}
				r->action[k] = '\0';
			} else if (strcasecmp(n, "Status") == 0) {
				size_t len;
				const char *s = v;

				while (*s != '\0' &&
				    !isdigit((unsigned char)*s))
					s++;
				if (iw_bounce_reason_is_status(s, &len))
					iw_strlcpy_n(r->status,
					    sizeof(r->status), s, len);
			} else if (strcasecmp(n, "Diagnostic-Code") == 0) {
				const char *d = after_type(v);

				iw_bounce_mime_oneline(r->diagnostic,
				    sizeof(r->diagnostic),
				    d, strlen(d));
			} else if (strcasecmp(n, "Remote-MTA") == 0) {
				const char *d = after_type(v);

				iw_bounce_mime_oneline(r->remote_mta,
				    sizeof(r->remote_mta),
				    d, strlen(d));
			}
		}
		iw_bounce_mime_hdrs_free(&h);
	}
	iw_bounce_mime_hdrs_free(&h);
	if (c->b->nrcpt > 0)
		c->b->is_dsn = 1;
}

/* RFC 5965 machine-readable part. */
static void
parse_arf(struct ctx *c, const char *p, const char *end)
{
	struct iw_bounce_mime_hdrs h = IW_BOUNCE_MIME_HDRS_INIT;
	const char *v;

	iw_bounce_mime_headers(p, end, &h, &c->oom);
	c->arf = 1;
	if ((v = iw_bounce_mime_hdr(&h, "Original-Rcpt-To")) != NULL)
		iw_bounce_mime_first_address(v, c->arf_rcpt,
		    sizeof(c->arf_rcpt));
	else if ((v = iw_bounce_mime_hdr(&h, "Removal-Recipient")) != NULL)
		iw_bounce_mime_first_address(v, c->arf_rcpt,
		    sizeof(c->arf_rcpt));
	iw_bounce_mime_hdrs_free(&h);
}

/* The headers of the returned message: Message-ID, To, From. */
static void
parse_returned(struct ctx *c, const char *p, const char *end)
{
	struct iw_bounce_mime_hdrs h = IW_BOUNCE_MIME_HDRS_INIT;
	const char *v;

	if (c->have_returned)
		return;
	iw_bounce_mime_headers(p, end, &h, &c->oom);
	if (h.n == 0) {
		iw_bounce_mime_hdrs_free(&h);
		return;
	}
	c->have_returned = 1;
	if ((v = iw_bounce_mime_hdr(&h, "Message-ID")) != NULL)
		iw_bounce_mime_oneline(c->b->orig_message_id,
		    sizeof(c->b->orig_message_id),
		    v, strlen(v));
	if ((v = iw_bounce_mime_hdr(&h, "To")) != NULL)
		iw_bounce_mime_first_address(v, c->orig_to, sizeof(c->orig_to));
	if ((v = iw_bounce_mime_hdr(&h, "From")) != NULL)
		iw_bounce_mime_first_address(v, c->orig_from,
		    sizeof(c->orig_from));
	iw_bounce_mime_hdrs_free(&h);
}

/* ---------------------------------------------------------------- MIME */

/* Is the attached message itself a bounce (a forwarded DSN)? */
static int
forwarded_bounce(const char *p, const char *end)
{
	struct iw_bounce_mime_hdrs h = IW_BOUNCE_MIME_HDRS_INIT;
	int oom = 0, yes;
	const char *from, *ct;

	iw_bounce_mime_headers(p, end, &h, &oom);
	from = iw_bounce_mime_hdr(&h, "From");
	ct = iw_bounce_mime_hdr(&h, "Content-Type");
	yes = (from != NULL &&
	    (iw_bounce_mime_find_ci(from, "mailer-daemon") != NULL ||
	    iw_bounce_mime_find_ci(from, "postmaster") != NULL)) ||
	    (ct != NULL && iw_bounce_mime_find_ci(ct,
	    "report-type=delivery-status") != NULL);
	iw_bounce_mime_hdrs_free(&h);
	return yes;
}

static int
is_dsn_type(const char *type)
{
	return strcmp(type, "message/delivery-status") == 0 ||
	    strcmp(type, "message/global-delivery-status") == 0 ||
	    strcmp(type, "text/delivery-status") == 0 ||
	    strcmp(type, "message/x-delivery-status") == 0;
}

/* One MIME leaf: a report, the returned message, or text to read. */
static int
on_leaf(void *arg, const struct iw_bounce_mime_leaf *l)
{
	struct ctx *c = arg;
	const char *type = l->type, *p = l->p, *end = l->end;

	if (is_dsn_type(type)) {
		if (c->b->nrcpt == 0)
			parse_dsn(c, p, end);
		return 0;
	}
	if (strcmp(type, "message/feedback-report") == 0) {
		parse_arf(c, p, end);
		return 0;
	}
	if ((strcmp(type, "message/rfc822") == 0 ||
	    strcmp(type, "message/global") == 0) && c->b->nrcpt == 0 &&
	    !c->have_returned && forwarded_bounce(p, end))
		return 1;	/* a bounce forwarded as an attachment */
	if (strncmp(type, "message/", 8) == 0 ||
	    strcmp(type, "text/rfc822-headers") == 0) {
		parse_returned(c, p, end);
		return 0;
	}
	if ((type[0] != '\0' && strncmp(type, "text/", 5) != 0) ||
	    c->text.len >= MAX_TEXT)
		return 0;
	if ((c->text.len > 0 && iw_buf_putc(&c->text, '\n') != 0) ||
	    (strcmp(type, "text/html") == 0 ?
	    iw_bounce_mime_html(&c->text, p, (size_t)(end - p)) :
	    iw_buf_append(&c->text, p, (size_t)(end - p))) != 0)
		c->oom = 1;
	return 0;
}

/* ------------------------------------------------------------- message */

/*
 * Mail systems that refuse a dead address only in reply to RCPT, so that
 * their "user unknown" is never a content filter's: McAfee's appliance
 * (X-NAI-Header) and IMail (X-Mailer: SMTP32); PowerMTA says so in its
 * X-PowerMTA-BounceCategory (see parse_dsn).
 */
static int
rcpt_only_mta(const struct iw_bounce_mime_hdrs *top)
{
	const char *x = iw_bounce_mime_hdr(top, "X-Mailer");

	return iw_bounce_mime_hdr(top, "X-NAI-Header") != NULL ||
	    (x != NULL && iw_bounce_mime_find_ci(x, "smtp32") != NULL);
}


static void
add_envelope(struct iw_bounce *b, const char *v)
{
	const char *pos, *st;
	char a[IW_BOUNCE_ADDR_MAX];

	if (v == NULL)
		return;
	pos = v;
	while (b->nenvelope < IW_BOUNCE_MAX_ENVELOPE &&
	    iw_bounce_mime_next_address(v, v + strlen(v), &pos, &st, a,
	    sizeof(a)) == 0) {
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
collect_excluded(struct ctx *c, const struct iw_bounce_mime_hdrs *h)
{
	static const char *const names[] = { "To", "Delivered-To",
	    "Envelope-To", "X-Envelope-To" };

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		for (size_t i = 0; i < h->n; i++) {
			const char *v = h->v[i].value, *pos = v, *st;
			char a[IW_BOUNCE_ADDR_MAX];

			if (strcasecmp(h->v[i].name, names[k]) != 0)
				continue;
			while (c->skip.n < IW_BOUNCE_MAX_ENVELOPE &&
			    iw_bounce_mime_next_address(v, v + strlen(v), &pos,
			    &st, a, sizeof(a)) == 0)
				iw_bounce_body_skip_add(&c->skip, a);
		}
	}
}

static void
collect_envelope(struct iw_bounce *b, const struct iw_bounce_mime_hdrs *h)
{
	static const char *const names[] = { "X-Original-To", "Delivered-To",
	    "Envelope-To", "X-Envelope-To", "X-Rcpt-To", "To" };

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		for (size_t i = 0; i < h->n; i++)
			if (strcasecmp(h->v[i].name, names[k]) == 0)
				add_envelope(b, h->v[i].value);
}

/* A DSN pasted into the text rather than sent as its own MIME part. */
static void
inline_dsn(struct ctx *c, const char *t, size_t len)
{
	const char *p = t, *end = t + len;

	while (p < end) {
		const char *e = iw_bounce_mime_line_end(p, end);

		if ((size_t)(e - p) > 16 && (iw_bounce_mime_starts_ci(p,
		    "Final-Recipient:") ||
		    iw_bounce_mime_starts_ci(p, "Original-Recipient:") ||
		    iw_bounce_mime_starts_ci(p, "Reporting-MTA:"))) {
			parse_dsn(c, p, end);
			return;
		}
		p = iw_bounce_mime_next_line(p, end);
	}
}

/* The message's class, and reason, is that of its most telling recipient. */
static void
message_class(struct iw_bounce *b)
{
	static const enum iw_bounce_class order[] = { IW_BOUNCE_HARD,
	    IW_BOUNCE_SOFT, IW_BOUNCE_OURS, IW_BOUNCE_TRANSIENT,
	    IW_BOUNCE_DELIVERED };

	b->cls = IW_BOUNCE_UNDETERMINED;
	iw_strlcpy(b->reason, b->nrcpt > 0 ? b->rcpt[0].reason : "undefined",
	    sizeof(b->reason));
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (size_t i = 0; i < b->nrcpt; i++)
			if (b->rcpt[i].cls == order[k]) {
				b->cls = order[k];
				iw_strlcpy(b->reason, b->rcpt[i].reason,
				    sizeof(b->reason));
				return;
			}
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
	k = iw_bounce_mime_find_ci(p, pat);
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
			if ((r = iw_bounce_rcpt_add(c->b, &c->oom)) == NULL)
				return;
			json_str(p, oe, "emailAddress", tmp, sizeof(tmp));
			iw_bounce_mime_first_address(tmp, r->address,
			    sizeof(r->address));
			json_str(p, oe, "action", r->action, sizeof(r->action));
			json_str(p, oe, "status", tmp, sizeof(tmp));
			{
				size_t l;

				if (iw_bounce_reason_is_status(tmp, &l))
					iw_strlcpy_n(r->status,
					    sizeof(r->status), tmp, l);
			}
			json_str(p, oe, "diagnosticCode", tmp, sizeof(tmp));
			iw_bounce_mime_oneline(r->diagnostic,
			    sizeof(r->diagnostic),
			    after_type(tmp), strlen(after_type(tmp)));
			p = oe;
		}
	} else if ((p = strstr(t, "\"notificationType\":\"Delivery\"")) !=
	    NULL && (p = strstr(p, "\"delivery\":")) != NULL) {
		const char *rs = strstr(p, "\"recipients\":[");
		struct iw_bounce_rcpt *r;

		if (rs == NULL || (r = iw_bounce_rcpt_add(c->b,
		    &c->oom)) == NULL)
			return;
		rs = strchr(rs, '[');
		iw_bounce_mime_first_address(rs, r->address,
		    sizeof(r->address));
		json_str(p, end, "smtpResponse", tmp, sizeof(tmp));
		iw_bounce_mime_oneline(r->diagnostic, sizeof(r->diagnostic),
		    tmp,
		    strlen(tmp));
		iw_strlcpy(r->action, "delivered", sizeof(r->action));
	}
}

static int parse_at(const char *buf, size_t len, const unsigned char *off,
    int depth, struct iw_bounce **out, struct iw_err *err);

/*
 * A bounce pasted whole into the text of another message (re-sent with
 * its "From MAILER-DAEMON" line and headers): read that one instead.  1
 * when it named recipients, which are now c->b's.
 */
static int
pasted_bounce(struct ctx *c, const char *p, const char *end)
{
	struct iw_bounce *in, *b = c->b;
	struct iw_err e;

	if (c->depth >= 2 || !forwarded_bounce(p, end))
		return 0;
	if (parse_at(p, (size_t)(end - p), c->off, c->depth + 1, &in,
	    &e) != 0) {
		c->oom = 1;
		return 0;
	}
	if (in->nrcpt == 0) {
		iw_bounce_free(in);
		return 0;
	}
	free(b->rcpt);
	b->rcpt = in->rcpt;
	b->nrcpt = in->nrcpt;
	in->rcpt = NULL;
	b->cls = in->cls;
	b->kind = in->kind;
	b->is_dsn = in->is_dsn;
	iw_strlcpy(b->reason, in->reason, sizeof(b->reason));
	if (b->envid[0] == '\0')
		iw_strlcpy(b->envid, in->envid, sizeof(b->envid));
	if (b->orig_message_id[0] == '\0')
		iw_strlcpy(b->orig_message_id, in->orig_message_id,
		    sizeof(b->orig_message_id));
	iw_bounce_free(in);
	return 1;
}

static void
analyse(struct ctx *c, const struct iw_bounce_mime_hdrs *top)
{
	struct iw_bounce *b = c->b;
	const char *text = c->text.data != NULL ? c->text.data : "";
	size_t tlen = c->text.len, hdr_start, cut;
	int autoreply = iw_bounce_body_autoreply(top);

	iw_bounce_mime_first_address(iw_bounce_mime_hdr(top, "From"),
	    c->top_from, sizeof(c->top_from));
	collect_envelope(b, top);
	collect_excluded(c, top);
	cut = iw_bounce_body_cut(text, tlen, &hdr_start);
	if (hdr_start < tlen)
		parse_returned(c, text + hdr_start, text + tlen);
	if (c->arf) {
		struct iw_bounce_rcpt *r;

		b->is_arf = 1;
		b->kind = IW_BOUNCE_KIND_ARF;
		b->cls = IW_BOUNCE_COMPLAINT;
		iw_strlcpy(b->reason, "feedback", sizeof(b->reason));
		if ((r = iw_bounce_rcpt_add(c->b, &c->oom)) != NULL) {
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
	if (b->nrcpt == 0 && autoreply && !iw_bounce_body_from_system(top)) {
		struct iw_bounce_rcpt *r;

		b->is_autoreply = 1;
		b->kind = IW_BOUNCE_KIND_AUTOREPLY;
		b->cls = IW_BOUNCE_AUTOREPLY;
		iw_strlcpy(b->reason, "vacation", sizeof(b->reason));
		if ((r = iw_bounce_rcpt_add(c->b, &c->oom)) != NULL) {
			iw_strlcpy(r->address, c->top_from, sizeof(r->address));
			iw_strlcpy(r->reason, "vacation", sizeof(r->reason));
			r->cls = IW_BOUNCE_AUTOREPLY;
		}
		return;
	}
	if (b->nrcpt == 0 && !iw_bounce_body_looks_like(top, text))
		return;
	{
		size_t rl = cut < MAX_REGION ? cut : MAX_REGION, ul = 0;
		char *region = iw_strndup(text, rl), *uq;
		char near[2048];
		int dsn = b->nrcpt > 0;
		int at_rcpt = c->strong_userunknown || rcpt_only_mta(top);

		if (region == NULL) {
			c->oom = 1;
			return;
		}
		if ((uq = iw_bounce_body_unquote(region, rl, &ul)) != NULL) {
			size_t hs;

			free(region);
			region = uq;
			rl = iw_bounce_body_cut(region, ul, &hs);
			region[rl] = '\0';
			if (hs < ul)
				parse_returned(c, uq + hs, uq + ul);
		}
		if (!dsn) {
			/* neither the bounce's sender nor ours failed */
			iw_bounce_body_skip_add(&c->skip, c->top_from);
			iw_bounce_body_skip_add(&c->skip, c->orig_from);
			iw_bounce_body_scan(b, region, rl,
			    iw_bounce_mime_hdr(top, "X-Failed-Recipients"),
			    &c->skip, &c->oom);
			if (b->nrcpt == 0 && hdr_start > 0 &&
			    hdr_start < tlen &&
			    pasted_bounce(c, text + hdr_start, text + tlen)) {
				free(region);
				return;
			}
			if (b->nrcpt == 0 && c->orig_to[0] != '\0') {
				struct iw_bounce_rcpt *r =
				    iw_bounce_rcpt_add(c->b, &c->oom);

				if (r != NULL) {
					iw_strlcpy(r->address, c->orig_to,
					    sizeof(r->address));
					iw_bounce_body_diag(r, region,
					    region + rl);
				}
			}
		}
		for (size_t i = 0; i < b->nrcpt; i++) {
			struct iw_bounce_rcpt *r = &b->rcpt[i];

			if (r->address[0] == '\0' && b->nrcpt == 1)
				iw_strlcpy(r->address, c->orig_to,
				    sizeof(r->address));
			iw_bounce_body_near(region, rl, r->address, near,
			    sizeof(near));
			if (near[0] == '\0' && b->nrcpt == 1)
				iw_strlcpy(near, region, sizeof(near));
			if (dsn && r->diagnostic[0] == '\0' && near[0] != '\0')
				iw_bounce_body_diag(r, near,
				    near + strlen(near));
			iw_bounce_reason_settle(r, NULL, near[0] != '\0' ?
			    near : NULL, at_rcpt, c->off);
		}
		for (size_t i = 0; i < b->nrcpt; i++) {
			struct iw_bounce_rcpt *r = &b->rcpt[i];
			size_t al = strlen(r->address);

			/* Google Groups refuse posts to closed groups */
			if (strcmp(r->reason, "undefined") == 0 && al > 17 &&
			    strcmp(r->address + al - 17,
			    "@googlegroups.com") == 0) {
				iw_strlcpy(r->reason, "rejected",
				    sizeof(r->reason));
				r->cls = IW_BOUNCE_OURS;
				if (strncmp(r->status + 1, ".0.9", 4) == 0)
					iw_strlcpy(r->status + 4, "918",
					    sizeof(r->status) - 4);
			}
		}
		if (b->nrcpt == 1 && strcmp(b->rcpt[0].reason,
		    "undefined") == 0) {
			/* the cause may stand above the address */
			struct iw_bounce_rcpt *r = &b->rcpt[0];
			char *lower = iw_bounce_mime_lower_dup(region, rl);
			const char *rs = lower == NULL ? NULL :
			    iw_bounce_reason_phrase(lower, c->off, &r->rule);

			if (rs != NULL) {
				iw_strlcpy(r->reason, rs, sizeof(r->reason));
				r->cls = iw_bounce_reason_class(rs);
				if (strncmp(r->status + 1, ".0.9", 4) == 0)
					iw_strlcpy(r->status + 4,
					    iw_bounce_reason_pseudo(rs),
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
		message_class(b);
	}
}

int
iw_bounce_parse(const char *buf, size_t len, struct iw_bounce **out,
    struct iw_err *err)
{
	return iw_bounce_parse_opts(buf, len, NULL, out, err);
}

static int
parse_at(const char *buf, size_t len, const unsigned char *off, int depth,
    struct iw_bounce **out, struct iw_err *err)
{
	struct ctx c;
	struct iw_buf norm = IW_BUF_INIT;
	struct iw_bounce_mime_hdrs top = IW_BOUNCE_MIME_HDRS_INIT;
	const char *body, *end, *mid;

	if (out == NULL || (buf == NULL && len > 0)) {
		iw_err_set(err, "bounce: bad arguments");
		return -1;
	}
	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.off = off;
	c.depth = depth;
	c.b = calloc(1, sizeof(*c.b));
	if (c.b == NULL) {
		iw_err_set(err, "bounce: out of memory");
		return -1;
	}
	c.b->cls = IW_BOUNCE_UNDETERMINED;
	iw_strlcpy(c.b->reason, "undefined", sizeof(c.b->reason));
	if (len > IW_BOUNCE_MAX_INPUT)
		len = IW_BOUNCE_MAX_INPUT;
	if (iw_bounce_mime_normalise(&norm, buf != NULL ? buf : "", len) != 0 ||
	    iw_buf_putc(&norm, '\0') != 0) {
		c.oom = 1;
	} else {
		norm.len--;	/* the NUL is a terminator, not data */
		end = norm.data + norm.len;
		body = iw_bounce_mime_headers(norm.data, end, &top, &c.oom);
		if ((mid = iw_bounce_mime_hdr(&top, "Message-ID")) != NULL)
			iw_bounce_mime_oneline(c.b->message_id,
			    sizeof(c.b->message_id), mid, strlen(mid));
		if (iw_bounce_mime_walk(body, end, &top, on_leaf, &c) != 0)
			c.oom = 1;
		if (!c.oom)
			analyse(&c, &top);
	}
	iw_bounce_mime_hdrs_free(&top);
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

int
iw_bounce_parse_opts(const char *buf, size_t len,
    const struct iw_bounce_opts *opts, struct iw_bounce **out,
    struct iw_err *err)
{
	return parse_at(buf, len, opts != NULL ? opts->phrase_off : NULL, 0,
	    out, err);
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
iw_bounce_classify_reply(int code, const char *enhanced, const char *text,
    char *reason, size_t reasonsz)
{
	struct iw_bounce_rcpt r;
	size_t elen;

	memset(&r, 0, sizeof(r));
	iw_strlcpy(r.action, "failed", sizeof(r.action));

	if (enhanced != NULL && iw_bounce_reason_is_status(enhanced, &elen) &&
	    enhanced[elen] == '\0')
		iw_strlcpy(r.status, enhanced, sizeof(r.status));
	r.reply_code = code;
	iw_bounce_mime_oneline(r.diagnostic, sizeof(r.diagnostic),
	    text != NULL ? text : "", text != NULL ? strlen(text) : 0);
	/* It is the reply to RCPT: no filter after DATA can have said it. */
	iw_bounce_reason_settle(&r, NULL, NULL, 1, NULL);
	if (code / 100 == 4 && r.cls == IW_BOUNCE_HARD)
		r.cls = IW_BOUNCE_SOFT;
	if (r.cls == IW_BOUNCE_UNDETERMINED || r.cls == IW_BOUNCE_DELIVERED ||
	    r.cls == IW_BOUNCE_TRANSIENT)
		r.cls = code / 100 == 4 ? IW_BOUNCE_TRANSIENT : IW_BOUNCE_SOFT;
	if (reason != NULL && reasonsz > 0)
		iw_strlcpy(reason, r.reason, reasonsz);
	return r.cls;
}

enum iw_bounce_class
iw_bounce_classify_status(int code, const char *enhanced, const char *text)
{
	return iw_bounce_classify_reply(code, enhanced, text, NULL, 0);
}
