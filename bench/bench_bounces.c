/*
 * bench_bounces: measure the bounce parser on a labelled corpus.
 *
 *   bench_bounces CORPUS_DIR [-v]
 *
 * Reads CORPUS_DIR/labels.tsv (file, index, status, replycode, reason,
 * hardbounce) and every CORPUS_DIR/eml/ *.eml into memory, parses each, and
 * prints agreement with the labels: status code exact, hard/soft (class
 * hard <=> hardbounce 1), share of messages with a recipient found, and the
 * parse rate (parse only, repeated for at least a second).  Then the worst
 * misses, hard/soft disagreements first.  -v prints every recipient.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "util.h"

struct label {
	char file[128];
	int index;
	char status[16];
	char reason[32];
	int hard;
};

struct msg {
	char name[128];
	char *data;
	size_t len;
};

struct miss {
	const char *file;
	int index;
	int weight;	/* 2: hard/soft wrong, 1: status wrong */
	char text[256];
};

static int
load_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct iw_buf b = IW_BUF_INIT;
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (iw_buf_append(&b, chunk, n) != 0) {
			fclose(f);
			iw_buf_free(&b);
			return -1;
		}
	fclose(f);
	*len = b.len;
	*data = iw_buf_steal(&b);
	return *data != NULL ? 0 : -1;
}

static struct label *
load_labels(const char *dir, size_t *n)
{
	char path[4096], line[1024];
	FILE *f;
	struct label *v = NULL;
	size_t cap = 0;

	*n = 0;
	snprintf(path, sizeof(path), "%s/labels.tsv", dir);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fld[6] = { 0 };
		char *p = line, *tab;
		int k = 0;
		struct label *l;

		line[strcspn(line, "\r\n")] = '\0';
		while (k < 6) {
			fld[k++] = p;
			if ((tab = strchr(p, '\t')) == NULL)
				break;
			*tab = '\0';
			p = tab + 1;
		}
		if (k < 6 || strcmp(fld[0], "file") == 0)
			continue;
		if (*n == cap) {
			struct label *nv;

			cap = cap ? cap * 2 : 256;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL)
				break;
			v = nv;
		}
		l = &v[(*n)++];
		iw_strlcpy(l->file, fld[0], sizeof(l->file));
		l->index = atoi(fld[1]);
		iw_strlcpy(l->status, fld[2], sizeof(l->status));
		iw_strlcpy(l->reason, fld[4], sizeof(l->reason));
		l->hard = atoi(fld[5]);
	}
	fclose(f);
	return v;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct msg *)a)->name,
	    ((const struct msg *)b)->name);
}

static int
cmp_miss(const void *a, const void *b)
{
	const struct miss *x = a, *y = b;

	if (x->weight != y->weight)
		return y->weight - x->weight;
	return strcmp(x->file, y->file);
}

static struct msg *
load_msgs(const char *dir, size_t *n)
{
	char path[4096];
	DIR *d;
	struct dirent *de;
	struct msg *v = NULL;
	size_t cap = 0;

	*n = 0;
	snprintf(path, sizeof(path), "%s/eml", dir);
	if ((d = opendir(path)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		char fp[4096 + 256];

		if (nl < 5 || strcmp(de->d_name + nl - 4, ".eml") != 0 ||
		    nl >= sizeof(v->name))
			continue;
		if (*n == cap) {
			struct msg *nv;

			cap = cap ? cap * 2 : 256;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL)
				break;
			v = nv;
		}
		snprintf(fp, sizeof(fp), "%s/%s", path, de->d_name);
		if (load_file(fp, &v[*n].data, &v[*n].len) != 0)
			continue;
		iw_strlcpy(v[*n].name, de->d_name, sizeof(v[*n].name));
		(*n)++;
	}
	closedir(d);
	qsort(v, *n, sizeof(*v), cmp_name);
	return v;
}

