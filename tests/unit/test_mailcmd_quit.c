/* Unit tests for mail(1)'s quit semantics and Status handling on real mailbox files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mailcmd/session.h"
#include "tests/unit/helpers.h"

static const char box[] =
	"From a@x Fri Sep 29 04:03:11 2023\nFrom: a@x\nSubject: one\n\nbody one\n\n"
	"From b@x Fri Sep 29 04:03:12 2023\nFrom: b@x\nSubject: two\nStatus: O\n\nbody two\n\n"
	"From c@x Fri Sep 29 04:03:13 2023\nFrom: c@x\nSubject: three\nStatus: RO\n\nbody three\n\n"
	"From d@x Fri Sep 29 04:03:14 2023\nFrom: d@x\nSubject: four\n\nbody four\n\n";

static struct config cfg;
static struct mail_session s;
static const char *dir;

static void setup(void)
{
	dir = th_tmpdir();
	th_world(&cfg, dir);
	mail_vars_reset();
	th_write(th_path(cfg.spool_dir, "alice"), box);
	memset(&s, 0, sizeof s);
	s.cfg = &cfg;
	snprintf(s.user, sizeof s.user, "alice");
	snprintf(s.home, sizeof s.home, "%s/home/alice", dir);
	cr_assert_eq(mail_sess_open(&s, th_path(cfg.spool_dir, "alice"), true), 0);
	cr_assert_eq(s.n, 4);
}

static void teardown(void)
{
	th_cleanup();
}

TestSuite(mailcmd_quit, .init = setup, .fini = teardown);

Test(mailcmd_quit, status_read_from_file)
{
	cr_expect_eq(s.msgs[0].flags & (MAIL_M_NEW | MAIL_M_READ), MAIL_M_NEW);
	cr_expect_eq(s.msgs[1].flags & (MAIL_M_NEW | MAIL_M_READ), 0);
	cr_expect_eq(s.msgs[2].flags & MAIL_M_READ, MAIL_M_READ);
	cr_expect_eq(s.cur, 0);   /* first new message */
	cr_expect_str_eq(s.msgs[3].subject, "four");
	mail_sess_close(&s, false);
}

Test(mailcmd_quit, read_to_mbox_deleted_dropped_rest_held)
{
	s.msgs[0].flags |= MAIL_M_READ | MAIL_M_TOUCH;   /* read this session: to ~/mbox */
	s.msgs[3].flags |= MAIL_M_DELETED;                /* deleted: gone */
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *spool = th_read(th_path(cfg.spool_dir, "alice"), NULL);
	char *mbox = th_read(th_path(s.home, "mbox"), NULL);
	/* message 2 was old and unread, 3 read in an earlier session: both held, Status kept */
	cr_expect_null(strstr(spool, "Subject: one"));
	cr_expect_null(strstr(spool, "Subject: four"));
	cr_expect(strstr(spool, "Subject: two\nStatus: O\n"));
	cr_expect(strstr(spool, "Subject: three\nStatus: RO\n"));
	cr_expect(strstr(mbox, "Subject: one\nStatus: RO\n\nbody one\n"));
	free(spool);
	free(mbox);
}

Test(mailcmd_quit, hold_keeps_read_mail_and_new_becomes_old)
{
	mail_var_set("hold", NULL);
	s.msgs[0].flags |= MAIL_M_READ | MAIL_M_TOUCH;
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *spool = th_read(th_path(cfg.spool_dir, "alice"), NULL);
	cr_expect(strstr(spool, "Subject: one\nStatus: RO\n"));
	cr_expect(strstr(spool, "Subject: four\nStatus: O\n"));
	cr_expect_eq(access(th_path(s.home, "mbox"), F_OK), -1);
	free(spool);
}

Test(mailcmd_quit, saved_leaves_unless_keepsave_and_preserve_wins)
{
	s.msgs[0].flags |= MAIL_M_READ | MAIL_M_TOUCH | MAIL_M_SAVED;
	s.msgs[2].flags |= MAIL_M_TOUCH | MAIL_M_PRESERVE;
	s.msgs[3].flags |= MAIL_M_MBOX | MAIL_M_TOUCH;
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *spool = th_read(th_path(cfg.spool_dir, "alice"), NULL);
	char *mbox = th_read(th_path(s.home, "mbox"), NULL);
	cr_expect_null(strstr(spool, "Subject: one"));
	cr_expect(strstr(spool, "Subject: three"));
	cr_expect_null(strstr(mbox, "Subject: one"));
	cr_expect(strstr(mbox, "Subject: four"));
	free(spool);
	free(mbox);
}

Test(mailcmd_quit, exit_leaves_file_untouched)
{
	s.msgs[0].flags |= MAIL_M_DELETED;
	mail_sess_close(&s, false);
	char *spool = th_read(th_path(cfg.spool_dir, "alice"), NULL);
	cr_expect_str_eq(spool, box);
	free(spool);
}

