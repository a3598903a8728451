/*
 * contact: override, then WHOIS; country and locale from GeoIP.  See
 * contact.h.
 */
#include "contact.h"
#include "budget.h"
#include "cache.h"
#include "ratelimit.h"
#include "whois_nir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
iw_contact_init(struct iw_contact_ctx *ctx, const struct iw_config *cfg,
    struct iw_geoip *geoip)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	ctx->geoip = geoip;
	iw_config_whois(cfg, &ctx->whois);
	ctx->use_cache = cfg->whois_cache;
	ctx->cache_ttl = cfg->whois_cache_ttl;
}

void
iw_contact_set_limiter(struct iw_contact_ctx *ctx,
    struct iw_ratelimit *limiter)
{
	ctx->whois.limiter = limiter;
}

void
iw_contact_set_metrics(struct iw_contact_ctx *ctx, struct iw_metrics *m)
{
	ctx->whois.metrics = m;
}

static int
budget_reserve(void *arg, const char *server, long long interval_ms,
    long long *wait_ms, char *why, size_t wsz)
{
	struct iw_err err;
	int r = iw_budget_reserve(iw_db_pgconn(arg), server, interval_ms,
	    wait_ms, &err);

	if (r < 0)
		iw_strlcpy(why, err.msg, wsz);
	return r;
}

static void
budget_refused(void *arg, const char *server, long long open_ms)
{
	struct iw_err err;

	(void)iw_budget_refused(iw_db_pgconn(arg), server, open_ms, &err);
}

static int
budget_take(void *arg, const char *server, int concurrency)
{
	struct iw_err err;

	return iw_budget_slot_take(iw_db_pgconn(arg), server, concurrency,
	    &err);
}

static void
budget_give(void *arg, const char *server, int slot)
{
	struct iw_err err;

	(void)iw_budget_slot_give(iw_db_pgconn(arg), server, slot, &err);
}

void
iw_contact_set_budget(struct iw_contact_ctx *ctx, struct iw_db *db)
{
	if (db == NULL) {
		ctx->whois.budget = NULL;
		return;
	}
	ctx->budget.reserve = budget_reserve;
	ctx->budget.refused = budget_refused;
	ctx->budget.take = budget_take;
	ctx->budget.give = budget_give;
	ctx->budget.arg = db;
	ctx->whois.budget = &ctx->budget;
}

void
iw_contact_set_stop(struct iw_contact_ctx *ctx,
    const volatile sig_atomic_t *stop)
{
	ctx->stop = stop;
	ctx->whois.stop = stop;
}

/* Shutting down while waiting: ask again later, not a failure. */
static void
stopped(struct iw_contact *out)
{
	out->status = IW_CONTACT_LATER;
	out->refused = 1;
	iw_strlcpy(out->reason, "shutting down", sizeof(out->reason));
}

static int
country(const struct iw_contact_ctx *ctx, const char *ip,
    struct iw_contact *out, struct iw_err *err)
{
	out->country[0] = '\0';
	if (ctx->geoip != NULL &&
	    iw_geoip_country(ctx->geoip, ip, out->country, err) < 0)
		return -1;
	iw_strlcpy(out->locale, iw_config_locale_for(ctx->cfg, out->country),
	    sizeof(out->locale));
	return 0;
}

static int
from_override(struct iw_db *db, const char *ip, struct iw_contact *out,
    struct iw_err *err)
{
	char email[IW_WHOIS_ADDR_MAX], net[64];

	if (db == NULL)
		return 0;
	if (iw_db_override_find(db, ip, email, sizeof(email), net,
	    sizeof(net), err) < 0)
		return -1;
	if (email[0] == '\0')
		return 0;
	out->status = IW_CONTACT_OK;
	iw_strlcpy(out->email, email, sizeof(out->email));
	iw_strlcpy(out->network, net, sizeof(out->network));
	snprintf(out->source, sizeof(out->source), "override %s", net);
	iw_strlcpy(out->server, "override", sizeof(out->server));
	iw_strlcpy(out->chain, "override", sizeof(out->chain));
	return 1;
}

