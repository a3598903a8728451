/*
 * outcome: observation rounds of a campaign.  See outcome.h.
 */
#include "outcome.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* The round's time (now when at is NULL) and whether it lies ahead. */
static int
round_time(struct iw_db *db, const char *at, struct iw_outcome_round *r,
    int *future, struct iw_err *err)
{
	char skew[16];
	const char *p[2] = { at, skew };
	PGresult *res;

	snprintf(skew, sizeof(skew), "%d", IW_OUTCOME_SKEW_S);
	res = iw_db_exec(db, "SELECT coalesce($1::timestamptz, now()) > "
	    "now() + $2 * interval '1 second', "
	    "to_char(coalesce($1::timestamptz, now()) AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')", 2, p, "observation time",
	    err);
	if (res == NULL)
		return -1;
	*future = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	iw_db_get_str(res, 0, 1, r->at, sizeof(r->at));
	PQclear(res);
	return 0;
}

int
iw_outcome_observe(struct iw_db *db, int64_t campaign_id, const char *at,
    const char *ips, const char *source, const char *actor,
    enum iw_outcome_result *result, struct iw_outcome_round *r,
    struct iw_err *err)
{
	char cid[32], oid[32], listed[32], foreign[32];
	const char *p[6];
	PGresult *res;
	int future;

	memset(r, 0, sizeof(*r));
	*result = IW_OUTCOME_RECORDED;
	snprintf(cid, sizeof(cid), "%" PRId64, campaign_id);
	if (iw_db_begin(db, err) < 0)
		return -1;
	if (round_time(db, at, r, &future, err) < 0)
		goto fail;
	if (future) {
		*result = IW_OUTCOME_FUTURE;
		iw_db_rollback(db);
		return 0;
	}
	p[0] = cid;
	p[1] = ips;
	res = iw_db_exec(db, "WITH l AS (SELECT DISTINCT unnest($2::inet[]) "
	    "AS ip) SELECT count(*), count(t.id) FROM l LEFT JOIN target t "
	    "ON t.campaign_id = $1 AND t.ip = l.ip", 2, p, "observation",
	    err);
	if (res == NULL)
		goto fail;
	r->listed = iw_db_get_ll(res, 0, 0);
	r->foreign = r->listed - iw_db_get_ll(res, 0, 1);
	PQclear(res);
	if (r->listed == r->foreign) {
		*result = IW_OUTCOME_NONE_OURS;
		iw_db_rollback(db);
		return 0;
	}
	p[1] = r->at;
	p[2] = source;
	p[3] = actor;
	snprintf(listed, sizeof(listed), "%ld", r->listed);
	snprintf(foreign, sizeof(foreign), "%ld", r->foreign);
	p[4] = listed;
	p[5] = foreign;
	res = iw_db_exec(db, "INSERT INTO observation (campaign_id, at, "
	    "source, actor, listed, foreign_ips) VALUES ($1, $2, $3, $4, $5, "
	    "$6) RETURNING id", 6, p, "observation", err);
	if (res == NULL)
		goto fail;
	iw_db_get_str(res, 0, 0, oid, sizeof(oid));
	PQclear(res);
	p[1] = ips;
	p[2] = oid;
	if (iw_db_cmd(db, "INSERT INTO observation_target (observation_id, "
	    "target_id, flagged) SELECT $3, t.id, l.ip IS NOT NULL FROM "
	    "target t LEFT JOIN (SELECT DISTINCT unnest($2::inet[]) AS ip) l "
	    "ON l.ip = t.ip WHERE t.campaign_id = $1", 3, p,
	    "observation IPs", err) < 0)
		goto fail;
	/* This round against the rounds before it (by time). */
	res = iw_db_exec(db, "SELECT count(*) FILTER (WHERE ot.flagged), "
	    "count(*) FILTER (WHERE NOT ot.flagged), count(*) FILTER (WHERE "
	    "NOT ot.flagged AND NOT e.fixed), count(*) FILTER (WHERE "
	    "ot.flagged AND e.fixed) FROM observation_target ot JOIN "
	    "observation o ON o.id = ot.observation_id CROSS JOIN LATERAL "
	    "(SELECT EXISTS (SELECT 1 FROM observation_target x JOIN "
	    "observation y ON y.id = x.observation_id WHERE x.target_id = "
	    "ot.target_id AND NOT x.flagged AND y.at < o.at) AS fixed) e "
	    "WHERE ot.observation_id = $1", 1, p + 2, "observation counts",
	    err);
	if (res == NULL)
		goto fail;
	r->flagged = iw_db_get_ll(res, 0, 0);
	r->fixed = iw_db_get_ll(res, 0, 1);
	r->newly_fixed = iw_db_get_ll(res, 0, 2);
	r->relapsed = iw_db_get_ll(res, 0, 3);
	PQclear(res);
	return iw_db_commit(db, err);
fail:
	iw_db_rollback(db);
	return -1;
}
