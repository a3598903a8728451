/*
 * Unit tests of the whois module: per-registry parsers on real-format
 * answers (the .txt files of tests/fixtures/whois, found via $IW_SRCDIR
 * or "."), the query syntax, and the client's network behaviour against
 * tiny forked servers on loopback (refused, silent, looping, too deep,
 * oversized, throttled).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "whois.h"
#include "whois_parent.h"

/* ---------- helpers ---------- */

static char *
load(const char *name, size_t *len)
{
	const char *dir = getenv("IW_SRCDIR");
	char path[1024];
	FILE *f;
	long n;
	char *p;

	snprintf(path, sizeof(path), "%s/tests/fixtures/whois/%s",
	    dir ? dir : ".", name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open fixture %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	/* Exactly len bytes, no NUL: ASan catches any read past the end. */
	p = malloc(n > 0 ? (size_t)n : 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void
parse_file(enum iw_whois_format fmt, const char *file, const char *ip,
    struct iw_whois_parsed *out)
{
	size_t len;
	char *buf = load(file, &len);

	assert_int_equal(iw_whois_parse(fmt, ip, buf, len, out), 0);
	free(buf);
}

static void
expect_email(enum iw_whois_format fmt, const char *file, const char *ip,
    const char *email)
{
	struct iw_whois_parsed p;

	parse_file(fmt, file, ip, &p);
	if (strcmp(p.email, email) != 0)
		fail_msg("%s %s: got '%s' (reason: %s), want '%s'", file, ip,
		    p.email, p.reason, email);
	assert_int_equal(p.throttled, 0);
}

/* ---------- names and query lines ---------- */

static void
test_format_for_server_names(void **state)
{
	(void)state;
	assert_int_equal(iw_whois_format_for("whois.ripe.net"),
	    IW_WHOIS_FMT_RIPE);
	assert_int_equal(iw_whois_format_for("whois.apnic.net"),
	    IW_WHOIS_FMT_RIPE);
	assert_int_equal(iw_whois_format_for("WHOIS.AFRINIC.NET"),
	    IW_WHOIS_FMT_RIPE);
	assert_int_equal(iw_whois_format_for("whois.arin.net"),
	    IW_WHOIS_FMT_ARIN);
	assert_int_equal(iw_whois_format_for("whois.lacnic.net"),
	    IW_WHOIS_FMT_LACNIC);
	assert_int_equal(iw_whois_format_for("whois.registro.br"),
	    IW_WHOIS_FMT_LACNIC);
	assert_int_equal(iw_whois_format_for("whois.iana.org"),
	    IW_WHOIS_FMT_IANA);
	assert_int_equal(iw_whois_format_for("whois.nic.ad.jp"),
	    IW_WHOIS_FMT_JPNIC);
	assert_int_equal(iw_whois_format_for("whois.kisa.or.kr"),
	    IW_WHOIS_FMT_KRNIC);
	assert_int_equal(iw_whois_format_for("WHOIS.TWNIC.NET.TW"),
	    IW_WHOIS_FMT_TWNIC);
	assert_int_equal(iw_whois_format_for("whois.cnnic.cn"),
	    IW_WHOIS_FMT_RIPE);
	assert_int_equal(iw_whois_format_for("whois.nic.mx"),
	    IW_WHOIS_FMT_LACNIC);
	assert_int_equal(iw_whois_format_for("whois.example.net"),
	    IW_WHOIS_FMT_UNKNOWN);
}

static void
test_query_line_per_registry(void **state)
{
	char q[64];

	(void)state;
	assert_int_equal(iw_whois_query_line(IW_WHOIS_FMT_IANA, "192.0.2.1",
	    q, sizeof(q)), 0);
	assert_string_equal(q, "192.0.2.1");
	assert_int_equal(iw_whois_query_line(IW_WHOIS_FMT_ARIN,
	    "198.51.100.7", q, sizeof(q)), 0);
	assert_string_equal(q, "n + 198.51.100.7");
	assert_int_equal(iw_whois_query_line(IW_WHOIS_FMT_RIPE,
	    "2001:db8::1", q, sizeof(q)), 0);
	assert_string_equal(q, "-r 2001:db8::1");
	assert_int_equal(iw_whois_query_line(IW_WHOIS_FMT_LACNIC,
	    "203.0.113.130", q, sizeof(q)), 0);
	assert_string_equal(q, "203.0.113.130");
	/* Never put an outside string on the wire unchecked. */
	assert_int_equal(iw_whois_query_line(IW_WHOIS_FMT_RIPE,
	    "192.0.2.1\r\n-B x", q, sizeof(q)), -1);
	assert_int_equal(iw_whois_query_line(IW_WHOIS_FMT_ARIN, "192.0.2.1",
	    q, 5), -1);
}

/* ---------- IANA ---------- */

static void
test_iana_refer(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	parse_file(IW_WHOIS_FMT_IANA, "iana-198.51.100.0.txt",
	    "198.51.100.1", &p);
	assert_string_equal(p.referral, "whois.arin.net");
	assert_int_equal(p.referral_port, 0);
	parse_file(IW_WHOIS_FMT_IANA, "iana-2001-db8.txt", "2001:db8::1", &p);
	assert_string_equal(p.referral, "whois.ripe.net");
	parse_file(IW_WHOIS_FMT_IANA, "iana-notfound.txt", "10.0.0.1", &p);
	assert_string_equal(p.referral, "");
	assert_string_not_equal(p.reason, "");
}

static void
test_iana_whois_line_when_no_refer(void **state)
{
	static const char a[] = "inetnum:      203.0.0.0 - 203.255.255.255\n"
	    "organisation: APNIC\nwhois:        WHOIS.APNIC.NET\n";
	struct iw_whois_parsed p;

	(void)state;
	assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_IANA, "203.0.113.1", a,
	    sizeof(a) - 1, &p), 0);
	assert_string_equal(p.referral, "whois.apnic.net");
}

/* ---------- RIPE, APNIC, AFRINIC ---------- */

static void
test_ripe_abuse_comment(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	parse_file(IW_WHOIS_FMT_RIPE, "ripe-192.0.2.64.txt", "192.0.2.70",
	    &p);
	assert_string_equal(p.email, "abuse@ripe-nl.example");
	assert_string_equal(p.net_first, "192.0.2.64");
	assert_string_equal(p.net_last, "192.0.2.127");
	assert_string_equal(p.net_text, "192.0.2.64 - 192.0.2.127");
	assert_string_equal(p.source, "abuse contact comment");
	expect_email(IW_WHOIS_FMT_RIPE, "apnic-203.0.113.0.txt",
	    "203.0.113.5", "abuse@apnic-member.example");
	expect_email(IW_WHOIS_FMT_RIPE, "afrinic-203.0.113.192.txt",
	    "203.0.113.200", "abuse@afrinic-member.example");
}

static void
test_ripe_ipv6_inet6num(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	parse_file(IW_WHOIS_FMT_RIPE, "ripe-2001-db8-1.txt",
	    "2001:db8:1:ff::25", &p);
	assert_string_equal(p.email, "abuse@ripe-v6.example");
	assert_string_equal(p.net_first, "2001:db8:1::");
	assert_string_equal(p.net_last, "2001:db8:1:ffff:ffff:ffff:ffff:ffff");
	/* An address outside the inet6num is not covered by it. */
	parse_file(IW_WHOIS_FMT_RIPE, "ripe-2001-db8-1.txt", "2001:db8:2::1",
	    &p);
	assert_string_equal(p.email, "");
}

static void
test_ripe_abuse_c_role_object(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	/* No comment line: abuse-c -> role -> abuse-mailbox, domain lowered;
	   the role's e-mail and the org's abuse-c are not used. */
	parse_file(IW_WHOIS_FMT_RIPE, "ripe-role-object.txt", "192.0.2.99",
	    &p);
	assert_string_equal(p.email, "Abuse@ripe-nl.example");
	assert_non_null(strstr(p.source, "ANL1-RIPE"));
}

static void
test_ripe_irt_only_contact(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	parse_file(IW_WHOIS_FMT_RIPE, "apnic-irt-only.txt", "203.0.113.9", &p);
	assert_string_equal(p.email, "irt@apnic-irt.example");
	assert_non_null(strstr(p.source, "IRT-EXAMPLE-JP"));
}

static void
test_ripe_no_abuse_contact_registered(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	/* -r answer: the irt is only named; the lookup fetches it. */
	parse_file(IW_WHOIS_FMT_RIPE, "ripe-192.0.2.192.txt", "192.0.2.200",
	    &p);
	assert_string_equal(p.email, "");
	assert_string_equal(p.net_first, "192.0.2.192");
	assert_non_null(strstr(p.reason, "no abuse contact"));
}

static void
test_ripe_most_specific_inetnum_wins(void **state)
{
	(void)state;
	expect_email(IW_WHOIS_FMT_RIPE, "ripe-several-inetnums.txt",
	    "192.0.2.165", "abuse@small.example");
	expect_email(IW_WHOIS_FMT_RIPE, "ripe-several-inetnums.txt",
	    "192.0.2.130", "abuse@ripe-de.example");
	expect_email(IW_WHOIS_FMT_RIPE, "ripe-several-inetnums.txt",
	    "192.0.2.5", "abuse@lir.example");
}

static void
test_no_entries_found(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	parse_file(IW_WHOIS_FMT_RIPE, "ripe-notfound.txt", "192.0.2.1", &p);
	assert_string_equal(p.email, "");
	assert_int_equal(p.throttled, 0);
	assert_non_null(strstr(p.reason, "no entries found"));
	parse_file(IW_WHOIS_FMT_ARIN, "arin-notfound.txt", "198.51.100.1", &p);
	assert_string_equal(p.email, "");
	assert_int_equal(p.throttled, 0);
}

static void
test_invalid_mailbox_rejected(void **state)
{
	static const char two[] = "% Abuse contact for '192.0.2.0 - "
	    "192.0.2.255' is 'a@x.example b@y.example'\n\n"
	    "inetnum: 192.0.2.0 - 192.0.2.255\n";
	static const char ctl[] = "% Abuse contact for '192.0.2.0 - "
	    "192.0.2.255' is 'abuse@x.example\x1b[2J'\n\n"
	    "inetnum: 192.0.2.0 - 192.0.2.255\n";
	struct iw_whois_parsed p;

	(void)state;
	parse_file(IW_WHOIS_FMT_RIPE, "ripe-2001-db8-bad.txt",
	    "2001:db8:bad::1", &p);
	assert_string_equal(p.email, "");
	assert_non_null(strstr(p.reason, "abuse at example dot com"));
	assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_RIPE, "192.0.2.1", two,
	    sizeof(two) - 1, &p), 0);
	assert_string_equal(p.email, "");
	assert_non_null(strstr(p.reason, "several"));
	assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_RIPE, "192.0.2.1", ctl,
	    sizeof(ctl) - 1, &p), 0);
	assert_string_equal(p.email, "");
	/* The reason quotes the value, but never a control character. */
	assert_null(strchr(p.reason, '\x1b'));
	parse_file(IW_WHOIS_FMT_ARIN, "arin-two-addresses.txt",
	    "198.51.100.1", &p);
	assert_string_equal(p.email, "");
	assert_non_null(strstr(p.reason, "several"));
}

