/*
 * smtp: one libESMTP session carrying a batch of messages to the relay, and
 * the translation of what happened into a per-message outcome (sent,
 * temporary or permanent failure), reply code, enhanced status, SMTP stage
 * and sanitised reply text.
 *
 * libESMTP keeps per-message and per-recipient statuses, but it has no API
 * for the session-level replies (greeting, EHLO, STARTTLS, AUTH), it
 * carries on without AUTH when AUTH fails, and a dropped connection just
 * leaves statuses empty.  So a protocol monitor follows the dialogue: every
 * command written is queued with its stage and every final reply read is
 * matched against the oldest pending command (that works with PIPELINING
 * too).  That gives the session-level reply, the step that was pending when
 * the connection died, and a way to refuse to hand over message data once
 * the session is known to be unusable.
 *
 * Relay-level failures (connect, greeting, EHLO, TLS, AUTH) return -1 and
 * make every message TEMPFAIL, even for a 5xx: they say nothing about the
 * letters, only about the relay, and the caller backs off the relay.
 *
 * libESMTP writes with write(2): callers must ignore SIGPIPE (ipwarnd does).
 * libESMTP 1.1.0 connects with a blocking connect(2) and has no connect
 * timeout; an unreachable relay is bounded by the kernel's SYN retries.
 * It also cannot parse "[v6]:port"; such relays are refused with an error.
 * No global state: sessions, SSL_CTX and AUTH contexts are per call.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <auth-client.h>
#include <libesmtp.h>

#include "smtp.h"

#define LINE_MAX_KEEP	1024		/* longest monitored line kept */
#define PENDING_MAX	64		/* commands awaiting a reply */

enum stage {
	ST_NONE, ST_CONNECT, ST_GREET, ST_TLS, ST_AUTH, ST_MAIL, ST_RCPT,
	ST_DATA, ST_DOT, ST_RSET, ST_QUIT,
};

static const char *const stage_names[] = {
	[ST_NONE] = "", [ST_CONNECT] = "connect", [ST_GREET] = "greet",
	[ST_TLS] = "tls", [ST_AUTH] = "auth", [ST_MAIL] = "mail",
	[ST_RCPT] = "rcpt", [ST_DATA] = "data", [ST_DOT] = "dot",
	[ST_RSET] = "rset", [ST_QUIT] = "quit",
};

/* Per-message state handed to the message callback. */
struct msg_state {
	struct sess *s;
	const struct iw_smtp_msg *m;
	size_t off;
	int crlf_added;
	int data_started;
};

/* A reply (or a locally made-up reason) that ended or poisoned the session. */
struct fail {
	enum stage stage;
	int code;
	char text[512];
};

struct sess {
	const struct iw_smtp_conf *conf;
	int relay_port;			/* for TCP_NODELAY */
	char *user, *pass;		/* for the AUTH interact callback */

	/* from events */
	int connected;
	int tls_ok;
	int tls_not_offered;
	char tls_why[256];

	/* from the monitor */
	enum stage pending[PENDING_MAX];
	size_t npend;
	enum stage last_popped;
	int last_code;
	char rbuf[LINE_MAX_KEEP], wbuf[LINE_MAX_KEEP];
	size_t rlen, wlen;
	uint64_t wskip;			/* BDAT chunk bytes to pass by */
	int rtrunc, wtrunc;
	char reply[LINE_MAX_KEEP];	/* current multi-line reply, joined */
	size_t replylen;
	int starttls_accepted;
	int auth_ok;
	size_t mail_written;
	int64_t last_io_ms;

	/* the session must not carry messages (AUTH/TLS trouble) */
	int poisoned;
	struct fail fail;		/* why, or the last session reply */
	int have_fail;
};

/* -- small helpers ------------------------------------------------------ */

