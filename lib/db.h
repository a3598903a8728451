/*
 * db: the PostgreSQL queue and state — schema migrations, bulk enqueue,
 * claiming work with leases (FOR UPDATE SKIP LOCKED, so several daemons can
 * share one database), recording results, status counts, overrides and the
 * suppression list.  Every statement is parameterised; no SQL is built from
 * data.  One struct iw_db is one connection, used by one thread at a time.
 */
#ifndef IW_DB_H
#define IW_DB_H

#include <stddef.h>
#include <stdint.h>

#include "input.h"
#include "util.h"

struct iw_db;

int iw_db_connect(const char *conninfo, struct iw_db **out,
    struct iw_err *err);
/* Keep this connection's queries in its one backend: for readers paced
 * by their own duration (iw_pace), which bounds one core's time, not the
 * time of parallel workers beside it. */
int iw_db_serial(struct iw_db *db, struct iw_err *err);
void iw_db_close(struct iw_db *db);
/* The libpq connection, for modules that keep their own tables (the
 * contact cache); they must follow this module's rules: parameterised
 * statements, one thread per connection. */
struct pg_conn *iw_db_pgconn(struct iw_db *db);

/*
 * The one way other modules talk to the database: run a parameterised
 * statement; on failure NULL (or -1) and one line in err ("database: WHAT:
 * message").  The caller PQclear()s the result.
 */
struct pg_result *iw_db_exec(struct iw_db *db, const char *sql, int n,
    const char *const *params, const char *what, struct iw_err *err);
int iw_db_cmd(struct iw_db *db, const char *sql, int n,
    const char *const *params, const char *what, struct iw_err *err);
/*
 * The same for a statement run at every batch of the send path: prepared
 * on the connection's first use of it, then only executed, so that it is
 * neither parsed nor (once PostgreSQL settles on a generic plan) planned
 * again.  One sql per slot for the life of the connection.
 */
enum iw_db_ps { IW_DB_PS_GATE_LOCK = 16, IW_DB_PS_GATE_CHECK,
	IW_DB_PS_GATE_UNLOCK };
struct pg_result *iw_db_exec_ps(struct iw_db *db, enum iw_db_ps ps,
    const char *sql, int n, const char *const *params, const char *what,
    struct iw_err *err);
/* Cell (row, col) of such a result as a number (0 when NULL), or as text
 * copied into out ("" when NULL, cut to outsz). */
long long iw_db_get_ll(struct pg_result *res, int row, int col);
void iw_db_get_str(struct pg_result *res, int row, int col, char *out,
    size_t outsz);
/* One row of a query: column names, values (NULL as ""), and each value's
 * kind: 's' text, 'n' number, 'b' boolean ("t"/"f"), 'j' JSON, '-' NULL. */
struct iw_db_row {
	int ncols;
	const char *const *names;
	const char *const *values;
	const char *kinds;
};
/* Run a query and call fn first for the header (values NULL, kinds per
 * column), then for each row; returns the number of rows or -1. */
typedef void (*iw_db_named_row_fn)(void *arg, const struct iw_db_row *row);
long iw_db_each(struct iw_db *db, const char *sql, int n,
    const char *const *params, iw_db_named_row_fn fn, void *arg,
    const char *what, struct iw_err *err);
/* BEGIN / COMMIT / ROLLBACK. */
int iw_db_begin(struct iw_db *db, struct iw_err *err);
int iw_db_commit(struct iw_db *db, struct iw_err *err);
void iw_db_rollback(struct iw_db *db);

/* 1 when the connection failed (server gone): callers exit EX_TEMPFAIL. */
int iw_db_broken(const struct iw_db *db);

/* Apply every embedded migration not yet applied; idempotent. */
int iw_db_migrate(struct iw_db *db, int *from, int *to, struct iw_err *err);
/* -1 unless the schema is exactly the one this build knows. */
int iw_db_schema_check(struct iw_db *db, struct iw_err *err);

/* --- enqueue --- */
struct iw_db_enqueue;
/* Into an existing campaign that is not cancelled; else -1 with
 * *refused = 1 and the reason in err. */
int iw_db_enqueue_begin(struct iw_db *db, const char *campaign,
    struct iw_db_enqueue **out, int *refused, struct iw_err *err);
int iw_db_enqueue_add(struct iw_db_enqueue *e, const struct iw_input_rec *r,
    long line, struct iw_err *err);
/* Commit; counts of inserted and duplicate (in file or already queued). */
int iw_db_enqueue_commit(struct iw_db_enqueue *e, long *inserted,
    long *duplicate, struct iw_err *err);
void iw_db_enqueue_abort(struct iw_db_enqueue *e);

/* --- resolve stage --- */
struct iw_db_target {
	int64_t id;
	char ip[48];
	int attempts;		/* including this one */
};

/*
 * Claim for owner (lease_s seconds) up to limit due IPs in state 'new'
 * that match where -- an SQL condition written in the caller's code,
 * never data -- and return the claimed rows' columns returning.  NULL
 * with err on failure; the caller PQclear()s the result.
 */
