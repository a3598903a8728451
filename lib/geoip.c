/*
 * geoip: the country of an IP, from a MaxMind DB (GeoIP2/GeoLite2 Country
 * or anything with the same shape) opened once with libmaxminddb and
 * memory-mapped.  The country picks the letter's language, so the location
 * country is preferred and the registered country is the fallback (anycast
 * and satellite ranges often have only the latter).  Lookups on one opened
 * database are read-only and may run concurrently from several threads.
 */
#include "geoip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <maxminddb.h>

struct iw_geoip {
	MMDB_s mmdb;
};

int
iw_geoip_open(const char *path, struct iw_geoip **out, struct iw_err *err)
{
	struct iw_geoip *g;
	int st;

	*out = NULL;
	if (path == NULL || path[0] == '\0') {
		iw_err_set(err, "geoip: no database path");
		return -1;
	}
	g = iw_calloc(1, sizeof(*g));
	if (g == NULL) {
		iw_err_set(err, "geoip: out of memory");
		return -1;
	}
	errno = 0;
	st = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
	if (st != MMDB_SUCCESS) {
		if (st == MMDB_IO_ERROR && errno != 0)
			iw_err_set(err, "%s: %s: %s", path, MMDB_strerror(st),
			    strerror(errno));
		else
			iw_err_set(err, "%s: %s", path, MMDB_strerror(st));
		free(g);
		return -1;
	}
	*out = g;
	return 0;
}

void
iw_geoip_close(struct iw_geoip *g)
{
	if (g == NULL)
		return;
	MMDB_close(&g->mmdb);
	free(g);
}

/*
 * iso_code under the map named key: 1 and cc set when it is two upper-case
 * letters, 0 when absent or malformed, -1 when the data section is corrupt.
 */
static int
iso_code(MMDB_entry_s *entry, const char *key, char cc[3],
    struct iw_err *err)
{
	MMDB_entry_data_s d;
	int st;

	st = MMDB_get_value(entry, &d, key, "iso_code", NULL);
	if (st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR ||
	    st == MMDB_INVALID_LOOKUP_PATH_ERROR)
		return 0;
	if (st != MMDB_SUCCESS) {
		iw_err_set(err, "geoip: %s.iso_code: %s", key,
		    MMDB_strerror(st));
		return -1;
	}
	if (!d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING ||
	    d.data_size != 2)
		return 0;
	for (int i = 0; i < 2; i++)
		if (d.utf8_string[i] < 'A' || d.utf8_string[i] > 'Z')
			return 0;
	cc[0] = d.utf8_string[0];
	cc[1] = d.utf8_string[1];
	cc[2] = '\0';
	return 1;
}

int
iw_geoip_country(struct iw_geoip *g, const char *ip, char cc[3],
    struct iw_err *err)
{
	MMDB_lookup_result_s res;
	int gai = 0, st = MMDB_SUCCESS, r;

	cc[0] = '\0';
	if (g == NULL || ip == NULL) {
		iw_err_set(err, "geoip: no database");
		return -1;
	}
	res = MMDB_lookup_string(&g->mmdb, ip, &gai, &st);
	if (gai != 0) {
		iw_err_set(err, "geoip: not an IP address: '%.64s'", ip);
		return -1;
	}
	if (st == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
		return 0;	/* an IPv4-only database knows no IPv6 */
	if (st != MMDB_SUCCESS) {
		iw_err_set(err, "geoip: lookup of %.64s: %s", ip,
		    MMDB_strerror(st));
		return -1;
	}
	if (!res.found_entry)
		return 0;
	r = iso_code(&res.entry, "country", cc, err);
	if (r == 0)
		r = iso_code(&res.entry, "registered_country", cc, err);
	if (r < 0) {
		cc[0] = '\0';
		return -1;
	}
	return 0;
}
