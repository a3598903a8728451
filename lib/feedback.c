/*
 * feedback: record bounces against letters and keep the suppression list.
 * See feedback.h for the effects of each class.  Everything a bounce says
 * is outside text: addresses come out of lib/bounce validated, other
 * strings are made printable UTF-8 here, and all of it reaches SQL only as
 * statement parameters.
 */
#include "feedback.h"
#include "fallback.h"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce_json.h"
#include "bounce_mime.h"
#include "verp.h"

/* Everything one bounce row needs, gathered before the transaction. */
struct rec {
	enum iw_feedback_via via;
	int verified;
	int64_t letter_id;
	enum iw_bounce_class cls;
	char reason[IW_BOUNCE_REASON_MAX];
	const char *kind;
	char message_id[IW_BOUNCE_ID_MAX];	/* "" for none */
	unsigned char sha256[32];
	int have_sha256;			/* 0: no message (SMTP) */
	char status[IW_BOUNCE_STATUS_MAX];
	char diagnostic[IW_BOUNCE_DIAG_MAX];
	char envelope[IW_BOUNCE_ADDR_MAX];
	const char *recipients;		/* JSON array */
	const char *raw;		/* NULL: not kept */
	size_t rawlen;
	int soft_limit;			/* 0: never suppress soft */
};

static const char *const via_names[] = { "pipe", "maildir", "smtp" };

static const char *
kind_name(const struct iw_bounce *b)
{
	switch (b->kind) {
	case IW_BOUNCE_KIND_DSN:	return "dsn";
	case IW_BOUNCE_KIND_BODY:	return "body";
	case IW_BOUNCE_KIND_ARF:	return "arf";
	case IW_BOUNCE_KIND_AUTOREPLY:	return "autoreply";
	case IW_BOUNCE_KIND_UNKNOWN:	break;
	}
	return "unknown";
}

/* Printable UTF-8, one line, bounded: safe for a text column and a log. */
static void
clean(char *out, size_t outsz, const char *s)
{
	if (outsz > 0)
		iw_bounce_mime_oneline(out, outsz, s != NULL ? s : "",
		    s != NULL ? strlen(s) : 0);
}

int
iw_feedback_match(const struct iw_bounce *b, const char *recipient,
    const char *secret, int64_t *letter_id, const char **where)
{
	int64_t id;

	*letter_id = 0;
	if (where != NULL)
		*where = NULL;
	if (secret == NULL || *secret == '\0')
		return 0;
	if (recipient != NULL && *recipient != '\0' &&
	    iw_verp_decode(recipient, strlen(recipient), secret, &id) == 1)
		goto found;
	recipient = NULL;
	for (size_t i = 0; i < b->nenvelope; i++)
		if (iw_verp_decode(b->envelope[i], strlen(b->envelope[i]),
		    secret, &id) == 1) {
			recipient = b->envelope[i];
			goto found;
		}
	if (b->envid[0] != '\0' &&
	    iw_verp_decode(b->envid, strlen(b->envid), secret, &id) == 1) {
		recipient = b->envid;
		goto found;
	}
	return 0;
found:
	if (id <= 0)
		return 0;
	*letter_id = id;
	if (where != NULL)
		*where = recipient;
	return 1;
}

/* The recipient the bounce is about: our contact if listed, else the
 * first one of the message's class, else the first. */
static const struct iw_bounce_rcpt *
pick_rcpt(const struct iw_bounce *b, const char *email)
{
	if (email != NULL && *email != '\0')
		for (size_t i = 0; i < b->nrcpt; i++)
			if (strcasecmp(b->rcpt[i].address, email) == 0 &&
			    b->rcpt[i].cls != IW_BOUNCE_DELIVERED)
				return &b->rcpt[i];
	for (size_t i = 0; i < b->nrcpt; i++)
		if (b->rcpt[i].cls == b->cls)
			return &b->rcpt[i];
	return b->nrcpt > 0 ? &b->rcpt[0] : NULL;
}

/* JSON array of the recipients, with reason and class beyond the
 * dry-run fields; NULL when out of memory. */
