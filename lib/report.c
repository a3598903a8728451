/*
 * report: reading a campaign's numbers from the database, and the
 * interval of the lift.  See report.h.
 */
#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

const char *const iw_report_dim_keys[IW_REPORT_NDIM] = {
	"by_locale", "by_country", "by_registry", "by_source"
};

/* What each dimension groups the campaign's IPs by. */
static const char *const dim_sql[IW_REPORT_NDIM] = {
	"t.locale", "t.country",
	/* The registry that answered; for an operator override or a
	 * cached answer, the kind of source. */
	"coalesce(t.whois_server, split_part(t.contact_source, ' ', 1))",
	"split_part(t.contact_source, ' ', 1)",
};

/*
 * Per IP of the campaign $1: its letters (every letter that carried it),
 * and its outcome over the observation rounds: fixed when the latest round
 * did not list it, fixed_at the first round that did not.
 */
#define CTE "WITH lt AS (SELECT x.target_id, l.id, l.state, l.sent_at " \
	"FROM letter_target x JOIN letter l ON l.id = x.letter_id WHERE " \
	"l.campaign_id = $1), obs AS (SELECT ot.target_id, min(o.at) " \
	"FILTER (WHERE NOT ot.flagged) AS fixed_at, NOT (array_agg(" \
	"ot.flagged ORDER BY o.at DESC, o.id DESC))[1] AS fixed FROM " \
	"observation_target ot JOIN observation o ON o.id = " \
	"ot.observation_id WHERE o.campaign_id = $1 GROUP BY 1), " \
	"notified AS (SELECT target_id, min(sent_at) AS sent_at FROM lt " \
	"WHERE sent_at IS NOT NULL GROUP BY 1) "

/* Seen fixed in a round, listed again in the latest. */
#define RELAPSED "o.fixed_at IS NOT NULL AND NOT o.fixed"

static double
round_to(double v, double scale)
{
	return round(v * scale) / scale;
}

/* Out of memory while reading res: -1. */
static int
oom(PGresult *res, struct iw_err *err)
{
	PQclear(res);
	iw_err_set(err, "out of memory");
	return -1;
}

static void
arm_rate(struct iw_report_arm *a)
{
	a->has_rate = a->ips > 0;
	a->rate = a->has_rate ? round_to((double)a->fixed / (double)a->ips,
	    1e4) : 0;
}

/* Wilson score interval for x of n at z. */
static void
wilson(long x, long n, double z, double *lo, double *hi)
{
	double p = (double)x / (double)n, z2 = z * z, dn = (double)n;
	double den = 1 + z2 / dn, mid = (p + z2 / (2 * dn)) / den;
	double half = z / den * sqrt(p * (1 - p) / dn + z2 / (4 * dn * dn));

	*lo = mid - half < 0 ? 0 : mid - half;
	*hi = mid + half > 1 ? 1 : mid + half;
}

int
iw_report_newcombe(long x1, long n1, long x2, long n2, double *lo,
    double *hi)
{
	const double z = 1.959963984540054;
	double p1, p2, l1, u1, l2, u2, d;

	if (n1 <= 0 || n2 <= 0)
		return -1;
	p1 = (double)x1 / (double)n1;
	p2 = (double)x2 / (double)n2;
	wilson(x1, n1, z, &l1, &u1);
	wilson(x2, n2, z, &l2, &u2);
	d = p1 - p2;
	*lo = d - sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2));
	*hi = d + sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2));
	return 0;
}

static PGresult *
query(struct iw_db *db, const char *sql, const char *cid, const char *what,
    struct iw_err *err)
{
	const char *p[1] = { cid };

	return iw_db_exec(db, sql, 1, p, what, err);
}

