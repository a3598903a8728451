/*
 * geoip: country of an IP from a MaxMind DB (libmaxminddb):
 * country.iso_code, else registered_country.iso_code.
 */
#ifndef IW_GEOIP_H
#define IW_GEOIP_H

#include "util.h"

struct iw_geoip;

int iw_geoip_open(const char *path, struct iw_geoip **out,
    struct iw_err *err);
void iw_geoip_close(struct iw_geoip *g);

/* Writes the ISO 3166 code (2 letters, upper case) or "" when the database
 * has no country for ip.  -1 only for a bad ip or a corrupt database. */
int iw_geoip_country(struct iw_geoip *g, const char *ip, char cc[3],
    struct iw_err *err);

#endif
