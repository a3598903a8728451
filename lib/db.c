/*
 * db: the PostgreSQL side of ipwarn — migrations, bulk enqueue through COPY,
 * leases on work claimed with FOR UPDATE SKIP LOCKED (so any number of
 * daemons can share one queue), grouping resolved IPs into letters, recording
 * SMTP results, status counts and the operator's lists.  Every statement is
 * parameterised; values from outside never become SQL text.
 */
#include "db.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "fallback.h"
#include "outcome.h"
#include "sql_embed.h"

#define IW_DB_CHANNEL "ipwarn_work"

/* Campaign states as the stages see them: only an approved campaign's
 * letters are sent; a cancelled one is neither resolved nor built. */
#define SQL_APPROVED "SELECT id FROM campaign WHERE state = 'approved'"
#define SQL_CANCELLED "SELECT id FROM campaign WHERE state = 'cancelled'"
/* Where an unfinished letter l goes back to: nowhere if its campaign was
 * cancelled meanwhile, else 'deferred' once tried, 'queued' before. */
#define SQL_REQUEUE(l) "CASE WHEN " l ".campaign_id IN (" SQL_CANCELLED \
	") THEN 'cancelled' WHEN EXISTS (SELECT 1 FROM attempt x WHERE " \
	"x.letter_id = " l ".id) THEN 'deferred' ELSE 'queued' END"
#define IW_DB_ANALYZE_AFTER 1000	/* IPs grouped in one build */

/* The send path's statements, prepared once per connection (planning
 * them at every batch was about a tenth of PostgreSQL's CPU while
 * sending in make bench). */
enum { PS_CLAIM, PS_CLAIM_AFTER, PS_ITEMS, PS_RECORD, PS_MESSAGES,
	PS_OWN_END };
/* The slots of other modules (enum iw_db_ps) follow ours. */
_Static_assert((int)PS_OWN_END <= (int)IW_DB_PS_GATE_LOCK &&
    (int)IW_DB_PS_GATE_UNLOCK < 32, "prepared statement slots overlap");

struct iw_db {
	PGconn *conn;
	unsigned prepared;	/* PS_* bits */
	int no_prepare;		/* a pooler lost them: plain queries only */
};

struct iw_db_enqueue {
	struct iw_db *db;
	int64_t campaign_id;
	long rows;
	struct iw_buf chunk;	/* COPY data not yet sent */
};

/* --- plumbing --- */

static void
db_error(struct iw_db *db, const PGresult *res, struct iw_err *err,
    const char *what)
{
	const char *m = res != NULL ? PQresultErrorMessage(res) : "";
	char one[IW_ERR_MAX];
	size_t i;

	if (m == NULL || *m == '\0')
		m = PQerrorMessage(db->conn);
	iw_strlcpy(one, m != NULL ? m : "unknown error", sizeof(one));
	/* libpq messages end in a newline and may have DETAIL lines. */
	for (i = 0; one[i] != '\0'; i++)
		if (one[i] == '\n') {
			one[i] = '\0';
			break;
		}
	iw_err_set(err, "database: %s: %s", what, one);
}

static int
res_ok(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static PGresult *
db_exec(struct iw_db *db, const char *sql, int n, const char *const *params,
    const char *what, struct iw_err *err)
{
	PGresult *res;

	res = PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (res_ok(res))
		return res;
	db_error(db, res, err, what);
	PQclear(res);
	return NULL;
}

/*
 * db_exec for one of the PS_* statements: prepared on first use on this
 * connection, then only executed.  A connection pooler that does not keep
 * prepared statements (pgbouncer in transaction mode) makes them vanish:
 * then this connection goes back to plain queries, and nothing fails.
 */
static PGresult *
db_exec_ps(struct iw_db *db, int ps, const char *sql, int n,
    const char *const *params, const char *what, struct iw_err *err)
{
	char name[16];
	PGresult *res;
	const char *state;

	if (db->no_prepare)
		return db_exec(db, sql, n, params, what, err);
	snprintf(name, sizeof(name), "iw_ps_%d", ps);
	if (!(db->prepared & (1u << ps))) {
		res = PQprepare(db->conn, name, sql, n, NULL);
		if (!res_ok(res)) {
			db_error(db, res, err, what);
			PQclear(res);
			return NULL;
		}
		PQclear(res);
		db->prepared |= 1u << ps;
	}
	res = PQexecPrepared(db->conn, name, n, params, NULL, NULL, 0);
	if (res_ok(res))
		return res;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state != NULL && strcmp(state, "26000") == 0) {
		PQclear(res);
		db->no_prepare = 1;
		return db_exec(db, sql, n, params, what, err);
	}
	db_error(db, res, err, what);
	PQclear(res);
	return NULL;
}

static int
db_cmd(struct iw_db *db, const char *sql, int n, const char *const *params,
    const char *what, struct iw_err *err)
{
	PGresult *res = db_exec(db, sql, n, params, what, err);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

static void
db_rollback(struct iw_db *db)
{
	PQclear(PQexec(db->conn, "ROLLBACK"));
}

struct pg_result *
iw_db_exec(struct iw_db *db, const char *sql, int n,
    const char *const *params, const char *what, struct iw_err *err)
{
	return db_exec(db, sql, n, params, what, err);
}

int
iw_db_cmd(struct iw_db *db, const char *sql, int n,
    const char *const *params, const char *what, struct iw_err *err)
{
	return db_cmd(db, sql, n, params, what, err);
}

struct pg_result *
iw_db_exec_ps(struct iw_db *db, enum iw_db_ps ps, const char *sql, int n,
    const char *const *params, const char *what, struct iw_err *err)
{
	return db_exec_ps(db, (int)ps, sql, n, params, what, err);
}

#define IW_DB_MAX_COLS 64

/* PostgreSQL's built-in type oids (pg_type.dat): how a value is shown. */
static char
column_kind(Oid type)
{
	switch (type) {
	case 16:			/* bool */
		return 'b';
	case 20: case 21: case 23:	/* int8, int2, int4 */
	case 700: case 701: case 1700:	/* float4, float8, numeric */
		return 'n';
	case 114: case 3802:		/* json, jsonb */
		return 'j';
	default:
		return 's';
	}
}

long
iw_db_each(struct iw_db *db, const char *sql, int n,
    const char *const *params, iw_db_named_row_fn fn, void *arg,
    const char *what, struct iw_err *err)
{
	const char *names[IW_DB_MAX_COLS], *vals[IW_DB_MAX_COLS];
	char kind[IW_DB_MAX_COLS + 1], rowkind[IW_DB_MAX_COLS + 1];
	struct iw_db_row row = { 0, names, vals, rowkind };
	PGresult *res;
	int i, j, nc, rows;

	res = db_exec(db, sql, n, params, what, err);
	if (res == NULL)
		return -1;
	nc = PQnfields(res);
	if (nc > IW_DB_MAX_COLS)
		nc = IW_DB_MAX_COLS;
	for (j = 0; j < nc; j++) {
		names[j] = PQfname(res, j);
		kind[j] = column_kind(PQftype(res, j));
	}
	row.ncols = nc;
	/* The header first (values NULL), so an empty result still has its
	 * column names (a CSV header). */
	memcpy(rowkind, kind, (size_t)nc);
	rowkind[nc] = '\0';
	row.values = NULL;
	fn(arg, &row);
	row.values = vals;
	rows = PQntuples(res);
	for (i = 0; i < rows; i++) {
		for (j = 0; j < nc; j++) {
			int null = PQgetisnull(res, i, j);

			vals[j] = null ? "" : PQgetvalue(res, i, j);
			rowkind[j] = null ? '-' : kind[j];
		}
		rowkind[nc] = '\0';
		fn(arg, &row);
	}
	PQclear(res);
	return rows;
}

int
iw_db_begin(struct iw_db *db, struct iw_err *err)
{
	return db_cmd(db, "BEGIN", 0, NULL, "begin", err);
}

int
iw_db_commit(struct iw_db *db, struct iw_err *err)
{
	return db_cmd(db, "COMMIT", 0, NULL, "commit", err);
}

void
iw_db_rollback(struct iw_db *db)
{
	db_rollback(db);
}

static long
cmd_tuples(PGresult *res)
{
	const char *s = PQcmdTuples(res);

	return s != NULL && *s != '\0' ? strtol(s, NULL, 10) : 0;
}

long long
iw_db_get_ll(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

void
iw_db_get_str(PGresult *res, int row, int col, char *out, size_t outsz)
{
	iw_strlcpy(out, PQgetisnull(res, row, col) ? "" :
	    PQgetvalue(res, row, col), outsz);
}

int
iw_db_serial(struct iw_db *db, struct iw_err *err)
{
	return db_cmd(db, "SET max_parallel_workers_per_gather = 0", 0, NULL,
	    "serial reads", err);
}

int
iw_db_connect(const char *conninfo, struct iw_db **out, struct iw_err *err)
{
	struct iw_db *db;

	*out = NULL;
	db = iw_calloc(1, sizeof(*db));
	if (db == NULL) {
		iw_err_set(err, "out of memory");
		return -1;
	}
	db->conn = PQconnectdb(conninfo);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db_error(db, NULL, err, "connect");
		iw_db_close(db);
		return -1;
	}
	/* Quiet NOTICEs ("relation exists, skipping") on stderr. */
	PQclear(PQexec(db->conn, "SET client_min_messages = warning"));
	*out = db;
	return 0;
}

void
iw_db_close(struct iw_db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db);
}

struct pg_conn *
iw_db_pgconn(struct iw_db *db)
{
	return db->conn;
}

int
iw_db_broken(const struct iw_db *db)
{
	return db == NULL || PQstatus(db->conn) != CONNECTION_OK;
}

