/*
 * config: ipwarn.conf loading and validation.  One table, keys[] (after
 * pgbouncer's), lists every key each section accepts: its kind, field,
 * default, bounds, whether its section needs it and whether it is a
 * secret.  The loader, the defaults, the required-key check, the
 * secret-file check and the test that etc/ipwarn.conf shows every key
 * with its default all read it; anything else is an error that names
 * file:line and the key.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mime.h"

struct loader {
	struct iw_config *c;
	const char *path;
	char dir[PATH_MAX];		/* directory of the config file */
	struct iw_err *err;
};

typedef int (*key_fn)(struct loader *, config_setting_t *, const char *);

/* How a key's value is read and stored. */
enum kind {
	T_STRING,		/* char *, may be empty */
	T_NONEMPTY,		/* char * */
	T_PATH,			/* char *, made absolute */
	T_HOSTPORT,		/* char *, "host:port" */
	T_ENUM,			/* int: the index of the value in names[] */
	T_INT,			/* int within lo..hi */
	T_DURATION,		/* long long seconds, at least lo */
	T_RATE,			/* double per second, 0: unlimited */
	T_BOOL,			/* int 0/1 */
	T_CUSTOM,		/* check reads it all */
};

enum {
	K_REQUIRED = 1 << 0,	/* its section is incomplete without it */
	K_SECRET = 1 << 1,	/* the file must not be world-readable */
	K_PASSWORD = 1 << 2,	/* secret when it says password= */
};

/*
 * One row per key: the loader, the defaults, the required-key check, the
 * secret-file check and the documentation test (every key is shown in
 * etc/ipwarn.conf with its default) all read this table.  A new key is one
 * row (and a field in struct iw_config).
 */
struct key {
	unsigned section;	/* IW_CONF_* */
	const char *name;
	enum kind kind;
	size_t off;		/* its field in struct iw_config */
	const char *def;	/* the default as a file writes it; NULL */
	long long lo, hi;	/* T_INT, T_DURATION */
	unsigned flags;		/* K_* */
	key_fn check;		/* after the kind's own checks; NULL */
	const char *const *names;	/* T_ENUM */
};

/* A section: its name, bit, and the checks across its keys. */
struct section {
	const char *name;
	unsigned bit;
	int (*check)(struct loader *, config_setting_t *);
};

static int
fail(struct loader *ld, config_setting_t *s, const char *qual,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail(struct loader *ld, config_setting_t *s, const char *qual,
    const char *fmt, ...)
{
	char msg[IW_ERR_MAX];
	const char *file = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s != NULL)
		file = config_setting_source_file(s);
	if (file == NULL)
		file = ld->path;
	if (s != NULL && config_setting_source_line(s) > 0)
		iw_err_set(ld->err, "%s:%u: %s: %s", file,
		    config_setting_source_line(s), qual, msg);
	else
		iw_err_set(ld->err, "%s: %s: %s", file, qual, msg);
	return -1;
}

static int
get_string(struct loader *ld, config_setting_t *s, const char *qual,
    char **out)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, qual, "must be a string");
	v = config_setting_get_string(s);
	if (v == NULL || !iw_utf8_valid(v, strlen(v)))
		return fail(ld, s, qual, "not valid UTF-8");
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(ld, s, qual,
			    "control characters are not allowed");
	free(*out);
	*out = iw_strdup(v);
	return *out ? 0 : fail(ld, s, qual, "out of memory");
}

static int
get_nonempty(struct loader *ld, config_setting_t *s, const char *qual,
    char **out)
{
	if (get_string(ld, s, qual, out) != 0)
		return -1;
	if (**out == '\0')
		return fail(ld, s, qual, "must not be empty");
	return 0;
}

static int
get_int(struct loader *ld, config_setting_t *s, const char *qual, int lo,
    int hi, int *out)
{
	long long v;

	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else
		return fail(ld, s, qual, "must be an integer");
	if (v < lo || v > hi)
		return fail(ld, s, qual, "must be between %d and %d", lo, hi);
	*out = (int)v;
	return 0;
}

