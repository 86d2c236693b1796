/* mda's one-message-on-stdin mode (Postfix mailbox_command, Exim pipe, OpenSMTPD mda). */
#ifndef MDA_STDIN_MODE_H
#define MDA_STDIN_MODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/config.h"
#include "common/result.h"

#define MDA_ADDR_MAX 1024

/* The envelope block an MTA prepends at final delivery (Postfix: From_ line, Return-Path:,
 * X-Original-To:, Delivered-To:). It is replaced by ours, never copied into the mailbox. */
struct mda_block {
	bool has_from, has_return_path, has_orig_to, has_delivered_to;
	char from_sender[MDA_ADDR_MAX];   /* word after "From " ("" for MAILER-DAEMON) */
	char return_path[MDA_ADDR_MAX];   /* address inside <>, "" for <> */
	char orig_to[MDA_ADDR_MAX];
	char delivered_to[MDA_ADDR_MAX];
	size_t length;                    /* bytes of input the block occupies */
};

/* Recognises the block at the start of buf[0..len): an optional From_ line, then single,
 * unfolded Return-Path/X-Original-To/Delivered-To lines (each at most once), provided a
 * From_ line or Return-Path starts it. Never fails; b->length 0 means no block. */
void mda_block_parse(const char *buf, size_t len, struct mda_block *b);

struct mda_stdin_opts {
	const char *sender;         /* -f/-r, NULL when not given */
	const char *orig_rcpt;      /* -a, NULL or "" when not given */
	char *const *rcpts;         /* USER arguments */
	size_t n_rcpts;
};

/* The envelope sender: -f, else $SENDER, else the block's Return-Path or From_ line, else
 * the invoking user. Writes "" for the null sender. Never fails. */
void mda_choose_sender(const struct mda_stdin_opts *o, const struct mda_block *b, char *out, size_t size);

/* The recipient when no USER argument is given, from Postfix's environment: $LOCAL@$DOMAIN,
 * else $RECIPIENT, else $USER/$LOGNAME (+$EXTENSION), else the invoking user. False if none fits. */
bool mda_env_recipient(const struct config *cfg, char *out, size_t size);

/* True when the environment names a recipient the way an MTA's delivery does: Postfix's and
 * OpenSMTPD's LOCAL or RECIPIENT, Exim's LOCAL_PART. $USER alone does not count: every login
 * shell has it, and mail typed at a terminal must not land in the typist's own mailbox. */
bool mda_env_names_recipient(void);

/* Names the MTA whose final-delivery environment this process runs in ("Postfix local(8)",
 * "Exim", "LOCAL and RECIPIENT" for OpenSMTPD and mda's own |command deliveries), or NULL.
 * Such an MTA has expanded aliases and .forward already: with expansion = auto, stdin mode
 * then delivers to the named user's mailbox only. */
const char *mda_mta_environment(void);

/* The process exit status for a result: 0, 75 for everything retryable or fixable by an
 * administrator, 67 unknown user, 65 bad data (loop, too big), 69 permanent command failure. */
int mda_exit_code(const struct result *r);

/* Reads one message from in_fd, delivers it to every recipient, writes one line to err for a
 * failure. Returns the process exit status (see mda_exit_code). */
int mda_stdin_run(const struct config *cfg, const struct mda_stdin_opts *o, int in_fd, FILE *err);

#endif
