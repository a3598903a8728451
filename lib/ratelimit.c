/*
 * ratelimit: per-server concurrency and rate limits, back-off and circuit
 * breaker, in-flight de-duplication.  See ratelimit.h.
 *
 * Rate: a server's queries start at least 1/rate seconds apart (a token
 * bucket of depth one: registries count queries per short window, so
 * bursts buy nothing).  Back-off: each refusal (throttling text, access
 * denied, connection reset) opens the circuit for 5 s, 10 s, 20 s ... up
 * to 15 min; a timeout counts as half a refusal (it may be our network).
 * While the circuit is open no query is sent to that server at all: the
 * callers put their IPs back in the queue.  Then it is half-open: one
 * query at a time probes the server; a good answer closes the circuit,
 * a refusal opens it again for twice as long.
 *
 * Every wait re-checks at least every 250 ms, so a stop flag (SIGTERM)
 * ends it within that time.
 *
 * The table is bounded (MAX_SERVERS): configured servers and the
 * registries are pinned; any other name (reached by referral) takes a
 * free slot or evicts an idle one (see server_evict).
 */
#include "ratelimit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_SERVERS 64
#define MAX_INFLIGHT 256
#define OPEN_BASE_MS 5000LL
#define OPEN_MAX_MS (15 * 60 * 1000LL)

/* Defaults for the five registries, IANA and the national registries
 * when not configured. */
static const struct {
	const char *name;
	int concurrency;
	double rate;
} registry_defaults[] = {
	{ "whois.iana.org", 2, 2.0 },
	{ "whois.ripe.net", 2, 2.0 },
	{ "whois.arin.net", 2, 2.0 },
	{ "whois.apnic.net", 2, 2.0 },
	{ "whois.lacnic.net", 1, 0.5 },	/* LACNIC throttles hardest */
	{ "whois.afrinic.net", 2, 1.0 },
	/* The national registries (lib/whois_nir.c): one at a time, and
	 * slower than the RIRs, whose members' traffic they do not see. */
	{ "whois.nic.ad.jp", 1, 1.0 },
	{ "whois.kisa.or.kr", 1, 1.0 },
	{ "whois.twnic.net.tw", 1, 1.0 },
	{ "whois.cnnic.cn", 1, 1.0 },
	{ "whois.idnic.net", 1, 1.0 },
	{ "whois.registro.br", 1, 0.5 },
	{ "whois.nic.mx", 1, 0.5 },
};

struct server {
	char name[128];
	int concurrency;
	long long interval_ms;
	int inflight;
	long long next_ms;	/* earliest start of the next query */
	int failures;		/* consecutive, in half refusals */
	long long open_until;
	int listing_seen;	/* has answered a more-specific listing */
	int pinned;		/* configured or a registry: never evicted */
	long long used_ms;	/* last acquire or release */
};

struct hood {
	unsigned char key[17];	/* family + prefix bytes */
	int used;
};

struct iw_ratelimit {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct server srv[MAX_SERVERS];
	size_t nsrv;
	struct hood hoods[MAX_INFLIGHT];
	long queries;
	long long (*now_ms)(void *);	/* NULL: iw_now_ms() */
	void *now_arg;
};

static long long
now_of(const struct iw_ratelimit *rl)
{
	return rl->now_ms != NULL ? rl->now_ms(rl->now_arg) :
	    (long long)iw_now_ms();
}

static int
stopping(const volatile sig_atomic_t *stop)
{
	return stop != NULL && *stop != 0;
}

void
iw_ratelimit_set_clock(struct iw_ratelimit *rl, long long (*now_ms)(void *),
    void *arg)
{
	if (rl == NULL)
		return;
	pthread_mutex_lock(&rl->mu);
	rl->now_ms = now_ms;
	rl->now_arg = arg;
	pthread_mutex_unlock(&rl->mu);
}

static long long
interval_of(double rate)
{
	return rate > 0 ? (long long)(1000.0 / rate) : 0;
}

static void
server_init(struct server *s, const char *name, int conc, double rate)
{
	memset(s, 0, sizeof(*s));
	iw_strlcpy(s->name, name, sizeof(s->name));
	s->concurrency = conc;
	s->interval_ms = interval_of(rate);
}

