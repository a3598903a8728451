/*
 * verp: signs and verifies the per-letter return path.  The token is
 * "<letter id>.<mac>", where mac is the first 64 bits of
 * HMAC-SHA256(verp_secret, decimal id) in 13 lower-case base32 characters:
 * short enough to fit a 64-octet local part, case-insensitive so that MTAs
 * that fold local parts keep it valid, and unforgeable, so that a forged
 * bounce cannot mark someone else's letter as bounced.
 */
#include "verp.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define MAC_BYTES	8
#define MAC_CHARS	13	/* ceil(64 / 5) */
#define ID_DIGITS_MAX	19	/* INT64_MAX */

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

/*
 * A context keyed with the secret, kept for the next letters: OpenSSL's
 * one-shot HMAC() looks the algorithm up and keys it anew each time, which
 * cost an eighth of composing a letter.  Each MAC works on a copy; the
 * lock covers the copy and a change of secret (a reload).
 */
static pthread_mutex_t mac_lock = PTHREAD_MUTEX_INITIALIZER;
static EVP_MAC *mac_alg;
static EVP_MAC_CTX *mac_keyed;
static char *mac_secret;

static EVP_MAC_CTX *
keyed_copy(const char *secret, size_t klen)
{
	EVP_MAC_CTX *c = NULL;

	pthread_mutex_lock(&mac_lock);
	if (mac_secret == NULL || strcmp(mac_secret, secret) != 0) {
		char digest[] = "SHA256";
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
			    digest, 0),
			OSSL_PARAM_construct_end()
		};
		EVP_MAC_CTX *k;
		char *dup = strdup(secret);

		if (mac_alg == NULL)
			mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
		k = mac_alg != NULL ? EVP_MAC_CTX_new(mac_alg) : NULL;
		if (dup == NULL || k == NULL || EVP_MAC_init(k,
		    (const unsigned char *)secret, klen, params) != 1) {
			free(dup);
			EVP_MAC_CTX_free(k);
			goto out;
		}
		EVP_MAC_CTX_free(mac_keyed);
		free(mac_secret);
		mac_keyed = k;
		mac_secret = dup;
	}
	c = EVP_MAC_CTX_dup(mac_keyed);
out:
	pthread_mutex_unlock(&mac_lock);
	return c;
}

/* The 13-character MAC of id under secret into mac (no NUL). */
static int
verp_mac(const char *secret, const char *id, char mac[MAC_CHARS])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;
	uint64_t v = 0;
	size_t klen = strlen(secret);
	EVP_MAC_CTX *c;
	int ok;

	if (klen == 0 || klen > INT32_MAX)
		return -1;
	if ((c = keyed_copy(secret, klen)) == NULL)
		return -1;
	ok = EVP_MAC_update(c, (const unsigned char *)id, strlen(id)) == 1 &&
	    EVP_MAC_final(c, md, &mdlen, sizeof(md)) == 1;
	EVP_MAC_CTX_free(c);
	if (!ok || mdlen < MAC_BYTES)
		return -1;
	for (int i = 0; i < MAC_BYTES; i++)
		v = (v << 8) | md[i];
	/* 64 bits padded with one zero bit to 65 = 13 * 5, big-endian. */
	for (int i = 0; i < MAC_CHARS; i++) {
		int shift = 65 - 5 * (i + 1);
		unsigned idx = shift >= 1 ? (unsigned)(v >> (shift - 1)) & 31 :
		    (unsigned)(v << 1) & 31;

		mac[i] = b32[idx];
	}
	return 0;
}

int
iw_verp_token(const char *secret, int64_t letter_id, char *out,
    size_t outsz)
{
	char id[ID_DIGITS_MAX + 2], mac[MAC_CHARS];
	int n;

	if (secret == NULL || letter_id < 0)
		return -1;
	snprintf(id, sizeof(id), "%" PRId64, letter_id);
	if (verp_mac(secret, id, mac) != 0)
		return -1;
	n = snprintf(out, outsz, "%s.%.*s", id, MAC_CHARS, mac);
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	return 0;
}

