/*
 * whois_nir: national internet registries and registry-run addresses; see
 * whois_nir.h.  One section per job: the registries (which NIR, where,
 * how asked, which encoding), recognising an RIR answer that points to
 * one, decoding, the registries' own domains, then one section per answer
 * format (JPNIC, KRNIC, TWNIC).  CNNIC and IDNIC answer in RPSL and
 * registro.br and NIC Mexico in LACNIC's format: whois_parse.c reads
 * those.
 *
 * Formats, as the registries and the clients that read them describe
 * them (JPNIC's "/e" English output, KRNIC's English half, TWNIC's
 * contact blocks; see also whois(1)'s servers_charset list):
 *   JPNIC  "a. [Network Number]  192.0.2.0/24" ... "[Abuse]  mailbox",
 *          then "Less Specific Info." and "More Specific Info." lists
 *          (one network per line, "No match!!" when none).
 *   KRNIC  "# KOREAN(UTF8)" half, then "# ENGLISH": "[ Network
 *          Information ]" with "IPv4 Address : a - b (/n)", "Network Type
 *          : CUSTOMER"; "[ Network Abuse Contact Information ]" or
 *          "[ Technical Contact Information ]" with "E-Mail : mailbox";
 *          the ISP's block first, then "More specific assignment
 *          information".
 *   TWNIC  "Netname: X", "Netblock: a/n" (or "a - b"), then "Abuse
 *          contact:", "Technical contact:", "Administrator contact:"
 *          each followed by indented lines: name, mailbox, phone.
 * A network without an abuse contact takes the nearest enclosing
 * network's from the same answer ("inherited from ..."); only where no
 * network of the answer has one is a technical (then administrative)
 * contact used, and the source says which.
 */
#include "whois_nir.h"
#include "whois_parse.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------- the registries ---------- */

static const char *const jpnic_m[] = { "JPNIC", "nic.ad.jp", NULL };
static const char *const krnic_m[] = { "KRNIC", "kisa.or.kr", "nic.or.kr",
	NULL };
static const char *const twnic_m[] = { "TWNIC", "twnic.net", NULL };
static const char *const cnnic_m[] = { "CNNIC", NULL };
static const char *const idnic_m[] = { "IDNIC", "APJII", NULL };
static const char *const vnnic_m[] = { "VNNIC", NULL };
static const char *const irinn_m[] = { "IRINN", NULL };
static const char *const nicbr_m[] = { "registro.br", "NIC.br", NULL };
static const char *const nicmx_m[] = { "NIC Mexico", "NIC-MEXICO",
	"nic.mx", NULL };

/*
 * VNNIC and IRINN are recognised (their space's RIR contact is theirs,
 * so the IPs are held as registry-run) but have no port-43 server that
 * answers for their members' networks.
 */
static const struct iw_whois_nir nirs[] = {
	{ "JPNIC", "whois.nic.ad.jp", "apnic", IW_WHOIS_FMT_JPNIC, "%s/e",
	    "ISO-2022-JP", jpnic_m },
	{ "KRNIC", "whois.kisa.or.kr", "apnic", IW_WHOIS_FMT_KRNIC, "%s",
	    "EUC-KR", krnic_m },
	{ "TWNIC", "whois.twnic.net.tw", "apnic", IW_WHOIS_FMT_TWNIC, "%s",
	    "BIG5", twnic_m },
	{ "CNNIC", "whois.cnnic.cn", "apnic", IW_WHOIS_FMT_RIPE, "%s",
	    "GB18030", cnnic_m },	/* GB18030 reads GB2312 and GBK */
	{ "IDNIC", "whois.idnic.net", "apnic", IW_WHOIS_FMT_RIPE, "%s", NULL,
	    idnic_m },
	{ "VNNIC", NULL, "apnic", IW_WHOIS_FMT_RIPE, "%s", NULL, vnnic_m },
	{ "IRINN", NULL, "apnic", IW_WHOIS_FMT_RIPE, "%s", NULL, irinn_m },
	{ "NIC.br", "whois.registro.br", "lacnic", IW_WHOIS_FMT_LACNIC, "%s",
	    NULL, nicbr_m },
	{ "NIC Mexico", "whois.nic.mx", "lacnic", IW_WHOIS_FMT_LACNIC, "%s",
	    NULL, nicmx_m },
};

#define NNIRS (sizeof(nirs) / sizeof(nirs[0]))

