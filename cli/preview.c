/*
 * ipwarn preview IP: resolve one IP exactly as the daemon would (override,
 * WHOIS chain, GeoIP, locale) and print where the contact came from and the
 * letter it would get, as an mbox entry.  Nothing is stored or sent.  The
 * database is used for overrides only when the configuration has one.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "compose.h"
#include "contact.h"
#include "input.h"
#include "letter.h"

static int
render(const struct iw_config *cfg, const char *ip,
    const struct iw_contact *ct)
{
	struct iw_letter_item item = { ip, "", "" };
	struct iw_compose_in in;
	struct iw_composed out;
	struct iw_letters *l;
	struct iw_buf mbox = IW_BUF_INIT;
	struct iw_err err;
	int rc = EX_CONFIG;

	if (iw_letters_load(cfg->letters_directory, &l, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_CONFIG;
	}
	memset(&in, 0, sizeof(in));
	in.letter_id = 0;
	in.email = ct->email;
	in.locale = ct->locale;
	in.message_id = "<preview@ipwarn.invalid>";
	in.items = &item;
	in.nitems = 1;
	in.date = time(NULL);
	if (iw_compose(cfg, l, &in, &out, &err) < 0) {
		cli_error("%s", err.msg);
		goto out;
	}
	if (iw_compose_mbox(&out, &mbox) < 0) {
		cli_error("out of memory");
		rc = EX_OSERR;
	} else {
		fwrite(mbox.data, 1, mbox.len, stdout);
		rc = 0;
	}
	iw_composed_free(&out);
	iw_buf_free(&mbox);
out:
	iw_letters_free(l);
	return rc;
}

int
cmd_preview(struct cli *c, int argc, char **argv)
{
	struct iw_geoip *geo = NULL;
	struct iw_contact_ctx ctx;
	struct iw_contact ct;
	struct iw_err err;
	char ip[48];
	int rc;

	if (argc != 2) {
		cli_error("usage: ipwarn preview IP");
		return EX_USAGE;
	}
	if (iw_input_canon_ip(argv[1], strlen(argv[1]), ip, sizeof(ip)) < 0) {
		cli_error("%s: not an IP address", argv[1]);
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
	if (iw_geoip_open(c->cfg->geoip_database, &geo, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_CONFIG;
	}
	iw_contact_init(&ctx, c->cfg, geo);
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
		rc = render(c->cfg, ip, &ct);
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
