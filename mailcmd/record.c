/* Handing a finished draft over: build, send through sendmail, keep a copy in `record`
 * (through the mbox library, like every other mailbox write), dead.letter on failure. */
#include "mailcmd/mail.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mbox/mbox.h"

bool mail_expand_path(const char *name, const char *home, char *out, size_t size)
{
	const char *folder = mail_var_get("folder");
	if (name[0] == '+') {
		if (!folder || !*folder)
			mail_fmt(out, size, "%s/%s", home, name + 1);
		else if (folder[0] == '/')
			mail_fmt(out, size, "%s/%s", folder, name + 1);
		else
			mail_fmt(out, size, "%s/%s/%s", home, folder, name + 1);
	} else if (name[0] == '~' && (name[1] == '/' || !name[1])) {
		mail_fmt(out, size, "%s%s", home, name + 1);
	} else if (name[0] != '/' && mail_var_isset("outfolder") && folder && *folder) {
		char plus[CFG_PATH_MAX + 2];
		mail_fmt(plus, sizeof plus, "+%s", name);
		return mail_expand_path(plus, home, out, size);
	} else {
		mail_fmt(out, size, "%s", name);
	}
	return out[0] != '\0';
}

/* Appends msg in mbox form (From_ line of user, quoted body) to path under its lock. */
static int append_mbox(const struct config *cfg, const char *user, const char *path, const char *msg, size_t len)
{
	struct mbox_spool sp;
	struct result r = { 0 };
	if (mbox_spool_open(&sp, cfg->tmp_dir, &r) == EX_OK && mbox_spool_write(&sp, msg, len, &r) == EX_OK &&
	    mbox_spool_finish(&sp, &r) == EX_OK) {
		struct mbox_delivery d = {
			.path = path, .owner = { getuid(), (gid_t)-1 }, .dotlock = false, .sender = user,
			.arrival = time(NULL), .msg = &sp, .quoting = cfg->mbox_quoting,
			.lock_timeout = cfg->lock_timeout, .fsync = cfg->fsync,
		};
		mbox_append(&d, &r);
	}
	mbox_spool_close(&sp);
	if (r.ex != EX_OK) {
		fprintf(stderr, "mail: %s: %s\n", path, r.reason);
		return -1;
	}
	return 0;
}

int mail_record_to(const struct config *cfg, const char *user, const char *home, const char *name,
		   const char *msg, size_t len)
{
	char path[CFG_PATH_MAX];
	if (!mail_expand_path(name, home, path, sizeof path))
		return -1;
	return append_mbox(cfg, user, path, msg, len);
}

int mail_record(const struct config *cfg, const char *user, const char *home, const char *msg, size_t len)
{
	const char *rec = mail_var_get("record");
	if (!rec || !*rec)
		return 0;
	return mail_record_to(cfg, user, home, rec, msg, len);
}

int mail_save_dead(const struct config *cfg, const char *user, const char *home, const struct mail_draft *d)
{
	char path[CFG_PATH_MAX + 32], err[256] = "", host[256];
	const char *dead = mail_var_get("DEAD");
	size_t len = 0, lines = 0;
	if (dead && *dead)
		mail_expand_path(dead, home, path, sizeof path);
	else
		mail_fmt(path, sizeof path, "%s/dead.letter", home);
	cfg_mail_hostname(cfg, host, sizeof host);
	char *msg = mail_build_message(d, user, host, time(NULL), &len, err, sizeof err);
	if (!msg) {
		fprintf(stderr, "mail: %s\n", err);
		return -1;
	}
	/* dead.letter is a mailbox (From_ line, quoted body), mode 0600 as the user's own file */
	mode_t old = umask(077);
	int rc = append_mbox(cfg, user, path, msg, len);
	umask(old);
	for (size_t i = 0; i < len; i++)
		lines += msg[i] == '\n';
	if (rc == 0)
		printf("\"%s\" %zu/%zu\n", path, lines, len);
	free(msg);
	return rc;
}

int mail_deliver_draft(const struct config *cfg, const struct mail_draft *d, const char *user,
		       const char *home)
{
	char err[512] = "", host[256];
	size_t len = 0;
	cfg_mail_hostname(cfg, host, sizeof host);
	char *msg = mail_build_message(d, user, host, time(NULL), &len, err, sizeof err);
	if (!msg || mail_send_message(cfg, d, msg, len, err, sizeof err) != 0) {
		fprintf(stderr, "mail: %s\n", err);
		mail_save_dead(cfg, user, home, d);
		free(msg);
		return -1;
	}
	/* the message is sent; a failed copy is reported but does not make the send fail */
	if (d->record)
		mail_record_to(cfg, user, home, d->record, msg, len);
	else
		mail_record(cfg, user, home, msg, len);
	free(msg);
	return 0;
}
