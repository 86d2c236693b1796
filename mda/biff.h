/* New-mail notification: the comsat(8) datagram Postfix's local(8) sends after a delivery. */
#ifndef MDA_BIFF_H
#define MDA_BIFF_H

#include <sys/types.h>

/* Sends "user@offset:mailbox" (offset: where the new message starts) to the biff service
 * on localhost (UDP, port of "biff" in /etc/services, else 512). Never blocks, never
 * fails: a missing comsat costs nothing. */
void biff_notify(const char *user, off_t offset, const char *mailbox);

#endif
