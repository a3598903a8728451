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

/*
 * Query slots.  Slot s of server is the session advisory lock with the
 * 64-bit key hashtext('whois:' || server) * 256 + s: the one-key form,
 * which never meets the two-key (class, id) locks of lib/db.c and
 * lib/campaign.c.  A hash collision between two servers only makes them
 * share slots (slower, never faster).  Slots are tried in turn, one
 * statement each, so at most one is taken.
 */
static const char slot_take_sql[] =
    "SELECT pg_try_advisory_lock((hashtext('whois:' || $1)::bigint * 256)"
    " + $2::int)";

static const char slot_give_sql[] =
    "SELECT pg_advisory_unlock((hashtext('whois:' || $1)::bigint * 256)"
    " + $2::int)";

/* 1 the lock function said true, 0 false, -1 error. */
static int
slot_cmd(struct pg_conn *pg, const char *sql, const char *server, int slot,
    struct iw_err *err)
{
	char num[16];
	const char *p[2] = { server, num };
	PGresult *r;
	int v;

	snprintf(num, sizeof(num), "%d", slot);
	r = PQexecParams(pg, sql, 2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		iw_err_set(err, "whois slot: %s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	v = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return v;
}

int
iw_budget_slot_take(struct pg_conn *pg, const char *server, int concurrency,
    struct iw_err *err)
{
	if (concurrency > 256)
		concurrency = 256;
	for (int s = 0; s < concurrency; s++) {
		int r = slot_cmd(pg, slot_take_sql, server, s, err);

		if (r != 0)
			return r < 0 ? -1 : s;
	}
	return IW_BUDGET_SLOTS_BUSY;
}

int
iw_budget_slot_give(struct pg_conn *pg, const char *server, int slot,
    struct iw_err *err)
{
	int r = slot_cmd(pg, slot_give_sql, server, slot, err);

	if (r == 0) {
		iw_err_set(err, "whois slot %d of %s was not held", slot,
		    server);
		return -1;
	}
	return r < 0 ? -1 : 0;
}
