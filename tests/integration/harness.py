"""Test harness: real services on loopback for ipwarn's end-to-end tests.

One PostgreSQL server per test run (initdb + pg_ctl in a temp dir, Unix
socket only, run as the 'postgres' user when we are root, since initdb
refuses root); a fresh database per test.  Per test also: Postfix's
smtp-sink capturing every message to files (or the project's fault-injecting
server, tests/servers/smtpfault.py), the loopback WHOIS world
(tests/servers/whoisd.py) and a GeoIP .mmdb built with MaxMind's writer
(tools/mkmmdb).  Everything binds 127.0.0.1 only and is torn down even when
a test fails.
"""

import email
import email.policy
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.path.join(SRC, os.environ.get("IW_BIN", "bin")))
PY = sys.executable or "python3"

# The GeoIP world of the fixtures: documentation ranges mapped to countries
# so that each registry's IPs exercise a different letter.
GEO_SPEC = """\
# CIDR CC [registered CC]
192.0.2.0/26      DK
192.0.2.64/26     NL
192.0.2.128/26    DE
192.0.2.192/26    RO
198.51.100.0/25   US
198.51.100.128/25 NO
198.18.0.0/15     US
203.0.113.0/25    -  JP
203.0.113.128/26  BR
203.0.113.192/26  ZA
2001:db8::/32     DE
"""

COUNTRY_LOCALE = {"DK": "da", "NO": "nb", "NL": "nl", "DE": "de",
                  "RO": "ro"}


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    """True while something accepts TCP connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def wait_for(pred, timeout=20.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise TimeoutError("timed out waiting for " + what)


def pg_bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    raise RuntimeError("PostgreSQL server binaries not found "
                       "(run tools/deps)")


class Postgres:
    """A private PostgreSQL server on a Unix socket in a temp dir."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="iw-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        os.mkdir(self.sock)
        self.port = free_port()
        self.bindir = pg_bindir()
        self.runas = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            for p in (self.dir, self.sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            self.runas = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", self.data, "-A", "trust", "-U",
                  "ipwarn", "-E", "UTF8", "--locale=C")
        self.start()
        self.n = 0

    def start(self):
        self._run("pg_ctl", "-D", self.data, "-w", "-l",
                  os.path.join(self.dir, "log"), "-o",
                  "-k %s -p %d -c listen_addresses='' -c fsync=off "
                  "-c synchronous_commit=off -c full_page_writes=off "
                  "-c max_connections=200" % (self.sock, self.port),
                  "start")

    def halt(self):
        """Stop the server but keep its data: an outage; start() ends
        it."""
        self._run("pg_ctl", "-D", self.data, "-w", "-m", "fast", "stop")

    def _run(self, prog, *args):
        cmd = self.runas + [os.path.join(self.bindir, prog)] + list(args)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, cwd=self.dir)

    def conninfo(self, db):
        return "host=%s port=%d user=ipwarn dbname=%s" % (
            self.sock, self.port, db)

    def new_database(self):
        self.n += 1
        name = "t%d_%d" % (os.getpid(), self.n)
        self.psql("postgres", "CREATE DATABASE %s" % name)
        return name

    def psql(self, db, sql):
        out = subprocess.run(
            ["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
             "-d", self.conninfo(db), "-c", sql],
            check=True, capture_output=True, text=True)
        return [line.split("\t") for line in out.stdout.splitlines()]

    def stop(self):
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Proc:
    """A background server process, killed at teardown."""

    def __init__(self, cmd, log):
        self.log = open(log, "ab")
        self.p = subprocess.Popen(cmd, stdout=self.log, stderr=self.log,
                                  start_new_session=True)

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.log.close()


