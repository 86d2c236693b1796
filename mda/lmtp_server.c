/* LMTP entry points: `mda -l` on stdin/stdout, and `mda -L` listeners (unix, inet, systemd
 * socket activation) with a process per connection, signals for stop/reload, and reaping. */
#include "mda/lmtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/result.h"
#include "mda/lmtp_peer.h"
#include "mda/lmtp_proto.h"
#include "mbox/mbox.h"

#define LMTP_MAX_LISTENERS 16
#define LMTP_BACKLOG 128

struct lmtp_listener {
	int fd;
	char unix_path[CFG_PATH_MAX];  /* ours to unlink, or "" */
	dev_t dev;
	ino_t ino;
};

/* A session process and the client it serves, for the per-client connection limit. */
struct lmtp_kid {
	pid_t pid;
	struct lmtp_peer peer;
};

struct lmtp_server {
	const struct mda_invocation *inv;
	struct config cfg;
	struct lmtp_listener ls[LMTP_MAX_LISTENERS];
	size_t n_ls;
	struct lmtp_kid *kids;
	size_t n_kids;
	size_t cap_kids;
};

static volatile sig_atomic_t got_term, got_hup, got_chld;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	got_hup = 1;
}

static void on_chld(int sig)
{
	(void)sig;
	got_chld = 1;
}

static void set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	/* Restart slow calls inside delivery code; our own waits use ppoll, which never restarts. */
	sa.sa_flags = SA_RESTART;
	sigaction(sig, &sa, NULL);
}

static int load_config(const struct mda_invocation *inv, struct config *cfg, struct result *r)
{
	if (cfg_init(cfg, inv->conf_path, inv->overrides, inv->n_overrides, r) != EX_OK)
		return r->ex;
	log_init("mda", cfg->log);
	mbox_set_shared_spool(cfg->shared_spool);   /* sessions are forked after this */
	return EX_OK;
}

/* ------------------------------------------------------------------------------------------
 * stdio mode
 * ------------------------------------------------------------------------------------------ */

int lmtp_serve_stdio(const struct mda_invocation *inv, int in_fd, int out_fd)
{
	struct config cfg;
	struct result r;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct lmtp_peer peer = { .name = "stdin" };
	if (load_config(inv, &cfg, &r) != EX_OK) {
		log_msg(LOG_ERR, "%s", r.reason);
		return r.ex;
	}
	/* inetd and systemd Accept=yes hand us a connected socket: name the client in logs. */
	if (getpeername(in_fd, (struct sockaddr *)&ss, &len) == 0)
		lmtp_peer_identify(in_fd, &ss, len, &peer);
	set_handler(SIGTERM, on_term);
	set_handler(SIGINT, on_term);
	return lmtp_run_session(&cfg, in_fd, out_fd, &peer, &got_term);
}

/* ------------------------------------------------------------------------------------------
 * Listeners
 * ------------------------------------------------------------------------------------------ */

