/*
 * whois: RFC 3912 client.  A lookup asks the bootstrap server (IANA) for
 * the IP, follows `refer:`/`whois:` and ARIN
 * `ReferralServer: whois://` referrals (rwhois:// is ignored) up to
 * max_referrals hops with loop detection, and extracts the abuse mailbox of
 * the most specific network containing the IP from the answer of the
 * registry that holds it.  Referrals go only to host names on port 43 that
 * resolve to public addresses, unless the name is in whois.hosts; and a
 * server's answer is cut down to the block its referrer delegated to it
 * (see apply_authority) before anyone may cache it.
 *
 * This file is the network client (RFC 3912 exchanges, deadlines, the
 * referral policy, the delegated authority); the registries' parsers are
 * lib/whois_parse.c.  Name resolution uses getaddrinfo() and is not
 * bounded by timeout_ms; connect and every read are, and a whole exchange, connect to
 * every address included, is bounded by 4 * timeout_ms so a server
 * dripping bytes (or a name with many dead addresses) cannot hold a
 * worker.
 */
#include "whois.h"
#include "whois_nir.h"
#include "whois_parse.h"
#include "metrics.h"
#include "ratelimit.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define DEF_TIMEOUT_MS	10000
#define DEF_MAX_ANSWER	(1024 * 1024)
#define DEF_MAX_REFS	5
#define MAX_VISITED	16

/* ---------- network ---------- */

struct lookup {
	const struct iw_whois_conf *conf;
	int timeout_ms;
	size_t max_answer;
	struct iw_whois_result *res;	/* ->latin1 set by whois_fetch */
	int refused;		/* the last failure was a refusal */
	const char *ip;		/* the address asked about */
	char auth_first[48];	/* what the server asked answers for; */
	char auth_last[48];	/* "" = unknown */
	int strict;		/* the server was reached by a referral and is
				   not in whois.hosts: public addresses only */
	int policy;		/* the last failure was the referral policy */
};

static int
split_hostport(const char *s, char *host, size_t hsz, char *port,
    size_t psz, int defport)
{
	const char *colon;
	size_t hn;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL)
			return -1;
		hn = (size_t)(end - s - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			colon = NULL;	/* bare IPv6 literal */
		hn = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hn == 0 || hn >= hsz)
		return -1;
	memcpy(host, s, hn);
	host[hn] = '\0';
	if (colon != NULL)
		iw_strlcpy(port, colon + 1, psz);
	else
		snprintf(port, psz, "%d", defport);
	return port[0] == '\0' ? -1 : 0;
}

/* name's whois.hosts entry, or NULL. */
static const struct iw_whois_host *
host_entry(const struct iw_whois_conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->nhosts; i++) {
		const struct iw_whois_host *h = &conf->hosts[i];

		if (h->name != NULL && strcasecmp(h->name, name) == 0)
			return h;
	}
	return NULL;
}

/* Where server (as named by the registry) is really reached. */
static int
resolve_target(const struct iw_whois_conf *conf, const char *name, int port,
    char *host, size_t hsz, char *serv, size_t ssz)
{
	const struct iw_whois_host *h = host_entry(conf, name);

	if (h != NULL && h->address != NULL)
		return split_hostport(h->address, host, hsz, serv, ssz, 43);
	return split_hostport(name, host, hsz, serv, ssz, port ? port : 43);
}

/*
 * Referral policy: a server named in an answer is asked only if it is a
 * host name on port 43 (or listed in whois.hosts, the operator's word).
 * Why not, or NULL.  Where the name leads is checked when it is dialled
 * (public_address), on the very addresses connected to.
 */
static const char *
referral_refused(const struct iw_whois_conf *conf, const char *name,
    int port)
{
	const char *last = strrchr(name, '.');
	struct in_addr a;
	int digits = 1;

	if (host_entry(conf, name) != NULL)
		return NULL;
	/* inet_aton also takes "2130706433" and "0x7f.1" */
	if (inet_aton(name, &a) != 0)
		return "an IP address literal";
	last = last != NULL ? last + 1 : name;
	for (const char *c = last; *c != '\0'; c++)
		digits &= isdigit((unsigned char)*c) != 0;
	if (*last == '\0' || digits)
		return "not a host name";
	if (port != 0 && port != 43)
		return "not port 43";
	return NULL;
}

/* v4 (host order) in a non-public block: this host, private, CGNAT,
 * loopback, link-local, multicast and reserved. */
