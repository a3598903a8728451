/*
 * Unit tests of the VERP return path (lib/verp.c): what encode writes, that
 * decode gives the letter id back, and that any change to the token, or
 * the wrong secret, makes it fail to verify.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "verp.h"

#define SECRET "change-me"

static int
decode(const char *addr, const char *secret, int64_t *id)
{
	*id = -1;
	return iw_verp_decode(addr, strlen(addr), secret, id);
}

static void
test_token_shape(void **state)
{
	char tok[64];
	const char *dot;

	(void)state;
	assert_int_equal(iw_verp_token(SECRET, 12, tok, sizeof(tok)), 0);
	dot = strchr(tok, '.');
	assert_non_null(dot);
	assert_int_equal(dot - tok, 2);
	assert_memory_equal(tok, "12", 2);
	assert_int_equal(strlen(dot + 1), 13);
	for (const char *p = dot + 1; *p; p++)
		assert_true((*p >= 'a' && *p <= 'z') || (*p >= '2' && *p <= '7'));
	/* Deterministic, and different per id and per secret. */
	{
		char again[64], other[64], other2[64];

		assert_int_equal(iw_verp_token(SECRET, 12, again,
		    sizeof(again)), 0);
		assert_string_equal(tok, again);
		assert_int_equal(iw_verp_token(SECRET, 13, other,
		    sizeof(other)), 0);
		assert_string_not_equal(tok + 3, other + 3);
		assert_int_equal(iw_verp_token("other", 12, other2,
		    sizeof(other2)), 0);
		assert_string_not_equal(tok, other2);
	}
}

/* Fixed vector, so other implementations (test harnesses) can agree:
 * base32(HMAC-SHA256("change-me", "12")[0..8]) in lower case. */
static void
test_token_known_answer(void **state)
{
	char tok[64];

	(void)state;
	assert_int_equal(iw_verp_token(SECRET, 12, tok, sizeof(tok)), 0);
	assert_string_equal(tok, "12.yin2yvyhgvnzg");
}

static void
test_token_refuses_small_buffer_and_bad_input(void **state)
{
	char tok[64];

	(void)state;
	assert_int_equal(iw_verp_token(SECRET, 12, tok, 17), 0);
	assert_int_equal(iw_verp_token(SECRET, 12, tok, 16), -1);
	assert_int_equal(iw_verp_token(SECRET, -1, tok, sizeof(tok)), -1);
	assert_int_equal(iw_verp_token("", 1, tok, sizeof(tok)), -1);
	assert_int_equal(iw_verp_token(NULL, 1, tok, sizeof(tok)), -1);
}

static void
test_encode_inserts_token_before_at(void **state)
{
	char addr[IW_VERP_MAX], tok[64], want[IW_VERP_MAX];
	struct iw_err err;

	(void)state;
	assert_int_equal(iw_verp_encode("bounces@Example.ORG", SECRET, 42,
	    addr, sizeof(addr), &err), 0);
	assert_int_equal(iw_verp_token(SECRET, 42, tok, sizeof(tok)), 0);
	strcpy(want, "bounces+");
	strcat(want, tok);
	strcat(want, "@example.org");
	assert_string_equal(addr, want);
}

static void
test_encode_refuses_bad_return_path(void **state)
{
	char addr[IW_VERP_MAX];
	struct iw_err err;
	char longlocal[80];

	(void)state;
	assert_int_equal(iw_verp_encode("bounces+x@example.org", SECRET, 1,
	    addr, sizeof(addr), &err), -1);
	assert_non_null(strstr(err.msg, "'+'"));
	assert_int_equal(iw_verp_encode("not-a-mailbox", SECRET, 1, addr,
	    sizeof(addr), &err), -1);
	assert_non_null(strstr(err.msg, "return path"));
	assert_int_equal(iw_verp_encode("bounces@example.org", "", 1, addr,
	    sizeof(addr), &err), -1);
	assert_int_equal(iw_verp_encode("bounces@example.org", SECRET, 1,
	    addr, 20, &err), -1);
	/* A local part that the token would push past 64 octets. */
	memset(longlocal, 'b', 60);
	strcpy(longlocal + 60, "@example.org");
	assert_int_equal(iw_verp_encode(longlocal, SECRET, 1, addr,
	    sizeof(addr), &err), -1);
}

static void
test_round_trip(void **state)
{
	static const int64_t ids[] = { 0, 1, 7, 42, 999999, 123456789012,
	    INT64_MAX };
	char addr[IW_VERP_MAX], tok[64];
	struct iw_err err;
	int64_t id;

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		assert_int_equal(iw_verp_encode("bounces@example.org", SECRET,
		    ids[i], addr, sizeof(addr), &err), 0);
		assert_int_equal(decode(addr, SECRET, &id), 1);
		assert_true(id == ids[i]);
		assert_int_equal(iw_verp_token(SECRET, ids[i], tok,
		    sizeof(tok)), 0);
		assert_int_equal(decode(tok, SECRET, &id), 1);
		assert_true(id == ids[i]);
	}
}

