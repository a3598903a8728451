/*
 * report_html: the campaign report as one self-contained HTML page — inline
 * CSS and inline SVG charts, nothing fetched (no URL of any kind), laid
 * out for a screen and for paper (@media print).  Every number is the one
 * iw_report_json writes; every text that came from outside (campaign name,
 * registry names, reasons) is escaped.
 */
#include "report.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define C_NOTIFIED "#1d4ed8"	/* the notified arm, the funnel */
#define C_CONTROL "#d97706"	/* the control group */
#define C_FIXED "#059669"	/* fixed IPs */
#define C_MUTED "#94a3b8"

static int
esc(struct iw_buf *b, const char *s)
{
	int bad = 0;

	for (; *s != '\0' && bad == 0; s++) {
		switch (*s) {
		case '&': bad = iw_buf_puts(b, "&amp;"); break;
		case '<': bad = iw_buf_puts(b, "&lt;"); break;
		case '>': bad = iw_buf_puts(b, "&gt;"); break;
		case '"': bad = iw_buf_puts(b, "&quot;"); break;
		case '\'': bad = iw_buf_puts(b, "&#39;"); break;
		default:
			bad = iw_buf_putc(b, (unsigned char)*s < 0x20 ? '?' :
			    *s);
		}
	}
	return bad;
}

static int
pct(struct iw_buf *b, int has, double rate)
{
	return has ? iw_buf_printf(b, "%.1f %%", rate * 100) :
	    iw_buf_puts(b, "n/a");
}

static const char css[] =
    "<style>\n"
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;color:#0f172a;"
    "margin:0;background:#f8fafc}\n"
    "main{max-width:1040px;margin:0 auto;padding:32px 40px;background:#fff}\n"
    "h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px;"
    "border-bottom:2px solid #e2e8f0;padding-bottom:4px}\n"
    ".sub{color:#475569;font-size:13px}\n"
    ".lead{font-size:15px;margin:18px 0 0;line-height:1.45}\n"
    ".kpis{display:flex;gap:12px;margin-top:20px;flex-wrap:wrap}\n"
    ".kpi{flex:1;min-width:150px;border:1px solid #e2e8f0;border-radius:8px;"
    "padding:12px 14px}\n"
    ".kpi .v{font-size:26px;font-weight:bold}.kpi .l{font-size:12px;"
    "color:#475569}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}\n"
    "th,td{padding:4px 8px;border-bottom:1px solid #e2e8f0;text-align:right}"
    "\nth:first-child,td:first-child{text-align:left}\n"
    "th{background:#f1f5f9}\n"
    ".two{display:flex;gap:24px}.two>div{flex:1}\n"
    ".note{font-size:12px;color:#475569}\n"
    "svg text{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif}\n"
    "@media print{body{background:#fff}main{max-width:none;padding:0}"
    "h2{break-after:avoid}svg,table,.kpis{break-inside:avoid}"
    "@page{margin:15mm}}\n"
    "</style>\n";

/* Horizontal bars: value[i] for label[i], fixed[i] (may be NULL) drawn
 * over it in C_FIXED. */
static int
bars(struct iw_buf *b, const char *const *label, const long *value,
    const long *fixed, size_t n, const char *color, const char *what)
{
	const int w = 480, left = 150, row = 26;
	long max = 1;
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++)
		if (value[i] > max)
			max = value[i];
	bad |= iw_buf_printf(b, "<svg role=\"img\" aria-label=\"%s\" "
	    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", what,
	    left + w + 70, (int)n * row + 8, left + w + 70, (int)n * row + 8);
	for (i = 0; i < n; i++) {
		int y = (int)i * row + 4;
		int bw = (int)((double)value[i] / (double)max * w + 0.5);

		bad |= iw_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"12\" "
		    "text-anchor=\"end\">", left - 8, y + 15);
		bad |= esc(b, label[i]);
		bad |= iw_buf_printf(b, "</text><rect class=\"bar\" x=\"%d\" "
		    "y=\"%d\" width=\"%d\" height=\"18\" fill=\"%s\"/>", left, y,
		    bw > 0 ? bw : 1, color);
		if (fixed != NULL && fixed[i] > 0)
			bad |= iw_buf_printf(b, "<rect x=\"%d\" y=\"%d\" "
			    "width=\"%d\" height=\"18\" fill=\"" C_FIXED "\"/>",
			    left, y, (int)((double)fixed[i] / (double)max * w +
			    0.5));
		bad |= iw_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"12\">"
		    "%ld</text>\n", left + bw + 6, y + 15, value[i]);
	}
	return bad | iw_buf_puts(b, "</svg>\n");
}

