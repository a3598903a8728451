/*
 * The daemon's resolve stage: for every due IP, its abuse contact (operator
 * override, else WHOIS), country and locale.  A transient failure (timeout,
 * throttling) sends the IP back to the queue with growing delay, up to
 * whois.retries times; then it is unresolved with the reason.
 */
#include <stdio.h>
#include <string.h>

#include "contact.h"
#include "ipwarnd.h"
#include "log.h"

#define IWD_CLAIM_TARGETS 8

/* --- resolve --- */

static void
resolution_of(const struct iw_config *cfg, const struct iw_db_target *t,
    const struct iw_contact *ct, struct iw_db_resolution *r, char *why,
    size_t whysz)
{
	memset(r, 0, sizeof(*r));
	r->country = ct->country;
	r->locale = ct->locale;
	r->email = ct->email;
	r->source = ct->source;
	r->server = ct->server;
	r->network = ct->network;
	r->chain = ct->chain;
	r->reason = ct->reason;
	r->raw = ct->raw;
	switch (ct->status) {
	case IW_CONTACT_OK:
		r->state = IW_DB_RESOLVED;
		r->reason = NULL;
		break;
	case IW_CONTACT_NONE:
		r->state = IW_DB_UNRESOLVED;
		break;
	case IW_CONTACT_LATER:
		if (t->attempts >= cfg->whois_retries) {
			snprintf(why, whysz, "gave up after %d attempts: %s",
			    t->attempts, ct->reason);
			r->state = IW_DB_UNRESOLVED;
			r->reason = why;
		} else {
			r->state = IW_DB_RETRY;
			r->retry_in_s = iw_contact_retry_delay(t->attempts);
		}
		break;
	}
}

static int
resolve_one(struct iwd_worker *w, const struct iw_contact_ctx *ctx,
    const struct iw_db_target *t)
{
	struct iw_db_resolution r;
	struct iw_contact ct;
	struct iw_err err;
	char why[300];

	if (iw_contact_resolve(ctx, w->db, t->ip, &ct, &err) < 0) {
		iw_log(IW_LOG_ERR, "%s: %s", t->ip, err.msg);
		return -1;
	}
	resolution_of(w->d->cfg, t, &ct, &r, why, sizeof(why));
	if (r.state == IW_DB_RESOLVED)
		iw_log(IW_LOG_INFO, "%s: %s (%s, %s, locale %s)", t->ip,
		    ct.email, ct.source, ct.chain, ct.locale);
	else
		iw_log(IW_LOG_NOTICE, "%s: %s: %s", t->ip,
		    r.state == IW_DB_RETRY ? "retry later" : "unresolved",
		    r.reason != NULL ? r.reason : "");
	if (iw_db_target_done(w->db, w->d->owner, t->id, &r, &err) < 0) {
		iw_log(IW_LOG_ERR, "%s: %s", t->ip, err.msg);
		iw_contact_free(&ct);
		return -1;
	}
	iw_contact_free(&ct);
	return 0;
}

static void *
resolve_worker(void *arg)
{
	struct iwd_worker *w = arg;
	struct iw_db_target t[IWD_CLAIM_TARGETS];
	struct iw_contact_ctx ctx;
	struct iw_err err;
	int i, n;

	iw_contact_init(&ctx, w->d->cfg, w->d->geoip);
	while (!iwd_stop) {
		if (iw_db_claim_targets(w->db, w->d->owner,
		    w->d->cfg->delivery_lease, IWD_CLAIM_TARGETS, t, &n,
		    &err) < 0) {
			iw_log(IW_LOG_ERR, "%s", err.msg);
			w->failed = 1;
			break;
		}
		if (n == 0)
			break;
		for (i = 0; i < n && !iwd_stop; i++) {
			if (resolve_one(w, &ctx, &t[i]) < 0) {
				w->failed = 1;
				return NULL;
			}
			w->done++;
		}
	}
	return NULL;
}

long
iwd_resolve(struct iwd *d)
{
	return iwd_run_workers(d, resolve_worker);
}

