/* The project's version (set once, in the Makefile) and what each program was built with. */
#ifndef COMMON_VERSION_H
#define COMMON_VERSION_H

#include <stdio.h>

/* Writes "PROG VERSION" and a line naming the GDBM, PCRE2 and liblockfile versions the
 * programs were compiled against (--version, -V). Never fails. */
void version_print(const char *prog, FILE *out);

/* The last component of argv0 ("mda", never "/usr/local/libexec/mda"), for messages. */
const char *version_prog_name(const char *argv0);

#endif
