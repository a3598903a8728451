/*
 * ipwarn observe NAME [--at TIME] FILE: record a later scan of a campaign.
 * The file is read as enqueue reads it (only the IP of each record is
 * used); the campaign's IPs it lists are still flagged at TIME, the others
 * are fixed.  Bad lines are reported as FILE:LINE: reason and skipped.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "outcome.h"

struct obs_read {
	struct iw_buf ips;		/* PostgreSQL array literal */
	long records, invalid;
};

/* Every record's IP into r->ips; 0, or an exit code after saying why. */
static int
read_ips(struct cli_in *in, const char *name, struct obs_read *r)
{
	int rc;

	while ((rc = cli_in_next(in)) == 1) {
		r->records++;
		if (in->kind != IW_FEED_RECORD) {
			r->invalid++;
			fprintf(stderr, "%s:%ld: %s\n", name, in->lineno,
			    in->why.msg);
			continue;
		}
		if (iw_buf_putc(&r->ips, r->ips.len == 0 ? '{' : ',') < 0 ||
		    iw_buf_puts(&r->ips, in->rec.ip) < 0) {
			cli_error("out of memory");
			return EX_OSERR;
		}
	}
	if (rc < 0) {
		cli_error("%s: read error after line %ld", name, in->lineno);
		return EX_IOERR;
	}
	if (r->records == r->invalid) {
		if (r->records == 0)
			cli_error("%s: no IP in the file; nothing recorded",
			    name);
		else
			cli_error("%s: none of its %ld records is valid; "
			    "nothing recorded", name, r->records);
		return EX_DATAERR;
	}
	if (iw_buf_putc(&r->ips, '}') < 0) {
		cli_error("out of memory");
		return EX_OSERR;
	}
	return 0;
}

static int
obs_usage(void)
{
	cli_error("usage: ipwarn observe NAME [--at TIME] FILE|-");
	return EX_USAGE;
}

static int
record(struct cli *c, const struct iw_campaign *k, const char *at,
    const char *name, struct obs_read *r)
{
	const char *camp_name = k->name;
	enum iw_outcome_result res;
	struct iw_outcome_round o;
	struct iw_err err;

	if (iw_outcome_observe(c->db, k->id, at, r->ips.data, name,
	    cli_actor(), &res, &o, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	if (res == IW_OUTCOME_FUTURE) {
		cli_error("--at %s lies in the future; nothing recorded", at);
		return EX_DATAERR;
	}
	if (res == IW_OUTCOME_NONE_OURS) {
		cli_error("%s: none of its %ld IPs is an IP of campaign %s; "
		    "nothing recorded", name, o.listed, camp_name);
		return EX_DATAERR;
	}
	printf("observed %s at %s: still flagged %ld, fixed %ld (%ld for the "
	    "first time), relapsed %ld; not of the campaign %ld, invalid "
	    "%ld\n", camp_name, o.at, o.flagged, o.fixed, o.newly_fixed,
	    o.relapsed, o.foreign, r->invalid);
	return 0;
}

int
cmd_observe(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct obs_read r = { IW_BUF_INIT, 0, 0 };
	struct cli_in in;
	struct iw_feed *f = NULL;
	struct iw_campaign k;
	struct iw_err err;
	char at[40];
	const char *at_arg = NULL, *name;
	FILE *fp = NULL;
	int ch, rc;

	memset(&in, 0, sizeof(in));
	while ((ch = getopt_long(argc, argv, "a:", opts, NULL)) != -1) {
		if (ch != 'a')
			return obs_usage();
		if (iw_input_parse_time(optarg, strlen(optarg), at,
		    sizeof(at), &err) < 0) {
			cli_error("--at %s: %s", optarg, err.msg);
			return EX_USAGE;
		}
		at_arg = at;
	}
	if (argc - optind != 2)
		return obs_usage();
	name = strcmp(argv[optind + 1], "-") == 0 ? "stdin" :
	    argv[optind + 1];
	if ((rc = cli_db_campaign(c, argv[optind], &k)) != 0 ||
	    (rc = cli_open_input(argv[optind + 1], &fp)) != 0)
		goto out;
	if (iw_feed_new(IW_FEED_AUTO, NULL, &f, &err) < 0 ||
	    (in.lr = iw_lines_new(fp, IW_LINES_MAX)) == NULL) {
		cli_error("out of memory");
		rc = EX_OSERR;
		goto out;
	}
	in.f = f;
	if ((rc = read_ips(&in, name, &r)) == 0)
		rc = record(c, &k, at_arg, name, &r);
out:
	if (fp != NULL && fp != stdin)
		fclose(fp);
	iw_lines_free(in.lr);
	iw_feed_free(f);
	iw_buf_free(&r.ips);
	iw_campaign_clear(&k);
	return rc;
}
