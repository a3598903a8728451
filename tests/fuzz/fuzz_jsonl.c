/* fuzz-sources: lib/util.c lib/jsonl.c */
/*
 * libFuzzer target for the JSON line parser: any bytes give either members
 * whose names and values lie inside the store, or a printable reason; it
 * never reads outside the line or writes outside the store.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iw_jsonl_member m[8];
	struct iw_err err;
	size_t nm = 0, storesz = size;
	char *copy = malloc(size ? size : 1);
	char *store = malloc(storesz ? storesz : 1);

	if (copy == NULL || store == NULL)
		abort();
	if (size > 0)
		memcpy(copy, data, size);
	err.msg[0] = '\0';
	if (iw_jsonl_parse(copy, size, store, storesz, m, 8, &nm, &err) == 0) {
		if (nm > 8)
			abort();
		for (size_t i = 0; i < nm; i++)
			if (m[i].name_off + m[i].name_len > storesz ||
			    m[i].val_off + m[i].val_len > storesz ||
			    (m[i].type == IW_JSONL_NESTED && m[i].val_len))
				abort();
	} else {
		if (nm != 0 || err.msg[0] == '\0')
			abort();
		for (const char *p = err.msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
	}
	free(store);
	free(copy);
	return 0;
}
