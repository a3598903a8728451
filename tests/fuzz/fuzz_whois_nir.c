/* fuzz-sources: lib/util.c lib/whois_parse.c lib/whois_nir.c */
/*
 * fuzz_whois_nir: libFuzzer target for the national registries' side of
 * the WHOIS module: decoding an answer from each NIR's encoding (the
 * result, when converted, must be valid UTF-8), the JPNIC, KRNIC and TWNIC
 * parsers on the raw and the decoded bytes (whatever they return goes to
 * PostgreSQL: valid UTF-8), JPNIC's listing, which NIR an APNIC/LACNIC
 * answer points to, and the registry-domain match on the input as a
 * mailbox.  Every parse reads an exact-size heap copy.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "whois.h"
#include "whois_nir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
text_ok(const char *s)
{
	if (!iw_utf8_valid(s, strlen(s)))
		abort();
}

static void
parse_nirs(const char *buf, size_t size)
{
	static const char *const ips[] = { "210.130.1.77", "211.40.1.10",
	    "2001:db8:1::25" };
	static const enum iw_whois_format fmts[] = { IW_WHOIS_FMT_JPNIC,
	    IW_WHOIS_FMT_KRNIC, IW_WHOIS_FMT_TWNIC };
	struct iw_whois_parsed p;
	struct iw_whois_listing l;

	for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++)
		for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
			if (iw_whois_parse(fmts[f], ips[i], buf, size, &p) != 0)
				continue;
			text_ok(p.email);
			text_ok(p.source);
			text_ok(p.net_text);
			text_ok(p.reason);
		}
	if (iw_whois_parse_listing(IW_WHOIS_FMT_JPNIC, "210.130.0.0",
	    "210.130.255.255", buf, size, &l) == 0) {
		for (size_t i = 0; i < l.n; i++)
			text_ok(l.nets[i].text);
		iw_whois_listing_free(&l);
	}
	(void)iw_whois_nir_detect("whois.apnic.net", ips[0], buf, size);
	(void)iw_whois_nir_detect("whois.lacnic.net", ips[2], buf, size);
}

static void
decode_each(const uint8_t *data, size_t size)
{
	static const char *const servers[] = { "whois.nic.ad.jp",
	    "whois.kisa.or.kr", "whois.twnic.net.tw", "whois.cnnic.cn" };

	for (size_t s = 0; s < sizeof(servers) / sizeof(servers[0]); s++) {
		struct iw_buf b = IW_BUF_INIT;
		char *copy;
		int dec = 0;

		if (iw_buf_append(&b, data, size) != 0 ||
		    iw_whois_nir_decode(servers[s], &b, &dec) != 0) {
			iw_buf_free(&b);
			continue;
		}
		if (dec && !iw_utf8_valid(b.data ? b.data : "", b.len))
			abort();
		if ((copy = malloc(b.len ? b.len : 1)) != NULL) {
			if (b.len > 0)
				memcpy(copy, b.data, b.len);
			parse_nirs(copy, b.len);
			free(copy);
		}
		iw_buf_free(&b);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);

	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	parse_nirs(buf, size);
	buf[size] = '\0';
	(void)iw_whois_registry_run(NULL, buf, NULL, 0);
	free(buf);
	decode_each(data, size);
	return 0;
}
