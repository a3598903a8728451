/*
 * compose: letter row + IPs -> envelope and RFC 5322 message.  See
 * compose.h.
 */
#include "compose.h"

#include <string.h>

#include "mime.h"

int
iw_compose(const struct iw_config *cfg, const struct iw_letters *l,
    const struct iw_compose_in *in, struct iw_composed *out,
    struct iw_err *err)
{
	/* Exchange and others: no out-of-office replies to a bulk sender. */
	static const struct iw_mime_header extra[] = {
		{ "X-Auto-Response-Suppress", "All" },
	};
	struct iw_buf subject = IW_BUF_INIT, body = IW_BUF_INIT;
	struct iw_mime_msg m;
	const char *locale = in->locale;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (locale == NULL || !iw_letters_has(l, locale))
		locale = cfg->letters_default_locale;
	iw_strlcpy(out->locale, locale, sizeof(out->locale));
	if (iw_verp_encode(cfg->sender_return_path, cfg->sender_verp_secret,
	    in->letter_id, out->reverse_path, sizeof(out->reverse_path),
	    err) < 0 || iw_verp_token(cfg->sender_verp_secret, in->letter_id,
	    out->envid, sizeof(out->envid)) < 0) {
		iw_err_prefix(err, "letter %lld: return path",
		    (long long)in->letter_id);
		goto out;
	}
	if (iw_letter_render(l, locale, in->items, in->nitems, &subject,
	    &body, err) < 0) {
		iw_err_prefix(err, "letter %lld: render",
		    (long long)in->letter_id);
		goto out;
	}
	memset(&m, 0, sizeof(m));
	m.from = cfg->sender_from;
	m.reply_to = cfg->sender_reply_to;
	m.to = in->email;
	m.subject = subject.data != NULL ? subject.data : "";
	m.message_id = in->message_id;
	m.date = in->date;
	m.language = locale;
	m.extra = extra;
	m.nextra = sizeof(extra) / sizeof(extra[0]);
	if (iw_mime_build(&m, body.data != NULL ? body.data : "", body.len,
	    &out->data, err) < 0) {
		iw_err_prefix(err, "letter %lld: message",
		    (long long)in->letter_id);
		goto out;
	}
	rc = 0;
out:
	iw_buf_free(&subject);
	iw_buf_free(&body);
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
