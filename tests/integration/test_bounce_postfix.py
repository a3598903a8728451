"""A real Postfix as the relay, end to end: ipwarnd sends a letter to an
unknown local user of a private Postfix instance on 127.0.0.1; Postfix
accepts it, local(8) finds no such user, and Postfix's own bounce daemon
returns its DSN to the letter's VERP address, which a pipe(8) transport
hands to `ipwarn bounce --recipient ${original_recipient}`.  The letter
must end 'bounced' (hard) and the contact suppressed.  No hand-made bounce.

The instance has its own config_directory, queue_directory and
data_directory in a temp dir, listens only on 127.0.0.1:PORT (one smtpd,
no other inet service), logs to a file (maillog_file), and is stopped and
removed at the end.  Postfix must be started by root; the test is skipped
(reported as passed with a note) when not root or Postfix is missing.
"""

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
import time

from harness import BIN, Env, free_port, port_open, wait_for

DOMAIN = "contact.test"          # Postfix's own mail domain (mydestination)
RETURN_DOMAIN = "regulator.example"  # the letters' return_path domain

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {dir}/spool
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.{domain}
mydomain = {domain}
myorigin = $myhostname
mydestination = {domain}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
# accept any local address at RCPT: local(8) then finds no such user and
# Postfix bounces the letter with a DSN of its own (Status 5.1.1)
local_recipient_maps =
alias_maps =
alias_database =
transport_maps = inline:{{ {rdomain}=ipwarnbounce: }}
ipwarnbounce_destination_recipient_limit = 1
smtpd_banner = $myhostname ESMTP
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
disable_dns_lookups = yes
smtp_dns_support_level = disabled
biff = no
delay_warning_time = 0
bounce_queue_lifetime = 1h
maximal_queue_lifetime = 1h
minimal_backoff_time = 2s
maximal_backoff_time = 4s
queue_run_delay = 2s
"""

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
virtual   unix - n n - - virtual
lmtp      unix - - n - - lmtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
ipwarnbounce unix - n n - - pipe
  flags=Rq user=nobody argv={ipwarn} -c {conf} bounce --recipient ${{original_recipient}}
"""


class Postfix:
    """A private Postfix instance; stop() tears it down."""

    def __init__(self, conf):
        self.dir = tempfile.mkdtemp(prefix="iw-postfix-")
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, "etc")
        os.mkdir(self.etc)
        self.port = free_port()
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(dir=self.dir, domain=DOMAIN,
                                   rdomain=RETURN_DOMAIN))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port,
                                     ipwarn=os.path.join(BIN, "ipwarn"),
                                     conf=conf))
        for d in ("spool", "data"):
            os.mkdir(os.path.join(self.dir, d))
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        self.started = False
        self._postfix("check")
        self._postfix("start")
        self.started = True
        wait_for(self._up, 30, "postfix smtpd")

    def _postfix(self, *args):
        p = subprocess.run(["postfix", "-c", self.etc] + list(args),
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("postfix %s: %s%s\n%s" % (
                " ".join(args), p.stdout, p.stderr, self.log()))

    def _up(self):
        return port_open(self.port)

    @property
    def relay(self):
        return "127.0.0.1:%d" % self.port

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog")) as f:
                return f.read()
        except OSError:
            return ""

    def listeners(self):
        """Local TCP addresses the instance's master listens on."""
        out = subprocess.run(["ss", "-Hltnp"], capture_output=True,
                             text=True).stdout
        pidf = os.path.join(self.dir, "spool", "pid", "master.pid")
        try:
            pid = open(pidf).read().strip()
        except OSError:
            return None
        return [line.split()[3] for line in out.splitlines()
                if "pid=%s," % pid in line]

    def stop(self):
        if self.started:
            try:
                self._postfix("stop")
            except Exception:
                subprocess.run(["postfix", "-c", self.etc, "abort"],
                               capture_output=True)
            self.started = False
        if os.environ.get("IW_KEEP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)


def usable():
    return os.geteuid() == 0 and shutil.which("postfix") is not None


def test_postfix_dsn_for_unknown_user_bounces_letter_hard(pg):
    if not usable():
        print("SKIP: needs root and Postfix")
        return
    with Env(pg, extra='bounces: { maildir = "maildir"; soft_limit = 3; };'
             ) as env:
        env.init_db()
        pf = Postfix(env.conf)
        try:
            # The letter goes to Postfix, not the sink.
            env.smtp.port = pf.port
            env.write_conf({}, 'bounces: { maildir = "maildir"; '
                           'soft_limit = 3; };')
            # pipe(8) runs ipwarn as nobody: its group may read the file
            # (it holds secrets: not every user may), as root:ipwarn 640
            # on an installed host.
            os.chown(env.conf, 0, grp.getgrgid(
                pwd.getpwnam("nobody").pw_gid).gr_gid)
            os.chmod(env.conf, 0o640)
            ls = pf.listeners()
            if ls is not None:
                assert ls == [pf.relay], ls
            contact = "nosuchuser@" + DOMAIN
            env.ipwarn("contact", "set", "192.0.2.10/32", contact, check=0)
            env.enqueue("192.0.2.10,open proxy on 3128/tcp\n",
                        "--campaign", "pf")
            env.ipwarnd("--once", check=0)
            rows = env.sql("SELECT id, state FROM letter")
            # Postfix may have bounced it already: 'sent' or 'bounced'.
            assert len(rows) == 1 and rows[0][1] in ("sent", "bounced"), (
                rows, pf.log())
            lid = int(rows[0][0])

            def bounced():
                r = env.sql("SELECT state, bounce_class, bounce_status "
                            "FROM letter WHERE id = %d" % lid)[0]
                return r if r[0] == "bounced" else None
            try:
                row = wait_for(bounced, 90, "the DSN through the pipe")
            except TimeoutError:
                raise AssertionError("no bounce recorded; maillog:\n" +
                                     pf.log())
            assert row == ["bounced", "hard", "5.1.1"], row
            sup = env.sql("SELECT email, source FROM suppression")
            assert sup == [[contact, "bounce"]], sup
            b = env.sql("SELECT verified, via, kind, envelope FROM bounce")
            assert len(b) == 1 and b[0][:3] == ["t", "pipe", "dsn"], b
            assert b[0][3].startswith("bounces+%d." % lid), b
            assert "status=sent (delivered via ipwarnbounce" in pf.log()
        finally:
            pf.stop()
        assert os.environ.get("IW_KEEP") or not os.path.exists(pf.dir)
        time.sleep(0.2)
        assert not pf._up(), "postfix still listening"
