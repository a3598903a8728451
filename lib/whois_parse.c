/*
 * whois_parse: the registries' answers, read.  Pure functions of the bytes
 * (buf, len), one section per registry family, each with its rules
 * together: IANA (referral and the block it delegates), RIPE/APNIC/AFRINIC
 * (RPSL objects), ARIN (NetRange blocks, ReferralServer), LACNIC and
 * registro.br; then the more-specific listings.  The network client is
 * lib/whois.c; lib/whois_parse.h is what it shares with this file.
 *
 * Query syntax, and why:
 *   IANA            "IP"        the only form IANA knows.
 *   ARIN            "n + IP"    "n" restricts to networks (no ASN/POC
 *                               matches), "+" adds the Org and resource POC
 *                               details (OrgAbuseEmail, RAbuseEmail); ARIN
 *                               lists every network containing IP.
 *   RIPE, APNIC,    "-r IP"     -r turns off recursion into person/role
 *   AFRINIC                     objects.  These servers count personal-data
 *                               objects per client and answer
 *                               "%ERROR:201: access denied" once over the
 *                               daily limit, which a bulk daemon would hit.
 *                               They still print the
 *                               "% Abuse contact for 'a - b' is 'x'" comment
 *                               (abuse-c resolution is done server-side and
 *                               is not personal data), which is our primary
 *                               source.  When no abuse contact is registered
 *                               but the network names an `mnt-irt:`, a
 *                               second query "-r -T irt IRT-NAME" to the same
 *                               server fetches the irt object and its
 *                               abuse-mailbox (RIPE returns irt objects only
 *                               with -c, which would also change which
 *                               inetnum is returned).  Answers that do carry
 *                               role/irt objects (queries without -r, saved
 *                               answers) are parsed too: abuse-c → role
 *                               abuse-mailbox, org → organisation abuse-c,
 *                               mnt-irt → irt abuse-mailbox.
 *   LACNIC,         "IP"        LACNIC has no flags; abuse-c is a handle
 *   registro.br                 resolved to the nic-hdl(-br) block's e-mail
 *                               in the same answer.
 *
 * Parsers are pure functions of (buf, len): no NUL termination assumed, LF
 * or CRLF, any bytes tolerated; every value is copied bounded.  Only a value
 * that is exactly one mailbox accepted by iw_mailbox_normalize() is ever
 * returned.
 */
#include "whois.h"
#include "whois_nir.h"
#include "whois_parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_SHOW	80	/* bytes of an outside value quoted in reasons */
#define NO_ABUSE	IW_WHOIS_NO_ABUSE
#define wnet		iw_whois_net


/* ---------- small text helpers ---------- */

static int
ci_eqn(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return 0;
	for (size_t i = 0; i < an; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return 0;
	return 1;
}

static int
ci_eq(const char *a, size_t an, const char *b)
{
	return ci_eqn(a, an, b, strlen(b));
}

static int
ci_prefix(const char *a, size_t an, const char *pre)
{
	size_t pn = strlen(pre);

	return an >= pn && ci_eq(a, pn, pre);
}

static const char *
ci_find(const char *a, size_t an, const char *needle)
{
	size_t nn = strlen(needle);

	for (size_t i = 0; nn <= an && i <= an - nn; i++)
		if (ci_eq(a + i, nn, needle))
			return a + i;
	return NULL;
}

/* Copy an outside value for a message: printable ASCII only, bounded. */
static void
sanitize(char *out, size_t outsz, const char *v, size_t vn)
{
	size_t o = 0;

	if (outsz == 0)
		return;
	for (size_t i = 0; i < vn && o + 1 < outsz; i++) {
		unsigned char c = (unsigned char)v[i];
		if (i >= VALUE_SHOW) {
			if (o + 4 < outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[o] = '\0';
}

/*
 * Next line of buf from *pos, without its LF or CRLF.  Returns 0 at the
 * end.  A NUL byte is just a byte.
 */
static int
next_line(const char *buf, size_t len, size_t *pos, const char **l,
    size_t *ln)
{
	size_t s = *pos, e;

	if (s >= len)
		return 0;
	for (e = s; e < len && buf[e] != '\n'; e++)
		;
	*pos = e < len ? e + 1 : len;
	*l = buf + s;
	*ln = e - s;
	if (*ln > 0 && (*l)[*ln - 1] == '\r')
		(*ln)--;
	return 1;
}

static int
blank_line(const char *l, size_t ln)
{
	for (size_t i = 0; i < ln; i++)
		if (!isspace((unsigned char)l[i]))
			return 0;
	return 1;
}

static int
comment_line(const char *l, size_t ln)
{
	return ln > 0 && (l[0] == '%' || l[0] == '#');
}

/*
 * Split "key: value".  The key is [A-Za-z0-9_-]+ at column 0 (RPSL and
 * ARIN alike); the value is trimmed.  Returns 0 when the line is no
 * attribute (continuation, comment, free text).
 */
static int
split_attr(const char *l, size_t ln, const char **k, size_t *kn,
    const char **v, size_t *vn)
{
	size_t i = 0;

	while (i < ln && (isalnum((unsigned char)l[i]) || l[i] == '-' ||
	    l[i] == '_'))
		i++;
	if (i == 0 || i >= ln || l[i] != ':')
		return 0;
	*k = l;
	*kn = i;
	*v = l + i + 1;
	*vn = ln - i - 1;
	iw_trim(v, vn);
	return 1;
}

/*
 * Objects: runs of non-blank, non-comment lines.  Comment lines end an
 * object too, so ARIN's "# start"/"# end" and RIPE's "% Information
 * related to" never glue two objects together.
 */
static int
next_object(const char *buf, size_t len, size_t *pos, const char **o,
    size_t *on)
{
	const char *l;
	size_t ln, start = *pos, p;

	for (;;) {
		p = *pos;
		if (!next_line(buf, len, pos, &l, &ln))
			return 0;
		if (!blank_line(l, ln) && !comment_line(l, ln)) {
			start = p;
			break;
		}
	}
	for (;;) {
		p = *pos;
		if (!next_line(buf, len, pos, &l, &ln))
			break;
		if (blank_line(l, ln) || comment_line(l, ln)) {
			*pos = p;
			break;
		}
	}
	*o = buf + start;
	*on = *pos - start;
	return 1;
}

/* The idx-th value of key in [o, o + on).  Returns 1 when found. */
static int
attr_get(const char *o, size_t on, const char *key, int idx,
    const char **v, size_t *vn)
{
	const char *l, *k;
	size_t ln, kn, pos = 0;

	while (next_line(o, on, &pos, &l, &ln)) {
		if (!split_attr(l, ln, &k, &kn, v, vn) || !ci_eq(k, kn, key))
			continue;
		if (idx-- == 0)
			return 1;
	}
	return 0;
}

/* The first attribute's key: the RPSL object class. */
static int
obj_class(const char *o, size_t on, const char *cls)
{
	const char *l, *k, *v;
	size_t ln, kn, vn, pos = 0;

	if (!next_line(o, on, &pos, &l, &ln) ||
	    !split_attr(l, ln, &k, &kn, &v, &vn))
		return 0;
	return ci_eq(k, kn, cls);
}

/* ---------- addresses and networks ---------- */

static int
addr_parse(const char *s, size_t n, struct wnet *a)
{
	char tmp[64];
	struct in_addr v4;
	struct in6_addr v6;

	iw_trim(&s, &n);
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, tmp, &v4) == 1) {
		a->af = 4;
		memcpy(a->first + 12, &v4, 4);
	} else if (inet_pton(AF_INET6, tmp, &v6) == 1) {
		a->af = 6;
		memcpy(a->first, &v6, 16);
	} else
		return -1;
	memcpy(a->last, a->first, 16);
	return 0;
}

/* LACNIC short IPv4 form: "200.7.84" = 200.7.84.0, "198.19" = 198.19.0.0. */
static int
addr_parse_short4(const char *s, size_t n, struct wnet *a)
{
	unsigned oct[4] = { 0, 0, 0, 0 };
	size_t i = 0;
	int parts = 0;

	iw_trim(&s, &n);
	while (i < n) {
		unsigned v = 0;
		size_t digits = 0;

		if (parts == 4)
			return -1;
		while (i < n && isdigit((unsigned char)s[i]) && digits < 4) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255)
			return -1;
		oct[parts++] = v;
		if (i < n) {
			if (s[i] != '.' || i + 1 == n)
				return -1;
			i++;
		}
	}
	if (parts == 0)
		return -1;
	memset(a, 0, sizeof(*a));
	a->af = 4;
	for (int k = 0; k < 4; k++)
		a->first[12 + k] = (unsigned char)oct[k];
	memcpy(a->last, a->first, 16);
	return 0;
}

static int
prefix_apply(struct wnet *a, unsigned plen)
{
	unsigned base = a->af == 4 ? 96 : 0;
	unsigned total = base + plen;

	if ((a->af == 4 && plen > 32) || plen > 128)
		return -1;
	for (unsigned bit = total; bit < 128; bit++) {
		unsigned char m = (unsigned char)(0x80u >> (bit % 8));
		a->first[bit / 8] &= (unsigned char)~m;
		a->last[bit / 8] |= m;
	}
	return 0;
}

/*
 * A network as registries write it: "a - b", "a/len" (also LACNIC's
 * "200.7.84/23"), or a single address.  ARIN's CIDR field may list
 * several prefixes; only the first is taken (NetRange is preferred).
 */
static int
net_parse(const char *s, size_t n, struct wnet *out)
{
	const char *dash, *slash;
	struct wnet b;

	iw_trim(&s, &n);
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',') {
			n = i;
			break;
		}
	dash = memchr(s, '-', n);
	if (dash != NULL) {
		if (addr_parse(s, (size_t)(dash - s), out) != 0 ||
		    addr_parse(dash + 1, n - (size_t)(dash - s) - 1, &b) != 0 ||
		    b.af != out->af || memcmp(out->first, b.first, 16) > 0)
			return -1;
		memcpy(out->last, b.last, 16);
		return 0;
	}
	slash = memchr(s, '/', n);
	if (slash != NULL) {
		size_t an = (size_t)(slash - s), pn = n - an - 1;
		unsigned plen = 0;

		if (pn == 0 || pn > 3)
			return -1;
		for (size_t i = 0; i < pn; i++) {
			if (!isdigit((unsigned char)slash[1 + i]))
				return -1;
			plen = plen * 10 + (unsigned)(slash[1 + i] - '0');
		}
		if (addr_parse(s, an, out) != 0 &&
		    addr_parse_short4(s, an, out) != 0)
			return -1;
		return prefix_apply(out, plen);
	}
	return addr_parse(s, n, out);
}

