/*
 * contact: override, then WHOIS; country and locale from GeoIP.  See
 * contact.h.
 */
#include "contact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
iw_contact_init(struct iw_contact_ctx *ctx, const struct iw_config *cfg,
    struct iw_geoip *geoip)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	ctx->geoip = geoip;
	iw_config_whois(cfg, &ctx->whois);
}

static int
country(const struct iw_contact_ctx *ctx, const char *ip,
    struct iw_contact *out, struct iw_err *err)
{
	out->country[0] = '\0';
	if (ctx->geoip != NULL &&
	    iw_geoip_country(ctx->geoip, ip, out->country, err) < 0)
		return -1;
	iw_strlcpy(out->locale, iw_config_locale_for(ctx->cfg, out->country),
	    sizeof(out->locale));
	return 0;
}

static int
from_override(struct iw_db *db, const char *ip, struct iw_contact *out,
    struct iw_err *err)
{
	char email[IW_WHOIS_ADDR_MAX], net[64];

	if (db == NULL)
		return 0;
	if (iw_db_override_find(db, ip, email, sizeof(email), net,
	    sizeof(net), err) < 0)
		return -1;
	if (email[0] == '\0')
		return 0;
	out->status = IW_CONTACT_OK;
	iw_strlcpy(out->email, email, sizeof(out->email));
	iw_strlcpy(out->network, net, sizeof(out->network));
	snprintf(out->source, sizeof(out->source), "override %s", net);
	iw_strlcpy(out->server, "override", sizeof(out->server));
	iw_strlcpy(out->chain, "override", sizeof(out->chain));
	return 1;
}

static int
from_whois(const struct iw_contact_ctx *ctx, const char *ip,
    struct iw_contact *out, struct iw_err *err)
{
	struct iw_whois_result wr;

	memset(&wr, 0, sizeof(wr));
	if (iw_whois_lookup(&ctx->whois, ip, &wr, err) < 0)
		return -1;
	switch (wr.status) {
	case IW_WHOIS_OK: out->status = IW_CONTACT_OK; break;
	case IW_WHOIS_NOCONTACT: out->status = IW_CONTACT_NONE; break;
	default: out->status = IW_CONTACT_LATER; break;
	}
	iw_strlcpy(out->email, wr.email, sizeof(out->email));
	iw_strlcpy(out->server, wr.server, sizeof(out->server));
	iw_strlcpy(out->network, wr.net_text[0] != '\0' ? wr.net_text :
	    wr.net_first, sizeof(out->network));
	iw_strlcpy(out->source, wr.source, sizeof(out->source));
	iw_strlcpy(out->chain, wr.chain, sizeof(out->chain));
	iw_strlcpy(out->reason, wr.reason, sizeof(out->reason));
	out->raw = wr.raw;	/* ownership moves to out */
	wr.raw = NULL;
	iw_whois_result_free(&wr);
	return 0;
}

int
iw_contact_resolve(const struct iw_contact_ctx *ctx, struct iw_db *db,
    const char *ip, struct iw_contact *out, struct iw_err *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (country(ctx, ip, out, err) < 0)
		return -1;
	r = from_override(db, ip, out, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	return from_whois(ctx, ip, out, err);
}

void
iw_contact_free(struct iw_contact *c)
{
	if (c == NULL)
		return;
	free(c->raw);
	c->raw = NULL;
}

long long
iw_contact_retry_delay(int attempts)
{
	long long d = 60;

	while (attempts-- > 1 && d < 3600)
		d *= 2;
	return d > 3600 ? 3600 : d;
}