Test(mailcmd_quit, mail_arriving_meanwhile_is_kept_at_the_end)
{
	s.msgs[0].flags |= MAIL_M_DELETED;
	FILE *fp = fopen(th_path(cfg.spool_dir, "alice"), "a");
	fputs("From e@x Fri Sep 29 04:03:15 2023\nFrom: e@x\nSubject: late\n\nlate body\n\n", fp);
	fclose(fp);
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *spool = th_read(th_path(cfg.spool_dir, "alice"), NULL);
	cr_expect_null(strstr(spool, "Subject: one"));
	char *late = strstr(spool, "Subject: late");
	cr_expect(late && late > strstr(spool, "Subject: four"));
	free(spool);
}

Test(mailcmd_quit, folder_file_keeps_read_mail)
{
	mail_sess_close(&s, false);
	const char *f = th_path(dir, "folder");
	th_write(f, box);
	cr_assert_eq(mail_sess_open(&s, f, false), 0);
	s.msgs[0].flags |= MAIL_M_READ | MAIL_M_TOUCH;
	s.msgs[1].flags |= MAIL_M_DELETED;
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *text = th_read(f, NULL);
	cr_expect(strstr(text, "Subject: one\nStatus: RO\n"));
	cr_expect_null(strstr(text, "Subject: two"));
	cr_expect_eq(access(th_path(s.home, "mbox"), F_OK), -1);
	free(text);
}

static const char old_mbox[] = "From z@x Thu Sep 28 04:03:11 2023\nFrom: z@x\nSubject: older\nStatus: RO\n\nolder body\n\n";

/* `append` unset (Heirloom's default): read mail goes in front of what ~/mbox held. */
Test(mailcmd_quit, read_mail_goes_to_the_front_of_mbox_without_append)
{
	th_write(th_path(s.home, "mbox"), old_mbox);
	s.msgs[0].flags |= MAIL_M_READ | MAIL_M_TOUCH;
	s.msgs[3].flags |= MAIL_M_READ | MAIL_M_TOUCH;
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *mbox = th_read(th_path(s.home, "mbox"), NULL);
	char *one = strstr(mbox, "Subject: one"), *four = strstr(mbox, "Subject: four");
	char *older = strstr(mbox, "Subject: older");
	cr_assert(one && four && older, "%s", mbox);
	cr_expect(mbox == strstr(mbox, "From a@x "), "first message is not the newly read one:\n%s", mbox);
	cr_expect(one < four && four < older, "order wrong:\n%s", mbox);
	free(mbox);
}

Test(mailcmd_quit, read_mail_goes_to_the_end_of_mbox_with_append)
{
	mail_var_set("append", NULL);
	th_write(th_path(s.home, "mbox"), old_mbox);
	s.msgs[0].flags |= MAIL_M_READ | MAIL_M_TOUCH;
	s.msgs[3].flags |= MAIL_M_READ | MAIL_M_TOUCH;
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *mbox = th_read(th_path(s.home, "mbox"), NULL);
	char *one = strstr(mbox, "Subject: one"), *four = strstr(mbox, "Subject: four");
	char *older = strstr(mbox, "Subject: older");
	cr_assert(one && four && older, "%s", mbox);
	cr_expect(!strncmp(mbox, old_mbox, strlen(old_mbox)), "old messages moved:\n%s", mbox);
	cr_expect(older < one && one < four, "order wrong:\n%s", mbox);
	free(mbox);
}

/* The deliverer of the race test below: locks the mailbox as mda does (no dotlock: mail -f
 * takes none either, so only fcntl orders the two) until *stop, appending a message on every
 * 8th lock and leaving the lock free for a moment after each. It does not wait for the lock
 * (timeout 0) but tries again at once: its opens then fall anywhere in a quit's locked
 * section, its rename included; "locked" (4.2.1) is only busy. Writes "delivered refused". */
static void race_deliverer(const char *path, volatile int *stop, int fd)
{
	int delivered = 0, refused = 0;
	for (int i = 0; !*stop; i++) {
		struct mbox_lock lk;
		struct result r = { 0 };
		char msg[128];
		if (mbox_lock(path, MBOX_LOCK_WRITE | MBOX_LOCK_NODOTLOCK, NULL, 0, &lk, &r) != EX_OK) {
			if (strcmp(r.dsn, "4.2.1") != 0 && refused++ == 0)
				fprintf(stderr, "delivery refused: %s\n", r.reason);
			continue;
		}
		int n = snprintf(msg, sizeof msg, "From r@x Fri Sep 29 04:03:15 2023\nSubject: race %d\n\nbody\n\n", i);
		if (i % 8 == 0 && mbox_append_raw(&lk, msg, (size_t)n, false, &r) == EX_OK)
			delivered++;
		mbox_unlock(&lk);
		nanosleep(&(struct timespec){ 0, 20000 }, NULL);
	}
	dprintf(fd, "%d %d\n", delivered, refused);
}

/* The torture's mix in two processes: deliveries while sessions delete message 1 and quit,
 * each quit renaming its rewrite over the mailbox. A delivery that opened the old file just
 * before a rename must go on with the new one: never refused as "replaced while being
 * opened" (a deferral for an ordinary rewrite), never written into the old file. */
