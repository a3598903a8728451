/*
 * Unit tests of the national registries (lib/whois_nir.c) and of
 * inheritance in RPSL answers: the NIR answers of
 * tests/fixtures/whois/nir, as the wire carries them (ISO-2022-JP,
 * EUC-KR, Big5, GB2312), decoded and parsed; which NIR an APNIC or LACNIC
 * answer points to; registry-run addresses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "whois.h"
#include "whois_nir.h"
#include "whois_parse.h"

/* The fixture's bytes, decoded as the client decodes server's answer. */
static void
load(const char *name, const char *server, struct iw_buf *b)
{
	const char *dir = getenv("IW_SRCDIR");
	char path[1024], chunk[4096];
	size_t n;
	int dec = 0, l1 = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/fixtures/whois/nir/%s",
	    dir ? dir : ".", name);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open fixture %s", path);
	*b = (struct iw_buf)IW_BUF_INIT;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(iw_buf_append(b, chunk, n), 0);
	fclose(f);
	if (server != NULL) {
		assert_int_equal(iw_whois_nir_decode(server, b, &dec), 0);
		assert_int_equal(iw_text_to_utf8(b, &l1), 0);
	}
}

static void
parse(const char *name, const char *server, const char *ip,
    struct iw_whois_parsed *p)
{
	struct iw_buf b;

	load(name, server, &b);
	assert_int_equal(iw_whois_parse(iw_whois_format_for(server), ip,
	    b.data, b.len, p), 0);
	iw_buf_free(&b);
}

static void
expect(const char *name, const char *server, const char *ip,
    const char *email, const char *source)
{
	struct iw_whois_parsed p;

	parse(name, server, ip, &p);
	if (strcmp(p.email, email) != 0 || strcmp(p.source, source) != 0)
		fail_msg("%s %s: got '%s' from '%s' (reason: %s), want '%s' "
		    "from '%s'", name, ip, p.email, p.source, p.reason, email,
		    source);
}

static int
holds(const struct iw_buf *b, const char *text)
{
	size_t n = strlen(text);

	for (size_t i = 0; i + n <= b->len; i++)
		if (memcmp(b->data + i, text, n) == 0)
			return 1;
	return 0;
}

static void
decoded_holds(const char *name, const char *server, const char *text)
{
	struct iw_buf b;
	int dec = 0;

	load(name, NULL, &b);
	assert_false(holds(&b, text));
	assert_int_equal(iw_whois_nir_decode(server, &b, &dec), 0);
	assert_int_equal(dec, 1);
	assert_true(iw_utf8_valid(b.data, b.len));
	if (!holds(&b, text))
		fail_msg("%s decoded from %s lacks '%s'", name, server, text);
	iw_buf_free(&b);
}

/* ---------- decoding ---------- */

static void
test_each_registry_encoding_is_decoded(void **state)
{
	(void)state;
	decoded_holds("jpnic-210.130.1.0.txt", "whois.nic.ad.jp",
	    "株式会社顧客");
	decoded_holds("krnic-211.40.1.0.txt", "whois.kisa.or.kr",
	    "예제통신 주식회사");
	decoded_holds("twnic-61.220.5.0.txt", "whois.twnic.net.tw", "王小明");
	decoded_holds("cnnic-202.112.8.0.txt", "whois.cnnic.cn",
	    "示例大学网络中心");
}

static void
test_utf8_and_unknown_servers_are_left_alone(void **state)
{
	struct iw_buf b = IW_BUF_INIT;
	int dec = 1;

	(void)state;
	assert_int_equal(iw_buf_puts(&b, "Netblock: 61.220.5.0/24 \xc3\xa9"),
	    0);
	assert_int_equal(iw_whois_nir_decode("whois.twnic.net.tw", &b, &dec),
	    0);
	assert_int_equal(dec, 0);
	assert_int_equal(iw_whois_nir_decode("whois.ripe.net", &b, &dec), 0);
	assert_int_equal(dec, 0);
	/* Not Big5 at all: left for the Latin-1 fallback. */
	iw_buf_reset(&b);
	assert_int_equal(iw_buf_append(&b, "\xff\xff\xff", 3), 0);
	assert_int_equal(iw_whois_nir_decode("whois.twnic.net.tw", &b, &dec),
	    0);
	assert_int_equal(dec, 0);
	assert_int_equal(b.len, 3);
	iw_buf_free(&b);
}

/* ---------- the NIRs' formats ---------- */