/* ---------- ARIN ---------- */

static void
test_arin_most_specific_network_wins(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	parse_file(IW_WHOIS_FMT_ARIN, "arin-198.51.100.128.txt",
	    "198.51.100.200", &p);
	assert_string_equal(p.email, "abuse@downstream.example");
	assert_string_equal(p.net_first, "198.51.100.128");
	assert_string_equal(p.net_last, "198.51.100.255");
	/* Same answer, address only in the parent: the parent's address. */
	expect_email(IW_WHOIS_FMT_ARIN, "arin-198.51.100.128.txt",
	    "198.51.100.3", "abuse@arin-org.example");
	expect_email(IW_WHOIS_FMT_ARIN, "arin-198.18.5.0.txt", "198.18.5.9",
	    "abuse@realloc-5.example");
}

static void
test_arin_never_uses_tech_email(void **state)
{
	static const char a[] = "NetRange:       198.51.100.0 - "
	    "198.51.100.255\nCIDR:           198.51.100.0/24\n\n"
	    "OrgTechEmail:  tech@x.example\nOrgNOCEmail:  noc@x.example\n"
	    "RTechEmail:  rtech@x.example\n";
	struct iw_whois_parsed p;

	(void)state;
	assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_ARIN, "198.51.100.9", a,
	    sizeof(a) - 1, &p), 0);
	assert_string_equal(p.email, "");
	assert_string_not_equal(p.reason, "");
	/* Org lists Tech and NOC before Abuse: still the abuse address. */
	expect_email(IW_WHOIS_FMT_ARIN, "arin-198.18.0.0.txt", "198.18.3.3",
	    "abuse@bench.example");
	expect_email(IW_WHOIS_FMT_ARIN, "arin-198.51.100.0.txt",
	    "198.51.100.10", "abuse@arin-org.example");
}

static void
test_arin_customer_rabuse_email(void **state)
{
	(void)state;
	expect_email(IW_WHOIS_FMT_ARIN, "arin-198.18.6.0.txt", "198.18.6.9",
	    "abuse@customer-6.example");
	/* A customer network without POCs: its parent's abuse address. */
	expect_email(IW_WHOIS_FMT_ARIN, "arin-198.18.7.0.txt", "198.18.7.9",
	    "abuse@bench.example");
}

static void
test_arin_referral_server(void **state)
{
	static const char a[] = "NetRange: 198.51.100.0 - 198.51.100.255\n"
	    "ReferralServer: whois://WHOIS.Example.NET:4343/\n";
	struct iw_whois_parsed p;

	(void)state;
	parse_file(IW_WHOIS_FMT_ARIN, "arin-198.51.100.64.txt",
	    "198.51.100.70", &p);
	assert_string_equal(p.referral, "whois.lacnic.net");
	assert_int_equal(p.referral_port, 0);
	/* Only the most specific network's referral counts. */
	parse_file(IW_WHOIS_FMT_ARIN, "arin-198.51.100.64.txt",
	    "198.51.100.10", &p);
	assert_string_equal(p.referral, "");
	assert_string_equal(p.email, "abuse@arin-org.example");
	assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_ARIN, "198.51.100.1", a,
	    sizeof(a) - 1, &p), 0);
	assert_string_equal(p.referral, "whois.example.net");
	assert_int_equal(p.referral_port, 4343);
}

static void
test_arin_rwhois_referral_ignored(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	parse_file(IW_WHOIS_FMT_ARIN, "arin-198.18.0.0.txt", "198.18.0.1", &p);
	assert_string_equal(p.referral, "");
	assert_string_equal(p.email, "abuse@bench.example");
}

/* ---------- LACNIC ---------- */

static void
test_lacnic_abuse_handle(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	/* owner-c and tech-c blocks come first: abuse-c's block wins. */
	parse_file(IW_WHOIS_FMT_LACNIC, "lacnic-203.0.113.128.txt",
	    "203.0.113.130", &p);
	assert_string_equal(p.email, "abuse@lacnic-member.example");
	assert_non_null(strstr(p.source, "LME4"));
	expect_email(IW_WHOIS_FMT_LACNIC, "lacnic-198.51.100.64.txt",
	    "198.51.100.70", "abuse@lacnic-via-arin.example");
}