/* --- migrations --- */

static const char SQL_VERSION_TABLE[] =
    "CREATE TABLE IF NOT EXISTS ipwarn_schema ("
    " version integer PRIMARY KEY, name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

static int
schema_version(struct iw_db *db, int *version, struct iw_err *err)
{
	PGresult *res;

	res = db_exec(db, "SELECT coalesce(max(version), 0) FROM ipwarn_schema",
	    0, NULL, "schema version", err);
	if (res == NULL)
		return -1;
	*version = (int)iw_db_get_ll(res, 0, 0);
	PQclear(res);
	return 0;
}

int
iw_db_migrate(struct iw_db *db, int *from, int *to, struct iw_err *err)
{
	char ver[16];
	const char *p[2];
	int cur, i;

	/* One migrating process at a time; others wait and find it done. */
	if (db_cmd(db, "BEGIN", 0, NULL, "begin", err) < 0 ||
	    db_cmd(db, "SELECT pg_advisory_xact_lock(7411, 1)", 0, NULL,
	    "lock", err) < 0 ||
	    db_cmd(db, SQL_VERSION_TABLE, 0, NULL, "create ipwarn_schema",
	    err) < 0 || schema_version(db, &cur, err) < 0)
		goto fail;
	*from = cur;
	for (i = 0; i < iw_sql_nmigrations; i++) {
		const struct iw_sql_migration *m = &iw_sql_migrations[i];
		PGresult *res;

		if (m->version <= cur)
			continue;
		/* Simple-query protocol: a migration holds many statements. */
		res = PQexec(db->conn, m->sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK) {
			db_error(db, res, err, m->name);
			PQclear(res);
			goto fail;
		}
		PQclear(res);
		snprintf(ver, sizeof(ver), "%d", m->version);
		p[0] = ver;
		p[1] = m->name;
		if (db_cmd(db, "INSERT INTO ipwarn_schema (version, name) "
		    "VALUES ($1, $2)", 2, p, "record migration", err) < 0)
			goto fail;
		cur = m->version;
	}
	if (db_cmd(db, "COMMIT", 0, NULL, "commit", err) < 0)
		return -1;
	*to = cur;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

int
iw_db_schema_check(struct iw_db *db, struct iw_err *err)
{
	PGresult *res;
	int want, have;

	want = iw_sql_nmigrations > 0 ?
	    iw_sql_migrations[iw_sql_nmigrations - 1].version : 0;
	res = db_exec(db, "SELECT to_regclass('ipwarn_schema') IS NOT NULL",
	    0, NULL, "schema check", err);
	if (res == NULL)
		return -1;
	have = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!have) {
		iw_err_set(err, "database has no ipwarn schema; run "
		    "'ipwarn db init'");
		return -1;
	}
	if (schema_version(db, &have, err) < 0)
		return -1;
	if (have < want) {
		iw_err_set(err, "database schema is version %d, this build "
		    "needs %d; run 'ipwarn db init'", have, want);
		return -1;
	}
	if (have > want) {
		iw_err_set(err, "database schema is version %d, newer than "
		    "this build (%d); upgrade ipwarn", have, want);
		return -1;
	}
	return 0;
}

/* --- enqueue --- */

#define ENQ_CHUNK (256 * 1024)

/* The campaign enqueue writes into: it must exist (a typo must never
 * start a second mailing) and not be cancelled. */
static int
campaign_id(struct iw_db *db, const char *name, int64_t *id, int *refused,
    struct iw_err *err)
{
	const char *p[1] = { name };
	PGresult *res;

	res = db_exec(db, "SELECT id, state FROM campaign WHERE name = $1 "
	    "FOR SHARE", 1, p, "campaign", err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		iw_err_set(err, "no campaign %s; create it with: ipwarn "
		    "campaign create %s", name, name);
	else if (strcmp(PQgetvalue(res, 0, 1), "cancelled") == 0)
		iw_err_set(err, "campaign %s is cancelled; nothing more can "
		    "be added to it", name);
	else {
		*id = iw_db_get_ll(res, 0, 0);
		PQclear(res);
		return 0;
	}
	PQclear(res);
	*refused = 1;
	return -1;
}

int
iw_db_enqueue_begin(struct iw_db *db, const char *campaign,
    struct iw_db_enqueue **out, int *refused, struct iw_err *err)
{
	struct iw_db_enqueue *e;
	PGresult *res;

	*out = NULL;
	*refused = 0;
	e = iw_calloc(1, sizeof(*e));
	if (e == NULL) {
		iw_err_set(err, "out of memory");
		return -1;
	}
	e->db = db;
	if (db_cmd(db, "BEGIN", 0, NULL, "begin", err) < 0)
		goto fail;
	if (campaign_id(db, campaign, &e->campaign_id, refused, err) < 0 ||
	    db_cmd(db, "CREATE TEMP TABLE ipwarn_enq (line bigint, ip inet, "
	    "evidence text, observed timestamptz) ON COMMIT DROP", 0, NULL,
	    "temp table", err) < 0)
		goto fail_tx;
	res = PQexec(db->conn, "COPY ipwarn_enq FROM STDIN");
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		db_error(db, res, err, "copy");
		PQclear(res);
		goto fail_tx;
	}
	PQclear(res);
	*out = e;
	return 0;
fail_tx:
	db_rollback(db);
fail:
	free(e);
	return -1;
}

/* COPY text format: backslash, tab, CR and LF must be escaped; runs of
 * other bytes are copied whole (a stored message is kilobytes of them). */
static int
copy_field(struct iw_buf *b, const char *s)
{
	while (*s != '\0') {
		size_t run = strcspn(s, "\\\t\n\r");
		int r = 0;

		if (iw_buf_append(b, s, run) < 0)
			return -1;
		s += run;
		switch (*s) {
		case '\0': break;
		case '\\': r = iw_buf_puts(b, "\\\\"); break;
		case '\t': r = iw_buf_puts(b, "\\t"); break;
		case '\n': r = iw_buf_puts(b, "\\n"); break;
		default: r = iw_buf_puts(b, "\\r"); break;
		}
		if (r < 0)
			return -1;
		if (*s != '\0')
			s++;
	}
	return 0;
}

static int
enq_flush(struct iw_db_enqueue *e, struct iw_err *err)
{
	if (e->chunk.len == 0)
		return 0;
	if (PQputCopyData(e->db->conn, e->chunk.data,
	    (int)e->chunk.len) != 1) {
		db_error(e->db, NULL, err, "copy data");
		return -1;
	}
	iw_buf_reset(&e->chunk);
	return 0;
}

int
iw_db_enqueue_add(struct iw_db_enqueue *e, const struct iw_input_rec *r,
    long line, struct iw_err *err)
{
	struct iw_buf *b = &e->chunk;

	if (iw_buf_printf(b, "%ld\t%s\t", line, r->ip) < 0 ||
	    (r->evidence[0] != '\0' ? copy_field(b, r->evidence) :
	    iw_buf_puts(b, "\\N")) < 0 || iw_buf_putc(b, '\t') < 0 ||
	    (r->observed[0] != '\0' ? copy_field(b, r->observed) :
	    iw_buf_puts(b, "\\N")) < 0 || iw_buf_putc(b, '\n') < 0) {
		iw_err_set(err, "out of memory");
		return -1;
	}
	e->rows++;
	return b->len >= ENQ_CHUNK ? enq_flush(e, err) : 0;
}

int
iw_db_enqueue_commit(struct iw_db_enqueue *e, long *inserted,
    long *duplicate, struct iw_err *err)
{
	struct iw_db *db = e->db;
	char cid[32];
	const char *p[1] = { cid };
	PGresult *res;

	if (enq_flush(e, err) < 0)
		goto fail_copy;
	if (PQputCopyEnd(db->conn, NULL) != 1) {
		db_error(db, NULL, err, "copy end");
		goto fail;
	}
	res = PQgetResult(db->conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		db_error(db, res, err, "copy");
		PQclear(res);
		while ((res = PQgetResult(db->conn)) != NULL)
			PQclear(res);
		goto fail;
	}
	PQclear(res);
	while ((res = PQgetResult(db->conn)) != NULL)
		PQclear(res);
	snprintf(cid, sizeof(cid), "%" PRId64, e->campaign_id);
	/* The first line of a repeated IP wins; an IP already queued in the
	 * campaign is a duplicate, not a second letter. */
	res = db_exec(db, "INSERT INTO target (campaign_id, ip, evidence, "
	    "observed_at) SELECT DISTINCT ON (ip) $1, ip, evidence, observed "
	    "FROM ipwarn_enq ORDER BY ip, line "
	    "ON CONFLICT (campaign_id, ip) DO NOTHING", 1, p, "enqueue", err);
	if (res == NULL)
		goto fail;
	*inserted = cmd_tuples(res);
	*duplicate = e->rows - *inserted;
	PQclear(res);
	if (db_cmd(db, "NOTIFY " IW_DB_CHANNEL, 0, NULL, "notify", err) < 0 ||
	    db_cmd(db, "COMMIT", 0, NULL, "commit", err) < 0)
		goto fail;
	iw_buf_free(&e->chunk);
	free(e);
	return 0;
fail_copy:
	PQputCopyEnd(db->conn, "aborted");
	while ((res = PQgetResult(db->conn)) != NULL)
		PQclear(res);
fail:
	db_rollback(db);
	iw_buf_free(&e->chunk);
	free(e);
	return -1;
}

void
iw_db_enqueue_abort(struct iw_db_enqueue *e)
{
	PGresult *res;

	if (e == NULL)
		return;
	PQputCopyEnd(e->db->conn, "aborted");
	while ((res = PQgetResult(e->db->conn)) != NULL)
		PQclear(res);
	db_rollback(e->db);
	iw_buf_free(&e->chunk);
	free(e);
}