static int
net_contains(const struct wnet *n, const struct wnet *a)
{
	return n->af == a->af && memcmp(n->first, a->first, 16) <= 0 &&
	    memcmp(a->first, n->last, 16) <= 0;
}

static void
net_size(const struct wnet *n, unsigned char out[16])
{
	int borrow = 0;

	for (int i = 15; i >= 0; i--) {
		int d = (int)n->last[i] - (int)n->first[i] - borrow;
		borrow = d < 0;
		out[i] = (unsigned char)(d + (borrow ? 256 : 0));
	}
}

/* 1 if a is strictly smaller than b. */
static int
net_smaller(const struct wnet *a, const struct wnet *b)
{
	unsigned char sa[16], sb[16];

	net_size(a, sa);
	net_size(b, sb);
	return memcmp(sa, sb, 16) < 0;
}

static int
net_equal(const struct wnet *a, const struct wnet *b)
{
	return a->af == b->af && memcmp(a->first, b->first, 16) == 0 &&
	    memcmp(a->last, b->last, 16) == 0;
}

static void
net_ntop(const struct wnet *n, const unsigned char *b, char *out, size_t sz)
{
	const void *p = n->af == 4 ? (const void *)(b + 12) : (const void *)b;

	if (inet_ntop(n->af == 4 ? AF_INET : AF_INET6, p, out,
	    (socklen_t)sz) == NULL && sz > 0)
		out[0] = '\0';
}

static int
range_parse(const char *first, const char *last, struct wnet *n)
{
	struct wnet b;

	if (first == NULL || last == NULL ||
	    addr_parse(first, strlen(first), n) != 0 ||
	    addr_parse(last, strlen(last), &b) != 0 || b.af != n->af ||
	    memcmp(n->first, b.first, 16) > 0)
		return -1;
	memcpy(n->last, b.first, 16);
	return 0;
}

/* a becomes its intersection with b; -1 (a unchanged) when they do not
 * overlap. */
static int
net_intersect(struct wnet *a, const struct wnet *b)
{
	if (a->af != b->af || memcmp(a->last, b->first, 16) < 0 ||
	    memcmp(b->last, a->first, 16) < 0)
		return -1;
	if (memcmp(b->first, a->first, 16) > 0)
		memcpy(a->first, b->first, 16);
	if (memcmp(b->last, a->last, 16) < 0)
		memcpy(a->last, b->last, 16);
	return 0;
}

/* Every address of ip's family. */
static void
net_whole(const struct wnet *ip, struct wnet *out)
{
	memset(out, 0, sizeof(*out));
	out->af = ip->af;
	memset(out->last + (ip->af == 4 ? 12 : 0), 0xff, ip->af == 4 ? 4 : 16);
}

static void
set_net(struct iw_whois_parsed *out, const struct wnet *n, const char *text,
    size_t tn)
{
	net_ntop(n, n->first, out->net_first, sizeof(out->net_first));
	net_ntop(n, n->last, out->net_last, sizeof(out->net_last));
	sanitize(out->net_text, sizeof(out->net_text), text, tn);
}

/*
 * Statuses under which a registry allows no more specific registration, so
 * that the network alone proves coverage of every address in it.  Kept
 * short on purpose: a status missing here only costs a listing query.
 */
static int
status_is_leaf(enum iw_whois_format fmt, const char *v, size_t vn)
{
	static const char *const rpsl[] = { "ASSIGNED PA", "ASSIGNED PI",
	    "ASSIGNED ANYCAST", "ASSIGNED NON-PORTABLE", "ASSIGNED" };

	iw_trim(&v, &vn);
	if (fmt == IW_WHOIS_FMT_ARIN || fmt == IW_WHOIS_FMT_LACNIC)
		return ci_eq(v, vn, "reassigned");
	for (size_t i = 0; i < sizeof(rpsl) / sizeof(rpsl[0]); i++)
		if (ci_eq(v, vn, rpsl[i]))
			return 1;
	return 0;
}

static void
set_top(struct iw_whois_parsed *out, const struct wnet *n)
{
	net_ntop(n, n->first, out->top_first, sizeof(out->top_first));
	net_ntop(n, n->last, out->top_last, sizeof(out->top_last));
}