struct iw_ratelimit *
iw_ratelimit_new(const struct iw_ratelimit_limit *l, size_t n,
    struct iw_err *err)
{
	struct iw_ratelimit *rl = iw_calloc(1, sizeof(*rl));

	if (rl == NULL) {
		iw_err_set(err, "ratelimit: out of memory");
		return NULL;
	}
	pthread_mutex_init(&rl->mu, NULL);
	pthread_cond_init(&rl->cv, NULL);
	for (size_t i = 0; i < n && rl->nsrv < MAX_SERVERS; i++) {
		if (l[i].name == NULL)
			continue;
		server_init(&rl->srv[rl->nsrv], l[i].name,
		    l[i].concurrency > 0 ? l[i].concurrency :
		    IW_RATELIMIT_DEF_CONCURRENCY,
		    l[i].rate >= 0 ? l[i].rate : IW_RATELIMIT_DEF_RATE);
		rl->srv[rl->nsrv].pinned = 1;
		for (size_t d = 0; d < sizeof(registry_defaults) /
		    sizeof(registry_defaults[0]); d++)
			if (strcasecmp(registry_defaults[d].name,
			    l[i].name) == 0) {
				struct server *s = &rl->srv[rl->nsrv];
				if (l[i].concurrency <= 0)
					s->concurrency =
					    registry_defaults[d].concurrency;
				if (l[i].rate < 0)
					s->interval_ms = interval_of(
					    registry_defaults[d].rate);
			}
		rl->nsrv++;
	}
	return rl;
}

void
iw_ratelimit_free(struct iw_ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->mu);
	pthread_cond_destroy(&rl->cv);
	free(rl);
}

/*
 * A slot for a new server when all are taken: an unpinned one with no
 * query in flight, preferably one not backing off, least recently used
 * first.  Referral names that refuse queries thus take turns in the
 * unpinned slots and never share one with an honest server (they did,
 * and it got backed off); a registry's or configured server's back-off
 * is never forgotten.  NULL when every slot is busy.  Under mu.
 */
static struct server *
server_evict(struct iw_ratelimit *rl, long long now)
{
	struct server *best = NULL;

	for (size_t i = 0; i < rl->nsrv; i++) {
		struct server *s = &rl->srv[i];
		int open = s->open_until > now;

		if (s->pinned || s->inflight > 0)
			continue;
		if (best == NULL || open < (best->open_until > now) ||
		    (open == (best->open_until > now) &&
		    (open ? s->open_until < best->open_until :
		    s->used_ms < best->used_ms)))
			best = s;
	}
	return best;
}

/* The server's state, created with defaults on first use; NULL when the
 * table is full of servers in use.  Under mu. */
static struct server *
server_get(struct iw_ratelimit *rl, const char *name)
{
	int conc = IW_RATELIMIT_DEF_CONCURRENCY, pinned = 0;
	double rate = IW_RATELIMIT_DEF_RATE;
	struct server *s;

	for (size_t i = 0; i < rl->nsrv; i++)
		if (strcasecmp(rl->srv[i].name, name) == 0)
			return &rl->srv[i];
	for (size_t d = 0; d < sizeof(registry_defaults) /
	    sizeof(registry_defaults[0]); d++)
		if (strcasecmp(registry_defaults[d].name, name) == 0) {
			conc = registry_defaults[d].concurrency;
			rate = registry_defaults[d].rate;
			pinned = 1;
		}
	if (rl->nsrv < MAX_SERVERS)
		s = &rl->srv[rl->nsrv++];
	else if ((s = server_evict(rl, now_of(rl))) == NULL)
		return NULL;
	server_init(s, name, conc, rate);
	s->pinned = pinned;
	return s;
}

static void
wait_until(struct iw_ratelimit *rl, long long until_ms)
{
	struct timespec ts;
	long long now = now_of(rl), d = until_ms - now;

	if (d > 250)
		d = 250;	/* re-check: others may release, stop is set */
	if (d < 1)
		d = 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(d / 1000);
	ts.tv_nsec += (long)(d % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&rl->cv, &rl->mu, &ts);
}

