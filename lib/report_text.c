/*
 * report_text: a campaign's report as JSON (the contract's keys) and as
 * text for a terminal, from the numbers iw_report_load read.  See
 * report.h; the HTML page is report_html.c's.
 */
#include "report.h"

#include <stdio.h>

/* --- JSON --- */

/* v with prec decimals, or null. */
static int
json_opt(struct iw_buf *b, int has, int prec, double v)
{
	return has ? iw_buf_printf(b, "%.*f", prec, v) :
	    iw_buf_puts(b, "null");
}

/* An arm; with_relapsed: the campaign's (not a round's). */
static int
json_arm(struct iw_buf *b, const struct iw_report_arm *a, int with_relapsed)
{
	int bad = iw_buf_printf(b, "{\"ips\": %ld, \"fixed\": %ld, "
	    "\"rate\": ", a->ips, a->fixed);

	bad |= json_opt(b, a->has_rate, 4, a->rate);
	if (with_relapsed)
		bad |= iw_buf_printf(b, ", \"relapsed\": %ld", a->relapsed);
	return bad | iw_buf_putc(b, '}');
}

static int
json_counts(struct iw_buf *b, const char *name,
    const struct iw_report_count *c, size_t n)
{
	size_t i;
	int bad = iw_buf_printf(b, ",\n \"%s\": {", name);

	for (i = 0; i < n; i++) {
		bad |= iw_buf_puts(b, i > 0 ? ", " : "");
		bad |= iw_json_str(b, c[i].key);
		bad |= iw_buf_printf(b, ": %ld", c[i].n);
	}
	return bad | iw_buf_putc(b, '}');
}

int
iw_report_json(const struct iw_report *r, struct iw_buf *b)
{
	size_t i;
	int bad = 0, d;

	bad |= iw_buf_puts(b, "{\"campaign\": ");
	bad |= iw_json_str(b, r->campaign);
	bad |= iw_buf_printf(b, ", \"state\": \"%s\", \"holdout\": %d.%02d, "
	    "\"generated_at\": \"%s\",\n \"funnel\": {\"enqueued\": %ld, "
	    "\"resolved\": %ld, \"unresolved\": %ld, \"held\": %ld, "
	    "\"control\": %ld, \"letters\": %ld, \"sent\": %ld, "
	    "\"bounced\": %ld, \"delivered_ips\": %ld}", r->state,
	    r->holdout_centi / 100, r->holdout_centi % 100, r->generated_at,
	    r->enqueued, r->resolved, r->unresolved, r->held, r->control,
	    r->letters, r->sent, r->bounced, r->delivered_ips);
	for (d = 0; d < IW_REPORT_NDIM; d++) {
		bad |= iw_buf_printf(b, ",\n \"%s\": {", iw_report_dim_keys[d]);
		for (i = 0; i < r->ndim[d]; i++) {
			const struct iw_report_group *g = &r->dim[d][i];

			bad |= iw_buf_puts(b, i > 0 ? ", " : "");
			bad |= iw_json_str(b, g->key);
			bad |= iw_buf_printf(b, ": {\"ips\": %ld, \"letters\": "
			    "%ld, \"sent\": %ld, \"bounced\": %ld, \"fixed\": "
			    "%ld}", g->ips, g->letters, g->sent, g->bounced,
			    g->fixed);
		}
		bad |= iw_buf_putc(b, '}');
	}
	bad |= json_counts(b, "bounces", r->bounces, r->nbounces);
	bad |= json_counts(b, "unresolved_reasons", r->reasons, r->nreasons);
	bad |= iw_buf_puts(b, ",\n \"remediation\": {\"notified\": ");
	bad |= json_arm(b, &r->notified, 1);
	bad |= iw_buf_puts(b, ", \"control\": ");
	bad |= json_arm(b, &r->control_arm, 1);
	bad |= iw_buf_puts(b, ", \"lift\": ");
	bad |= json_opt(b, r->has_lift, 4, r->lift);
	bad |= iw_buf_puts(b, ", \"ci95\": ");
	if (r->has_ci)
		bad |= iw_buf_printf(b, "[%.4f, %.4f]", r->ci_lo, r->ci_hi);
	else
		bad |= iw_buf_puts(b, "null");
	bad |= iw_buf_puts(b, ", \"ci_method\": \"newcombe-wilson\", "
	    "\"median_days_to_fix\": ");
	bad |= json_opt(b, r->has_median, 2, r->median_days);
	bad |= iw_buf_puts(b, ", \"rounds\": [");
	for (i = 0; i < r->nrounds; i++) {
		bad |= iw_buf_printf(b, "%s{\"at\": \"%s\", \"notified\": ",
		    i > 0 ? ", " : "", r->rounds[i].at);
		bad |= json_arm(b, &r->rounds[i].notified, 0);
		bad |= iw_buf_puts(b, ", \"control\": ");
		bad |= json_arm(b, &r->rounds[i].control, 0);
		bad |= iw_buf_putc(b, '}');
	}
	bad |= iw_buf_puts(b, "]}}\n");
	return bad < 0 ? -1 : 0;
}