static void
set_delegation(struct iw_whois_parsed *out, const struct wnet *n)
{
	net_ntop(n, n->first, out->deleg_first, sizeof(out->deleg_first));
	net_ntop(n, n->last, out->deleg_last, sizeof(out->deleg_last));
}

/* The least specific object of class cls[] containing ip. */
static int
top_network(const char *buf, size_t len, const struct wnet *ip,
    const char *const *cls, size_t ncls, struct wnet *top)
{
	const char *o, *v;
	size_t on, vn, pos = 0;
	int found = 0;
	struct wnet n;

	while (next_object(buf, len, &pos, &o, &on))
		for (size_t c = 0; c < ncls; c++) {
			if (!obj_class(o, on, cls[c]) ||
			    !attr_get(o, on, cls[c], 0, &v, &vn) ||
			    net_parse(v, vn, &n) != 0 || !net_contains(&n, ip))
				continue;
			if (!found || net_smaller(top, &n)) {
				*top = n;
				found = 1;
			}
		}
	return found;
}

/* ---------- mailbox values ---------- */

/*
 * Accept v as the abuse address only if it is exactly one valid mailbox.
 * Returns 0 with out->email set, else -1 with out->reason naming the value.
 */
static int
take_mailbox(struct iw_whois_parsed *out, const char *what, const char *v,
    size_t vn)
{
	char shown[VALUE_SHOW + 8];
	struct iw_err e;
	int ats = 0;

	iw_trim(&v, &vn);
	sanitize(shown, sizeof(shown), v, vn);
	for (size_t i = 0; i < vn; i++)
		if (v[i] == '@')
			ats++;
	if (ats > 1) {
		snprintf(out->reason, sizeof(out->reason),
		    "%s '%s': several addresses in one field", what, shown);
		return -1;
	}
	e.msg[0] = '\0';
	if (iw_mailbox_normalize(v, vn, out->email, sizeof(out->email),
	    &e) != 0) {
		out->email[0] = '\0';
		snprintf(out->reason, sizeof(out->reason),
		    "%.60s '%s' is not a valid mailbox: %.80s", what,
		    shown, e.msg);
		return -1;
	}
	return 0;
}

/*
 * The single value of key in object o; two different values count as
 * several addresses.  Returns 1 found-and-accepted, -1 found-but-bad,
 * 0 absent.
 */
static int
take_attr_mailbox(struct iw_whois_parsed *out, const char *o, size_t on,
    const char *key, const char *what)
{
	const char *v, *v2;
	size_t vn, vn2;

	if (!attr_get(o, on, key, 0, &v, &vn))
		return 0;
	for (int i = 1; attr_get(o, on, key, i, &v2, &vn2); i++) {
		if (!ci_eqn(v, vn, v2, vn2)) {
			char a[VALUE_SHOW + 8], b[VALUE_SHOW + 8];

			sanitize(a, sizeof(a), v, vn);
			sanitize(b, sizeof(b), v2, vn2);
			snprintf(out->reason, sizeof(out->reason),
			    "%s: several addresses '%s', '%s'", what, a, b);
			return -1;
		}
	}
	return take_mailbox(out, what, v, vn) == 0 ? 1 : -1;
}

/* ---------- throttling and "not found" ---------- */

static int
detect_throttle(const char *buf, size_t len)
{
	const char *l, *k, *v;
	size_t ln, kn, vn, pos = 0;

	while (next_line(buf, len, &pos, &l, &ln)) {
		const char *p = l;
		size_t pn = ln;

		iw_trim(&p, &pn);
		/* Registry data (remarks: ...) may talk about rate limits. */
		if (!comment_line(p, pn) && split_attr(l, ln, &k, &kn, &v, &vn))
			continue;
		/* RIPE-style (RIPE, APNIC, AFRINIC): 201 access denied,
		 * 306 too many connections; ARIN, LACNIC: "Query rate
		 * limit exceeded". */
		if (ci_prefix(p, pn, "%ERROR:201") ||
		    ci_prefix(p, pn, "%ERROR:306") ||
		    ci_find(p, pn, "rate limit") != NULL ||
		    ci_find(p, pn, "access denied") != NULL)
			return 1;
	}
	return 0;
}

static void
reason_no_network(struct iw_whois_parsed *out, const char *buf, size_t len,
    const char *ip)
{
	if (ci_find(buf, len, "no entries found") != NULL)
		snprintf(out->reason, sizeof(out->reason),
		    "no entries found for %s", ip);
	else if (ci_find(buf, len, "no match found") != NULL)
		snprintf(out->reason, sizeof(out->reason),
		    "no match found for %s", ip);
	else
		snprintf(out->reason, sizeof(out->reason),
		    "no network containing %s in the answer", ip);
}

/* ---------- IANA ---------- */

/* "whois.ripe.net" or "whois.ripe.net:4343"; hostname characters only. */
static int
set_referral(struct iw_whois_parsed *out, const char *v, size_t vn)
{
	size_t hn = vn;
	const char *colon;
	int port = 0;

	iw_trim(&v, &vn);
	while (vn > 0 && v[vn - 1] == '/')
		vn--;
	colon = memchr(v, ':', vn);
	hn = colon ? (size_t)(colon - v) : vn;
	if (colon != NULL) {
		size_t pn = vn - hn - 1;
		if (pn == 0 || pn > 5)
			return -1;
		for (size_t i = 0; i < pn; i++) {
			if (!isdigit((unsigned char)colon[1 + i]))
				return -1;
			port = port * 10 + (colon[1 + i] - '0');
		}
		if (port == 0 || port > 65535)
			return -1;
	}
	if (hn == 0 || hn >= sizeof(out->referral))
		return -1;
	for (size_t i = 0; i < hn; i++) {
		unsigned char c = (unsigned char)v[i];
		if (!isalnum(c) && c != '.' && c != '-')
			return -1;
	}
	for (size_t i = 0; i < hn; i++)
		out->referral[i] = (char)tolower((unsigned char)v[i]);
	out->referral[hn] = '\0';
	out->referral_port = port;
	return 0;
}

/* IANA's inetnum/inet6num holding ip: the block the referral is for. */
static void
iana_delegation(const struct wnet *ip, const char *buf, size_t len,
    struct iw_whois_parsed *out)
{
	const char *l, *k, *v;
	size_t ln, kn, vn, pos = 0;
	struct wnet n;

	while (next_line(buf, len, &pos, &l, &ln))
		if (split_attr(l, ln, &k, &kn, &v, &vn) &&
		    (ci_eq(k, kn, "inetnum") || ci_eq(k, kn, "inet6num")) &&
		    net_parse(v, vn, &n) == 0 && net_contains(&n, ip)) {
			set_delegation(out, &n);
			return;
		}
}

static int
parse_iana(const struct wnet *ip, const char *buf, size_t len,
    struct iw_whois_parsed *out)
{
	const char *l, *k, *v;
	size_t ln, kn, vn, pos = 0;
	int got = 0;

	while (!got && next_line(buf, len, &pos, &l, &ln))
		if (split_attr(l, ln, &k, &kn, &v, &vn) &&
		    ci_eq(k, kn, "refer") && vn > 0)
			got = set_referral(out, v, vn) == 0;
	pos = 0;
	while (!got && next_line(buf, len, &pos, &l, &ln))
		if (split_attr(l, ln, &k, &kn, &v, &vn) &&
		    ci_eq(k, kn, "whois") && vn > 0)
			got = set_referral(out, v, vn) == 0;
	if (!got)
		snprintf(out->reason, sizeof(out->reason),
		    "IANA names no registry for this address");
	else
		iana_delegation(ip, buf, len, out);
	return 0;
}