static int
v4_special(uint32_t a)
{
	static const struct { uint32_t net, mask; } b[] = {
		{ 0x00000000, 0xff000000 }, { 0x0a000000, 0xff000000 },
		{ 0x64400000, 0xffc00000 }, { 0x7f000000, 0xff000000 },
		{ 0xa9fe0000, 0xffff0000 }, { 0xac100000, 0xfff00000 },
		{ 0xc0a80000, 0xffff0000 }, { 0xe0000000, 0xe0000000 },
	};

	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if ((a & b[i].mask) == b[i].net)
			return 1;
	return 0;
}

/* 1 if sa is an address a referred WHOIS server may have. */
static int
public_address(const struct sockaddr *sa)
{
	const unsigned char *b;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };

	if (sa->sa_family == AF_INET)
		return !v4_special(ntohl(((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr.s_addr));
	if (sa->sa_family != AF_INET6)
		return 0;
	b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	if (memcmp(b, mapped, 12) == 0)
		return !v4_special((uint32_t)b[12] << 24 |
		    (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
	/* ::, ::1, fc00::/7 unique local, fe80::/10 link-local, ff::/8 */
	if (b[0] == 0 && memcmp(b, b + 1, 14) == 0 && b[15] <= 1)
		return 0;
	return (b[0] & 0xfe) != 0xfc && !(b[0] == 0xfe &&
	    (b[1] & 0xc0) == 0x80) && b[0] != 0xff;
}

static int
wait_fd(int fd, short ev, int64_t deadline, int timeout_ms)
{
	struct pollfd p;
	int64_t left = deadline - iw_now_ms();
	int r;

	if (left <= 0)
		return 0;
	if (left > timeout_ms)
		left = timeout_ms;
	p.fd = fd;
	p.events = ev;
	p.revents = 0;
	do
		r = poll(&p, 1, (int)left);
	while (r < 0 && errno == EINTR);
	return r;
}

static int
connect_one(const struct addrinfo *ai, int64_t deadline, int timeout_ms,
    char *why, size_t wsz)
{
	int fd, fl, soerr = 0, r;
	socklen_t sl = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd < 0) {
		snprintf(why, wsz, "socket: %s", strerror(errno));
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		snprintf(why, wsz, "fcntl: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		snprintf(why, wsz, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	r = wait_fd(fd, POLLOUT, deadline, timeout_ms);
	if (r == 0) {
		snprintf(why, wsz, "connect: timed out");
		close(fd);
		return -1;
	}
	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 ||
	    soerr != 0) {
		snprintf(why, wsz, "connect: %s",
		    strerror(soerr ? soerr : errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Connect to host:serv; strict: public addresses only (*policy set when
 * that left none). */
static int
dial(const char *host, const char *serv, int64_t deadline, int timeout_ms,
    int strict, int *policy, char *why, size_t wsz)
{
	struct addrinfo hints, *ai = NULL, *p;
	int fd = -1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* No AI_ADDRCONFIG: it hides ::1 on hosts with only loopback v6. */
	r = getaddrinfo(host, serv, &hints, &ai);
	if (r != 0) {
		snprintf(why, wsz, "%.100s: %.80s", host, gai_strerror(r));
		return -1;
	}
	*policy = strict;
	for (p = ai; p != NULL && fd < 0; p = p->ai_next) {
		if (strict && !public_address(p->ai_addr))
			continue;
		*policy = 0;
		fd = connect_one(p, deadline, timeout_ms, why, wsz);
	}
	if (*policy)
		snprintf(why, wsz, "%.100s resolves only to loopback, private "
		    "or link-local addresses", host);
	freeaddrinfo(ai);
	return fd;
}

static int
send_all(int fd, const char *s, size_t n, int64_t deadline, int tmo,
    char *why, size_t wsz)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w > 0) {
			s += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			snprintf(why, wsz, "send: %s", strerror(errno));
			return -1;
		}
		if (wait_fd(fd, POLLOUT, deadline, tmo) <= 0) {
			snprintf(why, wsz, "send: timed out");
			return -1;
		}
	}
	return 0;
}

/* Read to EOF.  0 ok, -1 error (why), 1 answer exceeded max. */
static int
recv_all(int fd, struct iw_buf *ans, size_t max, int64_t deadline, int tmo,
    char *why, size_t wsz)
{
	char chunk[4096];

	for (;;) {
		ssize_t r;
		int pr = wait_fd(fd, POLLIN, deadline, tmo);

		if (pr <= 0) {
			snprintf(why, wsz, "read: %s", pr == 0 ?
			    "timed out" : strerror(errno));
			return -1;
		}
		r = recv(fd, chunk, sizeof(chunk), 0);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				continue;
			snprintf(why, wsz, "read: %s", strerror(errno));
			return -1;
		}
		if (ans->len + (size_t)r > max) {
			size_t room = max - ans->len;
			if (room > 0 && iw_buf_append(ans, chunk, room) != 0)
				return -1;
			snprintf(why, wsz, "answer exceeds %zu bytes", max);
			return 1;
		}
		if (iw_buf_append(ans, chunk, (size_t)r) != 0) {
			snprintf(why, wsz, "out of memory");
			return -1;
		}
	}
}

/*
 * The budget shared with the other daemons: wait for this query's start
 * (stop ends the wait within 250 ms).  0 go; -1 not now (why; refused
 * when the server is backed off for all).  No budget or an unlimited
 * server: go.  A budget that cannot say (database trouble) does not stop
 * the query: the process's own pacing still holds.
 */
static int
shared_budget(struct lookup *lk, const char *name, char *why, size_t wsz)
{
	const struct iw_whois_conf *c = lk->conf;
	long long iv = iw_ratelimit_interval_ms(c->limiter, name), wait;
	int64_t until;
	int r;

	if (c->budget == NULL || iv <= 0)
		return 0;
	r = c->budget->reserve(c->budget->arg, name, iv, &wait, why, wsz);
	if (r < 0)
		return 0;
	if (r > 0) {
		lk->refused = 1;
		snprintf(why, wsz, "backing off from %s for %lld s (all "
		    "daemons) after it refused queries", name,
		    (wait + 999) / 1000);
		return -1;
	}
	if (wait > IW_RATELIMIT_MAX_WAIT_MS) {
		lk->refused = 1;	/* the slot is lost: only slower */
		snprintf(why, wsz, "%s: no shared query slot within %d ms",
		    name, IW_RATELIMIT_MAX_WAIT_MS);
		return -1;
	}
	for (until = iw_now_ms() + wait; iw_now_ms() < until;) {
		int64_t left = until - iw_now_ms();

		if (c->stop != NULL && *c->stop) {
			lk->refused = 1;
			snprintf(why, wsz, "shutting down");
			return -1;
		}
		poll(NULL, 0, (int)(left > 250 ? 250 : left));
	}
	return 0;
}

/*
 * One of the server's query slots shared with the other daemons: wait
 * for a free one (polled every 50 ms; stop ends the wait).  0 go, with
 * *slot the slot to give back (-1: none, because there is no budget or
 * it cannot say -- the process's own limit still holds); -1 not now
 * (why; refused, so the IP goes back to the queue).
 */
static int
shared_slot(struct lookup *lk, const char *name, int *slot, char *why,
    size_t wsz)
{
	const struct iw_whois_conf *c = lk->conf;
	int conc = iw_ratelimit_concurrency(c->limiter, name);
	int64_t until = iw_now_ms() + IW_RATELIMIT_MAX_WAIT_MS;

	*slot = -1;
	if (c->budget == NULL || c->budget->take == NULL || conc <= 0)
		return 0;
	for (;;) {
		int r = c->budget->take(c->budget->arg, name, conc);

		if (r != -2) {
			*slot = r >= 0 ? r : -1;
			return 0;
		}
		if (c->stop != NULL && *c->stop) {
			lk->refused = 1;
			snprintf(why, wsz, "shutting down");
			return -1;
		}
		if (iw_now_ms() >= until) {
			lk->refused = 1;
			snprintf(why, wsz, "%s: no free query slot (%d in "
			    "flight for all daemons) within %d ms", name, conc,
			    IW_RATELIMIT_MAX_WAIT_MS);
			return -1;
		}
		poll(NULL, 0, 50);
	}
}

static void
shared_slot_give(struct lookup *lk, const char *name, int slot)
{
	if (slot >= 0)
		lk->conf->budget->give(lk->conf->budget->arg, name, slot);
}

/* One RFC 3912 exchange.  0 ok, -1 transient failure (why set). */
static int
whois_fetch(struct lookup *lk, const char *name, int port, const char *q,
    struct iw_buf *ans, char *why, size_t wsz)
{
	char host[256], serv[16], line[320];
	int64_t deadline;
	int fd, r, l1 = 0, dec = 0, slot;

	iw_buf_reset(ans);
	if (resolve_target(lk->conf, name, port, host, sizeof(host), serv,
	    sizeof(serv)) != 0) {
		snprintf(why, wsz, "bad address for %s", name);
		return -1;
	}
	r = snprintf(line, sizeof(line), "%s\r\n", q);
	if (r < 0 || (size_t)r >= sizeof(line)) {
		snprintf(why, wsz, "query too long");
		return -1;
	}
	lk->refused = 0;
	lk->policy = 0;
	/* The slot first: its holder then waits for the next start of the
	 * rate, so no reserved start is lost to a slot wait. */
	if (shared_slot(lk, name, &slot, why, wsz) != 0)
		return -1;
	if (shared_budget(lk, name, why, wsz) != 0) {
		shared_slot_give(lk, name, slot);
		return -1;
	}
	if (iw_ratelimit_acquire(lk->conf->limiter, name,
	    IW_RATELIMIT_MAX_WAIT_MS, lk->conf->stop, why, wsz) != 0) {
		shared_slot_give(lk, name, slot);
		lk->refused = 1;
		return -1;
	}
	/* One deadline for the whole exchange, connect included: a
	 * server with many addresses that each time out cannot stretch
	 * it. */
	deadline = iw_now_ms() + 4 * (int64_t)lk->timeout_ms;
	fd = dial(host, serv, deadline, lk->timeout_ms, lk->strict,
	    &lk->policy, why, wsz);
	if (fd >= 0) {
		r = send_all(fd, line, (size_t)r, deadline, lk->timeout_ms,
		    why, wsz);
		if (r == 0)
			r = recv_all(fd, ans, lk->max_answer, deadline,
			    lk->timeout_ms, why, wsz);
		close(fd);
	} else
		r = -1;
	shared_slot_give(lk, name, slot);
	/* A reset or refused connection is how some registries throttle. */
	if (r != 0 && (strstr(why, "reset") != NULL ||
	    strstr(why, "refused") != NULL))
		lk->refused = 1;
	else if (r == 0 && iw_whois_throttled(ans->data ? ans->data : "",
	    ans->len))
		lk->refused = 1;
	/* A national registry's own encoding first (ISO-2022-JP is 7-bit:
	 * "valid UTF-8" until decoded). */
	if (r == 0 && iw_whois_nir_decode(name, ans, &dec) != 0) {
		snprintf(why, wsz, "out of memory");
		r = -1;
	}
	/* Counted when the server was asked (or refused the connection,
	 * which is how some registries throttle). */
	if (fd >= 0 || lk->refused)
		iw_metrics_whois(lk->conf->metrics, name, lk->refused);
	if (r == 0 && iw_text_to_utf8(ans, &l1) != 0) {
		snprintf(why, wsz, "out of memory");
		r = -1;
	}
	lk->res->latin1 |= r == 0 && l1;
	/* A policy refusal asked nothing of the server: not its failure. */
	iw_ratelimit_release(lk->conf->limiter, name, lk->refused ?
	    IW_RL_REFUSED : r == 0 || lk->policy ? IW_RL_OK : IW_RL_FAILED);
	/* A refusal backs the server off for every daemon. */
	if (lk->refused && lk->conf->budget != NULL)
		lk->conf->budget->refused(lk->conf->budget->arg, name,
		    iw_ratelimit_open_ms(lk->conf->limiter, name));
	return r == 0 ? 0 : -1;
}

/* ---------- lookup ---------- */

static void
chain_add(struct iw_whois_result *res, const char *name, int port)
{
	size_t n = strlen(res->chain);
	char hop[160];

	if (port != 0 && port != 43)
		snprintf(hop, sizeof(hop), "%s%s:%d", n ? " > " : "", name,
		    port);
	else
		snprintf(hop, sizeof(hop), "%s%s", n ? " > " : "", name);
	iw_strlcpy(res->chain + n, hop, sizeof(res->chain) - n);
}

static int
keep_raw(struct iw_whois_result *res, const struct iw_buf *ans)
{
	free(res->raw);
	res->raw = iw_strndup(ans->data ? ans->data : "", ans->len);
	res->raw_len = res->raw ? ans->len : 0;
	return res->raw ? 0 : -1;
}

static void finish(struct iw_whois_result *, enum iw_whois_status,
    const char *, ...) __attribute__((format(printf, 3, 4)));

static void
finish(struct iw_whois_result *res, enum iw_whois_status st, const char *fmt,
    ...)
{
	va_list ap;

	res->status = st;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

static void
take_parsed(struct iw_whois_result *res, const struct iw_whois_parsed *p)
{
	iw_strlcpy(res->net_first, p->net_first, sizeof(res->net_first));
	iw_strlcpy(res->net_last, p->net_last, sizeof(res->net_last));
	iw_strlcpy(res->net_text, p->net_text, sizeof(res->net_text));
	iw_strlcpy(res->source, p->source, sizeof(res->source));
	iw_strlcpy(res->top_first, p->top_first, sizeof(res->top_first));
	iw_strlcpy(res->top_last, p->top_last, sizeof(res->top_last));
	res->leaf = p->leaf;
	if (p->email[0] != '\0') {
		iw_strlcpy(res->email, p->email, sizeof(res->email));
		res->status = IW_WHOIS_OK;
		res->reason[0] = '\0';
	} else {
		res->status = IW_WHOIS_NOCONTACT;
		iw_strlcpy(res->reason, p->reason, sizeof(res->reason));
	}
}

/* No abuse contact in a RIPE-style answer: ask for the network's irt. */
static int
irt_followup(struct lookup *lk, const char *server, int port,
    const char *ip, struct iw_buf *ans, struct iw_whois_parsed *p)
{
	char handle[64], from[100], q[128], why[200];
	struct iw_whois_parsed ip2;
	int r;

	if (iw_whois_irt_handle(ip, ans->data ? ans->data : "", ans->len,
	    handle, sizeof(handle), from, sizeof(from)) != 0)
		return 0;
	snprintf(q, sizeof(q), "-r -T irt %s", handle);
	if (whois_fetch(lk, server, port, q, ans, why, sizeof(why)) != 0) {
		lk->res->refused = lk->refused;
		finish(lk->res, IW_WHOIS_TRANSIENT, "%s: %s", server, why);
		return -1;
	}
	if (keep_raw(lk->res, ans) != 0)
		return -2;
	if (iw_whois_throttled(ans->data ? ans->data : "", ans->len)) {
		lk->res->refused = 1;
		finish(lk->res, IW_WHOIS_TRANSIENT,
		    "%s: rate limited or access denied", server);
		return -1;
	}
	r = iw_whois_parse_irt(ans->data ? ans->data : "", ans->len, handle,
	    &ip2);
	if (r == 0)
		return 0;
	if (r > 0) {
		iw_strlcpy(p->email, ip2.email, sizeof(p->email));
		if (from[0] != '\0')
			snprintf(p->source, sizeof(p->source),
			    "inherited from %.40s: %.70s", from, ip2.source);
		else
			iw_strlcpy(p->source, ip2.source, sizeof(p->source));
	} else {
		iw_strlcpy(p->reason, ip2.reason, sizeof(p->reason));
	}
	return 0;
}

/*
 * Following a referral: the next server answers only for what this one
 * delegated to it (IANA's allocation, ARIN's referring network), never
 * for more than this one answers for.  Not said, or not holding the IP:
 * unknown, and nothing it says is cached for other addresses.
 */
static void
narrow_authority(struct lookup *lk, const struct iw_whois_parsed *p)
{
	if (lk->auth_first[0] != '\0' && iw_whois_range_narrow(lk->auth_first,
	    lk->auth_last, sizeof(lk->auth_first), p->deleg_first,
	    p->deleg_last, lk->ip) != 0)
		lk->auth_first[0] = lk->auth_last[0] = '\0';
}

/*
 * A server's claim is good only inside its delegation: the network and
 * the least specific network it names are cut down to it, so that the
 * cache never learns a cover wider than what the referrer delegated (a
 * referred or on-path server answering "0.0.0.0 - 255.255.255.255" /
 * ASSIGNED PA would otherwise speak for every address).
 */
static void
apply_authority(struct lookup *lk)
{
	struct iw_whois_result *res = lk->res;
	const char *af = lk->auth_first, *al = lk->auth_last;
	int r;

	if (af[0] == '\0' || res->net_first[0] == '\0')
		return;
	r = iw_whois_range_clip(res->net_first, res->net_last,
	    sizeof(res->net_first), af, al);
	if (r < 0)
		return;		/* claim outside the delegation: IP only */
	res->clipped = r > 0;
	if (res->top_first[0] != '\0' && iw_whois_range_clip(res->top_first,
	    res->top_last, sizeof(res->top_first), af, al) < 0)
		res->top_first[0] = res->top_last[0] = '\0';
	iw_strlcpy(res->auth_first, af, sizeof(res->auth_first));
	iw_strlcpy(res->auth_last, al, sizeof(res->auth_last));
}

/*
 * A referral not followed (the policy): the answer so far stands if it
 * names a contact, for this IP only (nothing is cached: the registration
 * points elsewhere); the reason says which referral was refused and why.
 */
static int
answer_so_far(struct lookup *lk, const struct iw_whois_parsed *p,
    const char *server, int port, const char *name, int rport,
    const char *why)
{
	struct iw_whois_result *res = lk->res;
	char ps[16] = "";

	take_parsed(res, p);
	iw_strlcpy(res->server, server, sizeof(res->server));
	res->server_port = port;
	res->auth_first[0] = res->auth_last[0] = '\0';
	if (rport != 0 && rport != 43)
		snprintf(ps, sizeof(ps), ":%d", rport);
	snprintf(res->reason, sizeof(res->reason),
	    "referral to %.100s%s refused: %.100s", name, ps, why);
	return 0;
}

/*
 * An APNIC or LACNIC answer for space a national registry manages, with
 * no contact or only a registry's own: that NIR's server is asked, and
 * the RIR's answer is the fallback.  NULL: not such an answer.
 */
static const struct iw_whois_nir *
nir_referral(const struct lookup *lk, const char *server, const char *ip,
    const struct iw_buf *ans, const struct iw_whois_parsed *p)
{
	if (p->net_first[0] == '\0' || (p->email[0] != '\0' &&
	    !iw_whois_registry_run(lk->conf, p->email, NULL, 0)))
		return NULL;
	return iw_whois_nir_detect(server, ip, ans->data ? ans->data : "",
	    ans->len);
}

/*
 * The NIR names no contact: the RIR's (a registry's own address, or
 * none) is what there is, for the NIR's network when it named one.
 */
static void
nir_fallback(struct iw_whois_parsed *p, const struct iw_whois_parsed *rir,
    const char *server)
{
	char src[sizeof(p->source)];

	if (p->email[0] != '\0')
		return;
	if (p->net_first[0] == '\0') {
		iw_strlcpy(p->net_first, rir->net_first, sizeof(p->net_first));
		iw_strlcpy(p->net_last, rir->net_last, sizeof(p->net_last));
		iw_strlcpy(p->net_text, rir->net_text, sizeof(p->net_text));
		iw_strlcpy(p->top_first, rir->top_first, sizeof(p->top_first));
		iw_strlcpy(p->top_last, rir->top_last, sizeof(p->top_last));
		p->leaf = 0;
	}
	if (rir->email[0] == '\0')
		return;
	iw_strlcpy(p->email, rir->email, sizeof(p->email));
	snprintf(src, sizeof(src), "%.60s (%.40s names none)", rir->source,
	    server);
	iw_strlcpy(p->source, src, sizeof(p->source));
}

struct hop {
	char name[128];
	int port;
};

static int
visited(const struct hop *v, size_t n, const char *name, int port)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i].name, name) == 0 &&
		    (v[i].port ? v[i].port : 43) == (port ? port : 43))
			return 1;
	return 0;
}

