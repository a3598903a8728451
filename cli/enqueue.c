/*
 * ipwarn db init / enqueue: create or upgrade the schema, and queue a file
 * of flagged IPs in one transaction (COPY), reporting each bad line as
 * "LINE: reason" and skipping it.  What a line means (CSV by position or
 * by header names, JSON lines, --evidence templates) is lib/feed.c's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "campaign.h"
#include "feed.h"
#include "input.h"
#include "lines.h"

int
cmd_db(struct cli *c, int argc, char **argv)
{
	struct iw_err err;
	int rc, from, to;

	if (argc != 2 || strcmp(argv[1], "init") != 0) {
		cli_error("usage: ipwarn db init");
		return EX_USAGE;
	}
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_db(c, 0)) != 0)
		return rc;
	if (iw_db_migrate(c->db, &from, &to, &err) < 0) {
		cli_error("%s", err.msg);
		return iw_db_broken(c->db) ? EX_UNAVAILABLE : EX_SOFTWARE;
	}
	if (from == to)
		printf("schema is up to date (version %d)\n", to);
	else
		printf("schema upgraded from version %d to %d\n", from, to);
	return 0;
}

/* What the command line asks of the input. */
struct enq_opts {
	const char *campaign;
	const char *path;
	const char *evidence;		/* --evidence template or NULL */
	enum iw_feed_format format;
};

/*
 * Read up to the first record, so that a command line the input does not
 * fit (an --evidence name its header lacks) fails before the database is
 * touched: 0, or an exit code after saying why.
 */
static int
enq_read_ahead(struct cli_in *in, const char *name)
{
	int r = cli_in_next(in);

	if (r < 0) {
		cli_error("%s: read error after line %ld: %s", name,
		    in->lineno, strerror(errno));
		return EX_DATAERR;
	}
	if (r == 1 && in->kind == IW_FEED_USAGE) {
		cli_error("%s: line %ld: %s", name, in->lineno, in->why.msg);
		return EX_USAGE;
	}
	in->held = r == 1;
	return 0;
}

/*
 * Everything from the input into the COPY, each bad line reported as
 * "LINE: reason" and counted.  -1 with err on a database or read failure.
 */
static int
feed(struct iw_db_enqueue *e, struct cli_in *in, long *records,
    long *invalid, struct iw_err *err)
{
	int r;

	while ((r = cli_in_next(in)) == 1) {
		(*records)++;
		if (in->kind == IW_FEED_RECORD) {
			if (iw_db_enqueue_add(e, &in->rec, in->lineno,
			    err) < 0)
				return -1;
			continue;
		}
		/* USAGE comes only with the first line (read ahead). */
		(*invalid)++;
		fprintf(stderr, "%ld: %s\n", in->lineno, in->why.msg);
	}
	if (r < 0) {
		iw_err_set(err, "read error after line %ld: %s", in->lineno,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
enq_usage(void)
{
	cli_error("usage: ipwarn enqueue [--campaign NAME] [--format "
	    "auto|csv|jsonl] [--evidence TEMPLATE] [FILE|-]");
	return EX_USAGE;
}

/* Options and operands; 0, or an exit code after saying why. */
static int
enq_args(int argc, char **argv, struct enq_opts *o, struct iw_feed **f)
{
	static const struct option opts[] = {
		{ "campaign", required_argument, NULL, 'n' },
		{ "evidence", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct iw_err err;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "n:e:f:", opts, NULL)) != -1) {
		if (ch == 'n')
			o->campaign = optarg;
		else if (ch == 'e')
			o->evidence = optarg;
		else if (ch != 'f' || iw_feed_format_parse(optarg,
		    &o->format) != 0)
			return enq_usage();
	}
	if (argc - optind > 1)
		return enq_usage();
	if (optind < argc)
		o->path = argv[optind];
	if (iw_campaign_name_ok(o->campaign, &err) < 0) {
		cli_error("--campaign: %s", err.msg);
		return EX_USAGE;
	}
	/* A malformed template is refused before anything is read. */
	if ((r = iw_feed_new(o->format, o->evidence, f, &err)) < 0) {
		cli_error("%s", err.msg);
		return r == -2 ? EX_OSERR : EX_USAGE;
	}
	return 0;
}

int
cmd_enqueue(struct cli *c, int argc, char **argv)
{
	struct enq_opts o = { IW_CAMPAIGN_DEFAULT, NULL, NULL, IW_FEED_AUTO };
	struct cli_in in;
	const char *name;
	struct iw_feed *f = NULL;
	struct iw_db_enqueue *e;
	struct iw_err err;
	long inserted, duplicate, invalid = 0, records = 0;
	FILE *fp = NULL;
	int rc, refused;

	memset(&in, 0, sizeof(in));
	if ((rc = enq_args(argc, argv, &o, &f)) != 0)
		return rc;
	in.f = f;
	name = o.path != NULL ? o.path : "stdin";
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_open_input(o.path, &fp)) != 0)
		goto out;
	if ((in.lr = iw_lines_new(fp, IW_LINES_MAX)) == NULL) {
		cli_error("out of memory");
		rc = EX_OSERR;
		goto out;
	}
	if ((rc = enq_read_ahead(&in, name)) != 0 || (rc = cli_db(c, 1)) != 0)
		goto out;
	if (strcmp(o.campaign, IW_CAMPAIGN_DEFAULT) == 0 &&
	    iw_campaign_ensure_default(c->db, cli_actor(), &err) < 0) {
		cli_error("%s", err.msg);
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if (iw_db_enqueue_begin(c->db, o.campaign, &e, &refused, &err) < 0) {
		cli_error("%s", err.msg);
		rc = refused ? EX_DATAERR : EX_UNAVAILABLE;
		goto out;
	}
	if (feed(e, &in, &records, &invalid, &err) < 0) {
		iw_db_enqueue_abort(e);
		cli_error("%s: %s", name, err.msg);
		rc = iw_db_broken(c->db) ? EX_UNAVAILABLE : EX_DATAERR;
		goto out;
	}
	if (iw_db_enqueue_commit(e, &inserted, &duplicate, &err) < 0) {
		cli_error("%s", err.msg);
		rc = iw_db_broken(c->db) ? EX_UNAVAILABLE : EX_SOFTWARE;
		goto out;
	}
	printf("enqueued %ld, duplicate %ld, invalid %ld\n", inserted,
	    duplicate, invalid);
	/* A file of records none of which could be read is a wrong file
	 * (or a wrong format): say so in the exit code too. */
	rc = records > 0 && invalid == records ? EX_DATAERR : 0;
	if (rc != 0)
		cli_error("%s: none of the %ld records is valid", name,
		    records);
out:
	if (fp != NULL && fp != stdin)
		fclose(fp);
	iw_lines_free(in.lr);
	iw_feed_free(f);
	return rc;
}