/* A non-negative rate (per second): integer or float; 0 = unlimited. */
static int
get_rate(struct loader *ld, config_setting_t *s, const char *qual,
    double *out)
{
	int t = config_setting_type(s);
	double v;

	if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
		v = (double)config_setting_get_int64(s);
	else if (t == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else
		return fail(ld, s, qual, "must be a number (per second)");
	if (t == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	if (!(v >= 0 && v <= 1e6))
		return fail(ld, s, qual, "must be between 0 and 1000000");
	*out = v;
	return 0;
}

/* A duration: an integer (seconds) or a string "30s", "5m", "1h", "7d". */
static int
get_duration(struct loader *ld, config_setting_t *s, const char *qual,
    long long *out)
{
	int t = config_setting_type(s);

	if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
		*out = config_setting_get_int64(s);
		if (t == CONFIG_TYPE_INT)
			*out = config_setting_get_int(s);
		if (*out < 0)
			return fail(ld, s, qual, "must not be negative");
		return 0;
	}
	if (t != CONFIG_TYPE_STRING)
		return fail(ld, s, qual, "must be a duration like \"5m\"");
	if (iw_duration_parse(config_setting_get_string(s), out) != 0)
		return fail(ld, s, qual, "bad duration \"%s\" (use a number "
		    "with s, m, h or d, e.g. \"5m\")",
		    config_setting_get_string(s));
	return 0;
}

/* Make a relative path absolute: the current directory when the path
 * exists there (how the example config is meant to be used, from the
 * source tree), else the config file's directory. */
static int
get_path(struct loader *ld, config_setting_t *s, const char *qual,
    char **out)
{
	char buf[PATH_MAX * 2 + 2];

	if (get_nonempty(ld, s, qual, out) != 0)
		return -1;
	if ((*out)[0] == '/')
		return 0;
	/* Relative to the configuration file's own directory, never to the
	 * working directory: a file planted where a command happens to run
	 * must not be picked up. */
	snprintf(buf, sizeof(buf), "%s/%s", ld->dir, *out);
	free(*out);
	*out = iw_strdup(buf);
	return *out ? 0 : fail(ld, s, qual, "out of memory");
}

/* "host:port" or "[v6]:port" with a numeric port 1..65535. */
static int
check_hostport(const char *v, struct iw_err *why)
{
	const char *colon, *host_end;
	char *end;
	long port;

	if (v[0] == '[') {
		host_end = strchr(v, ']');
		if (host_end == NULL || host_end[1] != ':') {
			iw_err_set(why, "expected \"[address]:port\"");
			return -1;
		}
		colon = host_end + 1;
	} else {
		colon = strrchr(v, ':');
		if (colon == NULL) {
			iw_err_set(why, "missing port (expected \"host:port\")");
			return -1;
		}
		if (memchr(v, ':', (size_t)(colon - v)) != NULL) {
			iw_err_set(why, "IPv6 addresses need brackets: "
			    "\"[::1]:25\"");
			return -1;
		}
		host_end = colon;
	}
	if (host_end == v || (v[0] == '[' && host_end == v + 1)) {
		iw_err_set(why, "missing host");
		return -1;
	}
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
		iw_err_set(why, "bad port \"%s\"", colon + 1);
		return -1;
	}
	return 0;
}

static int
get_hostport(struct loader *ld, config_setting_t *s, const char *qual,
    char **out)
{
	struct iw_err why;

	if (get_nonempty(ld, s, qual, out) != 0)
		return -1;
	if (check_hostport(*out, &why) != 0)
		return fail(ld, s, qual, "%s", why.msg);
	return 0;
}

static int
get_bool(struct loader *ld, config_setting_t *s, const char *qual, int *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(ld, s, qual, "must be true or false");
	*out = config_setting_get_bool(s);
	return 0;
}

static int
get_enum(struct loader *ld, config_setting_t *s, const char *qual,
    const char *const *names, int *out)
{
	char *v = NULL, list[256] = "";
	int i, rc;

	if (get_string(ld, s, qual, &v) != 0)
		return -1;
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			free(v);
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s\"%s\"", i == 0 ? "" : names[i + 1] == NULL ? " or " :
		    ", ", names[i]);
	}
	rc = fail(ld, s, qual, "must be %s, not \"%s\"", list, v);
	free(v);
	return rc;
}

/* --- checks beyond a key's kind --- */