static int
lookup_run(struct lookup *lk, const char *start, int port, const char *ip,
    struct iw_buf *ans, struct iw_err *err)
{
	const struct iw_whois_conf *conf = lk->conf;
	struct iw_whois_result *res = lk->res;
	int maxref = conf->max_referrals > 0 ? conf->max_referrals :
	    DEF_MAX_REFS;
	struct hop hops[MAX_VISITED];
	size_t nhops = 0;
	char server[128], q[128], why[200];
	struct iw_whois_parsed p;	/* the last answer read */
	struct iw_whois_parsed rir;	/* the RIR's, when asking an NIR */
	const struct iw_whois_nir *nir, *nir_fb = NULL;

	iw_strlcpy(server, start, sizeof(server));
	for (int depth = 0;; depth++) {
		enum iw_whois_format fmt = iw_whois_format_for(server);
		const char *no;

		iw_strlcpy(hops[nhops].name, server, sizeof(hops[0].name));
		hops[nhops++].port = port;
		chain_add(res, server, port);
		iw_strlcpy(res->server, server, sizeof(res->server));
		res->server_port = port;
		if ((iw_whois_nir_by_server(server) != NULL ?
		    iw_whois_nir_query_line(iw_whois_nir_by_server(server), ip,
		    q, sizeof(q)) : iw_whois_query_line(fmt, ip, q,
		    sizeof(q))) != 0) {
			iw_err_set(err, "whois: cannot build query for %s", ip);
			return -1;
		}
		lk->strict = depth > 0 && host_entry(conf, server) == NULL;
		if (whois_fetch(lk, server, port, q, ans, why,
		    sizeof(why)) != 0) {
			if (lk->policy)	/* depth > 0: p is the referrer's */
				return answer_so_far(lk, &p, hops[nhops - 2].name,
				    hops[nhops - 2].port, server, port, why);
			if (ans->len > 0 && keep_raw(res, ans) != 0)
				goto nomem;
			res->refused = lk->refused;
			finish(res, IW_WHOIS_TRANSIENT, "%s: %s", server, why);
			return 0;
		}
		if (keep_raw(res, ans) != 0)
			goto nomem;
		if (iw_whois_parse(fmt, ip, ans->data ? ans->data : "",
		    ans->len, &p) != 0) {
			iw_err_set(err, "whois: bad address %s", ip);
			return -1;
		}
		if (p.throttled) {
			res->refused = 1;
			finish(res, IW_WHOIS_TRANSIENT, "%s: %s", server,
			    p.reason);
			return 0;
		}
		if (p.referral[0] != '\0' && !(strcasecmp(p.referral,
		    server) == 0 && p.referral_port == port)) {
			if (visited(hops, nhops, p.referral, p.referral_port)) {
				finish(res, IW_WHOIS_NOCONTACT,
				    "referral loop: %s > %s", res->chain,
				    p.referral);
				return 0;
			}
			if (depth + 1 > maxref || nhops >= MAX_VISITED) {
				finish(res, IW_WHOIS_NOCONTACT,
				    "too many referrals: %s > %s", res->chain,
				    p.referral);
				return 0;
			}
			no = referral_refused(conf, p.referral,
			    p.referral_port);
			if (no != NULL)
				return answer_so_far(lk, &p, server, port,
				    p.referral, p.referral_port, no);
			narrow_authority(lk, &p);
			iw_strlcpy(server, p.referral, sizeof(server));
			port = p.referral_port;
			continue;
		}
		if (fmt == IW_WHOIS_FMT_IANA) {
			take_parsed(res, &p);
			apply_authority(lk);
			return 0;
		}
		if (fmt == IW_WHOIS_FMT_RIPE && p.email[0] == '\0' &&
		    strncmp(p.reason, IW_WHOIS_NO_ABUSE, strlen(IW_WHOIS_NO_ABUSE)) == 0) {
			int r = irt_followup(lk, server, port, ip, ans, &p);
			if (r == -2)
				goto nomem;
			if (r < 0)
				return 0;
		}
		if (nir_fb != NULL)
			nir_fallback(&p, &rir, server);
		else if ((nir = nir_referral(lk, server, ip, ans, &p)) != NULL &&
		    !visited(hops, nhops, nir->server, 0) &&
		    depth + 1 <= maxref && nhops < MAX_VISITED) {
			/* The NIR answers for the RIR's network only. */
			rir = p;
			nir_fb = nir;
			iw_strlcpy(p.deleg_first, p.net_first,
			    sizeof(p.deleg_first));
			iw_strlcpy(p.deleg_last, p.net_last,
			    sizeof(p.deleg_last));
			narrow_authority(lk, &p);
			iw_strlcpy(server, nir->server, sizeof(server));
			port = 0;
			continue;
		}
		take_parsed(res, &p);
		apply_authority(lk);
		return 0;
	}
nomem:
	iw_err_set(err, "whois: out of memory");
	return -1;
}

