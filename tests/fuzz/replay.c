/*
 * replay: a main() for the libFuzzer targets in this directory, so that
 * `make check` builds each of them with the project's compiler and
 * warnings, and runs it (under ASan/UBSan in `make check-asan`) on real
 * outside text: every file under tests/fixtures and ../shared/corpus
 * (WHOIS answers, DSNs and other bounces), whole, cut short and cut from
 * the middle, and the empty input.  A target checks its own invariants
 * and aborts when one fails; this program fails when a target does, or
 * when it found no input at all.  Fuzzing itself: `make fuzz` (clang).
 *
 * Arguments: directories to read instead of the two above.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer runs these targets with -max_len=4096; real inputs are read
 * up to this much. */
#define REPLAY_MAX (64 * 1024)

static long inputs;

/* One input as the target gets it: an exact-size heap copy, so that a
 * read past its end shows under ASan. */
static void
feed(const unsigned char *p, size_t n)
{
	unsigned char *c = malloc(n > 0 ? n : 1);

	if (c == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		exit(1);
	}
	memcpy(c, p, n);
	LLVMFuzzerTestOneInput(c, n);
	free(c);
	inputs++;
}

static void
replay_file(const char *path)
{
	unsigned char *buf = malloc(REPLAY_MAX);
	FILE *f = fopen(path, "rb");
	size_t n;

	if (buf == NULL || f == NULL) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		exit(1);
	}
	n = fread(buf, 1, REPLAY_MAX, f);
	fclose(f);
	feed(buf, n);
	feed(buf, n / 2);			/* cut short */
	feed(buf + n / 3, n - n / 3);		/* from the middle of a line */
	free(buf);
}

static void
replay_dir(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    e->d_name) >= sizeof(path) || stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 4)
			replay_dir(path, depth + 1);
		else if (S_ISREG(st.st_mode))
			replay_file(path);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	static const char *const dflt[] = { "tests/fixtures",
		"../shared/corpus" };
	const char *name = strrchr(argv[0], '/');
	int i;

	feed((const unsigned char *)"", 0);
	if (argc > 1)
		for (i = 1; i < argc; i++)
			replay_dir(argv[i], 0);
	else
		for (i = 0; i < 2; i++)
			replay_dir(dflt[i], 0);
	name = name != NULL ? name + 1 : argv[0];
	if (inputs < 2) {
		printf("%s: no input found (run from the source tree)\n", name);
		printf("[  FAILED  ] 1 test(s), listed below:\n");
		return 1;
	}
	printf("%s: %ld inputs replayed\n", name, inputs);
	printf("[  PASSED  ] 1 test(s).\n");
	return 0;
}