static int
funnel(struct iw_buf *b, const struct iw_report *r)
{
	const char *label[] = { "IPs enqueued", "resolved", "control group",
		"in letters sent", "in delivered letters", "fixed (notified)" };
	long value[] = { r->enqueued, r->resolved, r->control,
		r->notified.ips, r->delivered_ips, r->notified.fixed };

	return bars(b, label, value, NULL, 6, C_NOTIFIED, "funnel");
}

/* The time chart's geometry: plot width and height, margins; a date
 * label's width. */
enum { TC_W = 640, TC_H = 240, TC_LEFT = 50, TC_TOP = 16, TC_LABEL = 72 };

/* Seconds since the epoch of a round's "YYYY-MM-DDTHH:MM:SSZ"; -1 when it
 * is not that. */
static double
round_time(const char *at)
{
	struct tm tm;
	char z;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(at, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
	    z != 'Z')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm);
}

/*
 * Round i's x: by its date, so that a week between rounds looks longer
 * than a day (rounds are recorded whenever a later scan comes in).  Evenly
 * spaced only when the dates say nothing: one round, or all at one time.
 */
static int
tc_x(const struct iw_report *r, size_t i)
{
	double t0, tn, ti;

	if (r->nrounds == 1)
		return TC_LEFT + TC_W / 2;
	t0 = round_time(r->rounds[0].at);
	tn = round_time(r->rounds[r->nrounds - 1].at);
	ti = round_time(r->rounds[i].at);
	if (t0 < 0 || ti < 0 || tn <= t0)
		return TC_LEFT + (int)(i * (size_t)TC_W / (r->nrounds - 1));
	return TC_LEFT + (int)((ti - t0) / (tn - t0) * TC_W + 0.5);
}

/* Whether round i's date is written under the axis: the last round's
 * always, another's when it does not run into the one before it or the
 * last one. */
static int
tc_labelled(const struct iw_report *r, size_t i, int last_x)
{
	int x = tc_x(r, i);

	return i + 1 == r->nrounds || (x - last_x >= TC_LABEL &&
	    tc_x(r, r->nrounds - 1) - x >= TC_LABEL);
}

static const struct iw_report_arm *
tc_arm(const struct iw_report *r, size_t i, int k)
{
	return k == 0 ? &r->rounds[i].notified : &r->rounds[i].control;
}

static int
tc_y(const struct iw_report_arm *a)
{
	return TC_TOP + TC_H - (int)(a->rate * TC_H + 0.5);
}

