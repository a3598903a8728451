/*
 * cache: the contact cache.  See cache.h.
 *
 * The correctness rule, and how it is kept: the cache may answer an IP
 * only with the most specific registration the registry holds for it.  A
 * registration learnt from one answer says nothing about other
 * registrations inside it (ARIN's 198.18.0.0/15 holds a reallocated
 * 198.18.5.0/24 of another organisation; a RIPE allocation holds /26
 * assignments), so a network's answer is used for other IPs only inside a
 * *cover*: a range for which the registry has told us every registration.
 * A cover is earned in one of two ways (lib/contact.c):
 *
 *   - the network's status forbids more specific registrations (RIPE
 *     ASSIGNED PA/PI/ANYCAST, APNIC ASSIGNED NON-PORTABLE, inet6num
 *     ASSIGNED, ARIN/LACNIC Reassigned): the network covers itself;
 *   - otherwise one more-specific listing of the least specific network
 *     the answer showed (RIPE "-r -M range", ARIN "n + > CIDR") names
 *     every registration inside it; each is stored ('unknown' contact
 *     unless the listing itself shows the abuse address) and the range
 *     becomes a cover.
 *
 * A lookup takes the most specific fresh cover containing the IP, then the
 * most specific registration of that registry inside the cover containing
 * the IP.  Known contact: a hit.  'unknown' or expired: the registry is
 * known, ask it directly (no bootstrap query).  No cover: a miss.  Ranges
 * of one registry nest, so "most specific containing" is the row with the
 * greatest first address and then the smallest last one.  Every row and
 * cover expires after whois.cache_ttl.
 *
 * Whose word counts: a server's registrations and covers are stored only
 * inside the block its referrer delegated to it (lib/whois.c cuts the
 * answer down to it; contact.c stores nothing when the delegation is not
 * known), so no server in a referral chain, nor anyone on the path of its
 * port-43 connection, can plant a cover over addresses it was not given.
 */
#include "cache.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

static const char lookup_sql[] =
    "WITH cov AS ("
    " SELECT registry, first_ip, last_ip FROM whois_cover"
    " WHERE first_ip <= $1::inet AND last_ip >= $1::inet"
    "  AND family(first_ip) = family($1::inet) AND expires_at > now()"
    " ORDER BY first_ip DESC, last_ip ASC LIMIT 1) "
    "SELECT cov.registry, n.status, n.email, n.source, n.net_text,"
    " n.chain, n.reason, host(n.first_ip), host(n.last_ip),"
    " to_char(n.fetched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " n.expires_at > now(), n.raw_answer,"
    " host(cov.first_ip), host(cov.last_ip) "
    "FROM cov LEFT JOIN LATERAL ("
    " SELECT * FROM whois_net w WHERE w.registry = cov.registry"
    "  AND w.first_ip <= $1::inet AND w.last_ip >= $1::inet"
    "  AND family(w.first_ip) = family($1::inet)"
    "  AND w.first_ip >= cov.first_ip AND w.last_ip <= cov.last_ip"
    " ORDER BY w.first_ip DESC, w.last_ip ASC LIMIT 1) n ON true";

/*
 * lookup_sql for a whole batch: $1 is an inet[] (ordinality i says which
 * IP a row is for), plus whether an operator override covers the IP (the
 * override itself, most specific first, is db.c's to find).
 */
static const char lookup_many_sql[] =
    "SELECT ip.i, EXISTS (SELECT 1 FROM contact_override o"
    "  WHERE o.network >>= ip.a),"
    " cov.registry, n.status, n.email, n.source, n.net_text,"
    " n.chain, n.reason, host(n.first_ip), host(n.last_ip),"
    " to_char(n.fetched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " n.expires_at > now(), n.raw_answer,"
    " host(cov.first_ip), host(cov.last_ip) "
    "FROM unnest($1::inet[]) WITH ORDINALITY AS ip(a, i) "
    "LEFT JOIN LATERAL ("
    " SELECT c.registry, c.first_ip, c.last_ip FROM whois_cover c"
    " WHERE c.first_ip <= ip.a AND c.last_ip >= ip.a"
    "  AND family(c.first_ip) = family(ip.a) AND c.expires_at > now()"
    " ORDER BY c.first_ip DESC, c.last_ip ASC LIMIT 1) cov ON true "
    "LEFT JOIN LATERAL ("
    " SELECT * FROM whois_net w WHERE w.registry = cov.registry"
    "  AND w.first_ip <= ip.a AND w.last_ip >= ip.a"
    "  AND family(w.first_ip) = family(ip.a)"
    "  AND w.first_ip >= cov.first_ip AND w.last_ip <= cov.last_ip"
    " ORDER BY w.first_ip DESC, w.last_ip ASC LIMIT 1) n ON true";

