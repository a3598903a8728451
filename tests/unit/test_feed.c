/*
 * Unit tests of what an enqueue file means (lib/feed.c): header detection
 * and mapping by name in any column order, the positional meaning kept for
 * old files, separators, BOM and CRLF, --evidence templates and their
 * empty-column rule, JSON lines, and the bounded line reader (lib/lines.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feed.h"
#include "jsonl.h"
#include "lines.h"

#define SS_TEMPLATE "{tag} on {port}/{protocol}"
#define SS_HEADER "\"timestamp\",\"ip\",\"port\",\"hostname\",\"tag\"," \
	"\"asn\",\"geo\",\"region\",\"city\",\"naics\",\"sic\",\"protocol\""

/* One line's outcome, for comparing a whole file at once. */
struct got {
	enum iw_feed_kind kind;
	struct iw_input_rec rec;
	struct iw_err err;
};

/* Feed the NULL-terminated lines through one reader into got[]. */
static void
run(enum iw_feed_format fmt, const char *tmpl, const char *const *lines,
    struct got *got)
{
	struct iw_feed *f;
	struct iw_err err;

	assert_int_equal(iw_feed_new(fmt, tmpl, &f, &err), 0);
	for (size_t i = 0; lines[i] != NULL; i++) {
		got[i].err.msg[0] = '\0';
		got[i].kind = iw_feed_line(f, lines[i], strlen(lines[i]),
		    &got[i].rec, &got[i].err);
	}
	iw_feed_free(f);
}

/* The same for a file whose first line is a header. */
static void
run_with_header(enum iw_feed_format fmt, const char *tmpl,
    const char *const *lines, struct got *got)
{
	run(fmt, tmpl, lines, got);
	if (got[0].kind != IW_FEED_SKIP)
		fail_msg("header '%s' read as %d (%s)", lines[0], got[0].kind,
		    got[0].err.msg);
}

static void
assert_rec(const struct got *g, const char *ip, const char *ev,
    const char *obs)
{
	if (g->kind != IW_FEED_RECORD)
		fail_msg("expected a record %s, got %d (%s)", ip, g->kind,
		    g->err.msg);
	assert_string_equal(g->rec.ip, ip);
	assert_string_equal(g->rec.evidence, ev);
	assert_string_equal(g->rec.observed, obs);
}

static void
assert_bad(const struct got *g, const char *want)
{
	if (g->kind != IW_FEED_BAD)
		fail_msg("expected BAD (%s), got %d", want, g->kind);
	if (strstr(g->err.msg, want) == NULL)
		fail_msg("reason '%s' lacks '%s'", g->err.msg, want);
}

/* A Shadowserver-style report: quoted header, columns found by name. */
static void
test_shadowserver_header_maps_columns_by_name(void **state)
{
	const char *lines[] = {
		SS_HEADER,
		"\"2026-11-01 10:00:00\",\"192.0.2.10\",3128,\"h.example\","
		    "\"proxy\",64500,\"DK\",\"\",\"\",0,0,\"tcp\"",
		NULL,
	};
	struct got g[2];

	(void)state;
	run_with_header(IW_FEED_AUTO, SS_TEMPLATE, lines, g);
	assert_rec(&g[1], "192.0.2.10", "proxy on 3128/tcp",
	    "2026-11-01T10:00:00Z");
}

static void
test_column_orders_and_aliases(void **state)
{
	const char *a[] = { "hostname,evidence,src_ip,first_seen",
	    "h,open relay,192.0.2.1,2026-11-02", NULL };
	const char *b[] = { "Observed;IP_Address;Evidence",
	    "2026-11-02T01:02:03+02:00;192.0.2.2;open proxy", NULL };
	const char *c[] = { "port\ttime\taddress", "25\t\t2001:db8::1", NULL };
	/* ip wins over address: the first alias in the list. */
	const char *d[] = { "address,ip,evidence", "x,192.0.2.4,e", NULL };
	struct got g[2];

	(void)state;
	run(IW_FEED_AUTO, NULL, a, g);
	assert_rec(&g[1], "192.0.2.1", "open relay", "2026-11-02T00:00:00Z");
	run(IW_FEED_AUTO, NULL, b, g);
	assert_rec(&g[1], "192.0.2.2", "open proxy",
	    "2026-11-02T01:02:03+02:00");
	run(IW_FEED_AUTO, NULL, c, g);
	assert_rec(&g[1], "2001:db8::1", "", "");
	run(IW_FEED_AUTO, NULL, d, g);
	assert_rec(&g[1], "192.0.2.4", "e", "");
}