static int add_listener(struct lmtp_server *sv, int fd, const char *unix_path, struct result *r)
{
	if (sv->n_ls == LMTP_MAX_LISTENERS) {
		close(fd);
		return res_set(r, EX_USAGE, "4.3.5", "more than %d listening sockets", LMTP_MAX_LISTENERS);
	}
	struct lmtp_listener *l = &sv->ls[sv->n_ls++];
	struct stat st;
	/* Non-blocking: a client that vanishes between poll and accept must not stall the loop. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	l->fd = fd;
	snprintf(l->unix_path, sizeof l->unix_path, "%s", unix_path ? unix_path : "");
	if (unix_path && stat(unix_path, &st) == 0) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	return EX_OK;
}

/* True when something accepts connections on name (relative to the working directory). */
static bool unix_socket_alive(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool alive = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EAGAIN;
	close(fd);
	return alive;
}

/* A live server must never be replaced; a dead one's socket file may. */
static int check_stale(const char *name, const char *path, struct result *r)
{
	struct stat st;
	if (lstat(name, &st) != 0)
		return errno == ENOENT ? EX_OK : res_errno(r, errno, false, "lstat %s", path);
	if (!S_ISSOCK(st.st_mode))
		return res_set(r, EX_CANTCREAT, "4.3.5", "%s exists and is not a socket; not replacing it", path);
	if (unix_socket_alive(name))
		return res_set(r, EX_TEMPFAIL, "4.3.5", "another server is listening on %s", path);
	return EX_OK;
}

/* lmtp_socket_owner/lmtp_socket_group on the new socket. Failing that (no such user or group,
 * or not permitted) it stays as created, with the daemon's owner and group and
 * lmtp_socket_mode: closed to everyone else, never opened wider. One warning says why. */
static void give_socket(const char *name, const struct config *cfg)
{
	const char *user = cfg->lmtp_socket_owner, *group = cfg->lmtp_socket_group;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	const char *problem = NULL;
	struct passwd *pw = user[0] ? getpwnam(user) : NULL;
	struct group *gr = group[0] ? getgrnam(group) : NULL;
	if (!user[0] && !group[0])
		return;
	if (user[0] && !pw)
		problem = "no such user";
	else if (group[0] && !gr)
		problem = "no such group";
	else {
		uid = pw ? pw->pw_uid : (uid_t)-1;
		gid = gr ? gr->gr_gid : (gid_t)-1;
		if (chown(name, uid, gid) == 0)
			return;
		problem = strerror(errno);
	}
	log_msg(LOG_WARNING, "cannot give the LMTP socket to %s:%s (%s); it keeps uid %lu gid %lu, mode %s",
		user[0] ? user : "-", group[0] ? group : "-", problem, (unsigned long)geteuid(),
		(unsigned long)getegid(), cfg->lmtp_socket_mode);
}

/* Binds name.PID.tmp in the working directory, sets owner, group and mode, then renames it
 * over name: clients never see the socket with the wrong mode, and a stale socket file is
 * replaced in one atomic step. Returns the listening fd or -1 (r set). */
static int bind_unix_here(const char *name, const char *path, const struct config *cfg, struct result *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t mode = (mode_t)strtol(cfg->lmtp_socket_mode, NULL, 8);
	int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s.%u.tmp", name, (unsigned)getpid());
	if (n < 0 || (size_t)n >= sizeof sa.sun_path) {
		res_set(r, EX_USAGE, "4.3.5", "socket name too long: %s", path);
		return -1;
	}
	if (check_stale(name, path, r) != EX_OK)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		res_errno(r, errno, false, "socket");
		return -1;
	}
	unlink(sa.sun_path);
	/* Under a umask that closes it: nobody connects before chmod decides who may. */
	mode_t old_umask = umask(0177);
	int bound = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old_umask);
	if (bound == 0)
		give_socket(sa.sun_path, cfg);
	if (bound != 0 || listen(fd, LMTP_BACKLOG) != 0 || chmod(sa.sun_path, mode) != 0 ||
	    rename(sa.sun_path, name) != 0) {
		int err = errno;
		close(fd);
		unlink(sa.sun_path);
		res_errno(r, err, false, "listen on unix:%s", path);
		return -1;
	}
	return fd;
}

/* The socket is made from inside its directory, so only its name counts against the 108
 * bytes of sun_path, not the whole path: Postfix connects the same way (private/NAME from
 * its queue directory), so any queue_directory Postfix accepts works here too. */
