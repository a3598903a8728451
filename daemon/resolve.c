/*
 * The daemon's resolve stage: for every due IP, its abuse contact (operator
 * override, else WHOIS), country and locale.  A transient failure (timeout,
 * timeout) sends the IP back to the queue with growing delay, up to
 * whois.retries times; then it is unresolved with the reason.  A server
 * that refused or throttled us never fails an IP: it waits for the
 * back-off and is retried.  One rate limiter (per-server concurrency,
 * queries/s, back-off, in-flight de-duplication) is shared by every resolve
 * thread of this process and kept across passes so back-off survives.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contact.h"
#include "ipwarnd.h"
#include "log.h"
#include "ratelimit.h"

/*
 * Claims grow from IWD_CLAIM_FIRST to IWD_CLAIM_MAX IPs: a small campaign
 * still spreads over every thread (WHOIS chains in parallel), a large one
 * pays the claim and the contact-cache lookup once per IWD_CLAIM_MAX IPs
 * (the cache answers most of them in that one statement).
 */
#define IWD_MIRROR_RATE 50.0	/* queries/s to a mapped whois.hosts entry */
#define IWD_MIRROR_CONCURRENCY 4
#define IWD_CLAIM_FIRST 16
#define IWD_CLAIM_MAX 256

/* The process's limiter and the configuration it was built from. */
static struct iw_ratelimit *resolve_limiter;
static unsigned resolve_limiter_gen;	/* iwd.cfg_gen it was built for */

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
	case IW_CONTACT_HELD:
		/* A registry's own address: kept with the reason, for the
		 * escalation path; never mailed. */
		r->state = IW_DB_HELD;
		break;
	case IW_CONTACT_LATER:
		if (iwd_stop) {
			/* Shutting down: offer it again at once. */
			r->state = IW_DB_RETRY;
			r->retry_in_s = 0;
		} else if (ct->refused) {
			r->state = IW_DB_RETRY;
			r->retry_in_s = iw_contact_retry_delay(t->attempts);
		} else if (t->attempts >= cfg->whois_retries) {
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

static void
log_one(const struct iw_db_target *t, const struct iw_contact *ct,
    const struct iw_db_resolution *r)
{
	if (r->state == IW_DB_RESOLVED)
		iw_log(IW_LOG_DEBUG, "%s: %s (%s, %s, locale %s)", t->ip,
		    ct->email, ct->source, ct->chain, ct->locale);
	else
		iw_log(IW_LOG_DEBUG, "%s: %s: %s", t->ip,
		    r->state == IW_DB_RETRY ? "retry later" :
		    r->state == IW_DB_HELD ? "held" : "unresolved",
		    r->reason != NULL ? r->reason : "");
}

/*
 * The batch's write failed: one IP's data must not hold the others (they
 * would stay claimed and come back for ever).  Each is stored alone; one
 * the database still refuses is stored as unresolved with the database's
 * reason and none of its outside text.  -1 only if even that fails.
 */
static int
store_each(struct iwd_worker *w, const int64_t *ids,
    struct iw_db_resolution *r, int n, char (*why)[300])
{
	struct iw_err err;

	for (int i = 0; i < n; i++) {
		struct iw_db_resolution bare;

		if (iw_db_targets_done(w->db, w->d->owner, &ids[i], &r[i], 1,
		    &err) == 0)
			continue;
		memset(&bare, 0, sizeof(bare));
		bare.state = IW_DB_UNRESOLVED;
		snprintf(why[i], sizeof(why[i]), "could not store the "
		    "answer: %.250s", err.msg);
		iw_utf8_scrub(why[i]);
		bare.reason = why[i];
		iw_log(IW_LOG_NOTICE, "target %lld: %s", (long long)ids[i],
		    why[i]);
		if (iw_db_targets_done(w->db, w->d->owner, &ids[i], &bare, 1,
		    &err) < 0) {
			iw_log(IW_LOG_ERR, "resolve: %s", err.msg);
			return -1;
		}
	}
	return 0;
}

/* Resolve and record a claimed batch (address order); the results go to
 * the database in one statement. */
static int
resolve_batch(struct iwd_worker *w, const struct iw_contact_ctx *ctx,
    const struct iw_db_target *t, int n, struct iw_contact *ct,
    const char **ips)
{
	struct iw_db_resolution *r = iw_calloc((size_t)n, sizeof(*r));
	int64_t *ids = iw_calloc((size_t)n, sizeof(*ids));
	char (*why)[300] = iw_calloc((size_t)n, sizeof(*why));
	struct iw_err err;
	int i, rc = 0;

	if (r == NULL || ids == NULL || why == NULL) {
		iw_log(IW_LOG_ERR, "resolve: out of memory");
		free(r);
		free(ids);
		free(why);
		return -1;
	}
	for (i = 0; i < n; i++)
		ips[i] = t[i].ip;
	if (iw_contact_resolve_many(ctx, w->db, ips, (size_t)n, ct,
	    &err) < 0) {
		iw_log(IW_LOG_ERR, "resolve: %s", err.msg);
		rc = -1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		resolution_of(w->d->cfg, &t[i], &ct[i], &r[i], why[i],
		    sizeof(why[i]));
		ids[i] = t[i].id;
		log_one(&t[i], &ct[i], &r[i]);
	}
	if (rc == 0 && iw_db_targets_done(w->db, w->d->owner, ids, r,
	    (size_t)n, &err) < 0) {
		iw_log(IW_LOG_ERR, "resolve: %s; storing one by one", err.msg);
		rc = store_each(w, ids, r, n, why);
	}
	if (rc == 0)
		w->done += n;
	for (i = 0; i < n; i++)
		iw_contact_free(&ct[i]);
	free(r);
	free(ids);
	free(why);
	return rc;
}

/* Address order: IPs of one network come one after the other, so the
 * first one's answer is in the cache for the rest. */
static int
addr_cmp(const void *a, const void *b)
{
	const struct iw_db_target *x = a, *y = b;
	unsigned char ax[17] = { 0 }, bx[17] = { 0 };

	if (inet_pton(AF_INET, x->ip, ax + 13) != 1 &&
	    inet_pton(AF_INET6, x->ip, ax + 1) == 1)
		ax[0] = 1;
	if (inet_pton(AF_INET, y->ip, bx + 13) != 1 &&
	    inet_pton(AF_INET6, y->ip, bx + 1) == 1)
		bx[0] = 1;
	return memcmp(ax, bx, sizeof(ax));
}

static void *
resolve_worker(void *arg)
{
	struct iwd_worker *w = arg;
	struct iw_db_target *t = calloc(IWD_CLAIM_MAX, sizeof(*t));
	struct iw_contact *ct = calloc(IWD_CLAIM_MAX, sizeof(*ct));
	const char **ips = calloc(IWD_CLAIM_MAX, sizeof(*ips));
	struct iw_contact_ctx ctx;
	struct iw_err err;
	int n, want = IWD_CLAIM_FIRST;

	if (t == NULL || ct == NULL || ips == NULL) {
		iw_log(IW_LOG_ERR, "resolve: out of memory");
		w->failed = 1;
		goto out;
	}
	iw_contact_init(&ctx, w->d->cfg, w->d->geoip);
	iw_contact_set_limiter(&ctx, resolve_limiter);
	iw_contact_set_metrics(&ctx, w->d->counters);
	iw_contact_set_stop(&ctx, &iwd_stop);
	iw_contact_set_budget(&ctx, w->db);
	while (!iwd_stop && !iwd_reload) {
		if (iw_db_claim_targets(w->db, w->d->owner,
		    w->d->cfg->delivery_lease, want, t, &n, &err) < 0) {
			iw_log(IW_LOG_ERR, "%s", err.msg);
			w->failed = 1;
			break;
		}
		if (n == 0)
			break;
		qsort(t, (size_t)n, sizeof(t[0]), addr_cmp);
		if (resolve_batch(w, &ctx, t, n, ct, ips) < 0) {
			w->failed = 1;
			break;
		}
		if (want < IWD_CLAIM_MAX)
			want *= 2;
	}
out:
	free(t);
	free(ct);
	free(ips);
	return NULL;
}

/* (Re)build the limiter when the configuration changed (SIGHUP). */
static int
limiter_ready(const struct iw_config *cfg, unsigned gen)
{
	struct iw_ratelimit_limit *l;
	struct iw_err err;

	if (resolve_limiter != NULL && resolve_limiter_gen == gen)
		return 0;
	l = calloc(cfg->whois_nhosts + 1, sizeof(*l));
	if (l == NULL)
		return -1;
	for (size_t i = 0; i < cfg->whois_nhosts; i++) {
		const struct iw_whois_host *h = &cfg->whois_hosts[i];

		l[i].name = h->name;
		l[i].concurrency = h->concurrency;
		l[i].rate = h->rate;
		/* A server reached at an address of the operator's (a local
		 * mirror, a test stand-in) is not the registry whose limits
		 * the defaults respect: unless the entry says otherwise it
		 * gets a mirror's pace. */
		if (h->address != NULL && h->rate < 0)
			l[i].rate = IWD_MIRROR_RATE;
		if (h->address != NULL && h->concurrency <= 0)
			l[i].concurrency = IWD_MIRROR_CONCURRENCY;
	}
	iw_ratelimit_free(resolve_limiter);
	resolve_limiter = iw_ratelimit_new(l, cfg->whois_nhosts, &err);
	free(l);
	if (resolve_limiter == NULL) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		return -1;
	}
	resolve_limiter_gen = gen;
	return 0;
}

long
iwd_resolve(struct iwd *d)
{
	long n;

	if (limiter_ready(d->cfg, d->cfg_gen) < 0)
		return -1;
	n = iwd_run_workers(d, resolve_worker);
	if (n >= 0) {
		long f = iwd_fallback(d, resolve_limiter);

		n = f < 0 ? -1 : n + f;
	}
	if (n > 0)
		iw_log(IW_LOG_INFO, "resolve: %ld IPs, %ld WHOIS queries so "
		    "far", n, iw_ratelimit_queries(resolve_limiter));
	return n;
}

