/*
 * Integration test of lib/geoip.c against a real MaxMind DB: the database
 * is built at test time by tools/mkmmdb (libmaxmind-db-writer-perl) into a
 * temporary directory, so no downloaded GeoLite2 file is needed.  Checks
 * IPv4, IPv6 and IPv4-mapped lookups, the registered_country fallback, and
 * that unknown addresses give "".
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "geoip.h"

static const char spec_text[] =
    "# network       country  registered\n"
    "192.0.2.0/24    DK\n"
    "192.0.2.128/25  SE       DK   # a more specific network wins\n"
    "198.51.100.0/24 -        NL   # registered country only\n"
    "203.0.113.0/25  de       RO   # malformed country: fall back\n"
    "2001:db8::/32   NO\n"
    "2001:db8:1::/48 -        DE\n";

struct fixture {
	char dir[256];
	char spec[300];
	char mmdb[300];
	struct iw_geoip *g;
};

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void
cleanup(struct fixture *fx)
{
	iw_geoip_close(fx->g);
	fx->g = NULL;
	unlink(fx->mmdb);
	unlink(fx->spec);
	rmdir(fx->dir);
}

static int
setup(void **state)
{
	static struct fixture fx;
	const char *src = getenv("IW_SRCDIR");
	const char *tmp = getenv("TMPDIR");
	char cmd[1200];
	struct iw_err err;

	if (src == NULL || src[0] == '\0')
		src = ".";
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if (strchr(src, '\'') != NULL)
		return -1;
	snprintf(fx.dir, sizeof(fx.dir), "%s/iw-geoip-XXXXXX", tmp);
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	snprintf(fx.spec, sizeof(fx.spec), "%s/spec", fx.dir);
	snprintf(fx.mmdb, sizeof(fx.mmdb), "%s/test.mmdb", fx.dir);
	if (write_file(fx.spec, spec_text) != 0)
		goto fail;
	snprintf(cmd, sizeof(cmd), "perl '%s/tools/mkmmdb' '%s' '%s'", src,
	    fx.spec, fx.mmdb);
	if (system(cmd) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		goto fail;
	}
	if (iw_geoip_open(fx.mmdb, &fx.g, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto fail;
	}
	*state = &fx;
	return 0;
fail:
	cleanup(&fx);
	return -1;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx != NULL)
		cleanup(fx);
	return 0;
}

static void
assert_country(struct iw_geoip *g, const char *ip, const char *want)
{
	struct iw_err err;
	char cc[3] = "??";

	if (iw_geoip_country(g, ip, cc, &err) != 0)
		fail_msg("%s: %s", ip, err.msg);
	if (strcmp(cc, want) != 0)
		fail_msg("%s: got '%s', want '%s'", ip, cc, want);
}

static void
test_ipv4_country(void **state)
{
	struct fixture *fx = *state;

	assert_country(fx->g, "192.0.2.1", "DK");
	assert_country(fx->g, "192.0.2.127", "DK");
	assert_country(fx->g, "192.0.2.200", "SE");
}

static void
test_ipv6_country(void **state)
{
	struct fixture *fx = *state;

	assert_country(fx->g, "2001:db8::1", "NO");
	assert_country(fx->g, "2001:db8:ffff::1", "NO");
}

static void
test_ipv4_mapped_finds_ipv4_network(void **state)
{
	struct fixture *fx = *state;

	assert_country(fx->g, "::ffff:192.0.2.1", "DK");
}

static void
test_registered_country_is_the_fallback(void **state)
{
	struct fixture *fx = *state;

	assert_country(fx->g, "198.51.100.77", "NL");
	assert_country(fx->g, "2001:db8:1::5", "DE");
}

static void
test_malformed_code_falls_back(void **state)
{
	struct fixture *fx = *state;

	assert_country(fx->g, "203.0.113.1", "RO");
}

static void
test_unknown_ip_gives_empty(void **state)
{
	struct fixture *fx = *state;

	assert_country(fx->g, "203.0.113.200", "");
	assert_country(fx->g, "8.8.8.8", "");
	assert_country(fx->g, "2001:db9::1", "");
}

static void
test_bad_ip_is_an_error(void **state)
{
	struct fixture *fx = *state;
	struct iw_err err;
	char cc[3] = "??";

	assert_int_equal(iw_geoip_country(fx->g, "not-an-ip", cc, &err), -1);
	assert_string_equal(cc, "");
	assert_non_null(strstr(err.msg, "not-an-ip"));
}

static void
test_open_reports_path(void **state)
{
	struct fixture *fx = *state;
	struct iw_geoip *g = (struct iw_geoip *)1;
	struct iw_err err;

	assert_int_equal(iw_geoip_open("/nonexistent/x.mmdb", &g, &err), -1);
	assert_null(g);
	assert_non_null(strstr(err.msg, "/nonexistent/x.mmdb"));
	/* A file that is not a MaxMind DB. */
	assert_int_equal(iw_geoip_open(fx->spec, &g, &err), -1);
	assert_null(g);
	assert_non_null(strstr(err.msg, fx->spec));
	iw_geoip_close(NULL);
}

struct worker {
	struct iw_geoip *g;
	int failures;
};

static void *
lookup_worker(void *arg)
{
	struct worker *w = arg;
	static const char *const ips[][2] = {
		{ "192.0.2.9", "DK" }, { "198.51.100.9", "NL" },
		{ "2001:db8::9", "NO" }, { "8.8.4.4", "" },
	};

	for (int i = 0; i < 2000; i++) {
		struct iw_err err;
		char cc[3];
		int k = i % 4;

		if (iw_geoip_country(w->g, ips[k][0], cc, &err) != 0 ||
		    strcmp(cc, ips[k][1]) != 0)
			w->failures++;
	}
	return NULL;
}

static void
test_concurrent_lookups(void **state)
{
	struct fixture *fx = *state;
	pthread_t t[4];
	struct worker w[4];

	for (int i = 0; i < 4; i++) {
		w[i].g = fx->g;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, lookup_worker,
		    &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_country),
		cmocka_unit_test(test_ipv6_country),
		cmocka_unit_test(test_ipv4_mapped_finds_ipv4_network),
		cmocka_unit_test(test_registered_country_is_the_fallback),
		cmocka_unit_test(test_malformed_code_falls_back),
		cmocka_unit_test(test_unknown_ip_gives_empty),
		cmocka_unit_test(test_bad_ip_is_an_error),
		cmocka_unit_test(test_open_reports_path),
		cmocka_unit_test(test_concurrent_lookups),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