static void
test_lacnic_short_inetnum(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	parse_file(IW_WHOIS_FMT_LACNIC, "lacnic-short.txt", "198.19.85.1", &p);
	assert_string_equal(p.email, "seguranca@cliente.example");
	assert_string_equal(p.net_first, "198.19.84.0");
	assert_string_equal(p.net_last, "198.19.85.255");
	assert_string_equal(p.net_text, "198.19.84/23");
	parse_file(IW_WHOIS_FMT_LACNIC, "lacnic-short.txt", "198.19.200.1",
	    &p);
	assert_string_equal(p.email, "abuse@exemplo-telecom.example");
	assert_string_equal(p.net_first, "198.19.0.0");
	assert_string_equal(p.net_last, "198.19.255.255");
}

static void
test_lacnic_without_abuse_c_has_no_contact(void **state)
{
	static const char a[] = "inetnum:     200.7.84/23\nowner-c:     OW1\n"
	    "tech-c:      OW1\n\nnic-hdl:     OW1\ne-mail:      o@x.example\n";
	struct iw_whois_parsed p;

	(void)state;
	assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_LACNIC, "200.7.85.1", a,
	    sizeof(a) - 1, &p), 0);
	assert_string_equal(p.email, "");
	assert_string_equal(p.net_last, "200.7.85.255");
}

/* ---------- more-specific listings and leaf statuses ---------- */

static void
parse_listing_file(enum iw_whois_format fmt, const char *file,
    const char *first, const char *last, struct iw_whois_listing *l)
{
	size_t len;
	char *buf = load(file, &len);

	assert_int_equal(iw_whois_parse_listing(fmt, first, last, buf, len,
	    l), 0);
	free(buf);
}

static uint32_t
v4(const char *ip)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, ip, &a), 1);
	return ntohl(a.s_addr);
}

/* What the contact cache answers for ip from a listing: the most specific
 * listed network holding it (lib/cache.c's rule), or NULL. */
static const struct iw_whois_subnet *
most_specific_listed(const struct iw_whois_listing *l, const char *ip)
{
	const struct iw_whois_subnet *best = NULL;
	uint32_t a = v4(ip);

	for (size_t i = 0; i < l->n; i++) {
		const struct iw_whois_subnet *s = &l->nets[i];

		if (v4(s->first) > a || v4(s->last) < a)
			continue;
		if (best == NULL || v4(s->last) - v4(s->first) <
		    v4(best->last) - v4(best->first))
			best = s;
	}
	return best;
}

static void
expect_listed(const struct iw_whois_listing *l, const char *ip,
    const char *first, const char *email)
{
	const struct iw_whois_subnet *s = most_specific_listed(l, ip);

	if (s == NULL)
		fail_msg("%s: no listed network", ip);
	if (strcmp(s->first, first) != 0)
		fail_msg("%s: network %s, want %s", ip, s->first, first);
	if (email == NULL) {
		if (s->has_contact)
			fail_msg("%s: contact %s, want none", ip, s->email);
		return;
	}
	if (!s->has_contact || strcmp(s->email, email) != 0)
		fail_msg("%s: contact '%s' (%d), want %s", ip, s->email,
		    s->has_contact, email);
}

static void
test_listing_query_per_registry(void **state)
{
	char q[160];

	(void)state;
	assert_int_equal(iw_whois_listing_query(IW_WHOIS_FMT_RIPE,
	    "192.0.2.0", "192.0.2.255", q, sizeof(q)), 0);
	assert_string_equal(q, "-r -M 192.0.2.0/24");
	assert_int_equal(iw_whois_listing_query(IW_WHOIS_FMT_RIPE,
	    "192.0.2.0", "192.0.2.99", q, sizeof(q)), 0);
	assert_string_equal(q, "-r -M 192.0.2.0 - 192.0.2.99");
	assert_int_equal(iw_whois_listing_query(IW_WHOIS_FMT_ARIN,
	    "198.18.0.0", "198.19.255.255", q, sizeof(q)), 0);
	assert_string_equal(q, "n + > 198.18.0.0/15");
	assert_int_equal(iw_whois_listing_query(IW_WHOIS_FMT_ARIN,
	    "198.18.0.0", "198.18.2.255", q, sizeof(q)), -1);
	assert_int_equal(iw_whois_listing_query(IW_WHOIS_FMT_LACNIC,
	    "198.19.0.0", "198.19.255.255", q, sizeof(q)), -1);
	assert_int_equal(iw_whois_listing_query(IW_WHOIS_FMT_RIPE,
	    "192.0.2.9", "192.0.2.1", q, sizeof(q)), -1);
}

static void
test_ripe_listing_assignments_inside_allocation(void **state)
{
	struct iw_whois_listing l;

	(void)state;
	parse_listing_file(IW_WHOIS_FMT_RIPE, "ripe-listing-192.0.2.0.txt",
	    "192.0.2.0", "192.0.2.255", &l);
	assert_int_equal(l.status, IW_WHOIS_OK);
	assert_int_equal(l.complete, 1);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.nets[0].text, "192.0.2.0 - 192.0.2.63");
	/* The /24 allocation has abuse@ripe-lir.example; its /26
	   assignments decide for their addresses. */
	expect_listed(&l, "192.0.2.10", "192.0.2.0", "abuse-dk@ripe-dk.example");
	expect_listed(&l, "192.0.2.130", "192.0.2.128",
	    "abuse@ripe-de.example");
	iw_whois_listing_free(&l);
}

static void
test_ripe_listing_inherited_abuse_contact(void **state)
{
	struct iw_whois_listing l;
	struct iw_whois_parsed p;

	(void)state;
	/* 192.0.2.64/26 has no abuse-c: the "% Abuse contact for" line
	   names the allocation's, which RIPE inherits down. */
	parse_listing_file(IW_WHOIS_FMT_RIPE, "ripe-listing-192.0.2.0.txt",
	    "192.0.2.0", "192.0.2.255", &l);
	expect_listed(&l, "192.0.2.70", "192.0.2.64", "abuse@ripe-lir.example");
	assert_string_equal(most_specific_listed(&l, "192.0.2.70")->source,
	    "abuse contact comment");
	iw_whois_listing_free(&l);
	parse_file(IW_WHOIS_FMT_RIPE, "ripe-listing-192.0.2.0.txt",
	    "192.0.2.100", &p);
	assert_string_equal(p.email, "abuse@ripe-lir.example");
	assert_string_equal(p.net_first, "192.0.2.64");
	assert_string_equal(p.net_last, "192.0.2.127");
}

static void
test_ripe_listing_irt_only_network_has_no_listed_contact(void **state)
{
	struct iw_whois_listing l;

	(void)state;
	/* "No abuse contact registered" and only an mnt-irt: the listing
	   stores the network without a contact, so the cache asks RIPE for
	   it, and that answer's irt object gives the address. */
	parse_listing_file(IW_WHOIS_FMT_RIPE, "ripe-listing-192.0.2.0.txt",
	    "192.0.2.0", "192.0.2.255", &l);
	expect_listed(&l, "192.0.2.200", "192.0.2.192", NULL);
	iw_whois_listing_free(&l);
	{
		/* The network's answer and then its irt object ("-r -T irt
		   IRT-RO-EXAMPLE"), as the lookup puts them together. */
		size_t n1, n2;
		char *a = load("ripe-192.0.2.192.txt", &n1);
		char *b = load("ripe-irt-ro.txt", &n2);
		char *both = malloc(n1 + n2 + 1);
		struct iw_whois_parsed p;

		assert_non_null(both);
		memcpy(both, a, n1);
		both[n1] = '\n';
		memcpy(both + n1 + 1, b, n2);
		assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_RIPE,
		    "192.0.2.200", both, n1 + n2 + 1, &p), 0);
		assert_string_equal(p.email, "irt@ripe-ro.example");
		assert_non_null(strstr(p.source, "irt"));
		free(a);
		free(b);
		free(both);
	}
}