/* Printable ASCII only, CR/LF and controls become spaces, runs collapsed. */
static void
sanitise(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t o = 0;
	int space = 0;

	if (dstsz == 0)
		return;
	for (size_t i = 0; i < len && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c < 0x20 || c > 0x7e)
			c = ' ';
		if (c == ' ') {
			if (space || o == 0)
				continue;
			space = 1;
		} else
			space = 0;
		if (o + 1 >= dstsz)
			break;
		dst[o++] = (char)c;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

/* "5.1.1 rest" -> "5.1.1"; the class must agree with the reply code. */
static void
parse_enhanced(const char *text, int code, char *out, size_t outsz)
{
	const char *p = text;
	int parts = 0;
	size_t n = 0;
	char buf[16];

	out[0] = '\0';
	if (p == NULL)
		return;
	/* skip the reply code if the text starts with it */
	if (p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' &&
	    p[2] >= '0' && p[2] <= '9' && (p[3] == ' ' || p[3] == '-'))
		p += 4;
	while (*p == ' ')
		p++;
	if (!(*p == '2' || *p == '4' || *p == '5') || p[1] != '.')
		return;
	if (code != 0 && *p - '0' != code / 100)
		return;
	while (n < sizeof buf - 1) {
		size_t digits = 0;

		while (p[0] >= '0' && p[0] <= '9' && digits < 3 &&
		    n < sizeof buf - 1) {
			buf[n++] = *p++;
			digits++;
		}
		if (digits == 0)
			return;
		parts++;
		if (parts == 3)
			break;
		if (*p != '.' || n >= sizeof buf - 1)
			return;
		buf[n++] = *p++;
	}
	if (parts != 3 || (*p != '\0' && *p != ' ' && *p != '\t'))
		return;
	buf[n] = '\0';
	iw_strlcpy(out, buf, outsz);
}

static void
set_fail(struct sess *s, enum stage st, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
set_fail(struct sess *s, enum stage st, int code, const char *fmt, ...)
{
	va_list ap;
	char tmp[512];

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	s->fail.stage = st;
	s->fail.code = code;
	sanitise(s->fail.text, sizeof s->fail.text, tmp, strlen(tmp));
	s->have_fail = 1;
}

static void
fill(struct iw_smtp_msg *m, enum iw_smtp_outcome o, enum stage st, int code,
    const char *text)
{
	m->outcome = o;
	m->code = code;
	iw_strlcpy(m->stage, stage_names[st], sizeof m->stage);
	sanitise(m->reply, sizeof m->reply, text ? text : "",
	    text ? strlen(text) : 0);
	parse_enhanced(m->reply, code, m->enhanced, sizeof m->enhanced);
}

/* From a libESMTP status, whose text lacks the code and enhanced code. */
static void
fill_status(struct iw_smtp_msg *m, enum iw_smtp_outcome o, enum stage st,
    const smtp_status_t *status)
{
	char t[sizeof m->reply];

	if (status->enh_class != 0)
		snprintf(t, sizeof t, "%d %d.%d.%d %s", status->code,
		    status->enh_class, status->enh_subject, status->enh_detail,
		    status->text ? status->text : "");
	else
		snprintf(t, sizeof t, "%d %s", status->code,
		    status->text ? status->text : "");
	fill(m, o, st, status->code, t);
}

static enum iw_smtp_outcome
outcome_of(int code)
{
	if (code >= 200 && code < 300)
		return IW_SMTP_SENT;
	if (code >= 500 && code < 600)
		return IW_SMTP_PERMFAIL;
	return IW_SMTP_TEMPFAIL;	/* 4xx, nonsense, none at all */
}

/* -- protocol monitor ------------------------------------------------- */

static void
push_pending(struct sess *s, enum stage st)
{
	if (s->npend < PENDING_MAX)
		s->pending[s->npend++] = st;
}

static enum stage
pop_pending(struct sess *s)
{
	enum stage st;

	if (s->npend == 0)
		return ST_NONE;
	st = s->pending[0];
	memmove(s->pending, s->pending + 1, (s->npend - 1) * sizeof *s->pending);
	s->npend--;
	return st;
}

static int
has_verb(const char *line, const char *verb)
{
	size_t n = strlen(verb);

	return strncasecmp(line, verb, n) == 0 &&
	    (line[n] == ' ' || line[n] == '\0' || line[n] == ':');
}

static void
on_command(struct sess *s, const char *line)
{
	enum stage st;

	if (has_verb(line, "EHLO") || has_verb(line, "HELO"))
		st = ST_GREET;
	else if (has_verb(line, "STARTTLS"))
		st = ST_TLS;
	else if (has_verb(line, "AUTH"))
		st = ST_AUTH;
	else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
		st = ST_MAIL;
		s->mail_written++;
		/* libESMTP goes on without AUTH when AUTH failed or was
		   not offered; we must not let it deliver anything then. */
		if (s->conf->username != NULL && !s->auth_ok && !s->poisoned) {
			s->poisoned = 1;
			if (!s->have_fail || s->fail.stage != ST_AUTH)
				set_fail(s, ST_AUTH, 0,
				    "relay did not authenticate us "
				    "(AUTH not offered or no usable mechanism)");
		}
	} else if (strncasecmp(line, "RCPT TO:", 8) == 0)
		st = ST_RCPT;
	else if (has_verb(line, "DATA"))
		st = ST_DATA;
	else if (has_verb(line, "BDAT")) {
		/* CHUNKING (RFC 3030), which libESMTP uses when the relay
		   offers it: the chunk that follows is message data, not
		   commands, and its reply is the message's once it is the
		   LAST. */
		char *end;
		unsigned long long size = strtoull(line + 4, &end, 10);

		s->wskip = end != line + 4 ? size : 0;
		while (*end == ' ')
			end++;
		st = strncasecmp(end, "LAST", 4) == 0 ? ST_DOT : ST_DATA;
	} else if (has_verb(line, "RSET"))
		st = ST_RSET;
	else if (has_verb(line, "QUIT"))
		st = ST_QUIT;
	else
		st = ST_AUTH;	/* a SASL continuation line */
	push_pending(s, st);
}

static void
session_reply(struct sess *s, enum stage st, int code, const char *text)
{
	if (code >= 200 && code < 400)
		return;
	set_fail(s, st, code, "%s", text);
}

static void
on_reply(struct sess *s, int code, const char *text)
{
	enum stage st = pop_pending(s);

	s->last_popped = st;
	s->last_code = code;
	switch (st) {
	case ST_GREET:
		session_reply(s, st, code, text);
		break;
	case ST_TLS:
		if (code == 220)
			s->starttls_accepted = 1;
		session_reply(s, st, code, text);
		break;
	case ST_AUTH:
		if (code >= 200 && code < 300)
			s->auth_ok = 1;
		else if (code >= 300 && code < 400)
			break;
		else
			session_reply(s, st, code, text);
		break;
	case ST_DATA:
		/* The message data and its final dot are not monitored;
		   after 354 the next reply is the one to the dot. */
		if (code == 354)
			push_pending(s, ST_DOT);
		break;
	case ST_NONE:
		/* Unsolicited, e.g. a 421 before shutting down. */
		if (code >= 400)
			set_fail(s, ST_NONE, code, "%s", text);
		break;
	default:
		break;
	}
}

static void
on_read_line(struct sess *s, const char *line, size_t len)
{
	int code = 0;
	size_t i;

	for (i = 0; i < 3 && i < len && line[i] >= '0' && line[i] <= '9'; i++)
		code = code * 10 + (line[i] - '0');
	if (i != 3)
		return;
	if (s->replylen > 0 && s->replylen + 1 < sizeof s->reply)
		s->reply[s->replylen++] = ' ';
	if (len > 4) {
		size_t n = len - 4;

		if (n > sizeof s->reply - 1 - s->replylen)
			n = sizeof s->reply - 1 - s->replylen;
		memcpy(s->reply + s->replylen, line + 4, n);
		s->replylen += n;
	}
	s->reply[s->replylen] = '\0';
	if (len > 3 && line[3] == '-')
		return;
	/* Keep the code in the text so it reads like the relay's line. */
	{
		char full[LINE_MAX_KEEP + 16];

		snprintf(full, sizeof full, "%d %s", code, s->reply);
		on_reply(s, code, full);
	}
	s->replylen = 0;
	s->reply[0] = '\0';
}

/* Split monitored bytes into lines; overlong lines are cut, not split. */
static void
feed_lines(struct sess *s, const char *buf, int len, int writing)
{
	char *lb = writing ? s->wbuf : s->rbuf;
	size_t *ll = writing ? &s->wlen : &s->rlen;
	int *trunc = writing ? &s->wtrunc : &s->rtrunc;

	for (int i = 0; i < len; i++) {
		char c = buf[i];

		if (writing && s->wskip > 0) {
			uint64_t k = (uint64_t)(len - i);

			if (k > s->wskip)
				k = s->wskip;
			s->wskip -= k;
			i += (int)k - 1;
			continue;
		}

		if (c == '\n') {
			if (*ll > 0 && lb[*ll - 1] == '\r')
				(*ll)--;
			lb[*ll] = '\0';
			if (writing)
				on_command(s, lb);
			else
				on_read_line(s, lb, *ll);
			*ll = 0;
			*trunc = 0;
		} else if (*ll + 1 < LINE_MAX_KEEP)
			lb[(*ll)++] = c;
		else
			*trunc = 1;
	}
}

static void
monitor_cb(const char *buf, int buflen, int writing, void *arg)
{
	struct sess *s = arg;

	s->last_io_ms = iw_now_ms();
	if (writing == SMTP_CB_HEADERS || buflen <= 0)
		return;
	feed_lines(s, buf, buflen, writing == SMTP_CB_WRITING);
}

/* -- events -------------------------------------------------------------- */

/*
 * libESMTP does not set TCP_NODELAY and gives no access to its socket.
 * Without it every pipelined message ends in a small segment that Nagle's
 * algorithm holds until the relay's delayed ACK (40 ms on Linux): a
 * connection then carries ~25 messages a second whatever the relay can do.
 * At connect time we set it on every TCP socket of this process whose
 * peer is the relay's port: harmless for any other such socket (other
 * threads' sessions to the same relay want it too).
 */
static void
nodelay_relay_sockets(int port)
{
	long maxfd = sysconf(_SC_OPEN_MAX);
	int fd, one = 1, unused = 0;

	if (port <= 0)
		return;
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	/* The kernel hands out the lowest free descriptor, so the new
	 * socket sits among the open ones: a long run of unused numbers
	 * means we are past them all. */
	for (fd = 0; fd < maxfd && unused < 64; fd++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int type;
		socklen_t tlen = sizeof(type);
		int pport;

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0) {
			if (errno == EBADF)
				unused++;
			continue;
		}
		unused = 0;
		if (type != SOCK_STREAM ||
		    getpeername(fd, (struct sockaddr *)&peer, &plen) != 0)
			continue;
		if (peer.ss_family == AF_INET)
			pport = ntohs(((struct sockaddr_in *)&peer)->sin_port);
		else if (peer.ss_family == AF_INET6)
			pport = ntohs(((struct sockaddr_in6 *)&peer)->sin6_port);
		else
			continue;
		if (pport == port)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
	}
}

