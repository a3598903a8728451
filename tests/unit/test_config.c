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
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "whois_nir.h"

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
load_mode(const char *text, mode_t mode, struct iw_err *err)
{
	struct iw_config *c = NULL;
	FILE *f;
	int fd;

	strcpy(path, "/tmp/iw-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	err->msg[0] = '\0';
	if (iw_config_load(path, &c, err) < 0)
		c = NULL;
	unlink(path);
	return c;
}

static struct iw_config *
load(const char *text, struct iw_err *err)
{
	return load_mode(text, 0600, err);
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
test_registry_domains(void **state)
{
	struct iw_err err;
	struct iw_whois_conf wc;
	struct iw_config *c = load("whois: { bootstrap = \"whois.iana.org\"; "
	    "registry_domains = [ \"NIC.ad.jp\", \"apnic.net\" ]; };\n",
	    &err);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->whois_nregistry_domains, 2);
	assert_string_equal(c->whois_registry_domains[0], "nic.ad.jp");
	iw_config_whois(c, &wc);
	assert_int_equal(iw_whois_registry_run(&wc, "hostmaster@nic.ad.jp",
	    NULL, 0), 1);
	/* Listed domains only: the defaults no longer apply. */
	assert_int_equal(iw_whois_registry_run(&wc, "hostmaster@nic.mx",
	    NULL, 0), 0);
	iw_config_free(c);
	/* Unset: the defaults; () : none. */
	c = load("whois: { bootstrap = \"whois.iana.org\"; };\n", &err);
	assert_non_null(c);
	iw_config_whois(c, &wc);
	assert_int_equal(iw_whois_registry_run(&wc, "hostmaster@nic.mx",
	    NULL, 0), 1);
	iw_config_free(c);
	c = load("whois: { bootstrap = \"whois.iana.org\"; "
	    "registry_domains = (); };\n", &err);
	assert_non_null(c);
	iw_config_whois(c, &wc);
	assert_int_equal(iw_whois_registry_run(&wc, "hostmaster@nic.mx",
	    NULL, 0), 0);
	iw_config_free(c);
	expect_error("whois: { bootstrap = \"x\";\n registry_domains = "
	    "[ \"not a domain\" ]; };\n", "2: whois.registry_domains");
	expect_error("whois: { bootstrap = \"x\";\n registry_domains = "
	    "\"apnic.net\"; };\n", "2: whois.registry_domains");
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

static void
test_world_readable_file_with_a_secret_is_refused(void **state)
{
	struct iw_err err;
	struct iw_config *c;

	(void)state;
	assert_null(load_mode(base, 0644, &err));
	assert_non_null(strstr(err.msg, "sender.verp_secret"));
	assert_non_null(strstr(err.msg, "chmod 640"));
	c = load_mode(base, 0640, &err);
	assert_non_null(c);
	iw_config_free(c);
	/* No secret in it: any mode will do. */
	c = load_mode("database: { conninfo = \"dbname=x\"; };\n", 0644,
	    &err);
	assert_non_null(c);
	iw_config_free(c);
	assert_null(load_mode("database: { conninfo = \"dbname=x "
	    "password=pw\"; };\n", 0644, &err));
	assert_non_null(strstr(err.msg, "conninfo"));
}

static void
test_the_example_verp_secret_is_refused(void **state)
{
	(void)state;
	expect_error("sender: { from = \"a@b.example\";\n"
	    " return_path = \"b@b.example\";\n"
	    " verp_secret = \"" IW_CONFIG_EXAMPLE_SECRET "\"; };\n",
	    "3: sender.verp_secret: still the example's value, which anyone "
	    "can read: make one with `openssl rand -hex 32`");
}

static void
test_auth_without_tls_is_refused_unless_on_loopback(void **state)
{
	struct iw_err err;
	struct iw_config *c;

	(void)state;
	expect_error("smtp: { relay = \"mail.example.org:587\";\n"
	    " starttls = \"enabled\"; username = \"u\"; };\n",
	    "1: smtp: username (AUTH) needs starttls = \"required\"");
	c = load("smtp: { relay = \"mail.example.org:587\";\n"
	    " starttls = \"required\"; username = \"u\"; };\n", &err);
	assert_non_null(c);
	assert_false(iw_config_auth_in_clear(c));
	iw_config_free(c);
	c = load("smtp: { relay = \"127.0.0.1:25\"; username = \"u\"; };\n",
	    &err);
	assert_non_null(c);
	assert_true(iw_config_auth_in_clear(c));
	iw_config_free(c);
}

static void
test_loopback_relays(void **state)
{
	(void)state;
	assert_true(iw_config_relay_is_loopback("127.0.0.1:25"));
	assert_true(iw_config_relay_is_loopback("127.3.4.5:2525"));
	assert_true(iw_config_relay_is_loopback("[::1]:25"));
	assert_true(iw_config_relay_is_loopback("localhost:25"));
	assert_false(iw_config_relay_is_loopback("128.0.0.1:25"));
	assert_false(iw_config_relay_is_loopback("[::2]:25"));
	assert_false(iw_config_relay_is_loopback("127.example.org:25"));
	assert_false(iw_config_relay_is_loopback("localhost.evil.example:25"));
}

static void
test_default_path_is_never_relative(void **state)
{
	char *abs, here[4096];

	(void)state;
	assert_non_null(getcwd(here, sizeof(here)));
	unsetenv("IPWARN_CONF");
	assert_string_equal(iw_config_default_path(),
	    "/etc/ipwarn/ipwarn.conf");
	setenv("IPWARN_CONF", "/srv/ipwarn.conf", 1);
	assert_string_equal(iw_config_default_path(), "/srv/ipwarn.conf");
	unsetenv("IPWARN_CONF");
	assert_int_equal(chdir("/tmp"), 0);
	abs = iw_config_absolute("x/ipwarn.conf");
	assert_string_equal(abs, "/tmp/x/ipwarn.conf");
	free(abs);
	assert_int_equal(chdir(here), 0);
}

/* A relative path inside the file is taken from the file's directory
 * (here /tmp), even when the working directory holds one of that name:
 * a file planted where a command runs is never used. */
static void
test_relative_paths_are_from_the_config_files_directory(void **state)
{
	char here[4096], dir[] = "/tmp/iw-cwd-XXXXXX", planted[4200];
	struct iw_err err;
	struct iw_config *c;

	(void)state;
	assert_non_null(getcwd(here, sizeof(here)));
	assert_non_null(mkdtemp(dir));
	snprintf(planted, sizeof(planted), "%s/locales", dir);
	assert_int_equal(mkdir(planted, 0755), 0);
	assert_int_equal(chdir(dir), 0);
	c = load("letters: { directory = \"locales\"; };\n", &err);
	assert_int_equal(chdir(here), 0);
	rmdir(planted);
	rmdir(dir);
	assert_non_null(c);
	assert_string_equal(c->letters_directory, "/tmp/locales");
	iw_config_free(c);
}

static void
test_daemon_user_defaults_to_ipwarn(void **state)
{
	struct iw_err err;
	struct iw_config *c = load("daemon: { };\n", &err);

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->daemon_user, "ipwarn");
	assert_int_equal(c->db_reconnect_max, 60);
	iw_config_free(c);
	c = load("daemon: { user = \"mail\"; };\n"
	    "database: { conninfo = \"x\"; reconnect_max = \"2s\"; };\n",
	    &err);
	assert_non_null(c);
	assert_string_equal(c->daemon_user, "mail");
	assert_int_equal(c->db_reconnect_max, 2);
	iw_config_free(c);
}

/* Does one line of the example show "name = " with def after it? */
static int
shown(const char *text, const char *name, const char *def)
{
	size_t n = strlen(name);

	for (const char *l = text; l != NULL && *l != '\0';) {
		const char *end = strchr(l, '\n'), *p = l, *q;

		if (end == NULL)
			end = l + strlen(l);
		while (*p == ' ' || *p == '#')
			p++;
		q = p + n;
		while (q < end && *q == ' ')
			q++;
		if (strncmp(p, name, n) == 0 && q < end && *q == '=') {
			if (def == NULL)
				return 1;
			for (; q + strlen(def) <= end; q++)
				if (strncmp(q, def, strlen(def)) == 0)
					return 1;
		}
		l = *end ? end + 1 : NULL;
	}
	return 0;
}

static void
test_example_config_shows_every_key_with_its_default(void **state)
{
	struct iw_config_key_info k;
	char text[32768];
	FILE *f = fopen("etc/ipwarn.conf", "r");
	size_t n;

	(void)state;
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	for (size_t i = 0; iw_config_key(i, &k) == 0; i++)
		if (!shown(text, k.name, k.def))
			fail_msg("etc/ipwarn.conf does not show %s.%s = %s",
			    k.section, k.name, k.def ? k.def : "...");
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
		cmocka_unit_test(test_registry_domains),
		cmocka_unit_test(test_require_names_the_missing_section),
		cmocka_unit_test(test_country_map_picks_locale_else_default),
		cmocka_unit_test(
		    test_world_readable_file_with_a_secret_is_refused),
		cmocka_unit_test(test_the_example_verp_secret_is_refused),
		cmocka_unit_test(
		    test_auth_without_tls_is_refused_unless_on_loopback),
		cmocka_unit_test(test_loopback_relays),
		cmocka_unit_test(test_default_path_is_never_relative),
		cmocka_unit_test(
		    test_relative_paths_are_from_the_config_files_directory),
		cmocka_unit_test(test_daemon_user_defaults_to_ipwarn),
		cmocka_unit_test(
		    test_example_config_shows_every_key_with_its_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
