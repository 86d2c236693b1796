/* Collecting a message body from the user: tilde escapes, `dot`, EOT, and the send mode. */
#include "mailcmd/mail.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char tilde_help[] =
	"-------------------- ~ ESCAPES ----------------------------\n"
	"~~             Quote a single tilde\n"
	"~b users       Add users to \"blind\" cc list\n"
	"~c users       Add users to cc list\n"
	"~e             Edit the message buffer\n"
	"~f messages    Read in messages\n"
	"~F messages    Same as ~f, but keep all header lines\n"
	"~h             Prompt for to list, subject and cc list\n"
	"~m messages    Read in messages, right shifted by a tab\n"
	"~M messages    Same as ~m, but keep all header lines\n"
	"~p             Print the message buffer\n"
	"~q             Quit, save letter in $HOME/dead.letter\n"
	"~x             Quit, do not save letter\n"
	"~r file        Read a file into the message buffer\n"
	"~s subject     Set subject\n"
	"~t users       Add users to To list\n"
	"~v             Invoke display editor on message\n"
	"~!command      Invoke the shell\n"
	"~.             End of message\n"
	"-----------------------------------------------------------\n";

static mail_interp_fn interp_fn;
static void *interp_ctx;

void mail_collect_set_interp(mail_interp_fn fn, void *ctx)
{
	interp_fn = fn;
	interp_ctx = ctx;
}

