/*
 * Unit tests for config: every error names file:line and the key, unknown
 * keys are errors, defaults and durations are applied as documented.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char path[64];

static const char base[] =
    "database: { conninfo = \"dbname=x\"; };\n"
    "smtp: { relay = \"127.0.0.1:25\"; };\n"
    "sender: {\n"
    "  from = \"Secure <secure@Example.ORG>\";\n"
    "  return_path = \"bounces@example.org\";\n"
    "  verp_secret = \"0123456789\";\n"
    "};\n";

static struct iw_config *
load(const char *text, struct iw_err *err)
{
	struct iw_config *c = NULL;
	FILE *f;
	int fd;

	strcpy(path, "/tmp/iw-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	err->msg[0] = '\0';
	if (iw_config_load(path, &c, err) < 0)
		c = NULL;
	unlink(path);
	return c;
}

static void
expect_error(const char *text, const char *line_and_key)
{
	struct iw_err err;
	char want[256];
	struct iw_config *c = load(text, &err);

	assert_null(c);
	snprintf(want, sizeof(want), "%s:%s", path, line_and_key);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, want);
}

static void
test_unknown_key_names_file_line_and_key(void **state)
{
	(void)state;
	expect_error("database: {\n  conninfo = \"x\";\n  connifo = \"y\";\n"
	    "};\n", "3: database.connifo: unknown key");
}

static void
test_unknown_section_is_an_error(void **state)
{
	(void)state;
	expect_error("database: { conninfo = \"x\"; };\n\nsmpt: { };\n",
	    "3: smpt");
}

static void
test_relay_without_port_is_an_error(void **state)
{
	(void)state;
	expect_error("smtp: {\n relay = \"mail.example.org\";\n};\n",
	    "2: smtp.relay: missing port");
}

static void
test_bad_duration_is_an_error(void **state)
{
	(void)state;
	expect_error("delivery: {\n  max_age = \"5 days\";\n};\n",
	    "2: delivery.max_age");
}

static void
test_return_path_with_plus_is_refused(void **state)
{
	(void)state;
	expect_error("sender: { from = \"a@b.example\";\n"
	    " return_path = \"b+x@b.example\"; verp_secret = \"0123456789\"; };\n",
	    "2: sender.return_path");
}

static void
test_short_verp_secret_is_refused(void **state)
{
	(void)state;
	expect_error("sender: { from = \"a@b.example\";\n"
	    " return_path = \"b@b.example\";\n verp_secret = \"short\"; };\n",
	    "3: sender.verp_secret");
}

static void
test_syntax_error_names_the_line(void **state)
{
	(void)state;
	expect_error("database: {\n conninfo = ;\n};\n", "2:");
}

static void
test_defaults_and_durations(void **state)
{
	struct iw_err err;
	struct iw_config *c = load(base, &err);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->delivery_workers, 4);
	assert_int_equal(c->delivery_batch, 50);
	assert_int_equal(c->delivery_min_backoff, 300);
	assert_int_equal(c->delivery_max_backoff, 3600);
	assert_int_equal(c->delivery_max_age, 5 * 86400);
	assert_int_equal(c->delivery_lease, 300);
	assert_int_equal(c->whois_retries, 5);
	assert_string_equal(c->letters_default_locale, "en");
	assert_string_equal(c->sender_domain, "example.org");
	iw_config_free(c);

	c = load("delivery: { min_backoff = \"90s\"; max_backoff = \"2h\";"
	    " max_age = \"7d\"; lease = 120; };\n", &err);
	assert_non_null(c);
	assert_int_equal(c->delivery_min_backoff, 90);
	assert_int_equal(c->delivery_max_backoff, 7200);
	assert_int_equal(c->delivery_max_age, 7 * 86400);
	assert_int_equal(c->delivery_lease, 120);
	iw_config_free(c);
}

static void
test_min_backoff_above_max_is_refused(void **state)
{
	(void)state;
	expect_error("delivery: {\n min_backoff = \"2h\"; max_backoff = "
	    "\"1h\";\n};\n", "1: delivery");
}

static void
test_require_names_the_missing_section(void **state)
{
	struct iw_err err;
	struct iw_config *c = load("database: { conninfo = \"x\"; };\n", &err);

	(void)state;
	assert_non_null(c);
	assert_int_equal(iw_config_require(c, IW_CONF_DATABASE, &err), 0);
	assert_int_equal(iw_config_require(c, IW_CONF_DATABASE | IW_CONF_SMTP,
	    &err), -1);
	assert_non_null(strstr(err.msg, "smtp"));
	iw_config_free(c);
}

static void
test_country_map_picks_locale_else_default(void **state)
{
	struct iw_err err;
	struct iw_config *c = load("letters: { directory = \"/tmp\";\n"
	    " default_locale = \"en\";\n"
	    " countries = { DK = \"da\"; NO = \"nb\"; }; };\n", &err);

	(void)state;
	assert_non_null(c);
	assert_string_equal(iw_config_locale_for(c, "DK"), "da");
	assert_string_equal(iw_config_locale_for(c, "NO"), "nb");
	assert_string_equal(iw_config_locale_for(c, "SE"), "en");
	assert_string_equal(iw_config_locale_for(c, ""), "en");
	iw_config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_key_names_file_line_and_key),
		cmocka_unit_test(test_unknown_section_is_an_error),
		cmocka_unit_test(test_relay_without_port_is_an_error),
		cmocka_unit_test(test_bad_duration_is_an_error),
		cmocka_unit_test(test_return_path_with_plus_is_refused),
		cmocka_unit_test(test_short_verp_secret_is_refused),
		cmocka_unit_test(test_syntax_error_names_the_line),
		cmocka_unit_test(test_defaults_and_durations),
		cmocka_unit_test(test_min_backoff_above_max_is_refused),
		cmocka_unit_test(test_require_names_the_missing_section),
		cmocka_unit_test(test_country_map_picks_locale_else_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
