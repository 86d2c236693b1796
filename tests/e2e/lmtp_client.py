#!/usr/bin/env python3
"""LMTP conversations for the e2e scripts: smtplib.LMTP for well-behaved clients, raw sockets for
pipelined, malformed, slow and vanishing ones.

usage: lmtp_client.py TARGET SCENARIO [ARG...]
  TARGET is unix:/path, inet:HOST:PORT (IPv6 as inet:[::1]:PORT), or exec:CONF (runs
  "$MDA -C CONF -l" on one end of a socketpair: the stdio mode).
Exits 0 when the scenario saw what it expected; prints the reason and exits 1 otherwise."""

import os
import smtplib
import socket
import subprocess
import sys
import time

TARGET = None
CHILD = None


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def connect():
    global CHILD
    if TARGET.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(TARGET[5:])
        return s
    if TARGET.startswith("inet:"):
        spec = TARGET[5:]
        host, port = spec.rsplit(":", 1)
        host = host.strip("[]")
        return socket.create_connection((host, int(port)))
    if TARGET.startswith("exec:"):
        ours, theirs = socket.socketpair()
        mda = os.environ.get("MDA") or os.path.join(os.environ["BUILD"], "mda")
        CHILD = subprocess.Popen([mda, "-C", TARGET[5:], "-l"], stdin=theirs, stdout=theirs)
        theirs.close()
        return ours
    fail("bad target " + TARGET)


