/*
 * ipwarn build: group the resolved IPs of every campaign into letters now,
 * as ipwarnd does before sending, without sending anything.  An operator
 * stages a campaign this way and checks `ipwarn status` and the letters
 * before the daemon mails them; the daemon sends what is queued.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int
cmd_build(struct cli *c, int argc, char **argv)
{
	struct iw_db_build b;
	struct iw_err err;
	int rc;

	(void)argv;
	if (argc != 1) {
		cli_error("usage: ipwarn build");
		return EX_USAGE;
	}
	if ((rc = cli_config(c, IW_CONF_DATABASE | IW_CONF_SENDER)) != 0 ||
	    (rc = cli_db(c, 1)) != 0)
		return rc;
	/* Forced, as with ipwarnd --once: IPs still waiting for WHOIS do
	 * not hold the others back (they get letters of their own later). */
	memset(&b, 0, sizeof(b));
	b.force = 1;
	b.hold_s = c->cfg->letters_hold;
	b.renotify_s = c->cfg->letters_renotify_after;
	b.msgid_domain = c->cfg->sender_domain;
	if (iw_db_build_letters(c->db, &b, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	printf("built %ld letters for %ld IPs; %ld IPs moved on to their "
	    "fallback contact (contact suppressed), %ld held (notified within "
	    "letters.renotify_after)", b.letters, b.targets, b.held,
	    b.renotify_held);
	if (b.control > 0)
		printf("; %ld IPs in control groups (no letter)", b.control);
	putchar('\n');
	return 0;
}
