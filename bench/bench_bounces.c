/*
 * bench_bounces: measure the bounce parser on a labelled corpus.
 *
 *   bench_bounces CORPUS_DIR [-v]
 *
 * Reads CORPUS_DIR/labels.tsv (file, index, status, replycode, reason,
 * hardbounce) and every CORPUS_DIR/eml/ *.eml into memory, parses each, and
 * prints agreement with the labels: status code exact, hard/soft (class
 * hard <=> hardbounce 1), reason (Sisimai's name) exact, share of messages
 * with a recipient found, and the parse rate (parse only, repeated for at
 * least a second).
 *
 * Then a k-fold figure, to see overfitting: the corpus is cut into K
 * quarters by a hash of the file name; each quarter is parsed again with
 * every phrase switched off whose only correct uses on the corpus are in
 * that quarter (a phrase that would not have been written had the quarter
 * been held out), and the agreement on the held-out quarters is summed.
 * Codes and report structure are not fitted to the corpus and stay on.
 *
 * Last the worst misses, hard/soft disagreements first.  -v prints every
 * recipient and every miss.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "bounce_reason.h"
#include "util.h"

#define K	4		/* folds */

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
	int weight;	/* 3: hard/soft wrong, 2: status, 1: reason */
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

struct tally {
	size_t labelled, status, hardsoft, reason, msgs, found;
};

static unsigned
fold_of(const char *name)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % K;
}

/* The recipient a label is about: its index, else the last one found. */
static const struct iw_bounce_rcpt *
labelled_rcpt(const struct iw_bounce *b, const struct label *l)
{
	if (l->index >= 1 && (size_t)l->index <= b->nrcpt)
		return &b->rcpt[l->index - 1];
	return b->nrcpt > 0 ? &b->rcpt[b->nrcpt - 1] : NULL;
}

/*
 * Score one parsed message against its labels into t; note each correct
 * phrase use in support (a bit per fold); misses appended when not NULL.
 */
static void
score(const struct msg *m, const struct iw_bounce *b, const struct label *lv,
    size_t nl, struct tally *t, unsigned *support, size_t *uses,
    struct miss *misses, size_t *nmiss)
{
	int found = 0;

