/*
 * Unit tests of the enqueue line parser (lib/input.c): CSV quoting, skipped
 * lines, IP canonicalisation and refusal of non-targets, evidence checks,
 * ISO-8601 normalisation and the wording of reasons.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "input.h"

/* Parse a NUL-terminated line as a later (not first) record. */
static enum iw_input_kind
parse(const char *line, struct iw_input_rec *rec, struct iw_err *err)
{
	err->msg[0] = '\0';
	return iw_input_parse_line(line, strlen(line), 0, rec, err);
}

static void
assert_record(const char *line, const char *ip, const char *ev,
    const char *obs)
{
	struct iw_input_rec rec;
	struct iw_err err;
	enum iw_input_kind k = parse(line, &rec, &err);

	if (k != IW_INPUT_RECORD)
		fail_msg("line '%s': expected a record, got %d (%s)", line, k,
		    err.msg);
	assert_string_equal(rec.ip, ip);
	assert_string_equal(rec.evidence, ev);
	assert_string_equal(rec.observed, obs);
}

/* The line is refused and the reason contains want. */
static void
assert_bad(const char *line, const char *want)
{
	struct iw_input_rec rec;
	struct iw_err err;
	enum iw_input_kind k = parse(line, &rec, &err);

	if (k != IW_INPUT_BAD)
		fail_msg("line '%s': expected BAD, got %d (ip '%s')", line, k,
		    rec.ip);
	if (strstr(err.msg, want) == NULL)
		fail_msg("line '%s': reason '%s' lacks '%s'", line, err.msg,
		    want);
	assert_string_equal(rec.ip, "");
}

/* Semicolon and TAB separated exports (spreadsheets in many locales,
 * database dumps) read like CSV; the separator is the one that ends the
 * first field, and the others are plain text in the evidence. */
static void
test_semicolon_and_tab_separated_lines(void **state)
{
	struct iw_input_rec rec;
	struct iw_err err;
	static const char semi[] = "192.0.2.1;open relay, port 25;"
	    "2026-11-01T10:00:00Z";
	static const char tab[] = "192.0.2.2\topen proxy; 3128/tcp\t\t";

	(void)state;
	assert_int_equal(iw_input_separator(semi, strlen(semi)), ';');
	assert_int_equal(iw_input_separator(tab, strlen(tab)), '\t');
	assert_int_equal(iw_input_separator("192.0.2.3", 9), ',');
	/* A quoted first field (a report's header) is stepped over. */
	assert_int_equal(iw_input_separator("\"a,b\";ip", 9), ';');
	assert_int_equal(iw_input_separator("\"timestamp\"\t\"ip\"", 16),
	    '\t');
	assert_int_equal(iw_input_parse_line_sep(semi, strlen(semi), 0, ';',
	    &rec, &err), IW_INPUT_RECORD);
	assert_string_equal(rec.ip, "192.0.2.1");
	assert_string_equal(rec.evidence, "open relay, port 25");
	assert_string_equal(rec.observed, "2026-11-01T10:00:00Z");
	/* An empty TAB-separated field is empty, not swallowed as blank. */
	assert_int_equal(iw_input_parse_line_sep("192.0.2.2\t\t"
	    "2026-11-01T10:00:00Z", 31, 0, '\t', &rec, &err),
	    IW_INPUT_RECORD);
	assert_string_equal(rec.evidence, "");
	assert_string_equal(rec.observed, "2026-11-01T10:00:00Z");
	assert_int_equal(iw_input_parse_line_sep("ip;evidence", 11, 1, ';',
	    &rec, &err), IW_INPUT_SKIP);
	assert_int_equal(iw_input_parse_line_sep("192.0.2.1;a;b;c", 15, 0,
	    ';', &rec, &err), IW_INPUT_BAD);
}

