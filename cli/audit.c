/*
 * ipwarn targets / letters / letter show / bounces / export: looking at
 * the work and proving it.  Each listing is lib/audit's rows printed by
 * view.c as a table, CSV or JSON; `letter show` prints one letter's record
 * and the exact message the relay was given.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "campaign.h"
#include "cli.h"
#include "mime_decode.h"

struct listing_args {
	const char *campaign;
	const char *state;
	enum cli_format fmt;
	int render, decode;
};

/* --campaign NAME --state STATE --format F [--render [--decode]] */
static int
listing_args(int argc, char **argv, const char *usage, int renders,
    struct listing_args *a)
{
	static const struct option opts[] = {
		{ "campaign", required_argument, NULL, 'n' },
		{ "state", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "render", no_argument, NULL, 'r' },
		{ "decode", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc;

	memset(a, 0, sizeof(*a));
	a->fmt = CLI_TABLE;
	while ((ch = getopt_long(argc, argv, "n:s:f:rd", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': a->campaign = optarg; break;
		case 's': a->state = optarg; break;
		case 'f':
			if ((rc = cli_format_parse(optarg, &a->fmt,
			    CLI_FMT_ALL)) != 0)
				return rc;
			break;
		case 'r': a->render = 1; break;
		case 'd': a->decode = 1; break;
		default:
			cli_error("%s", usage);
			return EX_USAGE;
		}
	}
	if (optind != argc || (!renders && (a->render || a->decode)) ||
	    (a->decode && !a->render)) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	return 0;
}

/* Config, database, the campaign named (if any) and a known state. */
static int
listing_open(struct cli *c, const struct listing_args *a,
    const char *const *states, struct iw_audit_filter *f)
{
	struct iw_campaign k;
	int rc;

	memset(f, 0, sizeof(*f));
	if (a->state != NULL && states != NULL &&
	    !iw_audit_state_ok(states, a->state)) {
		cli_error("--state %s: not a state (see ipwarn(1))", a->state);
		return EX_USAGE;
	}
	f->state = a->state;
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_db(c, 1)) != 0)
		return rc;
	if (a->campaign != NULL) {
		if ((rc = cli_campaign(c, a->campaign, &k)) != 0)
			return rc;
		f->campaign_id = k.id;
		iw_campaign_clear(&k);
	}
	return 0;
}

typedef long (*listing_fn)(struct iw_db *, const struct iw_audit_filter *,
    iw_db_named_row_fn, void *, struct iw_err *);

static int
print_listing(struct cli *c, listing_fn fn, const struct iw_audit_filter *f,
    enum cli_format fmt)
{
	struct cli_view v = CLI_VIEW_INIT(fmt);
	struct iw_err err;