class Raw:
    """A client that writes exactly what it is told and reads reply lines."""

    def __init__(self):
        self.sock = connect()
        self.sock.settimeout(30)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                fail("connection closed while waiting for a reply; had %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode()

    def reply(self):
        """One whole (possibly multi-line) reply: (code, [lines])."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return int(lines[-1][:3]), lines

    def expect(self, prefix):
        code, lines = self.reply()
        if not lines[-1].startswith(prefix):
            fail("expected %r, got %r" % (prefix, lines))
        return lines

    def closed(self, within=5):
        self.sock.settimeout(within)
        try:
            rest = self.sock.recv(65536)
        except socket.timeout:
            return False
        return rest == b""


def hello():
    c = Raw()
    c.expect("220 ")
    c.send("LHLO client.test\r\n")
    caps = c.expect("250 ")
    return c, caps


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------


class StdioLMTP(smtplib.LMTP):
    """smtplib.LMTP over any connected socket (socketpair for the stdio mode)."""

    def connect_sock(self, sock):
        self.sock = sock
        self.file = None
        return self.getreply()


def smtplib_client():
    sock = connect()
    if TARGET.startswith("unix:"):
        sock.close()
        c = smtplib.LMTP()
        code, _ = c.connect(TARGET[5:])
    else:
        c = StdioLMTP()
        code, _ = c.connect_sock(sock)
    if code != 220:
        fail("greeting %d" % code)
    return c


def scenario_smtplib(n_messages="3"):
    """Several messages over one connection, each to several recipients; one unknown."""
    c = smtplib_client()
    code, caps = c.ehlo("client.test")  # LMTP.ehlo sends LHLO
    if code != 250:
        fail("LHLO gave %d" % code)
    for word in (b"PIPELINING", b"ENHANCEDSTATUSCODES", b"8BITMIME", b"SMTPUTF8", b"DSN", b"SIZE"):
        if word not in caps:
            fail("capability %s missing from %r" % (word, caps))
    rcpts = ["alice@test.example", "bob", "nosuchuser", "carol"]
    for i in range(int(n_messages)):
        msg = "Subject: message %d\r\n\r\nline one\r\n.leading dot\r\nFrom here\r\n" % i
        # smtplib speaks LMTP's LHLO but reads one reply after DATA; the rest are ours to read.
        if c.mail("sender@example.org")[0] != 250:
            fail("MAIL refused")
        accepted = []
        for r in rcpts:
            code, text = c.rcpt(r)
            if r == "nosuchuser":
                if code != 550 or not text.startswith(b"5.1.1 <nosuchuser>"):
                    fail("RCPT nosuchuser: %d %r" % (code, text))
            elif code != 250:
                fail("RCPT %s: %d %r" % (r, code, text))
            else:
                accepted.append(r)
        code, text = c.data(msg)
        replies = [(code, text)] + [c.getreply() for _ in accepted[1:]]
        for r, (code, text) in zip(accepted, replies):
            if code != 250 or not text.startswith(("2.0.0 <%s>" % r).encode()):
                fail("after DATA for %s: %d %r" % (r, code, text))
    c.quit()


def scenario_transcript():
    """The exact reply lines of one transaction, per-recipient after DATA, in RCPT order."""
    c, caps = hello()
    want_caps = ["250-", "250-PIPELINING", "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-SMTPUTF8",
                 "250-DSN", "250 SIZE"]
    for w, got in zip(want_caps, caps):
        if not got.startswith(w):
            fail("capabilities %r" % caps)
    c.send("MAIL FROM:<>\r\n")
    c.expect("250 2.1.0")
    for rcpt, want in (("alice", "250 2.1.5 <alice> OK"), ("nosuchuser", "550 5.1.1 <nosuchuser>"),
                       ("bob@test.example", "250 2.1.5 <bob@test.example> OK")):
        c.send("RCPT TO:<%s>\r\n" % rcpt)
        c.expect(want)
    c.send("DATA\r\n")
    c.expect("354 ")
    c.send("Subject: null sender\r\n\r\nhi\r\n.\r\n")
    c.expect("250 2.0.0 <alice>")
    c.expect("250 2.0.0 <bob@test.example>")
    c.send("VRFY alice\r\n")
    c.expect("252 2.5.0")
    c.send("HELP\r\n")
    c.expect("214 ")
    c.send("NOOP\r\n")
    c.expect("250 2.0.0")
    c.send("QUIT\r\n")
    c.expect("221 2.0.0")
    if not c.closed():
        fail("not closed after QUIT")


def scenario_pipelined(n="3"):
    """Every command of several transactions in one write, as Postfix does after LHLO."""
    c, _ = hello()
    batch = ""
    for i in range(int(n)):
        batch += "MAIL FROM:<p@example.org> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\nDATA\r\n"
        batch += "Subject: pipelined %d\r\n\r\nbody\r\n.\r\n" % i
    batch += "QUIT\r\n"
    c.send(batch)
    for i in range(int(n)):
        for want in ("250 2.1.0", "250 2.1.5 <alice>", "250 2.1.5 <bob>", "354 ", "250 2.0.0 <alice>",
                     "250 2.0.0 <bob>"):
            c.expect(want)
    c.expect("221 ")


def scenario_malformed():
    """Protocol errors get their codes and the session stays in step."""
    c, _ = hello()
    steps = [
        ("HELO x\r\n", "500 5.5.1"), ("EHLO x\r\n", "500 5.5.1"), ("FROB\r\n", "500 5.5.2"),
        ("RCPT TO:<alice>\r\n", "503 5.5.1"), ("DATA\r\n", "503 5.5.1"),
        ("MAIL FROM:<a@b> FOO=1\r\n", "555 5.5.4"), ("MAIL FROM:a@b\r\n", "501 5.1.7"),
        ("MAIL FROM:<a@b> SIZE=999999999999\r\n", "552 5.3.4"),
        ("NOOP " + "x" * 600 + "\r\n", "500 5.5.6"), ("NOOP\r\n", "250 2.0.0"),
        ("MAIL FROM:<a@b>\r\n", "250 2.1.0"), ("RCPT TO:<nosuchuser>\r\n", "550 5.1.1"),
        ("DATA\r\n", "503 5.5.1"), ("RCPT TO:<>\r\n", "501 5.1.3"), ("RSET\r\n", "250 2.0.0"),
        ("RCPT TO:<alice>\r\n", "503 5.5.1"),
    ]
    for cmd, want in steps:
        c.send(cmd)
        c.expect(want)
    # a DATA line over 1000 octets rejects the message for each recipient; the rest is read
    c.send("MAIL FROM:<a@b>\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\nDATA\r\n")
    for want in ("250 2.1.0", "250 2.1.5", "250 2.1.5", "354 "):
        c.expect(want)
    c.send("Subject: long\r\n\r\n" + "y" * 1200 + "\r\nafter\r\n.\r\n")
    c.expect("554 5.5.6 <alice>")
    c.expect("554 5.5.6 <bob>")
    c.send("NOOP\r\n")
    c.expect("250 2.0.0")
    c.send("QUIT\r\n")
    c.expect("221 ")


def cut_off_after(n, cmd, want):
    """Sends cmd n times, each answered with want; then 421 4.7.0 and the connection closes."""
    c, _ = hello()
    for _ in range(n):
        c.send(cmd)
        c.expect(want)
    c.expect("421 4.7.0")
    if not c.closed():
        fail("still open after 421")


def scenario_too_many_errors(limit):
    cut_off_after(int(limit), "BOGUS\r\n", "500 ")


def scenario_recipient_limit(limit):
    c, _ = hello()
    c.send("MAIL FROM:<a@b>\r\n")
    c.expect("250 ")
    for _ in range(int(limit)):
        c.send("RCPT TO:<alice>\r\n")
        c.expect("250 2.1.5")
    c.send("RCPT TO:<bob>\r\n")
    c.expect("452 4.5.3 <bob>")


def scenario_size(limit):
    """A message over message_size_limit: 552 5.3.4 per recipient, data still read to the dot."""
    c, caps = hello()
    if caps[-1] != "250 SIZE %s" % limit:
        fail("capabilities %r" % caps)
    c.send("MAIL FROM:<a@b>\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\nDATA\r\n")
    for want in ("250 2.1.0", "250 2.1.5", "250 2.1.5", "354 "):
        c.expect(want)
    c.send(("z" * 70 + "\r\n") * (int(limit) // 72 + 10) + ".\r\n")
    c.expect("552 5.3.4 <alice>")
    c.expect("552 5.3.4 <bob>")
    c.send("NOOP\r\n")
    c.expect("250 ")


def scenario_vanish():
    """Disconnect in the middle of DATA."""
    c, _ = hello()
    c.send("MAIL FROM:<a@b>\r\nRCPT TO:<alice>\r\nDATA\r\n")
    for want in ("250 ", "250 ", "354 "):
        c.expect(want)
    c.send("Subject: never\r\n\r\n" + "partial line\r\n" * 1000 + "no end")
    time.sleep(0.3)
    c.sock.close()


def mark(path):
    """Tells the calling script that the connection is in the state it waits for."""
    if path:
        open(path, "w").close()


def scenario_hold(seconds, marker=None):
    """Holds a session open for a while, with a NOOP every half second so no timeout cuts it."""
    c, _ = hello()
    mark(marker)
    end = time.time() + float(seconds)
    while time.time() < end:
        time.sleep(0.5)
        c.send("NOOP\r\n")
        c.expect("250 ")
    c.send("QUIT\r\n")
    c.expect("221 ")


def scenario_slowloris(timeout):
    """One byte every 0.1 s, never finishing the line: cut at the timeout, not kept alive."""
    c, _ = hello()
    start = time.time()
    c.sock.settimeout(0.1)
    c.send("NOOP ")
    while time.time() - start < float(timeout) + 5:
        try:
            c.sock.sendall(b"x")
        except OSError:
            break
        try:
            got = c.sock.recv(4096)
        except socket.timeout:
            continue
        c.buf += got
        if not got or b"\n" in c.buf:
            break
    c.sock.settimeout(10)
    lines = c.expect("421 4.4.2")
    took = time.time() - start
    if took > float(timeout) + 3:
        fail("cut after %.1fs, timeout %s" % (took, timeout))
    print("cut after %.1fs: %s" % (took, lines[-1]))


def scenario_busy():
    """A connection over lmtp_max_connections is greeted with 421 4.3.2 and closed."""
    c = Raw()
    c.expect("421 4.3.2")
    if not c.closed():
        fail("not closed after 421")


def scenario_busy_client(what="uid"):
    """A connection over lmtp_client_connection_limit: 421 4.7.0 naming the uid or address."""
    c = Raw()
    lines = c.expect("421 4.7.0")
    if ("too many connections from your " + what) not in lines[-1]:
        fail("refusal does not say why: %r" % lines)
    if not c.closed():
        fail("not closed after 421")


SMUGGLE_FORMS = {"lf": "\n.\n", "crlf-lf": "\r\n.\n", "lf-crlf": "\n.\r\n"}


def scenario_smuggle(form, rcpt="alice"):
    """SMTP smuggling: a bare-LF end of data followed by a forged transaction, then the real end.
    The server must answer one transaction (one reply per recipient), never the forged one."""
    c, _ = hello()
    c.send("MAIL FROM:<real@example.org>\r\nRCPT TO:<%s>\r\nDATA\r\n" % rcpt)
    for want in ("250 2.1.0", "250 2.1.5", "354 "):
        c.expect(want)
    c.send("Subject: real " + form + "\r\n\r\nreal body" + SMUGGLE_FORMS[form] +
           "MAIL FROM:<forged@evil.example>\r\nRCPT TO:<%s>\r\nDATA\r\n" % rcpt +
           "Subject: forged " + form + "\r\n\r\nforged body\r\n.\r\nNOOP\r\n")
    c.expect("250 2.0.0 <%s>" % rcpt)
    c.expect("250 2.0.0 OK")
    c.send("QUIT\r\n")
    c.expect("221 ")


def scenario_bare_reject():
    """lmtp_bare_newline = reject: 500 5.5.2 for a command, 554 5.5.2 for a message, in step."""
    c, _ = hello()
    c.send("NOOP\n")
    c.expect("500 5.5.2 Error: bare <LF> received")
    c.send("MAIL FROM:<real@example.org>\r\nRCPT TO:<alice>\r\nRCPT TO:<bob>\r\nDATA\r\n")
    for want in ("250 2.1.0", "250 2.1.5", "250 2.1.5", "354 "):
        c.expect(want)
    c.send("Subject: bare reject\r\n\r\nbody\n.\nMAIL FROM:<forged@evil.example>\r\n.\r\nNOOP\r\n")
    c.expect("554 5.5.2 <alice> Error: bare <LF> received")
    c.expect("554 5.5.2 <bob> Error: bare <LF> received")
    c.expect("250 2.0.0 OK")


def scenario_junk(limit, errors):
    """NOOP past lmtp_junk_command_limit counts as an error: 421 4.7.0 after limit + errors."""
    cut_off_after(int(limit) + int(errors), "NOOP\r\n", "250 ")


def scenario_session_limit(seconds):
    """Past lmtp_session_time_limit the open transaction is finished; the next command gets 421."""
    c, _ = hello()
    c.send("MAIL FROM:<a@b>\r\nRCPT TO:<alice>\r\n")
    c.expect("250 ")
    c.expect("250 ")
    time.sleep(float(seconds) + 0.3)
    c.send("DATA\r\n")
    c.expect("354 ")
    c.send("Subject: past the session limit\r\n\r\nstill delivered\r\n.\r\n")
    c.expect("250 2.0.0 <alice>")
    c.send("NOOP\r\n")
    c.expect("421 4.4.2")
    if not c.closed():
        fail("still open after 421")


def scenario_greeting():
    c = Raw()
    lines = c.expect("220 ")
    print(lines[-1])


def scenario_quit_expected(code, marker=None):
    """Opens a transaction, signals the script, waits, finishes it; the next reply must be code."""
    c, _ = hello()
    c.send("MAIL FROM:<a@b>\r\nRCPT TO:<alice>\r\n")
    c.expect("250 ")
    c.expect("250 ")
    mark(marker)
    time.sleep(1.2)  # under lmtp_idle_timeout (2 s) in lmtp_daemon.sh
    c.send("DATA\r\n")
    c.expect("354 ")
    c.send("Subject: during shutdown\r\n\r\nstill delivered\r\n.\r\n")
    c.expect("250 2.0.0 <alice>")
    # The server may say 421 and close as soon as the transaction is done, before our NOOP.
    try:
        c.send("NOOP\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    c.expect(code)


def child_rss_kb(field="VmRSS:"):
    """Resident set (or its peak, VmHWM) of the exec: child (the stdio-mode mda)."""
    with open("/proc/%d/status" % CHILD.pid) as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    fail("no VmRSS for the child")


def scenario_bigmessage(megabytes, max_rss_kb):
    """Streams one message of MEGABYTES; the server's peak RSS must stay under max_rss_kb."""
    c, _ = hello()
    c.send("MAIL FROM:<big@example.org>\r\nRCPT TO:<alice>\r\nDATA\r\n")
    for want in ("250 ", "250 ", "354 "):
        c.expect(want)
    c.send("Subject: big\r\n\r\n")
    line = b"x" * 98 + b"\r\n"
    chunk = line * 10000                       # 1,000,000 bytes
    for _ in range(int(megabytes) * 1048576 // len(chunk) + 1):
        c.sock.sendall(chunk)
    c.send(".\r\n")
    c.expect("250 2.0.0 <alice>")
    hwm = child_rss_kb("VmHWM:")
    c.send("QUIT\r\n")
    c.expect("221 ")
    CHILD.wait(timeout=60)
    # VmHWM of the session process itself: getrusage(RUSAGE_CHILDREN) would report the
    # Python image the child had between fork and exec.
    peak = hwm
    print("peak RSS %d kB for a %s MB message" % (peak, megabytes))
    if peak > int(max_rss_kb):
        fail("peak RSS %d kB over %s kB" % (peak, max_rss_kb))


def scenario_longsession(n, max_growth_kb):
    """n small messages in one session, pipelined per transaction; RSS must stay flat."""
    c, _ = hello()
    txn = ("MAIL FROM:<s@example.org>\r\nRCPT TO:<alice>\r\nRCPT TO:<nosuchuser>\r\nRCPT TO:<bob>\r\nDATA\r\n"
           "Subject: long session\r\n\r\nbody\r\n.\r\n").encode()
    want = ("250 ", "250 ", "550 ", "250 ", "354 ", "250 2.0.0", "250 2.0.0")
    n = int(n)
    base = None
    for i in range(n):
        c.send(txn)
        for w in want:
            c.expect(w)
        if i == n // 10:
            base = child_rss_kb()
    end = child_rss_kb()
    print("RSS %d kB after %d messages, %d kB after %d" % (base, n // 10, end, n))
    if end - base > int(max_growth_kb):
        fail("RSS grew by %d kB" % (end - base))
    c.send("QUIT\r\n")
    c.expect("221 ")


def main():
    global TARGET
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    TARGET = sys.argv[1]
    fn = globals().get("scenario_" + sys.argv[2])
    if not fn:
        fail("no scenario " + sys.argv[2])
    fn(*sys.argv[3:])
    if CHILD:
        CHILD.wait(timeout=10)


if __name__ == "__main__":
    main()