static int
check_helo(struct loader *ld, config_setting_t *s, const char *q)
{
	for (const char *p = ld->c->smtp_helo; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return fail(ld, s, q, "not a host name");
	return 0;
}

static int
check_from(struct loader *ld, config_setting_t *s, const char *q)
{
	char name[256], addr[256];
	struct iw_err why;
	const char *at;

	if (iw_mime_parse_address(ld->c->sender_from, name, sizeof(name),
	    addr, sizeof(addr), &why) != 0)
		return fail(ld, s, q, "%s", why.msg);
	at = strrchr(addr, '@');
	free(ld->c->sender_domain);
	ld->c->sender_domain = iw_strdup(at ? at + 1 : "localhost");
	return 0;
}

/* *v must be a mailbox; it becomes its normal form. */
static int
mailbox(struct loader *ld, config_setting_t *s, const char *q, char **v)
{
	char addr[256];
	struct iw_err why;

	if (iw_mailbox_normalize(*v, strlen(*v), addr, sizeof(addr),
	    &why) != 0)
		return fail(ld, s, q, "not a mailbox: %s", why.msg);
	free(*v);
	*v = iw_strdup(addr);
	return 0;
}

static int
check_reply_to(struct loader *ld, config_setting_t *s, const char *q)
{
	return mailbox(ld, s, q, &ld->c->sender_reply_to);
}

static int
check_return_path(struct loader *ld, config_setting_t *s, const char *q)
{
	if (mailbox(ld, s, q, &ld->c->sender_return_path) != 0)
		return -1;
	if (strchr(ld->c->sender_return_path, '+') != NULL)
		return fail(ld, s, q, "must not contain '+': the VERP token "
		    "is added as local+TOKEN@domain");
	return 0;
}

static int
check_verp_secret(struct loader *ld, config_setting_t *s, const char *q)
{
	if (strlen(ld->c->sender_verp_secret) < 8)
		return fail(ld, s, q, "too short: use at least 8 characters "
		    "(it is what stops forged bounces)");
	if (strcmp(ld->c->sender_verp_secret, IW_CONFIG_EXAMPLE_SECRET) == 0)
		return fail(ld, s, q, "still the example's value, which "
		    "anyone can read: make one with `openssl rand -hex 32`");
	return 0;
}

static int
host_entry(struct loader *ld, config_setting_t *e, struct iw_whois_host *h)
{
	char q[64];

	if (config_setting_type(e) != CONFIG_TYPE_GROUP)
		return fail(ld, e, "whois.hosts", "each entry must be a group "
		    "{ name = \"...\"; address = \"host:port\"; }");
	for (int i = 0; i < config_setting_length(e); i++) {
		config_setting_t *k = config_setting_get_elem(e, (unsigned)i);
		const char *n = config_setting_name(k);

		snprintf(q, sizeof(q), "whois.hosts.%s", n);
		if (strcmp(n, "name") == 0) {
			if (get_nonempty(ld, k, q, &h->name) != 0)
				return -1;
			for (char *p = h->name; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		} else if (strcmp(n, "address") == 0) {
			if (get_hostport(ld, k, q, &h->address) != 0)
				return -1;
		} else if (strcmp(n, "concurrency") == 0) {
			if (get_int(ld, k, q, 1, 64, &h->concurrency) != 0)
				return -1;
		} else if (strcmp(n, "rate") == 0) {
			if (get_rate(ld, k, q, &h->rate) != 0)
				return -1;
		} else
			return fail(ld, k, q, "unknown key");
	}
	if (h->name == NULL)
		return fail(ld, e, "whois.hosts", "each entry needs a name");
	return 0;
}

static int
k_hosts(struct loader *ld, config_setting_t *s, const char *q)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return fail(ld, s, q, "must be a list ( { name = ...; "
		    "address = ...; }, ... )");
	n = config_setting_length(s);
	ld->c->whois_hosts = iw_calloc(n > 0 ? (size_t)n : 1,
	    sizeof(*ld->c->whois_hosts));
	if (ld->c->whois_hosts == NULL)
		return fail(ld, s, q, "out of memory");
	ld->c->whois_nhosts = (size_t)n;
	for (int i = 0; i < n; i++)
		ld->c->whois_hosts[i].rate = -1;
	for (int i = 0; i < n; i++)
		if (host_entry(ld, config_setting_get_elem(s, (unsigned)i),
		    &ld->c->whois_hosts[i]) != 0)
			return -1;
	return 0;
}

/* A domain as written in whois.registry_domains: letters, digits, '-'
 * and dots, lower-cased. */
static int
registry_domain(char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.' ||
	    strchr(d, '.') == NULL)
		return -1;
	for (char *p = d; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return -1;
	}
	return 0;
}

static int
k_registry_domains(struct loader *ld, config_setting_t *s, const char *q)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST &&
	    config_setting_type(s) != CONFIG_TYPE_ARRAY)
		return fail(ld, s, q, "must be a list of domains "
		    "[ \"apnic.net\", \"nic.ad.jp\", ... ]");
	n = config_setting_length(s);
	ld->c->whois_registry_domains = iw_calloc(n > 0 ? (size_t)n : 1,
	    sizeof(char *));
	if (ld->c->whois_registry_domains == NULL)
		return fail(ld, s, q, "out of memory");
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char **d = &ld->c->whois_registry_domains[i];

		ld->c->whois_nregistry_domains = (size_t)i + 1;
		if (get_nonempty(ld, e, q, d) != 0)
			return -1;
		if (registry_domain(*d) != 0)
			return fail(ld, e, q, "'%.80s' is not a domain like "
			    "\"nic.ad.jp\"", *d);
	}
	return 0;
}

static int
check_locale(const char *v)
{
	size_t n = strlen(v);

	if (n < 2 || n > 16)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)v[i]) && v[i] != '_' &&
		    v[i] != '-')
			return -1;
	return 0;
}

