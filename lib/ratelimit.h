/*
 * ratelimit: how politely one daemon talks to each WHOIS server.  One
 * object is shared by all resolve threads of a process: per server a cap
 * on queries in flight and on queries per second, exponential back-off with
 * a circuit breaker once a server refuses or throttles us, and in-flight
 * de-duplication so that two threads asking about neighbouring addresses
 * (most likely one network) do not both query: the second waits for the
 * first and then finds the answer in the cache.  The limits are per
 * process; several daemons sharing a database each keep their own, and
 * lib/budget.c makes the rate, the concurrency and the back-off hold for
 * all of them together.
 */
#ifndef IW_RATELIMIT_H
#define IW_RATELIMIT_H

#include <signal.h>
#include <stddef.h>

#include "util.h"

struct iw_ratelimit;

/* Limits of one server (config whois.hosts). */
struct iw_ratelimit_limit {
	const char *name;	/* lower case server name */
	int concurrency;	/* queries in flight; <= 0: default */
	double rate;		/* queries per second; 0: unlimited,
				   < 0: default */
};

enum iw_ratelimit_outcome {
	IW_RL_OK,		/* an answer (even "not found") */
	IW_RL_REFUSED,		/* throttled, access denied, reset: back off */
	IW_RL_FAILED,		/* timeout, connect error: back off gently */
};

/* Defaults for a server that is not configured. */
#define IW_RATELIMIT_DEF_CONCURRENCY 2
#define IW_RATELIMIT_DEF_RATE 1.0
#define IW_RATELIMIT_MAX_WAIT_MS 60000	/* then the caller retries later */

struct iw_ratelimit *iw_ratelimit_new(const struct iw_ratelimit_limit *l,
    size_t n, struct iw_err *err);
void iw_ratelimit_free(struct iw_ratelimit *rl);

/*
 * The clock the limiter reads (milliseconds, monotonic); default
 * iw_now_ms().  For tests: a fake clock makes the pacing deterministic
 * (waits then return at once instead of sleeping until a time that never
 * comes, so test with max_wait_ms 0).
 */
void iw_ratelimit_set_clock(struct iw_ratelimit *rl,
    long long (*now_ms)(void *), void *arg);

/*
 * Wait for a slot to query server.  0: go (call _release afterwards);
 * -1: not now (circuit open, the wait would exceed max_wait_ms, or *stop
 * became non-zero: the process is shutting down), why says so and nothing
 * is to be released.  stop may be NULL.  After the circuit's delay it is
 * half-open: one query at a time probes the server; a good answer closes
 * it, another refusal opens it for twice as long.
 */
int iw_ratelimit_acquire(struct iw_ratelimit *rl, const char *server,
    int max_wait_ms, const volatile sig_atomic_t *stop, char *why,
    size_t whysz);
void iw_ratelimit_release(struct iw_ratelimit *rl, const char *server,
    enum iw_ratelimit_outcome o);

/* Milliseconds the circuit of server stays open; 0 when closed. */
long long iw_ratelimit_open_ms(struct iw_ratelimit *rl, const char *server);

/* The spacing of server's queries (1/rate) in ms; 0 = unlimited. */
long long iw_ratelimit_interval_ms(struct iw_ratelimit *rl,
    const char *server);

/* The cap on server's queries in flight; 0 = none known. */
int iw_ratelimit_concurrency(struct iw_ratelimit *rl, const char *server);

/*
 * In-flight de-duplication by neighbourhood (/24 for IPv4, /48 for IPv6):
 * _enter blocks while another thread holds the neighbourhood of ip, then
 * holds it; _leave releases it.  A thread holds at most one.  -1 (nothing
 * held) when *stop became non-zero while waiting; stop may be NULL.
 */
int iw_ratelimit_enter(struct iw_ratelimit *rl, const char *ip,
    const volatile sig_atomic_t *stop);
void iw_ratelimit_leave(struct iw_ratelimit *rl, const char *ip);

/* The same for one network (keyed by its first address, distinct from the
 * neighbourhoods): one more-specific listing of it at a time. */
int iw_ratelimit_enter_net(struct iw_ratelimit *rl, const char *first,
    const volatile sig_atomic_t *stop);
void iw_ratelimit_leave_net(struct iw_ratelimit *rl, const char *first);

/* Queries started through this limiter (for logs and the benchmark). */
long iw_ratelimit_queries(struct iw_ratelimit *rl);

/*
 * Whether server has answered a more-specific listing with networks in
 * it; seen=1 records that it has.  An empty listing ("no entries found")
 * is only believed from such a server: one that does not understand the
 * listing query may say exactly that, and believing it would let an
 * allocation's contact answer for its reassignments.
 */
int iw_ratelimit_listing_seen(struct iw_ratelimit *rl, const char *server,
    int seen);

#endif
