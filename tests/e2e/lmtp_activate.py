#!/usr/bin/env python3
"""Plays systemd socket activation (Accept=no) for the e2e tests: binds a listening UNIX socket,
puts it on fd 3, sets LISTEN_PID/LISTEN_FDS for this very process and execs the daemon.

usage: lmtp_activate.py SOCKET_PATH PROGRAM [ARG...]"""
import os
import socket
import sys

path, argv = sys.argv[1], sys.argv[2:]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
os.chmod(path, 0o666)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_PID"] = str(os.getpid())   # exec keeps the pid
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_FDNAMES"] = "lmtp"
os.execv(argv[0], argv)