static int
check_default_locale(struct loader *ld, config_setting_t *s, const char *q)
{
	if (check_locale(ld->c->letters_default_locale) != 0)
		return fail(ld, s, q, "not a locale name like \"en\"");
	return 0;
}

static int country_name(struct loader *ld, config_setting_t *e,
    const char *cc, const char *eq);

static int
k_countries(struct loader *ld, config_setting_t *s, const char *q)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return fail(ld, s, q, "must be a group { DK = \"da\"; ... }");
	n = config_setting_length(s);
	ld->c->letters_countries = iw_calloc((size_t)n,
	    sizeof(*ld->c->letters_countries));
	if (ld->c->letters_countries == NULL)
		return fail(ld, s, q, "out of memory");
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct iw_country_locale *cl = &ld->c->letters_countries[i];
		const char *cc = config_setting_name(e);
		char eq[64];

		snprintf(eq, sizeof(eq), "%s.%s", q, cc);
		if (country_name(ld, e, cc, eq) != 0)
			return -1;
		memcpy(cl->cc, cc, 3);
		ld->c->letters_ncountries = (size_t)i + 1;
		if (get_nonempty(ld, e, eq, &cl->locale) != 0)
			return -1;
		if (check_locale(cl->locale) != 0)
			return fail(ld, e, eq, "not a locale name like \"da\"");
	}
	return 0;
}

/* An ISO 3166 alpha-2 code in upper case, as a setting's name. */
static int
country_name(struct loader *ld, config_setting_t *e, const char *cc,
    const char *eq)
{
	if (strlen(cc) != 2 || !isupper((unsigned char)cc[0]) ||
	    !isupper((unsigned char)cc[1]))
		return fail(ld, e, eq, "not an ISO 3166 alpha-2 code in upper "
		    "case");
	return 0;
}

/* letters.escalation = { DK = "cert@example.dk"; ... }: each address a
 * valid mailbox (it goes into RCPT TO and the To: header). */
static int
k_escalation(struct loader *ld, config_setting_t *s, const char *q)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return fail(ld, s, q, "must be a group { DK = "
		    "\"cert@example.dk\"; ... }");
	n = config_setting_length(s);
	ld->c->letters_escalation = iw_calloc((size_t)n + 1,
	    sizeof(*ld->c->letters_escalation));
	if (ld->c->letters_escalation == NULL)
		return fail(ld, s, q, "out of memory");
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct iw_country_cert *cc = &ld->c->letters_escalation[i];
		const char *name = config_setting_name(e), *v;
		struct iw_err err;
		char eq[64];

		snprintf(eq, sizeof(eq), "%s.%s", q, name);
		if (country_name(ld, e, name, eq) != 0)
			return -1;
		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    (v = config_setting_get_string(e)) == NULL)
			return fail(ld, e, eq, "must be a string");
		if (iw_mailbox_normalize(v, strlen(v), cc->email,
		    sizeof(cc->email), &err) != 0)
			return fail(ld, e, eq, "%s", err.msg);
		memcpy(cc->cc, name, 3);
		ld->c->letters_nescalation = (size_t)i + 1;
	}
	return 0;
}

/* metrics.listen: host:port, and where it was written (a port in use is
 * reported against that line when ipwarnd starts). */
static int
k_metrics_listen(struct loader *ld, config_setting_t *s, const char *q)
{
	if (get_hostport(ld, s, q, &ld->c->metrics_listen) != 0)
		return -1;
	ld->c->metrics_listen_line = config_setting_source_line(s);
	return 0;
}

/* --- the schema --- */

static const char *const starttls_names[] = { "disabled", "enabled",
	"required", NULL };

#define F(field) offsetof(struct iw_config, field)
#define DB IW_CONF_DATABASE
#define SM IW_CONF_SMTP
#define SE IW_CONF_SENDER
#define GE IW_CONF_GEOIP
#define WH IW_CONF_WHOIS
#define LE IW_CONF_LETTERS
#define DE IW_CONF_DELIVERY
#define BO IW_CONF_BOUNCES
#define DA IW_CONF_DAEMON
#define ME IW_CONF_METRICS
#define NOLIMIT 0, LLONG_MAX

