/*
 * Send-stage rate limits (global and per recipient domain); see throttle.c.
 */
#ifndef IWD_THROTTLE_H
#define IWD_THROTTLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct iwd_throttle {
	pthread_mutex_t mu;
	double rate;			/* letters/s, 0: none */
	double domain_rate;		/* letters/s per domain, 0: none */
	int64_t global_tat_us;
	struct bucket *b;		/* open-addressing table of domains */
	size_t cap, n;
};

void iwd_throttle_init(struct iwd_throttle *t, double rate,
    double domain_rate);
void iwd_throttle_set(struct iwd_throttle *t, double rate,
    double domain_rate);
/* Reserve one letter to email's domain at now_us (monotonic); returns the
 * microseconds the caller must wait before sending it. */
int64_t iwd_throttle_reserve(struct iwd_throttle *t, const char *email,
    int64_t now_us);
void iwd_throttle_free(struct iwd_throttle *t);

#endif
