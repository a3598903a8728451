/*
 * smtp: delivery of rendered messages to the relay through libESMTP.  One
 * call carries a batch of messages in one SMTP session (connection reuse;
 * PIPELINING when the relay offers it) and reports, per message, the outcome
 * and the relay's reply.  Envelope addresses given here must already be
 * validated mailboxes; message data is CRLF-terminated RFC 5322 text.
 */
#ifndef IW_SMTP_H
#define IW_SMTP_H

#include <stddef.h>

#include "util.h"

enum iw_smtp_starttls {
	IW_SMTP_TLS_DISABLED,
	IW_SMTP_TLS_ENABLED,	/* use when offered */
	IW_SMTP_TLS_REQUIRED,
};

struct iw_smtp_conf {
	const char *relay;		/* "host:port" or "[v6]:port" */
	enum iw_smtp_starttls starttls;
	const char *ca_file;		/* NULL: system default */
	const char *username;		/* NULL: no AUTH */
	const char *password;
	const char *helo;		/* NULL: gethostname() */
	int timeout_s;			/* per protocol step; default 60 */
};

enum iw_smtp_outcome {
	IW_SMTP_NOT_TRIED = 0,
	IW_SMTP_SENT,			/* relay accepted the message (2xx) */
	IW_SMTP_TEMPFAIL,		/* 4xx, connection failure, timeout */
	IW_SMTP_PERMFAIL,		/* 5xx */
};

struct iw_smtp_msg {
	/* in */
	const char *reverse_path;	/* VERP address */
	const char *rcpt;
	const char *envid;		/* DSN ENVID, may be NULL */
	const char *data;		/* the message, CRLF line ends */
	size_t len;
	/* out */
	enum iw_smtp_outcome outcome;
	int code;			/* SMTP reply code, 0 if none */
	char enhanced[16];		/* "5.1.1" or "" */
	char stage[8];			/* "connect", "greet", "mail", "rcpt",
					   "data", "dot", "tls", "auth", "" */
	char reply[512];		/* the relay's reply text (sanitised) */
};

/*
 * Send msgs[0..n) in one session.  Every message gets an outcome.  Returns
 * 0 if the session ran (whatever the per-message outcomes), -1 when the
 * session could not be used at all (connect, greeting, TLS, AUTH): then
 * every message is IW_SMTP_TEMPFAIL (a relay that cannot be used is the
 * relay's problem, not the letters', whatever its code) and
 * err says why.
 */
int iw_smtp_send_batch(const struct iw_smtp_conf *conf,
    struct iw_smtp_msg *msgs, size_t n, struct iw_err *err);

#endif
