/*
 * Unit tests for the outcome arithmetic and texts: --holdout parsing, the
 * Newcombe interval against the worked examples of Newcombe (1998), the
 * report of an empty campaign, the time chart's axis, and the metrics
 * exposition (label escaping, counters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "metrics.h"
#include "report.h"

static void
test_holdout_parse(void **state)
{
	static const struct { const char *s; int centi; } ok[] = {
		{ "10", 1000 }, { "12.5", 1250 }, { "0.01", 1 },
		{ "99.99", 9999 }, { "33%", 3300 }, { "7.25%", 725 },
	};
	static const char *const bad[] = { "0", "100", "0.00", "-1", "",
		"1.234", "ten", "12.", "1e1", "150", " 5" };
	struct iw_err err;
	size_t i;
	int c;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(iw_campaign_holdout_parse(ok[i].s, &c, &err),
		    0);
		assert_int_equal(c, ok[i].centi);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (iw_campaign_holdout_parse(bad[i], &c, &err) == 0)
			fail_msg("--holdout \"%s\" was taken", bad[i]);
		assert_non_null(strstr(err.msg, "--holdout"));
	}
	assert_int_equal(iw_campaign_centi("12.50"), 1250);
	assert_int_equal(iw_campaign_centi("0.00"), 0);
}

/* Newcombe, Statistics in Medicine 17 (1998) 873-890, table II, method
 * 10 (hybrid score), to the four decimals printed there. */
static void
test_newcombe_matches_the_paper(void **state)
{
	static const struct {
		long x1, n1, x2, n2;
		double lo, hi;
	} ex[] = {
		{ 56, 70, 48, 80, 0.0524, 0.3339 },
		{ 9, 10, 3, 10, 0.1705, 0.8090 },
		{ 6, 7, 2, 7, 0.0582, 0.8062 },
		{ 5, 56, 0, 29, -0.0381, 0.1926 },
	};
	double lo, hi;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		assert_int_equal(iw_report_newcombe(ex[i].x1, ex[i].n1,
		    ex[i].x2, ex[i].n2, &lo, &hi), 0);
		if (fabs(lo - ex[i].lo) > 0.00006 ||
		    fabs(hi - ex[i].hi) > 0.00006)
			fail_msg("example %zu: [%.4f, %.4f], paper [%.4f, %.4f]",
			    i, lo, hi, ex[i].lo, ex[i].hi);
	}
	assert_int_equal(iw_report_newcombe(1, 0, 1, 2, &lo, &hi), -1);
	assert_int_equal(iw_report_newcombe(1, 2, 0, 0, &lo, &hi), -1);
}

static void
test_empty_report_has_nulls_not_nans(void **state)
{
	struct iw_report r;
	struct iw_buf b = IW_BUF_INIT;

	(void)state;
	memset(&r, 0, sizeof(r));
	strcpy(r.campaign, "<empty> & \"odd\"");
	strcpy(r.state, "draft");
	assert_int_equal(iw_report_json(&r, &b), 0);
	assert_non_null(strstr(b.data, "\"rate\": null"));
	assert_non_null(strstr(b.data, "\"lift\": null, \"ci95\": null"));
	assert_null(strstr(b.data, "nan"));
	iw_buf_reset(&b);
	assert_int_equal(iw_report_html(&r, &b), 0);
	assert_non_null(strstr(b.data, "&lt;empty&gt; &amp; &quot;odd&quot;"));
	assert_null(strstr(b.data, "<empty>"));
	assert_null(strstr(b.data, "nan"));
	iw_buf_reset(&b);
	assert_int_equal(iw_report_text(&r, &b), 0);
	assert_non_null(strstr(b.data, "notified 0 IPs, fixed 0 (n/a)"));
	iw_buf_free(&b);
}

/* The x of the notified arm's point of each round, in the page's order. */
static int
round_xs(const char *html, int *x, int max)
{
	const char *p = html;
	int n = 0;

	while (n < max && (p = strstr(p, "<circle cx=\"")) != NULL) {
		x[n++] = atoi(p + 12);
		p += 12;
	}
	return n;
}

