/*
 * view: how the operator's listings (campaigns, targets, letters, bounces,
 * the audit export) are printed — an aligned table for people, RFC 4180 CSV
 * and a JSON array of objects for programs.  Rows arrive from iw_db_each;
 * a table is buffered to align it, CSV and JSON stream.  Text from outside
 * (WHOIS, bounces, input files) is shown with control characters replaced,
 * so a listing cannot drive the terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VIEW_CELL_MAX 48	/* characters of a table cell */

int
cli_format_parse(const char *s, enum cli_format *f, unsigned allowed)
{
	static const char *const names[] = { "table", "csv", "json" };
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0 && (allowed & (1u << i))) {
			*f = (enum cli_format)i;
			return 0;
		}
	cli_error("--format %s: one of %s%s%s", s,
	    allowed & 1 ? "table " : "", allowed & 2 ? "csv " : "",
	    allowed & 4 ? "json" : "");
	return EX_USAGE;
}

/* Append s with C0 controls (but TAB) and DEL replaced by '?'. */
static int
put_shown(struct iw_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (iw_buf_putc(b, (c < 0x20 && c != '\t') || c == 0x7f ?
		    '?' : *s) < 0)
			return -1;
	}
	return 0;
}

void
cli_print_shown(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		putchar((c < 0x20 && c != '\t') || c == 0x7f ? '?' : *s);
	}
}

void
cli_print_lines(const char *s)
{
	const char *nl;

	for (; *s != '\0'; s = nl + 1) {
		size_t n = (nl = strchr(s, '\n')) != NULL ? (size_t)(nl - s) :
		    strlen(s);

		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			putchar((c < 0x20 && c != '\t') || c == 0x7f ? '?' :
			    s[i]);
		}
		putchar('\n');
		if (nl == NULL)
			break;
	}
}

static int
csv_field(struct iw_buf *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL)
		return put_shown(b, s);
	if (iw_buf_putc(b, '"') < 0)
		return -1;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int r;

		if (c == '"')
			r = iw_buf_puts(b, "\"\"");
		else if (c == '\r' || c == '\n')
			r = iw_buf_putc(b, *s);
		else
			r = iw_buf_putc(b, (c < 0x20 && c != '\t') ||
			    c == 0x7f ? '?' : *s);
		if (r < 0)
			return -1;
	}
	return iw_buf_putc(b, '"');
}

static int
json_value(struct iw_buf *b, char kind, const char *v)
{
	switch (kind) {
	case '-':
		return iw_buf_puts(b, "null");
	case 'n':
	case 'j':
		return iw_buf_puts(b, v);
	case 'b':
		return iw_buf_puts(b, strcmp(v, "t") == 0 ? "true" : "false");
	default:
		return iw_json_str(b, v);
	}
}

static void
emit(struct iw_buf *line)
{
	fwrite(line->data, 1, line->len, stdout);
	iw_buf_reset(line);
}

static void
row_csv(struct cli_view *v, const struct iw_db_row *r)
{
	int i, bad = 0;

	for (i = 0; i < r->ncols; i++) {
		if (i > 0)
			bad |= iw_buf_putc(&v->line, ',');
		bad |= csv_field(&v->line, r->values != NULL ? r->values[i] :
		    r->names[i]);
	}
	bad |= iw_buf_putc(&v->line, '\n');
	if (bad < 0)
		v->oom = 1;
	else
		emit(&v->line);
}

static void
row_json(struct cli_view *v, const struct iw_db_row *r)
{
	int i, bad = 0;

	if (r->values == NULL)
		return;
	bad |= iw_buf_puts(&v->line, v->rows == 0 ? "[\n  {" : ",\n  {");
	for (i = 0; i < r->ncols; i++) {
		bad |= iw_buf_puts(&v->line, i > 0 ? ", " : "");
		bad |= iw_json_str(&v->line, r->names[i]);
		bad |= iw_buf_puts(&v->line, ": ");
		bad |= json_value(&v->line, r->kinds[i], r->values[i]);
	}
	bad |= iw_buf_putc(&v->line, '}');
	if (bad < 0)
		v->oom = 1;
	else
		emit(&v->line);
}

