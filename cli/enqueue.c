/*
 * ipwarn db init / enqueue: create or upgrade the schema, and queue a file
 * of flagged IPs in one transaction (COPY), reporting each bad line as
 * "LINE: reason" and skipping it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "campaign.h"
#include "input.h"

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

static int
open_input(const char *path, FILE **fp)
{
	if (path == NULL || strcmp(path, "-") == 0) {
		*fp = stdin;
		return 0;
	}
	*fp = fopen(path, "r");
	if (*fp == NULL) {
		cli_error("%s: %s", path, strerror(errno));
		return EX_NOINPUT;
	}
	return 0;
}

/* The separator is taken from the first line that is neither blank nor
 * a comment (the header, or the first record). */
static int
skippable(const char *line, size_t len)
{
	const char *t = line;
	size_t n = len;

	iw_trim(&t, &n);
	return n == 0 || t[0] == '#';
}

static int
feed(struct iw_db_enqueue *e, FILE *fp, long *records, long *invalid,
    struct iw_err *err)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int first = 1, rc = 0;
	char sep = 0;

	while ((n = getline(&line, &cap, fp)) != -1) {
		struct iw_input_rec rec;
		struct iw_err why;
		size_t len = (size_t)n;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (sep == 0 && !skippable(line, len))
			sep = iw_input_separator(line, len);
		switch (iw_input_parse_line_sep(line, len, first, sep ? sep :
		    ',', &rec, &why)) {
		case IW_INPUT_RECORD:
			first = 0;
			(*records)++;
			if (iw_db_enqueue_add(e, &rec, lineno, err) < 0) {
				rc = -1;
				goto out;
			}
			break;
		case IW_INPUT_BAD:
			first = 0;
			(*records)++;
			(*invalid)++;
			fprintf(stderr, "%ld: %s\n", lineno, why.msg);
			break;
		case IW_INPUT_SKIP:
			break;
		}
	}
	if (ferror(fp)) {
		iw_err_set(err, "read error after line %ld: %s", lineno,
		    strerror(errno));
		rc = -1;
	}
out:
	free(line);
	return rc;
}

int
cmd_enqueue(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "campaign", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *campaign = IW_CAMPAIGN_DEFAULT, *path = NULL;
	struct iw_db_enqueue *e;
	struct iw_err err;
	long inserted, duplicate, invalid = 0, records = 0;
	FILE *fp;
	int ch, rc, refused;

	while ((ch = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		if (ch != 'n') {
			cli_error("usage: ipwarn enqueue [--campaign NAME] "
			    "[FILE|-]");
			return EX_USAGE;
		}
		campaign = optarg;
	}
	if (argc - optind > 1) {
		cli_error("usage: ipwarn enqueue [--campaign NAME] [FILE|-]");
		return EX_USAGE;
	}
	if (optind < argc)
		path = argv[optind];
	if (iw_campaign_name_ok(campaign, &err) < 0) {
		cli_error("--campaign: %s", err.msg);
		return EX_USAGE;
	}
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = open_input(path, &fp)) != 0)
		return rc;
	if ((rc = cli_db(c, 1)) != 0)
		goto out;
	if (strcmp(campaign, IW_CAMPAIGN_DEFAULT) == 0 &&
	    iw_campaign_ensure_default(c->db, cli_actor(), &err) < 0) {
		cli_error("%s", err.msg);
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if (iw_db_enqueue_begin(c->db, campaign, &e, &refused, &err) < 0) {
		cli_error("%s", err.msg);
		rc = refused ? EX_DATAERR : EX_UNAVAILABLE;
		goto out;
	}
	if (feed(e, fp, &records, &invalid, &err) < 0) {
		iw_db_enqueue_abort(e);
		cli_error("%s: %s", path != NULL ? path : "stdin", err.msg);
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
		cli_error("%s: none of the %ld records is valid",
		    path != NULL ? path : "stdin", records);
out:
	if (fp != stdin)
		fclose(fp);
	return rc;
}
