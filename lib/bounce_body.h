/*
 * bounce_body: read the bounces that carry no delivery-status fields, the
 * way their mail systems write them (qmail, Exim, Sendmail transcripts,
 * Exchange, Gmail, Yahoo, ...): where the returned copy of the message
 * begins, which addresses in the text before it failed, and which lines
 * after each address are its SMTP reply.  Also the header signs that a
 * message is a bounce, or an auto-reply, at all.
 */
#ifndef IW_BOUNCE_BODY_H
#define IW_BOUNCE_BODY_H

#include <stddef.h>

#include "bounce.h"
#include "bounce_mime.h"

/* Addresses never taken for a failed recipient (the bounce's own). */
struct iw_bounce_body_skip {
	char addr[IW_BOUNCE_MAX_ENVELOPE + 2][IW_BOUNCE_ADDR_MAX];
	size_t n;
};

/* Add a to skip (when there is room and it is not ""). */
void iw_bounce_body_skip_add(struct iw_bounce_body_skip *s, const char *a);

/*
 * Where the returned copy of the original message begins in text [t,
 * t+len): the offset of its marker line; *hdr_start gets the offset of its
 * header block (len when there is none).
 */
size_t iw_bounce_body_cut(const char *t, size_t len, size_t *hdr_start);

/*
 * Add to b every failed address named in [t, t+len) (the error text before
 * the cut), or only those of Exim's X-Failed-Recipients header xfailed when
 * given, each with the diagnostic read after its first mention.  *oom is
 * set when memory ran out.
 */
void iw_bounce_body_scan(struct iw_bounce *b, const char *t, size_t len,
    const char *xfailed, const struct iw_bounce_body_skip *skip, int *oom);

/* The diagnostic of r out of its text [s, end): the SMTP reply lines, or
 * the words after the address when there is no reply code. */
void iw_bounce_body_diag(struct iw_bounce_rcpt *r, const char *s,
    const char *end);

/*
 * A bounce forwarded as a quoted reply ("> " on most lines), unquoted into
 * a new string the caller frees; NULL when the text is not quoted.
 */
char *iw_bounce_body_unquote(const char *t, size_t len, size_t *outlen);

/* The lines around the first mention of addr in [region, region+rl). */
void iw_bounce_body_near(const char *region, size_t rl, const char *addr,
    char *out, size_t outsz);

/* The header block h (and text) of a message without DSN fields: a
 * bounce at all?  From a mail system?  An auto-reply (RFC 3834)? */
int iw_bounce_body_looks_like(const struct iw_bounce_mime_hdrs *h,
    const char *text);
int iw_bounce_body_from_system(const struct iw_bounce_mime_hdrs *h);
int iw_bounce_body_autoreply(const struct iw_bounce_mime_hdrs *h);

#endif
