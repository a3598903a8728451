/*
 * campaign: lifecycle, settings and the send gate of campaigns.  See
 * campaign.h for the rules; every statement goes through db's helpers.
 */
#include "campaign.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* pg_advisory_lock(IW_GATE_CLASS, campaign id): the send gate. */
#define IW_GATE_CLASS "7412"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

void
iw_campaign_clear(struct iw_campaign *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nvars; i++) {
		free(c->var_keys[i]);
		free(c->var_values[i]);
	}
	free(c->var_keys);
	free(c->var_values);
	free(c->letters_dir);
	memset(c, 0, sizeof(*c));
}

static int
no_controls(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int
iw_campaign_name_ok(const char *name, struct iw_err *err)
{
	size_t n = strlen(name);

	if (n == 0 || n > IW_CAMPAIGN_NAME_MAX || !iw_utf8_valid(name, n) ||
	    !no_controls(name)) {
		iw_err_set(err, "a campaign name is 1 to %d bytes of UTF-8 "
		    "without control characters", IW_CAMPAIGN_NAME_MAX);
		return -1;
	}
	return 0;
}

int
iw_campaign_var_parse(const char *arg, char *key, size_t keysz,
    const char **value, struct iw_err *err)
{
	const char *eq = strchr(arg, '=');
	size_t klen = eq != NULL ? (size_t)(eq - arg) : 0;

	if (eq == NULL) {
		iw_err_set(err, "--var %s: expected KEY=VALUE", arg);
		return -1;
	}
	if (klen == 0 || klen > IW_CAMPAIGN_VAR_KEY_MAX || klen >= keysz ||
	    strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789_") != klen) {
		iw_err_set(err, "--var %.*s: KEY is 1 to %d of a-z, 0-9, _",
		    (int)(klen > 40 ? 40 : klen), arg, IW_CAMPAIGN_VAR_KEY_MAX);
		return -1;
	}
	if (strlen(eq + 1) > IW_CAMPAIGN_VAR_VALUE_MAX ||
	    !iw_utf8_valid(eq + 1, strlen(eq + 1)) || !no_controls(eq + 1)) {
		iw_err_set(err, "--var %.*s: VALUE is at most %d bytes of "
		    "UTF-8 without control characters", (int)klen, arg,
		    IW_CAMPAIGN_VAR_VALUE_MAX);
		return -1;
	}
	memcpy(key, arg, klen);
	key[klen] = '\0';
	*value = eq + 1;
	return 0;
}

int
iw_campaign_holdout_parse(const char *s, int *centi, struct iw_err *err)
{
	long whole = 0, frac = 0;
	int digits = 0, fd = 0;
	const char *p = s;

	while (*p >= '0' && *p <= '9' && digits < 3) {
		whole = whole * 10 + (*p++ - '0');
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9' && fd < 2) {
			frac = frac * 10 + (*p++ - '0');
			fd++;
		}
		if (fd == 0)
			digits = 0;
		if (fd == 1)
			frac *= 10;
	}
	if (*p == '%')
		p++;
	if (digits == 0 || *p != '\0' || whole * 100 + frac <= 0 ||
	    whole * 100 + frac >= 10000) {
		iw_err_set(err, "--holdout %s: want a percentage above 0 and "
		    "below 100, at most two decimals (e.g. 10 or 12.5)", s);
		return -1;
	}
	*centi = (int)(whole * 100 + frac);
	return 0;
}

int
iw_campaign_centi(const char *s)
{
	long whole = strtol(s, NULL, 10);
	const char *dot = strchr(s, '.');
	int frac = 0;

	if (dot != NULL && dot[1] >= '0' && dot[1] <= '9') {
		frac = (dot[1] - '0') * 10;
		if (dot[2] >= '0' && dot[2] <= '9')
			frac += dot[2] - '0';
	}
	return (int)(whole * 100 + frac);
}

/* --- reading --- */

#define CAMPAIGN_COLS "c.id, c.name, c.state, c.letters_dir, c.renotify, " \
	TS("c.created_at") ", " TS("c.state_at") ", c.holdout::text"

