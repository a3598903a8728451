/*
 * ipwarn campaign create|list|show|approve|pause|resume|cancel: the
 * operator's control of a campaign.  create checks what a campaign will
 * render with (its own templates, its --var values) before anything is
 * stored; the state changes are lib/campaign's, with who made them.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "campaign.h"
#include "cli.h"
#include "letter.h"
#include "progress.h"

#define MAX_VARS 64

struct create_args {
	struct iw_campaign_new n;
	char dir[PATH_MAX];
	char keys[MAX_VARS][IW_CAMPAIGN_VAR_KEY_MAX + 1];
	const char *kp[MAX_VARS];
	const char *vp[MAX_VARS];
};

static int
add_var(struct create_args *a, const char *arg)
{
	struct iw_err err;
	size_t i, n = a->n.nvars;

	if (n == MAX_VARS) {
		cli_error("--var: at most %d values", MAX_VARS);
		return EX_USAGE;
	}
	if (iw_campaign_var_parse(arg, a->keys[n], sizeof(a->keys[n]),
	    &a->vp[n], &err) < 0) {
		cli_error("%s", err.msg);
		return EX_USAGE;
	}
	for (i = 0; i < n; i++)
		if (strcmp(a->keys[i], a->keys[n]) == 0) {
			cli_error("--var %s: given twice", a->keys[n]);
			return EX_USAGE;
		}
	a->kp[n] = a->keys[n];
	a->n.nvars++;
	return 0;
}

/* The campaign's template directory, absolute (the daemon's working
 * directory is not the operator's). */
