/* Folder names of fileinto and mailboxexists, mapped onto the user's mail folder directory
 * (mail(1)'s +name): '/' separates levels, which become subdirectories, as in Dovecot's mbox
 * layout; nothing a name holds can leave that directory or reach a dot file. */
#include "sieve/internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int sieve_folder_path(const char *name, char *out, size_t size, const char **why)
{
	size_t len = strlen(name);
	*why = NULL;
	if (len == 0)
		return *why = "empty name", -1;
	if (strcasecmp(name, "INBOX") == 0)
		return 1;
	if (len >= size || len > 1000)
		return *why = "name too long", -1;
	if (!sv_utf8_valid(name, len))
		return *why = "not UTF-8", -1;
	if (name[0] == '/')
		return *why = "absolute path", -1;
	const char *p = name;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0)
			return *why = "empty level (\"//\" or a trailing '/')", -1;
		if (n > 255)
			return *why = "level longer than 255 bytes", -1;
		if (p[0] == '.')
			return *why = (n == 2 && p[1] == '.') ? "\"..\" level" : "level starting with '.'", -1;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 32 || p[i] == 127)
				return *why = "control character", -1;
		/* INBOX is the spool mailbox, a file: it cannot hold folders in mbox */
		if (p == name && n == 5 && strncasecmp(p, "INBOX", 5) == 0)
			return *why = "INBOX cannot have subfolders", -1;
		if (!slash)
			break;
		p = slash + 1;
	}
	memcpy(out, name, len + 1);
	return 0;
}