static int
load_vars(struct iw_db *db, struct iw_campaign *c, struct iw_err *err)
{
	char id[32];
	const char *p[1] = { id };
	PGresult *res;
	int i, n;

	snprintf(id, sizeof(id), "%" PRId64, c->id);
	res = iw_db_exec(db, "SELECT key, value FROM campaign, "
	    "jsonb_each_text(vars) WHERE id = $1 ORDER BY key", 1, p,
	    "campaign vars", err);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	if (n > 0) {
		c->var_keys = iw_calloc((size_t)n, sizeof(char *));
		c->var_values = iw_calloc((size_t)n, sizeof(char *));
		if (c->var_keys == NULL || c->var_values == NULL)
			goto oom;
	}
	for (i = 0; i < n; i++) {
		c->var_keys[i] = iw_strdup(PQgetvalue(res, i, 0));
		c->var_values[i] = iw_strdup(PQgetvalue(res, i, 1));
		c->nvars++;
		if (c->var_keys[i] == NULL || c->var_values[i] == NULL)
			goto oom;
	}
	PQclear(res);
	return 0;
oom:
	PQclear(res);
	iw_err_set(err, "out of memory");
	return -1;
}

static int
find_by(struct iw_db *db, const char *sql, const char *param,
    struct iw_campaign *out, struct iw_err *err)
{
	const char *p[1] = { param };
	PGresult *res;

	memset(out, 0, sizeof(*out));
	res = iw_db_exec(db, sql, 1, p, "campaign", err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	iw_strlcpy(out->name, PQgetvalue(res, 0, 1), sizeof(out->name));
	iw_strlcpy(out->state, PQgetvalue(res, 0, 2), sizeof(out->state));
	if (!PQgetisnull(res, 0, 3) &&
	    (out->letters_dir = iw_strdup(PQgetvalue(res, 0, 3))) == NULL) {
		PQclear(res);
		iw_err_set(err, "out of memory");
		return -1;
	}
	out->renotify = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	iw_strlcpy(out->created_at, PQgetvalue(res, 0, 5),
	    sizeof(out->created_at));
	iw_strlcpy(out->state_at, PQgetvalue(res, 0, 6),
	    sizeof(out->state_at));
	out->holdout_centi = iw_campaign_centi(PQgetvalue(res, 0, 7));
	PQclear(res);
	if (load_vars(db, out, err) < 0) {
		iw_campaign_clear(out);
		return -1;
	}
	return 1;
}

int
iw_campaign_find(struct iw_db *db, const char *name,
    struct iw_campaign *out, struct iw_err *err)
{
	return find_by(db, "SELECT " CAMPAIGN_COLS " FROM campaign c "
	    "WHERE c.name = $1", name, out, err);
}

int
iw_campaign_find_id(struct iw_db *db, int64_t id, struct iw_campaign *out,
    struct iw_err *err)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, id);
	return find_by(db, "SELECT " CAMPAIGN_COLS " FROM campaign c "
	    "WHERE c.id = $1", num, out, err);
}

/* --- creating --- */

/* vars as a JSON object (keys are [a-z0-9_], values need escaping). */
static int
vars_json(const struct iw_campaign_new *n, struct iw_buf *out)
{
	size_t i;

	if (iw_buf_putc(out, '{') < 0)
		return -1;
	for (i = 0; i < n->nvars; i++)
		if (iw_buf_printf(out, "%s\"%s\": ", i > 0 ? ", " : "",
		    n->var_keys[i]) < 0 ||
		    iw_json_str(out, n->var_values[i]) < 0)
			return -1;
	return iw_buf_putc(out, '}');
}

static int
record_event(struct iw_db *db, const char *id, const char *action,
    const char *actor, const char *detail, struct iw_err *err)
{
	const char *p[4] = { id, action, actor, detail };

	return iw_db_cmd(db, "INSERT INTO campaign_event (campaign_id, "
	    "action, actor, detail) VALUES ($1, $2, $3, $4)", 4, p,
	    "campaign event", err);
}

