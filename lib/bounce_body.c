/*
 * bounce_body: the non-standard bounces read from their text (see
 * bounce_body.h).  The marker and header lists are what the mail systems
 * named there print around the returned message.
 */
#include "bounce_body.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce_reason.h"

#define MAX_SEGMENT	4096		/* text read for one recipient */

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

/* "Name: value" with a field name of letters, digits and dashes. */
static int
is_field_line(const char *line)
{
	size_t k = 0;

	while (isalnum((unsigned char)line[k]) || line[k] == '-')
		k++;
	return k > 0 && line[k] == ':';
}

/* Where the returned copy of the original message begins in the text. */
size_t
iw_bounce_body_cut(const char *t, size_t len, size_t *hdr_start)
{
	const char *p = t, *end = t + len;
	int text = 0;

	while (p < end) {
		const char *e = iw_bounce_mime_line_end(p, end);
		size_t n = (size_t)(e - p);
		char line[160];
		size_t k;

		iw_strlcpy_n(line, sizeof(line), p, n);
		for (k = 0; line[k] != '\0'; k++)
			line[k] = (char)tolower((unsigned char)line[k]);
		for (k = 0; k < sizeof(cut_markers) / sizeof(cut_markers[0]);
		    k++) {
			if (strstr(line, cut_markers[k]) != NULL) {
				const char *h = iw_bounce_mime_next_line(p,
				    end);

				while (h < end && iw_bounce_mime_blank_line(h,
				    iw_bounce_mime_line_end(h, end)))
					h = iw_bounce_mime_next_line(h, end);
				*hdr_start = (size_t)(h - t);
				return (size_t)(p - t);
			}
		}
		/* returned headers follow some error text: a header block
		 * at the very top is the forwarded bounce's own */
		for (k = 0; text && k < sizeof(header_starts) /
		    sizeof(header_starts[0]); k++) {
			if (strncmp(line, header_starts[k],
			    strlen(header_starts[k])) == 0) {
				*hdr_start = (size_t)(p - t);
				return (size_t)(p - t);
			}
		}
		if (!text && !iw_bounce_mime_blank_line(p, e) &&
		    !is_field_line(line))
			text = 1;
		/* "Begin forwarded message:" (Apple Mail), "----------
		 * Forwarded message ---------" (Gmail): the bounce's own
		 * headers follow */
		if (strstr(line, "forwarded message") != NULL)
			text = 0;
		p = iw_bounce_mime_next_line(p, end);
	}
	*hdr_start = len;
	return len;
}

void
iw_bounce_body_skip_add(struct iw_bounce_body_skip *s, const char *a)
{
	if (a[0] != '\0' && s->n < sizeof(s->addr) / sizeof(s->addr[0]))
		iw_strlcpy(s->addr[s->n++], a, sizeof(s->addr[0]));
}

