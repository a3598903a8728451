/*
 * The daemon's build and send stages: one letter per campaign and contact,
 * then batches of due letters through one SMTP session each.  Each stage
 * runs delivery.workers threads (iwd_run_workers); a thread claims work
 * under a lease with its own connection, so several daemons and threads
 * never take the same letter.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compose.h"
#include "feedback.h"
#include "ipwarnd.h"
#include "log.h"
#include "smtp.h"

#define IWD_MAX_BATCH 1000

long
iwd_run_workers(struct iwd *d, iwd_worker_fn fn)
{
	pthread_t tid[64];
	struct iwd_worker w[64];
	int i, n = d->npool < 64 ? d->npool : 64, started = 0;
	long total = 0;
	int failed = 0;

	for (i = 0; i < n; i++) {
		w[i].d = d;
		w[i].db = d->pool[i];
		w[i].done = 0;
		w[i].failed = 0;
		w[i].seed = (unsigned)time(NULL) ^ (unsigned)(i * 7919);
		if (pthread_create(&tid[i], NULL, fn, &w[i]) != 0) {
			iw_log(IW_LOG_ERR, "cannot start worker thread");
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		total += w[i].done;
		failed |= w[i].failed;
	}
	return started == 0 || failed ? -1 : total;
}

/* --- build --- */