int
iw_verp_address(const char *return_path, const char *token, char *out,
    size_t outsz, struct iw_err *err)
{
	char rp[IW_VERP_MAX], res[IW_VERP_MAX];
	const char *at;
	int n;

	if (return_path == NULL || iw_mailbox_normalize(return_path,
	    strlen(return_path), rp, sizeof(rp), err) != 0) {
		iw_err_prefix(err, "return path");
		return -1;
	}
	at = strchr(rp, '@');
	if (memchr(rp, '+', (size_t)(at - rp)) != NULL) {
		iw_err_set(err, "return path: local part of '%s' already "
		    "contains '+', which VERP needs as its delimiter", rp);
		return -1;
	}
	n = snprintf(res, sizeof(res), "%.*s+%s%s", (int)(at - rp), rp, token,
	    at);
	/* Re-check: the token may push the local part past 64 octets. */
	if (n < 0 || (size_t)n >= sizeof(res) ||
	    iw_mailbox_normalize(res, (size_t)n, out, outsz, err) != 0) {
		iw_err_prefix(err, "VERP address for '%s'", rp);
		return -1;
	}
	return 0;
}

int
iw_verp_encode(const char *return_path, const char *secret,
    int64_t letter_id, char *out, size_t outsz, struct iw_err *err)
{
	char tok[64];

	if (secret == NULL || secret[0] == '\0') {
		iw_err_set(err, "verp_secret is empty");
		return -1;
	}
	if (iw_verp_token(secret, letter_id, tok, sizeof(tok)) != 0) {
		iw_err_set(err, "cannot sign VERP token for letter %" PRId64,
		    letter_id);
		return -1;
	}
	return iw_verp_address(return_path, tok, out, outsz, err);
}

/* Verify one candidate token s[0..n): "<id>.<13 base32>", any case. */
static int
verify_token(const char *s, size_t n, const char *secret, int64_t *letter_id)
{
	char id[ID_DIGITS_MAX + 2], mac[MAC_CHARS], got[MAC_CHARS];
	size_t d = 0;
	uint64_t v = 0;

	while (d < n && isdigit((unsigned char)s[d]))
		d++;
	if (d == 0 || d > ID_DIGITS_MAX || (d > 1 && s[0] == '0') ||
	    n != d + 1 + MAC_CHARS || s[d] != '.')
		return 0;
	for (size_t i = 0; i < d; i++) {
		uint64_t dig = (uint64_t)(s[i] - '0');

		if (v > ((uint64_t)INT64_MAX - dig) / 10)
			return 0;
		v = v * 10 + dig;
	}
	memcpy(id, s, d);
	id[d] = '\0';
	for (size_t i = 0; i < MAC_CHARS; i++)
		got[i] = (char)tolower((unsigned char)s[d + 1 + i]);
	if (verp_mac(secret, id, mac) != 0)
		return 0;
	if (CRYPTO_memcmp(mac, got, MAC_CHARS) != 0)
		return 0;
	*letter_id = (int64_t)v;
	return 1;
}

int
iw_verp_decode(const char *addr, size_t len, const char *secret,
    int64_t *letter_id)
{
	const char *at;
	size_t loc;

	if (addr == NULL || secret == NULL || secret[0] == '\0')
		return 0;
	iw_trim(&addr, &len);
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr++;
		len -= 2;
	}
	if (len == 0 || len > IW_VERP_MAX)
		return 0;
	at = memchr(addr, '@', len);
	if (at == NULL)	/* the bare token, as in a DSN ENVID */
		return verify_token(addr, len, secret, letter_id);
	loc = (size_t)(at - addr);
	/* Try each '+'-delimited piece of the local part. */
	for (size_t i = 0; i < loc; i++) {
		size_t j;

		if (addr[i] != '+')
			continue;
		for (j = i + 1; j < loc && addr[j] != '+'; j++)
			;
		if (verify_token(addr + i + 1, j - i - 1, secret, letter_id))
			return 1;
	}
	return 0;
}