static void
test_ripe_listing_no_entries_is_complete(void **state)
{
	static const char a[] = "% This is the RIPE Database query service."
	    "\n\n%ERROR:101: no entries found\n%\n% No entries found in "
	    "source RIPE.\n\n";
	struct iw_whois_listing l;

	(void)state;
	assert_int_equal(iw_whois_parse_listing(IW_WHOIS_FMT_RIPE,
	    "192.0.2.0", "192.0.2.63", a, sizeof(a) - 1, &l), 0);
	assert_int_equal(l.status, IW_WHOIS_OK);
	assert_int_equal(l.complete, 1);
	assert_int_equal(l.n, 0);
	iw_whois_listing_free(&l);
}

static void
test_listing_unclear_or_throttled_is_not_complete(void **state)
{
	static const char junk[] = "% This is the RIPE Database query "
	    "service.\n\n% Something unexpected\n";
	struct iw_whois_listing l;
	size_t len;
	char *buf;

	(void)state;
	assert_int_equal(iw_whois_parse_listing(IW_WHOIS_FMT_RIPE,
	    "192.0.2.0", "192.0.2.255", junk, sizeof(junk) - 1, &l), 0);
	assert_int_equal(l.complete, 0);
	iw_whois_listing_free(&l);
	buf = load("ripe-throttle.txt", &len);
	assert_int_equal(iw_whois_parse_listing(IW_WHOIS_FMT_RIPE,
	    "192.0.2.0", "192.0.2.255", buf, len, &l), 0);
	free(buf);
	assert_int_equal(l.status, IW_WHOIS_TRANSIENT);
	assert_int_equal(l.refused, 1);
	assert_int_equal(l.complete, 0);
	iw_whois_listing_free(&l);
	buf = load("arin-throttle.txt", &len);
	assert_int_equal(iw_whois_parse_listing(IW_WHOIS_FMT_ARIN,
	    "198.18.0.0", "198.19.255.255", buf, len, &l), 0);
	free(buf);
	assert_int_equal(l.refused, 1);
	assert_int_equal(l.complete, 0);
	iw_whois_listing_free(&l);
}

static void
test_arin_listing_reallocation_inside_allocation(void **state)
{
	struct iw_whois_listing l;

	(void)state;
	/* "n + > 198.18.0.0/15": full records with their POCs. */
	parse_listing_file(IW_WHOIS_FMT_ARIN,
	    "arin-listing-198.18.0.0-full.txt", "198.18.0.0",
	    "198.19.255.255", &l);
	assert_int_equal(l.status, IW_WHOIS_OK);
	assert_int_equal(l.complete, 1);
	assert_int_equal(l.n, 4);
	/* Another organisation's /24 inside the /15: its own contact. */
	expect_listed(&l, "198.18.5.77", "198.18.5.0",
	    "abuse@realloc-5.example");
	/* Outside every /24: the /15's. */
	expect_listed(&l, "198.18.9.1", "198.18.0.0", "abuse@bench.example");
	expect_listed(&l, "198.19.255.1", "198.18.0.0", "abuse@bench.example");
	/* Reassigned with an RAbuseEmail; reassigned without POCs. */
	expect_listed(&l, "198.18.6.1", "198.18.6.0",
	    "abuse@customer-6.example");
	expect_listed(&l, "198.18.7.200", "198.18.7.0", "abuse@bench.example");
	iw_whois_listing_free(&l);
}

static void
test_arin_listing_summary_lines(void **state)
{
	struct iw_whois_listing l;

	(void)state;
	/* "n > CIDR": one line per network, customers with their own
	   (C...) handle before the NET handle; no POCs, so no contacts. */
	parse_listing_file(IW_WHOIS_FMT_ARIN,
	    "arin-listing-198.18.0.0-summary.txt", "198.18.0.0",
	    "198.19.255.255", &l);
	assert_int_equal(l.status, IW_WHOIS_OK);
	assert_int_equal(l.complete, 1);
	assert_int_equal(l.n, 4);
	expect_listed(&l, "198.18.5.77", "198.18.5.0", NULL);
	expect_listed(&l, "198.18.6.77", "198.18.6.0", NULL);
	expect_listed(&l, "198.18.9.1", "198.18.0.0", NULL);
	assert_string_equal(most_specific_listed(&l, "198.18.5.1")->last,
	    "198.18.5.255");
	iw_whois_listing_free(&l);
}

static void
test_arin_listing_keeps_only_networks_inside(void **state)
{
	struct iw_whois_listing l;

	(void)state;
	/* Asked for 198.18.5.0/24: the /15 and the other /24s are outside
	   the range listed and are not part of its cover. */
	parse_listing_file(IW_WHOIS_FMT_ARIN,
	    "arin-listing-198.18.0.0-full.txt", "198.18.5.0", "198.18.5.255",
	    &l);
	assert_int_equal(l.complete, 1);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.nets[0].first, "198.18.5.0");
	assert_string_equal(l.nets[0].email, "abuse@realloc-5.example");
	iw_whois_listing_free(&l);
}

static void
test_parse_listing_rejects_bad_arguments(void **state)
{
	struct iw_whois_listing l;

	(void)state;
	assert_int_equal(iw_whois_parse_listing(IW_WHOIS_FMT_RIPE,
	    "192.0.2.0", "2001:db8::1", "", 0, &l), -1);
	assert_int_equal(iw_whois_parse_listing(IW_WHOIS_FMT_RIPE, NULL,
	    "192.0.2.1", "", 0, &l), -1);
	assert_int_equal(iw_whois_parse_listing(IW_WHOIS_FMT_RIPE,
	    "192.0.2.0", "192.0.2.1", NULL, 3, &l), -1);
	assert_int_equal(iw_whois_parse_listing(IW_WHOIS_FMT_RIPE,
	    "192.0.2.0", "192.0.2.1", "x", 1, NULL), -1);
	iw_whois_listing_free(NULL);
}

static void
expect_leaf(enum iw_whois_format fmt, const char *file, const char *ip,
    int leaf)
{
	struct iw_whois_parsed p;

	parse_file(fmt, file, ip, &p);
	if (p.leaf != leaf)
		fail_msg("%s %s (network %s): leaf %d, want %d", file, ip,
		    p.net_text, p.leaf, leaf);
}

static void
expect_leaf_status(enum iw_whois_format fmt, const char *status, int leaf)
{
	char a[400];
	struct iw_whois_parsed p;
	int n;

	if (fmt == IW_WHOIS_FMT_ARIN)
		n = snprintf(a, sizeof(a), "NetRange:  192.0.2.0 - 192.0.2.255"
		    "\nCIDR:      192.0.2.0/24\nNetName:   X\nNetType:   %s\n"
		    "OrgAbuseEmail: abuse@x.example\n", status);
	else
		n = snprintf(a, sizeof(a), "inetnum:  192.0.2.0 - 192.0.2.255"
		    "\nnetname:  X\nstatus:   %s\nsource:   RIPE\n", status);
	assert_true(n > 0 && (size_t)n < sizeof(a));
	assert_int_equal(iw_whois_parse(fmt, "192.0.2.1", a, (size_t)n, &p),
	    0);
	if (p.leaf != leaf)
		fail_msg("status '%s': leaf %d, want %d", status, p.leaf, leaf);
}

