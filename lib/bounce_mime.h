/*
 * bounce_mime: the MIME reader under the bounce parser.  Everything here
 * reads outside text with explicit bounds: LF-normalising the input,
 * header blocks (folded, RFC 2047 encoded words decoded to UTF-8), the
 * transfer encodings, body charsets (iconv to UTF-8: ISO-2022-JP,
 * Shift_JIS, EUC-JP, ISO-8859-x, windows-125x, KOI8, GB2312, Big5, ...),
 * mailbox tokens, and a walk over a MIME tree that hands each leaf, decoded,
 * to a callback.  It knows nothing about bounces.
 */
#ifndef IW_BOUNCE_MIME_H
#define IW_BOUNCE_MIME_H

#include <stddef.h>

#include "util.h"

#define IW_BOUNCE_MIME_MAX_DEPTH	12	/* MIME nesting followed */

struct iw_bounce_mime_hdr {
	char *name;
	char *value;	/* unfolded, encoded words decoded, bounded */
};

struct iw_bounce_mime_hdrs {
	struct iw_bounce_mime_hdr *v;
	size_t n, cap;
};

#define IW_BOUNCE_MIME_HDRS_INIT	{ NULL, 0, 0 }

/* Case-insensitive prefix test of NUL-terminated s. */
int iw_bounce_mime_starts_ci(const char *s, const char *prefix);
/* Case-insensitive search of needle (lower case) in s; NULL if absent. */
const char *iw_bounce_mime_find_ci(const char *s, const char *needle);
/* [p, p+n) lower-cased into a fresh string the caller frees; NULL: OOM. */
char *iw_bounce_mime_lower_dup(const char *p, size_t n);

/*
 * Append [p, p+n) to out with CRLF and lone CR made LF and NUL made a
 * space, so later stages may treat the data as one C string of LF lines.
 */
int iw_bounce_mime_normalise(struct iw_buf *out, const char *p, size_t n);

/* The '\n' ending the line at p, or end; the start of the next line. */
const char *iw_bounce_mime_line_end(const char *p, const char *end);
const char *iw_bounce_mime_next_line(const char *p, const char *end);
int iw_bounce_mime_blank_line(const char *p, const char *e);

/*
 * Parse the header block at [p, end) into h (which the caller frees with
 * iw_bounce_mime_hdrs_free); return where the body starts.  A line that is
 * neither a field, a continuation nor blank ends the block.  *oom is set
 * when memory ran out (the block is then incomplete).
 */
const char *iw_bounce_mime_headers(const char *p, const char *end,
    struct iw_bounce_mime_hdrs *h, int *oom);
/* The first value of field name, or NULL. */
const char *iw_bounce_mime_hdr(const struct iw_bounce_mime_hdrs *h,
    const char *name);
void iw_bounce_mime_hdrs_free(struct iw_bounce_mime_hdrs *h);

/* "type/subtype; params" -> "type/subtype" lower-cased ("" if none). */
void iw_bounce_mime_type(const char *v, char *out, size_t outsz);
/* A parameter of a Content-Type style value; 0, or -1 if absent. */
int iw_bounce_mime_param(const char *v, const char *name, char *out,
    size_t outsz);

/*
 * RFC 2047: append value [p, p+n) to out with every encoded word
 * (=?charset?B|Q?...?=) decoded to UTF-8; white space between two encoded
 * words is dropped.  0, or -1 when out of memory.
 */
int iw_bounce_mime_words(struct iw_buf *out, const char *p, size_t n);

/*
 * Append [p, p+n) in charset to out as UTF-8 (iconv).  Bytes that do not
 * convert become '?'; an unknown charset, or none, copies the bytes as they
 * are, except that ISO-2022-JP escape sequences in undeclared text are
 * recognised.  0, or -1 when out of memory.
 */
int iw_bounce_mime_to_utf8(struct iw_buf *out, const char *charset,
    const char *p, size_t n);

/* Strip tags and the common entities from HTML, keeping line breaks. */
int iw_bounce_mime_html(struct iw_buf *out, const char *p, size_t n);

/*
 * Find the next mailbox-looking token in [p, end) at or after *pos; on
 * success write the normalised address, set *start to it and *pos past
 * it, and return 0; -1 when there is none.
 */
int iw_bounce_mime_next_address(const char *p, const char *end,
    const char **pos, const char **start, char *out, size_t outsz);
/* First valid address in a NUL-terminated value ("" and -1 if none). */
int iw_bounce_mime_first_address(const char *v, char *out, size_t outsz);

/*
 * Copy [p, p+n) into out as one printable line: white space runs become
 * one space, control bytes and invalid UTF-8 '?', cut on a character
 * boundary.
 */
void iw_bounce_mime_oneline(char *out, size_t outsz, const char *p,
    size_t n);

/* One leaf of the MIME tree, transfer encoding undone, text in UTF-8. */
struct iw_bounce_mime_leaf {
	const char *type;	/* lower-cased type/subtype, "" if none */
	const char *p, *end;	/* its body */
	const struct iw_bounce_mime_hdrs *h;	/* its own header block */
	int depth;
};

/*
 * Called for each leaf in document order; returns 1 when an attached
 * message (message/...) is to be walked into as a message of its own.
 */
typedef int (*iw_bounce_mime_fn)(void *arg,
    const struct iw_bounce_mime_leaf *leaf);

/*
 * Walk the body [body, end) whose header block is h.  Of a
 * multipart/alternative only the text/plain part is visited when there is
 * one.  A multipart without its delimiters is one text/plain leaf.  0, or
 * -1 when memory ran out.
 */
int iw_bounce_mime_walk(const char *body, const char *end,
    const struct iw_bounce_mime_hdrs *h, iw_bounce_mime_fn fn, void *arg);

#endif