static int
load_funnel(struct iw_db *db, const char *cid, struct iw_report *r,
    struct iw_err *err)
{
	PGresult *res = query(db, "SELECT c.name, c.state, c.holdout::text, "
	    "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"
	    "), t.*, (SELECT count(*) FROM letter l WHERE "
	    "l.campaign_id = c.id), (SELECT count(*) FROM letter l WHERE "
	    "l.campaign_id = c.id AND l.sent_at IS NOT NULL), (SELECT "
	    "count(*) FROM letter l WHERE l.campaign_id = c.id AND l.state = "
	    "'bounced'), (SELECT count(DISTINCT x.target_id) FROM "
	    "letter_target x JOIN letter l ON l.id = x.letter_id WHERE "
	    "l.campaign_id = c.id AND l.state = 'sent') FROM campaign c "
	    "CROSS JOIN LATERAL (SELECT count(*), count(*) FILTER (WHERE "
	    "state IN ('resolved', 'notified', 'held', 'control')), count(*) "
	    "FILTER (WHERE state = 'unresolved'), count(*) FILTER (WHERE "
	    "state = 'held'), count(*) FILTER (WHERE state = 'control') FROM "
	    "target x WHERE x.campaign_id = c.id) t WHERE c.id = $1", cid,
	    "report funnel", err);

	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		iw_err_set(err, "no campaign %s", cid);
		return -1;
	}
	iw_db_get_str(res, 0, 0, r->campaign, sizeof(r->campaign));
	iw_db_get_str(res, 0, 1, r->state, sizeof(r->state));
	r->holdout_centi = (int)lround(atof(PQgetvalue(res, 0, 2)) * 100);
	iw_db_get_str(res, 0, 3, r->generated_at,
	    sizeof(r->generated_at));
	r->enqueued = iw_db_get_ll(res, 0, 4);
	r->resolved = iw_db_get_ll(res, 0, 5);
	r->unresolved = iw_db_get_ll(res, 0, 6);
	r->held = iw_db_get_ll(res, 0, 7);
	r->control = iw_db_get_ll(res, 0, 8);
	r->letters = iw_db_get_ll(res, 0, 9);
	r->sent = iw_db_get_ll(res, 0, 10);
	r->bounced = iw_db_get_ll(res, 0, 11);
	r->delivered_ips = iw_db_get_ll(res, 0, 12);
	PQclear(res);
	return 0;
}

static int
load_dim(struct iw_db *db, const char *cid, enum iw_report_dim d,
    struct iw_report *r, struct iw_err *err)
{
	struct iw_buf sql = IW_BUF_INIT;
	PGresult *res;
	int i, n;

	if (iw_buf_printf(&sql, CTE "SELECT coalesce(nullif(%s, ''), "
	    "'unknown'), count(DISTINCT t.id), count(DISTINCT lt.id), "
	    "count(DISTINCT lt.id) FILTER (WHERE lt.sent_at IS NOT NULL), "
	    "count(DISTINCT lt.id) FILTER (WHERE lt.state = 'bounced'), "
	    "count(DISTINCT t.id) FILTER (WHERE o.fixed) FROM target t "
	    "LEFT JOIN lt ON lt.target_id = t.id LEFT JOIN obs o ON "
	    "o.target_id = t.id WHERE t.campaign_id = $1 GROUP BY 1 "
	    "ORDER BY 2 DESC, 1", dim_sql[d]) < 0) {
		iw_buf_free(&sql);
		iw_err_set(err, "out of memory");
		return -1;
	}
	res = query(db, sql.data, cid, iw_report_dim_keys[d], err);
	iw_buf_free(&sql);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	r->dim[d] = iw_calloc(n > 0 ? (size_t)n : 1, sizeof(*r->dim[d]));
	if (r->dim[d] == NULL)
		return oom(res, err);
	for (i = 0; i < n; i++) {
		struct iw_report_group *g = &r->dim[d][i];

		if ((g->key = iw_strdup(PQgetvalue(res, i, 0))) == NULL)
			return oom(res, err);
		r->ndim[d]++;
		g->ips = iw_db_get_ll(res, i, 1);
		g->letters = iw_db_get_ll(res, i, 2);
		g->sent = iw_db_get_ll(res, i, 3);
		g->bounced = iw_db_get_ll(res, i, 4);
		g->fixed = iw_db_get_ll(res, i, 5);
	}
	PQclear(res);
	return 0;
}