/* ---------- RIPE, APNIC, AFRINIC ---------- */

static const char *const inetnum_cls[] = { "inetnum", "inet6num" };

/* The most specific object of class cls[0] or cls[1] containing ip. */
static int
best_network(const char *buf, size_t len, const struct wnet *ip,
    const char *const *cls, size_t ncls, const char **bo, size_t *bon,
    struct wnet *bn, const char **bt, size_t *btn)
{
	const char *o, *v;
	size_t on, vn, pos = 0;
	int found = 0;
	struct wnet n;

	memset(bn, 0, sizeof(*bn));
	while (next_object(buf, len, &pos, &o, &on)) {
		for (size_t c = 0; c < ncls; c++) {
			if (!obj_class(o, on, cls[c]) ||
			    !attr_get(o, on, cls[c], 0, &v, &vn) ||
			    net_parse(v, vn, &n) != 0 || !net_contains(&n, ip))
				continue;
			if (!found || net_smaller(&n, bn)) {
				*bo = o;
				*bon = on;
				*bn = n;
				*bt = v;
				*btn = vn;
				found = 1;
			}
		}
	}
	return found;
}

/*
 * "% Abuse contact for 'a - b' is 'x'" for the network best.  Returns 1
 * accepted, -1 present but bad, 0 none (or "No abuse contact registered").
 */
static int
ripe_abuse_comment(const char *buf, size_t len, const struct wnet *best,
    struct iw_whois_parsed *out)
{
	static const char pre[] = "% Abuse contact for '";
	static const char mid[] = "' is '";
	const char *l, *m, *v;
	size_t ln, pos = 0, vn;
	struct wnet n;

	while (next_line(buf, len, &pos, &l, &ln)) {
		if (!ci_prefix(l, ln, pre))
			continue;
		m = ci_find(l, ln, mid);
		if (m == NULL)
			continue;
		if (net_parse(l + sizeof(pre) - 1,
		    (size_t)(m - l) - (sizeof(pre) - 1), &n) != 0 ||
		    !net_equal(&n, best))
			continue;
		v = m + sizeof(mid) - 1;
		vn = ln - (size_t)(v - l);
		while (vn > 0 && isspace((unsigned char)v[vn - 1]))
			vn--;
		if (vn > 0 && v[vn - 1] == '\'')
			vn--;
		if (take_mailbox(out, "abuse contact", v, vn) != 0)
			return -1;
		iw_strlcpy(out->source, "abuse contact comment",
		    sizeof(out->source));
		return 1;
	}
	return 0;
}

/* Object whose key attribute (e.g. nic-hdl, irt) equals handle. */
static int
find_by_key(const char *buf, size_t len, const char *key, const char *h,
    size_t hn, const char **o, size_t *on)
{
	const char *v;
	size_t vn, pos = 0;

	while (next_object(buf, len, &pos, o, on))
		if (attr_get(*o, *on, key, 0, &v, &vn) &&
		    ci_eqn(v, vn, h, hn))
			return 1;
	return 0;
}

/* handle's object (by nic-hdl) -> abuse-mailbox. */
static int
ripe_via_handle(const char *buf, size_t len, const char *key,
    const char *h, size_t hn, const char *mboxkey, const char *what,
    struct iw_whois_parsed *out)
{
	const char *o;
	size_t on;
	char hs[64];
	int r;

	if (!find_by_key(buf, len, key, h, hn, &o, &on))
		return 0;
	sanitize(hs, sizeof(hs), h, hn);
	snprintf(out->source, sizeof(out->source), "%s %s %s", what, hs,
	    mboxkey);
	r = take_attr_mailbox(out, o, on, mboxkey, out->source);
	if (r == 0)
		out->source[0] = '\0';
	return r;
}

/*
 * The most specific inetnum/inet6num holding ip (RPSL, LACNIC): its object
 * o, network best (set in out, with whether its status is a leaf under
 * fmt's rules).  0 with out->reason set when the answer holds none.
 */
static int
inetnum_of(enum iw_whois_format fmt, const struct wnet *ip, const char *ipstr,
    const char *buf, size_t len, struct iw_whois_parsed *out,
    const char **o, size_t *on, struct wnet *best)
{
	const char *t, *h;
	size_t tn, hn;

	if (!best_network(buf, len, ip, inetnum_cls, 2, o, on, best, &t,
	    &tn)) {
		reason_no_network(out, buf, len, ipstr);
		return 0;
	}
	set_net(out, best, t, tn);
	if (attr_get(*o, *on, "status", 0, &h, &hn))
		out->leaf = status_is_leaf(fmt, h, hn);
	return 1;
}

/*
 * The abuse contact network object o (network n) names itself: the
 * server's comment for n, abuse-c, the organisation's abuse-c, or its irt
 * object when the answer holds it.  1 accepted (out->email, ->source),
 * -1 present but bad (out->reason), 0 none.
 */
static int
ripe_contact_of(const char *buf, size_t len, const char *o, size_t on,
    const struct wnet *n, struct iw_whois_parsed *out)
{
	const char *h;
	size_t hn;
	int r;

	if ((r = ripe_abuse_comment(buf, len, n, out)) != 0)
		return r;
	if (attr_get(o, on, "abuse-c", 0, &h, &hn) &&
	    (r = ripe_via_handle(buf, len, "nic-hdl", h, hn, "abuse-mailbox",
	    "abuse-c", out)) != 0)
		return r;
	if (attr_get(o, on, "org", 0, &h, &hn)) {
		const char *org;
		size_t orgn;

		if (find_by_key(buf, len, "organisation", h, hn, &org,
		    &orgn) && attr_get(org, orgn, "abuse-c", 0, &h, &hn) &&
		    (r = ripe_via_handle(buf, len, "nic-hdl", h, hn,
		    "abuse-mailbox", "org abuse-c", out)) != 0)
			return r;
	}
	if (attr_get(o, on, "mnt-irt", 0, &h, &hn) &&
	    (r = ripe_via_handle(buf, len, "irt", h, hn, "abuse-mailbox",
	    "irt", out)) != 0)
		return r;
	return 0;
}

/* The registry an object says it is from ("APNIC", "RIPE # Filtered"),
 * its first word; "" when not said. */
static void
object_source(const char *o, size_t on, const char **s, size_t *sn)
{
	size_t i = 0;

	*s = "";
	*sn = 0;
	if (!attr_get(o, on, "source", 0, s, sn))
		return;
	while (i < *sn && !isspace((unsigned char)(*s)[i]) && (*s)[i] != '#')
		i++;
	*sn = i;
}

/*
 * The network next enclosing cur (the smallest object of the answer
 * strictly larger than cur that holds it), when it is from the same
 * registry as the object bo: inheritance never crosses a registry
 * boundary.  1 found (o, n, text), 0 none.
 */
static int
enclosing_network(const char *buf, size_t len, const struct wnet *cur,
    const char *bo, size_t bon, const char **ro, size_t *ron,
    struct wnet *rn)
{
	const char *o, *v, *bs, *s;
	size_t on, vn, pos = 0, bsn, sn;
	int found = 0;
	struct wnet n;

