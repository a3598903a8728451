/*
 * ipwarn render / letters --render / letters check: letters as they will
 * read, without sending anything.  A campaign renders with its own
 * templates (--letters DIR) where they have the locale, else with
 * letters.directory's, and with its --var values; a letter already handed
 * to the relay is shown as stored, byte for byte.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign.h"
#include "cli.h"
#include "compose.h"
#include "letter.h"
#include "mime_decode.h"

int
cli_letters_open(struct cli *c, const char *campaign, struct cli_letters *L)
{
	struct iw_err err;
	int rc;

	memset(L, 0, sizeof(*L));
	if (iw_letters_load(c->cfg->letters_directory, &L->global, &err) < 0 ||
	    iw_compose_check_locales(c->cfg, L->global, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_CONFIG;
	}
	if (campaign == NULL)
		return 0;
	if ((rc = cli_campaign(c, campaign, &L->camp)) != 0)
		return rc;
	if (L->camp.letters_dir != NULL &&
	    iw_letters_load(L->camp.letters_dir, &L->own, &err) < 0) {
		cli_error("campaign %s: %s", campaign, err.msg);
		return EX_DATAERR;
	}
	return 0;
}

void
cli_letters_close(struct cli_letters *L)
{
	iw_letters_free(L->global);
	iw_letters_free(L->own);
	iw_campaign_clear(&L->camp);
	memset(L, 0, sizeof(*L));
}

int
cli_compose(struct cli *c, const struct cli_letters *L,
    struct iw_compose_in *in, struct iw_composed *out)
{
	struct iw_err err;

	in->ctx.campaign = L->camp.name[0] != '\0' ? L->camp.name : NULL;
	in->campaign_letters = L->own;
	in->ctx.var_keys = (const char *const *)L->camp.var_keys;
	in->ctx.var_values = (const char *const *)L->camp.var_values;
	in->ctx.nvars = L->camp.nvars;
	in->ctx.max_inline = (size_t)c->cfg->letters_max_inline_ips;
	if (iw_compose(c->cfg, L->global, in, out, &err) < 0) {
		cli_error("%s", err.msg);
		return EX_DATAERR;
	}
	return 0;
}

/* The message as text: mbox entry, or decoded for reading. */
int
cli_show_message(const struct iw_composed *m, int decode)
{
	struct iw_buf out = IW_BUF_INIT;
	struct iw_err err;
	int rc = 0;

	if (decode ? iw_mime_decode_text(m->data.data, m->data.len, &out,
	    &err) : iw_compose_mbox(m, &out)) {
		cli_error("%s", decode ? err.msg : "out of memory");
		rc = EX_SOFTWARE;
	} else
		fwrite(out.data, 1, out.len, stdout);
	iw_buf_free(&out);
	return rc;
}

/* --- render --locale --- */

static int
sample(struct cli *c, const struct cli_letters *L, const char *locale,
    long nips)
{
	struct iw_letter_item *items = iw_calloc((size_t)nips,
	    sizeof(*items));
	char (*ips)[48] = iw_calloc((size_t)nips, sizeof(*ips));
	char stamp[32], ref[80];
	struct iw_compose_in in;
	struct iw_composed out;
	time_t now = time(NULL);
	long i;
	int rc;

	if (items == NULL || ips == NULL) {
		free(items);
		free(ips);
		cli_error("out of memory");
		return EX_OSERR;
	}
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	/* Documentation ranges (RFC 5737): a sample names no real host. */
	for (i = 0; i < nips; i++) {
		snprintf(ips[i], sizeof(ips[i]), "%s.%ld", i < 250 ?
		    "192.0.2" : i < 500 ? "198.51.100" : "203.0.113",
		    i % 250 + 1);
		items[i].ip = ips[i];
		items[i].evidence = "open proxy on 3128/tcp (sample)";
		items[i].observed = stamp;
	}
	snprintf(ref, sizeof(ref), "sample-000000");
	memset(&in, 0, sizeof(in));
	in.email = "abuse@example.net";
	in.locale = locale;
	in.message_id = "<sample@ipwarn.invalid>";
	in.ctx.ref = ref;
	in.items = items;
	in.nitems = (size_t)nips;
	in.date = now;
	if ((rc = cli_compose(c, L, &in, &out)) == 0) {
		rc = cli_show_message(&out, 1);
		iw_composed_free(&out);
	}
	free(items);
	free(ips);
	return rc;
}

