/*
 * whois_parent: the less specific registration of a network.  See
 * whois_parent.h.
 */
#include "whois_parent.h"
#include "whois_parse.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* A range "a - b" (a prefix's text is only compared as text); -1 if s is
 * not one. */
static int
range_parse(const char *s, size_t n, struct iw_whois_net *r)
{
	return memchr(s, '-', n) != NULL ? iw_whois_net_parse(s, n, r) : -1;
}

/* r holds every address of x. */
static int
holds(const struct iw_whois_net *r, const struct iw_whois_net *x)
{
	return r->af == x->af && memcmp(r->first, x->first, 16) <= 0 &&
	    memcmp(x->last, r->last, 16) <= 0;
}

int
iw_whois_parent_query(const char *network, char *out, size_t outsz)
{
	size_t n;
	int r;

	if (network == NULL || (n = strlen(network)) == 0 || n > 100)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)network[i]) &&
		    strchr(".:/ -", network[i]) == NULL)
			return -1;
	r = snprintf(out, outsz, "-r -l %s", network);
	return r < 0 || (size_t)r >= outsz ? -1 : 0;
}

/* The value of "Key:" on the line [p, e), trimmed; NULL if another key. */
static const char *
line_value(const char *p, const char *e, const char *key, size_t *vn)
{
	size_t k = strlen(key);

	if ((size_t)(e - p) <= k || strncmp(p, key, k) != 0 || p[k] != ':')
		return NULL;
	p += k + 1;
	while (p < e && isspace((unsigned char)*p))
		p++;
	while (e > p && isspace((unsigned char)e[-1]))
		e--;
	*vn = (size_t)(e - p);
	return p;
}

/* The handle in "NET198 (NET-198-0-0-0-0)", or a bare handle. */
static int
take_handle(const char *v, size_t n, char *out, size_t outsz)
{
	const char *open = memchr(v, '(', n);
	size_t i = 0;

	if (open != NULL) {
		const char *close = memchr(open, ')', n - (size_t)(open - v));

		if (close == NULL)
			return -1;
		n = (size_t)(close - open - 1);
		v = open + 1;
	}
	if (n == 0 || n >= outsz || n > 64)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)v[i]) && v[i] != '-')
			return -1;
		out[i] = v[i];
	}
	out[i] = '\0';
	return 0;
}

int
iw_whois_arin_parent(const char *ip, const char *buf, size_t len,
    char *handle, size_t hsz)
{
	struct iw_whois_net a, cur, b;
	const char *p = buf, *end = buf + len;
	int in = 0, best = 0;
	char cand[72];

	if (ip == NULL || handle == NULL || hsz == 0 || (buf == NULL &&
	    len > 0) || iw_whois_addr_parse(ip, strlen(ip), &a) != 0)
		return -1;
	handle[0] = '\0';
	cand[0] = '\0';
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p)), *v;
		size_t vn;

		if (e == NULL)
			e = end;
		if ((v = line_value(p, e, "NetRange", &vn)) != NULL) {
			in = range_parse(v, vn, &cur) == 0 &&
			    holds(&cur, &a);
			cand[0] = '\0';
		} else if (in && (v = line_value(p, e, "Parent", &vn)) !=
		    NULL && take_handle(v, vn, cand, sizeof(cand)) == 0) {
			/* The most specific record holding ip wins: the
			 * narrowest range, the later one on a tie. */
			if (!best || holds(&b, &cur)) {
				b = cur;
				iw_strlcpy(handle, cand, hsz);
				best = 1;
			}
			in = 0;
		}
		p = e < end ? e + 1 : end;
	}
	return best ? 0 : -1;
}

/* The parent is wider than network (when both are ranges we can read). */
static int
wider(const char *parent, const char *network)
{
	struct iw_whois_net p, n;

	if (strcmp(parent, network) == 0)
		return 0;
	if (range_parse(parent, strlen(parent), &p) != 0 ||
	    range_parse(network, strlen(network), &n) != 0)
		return 1;	/* prefixes: different text is a different
				   (enclosing: it holds the IP) network */
	return holds(&p, &n);
}

static int
ask(const struct iw_whois_conf *conf, const char *server, const char *q,
    struct iw_buf *ans, struct iw_whois_parent *out)
{
	char why[200];

	iw_strlcpy(out->query, q, sizeof(out->query));
	if (iw_whois_ask(conf, server, 0, q, ans, &out->refused, why,
	    sizeof(why)) != 0) {
		out->status = IW_WHOIS_TRANSIENT;
		snprintf(out->reason, sizeof(out->reason), "%.100s: %.140s",
		    server, why);
		return -1;
	}
	return 0;
}

