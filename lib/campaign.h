/*
 * campaign: the unit an operator reviews, approves, watches and reports on.
 * A campaign is created as a draft (its IPs are resolved, its letters built
 * and may be rendered for review, nothing is sent), approved, paused and
 * resumed, or cancelled for good; each change is recorded with who made it.
 * The send gate is here too: a sender takes a campaign's shared "sending"
 * lock before it checks that the campaign is approved and keeps it until
 * its SMTP transactions are over, and pause/cancel take the same lock
 * exclusively after the state change, so once they return no letter of the
 * campaign reaches the relay.
 */
#ifndef IW_CAMPAIGN_H
#define IW_CAMPAIGN_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "util.h"

#define IW_CAMPAIGN_NAME_MAX 100
#define IW_CAMPAIGN_VAR_KEY_MAX 32
#define IW_CAMPAIGN_VAR_VALUE_MAX 200
#define IW_CAMPAIGN_DEFAULT "default"

struct iw_campaign {
	int64_t id;
	char name[IW_CAMPAIGN_NAME_MAX + 1];
	char state[16];			/* draft approved paused cancelled */
	char *letters_dir;		/* NULL: letters.directory only */
	char **var_keys;		/* {var.KEY} */
	char **var_values;
	size_t nvars;
	int renotify;
	int holdout_centi;		/* control group, 1/100 % (0: none) */
	char created_at[32];		/* ISO 8601, UTC */
	char state_at[32];
};

/* Release what iw_campaign_find filled; the struct may be reused. */
void iw_campaign_clear(struct iw_campaign *c);

/* 0 if name can name a campaign (1-100 bytes of UTF-8, no controls). */
int iw_campaign_name_ok(const char *name, struct iw_err *err);

/* Split "KEY=VALUE" (KEY: [a-z0-9_]{1,32}; VALUE: UTF-8, no controls, at
 * most 200 bytes) into key (keysz >= 33) and *value (points into arg). */
int iw_campaign_var_parse(const char *arg, char *key, size_t keysz,
    const char **value, struct iw_err *err);

/* --holdout PERCENT: above 0, below 100, at most two decimals, an
 * optional '%'; *centi in hundredths of a percent.  0 or -1 with err. */
int iw_campaign_holdout_parse(const char *s, int *centi,
    struct iw_err *err);
/* PostgreSQL's text of a numeric(5,2) percentage in hundredths. */
int iw_campaign_centi(const char *s);

/* 1 found (out filled), 0 no such campaign, -1 database error. */
int iw_campaign_find(struct iw_db *db, const char *name,
    struct iw_campaign *out, struct iw_err *err);
int iw_campaign_find_id(struct iw_db *db, int64_t id,
    struct iw_campaign *out, struct iw_err *err);

struct iw_campaign_new {
	const char *name;
	const char *letters_dir;	/* absolute, or NULL */
	const char *const *var_keys;
	const char *const *var_values;
	size_t nvars;
	int renotify;
	int holdout_centi;		/* --holdout, in 1/100 % */
	const char *actor;		/* who: the operator's login */
};

/* Create a draft; *exists = 1 (and -1) when the name is taken. */
int iw_campaign_create(struct iw_db *db, const struct iw_campaign_new *n,
    int *exists, struct iw_err *err);

/* The 'default' campaign (enqueue without --campaign), created as a
 * draft on first use. */
int iw_campaign_ensure_default(struct iw_db *db, const char *actor,
    struct iw_err *err);

enum iw_campaign_action {
	IW_CAMPAIGN_APPROVE,
	IW_CAMPAIGN_PAUSE,
	IW_CAMPAIGN_RESUME,
	IW_CAMPAIGN_CANCEL,
};

enum iw_campaign_outcome {
	IW_CAMPAIGN_CHANGED,		/* moved to the new state */
	IW_CAMPAIGN_ALREADY,		/* was there already; nothing done */
	IW_CAMPAIGN_REFUSED,		/* not from this state (err says) */
	IW_CAMPAIGN_UNKNOWN,		/* no such campaign (err says) */
};

/*
 * Apply action to the campaign name.  Pause and cancel return only when no
 * sender is inside the send gate for it any more (see the file comment);
 * cancel then marks its queued and deferred letters 'cancelled'
 * (*cancelled counts them).  -1 on a database error.
 */
int iw_campaign_act(struct iw_db *db, const char *name,
    enum iw_campaign_action action, const char *actor,
    enum iw_campaign_outcome *outcome, long *cancelled, struct iw_err *err);

/* Every campaign, one row each (name, state, counts). */
long iw_campaign_list(struct iw_db *db, iw_db_named_row_fn fn, void *arg,
    struct iw_err *err);
/* The campaign's recorded changes: at, action, actor, detail. */
long iw_campaign_events(struct iw_db *db, int64_t id,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err);

/*
 * The send gate.  enter: take the shared sending lock of each campaign in
 * ids (any order, repeats allowed), then set approved[i] to whether ids[i]
 * is approved now.  leave: release them.  Between the two, the caller hands
 * letters of approved campaigns to the relay.
 */
int iw_campaign_gate_enter(struct iw_db *db, const int64_t *ids, size_t n,
    int *approved, struct iw_err *err);
int iw_campaign_gate_leave(struct iw_db *db, const int64_t *ids, size_t n,
    struct iw_err *err);

#endif