int
cmd_render(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "locale", required_argument, NULL, 'l' },
		{ "campaign", required_argument, NULL, 'n' },
		{ "ips", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "usage: ipwarn render --locale LOCALE "
	    "[--campaign NAME] [--ips N]";
	const char *locale = NULL, *campaign = NULL;
	struct cli_letters L;
	long nips = 1;
	char *end;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "l:n:i:", opts, NULL)) != -1) {
		if (ch == 'l')
			locale = optarg;
		else if (ch == 'n')
			campaign = optarg;
		else if (ch == 'i') {
			nips = strtol(optarg, &end, 10);
			if (*end != '\0' || nips < 1 || nips > 10000) {
				cli_error("--ips %s: a number from 1 to 10000",
				    optarg);
				return EX_USAGE;
			}
		} else {
			cli_error("%s", usage);
			return EX_USAGE;
		}
	}
	if (locale == NULL || optind != argc) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	if ((rc = cli_config(c, IW_CONF_LETTERS | IW_CONF_SENDER |
	    (campaign != NULL ? IW_CONF_DATABASE : 0))) != 0 ||
	    (campaign != NULL && (rc = cli_db(c, 1)) != 0))
		return rc;
	if ((rc = cli_letters_open(c, campaign, &L)) == 0) {
		if (!iw_letters_has(L.global, locale) &&
		    !iw_letters_has(L.own, locale)) {
			cli_error("--locale %s: no template for it in %s%s%s",
			    locale, L.own != NULL ? L.camp.letters_dir : "",
			    L.own != NULL ? " or " : "",
			    c->cfg->letters_directory);
			rc = EX_DATAERR;
		} else
			rc = sample(c, &L, locale, nips);
	}
	cli_letters_close(&L);
	return rc;
}

/* --- letters --render --- */

static int
render_one(struct cli *c, const struct iw_db_letter *l,
    const struct iw_db_item *rows, size_t nrows, int decode)
{
	struct iw_letter_item *items = NULL;
	struct cli_letters L;
	struct iw_compose_in in;
	struct iw_composed out;
	int rc;

	memset(&out, 0, sizeof(out));
	printf("%s=== letter %" PRId64 " (%s) to %s, %s ===\n",
	    decode ? "" : "", l->id, l->ref, l->email, l->message != NULL ?
	    "as stored and sent" : "rendered now, not sent yet");
	if (l->message != NULL) {
		iw_strlcpy(out.reverse_path, l->reverse_path,
		    sizeof(out.reverse_path));
		if (iw_buf_append(&out.data, l->message, l->message_len) < 0) {
			cli_error("out of memory");
			return EX_OSERR;
		}
		rc = cli_show_message(&out, decode);
		iw_composed_free(&out);
		return rc;
	}
	if ((rc = cli_letters_open(c, l->campaign, &L)) != 0)
		goto out;
	memset(&in, 0, sizeof(in));
	if (iw_compose_letter_in(l, rows, nrows, &in, &items) < 0) {
		cli_error("out of memory");
		rc = EX_OSERR;
		goto out;
	}
	if ((rc = cli_compose(c, &L, &in, &out)) == 0) {
		rc = cli_show_message(&out, decode);
		iw_composed_free(&out);
	}
out:
	free(items);
	cli_letters_close(&L);
	return rc;
}

int
cli_render_letters(struct cli *c, int64_t campaign_id, const char *state,
    int decode)
{
	struct iw_db_letter l[32];
	struct iw_db_item *rows = NULL;
	struct iw_err err;
	int64_t after = 0;
	size_t nrows = 0;
	int i, n, rc = 0;

	if ((rc = cli_config(c, IW_CONF_DATABASE | IW_CONF_LETTERS |
	    IW_CONF_SENDER)) != 0)
		return rc;
	do {
		int64_t ids[32];

		if (iw_db_list_letters(c->db, campaign_id, state, after, 32, l,
		    &n, &err) < 0)
			goto dberr;
		for (i = 0; i < n; i++)
			ids[i] = l[i].id;
		if (iw_db_letters_items(c->db, ids, (size_t)n, &rows, &nrows,
		    &err) < 0) {
			iw_db_letters_clear(l, n);
			goto dberr;
		}
		for (i = 0; i < n && rc == 0; i++) {
			size_t k = 0, cnt = 0;

			while (k < nrows && rows[k].letter_id != l[i].id)
				k++;
			while (k + cnt < nrows &&
			    rows[k + cnt].letter_id == l[i].id)
				cnt++;
			after = l[i].id;
			rc = render_one(c, &l[i], rows + k, cnt, decode);
			putchar('\n');
		}
		iw_db_items_free(rows, nrows);
		iw_db_letters_clear(l, n);
	} while (n > 0 && rc == 0);
	return rc;
dberr:
	cli_error("%s", err.msg);
	return EX_UNAVAILABLE;
}

