/*
 * ipwarn build: group the resolved IPs of every campaign into letters now,
 * as ipwarnd does before sending, without sending anything.  An operator
 * stages a campaign this way and checks `ipwarn status` and the letters
 * before the daemon mails them; the daemon sends what is queued.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

int
cmd_build(struct cli *c, int argc, char **argv)
{
	struct iw_err err;
	long letters, targets, held;
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
	if (iw_db_build_letters(c->db, 1, c->cfg->letters_hold,
	    c->cfg->sender_domain, &letters, &targets, &held, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	printf("built %ld letters for %ld IPs; %ld IPs held (contact "
	    "suppressed)\n", letters, targets, held);
	return 0;
}
