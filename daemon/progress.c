/*
 * The progress line: while a pass is running, at most every
 * IWD_PROGRESS_EVERY_MS (and paced by its own cost, lib/util.h: it counts
 * over every letter and IP), one line per campaign with IPs left to resolve or
 * letters due — the figures of lib/progress.h (shared by every daemon and
 * `campaign show`) and this daemon's WHOIS queries.  Its own thread and
 * database connection: a stage that runs for an hour still reports.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipwarnd.h"
#include "log.h"
#include "metrics.h"
#include "progress.h"

static void
report(struct iwd *d, struct iw_db **db)
{
	struct iw_progress *p = NULL;
	struct iw_buf line = IW_BUF_INIT, thr = IW_BUF_INIT;
	struct iw_err err;
	size_t i, n = 0;

	if ((*db == NULL || iw_db_broken(*db)) &&
	    (iw_db_close(*db), *db = NULL,
	    iw_db_connect(d->progress_conninfo, db, &err) < 0 ||
	    iw_db_serial(*db, &err) < 0))
		return;		/* the stages say what is wrong */
	if (iw_progress_load(*db, 0, 1, &p, &n, &err) < 0 ||
	    iw_progress_throttled(*db, &thr, &err) < 0) {
		iw_log(IW_LOG_DEBUG, "progress: %s", err.msg);
		goto out;
	}
	for (i = 0; i < n; i++) {
		iw_buf_reset(&line);
		if (iw_progress_text(&p[i], &line) < 0)
			break;
		iw_log(IW_LOG_INFO, "progress: campaign %s: %s; WHOIS queries "
		    "%lu by this daemon, throttled servers: %s", p[i].campaign,
		    line.data, iw_metrics_whois_total(d->counters), thr.len > 0 ?
		    thr.data : "none");
	}
out:
	free(p);
	iw_buf_free(&line);
	iw_buf_free(&thr);
}

/* Wait IWD_PROGRESS_EVERY_MS or until told to stop; 0 when stopping. */
static int
wait_tick(struct iwd *d)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += IWD_PROGRESS_EVERY_MS / 1000;
	pthread_mutex_lock(&d->progress_lock);
	while (!d->progress_stop &&
	    pthread_cond_timedwait(&d->progress_cond, &d->progress_lock,
	    &ts) == 0)
		;
	stop = d->progress_stop;
	pthread_mutex_unlock(&d->progress_lock);
	return !stop;
}

static void *
progress_main(void *arg)
{
	struct iwd *d = arg;
	struct iw_db *db = NULL;
	struct iw_pace pace = { 0 };

	while (wait_tick(d)) {
		int64_t t0 = iw_now_ms();

		if (!atomic_load(&d->busy) || !iw_pace_due(&pace, t0))
			continue;
		report(d, &db);
		iw_pace_done(&pace, t0, iw_now_ms(), IWD_PROGRESS_EVERY_MS);
	}
	iw_db_close(db);
	return NULL;
}

void
iwd_progress_start(struct iwd *d)
{
	d->progress_stop = 0;
	pthread_mutex_init(&d->progress_lock, NULL);
	pthread_cond_init(&d->progress_cond, NULL);
	if ((d->progress_conninfo = iw_strdup(d->cfg->db_conninfo)) == NULL)
		return;
	if (pthread_create(&d->progress_tid, NULL, progress_main, d) == 0)
		d->progress_started = 1;
	else
		iw_log(IW_LOG_WARNING, "cannot start the progress thread");
}

void
iwd_progress_stop(struct iwd *d)
{
	if (d->progress_started) {
		pthread_mutex_lock(&d->progress_lock);
		d->progress_stop = 1;
		pthread_cond_signal(&d->progress_cond);
		pthread_mutex_unlock(&d->progress_lock);
		pthread_join(d->progress_tid, NULL);
		d->progress_started = 0;
		pthread_mutex_destroy(&d->progress_lock);
		pthread_cond_destroy(&d->progress_cond);
	}
	free(d->progress_conninfo);
	d->progress_conninfo = NULL;
}