static void
test_plain_ipv4_record(void **state)
{
	(void)state;
	assert_record("192.0.2.1", "192.0.2.1", "", "");
	assert_record("192.0.2.1,open proxy on 3128/tcp", "192.0.2.1",
	    "open proxy on 3128/tcp", "");
	assert_record("192.0.2.1,open proxy,2026-11-01T10:00:00Z",
	    "192.0.2.1", "open proxy", "2026-11-01T10:00:00Z");
	assert_record("  192.0.2.1 ,  spaces trimmed  , 2026-11-01 ",
	    "192.0.2.1", "spaces trimmed", "2026-11-01T00:00:00Z");
	assert_record("192.0.2.1,,2026-11-01", "192.0.2.1", "",
	    "2026-11-01T00:00:00Z");
	assert_record("192.0.2.1,", "192.0.2.1", "", "");
	assert_record("192.0.2.1,x,", "192.0.2.1", "x", "");
}

static void
test_quoted_evidence_may_hold_commas_and_quotes(void **state)
{
	(void)state;
	assert_record("192.0.2.1,\"open proxy, port 3128\"", "192.0.2.1",
	    "open proxy, port 3128", "");
	assert_record("192.0.2.1,\"said \"\"hello\"\"\",2026-11-01",
	    "192.0.2.1", "said \"hello\"", "2026-11-01T00:00:00Z");
	assert_record("\"192.0.2.1\",\"\",\"2026-11-01\"", "192.0.2.1", "",
	    "2026-11-01T00:00:00Z");
	/* Quoted content is kept verbatim, blanks around quotes are not. */
	assert_record("192.0.2.1, \" a \" ", "192.0.2.1", " a ", "");
}

static void
test_quote_errors(void **state)
{
	struct iw_input_rec rec;
	struct iw_err err;

	(void)state;
	assert_bad("192.0.2.1,\"unterminated", "unterminated quoted field");
	assert_bad("192.0.2.1,\"closed\"junk,2026-11-01",
	    "text after a closing quote");
	/* A '"' inside an unquoted field is literal. */
	assert_int_equal(parse("192.0.2.1,5\" screen", &rec, &err),
	    IW_INPUT_RECORD);
	assert_string_equal(rec.evidence, "5\" screen");
}

static void
test_blank_and_comment_lines_are_skipped(void **state)
{
	struct iw_input_rec rec;
	struct iw_err err;

	(void)state;
	assert_int_equal(parse("", &rec, &err), IW_INPUT_SKIP);
	assert_int_equal(parse("   \t ", &rec, &err), IW_INPUT_SKIP);
	assert_int_equal(parse("\r", &rec, &err), IW_INPUT_SKIP);
	assert_int_equal(parse("# a comment, with commas", &rec, &err),
	    IW_INPUT_SKIP);
	assert_int_equal(parse("  # indented comment", &rec, &err),
	    IW_INPUT_SKIP);
}

static void
test_header_only_before_first_record(void **state)
{
	struct iw_input_rec rec;
	struct iw_err err;
	const char *h = "ip,evidence,observed";
	const char *h2 = "IP";

	(void)state;
	assert_int_equal(iw_input_parse_line(h, strlen(h), 1, &rec, &err),
	    IW_INPUT_SKIP);
	assert_int_equal(iw_input_parse_line(h2, strlen(h2), 1, &rec, &err),
	    IW_INPUT_SKIP);
	assert_int_equal(iw_input_parse_line(h, strlen(h), 0, &rec, &err),
	    IW_INPUT_BAD);
	assert_non_null(strstr(err.msg, "not an IP address: \"ip\""));
}

static void
test_bom_and_crlf_tolerated(void **state)
{
	struct iw_input_rec rec;
	struct iw_err err;
	const char *l1 = "\xef\xbb\xbfip,evidence\r";
	const char *l2 = "\xef\xbb\xbf" "192.0.2.7,x\r";
	const char *l3 = "192.0.2.7,\"quoted\"\r";

	(void)state;
	assert_int_equal(iw_input_parse_line(l1, strlen(l1), 1, &rec, &err),
	    IW_INPUT_SKIP);
	assert_int_equal(iw_input_parse_line(l2, strlen(l2), 1, &rec, &err),
	    IW_INPUT_RECORD);
	assert_string_equal(rec.ip, "192.0.2.7");
	assert_string_equal(rec.evidence, "x");
	assert_int_equal(iw_input_parse_line(l3, strlen(l3), 0, &rec, &err),
	    IW_INPUT_RECORD);
	assert_string_equal(rec.evidence, "quoted");
	/* A BOM after the first record is just a bad byte. */
	assert_int_equal(iw_input_parse_line(l2, strlen(l2), 0, &rec, &err),
	    IW_INPUT_BAD);
}

