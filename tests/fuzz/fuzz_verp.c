/* fuzz-sources: lib/util.c lib/verp.c */
/*
 * libFuzzer target for iw_verp_decode: bounce addresses are outside text.
 * A token must only verify when it is the one iw_verp_token made.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char secret[] = "fuzz-secret-0123456789";
	char tok[64];
	int64_t id = -1;

	if (iw_verp_decode((const char *)data, size, secret, &id) == 1) {
		/* Whatever was found must be the token of that id. */
		if (id < 0 || iw_verp_token(secret, id, tok, sizeof(tok)) < 0)
			abort();
		if (size < strlen(tok))
			abort();
	}
	return 0;
}
