/*
 * ipwarn status: how many flagged IPs and letters are in each state, as a
 * table or (--json) as one JSON object with every state present.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void
print_json(const struct iw_db_status *s)
{
	printf("{\"targets\": {\"new\": %ld, \"resolved\": %ld, "
	    "\"unresolved\": %ld, \"notified\": %ld, \"held\": %ld}, "
	    "\"letters\": {\"queued\": %ld, \"sending\": %ld, "
	    "\"deferred\": %ld, \"sent\": %ld, \"failed\": %ld, "
	    "\"bounced\": %ld}, \"campaigns\": %ld, \"suppressed\": %ld, "
	    "\"overrides\": %ld}\n",
	    s->targets_new, s->targets_resolved, s->targets_unresolved,
	    s->targets_notified, s->targets_held, s->letters_queued,
	    s->letters_sending, s->letters_deferred, s->letters_sent,
	    s->letters_failed, s->letters_bounced, s->campaigns,
	    s->suppressed, s->overrides);
}

static void
print_table(const struct iw_db_status *s)
{
	printf("%-10s %10s %10s %10s %10s %10s\n", "targets", "new",
	    "resolved", "unresolved", "notified", "held");
	printf("%-10s %10ld %10ld %10ld %10ld %10ld\n", "", s->targets_new,
	    s->targets_resolved, s->targets_unresolved, s->targets_notified,
	    s->targets_held);
	printf("%-10s %10s %10s %10s %10s %10s %10s\n", "letters", "queued",
	    "sending", "deferred", "sent", "failed", "bounced");
	printf("%-10s %10ld %10ld %10ld %10ld %10ld %10ld\n", "",
	    s->letters_queued, s->letters_sending, s->letters_deferred,
	    s->letters_sent, s->letters_failed, s->letters_bounced);
	printf("campaigns %ld, suppressed addresses %ld, contact overrides "
	    "%ld\n", s->campaigns, s->suppressed, s->overrides);
}

int
cmd_status(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct iw_db_status st;
	struct iw_err err;
	int ch, json = 0, rc;

	while ((ch = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (ch != 'j') {
			cli_error("usage: ipwarn status [--json]");
			return EX_USAGE;
		}
		json = 1;
	}
	if (optind != argc) {
		cli_error("usage: ipwarn status [--json]");
		return EX_USAGE;
	}
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_db(c, 1)) != 0)
		return rc;
	if (iw_db_status(c->db, &st, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	if (json)
		print_json(&st);
	else
		print_table(&st);
	return 0;
}
