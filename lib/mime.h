/*
 * mime: building the RFC 5322 + MIME message for a rendered letter —
 * headers (RFC 2047 encoded where needed, folded at 78 columns), a
 * text/plain UTF-8 body in quoted-printable, optionally one base64
 * attachment in a multipart/mixed message, CRLF line ends throughout
 * (mime_decode.h shows such a message as text).  Every header value is
 * validated here: nothing with a CR, LF or NUL can reach the message
 * whatever the caller passes.
 */
#ifndef IW_MIME_H
#define IW_MIME_H

#include <stddef.h>
#include <time.h>

#include "util.h"

struct iw_mime_header {
	const char *name;	/* e.g. "X-IPWarn-Campaign" */
	const char *value;	/* UTF-8; encoded if not plain ASCII */
};

/* An attachment's file name: 1 to this many of A-Z a-z 0-9 . _ - (so its
 * Content-Disposition stays within 78 columns). */
#define IW_MIME_FNAME_MAX 32

struct iw_mime_attachment {
	const char *filename;	/* "ips.csv" (IW_MIME_FNAME_MAX above) */
	const char *type;	/* e.g. "text/csv; charset=utf-8" */
	const char *data;	/* any bytes; sent base64 */
	size_t len;
};

struct iw_mime_msg {
	const char *from;	/* "Display Name <addr@dom>" or "addr@dom" */
	const char *reply_to;	/* may be NULL */
	const char *to;		/* a validated mailbox */
	const char *subject;	/* UTF-8 */
	const char *message_id;	/* "<id@domain>" */
	time_t date;
	const char *language;	/* Content-Language, e.g. "da"; may be NULL */
	const struct iw_mime_header *extra;
	size_t nextra;
	/* NULL: one text/plain part; else multipart/mixed, text first */
	const struct iw_mime_attachment *attachment;
};

/*
 * Parse "Display Name <addr>" / "addr": name (may be empty, UTF-8) and the
 * normalised mailbox.  -1 with a reason if it is not one mailbox.
 */
int iw_mime_parse_address(const char *s, char *name, size_t namesz,
    char *addr, size_t addrsz, struct iw_err *err);

/*
 * Build the whole message (headers + QP body, and the attachment if any)
 * into out.  The multipart boundary is derived from the Message-ID, so the
 * same input gives the same bytes.
 */
int iw_mime_build(const struct iw_mime_msg *m, const char *body, size_t len,
    struct iw_buf *out, struct iw_err *err);

/* Quoted-printable encode (RFC 2045, CRLF line ends, lines <= 76). */
int iw_mime_qp_encode(const char *buf, size_t len, struct iw_buf *out);

/* RFC 2047 encode a header value if it needs it ("=?UTF-8?Q?...?="),
 * folding for a header whose name takes namelen columns. */
int iw_mime_header_encode(const char *value, size_t namelen,
    struct iw_buf *out);

/* Base64 encode (RFC 2045 6.8, CRLF after every 76 columns and at the
 * end). */
int iw_mime_base64_encode(const char *buf, size_t len, struct iw_buf *out);

#endif