static int open_unix(struct lmtp_server *sv, const char *path, struct result *r)
{
	char dir[CFG_PATH_MAX], base[CFG_PATH_MAX];
	if (strlen(path) >= CFG_PATH_MAX)
		return res_set(r, EX_USAGE, "4.3.5", "socket path too long: %s", path);
	snprintf(dir, sizeof dir, "%s", path);
	snprintf(base, sizeof base, "%s", path);
	const char *d = dirname(dir), *name = basename(base);
	if (mkdir(d, 0755) != 0 && errno != EEXIST)
		return res_errno(r, errno, false, "mkdir for %s", path);
	int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (here < 0)
		return res_errno(r, errno, false, "open the working directory");
	int fd = -1;
	if (chdir(d) != 0)
		res_errno(r, errno, false, "cannot enter %s", d);
	else
		fd = bind_unix_here(name, path, &sv->cfg, r);
	if (fchdir(here) != 0 && fd >= 0) {
		close(fd);
		fd = -1;
		res_errno(r, errno, false, "cannot return to the working directory");
	}
	close(here);
	return fd < 0 ? r->ex : add_listener(sv, fd, path, r);
}

/* "HOST:PORT" or "[V6]:PORT"; HOST "" or "*" is every address. */
static int split_hostport(char *spec, char **host, char **port)
{
	char *colon;
	if (spec[0] == '[') {
		char *end = strchr(spec, ']');
		if (!end || end[1] != ':')
			return -1;
		*end = '\0';
		*host = spec + 1;
		*port = end + 2;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -1;
		*colon = '\0';
		*host = spec;
		*port = colon + 1;
	}
	if (**port == '\0')
		return -1;
	if (**host == '\0' || strcmp(*host, "*") == 0)
		*host = NULL;
	return 0;
}

static int bind_inet(const struct addrinfo *ai)
{
	int one = 1;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* Wildcard binds list IPv4 and IPv6 separately; keep them from colliding. */
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LMTP_BACKLOG) != 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int open_inet(struct lmtp_server *sv, const char *spec, struct result *r)
{
	char buf[512], *host, *port;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	snprintf(buf, sizeof buf, "%s", spec);
	if (split_hostport(buf, &host, &port) != 0)
		return res_set(r, EX_USAGE, "4.3.5", "bad address inet:%s (want HOST:PORT or [IPV6]:PORT)", spec);
	int err = getaddrinfo(host, port, &hints, &res);
	if (err != 0)
		return res_set(r, EX_USAGE, "4.3.5", "inet:%s: %s", spec, gai_strerror(err));
	int bound = 0, saved = 0;
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = bind_inet(ai);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (add_listener(sv, fd, NULL, r) != EX_OK)
			break;
		bound++;
	}
	freeaddrinfo(res);
	if (bound == 0)
		return res_errno(r, saved ? saved : EADDRNOTAVAIL, false, "listen on inet:%s", spec);
	return EX_OK;
}

/* systemd socket activation without libsystemd: LISTEN_PID must be us, fds start at 3. */
static int take_systemd(struct lmtp_server *sv, struct result *r)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!pid || !fds || strtol(pid, NULL, 10) != (long)getpid())
		return res_set(r, EX_USAGE, "4.3.5", "no sockets passed by systemd (LISTEN_PID/LISTEN_FDS)");
	long n = strtol(fds, NULL, 10);
	if (n < 1 || n > LMTP_MAX_LISTENERS)
		return res_set(r, EX_USAGE, "4.3.5", "bad LISTEN_FDS=%s", fds);
	for (int fd = 3; fd < 3 + n; fd++) {
		int acc = 0;
		socklen_t len = sizeof acc;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) != 0 || !acc)
			return res_set(r, EX_USAGE, "4.3.5", "fd %d from systemd is not a listening socket", fd);
		if (add_listener(sv, fd, NULL, r) != EX_OK)
			return r->ex;
	}
	/* Commands run by deliveries must not believe the sockets are theirs. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return EX_OK;
}

static int open_listeners(struct lmtp_server *sv, const char *address, struct result *r)
{
	if (strncmp(address, "unix:", 5) == 0)
		return open_unix(sv, address + 5, r);
	if (address[0] == '/')
		return open_unix(sv, address, r);
	if (strncmp(address, "inet:", 5) == 0)
		return open_inet(sv, address + 5, r);
	if (strcmp(address, "systemd") == 0)
		return take_systemd(sv, r);
	return res_set(r, EX_USAGE, "4.3.5", "bad listen address %s (unix:PATH, inet:HOST:PORT or systemd)",
		       address);
}

/* Closes the listeners; removes socket files that are still the ones we created. */
static void close_listeners(struct lmtp_server *sv)
{
	for (size_t i = 0; i < sv->n_ls; i++) {
		struct lmtp_listener *l = &sv->ls[i];
		struct stat st;
		close(l->fd);
		if (l->unix_path[0] && stat(l->unix_path, &st) == 0 && st.st_dev == l->dev &&
		    st.st_ino == l->ino)
			unlink(l->unix_path);
	}
	sv->n_ls = 0;
}

