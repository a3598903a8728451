/*
 * letter: the letter templates in letters.directory (one per locale) and
 * their rendering.  A letter lists one or many flagged IPs of one abuse
 * contact, each with its evidence and time of observation; the template has
 * a singular and a plural wording.  Output is UTF-8 text with LF line ends;
 * turning it into a MIME message is mime's job.
 */
#ifndef IW_LETTER_H
#define IW_LETTER_H

#include <stddef.h>

#include "util.h"

struct iw_letters;

struct iw_letter_item {
	const char *ip;		/* canonical text form */
	const char *evidence;	/* may be NULL or "" */
	const char *observed;	/* ISO-8601 text, may be NULL or "" */
};

/* Load every template in dir; a broken template is an error naming
 * file:line.  The directory must contain at least the default locale. */
int iw_letters_load(const char *dir, struct iw_letters **out,
    struct iw_err *err);
void iw_letters_free(struct iw_letters *l);

/* 1 if a template for locale was loaded. */
int iw_letters_has(const struct iw_letters *l, const char *locale);

/* Render the subject (one line) and body for items[0..n), n >= 1. */
int iw_letter_render(const struct iw_letters *l, const char *locale,
    const struct iw_letter_item *items, size_t n, struct iw_buf *subject,
    struct iw_buf *body, struct iw_err *err);

#endif
