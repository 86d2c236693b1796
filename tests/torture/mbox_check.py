#!/usr/bin/env python3
"""Checks mboxes of torture messages. usage:
  mbox_check.py [--ok IDS] [--maybe IDS] MBOX...
Every message must carry X-Torture-Id/Sum and a body matching its checksum (nothing torn or
interleaved), no id may appear twice across all the mboxes, every id of --ok must be present,
and no id outside --ok/--maybe may appear. Prints 'intact=N' and one line per problem; exit 1
on any problem."""
import argparse
import sys
import collections

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import tortlib


def read_ids(path):
    return set(l.strip() for l in open(path) if l.strip()) if path else set()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ok")
    ap.add_argument("--maybe")
    ap.add_argument("mbox", nargs="+")
    a = ap.parse_args()
    ok, maybe = read_ids(a.ok), read_ids(a.maybe)
    seen = collections.Counter()
    problems = []
    intact = 0
    for path in a.mbox:
        try:
            data = open(path, "rb").read()
        except FileNotFoundError:
            continue
        for k, m in enumerate(tortlib.split_mbox(data)):
            mid, good, why = tortlib.check_message(m)
            if not good:
                problems.append("%s: message %d (id %s): %s; first line %r" % (path, k + 1, mid, why, m[0][:80]))
            else:
                intact += 1
            if mid:
                seen[mid] += 1
    for mid, n in seen.items():
        if n > 1:
            problems.append("id %s present %d times" % (mid, n))
        if a.ok is not None and mid not in ok and mid not in maybe:
            problems.append("id %s present but never delivered" % mid)
    for mid in sorted(ok - set(seen)):
        problems.append("id %s LOST: its delivery succeeded but it is not in the mailbox" % mid)
    print("intact=%d distinct_ids=%d ok_ids=%d maybe_ids=%d problems=%d" % (intact, len(seen), len(ok), len(maybe), len(problems)))
    for p in problems[:30]:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
