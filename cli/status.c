/*
 * ipwarn status: how many flagged IPs and letters are in each state, over
 * every campaign or one (--campaign), as a table or (--json) as one JSON
 * object with every state present.  campaign show prints the same counts.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "campaign.h"
#include "cli.h"

int
cli_status_json(struct iw_buf *b, const struct iw_db_status *s)
{
	return iw_buf_printf(b, "\"targets\": {\"new\": %ld, "
	    "\"resolved\": %ld, \"unresolved\": %ld, \"notified\": %ld, "
	    "\"held\": %ld, \"control\": %ld}, \"letters\": {\"queued\": %ld, \"sending\": %ld, "
	    "\"deferred\": %ld, \"sent\": %ld, \"failed\": %ld, "
	    "\"bounced\": %ld, \"cancelled\": %ld}",
	    s->targets_new, s->targets_resolved, s->targets_unresolved,
	    s->targets_notified, s->targets_held, s->targets_control,
	    s->letters_queued,
	    s->letters_sending, s->letters_deferred, s->letters_sent,
	    s->letters_failed, s->letters_bounced, s->letters_cancelled);
}

void
cli_status_table(const struct iw_db_status *s)
{
	printf("%-10s %10s %10s %10s %10s %10s %10s\n", "targets", "new",
	    "resolved", "unresolved", "notified", "held", "control");
	printf("%-10s %10ld %10ld %10ld %10ld %10ld %10ld\n", "",
	    s->targets_new, s->targets_resolved, s->targets_unresolved,
	    s->targets_notified, s->targets_held, s->targets_control);
	printf("%-10s %10s %10s %10s %10s %10s %10s %10s\n", "letters",
	    "queued", "sending", "deferred", "sent", "failed", "bounced",
	    "cancelled");
	printf("%-10s %10ld %10ld %10ld %10ld %10ld %10ld %10ld\n", "",
	    s->letters_queued, s->letters_sending, s->letters_deferred,
	    s->letters_sent, s->letters_failed, s->letters_bounced,
	    s->letters_cancelled);
}

static int
print_json(const struct iw_db_status *s, const char *campaign)
{
	struct iw_buf b = IW_BUF_INIT;
	int bad = iw_buf_putc(&b, '{');

	if (campaign != NULL) {
		bad |= iw_buf_puts(&b, "\"campaign\": ");
		bad |= iw_json_str(&b, campaign);
		bad |= iw_buf_puts(&b, ", ");
	}
	bad |= cli_status_json(&b, s);
	bad |= iw_buf_printf(&b, ", \"campaigns\": %ld, \"suppressed\": %ld, "
	    "\"overrides\": %ld}\n", s->campaigns, s->suppressed,
	    s->overrides);
	if (bad < 0) {
		iw_buf_free(&b);
		cli_error("out of memory");
		return EX_OSERR;
	}
	fwrite(b.data, 1, b.len, stdout);
	iw_buf_free(&b);
	return 0;
}

int
cmd_status(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "campaign", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "usage: ipwarn status [--campaign NAME] [--json]";
	const char *name = NULL;
	struct iw_campaign camp;
	struct iw_db_status st;
	struct iw_err err;
	int ch, json = 0, rc;

	memset(&camp, 0, sizeof(camp));
	while ((ch = getopt_long(argc, argv, "jn:", opts, NULL)) != -1) {
		if (ch == 'j')
			json = 1;
		else if (ch == 'n')
			name = optarg;
		else {
			cli_error("%s", usage);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_db(c, 1)) != 0 ||
	    (name != NULL && (rc = cli_campaign(c, name, &camp)) != 0))
		return rc;
	rc = iw_db_status(c->db, camp.id, &st, &err);
	iw_campaign_clear(&camp);
	if (rc < 0) {
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	if (json)
		return print_json(&st, name);
	if (name != NULL)
		printf("campaign %s\n", name);
	cli_status_table(&st);
	printf("campaigns %ld, suppressed addresses %ld, contact overrides "
	    "%ld\n", st.campaigns, st.suppressed, st.overrides);
	return 0;
}