/* --- resolve stage --- */

struct pg_result *
iw_db_claim_new(struct iw_db *db, const char *where, const char *returning,
    const char *owner, long long lease_s, int limit, struct iw_err *err)
{
	char lease[32], lim[16];
	const char *p[3] = { owner, lease, lim };
	struct iw_buf sql = IW_BUF_INIT;
	PGresult *res;

	snprintf(lease, sizeof(lease), "%lld", lease_s);
	snprintf(lim, sizeof(lim), "%d", limit);
	if (iw_buf_printf(&sql, "UPDATE target SET locked_by = $1, "
	    "locked_until = now() + $2 * interval '1 second', "
	    "attempts = attempts + 1 WHERE id IN (SELECT id FROM target "
	    "WHERE state = 'new' AND %s AND next_attempt_at <= now() AND "
	    IW_DB_UNLEASED("target") " AND "
	    "campaign_id NOT IN (" SQL_CANCELLED ") "
	    "ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) "
	    "RETURNING %s", where, returning) < 0) {
		iw_buf_free(&sql);
		iw_err_set(err, "out of memory");
		return NULL;
	}
	res = db_exec(db, sql.data, 3, p, "claim targets", err);
	iw_buf_free(&sql);
	return res;
}

int
iw_db_claim_targets(struct iw_db *db, const char *owner, long long lease_s,
    int limit, struct iw_db_target *out, int *n, struct iw_err *err)
{
	PGresult *res;
	int i, rows;

	*n = 0;
	/* IPs moved to their fallback contact are the fallback stage's. */
	res = iw_db_claim_new(db, "fallback_step = 0", "id, host(ip), "
	    "attempts", owner, lease_s, limit, err);
	if (res == NULL)
		return -1;
	rows = PQntuples(res);
	for (i = 0; i < rows && i < limit; i++) {
		out[i].id = iw_db_get_ll(res, i, 0);
		iw_db_get_str(res, i, 1, out[i].ip, sizeof(out[i].ip));
		out[i].attempts = (int)iw_db_get_ll(res, i, 2);
	}
	*n = i;
	PQclear(res);
	return 0;
}