class SmtpSink:
    """Postfix's smtp-sink on loopback, dumping each message to a file."""

    def __init__(self, tmp, dump=True):
        """dump=False: count only (benchmarks: the sink must not be the
        bottleneck)."""
        self.dir = os.path.join(tmp, "sink")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o777)
        self.port = free_port()
        cmd = ["smtp-sink"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        if dump:
            cmd += ["-d", os.path.join(self.dir, "msg."), "-h", "sink.test"]
        else:
            cmd += ["-c"]
        cmd += ["127.0.0.1:%d" % self.port, "256"]
        self.proc = Proc(cmd, os.path.join(tmp, "smtp-sink.log"))
        wait_for(lambda: port_open(self.port), what="smtp-sink")

    @property
    def relay(self):
        return "127.0.0.1:%d" % self.port

    def messages(self):
        """Every captured message: dict(mail_from, rcpts, msg, raw)."""
        out = []
        for path in sorted(glob.glob(os.path.join(self.dir, "msg.*"))):
            with open(path, "rb") as f:
                raw = f.read()
            out.append(parse_sink_dump(raw))
        return out

    def stop(self):
        self.proc.stop()


def parse_sink_dump(raw):
    """smtp-sink's dump: X-Mail-Args/X-Rcpt-Args records, a Received
    header, then the message as sent."""
    head, _, rest = raw.partition(b"\nReceived: ")
    mail_from, rcpts = None, []
    for line in head.decode("utf-8", "replace").splitlines():
        if line.startswith("X-Mail-Args: "):
            mail_from = line[len("X-Mail-Args: "):]
        elif line.startswith("X-Rcpt-Args: "):
            rcpts.append(line[len("X-Rcpt-Args: "):])
    # Skip the three-line Received header smtp-sink adds.
    lines = rest.split(b"\n", 3)
    body = lines[3] if len(lines) > 3 else b""
    msg = email.message_from_bytes(body, policy=email.policy.default)
    return {"mail_from": mail_from, "rcpts": rcpts, "msg": msg,
            "raw": body}


def addr_of(args):
    """'FROM:<a@b> BODY=8BITMIME' or '<a@b> NOTIFY=..' -> 'a@b'."""
    s = args.split("<", 1)[1] if "<" in args else args
    return s.split(">", 1)[0]


class SmtpFault:
    """The project's fault-injecting SMTP server (tests/servers)."""

    def __init__(self, tmp, rules=None):
        self.dir = os.path.join(tmp, "fault")
        os.mkdir(self.dir)
        self.rules = os.path.join(self.dir, "rules.json")
        self.set_rules(rules or [])
        pf = os.path.join(self.dir, "port")
        self.log = os.path.join(self.dir, "log")
        self.spool = os.path.join(self.dir, "spool")
        self.proc = Proc([PY, os.path.join(SRC, "tests/servers/smtpfault.py"),
                          "--port-file", pf, "--spool", self.spool,
                          "--log", self.log, "--rules", self.rules],
                         os.path.join(tmp, "smtpfault.out"))
        self.port = int(wait_for(lambda: os.path.exists(pf) and
                                 open(pf).read().strip(),
                                 what="smtpfault port"))

    def set_rules(self, rules):
        tmp = self.rules + ".tmp"
        with open(tmp, "w") as f:
            json.dump(rules, f)
        os.rename(tmp, self.rules)

    @property
    def relay(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.stop()


class Whois:
    """The loopback WHOIS world: one port per registry server."""

    def __init__(self, tmp, world=None, latency_ms=0, extra=()):
        self.world_path = world or os.path.join(
            SRC, "tests/fixtures/whois/world.json")
        with open(self.world_path) as f:
            self.world = json.load(f)
        hosts = os.path.join(tmp, "whois-hosts.json")
        self.log = os.path.join(tmp, "whois-queries.log")
        cmd = [PY, os.path.join(SRC, "tests/servers/whoisd.py"), "--world",
               self.world_path, "--hosts-out", hosts, "--log", self.log]
        if latency_ms:
            cmd += ["--latency-ms", str(latency_ms)]
        cmd += list(extra)
        self.proc = Proc(cmd, os.path.join(tmp, "whoisd.out"))
        wait_for(lambda: os.path.exists(hosts), what="whoisd")
        with open(hosts) as f:
            self.hosts = json.load(f)

    def queries(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [line.rstrip("\n").split("\t", 1) for line in f]

    def stop(self):
        self.proc.stop()


def build_mmdb(tmp, spec=GEO_SPEC):
    spec_path = os.path.join(tmp, "geo.spec")
    out = os.path.join(tmp, "geo.mmdb")
    with open(spec_path, "w") as f:
        f.write(spec)
    subprocess.run([os.path.join(SRC, "tools/mkmmdb"), spec_path, out],
                   check=True, capture_output=True)
    return out


def stop_daemon(d, timeout=60):
    """SIGTERM: the daemon must exit 0 (it is killed if it does not)."""
    try:
        d.send_signal(signal.SIGTERM)
        assert d.wait(timeout) == 0
    finally:
        if d.poll() is None:
            d.kill()


def conf_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Env:
    """Everything one end-to-end test needs; use as a context manager."""

    def __init__(self, pg, smtp="sink", whois=True, rules=None,
                 delivery=None, extra=""):
        self.pg = pg
        self.tmp = tempfile.mkdtemp(prefix="iw-test-")
        os.chmod(self.tmp, 0o755)
        self.servers = []
        try:
            self.db = pg.new_database()
            if smtp == "sink":
                self.smtp = SmtpSink(self.tmp)
            else:
                self.smtp = SmtpFault(self.tmp, rules)
            self.servers.append(self.smtp)
            self.whois = Whois(self.tmp) if whois else None
            if self.whois:
                self.servers.append(self.whois)
            self.mmdb = build_mmdb(self.tmp)
            self.conf = os.path.join(self.tmp, "ipwarn.conf")
            self.write_conf(delivery or {}, extra)
        except BaseException:
            self.close()
            raise

    def write_conf(self, delivery, extra=""):
        d = {"workers": 2, "batch": 20, "min_backoff": '"5m"',
             "max_backoff": '"1h"', "max_age": '"5d"', "lease": '"5m"'}
        d.update(delivery)
        hosts = ""
        if self.whois:
            hosts = ",\n".join(
                '    { name = %s; address = %s; }' % (conf_string(n),
                                                      conf_string(a))
                for n, a in sorted(self.whois.hosts.items()))
        text = """\
database: { conninfo = %(conninfo)s; };
smtp: { relay = %(relay)s; starttls = "disabled"; timeout = "10s"; };
sender: {
  from = "Secure Your Server <secure@regulator.example>";
  reply_to = "secure@regulator.example";
  return_path = "bounces@regulator.example";
  verp_secret = "test-secret-0123456789";
};
geoip: { database = %(mmdb)s; };
whois: {
  bootstrap = "whois.iana.org";
  timeout = "5s";
  hosts = (
%(hosts)s
  );
};
letters: {
  directory = %(locales)s;
  default_locale = "en";
  countries = { DK = "da"; NO = "nb"; NL = "nl"; DE = "de"; RO = "ro"; };
};
delivery: { %(delivery)s };
%(daemon)s
%(extra)s
""" % {"conninfo": conf_string(self.pg.conninfo(self.db)),
            "relay": conf_string(self.smtp.relay),
            "mmdb": conf_string(self.mmdb),
            "hosts": hosts,
            "locales": conf_string(os.path.join(SRC, "locales")),
            "delivery": " ".join("%s = %s;" % kv for kv in d.items()),
            "extra": extra,
            # The tests run as root or not; either way the daemon keeps
            # the user it was started as unless a test says otherwise.
            "daemon": "" if "daemon:" in extra else
            'daemon: { user = "%s"; };' % pwd.getpwuid(os.geteuid())[0]}
        with open(self.conf, "w") as f:
            f.write(text)
        # It holds secrets: not for every user's eyes (else refused).
        os.chmod(self.conf, 0o640)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for s in reversed(self.servers):
            try:
                s.stop()
            except Exception:
                pass
        if os.environ.get("IW_KEEP") is None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- running the programs ---

    def run(self, prog, *args, input=None, timeout=120, check=None):
        cmd = [os.path.join(BIN, prog), "-c", self.conf] + list(args)
        p = subprocess.run(cmd, input=input, capture_output=True,
                           timeout=timeout, cwd=self.tmp,
                           text=isinstance(input, str) or input is None)
        if check is not None and p.returncode != check:
            raise AssertionError("%s exited %d (want %d)\nstdout:\n%s\n"
                                 "stderr:\n%s" % (" ".join(cmd),
                                                  p.returncode, check,
                                                  p.stdout, p.stderr))
        return p

    def ipwarn(self, *args, **kw):
        return self.run("ipwarn", *args, **kw)

    def ipwarnd(self, *args, **kw):
        return self.run("ipwarnd", *args, **kw)

    def start_daemon(self, *args):
        log = os.path.join(self.tmp, "ipwarnd-%d.log" % len(self.servers))
        cmd = [os.path.join(BIN, "ipwarnd"), "-c", self.conf,
               "--foreground"] + list(args)
        return subprocess.Popen(cmd, stdout=open(log, "ab"),
                                stderr=subprocess.STDOUT, cwd=self.tmp)

    def sql(self, query):
        return self.pg.psql(self.db, query)

    def contact_overrides(self, n, prefix="c", domain="op.example",
                          net="198.18"):
        """n IPs NET.(i / 250).(i % 250), i = 1..n, each with an operator
        override to a contact of its own, PREFIXi@DOMAIN; returns
        {ip: contact} in that order."""
        self.sql("INSERT INTO contact_override (network, email) SELECT "
                 "('%s.' || (i / 250) || '.' || (i %% 250) || '/32')::cidr,"
                 " '%s' || i || '@%s' FROM generate_series(1, %d) i"
                 % (net, prefix, domain, n))
        return {"%s.%d.%d" % (net, i // 250, i % 250):
                "%s%d@%s" % (prefix, i, domain) for i in range(1, n + 1)}

    def status(self):
        p = self.ipwarn("status", "--json", check=0)
        return json.loads(p.stdout)

    def init_db(self):
        self.ipwarn("db", "init", check=0)

    def campaign(self, verb, name, *args, check=0):
        return self.ipwarn("campaign", verb, name, *args, check=check)

    def enqueue(self, text, *args, check=0, approve=True):
        """Queue text into the campaign named by --campaign (created
        first when missing) or 'default'.  approve=True then approves the
        campaign, as an operator does after review, so the tests that are
        about delivery see their letters sent; approve=False leaves it as
        it is (a draft stays a draft)."""
        args = list(args)
        name = "default"
        if "--campaign" in args:
            name = args[args.index("--campaign") + 1]
            if self.ipwarn("campaign", "show", name).returncode != 0:
                self.campaign("create", name)
        p = self.ipwarn("enqueue", *args, "-", input=text, check=check)
        if approve:
            state = json.loads(self.ipwarn("campaign", "show", name,
                                           "--json", check=0).stdout)
            if state["state"] in ("draft", "paused"):
                self.campaign("approve", name)
        return p


def expected_contacts(world):
    """ip -> expected email (or None) from the WHOIS world's 'expect'."""
    return {e["ip"]: e.get("email") for e in world.get("expect", [])}