	object_source(bo, bon, &bs, &bsn);
	while (next_object(buf, len, &pos, &o, &on))
		for (size_t c = 0; c < 2; c++) {
			if (!obj_class(o, on, inetnum_cls[c]) ||
			    !attr_get(o, on, inetnum_cls[c], 0, &v, &vn) ||
			    net_parse(v, vn, &n) != 0 ||
			    !net_contains(&n, cur) ||
			    memcmp(cur->last, n.last, 16) > 0 ||
			    !net_smaller(cur, &n))
				continue;
			object_source(o, on, &s, &sn);
			if (bsn > 0 && sn > 0 && !ci_eqn(bs, bsn, s, sn))
				continue;
			if (!found || net_smaller(&n, rn)) {
				*ro = o;
				*ron = on;
				*rn = n;
				found = 1;
			}
		}
	return found;
}

/* "218.160.0.0/12", or "a - b" when not one prefix. */
static void net_name(const struct wnet *n, char *out, size_t outsz);

/*
 * Inheritance (RIPE's abuse-c, APNIC's irt): the most specific network
 * without an abuse contact of its own takes the nearest enclosing
 * network's, from the same registry's objects in the same answer, and
 * says so in the source.  A network naming an irt the answer does not
 * hold stops the walk: the client fetches that irt first.  1 found,
 * -1 bad address found, 0 none.
 */
static int
ripe_inherit(const char *buf, size_t len, const char *bo, size_t bon,
    const struct wnet *best, struct iw_whois_parsed *out)
{
	const char *o = bo, *h;
	size_t on = bon, hn;
	struct wnet cur = *best, n;
	char from[100], src[sizeof(out->source)];
	int r;

	while (!attr_get(o, on, "mnt-irt", 0, &h, &hn) &&
	    enclosing_network(buf, len, &cur, bo, bon, &o, &on, &n)) {
		cur = n;
		r = ripe_contact_of(buf, len, o, on, &n, out);
		if (r == 0)
			continue;
		net_name(&n, from, sizeof(from));
		if (r > 0) {
			snprintf(src, sizeof(src), "inherited from %.40s: %.70s",
			    from, out->source);
			iw_strlcpy(out->source, src, sizeof(out->source));
		}
		return r;
	}
	return 0;
}

static int
parse_ripe(const struct wnet *ip, const char *ipstr, const char *buf,
    size_t len, struct iw_whois_parsed *out)
{
	const char *o;
	size_t on;
	struct wnet best, top;

	if (!inetnum_of(IW_WHOIS_FMT_RIPE, ip, ipstr, buf, len, out, &o, &on,
	    &best))
		return 0;
	if (top_network(buf, len, ip, inetnum_cls, 2, &top))
		set_top(out, &top);
	if (ripe_contact_of(buf, len, o, on, &best, out) != 0 ||
	    ripe_inherit(buf, len, o, on, &best, out) != 0)
		return 0;
	snprintf(out->reason, sizeof(out->reason), "%s%s", NO_ABUSE,
	    out->net_text);
	return 0;
}

/* ---------- ARIN ---------- */

/* ARIN blocks: from one "NetRange:" line to the next. */
static int
next_arin_block(const char *buf, size_t len, size_t *pos, const char **b,
    size_t *bn)
{
	const char *l;
	size_t ln, p, start = 0;
	int in = 0;

	for (;;) {
		p = *pos;
		if (!next_line(buf, len, pos, &l, &ln))
			break;
		if (ci_prefix(l, ln, "NetRange:")) {
			if (in) {
				*pos = p;
				break;
			}
			in = 1;
			start = p;
		}
	}
	if (!in)
		return 0;
	*b = buf + start;
	*bn = *pos - start;
	return 1;
}

/* Lines of a block are attributes regardless of blank lines. */
static int
block_get(const char *b, size_t bn, const char *key, int idx,
    const char **v, size_t *vn)
{
	return attr_get(b, bn, key, idx, v, vn);
}

struct arin_cand {
	const char *b;
	size_t bn;
	struct wnet n;
	const char *t;
	size_t tn;
};

#define ARIN_MAX_CAND 32

static void
arin_referral(const char *b, size_t bn, struct iw_whois_parsed *out)
{
	const char *v;
	size_t vn;

	for (int i = 0; block_get(b, bn, "ReferralServer", i, &v, &vn); i++) {
		if (ci_prefix(v, vn, "whois://") &&
		    set_referral(out, v + 8, vn - 8) == 0) {
			if (ci_find(out->referral, strlen(out->referral),
			    "arin.net") != NULL) {
				out->referral[0] = '\0';
				out->referral_port = 0;
				continue;
			}
			return;
		}
		/* rwhois:// and anything else: not followed. */
	}
}

static int
arin_email(const char *b, size_t bn, struct iw_whois_parsed *out)
{
	static const struct {
		const char *key, *handle;
	} keys[] = {
		{ "RAbuseEmail", "RAbuseHandle" },
		{ "OrgAbuseEmail", "OrgAbuseHandle" },
	};
	const char *h;
	size_t hn;
	char hs[64];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v;
		size_t vn;
		int r;

		if (!block_get(b, bn, keys[i].key, 0, &v, &vn))
			continue;
		hs[0] = '\0';
		if (block_get(b, bn, keys[i].handle, 0, &h, &hn))
			sanitize(hs, sizeof(hs), h, hn);
		snprintf(out->source, sizeof(out->source), "%s%s%s",
		    keys[i].key, hs[0] ? " " : "", hs);
		r = take_attr_mailbox(out, b, bn, keys[i].key, out->source);
		return r;
	}
	return 0;
}

static int
parse_arin(const struct wnet *ip, const char *ipstr, const char *buf,
    size_t len, struct iw_whois_parsed *out)
{
	struct arin_cand c[ARIN_MAX_CAND], tmp;
	size_t nc = 0, pos = 0;
	const char *b;
	size_t bn;

	while (nc < ARIN_MAX_CAND && next_arin_block(buf, len, &pos, &b,
	    &bn)) {
		const char *v;
		size_t vn;

		if ((!block_get(b, bn, "NetRange", 0, &v, &vn) ||
		    net_parse(v, vn, &c[nc].n) != 0) &&
		    (!block_get(b, bn, "CIDR", 0, &v, &vn) ||
		    net_parse(v, vn, &c[nc].n) != 0))
			continue;
		if (!net_contains(&c[nc].n, ip))
			continue;
		c[nc].b = b;
		c[nc].bn = bn;
		c[nc].t = v;
		c[nc].tn = vn;
		nc++;
	}
	if (nc == 0) {
		reason_no_network(out, buf, len, ipstr);
		return 0;
	}
	/* Most specific first (insertion sort, nc is small). */
	for (size_t i = 1; i < nc; i++)
		for (size_t j = i; j > 0 && net_smaller(&c[j].n, &c[j - 1].n);
		    j--) {
			tmp = c[j];
			c[j] = c[j - 1];
			c[j - 1] = tmp;
		}
	set_net(out, &c[0].n, c[0].t, c[0].tn);
	set_top(out, &c[nc - 1].n);
	{
		const char *v;
		size_t vn;

		if (block_get(c[0].b, c[0].bn, "NetType", 0, &v, &vn))
			out->leaf = status_is_leaf(IW_WHOIS_FMT_ARIN, v, vn);
	}
	arin_referral(c[0].b, c[0].bn, out);
	/* The contact is read even with a referral: it stands when the
	 * referral is refused. */
	if (out->referral[0] != '\0')
		set_delegation(out, &c[0].n);	/* ARIN's own network */
	/*
	 * A reassigned customer network usually has no POCs of its own: the
	 * next less specific network with an abuse POC speaks for it.  The
	 * first network with any abuse address decides, valid or not.
	 */
	for (size_t i = 0; i < nc; i++) {
		int r = arin_email(c[i].b, c[i].bn, out);
		if (r > 0)
			return 0;
		if (r < 0) {
			out->source[0] = '\0';
			return 0;
		}
	}
	out->source[0] = '\0';
	snprintf(out->reason, sizeof(out->reason),
	    "no OrgAbuseEmail or RAbuseEmail for %s", out->net_text);
	return 0;
}