int
iw_whois_lookup(const struct iw_whois_conf *conf, const char *ip,
    struct iw_whois_result *res, struct iw_err *err)
{
	return iw_whois_lookup_from(conf, NULL, 0, NULL, NULL, ip, res, err);
}

static int
lookup_once(const struct iw_whois_conf *conf, const char *server, int port,
    const char *auth_first, const char *auth_last, const char *ip,
    struct iw_whois_result *res, struct iw_err *err)
{
	struct iw_buf ans = IW_BUF_INIT;
	struct lookup lk;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&lk, 0, sizeof(lk));
	/* The bootstrap server is the root: it answers for everything. */
	if (iw_whois_range_whole(ip, lk.auth_first, lk.auth_last,
	    sizeof(lk.auth_first)) != 0) {
		iw_err_set(err, "whois: '%.64s' is not an IP address",
		    ip ? ip : "(null)");
		return -1;
	}
	lk.conf = conf;
	lk.timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms :
	    DEF_TIMEOUT_MS;
	lk.max_answer = conf->max_answer > 0 ? conf->max_answer :
	    DEF_MAX_ANSWER;
	lk.res = res;
	lk.ip = ip;
	if (server != NULL && server[0] != '\0' &&
	    iw_whois_range_narrow(lk.auth_first, lk.auth_last,
	    sizeof(lk.auth_first), auth_first, auth_last, ip) != 0)
		lk.auth_first[0] = lk.auth_last[0] = '\0';
	r = lookup_run(&lk, server != NULL && server[0] != '\0' ? server :
	    conf->bootstrap, server != NULL ? port : 0, ip, &ans, err);
	iw_buf_free(&ans);
	if (r != 0)
		iw_whois_result_free(res);
	return r;
}