static const struct key keys[] = {
	{ DB, "conninfo", T_STRING, F(db_conninfo), NULL, 0, 0,
	    K_REQUIRED | K_PASSWORD, NULL, NULL },
	{ DB, "reconnect_max", T_DURATION, F(db_reconnect_max), "60s",
	    1, LLONG_MAX, 0, NULL, NULL },
	{ SM, "relay", T_HOSTPORT, F(smtp_relay), NULL, 0, 0, K_REQUIRED,
	    NULL, NULL },
	{ SM, "starttls", T_ENUM, F(smtp_starttls), "disabled", 0, 0, 0,
	    NULL, starttls_names },
	{ SM, "username", T_NONEMPTY, F(smtp_username), NULL, 0, 0, 0, NULL,
	    NULL },
	{ SM, "password", T_STRING, F(smtp_password), NULL, 0, 0, K_SECRET,
	    NULL, NULL },
	{ SM, "helo", T_NONEMPTY, F(smtp_helo), NULL, 0, 0, 0, check_helo,
	    NULL },
	{ SM, "ca_file", T_PATH, F(smtp_ca_file), NULL, 0, 0, 0, NULL, NULL },
	{ SM, "timeout", T_DURATION, F(smtp_timeout), "60s", 1, LLONG_MAX, 0,
	    NULL, NULL },
	{ SE, "from", T_NONEMPTY, F(sender_from), NULL, 0, 0, K_REQUIRED,
	    check_from, NULL },
	{ SE, "reply_to", T_NONEMPTY, F(sender_reply_to), NULL, 0, 0, 0,
	    check_reply_to, NULL },
	{ SE, "return_path", T_NONEMPTY, F(sender_return_path), NULL, 0, 0,
	    K_REQUIRED, check_return_path, NULL },
	{ SE, "verp_secret", T_NONEMPTY, F(sender_verp_secret), NULL, 0, 0,
	    K_REQUIRED | K_SECRET, check_verp_secret, NULL },
	{ GE, "database", T_PATH, F(geoip_database), NULL, 0, 0, K_REQUIRED,
	    NULL, NULL },
	{ WH, "bootstrap", T_NONEMPTY, F(whois_bootstrap), NULL, 0, 0,
	    K_REQUIRED, NULL, NULL },
	{ WH, "timeout", T_DURATION, F(whois_timeout), "10s", 1, LLONG_MAX,
	    0, NULL, NULL },
	{ WH, "retries", T_INT, F(whois_retries), "5", 0, 1000, 0, NULL,
	    NULL },
	{ WH, "cache_ttl", T_DURATION, F(whois_cache_ttl), "7d", NOLIMIT, 0,
	    NULL, NULL },
	{ WH, "cache", T_BOOL, F(whois_cache), "true", 0, 0, 0, NULL, NULL },
	{ WH, "hosts", T_CUSTOM, 0, NULL, 0, 0, 0, k_hosts, NULL },
	{ WH, "registry_domains", T_CUSTOM, 0, NULL, 0, 0, 0,
	    k_registry_domains, NULL },
	{ LE, "directory", T_PATH, F(letters_directory), NULL, 0, 0,
	    K_REQUIRED, NULL, NULL },
	{ LE, "default_locale", T_NONEMPTY, F(letters_default_locale), "en",
	    0, 0, 0, check_default_locale, NULL },
	{ LE, "countries", T_CUSTOM, 0, NULL, 0, 0, 0, k_countries, NULL },
	{ LE, "escalation", T_CUSTOM, 0, NULL, 0, 0, 0, k_escalation, NULL },
	{ LE, "hold", T_DURATION, F(letters_hold), "1h", NOLIMIT, 0, NULL,
	    NULL },
	{ LE, "renotify_after", T_DURATION, F(letters_renotify_after), "30d",
	    NOLIMIT, 0, NULL, NULL },
	{ LE, "max_inline_ips", T_INT, F(letters_max_inline_ips), "100", 1,
	    100000, 0, NULL, NULL },
	{ DE, "workers", T_INT, F(delivery_workers), "4", 1, 256, 0, NULL,
	    NULL },
	{ DE, "rate", T_RATE, F(delivery_rate), "0", 0, 0, 0, NULL, NULL },
	{ DE, "domain_rate", T_RATE, F(delivery_domain_rate), "0", 0, 0, 0,
	    NULL, NULL },
	{ DE, "batch", T_INT, F(delivery_batch), "50", 1, 10000, 0, NULL,
	    NULL },
	{ DE, "min_backoff", T_DURATION, F(delivery_min_backoff), "5m",
	    NOLIMIT, 0, NULL, NULL },
	{ DE, "max_backoff", T_DURATION, F(delivery_max_backoff), "1h",
	    NOLIMIT, 0, NULL, NULL },
	{ DE, "max_age", T_DURATION, F(delivery_max_age), "5d", NOLIMIT, 0,
	    NULL, NULL },
	{ DE, "lease", T_DURATION, F(delivery_lease), "5m", 10, LLONG_MAX, 0,
	    NULL, NULL },
	{ BO, "maildir", T_PATH, F(bounces_maildir), NULL, 0, 0, K_REQUIRED,
	    NULL, NULL },
	{ BO, "soft_limit", T_INT, F(bounces_soft_limit), "3", 1, 1000, 0,
	    NULL, NULL },
	{ DA, "user", T_NONEMPTY, F(daemon_user), IW_CONFIG_DEFAULT_USER, 0,
	    0, 0, NULL, NULL },
	{ ME, "listen", T_CUSTOM, 0, NULL, 0, 0, 0, k_metrics_listen, NULL },
};