/* Row row of a lookup result, columns from c0 on (registry first). */
static void
answer_of(PGresult *r, int row, int c0, struct iw_cache_answer *a)
{
	char st[16], fresh[8];

	if (PQgetisnull(r, row, c0))
		return;		/* no cover: a miss */
	iw_db_get_str(r, row, c0, a->registry, sizeof(a->registry));
	iw_db_get_str(r, row, c0 + 12, a->cover_first, sizeof(a->cover_first));
	iw_db_get_str(r, row, c0 + 13, a->cover_last, sizeof(a->cover_last));
	a->status = IW_CACHE_REGISTRY;
	iw_db_get_str(r, row, c0 + 1, st, sizeof(st));
	iw_db_get_str(r, row, c0 + 10, fresh, sizeof(fresh));
	if (strcmp(fresh, "t") != 0 || (strcmp(st, "ok") != 0 &&
	    strcmp(st, "none") != 0))
		return;
	a->status = IW_CACHE_HIT;
	a->ok = strcmp(st, "ok") == 0;
	iw_db_get_str(r, row, c0 + 2, a->email, sizeof(a->email));
	iw_db_get_str(r, row, c0 + 3, a->source, sizeof(a->source));
	iw_db_get_str(r, row, c0 + 4, a->network, sizeof(a->network));
	iw_db_get_str(r, row, c0 + 5, a->chain, sizeof(a->chain));
	iw_db_get_str(r, row, c0 + 6, a->reason, sizeof(a->reason));
	iw_db_get_str(r, row, c0 + 7, a->first, sizeof(a->first));
	iw_db_get_str(r, row, c0 + 8, a->last, sizeof(a->last));
	iw_db_get_str(r, row, c0 + 9, a->fetched, sizeof(a->fetched));
	if (!PQgetisnull(r, row, c0 + 11))
		a->raw = iw_strdup(PQgetvalue(r, row, c0 + 11));
}

/* '{a,b,...}' of the IPs that are addresses (others become NULL so
 * that ordinality still matches).  NULL when out of memory. */
static char *
inet_array(const char *const *ips, size_t n)
{
	size_t cap = 2 + n * 48, len = 0;
	char *s = malloc(cap);
	unsigned char b[16];

	if (s == NULL)
		return NULL;
	s[len++] = '{';
	for (size_t i = 0; i < n; i++) {
		const char *v = ips[i] != NULL && strlen(ips[i]) < 46 &&
		    (inet_pton(AF_INET, ips[i], b) == 1 ||
		    inet_pton(AF_INET6, ips[i], b) == 1) ? ips[i] : "NULL";

		len += (size_t)snprintf(s + len, cap - len, "%s%s",
		    i > 0 ? "," : "", v);
	}
	s[len++] = '}';
	s[len] = '\0';
	return s;
}

int
iw_cache_lookup_many(struct pg_conn *pg, const char *const *ips, size_t n,
    struct iw_cache_answer *a, struct iw_err *err)
{
	const char *p[1];
	char *arr;
	PGresult *r;
	int rows;

	if (n > IW_CACHE_BATCH_MAX) {
		iw_err_set(err, "contact cache: batch of %zu IPs", n);
		return -1;
	}
	memset(a, 0, n * sizeof(*a));
	if (n == 0)
		return 0;
	if ((arr = inet_array(ips, n)) == NULL) {
		iw_err_set(err, "contact cache: out of memory");
		return -1;
	}
	p[0] = arr;
	r = PQexecParams(pg, lookup_many_sql, 1, NULL, p, NULL, NULL, 0);
	free(arr);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		iw_err_set(err, "contact cache lookup: %s",
		    PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	rows = PQntuples(r);
	for (int row = 0; row < rows; row++) {
		long i = strtol(PQgetvalue(r, row, 0), NULL, 10) - 1;
		char ov[8];

		if (i < 0 || (size_t)i >= n)
			continue;
		iw_db_get_str(r, row, 1, ov, sizeof(ov));
		if (strcmp(ov, "t") == 0) {
			a[i].overridden = 1;
			continue;
		}
		answer_of(r, row, 2, &a[i]);
	}
	PQclear(r);
	return 0;
}

int
iw_cache_lookup(struct pg_conn *pg, const char *ip,
    struct iw_cache_answer *a, struct iw_err *err)
{
	const char *p[1] = { ip };
	PGresult *r;