int
iw_campaign_create(struct iw_db *db, const struct iw_campaign_new *n,
    int *exists, struct iw_err *err)
{
	struct iw_buf vars = IW_BUF_INIT;
	const char *p[5];
	char id[32], holdout[16];
	PGresult *res;

	*exists = 0;
	snprintf(holdout, sizeof(holdout), "%d.%02d", n->holdout_centi / 100,
	    n->holdout_centi % 100);
	if (vars_json(n, &vars) < 0) {
		iw_buf_free(&vars);
		iw_err_set(err, "out of memory");
		return -1;
	}
	p[0] = n->name;
	p[1] = n->letters_dir;
	p[2] = vars.data;
	p[3] = n->renotify ? "t" : "f";
	p[4] = holdout;
	if (iw_db_begin(db, err) < 0)
		goto fail;
	res = iw_db_exec(db, "INSERT INTO campaign (name, letters_dir, vars, "
	    "renotify, holdout, state) VALUES ($1, $2, $3::jsonb, $4, $5, "
	    "'draft') ON CONFLICT (name) DO NOTHING RETURNING id", 5, p,
	    "campaign create", err);
	if (res == NULL)
		goto fail_tx;
	if (PQntuples(res) != 1) {
		PQclear(res);
		*exists = 1;
		iw_err_set(err, "campaign %s exists already", n->name);
		goto fail_tx;
	}
	iw_strlcpy(id, PQgetvalue(res, 0, 0), sizeof(id));
	PQclear(res);
	if (record_event(db, id, "create", n->actor, NULL, err) < 0 ||
	    iw_db_commit(db, err) < 0)
		goto fail_tx;
	iw_buf_free(&vars);
	return 0;
fail_tx:
	iw_db_rollback(db);
fail:
	iw_buf_free(&vars);
	return -1;
}

int
iw_campaign_ensure_default(struct iw_db *db, const char *actor,
    struct iw_err *err)
{
	struct iw_campaign_new n;
	struct iw_campaign c;
	int exists, r;

	r = iw_campaign_find(db, IW_CAMPAIGN_DEFAULT, &c, err);
	iw_campaign_clear(&c);
	if (r != 0)
		return r < 0 ? -1 : 0;
	memset(&n, 0, sizeof(n));
	n.name = IW_CAMPAIGN_DEFAULT;
	n.actor = actor;
	if (iw_campaign_create(db, &n, &exists, err) < 0 && !exists)
		return -1;
	return 0;
}

/* --- changing state --- */

struct transition {
	const char *verb;
	const char *to;
	const char *from[3];		/* states it may start from */
};

static const struct transition transitions[] = {
	[IW_CAMPAIGN_APPROVE] = { "approve", "approved",
	    { "draft", "paused", NULL } },
	[IW_CAMPAIGN_PAUSE] = { "pause", "paused", { "approved", NULL } },
	[IW_CAMPAIGN_RESUME] = { "resume", "approved", { "paused", NULL } },
	[IW_CAMPAIGN_CANCEL] = { "cancel", "cancelled",
	    { "draft", "approved", "paused" } },
};

static int
may_start_from(const struct transition *t, const char *state)
{
	size_t i;

	for (i = 0; i < 3 && t->from[i] != NULL; i++)
		if (strcmp(t->from[i], state) == 0)
			return 1;
	return 0;
}

/* Wait until no sender is inside the gate for campaign id. */
static int
drain_gate(struct iw_db *db, const char *id, struct iw_err *err)
{
	const char *p[1] = { id };

	if (iw_db_cmd(db, "SELECT pg_advisory_lock(" IW_GATE_CLASS ", "
	    "($1::bigint % 2147483647)::int)", 1, p, "campaign gate", err) < 0)
		return -1;
	return iw_db_cmd(db, "SELECT pg_advisory_unlock(" IW_GATE_CLASS ", "
	    "($1::bigint % 2147483647)::int)", 1, p, "campaign gate", err);
}