static void
test_jpnic_english_answer(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	expect("jpnic-210.130.1.0.txt", "whois.nic.ad.jp", "210.130.1.77",
	    "abuse@cust-jp.example", "JPNIC [Abuse]");
	parse("jpnic-210.130.1.0.txt", "whois.nic.ad.jp", "210.130.1.77", &p);
	assert_string_equal(p.net_first, "210.130.1.0");
	assert_string_equal(p.net_last, "210.130.1.255");
	assert_string_equal(p.top_first, "210.130.0.0");	/* less specific */
	assert_string_equal(p.top_last, "210.130.255.255");
	assert_int_equal(p.leaf, 1);	/* More Specific Info.: No match!! */
	parse("jpnic-210.130.0.0.txt", "whois.nic.ad.jp", "210.130.9.9", &p);
	assert_string_equal(p.email, "noc-abuse@isp-jp.example");
	assert_int_equal(p.leaf, 0);
	parse("jpnic-210.130.2.0.txt", "whois.nic.ad.jp", "210.130.2.5", &p);
	assert_string_equal(p.email, "");
	assert_non_null(strstr(p.reason, "JPNIC names no abuse contact"));
	assert_string_equal(p.net_first, "210.130.2.0");
	/* Outside the network JPNIC answered with: no network. */
	parse("jpnic-210.130.1.0.txt", "whois.nic.ad.jp", "210.131.0.1", &p);
	assert_string_equal(p.email, "");
	assert_string_equal(p.net_first, "");
}

static void
test_jpnic_query_and_listing(void **state)
{
	struct iw_whois_listing l;
	struct iw_buf b;
	char q[64];

	(void)state;
	assert_int_equal(iw_whois_nir_query_line(iw_whois_nir_by_server(
	    "whois.nic.ad.jp"), "210.130.1.77", q, sizeof(q)), 0);
	assert_string_equal(q, "210.130.1.77/e");
	assert_int_equal(iw_whois_listing_query(IW_WHOIS_FMT_JPNIC,
	    "210.130.0.0", "210.130.255.255", q, sizeof(q)), 0);
	assert_string_equal(q, "210.130.0.0/16/e");
	load("jpnic-210.130.0.0.txt", "whois.nic.ad.jp", &b);
	assert_int_equal(iw_whois_parse_listing(IW_WHOIS_FMT_JPNIC,
	    "210.130.0.0", "210.130.255.255", b.data, b.len, &l), 0);
	assert_int_equal(l.status, IW_WHOIS_OK);
	assert_int_equal(l.complete, 1);
	assert_int_equal(l.n, 3);
	for (size_t i = 0; i < l.n; i++) {
		const struct iw_whois_subnet *s = &l.nets[i];

		if (strcmp(s->first, "210.130.0.0") == 0) {
			assert_int_equal(s->has_contact, 1);
			assert_string_equal(s->email,
			    "noc-abuse@isp-jp.example");
		} else
			assert_int_equal(s->has_contact, 0);
	}
	iw_whois_listing_free(&l);
	iw_buf_free(&b);
	/* An answer without "More Specific Info." lists nothing for sure. */
	assert_int_equal(iw_whois_parse_listing(IW_WHOIS_FMT_JPNIC,
	    "210.130.0.0", "210.130.255.255",
	    "a. [Network Number] 210.130.0.0/16\n", 35, &l), 0);
	assert_int_equal(l.complete, 0);
	iw_whois_listing_free(&l);
}

static void
test_krnic_english_half_and_inheritance(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	/* The customer network has a technical contact only; the ISP's
	 * block around it names an abuse contact, which wins. */
	expect("krnic-211.40.1.0.txt", "whois.kisa.or.kr", "211.40.1.10",
	    "abuse@isp-kr.example",
	    "inherited from 211.40.0.0/15: KRNIC abuse contact");
	parse("krnic-211.40.1.0.txt", "whois.kisa.or.kr", "211.40.1.10", &p);
	assert_string_equal(p.net_first, "211.40.1.0");
	assert_string_equal(p.net_last, "211.40.1.63");
	assert_string_equal(p.top_first, "211.40.0.0");
	assert_int_equal(p.leaf, 1);	/* Network Type: CUSTOMER */
	expect("krnic-211.40.1.0.txt", "whois.kisa.or.kr", "211.41.0.1",
	    "abuse@isp-kr.example", "KRNIC abuse contact");
}

