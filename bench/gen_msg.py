#!/usr/bin/env python3
"""Deterministic test message of exactly SIZE bytes (default 4096): RFC 5322 headers, a blank
line, then wrapped text lines. usage: gen_msg.py [SIZE] > FILE"""
import random
import sys

def message(size, seed=1, msgid="bench-1@example.org"):
    rnd = random.Random(seed)
    head = ("From: Bench Sender <sender@example.org>\n"
            "To: Bench Recipient <rcpt@example.org>\n"
            "Subject: benchmark message %d\n"
            "Date: Mon, 23 Nov 2026 09:00:00 +0000\n"
            "Message-ID: <%s>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=us-ascii\n\n") % (seed, msgid)
    words = ["lorem", "ipsum", "dolor", "sit", "amet", "mailbox", "delivery", "append",
             "fsync", "lock", "header", "summary", "alias", "forward", "quota"]
    body = []
    n = len(head)
    while n < size:
        line = " ".join(rnd.choice(words) for _ in range(11)) + "\n"
        body.append(line)
        n += len(line)
    text = head + "".join(body)
    text = text[:size - 1] + "\n"
    return text

if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
    sys.stdout.write(message(size))