#undef F
#undef DB
#undef SM
#undef SE
#undef GE
#undef WH
#undef LE
#undef DE
#undef BO
#undef DA
#undef ME
#undef NOLIMIT
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void *
field(struct iw_config *c, const struct key *k)
{
	return (char *)c + k->off;
}

static int
is_text(enum kind t)
{
	return t == T_STRING || t == T_NONEMPTY || t == T_PATH ||
	    t == T_HOSTPORT;
}

static int
read_key(struct loader *ld, const struct key *k, config_setting_t *s,
    const char *q)
{
	void *f = field(ld->c, k);
	int rc = 0;

	switch (k->kind) {
	case T_STRING: rc = get_string(ld, s, q, f); break;
	case T_NONEMPTY: rc = get_nonempty(ld, s, q, f); break;
	case T_PATH: rc = get_path(ld, s, q, f); break;
	case T_HOSTPORT: rc = get_hostport(ld, s, q, f); break;
	case T_ENUM: rc = get_enum(ld, s, q, k->names, f); break;
	case T_INT: rc = get_int(ld, s, q, (int)k->lo, (int)k->hi, f); break;
	case T_RATE: rc = get_rate(ld, s, q, f); break;
	case T_BOOL: rc = get_bool(ld, s, q, f); break;
	case T_DURATION:
		rc = get_duration(ld, s, q, f);
		if (rc == 0 && *(long long *)f < k->lo)
			rc = fail(ld, s, q, "must be at least %llds", k->lo);
		break;
	case T_CUSTOM: break;
	}
	if (rc != 0)
		return -1;
	return k->check != NULL ? k->check(ld, s, q) : 0;
}

/* The defaults come from the table as a file would write them. */
static void
set_defaults(struct iw_config *c)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		void *f = field(c, k);

		if (k->def == NULL)
			continue;
		if (is_text(k->kind))
			*(char **)f = iw_strdup(k->def);
		else if (k->kind == T_ENUM)
			for (int j = 0; k->names[j] != NULL; j++)
				if (strcmp(k->names[j], k->def) == 0)
					*(int *)f = j;
		if (k->kind == T_INT || k->kind == T_BOOL)
			*(int *)f = strcmp(k->def, "true") == 0 ? 1 :
			    atoi(k->def);
		else if (k->kind == T_DURATION)
			(void)iw_duration_parse(k->def, f);
		else if (k->kind == T_RATE)
			*(double *)f = strtod(k->def, NULL);
	}
}

/* Across a section's keys. */
static int
smtp_check(struct loader *ld, config_setting_t *g)
{
	const struct iw_config *c = ld->c;

	if (c->smtp_password != NULL && c->smtp_username == NULL)
		return fail(ld, g, "smtp", "password without username");
	if (c->smtp_username != NULL &&
	    c->smtp_starttls != IW_SMTP_TLS_REQUIRED &&
	    !iw_config_relay_is_loopback(c->smtp_relay))
		return fail(ld, g, "smtp", "username (AUTH) needs starttls "
		    "= \"required\" unless the relay is on loopback: the "
		    "password must not cross the network in clear text");
	return 0;
}

static int
delivery_check(struct loader *ld, config_setting_t *g)
{
	if (ld->c->delivery_min_backoff > ld->c->delivery_max_backoff)
		return fail(ld, g, "delivery", "min_backoff is larger than "
		    "max_backoff");
	return 0;
}

static const struct section sections[] = {
	{ "database", IW_CONF_DATABASE, NULL },
	{ "smtp", IW_CONF_SMTP, smtp_check },
	{ "sender", IW_CONF_SENDER, NULL },
	{ "geoip", IW_CONF_GEOIP, NULL },
	{ "whois", IW_CONF_WHOIS, NULL },
	{ "letters", IW_CONF_LETTERS, NULL },
	{ "delivery", IW_CONF_DELIVERY, delivery_check },
	{ "bounces", IW_CONF_BOUNCES, NULL },
	{ "daemon", IW_CONF_DAEMON, NULL },
	{ "metrics", IW_CONF_METRICS, NULL },
	{ NULL, 0, NULL },
};

