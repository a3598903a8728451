/*
 * ipwarn suppress / contact: the operator's lists — addresses that must get
 * no more letters, and networks whose abuse contact the operator knows
 * better than WHOIS.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
mailbox_arg(const char *s, char *out, size_t outsz)
{
	struct iw_err err;

	if (iw_mailbox_normalize(s, strlen(s), out, outsz, &err) < 0) {
		cli_error("%s: %s", s, err.msg);
		return EX_DATAERR;
	}
	return 0;
}

static void
print_row(void *arg, int n, const char *const *cols)
{
	int i;

	(void)arg;
	for (i = 0; i < n; i++)
		printf("%s%s", i > 0 ? "\t" : "", cols[i]);
	putchar('\n');
}

int
cmd_suppress(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "usage: ipwarn suppress add|del EMAIL "
	    "[--reason TEXT] | suppress list";
	const char *reason = NULL, *verb;
	char email[256];
	struct iw_err err;
	int ch, rc, deleted;

	while ((ch = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
		if (ch != 'r') {
			cli_error("%s", usage);
			return EX_USAGE;
		}
		reason = optarg;
	}
	if (optind >= argc) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	verb = argv[optind];
	if ((strcmp(verb, "list") == 0 && argc - optind != 1) ||
	    (strcmp(verb, "list") != 0 && argc - optind != 2)) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	if (reason != NULL && (strlen(reason) > 500 ||
	    !iw_utf8_valid(reason, strlen(reason)))) {
		cli_error("--reason: at most 500 bytes of UTF-8");
		return EX_USAGE;
	}
	if (strcmp(verb, "list") != 0 && strcmp(verb, "add") != 0 &&
	    strcmp(verb, "del") != 0) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	if (strcmp(verb, "list") != 0 &&
	    (rc = mailbox_arg(argv[optind + 1], email, sizeof(email))) != 0)
		return rc;
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_db(c, 1)) != 0)
		return rc;
	if (strcmp(verb, "list") == 0)
		rc = iw_db_suppress_list(c->db, print_row, NULL, &err);
	else if (strcmp(verb, "add") == 0)
		rc = iw_db_suppress_add(c->db, email, reason, "operator", &err);
	else {
		rc = iw_db_suppress_del(c->db, email, &deleted, &err);
		if (rc == 0 && !deleted)
			printf("%s was not suppressed\n", email);
	}
	if (rc < 0) {
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	return 0;
}

/* A network in CIDR form with no host bits set (PostgreSQL's cidr). */
static int
cidr_arg(const char *s, char *out, size_t outsz)
{
	unsigned char a[16];
	char addr[64], *end;
	const char *slash = strchr(s, '/');
	long plen;
	int af, max, i;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(addr))
		goto bad;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	af = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	max = af == AF_INET6 ? 128 : 32;
	if (inet_pton(af, addr, a) != 1)
		goto bad;
	plen = strtol(slash + 1, &end, 10);
	if (*end != '\0' || slash[1] == '\0' || plen < 0 || plen > max)
		goto bad;
	for (i = (int)plen; i < max; i++)
		if (a[i / 8] & (0x80 >> (i % 8))) {
			cli_error("%s: host bits set right of /%ld", s, plen);
			return EX_DATAERR;
		}
	inet_ntop(af, a, addr, sizeof(addr));
	snprintf(out, outsz, "%s/%ld", addr, plen);
	return 0;
bad:
	cli_error("%s: not a network in CIDR form (e.g. 192.0.2.0/24)", s);
	return EX_DATAERR;
}

int
cmd_contact(struct cli *c, int argc, char **argv)
{
	const char *usage = "usage: ipwarn contact set CIDR EMAIL | "
	    "contact del CIDR | contact list";
	char cidr[80], email[256];
	struct iw_err err;
	int rc, deleted, n = argc - 1;
	const char *verb = n >= 1 ? argv[1] : "";

	if (!((strcmp(verb, "list") == 0 && n == 1) ||
	    (strcmp(verb, "set") == 0 && n == 3) ||
	    (strcmp(verb, "del") == 0 && n == 2))) {
		cli_error("%s", usage);
		return EX_USAGE;
	}
	if (n >= 2 && (rc = cidr_arg(argv[2], cidr, sizeof(cidr))) != 0)
		return rc;
	if (n == 3 && (rc = mailbox_arg(argv[3], email, sizeof(email))) != 0)
		return rc;
	if ((rc = cli_config(c, IW_CONF_DATABASE)) != 0 ||
	    (rc = cli_db(c, 1)) != 0)
		return rc;
	if (n == 1)
		rc = iw_db_override_list(c->db, print_row, NULL, &err);
	else if (n == 3)
		rc = iw_db_override_set(c->db, cidr, email, &err);
	else {
		rc = iw_db_override_del(c->db, cidr, &deleted, &err);
		if (rc == 0 && !deleted)
			printf("no override for %s\n", cidr);
	}
	if (rc < 0) {
		cli_error("%s", err.msg);
		return EX_UNAVAILABLE;
	}
	return 0;
}
