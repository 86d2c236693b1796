/* Unit tests of the compiled programs libsieve keeps on disk (sieve_cache_save/load): a
 * program read back acts as the one compiled, and a file that is stale, damaged, of other
 * options or not trusted is never used. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/helpers.h"
#include "tests/unit/test_sieve_util.h"

static const char *dir;
static char script_path[1024], cache_path[1024];
static struct sieve_compile_opts opts;

static void setup(void)
{
	dir = th_tmpdir();
	snprintf(script_path, sizeof script_path, "%s/user.sieve", dir);
	snprintf(cache_path, sizeof cache_path, "%s/user.bin", dir);
	opts = (struct sieve_compile_opts){ .check_owner = true, .owner = geteuid(), .personal_dir = dir };
}

static void teardown(void)
{
	th_cleanup();
}

TestSuite(sieve_cache, .init = setup, .fini = teardown);

static struct sieve_script *compile_path(const char *text)
{
	th_write(script_path, text);
	struct sieve_errors errs;
	struct sieve_script *s = sieve_compile_file(script_path, &opts, &errs);
	cr_assert_not_null(s, "%s", errs.text);
	return s;
}

/* What the program does to msg, as mda-sieve-test prints it. */
static char *run(struct sieve_script *s, const char *msg)
{
	return st_run_many(&s, 1, msg, NULL, NULL);
}

/* Scripts that use every part of the compiled form: tests and their tags, lists, strings with
 * variables and match variables, regexes (constant and built at run time), blocks with
 * elsif/else, allof/anyof/not, include with globals, and the actions with their arguments. */
static const char *const programs[] = {
	"require [\"fileinto\", \"imap4flags\"];\n"
	"if header :contains \"subject\" \"tuesday\" { addflag \"\\\\Flagged\"; fileinto :flags \"\\\\Seen\" \"Meet\"; }\n"
	"elsif address :domain :is \"from\" \"example.com\" { fileinto \"Ex\"; } else { keep; }\n",
	"require [\"regex\", \"variables\", \"fileinto\", \"imap4flags\"];\n"
	"if header :regex \"subject\" \"^(\\\\w+) on (\\\\w+)$\" { fileinto \"${2}/${1}\"; }\n"
	"set \"p\" \"^Meet\"; if header :regex \"subject\" \"${p}\" { addflag \"x\"; }\n",
	"require [\"variables\", \"fileinto\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
	"set :upper \"a\" \"${1}x\"; if allof (not exists \"x-no\", anyof (size :over 10, true),\n"
	"  header :value \"gt\" :comparator \"i;ascii-numeric\" \"x-spam-score\" \"5\") { fileinto \"Spam${a}\"; stop; }\n",
	"require [\"vacation\", \"envelope\", \"subaddress\"];\n"
	"if envelope :user \"to\" \"bob\" { vacation :days 3 :subject \"away\" :addresses [\"bob@example.org\"] \"I am away\"; }\n",
	"require [\"body\", \"reject\", \"date\", \"relational\"];\n"
	"if body :text :contains \"room 42\" { if date :value \"ge\" \"date\" \"year\" \"2020\" { reject text:\nnot now\n.\n; } }\n",
	"require [\"include\", \"variables\", \"fileinto\"];\n"
	"global \"where\"; set \"where\" \"Inc\"; include :personal \"inner\"; fileinto \"${where}\";\n",
	"require [\"duplicate\", \"mailbox\", \"fileinto\", \"copy\"];\n"
	"if not duplicate :seconds 60 { fileinto :copy :create \"Once\"; } redirect :copy \"carol@example.org\";\n",
	"discard;\n",
};

Test(sieve_cache, a_program_read_back_does_what_the_compiled_one_does)
{
	th_write(th_path(dir, "inner.sieve"),
		 "require [\"include\", \"variables\"]; global \"where\"; set \"where\" \"${where}-inner\";\n");
	for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
		struct sieve_script *s = compile_path(programs[i]);
		cr_assert(sieve_cache_save(s, cache_path, script_path, &opts), "program %zu", i);
		struct sieve_script *back = sieve_cache_load(cache_path, script_path, &opts);
		cr_assert_not_null(back, "program %zu not read back", i);
		char *want = run(s, ST_MSG), *got = run(back, ST_MSG);
		cr_assert_str_eq(got, want, "program %zu: %s", i, programs[i]);
		free(want);
		free(got);
		sieve_script_free(s);
		sieve_script_free(back);
	}
}