static void
test_leaf_status_per_registry(void **state)
{
	(void)state;
	/* RIPE, AFRINIC: assignments are leaves, allocations are not. */
	expect_leaf(IW_WHOIS_FMT_RIPE, "ripe-192.0.2.64.txt", "192.0.2.70", 1);
	expect_leaf(IW_WHOIS_FMT_RIPE, "ripe-192.0.2.0-alloc.txt",
	    "192.0.2.1", 0);
	expect_leaf(IW_WHOIS_FMT_RIPE, "afrinic-203.0.113.192.txt",
	    "203.0.113.200", 1);
	expect_leaf_status(IW_WHOIS_FMT_RIPE, "ASSIGNED PI", 1);
	expect_leaf_status(IW_WHOIS_FMT_RIPE, "ASSIGNED ANYCAST", 1);
	expect_leaf_status(IW_WHOIS_FMT_RIPE, "assigned pa", 1);
	expect_leaf_status(IW_WHOIS_FMT_RIPE, "SUB-ALLOCATED PA", 0);
	expect_leaf_status(IW_WHOIS_FMT_RIPE, "LIR-PARTITIONED PA", 0);
	expect_leaf_status(IW_WHOIS_FMT_RIPE, "LEGACY", 0);
	expect_leaf_status(IW_WHOIS_FMT_RIPE, "AGGREGATED-BY-LIR", 0);
	/* inet6num ASSIGNED. */
	expect_leaf(IW_WHOIS_FMT_RIPE, "ripe-2001-db8-1.txt", "2001:db8:1::5",
	    1);
	/* APNIC. */
	expect_leaf(IW_WHOIS_FMT_RIPE, "apnic-203.0.113.0.txt", "203.0.113.9",
	    1);
	expect_leaf_status(IW_WHOIS_FMT_RIPE, "ASSIGNED NON-PORTABLE", 1);
	expect_leaf_status(IW_WHOIS_FMT_RIPE, "ALLOCATED PORTABLE", 0);
	expect_leaf_status(IW_WHOIS_FMT_RIPE, "ALLOCATED NON-PORTABLE", 0);
	/* ARIN: only a reassignment can hold nothing more specific. */
	expect_leaf(IW_WHOIS_FMT_ARIN, "arin-198.18.6.0.txt", "198.18.6.1", 1);
	expect_leaf(IW_WHOIS_FMT_ARIN, "arin-198.18.5.0.txt", "198.18.5.1", 0);
	expect_leaf(IW_WHOIS_FMT_ARIN, "arin-198.18.5.0.txt", "198.18.9.1", 0);
	expect_leaf_status(IW_WHOIS_FMT_ARIN, "Reassigned", 1);
	expect_leaf_status(IW_WHOIS_FMT_ARIN, "Reallocated", 0);
	expect_leaf_status(IW_WHOIS_FMT_ARIN, "Direct Allocation", 0);
	expect_leaf_status(IW_WHOIS_FMT_ARIN, "Direct Assignment", 0);
	/* LACNIC. */
	expect_leaf(IW_WHOIS_FMT_LACNIC, "lacnic-203.0.113.128.txt",
	    "203.0.113.130", 1);
	expect_leaf(IW_WHOIS_FMT_LACNIC, "lacnic-short.txt", "198.19.200.1",
	    0);
	expect_leaf(IW_WHOIS_FMT_LACNIC, "lacnic-short.txt", "198.19.85.1", 1);
}

static void
test_top_network_is_least_specific_shown(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	/* The listing asked after an ARIN answer covers the /15 (top), not
	   just the /24 that matched. */
	parse_file(IW_WHOIS_FMT_ARIN, "arin-198.18.5.0.txt", "198.18.5.9", &p);
	assert_string_equal(p.net_first, "198.18.5.0");
	assert_string_equal(p.top_first, "198.18.0.0");
	assert_string_equal(p.top_last, "198.19.255.255");
	parse_file(IW_WHOIS_FMT_RIPE, "ripe-several-inetnums.txt",
	    "192.0.2.165", &p);
	assert_string_equal(p.top_first, "192.0.2.0");
	assert_string_equal(p.top_last, "192.0.2.255");
}

static void
test_lacnic_short_form_handles_and_leaf(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	/* "198.19.84/23" with abuse-c -> nic-hdl-br e-mail; the reassigned
	   /23 is a leaf, the allocated /16 is not (LACNIC has no listing:
	   its addresses outside leaves are asked one by one). */
	parse_file(IW_WHOIS_FMT_LACNIC, "lacnic-short.txt", "198.19.84.1", &p);
	assert_string_equal(p.net_text, "198.19.84/23");
	assert_string_equal(p.top_first, "198.19.84.0");
	assert_int_equal(p.leaf, 1);
	assert_non_null(strstr(p.source, "abuse-c"));
	parse_file(IW_WHOIS_FMT_LACNIC, "lacnic-short.txt", "198.19.0.1", &p);
	assert_string_equal(p.net_text, "198.19/16");
	assert_int_equal(p.leaf, 0);
}

/* ---------- robustness ---------- */

static void
test_throttle_detected(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	parse_file(IW_WHOIS_FMT_RIPE, "ripe-throttle.txt", "192.0.2.1", &p);
	assert_int_equal(p.throttled, 1);
	parse_file(IW_WHOIS_FMT_ARIN, "arin-throttle.txt", "198.51.100.1", &p);
	assert_int_equal(p.throttled, 1);
	parse_file(IW_WHOIS_FMT_LACNIC, "lacnic-throttle.txt", "203.0.113.130",
	    &p);
	assert_int_equal(p.throttled, 1);
	/* RIPE's "too many connections" is throttling too. */
	{
		static const char a[] = "%ERROR:306: too many connections\n";

		assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_RIPE,
		    "192.0.2.1", a, sizeof(a) - 1, &p), 0);
		assert_int_equal(p.throttled, 1);
	}
	/* Registry data mentioning rate limits is not throttling. */
	{
		static const char a[] = "inetnum: 192.0.2.0 - 192.0.2.255\n"
		    "remarks: we rate limit exceeded senders\n";

		assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_RIPE,
		    "192.0.2.1", a, sizeof(a) - 1, &p), 0);
		assert_int_equal(p.throttled, 0);
	}
}

/* LF -> CRLF, and a Latin-1 byte and stray 0xff in free text. */
static char *
crlf_latin1(const char *in, size_t n, size_t *outn)
{
	char *o = malloc(2 * n + 16);
	size_t k = 0;

	assert_non_null(o);
	memcpy(o, "% Caf\xe9 \xff\xfe\r\n", 11);
	k = 11;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\n')
			o[k++] = '\r';
		o[k++] = in[i];
	}
	*outn = k;
	return o;
}

static void
test_crlf_and_nonutf8(void **state)
{
	static const struct {
		enum iw_whois_format fmt;
		const char *file, *ip, *email;
	} c[] = {
		{ IW_WHOIS_FMT_RIPE, "ripe-192.0.2.0.txt", "192.0.2.1",
		    "abuse-dk@ripe-dk.example" },
		{ IW_WHOIS_FMT_ARIN, "arin-198.51.100.128.txt",
		    "198.51.100.129", "abuse@downstream.example" },
		{ IW_WHOIS_FMT_LACNIC, "lacnic-short.txt", "198.19.84.1",
		    "seguranca@cliente.example" },
		{ IW_WHOIS_FMT_RIPE, "ripe-role-object.txt", "192.0.2.64",
		    "Abuse@ripe-nl.example" },
	};
	struct iw_whois_parsed p;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t n, m;
		char *raw = load(c[i].file, &n);
		char *x = crlf_latin1(raw, n, &m);

		assert_int_equal(iw_whois_parse(c[i].fmt, c[i].ip, x, m, &p),
		    0);
		assert_string_equal(p.email, c[i].email);
		/* No trailing CR leaks into any field. */
		assert_null(strchr(p.net_text, '\r'));
		free(raw);
		free(x);
	}
}

static void
test_every_truncation_is_safe(void **state)
{
	static const char *const files[] = { "arin-198.51.100.128.txt",
	    "ripe-role-object.txt", "lacnic-short.txt", "apnic-irt-only.txt" };
	struct iw_whois_parsed p;

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t n;
		char *raw = load(files[f], &n);

		for (size_t k = 0; k <= n; k++) {
			char *cut = malloc(k ? k : 1);

			assert_non_null(cut);
			memcpy(cut, raw, k);
			for (int fmt = 0; fmt <= IW_WHOIS_FMT_UNKNOWN; fmt++)
				assert_int_equal(iw_whois_parse(
				    (enum iw_whois_format)fmt, "198.51.100.200",
				    cut, k, &p), 0);
			free(cut);
		}
		free(raw);
	}
}