static void
test_line_is_not_nul_terminated(void **state)
{
	struct iw_input_rec rec;
	struct iw_err err;
	const char buf[] = "192.0.2.9,abcXXXX";

	(void)state;
	assert_int_equal(iw_input_parse_line(buf, 13, 0, &rec, &err),
	    IW_INPUT_RECORD);
	assert_string_equal(rec.evidence, "abc");
}

static void
test_ipv6_is_canonicalised(void **state)
{
	(void)state;
	assert_record("2001:DB8:0:0:0:0:0:1", "2001:db8::1", "", "");
	assert_record("2001:0db8:0000:0000:0001:0000:0000:0001",
	    "2001:db8::1:0:0:1", "", "");
}

static void
test_ipv4_mapped_becomes_ipv4(void **state)
{
	char out[48];

	(void)state;
	assert_record("::ffff:192.0.2.1", "192.0.2.1", "", "");
	assert_record("::FFFF:c000:0201", "192.0.2.1", "", "");
	assert_int_equal(iw_input_canon_ip("::ffff:198.51.100.3", 19, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "198.51.100.3");
}

static void
test_not_an_ip(void **state)
{
	char out[48];

	(void)state;
	assert_bad("300.1.2.3", "not an IP address: \"300.1.2.3\"");
	assert_bad("010.1.1.1", "not an IP address: \"010.1.1.1\"");
	assert_bad("1.2.3", "not an IP address");
	assert_bad("example.org,x", "not an IP address: \"example.org\"");
	assert_bad("2001:db8::g", "not an IP address");
	assert_bad("[2001:db8::1]", "not an IP address");
	assert_bad(",evidence only", "missing IP address");
	assert_bad("\"\"", "missing IP address");
	assert_int_equal(iw_input_canon_ip("1.2.3.4\0", 8, out, sizeof(out)),
	    -1);
	assert_int_equal(iw_input_canon_ip("", 0, out, sizeof(out)), -1);
}

static void
test_prefix_and_zone_refused(void **state)
{
	(void)state;
	assert_bad("192.0.2.0/24", "network prefixes are not accepted");
	assert_bad("192.0.2.0/24", "\"192.0.2.0/24\"");
	assert_bad("2001:db8::/32", "network prefixes are not accepted");
	assert_bad("fe80::1%eth0", "zone ids are not accepted");
}

static void
test_non_targets_refused(void **state)
{
	(void)state;
	assert_bad("127.0.0.1", "loopback address");
	assert_bad("127.0.0.1", "\"127.0.0.1\"");
	assert_bad("127.255.0.9", "loopback address");
	assert_bad("::1", "loopback address");
	assert_bad("::ffff:127.0.0.1", "loopback address");
	assert_bad("0.0.0.0", "unspecified");
	assert_bad("::", "unspecified address");
	assert_bad("224.0.0.1", "multicast address");
	assert_bad("239.255.255.250", "multicast address");
	assert_bad("ff02::1", "multicast address");
	assert_bad("169.254.1.1", "link-local address");
	assert_bad("fe80::1", "link-local address");
	assert_bad("255.255.255.255", "broadcast address");
	/* Documentation and ordinary ranges are fine. */
	assert_record("198.51.100.200", "198.51.100.200", "", "");
	assert_record("203.0.113.1", "203.0.113.1", "", "");
	assert_record("2001:db8:ffff::1", "2001:db8:ffff::1", "", "");
	assert_record("223.255.255.255", "223.255.255.255", "", "");
}

static void
test_evidence_rules(void **state)
{
	char line[2 * IW_INPUT_EVIDENCE_MAX];
	struct iw_input_rec rec;
	struct iw_err err;
	size_t max = IW_INPUT_EVIDENCE_MAX - 1;

	(void)state;
	assert_record("192.0.2.1,Åben proxy på 3128/tcp – ☃", "192.0.2.1",
	    "Åben proxy på 3128/tcp – ☃", "");
	assert_bad("192.0.2.1,bad \xc3\x28 utf8", "not valid UTF-8");
	assert_bad("192.0.2.1,\"tab\there\"", "control character");
	assert_bad("192.0.2.1,\"del\x7f\"", "control character");
	assert_bad("192.0.2.1,c1 \xc2\x85 next line", "control character");
	assert_bad("192.0.2.1,bidi \xe2\x80\xae override",
	    "control character");

	/* Exactly the maximum is accepted, one more byte is not. */
	strcpy(line, "192.0.2.1,");
	memset(line + 10, 'a', max);
	line[10 + max] = '\0';
	assert_int_equal(parse(line, &rec, &err), IW_INPUT_RECORD);
	assert_int_equal(strlen(rec.evidence), max);
	line[10 + max] = 'a';
	line[11 + max] = '\0';
	assert_int_equal(parse(line, &rec, &err), IW_INPUT_BAD);
	assert_non_null(strstr(err.msg, "evidence too long (512 bytes"));
}

static void
test_evidence_with_nul_byte_refused(void **state)
{
	struct iw_input_rec rec;
	struct iw_err err;
	const char buf[] = "192.0.2.1,a\0b";

	(void)state;
	assert_int_equal(iw_input_parse_line(buf, sizeof(buf) - 1, 0, &rec,
	    &err), IW_INPUT_BAD);
	assert_non_null(strstr(err.msg, "control character"));
	assert_non_null(strstr(err.msg, "\\x00"));
}

static void
test_too_many_fields(void **state)
{
	(void)state;
	assert_bad("192.0.2.1,a,2026-11-01,extra", "too many fields (4");
	assert_bad("192.0.2.1,a,2026-11-01,", "too many fields (4");
	assert_bad("192.0.2.1,a,b,c,d,e", "too many fields (6");
	/* Commas inside quotes do not count. */
	assert_record("192.0.2.1,\"a,b,c,d\",2026-11-01", "192.0.2.1",
	    "a,b,c,d", "2026-11-01T00:00:00Z");
}

static void
test_time_forms_are_normalised(void **state)
{
	static const char *const cases[][2] = {
		{ "2026-11-01", "2026-11-01T00:00:00Z" },
		{ "2026-11-01T10:00:00Z", "2026-11-01T10:00:00Z" },
		{ "2026-11-01t10:00:00z", "2026-11-01T10:00:00Z" },
		{ "2026-11-01T10:00:00+01:00", "2026-11-01T10:00:00+01:00" },
		{ "2026-11-01T10:00:00-0530", "2026-11-01T10:00:00-05:30" },
		{ "2026-11-01T10:00:00+02", "2026-11-01T10:00:00+02:00" },
		{ "2026-11-01 10:00:00", "2026-11-01T10:00:00Z" },
		{ "2026-11-01T10:00", "2026-11-01T10:00:00Z" },
		{ "2026-11-01T10:00:00.5Z", "2026-11-01T10:00:00.5Z" },
		{ "2026-11-01T10:00:00,123456+01:00",
		    "2026-11-01T10:00:00.123456+01:00" },
		{ "2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z" },
		{ "2000-02-29", "2000-02-29T00:00:00Z" },
		/* As report exports write them. */
		{ "2026-11-01 10:00:00 +02:00", "2026-11-01T10:00:00+02:00" },
		{ "2026-11-01 10:00:00Z", "2026-11-01T10:00:00Z" },
		{ "2026-11-01 10:00:00 UTC", "2026-11-01T10:00:00Z" },
		{ "2026-11-01T10:00:00.123456789Z",
		    "2026-11-01T10:00:00.123456789Z" },
	};
	char out[40];
	struct iw_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (iw_input_parse_time(cases[i][0], strlen(cases[i][0]), out,
		    sizeof(out), &err) != 0)
			fail_msg("'%s': %s", cases[i][0], err.msg);
		assert_string_equal(out, cases[i][1]);
	}
}

