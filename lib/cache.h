/*
 * cache: the contact cache in PostgreSQL (sql/002_contact_cache.sql).  It
 * remembers, per registry, the registrations it has seen (network range,
 * abuse address or why there is none, where the address came from, the
 * chain of servers) and the ranges for which it knows *every* registration
 * ("covers").  A lookup answers an IP only from inside a cover, with the
 * most specific known registration containing it, so it never answers
 * with a less specific network's contact when the registry holds a more
 * specific registration for the IP.  See cache.c for how covers are
 * earned.
 */
#ifndef IW_CACHE_H
#define IW_CACHE_H

#include <stddef.h>

#include "util.h"
#include "whois.h"

struct pg_conn;

enum iw_cache_status {
	IW_CACHE_MISS,		/* nothing known: ask the bootstrap server */
	IW_CACHE_REGISTRY,	/* the registry is known (registry), the
				   contact is not: ask it directly */
	IW_CACHE_HIT,		/* the answer below */
};

struct iw_cache_answer {
	enum iw_cache_status status;
	int ok;				/* HIT: 1 email valid, 0 no contact */
	char registry[128];
	char email[IW_WHOIS_ADDR_MAX];
	char source[128];
	char network[128];
	char first[48], last[48];
	char chain[IW_WHOIS_CHAIN_MAX];
	char reason[256];
	char fetched[40];		/* when the registry said so */
	char cover_first[48];		/* the cover that answered (HIT and */
	char cover_last[48];		/* REGISTRY): what registry is known
					   to answer for */
	char *raw;			/* HIT without contact: the answer */
	int overridden;			/* _lookup_many: an operator override
					   covers the IP (contact_override);
					   the rest is then not filled in */
};

/* Registration to remember. */
struct iw_cache_net {
	const char *registry;
	const char *first, *last;
	const char *text;
	const char *status;		/* "ok", "none", "unknown" */
	const char *email, *source, *chain, *reason, *raw;
};

int iw_cache_lookup(struct pg_conn *pg, const char *ip,
    struct iw_cache_answer *a, struct iw_err *err);
void iw_cache_answer_free(struct iw_cache_answer *a);	/* raw only */

/*
 * The same for n IPs in one statement (a claimed batch costs one round
 * trip, not n), and whether an operator override covers each.  a[] has n
 * elements; an IP that is not an address gets IW_CACHE_MISS.  At most
 * IW_CACHE_BATCH_MAX IPs.
 */
#define IW_CACHE_BATCH_MAX 1024
int iw_cache_lookup_many(struct pg_conn *pg, const char *const *ips,
    size_t n, struct iw_cache_answer *a, struct iw_err *err);

/* Remember a registration for ttl_s seconds.  An 'unknown' row never
 * replaces a fresh known one. */
int iw_cache_store_net(struct pg_conn *pg, long long ttl_s,
    const struct iw_cache_net *n, struct iw_err *err);

/* Remember that every registration of registry in [first, last] is in
 * whois_net (how: "leaf status" or the listing query). */
int iw_cache_store_cover(struct pg_conn *pg, long long ttl_s,
    const char *registry, const char *first, const char *last,
    const char *how, struct iw_err *err);

/* 1 when a fresh cover of any registry contains ip. */
int iw_cache_covered(struct pg_conn *pg, const char *ip, struct iw_err *err);

#endif