static char *
rcpt_json(const struct iw_bounce *b)
{
	struct iw_buf j = IW_BUF_INIT;
	int r = iw_buf_putc(&j, '[');

	for (size_t i = 0; r == 0 && i < b->nrcpt; i++) {
		const struct iw_bounce_rcpt *p = &b->rcpt[i];
		const char *k[] = { "address", "action", "status", "reason",
		    "diagnostic", "remote_mta", "class" };
		const char *v[] = { p->address, p->action, p->status,
		    p->reason, p->diagnostic, p->remote_mta,
		    iw_bounce_class_name(p->cls) };

		r = iw_buf_putc(&j, i > 0 ? ',' : '{');
		if (r == 0 && i > 0)
			r = iw_buf_putc(&j, '{');
		for (size_t f = 0; r == 0 && f < sizeof(k) / sizeof(k[0]);
		    f++) {
			r = iw_buf_printf(&j, "%s\"%s\": ", f > 0 ? ", " : "",
			    k[f]);
			if (r == 0)
				r = iw_json_str(&j, v[f]);
		}
		if (r == 0)
			r = iw_buf_putc(&j, '}');
	}
	if (r == 0)
		r = iw_buf_putc(&j, ']');
	if (r != 0) {
		iw_buf_free(&j);
		return NULL;
	}
	return iw_buf_steal(&j);
}

/* --------------------------------------------------------- database */

static void
pg_fail(PGconn *c, PGresult *res, const char *what, struct iw_err *err)
{
	const char *m = res != NULL ? PQresultErrorMessage(res) : "";
	char one[IW_ERR_MAX];

	if (m == NULL || *m == '\0')
		m = PQerrorMessage(c);
	iw_strlcpy(one, m != NULL && *m != '\0' ? m : "unknown error",
	    sizeof(one));
	one[strcspn(one, "\n")] = '\0';
	iw_err_set(err, "database: %s: %s", what, one);
}