/* ------------------------------------------------------------------------------------------
 * Children
 * ------------------------------------------------------------------------------------------ */

/* Makes room for one more child before forking, so a fork is never left untracked. */
static bool kid_room(struct lmtp_server *sv)
{
	if (sv->n_kids < sv->cap_kids)
		return true;
	size_t cap = sv->cap_kids ? sv->cap_kids * 2 : 32;
	struct lmtp_kid *v = realloc(sv->kids, cap * sizeof *v);
	if (!v)
		return false;
	sv->kids = v;
	sv->cap_kids = cap;
	return true;
}

static void forget_kid(struct lmtp_server *sv, pid_t pid)
{
	for (size_t i = 0; i < sv->n_kids; i++) {
		if (sv->kids[i].pid == pid) {
			sv->kids[i] = sv->kids[--sv->n_kids];
			return;
		}
	}
}

static void reap(struct lmtp_server *sv, bool block)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, block ? 0 : WNOHANG)) > 0 || (pid < 0 && errno == EINTR)) {
		if (pid < 0)
			continue;
		forget_kid(sv, pid);
		if (WIFSIGNALED(status))
			log_msg(LOG_WARNING, "session process %ld killed by signal %d", (long)pid, WTERMSIG(status));
		if (block && sv->n_kids == 0)
			return;
	}
}

/* The child: default dispositions except SIGTERM (finish the transaction, then 421), and the
 * signal mask the parent started with, so commands run by deliveries inherit a clean state. */
static void run_child(struct lmtp_server *sv, int fd, const struct lmtp_peer *peer, const sigset_t *orig)
{
	for (size_t i = 0; i < sv->n_ls; i++)
		close(sv->ls[i].fd);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	got_term = 0;
	set_handler(SIGTERM, on_term);
	sigprocmask(SIG_SETMASK, orig, NULL);
	int rc = lmtp_run_session(&sv->cfg, fd, fd, peer, &got_term);
	close(fd);
	_exit(rc);
}

static void refuse(struct lmtp_server *sv, int fd, const char *peer, const char *dsn, const char *text)
{
	char line[512], host[256] = "localhost";
	if (sv->cfg.hostname[0])
		snprintf(host, sizeof host, "%s", sv->cfg.hostname);
	else
		(void)gethostname(host, sizeof host - 1);   /* the name sessions greet with */
	int n = snprintf(line, sizeof line, "421 %s %s %s\r\n", dsn, host, text);
	log_msg(LOG_WARNING, "refusing connection from %s: %s", peer, text);
	if (n > 0 && (size_t)n < sizeof line)
		(void)!send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* lmtp_client_connection_limit: one uid (or one remote address) cannot take every session
 * slot, so the MTA still gets in while another local user holds connections open. */
static bool client_over_limit(const struct lmtp_server *sv, const struct lmtp_peer *peer)
{
	size_t limit = sv->cfg.lmtp_client_connection_limit > 0 ? (size_t)sv->cfg.lmtp_client_connection_limit : 0;
	size_t n = 0;
	if (limit == 0)
		return false;
	for (size_t i = 0; i < sv->n_kids; i++)
		if (lmtp_peer_same(&sv->kids[i].peer, peer))
			n++;
	return n >= limit;
}

static void accept_one(struct lmtp_server *sv, int lfd, const sigset_t *orig)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct lmtp_peer peer;
	int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_msg(LOG_WARNING, "accept: %s", strerror(errno));
		return;
	}
	lmtp_peer_identify(fd, &ss, len, &peer);
	if (client_over_limit(sv, &peer)) {
		refuse(sv, fd, peer.name, "4.7.0", peer.kind == PEER_UID ?
		       "Error: too many connections from your uid, try again later" :
		       "Error: too many connections from your address, try again later");
		return;
	}
	if (sv->cfg.lmtp_max_connections > 0 && sv->n_kids >= (size_t)sv->cfg.lmtp_max_connections) {
		refuse(sv, fd, peer.name, "4.3.2", "Error: too many connections, try again later");
		return;
	}
	if (!kid_room(sv)) {
		refuse(sv, fd, peer.name, "4.3.2", "Error: out of memory, try again later");
		return;
	}
	pid_t pid = fork();
	if (pid == 0)
		run_child(sv, fd, &peer, orig);
	if (pid < 0) {
		refuse(sv, fd, peer.name, "4.3.2", "Error: cannot fork, try again later");
		return;
	}
	sv->kids[sv->n_kids++] = (struct lmtp_kid){ .pid = pid, .peer = peer };
	close(fd);
}