/* ARIN's one-line form: "Org Name NETNAME (NET-1-2-3-0-1) a - b". */
static int
arin_summary_line(const char *l, size_t ln, struct wnet *x, const char **t,
    size_t *tl)
{
	const char *h = ci_find(l, ln, "(NET");
	const char *e;

	if (h == NULL)
		return 0;
	e = memchr(h, ')', ln - (size_t)(h - l));
	if (e == NULL)
		return 0;
	*t = e + 1;
	*tl = ln - (size_t)(e + 1 - l);
	iw_trim(t, tl);
	return net_parse(*t, *tl, x) == 0;
}

/* ---------- LACNIC, registro.br ---------- */

static int
parse_lacnic(const struct wnet *ip, const char *ipstr, const char *buf,
    size_t len, struct iw_whois_parsed *out)
{
	const char *o, *h;
	size_t on, hn;
	struct wnet best;
	int r;

	if (!inetnum_of(IW_WHOIS_FMT_LACNIC, ip, ipstr, buf, len, out, &o,
	    &on, &best))
		return 0;
	set_top(out, &best);	/* LACNIC answers hold one network */
	if (!attr_get(o, on, "abuse-c", 0, &h, &hn) || hn == 0) {
		snprintf(out->reason, sizeof(out->reason),
		    "no abuse-c for %s", out->net_text);
		return 0;
	}
	if ((r = ripe_via_handle(buf, len, "nic-hdl", h, hn, "e-mail",
	    "abuse-c", out)) != 0 ||
	    (r = ripe_via_handle(buf, len, "nic-hdl-br", h, hn, "e-mail",
	    "abuse-c", out)) != 0)
		return 0;
	{
		char hs[64];

		sanitize(hs, sizeof(hs), h, hn);
		snprintf(out->reason, sizeof(out->reason),
		    "abuse-c %s of %s not found in the answer", hs,
		    out->net_text);
	}
	return 0;
}

/* ---------- public parser API ---------- */

enum iw_whois_format
iw_whois_format_for(const char *server)
{
	size_t n;

	const struct iw_whois_nir *nir = iw_whois_nir_by_server(server);

	if (server == NULL)
		return IW_WHOIS_FMT_UNKNOWN;
	if (nir != NULL)
		return nir->fmt;
	n = strlen(server);
	if (ci_find(server, n, "ripe") || ci_find(server, n, "apnic") ||
	    ci_find(server, n, "afrinic"))
		return IW_WHOIS_FMT_RIPE;
	if (ci_find(server, n, "lacnic") || ci_find(server, n, "registro.br"))
		return IW_WHOIS_FMT_LACNIC;
	if (ci_find(server, n, "arin"))
		return IW_WHOIS_FMT_ARIN;
	if (ci_find(server, n, "iana"))
		return IW_WHOIS_FMT_IANA;
	return IW_WHOIS_FMT_UNKNOWN;
}