static int
letters_dir(struct create_args *a, const char *arg)
{
	struct stat st;

	if (realpath(arg, a->dir) == NULL) {
		cli_error("--letters %s: %s", arg, strerror(errno));
		return EX_DATAERR;
	}
	if (stat(a->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cli_error("--letters %s: not a directory", arg);
		return EX_DATAERR;
	}
	a->n.letters_dir = a->dir;
	return 0;
}

/* Every template the campaign can use loads, and every {var.KEY} they
 * use has a value: found now, not when the first letter is rendered. */
static int
check_templates(struct cli *c, const struct create_args *a)
{
	struct iw_letters *own = NULL, *global = NULL;
	struct iw_err err;
	int rc = EX_DATAERR;

	if (a->n.letters_dir != NULL &&
	    (iw_letters_load(a->n.letters_dir, &own, &err) < 0 ||
	    iw_letters_check_vars(own, a->kp, a->n.nvars, &err) < 0)) {
		cli_error("%s", err.msg);
		goto out;
	}
	if (iw_letters_load(c->cfg->letters_directory, &global, &err) < 0) {
		cli_error("%s", err.msg);
		rc = EX_CONFIG;
		goto out;
	}
	if (iw_letters_check_vars(global, a->kp, a->n.nvars, &err) < 0) {
		cli_error("%s", err.msg);
		goto out;
	}
	rc = 0;
out:
	iw_letters_free(own);
	iw_letters_free(global);
	return rc;
}

static int
create(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "letters", required_argument, NULL, 'l' },
		{ "var", required_argument, NULL, 'v' },
		{ "renotify", no_argument, NULL, 'r' },
		{ "holdout", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "usage: ipwarn campaign create NAME "
	    "[--letters DIR] [--var KEY=VALUE]... [--holdout PERCENT] "
	    "[--renotify]";
	struct create_args *a = iw_calloc(1, sizeof(*a));
	struct iw_err err;
	int ch, rc = EX_USAGE, exists;

	if (a == NULL) {
		cli_error("out of memory");
		return EX_OSERR;
	}
	while ((ch = getopt_long(argc, argv, "l:v:rH:", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': rc = letters_dir(a, optarg); break;
		case 'v': rc = add_var(a, optarg); break;
		case 'r': a->n.renotify = 1; rc = 0; break;
		case 'H':
			rc = 0;
			if (iw_campaign_holdout_parse(optarg,
			    &a->n.holdout_centi, &err) < 0) {
				cli_error("%s", err.msg);
				rc = EX_USAGE;
			}
			break;
		default:
			cli_error("%s", usage);
			rc = EX_USAGE;
			break;
		}
		if (rc != 0)
			goto out;
	}
	if (argc - optind != 1) {
		cli_error("%s", usage);
		rc = EX_USAGE;
		goto out;
	}
	a->n.name = argv[optind];
	a->n.var_keys = a->kp;
	a->n.var_values = a->vp;
	a->n.actor = cli_actor();
	if (iw_campaign_name_ok(a->n.name, &err) < 0) {
		cli_error("%s: %s", a->n.name, err.msg);
		rc = EX_DATAERR;
		goto out;
	}
	if ((rc = cli_config(c, IW_CONF_DATABASE | IW_CONF_LETTERS)) != 0 ||
	    (rc = check_templates(c, a)) != 0 || (rc = cli_db(c, 1)) != 0)
		goto out;
	if (iw_campaign_create(c->db, &a->n, &exists, &err) < 0) {
		cli_error("%s", err.msg);
		rc = exists ? EX_DATAERR : EX_UNAVAILABLE;
		goto out;
	}
	if (a->n.holdout_centi > 0)
		printf("control group: %d.%02d %% of its contacts, drawn when "
		    "its letters are built, get no letter (state control)\n",
		    a->n.holdout_centi / 100, a->n.holdout_centi % 100);
	printf("campaign %s created (draft): enqueue its IPs, review them "
	    "(ipwarn status --campaign, targets, letters --render), then "
	    "ipwarn campaign approve %s\n", a->n.name, a->n.name);
	rc = 0;
out:
	free(a);
	return rc;
}

static int
list(struct cli *c, int argc, char **argv)
{
	enum cli_format f = CLI_TABLE;
	struct cli_view v;
	struct iw_err err;
	int rc;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		f = CLI_JSON;
	else if (argc != 1) {
		cli_error("usage: ipwarn campaign list [--json]");
		return EX_USAGE;
	}
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_db(c, 1)) != 0)
		return rc;
	v = (struct cli_view)CLI_VIEW_INIT(f);
	if (iw_campaign_list(c->db, cli_view_row, &v, &err) < 0) {
		cli_view_end(&v);
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	return cli_view_end(&v);
}

/* The campaign's progress (lib/progress.h) as text or as JSON members;
 * -1 with err. */
static int
progress_of(struct cli *c, const struct iw_campaign *k, int json,
    struct iw_buf *b, struct iw_err *err)
{
	struct iw_buf thr = IW_BUF_INIT;
	struct iw_progress *p = NULL;
	size_t n;
	int bad = 0;

	if (iw_progress_load(c->db, k->id, 0, &p, &n, err) < 0 ||
	    iw_progress_throttled(c->db, &thr, err) < 0) {
		free(p);
		iw_buf_free(&thr);
		return -1;
	}
	if (n == 1 && json) {
		const char *s = thr.len > 0 ? thr.data : NULL, *e;

		bad |= iw_buf_puts(b, ", \"progress\": {");
		bad |= iw_progress_json(&p[0], b);
		bad |= iw_buf_puts(b, ", \"throttled_servers\": [");
		for (; s != NULL; s = e != NULL ? e + 2 : NULL) {
			char one[256];

			e = strstr(s, ", ");
			iw_strlcpy_n(one, sizeof(one), s, e != NULL ?
			    (size_t)(e - s) : strlen(s));
			bad |= iw_buf_puts(b, s != thr.data ? ", " : "");
			bad |= iw_json_str(b, one);
		}
		bad |= iw_buf_puts(b, "]}");
	} else if (n == 1) {
		bad |= iw_buf_puts(b, "progress   ");
		bad |= iw_progress_text(&p[0], b);
		bad |= iw_buf_printf(b, "\n           throttled WHOIS servers: "
		    "%s\n", thr.len > 0 ? thr.data : "none");
	}
	free(p);
	iw_buf_free(&thr);
	if (bad < 0) {
		iw_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

/* JSON of the settings, the counts and the recorded changes. */
static int
show_json(struct cli *c, const struct iw_campaign *k,
    const struct iw_db_status *st, struct iw_buf *b, struct iw_err *err)
{
	struct cli_view ev = CLI_VIEW_INIT(CLI_JSON);
	size_t i;
	int bad = 0;

	bad |= iw_buf_puts(b, "{\"name\": ");
	bad |= iw_json_str(b, k->name);
	bad |= iw_buf_puts(b, ", \"state\": ");
	bad |= iw_json_str(b, k->state);
	bad |= iw_buf_printf(b, ", \"created_at\": \"%s\", \"state_at\": "
	    "\"%s\", \"renotify\": %s, \"holdout\": %d.%02d, "
	    "\"letters_dir\": ", k->created_at, k->state_at,
	    k->renotify ? "true" : "false", k->holdout_centi / 100,
	    k->holdout_centi % 100);
	bad |= k->letters_dir != NULL ? iw_json_str(b, k->letters_dir) :
	    iw_buf_puts(b, "null");
	bad |= iw_buf_puts(b, ", \"vars\": {");
	for (i = 0; i < k->nvars; i++) {
		bad |= iw_buf_puts(b, i > 0 ? ", " : "");
		bad |= iw_json_str(b, k->var_keys[i]);
		bad |= iw_buf_puts(b, ": ");
		bad |= iw_json_str(b, k->var_values[i]);
	}
	bad |= iw_buf_puts(b, "}, ");
	bad |= cli_status_json(b, st);
	if (bad < 0)
		return -1;
	if (progress_of(c, k, 1, b, err) < 0)
		return -2;
	bad |= iw_buf_puts(b, ", \"events\": ");
	if (bad < 0)
		return -1;
	fwrite(b->data, 1, b->len, stdout);
	fflush(stdout);
	if (iw_campaign_events(c->db, k->id, cli_view_row, &ev, err) < 0) {
		cli_view_end(&ev);
		return -2;
	}
	cli_view_end(&ev);
	fputs("}\n", stdout);
	return 0;
}

static void
show_text(struct cli *c, const struct iw_campaign *k,
    const struct iw_db_status *st)
{
	struct cli_view ev = CLI_VIEW_INIT(CLI_TABLE);
	struct iw_buf pb = IW_BUF_INIT;
	struct iw_err err;
	size_t i;

	printf("campaign   %s\nstate      %s (since %s)\ncreated    %s\n"
	    "letters    %s\nrenotify   %s\n", k->name, k->state, k->state_at,
	    k->created_at, k->letters_dir != NULL ? k->letters_dir :
	    "letters.directory", k->renotify ? "yes (--renotify)" :
	    "no (letters.renotify_after applies)");
	if (k->holdout_centi > 0)
		printf("holdout    %d.%02d %% of contacts (control group, no "
		    "letter)\n", k->holdout_centi / 100, k->holdout_centi % 100);
	else
		printf("holdout    none (every contact gets its letter)\n");
	for (i = 0; i < k->nvars; i++)
		printf("var        %s=%s\n", k->var_keys[i], k->var_values[i]);
	putchar('\n');
	cli_status_table(st);
	if (progress_of(c, k, 0, &pb, &err) < 0)
		cli_error("%s", err.msg);
	else if (pb.len > 0) {
		putchar('\n');
		cli_print_lines(pb.data);
	}
	iw_buf_free(&pb);
	printf("\nrecord:\n");
	if (iw_campaign_events(c->db, k->id, cli_view_row, &ev, &err) < 0)
		cli_error("%s", err.msg);
	cli_view_end(&ev);
}

static int
show(struct cli *c, int argc, char **argv)
{
	struct iw_campaign k;
	struct iw_db_status st;
	struct iw_buf b = IW_BUF_INIT;
	struct iw_err err;
	int rc, json = 0, r;

	if (argc == 3 && strcmp(argv[2], "--json") == 0)
		json = 1;
	else if (argc == 3 && strcmp(argv[1], "--json") == 0) {
		json = 1;
		argv[1] = argv[2];
	} else if (argc != 2) {
		cli_error("usage: ipwarn campaign show NAME [--json]");
		return EX_USAGE;
	}
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_db(c, 1)) != 0 || (rc = cli_campaign(c, argv[1],
	    &k)) != 0)
		return rc;
	if (iw_db_status(c->db, k.id, &st, &err) < 0) {
		cli_error("%s", err.msg);
		iw_campaign_clear(&k);
		return EX_UNAVAILABLE;
	}
	if (!json)
		show_text(c, &k, &st);
	else if ((r = show_json(c, &k, &st, &b, &err)) < 0) {
		cli_error("%s", r == -1 ? "out of memory" : err.msg);
		rc = r == -1 ? EX_OSERR : EX_UNAVAILABLE;
	}
	iw_buf_free(&b);
	iw_campaign_clear(&k);
	return rc;
}

static int
act(struct cli *c, int argc, char **argv, enum iw_campaign_action action)
{
	static const char *const done[] = { "approved: its letters may be "
	    "sent from now on", "paused: nothing more of it is sent until "
	    "resume", "resumed: its letters may be sent again",
	    "cancelled" };
	enum iw_campaign_outcome out;
	struct iw_err err;
	long cancelled;
	int rc;

	if (argc != 2) {
		cli_error("usage: ipwarn campaign %s NAME", argv[0]);
		return EX_USAGE;
	}
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_db(c, 1)) != 0)
		return rc;
	if (iw_campaign_act(c->db, argv[1], action, cli_actor(), &out,
	    &cancelled, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	if (out == IW_CAMPAIGN_UNKNOWN || out == IW_CAMPAIGN_REFUSED) {
		cli_error("%s", err.msg);
		return EX_DATAERR;
	}
	printf("campaign %s %s%s", argv[1], out == IW_CAMPAIGN_ALREADY ?
	    "was already " : "", done[action]);
	if (action == IW_CAMPAIGN_CANCEL)
		printf("; %ld queued letters will never be sent", cancelled);
	putchar('\n');
	return 0;
}

int
cmd_campaign(struct cli *c, int argc, char **argv)
{
	static const struct {
		const char *verb;
		int action;		/* -1: not a state change */
	} verbs[] = {
		{ "create", -1 }, { "list", -1 }, { "show", -1 },
		{ "approve", IW_CAMPAIGN_APPROVE },
		{ "pause", IW_CAMPAIGN_PAUSE },
		{ "resume", IW_CAMPAIGN_RESUME },
		{ "cancel", IW_CAMPAIGN_CANCEL },
	};
	size_t i;

	for (i = 0; argc >= 2 && i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[1], verbs[i].verb) != 0)
			continue;
		argc--;
		argv++;
		optind = 0;
		if (verbs[i].action >= 0)
			return act(c, argc, argv,
			    (enum iw_campaign_action)verbs[i].action);
		return i == 0 ? create(c, argc, argv) : i == 1 ?
		    list(c, argc, argv) : show(c, argc, argv);
	}
	cli_error("usage: ipwarn campaign create|list|show|approve|pause|"
	    "resume|cancel NAME (see ipwarn(1))");
	return EX_USAGE;
}