/*
 * The parent names its abuse address only in its irt object (APNIC's
 * mnt-irt, as a lookup follows it): ask for that object.  0 with pr's
 * email set when it has one; -1 a transient failure (out says so).
 */
static int
irt_of(const struct iw_whois_conf *conf, const char *server, const char *ip,
    struct iw_buf *ans, struct iw_whois_parsed *pr,
    struct iw_whois_parent *out)
{
	struct iw_whois_parsed irt;
	char handle[64], from[100], q[128];

	/* from: the parent's answer may name its irt on an enclosing
	 * object; the parent's contact is that irt's either way. */
	if (iw_whois_irt_handle(ip, ans->data ? ans->data : "", ans->len,
	    handle, sizeof(handle), from, sizeof(from)) != 0)
		return 0;
	snprintf(q, sizeof(q), "-r -T irt %s", handle);
	if (ask(conf, server, q, ans, out) != 0)
		return -1;
	if (iw_whois_parse_irt(ans->data ? ans->data : "", ans->len, handle,
	    &irt) > 0) {
		iw_strlcpy(pr->email, irt.email, sizeof(pr->email));
		iw_strlcpy(pr->source, irt.source, sizeof(pr->source));
	}
	return 0;
}

int
iw_whois_find_parent(const struct iw_whois_conf *conf, const char *server,
    const char *ip, const char *network, struct iw_whois_parent *out)
{
	enum iw_whois_format fmt;
	struct iw_buf ans = IW_BUF_INIT;
	struct iw_whois_parsed pr;
	char q[200], h[72];

	if (conf == NULL || server == NULL || ip == NULL || network == NULL ||
	    out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	out->status = IW_WHOIS_NOCONTACT;
	fmt = iw_whois_format_for(server);
	if (fmt == IW_WHOIS_FMT_RIPE) {
		if (iw_whois_parent_query(network, q, sizeof(q)) != 0) {
			snprintf(out->reason, sizeof(out->reason), "network "
			    "\"%.100s\" cannot be asked about", network);
			return 0;
		}
	} else if (fmt == IW_WHOIS_FMT_ARIN) {
		snprintf(q, sizeof(q), "n + %s", ip);
		if (ask(conf, server, q, &ans, out) != 0)
			goto out;
		if (iw_whois_arin_parent(ip, ans.data ? ans.data : "",
		    ans.len, h, sizeof(h)) != 0) {
			snprintf(out->reason, sizeof(out->reason), "%s names "
			    "no parent of %s", server, network);
			goto out;
		}
		snprintf(q, sizeof(q), "n + ! %s", h);
	} else {
		snprintf(out->reason, sizeof(out->reason), "%.100s has no "
		    "less specific query", server);
		return 0;
	}
	if (ask(conf, server, q, &ans, out) != 0)
		goto out;
	if (iw_whois_parse(fmt, ip, ans.data ? ans.data : "", ans.len,
	    &pr) != 0) {
		snprintf(out->reason, sizeof(out->reason), "bad address %s",
		    ip);
		goto out;
	}
	if (pr.throttled) {
		out->status = IW_WHOIS_TRANSIENT;
		out->refused = 1;
		snprintf(out->reason, sizeof(out->reason), "%.100s: %.140s",
		    server, pr.reason);
		goto out;
	}
	iw_strlcpy(out->network, pr.net_text[0] != '\0' ? pr.net_text :
	    pr.net_first, sizeof(out->network));
	if (fmt == IW_WHOIS_FMT_RIPE && pr.email[0] == '\0' &&
	    irt_of(conf, server, ip, &ans, &pr, out) != 0)
		goto out;
	if (pr.email[0] == '\0' || out->network[0] == '\0') {
		snprintf(out->reason, sizeof(out->reason), "%.60s: no "
		    "abuse address for the parent of %.60s%s%.80s", server, network,
		    pr.reason[0] != '\0' ? ": " : "", pr.reason);
		goto out;
	}
	if (!wider(out->network, network)) {
		snprintf(out->reason, sizeof(out->reason), "%.100s: no "
		    "network above %.100s", server, network);
		goto out;
	}
	iw_strlcpy(out->email, pr.email, sizeof(out->email));
	iw_strlcpy(out->source, pr.source, sizeof(out->source));
	out->status = IW_WHOIS_OK;
out:
	iw_buf_free(&ans);
	return 0;
}
