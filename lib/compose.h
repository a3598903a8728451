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
#include "letter.h"
#include "util.h"
#include "verp.h"

struct iw_compose_in {
	int64_t letter_id;
	const char *email;		/* validated mailbox */
	const char *locale;		/* falls back to the default */
	const char *message_id;		/* "<...>" */
	const struct iw_letter_item *items;
	size_t nitems;
	time_t date;
};

struct iw_composed {
	char reverse_path[IW_VERP_MAX];	/* local+TOKEN@domain */
	char envid[64];			/* the VERP token */
	char locale[17];		/* the template actually used */
	struct iw_buf data;		/* the message, CRLF line ends */
};

int iw_compose(const struct iw_config *cfg, const struct iw_letters *l,
    const struct iw_compose_in *in, struct iw_composed *out,
    struct iw_err *err);
void iw_composed_free(struct iw_composed *c);

/* Write c as one mboxrd entry (LF line ends, "From " line, Return-Path). */
int iw_compose_mbox(const struct iw_composed *c, struct iw_buf *out);

#endif