/* Keys a section cannot do without, checked after it was read. */
static int
check_required(struct loader *ld, const struct section *sec,
    config_setting_t *g)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].section == sec->bit &&
		    (keys[i].flags & K_REQUIRED) &&
		    *(char **)field(ld->c, &keys[i]) == NULL)
			return fail(ld, g, sec->name, "missing key '%s'",
			    keys[i].name);
	return sec->check != NULL ? sec->check(ld, g) : 0;
}

static int
load_section(struct loader *ld, const struct section *sec,
    config_setting_t *g)
{
	char q[128];

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(ld, g, sec->name, "must be a group { ... }");
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		size_t k;

		snprintf(q, sizeof(q), "%s.%s", sec->name, name);
		for (k = 0; k < NKEYS; k++)
			if (keys[k].section == sec->bit &&
			    strcmp(keys[k].name, name) == 0)
				break;
		if (k == NKEYS)
			return fail(ld, s, q, "unknown key");
		if (read_key(ld, &keys[k], s, q) != 0)
			return -1;
	}
	ld->c->sections |= sec->bit;
	return check_required(ld, sec, g);
}

/* The first secret the configuration holds, by key, into name; 0 when
 * none. */
static int
secret_key(struct loader *ld, char *name, size_t size)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const char *v;

		if (!(k->flags & (K_SECRET | K_PASSWORD)))
			continue;
		v = *(char **)field(ld->c, k);
		if (v == NULL || ((k->flags & K_PASSWORD) &&
		    strstr(v, "password") == NULL))
			continue;
		for (const struct section *s = sections; s->name; s++)
			if (s->bit == k->section)
				snprintf(name, size, "%s.%s%s", s->name,
				    k->name, (k->flags & K_PASSWORD) ?
				    "'s password" : "");
		return 1;
	}
	return 0;
}

int
iw_config_key(size_t i, struct iw_config_key_info *out)
{
	if (i >= NKEYS)
		return -1;
	memset(out, 0, sizeof(*out));
	for (const struct section *s = sections; s->name; s++)
		if (s->bit == keys[i].section)
			out->section = s->name;
	out->name = keys[i].name;
	out->def = keys[i].def;
	out->required = (keys[i].flags & K_REQUIRED) != 0;
	out->secret = (keys[i].flags & (K_SECRET | K_PASSWORD)) != 0;
	return 0;
}

/* A file holding a secret must not be readable by every user: whoever
 * reads the VERP secret forges bounces, the SMTP password sends mail. */
static int
check_secret_mode(struct loader *ld)
{
	char what[96];
	struct stat st;

	if (!secret_key(ld, what, sizeof(what)))
		return 0;
	if (stat(ld->path, &st) != 0) {
		iw_err_set(ld->err, "%s: cannot stat: %m", ld->path);
		return -1;
	}
	if ((st.st_mode & S_IROTH) == 0)
		return 0;
	iw_err_set(ld->err, "%s: holds %s but every user can read it: "
	    "chmod 640 %s (owner root, group of the daemon's user)", ld->path,
	    what, ld->path);
	return -1;
}

static void
dir_of(const char *path, char *dir, size_t size)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		if (getcwd(dir, size) == NULL)
			iw_strlcpy(dir, ".", size);
		return;
	}
	iw_strlcpy_n(tmp, sizeof(tmp), path, (size_t)(slash - path));
	if (realpath(tmp[0] ? tmp : "/", dir) == NULL)
		iw_strlcpy(dir, tmp, size);
}

int
iw_config_load(const char *path, struct iw_config **out, struct iw_err *err)
{
	struct loader ld;
	config_t cfg;
	config_setting_t *root;
	int rc = -1;

	*out = NULL;
	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.err = err;
	ld.c = iw_calloc(1, sizeof(*ld.c));
	if (ld.c == NULL) {
		iw_err_set(err, "%s: out of memory", path);
		return -1;
	}
	set_defaults(ld.c);
	ld.c->path = iw_strdup(path);
	dir_of(path, ld.dir, sizeof(ld.dir));

	config_init(&cfg);
	if (access(path, R_OK) != 0) {
		iw_err_set(err, "%s: cannot read: %m", path);
		goto out;
	}
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		iw_err_set(err, "%s:%d: %s",
		    config_error_file(&cfg) ? config_error_file(&cfg) : path,
		    config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}
	root = config_root_setting(&cfg);
	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *g = config_setting_get_elem(root,
		    (unsigned)i);
		const char *name = config_setting_name(g);
		const struct section *sec;

		for (sec = sections; sec->name != NULL; sec++)
			if (strcmp(sec->name, name) == 0)
				break;
		if (sec->name == NULL) {
			fail(&ld, g, name, "unknown section");
			goto out;
		}
		if (load_section(&ld, sec, g) != 0)
			goto out;
	}
	if (check_secret_mode(&ld) != 0)
		goto out;
	rc = 0;