/* --- text --- */

static int
text_pct(struct iw_buf *b, int has, double v)
{
	return has ? iw_buf_printf(b, "%.1f %%", v * 100) :
	    iw_buf_puts(b, "n/a");
}

int
iw_report_text(const struct iw_report *r, struct iw_buf *b)
{
	static const char *const titles[IW_REPORT_NDIM] = {
		"locale", "country", "registry", "contact source"
	};
	size_t i;
	int bad = 0, d;

	bad |= iw_buf_printf(b, "campaign %s (%s), report of %s\n\n"
	    "funnel\n  enqueued %ld, resolved %ld, unresolved %ld, held %ld, "
	    "control %ld\n  letters %ld, sent %ld, bounced %ld; IPs in "
	    "delivered letters %ld\n", r->campaign, r->state, r->generated_at,
	    r->enqueued, r->resolved, r->unresolved, r->held, r->control,
	    r->letters, r->sent, r->bounced, r->delivered_ips);
	for (d = 0; d < IW_REPORT_NDIM; d++) {
		bad |= iw_buf_printf(b, "\nby %s\n  %-28s %8s %8s %8s %8s "
		    "%8s\n", titles[d], "", "ips", "letters", "sent",
		    "bounced", "fixed");
		for (i = 0; i < r->ndim[d]; i++) {
			const struct iw_report_group *g = &r->dim[d][i];

			bad |= iw_buf_printf(b, "  %-28.28s %8ld %8ld %8ld "
			    "%8ld %8ld\n", g->key, g->ips, g->letters, g->sent,
			    g->bounced, g->fixed);
		}
	}
	bad |= iw_buf_puts(b, "\nbounces\n");
	for (i = 0; i < r->nbounces; i++)
		bad |= iw_buf_printf(b, "  %-28s %8ld\n", r->bounces[i].key,
		    r->bounces[i].n);
	bad |= iw_buf_puts(b, "\nunresolved reasons\n");
	for (i = 0; i < r->nreasons; i++)
		bad |= iw_buf_printf(b, "  %8ld  %s\n", r->reasons[i].n,
		    r->reasons[i].key);
	bad |= iw_buf_printf(b, "\nremediation (latest observation round)\n"
	    "  notified %ld IPs, fixed %ld (", r->notified.ips,
	    r->notified.fixed);
	bad |= text_pct(b, r->notified.has_rate, r->notified.rate);
	bad |= iw_buf_printf(b, "), relapsed %ld\n  control  %ld IPs, fixed "
	    "%ld (", r->notified.relapsed, r->control_arm.ips,
	    r->control_arm.fixed);
	bad |= text_pct(b, r->control_arm.has_rate, r->control_arm.rate);
	bad |= iw_buf_printf(b, "), relapsed %ld\n  lift ",
	    r->control_arm.relapsed);
	bad |= r->has_lift ? iw_buf_printf(b, "%+.1f points", r->lift * 100) :
	    iw_buf_puts(b, "n/a");
	if (r->has_ci)
		bad |= iw_buf_printf(b, ", 95 %% interval [%+.1f, %+.1f] "
		    "(Newcombe hybrid score)", r->ci_lo * 100, r->ci_hi * 100);
	bad |= iw_buf_puts(b, "\n  median days from letter to fix ");
	bad |= r->has_median ? iw_buf_printf(b, "%.2f\n", r->median_days) :
	    iw_buf_puts(b, "n/a\n");
	for (i = 0; i < r->nrounds; i++) {
		bad |= iw_buf_printf(b, "  round %s: notified fixed %ld/%ld, "
		    "control fixed %ld/%ld\n", r->rounds[i].at,
		    r->rounds[i].notified.fixed, r->rounds[i].notified.ips,
		    r->rounds[i].control.fixed, r->rounds[i].control.ips);
	}
	return bad < 0 ? -1 : 0;
}