static void
take_whois(struct iw_contact *out, struct iw_whois_result *wr)
{
	switch (wr->status) {
	case IW_WHOIS_OK: out->status = IW_CONTACT_OK; break;
	case IW_WHOIS_NOCONTACT: out->status = IW_CONTACT_NONE; break;
	default: out->status = IW_CONTACT_LATER; break;
	}
	out->refused = wr->refused;
	iw_strlcpy(out->email, wr->email, sizeof(out->email));
	iw_strlcpy(out->server, wr->server, sizeof(out->server));
	iw_strlcpy(out->network, wr->net_text[0] != '\0' ? wr->net_text :
	    wr->net_first, sizeof(out->network));
	if (wr->net_first[0] != '\0')
		snprintf(out->range, sizeof(out->range), "%s - %s",
		    wr->net_first, wr->net_last);
	iw_strlcpy(out->source, wr->source, sizeof(out->source));
	iw_strlcpy(out->chain, wr->chain, sizeof(out->chain));
	iw_strlcpy(out->reason, wr->reason, sizeof(out->reason));
	out->raw = wr->raw;	/* ownership moves to out */
	wr->raw = NULL;
}

static int
from_whois(const struct iw_contact_ctx *ctx, const char *ip,
    struct iw_contact *out, struct iw_err *err)
{
	struct iw_whois_result wr;

	memset(&wr, 0, sizeof(wr));
	if (iw_whois_lookup(&ctx->whois, ip, &wr, err) < 0)
		return -1;
	take_whois(out, &wr);
	iw_whois_result_free(&wr);
	return 0;
}

static int
from_cache(const struct iw_cache_answer *a, struct iw_contact *out)
{
	out->status = a->ok ? IW_CONTACT_OK : IW_CONTACT_NONE;
	out->cached = 1;
	iw_strlcpy(out->email, a->email, sizeof(out->email));
	iw_strlcpy(out->server, a->registry, sizeof(out->server));
	iw_strlcpy(out->network, a->network, sizeof(out->network));
	snprintf(out->range, sizeof(out->range), "%s - %s", a->first,
	    a->last);
	iw_strlcpy(out->source, a->source, sizeof(out->source));
	iw_strlcpy(out->chain, a->chain, sizeof(out->chain));
	iw_strlcpy(out->reason, a->reason, sizeof(out->reason));
	iw_strlcpy(out->fetched, a->fetched, sizeof(out->fetched));
	return 0;
}

/* List the network first..last and store what it names, with the cover. */
static int
store_listing(const struct iw_contact_ctx *ctx, struct pg_conn *pg,
    const struct iw_whois_result *wr, const char *first, const char *last,
    struct iw_err *err)
{
	struct iw_whois_listing l;
	char src[320], how[200];
	int rc;

	rc = iw_whois_more_specific(&ctx->whois, wr->server, wr->server_port,
	    first, last, &l, err);
	if (rc < 0)
		return -1;
	if (l.status == IW_WHOIS_OK && l.complete && l.n > 0)
		iw_ratelimit_listing_seen(ctx->whois.limiter, wr->server, 1);
	if (l.status != IW_WHOIS_OK || !l.complete || (l.n == 0 &&
	    !iw_ratelimit_listing_seen(ctx->whois.limiter, wr->server, 0))) {
		iw_whois_listing_free(&l);
		if (wr->leaf)
			return iw_cache_store_cover(pg, ctx->cache_ttl,
			    wr->server, wr->net_first, wr->net_last,
			    "leaf status", err);
		return 0;	/* no cover: answers stay per IP */
	}
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		const struct iw_whois_subnet *s = &l.nets[i];
		struct iw_cache_net n;

		memset(&n, 0, sizeof(n));
		snprintf(src, sizeof(src), "%.128s (listing '%.160s')",
		    s->source, l.query);
		n.registry = wr->server;
		n.first = s->first;
		n.last = s->last;
		n.text = s->text;
		n.status = s->has_contact ? "ok" : "unknown";
		n.email = s->has_contact ? s->email : NULL;
		n.source = s->has_contact ? src : NULL;
		n.chain = wr->chain;
		rc = iw_cache_store_net(pg, ctx->cache_ttl, &n, err);
	}
	snprintf(how, sizeof(how), "listing '%.160s'", l.query);
	if (rc == 0)
		rc = iw_cache_store_cover(pg, ctx->cache_ttl, wr->server,
		    first, last, how, err);
	iw_whois_listing_free(&l);
	return rc;
}

/*
 * Earn a cover for the network just learnt (see lib/cache.c): its status
 * forbids more specifics, or one listing of the least specific network of
 * the answer names every registration inside it.
 */
