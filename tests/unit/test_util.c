/* util: UTF-8 validation at every alignment of its ASCII fast path. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static int
valid_at(size_t pad, const char *tail, size_t tlen)
{
	char buf[128];

	memset(buf, 'a', pad);
	memcpy(buf + pad, tail, tlen);
	return iw_utf8_valid(buf, pad + tlen);
}

static void
test_utf8_every_offset(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		int ok;
	} cases[] = {
		{ "\xc3\xb8", 2, 1 },			/* ø */
		{ "\xe2\x82\xac", 3, 1 },		/* € */
		{ "\xf0\x9f\x93\xa7", 4, 1 },		/* 📧 */
		{ "\xc3", 1, 0 },			/* cut short */
		{ "\xc3\x28", 2, 0 },			/* bad continuation */
		{ "\x80", 1, 0 },			/* lone continuation */
		{ "\xc0\xaf", 2, 0 },			/* overlong '/' */
		{ "\xed\xa0\x80", 3, 0 },		/* surrogate */
		{ "\xf4\x90\x80\x80", 4, 0 },		/* > U+10FFFF */
		{ "\xff", 1, 0 },
		{ "x\0y", 3, 1 },			/* NUL is ASCII */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (size_t pad = 0; pad < 40; pad++) {
			char after[64];

			if (valid_at(pad, cases[i].s, cases[i].n) != cases[i].ok)
				fail_msg("case %zu after %zu bytes", i, pad);
			/* and followed by more ASCII */
			memcpy(after, cases[i].s, cases[i].n);
			memset(after + cases[i].n, 'b', 20);
			if (valid_at(pad, after, cases[i].n + 20) != cases[i].ok)
				fail_msg("case %zu after %zu bytes, then ASCII",
				    i, pad);
		}
	assert_true(iw_utf8_valid("", 0));
}

static void
test_latin1_answer_becomes_utf8(void **state)
{
	struct iw_buf b = IW_BUF_INIT;
	int l1 = -1;

	(void)state;
	assert_int_equal(iw_buf_puts(&b, "descr: M\xfcnchen \xa9\n"), 0);
	assert_int_equal(iw_text_to_utf8(&b, &l1), 0);
	assert_int_equal(l1, 1);
	assert_string_equal(b.data, "descr: M\xc3\xbcnchen \xc2\xa9\n");
	assert_int_equal(b.len, strlen(b.data));
	iw_buf_free(&b);
}

static void
test_utf8_answer_is_kept_but_nul_replaced(void **state)
{
	struct iw_buf b = IW_BUF_INIT;
	int l1 = -1;

	(void)state;
	assert_int_equal(iw_buf_append(&b, "M\xc3\xbcnchen\0x", 10), 0);
	assert_int_equal(iw_text_to_utf8(&b, &l1), 0);
	assert_int_equal(l1, 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "M\xc3\xbcnchen?x", 10);
	iw_buf_free(&b);
}

static void
test_random_bytes_always_decode_to_valid_utf8(void **state)
{
	uint32_t x = 12;

	(void)state;
	for (int round = 0; round < 200; round++) {
		struct iw_buf b = IW_BUF_INIT;
		char s[300];

		for (int i = 0; i < 257; i++) {
			char c;

			x = x * 1103515245u + 12345u;
			c = (char)(x >> 16);
			assert_int_equal(iw_buf_append(&b, &c, 1), 0);
		}
		assert_int_equal(iw_text_to_utf8(&b, NULL), 0);
		assert_true(iw_utf8_valid(b.data, b.len));
		assert_null(memchr(b.data, '\0', b.len));
		/* and the in-place scrub of a C string */
		s[299] = '\0';
		for (int i = 0; i < 299; i++) {
			x = x * 1103515245u + 12345u;
			s[i] = (char)((x >> 16) | 1);
		}
		iw_utf8_scrub(s);
		assert_true(iw_utf8_valid(s, strlen(s)));
		assert_int_equal(strlen(s), 299);
		iw_buf_free(&b);
	}
}

/* A read paced by its cost: due at once, then after the minimum while it
 * is cheap, and after IW_PACE_FACTOR times its duration when it is not. */
static void
test_pace_bounds_a_costly_read(void **state)
{
	struct iw_pace p = { 0 };

	(void)state;
	assert_true(iw_pace_due(&p, 1000));
	iw_pace_done(&p, 1000, 1010, 5000);	/* 10 ms: the minimum */
	assert_false(iw_pace_due(&p, 6009));
	assert_true(iw_pace_due(&p, 6010));
	iw_pace_done(&p, 7000, 8000, 5000);	/* 1 s: next in 20 s */
	assert_false(iw_pace_due(&p, 13000));
	assert_false(iw_pace_due(&p, 27999));
	assert_true(iw_pace_due(&p, 28000));
	iw_pace_done(&p, 9000, 8000, 5000);	/* clock went back */
	assert_true(iw_pace_due(&p, 13000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_every_offset),
		cmocka_unit_test(test_latin1_answer_becomes_utf8),
		cmocka_unit_test(test_utf8_answer_is_kept_but_nul_replaced),
		cmocka_unit_test(test_random_bytes_always_decode_to_valid_utf8),
		cmocka_unit_test(test_pace_bounds_a_costly_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