static void
event_cb(smtp_session_t session, int event_no, void *arg, ...)
{
	struct sess *s = arg;
	va_list ap;

	(void)session;
	va_start(ap, arg);
	switch (event_no) {
	case SMTP_EV_CONNECT:
		/* libESMTP tries each address of the relay in turn. */
		s->connected = 1;
		nodelay_relay_sockets(s->relay_port);
		s->npend = 0;
		s->rlen = s->wlen = s->replylen = 0;
		s->wskip = 0;
		s->starttls_accepted = 0;
		s->auth_ok = 0;
		push_pending(s, ST_GREET);
		break;
	case SMTP_EV_MESSAGEDATA: {
		smtp_message_t msg = va_arg(ap, smtp_message_t);
		struct msg_state *ms = smtp_message_get_application_data(msg);

		if (ms != NULL)
			ms->data_started = 1;
		break;
	}
	case SMTP_EV_EXTNA_DSN: {
		/* DSN was asked for but is not offered: send without it. */
		int *quit = va_arg(ap, int *);

		if (quit != NULL)
			*quit = 0;
		break;
	}
	case SMTP_EV_EXTNA_STARTTLS:
		s->tls_not_offered = 1;
		break;
	case SMTP_EV_STARTTLS_OK:
		s->tls_ok = 1;
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE: {
		long vr = va_arg(ap, long);

		snprintf(s->tls_why, sizeof s->tls_why,
		    "certificate verification failed: %s",
		    X509_verify_cert_error_string(vr));
		break;		/* *ok stays 0 */
	}
	case SMTP_EV_NO_PEER_CERTIFICATE:
		iw_strlcpy(s->tls_why, "relay sent no certificate",
		    sizeof s->tls_why);
		break;
	case SMTP_EV_WRONG_PEER_CERTIFICATE: {
		/* libESMTP's own name check knows only DNS names.  OpenSSL
		   has already checked the name (or IP address) we set in the
		   verify parameters, and the chain; trust that result. */
		int *ok = va_arg(ap, int *);
		const char *name = va_arg(ap, const char *);
		SSL *ssl = va_arg(ap, SSL *);

		if (ok != NULL && ssl != NULL &&
		    SSL_get_verify_result(ssl) == X509_V_OK &&
		    SSL_get0_peer_certificate(ssl) != NULL)
			*ok = 1;
		else
			snprintf(s->tls_why, sizeof s->tls_why,
			    "certificate name %s does not match the relay",
			    name ? name : "?");
		break;
	}
	case SMTP_EV_WEAK_CIPHER:
		iw_strlcpy(s->tls_why, "weak cipher", sizeof s->tls_why);
		break;
	default:
		break;
	}
	va_end(ap);
}