/* `ip,reason` and friends mean ip,evidence,observed by position. */
static void
test_header_naming_only_ip_keeps_positions(void **state)
{
	const char *a[] = { "ip,reason", "192.0.2.1,open proxy,2026-11-01",
	    "192.0.2.2,a,2026-11-01,extra", NULL };
	const char *b[] = { "# a comment", "", "192.0.2.1,x", "ip,evidence",
	    NULL };
	struct got g[4];

	(void)state;
	run_with_header(IW_FEED_AUTO, NULL, a, g);
	assert_rec(&g[1], "192.0.2.1", "open proxy", "2026-11-01T00:00:00Z");
	assert_bad(&g[2], "too many fields");
	/* No header: positional; a header after a record is a bad line. */
	run(IW_FEED_AUTO, NULL, b, g);
	assert_rec(&g[2], "192.0.2.1", "x", "");
	assert_bad(&g[3], "not an IP address");
}

static void
test_quotes_bom_crlf_and_missing_time(void **state)
{
	const char *lines[] = {
		"\xef\xbb\xbf\"evidence\",\"ip\"\r",
		"\"open proxy, \"\"anonymous\"\"\",\"192.0.2.7\"\r",
		"\"a\",\"192.0.2.8\",\"extra\"\r",
		"\"a\"\r",
		NULL,
	};
	struct got g[4];

	(void)state;
	run_with_header(IW_FEED_AUTO, NULL, lines, g);
	assert_rec(&g[1], "192.0.2.7", "open proxy, \"anonymous\"", "");
	assert_bad(&g[2], "3 fields, but the header names 2");
	assert_bad(&g[3], "missing IP address");
}

static void
test_cidr_and_garbage_in_ip_column_are_bad_lines(void **state)
{
	const char *lines[] = { "timestamp;ip;tag",
	    "2026-11-01 10:00:00;192.0.2.0/24;x",
	    "2026-11-01 10:00:00;not-an-ip;x",
	    "2026-11-01 10:00:00;192.0.2.9;x",
	    "timestamp;IP;tag",	/* a second report joined with cat */
	    NULL };
	struct got g[5];

	(void)state;
	run(IW_FEED_AUTO, "{tag}", lines, g);
	assert_bad(&g[1], "network prefixes are not accepted");
	assert_bad(&g[2], "not an IP address");
	assert_rec(&g[3], "192.0.2.9", "x", "2026-11-01T10:00:00Z");
	assert_int_equal(g[4].kind, IW_FEED_SKIP);
}

/* Evidence of one header "ip,tag,port,protocol" row for a template. */
static void
assert_built(const char *tmpl, const char *row, const char *want)
{
	const char *lines[] = { "ip,tag,port,protocol", row, NULL };
	struct got g[2];

	run(IW_FEED_CSV, tmpl, lines, g);
	if (g[1].kind != IW_FEED_RECORD)
		fail_msg("%s / %s: %s", tmpl, row, g[1].err.msg);
	assert_string_equal(g[1].rec.evidence, want);
}

static void
test_template_leaves_out_empty_columns_cleanly(void **state)
{
	const char *t = SS_TEMPLATE;

	(void)state;
	assert_built(t, "192.0.2.1,proxy,3128,tcp", "proxy on 3128/tcp");
	assert_built(t, "192.0.2.1,proxy,3128,", "proxy on 3128");
	assert_built(t, "192.0.2.1,proxy,,", "proxy");
	assert_built(t, "192.0.2.1,proxy,,tcp", "proxy/tcp");
	assert_built(t, "192.0.2.1,,3128,tcp", "on 3128/tcp");
	assert_built(t, "192.0.2.1,,,", "");
	assert_built("{tag} ({port})", "192.0.2.1,proxy,,", "proxy");
	assert_built("{tag} ({port})", "192.0.2.1,,25,", "(25)");
	assert_built("port {PORT} open", "192.0.2.1,,,", "");
	assert_built("port {PORT} open", "192.0.2.1,, 25 ,", "port 25 open");
	assert_built("fixed text", "192.0.2.1,,,", "fixed text");
	assert_built("{{{tag}}}", "192.0.2.1,x,,", "{x}");
}

static void
test_template_errors(void **state)
{
	const char *bad[] = { "{tag", "{}", "{ }", "tag}", "{a{b}}", NULL };
	const char *lines[] = { "ip,tag", "192.0.2.1,x", NULL };
	const char *nohdr[] = { "192.0.2.1,x", NULL };
	struct iw_feed *f;
	struct iw_err err;
	struct got g[2];

	(void)state;
	for (size_t i = 0; bad[i] != NULL; i++) {
		if (iw_feed_new(IW_FEED_AUTO, bad[i], &f, &err) != -1)
			fail_msg("template '%s' accepted", bad[i]);
		assert_non_null(strstr(err.msg, "--evidence"));
	}
	run(IW_FEED_AUTO, "{tag} on {port}", lines, g);
	assert_int_equal(g[0].kind, IW_FEED_USAGE);
	assert_non_null(strstr(g[0].err.msg, "no column \"port\""));
	run(IW_FEED_AUTO, "{tag}", nohdr, g);
	assert_int_equal(g[0].kind, IW_FEED_USAGE);
}

