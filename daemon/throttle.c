/*
 * Rate limits of the send stage: a global letters/second limit and one per
 * recipient domain (delivery.rate, delivery.domain_rate), so a campaign
 * cannot get the relay blocklisted by a large receiver.  Each limit is a
 * token bucket in GCRA form (one "theoretical arrival time" per bucket) on
 * the monotonic clock, with a burst of one second's worth of letters.
 * A reservation never blocks here: it says how long the caller must wait.
 * The daemon's own state, shared by its sender threads under one mutex.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "throttle.h"

struct bucket {
	char *key;		/* domain, lower case; NULL: empty slot */
	int64_t tat_us;		/* theoretical arrival time */
};

static int64_t
reserve(int64_t *tat, double rate, int64_t now)
{
	int64_t t = (int64_t)(1e6 / rate);
	int64_t burst = rate >= 1 ? (int64_t)rate : 1;
	int64_t tau = (burst - 1) * t;
	int64_t start = *tat > now ? *tat : now;
	int64_t wait = start - tau - now;

	*tat = start + t;
	return wait > 0 ? wait : 0;
}

void
iwd_throttle_init(struct iwd_throttle *t, double rate, double domain_rate)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	t->rate = rate;
	t->domain_rate = domain_rate;
}

void
iwd_throttle_set(struct iwd_throttle *t, double rate, double domain_rate)
{
	pthread_mutex_lock(&t->mu);
	t->rate = rate;
	t->domain_rate = domain_rate;
	pthread_mutex_unlock(&t->mu);
}

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int
grow(struct iwd_throttle *t)
{
	size_t cap = t->cap ? t->cap * 2 : 256, i;
	struct bucket *nb = calloc(cap, sizeof(*nb));

	if (nb == NULL)
		return -1;
	for (i = 0; i < t->cap; i++) {
		size_t j;

		if (t->b[i].key == NULL)
			continue;
		for (j = hash(t->b[i].key) & (cap - 1); nb[j].key != NULL;
		    j = (j + 1) & (cap - 1))
			;
		nb[j] = t->b[i];
	}
	free(t->b);
	t->b = nb;
	t->cap = cap;
	return 0;
}

/* The bucket of domain, created on first use; NULL when out of memory. */
static struct bucket *
domain_bucket(struct iwd_throttle *t, const char *domain)
{
	size_t j;

	if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
		return NULL;
	for (j = hash(domain) & (t->cap - 1); t->b[j].key != NULL;
	    j = (j + 1) & (t->cap - 1))
		if (strcmp(t->b[j].key, domain) == 0)
			return &t->b[j];
	t->b[j].key = strdup(domain);
	if (t->b[j].key == NULL)
		return NULL;
	t->b[j].tat_us = 0;
	t->n++;
	return &t->b[j];
}

int64_t
iwd_throttle_reserve(struct iwd_throttle *t, const char *email,
    int64_t now_us)
{
	const char *at = strrchr(email, '@');
	char domain[256];
	int64_t wait = 0, w;
	size_t i;

	iw_strlcpy(domain, at != NULL ? at + 1 : email, sizeof(domain));
	for (i = 0; domain[i] != '\0'; i++)
		if (domain[i] >= 'A' && domain[i] <= 'Z')
			domain[i] = (char)(domain[i] - 'A' + 'a');
	pthread_mutex_lock(&t->mu);
	if (t->rate > 0)
		wait = reserve(&t->global_tat_us, t->rate, now_us);
	if (t->domain_rate > 0) {
		struct bucket *b = domain_bucket(t, domain);

		if (b != NULL) {
			w = reserve(&b->tat_us, t->domain_rate, now_us);
			if (w > wait)
				wait = w;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return wait;
}

void
iwd_throttle_free(struct iwd_throttle *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->b[i].key);
	free(t->b);
	t->b = NULL;
	t->cap = t->n = 0;
	pthread_mutex_destroy(&t->mu);
}