static void
test_time_chart_places_rounds_by_date(void **state)
{
	static const char *const at[3] = { "2026-01-01T00:00:00Z",
		"2026-01-02T00:00:00Z", "2026-01-31T00:00:00Z" };
	struct iw_report_round rounds[3];
	struct iw_report r;
	struct iw_buf b = IW_BUF_INIT;
	int x[6], i;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(rounds, 0, sizeof(rounds));
	strcpy(r.campaign, "axis");
	strcpy(r.state, "approved");
	for (i = 0; i < 3; i++) {
		strcpy(rounds[i].at, at[i]);
		rounds[i].notified.has_rate = 1;
		rounds[i].notified.rate = 0.1 * (i + 1);
	}
	r.rounds = rounds;
	r.nrounds = 3;
	assert_int_equal(iw_report_html(&r, &b), 0);
	/* 30 days across 640 pixels from x 50: the second round, one day
	 * after the first, is 21 pixels on, not halfway. */
	assert_int_equal(round_xs(b.data, x, 6), 3);
	assert_int_equal(x[0], 50);
	assert_int_equal(x[1], 71);
	assert_int_equal(x[2], 690);
	/* Its date would run into the first one's: left out. */
	assert_non_null(strstr(b.data, ">2026-01-01</text>"));
	assert_null(strstr(b.data, ">2026-01-02</text>"));
	assert_non_null(strstr(b.data, ">2026-01-31</text>"));
	/* Rounds all at one time are spaced evenly. */
	for (i = 0; i < 3; i++)
		strcpy(rounds[i].at, at[0]);
	iw_buf_reset(&b);
	assert_int_equal(iw_report_html(&r, &b), 0);
	assert_int_equal(round_xs(b.data, x, 6), 3);
	assert_int_equal(x[1], 370);
	iw_buf_free(&b);
}

static void
test_metrics_labels_and_counters(void **state)
{
	struct iw_buf b = IW_BUF_INIT;
	struct iw_metrics *m = iw_metrics_new();

	(void)state;
	assert_non_null(m);
	iw_metrics_smtp(NULL, IW_METRICS_SMTP_SENT);	/* counts nothing */
	iw_metrics_whois(NULL, "whois.example", 1);
	assert_int_equal(iw_metrics_label(&b, "a\"b\\c\nd"), 0);
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\"");
	iw_buf_reset(&b);
	iw_metrics_smtp(m, IW_METRICS_SMTP_SENT);
	iw_metrics_smtp(m, IW_METRICS_SMTP_SENT);
	iw_metrics_smtp(m, IW_METRICS_SMTP_DEFERRED);
	iw_metrics_whois(m, "whois.example", 0);
	iw_metrics_whois(m, "whois.example", 1);
	iw_metrics_whois(m, "who\"is", 0);
	assert_int_equal(iw_metrics_whois_total(m), 3);
	assert_int_equal(iw_metrics_counters(m, &b), 0);
	assert_non_null(strstr(b.data,
	    "ipwarn_smtp_attempts_total{result=\"sent\"} 2\n"));
	assert_non_null(strstr(b.data,
	    "ipwarn_smtp_attempts_total{result=\"deferred\"} 1\n"));
	assert_non_null(strstr(b.data,
	    "ipwarn_smtp_attempts_total{result=\"failed\"} 0\n"));
	assert_non_null(strstr(b.data,
	    "ipwarn_whois_queries_total{server=\"whois.example\"} 2\n"));
	assert_non_null(strstr(b.data,
	    "ipwarn_whois_throttled_total{server=\"whois.example\"} 1\n"));
	assert_non_null(strstr(b.data,
	    "ipwarn_whois_queries_total{server=\"who\\\"is\"} 1\n"));
	assert_non_null(strstr(b.data,
	    "# TYPE ipwarn_whois_throttled_total counter\n"));
	assert_null(strstr(b.data, "other"));
	iw_buf_free(&b);
	iw_metrics_free(m);
	iw_metrics_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holdout_parse),
		cmocka_unit_test(test_newcombe_matches_the_paper),
		cmocka_unit_test(test_empty_report_has_nulls_not_nans),
		cmocka_unit_test(test_time_chart_places_rounds_by_date),
		cmocka_unit_test(test_metrics_labels_and_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