static void
test_krnic_technical_contact_only_when_no_abuse_contact(void **state)
{
	static const char ans[] =
	    "[ Network Information ]\n"
	    "IPv4 Address       : 211.40.1.0 - 211.40.1.63 (/26)\n"
	    "[ Technical Contact Information ]\n"
	    "E-Mail             : ip-manager@cust-kr.example\n";
	struct iw_whois_parsed p;
	struct iw_whois_net ip;

	(void)state;
	assert_int_equal(iw_whois_addr_parse("211.40.1.5", 10, &ip), 0);
	assert_int_equal(iw_whois_parse_krnic(&ip, "211.40.1.5", ans,
	    sizeof(ans) - 1, &p), 0);
	assert_string_equal(p.email, "ip-manager@cust-kr.example");
	assert_string_equal(p.source, "KRNIC technical contact");
}

static void
test_twnic_contact_blocks(void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	expect("twnic-61.220.5.0.txt", "whois.twnic.net.tw", "61.220.5.20",
	    "abuse@cust-tw.example", "TWNIC abuse contact");
	parse("twnic-61.220.5.0.txt", "whois.twnic.net.tw", "61.220.5.20", &p);
	assert_string_equal(p.net_text, "61.220.5.0/24");
}

static void
test_cnnic_answers_in_rpsl(void **state)
{
	(void)state;
	expect("cnnic-202.112.8.0.txt", "whois.cnnic.cn", "202.112.8.30",
	    "abuse@univ-cn.example", "abuse contact comment");
}

static void
test_registro_br_and_nic_mexico_answer_like_lacnic(void **state)
{
	(void)state;
	expect("registro-200.160.4.0.txt", "whois.registro.br", "200.160.5.1",
	    "abuse@telecom-br.example", "abuse-c EXT2 e-mail");
	expect("nicmx-200.94.16.0.txt", "whois.nic.mx", "200.94.17.3",
	    "abuse@cable-mx.example", "abuse-c CAE2 e-mail");
}

/* ---------- inheritance in RPSL ---------- */

static void
test_apnic_nir_copy_inherits_the_enclosing_allocations_contact(
    void **state)
{
	struct iw_whois_parsed p;

	(void)state;
	expect("apnic-218.166.97.0.txt", "whois.apnic.net", "218.166.97.42",
	    "hinet-abuse@hinet.example",
	    "inherited from 218.160.0.0/12: abuse contact comment");
	parse("apnic-218.166.97.0.txt", "whois.apnic.net", "218.166.97.42",
	    &p);
	/* The network stays the most specific one. */
	assert_string_equal(p.net_first, "218.166.97.0");
	assert_string_equal(p.net_last, "218.166.97.255");
}

static void
test_inheritance_never_crosses_a_registry_boundary(void **state)
{
	struct iw_buf b;
	struct iw_whois_parsed p;
	char *s;

	(void)state;
	load("apnic-218.166.97.0.txt", NULL, &b);
	assert_int_equal(iw_buf_putc(&b, '\0'), 0);
	/* The enclosing object comes first; make it another registry's. */
	s = strstr(b.data, "source:         APNIC");
	assert_non_null(s);
	memcpy(s + 16, "JPNIC", 5);
	assert_int_equal(iw_whois_parse(IW_WHOIS_FMT_RIPE, "218.166.97.42",
	    b.data, b.len - 1, &p), 0);
	assert_string_equal(p.email, "");
	assert_non_null(strstr(p.reason, "no abuse contact registered"));
	iw_buf_free(&b);
}

static void
test_irt_handle_is_inherited_from_the_enclosing_network(void **state)
{
	static const char ans[] =
	    "inetnum:  218.160.0.0 - 218.175.255.255\n"
	    "mnt-irt:  IRT-HINET-TW\nsource:   APNIC\n\n"
	    "inetnum:  218.166.97.0 - 218.166.97.255\nsource:   APNIC\n";
	char h[64], from[64];

	(void)state;
	assert_int_equal(iw_whois_irt_handle("218.166.97.42", ans,
	    sizeof(ans) - 1, h, sizeof(h), from, sizeof(from)), 0);
	assert_string_equal(h, "IRT-HINET-TW");
	assert_string_equal(from, "218.160.0.0/12");
	assert_int_equal(iw_whois_irt_handle("218.161.0.1", ans,
	    sizeof(ans) - 1, h, sizeof(h), from, sizeof(from)), 0);
	assert_string_equal(from, "");
}

/* ---------- which NIR ---------- */

