/* --version output: the Makefile's VERSION and the library versions seen at compile time. */
#include "common/version.h"

#include "common/config.h"

#include <gdbm.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#ifndef MDA_VERSION
#define MDA_VERSION "unknown"
#endif
#ifndef MDA_LOCKFILE_VERSION
#define MDA_LOCKFILE_VERSION "unknown"   /* liblockfile has no version macro: the Makefile asks dpkg */
#endif


void version_print(const char *prog, FILE *out)
{
	fprintf(out, "%s %s\n", prog, MDA_VERSION);
	fprintf(out, "built with GDBM %d.%d.%d, PCRE2 %d.%d, liblockfile %s\n", GDBM_VERSION_MAJOR,
		GDBM_VERSION_MINOR, GDBM_VERSION_PATCH, PCRE2_MAJOR, PCRE2_MINOR, MDA_LOCKFILE_VERSION);
	fprintf(out, "configuration file: %s\n", cfg_default_file());
}

const char *version_prog_name(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
	return slash ? slash + 1 : argv0 && *argv0 ? argv0 : "mda";
}