Test(mailcmd_quit, deliveries_racing_with_quits_rename_are_not_refused, .timeout = 60)
{
	const char *path = th_path(cfg.spool_dir, "alice");
	int pfd[2], delivered = -1, refused = -1, quits = 0;
	volatile int *stop = mmap(NULL, sizeof *stop, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(stop, MAP_FAILED);
	*stop = 0;
	mail_sess_close(&s, false);
	cr_assert_eq(pipe(pfd), 0);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		race_deliverer(path, stop, pfd[1]);
		_exit(0);
	}
	close(pfd[1]);
	while (quits < 100) {
		cr_assert_eq(mail_sess_open(&s, path, false), 0);
		bool drops = s.n >= 2;
		if (drops)
			s.msgs[0].flags |= MAIL_M_DELETED;
		cr_assert_eq(mail_sess_close(&s, true), 0, "quit failed");
		quits += drops;
	}
	*stop = 1;
	FILE *fp = fdopen(pfd[0], "r");
	cr_assert(fp && fscanf(fp, "%d %d", &delivered, &refused) == 2);
	fclose(fp);
	waitpid(pid, NULL, 0);
	cr_expect_eq(refused, 0, "%d of the deliverer's locks were refused during %d quits", refused, quits);
	struct mbox_index idx;
	struct result r = { 0 };
	cr_assert_eq(mbox_index_open(path, &idx, &r), EX_OK);
	cr_expect_eq(idx.count, 4 + (size_t)delivered - (size_t)quits, "%zu messages, want 4 + %d delivered - %d deleted",
		     idx.count, delivered, quits);
	mbox_index_close(&idx);
}

/* ---- memory: quit streams what it files in ~/mbox ---- */

#define BIG_MSGS 12000     /* 4 KB each: a 48 MB system mailbox */

static struct mail_session big;

/* bob's big system mailbox, every message read in this session. */
static int open_big_read(void *arg)
{
	(void)arg;
	big = (struct mail_session){ .cfg = &cfg };
	snprintf(big.user, sizeof big.user, "bob");
	snprintf(big.home, sizeof big.home, "%s/home/bob", dir);
	if (mail_sess_open(&big, th_path(cfg.spool_dir, "bob"), true) != 0 || big.n != BIG_MSGS)
		return 1;
	for (size_t i = 0; i < big.n; i++)
		big.msgs[i].flags |= MAIL_M_READ | MAIL_M_TOUCH;
	return 0;
}

static int quit_big(void *arg)
{
	(void)arg;
	return mail_sess_close(&big, true) != 0;
}

/* Quitting moves every read message to the front of ~/mbox: they stream from the mailbox
 * into it (they were rendered into one buffer as big as all of them: 48 MB more here). */
Test(mailcmd_quit, read_mail_moves_to_mbox_through_a_fixed_window)
{
	const char *spool = th_path(cfg.spool_dir, "bob"), *mbox = th_path(dir, "home/bob/mbox");
	long long size = th_big_mbox(spool, BIG_MSGS, 4000);
	th_write(mbox, old_mbox);
	long grew = th_peak_growth_kib(open_big_read, quit_big, NULL);
	cr_assert_gt(grew, -1, "the quit failed");
	cr_assert_lt(grew, 12 * 1024, "quitting a %lld-byte mailbox grew the peak RSS by %ld KiB", size, grew);
	struct mbox_index idx;
	struct result r;
	cr_assert_eq(mbox_index_open(mbox, &idx, &r), EX_OK, "%s", r.reason);
	cr_assert_eq(idx.count, BIG_MSGS + 1);
	cr_assert_str_eq(idx.msgs[0].subject, "m0");
	cr_assert_eq(idx.msgs[BIG_MSGS - 1].flags, MBOX_F_READ | MBOX_F_OLD);
	cr_assert_str_eq(idx.msgs[BIG_MSGS].subject, "older");
	mbox_index_close(&idx);
	char *left = th_read(spool, NULL);
	cr_assert_str_eq(left, "");
	free(left);
}

/* Heirloom's quit writes what it moves to ~/mbox as save writes it: saveignore and
 * saveretain leave fields out there too (Status is the session's and stays). */
Test(mailcmd_quit, saveignore_applies_to_what_quit_moves_to_mbox)
{
	mail_ignore_add(MAIL_SAVEIGNORE, "from");
	s.msgs[0].flags |= MAIL_M_READ | MAIL_M_TOUCH;
	cr_assert_eq(mail_sess_close(&s, true), 0);
	char *mbox = th_read(th_path(s.home, "mbox"), NULL);
	cr_expect(strstr(mbox, "From a@x Fri Sep 29 04:03:11 2023\nSubject: one\nStatus: RO\n\nbody one\n"),
		  "the From: field is left out, the From_ line stays:\n%s", mbox);
	char *spool = th_read(th_path(cfg.spool_dir, "alice"), NULL);
	cr_expect(strstr(spool, "From: b@x\nSubject: two\n"), "held messages keep every field:\n%s", spool);
	free(mbox);
	free(spool);
}
