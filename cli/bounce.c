/*
 * ipwarn bounce: take one returned message on stdin, as an MTA delivers it
 * to a command (Postfix pipe(8) or local(8) alias, procmail), and record
 * what it means (lib/feedback).  The exit status is for the MTA: 0 when the
 * message was taken — recorded, also when forged, foreign or not a bounce
 * (then kept raw for review) — and 75 when it must be offered again
 * (database unreachable), so that no bounce is ever lost.  --dry-run only
 * parses and prints the contract's JSON object; it needs no database.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce.h"
#include "bounce_json.h"
#include "cli.h"
#include "feedback.h"

static const char usage[] = "usage: ipwarn bounce [--dry-run] "
    "[--recipient ADDRESS] < MESSAGE";

/* All of stdin; beyond IW_BOUNCE_MAX_INPUT it is read and dropped so the
 * MTA never sees a broken pipe.  -1 on a read error. */
static int
read_all(struct iw_buf *b)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (b->len < IW_BOUNCE_MAX_INPUT &&
		    iw_buf_append(b, chunk, (size_t)n) < 0)
			return -1;
	}
}

/* The envelope recipient: --recipient, else what Postfix local(8) exports
 * to a command it delivers to (an alias "|ipwarn bounce"). */
static const char *
envelope_recipient(const char *opt)
{
	const char *e;

	if (opt != NULL && *opt != '\0')
		return opt;
	if ((e = getenv("ORIGINAL_RECIPIENT")) != NULL && *e != '\0')
		return e;
	if ((e = getenv("RECIPIENT")) != NULL && *e != '\0')
		return e;
	return NULL;
}

static int
dry_run(struct cli *c, const struct iw_bounce *b, const char *rcpt)
{
	struct iw_buf out = IW_BUF_INIT;
	int64_t id = 0;
	int verified;

	verified = iw_feedback_match(b, rcpt, c->cfg->sender_verp_secret,
	    &id, NULL);
	if (iw_bounce_json(b, verified, verified ? (long long)id : 0,
	    &out) < 0) {
		iw_buf_free(&out);
		cli_error("bounce: out of memory");
		return EX_TEMPFAIL;
	}
	printf("%s\n", out.data);
	iw_buf_free(&out);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

static int
take(struct cli *c, const struct iw_bounce *b, const char *rcpt,
    const struct iw_buf *raw)
{
	struct iw_feedback_conf fc = { c->cfg->sender_verp_secret,
	    c->cfg->bounces_soft_limit };
	struct iw_feedback_result res;
	struct iw_err err;

	if (iw_db_connect(c->cfg->db_conninfo, &c->db, &err) < 0) {
		cli_error("%s (the MTA should retry)", err.msg);
		return EX_TEMPFAIL;
	}
	/* An old schema is fixed by `db init`; till then the MTA retries. */
	if (iw_db_schema_check(c->db, &err) < 0 ||
	    iw_feedback_record(c->db, &fc, b, rcpt, IW_FEEDBACK_PIPE,
	    raw->data, raw->len, &res, &err) < 0) {
		cli_error("%s (the MTA should retry)", err.msg);
		return EX_TEMPFAIL;
	}
	if (res.duplicate) {
		printf("bounce %lld again: already recorded, not counted\n",
		    (long long)res.bounce_id);
		return 0;
	}
	printf("bounce %lld: %s, %s", (long long)res.bounce_id,
	    iw_bounce_class_name(res.cls), res.verified ? "verified" :
	    "unverified");
	if (res.letter_id > 0)
		printf(", letter %lld%s%s", (long long)res.letter_id,
		    res.letter_bounced ? " bounced" : "",
		    res.suppressed ? ", contact suppressed" : "");
	else
		printf(", unmatched (kept for review)");
	putchar('\n');
	return 0;
}

int
cmd_bounce(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "recipient", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct iw_buf raw = IW_BUF_INIT;
	struct iw_bounce *b = NULL;
	struct iw_err err;
	const char *rcpt_opt = NULL, *rcpt;
	int ch, dry = 0, rc;

	while ((ch = getopt_long(argc, argv, "nr:", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			dry = 1;
			break;
		case 'r':
			rcpt_opt = optarg;
			break;
		default:
			cli_error("%s", usage);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	if ((rc = cli_config(c, dry ? IW_CONF_SENDER :
	    IW_CONF_SENDER | IW_CONF_DATABASE)) != 0)
		return rc;
	if (read_all(&raw) < 0) {
		cli_error("bounce: reading stdin: %s", strerror(errno));
		iw_buf_free(&raw);
		return EX_TEMPFAIL;
	}
	if (iw_bounce_parse(raw.data != NULL ? raw.data : "", raw.len, &b,
	    &err) < 0) {
		cli_error("%s", err.msg);
		iw_buf_free(&raw);
		return EX_TEMPFAIL;
	}
	rcpt = envelope_recipient(rcpt_opt);
	rc = dry ? dry_run(c, b, rcpt) : take(c, b, rcpt, &raw);
	iw_bounce_free(b);
	iw_buf_free(&raw);
	return rc;
}
