/*
 * letter: the letter templates in letters.directory (one per locale) and
 * their rendering.  A letter lists one or many flagged IPs of one abuse
 * contact, each with its evidence and time of observation; the template has
 * a singular and a plural wording, an {attached} block for a list cut
 * to letters.max_inline_ips, and an optional {fallback} block shown only
 * in a letter sent because the IPs' first contact did not work.  Output is UTF-8 text with LF line ends;
 * turning it into a MIME message is mime's job.
 */
#ifndef IW_LETTER_H
#define IW_LETTER_H

#include <stddef.h>

#include "util.h"

/* Bytes kept of a {campaign}, {ref} or {var.KEY} value. */
#define IW_LETTER_VALUE_MAX	200
/* KEY of {var.KEY}: 1 to 32 of a-z, 0-9 and _. */
#define IW_LETTER_VAR_KEY_MAX	32

struct iw_letters;

struct iw_letter_item {
	const char *ip;		/* canonical text form */
	const char *evidence;	/* may be NULL or "" */
	const char *observed;	/* ISO-8601 text, may be NULL or "" */
};

/* What a campaign adds to a letter; operator text, cleaned when shown. */
struct iw_letter_ctx {
	const char *campaign;			/* {campaign}; NULL: "" */
	const char *ref;			/* {ref}; NULL: "" */
	const char *const *var_keys;		/* {var.KEY} ... */
	const char *const *var_values;		/* ... and its value */
	size_t nvars;
	size_t max_inline;	/* letters.max_inline_ips; 0: no limit */
	const char *fallback;	/* a fallback letter: the address(es) that
				   did not work, {previous} in the
				   {fallback} block, shown only then;
				   NULL or "": not a fallback letter */
};

/* Load every template in dir; a broken template is an error naming
 * file:line.  The directory must contain at least the default locale. */
int iw_letters_load(const char *dir, struct iw_letters **out,
    struct iw_err *err);
void iw_letters_free(struct iw_letters *l);

/* 1 if a template for locale was loaded. */
int iw_letters_has(const struct iw_letters *l, const char *locale);

/* The file the template for locale was loaded from; NULL if none. */
const char *iw_letters_path(const struct iw_letters *l, const char *locale);

/*
 * 0 if every {var.KEY} in every template of l is one of keys[0..nkeys);
 * else -1 and "FILE:LINE: {var.KEY} is not defined by the campaign
 * (--var KEY=VALUE)" for the first such line (templates in locale order).
 */
int iw_letters_check_vars(const struct iw_letters *l,
    const char *const *keys, size_t nkeys, struct iw_err *err);

/*
 * Render the subject (one line) and body for items[0..n), n >= 1, with
 * ctx (may be NULL: no campaign values, no limit).  When n exceeds
 * ctx->max_inline the body lists only the first max_inline IPs, shows the
 * {attached} block and *attached (may be NULL) is set to 1, else 0; the
 * caller must then attach the complete list.  A {var.KEY} that ctx does not
 * define fails with the template's FILE:LINE.
 */
int iw_letter_render(const struct iw_letters *l, const char *locale,
    const struct iw_letter_item *items, size_t n,
    const struct iw_letter_ctx *ctx, struct iw_buf *subject,
    struct iw_buf *body, int *attached, struct iw_err *err);

/*
 * Append untrusted text s to out as letters show it: control, format and
 * line-separator characters and invalid UTF-8 replaced ('?', a space for
 * line breaks and tabs), cut at a character boundary after max bytes with
 * "...".  With collapse, runs of spaces become one and the ends are
 * trimmed (the body); without, spacing is kept (ips.csv).
 */
int iw_letter_clean(struct iw_buf *out, const char *s, size_t max,
    int collapse);

#endif