static void
test_unknown_format_tries_all(void **state)
{
	(void)state;
	expect_email(IW_WHOIS_FMT_UNKNOWN, "ripe-192.0.2.128.txt",
	    "192.0.2.130", "abuse@ripe-de.example");
	expect_email(IW_WHOIS_FMT_UNKNOWN, "arin-198.51.100.128.txt",
	    "198.51.100.200", "abuse@downstream.example");
	expect_email(IW_WHOIS_FMT_UNKNOWN, "lacnic-203.0.113.128.txt",
	    "203.0.113.130", "abuse@lacnic-member.example");
}

static void
test_parse_rejects_bad_arguments(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_RIPE, "not-an-ip", "", 0,
	    &p), -1);
	assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_RIPE, "192.0.2.1", NULL,
	    5, &p), -1);
	assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_RIPE, "192.0.2.1", NULL,
	    0, &p), 0);
	assert_string_equal(p.email, "");
}

/* ---------- client against forked loopback servers ---------- */

#define FAKE_MAX 3

struct fake {
	pid_t pid;
	int port[FAKE_MAX];
};

static int
listen_any(int *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Serve answers[i] (repeated `repeat` times) on port[i] until killed. */
static void
fake_start(struct fake *f, const char *const *answers, size_t n,
    size_t repeat)
{
	int fds[FAKE_MAX];

	assert_true(n <= FAKE_MAX);
	for (size_t i = 0; i < n; i++)
		fds[i] = listen_any(&f->port[i]);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid > 0) {
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		return;
	}
	for (;;) {
		struct pollfd pf[FAKE_MAX];

		for (size_t i = 0; i < n; i++) {
			pf[i].fd = fds[i];
			pf[i].events = POLLIN;
		}
		if (poll(pf, (nfds_t)n, -1) < 0)
			_exit(1);
		for (size_t i = 0; i < n; i++) {
			char q[512];
			int c;

			if (!(pf[i].revents & POLLIN))
				continue;
			c = accept(fds[i], NULL, NULL);
			if (c < 0)
				continue;
			if (recv(c, q, sizeof(q), 0) < 0)
				_exit(1);
			for (size_t r = 0; r < repeat; r++)
				if (send(c, answers[i], strlen(answers[i]),
				    MSG_NOSIGNAL) < 0)
					break;
			close(c);
		}
	}
}

static void
fake_stop(struct fake *f)
{
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
}

static void
conf_for(struct iw_whois_conf *c, struct iw_whois_host *h, char addr[][32],
    const char *const *names, const int *ports, size_t n)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		snprintf(addr[i], 32, "127.0.0.1:%d", ports[i]);
		h[i].name = (char *)names[i];
		h[i].address = addr[i];
	}
	c->bootstrap = "whois.iana.org";
	c->hosts = h;
	c->nhosts = n;
	c->timeout_ms = 2000;
}

/* Lookup through servers named names[], answering ans[], for ip. */
static void
lookup_in(const char *const *ans, const char *const *names, size_t n,
    const char *ip, struct iw_whois_result *r)
{
	struct iw_whois_host h[FAKE_MAX];
	char addr[FAKE_MAX][32];
	struct iw_whois_conf c;
	struct iw_err e;
	struct fake f;

	fake_start(&f, ans, n, 1);
	conf_for(&c, h, addr, names, f.port, n);
	assert_int_equal(iw_whois_lookup(&c, ip, r, &e), 0);
	fake_stop(&f);
}

static void
test_referred_claim_of_everything_is_cut_to_the_delegation(void **state)
{
	static const char iana[] = "refer:   whois.evil.example\n\n"
	    "inetnum: 203.0.113.0 - 203.0.113.15\n";
	static const char evil[] = "% Abuse contact for '0.0.0.0 - "
	    "255.255.255.255' is 'attacker@evil.example'\n\n"
	    "inetnum: 0.0.0.0 - 255.255.255.255\nstatus:  ASSIGNED PA\n";
	const char *const ans[] = { iana, evil };
	const char *const names[] = { "whois.iana.org", "whois.evil.example" };
	struct iw_whois_result r;

	(void)state;
	lookup_in(ans, names, 2, "203.0.113.5", &r);
	assert_int_equal(r.status, IW_WHOIS_OK);
	assert_string_equal(r.email, "attacker@evil.example");
	assert_int_equal(r.clipped, 1);
	assert_string_equal(r.net_first, "203.0.113.0");
	assert_string_equal(r.net_last, "203.0.113.15");
	assert_string_equal(r.top_first, "203.0.113.0");
	assert_string_equal(r.top_last, "203.0.113.15");
	assert_string_equal(r.auth_first, "203.0.113.0");
	assert_string_equal(r.auth_last, "203.0.113.15");
	iw_whois_result_free(&r);
}

static void
test_arin_referral_delegates_only_the_referring_network(void **state)
{
	static const char iana[] = "refer:   whois.arin.net\n"
	    "inetnum: 198.0.0.0 - 198.255.255.255\n";
	static const char arin[] = "NetRange: 198.51.100.64 - 198.51.100.127\n"
	    "ReferralServer:  whois://whois.lacnic.net\n";
	static const char lacnic[] = "inetnum:     198.51.100.0/24\r\n"
	    "abuse-c:     VAE2\r\n\r\nnic-hdl:     VAE2\r\n"
	    "e-mail:      abuse@lacnic-via-arin.example\r\n";
	const char *const ans[] = { iana, arin, lacnic };
	const char *const names[] = { "whois.iana.org", "whois.arin.net",
	    "whois.lacnic.net" };
	struct iw_whois_result r;

	(void)state;
	lookup_in(ans, names, 3, "198.51.100.70", &r);
	assert_int_equal(r.status, IW_WHOIS_OK);
	assert_string_equal(r.auth_first, "198.51.100.64");
	assert_string_equal(r.auth_last, "198.51.100.127");
	assert_string_equal(r.net_first, "198.51.100.64");
	assert_string_equal(r.net_last, "198.51.100.127");
	iw_whois_result_free(&r);
}

static void
test_referral_without_delegation_is_good_for_this_ip_only(void **state)
{
	static const char iana[] = "refer:   whois.ripe.net\n";
	static const char ripe[] = "% Abuse contact for '192.0.2.0 - "
	    "192.0.2.255' is 'abuse@ripe.example'\n\n"
	    "inetnum: 192.0.2.0 - 192.0.2.255\nstatus:  ASSIGNED PA\n";
	const char *const ans[] = { iana, ripe };
	const char *const names[] = { "whois.iana.org", "whois.ripe.net" };
	struct iw_whois_result r;

	(void)state;
	lookup_in(ans, names, 2, "192.0.2.9", &r);
	assert_int_equal(r.status, IW_WHOIS_OK);
	assert_string_equal(r.net_first, "192.0.2.0");
	assert_string_equal(r.auth_first, "");
	iw_whois_result_free(&r);
}

static void
test_referral_to_ip_literal_is_refused_and_recorded(void **state)
{
	static const char iana[] = "refer:   127.0.0.1:8080\n";
	static const char inet_aton_form[] = "refer:   2130706433\n";
	const char *const names[] = { "whois.iana.org" };
	const char *ans[1];
	struct iw_whois_result r;

	(void)state;
	ans[0] = iana;
	lookup_in(ans, names, 1, "192.0.2.9", &r);
	assert_int_equal(r.status, IW_WHOIS_NOCONTACT);
	assert_string_equal(r.reason, "referral to 127.0.0.1:8080 refused: "
	    "an IP address literal");
	assert_string_equal(r.chain, "whois.iana.org");
	iw_whois_result_free(&r);
	ans[0] = inet_aton_form;
	lookup_in(ans, names, 1, "192.0.2.9", &r);
	assert_int_equal(r.status, IW_WHOIS_NOCONTACT);
	assert_non_null(strstr(r.reason, "an IP address literal"));
	iw_whois_result_free(&r);
}

