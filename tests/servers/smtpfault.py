#!/usr/bin/env python3
"""smtpfault: a fault-injecting ESMTP server on loopback for ipwarn's tests.

It accepts mail like a relay (PIPELINING, 8BITMIME, DSN, SIZE,
ENHANCEDSTATUSCODES, optionally STARTTLS, AUTH and CHUNKING), stores every accepted
message in a spool directory, logs every command and reply, and misbehaves
on request according to a JSON rule file that is re-read on every new
connection, so a test can change the server's behaviour mid-run.

    smtpfault.py --port-file FILE --spool DIR [--log FILE] [--rules FILE]
                 [--tls-cert PEM --tls-key PEM] [--auth USER:PASS]

The port (bound on 127.0.0.1, chosen by the kernel) is written to FILE
atomically once the server listens.  Each accepted message becomes
DIR/NNNNNN.eml (the data as received, dot-stuffing undone) and
DIR/NNNNNN.json (envelope: mail_from, rcpts, mail_params, rcpt_params,
helo, tls, auth, conn).  The .json is written last; its presence means the
message is complete.

Rules: a JSON list of objects, checked in order, the first match applies.
    {"when": "greeting", "reply": "421 4.3.2 busy"}
    {"when": "greeting", "action": "drop" | "silence"}
    {"when": "ehlo", "reply": "554 5.7.1 go away"}
    {"when": "ehlo", "extensions": ["CHUNKING"]}   # offer these too (BDAT)
    {"when": "mail", "reply": "451 4.3.0 try later"}       # optional "from"
    {"rcpt": "x@y", "reply": "450 4.2.0 try later", "times": 2}
    {"rcpt_re": ".*@bad\\\\.example", "reply": "550 5.1.1 unknown"}
    {"when": "rcpt", "action": "silence" | "drop"}
    {"when": "datacmd", "reply": "451 4.3.0 no"}           # reply to DATA
    {"when": "data", "rcpt": "x@y", "reply": "554 5.7.1 rejected"}  # after "."
    {"when": "data", "rcpt": "x@y", "action": "drop"}      # close mid-DATA
    {"when": "data", "action": "silence"}                   # no reply to "."
    {"when": "data", "delay_ms": 10}        # a slow relay: wait, then accept
With CHUNKING the "data" rules apply at the chunk marked LAST.
"when" defaults to "rcpt" when a rcpt/rcpt_re is given.  A data rule with a
rcpt matches when any accepted recipient of the transaction matches.
"times": apply the rule that many times (counted across connections, in
memory), then behave normally -- for multi-attempt tests.
Exits 0 on SIGTERM or SIGINT.  SMTPFAULT_NO_TICKETS=1 in the environment
stops TLS 1.3 session tickets (to study client behaviour around them).
"""

import argparse
import base64
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time

MAX_LINE = 4096
MAX_MSG = 32 * 1024 * 1024