static const char *
nz(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

enum { T_ID, T_STATE, T_COUNTRY, T_LOCALE, T_EMAIL, T_SOURCE, T_SERVER,
	T_NETWORK, T_CHAIN, T_REASON, T_RAW, T_RETRY, T_NCOL };

static int arr_add(struct iw_buf *b, const char *s);
static int arr_close(struct iw_buf *b);

int
iw_db_targets_done(struct iw_db *db, const char *owner, const int64_t *ids,
    const struct iw_db_resolution *r, size_t n, struct iw_err *err)
{
	struct iw_buf col[T_NCOL];
	const char *p[T_NCOL + 1];
	char num[32];
	size_t i;
	int k, rc = -1;

	if (n == 0)
		return 0;
	for (k = 0; k < T_NCOL; k++)
		col[k] = (struct iw_buf)IW_BUF_INIT;
	for (i = 0; i < n; i++) {
		int ok = 0;
		const char *state = r[i].state == IW_DB_RESOLVED ? "resolved" :
		    r[i].state == IW_DB_UNRESOLVED ? "unresolved" :
		    r[i].state == IW_DB_HELD ? "held" : "new";

		snprintf(num, sizeof(num), "%" PRId64, ids[i]);
		ok |= arr_add(&col[T_ID], num);
		ok |= arr_add(&col[T_STATE], state);
		ok |= arr_add(&col[T_COUNTRY], nz(r[i].country));
		ok |= arr_add(&col[T_LOCALE], nz(r[i].locale));
		ok |= arr_add(&col[T_EMAIL], r[i].state == IW_DB_RESOLVED ||
		    r[i].state == IW_DB_HELD ? nz(r[i].email) : NULL);
		ok |= arr_add(&col[T_SOURCE], nz(r[i].source));
		ok |= arr_add(&col[T_SERVER], nz(r[i].server));
		ok |= arr_add(&col[T_NETWORK], nz(r[i].network));
		ok |= arr_add(&col[T_CHAIN], nz(r[i].chain));
		ok |= arr_add(&col[T_REASON], nz(r[i].reason));
		ok |= arr_add(&col[T_RAW], r[i].state == IW_DB_UNRESOLVED ?
		    nz(r[i].raw) : NULL);
		snprintf(num, sizeof(num), "%lld", r[i].retry_in_s);
		ok |= arr_add(&col[T_RETRY], num);
		if (ok < 0) {
			iw_err_set(err, "out of memory");
			goto out;
		}
	}
	p[0] = owner;
	for (k = 0; k < T_NCOL; k++) {
		if (arr_close(&col[k]) < 0) {
			iw_err_set(err, "out of memory");
			goto out;
		}
		p[k + 1] = col[k].data;
	}
	rc = db_cmd(db, "UPDATE target t SET state = r.state, "
	    "country = r.country, locale = r.locale, "
	    "contact_email = r.email, contact_source = r.source, "
	    "whois_server = r.server, whois_network = r.network, "
	    "whois_chain = r.chain, reason = r.reason, raw_answer = r.raw, "
	    "resolved_at = CASE WHEN r.state = 'new' THEN NULL ELSE now() END, "
	    "next_attempt_at = CASE WHEN r.state = 'new' THEN now() + "
	    "r.retry_in * interval '1 second' ELSE t.next_attempt_at END, "
	    "locked_by = NULL, locked_until = NULL "
	    "FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], "
	    "$6::text[], $7::text[], $8::text[], $9::text[], $10::text[], "
	    "$11::text[], $12::text[], $13::bigint[]) AS r(id, state, country, "
	    "locale, email, source, server, network, chain, reason, raw, "
	    "retry_in) WHERE t.id = r.id AND t.id = ANY ($2::bigint[]) AND "
	    "t.locked_by = $1 AND t.state = 'new'", T_NCOL + 1, p,
	    "store resolutions", err);
out:
	for (k = 0; k < T_NCOL; k++)
		iw_buf_free(&col[k]);
	return rc;
}

int
iw_db_override_find(struct iw_db *db, const char *ip, char *email,
    size_t emailsz, char *network, size_t netsz, struct iw_err *err)
{
	const char *p[1] = { ip };
	PGresult *res;

	email[0] = '\0';
	network[0] = '\0';
	res = db_exec(db, "SELECT email, network::text FROM contact_override "
	    "WHERE network >>= $1::inet ORDER BY masklen(network) DESC "
	    "LIMIT 1", 1, p, "override lookup", err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		iw_db_get_str(res, 0, 0, email, emailsz);
		iw_db_get_str(res, 0, 1, network, netsz);
	}
	PQclear(res);
	return 0;
}

/* --- build stage --- */

/*
 * Campaigns whose resolved IPs may be grouped now: all of them when forced,
 * else those with nothing left to resolve, or whose oldest waiting IP has
 * waited hold seconds (a campaign must not be held up forever by one IP
 * whose registry keeps failing).  Never a cancelled one.
 */
/*
 * IPs moved to a fallback contact get letters of their own, one per
 * address that failed (letter.fallback), apart from the contact's other
 * IPs: a fallback letter holds exactly the moved IPs and says why.
 */
#define SQL_FALLBACK_OF(t) "CASE WHEN " t ".fallback_step > 0 THEN " t \
	".fallback_why END"
#define SQL_SAME_FALLBACK(t, l) SQL_FALLBACK_OF(t) " IS NOT DISTINCT FROM " \
	l ".fallback"

static const char SQL_ELIGIBLE[] =
    "eligible AS (SELECT DISTINCT t.campaign_id FROM target t "
    " WHERE t.state = 'resolved' AND t.letter_id IS NULL AND "
    " t.campaign_id NOT IN (" SQL_CANCELLED ") AND ($1 OR "
    " NOT EXISTS (SELECT 1 FROM target n WHERE n.campaign_id = "
    " t.campaign_id AND n.state = 'new') OR t.resolved_at <= now() - "
    " $2 * interval '1 second'))";

/* A suppressed contact gets no letter: its IPs move on to the next
 * contact of their fallback chain (lib/fallback.c). */
static int
move_suppressed(struct iw_db *db, long *moved, struct iw_err *err)
{
	*moved = iw_fallback_move_suppressed(db->conn, err);
	return *moved < 0 ? -1 : 0;
}

/*
 * The re-notification guard: an IP that a letter to the same address, sent
 * within renotify seconds in another campaign, already covered is held
 * with that reason, unless its campaign was created with --renotify.
 */
static int
hold_renotified(struct iw_db *db, long long renotify_s, long *held,
    struct iw_err *err)
{
	char secs[32];
	const char *p[1] = { secs };
	PGresult *res;

	*held = 0;
	if (renotify_s <= 0)
		return 0;
	snprintf(secs, sizeof(secs), "%lld", renotify_s);
	res = db_exec(db, "WITH fresh AS (SELECT t.id, t.ip, t.campaign_id, "
	    "t.contact_email FROM target t JOIN campaign c ON c.id = "
	    "t.campaign_id AND NOT c.renotify AND c.state <> 'cancelled' "
	    "WHERE t.state = 'resolved' AND t.letter_id IS NULL), "
	    "prior AS (SELECT DISTINCT ON (f.id) f.id, l.id AS letter, "
	    "c2.name, l.sent_at FROM fresh f JOIN target t2 ON t2.ip = f.ip "
	    "AND t2.campaign_id <> f.campaign_id JOIN letter_target lt ON "
	    "lt.target_id = t2.id JOIN letter l ON l.id = lt.letter_id AND "
	    "l.state = 'sent' AND l.contact_email = f.contact_email AND "
	    "l.sent_at >= now() - $1 * interval '1 second' JOIN campaign c2 "
	    "ON c2.id = l.campaign_id ORDER BY f.id, l.sent_at DESC) "
	    "UPDATE target t SET state = 'held', reason = 'notified ' || "
	    "to_char(p.sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') || "
	    "' in campaign ' || p.name || ' (letter ' || p.letter || "
	    "'), within letters.renotify_after' FROM prior p WHERE "
	    "t.id = p.id", 1, p, "renotify guard", err);
	if (res == NULL)
		return -1;
	*held = cmd_tuples(res);
	PQclear(res);
	return 0;
}

/*
 * The control group (campaign create --holdout): the resolved IPs of a
 * contact that IW_OUTCOME_IN_CONTROL puts in it get state 'control' and
 * no letter.  Campaigns without a holdout are not touched, and neither
 * are IPs on their fallback chain: they were meant to be notified.
 */
static int
hold_control(struct iw_db *db, long *control, struct iw_err *err)
{
	PGresult *res;

	res = db_exec(db, "UPDATE target t SET state = 'control', reason = "
	    "'control group (holdout ' || c.holdout::float8 || ' %)' FROM "
	    "campaign c WHERE c.holdout > 0 AND c.id = t.campaign_id AND "
	    "t.state = 'resolved' AND t.letter_id IS NULL AND "
	    "t.fallback_step = 0 AND "
	    IW_OUTCOME_IN_CONTROL("c.name", "t.contact_email", "c.holdout"),
	    0, NULL, "control group", err);
	if (res == NULL)
		return -1;
	*control = cmd_tuples(res);
	PQclear(res);
	return 0;
}

/* Late IPs join their contact's letter while it is untouched (never
 * claimed, never rendered: a rendered letter's bytes are final). */
static int
join_letters(struct iw_db *db, const char *const *p, long *targets,
    struct iw_err *err)
{
	struct iw_buf sql = IW_BUF_INIT;
	PGresult *res;

	if (iw_buf_printf(&sql, "WITH %s, open AS (SELECT l.id, "
	    "l.campaign_id, l.contact_email, l.fallback FROM letter l WHERE "
	    "l.state = 'queued' AND l.attempts = 0 AND l.locked_by IS NULL "
	    "AND NOT EXISTS (SELECT 1 FROM letter_message m WHERE "
	    "m.letter_id = l.id) "
	    "AND l.campaign_id IN (SELECT campaign_id FROM eligible) AND "
	    "EXISTS (SELECT 1 FROM target t WHERE t.state = 'resolved' AND "
	    "t.letter_id IS NULL AND t.campaign_id = l.campaign_id AND "
	    "t.contact_email = l.contact_email AND " SQL_SAME_FALLBACK("t", "l")
	    ") FOR UPDATE OF l SKIP LOCKED), "
	    "j AS (UPDATE target t SET letter_id = o.id FROM open o WHERE "
	    "t.state = 'resolved' AND t.letter_id IS NULL AND "
	    "t.campaign_id = o.campaign_id AND "
	    "t.contact_email = o.contact_email AND "
	    SQL_SAME_FALLBACK("t", "o") " RETURNING t.letter_id, t.id), "
	    "m AS (INSERT INTO letter_target (letter_id, target_id) "
	    "SELECT * FROM j) SELECT count(*) FROM j", SQL_ELIGIBLE) < 0) {
		iw_buf_free(&sql);
		iw_err_set(err, "out of memory");
		return -1;
	}
	res = db_exec(db, sql.data, 2, p, "join letters", err);
	iw_buf_free(&sql);
	if (res == NULL)
		return -1;
	*targets = (long)iw_db_get_ll(res, 0, 0);
	PQclear(res);
	return 0;
}

/*
 * One new letter per remaining (campaign, contact); the locale is the one
 * most of its IPs asked for; seq follows the contact's earlier letters in
 * the campaign.  Those are found by one join, not a lookup per contact:
 * with statistics from a nearly empty letter table the planner scanned the
 * whole table for each of them (18 s for 50,000 letters).  The reference
 * is the campaign's name made safe for a header, and the letter id.
 */
static int
new_letters(struct iw_db *db, const char *const *p, long *letters,
    long *targets, struct iw_err *err)
{
	struct iw_buf sql = IW_BUF_INIT;
	PGresult *res;

	if (iw_buf_printf(&sql, "WITH %s, grp AS (SELECT t.campaign_id, "
	    "t.contact_email, " SQL_FALLBACK_OF("t") " AS fallback, "
	    "mode() WITHIN GROUP (ORDER BY t.locale) AS "
	    "locale FROM target t WHERE t.state = 'resolved' AND "
	    "t.letter_id IS NULL AND t.campaign_id IN (SELECT campaign_id "
	    "FROM eligible) GROUP BY 1, 2, 3), "
	    "prev AS (SELECT l.campaign_id, l.contact_email, max(l.seq) AS seq "
	    "FROM letter l JOIN grp g ON l.campaign_id = g.campaign_id AND "
	    "l.contact_email = g.contact_email GROUP BY 1, 2), "
	    "slug AS (SELECT c.id, coalesce(nullif(trim(BOTH '-' FROM "
	    "lower(regexp_replace(left(c.name, 40), '[^A-Za-z0-9]+', '-', "
	    "'g'))), ''), 'ipwarn') AS slug FROM campaign c WHERE c.id IN "
	    "(SELECT campaign_id FROM eligible)), "
	    "num AS (SELECT nextval('letter_id_seq') AS id, g.*, "
	    "coalesce(p.seq, 0) + row_number() OVER (PARTITION BY "
	    "g.campaign_id, g.contact_email ORDER BY g.fallback NULLS FIRST) "
	    "AS seq FROM grp g LEFT JOIN prev p ON "
	    "p.campaign_id = g.campaign_id AND "
	    "p.contact_email = g.contact_email), "
	    "ins AS (INSERT INTO letter (id, campaign_id, contact_email, seq, "
	    "locale, fallback, message_id, ref) SELECT n.id, n.campaign_id, "
	    "n.contact_email, n.seq, n.locale, n.fallback, "
	    "'<ipwarn.' || n.id || '.' || "
	    "replace(gen_random_uuid()::text, '-', '') || '@' || $3 || '>', "
	    "s.slug || '-' || lpad(n.id::text, 6, '0') "
	    "FROM num n JOIN slug s ON s.id = n.campaign_id "
	    "RETURNING id, campaign_id, contact_email, fallback), "
	    "upd AS (UPDATE target t SET letter_id = i.id FROM ins i WHERE "
	    "t.state = 'resolved' AND t.letter_id IS NULL AND "
	    "t.campaign_id = i.campaign_id AND t.contact_email = "
	    "i.contact_email AND " SQL_SAME_FALLBACK("t", "i")
	    " RETURNING t.letter_id, t.id), "
	    "mem AS (INSERT INTO letter_target (letter_id, target_id) "
	    "SELECT * FROM upd) "
	    "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd)",
	    SQL_ELIGIBLE) < 0) {
		iw_buf_free(&sql);
		iw_err_set(err, "out of memory");
		return -1;
	}
	res = db_exec(db, sql.data, 3, p, "build letters", err);
	iw_buf_free(&sql);
	if (res == NULL)
		return -1;
	*letters = (long)iw_db_get_ll(res, 0, 0);
	*targets += (long)iw_db_get_ll(res, 0, 1);
	PQclear(res);
	return 0;
}

int
iw_db_build_letters(struct iw_db *db, struct iw_db_build *b,
    struct iw_err *err)
{
	char hold[32];
	const char *p[3] = { b->force ? "true" : "false", hold,
		b->msgid_domain };

	b->letters = b->targets = b->held = b->renotify_held = 0;
	b->control = 0;
	snprintf(hold, sizeof(hold), "%lld", b->hold_s);
	/* One builder at a time: two daemons must not both create the
	 * letter for one contact. */
	if (db_cmd(db, "BEGIN", 0, NULL, "begin", err) < 0 ||
	    db_cmd(db, "SELECT pg_advisory_xact_lock(7411, 2)", 0, NULL,
	    "lock", err) < 0)
		goto fail;
	/*
	 * Grouping is bulk work on rows the statistics have often not seen yet
	 * (just enqueued and resolved): the planner then estimates one row and
	 * joins by nested loop, 10k letters x 10k IPs.  Hash joins are right
	 * whatever the estimate.
	 */
	if (db_cmd(db, "SET LOCAL enable_nestloop = off", 0, NULL,
	    "planner setting", err) < 0 ||
	    move_suppressed(db, &b->held, err) < 0 ||
	    hold_renotified(db, b->renotify_s, &b->renotify_held, err) < 0 ||
	    hold_control(db, &b->control, err) < 0 ||
	    join_letters(db, p, &b->targets, err) < 0 ||
	    new_letters(db, p, &b->letters, &b->targets, err) < 0)
		goto fail;
	if (b->letters > 0 && db_cmd(db, "NOTIFY " IW_DB_CHANNEL, 0, NULL,
	    "notify", err) < 0)
		goto fail;
	if (db_cmd(db, "COMMIT", 0, NULL, "commit", err) < 0)
		return -1;
	/*
	 * Thousands of new letters and re-pointed IPs: without fresh
	 * statistics the claims and item queries that follow scan and sort
	 * whole tables (23 ms a batch at 50k letters) until autovacuum
	 * catches up.  ANALYZE samples, so this costs well under a second.
	 */
	if (b->targets >= IW_DB_ANALYZE_AFTER && db_cmd(db,
	    "ANALYZE letter, target, letter_target", 0, NULL, "analyze",
	    err) < 0)
		return -1;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

/* --- send stage --- */

static void
fill_letters(PGresult *res, struct iw_db_letter *out, int limit, int *n)
{
	int i, rows = PQntuples(res);

	for (i = 0; i < rows && i < limit; i++) {
		out[i].id = iw_db_get_ll(res, i, 0);
		iw_db_get_str(res, i, 1, out[i].campaign,
		    sizeof(out[i].campaign));
		iw_db_get_str(res, i, 2, out[i].email, sizeof(out[i].email));
		iw_db_get_str(res, i, 3, out[i].locale, sizeof(out[i].locale));
		iw_db_get_str(res, i, 4, out[i].message_id,
		    sizeof(out[i].message_id));
		out[i].attempts = (int)iw_db_get_ll(res, i, 5);
		out[i].age_s = iw_db_get_ll(res, i, 6);
		out[i].campaign_id = iw_db_get_ll(res, i, 7);
		iw_db_get_str(res, i, 8, out[i].ref, sizeof(out[i].ref));
		iw_db_get_str(res, i, 9, out[i].fallback,
		    sizeof(out[i].fallback));
		out[i].message = NULL;
		out[i].message_len = 0;
		out[i].reverse_path[0] = '\0';
	}
	*n = i;
}

/*
 * The stored messages of out[0..n), for the letters that have one (sent
 * before, or rendered and then held back): one query for the batch.
 */
static int
fetch_messages(struct iw_db *db, struct iw_db_letter *out, int n,
    struct iw_err *err)
{
	struct iw_buf arr = IW_BUF_INIT;
	const char *p[1];
	PGresult *res;
	int i, k, rc = 0;
	char num[32];

	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%" PRId64, out[i].id);
		if (arr_add(&arr, num) < 0)
			goto oom;
	}
	if (arr_close(&arr) < 0)
		goto oom;
	p[0] = arr.data;
	res = db_exec_ps(db, PS_MESSAGES, "SELECT letter_id, message, "
	    "reverse_path FROM letter_message WHERE letter_id = "
	    "ANY ($1::bigint[])", 1, p, "stored messages", err);
	iw_buf_free(&arr);
	if (res == NULL)
		return -1;
	for (k = 0; k < PQntuples(res) && rc == 0; k++) {
		int64_t id = iw_db_get_ll(res, k, 0);

		for (i = 0; i < n; i++) {
			if (out[i].id != id || out[i].message != NULL)
				continue;
			out[i].message_len = (size_t)PQgetlength(res, k, 1);
			out[i].message = iw_strndup(PQgetvalue(res, k, 1),
			    out[i].message_len);
			iw_db_get_str(res, k, 2, out[i].reverse_path,
			    sizeof(out[i].reverse_path));
			if (out[i].message == NULL) {
				iw_err_set(err, "out of memory");
				rc = -1;
			}
		}
	}
	PQclear(res);
	return rc;
oom:
	iw_buf_free(&arr);
	iw_err_set(err, "out of memory");
	return -1;
}

/* The letters of a query's result (NULL: it failed) into out, with
 * their stored messages. */
static int
letters_from(struct iw_db *db, PGresult *res, struct iw_db_letter *out,
    int limit, int *n, struct iw_err *err)
{
	if (res == NULL)
		return -1;
	fill_letters(res, out, limit, n);
	PQclear(res);
	if (*n > 0 && fetch_messages(db, out, *n, err) < 0) {
		iw_db_letters_clear(out, *n);
		*n = 0;
		return -1;
	}
	return 0;
}

void
iw_db_letters_clear(struct iw_db_letter *l, int n)
{
	int i;

	for (i = 0; l != NULL && i < n; i++) {
		free(l[i].message);
		l[i].message = NULL;
		l[i].message_len = 0;
	}
}

#define LETTER_COLS "l.id, (SELECT name FROM campaign c WHERE " \
	"c.id = l.campaign_id), l.contact_email, l.locale, l.message_id, " \
	"l.attempts, extract(epoch FROM now() - l.created_at)::bigint, " \
	"l.campaign_id, l.ref, coalesce(l.fallback, '')"

/* The claim, with ($4, $5) the cursor when after is set. */
#define CLAIM_SQL(after) "WITH c AS (UPDATE letter l SET " \
	"locked_by = $1, locked_until = now() + $2 * interval '1 second', " \
	"attempts = attempts + 1 WHERE id = ANY (ARRAY(SELECT id FROM " \
	"letter x WHERE state IN ('queued', 'deferred') AND " \
	"next_attempt_at <= now() AND " after IW_DB_UNLEASED("x") " AND " \
	"x.campaign_id IN (" SQL_APPROVED \
	") AND NOT EXISTS (SELECT 1 FROM suppression s WHERE " \
	"s.email = x.contact_email) ORDER BY next_attempt_at, id " \
	"LIMIT $3 FOR UPDATE SKIP LOCKED)) RETURNING " LETTER_COLS ", " \
	"l.next_attempt_at AS due) SELECT * FROM c ORDER BY due, id"
#define CLAIM_COL_DUE 10	/* after LETTER_COLS */

int
iw_db_claim_letters(struct iw_db *db, const char *owner, long long lease_s,
    int limit, struct iw_db_cursor *cur, struct iw_db_letter *out, int *n,
    struct iw_err *err)
{
	char lease[32], lim[16];
	const char *p[5] = { owner, lease, lim, NULL, NULL };
	PGresult *res;
	int after = cur != NULL && cur->set;

	*n = 0;
	snprintf(lease, sizeof(lease), "%lld", lease_s);
	snprintf(lim, sizeof(lim), "%d", limit);
	/* A claim is a lease (sql/009_hot_claim.sql): the state stays, so
	 * the row is rewritten in place.  Letters to suppressed contacts are
	 * skipped here and failed by the next build (iw_db_build_letters).
	 * "= ANY (ARRAY(...))": the batch's
	 * ids are found first and their rows by primary key; as "IN (...)"
	 * the planner may hash-join the whole letter table at every claim.
	 * The rows come back in the queue's order, so the last one is where
	 * the next claim from this cursor starts. */
	if (after) {
		p[3] = cur->due;
		p[4] = cur->id;
		res = db_exec_ps(db, PS_CLAIM_AFTER, CLAIM_SQL(
		    "(x.next_attempt_at, x.id) > ($4::timestamptz, "
		    "$5::bigint) AND "), 5, p, "claim letters", err);
	} else
		res = db_exec_ps(db, PS_CLAIM, CLAIM_SQL(""), 3, p,
		    "claim letters", err);
	if (res != NULL && cur != NULL && PQntuples(res) > 0) {
		int last = PQntuples(res) - 1;

		iw_db_get_str(res, last, CLAIM_COL_DUE, cur->due,
		    sizeof(cur->due));
		iw_db_get_str(res, last, 0, cur->id, sizeof(cur->id));
		cur->set = 1;
	}
	return letters_from(db, res, out, limit, n, err);
}

int
iw_db_peek_letters(struct iw_db *db, int64_t after, int limit,
    struct iw_db_letter *out, int *n, struct iw_err *err)
{
	char aft[32], lim[16];
	const char *p[2] = { aft, lim };
	PGresult *res;

	*n = 0;
	snprintf(aft, sizeof(aft), "%" PRId64, after);
	snprintf(lim, sizeof(lim), "%d", limit);
	res = db_exec(db, "SELECT " LETTER_COLS " FROM letter l WHERE "
	    "l.id > $1 AND l.state IN ('queued', 'deferred') AND "
	    "l.next_attempt_at <= now() AND l.campaign_id NOT IN ("
	    SQL_CANCELLED ") AND NOT EXISTS (SELECT 1 FROM "
	    "suppression s WHERE s.email = l.contact_email) "
	    "ORDER BY l.id LIMIT $2", 2, p, "peek letters", err);
	return letters_from(db, res, out, limit, n, err);
}

int
iw_db_list_letters(struct iw_db *db, int64_t campaign_id, const char *state,
    int64_t after, int limit, struct iw_db_letter *out, int *n,
    struct iw_err *err)
{
	char cid[32], aft[32], lim[16];
	const char *p[4] = { cid, state != NULL ? state : "", aft, lim };
	PGresult *res;

	*n = 0;
	snprintf(cid, sizeof(cid), "%" PRId64, campaign_id);
	snprintf(aft, sizeof(aft), "%" PRId64, after);
	snprintf(lim, sizeof(lim), "%d", limit);
	res = db_exec(db, "SELECT " LETTER_COLS " FROM letter l WHERE "
	    "($1 = 0 OR l.campaign_id = $1) AND ($2 = '' OR l.state = $2) "
	    "AND l.id > $3 ORDER BY l.id LIMIT $4", 4, p, "list letters",
	    err);
	return letters_from(db, res, out, limit, n, err);
}

#define ITEM_COLS "letter_id, host(ip), coalesce(evidence, ''), " \
	"coalesce(to_char(observed_at AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"

/* The IPs of the letters whose ids are in the array literal param. */
static int
fetch_items(struct iw_db *db, const char *param,
    struct iw_db_item **items, size_t *n, struct iw_err *err)
{
	const char *p[1] = { param };
	struct iw_db_item *it;
	PGresult *res;
	int i, rows;

	*items = NULL;
	*n = 0;
	res = db_exec_ps(db, PS_ITEMS, "SELECT " ITEM_COLS " FROM target "
	    "WHERE letter_id = ANY ($1::bigint[]) ORDER BY letter_id, ip", 1,
	    p, "letter items", err);
	if (res == NULL)
		return -1;
	rows = PQntuples(res);
	it = iw_calloc(rows > 0 ? (size_t)rows : 1, sizeof(*it));
	if (it == NULL) {
		PQclear(res);
		iw_err_set(err, "out of memory");
		return -1;
	}
	for (i = 0; i < rows; i++) {
		it[i].letter_id = iw_db_get_ll(res, i, 0);
		iw_db_get_str(res, i, 1, it[i].ip, sizeof(it[i].ip));
		it[i].evidence = iw_strdup(PQgetvalue(res, i, 2));
		iw_db_get_str(res, i, 3, it[i].observed,
		    sizeof(it[i].observed));
		if (it[i].evidence == NULL) {
			PQclear(res);
			iw_db_items_free(it, (size_t)i);
			iw_err_set(err, "out of memory");
			return -1;
		}
	}
	PQclear(res);
	*items = it;
	*n = (size_t)rows;
	return 0;
}

int
iw_db_letters_items(struct iw_db *db, const int64_t *ids, size_t nids,
    struct iw_db_item **items, size_t *n, struct iw_err *err)
{
	struct iw_buf arr = IW_BUF_INIT;
	size_t i;
	int rc;

	for (i = 0; i < nids; i++)
		if (iw_buf_printf(&arr, "%c%" PRId64, i == 0 ? '{' : ',',
		    ids[i]) < 0) {
			iw_buf_free(&arr);
			iw_err_set(err, "out of memory");
			return -1;
		}
	if (iw_buf_puts(&arr, nids == 0 ? "{}" : "}") < 0) {
		iw_buf_free(&arr);
		iw_err_set(err, "out of memory");
		return -1;
	}
	rc = fetch_items(db, arr.data, items, n, err);
	iw_buf_free(&arr);
	return rc;
}

void
iw_db_items_free(struct iw_db_item *items, size_t n)
{
	size_t i;

	if (items == NULL)
		return;
	for (i = 0; i < n; i++)
		free(items[i].evidence);
	free(items);
}

/* Append s as one element of a PostgreSQL array literal. */
static int
arr_add(struct iw_buf *b, const char *s)
{
	int r = iw_buf_putc(b, b->len == 0 ? '{' : ',');

	if (r < 0)
		return -1;
	if (s == NULL)
		return iw_buf_puts(b, "NULL");
	if (iw_buf_putc(b, '"') < 0)
		return -1;
	/* Runs without a quote or backslash are copied whole: a stored
	 * message is kilobytes of them. */
	while (*s != '\0') {
		size_t run = strcspn(s, "\"\\");

		if (iw_buf_append(b, s, run) < 0)
			return -1;
		s += run;
		if (*s != '\0' && (iw_buf_putc(b, '\\') < 0 ||
		    iw_buf_putc(b, *s++) < 0))
			return -1;
	}
	return iw_buf_putc(b, '"');
}

static int
arr_close(struct iw_buf *b)
{
	return iw_buf_puts(b, b->len == 0 ? "{}" : "}");
}

/* Binary COPY (PostgreSQL's documented file format): no escaping on
 * our side, no parsing on the server's -- a letter is kilobytes. */
static const char COPY_BIN_HEADER[19] = "PGCOPY\n\377\r\n\0"
    "\0\0\0\0" "\0\0\0\0";

static int
bin_u32(struct iw_buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)(v >> 24),
		(unsigned char)(v >> 16), (unsigned char)(v >> 8),
		(unsigned char)v };

	return iw_buf_append(b, x, 4);
}