static void
test_referral_to_other_port_than_43_is_refused(void **state)
{
	static const char iana[] = "refer:   whois.example.net:4343\n";
	const char *const ans[] = { iana };
	const char *const names[] = { "whois.iana.org" };
	struct iw_whois_result r;

	(void)state;
	lookup_in(ans, names, 1, "192.0.2.9", &r);
	assert_int_equal(r.status, IW_WHOIS_NOCONTACT);
	assert_string_equal(r.reason, "referral to whois.example.net:4343 "
	    "refused: not port 43");
	iw_whois_result_free(&r);
}

/* "localhost" is not refused by name: it resolves to loopback. */
static void
test_referral_resolving_to_loopback_keeps_the_answer_so_far(void **state)
{
	static const char iana[] = "refer:   whois.arin.net\n"
	    "inetnum: 198.0.0.0 - 198.255.255.255\n";
	static const char arin[] = "NetRange: 198.51.100.0 - 198.51.100.255\n"
	    "ReferralServer:  whois://localhost\n"
	    "OrgAbuseEmail: abuse@arin-org.example\n";
	const char *const ans[] = { iana, arin };
	const char *const names[] = { "whois.iana.org", "whois.arin.net" };
	struct iw_whois_result r;

	(void)state;
	lookup_in(ans, names, 2, "198.51.100.7", &r);
	assert_int_equal(r.status, IW_WHOIS_OK);
	assert_string_equal(r.email, "abuse@arin-org.example");
	assert_string_equal(r.server, "whois.arin.net");
	assert_string_equal(r.reason, "referral to localhost refused: "
	    "localhost resolves only to loopback, private or link-local "
	    "addresses");
	assert_string_equal(r.auth_first, "");	/* this IP only */
	assert_non_null(r.raw);
	assert_string_equal(r.raw, arin);
	iw_whois_result_free(&r);
}

static void
test_lookup_follows_referrals(void **state)
{
	static const char iana[] = "refer:        whois.arin.net\n";
	static const char arin[] = "NetRange: 198.51.100.0 - 198.51.100.255\n"
	    "ReferralServer:  whois://whois.lacnic.net\n"
	    "OrgAbuseEmail: rir@lacnic-rir.example\n";
	static const char lacnic[] = "inetnum:     198.51.100.64/26\r\n"
	    "abuse-c:     VAE2\r\n\r\nnic-hdl:     VAE2\r\n"
	    "e-mail:      abuse@lacnic-via-arin.example\r\n";
	const char *const ans[] = { iana, arin, lacnic };
	const char *const names[] = { "whois.iana.org", "whois.arin.net",
	    "whois.lacnic.net" };
	struct iw_whois_host h[3];
	char addr[3][32];
	struct iw_whois_conf c;
	struct iw_whois_result r;
	struct iw_err e;
	struct fake f;

	(void)state;
	fake_start(&f, ans, 3, 1);
	conf_for(&c, h, addr, names, f.port, 3);
	assert_int_equal(iw_whois_lookup(&c, "198.51.100.70", &r, &e), 0);
	fake_stop(&f);
	assert_int_equal(r.status, IW_WHOIS_OK);
	assert_string_equal(r.email, "abuse@lacnic-via-arin.example");
	assert_string_equal(r.server, "whois.lacnic.net");
	assert_string_equal(r.chain,
	    "whois.iana.org > whois.arin.net > whois.lacnic.net");
	assert_non_null(r.raw);
	assert_int_equal(r.raw_len, sizeof(lacnic) - 1);
	assert_string_equal(r.raw, lacnic);
	iw_whois_result_free(&r);
	assert_null(r.raw);
	iw_whois_result_free(&r);
	iw_whois_result_free(NULL);
}

static void
test_lookup_referral_loop_detected(void **state)
{
	static const char iana[] = "refer:        whois.arin.net\n";
	static const char arin[] = "NetRange: 198.51.100.0 - 198.51.100.255\n"
	    "ReferralServer:  whois://whois.iana.org\n";
	const char *const ans[] = { iana, arin };
	const char *const names[] = { "whois.iana.org", "whois.arin.net" };
	struct iw_whois_host h[2];
	char addr[2][32];
	struct iw_whois_conf c;
	struct iw_whois_result r;
	struct iw_err e;
	struct fake f;

	(void)state;
	fake_start(&f, ans, 2, 1);
	conf_for(&c, h, addr, names, f.port, 2);
	assert_int_equal(iw_whois_lookup(&c, "198.51.100.1", &r, &e), 0);
	fake_stop(&f);
	assert_int_equal(r.status, IW_WHOIS_NOCONTACT);
	assert_non_null(strstr(r.reason, "loop"));
	iw_whois_result_free(&r);
}

static void
test_lookup_referral_depth_limited(void **state)
{
	static const char iana[] = "refer:        whois.arin.net\n";
	static const char arin[] = "NetRange: 198.51.100.0 - 198.51.100.255\n"
	    "ReferralServer:  whois://whois.arin-mirror.example:4343\n";
	static const char mirror[] = "NetRange: 198.51.100.0 - "
	    "198.51.100.255\nOrgAbuseEmail: abuse@mirror.example\n";
	const char *const ans[] = { iana, arin, mirror };
	const char *const names[] = { "whois.iana.org", "whois.arin.net",
	    "whois.arin-mirror.example" };
	struct iw_whois_host h[3];
	char addr[3][32];
	struct iw_whois_conf c;
	struct iw_whois_result r;
	struct iw_err e;
	struct fake f;

	(void)state;
	fake_start(&f, ans, 3, 1);
	conf_for(&c, h, addr, names, f.port, 3);
	assert_int_equal(iw_whois_lookup(&c, "198.51.100.1", &r, &e), 0);
	assert_int_equal(r.status, IW_WHOIS_OK);
	assert_string_equal(r.email, "abuse@mirror.example");
	assert_string_equal(r.chain, "whois.iana.org > whois.arin.net > "
	    "whois.arin-mirror.example:4343");
	iw_whois_result_free(&r);
	c.max_referrals = 1;
	assert_int_equal(iw_whois_lookup(&c, "198.51.100.1", &r, &e), 0);
	fake_stop(&f);
	assert_int_equal(r.status, IW_WHOIS_NOCONTACT);
	assert_non_null(strstr(r.reason, "too many referrals"));
	iw_whois_result_free(&r);
}

static void
test_lookup_throttled_is_transient(void **state)
{
	static const char iana[] = "refer:        whois.ripe.net\n";
	static const char ripe[] = "%ERROR:201: access denied for 192.0.2.9\n";
	const char *const ans[] = { iana, ripe };
	const char *const names[] = { "whois.iana.org", "whois.ripe.net" };
	struct iw_whois_host h[2];
	char addr[2][32];
	struct iw_whois_conf c;
	struct iw_whois_result r;
	struct iw_err e;
	struct fake f;

	(void)state;
	fake_start(&f, ans, 2, 1);
	conf_for(&c, h, addr, names, f.port, 2);
	assert_int_equal(iw_whois_lookup(&c, "192.0.2.9", &r, &e), 0);
	fake_stop(&f);
	assert_int_equal(r.status, IW_WHOIS_TRANSIENT);
	assert_string_equal(r.server, "whois.ripe.net");
	assert_non_null(strstr(r.raw, "%ERROR:201"));
	iw_whois_result_free(&r);
}

