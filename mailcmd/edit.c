/* Running the user's editor on a text (~e/~v while composing, edit/visual at the prompt). */
#include "mailcmd/mail.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The editor command: the mailx variable (set EDITOR=...), else the environment, else def. */
static const char *editor_command(const char *var, const char *def)
{
	const char *v = mail_var_get(var);
	if (!v || !*v)
		v = getenv(var);
	return v && *v ? v : def;
}

/* Writes all of text to fd. Returns 0 or errno. */
static int write_all(int fd, const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Runs `EDITOR "$1"` with path as $1 (the user's own command line, through the shell as
 * mailx does; the file name is never pasted into it). mail itself ignores SIGINT meanwhile,
 * as an interrupt belongs to the editor. Returns the exit status, -1 when it did not run. */
static int run_editor(const char *editor, const char *path)
{
	char cmd[CFG_PATH_MAX + 16];
	int status = 0;
	mail_fmt(cmd, sizeof cmd, "%s \"$1\"", editor);
	fflush(NULL);
	void (*old)(int) = signal(SIGINT, SIG_IGN);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, "sh", path, (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	signal(SIGINT, old);
	if (pid < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Reads the whole file at path into a malloc'd buffer. NULL with errno on failure. */
static char *read_back(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (*len + 8192 + 1 > cap) {
			char *bigger = realloc(buf, cap = cap * 2 + 8192 + 1);
			if (!bigger)
				break;
			buf = bigger;
		}
		ssize_t n = read(fd, buf + *len, cap - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			if (n < 0)
				break;
			buf[*len] = '\0';
			return buf;
		}
		*len += (size_t)n;
	}
	int err = errno;
	close(fd);
	free(buf);
	errno = err;
	return NULL;
}

int mail_edit_text(const char *var, const char *def, const char *text, size_t len, bool read_only, char **out,
		   size_t *out_len)
{
	char path[CFG_PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	*out = NULL;
	mail_fmt(path, sizeof path, "%s/mail.edXXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkostemp(path, O_CLOEXEC);     /* 0600: the text is private mail */
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	int err = write_all(fd, text, len);
	if (!err && read_only && fchmod(fd, 0400) != 0)
		err = errno;
	close(fd);
	int rc = -1;
	if (err) {
		fprintf(stderr, "%s: %s\n", path, strerror(err));
	} else {
		int st = run_editor(editor_command(var, def), path);
		if (st != 0)
			fprintf(stderr, "%s exited with status %d: no change\n", editor_command(var, def), st);
		else if ((*out = read_back(path, out_len)) == NULL)
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
		else
			rc = !read_only && (*out_len != len || memcmp(*out, text, len) != 0);
	}
	unlink(path);
	return rc;
}