out:
	config_destroy(&cfg);
	if (rc == 0)
		*out = ld.c;
	else
		iw_config_free(ld.c);
	return rc;
}

void
iw_config_free(struct iw_config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->db_conninfo);
	free(c->smtp_relay);
	free(c->smtp_username);
	free(c->smtp_password);
	free(c->smtp_helo);
	free(c->smtp_ca_file);
	free(c->sender_from);
	free(c->sender_reply_to);
	free(c->sender_return_path);
	free(c->sender_verp_secret);
	free(c->sender_domain);
	free(c->geoip_database);
	free(c->whois_bootstrap);
	for (size_t i = 0; i < c->whois_nhosts; i++) {
		free(c->whois_hosts[i].name);
		free(c->whois_hosts[i].address);
	}
	free(c->whois_hosts);
	for (size_t i = 0; i < c->whois_nregistry_domains; i++)
		free(c->whois_registry_domains[i]);
	free(c->whois_registry_domains);
	free(c->letters_directory);
	free(c->letters_default_locale);
	for (size_t i = 0; i < c->letters_ncountries; i++)
		free(c->letters_countries[i].locale);
	free(c->letters_countries);
	free(c->letters_escalation);
	free(c->bounces_maildir);
	free(c->metrics_listen);
	free(c->daemon_user);
	free(c);
}

int
iw_config_require(const struct iw_config *c, unsigned need,
    struct iw_err *err)
{
	for (const struct section *s = sections; s->name != NULL; s++) {
		if ((need & s->bit) && !(c->sections & s->bit)) {
			iw_err_set(err, "%s: missing section '%s'", c->path,
			    s->name);
			return -1;
		}
	}
	return 0;
}

const char *
iw_config_locale_for(const struct iw_config *c, const char *cc)
{
	for (size_t i = 0; cc != NULL && i < c->letters_ncountries; i++)
		if (strcmp(c->letters_countries[i].cc, cc) == 0)
			return c->letters_countries[i].locale;
	return c->letters_default_locale;
}

const char *
iw_config_cert_for(const struct iw_config *c, const char *cc)
{
	for (size_t i = 0; cc != NULL && i < c->letters_nescalation; i++)
		if (strcmp(c->letters_escalation[i].cc, cc) == 0)
			return c->letters_escalation[i].email;
	return NULL;
}

void
iw_config_whois(const struct iw_config *c, struct iw_whois_conf *wc)
{
	memset(wc, 0, sizeof(*wc));
	wc->bootstrap = c->whois_bootstrap;
	wc->hosts = c->whois_hosts;
	wc->nhosts = c->whois_nhosts;
	wc->timeout_ms = (int)(c->whois_timeout * 1000);
	wc->max_answer = 1024 * 1024;
	wc->max_referrals = 5;
	wc->registry_domains = (const char *const *)c->whois_registry_domains;
	wc->nregistry_domains = c->whois_nregistry_domains;
}

void
iw_config_smtp(const struct iw_config *c, struct iw_smtp_conf *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->relay = c->smtp_relay;
	sc->starttls = c->smtp_starttls;
	sc->ca_file = c->smtp_ca_file;
	sc->username = c->smtp_username;
	sc->password = c->smtp_password;
	sc->helo = c->smtp_helo;
	sc->timeout_s = (int)c->smtp_timeout;
}

const char *
iw_config_default_path(void)
{
	const char *env = getenv("IPWARN_CONF");

	if (env != NULL && *env != '\0')
		return env;
	return IW_CONFIG_DEFAULT_PATH;
}

char *
iw_config_absolute(const char *path)
{
	char cwd[PATH_MAX], *out;
	size_t n;

	if (path[0] == '/')
		return iw_strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	n = strlen(cwd) + strlen(path) + 2;
	out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s/%s", cwd, path);
	return out;
}

int
iw_config_relay_is_loopback(const char *relay)
{
	char host[256];
	const char *end;
	struct in_addr a4;

	if (relay == NULL)
		return 0;
	if (relay[0] == '[') {
		end = strchr(relay, ']');
		if (end == NULL)
			return 0;
		iw_strlcpy_n(host, sizeof(host), relay + 1,
		    (size_t)(end - relay - 1));
		return strcmp(host, "::1") == 0;
	}
	end = strrchr(relay, ':');
	iw_strlcpy_n(host, sizeof(host), relay,
	    end ? (size_t)(end - relay) : strlen(relay));
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	/* 127.0.0.0/8, written as a dotted quad only: a name is not
	 * resolved here, so it does not count as loopback. */
	return inet_pton(AF_INET, host, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127;
}

int
iw_config_auth_in_clear(const struct iw_config *c)
{
	return c->smtp_username != NULL &&
	    c->smtp_starttls != IW_SMTP_TLS_REQUIRED;
}