/* ------------------------------------------------------------------------------------------
 * The daemon
 * ------------------------------------------------------------------------------------------ */

static void reload(struct lmtp_server *sv)
{
	struct config cfg;
	struct result r;
	if (load_config(sv->inv, &cfg, &r) != EX_OK) {
		log_msg(LOG_ERR, "configuration not reloaded: %s", r.reason);
		return;
	}
	sv->cfg = cfg;
	log_msg(LOG_INFO, "configuration reloaded; new sessions use it");
}

/* SIGTERM: stop accepting, ask the sessions to end after their transaction, wait for them. */
static void drain(struct lmtp_server *sv)
{
	close_listeners(sv);
	log_msg(LOG_INFO, "stopping; waiting for %zu session(s)", sv->n_kids);
	for (size_t i = 0; i < sv->n_kids; i++)
		kill(sv->kids[i].pid, SIGTERM);
	if (sv->n_kids > 0)
		reap(sv, true);
}

static void serve_loop(struct lmtp_server *sv, const sigset_t *orig)
{
	struct pollfd pfd[LMTP_MAX_LISTENERS];
	for (size_t i = 0; i < sv->n_ls; i++)
		pfd[i] = (struct pollfd){ .fd = sv->ls[i].fd, .events = POLLIN };
	for (;;) {
		if (got_chld) {
			got_chld = 0;
			reap(sv, false);
		}
		if (got_hup) {
			got_hup = 0;
			reload(sv);
		}
		if (got_term)
			return;
		int n = ppoll(pfd, sv->n_ls, NULL, orig);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_msg(LOG_ERR, "poll: %s", strerror(errno));
			return;
		}
		for (size_t i = 0; i < sv->n_ls; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(sv, pfd[i].fd, orig);
	}
}

int lmtp_serve_listen(const struct mda_invocation *inv, const char *address)
{
	struct lmtp_server sv = { .inv = inv };
	struct result r;
	sigset_t block, orig;
	if (load_config(inv, &sv.cfg, &r) != EX_OK) {
		log_startup_error("%s", r.reason);
		return r.ex;
	}
	if (open_listeners(&sv, address, &r) != EX_OK) {
		log_startup_error("%s", r.reason);
		close_listeners(&sv);
		return r.ex;
	}
	/* Signals are only let in inside ppoll: a flag set by a handler is always seen before the
	 * next wait, and accept/fork never race with the handlers. */
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	set_handler(SIGCHLD, on_chld);
	set_handler(SIGTERM, on_term);
	set_handler(SIGINT, on_term);
	set_handler(SIGHUP, on_hup);
	log_msg(LOG_INFO, "LMTP server listening on %s", address);
	serve_loop(&sv, &orig);
	drain(&sv);
	free(sv.kids);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	log_msg(LOG_INFO, "LMTP server stopped");
	return EX_OK;
}
