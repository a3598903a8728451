/*
 * compose: from a letter (its row and its IPs) to the exact message and
 * envelope that go to the relay — template rendering (letter), headers and
 * encodings (mime), the VERP return path and DSN envelope id (verp).  The
 * daemon's sender, `ipwarnd --dry-run` and `ipwarn preview` all use it, so
 * what an operator previews is byte for byte what is sent.
 */
#ifndef IW_COMPOSE_H
#define IW_COMPOSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "letter.h"
#include "util.h"
#include "verp.h"

#define IW_COMPOSE_REF_MAX	64	/* X-Ipwarn-Ref: printable ASCII */

struct iw_compose_in {
	int64_t letter_id;
	const char *email;		/* validated mailbox */
	const char *locale;		/* see iw_compose for the choice */
	const char *message_id;		/* "<...>" */
	const struct iw_letter_item *items;
	size_t nitems;
	time_t date;
	/* the campaign's templates, may be NULL: then only the global set */
	const struct iw_letters *campaign_letters;
	/* campaign, ref (also header X-Ipwarn-Ref), vars and max_inline
	 * (more IPs: all in ips.csv); all zero: none, no limit */
	struct iw_letter_ctx ctx;
};

struct iw_composed {
	char reverse_path[IW_VERP_MAX];	/* local+TOKEN@domain */
	char envid[64];			/* the VERP token */
	char locale[17];		/* the template's locale, as used */
	struct iw_buf data;		/* the message, CRLF line ends */
};

/*
 * Build the message for in.  The template: the campaign's for in->locale
 * if it has one, else the global set's (l), else (a locale no set has) the
 * default locale of l; out->locale says which locale was used.  With more
 * than in->ctx.max_inline IPs the body lists the first ones and the
 * message carries all of them as ips.csv (ip,evidence,observed).  A
 * non-empty in->ctx.ref must be printable ASCII of at most
 * IW_COMPOSE_REF_MAX octets.
 */
int iw_compose(const struct iw_config *cfg, const struct iw_letters *l,
    const struct iw_compose_in *in, struct iw_composed *out,
    struct iw_err *err);
/*
 * Fill in's letter fields (id, recipient, locale, Message-ID, ref, date
 * now) and its items from a claimed letter and its rows; the campaign's
 * fields are left as they are.  *items is allocated (free() it after
 * iw_compose); -1 when out of memory.
 */
int iw_compose_letter_in(const struct iw_db_letter *l,
    const struct iw_db_item *rows, size_t n, struct iw_compose_in *in,
    struct iw_letter_item **items);

/* Frees what iw_compose put into c (not c itself); NULL is a no-op. */
void iw_composed_free(struct iw_composed *c);

/* Append items[0..n) as RFC 4180 CSV (header ip,evidence,observed, CRLF
 * line ends); evidence and observation time cleaned of control
 * characters, their spacing kept. */
int iw_compose_csv(const struct iw_letter_item *items, size_t n,
    struct iw_buf *out);

/* Every locale the configuration can pick (letters.default_locale and each
 * one mapped in letters.countries) has a template in l: else -1 with
 * "FILE: letters.countries.SE: no template 'sv' in DIR". */
int iw_compose_check_locales(const struct iw_config *cfg,
    const struct iw_letters *l, struct iw_err *err);

/* Write c as one mboxrd entry (LF line ends, "From " line, Return-Path). */
int iw_compose_mbox(const struct iw_composed *c, struct iw_buf *out);

#endif