static int
bin_text(struct iw_buf *b, const char *s, size_t n)
{
	return n > INT32_MAX || bin_u32(b, (uint32_t)n) < 0 ||
	    iw_buf_append(b, s, n) < 0 ? -1 : 0;
}

/* One tuple of letter_message: id, locale, reverse_path, message, sha256. */
static int
store_row(struct iw_buf *b, const struct iw_db_rendered *r)
{
	static const unsigned char nfields[2] = { 0, 5 };
	char sha[IW_SHA256_HEX];
	uint64_t id = (uint64_t)r->letter_id;
	size_t len = strlen(r->message);

	if (iw_sha256_hex(r->message, len, sha) < 0)
		return -1;
	return iw_buf_append(b, nfields, 2) < 0 || bin_u32(b, 8) < 0 ||
	    bin_u32(b, (uint32_t)(id >> 32)) < 0 ||
	    bin_u32(b, (uint32_t)id) < 0 ||
	    bin_text(b, r->locale, strlen(r->locale)) < 0 ||
	    bin_text(b, r->reverse_path, strlen(r->reverse_path)) < 0 ||
	    bin_text(b, r->message, len) < 0 ||
	    bin_text(b, sha, strlen(sha)) < 0 ? -1 : 0;
}

/* A COPY goes to the server in pieces of about this size: the batch's
 * rows are never all in memory twice (here and in libpq's output buffer,
 * which keeps its largest size for the connection's life). */
