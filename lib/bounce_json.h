/*
 * bounce_json: the `bounce --dry-run` JSON object of a parsed bounce
 * (CONTRACT.md), and the JSON string escaping the bounce records use.
 */
#ifndef IW_BOUNCE_JSON_H
#define IW_BOUNCE_JSON_H

#include "bounce.h"
#include "util.h"

/*
 * Append to out:
 * {"verified": bool, "letter": id|null, "class": "...", "reason": "...",
 * "recipients": [{"address", "action", "status", "reason",
 * "diagnostic"}]}.  Every string is escaped and made valid UTF-8 (invalid
 * bytes become U+FFFD).  letter_id <= 0 prints null.  0, or -1 when out of
 * memory.
 */
int iw_bounce_json(const struct iw_bounce *b, int verified,
    long long letter_id, struct iw_buf *out);

#endif
