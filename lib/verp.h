/*
 * verp: the per-letter return path local+TOKEN@domain.  TOKEN carries the
 * letter id and a truncated HMAC-SHA256 under sender.verp_secret, in lower
 * case base32 so that MTAs that fold the case of local parts keep it valid.
 * A bounce whose token does not verify must not change any state.
 */
#ifndef IW_VERP_H
#define IW_VERP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define IW_VERP_MAX 256

/* return_path "bounces@example.org" -> "bounces+TOKEN@example.org". */
int iw_verp_encode(const char *return_path, const char *secret,
    int64_t letter_id, char *out, size_t outsz, struct iw_err *err);

/* return_path with a token made by iw_verp_token() (one MAC for both the
 * envelope sender and the DSN ENVID of a letter). */
int iw_verp_address(const char *return_path, const char *token, char *out,
    size_t outsz, struct iw_err *err);

/* The token alone ("12.abcdefghijklm"), e.g. for the DSN ENVID. */
int iw_verp_token(const char *secret, int64_t letter_id, char *out,
    size_t outsz);

/*
 * Find and verify a token in an address (any case; the '+' delimiter; a
 * bare token, as in a DSN ENVID, also works).  Returns 1 and the letter id
 * when it verifies, 0 when there is no token or it does not verify.
 */
int iw_verp_decode(const char *addr, size_t len, const char *secret,
    int64_t *letter_id);

#endif