static void
test_lookup_oversized_answer_is_transient(void **state)
{
	static const char line[] = "remarks: padding padding padding\n";
	const char *const ans[] = { line };
	const char *const names[] = { "whois.iana.org" };
	struct iw_whois_host h[1];
	char addr[1][32];
	struct iw_whois_conf c;
	struct iw_whois_result r;
	struct iw_err e;
	struct fake f;

	(void)state;
	fake_start(&f, ans, 1, 2000);
	conf_for(&c, h, addr, names, f.port, 1);
	c.max_answer = 4096;
	assert_int_equal(iw_whois_lookup(&c, "192.0.2.1", &r, &e), 0);
	fake_stop(&f);
	assert_int_equal(r.status, IW_WHOIS_TRANSIENT);
	assert_non_null(strstr(r.reason, "4096"));
	assert_true(r.raw_len <= 4096);
	iw_whois_result_free(&r);
}

static void
test_lookup_refused_is_transient(void **state)
{
	struct iw_whois_host h[1];
	const char *const names[] = { "whois.iana.org" };
	char addr[1][32];
	struct iw_whois_conf c;
	struct iw_whois_result r;
	struct iw_err e;
	int port, fd = listen_any(&port);

	(void)state;
	close(fd);	/* nobody listens there now */
	conf_for(&c, h, addr, names, &port, 1);
	assert_int_equal(iw_whois_lookup(&c, "192.0.2.1", &r, &e), 0);
	assert_int_equal(r.status, IW_WHOIS_TRANSIENT);
	assert_string_not_equal(r.reason, "");
	iw_whois_result_free(&r);
}

static void
test_lookup_silent_server_times_out(void **state)
{
	struct iw_whois_host h[1];
	const char *const names[] = { "whois.iana.org" };
	char addr[1][32];
	struct iw_whois_conf c;
	struct iw_whois_result r;
	struct iw_err e;
	int port, fd = listen_any(&port);	/* never accepts or answers */
	int64_t t0;

	(void)state;
	conf_for(&c, h, addr, names, &port, 1);
	c.timeout_ms = 300;
	t0 = iw_now_ms();
	assert_int_equal(iw_whois_lookup(&c, "2001:db8::1", &r, &e), 0);
	assert_true(iw_now_ms() - t0 < 3000);
	close(fd);
	assert_int_equal(r.status, IW_WHOIS_TRANSIENT);
	assert_non_null(strstr(r.reason, "timed out"));
	iw_whois_result_free(&r);
}

static void
test_lookup_rejects_bad_ip(void **state)
{
	struct iw_whois_conf c;
	struct iw_whois_result r;
	struct iw_err e;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.bootstrap = "whois.iana.org";
	assert_int_equal(iw_whois_lookup(&c, "192.0.2.1\r\nhelp", &r, &e), -1);
	assert_string_not_equal(e.msg, "");
	assert_null(r.raw);
}

static void
test_parent_handle_and_query(void **state)
{
	size_t len;
	char *a = load("arin-198.51.100.128.txt", &len), h[72], q[200];

	(void)state;
	/* The reassignment's parent, not the allocation's (NET198). */
	assert_int_equal(iw_whois_arin_parent("198.51.100.130", a, len, h,
	    sizeof(h)), 0);
	assert_string_equal(h, "NET-198-51-100-0-1");
	assert_int_equal(iw_whois_arin_parent("198.51.100.10", a, len, h,
	    sizeof(h)), 0);
	assert_string_equal(h, "NET-198-0-0-0-0");
	assert_int_equal(iw_whois_arin_parent("203.0.113.1", a, len, h,
	    sizeof(h)), -1);
	free(a);
	{
		static const char bad[] = "NetRange: 198.51.100.0 - "
		    "198.51.100.255\nParent: X (NET;rm -rf)\n";

		assert_int_equal(iw_whois_arin_parent("198.51.100.1", bad,
		    sizeof(bad) - 1, h, sizeof(h)), -1);
	}
	assert_int_equal(iw_whois_parent_query("192.0.2.64 - 192.0.2.127", q,
	    sizeof(q)), 0);
	assert_string_equal(q, "-r -l 192.0.2.64 - 192.0.2.127");
	assert_int_equal(iw_whois_parent_query("2001:db8:1::/48", q,
	    sizeof(q)), 0);
	assert_string_equal(q, "-r -l 2001:db8:1::/48");
	assert_int_equal(iw_whois_parent_query("192.0.2.0\r\n-i mnt-by X",
	    q, sizeof(q)), -1);
	assert_int_equal(iw_whois_parent_query("", q, sizeof(q)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_for_server_names),
		cmocka_unit_test(test_parent_handle_and_query),
		cmocka_unit_test(test_query_line_per_registry),
		cmocka_unit_test(test_iana_refer),
		cmocka_unit_test(test_iana_whois_line_when_no_refer),
		cmocka_unit_test(test_ripe_abuse_comment),
		cmocka_unit_test(test_ripe_ipv6_inet6num),
		cmocka_unit_test(test_ripe_abuse_c_role_object),
		cmocka_unit_test(test_ripe_irt_only_contact),
		cmocka_unit_test(test_ripe_no_abuse_contact_registered),
		cmocka_unit_test(test_ripe_most_specific_inetnum_wins),
		cmocka_unit_test(test_no_entries_found),
		cmocka_unit_test(test_invalid_mailbox_rejected),
		cmocka_unit_test(test_arin_most_specific_network_wins),
		cmocka_unit_test(test_arin_never_uses_tech_email),
		cmocka_unit_test(test_arin_customer_rabuse_email),
		cmocka_unit_test(test_arin_referral_server),
		cmocka_unit_test(test_arin_rwhois_referral_ignored),
		cmocka_unit_test(test_lacnic_abuse_handle),
		cmocka_unit_test(test_lacnic_short_inetnum),
		cmocka_unit_test(test_lacnic_without_abuse_c_has_no_contact),
		cmocka_unit_test(test_listing_query_per_registry),
		cmocka_unit_test(test_ripe_listing_assignments_inside_allocation),
		cmocka_unit_test(test_ripe_listing_inherited_abuse_contact),
		cmocka_unit_test(
		    test_ripe_listing_irt_only_network_has_no_listed_contact),
		cmocka_unit_test(test_ripe_listing_no_entries_is_complete),
		cmocka_unit_test(test_listing_unclear_or_throttled_is_not_complete),
		cmocka_unit_test(test_arin_listing_reallocation_inside_allocation),
		cmocka_unit_test(test_arin_listing_summary_lines),
		cmocka_unit_test(test_arin_listing_keeps_only_networks_inside),
		cmocka_unit_test(test_parse_listing_rejects_bad_arguments),
		cmocka_unit_test(test_leaf_status_per_registry),
		cmocka_unit_test(test_top_network_is_least_specific_shown),
		cmocka_unit_test(test_lacnic_short_form_handles_and_leaf),
		cmocka_unit_test(test_throttle_detected),
		cmocka_unit_test(test_crlf_and_nonutf8),
		cmocka_unit_test(test_every_truncation_is_safe),
		cmocka_unit_test(test_unknown_format_tries_all),
		cmocka_unit_test(test_parse_rejects_bad_arguments),
		cmocka_unit_test(test_lookup_follows_referrals),
		cmocka_unit_test(test_lookup_referral_loop_detected),
		cmocka_unit_test(test_lookup_referral_depth_limited),
		cmocka_unit_test(test_lookup_throttled_is_transient),
		cmocka_unit_test(test_lookup_oversized_answer_is_transient),
		cmocka_unit_test(test_lookup_refused_is_transient),
		cmocka_unit_test(test_lookup_silent_server_times_out),
		cmocka_unit_test(test_lookup_rejects_bad_ip),
		cmocka_unit_test(
		    test_referred_claim_of_everything_is_cut_to_the_delegation),
		cmocka_unit_test(
		    test_arin_referral_delegates_only_the_referring_network),
		cmocka_unit_test(
		    test_referral_without_delegation_is_good_for_this_ip_only),
		cmocka_unit_test(
		    test_referral_to_ip_literal_is_refused_and_recorded),
		cmocka_unit_test(
		    test_referral_to_other_port_than_43_is_refused),
		cmocka_unit_test(
		    test_referral_resolving_to_loopback_keeps_the_answer_so_far),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