class State:
    """Server-wide state shared by the connection threads."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.used = {}          # rule key -> times applied
        self.seq = 0            # spool file counter
        self.conns = 0
        self.logf = open(args.log, "a", encoding="utf-8") if args.log else None
        self.tls = None
        if args.tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(args.tls_cert, args.tls_key or args.tls_cert)
            if os.environ.get("SMTPFAULT_NO_TICKETS"):
                ctx.num_tickets = 0
            self.tls = ctx
        self.auth = None
        if args.auth:
            user, _, pw = args.auth.partition(":")
            self.auth = (user, pw)

    def log(self, conn, text):
        if self.logf is None:
            return
        line = "%.3f conn=%d %s\n" % (time.time(), conn, text)
        with self.lock:
            self.logf.write(line)
            self.logf.flush()

    def next_conn(self):
        with self.lock:
            self.conns += 1
            return self.conns

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def load_rules(self):
        path = self.args.rules
        if not path:
            return []
        try:
            with open(path, encoding="utf-8") as f:
                rules = json.load(f)
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as e:
            print("smtpfault: bad rules file %s: %s" % (path, e), file=sys.stderr)
            return []
        return [r for r in rules if isinstance(r, dict)]

    def take(self, rule):
        """Count one application of rule; False when its times are used up."""
        times = rule.get("times")
        if times is None:
            return True
        key = json.dumps(rule, sort_keys=True)
        with self.lock:
            n = self.used.get(key, 0)
            if n >= int(times):
                return False
            self.used[key] = n + 1
            return True


def rule_when(rule):
    if "when" in rule:
        return rule["when"]
    if "rcpt" in rule or "rcpt_re" in rule:
        return "rcpt"
    return None


def addr_matches(rule, addr, key="rcpt", key_re="rcpt_re"):
    if key in rule and rule[key].lower() != addr.lower():
        return False
    if key_re in rule and not re.fullmatch(rule[key_re], addr, re.I):
        return False
    return True


class Dropped(Exception):
    """The session ends now (drop, QUIT, EOF)."""


class Session:
    def __init__(self, state, sock, conn_id, peer):
        self.st = state
        self.sock = sock
        self.id = conn_id
        self.peer = peer
        self.rfile = sock.makefile("rb")
        self.rules = state.load_rules()
        self.helo = None
        self.extensions = []
        self.tls = False
        self.authed = None
        self.reset()

    def reset(self):
        self.mail_from = None
        self.mail_params = []
        self.rcpts = []
        self.rcpt_params = []
        self.chunks = []

    # -- I/O -------------------------------------------------------------

    def send(self, reply):
        self.st.log(self.id, "S: " + reply)
        try:
            self.sock.sendall(reply.encode("utf-8", "replace") + b"\r\n")
        except OSError as e:
            raise Dropped("send: %s" % e)

    def readline(self):
        try:
            line = self.rfile.readline(MAX_LINE + 1)
        except (OSError, ssl.SSLError) as e:
            raise Dropped("recv: %s" % e)
        if not line:
            raise Dropped("eof")
        return line

    def silence(self):
        """Stop answering: swallow input until the client gives up."""
        self.st.log(self.id, "silence")
        self.sock.settimeout(600)
        try:
            while self.rfile.readline(MAX_LINE + 1):
                pass
        except (OSError, ssl.SSLError):
            pass
        raise Dropped("silence ended")

    def drop(self):
        self.st.log(self.id, "drop")
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise Dropped("dropped")

    def find_rule(self, when, addr=None, addrs=None):
        for rule in self.rules:
            if rule_when(rule) != when:
                continue
            if addr is not None and not addr_matches(rule, addr):
                continue
            if addrs is not None and ("rcpt" in rule or "rcpt_re" in rule):
                if not any(addr_matches(rule, a) for a in addrs):
                    continue
            if when == "mail" and addr is None and self.mail_from is not None:
                if not addr_matches(rule, self.mail_from, "from", "from_re"):
                    continue
            if not self.st.take(rule):
                continue
            return rule
        return None

    def apply(self, rule):
        """Carry out rule's action; return its reply or None."""
        if rule.get("delay_ms"):
            time.sleep(rule["delay_ms"] / 1000.0)
        action = rule.get("action")
        if action == "drop":
            self.drop()
        if action == "silence":
            self.silence()
        return rule.get("reply")

    # -- protocol --------------------------------------------------------

    def run(self):
        self.st.log(self.id, "connect %s:%d" % self.peer)
        try:
            rule = self.find_rule("greeting")
            reply = self.apply(rule) if rule else None
            if reply and not reply.startswith("2"):
                self.send(reply)
                self.refuse_all()
            self.send(reply or "220 smtpfault.test ESMTP ready")
            while True:
                self.command()
        except Dropped as e:
            self.st.log(self.id, "close (%s)" % e)
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def refuse_all(self):
        """After a refused greeting: only QUIT is answered kindly."""
        while True:
            line = self.readline().decode("latin-1").rstrip("\r\n")
            self.st.log(self.id, "C: " + line)
            if line.upper().startswith("QUIT"):
                self.send("221 2.0.0 bye")
                raise Dropped("quit")
            self.send("503 5.5.1 no service")

    def ehlo_lines(self):
        lines = ["smtpfault.test", "PIPELINING", "8BITMIME", "DSN",
                 "SIZE 33554432", "ENHANCEDSTATUSCODES"]
        if self.st.tls is not None and not self.tls:
            lines.append("STARTTLS")
        if self.st.auth is not None:
            lines.append("AUTH PLAIN LOGIN")
        return lines

    def command(self):
        raw = self.readline()
        if len(raw) > MAX_LINE:
            self.send("500 5.5.2 line too long")
            return
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        self.st.log(self.id, "C: " + line)
        verb = line.split(" ", 1)[0].upper()
        arg = line[len(verb):].strip()
        handler = getattr(self, "cmd_" + verb.lower(), None)
        if handler is None or not verb.isalpha():
            self.send("500 5.5.1 unknown command")
            return
        handler(arg)

    def cmd_ehlo(self, arg):
        rule = self.find_rule("ehlo")
        if rule:
            reply = self.apply(rule)
            if reply:
                self.send(reply)
                return
        self.helo = arg
        self.extensions = list(rule.get("extensions", [])) if rule else []
        self.reset()
        lines = self.ehlo_lines() + self.extensions
        for l in lines[:-1]:
            self.send("250-" + l)
        self.send("250 " + lines[-1])

    def cmd_helo(self, arg):
        self.helo = arg
        self.reset()
        self.send("250 smtpfault.test")

    def cmd_starttls(self, arg):
        if self.st.tls is None or self.tls:
            self.send("502 5.5.1 STARTTLS not available")
            return
        self.send("220 2.0.0 ready to start TLS")
        try:
            self.sock = self.st.tls.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError) as e:
            raise Dropped("TLS handshake failed: %s" % e)
        self.rfile = self.sock.makefile("rb")
        self.tls = True
        self.helo = None
        self.reset()
        self.st.log(self.id, "TLS established %s" % self.sock.version())

    def cmd_auth(self, arg):
        if self.st.auth is None:
            self.send("502 5.5.1 AUTH not available")
            return
        parts = arg.split()
        mech = parts[0].upper() if parts else ""
        if mech == "PLAIN":
            if len(parts) > 1:
                resp = parts[1]
            else:
                self.send("334 ")
                resp = self.readline().decode("latin-1").strip()
                self.st.log(self.id, "C: " + resp)
            try:
                fields = base64.b64decode(resp).split(b"\0")
                user, pw = fields[1].decode(), fields[2].decode()
            except (ValueError, IndexError, UnicodeDecodeError):
                self.send("501 5.5.2 bad PLAIN response")
                return
        elif mech == "LOGIN":
            try:
                if len(parts) > 1:
                    user = base64.b64decode(parts[1]).decode()
                else:
                    self.send("334 VXNlcm5hbWU6")
                    l = self.readline().decode("latin-1").strip()
                    self.st.log(self.id, "C: " + l)
                    user = base64.b64decode(l).decode()
                self.send("334 UGFzc3dvcmQ6")
                l = self.readline().decode("latin-1").strip()
                self.st.log(self.id, "C: " + l)
                pw = base64.b64decode(l).decode()
            except (ValueError, UnicodeDecodeError):
                self.send("501 5.5.2 bad LOGIN response")
                return
        else:
            self.send("504 5.5.4 mechanism not supported")
            return
        if (user, pw) == self.st.auth:
            self.authed = user
            self.send("235 2.7.0 authenticated")
        else:
            self.send("535 5.7.8 authentication failed")

    def cmd_mail(self, arg):
        m = re.match(r"FROM:\s*<([^>]*)>\s*(.*)$", arg, re.I)
        if not m:
            self.send("501 5.5.4 syntax: MAIL FROM:<address>")
            return
        if self.helo is None:
            self.send("503 5.5.1 EHLO first")
            return
        if self.st.auth is not None and self.authed is None:
            self.send("530 5.7.0 authentication required")
            return
        self.reset()
        self.mail_from = m.group(1)
        rule = self.find_rule("mail")
        if rule:
            reply = self.apply(rule)
            if reply:
                self.mail_from = None
                self.send(reply)
                return
        self.mail_params = m.group(2).split()
        self.send("250 2.1.0 sender ok")

    def cmd_rcpt(self, arg):
        m = re.match(r"TO:\s*<([^>]*)>\s*(.*)$", arg, re.I)
        if not m:
            self.send("501 5.5.4 syntax: RCPT TO:<address>")
            return
        if self.mail_from is None:
            self.send("503 5.5.1 need MAIL first")
            return
        addr = m.group(1)
        rule = self.find_rule("rcpt", addr=addr)
        if rule:
            reply = self.apply(rule)
            if reply:
                self.send(reply)
                return
        self.rcpts.append(addr)
        self.rcpt_params.append(m.group(2).split())
        self.send("250 2.1.5 recipient ok")

    def cmd_data(self, arg):
        if self.mail_from is None:
            self.send("503 5.5.1 need MAIL first")
            return
        if not self.rcpts:
            self.send("554 5.5.1 no valid recipients")
            return
        rule = self.find_rule("datacmd", addrs=self.rcpts)
        if rule:
            reply = self.apply(rule)
            if reply:
                self.send(reply)
                return
        rule = self.find_rule("data", addrs=self.rcpts)
        self.send("354 end data with <CR><LF>.<CR><LF>")
        if rule and rule.get("action") == "drop":
            self.readline()     # some data has arrived: now hang up
            self.drop()
        data = self.read_data()
        self.finish(rule, data)

    def finish(self, rule, data):
        """The verdict on a whole message: the data rule's, or accepted."""
        if rule:
            reply = self.apply(rule)
            if reply:
                self.reset()
                self.send(reply)
                return
        seq = self.save(data)
        self.reset()
        self.send("250 2.0.0 queued as %06d" % seq)

    def cmd_bdat(self, arg):
        """RFC 3030: "BDAT size [LAST]", then exactly size octets."""
        m = re.match(r"(\d+)(\s+LAST)?$", arg, re.I)
        if "CHUNKING" not in self.extensions or m is None:
            self.send("501 5.5.4 syntax: BDAT size [LAST]")
            return
        size, last = int(m.group(1)), m.group(2) is not None
        try:
            chunk = self.rfile.read(size)
        except (OSError, ssl.SSLError) as e:
            raise Dropped("recv: %s" % e)
        if len(chunk) < size:
            raise Dropped("eof in BDAT")
        self.st.log(self.id, "C: <%d octets%s>" % (size, " LAST" if last
                                                    else ""))
        if self.mail_from is None or not self.rcpts:
            self.chunks = []
            self.send("503 5.5.1 need MAIL and RCPT first")
            return
        self.chunks.append(chunk)
        if not last:
            self.send("250 2.0.0 %d octets received" % size)
            return
        data = b"".join(self.chunks)
        rule = self.find_rule("data", addrs=self.rcpts)
        self.finish(rule, data)

    def read_data(self):
        chunks = []
        size = 0
        while True:
            line = self.readline()
            if line == b".\r\n":
                break
            if line.startswith(b"."):
                line = line[1:]
            size += len(line)
            if size <= MAX_MSG:
                chunks.append(line)
        self.st.log(self.id, "C: <%d bytes of data>" % size)
        return b"".join(chunks)

    def save(self, data):
        seq = self.st.next_seq()
        spool = self.st.args.spool
        base = os.path.join(spool, "%06d" % seq)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(data)
        os.replace(base + ".eml.tmp", base + ".eml")
        env = {
            "mail_from": self.mail_from,
            "rcpts": self.rcpts,
            "mail_params": self.mail_params,
            "rcpt_params": self.rcpt_params,
            "helo": self.helo,
            "tls": self.tls,
            "auth": self.authed,
            "conn": self.id,
            "size": len(data),
        }
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(env, f, indent=1)
        os.replace(base + ".json.tmp", base + ".json")
        return seq

    def cmd_rset(self, arg):
        self.reset()
        self.send("250 2.0.0 reset")

    def cmd_noop(self, arg):
        self.send("250 2.0.0 ok")

    def cmd_vrfy(self, arg):
        self.send("252 2.1.5 cannot verify")

    def cmd_quit(self, arg):
        self.send("221 2.0.0 bye")
        raise Dropped("quit")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        st = self.server.state
        self.request.settimeout(120)
        # Replies are small writes: without this they wait for the
        # client's delayed ACK and every message costs 40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        Session(st, self.request, st.next_conn(), self.client_address).run()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--spool", required=True)
    ap.add_argument("--log")
    ap.add_argument("--rules")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--auth", help="USER:PASS; then AUTH is offered and required")
    args = ap.parse_args()
    os.makedirs(args.spool, exist_ok=True)

    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(args)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, args.port_file)
    try:
        srv.serve_forever(poll_interval=0.1)
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