static int
load_counts(struct iw_db *db, const char *cid, const char *sql,
    struct iw_report_count **out, size_t *nout, const char *what,
    struct iw_err *err)
{
	PGresult *res = query(db, sql, cid, what, err);
	int i, n;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	if ((*out = iw_calloc(n > 0 ? (size_t)n : 1, sizeof(**out))) == NULL)
		return oom(res, err);
	for (i = 0; i < n; i++) {
		if (((*out)[i].key = iw_strdup(PQgetvalue(res, i, 0))) == NULL)
			return oom(res, err);
		(*out)[i].n = iw_db_get_ll(res, i, 1);
		(*nout)++;
	}
	PQclear(res);
	return 0;
}

static int
load_remediation(struct iw_db *db, const char *cid, struct iw_report *r,
    struct iw_err *err)
{
	PGresult *res = query(db, CTE "SELECT count(n.target_id), count(*) "
	    "FILTER (WHERE n.target_id IS NOT NULL AND o.fixed), count(*) "
	    "FILTER (WHERE t.state = 'control'), count(*) FILTER (WHERE "
	    "t.state = 'control' AND o.fixed), count(*) FILTER (WHERE "
	    "n.target_id IS NOT NULL AND " RELAPSED "), count(*) FILTER "
	    "(WHERE t.state = 'control' AND " RELAPSED "), "
	    "percentile_cont(0.5) WITHIN "
	    "GROUP (ORDER BY greatest(0, extract(epoch FROM o.fixed_at - "
	    "n.sent_at)) / 86400) FILTER (WHERE n.target_id IS NOT NULL AND "
	    "o.fixed) FROM target t LEFT JOIN notified n ON n.target_id = "
	    "t.id LEFT JOIN obs o ON o.target_id = t.id WHERE t.campaign_id "
	    "= $1", cid, "remediation", err);

	if (res == NULL)
		return -1;
	r->notified.ips = iw_db_get_ll(res, 0, 0);
	r->notified.fixed = iw_db_get_ll(res, 0, 1);
	r->control_arm.ips = iw_db_get_ll(res, 0, 2);
	r->control_arm.fixed = iw_db_get_ll(res, 0, 3);
	r->notified.relapsed = iw_db_get_ll(res, 0, 4);
	r->control_arm.relapsed = iw_db_get_ll(res, 0, 5);
	arm_rate(&r->notified);
	arm_rate(&r->control_arm);
	r->has_median = !PQgetisnull(res, 0, 6);
	r->median_days = r->has_median ?
	    round_to(atof(PQgetvalue(res, 0, 6)), 100) : 0;
	PQclear(res);
	r->has_lift = r->notified.has_rate && r->control_arm.has_rate;
	if (r->has_lift) {
		r->lift = round_to((double)r->notified.fixed /
		    (double)r->notified.ips - (double)r->control_arm.fixed /
		    (double)r->control_arm.ips, 1e4);
		r->has_ci = iw_report_newcombe(r->notified.fixed,
		    r->notified.ips, r->control_arm.fixed, r->control_arm.ips,
		    &r->ci_lo, &r->ci_hi) == 0;
		r->ci_lo = round_to(r->ci_lo, 1e4);
		r->ci_hi = round_to(r->ci_hi, 1e4);
	}
	return 0;
}