struct pg_result *iw_db_claim_new(struct iw_db *db, const char *where,
    const char *returning, const char *owner, long long lease_s, int limit,
    struct iw_err *err);

int iw_db_claim_targets(struct iw_db *db, const char *owner,
    long long lease_s, int limit, struct iw_db_target *out, int *n,
    struct iw_err *err);

enum iw_db_resolve_state {
	IW_DB_RESOLVED,
	IW_DB_UNRESOLVED,
	IW_DB_RETRY,		/* transient: back to 'new' after retry_in */
	IW_DB_HELD,		/* 'held' with reason and contact (not
				   mailed: a registry's own address) */
};

struct iw_db_resolution {
	enum iw_db_resolve_state state;
	const char *country;	/* may be "" */
	const char *locale;
	const char *email;
	const char *source;
	const char *server;
	const char *network;
	const char *chain;
	const char *reason;
	const char *raw;	/* kept only when unresolved */
	long long retry_in_s;
};

/* Store the results of a whole claimed batch in one statement
 * (ids[i] with r[i]); rows whose lease was lost are left alone. */
int iw_db_targets_done(struct iw_db *db, const char *owner,
    const int64_t *ids, const struct iw_db_resolution *r, size_t n,
    struct iw_err *err);

/* Operator override for ip, if any (most specific network wins). */
int iw_db_override_find(struct iw_db *db, const char *ip, char *email,
    size_t emailsz, char *network, size_t netsz, struct iw_err *err);

/* --- build stage --- */
/*
 * Group resolved IPs without a letter into one letter per (campaign,
 * contact).  force: every campaign now (ipwarnd --once); else only
 * campaigns with nothing left to resolve, or whose oldest waiting IP has
 * waited hold_s.  IPs of suppressed contacts are held instead.
 */
struct iw_db_build {
	int force;
	long long hold_s;		/* letters.hold */
	long long renotify_s;		/* letters.renotify_after; 0: off */
	const char *msgid_domain;
	long letters, targets;		/* out: built, IPs put in letters */
	long held, renotify_held;	/* out: moved on (contact suppressed;
				   lib/fallback.h), notified lately */
	long control;			/* out: IPs put in a control group */
};
int iw_db_build_letters(struct iw_db *db, struct iw_db_build *b,
    struct iw_err *err);

/* --- send stage --- */
struct iw_db_letter {
	int64_t id;
	int64_t campaign_id;
	char campaign[128];
	char email[256];
	char locale[17];
	char message_id[256];
	char ref[80];		/* {ref}, header X-Ipwarn-Ref */
	char fallback[256];	/* a fallback letter: the address that did
				   not work; "" otherwise */
	int attempts;		/* including this one */
	long long age_s;	/* since the letter was built */
	/* The message as stored when it was first handed to the relay
	 * (NULL before: then it is rendered now and stored before SMTP),
	 * and its envelope sender. */
	char *message;
	size_t message_len;
	char reverse_path[320];
};

/* Free the stored messages of l[0..n). */
void iw_db_letters_clear(struct iw_db_letter *l, int n);

/*
 * Where a worker's last claim ended in the queue's order (next_attempt_at,
 * id).  A claim from a set cursor looks only past it: the due index keeps
 * an entry for every letter sent until a vacuum removes it, and a claim
 * from the start steps over all of them.  Set by each claim that found
 * letters; clear it (set = 0) to look from the start.
 */
struct iw_db_cursor {
	int set;
	char due[64];		/* next_attempt_at, in PostgreSQL's text */
	char id[24];
};

int iw_db_claim_letters(struct iw_db *db, const char *owner,
    long long lease_s, int limit, struct iw_db_cursor *cur,
    struct iw_db_letter *out, int *n, struct iw_err *err);
/* Due letters without claiming them, ids > after (for --dry-run). */
int iw_db_peek_letters(struct iw_db *db, int64_t after, int limit,
    struct iw_db_letter *out, int *n, struct iw_err *err);

/* Letters of any state for `letters --render`: of one campaign
 * (campaign_id > 0) and state (NULL: any), ids > after, in id order. */
int iw_db_list_letters(struct iw_db *db, int64_t campaign_id,
    const char *state, int64_t after, int limit, struct iw_db_letter *out,
    int *n, struct iw_err *err);

struct iw_db_item {
	int64_t letter_id;
	char ip[48];
	char *evidence;		/* "" if none */
	char observed[40];	/* "" if none */
};

void iw_db_items_free(struct iw_db_item *items, size_t n);
/* The IPs of many letters in one query, ordered by letter id, then
 * address (a batch costs one round trip, not one per letter).  Free with
 * iw_db_items_free. */
int iw_db_letters_items(struct iw_db *db, const int64_t *ids, size_t nids,
    struct iw_db_item **items, size_t *n, struct iw_err *err);

enum iw_db_send_state {
	IW_DB_SENT,
	IW_DB_DEFERRED,
	IW_DB_FAILED,
	IW_DB_POSTPONED,	/* not tried (rate limit, shutdown): back to
				   the queue after retry_in_s, no attempt */
};