const struct iw_whois_nir *
iw_whois_nir_by_server(const char *server)
{
	if (server == NULL)
		return NULL;
	for (size_t i = 0; i < NNIRS; i++)
		if (nirs[i].server != NULL &&
		    strcasecmp(nirs[i].server, server) == 0)
			return &nirs[i];
	return NULL;
}

int
iw_whois_nir_query_line(const struct iw_whois_nir *nir, const char *ip,
    char *out, size_t outsz)
{
	int n;

	if (nir == NULL || ip == NULL || strchr(ip, '%') != NULL)
		return -1;
	/* The table's query is a constant with one "%s". */
	if (strcmp(nir->query, "%s/e") == 0)
		n = snprintf(out, outsz, "%s/e", ip);
	else
		n = snprintf(out, outsz, "%s", ip);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* ---------- an RIR answer pointing to an NIR ---------- */

/* 1 if an attribute of object o (after its first line) names a marker. */
static int
object_names(const char *o, size_t on, const char *const *markers)
{
	const char *l, *k, *v;
	size_t ln, kn, vn, pos = 0;
	int first = 1;

	while (iw_whois_line(o, on, &pos, &l, &ln)) {
		if (!iw_whois_attr_split(l, ln, &k, &kn, &v, &vn) || first) {
			first = 0;
			continue;
		}
		for (size_t m = 0; markers[m] != NULL; m++)
			if (iw_whois_ci_find(v, vn, markers[m]) != NULL)
				return 1;
	}
	return 0;
}

const struct iw_whois_nir *
iw_whois_nir_detect(const char *rir_server, const char *ip, const char *buf,
    size_t len)
{
	struct iw_whois_net a, n;
	const char *o;
	size_t on;

	if (rir_server == NULL || ip == NULL || (buf == NULL && len > 0) ||
	    iw_whois_addr_parse(ip, strlen(ip), &a) != 0)
		return NULL;
	if (buf == NULL || !iw_whois_best_inetnum(buf, len, &a, &o, &on, &n))
		return NULL;
	for (size_t i = 0; i < NNIRS; i++)
		if (nirs[i].server != NULL &&
		    iw_whois_ci_find(rir_server, strlen(rir_server),
		    nirs[i].rir) != NULL &&
		    object_names(o, on, nirs[i].markers))
			return &nirs[i];
	return NULL;
}

/* ---------- decoding ---------- */

/* b from charset `from` to UTF-8.  0 converted, 1 left alone (unknown
 * charset, bytes that are not that charset), -1 out of memory. */
static int
convert(const char *from, struct iw_buf *b)
{
	iconv_t cd = iconv_open("UTF-8", from);
	size_t cap = b->len * 4 + 16, inleft = b->len, oleft = cap, r;
	char *in = b->data, *out, *op;
	int rc = 1;

	if (cd == (iconv_t)-1)
		return 1;
	if ((out = malloc(cap)) == NULL) {
		iconv_close(cd);
		return -1;
	}
	op = out;
	r = iconv(cd, &in, &inleft, &op, &oleft);
	if (r != (size_t)-1)	/* back to the initial shift state */
		r = iconv(cd, NULL, NULL, &op, &oleft);
	iconv_close(cd);
	if (r != (size_t)-1 && inleft == 0) {
		iw_buf_reset(b);
		rc = iw_buf_append(b, out, cap - oleft) == 0 ? 0 : -1;
	}
	free(out);
	return rc;
}

int
iw_whois_nir_decode(const char *server, struct iw_buf *ans, int *decoded)
{
	const struct iw_whois_nir *nir = iw_whois_nir_by_server(server);
	const char *cs[2] = { NULL, NULL };
	int utf8, r = 1;

	*decoded = 0;
	if (nir == NULL || nir->charset == NULL || ans->len == 0)
		return 0;
	utf8 = iw_utf8_valid(ans->data, ans->len);
	if (strcmp(nir->charset, "ISO-2022-JP") == 0) {
		/* 7-bit, so "valid UTF-8": its escapes give it away. */
		if (memchr(ans->data, 0x1b, ans->len) != NULL) {
			cs[0] = "ISO-2022-JP";
			cs[1] = "ISO-2022-JP-3";
		} else if (!utf8)
			cs[0] = "EUC-JP";
	} else if (!utf8) {
		cs[0] = nir->charset;
		cs[1] = strcmp(nir->charset, "EUC-KR") == 0 ? "CP949" :
		    strcmp(nir->charset, "BIG5") == 0 ? "BIG5-HKSCS" : NULL;
	}
	for (size_t i = 0; i < 2 && cs[i] != NULL && r > 0; i++)
		r = convert(cs[i], ans);
	if (r < 0)
		return -1;
	*decoded = r == 0;
	return 0;
}

/* ---------- the registries' own addresses ---------- */

/*
 * The RIRs, IANA and the NIRs: each registry's published domain (the
 * ones their WHOIS objects and IRTs use for hostmaster, helpdesk and IRT
 * mailboxes).
 */
const char *const iw_whois_registry_domains_default[] = {
	"iana.org", "ripe.net", "arin.net", "apnic.net", "lacnic.net",
	"afrinic.net", "nic.ad.jp", "nic.or.kr", "kisa.or.kr", "twnic.net.tw",
	"twnic.tw", "cnnic.cn", "cnnic.net.cn", "idnic.net", "apjii.or.id",
	"vnnic.vn", "vnnic.net.vn", "irinn.in", "registro.br", "nic.br",
	"nic.mx", NULL
};

int
iw_whois_registry_address(const char *const *domains, size_t n,
    const char *email, char *dom, size_t domsz)
{
	const char *at = email != NULL ? strrchr(email, '@') : NULL;
	size_t hn;

	if (at == NULL || domains == NULL)
		return 0;
	at++;
	hn = strlen(at);
	for (size_t i = 0; i < n && domains[i] != NULL; i++) {
		size_t dn = strlen(domains[i]);

		if (dn == 0 || dn > hn || strcasecmp(at + hn - dn,
		    domains[i]) != 0 || (dn < hn && at[hn - dn - 1] != '.'))
			continue;
		if (dom != NULL && domsz > 0)
			iw_strlcpy(dom, domains[i], domsz);
		return 1;
	}
	return 0;
}

int
iw_whois_registry_run(const struct iw_whois_conf *conf, const char *email,
    char *dom, size_t domsz)
{
	size_t n = 0;

	if (conf != NULL && conf->registry_domains != NULL)
		return iw_whois_registry_address(conf->registry_domains,
		    conf->nregistry_domains, email, dom, domsz);
	while (iw_whois_registry_domains_default[n] != NULL)
		n++;
	return iw_whois_registry_address(iw_whois_registry_domains_default,
	    n, email, dom, domsz);
}

/* ---------- networks and contacts of an NIR answer ---------- */

enum { C_ABUSE, C_TECH, C_ADMIN, C_KINDS };

static const char *const kind_name[C_KINDS] = { "abuse", "technical",
	"administrative" };

#define MAX_RECS 32

struct rec {
	struct iw_whois_net n;
	const char *t;		/* the network as written */
	size_t tn;
	const char *em[C_KINDS];	/* mailbox values, NULL none */
	size_t emn[C_KINDS];
	int leaf;
};

struct recs {
	struct rec r[MAX_RECS];
	size_t n;
	int open;		/* r[n - 1] is the record being read */
};

static struct rec *
rec_new(struct recs *rs)
{
	if (rs->n >= MAX_RECS)
		return NULL;
	memset(&rs->r[rs->n], 0, sizeof(rs->r[0]));
	rs->open = 1;
	return &rs->r[rs->n++];
}

static struct rec *
rec_cur(struct recs *rs)
{
	return rs->open && rs->n > 0 ? &rs->r[rs->n - 1] : NULL;
}

/* The next larger record holding ip after cur (NULL: the smallest). */
static const struct rec *
rec_next(const struct recs *rs, const struct iw_whois_net *ip,
    const struct rec *cur)
{
	const struct rec *best = NULL;

	for (size_t i = 0; i < rs->n; i++) {
		const struct rec *r = &rs->r[i];

		if (r->n.af == 0 || !iw_whois_net_contains(&r->n, ip) ||
		    r == cur || (cur != NULL &&
		    !iw_whois_net_smaller(&cur->n, &r->n)))
			continue;
		if (best == NULL || iw_whois_net_smaller(&r->n, &best->n))
			best = r;
	}
	return best;
}

/*
 * The answer's network for ip and its contact: the most specific record's
 * abuse contact, else the nearest enclosing record's (inherited); only
 * then technical, then administrative contacts, the same way.
 */
static int
choose(const char *who, const struct recs *rs, const struct iw_whois_net *ip,
    const char *ipstr, const char *buf, size_t len,
    struct iw_whois_parsed *out)
{
	const struct rec *best = rec_next(rs, ip, NULL), *top = best, *r;
	char what[64], from[64];

	if (best == NULL) {
		iw_whois_no_network(out, buf, len, ipstr);
		return 0;
	}
	while ((r = rec_next(rs, ip, top)) != NULL)
		top = r;
	iw_whois_set_net(out, &best->n, best->t, best->tn);
	iw_whois_set_top(out, &top->n);
	out->leaf = best->leaf;
	for (int k = 0; k < C_KINDS; k++)
		for (r = best; r != NULL; r = rec_next(rs, ip, r)) {
			if (r->em[k] == NULL)
				continue;
			snprintf(what, sizeof(what), "%s %s contact", who,
			    kind_name[k]);
			if (iw_whois_take_mailbox(out, what, r->em[k],
			    r->emn[k]) != 0)
				return 0;
			if (r == best) {
				iw_strlcpy(out->source, what,
				    sizeof(out->source));
				return 0;
			}
			iw_whois_net_name(&r->n, from, sizeof(from));
			snprintf(out->source, sizeof(out->source),
			    "inherited from %.50s: %.60s", from, what);
			return 0;
		}
	snprintf(out->reason, sizeof(out->reason),
	    "%s names no contact for %s", who, out->net_text);
	return 0;
}

/* A network value: "a - b (/12+/13)", "a/n"; parenthesised notes cut. */
static int
net_value(const char *v, size_t vn, struct iw_whois_net *n)
{
	const char *p = memchr(v, '(', vn);

	if (p != NULL)
		vn = (size_t)(p - v);
	return iw_whois_net_parse(v, vn, n);
}

/* ---------- JPNIC ---------- */

/* "a. [Key]   value" or "[Key]  value".  0: not such a line. */
static int
jp_field(const char *l, size_t ln, const char **k, size_t *kn,
    const char **v, size_t *vn)
{
	const char *e;
	size_t i = 0;

	while (i < ln && l[i] == ' ')
		i++;
	if (i + 2 < ln && isalpha((unsigned char)l[i]) && l[i + 1] == '.' &&
	    l[i + 2] == ' ')
		for (i += 3; i < ln && l[i] == ' '; i++)
			;
	if (i >= ln || l[i] != '[' ||
	    (e = memchr(l + i, ']', ln - i)) == NULL)
		return 0;
	*k = l + i + 1;
	*kn = (size_t)(e - *k);
	iw_trim(k, kn);
	*v = e + 1;
	*vn = ln - (size_t)(*v - l);
	iw_trim(v, vn);
	return 1;
}

/* The last word of a list line that is a network. */
static int
jp_list_net(const char *l, size_t ln, struct iw_whois_net *n,
    const char **t, size_t *tn)
{
	size_t e = ln;

	while (e > 0) {
		size_t s;

		while (e > 0 && isspace((unsigned char)l[e - 1]))
			e--;
		s = e;
		while (s > 0 && !isspace((unsigned char)l[s - 1]))
			s--;
		if (e > s && iw_whois_net_parse(l + s, e - s, n) == 0) {
			*t = l + s;
			*tn = e - s;
			return 1;
		}
		e = s;
	}
	return 0;
}

enum { JP_MAIN, JP_LESS, JP_MORE };

struct jp {
	int have;			/* the record's network */
	struct iw_whois_net n;
	const char *t, *abuse;
	size_t tn, abusen;
	struct iw_whois_net less[MAX_RECS];
	size_t nless;
	int more_section, more_nets, nomatch;
};

static int
jp_section(const char *l, size_t ln)
{
	iw_trim(&l, &ln);
	if (iw_whois_ci_prefix(l, ln, "Less Specific Info"))
		return JP_LESS;
	if (iw_whois_ci_prefix(l, ln, "More Specific Info"))
		return JP_MORE;
	return -1;
}

static int
jp_read(const char *buf, size_t len, struct jp *j, iw_whois_net_fn add,
    void *arg)
{
	const char *l, *k, *v, *t;
	size_t ln, kn, vn, tn, pos = 0;
	int sec = JP_MAIN, s;
	struct iw_whois_net n;

	memset(j, 0, sizeof(*j));
	while (iw_whois_line(buf, len, &pos, &l, &ln)) {
		if ((s = jp_section(l, ln)) >= 0) {
			sec = s;
			j->more_section |= s == JP_MORE;
			continue;
		}
		if (sec == JP_MAIN && jp_field(l, ln, &k, &kn, &v, &vn)) {
			if (!j->have && kn >= 14 && iw_whois_ci_find(k, kn,
			    "Network Number") != NULL &&
			    iw_whois_net_parse(v, vn, &j->n) == 0) {
				j->have = 1;
				j->t = v;
				j->tn = vn;
				if (add != NULL && add(arg, &j->n, v, vn) < 0)
					return -1;
			} else if (j->abuse == NULL && kn == 5 &&
			    strncasecmp(k, "Abuse", 5) == 0 && vn > 0) {
				j->abuse = v;
				j->abusen = vn;
			}
			continue;
		}
		if (sec == JP_MORE && iw_whois_ci_find(l, ln, "No match") !=
		    NULL)
			j->nomatch = 1;
		if (sec == JP_MAIN || !jp_list_net(l, ln, &n, &t, &tn))
			continue;
		if (sec == JP_LESS && j->nless < MAX_RECS)
			j->less[j->nless++] = n;
		if (sec == JP_MORE) {
			j->more_nets++;
			if (add != NULL && add(arg, &n, t, tn) < 0)
				return -1;
		}
	}
	return 0;
}

int
iw_whois_parse_jpnic(const struct iw_whois_net *ip, const char *ipstr,
    const char *buf, size_t len, struct iw_whois_parsed *out)
{
	struct jp j;
	struct iw_whois_net top;

	(void)jp_read(buf, len, &j, NULL, NULL);
	if (!j.have || !iw_whois_net_contains(&j.n, ip)) {
		iw_whois_no_network(out, buf, len, ipstr);
		return 0;
	}
	iw_whois_set_net(out, &j.n, j.t, j.tn);
	top = j.n;
	for (size_t i = 0; i < j.nless; i++)
		if (iw_whois_net_contains(&j.less[i], ip) &&
		    iw_whois_net_smaller(&top, &j.less[i]))
			top = j.less[i];
	iw_whois_set_top(out, &top);
	/* JPNIC says there is nothing more specific. */
	out->leaf = j.more_section && j.more_nets == 0 && j.nomatch;
	if (j.abuse == NULL) {
		snprintf(out->reason, sizeof(out->reason),
		    "JPNIC names no abuse contact ([Abuse]) for %s",
		    out->net_text);
		return 0;
	}
	if (iw_whois_take_mailbox(out, "JPNIC [Abuse]", j.abuse,
	    j.abusen) == 0)
		iw_strlcpy(out->source, "JPNIC [Abuse]", sizeof(out->source));
	return 0;
}

int
iw_whois_jpnic_nets(const char *buf, size_t len, iw_whois_net_fn add,
    void *arg)
{
	struct jp j;

	if (jp_read(buf, len, &j, add, arg) < 0)
		return -1;
	return j.have && j.more_section ? 0 : 1;
}

/* ---------- KRNIC ---------- */

/* "Key   : value" (English keys; the Korean half has its own). */
static int
kr_field(const char *l, size_t ln, const char **k, size_t *kn,
    const char **v, size_t *vn)
{
	const char *c = memchr(l, ':', ln);

	if (c == NULL)
		return 0;
	*k = l;
	*kn = (size_t)(c - l);
	iw_trim(k, kn);
	*v = c + 1;
	*vn = ln - (size_t)(*v - l);
	iw_trim(v, vn);
	return *kn > 0;
}

static int
kr_eq(const char *k, size_t kn, const char *key)
{
	return strlen(key) == kn && strncasecmp(k, key, kn) == 0;
}

/* Which contact a heading names ("Network Abuse Contact", "Technical
 * contact"); -1 none of the three. */
static int
contact_kind(const char *s, size_t n)
{
	if (iw_whois_ci_find(s, n, "abuse") != NULL)
		return C_ABUSE;
	if (iw_whois_ci_find(s, n, "tech") != NULL)
		return C_TECH;
	if (iw_whois_ci_find(s, n, "admin") != NULL)
		return C_ADMIN;
	return -1;
}

/* "[ ... Contact Information ]": which contact; -1 other, -2 a network,
 * -3 not a heading. */
static int
kr_header(const char *l, size_t ln)
{
	iw_trim(&l, &ln);
	if (ln < 2 || l[0] != '[' || l[ln - 1] != ']')
		return -3;
	if (iw_whois_ci_find(l, ln, "Network Information") != NULL)
		return -2;
	return contact_kind(l, ln);
}

int
iw_whois_parse_krnic(const struct iw_whois_net *ip, const char *ipstr,
    const char *buf, size_t len, struct iw_whois_parsed *out)
{
	struct recs rs;
	const char *l, *k, *v;
	size_t ln, kn, vn, pos = 0;
	int kind = -1, h;
	struct rec *r;

	memset(&rs, 0, sizeof(rs));
	while (iw_whois_line(buf, len, &pos, &l, &ln)) {
		if ((h = kr_header(l, ln)) != -3) {
			kind = h;
			if (h == -2 && rec_new(&rs) == NULL)
				break;
			continue;
		}
		if ((r = rec_cur(&rs)) == NULL ||
		    !kr_field(l, ln, &k, &kn, &v, &vn))
			continue;
		if ((kr_eq(k, kn, "IPv4 Address") ||
		    kr_eq(k, kn, "IPv6 Address")) && r->n.af == 0 &&
		    net_value(v, vn, &r->n) == 0) {
			r->t = v;
			r->tn = vn;
		} else if (kr_eq(k, kn, "Network Type"))
			r->leaf = iw_whois_ci_prefix(v, vn, "CUSTOMER");
		else if (kr_eq(k, kn, "E-Mail") && kind >= 0 &&
		    r->em[kind] == NULL && vn > 0) {
			r->em[kind] = v;
			r->emn[kind] = vn;
		}
	}
	return choose("KRNIC", &rs, ip, ipstr, buf, len, out);
}

/* ---------- TWNIC ---------- */

/* "Abuse contact:" (value after it, maybe empty): which; -1 none. */
static int
tw_contact(const char *k, size_t kn)
{
	if (kn < 8 || strncasecmp(k + kn - 7, "contact", 7) != 0)
		return -1;
	return contact_kind(k, kn - 7);
}

/* A line that is one mailbox and nothing else. */
static int
tw_mailbox_line(const char *v, size_t vn)
{
	if (memchr(v, '@', vn) == NULL)
		return 0;
	for (size_t i = 0; i < vn; i++)
		if (isspace((unsigned char)v[i]))
			return 0;
	return 1;
}

int
iw_whois_parse_twnic(const struct iw_whois_net *ip, const char *ipstr,
    const char *buf, size_t len, struct iw_whois_parsed *out)
{
	struct recs rs;
	const char *l, *k, *v;
	size_t ln, kn, vn, pos = 0;
	int kind = -1, c;
	struct rec *r = NULL;

	memset(&rs, 0, sizeof(rs));
	while (iw_whois_line(buf, len, &pos, &l, &ln)) {
		const char *t = l;
		size_t tn = ln;

		iw_trim(&t, &tn);
		if (tn == 0)
			continue;
		if (kr_field(t, tn, &k, &kn, &v, &vn) &&
		    (kr_eq(k, kn, "Netname") || kr_eq(k, kn, "Netblock"))) {
			kind = -1;
			/* A new record at its first field seen twice. */
			r = rec_cur(&rs);
			if ((r == NULL || (kr_eq(k, kn, "Netblock") &&
			    r->n.af != 0) || (kr_eq(k, kn, "Netname") &&
			    (r->n.af != 0 || r->t != NULL))) &&
			    (r = rec_new(&rs)) == NULL)
				break;
			if (kr_eq(k, kn, "Netblock") &&
			    net_value(v, vn, &r->n) != 0)
				r->n.af = 0;
			else if (kr_eq(k, kn, "Netblock")) {
				r->t = v;
				r->tn = vn;
			}
			continue;
		}
		if (r == NULL)
			continue;
		if (kr_field(t, tn, &k, &kn, &v, &vn) &&
		    (c = tw_contact(k, kn)) >= 0) {
			kind = c;
			if (vn == 0 || r->em[c] != NULL)
				continue;
			t = v;
			tn = vn;
		}
		if (kind >= 0 && r->em[kind] == NULL &&
		    tw_mailbox_line(t, tn)) {
			r->em[kind] = t;
			r->emn[kind] = tn;
		}
	}
	return choose("TWNIC", &rs, ip, ipstr, buf, len, out);
}
