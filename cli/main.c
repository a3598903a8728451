/*
 * ipwarn: the operator's command — schema, enqueue, status, preview,
 * suppression and contact overrides.  See ipwarn(1).
 */
#include <getopt.h>
#include <pwd.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "cli.h"

static const char usage_text[] =
    "usage: ipwarn [-c FILE] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  db init                          create or upgrade the schema\n"
    "  campaign create NAME [--letters DIR] [--var KEY=VALUE]... "
    "[--renotify]\n"
    "          [--holdout PERCENT]      a new campaign, as a draft;\n"
    "                                   --holdout: that share of its\n"
    "                                   contacts is a control group\n"
    "                                   (state control, no letter)\n"
    "  campaign list [--json]\n"
    "  campaign show NAME [--json]      settings, state, counts, record\n"
    "  campaign approve|pause|resume|cancel NAME\n"
    "                                   nothing of a campaign that is not\n"
    "                                   approved is ever sent\n"
    "  enqueue [--campaign NAME] [--format auto|csv|jsonl]\n"
    "          [--evidence TEMPLATE] [FILE|-]\n"
    "                                   queue flagged IPs (CSV, ';' or TAB:"
    "\n"
    "                                   ip[,evidence[,observed]], or with a"
    "\n"
    "                                   header naming ip, timestamp, ...,"
    "\n"
    "                                   e.g. a Shadowserver report:\n"
    "                                   \"timestamp\",\"ip\",\"port\","
    "\"tag\",\"protocol\"\n"
    "                                   and --evidence \"{tag} on "
    "{port}/{protocol}\"\n"
    "                                   or JSON lines: --format jsonl)\n"
    "  status [--campaign NAME] [--json]\n"
    "                                   counts of IPs and letters by state\n"
    "  targets [--campaign NAME] [--state STATE] [--format table|csv|json]"
    "\n"
    "  letters [--campaign NAME] [--state STATE] [--format table|csv|json]"
    "\n"
    "          [--render [--decode]]  the letters, or the letters "
    "themselves\n"
    "  letters check                    load every template\n"
    "  letter show ID [--raw | --decode]\n"
    "                                   one letter as the relay got it\n"
    "  bounces [--campaign NAME] [--format table|csv|json]\n"
    "  export NAME [--format csv|json]  the audit record, per (letter, IP)"
    "\n"
    "  observe NAME [--at TIME] FILE|-  a later scan: the campaign's IPs\n"
    "                                   listed are still flagged, the\n"
    "                                   others fixed (as of TIME, default\n"
    "                                   now; bad lines as in enqueue)\n"
    "  report NAME [--format text|json|html] [-o FILE]\n"
    "                                   the campaign's outcome: funnel,\n"
    "                                   bounces, remediation of notified\n"
    "                                   vs control (95 % interval)\n"
    "  retry [--campaign NAME] (--unresolved | --held) [IP...]\n"
    "                                   resolve again after an override or\n"
    "                                   'suppress del'\n"
    "  render --locale LOCALE [--campaign NAME] [--ips N]\n"
    "                                   a sample letter; sends nothing\n"
    "  preview IP [--campaign NAME] [--decode]\n"
    "                                   resolve and render; send nothing\n"
    "  build                            group resolved IPs into queued\n"
    "                                   letters now (ipwarnd sends them)\n"
    "  suppress add|del EMAIL [--reason TEXT]\n"
    "  suppress list                    addresses that get no letters\n"
    "                                   (their IPs go to the next contact)\n"
    "  contact set CIDR EMAIL           operator override, beats WHOIS\n"
    "  contact del CIDR\n"
    "  contact list\n"
    "  bounce [--dry-run] [--recipient ADDR] < MESSAGE\n"
    "                                   record a returned message (MTA pipe)"
    "\n"
    "\n"
    "options:\n"
    "  -c, --config FILE   configuration (default $IPWARN_CONF, else\n"
    "                      /etc/ipwarn/ipwarn.conf)\n"
    "  -h, --help          this text\n"
    "      --version       print the version\n"
    "\n"
    "exit: 0 ok, 64 usage, 65 bad input, 69 service unavailable,\n"
    "      75 temporary failure, 78 configuration error\n";

void
cli_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ipwarn: %s\n", msg);
}

int
cli_config(struct cli *c, unsigned sections)
{
	struct iw_err err;

	/* Loaded once; a later call only asks for more sections. */
	if ((c->cfg == NULL && iw_config_load(c->config_path, &c->cfg,
	    &err) < 0) || iw_config_require(c->cfg, sections, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_CONFIG;
	}
	return 0;
}

int
cli_db(struct cli *c, int check_schema)
{
	struct iw_err err;

	if (c->db != NULL)
		return 0;
	if (iw_db_connect(c->cfg->db_conninfo, &c->db, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	if (check_schema && iw_db_schema_check(c->db, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_CONFIG;
	}
	return 0;
}

const char *
cli_actor(void)
{
	static char who[160];
	struct passwd *pw = getpwuid(geteuid());
	const char *sudo = getenv("SUDO_USER");

	snprintf(who, sizeof(who), "%s", pw != NULL ? pw->pw_name : "?");
	if (sudo != NULL && *sudo != '\0' && strlen(sudo) < 64 &&
	    iw_utf8_valid(sudo, strlen(sudo)))
		snprintf(who + strlen(who), sizeof(who) - strlen(who),
		    " (sudo: %s)", sudo);
	if (pw == NULL)
		snprintf(who, sizeof(who), "uid %ld", (long)geteuid());
	return who;
}

int
cli_db_campaign(struct cli *c, const char *name, struct iw_campaign *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_db(c, 1)) != 0)
		return rc;
	return cli_campaign(c, name, out);
}

int
cli_campaign(struct cli *c, const char *name, struct iw_campaign *out)
{
	struct iw_err err;
	int r = iw_campaign_find(c->db, name, out, &err);

	if (r < 0) {
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	if (r == 0) {
		cli_error("no campaign %s (see 'ipwarn campaign list')", name);
		return EX_DATAERR;
	}
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct cli *, int, char **);
} commands[] = {
	{ "db", cmd_db },
	{ "enqueue", cmd_enqueue },
	{ "status", cmd_status },
	{ "preview", cmd_preview },
	{ "suppress", cmd_suppress },
	{ "contact", cmd_contact },
	{ "bounce", cmd_bounce },
	{ "build", cmd_build },
	{ "campaign", cmd_campaign },
	{ "targets", cmd_targets },
	{ "letters", cmd_letters },
	{ "letter", cmd_letter },
	{ "bounces", cmd_bounces },
	{ "export", cmd_export },
	{ "observe", cmd_observe },
	{ "report", cmd_report },
	{ "retry", cmd_retry },
	{ "render", cmd_render },
};

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c;
	size_t i;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	/* '+': options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c.config_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("ipwarn %s\n", IW_VERSION);
			return 0;
		default:
			fputs(usage_text, stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		cli_error("no command given (try 'ipwarn --help')");
		return EX_USAGE;
	}
	if (c.config_path == NULL)
		c.config_path = iw_config_default_path();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		argc -= optind;
		argv += optind;
		optind = 0;	/* full getopt re-init: commands permute */
		rc = commands[i].fn(&c, argc, argv);
		iw_db_close(c.db);
		iw_config_free(c.cfg);
		return rc;
	}
	cli_error("unknown command '%s' (try 'ipwarn --help')", argv[optind]);
	return EX_USAGE;
}
