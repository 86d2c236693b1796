/* The command table: Heirloom's order, which is what makes `p`, `s`, `f`, `ho`... mean what
 * users' fingers expect (an abbreviation is the first entry it prefixes). */
#include "mailcmd/mail.h"

#include <string.h>

static const struct mail_cmd table[] = {
	{ "next", C_NEXT, A_MSGLIST, "goto and type next message" },
	{ "alias", C_ALIAS, A_WORDS, "make an alias or print aliases" },
	{ "print", C_TYPE, A_MSGLIST, "type messages" },
	{ "type", C_TYPE, A_MSGLIST, "type messages" },
	{ "Type", C_TYPE_ALL, A_MSGLIST, "type messages with all headers" },
	{ "Print", C_TYPE_ALL, A_MSGLIST, "print messages with all headers" },
	{ "visual", C_VISUAL, A_MSGLIST, "edit messages with the display editor ($VISUAL)" },
	{ "top", C_TOP, A_MSGLIST, "print the first toplines lines of messages" },
	{ "touch", C_TOUCH, A_MSGLIST, "mark messages for moving to mbox" },
	{ "preserve", C_PRESERVE, A_MSGLIST, "keep messages in the system mailbox" },
	{ "delete", C_DELETE, A_MSGLIST, "delete messages" },
	{ "dp", C_DP, A_MSGLIST, "delete the message and type the next one" },
	{ "dt", C_DP, A_MSGLIST, "delete the message and type the next one" },
	{ "undelete", C_UNDELETE, A_MSGLIST, "undelete messages" },
	{ "unset", C_UNSET, A_WORDS, "unset variables" },
	{ "mail", C_MAIL, A_STRING, "mail to specific recipients" },
	{ "Mail", C_MAIL_RECORD, A_STRING, "mail, recorded in a file named after the first recipient" },
	{ "mbox", C_MBOX, A_MSGLIST, "move messages to mbox at quit" },
	{ "more", C_MORE, A_MSGLIST, "type messages through the pager" },
	{ "page", C_MORE, A_MSGLIST, "type messages through the pager" },
	{ "More", C_MORE_ALL, A_MSGLIST, "type messages with all headers through the pager" },
	{ "Page", C_MORE_ALL, A_MSGLIST, "type messages with all headers through the pager" },
	{ "unread", C_UNREAD, A_MSGLIST, "mark messages as unread" },
	{ "Unread", C_UNREAD, A_MSGLIST, "mark messages as unread" },
	{ "new", C_UNREAD, A_MSGLIST, "mark messages as new" },
	{ "New", C_UNREAD, A_MSGLIST, "mark messages as new" },
	{ "!", C_SHELLCMD, A_STRING, "execute a shell command" },
	{ "copy", C_COPY, A_STRING, "copy messages to a file without marking them saved" },
	{ "Copy", C_COPY_SENDER, A_MSGLIST, "copy messages to a file named after the sender" },
	{ "chdir", C_CD, A_STRING, "change the working directory" },
	{ "cd", C_CD, A_STRING, "change the working directory" },
	{ "save", C_SAVE, A_STRING, "append messages to a file" },
	{ "Save", C_SAVE_SENDER, A_MSGLIST, "save messages to a file named after the sender" },
	{ "source", C_SOURCE, A_STRING, "read commands from a file" },
	{ "set", C_SET, A_WORDS, "set variables or print them" },
	{ "shell", C_SHELL, A_NONE, "invoke an interactive shell" },
	{ "version", C_VERSION, A_NONE, "print the version" },
	{ "group", C_ALIAS, A_WORDS, "make an alias or print aliases" },
	{ "ungroup", C_UNALIAS, A_WORDS, "remove aliases" },
	{ "unalias", C_UNALIAS, A_WORDS, "remove aliases" },
	{ "write", C_SAVE_NOHDR, A_STRING, "write message bodies to a file" },
	{ "from", C_FROM, A_MSGLIST, "print header summaries of messages" },
	{ "file", C_FOLDER, A_STRING, "switch to another mailbox" },
	{ "followup", C_FOLLOWUP, A_MSGLIST, "reply to all, recorded in a file named after the recipient" },
	{ "folder", C_FOLDER, A_STRING, "switch to another mailbox" },
	{ "folders", C_FOLDERS, A_NONE, "list the folder directory" },
	{ "?", C_HELP, A_NONE, "print this help" },
	{ "z", C_Z, A_STRING, "scroll the header summary (z, z+, z-)" },
	{ "headers", C_HEADERS, A_MSGLIST, "print a page of header summaries" },
	{ "help", C_HELP, A_NONE, "print this help" },
	{ "=", C_EQUALS, A_NONE, "print the current message number" },
	{ "Reply", C_REPLY_SENDER, A_MSGLIST, "reply to the sender only" },
	{ "Respond", C_REPLY_SENDER, A_MSGLIST, "reply to the sender only" },
	{ "Followup", C_FOLLOWUP_SENDER, A_MSGLIST, "reply to the sender, recorded in a file named after him" },
	{ "reply", C_REPLY, A_MSGLIST, "reply to the sender and all recipients" },
	{ "respond", C_REPLY, A_MSGLIST, "reply to the sender and all recipients" },
	{ "Resend", C_RESEND_RAW, A_STRING, "send messages on unchanged to a user" },
	{ "Redirect", C_RESEND_RAW, A_STRING, "send messages on unchanged to a user" },
	{ "resend", C_RESEND, A_STRING, "send messages on to a user with Resent- fields" },
	{ "redirect", C_RESEND, A_STRING, "send messages on to a user with Resent- fields" },
	{ "Forward", C_FORWARD_SENDER, A_STRING, "forward a message, recorded in a file named after the recipient" },
	{ "Fwd", C_FORWARD_SENDER, A_STRING, "forward a message, recorded in a file named after the recipient" },
	{ "forward", C_FORWARD, A_STRING, "forward a message to a user" },
	{ "fwd", C_FORWARD, A_STRING, "forward a message to a user" },
	{ "edit", C_EDIT, A_MSGLIST, "edit messages with the text editor ($EDITOR)" },
	{ "echo", C_ECHO, A_STRING, "print the arguments" },
	{ "quit", C_QUIT, A_NONE, "quit, saving changes" },
	{ "list", C_LIST, A_NONE, "list the commands" },
	{ "xit", C_EXIT, A_NONE, "exit, leaving the mailbox untouched" },
	{ "exit", C_EXIT, A_NONE, "exit, leaving the mailbox untouched" },
	{ "pipe", C_PIPE, A_STRING, "pipe messages to a shell command" },
	{ "|", C_PIPE, A_STRING, "pipe messages to a shell command" },
	{ "Pipe", C_PIPE_ALL, A_STRING, "pipe messages with all headers to a shell command" },
	{ "size", C_SIZE, A_MSGLIST, "print the sizes of messages" },
	{ "hold", C_PRESERVE, A_MSGLIST, "keep messages in the system mailbox" },
	{ "if", C_IF, A_STRING, "execute the following commands if receiving, sending or at a terminal" },
	{ "else", C_ELSE, A_NONE, "the other branch of if" },
	{ "endif", C_ENDIF, A_NONE, "end of if" },
	{ "alternates", C_ALTERNATES, A_WORDS, "name other addresses of yours or print them" },
	{ "ignore", C_IGNORE, A_WORDS, "hide header fields when typing" },
	{ "discard", C_IGNORE, A_WORDS, "hide header fields when typing" },
	{ "retain", C_RETAIN, A_WORDS, "show only these header fields" },
	{ "saveignore", C_SAVEIGNORE, A_WORDS, "leave header fields out when saving" },
	{ "savediscard", C_SAVEIGNORE, A_WORDS, "leave header fields out when saving" },
	{ "saveretain", C_SAVERETAIN, A_WORDS, "save only these header fields" },
	{ "unignore", C_UNIGNORE, A_WORDS, "show header fields again" },
	{ "unretain", C_UNRETAIN, A_WORDS, "remove header fields from the retained ones" },
	{ "unsaveignore", C_UNSAVEIGNORE, A_WORDS, "save header fields again" },
	{ "unsaveretain", C_UNSAVERETAIN, A_WORDS, "remove header fields from the saved ones" },
	{ "inc", C_NEWMAIL, A_NONE, "check for new mail" },
	{ "newmail", C_NEWMAIL, A_NONE, "check for new mail" },
	{ "thread", C_THREAD, A_NONE, "show the messages in threads" },
	{ "unthread", C_UNSORT, A_NONE, "back to the mailbox order" },
	{ "sort", C_SORT, A_STRING, "sort by date, from, subject, size, status, to or thread" },
	{ "unsort", C_UNSORT, A_NONE, "back to the mailbox order" },
	{ "flag", C_FLAG, A_MSGLIST, "flag messages" },
	{ "unflag", C_UNFLAG, A_MSGLIST, "remove the flag of messages" },
	{ "answered", C_ANSWERED, A_MSGLIST, "mark messages answered" },
	{ "unanswered", C_UNANSWERED, A_MSGLIST, "mark messages not answered" },
	{ "move", C_MOVE, A_STRING, "save messages to a file and delete them" },
	{ "mv", C_MOVE, A_STRING, "save messages to a file and delete them" },
	{ "Move", C_MOVE_SENDER, A_MSGLIST, "move messages to a file named after the sender" },
	{ "Mv", C_MOVE_SENDER, A_MSGLIST, "move messages to a file named after the sender" },
	{ "show", C_SHOW, A_MSGLIST, "type messages raw, without MIME decoding" },
	{ "Show", C_SHOW, A_MSGLIST, "type messages raw, without MIME decoding" },
	/* not in Heirloom's table: after all of it, so no abbreviation of Heirloom's changes */
	{ "-", C_PREV, A_MSGLIST, "type the previous message" },
	{ "+", C_PLUS, A_MSGLIST, "type the next message" },
	{ "Top", C_TOP, A_MSGLIST, "the same as top, which prints the stored lines unfiltered (s-nail)" },
	{ "quota", C_QUOTA, A_NONE, "print the mailbox size against its quota" },
	{ NULL, C_NONE, A_NONE, NULL },
};

const struct mail_cmd *mail_cmd_table(void)
{
	return table;
}

const struct mail_cmd *mail_cmd_lookup(const char *word)
{
	size_t len = strlen(word);
	if (!len)
		return NULL;
	for (const struct mail_cmd *c = table; c->name; c++)
		if (!strcmp(c->name, word))
			return c;
	for (const struct mail_cmd *c = table; c->name; c++)
		if (!strncmp(c->name, word, len))
			return c;
	return NULL;
}
