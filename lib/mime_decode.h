/*
 * mime_decode: a built letter (lib/mime.h) shown as text.
 */
#ifndef IW_MIME_DECODE_H
#define IW_MIME_DECODE_H

#include <stddef.h>

#include "util.h"

/*
 * A message built by iw_mime_build as text to show (LF line ends): the
 * header block with folded fields unfolded and RFC 2047 words in Subject,
 * From, To and Reply-To decoded, an empty line, the text part decoded,
 * then for each attachment "--- attachment NAME (TYPE) ---" and its decoded
 * text.  Control characters and invalid UTF-8 are shown as '?'.  Messages
 * of another shape give -1 or a best effort, never more than a bounded
 * amount of output.
 */
int iw_mime_decode_text(const char *msg, size_t len, struct iw_buf *out,
    struct iw_err *err);

#endif