/* --- letters check --- */

/* Load dir (and, for letters.directory, check every mapped locale); the
 * set in *out when it loads.  0 ok, 1 a problem (printed). */
static int
check_dir(const char *what, const char *dir, const struct iw_config *cfg,
    struct iw_letters **out)
{
	struct iw_err err;

	*out = NULL;
	if (iw_letters_load(dir, out, &err) < 0 ||
	    (cfg != NULL && iw_compose_check_locales(cfg, *out, &err) < 0)) {
		printf("%s\n", err.msg);
		return 1;
	}
	printf("%s: %s: templates load\n", what, dir);
	return 0;
}

/* Every {var.KEY} a campaign's templates (its own, and letters.directory's)
 * use has a value in the campaign. */
static int
check_campaign(const struct iw_campaign *k, const struct iw_letters *global)
{
	const char *const *keys = (const char *const *)k->var_keys;
	struct iw_letters *own = NULL;
	struct iw_err err;
	char what[160];
	int bad = 0;

	snprintf(what, sizeof(what), "campaign %s", k->name);
	if (k->letters_dir != NULL && (bad = check_dir(what, k->letters_dir,
	    NULL, &own)) == 0 && iw_letters_check_vars(own, keys, k->nvars,
	    &err) < 0) {
		printf("%s: %s\n", what, err.msg);
		bad = 1;
	}
	if (global != NULL && iw_letters_check_vars(global, keys, k->nvars,
	    &err) < 0) {
		printf("%s: %s\n", what, err.msg);
		bad = 1;
	}
	iw_letters_free(own);
	return bad;
}

struct check_state {
	char **names;
	size_t n;
	int oom;
};

static void
collect_name(void *arg, const struct iw_db_row *r)
{
	struct check_state *s = arg;
	char **v;

	if (r->values == NULL || s->oom)
		return;
	v = realloc(s->names, (s->n + 1) * sizeof(*v));
	if (v == NULL || (v[s->n] = iw_strdup(r->values[0])) == NULL) {
		s->names = v != NULL ? v : s->names;
		s->oom = 1;
		return;
	}
	s->names = v;
	s->n++;
}

/* Each campaign's templates and values, when there is a database. */
static int
check_campaigns(struct cli *c, const struct iw_letters *global, int *bad)
{
	struct check_state s = { NULL, 0, 0 };
	struct iw_err err;
	size_t i;
	int rc;

	if (!(c->cfg->sections & IW_CONF_DATABASE))
		return 0;
	if ((rc = cli_db(c, 1)) != 0)
		return rc;
	if (iw_campaign_list(c->db, collect_name, &s, &err) < 0) {
		cli_error("%s", err.msg);
		rc = EX_UNAVAILABLE;
	} else if (s.oom) {
		cli_error("out of memory");
		rc = EX_OSERR;
	}
	for (i = 0; i < s.n && rc == 0; i++) {
		struct iw_campaign k;

		if ((rc = cli_campaign(c, s.names[i], &k)) != 0)
			break;
		*bad |= check_campaign(&k, global);
		iw_campaign_clear(&k);
	}
	for (i = 0; i < s.n; i++)
		free(s.names[i]);
	free(s.names);
	return rc;
}

int
cli_letters_check(struct cli *c)
{
	struct iw_letters *global = NULL;
	int rc, bad;

	if ((rc = cli_config(c, IW_CONF_LETTERS)) != 0)
		return rc;
	bad = check_dir("letters.directory", c->cfg->letters_directory,
	    c->cfg, &global);
	rc = check_campaigns(c, global, &bad);
	iw_letters_free(global);
	if (rc != 0)
		return rc;
	return bad ? EX_CONFIG : 0;
}
