/*
 * audit: the read-only views of what ipwarn did.  See audit.h.  Every
 * listing takes its filters as parameters ($1 campaign id or 0, $2 state
 * or ''); times are ISO 8601 in UTC.
 */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The locale a letter was rendered in, once it was; before, the one
 * chosen when it was built (m: its letter_message). */
#define LOCALE "coalesce(m.locale, l.locale)"

/* An IP's state as the operator sees it: resolved and in a letter that
 * went out is 'notified' (see iw_db_status). */
#define TARGET_STATE "CASE WHEN t.state = 'resolved' AND l.state IN " \
	"('sent', 'bounced') THEN 'notified' ELSE t.state END"

const char *const iw_audit_target_states[] = { "new", "resolved",
	"unresolved", "notified", "held", "control", NULL };
const char *const iw_audit_letter_states[] = { "queued", "sending",
	"deferred", "sent", "failed", "bounced", "cancelled", NULL };

int
iw_audit_state_ok(const char *const *states, const char *s)
{
	for (; *states != NULL; states++)
		if (strcmp(*states, s) == 0)
			return 1;
	return 0;
}

static long
listing(struct iw_db *db, const char *sql, const struct iw_audit_filter *f,
    iw_db_named_row_fn fn, void *arg, const char *what, struct iw_err *err)
{
	char cid[32];
	const char *p[2] = { cid, f->state != NULL ? f->state : "" };

	snprintf(cid, sizeof(cid), "%" PRId64, f->campaign_id);
	return iw_db_each(db, sql, 2, p, fn, arg, what, err);
}

long
iw_audit_targets(struct iw_db *db, const struct iw_audit_filter *f,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err)
{
	return listing(db, "SELECT * FROM (SELECT host(t.ip) AS ip, "
	    "c.name AS campaign, " TARGET_STATE " AS state, "
	    "t.contact_email AS contact, t.contact_source, t.whois_server, "
	    "t.whois_network, t.country, t.locale, t.letter_id AS letter, "
	    "t.reason FROM target t JOIN campaign c ON c.id = t.campaign_id "
	    "LEFT JOIN letter l ON l.id = t.letter_id WHERE ($1 = 0 OR "
	    "t.campaign_id = $1) ORDER BY t.campaign_id, t.ip) v "
	    "WHERE $2 = '' OR v.state = $2", f, fn, arg, "targets", err);
}

long
iw_audit_letters(struct iw_db *db, const struct iw_audit_filter *f,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err)
{
	return listing(db, "SELECT l.id AS letter, l.ref, c.name AS campaign, "
	    "l.contact_email AS recipient, " LOCALE " AS locale, "
	    IW_DB_LETTER_STATE("l") " AS state, (SELECT count(*) FROM "
	    "letter_target m WHERE m.letter_id = l.id) AS ips, l.attempts, " TS("l.created_at") " AS created, "
	    TS("l.sent_at") " AS sent_at, l.last_reply AS relay_reply, "
	    "l.bounce_class, m.sha256 AS message_sha256 FROM letter l "
	    "JOIN campaign c ON c.id = l.campaign_id LEFT JOIN letter_message "
	    "m ON m.letter_id = l.id WHERE ($1 = 0 OR l.campaign_id = $1) "
	    "AND ($2 = '' OR " IW_DB_LETTER_STATE("l") " = $2) ORDER BY l.id",
	    f, fn, arg,
	    "letters", err);
}

long
iw_audit_bounces(struct iw_db *db, const struct iw_audit_filter *f,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err)
{
	return listing(db, "SELECT b.id AS bounce, " TS("b.received_at")
	    " AS received, b.via, b.verified, b.letter_id AS letter, "
	    "c.name AS campaign, b.email, b.class, b.reason, b.status, "
	    "b.diagnostic, "
	    "b.effect FROM bounce b LEFT JOIN letter l ON l.id = b.letter_id "
	    "LEFT JOIN campaign c ON c.id = l.campaign_id WHERE ($1 = 0 OR "
	    "l.campaign_id = $1) AND ($2 = '' OR b.class = $2) ORDER BY b.id",
	    f, fn, arg, "bounces", err);
}

