/*
 * progress: a campaign's progress from the database.  See progress.h.
 */
#include "progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* Seconds for left items at the pace of recent items in span seconds
 * (the window, or less when the work began within it); -1 if no pace. */
static long long
time_for(long left, long recent, double span)
{
	if (left <= 0)
		return 0;
	if (recent <= 0)
		return -1;
	if (span < 1)
		span = 1;
	return (long long)((double)left * span / (double)recent + 0.5);
}

static void
estimate(struct iw_progress *p, double rspan, double sspan)
{
	long long r = time_for(p->targets - p->resolved, p->resolved_recent,
	    rspan);
	long long s = time_for(p->due, p->sent_recent, sspan);

	/* Letters of IPs still being resolved are built later: while
	 * resolving, the sending pace of the last minute says little. */
	if (r < 0 || s < 0)
		p->eta_s = -1;
	else
		p->eta_s = r + s;
}

int
iw_progress_load(struct iw_db *db, int64_t campaign_id, int active_only,
    struct iw_progress **out, size_t *n, struct iw_err *err)
{
	char cid[32], win[16];
	const char *p[3] = { cid, win, active_only ? "t" : "f" };
	struct iw_progress *v;
	PGresult *res;
	int i, rows;

	*out = NULL;
	*n = 0;
	snprintf(cid, sizeof(cid), "%" PRId64, campaign_id);
	snprintf(win, sizeof(win), "%d", IW_PROGRESS_WINDOW_S);
	res = iw_db_exec(db, "SELECT c.id, c.name, t.n, t.n - t.fresh, "
	    "t.recent, l.n, l.sent, l.failed, l.due, l.waiting, l.recent, "
	    "extract(epoch FROM now() - t.first), extract(epoch FROM now() - "
	    "l.first) "
	    "FROM campaign c CROSS JOIN LATERAL (SELECT count(*) AS n, "
	    "count(*) FILTER (WHERE state = 'new') AS fresh, count(*) FILTER "
	    "(WHERE resolved_at > now() - $2 * interval '1 second') AS recent, "
	    "min(resolved_at) FILTER (WHERE resolved_at > now() - $2 * "
	    "interval '1 second') AS first FROM target WHERE campaign_id = "
	    "c.id) t CROSS JOIN LATERAL "
	    "(SELECT count(*) AS n, count(*) FILTER (WHERE sent_at IS NOT "
	    "NULL) AS sent, count(*) FILTER (WHERE state = 'failed') AS "
	    "failed, count(*) FILTER (WHERE state = 'queued' "
	    "OR (state = 'deferred' AND next_attempt_at <= now())) AS due, "
	    "count(*) FILTER (WHERE state = 'deferred' AND next_attempt_at > "
	    "now()) AS waiting, count(*) FILTER (WHERE sent_at > now() - $2 "
	    "* interval '1 second') AS recent, min(sent_at) FILTER (WHERE "
	    "sent_at > now() - $2 * interval '1 second') AS first FROM letter "
	    "WHERE campaign_id = c.id) l WHERE ($1 = 0 OR c.id = $1) AND "
	    "(NOT $3 OR t.fresh > 0 OR l.due > 0) ORDER BY c.id", 3, p, "progress", err);
	if (res == NULL)
		return -1;
	rows = PQntuples(res);
	if ((v = iw_calloc(rows > 0 ? (size_t)rows : 1, sizeof(*v))) == NULL) {
		PQclear(res);
		iw_err_set(err, "out of memory");
		return -1;
	}
	for (i = 0; i < rows; i++) {
		v[i].campaign_id = iw_db_get_ll(res, i, 0);
		iw_db_get_str(res, i, 1, v[i].campaign,
		    sizeof(v[i].campaign));
		v[i].targets = iw_db_get_ll(res, i, 2);
		v[i].resolved = iw_db_get_ll(res, i, 3);
		v[i].resolved_recent = iw_db_get_ll(res, i, 4);
		v[i].letters = iw_db_get_ll(res, i, 5);
		v[i].sent = iw_db_get_ll(res, i, 6);
		v[i].failed = iw_db_get_ll(res, i, 7);
		v[i].due = iw_db_get_ll(res, i, 8);
		v[i].waiting = iw_db_get_ll(res, i, 9);
		v[i].sent_recent = iw_db_get_ll(res, i, 10);
		estimate(&v[i], atof(PQgetvalue(res, i, 11)),
		    atof(PQgetvalue(res, i, 12)));
	}
	PQclear(res);
	*out = v;
	*n = (size_t)rows;
	return 0;
}

int
iw_progress_throttled(struct iw_db *db, struct iw_buf *out,
    struct iw_err *err)
{
	PGresult *res = iw_db_exec(db, "SELECT coalesce(string_agg(server, "
	    "', ' ORDER BY server), '') FROM whois_budget WHERE open_until > "
	    "now()", 0, NULL, "throttled servers", err);
	int bad;

	if (res == NULL)
		return -1;
	bad = iw_buf_puts(out, PQgetvalue(res, 0, 0));
	PQclear(res);
	if (bad < 0) {
		iw_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

static int
duration(struct iw_buf *b, long long s)
{
	if (s < 0)
		return iw_buf_puts(b, "unknown (no pace yet)");
	if (s >= 3600)
		return iw_buf_printf(b, "%lldh%02lldm", s / 3600,
		    s % 3600 / 60);
	if (s >= 60)
		return iw_buf_printf(b, "%lldm%02llds", s / 60, s % 60);
	return iw_buf_printf(b, "%llds", s);
}

int
iw_progress_text(const struct iw_progress *p, struct iw_buf *b)
{
	int bad = iw_buf_printf(b, "resolved %ld/%ld, letters sent %ld/%ld "
	    "(%ld failed, %ld deferred to later), ETA ", p->resolved,
	    p->targets, p->sent, p->letters, p->failed, p->waiting);

	bad |= duration(b, p->eta_s);
	return bad < 0 ? -1 : 0;
}

int
iw_progress_json(const struct iw_progress *p, struct iw_buf *b)
{
	int bad = iw_buf_printf(b, "\"resolved\": %ld, \"targets\": %ld, "
	    "\"letters_sent\": %ld, \"letters\": %ld, \"letters_failed\": %ld, "
	    "\"letters_due\": %ld, \"letters_deferred_later\": %ld, "
	    "\"eta_s\": ", p->resolved, p->targets, p->sent, p->letters,
	    p->failed, p->due, p->waiting);

	bad |= p->eta_s < 0 ? iw_buf_puts(b, "null") :
	    iw_buf_printf(b, "%lld", p->eta_s);
	return bad < 0 ? -1 : 0;
}