/* -- message data and AUTH callbacks ------------------------------------ */

static const char *
message_cb(void **ctx, int *len, void *arg)
{
	struct msg_state *ms = arg;
	size_t left;

	(void)ctx;
	if (len == NULL) {		/* rewind */
		ms->off = 0;
		ms->crlf_added = 0;
		return NULL;
	}
	if (ms->s->poisoned) {
		/* An error here makes libESMTP drop the connection before
		   the final dot: nothing is delivered. */
		errno = ECANCELED;
		*len = 0;
		return NULL;
	}
	left = ms->m->len - ms->off;
	if (left > 0) {
		const char *p = ms->m->data + ms->off;

		if (left > INT_MAX / 2)
			left = INT_MAX / 2;
		ms->off += left;
		*len = (int)left;
		return p;
	}
	/* libESMTP appends ".\r\n" blindly: the data must end in CRLF. */
	if (!ms->crlf_added && (ms->m->len < 2 ||
	    memcmp(ms->m->data + ms->m->len - 2, "\r\n", 2) != 0)) {
		ms->crlf_added = 1;
		*len = 2;
		return "\r\n";
	}
	*len = 0;
	return NULL;
}

static int
interact_cb(auth_client_request_t req, char **result, int fields, void *arg)
{
	struct sess *s = arg;

	for (int i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_USER)
			result[i] = s->user;
		else if (req[i].flags & AUTH_PASS)
			result[i] = s->pass;
		else
			result[i] = NULL;
		if (result[i] == NULL)
			return 0;
	}
	return 1;
}