/* Runs cmd via the shell with the terminal attached; the user's own text, on purpose. */
static int run_shell(const char *cmd)
{
	pid_t pid;
	int status = 0;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void print_draft(const struct mail_draft *d)
{
	printf("-------\nMessage contains:\n");
	if (d->to)
		printf("To: %s\n", d->to);
	if (d->cc)
		printf("Cc: %s\n", d->cc);
	if (d->bcc)
		printf("Bcc: %s\n", d->bcc);
	if (d->subject)
		printf("Subject: %s\n", d->subject);
	printf("\n");
	if (d->body)
		fwrite(d->body, 1, d->body_len, stdout);
	printf("(continue)\n");
}

static void read_file(struct mail_draft *d, const char *name)
{
	while (*name == ' ' || *name == '\t')
		name++;
	FILE *fp = fopen(name, "r");
	char buf[8192];
	size_t n, bytes = 0, lines = 0;
	if (!*name) {
		printf("Interpolate what file?\n");
		return;
	}
	if (!fp) {
		fprintf(stderr, "%s: %s\n", name, strerror(errno));
		return;
	}
	while ((n = fread(buf, 1, sizeof buf, fp)) > 0) {
		mail_draft_append(d, buf, n);
		bytes += n;
		for (size_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	fclose(fp);
	printf("\"%s\" %zu/%zu\n", name, lines, bytes);
}

/* ~e/~v: the body goes through the user's editor (Heirloom's defaults: ed, vi). */
static void edit_draft(struct mail_draft *d, const char *var, const char *def)
{
	char *text;
	size_t len;
	if (mail_edit_text(var, def, d->body ? d->body : "", d->body_len, false, &text, &len) >= 0) {
		free(d->body);
		d->body = NULL;
		d->body_len = 0;
		mail_draft_append(d, text, len);
		free(text);
	}
	printf("(continue)\n");
}

/* ~h: one header at a time; the current value is shown in brackets, an empty answer keeps
 * it, a lone '-' clears it (no line editor to pre-fill the answer as Heirloom's TIOCSTI). */
static void ask_field(FILE *in, const char *label, char **field)
{
	char *line = NULL;
	size_t cap = 0;
	if (*field)
		printf("%s [%s]: ", label, *field);
	else
		printf("%s: ", label);
	fflush(stdout);
	ssize_t n = getline(&line, &cap, in);
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0) {
		free(*field);
		*field = strcmp(line, "-") ? strdup(line) : NULL;
	}
	free(line);
}

static void ask_headers(FILE *in, struct mail_draft *d)
{
	ask_field(in, "To", &d->to);
	ask_field(in, "Subject", &d->subject);
	ask_field(in, "Cc", &d->cc);
	ask_field(in, "Bcc", &d->bcc);
}

/* ~f ~F ~m ~M: messages of the open mailbox, when there is one. */
static void interpolate(struct mail_draft *d, char c, const char *list)
{
	if (!interp_fn) {
		printf("No messages to read in: not reading a mailbox.\n");
		return;
	}
	interp_fn(interp_ctx, list, c == 'm' || c == 'M', c == 'F' || c == 'M', d);
	printf("(continue)\n");
}

/* Handles one ~x line; returns 1 to end the message, 2 to abort (dead letter), 3 to abort
 * silently, 0 to go on. */
static int tilde(FILE *in, struct mail_draft *d, char *line, const char *home)
{
	char c = line[1];
	char *arg = line + 2;
	(void)home;
	while (*arg == ' ' || *arg == '\t')
		arg++;
	switch (c) {
	case '.': return 1;
	case 'q': return 2;
	case 'x': return 3;
	case 's':
		free(d->subject);
		d->subject = strdup(arg);
		return 0;
	case 't': mail_addr_append(&d->to, arg); return 0;
	case 'c': mail_addr_append(&d->cc, arg); return 0;
	case 'b': mail_addr_append(&d->bcc, arg); return 0;
	case 'r': case '<': read_file(d, arg); return 0;
	case 'p': print_draft(d); return 0;
	case 'h': ask_headers(in, d); return 0;
	case 'f': case 'F': case 'm': case 'M': interpolate(d, c, arg); return 0;
	case 'e': edit_draft(d, "EDITOR", "ed"); return 0;
	case 'v': edit_draft(d, "VISUAL", "vi"); return 0;
	case '!': run_shell(arg); printf("!\n"); return 0;
	case '?': fputs(tilde_help, stdout); return 0;
	case '~': mail_draft_append(d, line + 1, strlen(line + 1)); mail_draft_append(d, "\n", 1); return 0;
	default:
		printf("Unknown tilde escape.\n");
		return 0;
	}
}

static bool ask_at_end(void);

int mail_collect(FILE *in, bool interactive, struct mail_draft *d, const char *home)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	bool dot = mail_var_isset("dot");
	while ((n = getline(&line, &cap, in)) >= 0) {
		size_t len = (size_t)n;
		if (interactive && len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (interactive && dot && !strcmp(line, "."))
			break;
		if (interactive && line[0] == '~' && line[1]) {
			int t = tilde(in, d, line, home);
			if (t == 1)
				break;
			if (t >= 2) {
				rc = t == 2 && mail_var_get("save") != NULL ? 2 : 1;
				break;
			}
			continue;
		}
		mail_draft_append(d, line, len);
		if (interactive)
			mail_draft_append(d, "\n", 1);
	}
	/* Heirloom says EOT once the message is complete, unless Cc/Bcc questions follow */
	bool asks_after = ask_at_end() && (mail_var_isset("askcc") || mail_var_isset("askbcc"));
	if (interactive && rc == 0 && !asks_after)
		printf("EOT\n");
	free(line);
	fflush(stdout);
	return rc;
}

/* Prompts for a header value at the terminal (Subject:, Cc:); NULL at EOF. */
static char *prompt_line(const char *prompt)
{
	char *line = NULL;
	size_t cap = 0;
	fputs(prompt, stdout);
	fflush(stdout);
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		return NULL;
	}
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	return line;
}

/* Heirloom asks for Cc and Bcc after the body only with askatend or bsdcompat. */
static bool ask_at_end(void)
{
	return mail_var_isset("askatend") || mail_var_isset("bsdcompat");
}

/* The header prompts at a terminal, in Heirloom's order: Subject (ask/asksub, when none was
 * given), then Cc and Bcc (askcc, askbcc) unless they come after the body. */
void mail_ask_headers(struct mail_draft *d, bool at_end)
{
	if (!isatty(STDIN_FILENO))
		return;   /* Heirloom's `interactive`: scripts are never asked */
	if (!at_end && !d->subject && (mail_var_isset("ask") || mail_var_isset("asksub"))) {
		d->subject = prompt_line("Subject: ");
		if (d->subject && !*d->subject) {   /* "simply a newline": no Subject field */
			free(d->subject);
			d->subject = NULL;
		}
	}
	if (at_end != ask_at_end())
		return;
	if (mail_var_isset("askcc")) {
		char *cc = prompt_line("Cc: ");
		if (cc)
			mail_addr_append(&d->cc, cc);
		free(cc);
	}
	if (mail_var_isset("askbcc")) {
		char *bcc = prompt_line("Bcc: ");
		if (bcc)
			mail_addr_append(&d->bcc, bcc);
		free(bcc);
	}
}

int mail_send_mode(const struct config *cfg, struct mail_draft *d, const char *user, const char *home)
{
	bool tty = isatty(STDIN_FILENO);
	if (tty)
		mail_ask_headers(d, false);
	int rc = mail_collect(stdin, tty, d, home);
	if (rc == 2)
		mail_save_dead(cfg, user, home, d);
	if (rc != 0)
		return 1;
	if (tty)
		mail_ask_headers(d, true);
	if (tty && d->body_len == 0)
		printf("Null message body; hope that's ok\n");
	return mail_deliver_draft(cfg, d, user, home) == 0 ? 0 : 1;
}