#define COPY_CHUNK (64 * 1024)

static int
copy_put(struct iw_db *db, struct iw_buf *b)
{
	int ok = PQputCopyData(db->conn, b->data, (int)b->len) == 1;

	iw_buf_reset(b);
	return ok ? 0 : -1;
}

/*
 * The fast path: the whole batch in one COPY.  The letter is ours (we
 * claimed it with no message), so a conflict means another daemon took
 * it over after our lease ran out and stored its own rendering first;
 * then the COPY fails whole, *conflict is set, and the caller stores
 * letter by letter.
 */
static int
store_copy(struct iw_db *db, const struct iw_db_rendered *r, size_t n,
    int *conflict, struct iw_err *err)
{
	struct iw_buf b = IW_BUF_INIT;
	PGresult *res;
	const char *state, *gave_up = NULL;
	size_t i;
	int rc = -1, bad = 0;

	*conflict = 0;
	res = PQexec(db->conn, "COPY letter_message (letter_id, locale, "
	    "reverse_path, message, sha256) FROM STDIN (FORMAT binary)");
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		db_error(db, res, err, "store messages");
		PQclear(res);
		return -1;
	}
	PQclear(res);
	if (iw_buf_append(&b, COPY_BIN_HEADER, sizeof(COPY_BIN_HEADER)) < 0)
		gave_up = "out of memory";
	for (i = 0; i < n && gave_up == NULL && !bad; i++) {
		if (store_row(&b, &r[i]) < 0)
			gave_up = "out of memory";
		else if (b.len >= COPY_CHUNK)
			bad = copy_put(db, &b) < 0;
	}
	if (gave_up == NULL && !bad && iw_buf_append(&b, "\377\377", 2) < 0)
		gave_up = "out of memory";
	if (gave_up == NULL && !bad)
		bad = copy_put(db, &b) < 0;
	/* A COPY we gave up on (gave_up: why) is ended with an error, so
	 * that nothing of it is stored. */
	if (!bad && PQputCopyEnd(db->conn, gave_up) != 1)
		bad = 1;
	if (bad) {
		db_error(db, NULL, err, "store messages");
		/* Whatever stopped the rows, no COPY is left open. */
		(void)PQputCopyEnd(db->conn, "store messages failed");
	}
	res = PQgetResult(db->conn);
	if (PQresultStatus(res) == PGRES_COMMAND_OK && gave_up == NULL)
		rc = 0;
	else if (gave_up != NULL)
		iw_err_set(err, "%s", gave_up);
	else {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		*conflict = state != NULL && strcmp(state, "23505") == 0;
		db_error(db, res, err, "store messages");
	}
	PQclear(res);
	while ((res = PQgetResult(db->conn)) != NULL)
		PQclear(res);
	iw_buf_free(&b);
	return rc;
}

/* The slow path, after a conflict: each letter that is still ours. */
static int
store_each(struct iw_db *db, const char *owner,
    const struct iw_db_rendered *r, size_t n, int *stored,
    struct iw_err *err)
{
	char id[24], sha[IW_SHA256_HEX];
	const char *p[6] = { id, NULL, NULL, NULL, sha, owner };
	PGresult *res;
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%" PRId64, r[i].letter_id);
		p[1] = r[i].locale;
		p[2] = r[i].reverse_path;
		p[3] = r[i].message;
		if (iw_sha256_hex(r[i].message, strlen(r[i].message),
		    sha) < 0) {
			iw_err_set(err, "sha256 failed");
			return -1;
		}
		res = db_exec(db, "INSERT INTO letter_message (letter_id, "
		    "locale, reverse_path, message, sha256) SELECT $1, $2, $3, "
		    "$4, $5 WHERE EXISTS (SELECT 1 FROM letter WHERE id = $1 "
		    "AND locked_by = $6) ON CONFLICT (letter_id) DO NOTHING",
		    6, p, "store message", err);
		if (res == NULL)
			return -1;
		stored[i] = cmd_tuples(res) == 1;
		PQclear(res);
	}
	return 0;
}

int
iw_db_store_messages(struct iw_db *db, const char *owner,
    const struct iw_db_rendered *r, size_t n, int *stored,
    struct iw_err *err)
{
	size_t i;
	int conflict;

	for (i = 0; i < n; i++)
		stored[i] = 0;
	if (n == 0)
		return 0;
	/* COPY, not an INSERT of array parameters: PostgreSQL's array
	 * parser alone cost more than the rest of storing a letter. */
	if (store_copy(db, r, n, &conflict, err) == 0) {
		for (i = 0; i < n; i++)
			stored[i] = 1;
		return 0;
	}
	return conflict ? store_each(db, owner, r, n, stored, err) : -1;
}

enum { R_ID, R_STATE, R_CODE, R_ENH, R_STAGE, R_REPLY, R_FAIL, R_RETRY,
	R_REC, R_NCOL };

