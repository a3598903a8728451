/*
 * metrics_db: the shared database's gauges for GET /metrics — letters and
 * IPs per campaign and state, bounces per class — read by one grouped
 * query (daemon/metrics.c decides how often) and written in the exposition
 * format of lib/metrics.h.
 */
#include "metrics_db.h"

#include <libpq-fe.h>

#include "metrics.h"

/* Every state of every campaign, 0 when empty, so series do not vanish. */
#define STATES(kind, list) "SELECT '" kind "', c.name, s.state, " \
	"coalesce(x.n, 0) FROM campaign c CROSS JOIN unnest(ARRAY[" list \
	"]) AS s(state) LEFT JOIN x_" kind " x ON x.campaign_id = c.id AND " \
	"x.state = s.state"

int
iw_metrics_db(struct iw_db *db, struct iw_buf *b, struct iw_err *err)
{
	static const char *const fam[3][2] = {
		{ "ipwarn_letters", "Letters by campaign and state." },
		{ "ipwarn_targets", "Flagged IPs by campaign and state." },
		{ "ipwarn_bounces_total", "Bounces recorded, by class." },
	};
	PGresult *res;
	int i, f = -1, bad = 0;

	res = iw_db_exec(db, "WITH x_l AS (SELECT campaign_id, "
	    IW_DB_LETTER_STATE("l") " AS state, count(*) AS n FROM letter l "
	    "GROUP BY 1, 2), x_t AS (SELECT "
	    "t.campaign_id, CASE WHEN t.state = 'resolved' AND l.state IN "
	    "('sent', 'bounced') THEN 'notified' ELSE t.state END AS state, "
	    "count(*) AS n FROM target t LEFT JOIN letter l ON l.id = "
	    "t.letter_id GROUP BY 1, 2) "
	    STATES("l", "'queued', 'sending', 'deferred', 'sent', 'failed', "
	    "'bounced', 'cancelled'") " UNION ALL "
	    STATES("t", "'new', 'resolved', 'unresolved', 'notified', "
	    "'held', 'control'") " UNION ALL SELECT 'b', '', k.class, "
	    "count(b.id) FROM unnest(ARRAY['hard', 'soft', 'transient', "
	    "'ours', 'complaint', 'autoreply', 'delivered', 'undetermined']) "
	    "AS k(class) LEFT JOIN bounce b ON b.class = k.class GROUP BY 3 "
	    "ORDER BY 1 DESC, 2, 3", 0, NULL, "metrics", err);
	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res) && bad == 0; i++) {
		const char *kind = PQgetvalue(res, i, 0);
		int k = *kind == 'l' ? 0 : *kind == 't' ? 1 : 2;

		if (k != f) {
			f = k;
			bad |= iw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n",
			    fam[k][0], fam[k][1], fam[k][0], k == 2 ?
			    "counter" : "gauge");
		}
		if (k == 2) {
			bad |= iw_buf_printf(b, "%s{class=", fam[k][0]);
		} else {
			bad |= iw_buf_printf(b, "%s{campaign=", fam[k][0]);
			bad |= iw_metrics_label(b, PQgetvalue(res, i, 1));
			bad |= iw_buf_puts(b, ",state=");
		}
		bad |= iw_metrics_label(b, PQgetvalue(res, i, 2));
		bad |= iw_buf_printf(b, "} %s\n", PQgetvalue(res, i, 3));
	}
	PQclear(res);
	if (bad < 0) {
		iw_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}
