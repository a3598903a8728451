/*
 * Unit tests of the ratelimit module: per-server pacing (one query per
 * 1/rate s), concurrency, the circuit breaker (open on refusal, half-open
 * after its delay with one probe, doubled on a second refusal, closed by a
 * good answer), in-flight de-duplication and the stop flag.  A fake clock
 * (iw_ratelimit_set_clock) makes the timing exact; max_wait_ms 0 makes an
 * acquire answer at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ratelimit.h"

static long long fake_now;

static long long
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static struct iw_ratelimit *
limiter(int concurrency, double rate)
{
	struct iw_ratelimit_limit l = { "whois.test", concurrency, rate };
	struct iw_err err;
	struct iw_ratelimit *rl = iw_ratelimit_new(&l, 1, &err);

	assert_non_null(rl);
	fake_now = 1000000;
	iw_ratelimit_set_clock(rl, fake_clock, NULL);
	return rl;
}

static int
go(struct iw_ratelimit *rl, char *why, size_t whysz)
{
	return iw_ratelimit_acquire(rl, "whois.test", 0, NULL, why, whysz);
}

static void
test_rate_spaces_queries(void **state)
{
	struct iw_ratelimit *rl = limiter(8, 10.0);	/* 100 ms apart */
	char why[200];

	(void)state;
	assert_int_equal(go(rl, why, sizeof(why)), 0);
	iw_ratelimit_release(rl, "whois.test", IW_RL_OK);
	assert_int_equal(go(rl, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no query slot"));
	fake_now += 99;
	assert_int_equal(go(rl, why, sizeof(why)), -1);
	fake_now += 1;
	assert_int_equal(go(rl, why, sizeof(why)), 0);
	iw_ratelimit_release(rl, "whois.test", IW_RL_OK);
	assert_int_equal(iw_ratelimit_queries(rl), 2);
	iw_ratelimit_free(rl);
}

static void
test_concurrency_caps_queries_in_flight(void **state)
{
	struct iw_ratelimit *rl = limiter(2, 0);	/* 0: no rate limit */
	char why[200];

	(void)state;
	assert_int_equal(go(rl, why, sizeof(why)), 0);
	assert_int_equal(go(rl, why, sizeof(why)), 0);
	assert_int_equal(go(rl, why, sizeof(why)), -1);
	iw_ratelimit_release(rl, "whois.test", IW_RL_OK);
	assert_int_equal(go(rl, why, sizeof(why)), 0);
	iw_ratelimit_release(rl, "whois.test", IW_RL_OK);
	iw_ratelimit_release(rl, "whois.test", IW_RL_OK);
	iw_ratelimit_free(rl);
}

static void
test_refusal_opens_circuit_then_half_open(void **state)
{
	struct iw_ratelimit *rl = limiter(4, 0);
	char why[200];

	(void)state;
	assert_int_equal(go(rl, why, sizeof(why)), 0);
	iw_ratelimit_release(rl, "whois.test", IW_RL_REFUSED);
	assert_int_equal(iw_ratelimit_open_ms(rl, "whois.test"), 5000);
	assert_int_equal(go(rl, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "backing off"));
	fake_now += 4999;
	assert_int_equal(go(rl, why, sizeof(why)), -1);
	/* Half-open: one probe at a time. */
	fake_now += 1;
	assert_int_equal(iw_ratelimit_open_ms(rl, "whois.test"), 0);
	assert_int_equal(go(rl, why, sizeof(why)), 0);
	assert_int_equal(go(rl, why, sizeof(why)), -1);
	/* The probe refused too: open twice as long. */
	iw_ratelimit_release(rl, "whois.test", IW_RL_REFUSED);
	assert_int_equal(iw_ratelimit_open_ms(rl, "whois.test"), 10000);
	fake_now += 10000;
	assert_int_equal(go(rl, why, sizeof(why)), 0);
	/* A good answer closes it: full concurrency again. */
	iw_ratelimit_release(rl, "whois.test", IW_RL_OK);
	assert_int_equal(go(rl, why, sizeof(why)), 0);
	assert_int_equal(go(rl, why, sizeof(why)), 0);
	assert_int_equal(go(rl, why, sizeof(why)), 0);
	iw_ratelimit_free(rl);
}

static void
test_timeouts_back_off_gently(void **state)
{
	struct iw_ratelimit *rl = limiter(4, 0);
	char why[200];

	(void)state;
	/* One timeout may be our network: the circuit stays closed. */
	assert_int_equal(go(rl, why, sizeof(why)), 0);
	iw_ratelimit_release(rl, "whois.test", IW_RL_FAILED);
	assert_int_equal(iw_ratelimit_open_ms(rl, "whois.test"), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(go(rl, why, sizeof(why)), 0);
		iw_ratelimit_release(rl, "whois.test", IW_RL_FAILED);
	}
	assert_true(iw_ratelimit_open_ms(rl, "whois.test") > 0);
	iw_ratelimit_free(rl);
}

static void
test_registry_defaults(void **state)
{
	struct iw_err err;
	struct iw_ratelimit *rl = iw_ratelimit_new(NULL, 0, &err);
	char why[200];

	(void)state;
	assert_non_null(rl);
	fake_now = 5000;
	iw_ratelimit_set_clock(rl, fake_clock, NULL);
	/* LACNIC: one in flight, one query per 2 s. */
	assert_int_equal(iw_ratelimit_acquire(rl, "whois.lacnic.net", 0, NULL,
	    why, sizeof(why)), 0);
	assert_int_equal(iw_ratelimit_acquire(rl, "whois.lacnic.net", 0, NULL,
	    why, sizeof(why)), -1);
	iw_ratelimit_release(rl, "whois.lacnic.net", IW_RL_OK);
	fake_now += 1999;
	assert_int_equal(iw_ratelimit_acquire(rl, "whois.lacnic.net", 0, NULL,
	    why, sizeof(why)), -1);
	fake_now += 1;
	assert_int_equal(iw_ratelimit_acquire(rl, "whois.lacnic.net", 0, NULL,
	    why, sizeof(why)), 0);
	iw_ratelimit_release(rl, "whois.lacnic.net", IW_RL_OK);
	iw_ratelimit_free(rl);
	iw_ratelimit_free(NULL);
}

static void
test_real_clock_paces_queries(void **state)
{
	struct iw_ratelimit_limit l = { "whois.test", 8, 50.0 };
	struct iw_err err;
	struct iw_ratelimit *rl = iw_ratelimit_new(&l, 1, &err);
	char why[200];
	int64_t t0;

	(void)state;
	assert_non_null(rl);
	t0 = iw_now_ms();
	for (int i = 0; i < 6; i++) {
		assert_int_equal(iw_ratelimit_acquire(rl, "whois.test", 5000,
		    NULL, why, sizeof(why)), 0);
		iw_ratelimit_release(rl, "whois.test", IW_RL_OK);
	}
	/* Five gaps of 20 ms. */
	assert_true(iw_now_ms() - t0 >= 100);
	iw_ratelimit_free(rl);
}

struct waiter {
	struct iw_ratelimit *rl;
	volatile sig_atomic_t stop;
	int rc;
	int done;
};

static void *
enter_neighbour(void *arg)
{
	struct waiter *w = arg;

	w->rc = iw_ratelimit_enter(w->rl, "192.0.2.200", &w->stop);
	w->done = 1;
	return NULL;
}

static void
test_neighbour_waits_and_stop_ends_the_wait(void **state)
{
	struct iw_err err;
	struct waiter w;
	pthread_t t;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.rl = iw_ratelimit_new(NULL, 0, &err);
	assert_non_null(w.rl);
	/* Another /24 is independent. */
	assert_int_equal(iw_ratelimit_enter(w.rl, "192.0.2.1", NULL), 0);
	assert_int_equal(iw_ratelimit_enter(w.rl, "198.51.100.1", NULL), 0);
	iw_ratelimit_leave(w.rl, "198.51.100.1");
	assert_int_equal(pthread_create(&t, NULL, enter_neighbour, &w), 0);
	usleep(100000);
	assert_int_equal(w.done, 0);		/* same /24: it waits */
	w.stop = 1;
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, -1);		/* gave up, holds nothing */
	iw_ratelimit_leave(w.rl, "192.0.2.1");
	/* Without stop the neighbour gets in once the first leaves. */
	w.stop = 0;
	w.done = 0;
	assert_int_equal(iw_ratelimit_enter(w.rl, "192.0.2.1", NULL), 0);
	assert_int_equal(pthread_create(&t, NULL, enter_neighbour, &w), 0);
	usleep(50000);
	assert_int_equal(w.done, 0);
	iw_ratelimit_leave(w.rl, "192.0.2.1");
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, 0);
	iw_ratelimit_leave(w.rl, "192.0.2.200");
	iw_ratelimit_free(w.rl);
}

