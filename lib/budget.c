/*
 * budget: the WHOIS budget shared in PostgreSQL.  See budget.h.
 *
 * A query start is reserved with one atomic upsert on the server's row:
 * next_at moves on by the interval from max(next_at, now), and the caller
 * waits until its slot (the old next_at).  Reservations of all daemons
 * are thus serialised by the row, and the rate holds for them together
 * however many there are.  While open_until is in the future nothing is
 * reserved.  The clock is the database's (clock_timestamp()), one for all.
 */
#include "budget.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

static const char reserve_sql[] =
    "INSERT INTO whois_budget AS b (server, next_at) VALUES ($1,"
    " clock_timestamp() + make_interval(secs => $2::double precision"
    " / 1000)) ON CONFLICT (server) DO UPDATE SET next_at ="
    " greatest(b.next_at, clock_timestamp()) +"
    " make_interval(secs => $2::double precision / 1000)"
    " WHERE b.open_until IS NULL OR b.open_until <= clock_timestamp()"
    " RETURNING greatest(0, round(1000 * extract(epoch FROM"
    " b.next_at - clock_timestamp())) - $2::bigint)::bigint";

static const char open_sql[] =
    "SELECT greatest(0, round(1000 * extract(epoch FROM"
    " open_until - clock_timestamp())))::bigint FROM whois_budget"
    " WHERE server = $1";

static const char refused_sql[] =
    "UPDATE whois_budget SET open_until = greatest(coalesce(open_until,"
    " clock_timestamp()), clock_timestamp() +"
    " make_interval(secs => $2::double precision / 1000))"
    " WHERE server = $1";

/* One statement; the first column of its one row into *v (0 if none).
 * 1 a row, 0 none, -1 error. */
static int
one_value(struct pg_conn *pg, const char *sql, const char *server,
    long long ms, long long *v, struct iw_err *err)
{
	char num[32];
	const char *p[2] = { server, num };
	PGresult *r;
	int st, n;

	snprintf(num, sizeof(num), "%lld", ms);
	r = PQexecParams(pg, sql, sql == open_sql ? 1 : 2, NULL, p, NULL,
	    NULL, 0);
	st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		iw_err_set(err, "whois budget: %s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	n = st == PGRES_TUPLES_OK && PQntuples(r) > 0;
	*v = n ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return n;
}

int
iw_budget_reserve(struct pg_conn *pg, const char *server,
    long long interval_ms, long long *wait_ms, struct iw_err *err)
{
	int r = one_value(pg, reserve_sql, server, interval_ms, wait_ms, err);

	if (r != 0)
		return r < 0 ? -1 : 0;
	/* No row: backed off (the upsert's WHERE refused). */
	return one_value(pg, open_sql, server, 0, wait_ms, err) < 0 ? -1 : 1;
}

int
iw_budget_refused(struct pg_conn *pg, const char *server, long long open_ms,
    struct iw_err *err)
{
	long long unused;

	return one_value(pg, refused_sql, server, open_ms, &unused, err) < 0 ?
	    -1 : 0;
}