/* Queries the server may have in flight now: one while half-open. */
static int
slots_of(const struct server *s)
{
	return s->failures > 0 && s->open_until > 0 ? 1 : s->concurrency;
}

int
iw_ratelimit_acquire(struct iw_ratelimit *rl, const char *server,
    int max_wait_ms, const volatile sig_atomic_t *stop, char *why,
    size_t whysz)
{
	long long start, now;
	struct server *s;

	if (rl == NULL)
		return 0;
	pthread_mutex_lock(&rl->mu);
	start = now_of(rl);
	if ((s = server_get(rl, server)) == NULL) {
		snprintf(why, whysz, "%s: every WHOIS server slot is in use",
		    server);
		pthread_mutex_unlock(&rl->mu);
		return -1;
	}
	for (;;) {
		now = now_of(rl);
		if (stopping(stop)) {
			snprintf(why, whysz, "shutting down");
			pthread_mutex_unlock(&rl->mu);
			return -1;
		}
		if (s->open_until > now) {
			snprintf(why, whysz, "backing off from %s for %lld s "
			    "after it refused queries", server,
			    (s->open_until - now + 999) / 1000);
			pthread_mutex_unlock(&rl->mu);
			return -1;
		}
		if (s->inflight < slots_of(s) && s->next_ms <= now)
			break;
		if (now - start >= max_wait_ms) {
			snprintf(why, whysz, "%s: no query slot within %d ms",
			    server, max_wait_ms);
			pthread_mutex_unlock(&rl->mu);
			return -1;
		}
		wait_until(rl, s->inflight < slots_of(s) ? s->next_ms :
		    now + 250);
	}
	s->inflight++;
	s->next_ms = now + s->interval_ms;
	s->used_ms = now;
	rl->queries++;
	pthread_mutex_unlock(&rl->mu);
	return 0;
}

void
iw_ratelimit_release(struct iw_ratelimit *rl, const char *server,
    enum iw_ratelimit_outcome o)
{
	struct server *s;

	if (rl == NULL)
		return;
	pthread_mutex_lock(&rl->mu);
	s = server_get(rl, server);
	if (s == NULL) {	/* cannot be: its query held the slot */
		pthread_mutex_unlock(&rl->mu);
		return;
	}
	if (s->inflight > 0)
		s->inflight--;
	s->used_ms = now_of(rl);
	if (o == IW_RL_OK) {
		s->failures = 0;
		s->open_until = 0;
	} else {
		long long d = OPEN_BASE_MS;

		s->failures += o == IW_RL_REFUSED ? 2 : 1;
		for (int i = 2; i < s->failures && d < OPEN_MAX_MS; i += 2)
			d *= 2;
		if (d > OPEN_MAX_MS)
			d = OPEN_MAX_MS;
		if (o == IW_RL_REFUSED || s->failures >= 4)
			s->open_until = now_of(rl) + d;
	}
	pthread_cond_broadcast(&rl->cv);
	pthread_mutex_unlock(&rl->mu);
}

long long
iw_ratelimit_open_ms(struct iw_ratelimit *rl, const char *server)
{
	long long left;
	struct server *s;

	if (rl == NULL)
		return 0;
	pthread_mutex_lock(&rl->mu);
	s = server_get(rl, server);
	left = s != NULL ? s->open_until - now_of(rl) : 0;
	pthread_mutex_unlock(&rl->mu);
	return left > 0 ? left : 0;
}

long long
iw_ratelimit_interval_ms(struct iw_ratelimit *rl, const char *server)
{
	struct server *s;
	long long ms;

	if (rl == NULL)
		return 0;
	pthread_mutex_lock(&rl->mu);
	s = server_get(rl, server);
	ms = s != NULL ? s->interval_ms : 0;
	pthread_mutex_unlock(&rl->mu);
	return ms;
}

int
iw_ratelimit_concurrency(struct iw_ratelimit *rl, const char *server)
{
	struct server *s;
	int n;

	if (rl == NULL)
		return 0;
	pthread_mutex_lock(&rl->mu);
	s = server_get(rl, server);
	n = s != NULL ? s->concurrency : 0;
	pthread_mutex_unlock(&rl->mu);
	return n;
}

