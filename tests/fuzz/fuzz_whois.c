/* fuzz-sources: lib/util.c lib/whois.c lib/ratelimit.c */
/*
 * fuzz_whois: libFuzzer target for the WHOIS answer parsers.  Every input
 * is parsed as an answer of each registry format, for an IPv4 and an IPv6
 * address, from an exact-size heap copy so any read past the end shows.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "whois.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ips[] = { "192.0.2.200", "198.51.100.70",
	    "2001:db8:1::25" };
	struct iw_whois_parsed p;
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	for (int fmt = 0; fmt <= IW_WHOIS_FMT_UNKNOWN; fmt++)
		for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
			(void)iw_whois_parse((enum iw_whois_format)fmt, ips[i],
			    buf, size, &p);
	free(buf);
	return 0;
}