static void
test_case_folding_survives(void **state)
{
	char addr[IW_VERP_MAX];
	struct iw_err err;
	int64_t id;

	(void)state;
	assert_int_equal(iw_verp_encode("bounces@example.org", SECRET, 4711,
	    addr, sizeof(addr), &err), 0);
	for (char *p = addr; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	assert_int_equal(decode(addr, SECRET, &id), 1);
	assert_true(id == 4711);
}

static void
test_decode_accepts_angle_brackets_and_spaces(void **state)
{
	char addr[IW_VERP_MAX], wrapped[IW_VERP_MAX + 8];
	struct iw_err err;
	int64_t id;

	(void)state;
	assert_int_equal(iw_verp_encode("bounces@example.org", SECRET, 5,
	    addr, sizeof(addr), &err), 0);
	strcpy(wrapped, " <");
	strcat(wrapped, addr);
	strcat(wrapped, ">\r\n");
	assert_int_equal(decode(wrapped, SECRET, &id), 1);
	assert_true(id == 5);
}

static void
test_any_tampered_character_is_rejected(void **state)
{
	char addr[IW_VERP_MAX], t[IW_VERP_MAX];
	const char *plus, *at;
	struct iw_err err;
	int64_t id;
	static const char repl[] = "0123456789abcdefghijklmnopqrstuvwxyz.+";

	(void)state;
	assert_int_equal(iw_verp_encode("bounces@example.org", SECRET, 314,
	    addr, sizeof(addr), &err), 0);
	plus = strchr(addr, '+');
	at = strchr(addr, '@');
	for (const char *p = plus + 1; p < at; p++) {
		size_t off = (size_t)(p - addr);

		for (const char *r = repl; *r; r++) {
			if (tolower((unsigned char)*r) ==
			    tolower((unsigned char)*p))
				continue;
			strcpy(t, addr);
			t[off] = *r;
			if (decode(t, SECRET, &id) != 0)
				fail_msg("tampered '%s' verified", t);
		}
		/* Deleting the character breaks it too. */
		strcpy(t, addr);
		memmove(t + off, t + off + 1, strlen(t + off));
		assert_int_equal(decode(t, SECRET, &id), 0);
	}
}

static void
test_wrong_secret_is_rejected(void **state)
{
	char addr[IW_VERP_MAX];
	struct iw_err err;
	int64_t id;

	(void)state;
	assert_int_equal(iw_verp_encode("bounces@example.org", SECRET, 9,
	    addr, sizeof(addr), &err), 0);
	assert_int_equal(decode(addr, "change-me!", &id), 0);
	assert_int_equal(decode(addr, "", &id), 0);
	assert_int_equal(decode(addr, NULL, &id), 0);
}

static void
test_no_token_is_not_ours(void **state)
{
	int64_t id;

	(void)state;
	assert_int_equal(decode("bounces@example.org", SECRET, &id), 0);
	assert_int_equal(decode("", SECRET, &id), 0);
	assert_int_equal(decode("+@example.org", SECRET, &id), 0);
	assert_int_equal(decode("bounces+12.@example.org", SECRET, &id), 0);
	assert_int_equal(decode("bounces+99999999999999999999.aaaaaaaaaaaaa"
	    "@example.org", SECRET, &id), 0);
	assert_int_equal(decode("MAILER-DAEMON", SECRET, &id), 0);
	assert_true(id == -1);
}

static void
test_leading_zero_id_is_rejected(void **state)
{
	char tok[64], z[70];
	int64_t id;

	(void)state;
	assert_int_equal(iw_verp_token(SECRET, 12, tok, sizeof(tok)), 0);
	z[0] = '0';
	strcpy(z + 1, tok);
	assert_int_equal(decode(z, SECRET, &id), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_shape),
		cmocka_unit_test(test_token_known_answer),
		cmocka_unit_test(test_token_refuses_small_buffer_and_bad_input),
		cmocka_unit_test(test_encode_inserts_token_before_at),
		cmocka_unit_test(test_encode_refuses_bad_return_path),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_case_folding_survives),
		cmocka_unit_test(test_decode_accepts_angle_brackets_and_spaces),
		cmocka_unit_test(test_any_tampered_character_is_rejected),
		cmocka_unit_test(test_wrong_secret_is_rejected),
		cmocka_unit_test(test_no_token_is_not_ours),
		cmocka_unit_test(test_leading_zero_id_is_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
