#!/usr/bin/env python3
"""Deterministic mbox of COUNT messages totalling about TOTAL_BYTES (mboxrd, From_ lines,
varied sizes, some folded and RFC 2047 subjects, some '>From ' body lines).
usage: gen_mbox.py COUNT TOTAL_BYTES OUT"""
import random
import sys

def main():
    count, total, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rnd = random.Random(20261123)
    avg = total // count
    words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit",
             "mailbox", "delivery", "reader", "summary", "header", "quarterly", "report"]
    line_pool = [" ".join(rnd.choice(words) for _ in range(12)) + "\n" for _ in range(512)]
    with open(out, "w", buffering=1 << 22) as f:
        for i in range(count):
            day = 1 + i % 28
            subj = ("=?UTF-8?B?w6l0w6kgcmVwb3J0?= %d" % i) if i % 17 == 0 else \
                   ("status report number %d about %s" % (i, rnd.choice(words)))
            head = ("From user%d@example.org Mon Nov %2d 09:%02d:%02d 2026\n"
                    "Return-Path: <user%d@example.org>\n"
                    "Received: from mx.example.org (mx.example.org [192.0.2.1])\n"
                    "\tby mail.example.org with ESMTP id %08X\n"
                    "\tfor <rcpt@example.org>; Mon, %d Nov 2026 09:%02d:%02d +0000\n"
                    "From: User %d <user%d@example.org>\n"
                    "To: rcpt@example.org\n"
                    "Subject: %s\n"
                    "Date: Mon, %d Nov 2026 09:%02d:%02d +0000\n"
                    "Message-ID: <m%d@example.org>\n"
                    "Content-Type: text/plain; charset=utf-8\n"
                    "\n") % (i % 977, day, i % 60, i % 59, i % 977, i, day, i % 60, i % 59,
                             i % 977, i % 977, subj, day, i % 60, i % 59, i)
            want = max(64, int(rnd.expovariate(1.0 / max(1, avg - len(head)))))
            body = []
            n = 0
            while n < want:
                ln = rnd.choice(line_pool)
                body.append(ln)
                n += len(ln)
            if i % 23 == 0:
                body.insert(len(body) // 2, ">From the archives, quoted\n")
            f.write(head)
            f.write("".join(body))
            f.write("\n")

if __name__ == "__main__":
    main()
