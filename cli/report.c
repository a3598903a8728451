/*
 * ipwarn report NAME [--format text|json|html] [-o FILE]: the campaign's
 * outcome (lib/report.h), to stdout or to FILE (written whole, then
 * renamed into place, so a reader never sees half a page).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

static int
write_file(const char *path, const struct iw_buf *b)
{
	char tmp[4096];
	FILE *fp;
	int ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		cli_error("-o %s: path too long", path);
		return EX_USAGE;
	}
	if ((fp = fopen(tmp, "w")) == NULL) {
		cli_error("-o %s: %s", tmp, strerror(errno));
		return EX_CANTCREAT;
	}
	ok = fwrite(b->data, 1, b->len, fp) == b->len;
	ok = (fclose(fp) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		cli_error("-o %s: %s", path, strerror(errno));
		unlink(tmp);
		return EX_IOERR;
	}
	return 0;
}

int
cmd_report(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "usage: ipwarn report NAME [--format "
	    "text|json|html] [-o FILE]";
	const char *fmt = "text", *out = NULL;
	struct iw_buf b = IW_BUF_INIT;
	struct iw_campaign k;
	struct iw_report r;
	struct iw_err err;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "f:o:", opts, NULL)) != -1) {
		if (ch == 'f')
			fmt = optarg;
		else if (ch == 'o')
			out = optarg;
		else {
			cli_error("%s", usage);
			return EX_USAGE;
		}
	}
	if (argc - optind != 1 || (strcmp(fmt, "text") != 0 &&
	    strcmp(fmt, "json") != 0 && strcmp(fmt, "html") != 0)) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	if ((rc = cli_db_campaign(c, argv[optind], &k)) != 0)
		return rc;
	rc = iw_report_load(c->db, k.id, &r, &err);
	iw_campaign_clear(&k);
	if (rc < 0) {
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	rc = fmt[0] == 'j' ? iw_report_json(&r, &b) : fmt[0] == 'h' ?
	    iw_report_html(&r, &b) : iw_report_text(&r, &b);
	iw_report_free(&r);
	if (rc < 0) {
		iw_buf_free(&b);
		cli_error("out of memory");
		return EX_OSERR;
	}
	if (out != NULL)
		rc = write_file(out, &b);
	else if (fmt[0] == 't') {
		/* Names and reasons came from outside: no control
		 * characters reach the terminal. */
		cli_print_lines(b.data);
		rc = 0;
	} else
		rc = fwrite(b.data, 1, b.len, stdout) == b.len ? 0 : EX_IOERR;
	iw_buf_free(&b);
	return rc;
}
