/*
 * ipwarn preview IP: resolve one IP exactly as the daemon would (override,
 * WHOIS chain, GeoIP, locale) and print where the contact came from and the
 * letter it would get, as an mbox entry (--decode: as text), with a
 * campaign's templates and values (--campaign).  Nothing is sent.  The
 * database is used for overrides only when the configuration has one.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "compose.h"
#include "contact.h"
#include "input.h"
#include "letter.h"

static int
render(struct cli *c, const char *campaign, const char *ip,
    const struct iw_contact *ct, int decode)
{
	struct iw_letter_item item = { ip, "", "" };
	struct iw_compose_in in;
	struct iw_composed out;
	struct cli_letters L;
	int rc;

	if ((rc = cli_letters_open(c, campaign, &L)) != 0)
		goto out;
	memset(&in, 0, sizeof(in));
	in.letter_id = 0;
	in.email = ct->email;
	in.locale = ct->locale;
	in.message_id = "<preview@ipwarn.invalid>";
	in.ctx.ref = "preview-000000";
	in.items = &item;
	in.nitems = 1;
	in.date = time(NULL);
	if ((rc = cli_compose(c, &L, &in, &out)) == 0) {
		rc = cli_show_message(&out, decode);
		iw_composed_free(&out);
	}
out:
	cli_letters_close(&L);
	return rc;
}

int
cmd_preview(struct cli *c, int argc, char **argv)
{
	struct iw_geoip *geo = NULL;
	struct iw_contact_ctx ctx;
	struct iw_contact ct;
	static const struct option opts[] = {
		{ "campaign", required_argument, NULL, 'n' },
		{ "decode", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "usage: ipwarn preview IP [--campaign NAME] "
	    "[--decode]";
	const char *campaign = NULL, *arg;
	struct iw_err err;
	char ip[48];
	int rc, ch, decode = 0;

	while ((ch = getopt_long(argc, argv, "n:d", opts, NULL)) != -1) {
		if (ch == 'n')
			campaign = optarg;
		else if (ch == 'd')
			decode = 1;
		else {
			cli_error("%s", usage);
			return EX_USAGE;
		}
	}
	if (argc - optind != 1) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	arg = argv[optind];
	if (iw_input_canon_ip(arg, strlen(arg), ip, sizeof(ip)) < 0) {
		cli_error("%s: not an IP address", arg);
		return EX_DATAERR;
	}
	if (iw_input_check_target(ip, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_DATAERR;
	}
	if ((rc = cli_config(c, IW_CONF_WHOIS | IW_CONF_LETTERS |
	    IW_CONF_SENDER | IW_CONF_GEOIP)) != 0)
		return rc;
	if ((c->cfg->sections & IW_CONF_DATABASE) &&
	    (rc = cli_db(c, 1)) != 0)
		return rc;
	if (campaign != NULL && c->db == NULL) {
		cli_error("preview --campaign needs the database section");
		return EX_CONFIG;
	}
	if (iw_geoip_open(c->cfg->geoip_database, &geo, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_CONFIG;
	}
	iw_contact_init(&ctx, c->cfg, geo);
	/* A preview reads the cache but never teaches it anything. */
	ctx.cache_read_only = 1;
	if (iw_contact_resolve(&ctx, c->db, ip, &ct, &err) < 0) {
		cli_error("%s", err.msg);
		iw_geoip_close(geo);
		return EX_UNAVAILABLE;
	}
	printf("ip:       %s\ncountry:  %s\nlocale:   %s\nchain:    %s\n"
	    "server:   %s\nnetwork:  %s\nrange:    %s\ncache:    %s%s%s\n",
	    ip, ct.country[0] != '\0' ? ct.country : "(unknown)", ct.locale,
	    ct.chain, ct.server, ct.network,
	    ct.range[0] != '\0' ? ct.range : "-",
	    ct.cached ? "hit (registry answer of " : "miss",
	    ct.cached ? ct.fetched : "", ct.cached ? ")" : "");
	if (ct.status == IW_CONTACT_OK) {
		printf("contact:  %s\nsource:   %s\n\n", ct.email, ct.source);
		fflush(stdout);
		rc = render(c, campaign, ip, &ct, decode);
	} else if (ct.status == IW_CONTACT_HELD) {
		printf("contact:  none (held: %s)\nsource:   %s\nreason:   "
		    "%s\n", ct.email, ct.source, ct.reason);
		cli_error("%s: held: %s", ip, ct.reason);
		rc = EX_DATAERR;
	} else {
		printf("contact:  none\nreason:   %s\n", ct.reason);
		cli_error("%s: %s: %s", ip, ct.status == IW_CONTACT_LATER ?
		    "no answer yet" : "no abuse contact", ct.reason);
		rc = ct.status == IW_CONTACT_LATER ? EX_TEMPFAIL : EX_DATAERR;
	}
	iw_contact_free(&ct);
	iw_geoip_close(geo);
	return rc;
}
