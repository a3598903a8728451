/*
 * fallback: the fallback contact chain in the database.  See fallback.h.
 */
#include "fallback.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * What a move does to a target row (its old values on the right): back to
 * 'new' for the fallback stage, its letter link dropped (letter_target
 * keeps the history), the address that failed added to the tried list and
 * named for the fallback letter, and the chain so far extended by why (a
 * parameter such as "$2", or an SQL expression).
 */
#define MOVE_SET(why) "state = 'new', letter_id = NULL, " \
	"next_attempt_at = now(), attempts = 0, locked_by = NULL, " \
	"locked_until = NULL, reason = NULL, " \
	"fallback_step = t.fallback_step + 1, fallback_tried = " \
	"t.fallback_tried || t.contact_email, fallback_why = t.contact_email, " \
	"fallback_chain = coalesce(t.contact_source, 'contact') || ' <' || " \
	"t.contact_email || '>: ' || " why

static long
run(struct pg_conn *c, const char *sql, int n, const char *const *v,
    const char *what, struct iw_err *err)
{
	PGresult *res = PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	long rows;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		iw_err_set(err, "database: %s: %s", what,
		    PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	rows = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return rows;
}

long
iw_fallback_move_letter(struct pg_conn *c, int64_t letter_id,
    const char *why, struct iw_err *err)
{
	char sid[24];
	const char *v[2] = { sid, why };

	snprintf(sid, sizeof(sid), "%lld", (long long)letter_id);
	return run(c, "UPDATE target t SET " MOVE_SET("$2") " WHERE "
	    "t.letter_id = $1 AND t.state IN ('notified', 'resolved') AND "
	    "t.contact_email IS NOT NULL", 2, v, "move IPs to the fallback",
	    err);
}

long
iw_fallback_escalate_registry_run(struct iw_db *db, const char *countries,
    struct iw_err *err)
{
	const char *v[1] = { countries };
	PGresult *res;
	long n;

	/* Level PARENT: the registry's answer was already the least
	 * specific one there is, so the next step is the CERT.  The
	 * registry's address is the one "tried": it is never mailed. */
	res = iw_db_exec(db, "UPDATE target t SET " MOVE_SET("'a registry''s "
	    "own address, not the network''s abuse desk'") ", "
	    "fallback_level = 1 WHERE t.state = 'held' AND "
	    "t.fallback_step = 0 AND t.reason LIKE 'registry-run address %' "
	    "AND t.country = ANY ($1::text[]) AND t.campaign_id NOT IN "
	    "(SELECT id FROM campaign WHERE state = 'cancelled')", 1, v,
	    "escalate registry-run IPs", err);
	if (res == NULL)
		return -1;
	n = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return n;
}

long
iw_fallback_move_suppressed(struct pg_conn *c, struct iw_err *err)
{
	long a, b;

	a = run(c, "UPDATE target t SET " MOVE_SET("'suppressed (' || "
	    "coalesce(s.reason, s.source) || ')'") " FROM suppression s "
	    "WHERE t.state = 'resolved' AND t.letter_id IS NULL AND "
	    "t.contact_email = s.email", 0, NULL,
	    "move IPs of suppressed contacts", err);
	if (a < 0)
		return -1;
	/* A contact suppressed after its letter was built gets nothing:
	 * the letter fails and its IPs move on.  (The claim skips such
	 * letters, so they wait here at most a pass; one in flight, under a
	 * lease, is left to its sender's result.) */
	b = run(c, "WITH f AS (UPDATE letter l SET state = 'failed', "
	    "fail_reason = 'contact suppressed: ' || coalesce(s.reason, "
	    "s.source) FROM suppression s WHERE l.state IN ('queued', "
	    "'deferred') AND " IW_DB_UNLEASED("l") " AND l.contact_email = "
	    "s.email RETURNING l.id) "
	    "UPDATE target t SET " MOVE_SET("'suppressed'") " FROM f WHERE "
	    "t.letter_id = f.id AND t.state = 'resolved'", 0, NULL,
	    "move IPs of suppressed letters", err);
	return b < 0 ? -1 : a + b;
}

int
iw_fallback_claim(struct iw_db *db, const char *owner, long long lease_s,
    int limit, struct iw_fallback_target *out, int *n, struct iw_err *err)
{
	PGresult *res;
	int i, rows;

	*n = 0;
	res = iw_db_claim_new(db, "fallback_step > 0", "id, host(ip), "
	    "attempts, fallback_level, country, whois_server, whois_network, "
	    "fallback_chain", owner, lease_s, limit, err);
	if (res == NULL)
		return -1;
	rows = PQntuples(res);
	for (i = 0; i < rows && i < limit; i++) {
		struct iw_fallback_target *t = &out[i];

		t->id = iw_db_get_ll(res, i, 0);
		iw_db_get_str(res, i, 1, t->ip, sizeof(t->ip));
		t->attempts = (int)iw_db_get_ll(res, i, 2);
		t->level = (int)iw_db_get_ll(res, i, 3);
		iw_db_get_str(res, i, 4, t->country, sizeof(t->country));
		iw_db_get_str(res, i, 5, t->server, sizeof(t->server));
		iw_db_get_str(res, i, 6, t->network, sizeof(t->network));
		iw_db_get_str(res, i, 7, t->chain, sizeof(t->chain));
	}
	*n = i;
	PQclear(res);
	return 0;
}

int
iw_fallback_usable(struct iw_db *db, int64_t id, const char *email,
    struct iw_err *err)
{
	char sid[24];
	const char *p[2] = { sid, email };
	PGresult *res;
	int ok;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	res = iw_db_exec(db, "SELECT NOT ($2 = ANY (fallback_tried)) AND "
	    "NOT EXISTS (SELECT 1 FROM suppression WHERE email = $2) FROM "
	    "target WHERE id = $1", 2, p, "check a fallback contact", err);
	if (res == NULL)
		return -1;
	ok = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return ok;
}

int
iw_fallback_resolved(struct iw_db *db, const char *owner, int64_t id,
    const char *email, int level, const char *source, const char *network,
    struct iw_err *err)
{
	char sid[24], lv[8];
	const char *p[6] = { sid, owner, email, lv, source,
		network != NULL && *network != '\0' ? network : NULL };

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	snprintf(lv, sizeof(lv), "%d", level);
	return iw_db_cmd(db, "UPDATE target SET state = 'resolved', "
	    "contact_email = $3, fallback_level = $4::int, contact_source = $5, "
	    "whois_network = coalesce($6, whois_network), reason = NULL, "
	    "resolved_at = now(), locked_by = NULL, locked_until = NULL "
	    "WHERE id = $1 AND locked_by = $2", 6, p, "store a fallback "
	    "contact", err);
}

int
iw_fallback_held(struct iw_db *db, const char *owner, int64_t id,
    const char *chain, struct iw_err *err)
{
	char sid[24];
	const char *p[3] = { sid, owner, chain };

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	return iw_db_cmd(db, "UPDATE target SET state = 'held', reason = "
	    "'fallback chain exhausted: ' || $3, contact_source = $3, "
	    "locked_by = NULL, locked_until = NULL WHERE id = $1 AND "
	    "locked_by = $2", 3, p, "hold an IP", err);
}

int
iw_fallback_later(struct iw_db *db, const char *owner, int64_t id,
    long long delay_s, struct iw_err *err)
{
	char sid[24], d[32];
	const char *p[3] = { sid, owner, d };

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	snprintf(d, sizeof(d), "%lld", delay_s);
	return iw_db_cmd(db, "UPDATE target SET next_attempt_at = now() + "
	    "$3 * interval '1 second', locked_by = NULL, locked_until = NULL "
	    "WHERE id = $1 AND locked_by = $2", 3, p, "retry a moved IP", err);
}
