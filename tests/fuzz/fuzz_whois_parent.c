/* fuzz-sources: lib/util.c lib/whois_parse.c lib/whois_nir.c lib/whois_parent.c lib/whois.c lib/ratelimit.c lib/metrics.c */
/*
 * fuzz_whois_parent: libFuzzer target for the fallback chain's parsers of
 * outside text (lib/whois_parent.c): the ARIN "Parent:" handle of the
 * network holding an IP, and the RPSL "-r -l NETWORK" query built from
 * the network text a registry wrote.  Input from an exact-size heap copy,
 * so any read past the end shows; a handle found is a plain handle (A-Z,
 * a-z, 0-9, '-'), a query built holds only the network's safe characters
 * (never a line break that would start a second query).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "whois_parent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ips[] = { "198.51.100.130", "2001:db8::1" };
	char *buf = malloc(size ? size : 1), *net, h[72], q[200];

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		if (iw_whois_arin_parent(ips[i], buf, size, h, sizeof(h)) != 0)
			continue;
		if (h[0] == '\0')
			abort();
		for (const char *p = h; *p != '\0'; p++)
			if (!isalnum((unsigned char)*p) && *p != '-')
				abort();
	}
	/* The same bytes as a network text (NUL-terminated copy). */
	net = malloc(size + 1);
	if (net != NULL) {
		memcpy(net, data, size);
		net[size] = '\0';
		if (iw_whois_parent_query(net, q, sizeof(q)) == 0 &&
		    (strncmp(q, "-r -l ", 6) != 0 || strpbrk(q, "\r\n") != NULL))
			abort();
		free(net);
	}
	free(buf);
	return 0;
}