static void
test_impossible_times_refused(void **state)
{
	(void)state;
	assert_bad("192.0.2.1,x,2026-02-30", "day out of range");
	assert_bad("192.0.2.1,x,2026-02-30", "\"2026-02-30\"");
	assert_bad("192.0.2.1,x,2025-02-29", "day out of range");
	assert_bad("192.0.2.1,x,1900-02-29", "day out of range");
	assert_bad("192.0.2.1,x,2026-04-31", "day out of range");
	assert_bad("192.0.2.1,x,2026-13-01", "month out of range");
	assert_bad("192.0.2.1,x,2026-00-10", "month out of range");
	assert_bad("192.0.2.1,x,2026-11-00", "day out of range");
	assert_bad("192.0.2.1,x,2026-11-01T24:00:00Z", "hour out of range");
	assert_bad("192.0.2.1,x,2026-11-01T10:60:00Z", "minute out of range");
	assert_bad("192.0.2.1,x,2026-11-01T10:00:61Z", "second out of range");
	assert_bad("192.0.2.1,x,2026-11-01T10:00:00+15:00", "zone offset");
	assert_bad("192.0.2.1,x,0000-01-01", "year out of range");
}

static void
test_malformed_times_refused(void **state)
{
	(void)state;
	assert_bad("192.0.2.1,x,yesterday", "not an ISO-8601 time");
	assert_bad("192.0.2.1,x,26-11-01", "not an ISO-8601 time");
	assert_bad("192.0.2.1,x,2026-1-01", "not an ISO-8601 time");
	assert_bad("192.0.2.1,x,2026-11-01T10", "not an ISO-8601 time");
	assert_bad("192.0.2.1,x,2026-11-01T10:00:00.Z", "not an ISO-8601");
	assert_bad("192.0.2.1,x,2026-11-01T10:00:00.1234567890Z",
	    "not an ISO-8601");
	assert_bad("192.0.2.1,x,2026-11-01T10:00:00Zjunk", "not an ISO");
	assert_bad("192.0.2.1,x,2026-11-01+01:00", "not an ISO-8601");
	assert_bad("192.0.2.1,x,1762000000", "not an ISO-8601");
	assert_bad("192.0.2.1,x,2026-11-01 10:00:00  +02:00", "not an ISO");
	assert_bad("192.0.2.1,x,2026-11-01 10:00:00 EST", "not an ISO");
	assert_bad("192.0.2.1,x,2026-11-01 10:00:00 UTCX", "not an ISO");
}