/* Built evidence is cut at a character boundary, never refused. */
static void
test_template_evidence_is_length_limited(void **state)
{
	char row[2000], want[IW_INPUT_EVIDENCE_MAX];
	const char *lines[] = { "ip,tag", row, NULL };
	struct got g[2];
	size_t n = 0;

	(void)state;
	n = (size_t)snprintf(row, sizeof(row), "192.0.2.1,a");
	for (int i = 0; i < 400; i++) {
		memcpy(row + n, "\xc3\xa6", 2);	/* æ */
		n += 2;
	}
	row[n] = '\0';
	run(IW_FEED_AUTO, "{tag}", lines, g);
	assert_int_equal(g[1].kind, IW_FEED_RECORD);
	want[0] = 'a';
	for (int i = 0; i < 255; i++)
		memcpy(want + 1 + 2 * i, "\xc3\xa6", 2);
	want[511] = '\0';
	assert_int_equal(strlen(g[1].rec.evidence), 511);
	assert_string_equal(g[1].rec.evidence, want);
}

static void
test_jsonl_good_lines(void **state)
{
	const char *lines[] = {
		"\xef\xbb\xbf{\"ip\": \"192.0.2.1\", \"port\": 3128, "
		    "\"tag\": \"proxy\", \"protocol\": \"tcp\", "
		    "\"timestamp\": \"2026-11-01T10:00:00Z\"}",
		"{\"src_ip\":\"2001:db8::5\",\"geo\":{\"cc\":[1,{\"x\":null}]},"
		    "\"tag\":\"caf\\u00e9 \\ud83d\\ude00\",\"port\":-1.5e3}\r",
		"  {\"ip\":\"192.0.2.3\",\"evidence\":\"direct\"}  ",
		NULL,
	};
	struct got g[3];

	(void)state;
	run(IW_FEED_AUTO, SS_TEMPLATE, lines, g);
	assert_rec(&g[0], "192.0.2.1", "proxy on 3128/tcp",
	    "2026-11-01T10:00:00Z");
	assert_rec(&g[1], "2001:db8::5", "caf\xc3\xa9 \xf0\x9f\x98\x80 on "
	    "-1.5e3", "");
	assert_rec(&g[2], "192.0.2.3", "", "");
	run(IW_FEED_JSONL, NULL, lines + 2, g);
	assert_rec(&g[0], "192.0.2.3", "direct", "");
}

static void
test_jsonl_bad_lines(void **state)
{
	const char *lines[] = {
		"{\"ip\":\"192.0.2.1\"",
		"{\"ip\":\"192.0.2.1\"} x",
		"[\"192.0.2.1\"]",
		"{\"ip\":{\"v\":\"192.0.2.1\"}}",
		"{\"ip\":\"192.0.2.1\",\"evidence\":\"a\\nb\"}",
		"{\"ip\":\"192.0.2.1\",\"x\":\"\\ud800\"}",
		"{\"ip\":\"192.0.2.1\",\"x\":01}",
		"{\"ip\":\"192.0.2.1\",\"x\":tru}",
		"{\"tag\":\"x\"}",
		"{\"ip\":\"192.0.2.1\",\"x\":\"\\u0000\"}",
		"{\"ip\":\"192.0.2.1\",\"time\":\"soon\"}",
		NULL,
	};
	struct got g[11];

	(void)state;
	run(IW_FEED_JSONL, NULL, lines, g);
	assert_bad(&g[0], "expected ',' or '}'");
	assert_bad(&g[1], "text after the object");
	assert_bad(&g[2], "one JSON object");
	assert_bad(&g[3], "is an object or array, not an IP address");
	assert_bad(&g[4], "control character in evidence");
	assert_bad(&g[5], "lone high surrogate");
	assert_bad(&g[6], "expected ',' or '}'");
	assert_bad(&g[7], "not a value");
	assert_bad(&g[8], "missing IP address");
	assert_bad(&g[9], "NUL character");
	assert_bad(&g[10], "not an ISO-8601 time");
}