int
main(int argc, char **argv)
{
	size_t nl, nm, nmiss = 0, lab_total = 0, st_ok = 0, hs_ok = 0;
	size_t with_rcpt = 0, runs = 0, rs_ok = 0;
	struct label *labels;
	struct msg *msgs;
	struct miss *misses;
	int verbose = argc > 2 && strcmp(argv[2], "-v") == 0;
	int64_t t0, t1;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_bounces CORPUS_DIR [-v]\n");
		return 64;
	}
	labels = load_labels(argv[1], &nl);
	msgs = load_msgs(argv[1], &nm);
	if (labels == NULL || msgs == NULL || nm == 0) {
		fprintf(stderr, "%s: cannot read labels.tsv or eml/\n", argv[1]);
		return 66;
	}
	misses = calloc(nl + 1, sizeof(*misses));
	if (misses == NULL)
		return 70;

	for (size_t i = 0; i < nm; i++) {
		struct iw_bounce *b;
		struct iw_err err;
		int found = 0;

		if (iw_bounce_parse(msgs[i].data, msgs[i].len, &b, &err) != 0) {
			fprintf(stderr, "%s: %s\n", msgs[i].name, err.msg);
			continue;
		}
		for (size_t r = 0; r < b->nrcpt; r++)
			if (b->rcpt[r].address[0] != '\0')
				found = 1;
		with_rcpt += found;
		if (verbose) {
			printf("%s class=%s kind=%d\n", msgs[i].name,
			    iw_bounce_class_name(b->cls), (int)b->kind);
			for (size_t r = 0; r < b->nrcpt; r++)
				printf("  %zu %s %s %s %s %d rule=%d [%s]\n",
				    r + 1, b->rcpt[r].address,
				    b->rcpt[r].status, b->rcpt[r].reason,
				    iw_bounce_class_name(b->rcpt[r].cls),
				    b->rcpt[r].reply_code, b->rcpt[r].rule,
				    b->rcpt[r].diagnostic);
		}
		for (size_t k = 0; k < nl; k++) {
			const struct label *l = &labels[k];
			const struct iw_bounce_rcpt *r = NULL;
			int sok, hok, hard;

			if (strcmp(l->file, msgs[i].name) != 0)
				continue;
			lab_total++;
			if (l->index >= 1 && (size_t)l->index <= b->nrcpt)
				r = &b->rcpt[l->index - 1];
			else if (b->nrcpt > 0)	/* fewer found: compare the last */
				r = &b->rcpt[b->nrcpt - 1];
			sok = r != NULL ? strcmp(r->status, l->status) == 0 :
			    l->status[0] == '\0';
			rs_ok += r != NULL ? strcmp(r->reason, l->reason) == 0 :
			    strcmp(l->reason, "undefined") == 0;
			hard = r != NULL ? r->cls == IW_BOUNCE_HARD :
			    b->cls == IW_BOUNCE_HARD;
			hok = hard == (l->hard == 1);
			st_ok += sok;
			hs_ok += hok;
			if (!sok || !hok) {
				struct miss *m = &misses[nmiss++];

				m->file = l->file;
				m->index = l->index;
				m->weight = !hok ? 2 : 1;
				snprintf(m->text, sizeof(m->text),
				    "expected %s/%s/%s got %s/%s/%s [%.120s]",
				    l->status[0] ? l->status : "-", l->reason,
				    l->hard ? "hard" : "not-hard",
				    r && r->status[0] ? r->status : "-",
				    r ? r->reason : "-",
				    r ? iw_bounce_class_name(r->cls) :
				    iw_bounce_class_name(b->cls),
				    r ? r->diagnostic : "");
			}
		}
		iw_bounce_free(b);
	}

	t0 = iw_now_ms();
	do {
		for (size_t i = 0; i < nm; i++) {
			struct iw_bounce *b;
			struct iw_err err;

			if (iw_bounce_parse(msgs[i].data, msgs[i].len, &b,
			    &err) == 0)
				iw_bounce_free(b);
		}
		runs++;
		t1 = iw_now_ms();
	} while (t1 - t0 < 1000);

	printf("messages:            %zu (%zu labelled recipients)\n", nm,
	    lab_total);
	printf("status code exact:   %.1f %%\n",
	    lab_total ? 100.0 * (double)st_ok / (double)lab_total : 0.0);
	printf("hard/soft agreement: %.1f %%\n",
	    lab_total ? 100.0 * (double)hs_ok / (double)lab_total : 0.0);
	printf("reason agreement:    %.1f %%\n",
	    lab_total ? 100.0 * (double)rs_ok / (double)lab_total : 0.0);
	printf("recipient found:     %.1f %%\n", 100.0 * (double)with_rcpt /
	    (double)nm);
	printf("parse rate:          %.0f messages/s\n",
	    (double)(runs * nm) * 1000.0 / (double)(t1 - t0));
	qsort(misses, nmiss, sizeof(*misses), cmp_miss);
	printf("misses: %zu (hard/soft wrong first)\n", nmiss);
	for (size_t i = 0; i < nmiss && (verbose || i < 40); i++)
		printf("  %s #%d %s %s\n", misses[i].file, misses[i].index,
		    misses[i].weight == 2 ? "HARD/SOFT" : "status",
		    misses[i].text);
	for (size_t i = 0; i < nm; i++)
		free(msgs[i].data);
	free(msgs);
	free(labels);
	free(misses);
	return 0;
}