static void
test_reason_value_is_sanitised_and_bounded(void **state)
{
	char line[400];
	struct iw_input_rec rec;
	struct iw_err err;

	(void)state;
	assert_bad("1.2.3.4\x1b[31m", "\"1.2.3.4\\x1b[31m\"");
	assert_bad("\"a\"\"b\"", "\"a\\\"b\"");
	memset(line, 'z', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	assert_int_equal(parse(line, &rec, &err), IW_INPUT_BAD);
	assert_non_null(strstr(err.msg, "...\""));
	assert_true(strlen(err.msg) < 120);
	for (const char *p = err.msg; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_ipv4_record),
		cmocka_unit_test(test_quoted_evidence_may_hold_commas_and_quotes),
		cmocka_unit_test(test_quote_errors),
		cmocka_unit_test(test_blank_and_comment_lines_are_skipped),
		cmocka_unit_test(test_header_only_before_first_record),
		cmocka_unit_test(test_bom_and_crlf_tolerated),
		cmocka_unit_test(test_line_is_not_nul_terminated),
		cmocka_unit_test(test_ipv6_is_canonicalised),
		cmocka_unit_test(test_ipv4_mapped_becomes_ipv4),
		cmocka_unit_test(test_not_an_ip),
		cmocka_unit_test(test_prefix_and_zone_refused),
		cmocka_unit_test(test_non_targets_refused),
		cmocka_unit_test(test_evidence_rules),
		cmocka_unit_test(test_evidence_with_nul_byte_refused),
		cmocka_unit_test(test_too_many_fields),
		cmocka_unit_test(test_semicolon_and_tab_separated_lines),
		cmocka_unit_test(test_time_forms_are_normalised),
		cmocka_unit_test(test_impossible_times_refused),
		cmocka_unit_test(test_malformed_times_refused),
		cmocka_unit_test(test_reason_value_is_sanitised_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
