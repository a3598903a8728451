/* fuzz-sources: lib/util.c lib/whois_parse.c lib/whois_nir.c */
/*
 * fuzz_whois_listing: libFuzzer target for the more-specific listing
 * parser (RIPE "-r -M", ARIN "n + > CIDR").  Every input is parsed as a
 * listing of each format for an IPv4 and an IPv6 range, from an exact-size
 * heap copy so any read past the end shows; every network returned must
 * lie inside the range asked for.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "whois.h"

static void
inside(const char *first, const char *last, const struct iw_whois_subnet *s,
    int af)
{
	unsigned char a[16], b[16], x[16], y[16];
	size_t n = af == AF_INET ? 4 : 16;

	if (inet_pton(af, first, a) != 1 || inet_pton(af, last, b) != 1 ||
	    inet_pton(af, s->first, x) != 1 || inet_pton(af, s->last, y) != 1 ||
	    memcmp(x, a, n) < 0 || memcmp(y, b, n) > 0 || memcmp(x, y, n) > 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		enum iw_whois_format fmt;
		const char *first, *last;
		int af;
	} q[] = {
		{ IW_WHOIS_FMT_RIPE, "192.0.2.0", "192.0.2.255", AF_INET },
		{ IW_WHOIS_FMT_RIPE, "2001:db8::", "2001:db8:ffff:ffff:ffff:"
		    "ffff:ffff:ffff", AF_INET6 },
		{ IW_WHOIS_FMT_ARIN, "198.18.0.0", "198.19.255.255", AF_INET },
		{ IW_WHOIS_FMT_ARIN, "2001:db8::", "2001:db8:ffff:ffff:ffff:"
		    "ffff:ffff:ffff", AF_INET6 },
		{ IW_WHOIS_FMT_LACNIC, "198.19.0.0", "198.19.255.255",
		    AF_INET },
	};
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		struct iw_whois_listing l;

		if (iw_whois_parse_listing(q[i].fmt, q[i].first, q[i].last,
		    buf, size, &l) != 0)
			continue;
		if (l.n > IW_WHOIS_LISTING_MAX)
			abort();
		for (size_t j = 0; j < l.n; j++)
			inside(q[i].first, q[i].last, &l.nets[j], q[i].af);
		iw_whois_listing_free(&l);
	}
	free(buf);
	return 0;
}