	if (fn(c->db, f, cli_view_row, &v, &err) < 0) {
		cli_view_end(&v);
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	return cli_view_end(&v);
}

int
cmd_targets(struct cli *c, int argc, char **argv)
{
	struct listing_args a;
	struct iw_audit_filter f;
	int rc;

	if ((rc = listing_args(argc, argv, "usage: ipwarn targets "
	    "[--campaign NAME] [--state STATE] [--format table|csv|json]", 0,
	    &a)) != 0 || (rc = listing_open(c, &a, iw_audit_target_states,
	    &f)) != 0)
		return rc;
	return print_listing(c, iw_audit_targets, &f, a.fmt);
}

int
cmd_letters(struct cli *c, int argc, char **argv)
{
	struct listing_args a;
	struct iw_audit_filter f;
	int rc;

	if (argc == 2 && strcmp(argv[1], "check") == 0)
		return cli_letters_check(c);
	if ((rc = listing_args(argc, argv, "usage: ipwarn letters "
	    "[--campaign NAME] [--state STATE] [--format table|csv|json] "
	    "[--render [--decode]] | letters check", 1, &a)) != 0 ||
	    (rc = listing_open(c, &a, iw_audit_letter_states, &f)) != 0)
		return rc;
	if (a.render)
		return cli_render_letters(c, f.campaign_id, f.state, a.decode);
	return print_listing(c, iw_audit_letters, &f, a.fmt);
}

int
cmd_bounces(struct cli *c, int argc, char **argv)
{
	struct listing_args a;
	struct iw_audit_filter f;
	int rc;

	if ((rc = listing_args(argc, argv, "usage: ipwarn bounces "
	    "[--campaign NAME] [--format table|csv|json]", 0, &a)) != 0 ||
	    (rc = listing_open(c, &a, NULL, &f)) != 0)
		return rc;
	return print_listing(c, iw_audit_bounces, &f, a.fmt);
}

int
cmd_export(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "usage: ipwarn export NAME [--format csv|json]";
	struct cli_view v;
	struct iw_campaign k;
	enum cli_format fmt = CLI_CSV;
	struct iw_err err;
	int ch, rc;
	long n;

	while ((ch = getopt_long(argc, argv, "f:", opts, NULL)) != -1)
		if (ch != 'f' || (rc = cli_format_parse(optarg, &fmt,
		    CLI_FMT_DATA)) != 0) {
			if (ch != 'f')
				cli_error("%s", usage);
			return EX_USAGE;
		}
	if (argc - optind != 1) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	if ((rc = cli_db_campaign(c, argv[optind], &k)) != 0)
		return rc;
	v = (struct cli_view)CLI_VIEW_INIT(fmt);
	n = iw_audit_export(c->db, k.id, cli_view_row, &v, &err);
	iw_campaign_clear(&k);
	if (n < 0) {
		cli_view_end(&v);
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	return cli_view_end(&v);
}

/* --- letter show --- */

typedef long (*letter_part_fn)(struct iw_db *, int64_t, iw_db_named_row_fn,
    void *, struct iw_err *);

/* One row as "name  value" lines; counts rows in *arg. */
static void
record_row(void *arg, const struct iw_db_row *r)
{
	long *rows = arg;
	int i;

	if (r->values == NULL)
		return;
	(*rows)++;
	for (i = 0; i < r->ncols; i++)
		if (r->kinds[i] != '-') {
			printf("%-16s ", r->names[i]);
			cli_print_shown(r->values[i]);
			putchar('\n');
		}
}

static void
count_row(void *arg, const struct iw_db_row *r)
{
	if (r->values != NULL)
		(*(long *)arg)++;
}

static int
show_part(struct cli *c, const char *title, letter_part_fn fn, int64_t id,
    struct iw_err *err)
{
	struct cli_view v = CLI_VIEW_INIT(CLI_TABLE);

	printf("\n%s:\n", title);
	fflush(stdout);
	if (fn(c->db, id, cli_view_row, &v, err) < 0) {
		cli_view_end(&v);
		return -1;
	}
	if (v.rows == 0) {
		cli_view_end(&v);
		printf("  (none)\n");
		return 0;
	}
	return cli_view_end(&v) == 0 ? 0 : -1;
}

static int
show_message(const char *msg, size_t len, int decode)
{
	struct iw_buf out = IW_BUF_INIT;
	struct iw_err err;

	if (!decode) {
		fwrite(msg, 1, len, stdout);
		return 0;
	}
	if (iw_mime_decode_text(msg, len, &out, &err) < 0) {
		cli_error("%s", err.msg);
		iw_buf_free(&out);
		return EX_SOFTWARE;
	}
	fwrite(out.data, 1, out.len, stdout);
	iw_buf_free(&out);
	return 0;
}

int
cmd_letter(struct cli *c, int argc, char **argv)
{
	const char *usage = "usage: ipwarn letter show ID [--raw | --decode]";
	char rpath[320], *msg = NULL, *end;
	long rows = 0;
	struct iw_err err;
	int raw = 0, decode = 0, rc;
	int64_t id;
	size_t len;

	if ((argc != 3 && argc != 4) || strcmp(argv[1], "show") != 0 ||
	    (argc == 4 && !(raw = strcmp(argv[3], "--raw") == 0) &&
	    !(decode = strcmp(argv[3], "--decode") == 0))) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	id = strtoll(argv[2], &end, 10);
	if (*argv[2] == '\0' || *end != '\0' || id <= 0) {
		cli_error("%s: not a letter id (a number; see ipwarn letters)",
		    argv[2]);
		return EX_USAGE;
	}
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_db(c, 1)) != 0)
		return rc;
	if (iw_audit_letter_message(c->db, id, &msg, &len, rpath,
	    sizeof(rpath), &err) < 0) {
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	if (iw_audit_letter(c->db, id, raw ? count_row : record_row, &rows,
	    &err) < 0)
		goto dberr;
	if (rows > 0 && raw && msg == NULL) {
		cli_error("letter %" PRId64 " was never handed to the relay, "
		    "so there are no bytes to show; 'ipwarn letters --render' "
		    "shows what it would say", id);
		return EX_DATAERR;
	}
	if (rows > 0 && raw) {
		fwrite(msg, 1, len, stdout);
		free(msg);
		return 0;
	}
	if (rows == 0) {
		cli_error("no letter %" PRId64, id);
		free(msg);
		return EX_DATAERR;
	}
	if (show_part(c, "IPs", iw_audit_letter_ips, id, &err) < 0 ||
	    show_part(c, "attempts", iw_audit_letter_attempts, id,
	    &err) < 0 ||
	    show_part(c, "bounces", iw_audit_letter_bounces, id, &err) < 0)
		goto dberr;
	if (msg == NULL)
		printf("\nmessage: not handed to the relay yet\n");
	else {
		printf("\nmessage as given to the relay (MAIL FROM:<%s>)%s:"
		    "\n\n", rpath, decode ? ", decoded" : "");
		fflush(stdout);
		rc = show_message(msg, len, decode);
	}
	free(msg);
	return rc;
dberr:
	free(msg);
	cli_error("%s", err.msg);
	return EX_UNAVAILABLE;
}
