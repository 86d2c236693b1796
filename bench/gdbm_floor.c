/* The naive newaliases floor: parse an aliases(5) file (name: value lines, no continuation
 * lines needed for the generated input) and gdbm_store each entry, one call per alias, with
 * GDBM's defaults. usage: gdbm_floor ALIASES DBFILE */
#include <gdbm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gdbm_floor ALIASES DBFILE\n");
		return 64;
	}
	FILE *in = fopen(argv[1], "r");
	if (!in) {
		perror(argv[1]);
		return 66;
	}
	remove(argv[2]);
	GDBM_FILE db = gdbm_open(argv[2], 0, GDBM_NEWDB, 0644, NULL);
	if (!db) {
		fprintf(stderr, "gdbm_open: %s\n", gdbm_strerror(gdbm_errno));
		return 73;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long count = 0;
	while ((len = getline(&line, &cap, in)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = 0;
		if (len == 0 || line[0] == '#')
			continue;
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		/* sendmail/postalias convention: the key and value include the terminating NUL. */
		datum k = { line, (int)strlen(line) + 1 }, d = { v, (int)strlen(v) + 1 };
		if (gdbm_store(db, k, d, GDBM_REPLACE) != 0) {
			fprintf(stderr, "gdbm_store: %s\n", gdbm_strerror(gdbm_errno));
			return 74;
		}
		count++;
	}
	gdbm_close(db);
	fprintf(stderr, "gdbm_floor: %ld aliases\n", count);
	return 0;
}
