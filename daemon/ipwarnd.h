/*
 * ipwarnd internals: the daemon's context and its three stages.  main.c
 * owns the process (options, signals, reload, the loop); stages.c runs one
 * pass of a stage on worker threads, each with its own database connection.
 */
#ifndef IWD_H
#define IWD_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "campaign.h"
#include "compose.h"
#include "config.h"
#include "db.h"
#include "geoip.h"
#include "letter.h"
#include "metrics.h"
#include "throttle.h"

struct iwd {
	char *path;			/* the configuration, absolute */
	struct iw_config *cfg;
	unsigned cfg_gen;		/* bumped by every (re)load */
	struct iw_letters *letters;
	struct iw_geoip *geoip;
	char owner[160];		/* host:pid:random, the lease holder */
	int once;
	int dry_run;
	struct iw_db *db;		/* the main thread's connection */
	struct iw_db **pool;		/* one per worker thread */
	int npool;
	pthread_mutex_t out_lock;	/* --dry-run output */
	struct iwd_throttle throttle;	/* delivery.rate, domain_rate */
	/* The relay's circuit breaker: when a session cannot be used at all
	 * (connect, greeting, TLS, AUTH), the whole sender waits, not the
	 * letters one by one. */
	pthread_mutex_t breaker_lock;
	int breaker_failures;
	int64_t breaker_until_ms;	/* monotonic; 0: closed */
	/* Campaigns' settings and templates for rendering (campaigns.c). */
	pthread_mutex_t campaigns_lock;
	struct iwd_campaign **campaigns;
	size_t ncampaigns;
	int relay_unusable;		/* --once: due letters left unsent */
	struct iw_metrics *counters;	/* this process's counters */
	struct iwd_metrics *metrics;	/* metrics.listen, or NULL */
	/* progress.c: a thread that logs each busy campaign's progress. */
	atomic_int busy;		/* a pass is running */
	int progress_stop;		/* under progress_lock */
	pthread_mutex_t progress_lock;
	pthread_cond_t progress_cond;	/* signalled to stop */
	pthread_t progress_tid;
	int progress_started;
	char *progress_conninfo;	/* its own copy: reloads free cfg */
};

/* --- progress.c --- */
#define IWD_PROGRESS_EVERY_MS 10000
/* Start / stop the thread that logs, at most every 10 s while a pass is
 * running, one progress line per campaign with work left. */
void iwd_progress_start(struct iwd *d);
void iwd_progress_stop(struct iwd *d);

/* --- metrics.c: GET /metrics --- */
/* Listen on metrics.listen (before forking and dropping root); -1 with a
 * "FILE:LINE: metrics.listen: ..." message when it cannot. */
int iwd_metrics_bind(struct iwd *d, struct iw_err *err);
/* Serve it (after forking); stop serving and free. */
int iwd_metrics_start(struct iwd *d, struct iw_err *err);
void iwd_metrics_stop(struct iwd *d);

/* --- campaigns.c --- */
struct iwd_campaign;
/* The cached campaign id (loaded on first use); NULL with err. */
const struct iwd_campaign *iwd_campaign_get(struct iwd *d, struct iw_db *db,
    int64_t id, struct iw_err *err);
/* Fill in's campaign fields (name, vars, templates, max_inline); -1 when
 * the campaign's own templates do not load (err says where). */
int iwd_campaign_compose_in(const struct iwd *d,
    const struct iwd_campaign *cp, struct iw_compose_in *in,
    struct iw_err *err);
/* Forget every cached campaign (after a reload). */
void iwd_campaigns_clear(struct iwd *d);

/* 1 while the relay's circuit breaker is open. */
int iwd_breaker_open(struct iwd *d);

/* Set by the signal handlers; read by every stage between units of work.
 * iwd_reload (SIGHUP): the stages stop claiming work at the next batch,
 * so the main thread reloads while no worker uses the configuration and
 * the pass goes on with the new one. */
extern volatile sig_atomic_t iwd_stop;
extern volatile sig_atomic_t iwd_reload;

/* A stage's worker thread: its connection and what it did. */
struct iwd_worker {
	struct iwd *d;
	struct iw_db *db;
	struct iw_db **slot;	/* db's place in the pool (reconnects) */
	long done;
	int failed;
	unsigned seed;		/* rand_r: back-off jitter */
};

typedef void *(*iwd_worker_fn)(void *);

/* Run fn on one thread per pool connection; the sum of done, or -1 if any
 * thread failed. */
long iwd_run_workers(struct iwd *d, iwd_worker_fn fn);

/* (Re)connect missing or broken pool connections; -1 if none works. */
int iwd_pool_ready(struct iwd *d);

/* Resolve every due IP; returns the number handled, -1 on failure. */
long iwd_resolve(struct iwd *d);
/* --- fallback.c --- the next contact for IPs whose contact failed;
 * the number done or -1 on a database error. */
struct iw_ratelimit;
long iwd_fallback(struct iwd *d, struct iw_ratelimit *limiter);
/* Group resolved IPs into letters. */
int iwd_build(struct iwd *d);
/* Attempt every due letter once; returns letters handled, -1 on failure. */
long iwd_send(struct iwd *d);
/* --dry-run: print every due letter, change nothing. */
long iwd_print(struct iwd *d);
/* Take every message in bounces.maildir's new/ (daemon/maildir.c):
 * record it, move it to .done or .failed; -1 on a database error. */
int iwd_scan_maildir(struct iwd *d);

#endif