struct iw_db_send_result {
	int64_t letter_id;
	enum iw_db_send_state state;
	int code;
	const char *enhanced;
	const char *stage;
	const char *reply;
	const char *fail_reason;	/* when FAILED */
	long long retry_in_s;		/* when DEFERRED */
	int record_attempt;		/* 0: no SMTP was tried */
};

/*
 * Store the rendered messages of claimed letters before they go to the
 * relay, so that every attempt sends these bytes and the audit record holds
 * them (with their SHA-256).  Letters already rendered, or no longer held
 * by owner, are left alone; *stored counts the rest.
 */
struct iw_db_rendered {
	int64_t letter_id;
	const char *locale;		/* the template actually used */
	const char *message;		/* 7-bit MIME, CRLF */
	const char *reverse_path;
};
int iw_db_store_messages(struct iw_db *db, const char *owner,
    const struct iw_db_rendered *r, size_t n, int *stored,
    struct iw_err *err);

/* Record a batch of results in one transaction. */
int iw_db_record_results(struct iw_db *db, const char *owner,
    const char *relay, const struct iw_db_send_result *r, size_t n,
    struct iw_err *err);

/*
 * Repair (ipwarn retry): send IPs back to be resolved again, overrides
 * first.  IW_DB_RETRY_UNRESOLVED: those that found no contact.
 * IW_DB_RETRY_HELD: those held for a suppressed or bounced address that is
 * no longer suppressed, or whose contact an override now changes.  Of one
 * campaign (campaign_id > 0) and, when nips > 0, only those addresses.
 */
enum iw_db_retry_kind { IW_DB_RETRY_UNRESOLVED, IW_DB_RETRY_HELD };
int iw_db_retry(struct iw_db *db, enum iw_db_retry_kind kind,
    int64_t campaign_id, const char *const *ips, size_t nips, long *n,
    struct iw_err *err);

/* A row l (SQL: a target, or a queued or deferred letter) that no daemon
 * holds a lease on; a letter is "sending" while its lease runs
 * (sql/009_hot_claim.sql). */
#define IW_DB_UNLEASED(l) "(" l ".locked_until IS NULL OR " l \
	".locked_until < now())"

/* A letter's state as people see it (SQL, letter alias l): a queued or
 * deferred letter is 'sending' while a daemon's lease on it runs. */
#define IW_DB_LETTER_STATE(l) "CASE WHEN " l ".state IN ('queued', " \
	"'deferred') AND " l ".locked_until >= now() THEN 'sending' ELSE " \
	l ".state END"

/* Return the IPs of dead daemons (lease expired) to the queue; their
 * letters are due again by themselves. */
int iw_db_rescue(struct iw_db *db, long *targets,
    struct iw_err *err);
/* Return this daemon's claimed, unfinished work (clean shutdown). */
int iw_db_release(struct iw_db *db, const char *owner, struct iw_err *err);

/* Seconds until the next target or letter is due (0 = now); -1 if none. */
int iw_db_next_due(struct iw_db *db, long long *seconds, struct iw_err *err);
/* 1 if there is work due now for any stage. */
int iw_db_work_due(struct iw_db *db, int *due, struct iw_err *err);

/* --- wake-ups --- */
/* Tell every listening daemon there is new work (on commit). */
int iw_db_notify(struct iw_db *db, struct iw_err *err);
int iw_db_listen(struct iw_db *db, struct iw_err *err);
/* Wait up to timeout_ms for a notification, or for wake_fd (if >= 0) to
 * become readable (the daemon's signal self-pipe); 1 notified, 0 not. */
int iw_db_wait(struct iw_db *db, int timeout_ms, int wake_fd,
    struct iw_err *err);

/* --- status --- */
struct iw_db_status {
	long targets_new, targets_resolved, targets_unresolved;
	long targets_notified, targets_held, targets_control;
	long letters_queued, letters_sending, letters_deferred;
	long letters_sent, letters_failed, letters_bounced, letters_cancelled;
	long campaigns, suppressed, overrides;
};
/* Counts over every campaign, or over one (campaign_id > 0). */
int iw_db_status(struct iw_db *db, int64_t campaign_id,
    struct iw_db_status *st, struct iw_err *err);

/* --- operator lists --- */
typedef void (*iw_db_row_fn)(void *arg, int ncols, const char *const *cols);

int iw_db_override_set(struct iw_db *db, const char *cidr,
    const char *email, struct iw_err *err);
/* 1 deleted, 0 none matched. */
int iw_db_override_del(struct iw_db *db, const char *cidr, int *deleted,
    struct iw_err *err);
int iw_db_override_list(struct iw_db *db, iw_db_row_fn fn, void *arg,
    struct iw_err *err);

int iw_db_suppress_add(struct iw_db *db, const char *email,
    const char *reason, const char *source, struct iw_err *err);
int iw_db_suppress_del(struct iw_db *db, const char *email, int *deleted,
    struct iw_err *err);
int iw_db_suppress_list(struct iw_db *db, iw_db_row_fn fn, void *arg,
    struct iw_err *err);

#endif