/* -- TLS ----------------------------------------------------------------- */

/* Host part of "host:port" for the certificate name check. */
static int
relay_host(const char *relay, char *host, size_t hostsz)
{
	const char *colon = strrchr(relay, ':');
	size_t n = colon ? (size_t)(colon - relay) : strlen(relay);

	if (n == 0 || n >= hostsz)
		return -1;
	memcpy(host, relay, n);
	host[n] = '\0';
	return 0;
}

static SSL_CTX *
make_ssl_ctx(const struct iw_smtp_conf *conf, struct iw_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_VERIFY_PARAM *vp;
	char host[256];
	unsigned long e;

	if (ctx == NULL)
		goto ssl_fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* libESMTP 1.1.0 can stall for a whole timeout on TLS 1.3
	   post-handshake messages (session tickets) and then give up;
	   seen under ASan timing.  TLS 1.2 has none. */
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	if (conf->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, conf->ca_file,
		    NULL) != 1) {
			e = ERR_get_error();
			iw_err_set(err, "smtp.ca_file: %s: %s", conf->ca_file,
			    ERR_reason_error_string(e) ?
			    ERR_reason_error_string(e) : "cannot load");
			SSL_CTX_free(ctx);
			ERR_clear_error();
			return NULL;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		goto ssl_fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* Name check by OpenSSL, which also knows IP address SANs. */
	if (relay_host(conf->relay, host, sizeof host) == 0) {
		vp = SSL_CTX_get0_param(ctx);
		X509_VERIFY_PARAM_set_hostflags(vp,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1 &&
		    X509_VERIFY_PARAM_set1_host(vp, host, 0) != 1)
			goto ssl_fail;
	}
	return ctx;
ssl_fail:
	e = ERR_get_error();
	iw_err_set(err, "TLS setup: %s", ERR_reason_error_string(e) ?
	    ERR_reason_error_string(e) : "out of memory");
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

/* -- session setup --------------------------------------------------------- */

static int
add_messages(smtp_session_t session, struct sess *s, struct msg_state *ms,
    struct iw_smtp_msg *msgs, size_t n, smtp_message_t *hm,
    smtp_recipient_t *hr, struct iw_err *err)
{
	for (size_t i = 0; i < n; i++) {
		struct iw_smtp_msg *m = &msgs[i];

		if (m->reverse_path == NULL || m->rcpt == NULL ||
		    (m->data == NULL && m->len > 0)) {
			iw_err_set(err, "message %zu: missing envelope or data",
			    i);
			return -1;
		}
		ms[i].s = s;
		ms[i].m = m;
		hm[i] = smtp_add_message(session);
		if (hm[i] == NULL)
			goto nomem;
		smtp_message_set_application_data_release(hm[i], &ms[i], NULL);
		if (!smtp_set_reverse_path(hm[i], m->reverse_path) ||
		    !smtp_set_messagecb(hm[i], message_cb, &ms[i]) ||
		    !smtp_size_set_estimate(hm[i], (unsigned long)m->len))
			goto nomem;
		/* Bounces carry headers only: enough to find the letter. */
		if (!smtp_dsn_set_ret(hm[i], Ret_HDRS))
			goto nomem;
		if (m->envid != NULL && !smtp_dsn_set_envid(hm[i], m->envid))
			goto nomem;
		hr[i] = smtp_add_recipient(hm[i], m->rcpt);
		if (hr[i] == NULL ||
		    !smtp_dsn_set_notify(hr[i], Notify_FAILURE | Notify_DELAY))
			goto nomem;
	}
	return 0;
nomem:
	iw_err_set(err, "libESMTP: cannot set up the messages");
	return -1;
}

static int
configure(smtp_session_t session, struct sess *s, SSL_CTX *ctx,
    auth_context_t auth, struct iw_err *err)
{
	const struct iw_smtp_conf *c = s->conf;
	static const int steps[] = { Timeout_GREETING, Timeout_ENVELOPE,
	    Timeout_DATA, Timeout_TRANSFER, Timeout_DATA2 };
	long ms = (c->timeout_s > 0 ? c->timeout_s : 60) * 1000L;

	if (!smtp_set_server(session, c->relay) ||
	    !smtp_set_hostname(session, c->helo) ||
	    !smtp_set_eventcb(session, event_cb, s) ||
	    !smtp_set_monitorcb(session, monitor_cb, s, 0))
		goto fail;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (smtp_set_timeout(session,
		    steps[i] | Timeout_OVERRIDE_RFC2822_MINIMUM, ms) == 0)
			goto fail;
	switch (c->starttls) {
	case IW_SMTP_TLS_DISABLED:
		if (!smtp_starttls_enable(session, Starttls_DISABLED))
			goto fail;
		break;
	case IW_SMTP_TLS_ENABLED:
	case IW_SMTP_TLS_REQUIRED:
		if (!smtp_starttls_enable(session,
		    c->starttls == IW_SMTP_TLS_REQUIRED ?
		    Starttls_REQUIRED : Starttls_ENABLED) ||
		    !smtp_starttls_set_ctx(session, ctx))
			goto fail;
		break;
	}
	if (auth != NULL && !smtp_auth_set_context(session, auth))
		goto fail;
	return 0;
fail:
	{
		char e[128];

		iw_err_set(err, "libESMTP: cannot configure the session: %s",
		    smtp_strerror(smtp_errno(), e, sizeof e));
	}
	return -1;
}

/* -- results -------------------------------------------------------------- */

/* Text for a step that got no reply: lost connection or timeout. */
static void
lost_text(const struct sess *s, char *buf, size_t bufsz)
{
	int64_t idle = iw_now_ms() - s->last_io_ms;
	long limit = (s->conf->timeout_s > 0 ? s->conf->timeout_s : 60) * 1000L;
	char e[128];

	if (s->last_io_ms != 0 && idle >= limit - 250)
		snprintf(buf, bufsz, "timeout: no reply from relay in %ld s",
		    limit / 1000);
	else
		snprintf(buf, bufsz, "connection lost (%s)",
		    smtp_strerror(smtp_errno(), e, sizeof e));
}

static void
judge_message(struct sess *s, size_t i, struct iw_smtp_msg *m,
    smtp_message_t hm, smtp_recipient_t hr, const struct msg_state *ms)
{
	const smtp_status_t *mail = smtp_reverse_path_status(hm);
	const smtp_status_t *rcpt = smtp_recipient_status(hr);
	const smtp_status_t *xfer = smtp_message_transfer_status(hm);
	char lost[256];

	lost_text(s, lost, sizeof lost);
	if (mail == NULL || mail->code == 0) {
		if (i < s->mail_written)
			fill(m, IW_SMTP_TEMPFAIL, ST_MAIL, 0, lost);
		else {
			char t[300];

			snprintf(t, sizeof t, "not attempted: %s", lost);
			fill(m, IW_SMTP_TEMPFAIL, ST_NONE, 0, t);
		}
	} else if (mail->code / 100 != 2)
		fill(m, outcome_of(mail->code), ST_MAIL, mail->code, mail->text);
	else if (rcpt == NULL || rcpt->code == 0)
		fill(m, IW_SMTP_TEMPFAIL, ST_RCPT, 0, lost);
	else if (rcpt->code / 100 != 2)
		fill_status(m, outcome_of(rcpt->code), ST_RCPT, rcpt);
	else if (xfer == NULL || xfer->code == 0 || xfer->code / 100 == 3)
		/* 354 and nothing after it: lost during or after the data */
		fill(m, IW_SMTP_TEMPFAIL, ms->data_started ? ST_DOT : ST_DATA,
		    0, lost);
	else
		fill_status(m, outcome_of(xfer->code),
		    xfer->code / 100 == 2 ? ST_NONE :
		    ms->data_started ? ST_DOT : ST_DATA, xfer);
}

static void
fail_all(struct iw_smtp_msg *msgs, size_t n, const struct fail *f)
{
	for (size_t i = 0; i < n; i++)
		fill(&msgs[i], IW_SMTP_TEMPFAIL, f->stage, f->code, f->text);
}

/* Decide whether the session as a whole was unusable; fills s->fail. */
static int
session_failed(struct sess *s)
{
	char e[128];

	if (!s->connected) {
		set_fail(s, ST_CONNECT, 0, "cannot connect to %s: %s",
		    s->conf->relay, smtp_strerror(smtp_errno(), e, sizeof e));
		return 1;
	}
	if (s->conf->starttls == IW_SMTP_TLS_REQUIRED && s->tls_not_offered) {
		set_fail(s, ST_TLS, 0, "relay does not offer STARTTLS, "
		    "which is required");
		return 1;
	}
	if (s->starttls_accepted && !s->tls_ok) {
		unsigned long oe = ERR_peek_last_error();

		set_fail(s, ST_TLS, 0, "TLS handshake failed: %s",
		    s->tls_why[0] ? s->tls_why :
		    oe ? ERR_reason_error_string(oe) : "unknown error");
		return 1;
	}
	if (s->poisoned)
		return 1;
	if (s->mail_written == 0) {
		/* Never got to a transaction: greeting, EHLO or TLS trouble. */
		if (!s->have_fail) {
			char lost[256];

			lost_text(s, lost, sizeof lost);
			set_fail(s, s->npend ? s->pending[0] : ST_GREET, 0,
			    "%s", lost);
		}
		if (s->fail.stage != ST_TLS && s->fail.stage != ST_AUTH)
			s->fail.stage = ST_GREET;
		return 1;
	}
	return 0;
}

int
iw_smtp_send_batch(const struct iw_smtp_conf *conf,
    struct iw_smtp_msg *msgs, size_t n, struct iw_err *err)
{
	struct sess s;
	struct msg_state *ms = NULL;
	smtp_message_t *hm = NULL;
	smtp_recipient_t *hr = NULL;
	smtp_session_t session = NULL;
	auth_context_t auth = NULL;
	SSL_CTX *ctx = NULL;
	int rc = -1;

	memset(&s, 0, sizeof s);
	s.conf = conf;
	{
		const char *colon = strrchr(conf->relay, ':');

		s.relay_port = colon != NULL ? atoi(colon + 1) : 25;
	}
	for (size_t i = 0; i < n; i++) {
		msgs[i].outcome = IW_SMTP_NOT_TRIED;
		msgs[i].code = 0;
		msgs[i].enhanced[0] = msgs[i].stage[0] = msgs[i].reply[0] = '\0';
	}
	if (n == 0)
		return 0;
	if (conf == NULL || conf->relay == NULL || conf->relay[0] == '[') {
		iw_err_set(err, "smtp.relay: %s: libESMTP needs host:port "
		    "(no [IPv6] literal)", conf && conf->relay ?
		    conf->relay : "(none)");
		set_fail(&s, ST_CONNECT, 0, "%s", err->msg);
		fail_all(msgs, n, &s.fail);
		return -1;
	}
	ms = iw_calloc(n, sizeof *ms);
	hm = iw_calloc(n, sizeof *hm);
	hr = iw_calloc(n, sizeof *hr);
	if (ms == NULL || hm == NULL || hr == NULL) {
		iw_err_set(err, "out of memory");
		goto setup_failed;
	}
	if (conf->starttls != IW_SMTP_TLS_DISABLED &&
	    (ctx = make_ssl_ctx(conf, err)) == NULL)
		goto setup_failed;
	if (conf->username != NULL) {
		s.user = iw_strdup(conf->username);
		s.pass = iw_strdup(conf->password ? conf->password : "");
		auth = auth_create_context();
		if (s.user == NULL || s.pass == NULL || auth == NULL) {
			iw_err_set(err, "out of memory");
			goto setup_failed;
		}
		auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(auth, interact_cb, &s);
	}
	if ((session = smtp_create_session()) == NULL) {
		iw_err_set(err, "libESMTP: cannot create a session");
		goto setup_failed;
	}
	if (configure(session, &s, ctx, auth, err) < 0 ||
	    add_messages(session, &s, ms, msgs, n, hm, hr, err) < 0)
		goto setup_failed;

	ERR_clear_error();
	(void)smtp_start_session(session);	/* its result says little */
	if (session_failed(&s)) {
		fail_all(msgs, n, &s.fail);
		iw_err_set(err, "%s: %s%s%s", conf->relay,
		    s.fail.stage != ST_NONE ? stage_names[s.fail.stage] : "",
		    s.fail.stage != ST_NONE ? ": " : "", s.fail.text);
		rc = -1;
	} else {
		for (size_t i = 0; i < n; i++)
			judge_message(&s, i, &msgs[i], hm[i], hr[i], &ms[i]);
		rc = 0;
	}
	goto out;

setup_failed:
	set_fail(&s, ST_NONE, 0, "not attempted: %s", err->msg);
	fail_all(msgs, n, &s.fail);
out:
	/* The session holds its own reference to ctx (libESMTP 1.1.0 takes
	   one); ours is dropped only after the session is gone. */
	if (session != NULL)
		smtp_destroy_session(session);
	if (auth != NULL)
		auth_destroy_context(auth);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	free(s.user);
	if (s.pass != NULL) {
		memset(s.pass, 0, strlen(s.pass));
		free(s.pass);
	}
	free(ms);
	free(hm);
	free(hr);
	return rc;
}