static int
time_chart(struct iw_buf *b, const struct iw_report *r)
{
	const int w = TC_W, h = TC_H, left = TC_LEFT, top = TC_TOP;
	static const struct { const char *color, *name; } arm[2] = {
		{ C_NOTIFIED, "notified" }, { C_CONTROL, "control" } };
	size_t i;
	int bad = 0, k, x, y;

	if (r->nrounds == 0)
		return iw_buf_puts(b, "<p class=\"note\">No observation round "
		    "recorded yet: record a later scan with <code>ipwarn "
		    "observe</code>.</p>\n");
	bad |= iw_buf_printf(b, "<svg role=\"img\" aria-label=\"fixed over "
	    "time\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
	    left + w + 130, top + h + 50, left + w + 130, top + h + 50);
	for (y = 0; y <= 100; y += 25)
		bad |= iw_buf_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" "
		    "y2=\"%d\" stroke=\"#e2e8f0\"/><text x=\"%d\" y=\"%d\" "
		    "font-size=\"11\" text-anchor=\"end\">%d %%</text>\n", left,
		    left + w, top + h - y * h / 100, top + h - y * h / 100,
		    left - 6, top + h - y * h / 100 + 4, y);
	for (k = 0; k < 2; k++) {
		bad |= iw_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" "
		    "stroke-width=\"3\" points=\"", arm[k].color);
		for (i = 0; i < r->nrounds; i++)
			if (tc_arm(r, i, k)->has_rate)
				bad |= iw_buf_printf(b, "%d,%d ", tc_x(r, i),
				    tc_y(tc_arm(r, i, k)));
		bad |= iw_buf_puts(b, "\"/>\n");
		for (i = 0; i < r->nrounds; i++)
			if (tc_arm(r, i, k)->has_rate)
				bad |= iw_buf_printf(b, "<circle cx=\"%d\" "
				    "cy=\"%d\" r=\"5\" fill=\"%s\"/>\n",
				    tc_x(r, i), tc_y(tc_arm(r, i, k)),
				    arm[k].color);
		bad |= iw_buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"14\" "
		    "height=\"14\" fill=\"%s\"/><text x=\"%d\" y=\"%d\" "
		    "font-size=\"12\">%s</text>\n", left + w + 16,
		    top + 10 + k * 22, arm[k].color, left + w + 36,
		    top + 22 + k * 22, arm[k].name);
	}
	for (i = 0, x = -TC_LABEL; i < r->nrounds; i++)
		if (tc_labelled(r, i, x)) {
			x = tc_x(r, i);
			bad |= iw_buf_printf(b, "<text x=\"%d\" y=\"%d\" "
			    "font-size=\"11\" text-anchor=\"middle\">%.10s"
			    "</text>\n", x, top + h + 18, r->rounds[i].at);
		}
	return bad | iw_buf_puts(b, "</svg>\n");
}

/* The bars of one dimension: IPs, with the fixed ones over them. */
static int
dim_bars(struct iw_buf *b, const struct iw_report *r, enum iw_report_dim d,
    const char *what)
{
	const char *label[12];
	long value[12], fixed[12];
	size_t i, n = r->ndim[d] < 12 ? r->ndim[d] : 12;

	if (n == 0)
		return iw_buf_puts(b, "<p class=\"note\">No IPs.</p>\n");
	for (i = 0; i < n; i++) {
		label[i] = r->dim[d][i].key;
		value[i] = r->dim[d][i].ips;
		fixed[i] = r->dim[d][i].fixed;
	}
	return bars(b, label, value, fixed, n, C_MUTED, what);
}

static int
dim_table(struct iw_buf *b, const struct iw_report *r, enum iw_report_dim d,
    const char *title)
{
	size_t i;
	int bad = iw_buf_printf(b, "<table><tr><th>%s</th><th>IPs</th>"
	    "<th>letters</th><th>sent</th><th>bounced</th><th>fixed</th></tr>"
	    "\n", title);

	for (i = 0; i < r->ndim[d]; i++) {
		const struct iw_report_group *g = &r->dim[d][i];

		bad |= iw_buf_puts(b, "<tr><td>");
		bad |= esc(b, g->key);
		bad |= iw_buf_printf(b, "</td><td>%ld</td><td>%ld</td><td>%ld"
		    "</td><td>%ld</td><td>%ld</td></tr>\n", g->ips, g->letters,
		    g->sent, g->bounced, g->fixed);
	}
	return bad | iw_buf_puts(b, "</table>\n");
}

static int
count_table(struct iw_buf *b, const struct iw_report_count *c, size_t n,
    const char *title, const char *empty)
{
	size_t i;
	int bad;

	if (n == 0)
		return iw_buf_printf(b, "<p class=\"note\">%s</p>\n", empty);
	bad = iw_buf_printf(b, "<table><tr><th>%s</th><th>count</th></tr>\n",
	    title);
	for (i = 0; i < n; i++) {
		bad |= iw_buf_puts(b, "<tr><td>");
		bad |= esc(b, c[i].key);
		bad |= iw_buf_printf(b, "</td><td>%ld</td></tr>\n", c[i].n);
	}
	return bad | iw_buf_puts(b, "</table>\n");
}

