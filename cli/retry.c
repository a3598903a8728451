/*
 * ipwarn retry (--unresolved | --held) [--campaign NAME] [IP...]: the
 * operator's repair.  After a new contact override, unresolved IPs are
 * resolved again; after `suppress del` or `contact set`, IPs held for that
 * address go back to be resolved and lettered.  Prints "retried N".
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "cli.h"
#include "input.h"

int
cmd_retry(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "campaign", required_argument, NULL, 'n' },
		{ "unresolved", no_argument, NULL, 'u' },
		{ "held", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "usage: ipwarn retry [--campaign NAME] "
	    "(--unresolved | --held) [IP...]";
	const char *campaign = NULL;
	struct iw_campaign k;
	struct iw_err err;
	char (*ips)[48] = NULL;
	const char **ipp = NULL;
	int ch, kind = -1, rc, i, nips;
	long n;

	memset(&k, 0, sizeof(k));
	while ((ch = getopt_long(argc, argv, "n:uh", opts, NULL)) != -1) {
		if (ch == 'n')
			campaign = optarg;
		else if ((ch == 'u' || ch == 'h') && kind < 0)
			kind = ch == 'u' ? IW_DB_RETRY_UNRESOLVED :
			    IW_DB_RETRY_HELD;
		else {
			cli_error("%s", usage);
			return EX_USAGE;
		}
	}
	if (kind < 0) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	nips = argc - optind;
	ips = iw_calloc(nips > 0 ? (size_t)nips : 1, sizeof(*ips));
	ipp = iw_calloc(nips > 0 ? (size_t)nips : 1, sizeof(*ipp));
	if (ips == NULL || ipp == NULL) {
		rc = EX_OSERR;
		cli_error("out of memory");
		goto out;
	}
	for (i = 0; i < nips; i++) {
		const char *a = argv[optind + i];

		if (iw_input_canon_ip(a, strlen(a), ips[i], sizeof(ips[i])) <
		    0) {
			cli_error("%s: not an IP address", a);
			rc = EX_DATAERR;
			goto out;
		}
		ipp[i] = ips[i];
	}
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_db(c, 1)) != 0 ||
	    (campaign != NULL && (rc = cli_campaign(c, campaign, &k)) != 0))
		goto out;
	if (iw_db_retry(c->db, (enum iw_db_retry_kind)kind, k.id, ipp,
	    (size_t)nips, &n, &err) < 0) {
		cli_error("%s", err.msg);
		rc = EX_UNAVAILABLE;
		goto out;
	}
	printf("retried %ld\n", n);
	rc = 0;
out:
	iw_campaign_clear(&k);
	free(ips);
	free(ipp);
	return rc;
}