long
iw_audit_export(struct iw_db *db, int64_t campaign_id,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err)
{
	struct iw_audit_filter f = { campaign_id, NULL };

	/* The IPs of its control group follow the letters' rows, with no
	 * letter and letter_state 'control'. */
	return listing(db, "SELECT * FROM (SELECT c.name AS campaign, "
	    "l.id AS letter, l.ref, "
	    "l.message_id, l.contact_email AS recipient, " LOCALE " AS locale, "
	    "host(t.ip) AS ip, t.country, t.evidence, "
	    TS("t.observed_at") " AS observed, t.contact_source, "
	    "t.whois_server, t.whois_network, " IW_DB_LETTER_STATE("l")
	    " AS letter_state, "
	    TS("(SELECT min(a.at) FROM attempt a WHERE a.letter_id = l.id)")
	    " AS first_attempt, " TS("l.sent_at") " AS sent_at, "
	    "l.last_reply AS relay_reply, l.bounce_class, l.bounce_status, "
	    "m.sha256 AS message_sha256 FROM letter_target lt JOIN letter l "
	    "ON l.id = lt.letter_id JOIN target t ON t.id = lt.target_id "
	    "JOIN campaign c ON c.id = l.campaign_id LEFT JOIN letter_message "
	    "m ON m.letter_id = l.id WHERE l.campaign_id = $1 AND $2 = '' "
	    "UNION ALL SELECT c.name, NULL, NULL, NULL, t.contact_email, "
	    "t.locale, "
	    "host(t.ip), t.country, t.evidence, " TS("t.observed_at") ", "
	    "t.contact_source, t.whois_server, t.whois_network, 'control', "
	    "NULL, NULL, NULL, NULL, NULL, NULL FROM target t JOIN campaign c "
	    "ON c.id = t.campaign_id WHERE t.campaign_id = $1 AND "
	    "t.state = 'control') u ORDER BY u.letter NULLS LAST, "
	    "u.ip::inet", &f, fn, arg, "export", err);
}

static long
by_letter(struct iw_db *db, const char *sql, int64_t id,
    iw_db_named_row_fn fn, void *arg, const char *what, struct iw_err *err)
{
	char num[32];
	const char *p[1] = { num };

	snprintf(num, sizeof(num), "%" PRId64, id);
	return iw_db_each(db, sql, 1, p, fn, arg, what, err);
}

long
iw_audit_letter(struct iw_db *db, int64_t id, iw_db_named_row_fn fn,
    void *arg, struct iw_err *err)
{
	return by_letter(db, "SELECT l.id AS letter, l.ref, c.name AS "
	    "campaign, l.contact_email AS recipient, " LOCALE " AS locale, "
	    IW_DB_LETTER_STATE("l") " AS state, l.message_id, "
	    "m.reverse_path AS envelope_from, "
	    "l.attempts, " TS("l.created_at") " AS created, "
	    TS("m.rendered_at") " AS rendered, " TS("l.sent_at") " AS sent_at, "
	    "l.last_reply AS relay_reply, l.fail_reason, l.bounce_class, "
	    "l.bounce_status, m.sha256 AS message_sha256 FROM letter l JOIN "
	    "campaign c ON c.id = l.campaign_id LEFT JOIN letter_message m ON "
	    "m.letter_id = l.id WHERE l.id = $1", id, fn, arg, "letter", err);
}

long
iw_audit_letter_attempts(struct iw_db *db, int64_t id,
    iw_db_named_row_fn fn, void *arg, struct iw_err *err)
{
	return by_letter(db, "SELECT " TS("at") " AS at, daemon, relay, "
	    "outcome, stage, code, enhanced, reply FROM attempt WHERE "
	    "letter_id = $1 ORDER BY at, id", id, fn, arg, "attempts", err);
}

long
iw_audit_letter_ips(struct iw_db *db, int64_t id, iw_db_named_row_fn fn,
    void *arg, struct iw_err *err)
{
	return by_letter(db, "SELECT host(t.ip) AS ip, t.country, "
	    "t.contact_source, t.whois_server, t.whois_network, t.evidence, "
	    TS("t.observed_at") " AS observed FROM letter_target m JOIN "
	    "target t ON t.id = m.target_id WHERE m.letter_id = $1 "
	    "ORDER BY t.ip", id, fn, arg, "letter IPs", err);
}

long
iw_audit_letter_bounces(struct iw_db *db, int64_t id, iw_db_named_row_fn fn,
    void *arg, struct iw_err *err)
{
	return by_letter(db, "SELECT b.id AS bounce, " TS("b.received_at")
	    " AS received, b.via, b.class, b.reason, b.status, b.diagnostic, "
	    "b.effect "
	    "FROM bounce b WHERE b.letter_id = $1 AND b.verified ORDER BY "
	    "b.id", id, fn, arg, "letter bounces", err);
}

int
iw_audit_letter_message(struct iw_db *db, int64_t id, char **msg,
    size_t *len, char *reverse_path, size_t rpsz, struct iw_err *err)
{
	char num[32];
	const char *p[1] = { num };
	PGresult *res;

	*msg = NULL;
	*len = 0;
	snprintf(num, sizeof(num), "%" PRId64, id);
	res = iw_db_exec(db, "SELECT message, reverse_path FROM "
	    "letter_message WHERE letter_id = $1", 1, p, "letter message", err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		*len = (size_t)PQgetlength(res, 0, 0);
		*msg = iw_strndup(PQgetvalue(res, 0, 0), *len);
		iw_strlcpy(reverse_path, PQgetvalue(res, 0, 1), rpsz);
		if (*msg == NULL) {
			PQclear(res);
			iw_err_set(err, "out of memory");
			return -1;
		}
	}
	PQclear(res);
	return 0;
}
