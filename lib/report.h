/*
 * report: a campaign's numbers for `ipwarn report` — the funnel from
 * enqueued IPs to delivered letters, the same per locale, country,
 * registry and contact source, bounce classes, why IPs stayed unresolved,
 * and remediation: the share of notified IPs fixed at the latest
 * observation round against the control group's, the difference (lift)
 * with a 95 % interval (Newcombe's hybrid score interval, method 10 of
 * Newcombe 1998, from two Wilson score intervals), and the median days
 * from the letter to the first round that saw the IP fixed.
 *
 * iw_report_load reads everything in one repeatable-read transaction
 * (report.c); iw_report_json and iw_report_text (report_text.c) and
 * iw_report_html (report_html.c) write the same numbers.
 * A rate is fixed / ips as a fraction; it, the lift, the interval and the
 * median are absent (JSON null, has_* 0) when their denominator is 0.
 */
#ifndef IW_REPORT_H
#define IW_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "util.h"

struct iw_report_group {
	char *key;
	long ips, letters, sent, bounced, fixed;
};

struct iw_report_count {
	char *key;
	long n;
};

enum iw_report_dim {
	IW_REPORT_LOCALE,
	IW_REPORT_COUNTRY,
	IW_REPORT_REGISTRY,
	IW_REPORT_SOURCE,
	IW_REPORT_NDIM
};

/* The JSON key of each dimension: by_locale, by_country, ... */
extern const char *const iw_report_dim_keys[IW_REPORT_NDIM];

struct iw_report_arm {
	long ips, fixed;
	long relapsed;		/* fixed in an earlier round, listed in the
				   latest (the campaign's arms only) */
	int has_rate;
	double rate;		/* fixed / ips, rounded to 4 decimals */
};

/* One observation round: how many of each arm it saw fixed. */
struct iw_report_round {
	char at[40];		/* ISO 8601 UTC */
	struct iw_report_arm notified, control;
};

struct iw_report {
	char campaign[128];
	char state[16];
	int holdout_centi;
	char generated_at[40];
	long enqueued, resolved, unresolved, held, control;
	long letters, sent, bounced, delivered_ips;
	struct iw_report_group *dim[IW_REPORT_NDIM];
	size_t ndim[IW_REPORT_NDIM];
	struct iw_report_count *bounces, *reasons;
	size_t nbounces, nreasons;
	struct iw_report_arm notified, control_arm;
	int has_lift, has_ci, has_median;
	double lift, ci_lo, ci_hi;	/* rounded to 4 decimals */
	double median_days;		/* rounded to 2 decimals */
	struct iw_report_round *rounds;
	size_t nrounds;
};

/* Fill r for the campaign; -1 with err on a database error. */
int iw_report_load(struct iw_db *db, int64_t campaign_id,
    struct iw_report *r, struct iw_err *err);
void iw_report_free(struct iw_report *r);

/* Newcombe's hybrid score interval for p1 - p2 (x1 of n1, x2 of n2) at
 * 95 %; -1 when n1 or n2 is 0. */
int iw_report_newcombe(long x1, long n1, long x2, long n2, double *lo,
    double *hi);

/* The report as one JSON object (the contract's keys) and as text for a
 * terminal (report_text.c), and as one self-contained HTML page
 * (report_html.c). */
int iw_report_json(const struct iw_report *r, struct iw_buf *out);
int iw_report_text(const struct iw_report *r, struct iw_buf *out);
int iw_report_html(const struct iw_report *r, struct iw_buf *out);

#endif