int
iwd_build(struct iwd *d)
{
	struct iw_err err;
	long letters, targets, held;

	if (iw_db_build_letters(d->db, d->once || d->dry_run,
	    d->cfg->letters_hold, d->cfg->sender_domain, &letters, &targets,
	    &held, &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		return -1;
	}
	if (letters > 0 || targets > 0 || held > 0)
		iw_log(IW_LOG_INFO, "built %ld letters for %ld IPs; %ld IPs "
		    "held (contact suppressed)", letters, targets, held);
	return 0;
}

/* --- send --- */

struct job {
	struct iw_composed msg;
	int composed;
	int postponed;
	long long postpone_s;
	char fail[600];
};

/* A letter the rate limits would hold longer than this goes back to the
 * queue instead of holding its batch (and the relay session) open. */
#define IWD_RATE_MAX_WAIT_US (30LL * 1000000)

int
iwd_breaker_open(struct iwd *d)
{
	int open;

	pthread_mutex_lock(&d->breaker_lock);
	open = d->breaker_until_ms > iw_now_ms();
	pthread_mutex_unlock(&d->breaker_lock);
	return open;
}

/* The relay could not be used: open the breaker for 30 s, doubling with
 * each failure in a row up to delivery.max_backoff.  Returns the delay. */
static long long
breaker_trip(struct iwd *d)
{
	long long delay = 30;
	int64_t now = iw_now_ms();
	int i;

	pthread_mutex_lock(&d->breaker_lock);
	if (d->breaker_until_ms <= now)
		d->breaker_failures++;
	for (i = 1; i < d->breaker_failures && delay < 86400; i++)
		delay *= 2;
	if (delay > d->cfg->delivery_max_backoff)
		delay = d->cfg->delivery_max_backoff;
	if (delay < 1)
		delay = 1;
	d->breaker_until_ms = now + delay * 1000;
	pthread_mutex_unlock(&d->breaker_lock);
	return delay;
}

static void
breaker_reset(struct iwd *d)
{
	pthread_mutex_lock(&d->breaker_lock);
	d->breaker_failures = 0;
	d->breaker_until_ms = 0;
	pthread_mutex_unlock(&d->breaker_lock);
}

/* Sleep up to us, in short steps so SIGTERM is seen; 0 if interrupted. */
static int
nap(int64_t us)
{
	while (us > 0 && !iwd_stop) {
		int64_t step = us > 100000 ? 100000 : us;
		struct timespec ts = { 0, (long)step * 1000 };

		nanosleep(&ts, NULL);
		us -= step;
	}
	return !iwd_stop;
}

static int
compose_items(struct iwd *d, const struct iw_db_letter *l,
    const struct iw_db_item *rows, size_t n, struct iw_composed *out,
    struct iw_err *err)
{
	struct iw_letter_item *items;
	struct iw_compose_in in;
	size_t i;
	int rc;

	if (n == 0) {
		iw_err_set(err, "letter %" PRId64 " has no IPs", l->id);
		return -1;
	}
	items = iw_calloc(n, sizeof(*items));
	if (items == NULL) {
		iw_err_set(err, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		items[i].ip = rows[i].ip;
		items[i].evidence = rows[i].evidence;
		items[i].observed = rows[i].observed;
	}
	memset(&in, 0, sizeof(in));
	in.letter_id = l->id;
	in.email = l->email;
	in.locale = l->locale;
	in.message_id = l->message_id;
	in.items = items;
	in.nitems = n;
	in.date = time(NULL);
	rc = iw_compose(d->cfg, d->letters, &in, out, err);
	free(items);
	return rc;
}

/* The slice of rows (sorted by letter id) that belongs to letter id. */
static const struct iw_db_item *
items_of(const struct iw_db_item *rows, size_t n, int64_t id, size_t *cnt)
{
	size_t lo = 0, hi = n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rows[mid].letter_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < n && rows[end].letter_id == id; end++)
		;
	*cnt = end - lo;
	return rows + lo;
}

/* Postfix-like: wait about as long as the letter is old, within
 * [min_backoff, max_backoff], with 10 % jitter so retries spread out. */
static long long
backoff(const struct iw_config *cfg, long long age, unsigned *seed)
{
	long long d = age;
	long long j;

	if (d < cfg->delivery_min_backoff)
		d = cfg->delivery_min_backoff;
	if (d > cfg->delivery_max_backoff)
		d = cfg->delivery_max_backoff;
	j = d / 10;
	if (j > 0)
		d += (long long)(rand_r(seed) % (2 * j + 1)) - j;
	return d > 1 ? d : 1;
}

static void
result_of(struct iwd_worker *w, const struct iw_db_letter *l,
    const struct iw_smtp_msg *m, long long relay_delay,
    struct iw_db_send_result *r, char *fail, size_t failsz)
{
	const struct iw_config *cfg = w->d->cfg;

	memset(r, 0, sizeof(*r));
	r->letter_id = l->id;
	r->code = m->code;
	r->enhanced = m->enhanced;
	r->stage = m->stage;
	r->reply = m->reply;
	r->record_attempt = 1;
	switch (m->outcome) {
	case IW_SMTP_SENT:
		r->state = IW_DB_SENT;
		return;
	case IW_SMTP_PERMFAIL:
		r->state = IW_DB_FAILED;
		snprintf(fail, failsz, "rejected at %s: %s", m->stage,
		    m->reply);
		r->fail_reason = fail;
		return;
	default:
		break;
	}
	/* A relay that could not be used at all says nothing about the
	 * letter: it waits for the breaker, not for its own back-off. */
	r->retry_in_s = relay_delay > 0 ? relay_delay :
	    backoff(cfg, l->age_s, &w->seed);
	if (l->age_s + r->retry_in_s > cfg->delivery_max_age) {
		r->state = IW_DB_FAILED;
		snprintf(fail, failsz, "expired after %d attempts: %s%s%s",
		    l->attempts, m->stage, *m->stage != '\0' ? ": " : "",
		    m->reply);
		r->fail_reason = fail;
		return;
	}
	r->state = IW_DB_DEFERRED;
}

static int
send_batch(struct iwd_worker *w, struct iw_db_letter *l, int n)
{
	struct iwd *d = w->d;
	struct iw_smtp_msg *msgs = iw_calloc((size_t)n, sizeof(*msgs));
	struct iw_db_send_result *res = iw_calloc((size_t)n, sizeof(*res));
	struct job *jobs = iw_calloc((size_t)n, sizeof(*jobs));
	struct iw_smtp_msg *live = iw_calloc((size_t)n, sizeof(*live));
	int64_t *ids = iw_calloc((size_t)n, sizeof(*ids));
	struct iw_db_item *rows = NULL;
	size_t nrows = 0;
	struct iw_smtp_conf sc;
	struct iw_err err;
	int64_t wait_us, max_wait_us = 0;
	long long relay_delay = 0;
	int i, nlive = 0, rc = -1, sent_any;

	if (msgs == NULL || res == NULL || jobs == NULL || live == NULL ||
	    ids == NULL) {
		iw_log(IW_LOG_ERR, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		ids[i] = l[i].id;
	if (iw_db_letters_items(w->db, ids, (size_t)n, &rows, &nrows,
	    &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct iw_db_item *mine;
		size_t cnt;

		mine = items_of(rows, nrows, l[i].id, &cnt);
		if (compose_items(d, &l[i], mine, cnt, &jobs[i].msg,
		    &err) < 0) {
			/* A letter that cannot be rendered is a bug or a bad
			 * template: record it as failed, loudly, never drop
			 * it silently. */
			iw_log(IW_LOG_ERR, "%s", err.msg);
			iw_strlcpy(jobs[i].fail, err.msg, sizeof(jobs[i].fail));
			continue;
		}
		jobs[i].composed = 1;
		wait_us = iwd_throttle_reserve(&d->throttle, l[i].email,
		    iw_now_ms() * 1000);
		if (wait_us > IWD_RATE_MAX_WAIT_US) {
			jobs[i].postponed = 1;
			jobs[i].postpone_s = wait_us / 1000000 + 1;
			continue;
		}
		if (wait_us > max_wait_us)
			max_wait_us = wait_us;
		live[nlive].reverse_path = jobs[i].msg.reverse_path;
		live[nlive].rcpt = l[i].email;
		live[nlive].envid = jobs[i].msg.envid;
		live[nlive].data = jobs[i].msg.data.data;
		live[nlive].len = jobs[i].msg.data.len;
		nlive++;
	}
	iw_config_smtp(d->cfg, &sc);
	/* The rate limits: wait for the last letter's slot, or give the
	 * batch back when asked to stop meanwhile. */
	sent_any = nlive > 0 && nap(max_wait_us);
	if (sent_any && iw_smtp_send_batch(&sc, live, (size_t)nlive,
	    &err) < 0) {
		relay_delay = breaker_trip(d);
		iw_log(IW_LOG_WARNING, "relay %s: %s; no sending for %lld s",
		    d->cfg->smtp_relay, err.msg, relay_delay);
	} else if (sent_any)
		breaker_reset(d);
	for (i = 0, nlive = 0; i < n; i++) {
		char *fail = jobs[i].fail;

		if (jobs[i].composed && (jobs[i].postponed || !sent_any)) {
			memset(&res[i], 0, sizeof(res[i]));
			res[i].letter_id = l[i].id;
			res[i].state = IW_DB_POSTPONED;
			res[i].retry_in_s = jobs[i].postponed ?
			    jobs[i].postpone_s : 0;
			if (!jobs[i].postponed)
				nlive++;
			continue;
		}
		if (!jobs[i].composed) {
			memset(&res[i], 0, sizeof(res[i]));
			res[i].letter_id = l[i].id;
			res[i].state = IW_DB_FAILED;
			res[i].fail_reason = fail;
			continue;
		}
		msgs[i] = live[nlive++];
		result_of(w, &l[i], &msgs[i], relay_delay, &res[i], fail,
		    sizeof(jobs[i].fail));
		iw_log(res[i].state == IW_DB_SENT ? IW_LOG_INFO :
		    IW_LOG_NOTICE, "letter %" PRId64 " to %s: %s (%s)",
		    l[i].id, l[i].email, res[i].state == IW_DB_SENT ? "sent" :
		    res[i].state == IW_DB_DEFERRED ? "deferred" : "failed",
		    msgs[i].reply);
	}
	if (iw_db_record_results(w->db, d->owner, d->cfg->smtp_relay, res,
	    (size_t)n, &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		goto out;
	}
	/* A 5xx at RCPT is a bounce we got at once: a dead address is
	 * suppressed like after a hard DSN. */
	for (i = 0; i < n; i++)
		if (jobs[i].composed && !jobs[i].postponed && sent_any &&
		    msgs[i].outcome == IW_SMTP_PERMFAIL &&
		    strcmp(msgs[i].stage, "rcpt") == 0 &&
		    iw_feedback_smtp_reject(w->db, l[i].id, l[i].email,
		    msgs[i].code, msgs[i].enhanced, msgs[i].reply, &err) < 0) {
			iw_log(IW_LOG_ERR, "%s", err.msg);
			goto out;
		}
	w->done += n;
	rc = 0;
out:
	for (i = 0; jobs != NULL && i < n; i++)
		iw_composed_free(&jobs[i].msg);
	iw_db_items_free(rows, nrows);
	free(ids);
	free(msgs);
	free(res);
	free(jobs);
	free(live);
	return rc;
}

static void *
send_worker(void *arg)
{
	struct iwd_worker *w = arg;
	struct iwd *d = w->d;
	int batch = d->cfg->delivery_batch, n;
	struct iw_db_letter *l;
	struct iw_err err;

	if (batch > IWD_MAX_BATCH)
		batch = IWD_MAX_BATCH;
	l = iw_calloc((size_t)batch, sizeof(*l));
	if (l == NULL) {
		w->failed = 1;
		return NULL;
	}
	while (!iwd_stop && !iwd_breaker_open(d)) {
		if (iw_db_claim_letters(w->db, d->owner, d->cfg->delivery_lease,
		    batch, l, &n, &err) < 0) {
			iw_log(IW_LOG_ERR, "%s", err.msg);
			w->failed = 1;
			break;
		}
		if (n == 0)
			break;
		if (send_batch(w, l, n) < 0) {
			w->failed = 1;
			break;
		}
	}
	free(l);
	return NULL;
}

long
iwd_send(struct iwd *d)
{
	return iwd_run_workers(d, send_worker);
}

/* --- dry run --- */

long
iwd_print(struct iwd *d)
{
	struct iw_db_letter l[64];
	int64_t ids[64];
	struct iw_db_item *rows;
	struct iw_composed msg;
	struct iw_buf out = IW_BUF_INIT;
	struct iw_err err;
	int64_t after = 0;
	long done = 0;
	size_t nrows;
	int i, n;

	do {
		if (iw_db_peek_letters(d->db, after, 64, l, &n, &err) < 0)
			goto fail;
		for (i = 0; i < n; i++)
			ids[i] = l[i].id;
		if (iw_db_letters_items(d->db, ids, (size_t)n, &rows, &nrows,
		    &err) < 0)
			goto fail;
		for (i = 0; i < n && !iwd_stop; i++) {
			const struct iw_db_item *mine;
			size_t cnt;

			after = l[i].id;
			mine = items_of(rows, nrows, l[i].id, &cnt);
			if (compose_items(d, &l[i], mine, cnt, &msg,
			    &err) < 0) {
				iw_log(IW_LOG_ERR, "%s", err.msg);
				continue;
			}
			iw_buf_reset(&out);
			if (iw_compose_mbox(&msg, &out) == 0)
				fwrite(out.data, 1, out.len, stdout);
			iw_composed_free(&msg);
			done++;
		}
		iw_db_items_free(rows, nrows);
	} while (n > 0 && !iwd_stop);
	fflush(stdout);
	iw_buf_free(&out);
	return done;
fail:
	iw_log(IW_LOG_ERR, "%s", err.msg);
	iw_buf_free(&out);
	return -1;
}