	for (size_t r = 0; r < b->nrcpt; r++)
		if (b->rcpt[r].address[0] != '\0')
			found = 1;
	t->msgs++;
	t->found += found;
	for (size_t k = 0; k < nl; k++) {
		const struct label *l = &lv[k];
		const struct iw_bounce_rcpt *r;
		int sok, hok, rok, hard;

		if (strcmp(l->file, m->name) != 0)
			continue;
		r = labelled_rcpt(b, l);
		t->labelled++;
		sok = r != NULL ? strcmp(r->status, l->status) == 0 :
		    l->status[0] == '\0';
		rok = r != NULL ? strcmp(r->reason, l->reason) == 0 :
		    strcmp(l->reason, "undefined") == 0;
		hard = r != NULL ? r->cls == IW_BOUNCE_HARD :
		    b->cls == IW_BOUNCE_HARD;
		hok = hard == (l->hard == 1);
		t->status += sok;
		t->reason += rok;
		t->hardsoft += hok;
		if (support != NULL && r != NULL && rok && r->rule > 0) {
			support[r->rule - 1] |= 1u << fold_of(m->name);
			uses[r->rule - 1]++;
		}
		if (misses != NULL && (!sok || !hok || !rok)) {
			struct miss *x = &misses[(*nmiss)++];

			x->file = l->file;
			x->index = l->index;
			x->weight = !hok ? 3 : !sok ? 2 : 1;
			snprintf(x->text, sizeof(x->text),
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
}

static void
print_rcpts(const struct msg *m, const struct iw_bounce *b)
{
	printf("%s class=%s kind=%d\n", m->name, iw_bounce_class_name(b->cls),
	    (int)b->kind);
	for (size_t r = 0; r < b->nrcpt; r++)
		printf("  %zu %s %s %s %s %d rule=%d [%s]\n", r + 1,
		    b->rcpt[r].address, b->rcpt[r].status, b->rcpt[r].reason,
		    iw_bounce_class_name(b->rcpt[r].cls),
		    b->rcpt[r].reply_code, b->rcpt[r].rule,
		    b->rcpt[r].diagnostic);
}

static double
pct(size_t n, size_t of)
{
	return of > 0 ? 100.0 * (double)n / (double)of : 0.0;
}

/*
 * The k-fold figure: each quarter parsed without the phrases only it
 * supports.  per[k] gets the quarter's own tally, all their sum.
 */
static int
kfold(const struct msg *msgs, size_t nm, const struct label *lv, size_t nl,
    const unsigned *support, struct tally *per, struct tally *all,
    size_t *fitted)
{
	size_t np = iw_bounce_reason_nphrases();
	unsigned char *off = calloc(np, 1);

	if (off == NULL)
		return -1;
	memset(all, 0, sizeof(*all));
	for (unsigned k = 0; k < K; k++) {
		struct iw_bounce_opts o = { off };

		fitted[k] = 0;
		for (size_t i = 0; i < np; i++) {
			off[i] = support[i] != 0 &&
			    (support[i] & ~(1u << k)) == 0;
			fitted[k] += off[i];
		}
		memset(&per[k], 0, sizeof(per[k]));
		for (size_t i = 0; i < nm; i++) {
			struct iw_bounce *b;
			struct iw_err err;

			if (fold_of(msgs[i].name) != k ||
			    iw_bounce_parse_opts(msgs[i].data, msgs[i].len, &o,
			    &b, &err) != 0)
				continue;
			score(&msgs[i], b, lv, nl, &per[k], NULL, NULL, NULL,
			    NULL);
			iw_bounce_free(b);
		}
		all->labelled += per[k].labelled;
		all->status += per[k].status;
		all->hardsoft += per[k].hardsoft;
		all->reason += per[k].reason;
	}
	free(off);
	return 0;
}

/* Parse everything for at least a second: messages per second. */
static double
parse_rate(const struct msg *msgs, size_t nm)
{
	int64_t t0 = iw_now_ms(), t1;
	size_t runs = 0;

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
	return (double)(runs * nm) * 1000.0 / (double)(t1 - t0);
}

int
main(int argc, char **argv)
{
	size_t nl, nm, nmiss = 0, np = iw_bounce_reason_nphrases(), used = 0;
	size_t once = 0, *uses = calloc(np, sizeof(*uses));
	size_t fitted[K];
	struct label *labels;
	struct msg *msgs;
	struct miss *misses;
	struct tally t = { 0 }, per[K], all;
	unsigned *support = calloc(np, sizeof(*support));
	int verbose = argc > 2 && strcmp(argv[2], "-v") == 0;

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
	if (misses == NULL || support == NULL || uses == NULL)
		return 70;
	for (size_t i = 0; i < nm; i++) {
		struct iw_bounce *b;
		struct iw_err err;

		if (iw_bounce_parse(msgs[i].data, msgs[i].len, &b, &err) != 0) {
			fprintf(stderr, "%s: %s\n", msgs[i].name, err.msg);
			continue;
		}
		if (verbose)
			print_rcpts(&msgs[i], b);
		score(&msgs[i], b, labels, nl, &t, support, uses, misses,
		    &nmiss);
		iw_bounce_free(b);
	}
	if (kfold(msgs, nm, labels, nl, support, per, &all, fitted) != 0)
		return 70;
	for (size_t i = 0; i < np; i++) {
		used += support[i] != 0;
		once += uses[i] == 1;
	}

	printf("messages:            %zu (%zu labelled recipients)\n", nm,
	    t.labelled);
	printf("status code exact:   %.1f %%\n", pct(t.status, t.labelled));
	printf("hard/soft agreement: %.1f %%\n", pct(t.hardsoft, t.labelled));
	printf("reason agreement:    %.1f %%\n", pct(t.reason, t.labelled));
	printf("recipient found:     %.1f %%\n", pct(t.found, t.msgs));
	printf("parse rate:          %.0f messages/s\n", parse_rate(msgs, nm));
	printf("k-fold (%d, held-out quarter's own phrases off): hard/soft "
	    "%.1f %%, status %.1f %%, reason %.1f %%\n", K,
	    pct(all.hardsoft, all.labelled), pct(all.status, all.labelled),
	    pct(all.reason, all.labelled));
	for (unsigned k = 0; k < K; k++)
		printf("  quarter %u: %3zu recipients, %2zu phrases off: "
		    "hard/soft %.1f %%, status %.1f %%, reason %.1f %%\n", k + 1,
		    per[k].labelled, fitted[k], pct(per[k].hardsoft,
		    per[k].labelled), pct(per[k].status, per[k].labelled),
		    pct(per[k].reason, per[k].labelled));
	printf("phrases: %zu in the table, %zu decide a correct reason on "
	    "this corpus, %zu of them for one recipient only\n", np, used,
	    once);
	for (size_t i = 0; verbose && i < np; i++)
		if (uses[i] == 1)
			printf("  used once: \"%s\"\n",
			    iw_bounce_reason_phrase_text(i));
	qsort(misses, nmiss, sizeof(*misses), cmp_miss);
	printf("misses: %zu (hard/soft wrong first, then status, reason)\n",
	    nmiss);
	for (size_t i = 0; i < nmiss && (verbose || i < 40); i++)
		printf("  %s #%d %s %s\n", misses[i].file, misses[i].index,
		    misses[i].weight == 3 ? "HARD/SOFT" :
		    misses[i].weight == 2 ? "status" : "reason",
		    misses[i].text);
	for (size_t i = 0; i < nm; i++)
		free(msgs[i].data);
	free(msgs);
	free(labels);
	free(misses);
	free(support);
	free(uses);
	return 0;
}
