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
#include "metrics.h"
#include "smtp.h"

#define IWD_MAX_BATCH 1000
/* A claim from the start at least this often (see send_worker). */
#define IWD_CURSOR_MS 5000
/* A letter whose campaign's templates do not load is looked at again
 * after this long (the operator fixes the files meanwhile). */
#define IWD_CAMPAIGN_RETRY_S 300

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
		w[i].slot = &d->pool[i];
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
	struct iw_db_build b;
	struct iw_err err;

	memset(&b, 0, sizeof(b));
	b.force = d->once || d->dry_run;
	b.hold_s = d->cfg->letters_hold;
	b.renotify_s = d->cfg->letters_renotify_after;
	b.msgid_domain = d->cfg->sender_domain;
	if (iw_db_build_letters(d->db, &b, &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		return -1;
	}
	if (b.letters > 0 || b.targets > 0 || b.held > 0 ||
	    b.renotify_held > 0 || b.control > 0)
		iw_log(IW_LOG_INFO, "built %ld letters for %ld IPs; %ld IPs "
		    "moved on (contact suppressed), %ld held (notified within "
		    "letters.renotify_after), %ld in control groups (no "
		    "letter)", b.letters, b.targets, b.held, b.renotify_held,
		    b.control);
	return 0;
}

/* --- send --- */

/* One claimed letter on its way through send_batch. */
struct job {
	struct iw_composed msg;	/* when rendered now */
	int composed;		/* msg holds its first rendering */
	int ready;		/* its stored bytes may be sent */
	int lost;		/* rendered, but its lease was lost: not ours */
	int held;		/* its campaign is not approved (any more) */
	int live;		/* handed to the SMTP session */
	int msg_index;		/* its entry in live[] */
	int postponed;		/* the rate limits hold it back */
	long long postpone_s;
	char envid[64];
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

/* Render letter l; -1 when it cannot be rendered, -2 when its campaign's
 * settings or templates cannot be had now (the letter waits). */
static int
compose_items(struct iwd *d, struct iw_db *db, const struct iw_db_letter *l,
    const struct iw_db_item *rows, size_t n, struct iw_composed *out,
    struct iw_err *err)
{
	const struct iwd_campaign *cp;
	struct iw_letter_item *items;
	struct iw_compose_in in;
	int rc;

	if (n == 0) {
		iw_err_set(err, "letter %" PRId64 " has no IPs", l->id);
		return -1;
	}
	memset(&in, 0, sizeof(in));
	if ((cp = iwd_campaign_get(d, db, l->campaign_id, err)) == NULL ||
	    iwd_campaign_compose_in(d, cp, &in, err) < 0)
		return -2;
	if (iw_compose_letter_in(l, rows, n, &in, &items) < 0) {
		iw_err_set(err, "out of memory");
		return -1;
	}
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

/*
 * Render the letters of the batch that have no stored message yet and
 * store them before anything goes to the relay: every attempt, and the
 * audit record, then have the same bytes.  A letter whose message could
 * not be stored (its lease was lost) is not sent by this daemon.
 */
static int
render_new(struct iwd_worker *w, struct iw_db_letter *l, int n,
    struct job *jobs)
{
	struct iwd *d = w->d;
	struct iw_db_rendered *rr = iw_calloc((size_t)n, sizeof(*rr));
	int64_t *ids = iw_calloc((size_t)n, sizeof(*ids));
	int *stored = iw_calloc((size_t)n, sizeof(*stored));
	struct iw_db_item *rows = NULL;
	size_t nrows = 0, nr = 0, nids = 0;
	struct iw_err err;
	int i, r, rc = -1;

