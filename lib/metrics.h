/*
 * metrics: ipwarnd's figures in the Prometheus text exposition format
 * (version 0.0.4).  Counters of this process are bumped where the event
 * happens — an SMTP attempt's result (one relaxed atomic add, nothing
 * else, in the send path), a WHOIS query and a throttled one per server.
 * The shared database's gauges are metrics_db.h's; the HTTP side is the
 * daemon's (daemon/metrics.c); this module only counts and writes text.
 * The counters live in a struct iw_metrics the daemon owns and hands to
 * the code that counts (a NULL one counts nothing).
 */
#ifndef IW_METRICS_H
#define IW_METRICS_H

#include "util.h"

enum iw_metrics_smtp {
	IW_METRICS_SMTP_SENT,
	IW_METRICS_SMTP_DEFERRED,
	IW_METRICS_SMTP_FAILED,
	IW_METRICS_SMTP_N
};

/* Servers counted by name; past this many, as server="other". */
#define IW_METRICS_MAX_SERVERS 64

struct iw_metrics;

/* NULL when out of memory.  _free(NULL) is a no-op. */
struct iw_metrics *iw_metrics_new(void);
void iw_metrics_free(struct iw_metrics *m);

/* One SMTP attempt with this result (thread-safe, lock-free). */
void iw_metrics_smtp(struct iw_metrics *m, enum iw_metrics_smtp result);
/* One WHOIS query sent to server; throttled: it refused, reset or
 * rate-limited us (thread-safe; a lock only for a server not seen yet). */
void iw_metrics_whois(struct iw_metrics *m, const char *server,
    int throttled);

/* WHOIS queries counted, all servers. */
unsigned long iw_metrics_whois_total(struct iw_metrics *m);

/* The counters, in the exposition format. */
int iw_metrics_counters(struct iw_metrics *m, struct iw_buf *out);
/* value as an exposition-format label value: \ " and newline escaped. */
int iw_metrics_label(struct iw_buf *out, const char *value);

#endif
