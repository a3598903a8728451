/*
 * bounce_json: write a parsed bounce as the `bounce --dry-run` object (see
 * bounce_json.h).  Output only: nothing here reads a message.
 */
#include "bounce_json.h"

#include <stddef.h>

/* ", \"key\": \"value\"" (without the comma when first). */
static int
field(struct iw_buf *out, int first, const char *key, const char *value)
{
	if (iw_buf_printf(out, "%s\"%s\": ", first ? "" : ", ", key) < 0)
		return -1;
	return iw_json_str(out, value);
}

static int
rcpt_json(struct iw_buf *out, const struct iw_bounce_rcpt *p)
{
	if (iw_buf_putc(out, '{') < 0 ||
	    field(out, 1, "address", p->address) < 0 ||
	    field(out, 0, "action", p->action) < 0 ||
	    field(out, 0, "status", p->status) < 0 ||
	    field(out, 0, "reason", p->reason[0] != '\0' ? p->reason :
	    "undefined") < 0 ||
	    field(out, 0, "diagnostic", p->diagnostic) < 0)
		return -1;
	return iw_buf_putc(out, '}');
}

int
iw_bounce_json(const struct iw_bounce *b, int verified, long long letter_id,
    struct iw_buf *out)
{
	int r = iw_buf_printf(out, "{\"verified\": %s, \"letter\": ",
	    verified ? "true" : "false");

	if (r == 0)
		r = letter_id > 0 ? iw_buf_printf(out, "%lld", letter_id) :
		    iw_buf_puts(out, "null");
	if (r == 0)
		r = field(out, 0, "class", iw_bounce_class_name(b->cls));
	if (r == 0)
		r = field(out, 0, "reason", b->reason[0] != '\0' ? b->reason :
		    "undefined");
	if (r == 0)
		r = iw_buf_puts(out, ", \"recipients\": [");
	for (size_t i = 0; r == 0 && i < b->nrcpt; i++) {
		if (i > 0)
			r = iw_buf_puts(out, ", ");
		if (r == 0)
			r = rcpt_json(out, &b->rcpt[i]);
	}
	if (r == 0)
		r = iw_buf_puts(out, "]}");
	return r < 0 ? -1 : 0;
}
