/*
 * cli: the `ipwarn` operator command.  main.c parses the global options and
 * dispatches; each command lives in its own file and returns a sysexits
 * code.  Errors go to stderr as one line ("ipwarn: what: why").
 */
#ifndef IW_CLI_H
#define IW_CLI_H

#include <stdio.h>
#include <sysexits.h>

#include "campaign.h"
#include "compose.h"
#include "config.h"
#include "db.h"
#include "feed.h"
#include "lines.h"
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
int cmd_campaign(struct cli *c, int argc, char **argv);
int cmd_targets(struct cli *c, int argc, char **argv);
int cmd_letters(struct cli *c, int argc, char **argv);
int cmd_letter(struct cli *c, int argc, char **argv);
int cmd_bounces(struct cli *c, int argc, char **argv);
int cmd_export(struct cli *c, int argc, char **argv);
int cmd_retry(struct cli *c, int argc, char **argv);
int cmd_render(struct cli *c, int argc, char **argv);
int cmd_observe(struct cli *c, int argc, char **argv);
int cmd_report(struct cli *c, int argc, char **argv);

/* Who runs the command, for the campaign's record: the login, and the
 * sudo user behind it ("root (sudo: alice)"). */
const char *cli_actor(void);

/* render.c: templates of the configuration and of one campaign. */
struct cli_letters {
	struct iw_letters *global;	/* letters.directory */
	struct iw_letters *own;		/* the campaign's --letters, or NULL */
	struct iw_campaign camp;	/* zeroed without a campaign */
};
/* Load letters.directory (every mapped locale must have a template: 78)
 * and, with a campaign name, that campaign's settings and templates. */
int cli_letters_open(struct cli *c, const char *campaign,
    struct cli_letters *L);
void cli_letters_close(struct cli_letters *L);
/* iw_compose with the campaign's name, vars, templates and the inline
 * limit filled in; 0 or an exit code after saying why. */
int cli_compose(struct cli *c, const struct cli_letters *L,
    struct iw_compose_in *in, struct iw_composed *out);
/* Print a message as an mbox entry, or decoded for reading. */
int cli_show_message(const struct iw_composed *m, int decode);

/* render.c: `letters --render`, `letters check`. */
int cli_render_letters(struct cli *c, int64_t campaign_id, const char *state,
    int decode);
int cli_letters_check(struct cli *c);

/* Look up a campaign the operator named; 0, or an exit code after saying
 * what is wrong (65 for an unknown name). */
int cli_campaign(struct cli *c, const char *name, struct iw_campaign *out);
/* The database section, the connection, then cli_campaign. */
int cli_db_campaign(struct cli *c, const char *name, struct iw_campaign *out);

/* status.c: the counts, as JSON members ("targets": {..}, "letters":
 * {..}) or as a table. */
int cli_status_json(struct iw_buf *b, const struct iw_db_status *s);
void cli_status_table(const struct iw_db_status *s);

/* --- input.c: a file of flagged IPs, read as enqueue reads it --- */
/* path NULL or "-": stdin.  0, or an exit code after saying why. */
int cli_open_input(const char *path, FILE **fp);
/* The input as the feed reads it, one line that is not skipped at a
 * time; the first can be read ahead, before the database is touched. */
struct cli_in {
	struct iw_lines *lr;
	struct iw_feed *f;
	long lineno;
	int held;		/* the line read ahead waits in kind/rec/why */
	enum iw_feed_kind kind;
	struct iw_input_rec rec;
	struct iw_err why;
};
/* The next line that is not skipped into in->kind, rec, why and lineno
 * (an over-long line is BAD): 1, 0 at the end, -1 on a read error. */
int cli_in_next(struct cli_in *in);

/* --- listings (view.c) --- */
enum cli_format { CLI_TABLE, CLI_CSV, CLI_JSON };
#define CLI_FMT_ALL 7u		/* table | csv | json */
#define CLI_FMT_DATA 6u		/* csv | json */

int cli_format_parse(const char *s, enum cli_format *f, unsigned allowed);

struct cli_view {
	enum cli_format fmt;
	long rows;
	int oom;
	struct iw_buf line;
	char **cells;		/* table: header + rows, ncols each */
	size_t ncells, cap;
	int ncols;
};
#define CLI_VIEW_INIT(f) { (f), 0, 0, IW_BUF_INIT, NULL, 0, 0, 0 }
/* An iw_db_named_row_fn printing rows in v->fmt. */
void cli_view_row(void *arg, const struct iw_db_row *row);
/* Print s with control characters shown as '?'. */
void cli_print_shown(const char *s);
/* The same line by line: each line of s (ends kept as newlines). */
void cli_print_lines(const char *s);
/* Finish the listing (align a table, close a JSON array); 0 or exit code. */
int cli_view_end(struct cli_view *v);

#endif
