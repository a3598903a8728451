/*
 * contact: who gets the letter for an IP, and in which language.  An
 * operator override (contact_override table) beats WHOIS; then the
 * contact cache (cache: registrations the registries told us about, used
 * only where it provably knows the most specific one); otherwise the
 * registries are asked (whois) and the answer is remembered.  The country comes from the MaxMind
 * database (geoip) and picks the locale through letters.countries.
 */
#ifndef IW_CONTACT_H
#define IW_CONTACT_H

#include <signal.h>
#include <stddef.h>

#include "config.h"
#include "db.h"
#include "geoip.h"
#include "util.h"
#include "whois.h"

enum iw_contact_status {
	IW_CONTACT_OK,		/* email is a validated mailbox */
	IW_CONTACT_NONE,	/* permanent: reason says why */
	IW_CONTACT_LATER,	/* transient: ask again later */
	IW_CONTACT_HELD,	/* email is a registry's own address (an
				   RIR's or NIR's hostmaster, IRT, helpdesk:
				   whois.registry_domains), the only one
				   there is: not mailed; reason begins
				   "registry-run address ", source
				   "registry-run: " (for the escalation
				   path, e.g. the national CERT) */
};

struct iw_contact {
	enum iw_contact_status status;
	char email[IW_WHOIS_ADDR_MAX];
	char country[3];
	char locale[17];
	char source[160];		/* "override 192.0.2.0/24" or the
					   registry object the address is from */
	char server[128];
	char network[128];
	char chain[IW_WHOIS_CHAIN_MAX];
	char reason[256];
	int cached;			/* answered from the contact cache */
	char fetched[40];		/* cached: when the registry said so */
	char range[100];		/* matched range "first - last" */
	int refused;			/* LATER because a server refused or
					   throttled us: wait, never give up */
	char *raw;			/* registry answer, owned; may be NULL */
};

struct iw_contact_ctx {
	const struct iw_config *cfg;
	struct iw_geoip *geoip;		/* may be NULL: no country */
	struct iw_whois_conf whois;	/* whois.limiter: shared pacing */
	int use_cache;			/* whois.cache */
	int cache_read_only;		/* read the cache, never write it
					   (ipwarn preview stores nothing) */
	long long cache_ttl;		/* whois.cache_ttl */
	const volatile sig_atomic_t *stop; /* non-zero: shutting down, stop
					   waiting (rate limits, neighbours
					   in flight); may be NULL */
	struct iw_whois_budget budget;	/* whois.budget points here when set */
};

/* ctx points into cfg and geoip; both must outlive it.  limiter (may be
 * NULL) is shared by every thread of the process and must outlive ctx. */
void iw_contact_init(struct iw_contact_ctx *ctx, const struct iw_config *cfg,
    struct iw_geoip *geoip);
void iw_contact_set_limiter(struct iw_contact_ctx *ctx,
    struct iw_ratelimit *limiter);
/* Count WHOIS queries in m (lib/metrics.h; may be NULL), which is shared
 * like the limiter and must outlive ctx. */
void iw_contact_set_metrics(struct iw_contact_ctx *ctx,
    struct iw_metrics *m);
/* Share the WHOIS budget with every daemon on db's database (budget.c):
 * db's connection is used from this ctx's thread only; db must outlive
 * ctx, and ctx must not be copied afterwards. */
void iw_contact_set_budget(struct iw_contact_ctx *ctx, struct iw_db *db);
/* The flag a signal handler sets to stop the process: waits end within
 * 250 ms and the IP is LATER (refused: not counted as a failure). */
void iw_contact_set_stop(struct iw_contact_ctx *ctx,
    const volatile sig_atomic_t *stop);

/*
 * Resolve ip.  db may be NULL (no overrides).  Returns 0 when out->status
 * is set, -1 only on a local failure (database, memory) with err set.
 */
int iw_contact_resolve(const struct iw_contact_ctx *ctx, struct iw_db *db,
    const char *ip, struct iw_contact *out, struct iw_err *err);
void iw_contact_free(struct iw_contact *c);	/* frees raw only */

/*
 * Resolve n IPs (at most IW_CONTACT_BATCH_MAX): the same answers as n
 * calls of iw_contact_resolve, but the IPs the contact cache answers cost
 * one database round trip for the whole batch.  The rest are resolved one
 * by one in the order given (address order lets the first IP of a network
 * fill the cache for the next).  out[] has n elements; on -1 every element
 * is still safe to iw_contact_free.
 */
#define IW_CONTACT_BATCH_MAX 1024
int iw_contact_resolve_many(const struct iw_contact_ctx *ctx,
    struct iw_db *db, const char *const *ips, size_t n,
    struct iw_contact *out, struct iw_err *err);

/* Seconds to wait before asking again after the attempts-th transient
 * failure: 1m, 2m, 4m ... capped at 1h. */
long long iw_contact_retry_delay(int attempts);

#endif