static int
hood_key(const char *ip, unsigned char key[17])
{
	unsigned char a[16];

	memset(key, 0, 17);
	if (inet_pton(AF_INET, ip, a) == 1) {
		key[0] = 4;
		memcpy(key + 1, a, 3);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, a) == 1) {
		key[0] = 6;
		memcpy(key + 1, a, 6);
		return 0;
	}
	return -1;
}

static struct hood *
hood_find(struct iw_ratelimit *rl, const unsigned char *key)
{
	for (size_t i = 0; i < MAX_INFLIGHT; i++)
		if (rl->hoods[i].used && memcmp(rl->hoods[i].key, key,
		    17) == 0)
			return &rl->hoods[i];
	return NULL;
}

static int
net_key(const char *first, unsigned char key[17])
{
	unsigned char a[16];

	memset(key, 0, 17);
	if (inet_pton(AF_INET, first, a) == 1) {
		key[0] = 40;
		memcpy(key + 1, a, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, first, a) == 1) {
		key[0] = 60;
		memcpy(key + 1, a, 16);
		return 0;
	}
	return -1;
}

static int enter_key(struct iw_ratelimit *, const unsigned char *,
    const volatile sig_atomic_t *);
static void leave_key(struct iw_ratelimit *, const unsigned char *);

int
iw_ratelimit_enter(struct iw_ratelimit *rl, const char *ip,
    const volatile sig_atomic_t *stop)
{
	unsigned char key[17];

	if (rl == NULL || hood_key(ip, key) != 0)
		return 0;
	return enter_key(rl, key, stop);
}

void
iw_ratelimit_leave(struct iw_ratelimit *rl, const char *ip)
{
	unsigned char key[17];

	if (rl == NULL || hood_key(ip, key) != 0)
		return;
	leave_key(rl, key);
}

int
iw_ratelimit_enter_net(struct iw_ratelimit *rl, const char *first,
    const volatile sig_atomic_t *stop)
{
	unsigned char key[17];

	if (rl == NULL || net_key(first, key) != 0)
		return 0;
	return enter_key(rl, key, stop);
}

void
iw_ratelimit_leave_net(struct iw_ratelimit *rl, const char *first)
{
	unsigned char key[17];

	if (rl == NULL || net_key(first, key) != 0)
		return;
	leave_key(rl, key);
}

static int
enter_key(struct iw_ratelimit *rl, const unsigned char *key,
    const volatile sig_atomic_t *stop)
{
	pthread_mutex_lock(&rl->mu);
	for (;;) {
		if (stopping(stop)) {
			pthread_mutex_unlock(&rl->mu);
			return -1;
		}
		if (hood_find(rl, key) == NULL) {
			for (size_t i = 0; i < MAX_INFLIGHT; i++)
				if (!rl->hoods[i].used) {
					rl->hoods[i].used = 1;
					memcpy(rl->hoods[i].key, key, 17);
					pthread_mutex_unlock(&rl->mu);
					return 0;
				}
		}
		wait_until(rl, now_of(rl) + 250);
	}
}

static void
leave_key(struct iw_ratelimit *rl, const unsigned char *key)
{
	struct hood *h;

	pthread_mutex_lock(&rl->mu);
	if ((h = hood_find(rl, key)) != NULL)
		h->used = 0;
	pthread_cond_broadcast(&rl->cv);
	pthread_mutex_unlock(&rl->mu);
}

long
iw_ratelimit_queries(struct iw_ratelimit *rl)
{
	long n;

	if (rl == NULL)
		return 0;
	pthread_mutex_lock(&rl->mu);
	n = rl->queries;
	pthread_mutex_unlock(&rl->mu);
	return n;
}

int
iw_ratelimit_listing_seen(struct iw_ratelimit *rl, const char *server,
    int seen)
{
	struct server *s;
	int was;

	if (rl == NULL)
		return 0;
	pthread_mutex_lock(&rl->mu);
	s = server_get(rl, server);
	was = s != NULL && s->listing_seen;
	if (seen && s != NULL)
		s->listing_seen = 1;
	pthread_mutex_unlock(&rl->mu);
	return was;
}
