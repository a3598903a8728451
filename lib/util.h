/*
 * util: small shared helpers every module uses — the error carrier
 * (struct iw_err), a growable byte buffer, bounded string copies, UTF-8 and
 * RFC 5321 mailbox validation, duration parsing.  Nothing here touches the
 * network, the database or global state.
 */
#ifndef IW_UTIL_H
#define IW_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define IW_ERR_MAX 512

/* Carries one human-readable error message out of a failing call. */
struct iw_err {
	char msg[IW_ERR_MAX];
};

void iw_err_set(struct iw_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix an existing message: "ctx: old message". */
void iw_err_prefix(struct iw_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Growable byte buffer; data is always NUL-terminated when len > 0. */
struct iw_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define IW_BUF_INIT { NULL, 0, 0 }

int iw_buf_append(struct iw_buf *b, const void *p, size_t n);
/* Room for n more bytes (and the NUL) without growing again. */
int iw_buf_reserve(struct iw_buf *b, size_t n);
int iw_buf_puts(struct iw_buf *b, const char *s);
int iw_buf_putc(struct iw_buf *b, char c);
int iw_buf_printf(struct iw_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void iw_buf_reset(struct iw_buf *b);
void iw_buf_free(struct iw_buf *b);
/* Give the buffer's memory to the caller (NUL-terminated, never NULL on 0). */
char *iw_buf_steal(struct iw_buf *b);

/* strlcpy semantics: always terminates, returns strlen(src). */
size_t iw_strlcpy(char *dst, const char *src, size_t size);
/* Copy at most n bytes of src (not NUL-terminated) into dst of size. */
size_t iw_strlcpy_n(char *dst, size_t size, const char *src, size_t n);
char *iw_strdup(const char *s);
char *iw_strndup(const char *s, size_t n);
void *iw_calloc(size_t n, size_t size);

/* 1 if buf[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int iw_utf8_valid(const char *buf, size_t len);

/*
 * Outside text (a WHOIS answer) as valid UTF-8 in place: well-formed UTF-8
 * is kept; anything else is read as Latin-1 (what RIR data that is not
 * ASCII is in practice), so every byte becomes a character.  NUL bytes
 * become '?' either way (PostgreSQL text cannot hold them).  *latin1 (may
 * be NULL) says the Latin-1 reading was used.  0, or -1 out of memory (b
 * unchanged).
 */
int iw_text_to_utf8(struct iw_buf *b, int *latin1);

/* Make the NUL-terminated s valid UTF-8 in place: each byte that is not
 * part of a well-formed sequence becomes '?'. */
void iw_utf8_scrub(char *s);

/* SHA-256 of p[0..n) as 64 lower-case hex digits and a NUL. */
#define IW_SHA256_HEX 65
int iw_sha256_hex(const void *p, size_t n, char out[IW_SHA256_HEX]);

/* Append s as a JSON string literal: quotes, backslashes and controls
 * escaped, UTF-8 kept, each invalid byte as U+FFFD. */
int iw_json_str(struct iw_buf *out, const char *s);

/*
 * Validate and normalise a single RFC 5321 mailbox (local@domain, dot-atom
 * local part only, hostname domain or address literal, total <= 254, local
 * part <= 64).  On success writes the mailbox with the domain lower-cased to
 * out (size outsz) and returns 0; else -1 with the reason in err.
 * Quoted local parts are refused: they are legal but never appear in registry
 * abuse addresses and are a classic header/SMTP injection vehicle.
 */
int iw_mailbox_normalize(const char *buf, size_t len, char *out, size_t outsz,
    struct iw_err *err);

/* "90", "30s", "5m", "1h", "7d" -> seconds.  -1 on bad syntax. */
int iw_duration_parse(const char *s, long long *seconds);

/* Trim ASCII whitespace from both ends of [*p, *p + *len). */
void iw_trim(const char **p, size_t *len);

/* Length of the well-formed UTF-8 character at s[0..n), 0 if there is
 * none (a broken or truncated sequence, or n == 0). */
size_t iw_utf8_char_len(const char *s, size_t n);

/* Monotonic clock in milliseconds. */
int64_t iw_now_ms(void);

/*
 * Pacing for a periodic read whose cost grows with the data (counts over
 * every letter of every campaign: /metrics, the progress line).  It is due
 * again min_ms after the last one ended, or IW_PACE_FACTOR times as long
 * as the last one took, whichever is later: on a table of any size it
 * takes at most 1/IW_PACE_FACTOR of the time it runs in.
 */
#define IW_PACE_FACTOR 20
struct iw_pace {
	int64_t next_ms;	/* iw_now_ms() when due again; 0: now */
};
int iw_pace_due(const struct iw_pace *p, int64_t now_ms);
void iw_pace_done(struct iw_pace *p, int64_t start_ms, int64_t end_ms,
    int64_t min_ms);

#endif