static void
expect_nir(const char *file, const char *rir, const char *ip,
    const char *name)
{
	const struct iw_whois_nir *nir;
	struct iw_buf b;

	load(file, NULL, &b);
	nir = iw_whois_nir_detect(rir, ip, b.data, b.len);
	iw_buf_free(&b);
	if (name == NULL && nir != NULL)
		fail_msg("%s: %s detected, none expected", file, nir->name);
	if (name != NULL && (nir == NULL || strcmp(nir->name, name) != 0))
		fail_msg("%s: %s detected, %s expected", file,
		    nir ? nir->name : "none", name);
}

static void
test_rir_answers_pointing_to_a_national_registry(void **state)
{
	(void)state;
	expect_nir("apnic-jpnic.txt", "whois.apnic.net", "210.130.1.77",
	    "JPNIC");
	expect_nir("apnic-krnic.txt", "whois.apnic.net", "211.40.1.10",
	    "KRNIC");
	expect_nir("apnic-twnic.txt", "whois.apnic.net", "61.220.5.20",
	    "TWNIC");
	expect_nir("apnic-cnnic.txt", "whois.apnic.net", "202.112.8.30",
	    "CNNIC");
	expect_nir("lacnic-200.160.0.0.txt", "whois.lacnic.net",
	    "200.160.5.1", "NIC.br");
	expect_nir("lacnic-200.94.0.0.txt", "whois.lacnic.net", "200.94.17.3",
	    "NIC Mexico");
	/* Only from the NIR's own RIR; not for space the answer lacks. */
	expect_nir("apnic-jpnic.txt", "whois.ripe.net", "210.130.1.77", NULL);
	expect_nir("lacnic-200.160.0.0.txt", "whois.apnic.net",
	    "200.160.5.1", NULL);
	expect_nir("apnic-jpnic.txt", "whois.apnic.net", "211.1.1.1", NULL);
	expect_nir("apnic-helpdesk.txt", "whois.apnic.net", "61.9.1.1", NULL);
}

/* ---------- registry-run addresses ---------- */

static void
test_registry_domains_match_the_domain_and_below(void **state)
{
	static const char *const d[] = { "nic.ad.jp", "apnic.net" };
	char dom[64];

	(void)state;
	assert_int_equal(iw_whois_registry_address(d, 2,
	    "hostmaster@nic.ad.jp", dom, sizeof(dom)), 1);
	assert_string_equal(dom, "nic.ad.jp");
	assert_int_equal(iw_whois_registry_address(d, 2,
	    "irt@Sub.APNIC.net", dom, sizeof(dom)), 1);
	assert_string_equal(dom, "apnic.net");
	assert_int_equal(iw_whois_registry_address(d, 2, "abuse@notapnic.net",
	    NULL, 0), 0);
	assert_int_equal(iw_whois_registry_address(d, 2,
	    "abuse@apnic.net.example", NULL, 0), 0);
	assert_int_equal(iw_whois_registry_address(d, 2, "no-at-sign", NULL,
	    0), 0);
	/* The defaults when the configuration names none. */
	assert_int_equal(iw_whois_registry_run(NULL, "hm@twnic.net.tw", NULL,
	    0), 1);
	assert_int_equal(iw_whois_registry_run(NULL, "abuse@hinet.example",
	    NULL, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_registry_encoding_is_decoded),
		cmocka_unit_test(test_utf8_and_unknown_servers_are_left_alone),
		cmocka_unit_test(test_jpnic_english_answer),
		cmocka_unit_test(test_jpnic_query_and_listing),
		cmocka_unit_test(test_krnic_english_half_and_inheritance),
		cmocka_unit_test(
		    test_krnic_technical_contact_only_when_no_abuse_contact),
		cmocka_unit_test(test_twnic_contact_blocks),
		cmocka_unit_test(test_cnnic_answers_in_rpsl),
		cmocka_unit_test(
		    test_registro_br_and_nic_mexico_answer_like_lacnic),
		cmocka_unit_test(
		    test_apnic_nir_copy_inherits_the_enclosing_allocations_contact),
		cmocka_unit_test(
		    test_inheritance_never_crosses_a_registry_boundary),
		cmocka_unit_test(
		    test_irt_handle_is_inherited_from_the_enclosing_network),
		cmocka_unit_test(
		    test_rir_answers_pointing_to_a_national_registry),
		cmocka_unit_test(
		    test_registry_domains_match_the_domain_and_below),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