static void
test_stop_ends_a_rate_wait(void **state)
{
	struct iw_ratelimit_limit l = { "whois.test", 1, 0.1 };	/* 10 s */
	struct iw_err err;
	struct iw_ratelimit *rl = iw_ratelimit_new(&l, 1, &err);
	volatile sig_atomic_t stop = 0;
	char why[200];

	(void)state;
	assert_non_null(rl);
	assert_int_equal(iw_ratelimit_acquire(rl, "whois.test", 60000, &stop,
	    why, sizeof(why)), 0);
	iw_ratelimit_release(rl, "whois.test", IW_RL_OK);
	stop = 1;
	assert_int_equal(iw_ratelimit_acquire(rl, "whois.test", 60000, &stop,
	    why, sizeof(why)), -1);
	assert_string_equal(why, "shutting down");
	iw_ratelimit_free(rl);
}

static int
go_to(struct iw_ratelimit *rl, const char *name, char *why, size_t whysz)
{
	return iw_ratelimit_acquire(rl, name, 0, NULL, why, whysz);
}

static void
test_refusing_referral_names_never_back_off_an_honest_server(void **state)
{
	struct iw_ratelimit *rl = limiter(8, 0);
	char why[200], name[64];

	(void)state;
	assert_int_equal(go_to(rl, "whois.ripe.net", why, sizeof(why)), 0);
	iw_ratelimit_release(rl, "whois.ripe.net", IW_RL_REFUSED);
	for (int i = 0; i < 80; i++) {
		snprintf(name, sizeof(name), "whois.refuser%d.example", i);
		assert_int_equal(go_to(rl, name, why, sizeof(why)), 0);
		iw_ratelimit_release(rl, name, IW_RL_REFUSED);
	}
	assert_int_equal(go_to(rl, "whois.honest.example", why, sizeof(why)),
	    0);
	iw_ratelimit_release(rl, "whois.honest.example", IW_RL_OK);
	assert_int_equal(iw_ratelimit_open_ms(rl, "whois.honest.example"), 0);
	/* a registry's back-off is never forgotten */
	assert_true(iw_ratelimit_open_ms(rl, "whois.ripe.net") > 0);
	assert_int_equal(go_to(rl, "whois.ripe.net", why, sizeof(why)), -1);
	iw_ratelimit_free(rl);
}