static int
kpis(struct iw_buf *b, const struct iw_report *r)
{
	int bad = iw_buf_printf(b, "<div class=\"kpis\">\n<div class=\"kpi\">"
	    "<div class=\"v\">%ld</div><div class=\"l\">IPs notified (in "
	    "letters sent)</div></div>\n<div class=\"kpi\"><div class=\"v\" "
	    "style=\"color:" C_NOTIFIED "\">", r->notified.ips);

	bad |= pct(b, r->notified.has_rate, r->notified.rate);
	bad |= iw_buf_puts(b, "</div><div class=\"l\">of notified IPs fixed"
	    "</div></div>\n<div class=\"kpi\"><div class=\"v\" style=\"color:"
	    C_CONTROL "\">");
	bad |= pct(b, r->control_arm.has_rate, r->control_arm.rate);
	bad |= iw_buf_puts(b, "</div><div class=\"l\">of control IPs fixed "
	    "(no letter)</div></div>\n<div class=\"kpi\"><div class=\"v\">");
	bad |= r->has_lift ? iw_buf_printf(b, "%+.1f", r->lift * 100) :
	    iw_buf_puts(b, "n/a");
	bad |= iw_buf_puts(b, "</div><div class=\"l\">lift, points");
	if (r->has_ci)
		bad |= iw_buf_printf(b, " (95 %% CI %+.1f to %+.1f)",
		    r->ci_lo * 100, r->ci_hi * 100);
	bad |= iw_buf_puts(b, "</div></div>\n<div class=\"kpi\"><div "
	    "class=\"v\">");
	bad |= r->has_median ? iw_buf_printf(b, "%.2f", r->median_days) :
	    iw_buf_puts(b, "n/a");
	return bad | iw_buf_puts(b, "</div><div class=\"l\">median days from "
	    "letter to fix</div></div>\n</div>\n");
}

/* The finding in one sentence, for a reader who reads nothing else. */
static int
summary(struct iw_buf *b, const struct iw_report *r)
{
	if (!r->has_ci)
		return iw_buf_puts(b, "<p class=\"lead\">No comparison yet: it "
		    "needs IPs in letters that were sent, a control group "
		    "(<code>campaign create --holdout</code>) and a later scan "
		    "(<code>ipwarn observe</code>).</p>\n");
	return iw_buf_printf(b, "<p class=\"lead\">At the latest scan "
	    "%.1f %% of the %ld notified IPs were fixed, against %.1f %% of "
	    "the %ld IPs of the control group, which got no letter: a "
	    "difference of %+.1f points (95 %% CI %+.1f to %+.1f), %s.</p>\n",
	    r->notified.rate * 100, r->notified.ips, r->control_arm.rate * 100,
	    r->control_arm.ips, r->lift * 100, r->ci_lo * 100, r->ci_hi * 100,
	    r->ci_lo > 0 ? "more fixes than without the letters" :
	    r->ci_hi < 0 ? "fewer fixes than without the letters" :
	    "not distinguishable from no letter at all");
}

static int
funnel_table(struct iw_buf *b, const struct iw_report *r)
{
	return iw_buf_printf(b, "<table><tr><th>stage</th><th>count</th></tr>"
	    "\n<tr><td>IPs enqueued</td><td>%ld</td></tr>\n"
	    "<tr><td>IPs resolved to a contact</td><td>%ld</td></tr>\n"
	    "<tr><td>IPs unresolved</td><td>%ld</td></tr>\n"
	    "<tr><td>IPs held</td><td>%ld</td></tr>\n"
	    "<tr><td>IPs in the control group</td><td>%ld</td></tr>\n"
	    "<tr><td>letters built</td><td>%ld</td></tr>\n"
	    "<tr><td>letters sent</td><td>%ld</td></tr>\n"
	    "<tr><td>letters bounced</td><td>%ld</td></tr>\n"
	    "<tr><td>IPs in delivered letters</td><td>%ld</td></tr>\n"
	    "</table>\n", r->enqueued, r->resolved, r->unresolved, r->held,
	    r->control, r->letters, r->sent, r->bounced, r->delivered_ips);
}