/* Each round: of each arm's IPs it covered, how many it saw fixed. */
static int
load_rounds(struct iw_db *db, const char *cid, struct iw_report *r,
    struct iw_err *err)
{
	PGresult *res = query(db, CTE "SELECT to_char(o.at AT TIME ZONE "
	    "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), count(n.target_id), "
	    "count(*) FILTER (WHERE n.target_id IS NOT NULL AND NOT "
	    "ot.flagged), count(*) FILTER (WHERE t.state = 'control'), "
	    "count(*) FILTER (WHERE t.state = 'control' AND NOT ot.flagged) "
	    "FROM observation o JOIN observation_target ot ON "
	    "ot.observation_id = o.id JOIN target t ON t.id = ot.target_id "
	    "LEFT JOIN notified n ON n.target_id = t.id WHERE o.campaign_id "
	    "= $1 GROUP BY o.id, o.at ORDER BY o.at, o.id", cid,
	    "observation rounds", err);
	int i, n;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	r->rounds = iw_calloc(n > 0 ? (size_t)n : 1, sizeof(*r->rounds));
	if (r->rounds == NULL)
		return oom(res, err);
	for (i = 0; i < n; i++) {
		struct iw_report_round *o = &r->rounds[i];

		iw_db_get_str(res, i, 0, o->at, sizeof(o->at));
		o->notified.ips = iw_db_get_ll(res, i, 1);
		o->notified.fixed = iw_db_get_ll(res, i, 2);
		o->control.ips = iw_db_get_ll(res, i, 3);
		o->control.fixed = iw_db_get_ll(res, i, 4);
		arm_rate(&o->notified);
		arm_rate(&o->control);
	}
	r->nrounds = (size_t)n;
	PQclear(res);
	return 0;
}

int
iw_report_load(struct iw_db *db, int64_t campaign_id, struct iw_report *r,
    struct iw_err *err)
{
	char cid[32];
	int d;

	memset(r, 0, sizeof(*r));
	snprintf(cid, sizeof(cid), "%" PRId64, campaign_id);
	if (iw_db_cmd(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	    0, NULL, "begin", err) < 0)
		return -1;
	if (load_funnel(db, cid, r, err) < 0)
		goto fail;
	for (d = 0; d < IW_REPORT_NDIM; d++)
		if (load_dim(db, cid, (enum iw_report_dim)d, r, err) < 0)
			goto fail;
	if (load_counts(db, cid, "SELECT b.class, count(*) FROM bounce b "
	    "JOIN letter l ON l.id = b.letter_id WHERE l.campaign_id = $1 "
	    "AND b.verified GROUP BY 1 ORDER BY 2 DESC, 1", &r->bounces,
	    &r->nbounces, "bounces", err) < 0 ||
	    load_counts(db, cid, "SELECT coalesce(nullif(reason, ''), "
	    "'unknown'), count(*) FROM target WHERE campaign_id = $1 AND "
	    "state = 'unresolved' GROUP BY 1 ORDER BY 2 DESC, 1",
	    &r->reasons, &r->nreasons, "unresolved reasons", err) < 0 ||
	    load_remediation(db, cid, r, err) < 0 ||
	    load_rounds(db, cid, r, err) < 0)
		goto fail;
	return iw_db_commit(db, err);
fail:
	iw_db_rollback(db);
	iw_report_free(r);
	return -1;
}

void
iw_report_free(struct iw_report *r)
{
	size_t i;
	int d;

	for (d = 0; d < IW_REPORT_NDIM; d++) {
		for (i = 0; i < r->ndim[d]; i++)
			free(r->dim[d][i].key);
		free(r->dim[d]);
		r->dim[d] = NULL;
		r->ndim[d] = 0;
	}
	for (i = 0; i < r->nbounces; i++)
		free(r->bounces[i].key);
	for (i = 0; i < r->nreasons; i++)
		free(r->reasons[i].key);
	free(r->bounces);
	free(r->reasons);
	free(r->rounds);
	r->bounces = r->reasons = NULL;
	r->rounds = NULL;
	r->nbounces = r->nreasons = r->nrounds = 0;
}
