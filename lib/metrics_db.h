/*
 * metrics_db: the database's gauges for GET /metrics (see lib/metrics.h
 * for the format and the process's own counters).
 */
#ifndef IW_METRICS_DB_H
#define IW_METRICS_DB_H

#include "db.h"
#include "util.h"

/* Letters and IPs per campaign and state, bounces per class (one query),
 * appended to out in the exposition format. */
int iw_metrics_db(struct iw_db *db, struct iw_buf *out, struct iw_err *err);

#endif