int
iw_db_record_results(struct iw_db *db, const char *owner, const char *relay,
    const struct iw_db_send_result *r, size_t n, struct iw_err *err)
{
	static const char *const names[] = { "sent", "deferred", "failed",
		"postponed" };
	struct iw_buf col[R_NCOL];
	const char *p[R_NCOL + 2];
	char num[32];
	size_t i;
	PGresult *res;
	int k, rc = -1;

	for (k = 0; k < R_NCOL; k++)
		col[k] = (struct iw_buf)IW_BUF_INIT;
	for (i = 0; i < n; i++) {
		int ok = 0;

		snprintf(num, sizeof(num), "%" PRId64, r[i].letter_id);
		ok |= arr_add(&col[R_ID], num);
		ok |= arr_add(&col[R_STATE], names[r[i].state]);
		snprintf(num, sizeof(num), "%d", r[i].code);
		ok |= arr_add(&col[R_CODE], r[i].code > 0 ? num : NULL);
		ok |= arr_add(&col[R_ENH], nz(r[i].enhanced));
		ok |= arr_add(&col[R_STAGE], nz(r[i].stage));
		ok |= arr_add(&col[R_REPLY], nz(r[i].reply));
		ok |= arr_add(&col[R_FAIL], nz(r[i].fail_reason));
		snprintf(num, sizeof(num), "%lld", r[i].retry_in_s);
		ok |= arr_add(&col[R_RETRY], num);
		ok |= arr_add(&col[R_REC], r[i].record_attempt ? "t" : "f");
		if (ok < 0) {
			iw_err_set(err, "out of memory");
			goto out;
		}
	}
	p[0] = owner;
	p[1] = relay;
	for (k = 0; k < R_NCOL; k++) {
		if (arr_close(&col[k]) < 0) {
			iw_err_set(err, "out of memory");
			goto out;
		}
		p[k + 2] = col[k].data;
	}
	/*
	 * One statement per batch: attempts and letter states move
	 * together.  (The IPs of a sent letter count as notified because
	 * the letter is sent: see iw_db_status.)  A bounce can overtake the
	 * result of its own send (a relay that bounces at once): 'bounced'
	 * stays.  A result whose lease was lost (a rescuer gave the letter
	 * back) still counts when it says 'sent', so that a letter the relay
	 * took is never sent again.  "letter.id = ANY ($3)" gives the
	 * planner the batch's keys: joined to the unnest() alone it scanned
	 * the whole letter table at every batch.
	 */
	res = db_exec_ps(db, PS_RECORD, "WITH r AS (SELECT * FROM "
	    "unnest($3::bigint[], "
	    "$4::text[], $5::int[], $6::text[], $7::text[], $8::text[], "
	    "$9::text[], $10::bigint[], $11::bool[]) AS r(id, state, code, "
	    "enhanced, stage, reply, fail_reason, retry_in, rec)), "
	    "a AS (INSERT INTO attempt (letter_id, daemon, relay, outcome, "
	    "stage, code, enhanced, reply) SELECT id, $1, $2, state, stage, "
	    "code, enhanced, reply FROM r WHERE rec) "
	    "UPDATE letter SET state = CASE WHEN letter.state = "
	    "'bounced' THEN 'bounced' WHEN r.state <> 'postponed' "
	    "THEN r.state ELSE " SQL_REQUEUE("letter") " END, "
	    "attempts = CASE WHEN r.state = 'postponed' THEN "
	    "greatest(letter.attempts - 1, 0) ELSE letter.attempts END, "
	    "last_code = coalesce(r.code, letter.last_code), "
	    "last_reply = coalesce(r.reply, letter.last_reply), "
	    "sent_at = CASE WHEN r.state = 'sent' THEN now() ELSE sent_at END, "
	    "next_attempt_at = CASE WHEN r.state IN ('deferred', 'postponed') "
	    "THEN now() + "
	    "r.retry_in * interval '1 second' ELSE next_attempt_at END, "
	    "fail_reason = CASE WHEN r.state = 'postponed' THEN "
	    "letter.fail_reason ELSE r.fail_reason END, locked_by = NULL, "
	    "locked_until = NULL FROM r WHERE letter.id = r.id AND "
	    "letter.id = ANY ($3::bigint[]) AND (letter.locked_by = $1 OR "
	    "(r.state = 'sent' AND letter.state IN ('queued', 'deferred')))",
	    R_NCOL + 2, p, "record results", err);
	if (res != NULL) {
		PQclear(res);
		rc = 0;
	}
out:
	for (k = 0; k < R_NCOL; k++)
		iw_buf_free(&col[k]);
	return rc;
}

/* Which IPs each retry takes back (t: target, $1 campaign, $2 IPs). */
static const char *const retry_where[] = {
	[IW_DB_RETRY_UNRESOLVED] = "t.state = 'unresolved'",
	[IW_DB_RETRY_HELD] = "t.state = 'held' AND ((coalesce(t.reason, '') "
	    "NOT LIKE 'notified %' AND coalesce(t.reason, '') NOT LIKE "
	    "'registry-run %' AND NOT EXISTS (SELECT 1 FROM suppression "
	    "s WHERE s.email = t.contact_email)) OR EXISTS (SELECT 1 FROM "
	    "contact_override o WHERE o.network >>= t.ip AND o.email IS "
	    "DISTINCT FROM t.contact_email))",
};

int
iw_db_retry(struct iw_db *db, enum iw_db_retry_kind kind,
    int64_t campaign_id, const char *const *ips, size_t nips, long *n,
    struct iw_err *err)
{
	struct iw_buf arr = IW_BUF_INIT, sql = IW_BUF_INIT;
	char cid[32];
	const char *p[2] = { cid, NULL };
	PGresult *res = NULL;
	size_t i;
	int bad = 0, rc = -1;

	*n = 0;
	snprintf(cid, sizeof(cid), "%" PRId64, campaign_id);
	for (i = 0; i < nips; i++)
		bad |= arr_add(&arr, ips[i]);
	bad |= arr_close(&arr);
	/* The IP goes back to 'new' (its letter, if any, stays in the
	 * record through letter_target) and is resolved again. */
	bad |= iw_buf_printf(&sql, "WITH r AS (UPDATE target t SET "
	    "state = 'new', letter_id = NULL, attempts = 0, reason = NULL, "
	    "raw_answer = NULL, resolved_at = NULL, locked_by = NULL, "
	    "locked_until = NULL, next_attempt_at = now(), "
	    /* a fresh start: resolved by WHOIS again, its fallback chain
	     * (lib/fallback.h) begun anew */
	    "fallback_step = 0, fallback_level = 0, fallback_tried = '{}', "
	    "fallback_chain = NULL, fallback_why = NULL WHERE %s AND "
	    "($1 = 0 OR t.campaign_id = $1) AND (cardinality($2::inet[]) = 0 "
	    "OR t.ip = ANY ($2::inet[])) AND t.campaign_id NOT IN ("
	    SQL_CANCELLED ") RETURNING 1) SELECT count(*) FROM r",
	    retry_where[kind]);
	if (bad < 0) {
		iw_err_set(err, "out of memory");
		goto out;
	}
	p[1] = arr.data;
	if (db_cmd(db, "BEGIN", 0, NULL, "begin", err) < 0)
		goto out;
	res = db_exec(db, sql.data, 2, p, "retry", err);
	if (res == NULL || db_cmd(db, "NOTIFY " IW_DB_CHANNEL, 0, NULL,
	    "notify", err) < 0 || db_cmd(db, "COMMIT", 0, NULL, "commit",
	    err) < 0) {
		db_rollback(db);
		goto out;
	}
	*n = (long)iw_db_get_ll(res, 0, 0);
	rc = 0;
out:
	PQclear(res);
	iw_buf_free(&arr);
	iw_buf_free(&sql);
	return rc;
}

int
iw_db_rescue(struct iw_db *db, long *targets, struct iw_err *err)
{
	PGresult *res;

	/* Letters need nothing here: one whose daemon died in flight is due
	 * again when its lease runs out (same Message-ID, same stored
	 * bytes) -- at least once, never lost.  Targets are given back so
	 * that the next pass's claim finds them in its index. */
	*targets = 0;
	res = db_exec(db, "UPDATE target SET locked_by = NULL, "
	    "locked_until = NULL WHERE state = 'new' AND locked_until < now()",
	    0, NULL, "rescue targets", err);
	if (res == NULL)
		return -1;
	*targets = cmd_tuples(res);
	PQclear(res);
	return 0;
}

int
iw_db_release(struct iw_db *db, const char *owner, struct iw_err *err)
{
	const char *p[1] = { owner };

	if (db_cmd(db, "UPDATE target SET locked_by = NULL, locked_until = "
	    "NULL WHERE locked_by = $1 AND state = 'new'", 1, p,
	    "release targets", err) < 0)
		return -1;
	return db_cmd(db, "UPDATE letter l SET state = " SQL_REQUEUE("l")
	    ", attempts = greatest(attempts - 1, "
	    "0), locked_by = NULL, locked_until = NULL "
	    "WHERE locked_by = $1 AND state IN ('queued', 'deferred')", 1, p,
	    "release letters", err);
}

int
iw_db_next_due(struct iw_db *db, long long *seconds, struct iw_err *err)
{
	PGresult *res;

	res = db_exec(db, "SELECT ceil(extract(epoch FROM least("
	    "(SELECT min(greatest(next_attempt_at, coalesce(locked_until, "
	    "next_attempt_at))) FROM target WHERE state = 'new' AND "
	    "campaign_id NOT IN (" SQL_CANCELLED ")), "
	    "(SELECT min(next_attempt_at) FROM letter WHERE state IN "
	    "('queued', 'deferred') AND next_attempt_at > now() AND "
	    "campaign_id IN (" SQL_APPROVED ")), "
	    "(SELECT min(locked_until) FROM letter l WHERE state IN "
	    "('queued', 'deferred') AND next_attempt_at <= now() AND "
	    "locked_until IS NOT NULL AND campaign_id IN (" SQL_APPROVED "))"
	    ") - now()))::bigint", 0, NULL, "next due", err);
	if (res == NULL)
		return -1;
	if (PQgetisnull(res, 0, 0))
		*seconds = -1;
	else {
		*seconds = iw_db_get_ll(res, 0, 0);
		if (*seconds < 0)
			*seconds = 0;
	}
	PQclear(res);
	return 0;
}