static void
test_jsonl_nesting_is_bounded(void **state)
{
	char line[200];
	size_t n = 0;
	struct iw_jsonl_member m[4];
	size_t nm;
	struct iw_err err;
	char store[200];

	(void)state;
	n += (size_t)snprintf(line, sizeof(line), "{\"a\":");
	for (int i = 0; i < 40; i++)
		line[n++] = '[';
	for (int i = 0; i < 40; i++)
		line[n++] = ']';
	line[n++] = '}';
	assert_int_equal(iw_jsonl_parse(line, n, store, sizeof(store), m, 4,
	    &nm, &err), -1);
	assert_non_null(strstr(err.msg, "nested deeper"));
	/* 32 levels is fine, and not NUL-terminated input is read exactly. */
	n = (size_t)snprintf(line, sizeof(line), "{\"a\":");
	for (int i = 0; i < 31; i++)
		line[n++] = '[';
	for (int i = 0; i < 31; i++)
		line[n++] = ']';
	line[n++] = '}';
	line[n] = 'x';
	assert_int_equal(iw_jsonl_parse(line, n, store, sizeof(store), m, 4,
	    &nm, &err), 0);
	assert_int_equal(nm, 1);
	assert_int_equal(m[0].type, IW_JSONL_NESTED);
}

/* The reader gives every line, and skips an over-long one whole. */
static void
test_over_long_line_is_skipped_whole(void **state)
{
	size_t big = IW_LINES_MAX + 10, n = 0;
	char *text = malloc(big + 200);
	struct iw_lines *l;
	const char *line;
	size_t len;
	int too_long;
	FILE *fp;

	(void)state;
	assert_non_null(text);
	n += (size_t)sprintf(text, "192.0.2.1,a\n");
	memset(text + n, 'x', big);
	n += big;
	n += (size_t)sprintf(text + n, "\n192.0.2.2,b\r\nlast");
	fp = fmemopen(text, n, "r");
	assert_non_null(fp);
	l = iw_lines_new(fp, IW_LINES_MAX);
	assert_int_equal(iw_lines_next(l, &line, &len, &too_long), 1);
	assert_int_equal(too_long, 0);
	assert_memory_equal(line, "192.0.2.1,a", len);
	assert_int_equal(iw_lines_next(l, &line, &len, &too_long), 1);
	assert_int_equal(too_long, 1);
	assert_int_equal(iw_lines_next(l, &line, &len, &too_long), 1);
	assert_int_equal(len, 12);
	assert_memory_equal(line, "192.0.2.2,b\r", len);
	assert_int_equal(iw_lines_next(l, &line, &len, &too_long), 1);
	assert_memory_equal(line, "last", len);
	assert_int_equal(iw_lines_next(l, &line, &len, &too_long), 0);
	iw_lines_free(l);
	fclose(fp);
	free(text);
}

/* A line of exactly the cap is kept; the cap is on the line, not CR. */
static void
test_line_of_exactly_the_cap_is_kept(void **state)
{
	char text[64];
	struct iw_lines *l;
	const char *line;
	size_t len;
	int too_long;
	FILE *fp;

	(void)state;
	strcpy(text, "12345678\n123456789\n12345678");
	fp = fmemopen(text, strlen(text), "r");
	l = iw_lines_new(fp, 8);
	assert_int_equal(iw_lines_next(l, &line, &len, &too_long), 1);
	assert_int_equal(len, 8);
	assert_int_equal(iw_lines_next(l, &line, &len, &too_long), 1);
	assert_int_equal(too_long, 1);
	assert_int_equal(iw_lines_next(l, &line, &len, &too_long), 1);
	assert_int_equal(too_long, 0);
	assert_memory_equal(line, "12345678", 8);
	assert_int_equal(iw_lines_next(l, &line, &len, &too_long), 0);
	iw_lines_free(l);
	fclose(fp);
}

static void
test_format_names(void **state)
{
	enum iw_feed_format fmt;

	(void)state;
	assert_int_equal(iw_feed_format_parse("jsonl", &fmt), 0);
	assert_int_equal(fmt, IW_FEED_JSONL);
	assert_int_equal(iw_feed_format_parse("csv", &fmt), 0);
	assert_int_equal(fmt, IW_FEED_CSV);
	assert_int_equal(iw_feed_format_parse("json", &fmt), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shadowserver_header_maps_columns_by_name),
		cmocka_unit_test(test_column_orders_and_aliases),
		cmocka_unit_test(test_header_naming_only_ip_keeps_positions),
		cmocka_unit_test(test_quotes_bom_crlf_and_missing_time),
		cmocka_unit_test(
		    test_cidr_and_garbage_in_ip_column_are_bad_lines),
		cmocka_unit_test(
		    test_template_leaves_out_empty_columns_cleanly),
		cmocka_unit_test(test_template_errors),
		cmocka_unit_test(test_template_evidence_is_length_limited),
		cmocka_unit_test(test_jsonl_good_lines),
		cmocka_unit_test(test_jsonl_bad_lines),
		cmocka_unit_test(test_jsonl_nesting_is_bounded),
		cmocka_unit_test(test_over_long_line_is_skipped_whole),
		cmocka_unit_test(test_line_of_exactly_the_cap_is_kept),
		cmocka_unit_test(test_format_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
