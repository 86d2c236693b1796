/* LMTP (RFC 2033) entry points: one session on a pair of descriptors, or a listening daemon.
 * The protocol state machine lives apart from delivery; it calls mda/deliver.h per recipient. */
#ifndef MDA_LMTP_H
#define MDA_LMTP_H

#include <stddef.h>

/* How mda was invoked, kept so a daemon can re-read its configuration on SIGHUP. */
struct mda_invocation {
	const char *conf_path;        /* -C, or NULL for the default file */
	char *const *overrides;       /* -o key=value, in order */
	size_t n_overrides;
};

/* `mda -l`: one LMTP session on in_fd/out_fd (stdin/stdout for inetd, systemd Accept=yes,
 * tests). Returns a sysexits code for the process. */
int lmtp_serve_stdio(const struct mda_invocation *inv, int in_fd, int out_fd);

/* `mda -L ADDRESS`: ADDRESS is unix:/path, inet:HOST:PORT (IPv6 as inet:[::1]:PORT), or
 * "systemd" for sockets passed with LISTEN_FDS/LISTEN_PID. Runs in the foreground until
 * SIGTERM (finishing sessions in flight); SIGHUP re-reads the configuration. */
int lmtp_serve_listen(const struct mda_invocation *inv, const char *address);

#endif
