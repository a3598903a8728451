/*
 * The daemon's view of campaigns for rendering: each campaign's name,
 * {var.KEY} values and its own templates (--letters DIR), loaded once per
 * configuration and shared by the sender threads.  A campaign's settings
 * never change after `campaign create`, so an entry stays valid until the
 * configuration is reloaded (SIGHUP), when the cache is emptied.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipwarnd.h"
#include "log.h"

struct iwd_campaign {
	struct iw_campaign c;
	struct iw_letters *letters;	/* NULL: letters.directory only */
	int broken;			/* its templates do not load */
	int64_t loaded_ms;
	char why[IW_ERR_MAX + 160];
};

/* A campaign whose templates did not load is read again after this long:
 * the operator may have mended them. */
#define IWD_BROKEN_RELOAD_MS 60000

void
iwd_campaigns_clear(struct iwd *d)
{
	size_t i;

	pthread_mutex_lock(&d->campaigns_lock);
	for (i = 0; i < d->ncampaigns; i++) {
		iw_campaign_clear(&d->campaigns[i]->c);
		iw_letters_free(d->campaigns[i]->letters);
		free(d->campaigns[i]);
	}
	free(d->campaigns);
	d->campaigns = NULL;
	d->ncampaigns = 0;
	pthread_mutex_unlock(&d->campaigns_lock);
}

/* The newest entry for id, unless it is broken and due for another look
 * (older entries stay until the cache is cleared: a thread may still be
 * rendering with them). */
static struct iwd_campaign *
lookup(struct iwd *d, int64_t id)
{
	size_t i;

	for (i = d->ncampaigns; i > 0; i--) {
		struct iwd_campaign *e = d->campaigns[i - 1];

		if (e->c.id != id)
			continue;
		if (e->broken && iw_now_ms() - e->loaded_ms >
		    IWD_BROKEN_RELOAD_MS)
			return NULL;
		return e;
	}
	return NULL;
}

/* Read campaign id and load its templates into a new entry. */
static struct iwd_campaign *
load(struct iw_db *db, int64_t id, struct iw_err *err)
{
	struct iwd_campaign *e = iw_calloc(1, sizeof(*e));
	struct iw_err lerr;
	int r;

	if (e == NULL) {
		iw_err_set(err, "out of memory");
		return NULL;
	}
	e->loaded_ms = iw_now_ms();
	r = iw_campaign_find_id(db, id, &e->c, err);
	if (r <= 0) {
		if (r == 0)
			iw_err_set(err, "campaign %" PRId64 " vanished", id);
		free(e);
		return NULL;
	}
	if (e->c.letters_dir != NULL &&
	    iw_letters_load(e->c.letters_dir, &e->letters, &lerr) < 0) {
		e->broken = 1;
		snprintf(e->why, sizeof(e->why), "campaign %s: %s", e->c.name,
		    lerr.msg);
		iw_log(IW_LOG_ERR, "%s; its letters wait", e->why);
	}
	return e;
}

const struct iwd_campaign *
iwd_campaign_get(struct iwd *d, struct iw_db *db, int64_t id,
    struct iw_err *err)
{
	struct iwd_campaign *e, *kept, **v;

	pthread_mutex_lock(&d->campaigns_lock);
	e = lookup(d, id);
	pthread_mutex_unlock(&d->campaigns_lock);
	if (e != NULL)
		return e;
	/* Loaded outside the lock (a database round trip and file reads);
	 * a second thread may do the same, and the first one kept wins. */
	if ((e = load(db, id, err)) == NULL)
		return NULL;
	pthread_mutex_lock(&d->campaigns_lock);
	kept = lookup(d, id);
	if (kept != NULL) {
		pthread_mutex_unlock(&d->campaigns_lock);
		iw_campaign_clear(&e->c);
		iw_letters_free(e->letters);
		free(e);
		return kept;
	}
	v = realloc(d->campaigns, (d->ncampaigns + 1) * sizeof(*v));
	if (v == NULL) {
		pthread_mutex_unlock(&d->campaigns_lock);
		iw_campaign_clear(&e->c);
		iw_letters_free(e->letters);
		free(e);
		iw_err_set(err, "out of memory");
		return NULL;
	}
	v[d->ncampaigns++] = e;
	d->campaigns = v;
	pthread_mutex_unlock(&d->campaigns_lock);
	return e;
}

int
iwd_campaign_compose_in(const struct iwd *d, const struct iwd_campaign *cp,
    struct iw_compose_in *in, struct iw_err *err)
{
	if (cp->broken) {
		iw_err_set(err, "%s", cp->why);
		return -1;
	}
	in->ctx.campaign = cp->c.name;
	in->campaign_letters = cp->letters;
	in->ctx.var_keys = (const char *const *)cp->c.var_keys;
	in->ctx.var_values = (const char *const *)cp->c.var_values;
	in->ctx.nvars = cp->c.nvars;
	in->ctx.max_inline = (size_t)d->cfg->letters_max_inline_ips;
	return 0;
}
