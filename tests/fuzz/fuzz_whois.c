/* fuzz-sources: lib/util.c lib/whois_parse.c lib/whois_nir.c */
/*
 * fuzz_whois: libFuzzer target for the WHOIS answer parsers.  Every input
 * is parsed as an answer of each registry format, for an IPv4 and an IPv6
 * address, from an exact-size heap copy so any read past the end shows;
 * then decoded as the client decodes answers (iw_text_to_utf8), which must
 * give valid UTF-8 without NUL, and parsed again as the client parses it.
 * Whatever a parse returns (network, delegation, reason) must be valid
 * UTF-8 too: it goes to PostgreSQL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "whois.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
text_ok(const char *s)
{
	if (!iw_utf8_valid(s, strlen(s)))
		abort();
}

static void
parse_all(const char *buf, size_t size)
{
	static const char *const ips[] = { "192.0.2.200", "198.51.100.70",
	    "2001:db8:1::25" };
	struct iw_whois_parsed p;

	for (int fmt = 0; fmt <= IW_WHOIS_FMT_UNKNOWN; fmt++)
		for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
			if (iw_whois_parse((enum iw_whois_format)fmt, ips[i],
			    buf, size, &p) != 0)
				continue;
			text_ok(p.referral);
			text_ok(p.email);
			text_ok(p.source);
			text_ok(p.net_text);
			text_ok(p.deleg_first);
			text_ok(p.reason);
		}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iw_buf b = IW_BUF_INIT;
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	parse_all(buf, size);
	free(buf);
	if (iw_buf_append(&b, data, size) != 0)
		return 0;
	if (iw_text_to_utf8(&b, NULL) == 0) {
		if (!iw_utf8_valid(b.data ? b.data : "", b.len) ||
		    (b.len > 0 && memchr(b.data, '\0', b.len) != NULL))
			abort();
		parse_all(b.data ? b.data : "", b.len);
	}
	iw_buf_free(&b);
	return 0;
}