int
iw_whois_query_line(enum iw_whois_format fmt, const char *ip, char *out,
    size_t outsz)
{
	struct wnet a;
	int n;

	if (ip == NULL || out == NULL || addr_parse(ip, strlen(ip), &a) != 0)
		return -1;
	switch (fmt) {
	case IW_WHOIS_FMT_ARIN:
		n = snprintf(out, outsz, "n + %s", ip);
		break;
	case IW_WHOIS_FMT_RIPE:
		n = snprintf(out, outsz, "-r %s", ip);
		break;
	case IW_WHOIS_FMT_JPNIC:
		n = snprintf(out, outsz, "%s/e", ip);	/* /e: English */
		break;
	default:
		n = snprintf(out, outsz, "%s", ip);
		break;
	}
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int
iw_whois_parse(enum iw_whois_format fmt, const char *ip, const char *buf,
    size_t len, struct iw_whois_parsed *out)
{
	struct wnet a;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (ip == NULL || addr_parse(ip, strlen(ip), &a) != 0 ||
	    (buf == NULL && len > 0))
		return -1;
	if (buf == NULL)
		buf = "";
	if (detect_throttle(buf, len)) {
		out->throttled = 1;
		snprintf(out->reason, sizeof(out->reason),
		    "server refused the query (rate limit or access denied)");
		return 0;
	}
	switch (fmt) {
	case IW_WHOIS_FMT_IANA:
		return parse_iana(&a, buf, len, out);
	case IW_WHOIS_FMT_RIPE:
		return parse_ripe(&a, ip, buf, len, out);
	case IW_WHOIS_FMT_ARIN:
		return parse_arin(&a, ip, buf, len, out);
	case IW_WHOIS_FMT_LACNIC:
		return parse_lacnic(&a, ip, buf, len, out);
	case IW_WHOIS_FMT_JPNIC:
		return iw_whois_parse_jpnic(&a, ip, buf, len, out);
	case IW_WHOIS_FMT_KRNIC:
		return iw_whois_parse_krnic(&a, ip, buf, len, out);
	case IW_WHOIS_FMT_TWNIC:
		return iw_whois_parse_twnic(&a, ip, buf, len, out);
	case IW_WHOIS_FMT_UNKNOWN:
	default:
		break;
	}
	/* Unknown server: RPSL first, then ARIN keys, then LACNIC handles. */
	parse_ripe(&a, ip, buf, len, out);
	if (out->email[0] == '\0' && out->net_first[0] == '\0') {
		memset(out, 0, sizeof(*out));
		parse_arin(&a, ip, buf, len, out);
	}
	if (out->email[0] == '\0' && out->referral[0] == '\0') {
		struct iw_whois_parsed l;

		memset(&l, 0, sizeof(l));
		parse_lacnic(&a, ip, buf, len, &l);
		if (l.email[0] != '\0')
			*out = l;
	}
	return 0;
}

/* ---------- for the client (whois_parse.h) ---------- */

int
iw_whois_throttled(const char *buf, size_t len)
{
	return detect_throttle(buf, len);
}

int
iw_whois_irt_handle(const char *ip, const char *buf, size_t len, char *out,
    size_t outsz, char *from, size_t fromsz)
{
	const char *o, *t, *h, *bo;
	size_t on, tn, hn, bon;
	struct wnet a, best, cur, n;

	if (fromsz > 0)
		from[0] = '\0';
	if (addr_parse(ip, strlen(ip), &a) != 0 ||
	    !best_network(buf, len, &a, inetnum_cls, 2, &o, &on, &best, &t,
	    &tn))
		return -1;
	/* The nearest network naming an irt: its own, else inherited. */
	bo = o;
	bon = on;
	cur = best;
	while (!attr_get(o, on, "mnt-irt", 0, &h, &hn)) {
		if (!enclosing_network(buf, len, &cur, bo, bon, &o, &on, &n))
			return -1;
		cur = n;
		net_name(&cur, from, fromsz);
	}
	if (hn == 0 || hn >= outsz)
		return -1;
	for (size_t i = 0; i < hn; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return -1;
	}
	memcpy(out, h, hn);
	out[hn] = '\0';
	return 0;
}

int
iw_whois_parse_irt(const char *buf, size_t len, const char *handle,
    struct iw_whois_parsed *out)
{
	const char *o;
	size_t on;

	memset(out, 0, sizeof(*out));
	if (handle == NULL || !find_by_key(buf, len, "irt", handle,
	    strlen(handle), &o, &on))
		return 0;
	snprintf(out->source, sizeof(out->source), "irt %s abuse-mailbox",
	    handle);
	return take_attr_mailbox(out, o, on, "abuse-mailbox", out->source);
}

static void
range_out(const struct wnet *n, char *first, char *last, size_t sz)
{
	net_ntop(n, n->first, first, sz);
	net_ntop(n, n->last, last, sz);
}

int
iw_whois_range_whole(const char *ip, char *first, char *last, size_t sz)
{
	struct wnet a, w;

	if (ip == NULL || addr_parse(ip, strlen(ip), &a) != 0)
		return -1;
	net_whole(&a, &w);
	range_out(&w, first, last, sz);
	return 0;
}

int
iw_whois_range_narrow(char *first, char *last, size_t sz,
    const char *dfirst, const char *dlast, const char *ip)
{
	struct wnet a, d, x;

	if (range_parse(first, last, &a) != 0 ||
	    range_parse(dfirst, dlast, &d) != 0 || ip == NULL ||
	    addr_parse(ip, strlen(ip), &x) != 0 || !net_contains(&d, &x) ||
	    net_intersect(&a, &d) != 0)
		return -1;
	range_out(&a, first, last, sz);
	return 0;
}

int
iw_whois_range_clip(char *first, char *last, size_t sz, const char *afirst,
    const char *alast)
{
	struct wnet n, c, a;

	if (range_parse(first, last, &n) != 0 ||
	    range_parse(afirst, alast, &a) != 0)
		return -1;
	c = n;
	if (net_intersect(&c, &a) != 0)
		return -1;
	if (net_equal(&c, &n))
		return 0;
	range_out(&c, first, last, sz);
	return 1;
}

/* ---------- more-specific listings ---------- */

/* "a/len" when n is exactly one prefix, else -1. */
static int
net_cidr(const struct wnet *n, char *out, size_t outsz)
{
	char a[48];
	int plen = -1, start = n->af == 4 ? 96 : 0, r;

	for (int bit = start; bit <= 128; bit++) {
		int ok = 1;

		for (int b = bit; b < 128 && ok; b++) {
			unsigned char m = (unsigned char)(0x80u >> (b % 8));
			if ((n->first[b / 8] & m) != 0 ||
			    (n->last[b / 8] & m) == 0)
				ok = 0;
		}
		for (int b = start; b < bit && ok; b++) {
			unsigned char m = (unsigned char)(0x80u >> (b % 8));
			if ((n->first[b / 8] & m) != (n->last[b / 8] & m))
				ok = 0;
		}
		if (ok) {
			plen = bit - start;
			break;
		}
	}
	if (plen < 0)
		return -1;
	net_ntop(n, n->first, a, sizeof(a));
	r = snprintf(out, outsz, "%s/%d", a, plen);
	return r < 0 || (size_t)r >= outsz ? -1 : 0;
}

static void
net_name(const struct wnet *n, char *out, size_t outsz)
{
	char a[48], b[48];

	if (net_cidr(n, out, outsz) == 0)
		return;
	net_ntop(n, n->first, a, sizeof(a));
	net_ntop(n, n->last, b, sizeof(b));
	snprintf(out, outsz, "%s - %s", a, b);
}

int
iw_whois_listing_query(enum iw_whois_format fmt, const char *first,
    const char *last, char *out, size_t outsz)
{
	char cidr[64];
	struct wnet n;
	int r;

	if (out == NULL || range_parse(first, last, &n) != 0)
		return -1;
	switch (fmt) {
	case IW_WHOIS_FMT_RIPE:
		/* -M: all levels of more specifics; -r: no personal data. */
		if (net_cidr(&n, cidr, sizeof(cidr)) == 0)
			r = snprintf(out, outsz, "-r -M %s", cidr);
		else
			r = snprintf(out, outsz, "-r -M %s - %s", first, last);
		break;
	case IW_WHOIS_FMT_ARIN:
		/* ">": more specific networks, "+": with their POCs. */
		if (net_cidr(&n, cidr, sizeof(cidr)) != 0)
			return -1;
		r = snprintf(out, outsz, "n + > %s", cidr);
		break;
	case IW_WHOIS_FMT_JPNIC:
		/* A network's answer lists what is inside it. */
		if (net_cidr(&n, cidr, sizeof(cidr)) != 0)
			return -1;
		r = snprintf(out, outsz, "%s/e", cidr);
		break;
	default:
		return -1;	/* LACNIC, IANA: exact queries only */
	}
	return r < 0 || (size_t)r >= outsz ? -1 : 0;
}

/* Add n to the list unless present.  -1 when full. */
static int
listing_add(struct wnet *nets, const char **txt, size_t *tn, size_t *n,
    const struct wnet *x, const char *t, size_t tl)
{
	for (size_t i = 0; i < *n; i++)
		if (net_equal(&nets[i], x))
			return 0;
	if (*n >= IW_WHOIS_LISTING_MAX)
		return -1;
	nets[*n] = *x;
	txt[*n] = t;
	tn[*n] = tl;
	(*n)++;
	return 0;
}

struct collect {
	const struct wnet *top;
	struct wnet *nets;
	const char **txt;
	size_t *tn, *n;
};

/* A network a listing names, kept when inside the listed one. */
static int
collect_one(void *arg, const struct wnet *x, const char *t, size_t tl)
{
	struct collect *c = arg;

	if (!net_contains(c->top, x) || memcmp(x->last, c->top->last, 16) > 0)
		return 0;
	return listing_add(c->nets, c->txt, c->tn, c->n, x, t, tl);
}

static int
collect_nets(enum iw_whois_format fmt, const struct wnet *top,
    const char *buf, size_t len, struct wnet *nets, const char **txt,
    size_t *tn, size_t *n)
{
	const char *o, *v, *l;
	size_t on, vn, ln, pos = 0;
	struct wnet x;

	if (fmt == IW_WHOIS_FMT_ARIN) {
		while (next_arin_block(buf, len, &pos, &o, &on))
			if (((block_get(o, on, "NetRange", 0, &v, &vn) &&
			    net_parse(v, vn, &x) == 0) ||
			    (block_get(o, on, "CIDR", 0, &v, &vn) &&
			    net_parse(v, vn, &x) == 0)) &&
			    net_contains(top, &x) && x.af == top->af &&
			    memcmp(x.last, top->last, 16) <= 0 &&
			    listing_add(nets, txt, tn, n, &x, v, vn) != 0)
				return -1;
		pos = 0;
		while (next_line(buf, len, &pos, &l, &ln))
			if (!comment_line(l, ln) &&
			    arin_summary_line(l, ln, &x, &v, &vn) &&
			    net_contains(top, &x) &&
			    memcmp(x.last, top->last, 16) <= 0 &&
			    listing_add(nets, txt, tn, n, &x, v, vn) != 0)
				return -1;
		return 0;
	}
	if (fmt == IW_WHOIS_FMT_JPNIC) {
		struct collect cl = { top, nets, txt, tn, n };
		int r = iw_whois_jpnic_nets(buf, len, collect_one, &cl);

		if (r > 0)	/* no "More Specific Info.": not a listing */
			*n = 0;
		return r < 0 ? -1 : 0;
	}
	while (next_object(buf, len, &pos, &o, &on))
		for (size_t c = 0; c < 2; c++)
			if (obj_class(o, on, inetnum_cls[c]) &&
			    attr_get(o, on, inetnum_cls[c], 0, &v, &vn) &&
			    net_parse(v, vn, &x) == 0 &&
			    net_contains(top, &x) &&
			    memcmp(x.last, top->last, 16) <= 0 &&
			    listing_add(nets, txt, tn, n, &x, v, vn) != 0)
				return -1;
	return 0;
}

static int
addr_inc(unsigned char a[16])
{
	for (int i = 15; i >= 0; i--)
		if (++a[i] != 0)
			return 0;
	return -1;
}

/*
 * An address of nets[i] inside no smaller listed network: where nets[i]'s
 * own registration decides.  0 found, -1 the children cover it all.
 */
static int
representative(const struct wnet *nets, size_t n, size_t i, struct wnet *rep)
{
	int moved = 1;

	memset(rep, 0, sizeof(*rep));
	rep->af = nets[i].af;
	memcpy(rep->first, nets[i].first, 16);
	while (moved) {
		moved = 0;
		for (size_t j = 0; j < n; j++) {
			if (j == i || !net_contains(&nets[j], rep) ||
			    !net_smaller(&nets[j], &nets[i]))
				continue;
			memcpy(rep->first, nets[j].last, 16);
			if (addr_inc(rep->first) != 0 ||
			    memcmp(rep->first, nets[i].last, 16) > 0)
				return -1;
			moved = 1;
		}
	}
	memcpy(rep->last, rep->first, 16);
	return 0;
}

int
iw_whois_parse_listing(enum iw_whois_format fmt, const char *first,
    const char *last, const char *buf, size_t len,
    struct iw_whois_listing *out)
{
	struct wnet top, *nets = NULL, rep;
	const char **txt = NULL;
	size_t *tn = NULL, n = 0;
	int rc = -1;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (range_parse(first, last, &top) != 0 || (buf == NULL && len > 0))
		return -1;
	if (buf == NULL)
		buf = "";
	if (detect_throttle(buf, len)) {
		out->status = IW_WHOIS_TRANSIENT;
		out->refused = 1;
		snprintf(out->reason, sizeof(out->reason),
		    "server refused the query (rate limit or access denied)");
		return 0;
	}
	nets = iw_calloc(IW_WHOIS_LISTING_MAX, sizeof(*nets));
	txt = iw_calloc(IW_WHOIS_LISTING_MAX, sizeof(*txt));
	tn = iw_calloc(IW_WHOIS_LISTING_MAX, sizeof(*tn));
	if (nets == NULL || txt == NULL || tn == NULL)
		goto out;
	out->status = IW_WHOIS_OK;
	if (collect_nets(fmt, &top, buf, len, nets, txt, tn, &n) != 0) {
		snprintf(out->reason, sizeof(out->reason),
		    "more than %d networks listed", IW_WHOIS_LISTING_MAX);
		rc = 0;
		goto out;
	}
	if (n == 0 && ci_find(buf, len, "no entries found") == NULL &&
	    ci_find(buf, len, "no match found") == NULL) {
		snprintf(out->reason, sizeof(out->reason),
		    "listing names no network and says nothing is there");
		rc = 0;
		goto out;
	}
	out->complete = 1;
	out->nets = iw_calloc(n ? n : 1, sizeof(*out->nets));
	if (out->nets == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct iw_whois_subnet *s = &out->nets[out->n++];
		struct iw_whois_parsed p;
		char ip[48];

		net_ntop(&nets[i], nets[i].first, s->first, sizeof(s->first));
		net_ntop(&nets[i], nets[i].last, s->last, sizeof(s->last));
		sanitize(s->text, sizeof(s->text), txt[i], tn[i]);
		if (representative(nets, n, i, &rep) != 0)
			continue;
		net_ntop(&rep, rep.first, ip, sizeof(ip));
		if (iw_whois_parse(fmt, ip, buf, len, &p) != 0 ||
		    p.email[0] == '\0' || p.referral[0] != '\0' ||
		    strcmp(p.net_first, s->first) != 0 ||
		    strcmp(p.net_last, s->last) != 0)
			continue;
		s->has_contact = 1;
		iw_strlcpy(s->email, p.email, sizeof(s->email));
		iw_strlcpy(s->source, p.source, sizeof(s->source));
	}
	rc = 0;
out:
	free(nets);
	free(txt);
	free(tn);
	if (rc != 0)
		iw_whois_listing_free(out);
	return rc;
}

void
iw_whois_listing_free(struct iw_whois_listing *l)
{
	if (l == NULL)
		return;
	free(l->nets);
	l->nets = NULL;
	l->n = 0;
}

/* ---------- for the national registries (whois_parse.h) ---------- */

int
iw_whois_line(const char *buf, size_t len, size_t *pos, const char **l,
    size_t *ln)
{
	return next_line(buf, len, pos, l, ln);
}

int
iw_whois_attr_split(const char *l, size_t ln, const char **k, size_t *kn,
    const char **v, size_t *vn)
{
	return split_attr(l, ln, k, kn, v, vn);
}

const char *
iw_whois_ci_find(const char *a, size_t an, const char *needle)
{
	return ci_find(a, an, needle);
}

int
iw_whois_ci_prefix(const char *a, size_t an, const char *pre)
{
	return ci_prefix(a, an, pre);
}

int
iw_whois_addr_parse(const char *s, size_t n, struct wnet *a)
{
	return addr_parse(s, n, a);
}

int
iw_whois_net_parse(const char *s, size_t n, struct wnet *out)
{
	return net_parse(s, n, out);
}

int
iw_whois_net_contains(const struct wnet *n, const struct wnet *a)
{
	return net_contains(n, a);
}

int
iw_whois_net_smaller(const struct wnet *a, const struct wnet *b)
{
	return net_smaller(a, b);
}

void
iw_whois_net_name(const struct wnet *n, char *out, size_t outsz)
{
	net_name(n, out, outsz);
}

void
iw_whois_set_net(struct iw_whois_parsed *out, const struct wnet *n,
    const char *text, size_t tn)
{
	set_net(out, n, text, tn);
}

void
iw_whois_set_top(struct iw_whois_parsed *out, const struct wnet *n)
{
	set_top(out, n);
}

int
iw_whois_take_mailbox(struct iw_whois_parsed *out, const char *what,
    const char *v, size_t vn)
{
	return take_mailbox(out, what, v, vn);
}

void
iw_whois_no_network(struct iw_whois_parsed *out, const char *buf,
    size_t len, const char *ip)
{
	reason_no_network(out, buf, len, ip);
}

int
iw_whois_best_inetnum(const char *buf, size_t len, const struct wnet *ip,
    const char **o, size_t *on, struct wnet *n)
{
	const char *t;
	size_t tn;

	return best_network(buf, len, ip, inetnum_cls, 2, o, on, n, &t, &tn);
}