static int
remediation_table(struct iw_buf *b, const struct iw_report *r)
{
	int bad = iw_buf_printf(b, "<table><tr><th>group</th><th>IPs</th>"
	    "<th>fixed</th><th>rate</th><th>relapsed</th></tr>\n<tr><td>"
	    "notified</td><td>%ld</td><td>%ld</td><td>", r->notified.ips,
	    r->notified.fixed);

	bad |= pct(b, r->notified.has_rate, r->notified.rate);
	bad |= iw_buf_printf(b, "</td><td>%ld</td></tr>\n<tr><td>control (no "
	    "letter)</td><td>%ld</td><td>%ld</td><td>", r->notified.relapsed,
	    r->control_arm.ips, r->control_arm.fixed);
	bad |= pct(b, r->control_arm.has_rate, r->control_arm.rate);
	return bad | iw_buf_printf(b, "</td><td>%ld</td></tr>\n</table>\n",
	    r->control_arm.relapsed);
}

int
iw_report_html(const struct iw_report *r, struct iw_buf *b)
{
	int bad = 0;

	bad |= iw_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>Campaign report: ");
	bad |= esc(b, r->campaign);
	bad |= iw_buf_puts(b, "</title>\n");
	bad |= iw_buf_puts(b, css);
	bad |= iw_buf_puts(b, "</head><body><main>\n<h1>Campaign report: ");
	bad |= esc(b, r->campaign);
	bad |= iw_buf_printf(b, "</h1>\n<div class=\"sub\">state %s &middot; "
	    "generated %s &middot; control group %d.%02d %% of contacts "
	    "&middot; %zu observation round%s</div>\n", r->state,
	    r->generated_at, r->holdout_centi / 100, r->holdout_centi % 100,
	    r->nrounds, r->nrounds == 1 ? "" : "s");
	bad |= kpis(b, r);
	bad |= summary(b, r);
	bad |= iw_buf_puts(b, "<h2>Funnel</h2>\n<div class=\"two\"><div>");
	bad |= funnel(b, r);
	bad |= iw_buf_puts(b, "</div><div>");
	bad |= funnel_table(b, r);
	bad |= iw_buf_puts(b, "</div></div>\n<h2>Fixed over time: notified "
	    "vs control</h2>\n");
	bad |= time_chart(b, r);
	bad |= remediation_table(b, r);
	bad |= iw_buf_puts(b, "<h2>By language</h2>\n");
	bad |= dim_bars(b, r, IW_REPORT_LOCALE, "IPs by language");
	bad |= dim_table(b, r, IW_REPORT_LOCALE, "locale");
	bad |= iw_buf_puts(b, "<h2>By registry</h2>\n");
	bad |= dim_bars(b, r, IW_REPORT_REGISTRY, "IPs by registry");
	bad |= dim_table(b, r, IW_REPORT_REGISTRY, "registry");
	bad |= iw_buf_puts(b, "<h2>By country</h2>\n");
	bad |= dim_table(b, r, IW_REPORT_COUNTRY, "country");
	bad |= iw_buf_puts(b, "<h2>By contact source</h2>\n");
	bad |= dim_table(b, r, IW_REPORT_SOURCE, "source");
	bad |= iw_buf_puts(b, "<h2>Bounces and unresolved IPs</h2>\n"
	    "<div class=\"two\"><div>");
	bad |= count_table(b, r->bounces, r->nbounces, "bounce class",
	    "No bounces.");
	bad |= iw_buf_puts(b, "</div><div>");
	bad |= count_table(b, r->reasons, r->nreasons, "why unresolved",
	    "No unresolved IPs.");
	bad |= iw_buf_puts(b, "</div></div>\n<h2>Method</h2>\n<p class=\"note\">"
	    "An IP is <b>fixed</b> when the latest observation round "
	    "(<code>ipwarn observe</code>) did not list it; its fix time is "
	    "the first round that did not. <b>Notified</b>: IPs in a letter "
	    "that was sent. <b>Control</b>: IPs of the contacts drawn at "
	    "random (keyed by the campaign) to get no letter. The rate is "
	    "fixed / IPs; the lift is the notified rate minus the control "
	    "rate, in percentage points, with a 95 % confidence interval by "
	    "Newcombe's hybrid score method (from the Wilson score interval "
	    "of each rate). <b>Relapsed</b>: seen fixed in an earlier round, "
	    "listed again in the latest. Bars: grey all IPs, green those "
	    "fixed.</p>\n"
	    "</main></body></html>\n");
	return bad < 0 ? -1 : 0;
}
