"""Shared helpers of the torture tests: messages that carry their own id and body checksum,
an mbox parser that checks them, and a minimal LMTP client."""
import hashlib
import random
import socket


def make_message(msg_id, size, rnd, quote_lines=True):
    """A message of about size bytes whose X-Torture-Sum is the sha1 of its body."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    lines = []
    n = 0
    while n < size:
        r = rnd.random()
        if quote_lines and r < 0.02:
            ln = "From the body, line %d, must be quoted\n" % n
        elif quote_lines and r < 0.03:
            ln = ">From an already quoted line %d\n" % n
        else:
            ln = " ".join(rnd.choice(words) for _ in range(rnd.randrange(1, 14))) + "\n"
        lines.append(ln)
        n += len(ln)
    body = "".join(lines).encode()
    head = ("From: Torture <torture@example.org>\n"
            "To: u000@localhost\n"
            "Subject: torture %s\n"
            "Message-ID: <%s@torture.example.org>\n"
            "X-Torture-Id: %s\n"
            "X-Torture-Sum: %s\n\n") % (msg_id, msg_id, msg_id, hashlib.sha1(body).hexdigest())
    return head.encode() + body


def split_mbox(data):
    """Messages of an mbox: a From_ line starts a message at the top of the file or after an
    empty line. Each message is returned without the empty separator line that ends it."""
    msgs = []
    cur = None
    prev_empty = True
    for ln in data.splitlines(keepends=True):
        if ln.startswith(b"From ") and prev_empty:
            if cur is not None:
                msgs.append(cur)
            cur = [ln]
        elif cur is None:
            cur = [ln]  # garbage before the first From_ line: reported as a bad message
        else:
            cur.append(ln)
        prev_empty = ln in (b"\n",)
    if cur is not None:
        msgs.append(cur)
    out = []
    for m in msgs:
        if m and m[-1] == b"\n":
            m = m[:-1]
        out.append(m)
    return out


def check_message(lines):
    """(id, ok, why) for one parsed message (list of lines, From_ line first)."""
    if not lines or not lines[0].startswith(b"From "):
        return None, False, "no From_ line"
    i = 1
    mid = summ = None
    while i < len(lines) and lines[i] != b"\n":
        h = lines[i]
        if h.lower().startswith(b"x-torture-id:"):
            mid = h.split(b":", 1)[1].strip().decode("latin-1")
        elif h.lower().startswith(b"x-torture-sum:"):
            summ = h.split(b":", 1)[1].strip().decode("latin-1")
        i += 1
    if i >= len(lines):
        return mid, False, "no end of header"
    body = []
    for ln in lines[i + 1:]:
        if ln.startswith(b">"):
            s = ln.lstrip(b">")
            if s.startswith(b"From "):
                ln = ln[1:]  # mboxrd: one '>' less
        body.append(ln)
    body = b"".join(body)
    if mid is None or summ is None:
        return mid, False, "no X-Torture headers"
    if hashlib.sha1(body).hexdigest() != summ:
        return mid, False, "body checksum mismatch (%d body bytes)" % len(body)
    return mid, True, ""


def lmtp_data(raw):
    """raw (LF lines) as DATA content: dot-stuffed, CRLF line ends, the final dot. Splits on
    LF only: a bare CR is message content (bytes.splitlines would break lines there)."""
    lines = raw.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n" for ln in lines) + b".\r\n"


class LMTP:
    def __init__(self, path, timeout=120):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.r = self.s.makefile("rb")

    def reply(self):
        lines = []
        while True:
            ln = self.r.readline()
            if not ln:
                raise IOError("connection closed")
            lines.append(ln.decode("latin-1").rstrip("\r\n"))
            if ln[3:4] != b"-":
                return int(lines[-1][:3]), lines[-1]

    def send(self, text):
        self.s.sendall(text if isinstance(text, bytes) else text.encode("latin-1"))

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def hello(self):
        self.reply()
        return self.cmd("LHLO torture.example.org")

    def deliver(self, sender, rcpts, raw):
        """[(rcpt, code, line)] for the RCPT phase and the DATA replies."""
        c, l = self.cmd("MAIL FROM:<%s>" % sender)
        if c != 250:
            return [(r, c, l) for r in rcpts]
        accepted, res = [], {}
        for r in rcpts:
            c, l = self.cmd("RCPT TO:<%s>" % r)
            if c == 250:
                accepted.append(r)
            else:
                res[r] = (c, l)
        if not accepted:
            self.cmd("RSET")
            return [(r,) + res[r] for r in rcpts]
        c, l = self.cmd("DATA")
        if c != 354:
            return [(r, c, l) for r in rcpts]
        self.send(lmtp_data(raw))
        for r in accepted:
            res[r] = self.reply()
        return [(r,) + res[r] for r in rcpts]

    def quit(self):
        try:
            self.cmd("QUIT")
        except Exception:
            pass
        self.s.close()
