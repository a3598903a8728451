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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_every_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