/* An address not to be taken for a failed recipient. */
static int
excluded(const struct iw_bounce_body_skip *s, const char *a)
{
	if (strncasecmp(a, "mailer-daemon@", 14) == 0)
		return 1;
	for (size_t i = 0; i < s->n; i++)
		if (strcasecmp(a, s->addr[i]) == 0)
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
void
iw_bounce_body_diag(struct iw_bounce_rcpt *r, const char *s, const char *end)
{
	char code[IW_BOUNCE_STATUS_MAX];
	const char *at = iw_bounce_reason_find_status(s, end, code,
	    sizeof(code));
	const char *from = NULL, *to;
	int lines = 0;

	if (at == NULL) {
		for (const char *q = s; q < end;
		    q = iw_bounce_mime_next_line(q, end)) {
			const char *e = iw_bounce_mime_line_end(q, end), *t = q;

			while (t < e && (*t == ' ' || *t == '\t' || *t == '<'))
				t++;
			if (iw_bounce_reason_reply_at(t, q, e) >= 400) {
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
		if (address_only_line(s, iw_bounce_mime_line_end(s, end)))
			from = iw_bounce_mime_next_line(s, end);
		while (from < end && iw_bounce_mime_blank_line(from,
		    iw_bounce_mime_line_end(from, end)))
			from = iw_bounce_mime_next_line(from, end);
		/* no reply code: the words after the address say it */
		for (to = from; to < end && lines < 8; lines++) {
			const char *e = iw_bounce_mime_line_end(to, end);

			if (iw_bounce_mime_blank_line(to, e)) {
				if (paras++ > 0 || lines > 2)
					break;
				while (to < end && iw_bounce_mime_blank_line(to,
				    iw_bounce_mime_line_end(to, end)))
					to = iw_bounce_mime_next_line(to, end);
				continue;
			}
			to = iw_bounce_mime_next_line(to, end);
		}
		iw_bounce_mime_oneline(r->diagnostic, sizeof(r->diagnostic),
		    from,
		    (size_t)(to - from));
		return;
	}
	for (to = from; to < end && lines < 6; lines++) {
		const char *e = iw_bounce_mime_line_end(to, end);

		if (iw_bounce_mime_blank_line(to, e))
			break;
		to = iw_bounce_mime_next_line(to, end);
	}
	iw_bounce_mime_oneline(r->diagnostic, sizeof(r->diagnostic), from,
	    (size_t)(to - from));
}

/*
 * qmail-send names each failed recipient on a line of its own,
 * "<address>:"; such a line is a failure even when the address is also
 * the bounce's own recipient (a message to oneself).
 */
static int
qmail_rcpt_line(const char *p, const char *e)
{
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e - p < 5 || *p != '<' || e[-1] != ':' || e[-2] != '>' ||
	    strncasecmp(p, "<mailer-daemon@", 15) == 0)
		return 0;
	return memchr(p, ' ', (size_t)(e - p)) == NULL;
}

/*
 * Addresses offered for help, not failed: Postfix's bounce(5) template
 * "For further assistance, please send mail to <postmaster>" (which sites
 * reword as "please contact <...>").  Collected first, so that a later
 * mention (a translation of the same paragraph) is skipped too.
 */
static void
help_desks(struct iw_bounce_body_skip *desk, const char *t, const char *end)
{
	static const char *const help[] = { "please contact",
	    "please send mail to", "for further assistance" };

	for (const char *p = t; p < end; p = iw_bounce_mime_next_line(p, end)) {
		const char *e = iw_bounce_mime_line_end(p, end), *pos = p, *st;
		char line[256], a[IW_BOUNCE_ADDR_MAX];
		size_t k;

		iw_strlcpy_n(line, sizeof(line), p, (size_t)(e - p));
		for (k = 0; k < sizeof(help) / sizeof(help[0]); k++)
			if (iw_bounce_mime_find_ci(line, help[k]) != NULL)
				break;
		if (k == sizeof(help) / sizeof(help[0]))
			continue;
		while (iw_bounce_mime_next_address(p, e, &pos, &st, a,
		    sizeof(a)) == 0)
			iw_bounce_body_skip_add(desk, a);
	}
}

void
iw_bounce_body_scan(struct iw_bounce *b, const char *t, size_t len,
    const char *xfailed, const struct iw_bounce_body_skip *skip, int *oom)
{
	size_t offs[IW_BOUNCE_MAX_RCPT];
	size_t first = b->nrcpt;
	struct iw_bounce_body_skip desk = { .n = 0 };
	const char *end = t + len;
	const size_t none = (size_t)-1;

	for (size_t i = 0; i < IW_BOUNCE_MAX_RCPT; i++)
		offs[i] = none;
	/* Exim names its failures in a header: trust it. */
	if (xfailed != NULL) {
		const char *pos = xfailed, *st;
		char a[IW_BOUNCE_ADDR_MAX];

		while (iw_bounce_mime_next_address(xfailed,
		    xfailed + strlen(xfailed), &pos,
		    &st, a, sizeof(a)) == 0) {
			struct iw_bounce_rcpt *r;

			if (known_rcpt(b, a) || (r = iw_bounce_rcpt_add(b,
			    oom)) == NULL)
				continue;
			iw_strlcpy(r->address, a, sizeof(r->address));
		}
	}
	help_desks(&desk, t, end);
	for (const char *p = t; p < end; p = iw_bounce_mime_next_line(p, end)) {
		const char *e = iw_bounce_mime_line_end(p, end), *pos = p, *st;
		char a[IW_BOUNCE_ADDR_MAX];

		if (skip_line(p, e))
			continue;
		while (iw_bounce_mime_next_address(p, e, &pos, &st, a,
		    sizeof(a)) == 0) {
			size_t i;
			struct iw_bounce_rcpt *r;

			if ((excluded(skip, a) && !qmail_rcpt_line(p, e)) ||
			    excluded(&desk, a))
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
			if ((r = iw_bounce_rcpt_add(b, oom)) == NULL)
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
		iw_bounce_body_diag(&b->rcpt[i], t + s, t + e);
	}
}

static int
has_ci(const char *v, const char *needle)
{
	return v != NULL && iw_bounce_mime_find_ci(v, needle) != NULL;
}

/* From a mail system rather than a person. */
int
iw_bounce_body_from_system(const struct iw_bounce_mime_hdrs *h)
{
	const char *from = iw_bounce_mime_hdr(h, "From"),
	    *subj = iw_bounce_mime_hdr(h, "Subject");

	return has_ci(from, "mailer-daemon") || has_ci(from, "postmaster") ||
	    has_ci(subj, "undeliver") || has_ci(subj, "delivery status") ||
	    has_ci(subj, "returned mail") || has_ci(subj, "failure notice") ||
	    iw_bounce_mime_hdr(h, "X-Failed-Recipients") != NULL;
}

int
iw_bounce_body_autoreply(const struct iw_bounce_mime_hdrs *h)
{
	const char *as = iw_bounce_mime_hdr(h, "Auto-Submitted");
	const char *subj = iw_bounce_mime_hdr(h, "Subject");
	const char *prec = iw_bounce_mime_hdr(h, "Precedence");
	static const char *const subjects[] = { "auto:", "automatic reply",
	    "auto reply", "autoreply", "auto-reply", "out of office",
	    "out of the office", "vacation", "away from", "abwesend",
	    "absence", "afwezig", "fravær", "frånvaro", "autosvar",
	    "automatisch antwoord", "automatische antwort", "away until" };

	if (has_ci(as, "auto-replied"))
		return 1;
	if (iw_bounce_mime_hdr(h, "X-Autoreply") != NULL ||
	    iw_bounce_mime_hdr(h, "X-Autorespond") != NULL ||
	    iw_bounce_mime_hdr(h, "X-Vacation") != NULL)
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
int
iw_bounce_body_looks_like(const struct iw_bounce_mime_hdrs *h, const char *text)
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
	const char *from = iw_bounce_mime_hdr(h, "From"),
	    *subj = iw_bounce_mime_hdr(h, "Subject");
	const char *rp = iw_bounce_mime_hdr(h, "Return-Path");

	if (iw_bounce_mime_hdr(h, "X-Failed-Recipients") != NULL)
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

/*
 * A bounce forwarded as a quoted reply ("> " on every line) is read as if
 * unquoted.  Returns a new string, or NULL when the text is not quoted.
 */
char *
iw_bounce_body_unquote(const char *t, size_t len, size_t *outlen)
{
	size_t quoted = 0, lines = 0;
	const char *end = t + len;
	struct iw_buf b = IW_BUF_INIT;

	for (const char *p = t; p < end; p = iw_bounce_mime_next_line(p, end)) {
		if (iw_bounce_mime_blank_line(p, iw_bounce_mime_line_end(p,
		    end)))
			continue;
		lines++;
		quoted += *p == '>';
	}
	if (lines < 4 || quoted * 2 < lines)
		return NULL;
	for (const char *p = t; p < end; p = iw_bounce_mime_next_line(p, end)) {
		const char *e = iw_bounce_mime_line_end(p, end);

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
void
iw_bounce_body_near(const char *region, size_t rl, const char *addr, char *out,
    size_t outsz)
{
	const char *end = region + rl, *p, *q;
	int lines = 0, blanks = 0;

	out[0] = '\0';
	if (addr[0] == '\0' || (p = iw_bounce_mime_find_ci(region,
	    addr)) == NULL)
		return;
	while (p > region && p[-1] != '\n')
		p--;
	for (q = p; q < end && lines < 12; lines++) {
		const char *e = iw_bounce_mime_line_end(q, end);

		if (iw_bounce_mime_blank_line(q, e) && ++blanks > 1)
			break;
		q = iw_bounce_mime_next_line(q, end);
	}
	iw_strlcpy_n(out, outsz, p, (size_t)(q - p));
}