int
iw_whois_lookup_from(const struct iw_whois_conf *conf, const char *server,
    int port, const char *auth_first, const char *auth_last, const char *ip,
    struct iw_whois_result *res, struct iw_err *err)
{
	if (res == NULL) {
		iw_err_set(err, "whois: no result buffer");
		return -1;
	}
	memset(res, 0, sizeof(*res));
	if (conf == NULL || conf->bootstrap == NULL ||
	    conf->bootstrap[0] == '\0') {
		iw_err_set(err, "whois: no bootstrap server configured");
		return -1;
	}
	if (lookup_once(conf, server, port, auth_first, auth_last, ip, res,
	    err) != 0)
		return -1;
	/*
	 * Asked a national registry directly (the cache knew it) and it
	 * names no contact: the RIR's answer is the fallback, so ask the
	 * whole chain as the first address of the network was.
	 */
	if (server != NULL && iw_whois_nir_by_server(server) != NULL &&
	    res->status == IW_WHOIS_NOCONTACT) {
		iw_whois_result_free(res);
		if (lookup_once(conf, NULL, 0, NULL, NULL, ip, res, err) != 0)
			return -1;
	}
	if (res->latin1 && res->status != IW_WHOIS_OK) {
		size_t n = strlen(res->reason);

		snprintf(res->reason + n, sizeof(res->reason) - n,
		    " (answer not UTF-8, read as Latin-1)");
	}
	return 0;
}

