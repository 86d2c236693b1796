#!/usr/bin/env python3
"""Renders bench/results/*.tsv (part, workload, program, median, unit, better, note) as
markdown tables with the ratio project/other per workload: the first project row of a
workload is the reference (mda-L-reused for LMTP, so its ratio to mda-stdin is there too; mda-root
in the nss part, so its ratio to mda-as-user is root / as-user). PART.meta, when present, is the
line under the part's title (when and at which commit it was measured).
usage: render.py RESULTS_DIR"""
import os
import sys

PROJECT = ("mda", "mail-H", "mail-quit", "newaliases")
ORDER = ["delivery", "lmtp", "reader", "aliases", "memory", "nss", "multihost", "largembox", "sieve"]
TITLES = {"delivery": "1. Delivery, one process per message",
          "lmtp": "2. LMTP delivery (and stdin mode under the same load)",
          "reader": "3. Reader: header summary",
          "aliases": "4. newaliases",
          "memory": "5. Memory (peak RSS)",
          "nss": "6. System users through NSS: stdin as root and as the user, LMTP against Dovecot",
          "multihost": "7. Two delivery hosts on one spool (simulated: namespaces, one kernel and disk)",
          "largembox": "8. mail on a big mailbox: header summary, delete half and quit",
          "sieve": "9. Sieve at delivery: a 100-rule script, with and without it, and Pigeonhole's sieve-test"}


def is_project(name):
    return name.split()[0] in PROJECT or name.startswith("mda-")


def main():
    d = sys.argv[1]
    for part in ORDER:
        path = os.path.join(d, part + ".tsv")
        if not os.path.exists(path):
            continue
        rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
        if not rows:
            continue
        print("## " + TITLES[part] + "\n")
        meta = os.path.join(d, part + ".meta")
        if os.path.exists(meta):
            print("_%s_\n" % open(meta).read().strip())
        print("| workload | program | median | unit | project / this | notes |")
        print("|---|---|---:|---|---:|---|")
        workloads = []
        for r in rows:
            if r[1] not in workloads:
                workloads.append(r[1])
        for wl in workloads:
            group = [r for r in rows if r[1] == wl]
            proj = next((r for r in group if is_project(r[2])), None)
            for r in group:
                ratio = ""
                try:
                    if proj and r is not proj:
                        ratio = "%.2f" % (float(proj[3]) / float(r[3]))
                except (ValueError, ZeroDivisionError):
                    ratio = "n/a"
                name = "**%s**" % r[2] if is_project(r[2]) else r[2]
                print("| %s | %s | %s | %s | %s | %s |" % (wl, name, r[3], r[4], ratio,
                                                        r[6].replace("|", "\\|") if len(r) > 6 else ""))
        print()


if __name__ == "__main__":
    main()