static int
learn_cover(const struct iw_contact_ctx *ctx, struct pg_conn *pg,
    const struct iw_whois_result *wr, struct iw_err *err)
{
	const char *first = wr->top_first[0] ? wr->top_first : wr->net_first;
	const char *last = wr->top_first[0] ? wr->top_last : wr->net_last;
	int rc;

	if (wr->leaf && strcmp(first, wr->net_first) == 0 &&
	    strcmp(last, wr->net_last) == 0)
		return iw_cache_store_cover(pg, ctx->cache_ttl, wr->server,
		    wr->net_first, wr->net_last, "leaf status", err);
	/* Another thread listing the same network: wait, then find its
	 * cover instead of listing again.  The network stays entered until
	 * the cover is stored, or the next thread would not find it. */
	if (iw_ratelimit_enter_net(ctx->whois.limiter, first, ctx->stop) != 0)
		return 0;	/* shutting down: no cover this time */
	rc = iw_cache_covered(pg, wr->net_first, err);
	if (rc == 0)
		rc = store_listing(ctx, pg, wr, first, last, err);
	iw_ratelimit_leave_net(ctx->whois.limiter, first);
	return rc < 0 ? -1 : 0;
}

static int
remember(const struct iw_contact_ctx *ctx, struct pg_conn *pg,
    const struct iw_whois_result *wr, const char *hint, struct iw_err *err)
{
	struct iw_cache_net n;

	/* No known delegation: the answer is good for this IP only. */
	if (ctx->cache_read_only || wr->status == IW_WHOIS_TRANSIENT ||
	    wr->net_first[0] == '\0' || wr->net_last[0] == '\0' ||
	    wr->auth_first[0] == '\0')
		return 0;
	memset(&n, 0, sizeof(n));
	n.registry = wr->server;
	n.first = wr->net_first;
	n.last = wr->net_last;
	n.text = wr->net_text;
	n.status = wr->status == IW_WHOIS_OK ? "ok" : "none";
	n.email = wr->status == IW_WHOIS_OK ? wr->email : NULL;
	n.source = wr->source;
	n.chain = wr->chain;
	n.reason = wr->status == IW_WHOIS_OK ? NULL : wr->reason;
	n.raw = wr->status == IW_WHOIS_OK ? NULL : wr->raw;
	if (iw_cache_store_net(pg, ctx->cache_ttl, &n, err) < 0)
		return -1;
	/* Asked directly because a cover of this registry holds the IP:
	 * the registration is already known to be the most specific. */
	if (hint != NULL && strcmp(hint, wr->server) == 0)
		return 0;
	return learn_cover(ctx, pg, wr, err);
}

static int
resolve_cached(const struct iw_contact_ctx *ctx, struct pg_conn *pg,
    const char *ip, struct iw_contact *out, struct iw_err *err)
{
	struct iw_cache_answer a;
	struct iw_whois_result wr;
	const char *hint;
	int rc;

	if (iw_cache_lookup(pg, ip, &a, err) < 0)
		return -1;
	if (a.status == IW_CACHE_HIT) {
		from_cache(&a, out);
		out->raw = a.raw;
		a.raw = NULL;
		iw_cache_answer_free(&a);
		return 0;
	}
	hint = a.status == IW_CACHE_REGISTRY ? a.registry : NULL;
	memset(&wr, 0, sizeof(wr));
	/* The cover that named the registry bounds what it answers for. */
	if (iw_whois_lookup_from(&ctx->whois, hint, 0, a.cover_first,
	    a.cover_last, ip, &wr, err) < 0) {
		iw_cache_answer_free(&a);
		return -1;
	}
	rc = remember(ctx, pg, &wr, hint, err);
	take_whois(out, &wr);
	if (hint != NULL) {
		char chain[IW_WHOIS_CHAIN_MAX];

		/* The bootstrap step was skipped: say so. */
		snprintf(chain, sizeof(chain), "(cache: registry) > %.480s",
		    out->chain);
		iw_strlcpy(out->chain, chain, sizeof(out->chain));
	}
	iw_whois_result_free(&wr);
	iw_cache_answer_free(&a);
	return rc;
}

static int
from_cache_or_whois(const struct iw_contact_ctx *ctx, struct iw_db *db,
    const char *ip, struct iw_contact *out, struct iw_err *err)
{
	struct pg_conn *pg = db != NULL && ctx->use_cache ?
	    iw_db_pgconn(db) : NULL;
	int rc;

	if (pg == NULL)
		return from_whois(ctx, ip, out, err);
	/* A neighbour in flight is most likely the same network: wait for
	 * it and take its answer from the cache instead of asking again. */
	if (iw_ratelimit_enter(ctx->whois.limiter, ip, ctx->stop) != 0) {
		stopped(out);
		return 0;
	}
	rc = resolve_cached(ctx, pg, ip, out, err);
	iw_ratelimit_leave(ctx->whois.limiter, ip);
	return rc;
}