static void save_one(void)
{
	struct sieve_script *s = compile_path(programs[1]);
	cr_assert(sieve_cache_save(s, cache_path, script_path, &opts));
	sieve_script_free(s);
	struct stat st;
	cr_assert(stat(cache_path, &st) == 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
}

static void assert_not_loaded(const char *why)
{
	struct sieve_script *back = sieve_cache_load(cache_path, script_path, &opts);
	cr_assert_null(back, "used although %s", why);
}

Test(sieve_cache, a_changed_script_or_include_is_compiled_again)
{
	save_one();
	struct stat st;
	cr_assert(stat(script_path, &st) == 0);
	struct timespec later[2] = { st.st_atim, { st.st_mtim.tv_sec + 1, st.st_mtim.tv_nsec } };
	cr_assert(utimensat(AT_FDCWD, script_path, later, 0) == 0);
	assert_not_loaded("the script changed");
	/* an include: its own file is one of the program's */
	th_write(th_path(dir, "inner.sieve"), "keep;\n");
	struct sieve_script *s = compile_path(programs[5]);
	cr_assert(sieve_cache_save(s, cache_path, script_path, &opts));
	sieve_script_free(s);
	cr_assert(utimensat(AT_FDCWD, th_path(dir, "inner.sieve"), later, 0) == 0);
	assert_not_loaded("the include changed");
}

Test(sieve_cache, other_options_or_another_script_do_not_use_it)
{
	save_one();
	opts.extensions = "-regex";
	assert_not_loaded("regex is now disabled");
	opts.extensions = NULL;
	opts.personal_dir = "/elsewhere";
	assert_not_loaded("include looks elsewhere");
	opts.personal_dir = dir;
	struct sieve_script *other = sieve_cache_load(cache_path, th_path(dir, "other.sieve"), &opts);
	cr_assert_null(other, "the program of one script was used for another");
}

/* Flips one byte of the file at off (from the end when negative). */
static void damage(long off)
{
	int fd = open(cache_path, O_RDWR);
	cr_assert(fd >= 0);
	off_t at = off >= 0 ? off : lseek(fd, 0, SEEK_END) + off;
	unsigned char c;
	cr_assert(pread(fd, &c, 1, at) == 1);
	c ^= 0x40;
	cr_assert(pwrite(fd, &c, 1, at) == 1);
	close(fd);
}

Test(sieve_cache, a_damaged_or_torn_file_is_not_used)
{
	save_one();
	damage(-1);
	assert_not_loaded("its last byte changed");
	save_one();
	damage(60);
	assert_not_loaded("a byte of its regexes changed");
	save_one();
	damage(8);
	assert_not_loaded("its format number changed");
	save_one();
	struct stat st;
	cr_assert(stat(cache_path, &st) == 0);
	cr_assert(truncate(cache_path, st.st_size / 2) == 0);
	assert_not_loaded("it is cut in half");
	th_write(cache_path, "");
	assert_not_loaded("it is empty");
}

Test(sieve_cache, a_file_others_may_write_or_a_link_is_not_believed)
{
	save_one();
	cr_assert(chmod(cache_path, 0620) == 0);
	assert_not_loaded("group may write it");
	cr_assert(chmod(cache_path, 0600) == 0);
	const char *real = th_path(dir, "real.bin");
	cr_assert(rename(cache_path, real) == 0);
	cr_assert(symlink(real, cache_path) == 0);
	assert_not_loaded("it is a symlink");
	cr_assert(unlink(cache_path) == 0);
	cr_assert(link(real, cache_path) == 0);
	assert_not_loaded("it has two links");
}

static int plant_copy(void *arg)
{
	size_t len;
	char *bytes = th_read(arg, &len);
	int fd = open(cache_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	int rc = fd >= 0 && write(fd, bytes, len) == (ssize_t)len ? 0 : 1;
	if (fd >= 0)
		close(fd);
	free(bytes);
	return rc;
}

/* Another user who can write the directory plants a copy of a good file: not the owner's. */
Test(sieve_cache, a_file_planted_by_another_user_is_not_believed)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: the attacker is a second user (nobody)");
	save_one();
	const char *copy = th_path(dir, "copy.bin");
	cr_assert(rename(cache_path, copy) == 0);
	cr_assert(chmod(copy, 0644) == 0);
	cr_assert(chmod(dir, 01777) == 0);
	cr_assert_eq(th_unprivileged(plant_copy, (void *)copy), 0);
	assert_not_loaded("nobody planted it");
}
