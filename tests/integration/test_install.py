"""make install / uninstall lay out exactly the contract's files, the
configuration is never overwritten, systemd accepts the unit, and the
daemon speaks systemd's readiness protocol (Type=notify)."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile

from harness import BIN, Env, SRC, wait_for
from test_daemon import log_of

BUILD = os.path.abspath(os.path.join(SRC, os.environ.get("IW_BUILD",
                                                         "build")))

CONTRACT = sorted([
    "etc/ipwarn/ipwarn.conf",
    "lib/systemd/system/ipwarnd.service",
    "usr/bin/ipwarn",
    "usr/lib/sysusers.d/ipwarn.conf",
    "usr/lib/tmpfiles.d/ipwarn.conf",
    "usr/sbin/ipwarnd",
    "usr/share/man/man1/ipwarn.1",
    "usr/share/man/man8/ipwarnd.8",
] + ["usr/share/ipwarn/locales/" + n
     for n in os.listdir(os.path.join(SRC, "locales"))])


def make(target, dest, prefix="/usr"):
    p = subprocess.run(["make", "-s", "--no-print-directory", "-C", SRC,
                        target, "DESTDIR=" + dest, "PREFIX=" + prefix,
                        "BIN=" + BIN, "BUILD=" + BUILD],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def files_under(root):
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.relpath(os.path.join(d, n), root) for n in names]
    return sorted(out)


def installed(fn):
    def test(pg):
        dest = tempfile.mkdtemp(prefix="iw-install-")
        try:
            make("install", dest)
            fn(dest)
        finally:
            shutil.rmtree(dest, ignore_errors=True)
    test.__name__ = fn.__name__
    return test


@installed
def test_make_install_lays_out_exactly_the_contracts_files(dest):
    assert files_under(dest) == CONTRACT
    conf = os.path.join(dest, "etc/ipwarn/ipwarn.conf")
    assert os.stat(conf).st_mode & 0o777 == 0o640
    with open(conf) as f:
        text = f.read()
    assert 'directory      = "/usr/share/ipwarn/locales";' in text
    with open(os.path.join(dest, "lib/systemd/system/ipwarnd.service")) as f:
        unit = f.read()
    assert "ExecStart=/usr/sbin/ipwarnd --foreground -c " \
        "/etc/ipwarn/ipwarn.conf" in unit
    # The operator's file survives a second install ...
    with open(conf, "a") as f:
        f.write("# mine\n")
    make("install", dest)
    with open(conf) as f:
        assert f.read().endswith("# mine\n")
    # ... and uninstall, which removes everything else.
    make("uninstall", dest)
    assert files_under(dest) == ["etc/ipwarn/ipwarn.conf"]


@installed
def test_systemd_analyze_verify_accepts_the_unit(dest):
    # verify wants ExecStart's program to exist: point it at the DESTDIR
    # copy; man pages are looked up in the DESTDIR too.
    with open(os.path.join(dest, "lib/systemd/system/ipwarnd.service")) as f:
        unit = f.read().replace("/usr/sbin/ipwarnd",
                                os.path.join(dest, "usr/sbin/ipwarnd"))
    path = os.path.join(dest, "ipwarnd.service")
    with open(path, "w") as f:
        f.write(unit)
    p = subprocess.run(["systemd-analyze", "verify", path],
                       capture_output=True, text=True, cwd=dest,
                       env=dict(os.environ, MANPATH=os.path.join(
                           dest, "usr/share/man")))
    assert p.returncode == 0 and p.stderr == "", p.stderr
    for key in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID",
                "Restart=on-failure", "NoNewPrivileges=yes",
                "ProtectSystem=strict", "PrivateTmp=yes",
                "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"):
        assert key in unit, key


def test_daemon_tells_systemd_ready_reloading_stopping(pg):
    with Env(pg, whois=False) as env:
        env.init_db()
        path = os.path.join(env.tmp, "notify")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(20)
        old = os.environ.get("NOTIFY_SOCKET")
        os.environ["NOTIFY_SOCKET"] = path
        try:
            d = env.start_daemon()
        finally:
            if old is None:
                del os.environ["NOTIFY_SOCKET"]
            else:
                os.environ["NOTIFY_SOCKET"] = old
        try:
            assert s.recv(256) == b"READY=1"
            wait_for(lambda: "started" in log_of(env), what="daemon start")
            d.send_signal(signal.SIGHUP)
            assert s.recv(256) == b"RELOADING=1"
            assert s.recv(256) == b"READY=1"
            d.send_signal(signal.SIGTERM)
            assert s.recv(256) == b"STOPPING=1"
            assert d.wait(20) == 0
        finally:
            s.close()
            if d.poll() is None:
                d.kill()
