/*
 * lines: read a file one line at a time in a fixed amount of memory.  A
 * line longer than the cap is not kept: it is reported as too long and the
 * reader resumes after its end, so one broken line never makes the
 * process's memory grow with the file.
 */
#ifndef IW_LINES_H
#define IW_LINES_H

#include <stddef.h>
#include <stdio.h>

#define IW_LINES_MAX 65536	/* bytes of a line, without its '\n' */

struct iw_lines;

/* A reader of fp for lines of at most max bytes; NULL when out of memory. */
struct iw_lines *iw_lines_new(FILE *fp, size_t max);
void iw_lines_free(struct iw_lines *l);

/*
 * The next line, without its newline (a CR before it is kept): 1 with
 * line and len set, or with *too_long = 1 and *len = 0 for a line over the
 * cap; 0 at the end of the file; -1 on a read error (errno set).  The line
 * stays valid until the next call.
 */
int iw_lines_next(struct iw_lines *l, const char **line, size_t *len,
    int *too_long);

#endif