int
iw_db_work_due(struct iw_db *db, int *due, struct iw_err *err)
{
	PGresult *res;

	res = db_exec(db, "SELECT EXISTS (SELECT 1 FROM target WHERE "
	    "state = 'new' AND next_attempt_at <= now() AND "
	    IW_DB_UNLEASED("target") " AND campaign_id "
	    "NOT IN (" SQL_CANCELLED ")) OR EXISTS "
	    "(SELECT 1 FROM target WHERE state = 'resolved' AND letter_id IS "
	    "NULL AND campaign_id NOT IN (" SQL_CANCELLED ")) OR EXISTS "
	    "(SELECT 1 FROM letter l WHERE state IN ('queued', "
	    "'deferred') AND next_attempt_at <= now() AND " IW_DB_UNLEASED("l")
	    " AND campaign_id IN (" SQL_APPROVED "))", 0, NULL, "work due",
	    err);
	if (res == NULL)
		return -1;
	*due = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return 0;
}

/* --- wake-ups --- */

int
iw_db_notify(struct iw_db *db, struct iw_err *err)
{
	return db_cmd(db, "NOTIFY " IW_DB_CHANNEL, 0, NULL, "notify", err);
}

int
iw_db_listen(struct iw_db *db, struct iw_err *err)
{
	return db_cmd(db, "LISTEN " IW_DB_CHANNEL, 0, NULL, "listen", err);
}

static int
drain_notifies(struct iw_db *db)
{
	PGnotify *n;
	int got = 0;

	while ((n = PQnotifies(db->conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}

int
iw_db_wait(struct iw_db *db, int timeout_ms, int wake_fd, struct iw_err *err)
{
	struct pollfd pfd[2];
	int r;

	if (PQconsumeInput(db->conn) == 0) {
		db_error(db, NULL, err, "wait");
		return -1;
	}
	if (drain_notifies(db))
		return 1;
	memset(pfd, 0, sizeof(pfd));
	pfd[0].fd = PQsocket(db->conn);
	pfd[0].events = POLLIN;
	pfd[1].fd = wake_fd;
	pfd[1].events = POLLIN;
	if (pfd[0].fd < 0) {
		iw_err_set(err, "database: wait: no connection");
		return -1;
	}
	r = poll(pfd, wake_fd >= 0 ? 2 : 1, timeout_ms);
	if (r < 0) {
		if (errno == EINTR)
			return 0;
		iw_err_set(err, "database: wait: %s", strerror(errno));
		return -1;
	}
	if (r == 0 || !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	if (PQconsumeInput(db->conn) == 0) {
		db_error(db, NULL, err, "wait");
		return -1;
	}
	return drain_notifies(db);
}

/* --- status --- */

int
iw_db_status(struct iw_db *db, int64_t campaign_id, struct iw_db_status *st,
    struct iw_err *err)
{
	static const struct { const char *name; size_t off; } tmap[] = {
		{ "new", offsetof(struct iw_db_status, targets_new) },
		{ "resolved", offsetof(struct iw_db_status, targets_resolved) },
		{ "unresolved",
		    offsetof(struct iw_db_status, targets_unresolved) },
		{ "notified", offsetof(struct iw_db_status, targets_notified) },
		{ "held", offsetof(struct iw_db_status, targets_held) },
		{ "control", offsetof(struct iw_db_status, targets_control) },
	}, lmap[] = {
		{ "queued", offsetof(struct iw_db_status, letters_queued) },
		{ "sending", offsetof(struct iw_db_status, letters_sending) },
		{ "deferred", offsetof(struct iw_db_status, letters_deferred) },
		{ "sent", offsetof(struct iw_db_status, letters_sent) },
		{ "failed", offsetof(struct iw_db_status, letters_failed) },
		{ "bounced", offsetof(struct iw_db_status, letters_bounced) },
		{ "cancelled",
		    offsetof(struct iw_db_status, letters_cancelled) },
	};
	char cid[32];
	const char *p[1] = { cid };
	PGresult *res;
	int i;
	size_t k;

	memset(st, 0, sizeof(*st));
	snprintf(cid, sizeof(cid), "%" PRId64, campaign_id);
	/* A resolved IP is notified once its letter is sent (a bounce
	 * later does not unsend it; a hard bounce holds the IP).  $1 = 0:
	 * every campaign. */
	res = db_exec(db, "SELECT 't', CASE WHEN t.state = 'resolved' AND "
	    "l.state IN ('sent', 'bounced') THEN 'notified' ELSE t.state END, "
	    "count(*) FROM target t LEFT JOIN letter l ON l.id = t.letter_id "
	    "WHERE $1 = 0 OR t.campaign_id = $1 GROUP BY 2 "
	    "UNION ALL SELECT 'l', " IW_DB_LETTER_STATE("l") ", count(*) "
	    "FROM letter l WHERE $1 = 0 OR campaign_id = $1 GROUP BY 2 "
	    "UNION ALL SELECT 'c', '', count(*) FROM campaign "
	    "WHERE $1 = 0 OR id = $1 "
	    "UNION ALL SELECT 's', '', count(*) FROM suppression "
	    "UNION ALL SELECT 'o', '', count(*) FROM contact_override", 1,
	    p, "status", err);
	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res); i++) {
		const char *kind = PQgetvalue(res, i, 0);
		const char *state = PQgetvalue(res, i, 1);
		long v = (long)iw_db_get_ll(res, i, 2);

		if (*kind == 't') {
			for (k = 0; k < sizeof(tmap) / sizeof(tmap[0]); k++)
				if (strcmp(state, tmap[k].name) == 0)
					*(long *)((char *)st + tmap[k].off) = v;
		} else if (*kind == 'l') {
			for (k = 0; k < sizeof(lmap) / sizeof(lmap[0]); k++)
				if (strcmp(state, lmap[k].name) == 0)
					*(long *)((char *)st + lmap[k].off) = v;
		} else if (*kind == 'c')
			st->campaigns = v;
		else if (*kind == 's')
			st->suppressed = v;
		else
			st->overrides = v;
	}
	PQclear(res);
	return 0;
}

/* --- operator lists --- */

static int
each_row(struct iw_db *db, const char *sql, iw_db_row_fn fn, void *arg,
    const char *what, struct iw_err *err)
{
	const char *cols[8];
	PGresult *res;
	int i, j, nc;

	res = db_exec(db, sql, 0, NULL, what, err);
	if (res == NULL)
		return -1;
	nc = PQnfields(res);
	if (nc > 8)
		nc = 8;
	for (i = 0; i < PQntuples(res); i++) {
		for (j = 0; j < nc; j++)
			cols[j] = PQgetisnull(res, i, j) ? "" :
			    PQgetvalue(res, i, j);
		fn(arg, nc, cols);
	}
	PQclear(res);
	return 0;
}

int
iw_db_override_set(struct iw_db *db, const char *cidr, const char *email,
    struct iw_err *err)
{
	const char *p[2] = { cidr, email };

	return db_cmd(db, "INSERT INTO contact_override (network, email) "
	    "VALUES ($1::cidr, $2) ON CONFLICT (network) DO UPDATE SET "
	    "email = EXCLUDED.email, created_at = now()", 2, p,
	    "contact set", err);
}

int
iw_db_override_del(struct iw_db *db, const char *cidr, int *deleted,
    struct iw_err *err)
{
	const char *p[1] = { cidr };
	PGresult *res;

	res = db_exec(db, "DELETE FROM contact_override WHERE network = "
	    "$1::cidr", 1, p, "contact del", err);
	if (res == NULL)
		return -1;
	*deleted = cmd_tuples(res) > 0;
	PQclear(res);
	return 0;
}

int
iw_db_override_list(struct iw_db *db, iw_db_row_fn fn, void *arg,
    struct iw_err *err)
{
	return each_row(db, "SELECT network::text, email, "
	    "to_char(created_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM contact_override "
	    "ORDER BY network", fn, arg, "contact list", err);
}

int
iw_db_suppress_add(struct iw_db *db, const char *email, const char *reason,
    const char *source, struct iw_err *err)
{
	const char *p[3] = { email, nz(reason), source };

	return db_cmd(db, "INSERT INTO suppression (email, reason, source) "
	    "VALUES ($1, $2, $3) ON CONFLICT (email) DO UPDATE SET "
	    "reason = coalesce(EXCLUDED.reason, suppression.reason), "
	    "source = EXCLUDED.source", 3, p, "suppress add", err);
}

int
iw_db_suppress_del(struct iw_db *db, const char *email, int *deleted,
    struct iw_err *err)
{
	const char *p[1] = { email };
	PGresult *res;

	res = db_exec(db, "DELETE FROM suppression WHERE email = $1", 1, p,
	    "suppress del", err);
	if (res == NULL)
		return -1;
	*deleted = cmd_tuples(res) > 0;
	PQclear(res);
	return 0;
}

int
iw_db_suppress_list(struct iw_db *db, iw_db_row_fn fn, void *arg,
    struct iw_err *err)
{
	return each_row(db, "SELECT email, source, coalesce(reason, ''), "
	    "to_char(created_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM suppression ORDER BY email",
	    fn, arg, "suppress list", err);
}