static int
cancel_letters(struct iw_db *db, const char *id, long *n, struct iw_err *err)
{
	const char *p[1] = { id };
	PGresult *res;

	res = iw_db_exec(db, "UPDATE letter SET state = 'cancelled', "
	    "locked_by = NULL, locked_until = NULL, fail_reason = "
	    "'campaign cancelled' WHERE campaign_id = $1 AND state IN "
	    "('queued', 'deferred')", 1, p, "cancel letters", err);
	if (res == NULL)
		return -1;
	*n = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

static int
set_state(struct iw_db *db, const struct iw_campaign *c,
    const struct transition *t, const char *actor, int *moved,
    struct iw_err *err)
{
	char id[32];
	const char *p[3] = { id, t->to, c->state };
	PGresult *res;

	snprintf(id, sizeof(id), "%" PRId64, c->id);
	if (iw_db_begin(db, err) < 0)
		return -1;
	/* Only from the state we read: a concurrent change wins, and this
	 * one is refused rather than applied to a state it was not for. */
	res = iw_db_exec(db, "UPDATE campaign SET state = $2, state_at = "
	    "now() WHERE id = $1 AND state = $3", 3, p, "campaign state",
	    err);
	if (res == NULL)
		goto fail;
	*moved = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (*moved && record_event(db, id, t->verb, actor, c->state,
	    err) < 0)
		goto fail;
	/* Approved again: sleeping daemons look at its letters now. */
	if (*moved && strcmp(t->to, "approved") == 0 &&
	    iw_db_notify(db, err) < 0)
		goto fail;
	return iw_db_commit(db, err);
fail:
	iw_db_rollback(db);
	return -1;
}

int
iw_campaign_act(struct iw_db *db, const char *name,
    enum iw_campaign_action action, const char *actor,
    enum iw_campaign_outcome *outcome, long *cancelled, struct iw_err *err)
{
	const struct transition *t = &transitions[action];
	struct iw_campaign c;
	char id[32];
	int r, moved = 0;

	*cancelled = 0;
	r = iw_campaign_find(db, name, &c, err);
	if (r <= 0) {
		if (r == 0) {
			*outcome = IW_CAMPAIGN_UNKNOWN;
			iw_err_set(err, "no campaign %s", name);
		}
		return r < 0 ? -1 : 0;
	}
	snprintf(id, sizeof(id), "%" PRId64, c.id);
	if (strcmp(c.state, t->to) == 0)
		*outcome = IW_CAMPAIGN_ALREADY;
	else if (!may_start_from(t, c.state)) {
		*outcome = IW_CAMPAIGN_REFUSED;
		iw_err_set(err, "campaign %s is %s; it cannot be %s%s", name,
		    c.state, action == IW_CAMPAIGN_APPROVE ? "approved" :
		    action == IW_CAMPAIGN_PAUSE ? "paused" : "resumed",
		    strcmp(c.state, "draft") == 0 ? " (approve it first)" : "");
	} else if (set_state(db, &c, t, actor, &moved, err) < 0)
		r = -1;
	else if (!moved) {
		*outcome = IW_CAMPAIGN_REFUSED;
		iw_err_set(err, "campaign %s changed state meanwhile; look "
		    "again with 'ipwarn campaign show %s'", name, name);
	} else
		*outcome = IW_CAMPAIGN_CHANGED;
	/* Pause and cancel: wait out the senders that passed the gate
	 * before the change (also when it was paused already: a repeated
	 * pause must give the same promise). */
	if (r > 0 && (action == IW_CAMPAIGN_PAUSE ||
	    action == IW_CAMPAIGN_CANCEL) && *outcome != IW_CAMPAIGN_REFUSED &&
	    (drain_gate(db, id, err) < 0 || (action == IW_CAMPAIGN_CANCEL &&
	    cancel_letters(db, id, cancelled, err) < 0)))
		r = -1;
	iw_campaign_clear(&c);
	return r < 0 ? -1 : 0;
}

/* --- listing --- */

long
iw_campaign_list(struct iw_db *db, iw_db_named_row_fn fn, void *arg,
    struct iw_err *err)
{
	return iw_db_each(db, "SELECT c.name, c.state, "
	    TS("c.created_at") " AS created, "
	    "(SELECT count(*) FROM target t WHERE t.campaign_id = c.id) "
	    "AS ips, (SELECT count(*) FROM letter l WHERE l.campaign_id = "
	    "c.id) AS letters, (SELECT count(*) FROM letter l WHERE "
	    "l.campaign_id = c.id AND l.state IN ('sent', 'bounced')) AS sent, "
	    "c.holdout, (SELECT count(*) FROM target t WHERE t.campaign_id = "
	    "c.id AND t.state = 'control') AS control "
	    "FROM campaign c ORDER BY c.id", 0, NULL, fn, arg,
	    "campaign list", err);
}

long
iw_campaign_events(struct iw_db *db, int64_t id, iw_db_named_row_fn fn,
    void *arg, struct iw_err *err)
{
	char num[32];
	const char *p[1] = { num };

	snprintf(num, sizeof(num), "%" PRId64, id);
	return iw_db_each(db, "SELECT " TS("at") " AS at, action, actor, "
	    "coalesce(detail, '') AS \"from\" FROM campaign_event WHERE "
	    "campaign_id = $1 ORDER BY at, id", 1, p, fn, arg,
	    "campaign events", err);
}

/* --- the send gate --- */

static int
id_array(const int64_t *ids, size_t n, struct iw_buf *out)
{
	size_t i;

	if (iw_buf_putc(out, '{') < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (iw_buf_printf(out, "%s%" PRId64, i > 0 ? "," : "",
		    ids[i]) < 0)
			return -1;
	return iw_buf_putc(out, '}');
}

int
iw_campaign_gate_enter(struct iw_db *db, const int64_t *ids, size_t n,
    int *approved, struct iw_err *err)
{
	struct iw_buf arr = IW_BUF_INIT;
	const char *p[1];
	PGresult *res = NULL;
	size_t i;
	int k, rc = -1;

	if (id_array(ids, n, &arr) < 0) {
		iw_err_set(err, "out of memory");
		goto out;
	}
	p[0] = arr.data;
	/* In id order, so that senders never wait for each other in a
	 * cycle through a waiting pause. */
	res = iw_db_exec_ps(db, IW_DB_PS_GATE_LOCK, "SELECT "
	    "pg_advisory_lock_shared(" IW_GATE_CLASS ", (x % 2147483647)::int) "
	    "FROM (SELECT DISTINCT x FROM unnest($1::bigint[]) x ORDER BY x) "
	    "s", 1, p, "send gate", err);
	if (res == NULL)
		goto out;
	PQclear(res);
	/* A statement of its own: its snapshot is taken after the locks. */
	res = iw_db_exec_ps(db, IW_DB_PS_GATE_CHECK, "SELECT id FROM "
	    "campaign WHERE id = ANY ($1::bigint[]) AND state = 'approved'",
	    1, p, "send gate", err);
	if (res == NULL) {
		(void)iw_campaign_gate_leave(db, ids, n, err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		approved[i] = 0;
		for (k = 0; k < PQntuples(res); k++)
			if (strtoll(PQgetvalue(res, k, 0), NULL, 10) == ids[i])
				approved[i] = 1;
	}
	rc = 0;
out:
	PQclear(res);
	iw_buf_free(&arr);
	return rc;
}

int
iw_campaign_gate_leave(struct iw_db *db, const int64_t *ids, size_t n,
    struct iw_err *err)
{
	struct iw_buf arr = IW_BUF_INIT;
	const char *p[1];
	PGresult *res;
	int ok;

	if (id_array(ids, n, &arr) < 0) {
		iw_buf_free(&arr);
		iw_err_set(err, "out of memory");
		return -1;
	}
	p[0] = arr.data;
	res = iw_db_exec_ps(db, IW_DB_PS_GATE_UNLOCK, "SELECT "
	    "pg_advisory_unlock_shared(" IW_GATE_CLASS ", (x % 2147483647)::"
	    "int) FROM (SELECT DISTINCT x FROM unnest($1::bigint[]) x) s", 1, p,
	    "send gate", err);
	iw_buf_free(&arr);
	ok = res != NULL;
	PQclear(res);
	return ok ? 0 : -1;
}