/* Table cells are kept until the end, to align the columns. */
static void
row_table(struct cli_view *v, const struct iw_db_row *r)
{
	int i;

	if (v->ncols == 0)
		v->ncols = r->ncols;
	for (i = 0; i < r->ncols && i < v->ncols; i++) {
		char *cell;
		struct iw_buf b = IW_BUF_INIT;

		if (put_shown(&b, r->values != NULL ? (r->kinds[i] == '-' ?
		    "-" : r->values[i]) : r->names[i]) < 0 ||
		    (cell = iw_buf_steal(&b)) == NULL) {
			iw_buf_free(&b);
			v->oom = 1;
			return;
		}
		if (v->ncells == v->cap) {
			size_t nc = v->cap ? v->cap * 2 : 256;
			char **n = realloc(v->cells, nc * sizeof(*n));

			if (n == NULL) {
				free(cell);
				v->oom = 1;
				return;
			}
			v->cells = n;
			v->cap = nc;
		}
		v->cells[v->ncells++] = cell;
	}
}

void
cli_view_row(void *arg, const struct iw_db_row *r)
{
	struct cli_view *v = arg;

	if (v->oom)
		return;
	switch (v->fmt) {
	case CLI_CSV:
		row_csv(v, r);
		break;
	case CLI_JSON:
		row_json(v, r);
		break;
	default:
		row_table(v, r);
		break;
	}
	if (r->values != NULL)
		v->rows++;
}

/* Characters (not bytes) of UTF-8 text. */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Print s in w columns, cut at VIEW_CELL_MAX characters with '~'. */
static void
print_cell(const char *s, size_t w, int last)
{
	size_t n = 0, shown = 0;

	while (s[n] != '\0' && shown < VIEW_CELL_MAX) {
		n++;
		while (((unsigned char)s[n] & 0xc0) == 0x80)
			n++;
		shown++;
	}
	if (s[n] != '\0' && n > 0) {
		do
			n--;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80);
		printf("%.*s~", (int)n, s);
	} else
		fputs(s, stdout);
	if (!last)
		for (; shown < w + 2; shown++)
			putchar(' ');
}

static void
table_flush(struct cli_view *v)
{
	size_t *w, i, c, nrows;

	if (v->ncols == 0)
		return;
	w = iw_calloc((size_t)v->ncols, sizeof(*w));
	if (w == NULL) {
		v->oom = 1;
		return;
	}
	nrows = v->ncells / (size_t)v->ncols;
	for (i = 0; i < v->ncells; i++) {
		size_t cw = width(v->cells[i]);

		c = i % (size_t)v->ncols;
		if (cw > VIEW_CELL_MAX)
			cw = VIEW_CELL_MAX;
		if (cw > w[c])
			w[c] = cw;
	}
	for (i = 0; i < nrows; i++) {
		for (c = 0; c < (size_t)v->ncols; c++)
			print_cell(v->cells[i * (size_t)v->ncols + c], w[c],
			    c + 1 == (size_t)v->ncols);
		putchar('\n');
	}
	free(w);
}

int
cli_view_end(struct cli_view *v)
{
	size_t i;

	if (v->fmt == CLI_TABLE)
		table_flush(v);
	else if (v->fmt == CLI_JSON && !v->oom)
		fputs(v->rows == 0 ? "[]\n" : "\n]\n", stdout);
	for (i = 0; i < v->ncells; i++)
		free(v->cells[i]);
	free(v->cells);
	iw_buf_free(&v->line);
	if (v->oom) {
		cli_error("out of memory");
		return EX_OSERR;
	}
	return 0;
}