	if (rr == NULL || ids == NULL || stored == NULL) {
		iw_log(IW_LOG_ERR, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (l[i].message == NULL)
			ids[nids++] = l[i].id;
	if (nids > 0 && iw_db_letters_items(w->db, ids, nids, &rows, &nrows,
	    &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct iw_db_item *mine;
		size_t cnt;

		if (l[i].message != NULL) {
			jobs[i].ready = 1;
			continue;
		}
		mine = items_of(rows, nrows, l[i].id, &cnt);
		r = compose_items(d, w->db, &l[i], mine, cnt, &jobs[i].msg,
		    &err);
		if (r < 0) {
			/* A letter that cannot be rendered is a bug: record
			 * it, loudly, never drop it.  One whose campaign's
			 * templates broke on disk waits for the operator. */
			iw_log(IW_LOG_ERR, "letter %" PRId64 ": %s%s", l[i].id,
			    err.msg, r == -2 ? "; it waits" : "");
			iw_strlcpy(jobs[i].fail, err.msg, sizeof(jobs[i].fail));
			jobs[i].postponed = r == -2;
			jobs[i].postpone_s = IWD_CAMPAIGN_RETRY_S;
			continue;
		}
		jobs[i].composed = 1;
		rr[nr].letter_id = l[i].id;
		rr[nr].locale = jobs[i].msg.locale;
		rr[nr].message = jobs[i].msg.data.data;
		rr[nr].reverse_path = jobs[i].msg.reverse_path;
		nr++;
	}
	if (iw_db_store_messages(w->db, d->owner, rr, nr, stored, &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		goto out;
	}
	for (i = 0, nr = 0; i < n; i++)
		if (jobs[i].composed && !(jobs[i].ready = stored[nr++]))
			jobs[i].lost = 1;
	rc = 0;
out:
	iw_db_items_free(rows, nrows);
	free(rr);
	free(ids);
	free(stored);
	return rc;
}

/* The message and envelope a ready letter goes out with. */
static int
live_msg(const struct iwd *d, const struct iw_db_letter *l, struct job *j,
    struct iw_smtp_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->rcpt = l->email;
	if (j->composed) {
		m->reverse_path = j->msg.reverse_path;
		m->data = j->msg.data.data;
		m->len = j->msg.data.len;
		iw_strlcpy(j->envid, j->msg.envid, sizeof(j->envid));
	} else {
		m->reverse_path = l->reverse_path;
		m->data = l->message;
		m->len = l->message_len;
		if (iw_verp_token(d->cfg->sender_verp_secret, l->id, j->envid,
		    sizeof(j->envid)) < 0)
			return -1;
	}
	m->envid = j->envid;
	return 0;
}

static void
postponed(struct iw_db_send_result *r, int64_t id, long long retry_s)
{
	memset(r, 0, sizeof(*r));
	r->letter_id = id;
	r->state = IW_DB_POSTPONED;
	r->retry_in_s = retry_s;
}

/* What the relay said, letter by letter, into the results to record. */
static void
collect_results(struct iwd_worker *w, struct iw_db_letter *l, int n,
    struct job *jobs, struct iw_smtp_msg *live, int sent_any,
    long long relay_delay, struct iw_db_send_result *res)
{
	int i, k = 0;

	for (i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		if (j->lost || j->held || (j->live && !sent_any) ||
		    j->postponed) {
			/* Not tried: back to the queue with no attempt. */
			postponed(&res[i], l[i].id, j->postponed ?
			    j->postpone_s : j->lost ? w->d->cfg->delivery_lease
			    : 0);
			k += j->live;
			continue;
		}
		if (!j->live) {
			memset(&res[i], 0, sizeof(res[i]));
			res[i].letter_id = l[i].id;
			res[i].state = IW_DB_FAILED;
			res[i].fail_reason = j->fail;
			continue;
		}
		result_of(w, &l[i], &live[k], relay_delay, &res[i], j->fail,
		    sizeof(j->fail));
		iw_metrics_smtp(w->d->counters, res[i].state == IW_DB_SENT ?
		    IW_METRICS_SMTP_SENT : res[i].state == IW_DB_DEFERRED ?
		    IW_METRICS_SMTP_DEFERRED : IW_METRICS_SMTP_FAILED);
		/* One line per letter only when asked for (--verbose); a
		 * failed one is always said. */
		iw_log(res[i].state == IW_DB_FAILED ? IW_LOG_NOTICE :
		    IW_LOG_DEBUG, "letter %" PRId64 " (%s) to %s: %s (%s)",
		    l[i].id, l[i].ref, l[i].email, res[i].state == IW_DB_SENT ?
		    "sent" : res[i].state == IW_DB_DEFERRED ? "deferred" :
		    "failed", live[k].reply);
		j->msg_index = k++;
	}
}

/*
 * The letters of the batch whose campaign is approved, inside the send
 * gate (see lib/campaign.h), rate limits permitting, into live[].
 */
static int
admit(struct iwd_worker *w, struct iw_db_letter *l, int n, struct job *jobs,
    const int *approved, struct iw_smtp_msg *live, int64_t *max_wait_us)
{
	struct iwd *d = w->d;
	int i, nlive = 0;

	for (i = 0; i < n; i++) {
		int64_t wait_us;

		if (!jobs[i].ready)
			continue;
		if (!approved[i]) {
			jobs[i].held = 1;
			continue;
		}
		wait_us = iwd_throttle_reserve(&d->throttle, l[i].email,
		    iw_now_ms() * 1000);
		if (wait_us > IWD_RATE_MAX_WAIT_US) {
			jobs[i].postponed = 1;
			jobs[i].postpone_s = wait_us / 1000000 + 1;
			continue;
		}
		if (wait_us > *max_wait_us)
			*max_wait_us = wait_us;
		if (live_msg(d, &l[i], &jobs[i], &live[nlive]) < 0) {
			snprintf(jobs[i].fail, sizeof(jobs[i].fail),
			    "letter %" PRId64 ": VERP token", l[i].id);
			continue;
		}
		jobs[i].live = 1;
		nlive++;
	}
	return nlive;
}

/* Replace the worker's broken connection; 0 when a new one works. */
static int
reconnect(struct iwd_worker *w)
{
	struct iw_db *db;
	struct iw_err err;

	if (iw_db_connect(w->d->cfg->db_conninfo, &db, &err) < 0)
		return -1;
	iw_db_close(w->db);
	w->db = *w->slot = db;
	return 0;
}

/* Sleep ms whatever signals say: the results in hand are worth more than
 * a quick exit. */
static void
wait_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) *
	    1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * Record the batch's results.  When the database went away after the
 * relay took the letters, keep the results (they are in memory) and write
 * them once it is back, as long as the batch's lease lasts: a letter the
 * relay accepted is then recorded as sent and never sent again.  Past the
 * lease another daemon may take the letters back, so it gives up (-1) and
 * the letters are sent again after the lease: the remaining window.
 * *reconnected: the connection (and the send gate it held) was replaced.
 */
static int
record(struct iwd_worker *w, const struct iw_db_send_result *res, int n,
    int64_t lease_end_ms, int *reconnected)
{
	struct iwd *d = w->d;
	struct iw_err err;
	int64_t wait = 1000, max = d->cfg->db_reconnect_max * 1000;
	int tries = 0;

	for (;;) {
		if (iw_db_record_results(w->db, d->owner, d->cfg->smtp_relay,
		    res, (size_t)n, &err) == 0) {
			if (tries > 0)
				iw_log(IW_LOG_NOTICE, "database back: recorded "
				    "the %d results kept through the outage",
				    n);
			return 0;
		}
		if (!iw_db_broken(w->db)) {
			iw_log(IW_LOG_ERR, "%s", err.msg);
			return -1;	/* a statement error, not an outage */
		}
		if (tries++ == 0)
			iw_log(IW_LOG_ERR, "%s; keeping the results of %d "
			    "letters until the database is back", err.msg, n);
		if (iw_now_ms() + wait >= lease_end_ms) {
			iw_log(IW_LOG_ERR, "the lease of %d letters ran out "
			    "before the database came back: they will be "
			    "sent again", n);
			return -1;
		}
		wait_ms(wait);
		if (reconnect(w) == 0)
			*reconnected = 1;
		wait = wait * 2 > max ? max : wait * 2;
	}
}

static int
send_batch(struct iwd_worker *w, struct iw_db_letter *l, int n,
    int64_t lease_end_ms)
{
	struct iwd *d = w->d;
	struct iw_db_send_result *res = iw_calloc((size_t)n, sizeof(*res));
	struct job *jobs = iw_calloc((size_t)n, sizeof(*jobs));
	struct iw_smtp_msg *live = iw_calloc((size_t)n, sizeof(*live));
	int64_t *cids = iw_calloc((size_t)n, sizeof(*cids));
	int *approved = iw_calloc((size_t)n, sizeof(*approved));
	struct iw_smtp_conf sc;
	struct iw_err err;
	int64_t max_wait_us = 0;
	long long relay_delay = 0;
	int i, nlive, rc = -1, sent_any, gated = 0, reconnected = 0;

	if (res == NULL || jobs == NULL || live == NULL || cids == NULL ||
	    approved == NULL) {
		iw_log(IW_LOG_ERR, "out of memory");
		goto out;
	}
	if (render_new(w, l, n, jobs) < 0)
		goto out;
	for (i = 0; i < n; i++)
		cids[i] = l[i].campaign_id;
	/* The campaign may have been paused since the claim: look again,
	 * now inside the gate that pause and cancel wait for. */
	if (iw_campaign_gate_enter(w->db, cids, (size_t)n, approved,
	    &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		goto out;
	}
	gated = 1;
	nlive = admit(w, l, n, jobs, approved, live, &max_wait_us);
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
	collect_results(w, l, n, jobs, live, sent_any, relay_delay, res);
	if (record(w, res, n, lease_end_ms, &reconnected) < 0)
		goto out;
	/* A 5xx at RCPT is a bounce we got at once: a dead address is
	 * suppressed like after a hard DSN. */
	for (i = 0; i < n; i++) {
		const struct iw_smtp_msg *m = &live[jobs[i].msg_index];

		if (jobs[i].live && sent_any && m->outcome ==
		    IW_SMTP_PERMFAIL && strcmp(m->stage, "rcpt") == 0 &&
		    iw_feedback_smtp_reject(w->db, l[i].id, l[i].email,
		    m->code, m->enhanced, m->reply, &err) < 0) {
			iw_log(IW_LOG_ERR, "%s", err.msg);
			goto out;
		}
	}
	w->done += n;
	rc = 0;
out:
	/* A replaced connection took its gate locks with it. */
	if (gated && !reconnected && iw_campaign_gate_leave(w->db, cids,
	    (size_t)n, &err) < 0) {
		iw_log(IW_LOG_ERR, "%s", err.msg);
		rc = -1;
	}
	for (i = 0; jobs != NULL && i < n; i++)
		iw_composed_free(&jobs[i].msg);
	free(res);
	free(jobs);
	free(live);
	free(cids);
	free(approved);
	return rc;
}

static void *
send_worker(void *arg)
{
	struct iwd_worker *w = arg;
	struct iwd *d = w->d;
	int batch = d->cfg->delivery_batch, n, rc;
	struct iw_db_letter *l;
	struct iw_db_cursor cur = { 0 };
	int64_t from_start_ms = 0;
	struct iw_err err;

	if (batch > IWD_MAX_BATCH)
		batch = IWD_MAX_BATCH;
	l = iw_calloc((size_t)batch, sizeof(*l));
	if (l == NULL) {
		w->failed = 1;
		return NULL;
	}
	while (!iwd_stop && !iwd_reload && !iwd_breaker_open(d)) {
		/* Before the claim: the lease ends no earlier than this. */
		int64_t now = iw_now_ms();
		int64_t lease_end = now + d->cfg->delivery_lease * 1000 - 2000;
		int after;

		/* Claims go on from where the last one ended (struct
		 * iw_db_cursor), and look from the start again when nothing
		 * is left past that point, or after IWD_CURSOR_MS: letters
		 * behind it (a resumed campaign's, a dead daemon's once its
		 * lease ran out) wait no longer than that. */
		if (cur.set && now - from_start_ms >= IWD_CURSOR_MS)
			cur.set = 0;
		after = cur.set;
		if (!after)
			from_start_ms = now;
		if (iw_db_claim_letters(w->db, d->owner, d->cfg->delivery_lease,
		    batch, &cur, l, &n, &err) < 0) {
			iw_log(IW_LOG_ERR, "%s", err.msg);
			w->failed = 1;
			break;
		}
		if (n < batch)	/* the next claim looks from the start */
			cur.set = 0;
		if (n == 0 && after)
			continue;
		if (n == 0)
			break;
		rc = send_batch(w, l, n, lease_end);
		iw_db_letters_clear(l, n);
		if (rc < 0) {
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

/* A letter already handed to the relay shows its stored bytes; -1 for one
 * not rendered yet. */
static int
stored_msg(const struct iw_db_letter *l, struct iw_composed *out)
{
	memset(out, 0, sizeof(*out));
	if (l->message == NULL)
		return -1;
	iw_strlcpy(out->reverse_path, l->reverse_path,
	    sizeof(out->reverse_path));
	iw_strlcpy(out->locale, l->locale, sizeof(out->locale));
	return iw_buf_append(&out->data, l->message, l->message_len);
}

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
			if (stored_msg(&l[i], &msg) < 0 && compose_items(d,
			    d->db, &l[i], mine, cnt, &msg, &err) < 0) {
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
		iw_db_letters_clear(l, n);
	} while (n > 0 && !iwd_stop);
	fflush(stdout);
	iw_buf_free(&out);
	return done;
fail:
	iw_log(IW_LOG_ERR, "%s", err.msg);
	iw_buf_free(&out);
	return -1;
}
