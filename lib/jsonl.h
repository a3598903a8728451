/*
 * jsonl: a bounded parser for one line of JSON lines input — one object
 * whose members are strings, numbers, true/false/null, or nested objects
 * and arrays (checked and stepped over, never kept).  It exists so that
 * `ipwarn enqueue --format jsonl` can read the members by name; it is not a
 * general JSON library.
 */
#ifndef IW_JSONL_H
#define IW_JSONL_H

#include <stddef.h>

#include "util.h"

#define IW_JSONL_DEPTH_MAX 32	/* nesting of a stepped-over value */

enum iw_jsonl_type {
	IW_JSONL_STRING,	/* value: the decoded UTF-8 bytes */
	IW_JSONL_NUMBER,	/* value: the number as written */
	IW_JSONL_LITERAL,	/* value: "true", "false", or "" for null */
	IW_JSONL_NESTED,	/* an object or array; value empty */
};

/* One member: name and value are bytes of the caller's store. */
struct iw_jsonl_member {
	size_t name_off, name_len;
	size_t val_off, val_len;
	enum iw_jsonl_type type;
};

/*
 * Parse buf[0..len) (not NUL-terminated; blanks around the object are
 * allowed) as one JSON object.  Decoded names and values go to store
 * (storesz >= len suffices: no decoded text is longer than its source).
 * At most maxm members are kept.  0 with *nm set, or -1 with the reason.
 */
int iw_jsonl_parse(const char *buf, size_t len, char *store, size_t storesz,
    struct iw_jsonl_member *m, size_t maxm, size_t *nm, struct iw_err *err);

#endif