/*
 * Whatever came from outside leaves as valid UTF-8, so that one odd answer
 * can never make the database refuse a batch's write.  The raw answer is
 * decoded already (whois: Latin-1 when not UTF-8); this is the last word.
 */
static void
clean_text(struct iw_contact *out)
{
	char *const f[] = { out->email, out->country, out->locale,
	    out->source, out->server, out->network, out->chain, out->reason,
	    out->fetched, out->range, out->raw };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i] != NULL)
			iw_utf8_scrub(f[i]);
}

/*
 * A registry's own address (its hostmaster, IRT or helpdesk) is no abuse
 * desk for the networks it registers: where it is all WHOIS names (the
 * NIR or RIR was asked and nothing more specific exists), the IP is held
 * for the escalation path instead of being mailed to the registry.  An
 * operator's override is the operator's word and stands.
 */
static void
registry_hold(const struct iw_contact_ctx *ctx, struct iw_contact *out)
{
	char dom[64], src[sizeof(out->source)];

	if (out->status != IW_CONTACT_OK || strcmp(out->server,
	    "override") == 0 || !iw_whois_registry_run(&ctx->whois,
	    out->email, dom, sizeof(dom)))
		return;
	out->status = IW_CONTACT_HELD;
	snprintf(out->reason, sizeof(out->reason), "registry-run address "
	    "%.100s (%.60s): no network abuse contact; not mailed to the "
	    "registry", out->email, dom);
	snprintf(src, sizeof(src), "registry-run: %.140s", out->source);
	iw_strlcpy(out->source, src, sizeof(out->source));
}

static int
resolve_one(const struct iw_contact_ctx *ctx, struct iw_db *db,
    const char *ip, struct iw_contact *out, struct iw_err *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (country(ctx, ip, out, err) < 0)
		return -1;
	r = from_override(db, ip, out, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	return from_cache_or_whois(ctx, db, ip, out, err);
}

int
iw_contact_resolve(const struct iw_contact_ctx *ctx, struct iw_db *db,
    const char *ip, struct iw_contact *out, struct iw_err *err)
{
	int r = resolve_one(ctx, db, ip, out, err);

	registry_hold(ctx, out);
	clean_text(out);
	return r;
}

/* One IP of a batch, given what the batch lookup said about it. */
static int
resolve_from(const struct iw_contact_ctx *ctx, struct iw_db *db,
    const char *ip, struct iw_cache_answer *a, struct iw_contact *out,
    struct iw_err *err)
{
	int r;

	if (country(ctx, ip, out, err) < 0)
		return -1;
	if (a->status == IW_CACHE_HIT && !a->overridden) {
		/* Inside a cover the answer stays right whatever other
		 * threads learn meanwhile: no need to wait for them. */
		from_cache(a, out);
		out->raw = a->raw;
		a->raw = NULL;
		return 0;
	}
	if (a->overridden) {
		r = from_override(db, ip, out, err);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	/* A miss may be filled by now (a neighbour earlier in the batch):
	 * the one-IP path looks again after waiting for neighbours. */
	return from_cache_or_whois(ctx, db, ip, out, err);
}

int
iw_contact_resolve_many(const struct iw_contact_ctx *ctx, struct iw_db *db,
    const char *const *ips, size_t n, struct iw_contact *out,
    struct iw_err *err)
{
	struct pg_conn *pg = db != NULL && ctx->use_cache ?
	    iw_db_pgconn(db) : NULL;
	struct iw_cache_answer *a;
	int rc = 0;

	memset(out, 0, n * sizeof(*out));
	if (n > IW_CONTACT_BATCH_MAX) {
		iw_err_set(err, "contact: batch of %zu IPs", n);
		return -1;
	}
	if (pg == NULL) {
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = iw_contact_resolve(ctx, db, ips[i], &out[i], err);
		return rc;
	}
	if ((a = iw_calloc(n ? n : 1, sizeof(*a))) == NULL) {
		iw_err_set(err, "contact: out of memory");
		return -1;
	}
	rc = iw_cache_lookup_many(pg, ips, n, a, err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = resolve_from(ctx, db, ips[i], &a[i], &out[i], err);
		registry_hold(ctx, &out[i]);
		clean_text(&out[i]);
	}
	for (size_t i = 0; i < n; i++)
		iw_cache_answer_free(&a[i]);
	free(a);
	return rc;
}

void
iw_contact_free(struct iw_contact *c)
{
	if (c == NULL)
		return;
	free(c->raw);
	c->raw = NULL;
}

long long
iw_contact_retry_delay(int attempts)
{
	long long d = 60;

	while (attempts-- > 1 && d < 3600)
		d *= 2;
	return d > 3600 ? 3600 : d;
}