static void
test_full_table_of_busy_servers_refuses_a_new_one(void **state)
{
	struct iw_ratelimit *rl = limiter(8, 0);
	char why[200], name[64];
	int got = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "whois.busy%d.example", i);
		got += go_to(rl, name, why, sizeof(why)) == 0;
	}
	assert_true(got < 100);
	assert_non_null(strstr(why, "every WHOIS server slot is in use"));
	/* the configured server keeps its own slot */
	assert_int_equal(go_to(rl, "whois.test", why, sizeof(why)), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "whois.busy%d.example", i);
		iw_ratelimit_release(rl, name, IW_RL_OK);
	}
	assert_int_equal(go_to(rl, "whois.busy99.example", why, sizeof(why)),
	    0);
	iw_ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_spaces_queries),
		cmocka_unit_test(test_concurrency_caps_queries_in_flight),
		cmocka_unit_test(test_refusal_opens_circuit_then_half_open),
		cmocka_unit_test(test_timeouts_back_off_gently),
		cmocka_unit_test(test_registry_defaults),
		cmocka_unit_test(test_real_clock_paces_queries),
		cmocka_unit_test(test_neighbour_waits_and_stop_ends_the_wait),
		cmocka_unit_test(test_stop_ends_a_rate_wait),
		cmocka_unit_test(
		    test_refusing_referral_names_never_back_off_an_honest_server),
		cmocka_unit_test(
		    test_full_table_of_busy_servers_refuses_a_new_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
