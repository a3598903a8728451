/*
 * The daemon's fallback stage: IPs whose contact hard-bounced, was refused
 * at RCPT or is suppressed were moved back to 'new' (lib/fallback.c); each
 * gets the next contact of its chain, in order and never one it had:
 *
 *   1. the abuse contact of the enclosing, less specific registration at
 *      the registry that held its network (lib/whois_parent.c);
 *   2. the national CERT of its country (letters.escalation);
 *
 * else it is held with the chain as the reason.  The chain is written
 * into contact_source step by step, so `targets` and `export` show it.
 * Moved IPs are few (a bounce's worth); one thread on the main connection
 * does them, under the shared WHOIS limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contact.h"
#include "fallback.h"
#include "ipwarnd.h"
#include "log.h"
#include "whois_parent.h"

#define IWD_FALLBACK_BATCH 64

/* Append " → TEXT" to the chain. */
static void
step(char *chain, size_t sz, const char *text)
{
	size_t n = strlen(chain);

	snprintf(chain + n, sz - n, "%s%s", n > 0 ? " \u2192 " : "", text);
}

/* 1: email may take t (recorded), 0: not usable, -1: database error. */
static int
take(struct iwd *d, const struct iw_fallback_target *t, const char *email,
    int level, const char *chain, const char *network)
{
	struct iw_err err;
	int ok = iw_fallback_usable(d->db, t->id, email, &err);

	if (ok <= 0) {
		if (ok < 0)
			iw_log(IW_LOG_ERR, "%s", err.msg);
		return ok;
	}
	if (iw_fallback_resolved(d->db, d->owner, t->id, email, level, chain,
	    network, &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		return -1;
	}
	iw_log(IW_LOG_NOTICE, "%s: fallback contact %s (%s)", t->ip, email,
	    chain);
	return 1;
}

/* The enclosing registration.  1 taken, 0 go on (chain says why), 2 ask
 * again later, -1 database error. */
static int
parent(struct iwd *d, const struct iw_contact_ctx *ctx,
    const struct iw_fallback_target *t, char *chain, size_t sz)
{
	struct iw_whois_parent p;
	char text[1024];
	int r;

	if (t->server[0] == '\0' || t->network[0] == '\0') {
		step(chain, sz, "parent: none (no registry network)");
		return 0;
	}
	iw_whois_find_parent(&ctx->whois, t->server, t->ip, t->network, &p);
	if (p.status == IW_WHOIS_TRANSIENT && (p.refused ||
	    t->attempts < d->cfg->whois_retries))
		return 2;
	if (p.status != IW_WHOIS_OK) {
		snprintf(text, sizeof(text), "parent: none (%.300s)",
		    p.reason);
		step(chain, sz, text);
		return 0;
	}
	snprintf(text, sizeof(text), "parent %s (%s %s) %s <%s>", p.network,
	    t->server, p.query, p.source, p.email);
	step(chain, sz, text);
	r = take(d, t, p.email, IW_FALLBACK_PARENT, chain, p.network);
	if (r == 0)
		step(chain, sz, "(tried or suppressed)");
	return r;
}

/* One moved IP.  -1 only on a database error. */
static int
one(struct iwd *d, const struct iw_contact_ctx *ctx,
    const struct iw_fallback_target *t)
{
	char chain[2048], text[400];
	const char *cert;
	struct iw_err err;
	int r;

	iw_strlcpy(chain, t->chain, sizeof(chain));
	if (t->level < IW_FALLBACK_PARENT) {
		r = parent(d, ctx, t, chain, sizeof(chain));
		if (r == 2) {
			if (iw_fallback_later(d->db, d->owner, t->id,
			    iw_contact_retry_delay(t->attempts), &err) < 0) {
				iw_log(IW_LOG_ERR, "%s", err.msg);
				return -1;
			}
			return 0;
		}
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	if (t->level < IW_FALLBACK_CERT) {
		cert = iw_config_cert_for(d->cfg, t->country[0] != '\0' ?
		    t->country : NULL);
		if (cert != NULL) {
			snprintf(text, sizeof(text), "CERT %s <%s>", t->country,
			    cert);
			step(chain, sizeof(chain), text);
			if ((r = take(d, t, cert, IW_FALLBACK_CERT, chain,
			    NULL)) != 0)
				return r < 0 ? -1 : 0;
			step(chain, sizeof(chain), "(tried or suppressed)");
		} else {
			snprintf(text, sizeof(text), "CERT: none for country "
			    "%s in letters.escalation", t->country[0] != '\0' ?
			    t->country : "(unknown)");
			step(chain, sizeof(chain), text);
		}
	}
	iw_log(IW_LOG_NOTICE, "%s: fallback chain exhausted: %s", t->ip,
	    chain);
	if (iw_fallback_held(d->db, d->owner, t->id, chain, &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		return -1;
	}
	return 0;
}

/*
 * IPs held because WHOIS named only a registry's own address join the
 * chain at its last link, the CERT of their country, where
 * letters.escalation names one (also for IPs held before it did).
 */
static int
escalate_registry_run(struct iwd *d)
{
	struct iw_buf cc = IW_BUF_INIT;
	struct iw_err err;
	long n;
	int oom = 0;

	if (d->cfg->letters_nescalation == 0)
		return 0;
	/* The countries that have a CERT, as an array literal: {DK,NL}. */
	for (size_t i = 0; i < d->cfg->letters_nescalation; i++)
		oom |= iw_buf_puts(&cc, i == 0 ? "{" : ",") < 0 ||
		    iw_buf_puts(&cc, d->cfg->letters_escalation[i].cc) < 0;
	if (oom || iw_buf_puts(&cc, "}") < 0) {
		iw_buf_free(&cc);
		iw_log(IW_LOG_ERR, "out of memory");
		return -1;
	}
	n = iw_fallback_escalate_registry_run(d->db, cc.data, &err);
	iw_buf_free(&cc);
	if (n < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		return -1;
	}
	if (n > 0)
		iw_log(IW_LOG_NOTICE, "%ld IPs whose only WHOIS contact is a "
		    "registry's own address go on to their national CERT", n);
	return 0;
}

long
iwd_fallback(struct iwd *d, struct iw_ratelimit *limiter)
{
	struct iw_fallback_target *t = iw_calloc(IWD_FALLBACK_BATCH,
	    sizeof(*t));
	struct iw_contact_ctx ctx;
	struct iw_err err;
	long done = 0;
	int n;

	if (t == NULL)
		return -1;
	if (escalate_registry_run(d) < 0) {
		free(t);
		return -1;
	}
	iw_contact_init(&ctx, d->cfg, d->geoip);
	iw_contact_set_limiter(&ctx, limiter);
	iw_contact_set_stop(&ctx, &iwd_stop);
	iw_contact_set_budget(&ctx, d->db);
	while (!iwd_stop && !iwd_reload) {
		if (iw_fallback_claim(d->db, d->owner, d->cfg->delivery_lease,
		    IWD_FALLBACK_BATCH, t, &n, &err) < 0) {
			iw_log(IW_LOG_ERR, "%s", err.msg);
			done = -1;
			break;
		}
		if (n == 0)
			break;
		for (int i = 0; i < n; i++) {
			if (one(d, &ctx, &t[i]) < 0) {
				done = -1;
				break;
			}
			done++;
		}
		if (done < 0)
			break;
	}
	free(t);
	return done;
}