void
iw_whois_result_free(struct iw_whois_result *res)
{
	if (res == NULL)
		return;
	free(res->raw);
	res->raw = NULL;
	res->raw_len = 0;
}

int
iw_whois_ask(const struct iw_whois_conf *conf, const char *server, int port,
    const char *query, struct iw_buf *ans, int *refused, char *why,
    size_t wsz)
{
	struct iw_whois_result dummy;
	struct lookup lk;

	memset(&dummy, 0, sizeof(dummy));
	memset(&lk, 0, sizeof(lk));
	lk.conf = conf;
	lk.timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms :
	    DEF_TIMEOUT_MS;
	lk.max_answer = conf->max_answer > 0 ? conf->max_answer :
	    DEF_MAX_ANSWER;
	lk.res = &dummy;
	lk.refused = 0;
	*refused = 0;
	if (whois_fetch(&lk, server, port, query, ans, why, wsz) != 0) {
		*refused = lk.refused;
		return -1;
	}
	return 0;
}

int
iw_whois_more_specific(const struct iw_whois_conf *conf, const char *server,
    int port, const char *first, const char *last,
    struct iw_whois_listing *out, struct iw_err *err)
{
	enum iw_whois_format fmt = iw_whois_format_for(server);
	struct iw_buf ans = IW_BUF_INIT;
	char q[160], why[200];
	int r;

	if (out == NULL || conf == NULL || server == NULL) {
		iw_err_set(err, "whois: bad listing arguments");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	if (iw_whois_listing_query(fmt, first, last, q, sizeof(q)) != 0) {
		out->status = IW_WHOIS_NOCONTACT;
		snprintf(out->reason, sizeof(out->reason),
		    "%s offers no more-specific query for %s - %s", server,
		    first ? first : "", last ? last : "");
		return 0;
	}
	if (iw_whois_ask(conf, server, port, q, &ans, &out->refused, why,
	    sizeof(why)) != 0) {
		iw_buf_free(&ans);
		out->status = IW_WHOIS_TRANSIENT;
		iw_strlcpy(out->query, q, sizeof(out->query));
		snprintf(out->reason, sizeof(out->reason), "%s: %s", server,
		    why);
		return 0;
	}
	r = iw_whois_parse_listing(fmt, first, last, ans.data ? ans.data : "",
	    ans.len, out);
	iw_buf_free(&ans);
	if (r != 0) {
		iw_err_set(err, "whois: out of memory");
		return -1;
	}
	iw_strlcpy(out->query, q, sizeof(out->query));
	return 0;
}