	memset(a, 0, sizeof(*a));
	r = PQexecParams(pg, lookup_sql, 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		iw_err_set(err, "contact cache lookup: %s",
		    PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	answer_of(r, 0, 0, a);
	PQclear(r);
	return 0;
}

void
iw_cache_answer_free(struct iw_cache_answer *a)
{
	if (a == NULL)
		return;
	free(a->raw);
	a->raw = NULL;
}

static int
cmd(struct pg_conn *pg, const char *sql, int n, const char *const *p,
    const char *what, struct iw_err *err)
{
	PGresult *r = PQexecParams(pg, sql, n, NULL, p, NULL, NULL, 0);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok)
		iw_err_set(err, "%s: %s", what, PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

int
iw_cache_store_net(struct pg_conn *pg, long long ttl_s,
    const struct iw_cache_net *n, struct iw_err *err)
{
	static const char sql[] =
	    "INSERT INTO whois_net (registry, first_ip, last_ip, net_text,"
	    " status, email, source, chain, reason, raw_answer, expires_at)"
	    " VALUES ($1, $2::inet, $3::inet, $4, $5, $6, $7, $8, $9, $10,"
	    " now() + make_interval(secs => $11::double precision))"
	    " ON CONFLICT (registry, first_ip, last_ip) DO UPDATE SET"
	    " net_text = EXCLUDED.net_text, status = EXCLUDED.status,"
	    " email = EXCLUDED.email, source = EXCLUDED.source,"
	    " chain = EXCLUDED.chain, reason = EXCLUDED.reason,"
	    " raw_answer = EXCLUDED.raw_answer, fetched_at = now(),"
	    " expires_at = EXCLUDED.expires_at"
	    " WHERE EXCLUDED.status <> 'unknown'"
	    "  OR whois_net.status = 'unknown'"
	    "  OR whois_net.expires_at <= now()";
	char ttl[32];
	const char *p[11];

	snprintf(ttl, sizeof(ttl), "%lld", ttl_s);
	p[0] = n->registry;
	p[1] = n->first;
	p[2] = n->last;
	p[3] = n->text;
	p[4] = n->status;
	p[5] = n->email;
	p[6] = n->source;
	p[7] = n->chain;
	p[8] = n->reason;
	p[9] = n->raw;
	p[10] = ttl;
	return cmd(pg, sql, 11, p, "contact cache store", err);
}

int
iw_cache_store_cover(struct pg_conn *pg, long long ttl_s,
    const char *registry, const char *first, const char *last,
    const char *how, struct iw_err *err)
{
	static const char sql[] =
	    "INSERT INTO whois_cover (registry, first_ip, last_ip, how,"
	    " expires_at) VALUES ($1, $2::inet, $3::inet, $4,"
	    " now() + make_interval(secs => $5::double precision))"
	    " ON CONFLICT (registry, first_ip, last_ip) DO UPDATE SET"
	    " how = EXCLUDED.how, fetched_at = now(),"
	    " expires_at = EXCLUDED.expires_at";
	char ttl[32];
	const char *p[5] = { registry, first, last, how, ttl };

	snprintf(ttl, sizeof(ttl), "%lld", ttl_s);
	return cmd(pg, sql, 5, p, "contact cache cover", err);
}

int
iw_cache_covered(struct pg_conn *pg, const char *ip, struct iw_err *err)
{
	static const char sql[] =
	    "SELECT 1 FROM whois_cover WHERE first_ip <= $1::inet"
	    " AND last_ip >= $1::inet AND family(first_ip) = family($1::inet)"
	    " AND expires_at > now() LIMIT 1";
	const char *p[1] = { ip };
	PGresult *r = PQexecParams(pg, sql, 1, NULL, p, NULL, NULL, 0);
	int n;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		iw_err_set(err, "contact cache: %s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	n = PQntuples(r) > 0;
	PQclear(r);
	return n;
}
