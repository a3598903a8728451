/*
 * cli: the `ipwarn` operator command.  main.c parses the global options and
 * dispatches; each command lives in its own file and returns a sysexits
 * code.  Errors go to stderr as one line ("ipwarn: what: why").
 */
#ifndef IW_CLI_H
#define IW_CLI_H

#include <sysexits.h>

#include "config.h"
#include "db.h"
#include "util.h"

struct cli {
	const char *config_path;
	struct iw_config *cfg;
	struct iw_db *db;
};

void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Load the configuration and require sections; returns 0 or an exit code. */
int cli_config(struct cli *c, unsigned sections);
/* Connect to the database and check the schema; 0 or an exit code. */
int cli_db(struct cli *c, int check_schema);

int cmd_db(struct cli *c, int argc, char **argv);
int cmd_enqueue(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_preview(struct cli *c, int argc, char **argv);
int cmd_suppress(struct cli *c, int argc, char **argv);
int cmd_contact(struct cli *c, int argc, char **argv);
int cmd_bounce(struct cli *c, int argc, char **argv);
int cmd_build(struct cli *c, int argc, char **argv);

/* JSON string literal of s (UTF-8 kept, controls escaped). */
int cli_json_str(struct iw_buf *b, const char *s);

#endif