static PGresult *
px(PGconn *c, const char *sql, int n, const char *const *v,
    const int *lens, const int *fmts, const char *what, struct iw_err *err)
{
	PGresult *res = PQexecParams(c, sql, n, NULL, v, lens, fmts, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	pg_fail(c, res, what, err);
	PQclear(res);
	return NULL;
}

static int
pcmd(PGconn *c, const char *sql, int n, const char *const *v,
    const char *what, struct iw_err *err)
{
	PGresult *res = px(c, sql, n, v, NULL, NULL, what, err);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* Lock the letter; its contact into email, "" when there is no such
 * letter.  -1 on a database error. */
static int
lock_letter(PGconn *c, int64_t id, char *email, size_t emailsz,
    struct iw_err *err)
{
	char sid[24];
	const char *v[1] = { sid };
	PGresult *res;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	res = px(c, "SELECT contact_email FROM letter WHERE id = $1 "
	    "FOR UPDATE", 1, v, NULL, NULL, "find letter", err);
	if (res == NULL)
		return -1;
	iw_strlcpy(email, PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "",
	    emailsz);
	PQclear(res);
	return 0;
}

/* The bounce row; 0 rows (*bounce_id 0) when the same message is there. */
static int
insert_bounce(PGconn *c, const struct rec *r, const char *email,
    const char *effect, int64_t *bounce_id, struct iw_err *err)
{
	char sid[24];
	const char *v[15];
	int lens[15] = { 0 }, fmts[15] = { 0 };
	PGresult *res;

	snprintf(sid, sizeof(sid), "%lld", (long long)r->letter_id);
	v[0] = via_names[r->via];
	v[1] = r->verified ? "t" : "f";
	v[2] = r->letter_id > 0 ? sid : NULL;
	v[3] = email != NULL && *email != '\0' ? email : NULL;
	v[4] = iw_bounce_class_name(r->cls);
	v[5] = r->kind;
	v[6] = r->status[0] != '\0' ? r->status : NULL;
	v[7] = r->diagnostic[0] != '\0' ? r->diagnostic : NULL;
	v[8] = r->envelope[0] != '\0' ? r->envelope : NULL;
	v[9] = r->recipients;
	v[10] = effect;
	v[11] = r->raw;
	v[12] = r->reason[0] != '\0' ? r->reason : NULL;
	v[13] = r->message_id[0] != '\0' ? r->message_id : NULL;
	v[14] = r->have_sha256 ? (const char *)r->sha256 : NULL;
	/* the raw message and its digest go as binary bytea */
	lens[11] = (int)r->rawlen;
	fmts[11] = 1;
	lens[14] = (int)sizeof(r->sha256);
	fmts[14] = 1;
	res = px(c, "INSERT INTO bounce (via, verified, letter_id, email, "
	    "class, kind, status, diagnostic, envelope, recipients, effect, "
	    "raw, reason, message_id, sha256) VALUES ($1, $2, $3, $4, $5, $6, "
	    "$7, $8, $9, $10::jsonb, $11, $12, $13, $14, $15) "
	    "ON CONFLICT DO NOTHING RETURNING id", 15, v, lens, fmts,
	    "record bounce", err);
	if (res == NULL)
		return -1;
	*bounce_id = PQntuples(res) == 1 ?
	    strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	return 0;
}

/*
 * The bounce already recorded with this message's digest or Message-ID:
 * its id, or 0.  (A bounce delivered by pipe and to the maildir, or piped
 * twice, counts once.)
 */
static int
find_duplicate(PGconn *c, const struct rec *r, int64_t *id,
    struct iw_err *err)
{
	const char *v[2];
	int lens[2] = { (int)sizeof(r->sha256), 0 }, fmts[2] = { 1, 0 };
	PGresult *res;

	*id = 0;
	if (!r->have_sha256 && r->message_id[0] == '\0')
		return 0;
	v[0] = r->have_sha256 ? (const char *)r->sha256 : NULL;
	v[1] = r->message_id[0] != '\0' ? r->message_id : NULL;
	res = px(c, "SELECT id FROM bounce WHERE sha256 = $1 OR "
	    "message_id = $2 ORDER BY id LIMIT 1", 2, v, lens, fmts,
	    "find duplicate bounce", err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1)
		*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/* 'bounced' with class, status and diagnostic; a later, weaker bounce
 * (soft after hard) does not overwrite a stronger one.  1 if changed.
 * A synchronous RCPT rejection keeps the letter 'failed' (the relay never
 * took it) and only notes the class: the send state says what happened in
 * the session, the bounce columns what it means for the address. */
static int
bounce_letter(PGconn *c, const struct rec *r, struct iw_err *err)
{
	char sid[24];
	const char *v[5];
	PGresult *res;
	int n;

	snprintf(sid, sizeof(sid), "%lld", (long long)r->letter_id);
	v[4] = r->via == IW_FEEDBACK_SMTP ? "t" : "f";
	v[0] = sid;
	v[1] = iw_bounce_class_name(r->cls);
	v[2] = r->status[0] != '\0' ? r->status : NULL;
	v[3] = r->diagnostic[0] != '\0' ? r->diagnostic : NULL;
	res = px(c, "UPDATE letter SET state = CASE WHEN $5::bool THEN state "
	    "ELSE 'bounced' END, bounce_class = $2, "
	    "bounce_status = $3, bounce_diagnostic = $4 WHERE id = $1 AND "
	    "(state IN ('sent', 'deferred', 'failed', 'bounced') OR "
	    "(state = 'queued' AND locked_by IS NOT NULL)) "
	    "AND (bounce_class IS NULL OR bounce_class NOT IN ('hard', "
	    "'complaint') OR $2 IN ('hard', 'complaint'))", 5, v, NULL, NULL,
	    "bounce letter", err);
	if (res == NULL)
		return -1;
	n = atoi(PQcmdTuples(res));
	PQclear(res);
	return n > 0;
}

/* Soft bounces of email recorded within the window. */
static int
soft_count(PGconn *c, const char *email, long *n, struct iw_err *err)
{
	char days[16];
	const char *v[2] = { email, days };
	PGresult *res;

	snprintf(days, sizeof(days), "%d", IW_FEEDBACK_SOFT_DAYS);
	res = px(c, "SELECT count(*) FROM bounce WHERE verified AND "
	    "class = 'soft' AND email = $1 AND received_at > now() - "
	    "make_interval(days => $2::int)", 2, v, NULL, NULL,
	    "count soft bounces", err);
	if (res == NULL)
		return -1;
	*n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/* Suppress email (an operator's entry is kept as it is) and move the
 * IPs of the bounced letter on to the next contact of their fallback
 * chain (lib/fallback.c): its contact was never reached.  They may still
 * be 'resolved' when the bounce overtook its send's result. */
static int
suppress(PGconn *c, const struct rec *r, const char *email,
    const char *why, struct iw_err *err)
{
	char reason[IW_BOUNCE_DIAG_MAX + 64], chain[128];
	const char *v[2] = { email, reason };

	snprintf(reason, sizeof(reason), "%s%s%s%s%s", why,
	    r->status[0] != '\0' ? " " : "", r->status,
	    r->diagnostic[0] != '\0' ? ": " : "", r->diagnostic);
	if (pcmd(c, "INSERT INTO suppression (email, reason, source) "
	    "VALUES ($1, $2, 'bounce') ON CONFLICT (email) DO NOTHING", 2, v,
	    "suppress", err) < 0)
		return -1;
	if (r->cls == IW_BOUNCE_COMPLAINT)
		return 0;	/* the letter arrived: its IPs were notified */
	snprintf(chain, sizeof(chain), "%s%s%s", r->via == IW_FEEDBACK_SMTP &&
	    r->cls == IW_BOUNCE_HARD ? "refused at RCPT" : why,
	    r->status[0] != '\0' ? " " : "", r->status);
	return iw_fallback_move_letter(c, r->letter_id, chain, err) < 0 ?
	    -1 : 0;
}

static int
apply(PGconn *c, const struct rec *r, const char *email,
    struct iw_feedback_result *res, struct iw_err *err)
{
	long n;

	switch (r->cls) {
	case IW_BOUNCE_HARD:
	case IW_BOUNCE_COMPLAINT:
	case IW_BOUNCE_SOFT:
	case IW_BOUNCE_OURS:
		break;
	default:
		return 0;	/* recorded only */
	}
	if ((res->letter_bounced = bounce_letter(c, r, err)) < 0)
		return -1;
	if (r->cls == IW_BOUNCE_HARD || r->cls == IW_BOUNCE_COMPLAINT) {
		if (suppress(c, r, email, r->cls == IW_BOUNCE_HARD ?
		    "hard bounce" : "complaint", err) < 0)
			return -1;
		res->suppressed = 1;
	} else if (r->cls == IW_BOUNCE_SOFT && r->soft_limit > 0) {
		char why[64];

		if (soft_count(c, email, &n, err) < 0)
			return -1;
		n++;	/* this one, recorded after its effects */
		if (n >= r->soft_limit) {
			snprintf(why, sizeof(why), "%ld soft bounces in %d "
			    "days, last", n, IW_FEEDBACK_SOFT_DAYS);
			if (suppress(c, r, email, why, err) < 0)
				return -1;
			res->suppressed = 1;
		}
	}
	return 0;
}

static const char *
effect_of(const struct rec *r, const struct iw_feedback_result *res)
{
	if (!r->verified)
		return "unmatched: no verified VERP token";
	if (r->letter_id <= 0 || res->email[0] == '\0')
		return "unmatched: no such letter";
	if (res->suppressed)
		return "letter bounced, contact suppressed";
	if (res->letter_bounced)
		return "letter bounced";
	switch (r->cls) {
	case IW_BOUNCE_HARD: case IW_BOUNCE_SOFT: case IW_BOUNCE_OURS:
	case IW_BOUNCE_COMPLAINT:
		return "recorded (letter not in a state to bounce)";
	default:
		return "recorded";
	}
}

/* A duplicate: nothing recorded, nothing applied, the first one named. */
static int
duplicate(PGconn *c, int64_t first, struct iw_feedback_result *res)
{
	enum iw_bounce_class cls = res->cls;
	int verified = res->verified;

	PQclear(PQexec(c, "ROLLBACK"));
	memset(res, 0, sizeof(*res));
	res->duplicate = 1;
	res->bounce_id = first;
	res->cls = cls;
	res->verified = verified;
	return 0;
}

/* One bounce, one transaction. */
static int
record(struct iw_db *db, struct rec *r, struct iw_feedback_result *res,
    struct iw_err *err)
{
	PGconn *c = (PGconn *)iw_db_pgconn(db);
	char email[256] = "";
	int64_t first;

	memset(res, 0, sizeof(*res));
	res->verified = r->verified;
	res->cls = r->cls;
	if (pcmd(c, "BEGIN", 0, NULL, "begin", err) < 0)
		return -1;
	/* the letter's lock also orders two deliveries of one bounce */
	if (r->verified && r->letter_id > 0 &&
	    lock_letter(c, r->letter_id, email, sizeof(email), err) < 0)
		goto fail;
	if (find_duplicate(c, r, &first, err) < 0)
		goto fail;
	if (first > 0)
		return duplicate(c, first, res);
	if (email[0] == '\0')
		r->letter_id = 0;	/* verified, but not (any more) ours */
	iw_strlcpy(res->email, email, sizeof(res->email));
	res->letter_id = r->letter_id;
	if (r->letter_id > 0 && apply(c, r, email, res, err) < 0)
		goto fail;
	if (insert_bounce(c, r, email, effect_of(r, res), &res->bounce_id,
	    err) < 0)
		goto fail;
	if (res->bounce_id == 0)	/* lost a race with its twin */
		return duplicate(c, 0, res);
	if (pcmd(c, "COMMIT", 0, NULL, "commit", err) < 0)
		goto fail;
	return 0;
fail:
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

int
iw_feedback_record(struct iw_db *db, const struct iw_feedback_conf *fc,
    const struct iw_bounce *b, const char *recipient,
    enum iw_feedback_via via, const char *raw, size_t rawlen,
    struct iw_feedback_result *res, struct iw_err *err)
{
	struct rec r;
	const struct iw_bounce_rcpt *p;
	const char *where = NULL;
	char *json;
	int rc;

	memset(&r, 0, sizeof(r));
	r.via = via;
	r.cls = b->cls;
	clean(r.reason, sizeof(r.reason), b->reason);
	clean(r.message_id, sizeof(r.message_id), b->message_id);
	r.have_sha256 = raw != NULL && EVP_Digest(raw, rawlen, r.sha256, NULL,
	    EVP_sha256(), NULL) == 1;
	r.kind = kind_name(b);
	r.soft_limit = fc->soft_limit;
	r.verified = iw_feedback_match(b, recipient, fc->verp_secret,
	    &r.letter_id, &where);
	clean(r.envelope, sizeof(r.envelope), where != NULL ? where :
	    recipient != NULL && *recipient != '\0' ? recipient :
	    b->nenvelope > 0 ? b->envelope[0] : "");
	/* The contact is not known before the letter is locked; the
	 * message's own class and its first matching recipient decide. */
	if ((p = pick_rcpt(b, NULL)) != NULL) {
		clean(r.status, sizeof(r.status), p->status);
		clean(r.diagnostic, sizeof(r.diagnostic), p->diagnostic);
	}
	if ((json = rcpt_json(b)) == NULL) {
		iw_err_set(err, "bounce: out of memory");
		return -1;
	}
	r.recipients = json;
	/* Kept for review: forged, foreign and not understood ones.  (A
	 * verified token whose letter is gone keeps no raw text.) */
	if (!r.verified || b->cls == IW_BOUNCE_UNDETERMINED) {
		r.raw = raw != NULL ? raw : "";
		r.rawlen = rawlen > IW_FEEDBACK_RAW_MAX ? IW_FEEDBACK_RAW_MAX :
		    rawlen;
	}
	rc = record(db, &r, res, err);
	free(json);
	return rc;
}

int
iw_feedback_smtp_reject(struct iw_db *db, int64_t letter_id,
    const char *email, int code, const char *enhanced, const char *reply,
    struct iw_err *err)
{
	struct iw_feedback_result res;
	struct iw_buf j = IW_BUF_INIT;
	struct rec r;
	int rc;

	if (code / 100 != 5 || letter_id <= 0)
		return 0;
	memset(&r, 0, sizeof(r));
	r.via = IW_FEEDBACK_SMTP;
	r.verified = 1;		/* our own session: nothing to forge */
	r.letter_id = letter_id;
	r.kind = "smtp";
	r.cls = iw_bounce_classify_reply(code, enhanced, reply, r.reason,
	    sizeof(r.reason));
	if (r.cls == IW_BOUNCE_SOFT)
		r.soft_limit = 0;	/* suppression only for hard */
	clean(r.status, sizeof(r.status), enhanced);
	clean(r.diagnostic, sizeof(r.diagnostic), reply);
	clean(r.envelope, sizeof(r.envelope), email);
	if (iw_buf_puts(&j, "[{\"address\": ") < 0 ||
	    iw_json_str(&j, r.envelope) < 0 ||
	    iw_buf_printf(&j, ", \"action\": \"failed\", \"status\": ") < 0 ||
	    iw_json_str(&j, r.status) < 0 ||
	    iw_buf_printf(&j, ", \"reply_code\": %d, \"diagnostic\": ",
	    code) < 0 || iw_json_str(&j, r.diagnostic) < 0 ||
	    iw_buf_puts(&j, ", \"reason\": ") < 0 ||
	    iw_json_str(&j, r.reason) < 0 ||
	    iw_buf_puts(&j, ", \"class\": ") < 0 ||
	    iw_json_str(&j, iw_bounce_class_name(r.cls)) < 0 ||
	    iw_buf_puts(&j, "}]") < 0) {
		iw_buf_free(&j);
		iw_err_set(err, "bounce: out of memory");
		return -1;
	}
	r.recipients = j.data;
	rc = record(db, &r, &res, err);
	iw_buf_free(&j);
	return rc;
}
