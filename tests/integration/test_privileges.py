"""Privileges and secrets: started as root ipwarnd runs as daemon.user
(default ipwarn); both programs refuse a configuration whose secrets every
user can read and the example's VERP secret; --pidfile with a relative -c
survives the daemon's chdir("/") and a SIGHUP."""

import os
import pwd
import signal
import subprocess
import time

from harness import BIN, Env, SRC, stop_daemon, wait_for
from test_daemon import log_of


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("no Uid line")


def have_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def runs_as(env, user):
    d = env.start_daemon()
    try:
        wait_for(lambda: "started" in log_of(env), what="daemon start")
        want = pwd.getpwnam(user).pw_uid
        # real, effective, saved and file-system uid: all given up
        assert uid_of(d.pid) == [want] * 4, log_of(env)
    finally:
        stop_daemon(d)


def test_root_daemon_runs_as_daemon_user(pg):
    if os.geteuid() != 0:
        return
    user = "iwtest%d" % (os.getpid() % 100000)
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                    "/usr/sbin/nologin", user], check=True)
    try:
        with Env(pg, whois=False,
                 extra='daemon: { user = "%s"; };' % user) as env:
            env.init_db()
            runs_as(env, user)
    finally:
        subprocess.run(["userdel", user], check=False)


def test_root_daemon_without_daemon_user_runs_as_ipwarn(pg):
    if os.geteuid() != 0:
        return
    created = not have_user("ipwarn")
    if created:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", "ipwarn"], check=True)
    try:
        with Env(pg, whois=False, extra="daemon: { };") as env:
            env.init_db()
            runs_as(env, "ipwarn")
    finally:
        if created:
            subprocess.run(["userdel", "ipwarn"], check=False)


def test_missing_daemon_user_is_a_configuration_error(pg):
    if os.geteuid() != 0:
        return
    with Env(pg, whois=False,
             extra='daemon: { user = "no-such-user-iw"; };') as env:
        p = env.ipwarnd("--once", check=78)
        assert "daemon.user" in p.stderr and p.stderr.count("\n") == 1


def test_world_readable_secrets_are_refused_by_both_programs(pg):
    with Env(pg, whois=False) as env:
        env.init_db()
        os.chmod(env.conf, 0o644)
        for prog, args in (("ipwarn", ["status"]), ("ipwarnd", ["--once"])):
            p = env.run(prog, *args, check=78)
            assert "sender.verp_secret" in p.stderr, p.stderr
            assert "chmod 640" in p.stderr and p.stderr.count("\n") == 1
        os.chmod(env.conf, 0o640)
        env.ipwarn("status", check=0)


def test_the_example_configuration_secret_is_refused(pg):
    with Env(pg, whois=False) as env:
        conf = os.path.join(env.tmp, "example.conf")
        with open(os.path.join(SRC, "etc", "ipwarn.conf")) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text)
        os.chmod(conf, 0o640)
        p = subprocess.run([os.path.join(BIN, "ipwarn"), "-c", conf, "bounce",
                            "--dry-run"], input="", capture_output=True,
                           text=True)
        assert p.returncode == 78, p.stderr
        assert "openssl rand -hex 32" in p.stderr, p.stderr


def test_auth_in_clear_is_refused_off_loopback_and_warned_on_it(pg):
    with Env(pg, whois=False) as env:
        env.init_db()
        with open(env.conf) as f:
            good = f.read()
        relay = env.smtp.relay
        with open(env.conf, "w") as f:
            f.write(good.replace(
                'starttls = "disabled";',
                'starttls = "enabled"; username = "u"; password = "p";'))
        d = env.start_daemon()
        try:
            wait_for(lambda: "started" in log_of(env), what="daemon start")
            assert "AUTH without required TLS" in log_of(env)
            assert log_of(env).count("AUTH without required TLS") == 1
        finally:
            stop_daemon(d)
        with open(env.conf, "w") as f:
            f.write(good.replace(
                'starttls = "disabled";',
                'starttls = "enabled"; username = "u"; password = "p";')
                .replace(relay, "mail.example.org:587"))
        p = env.ipwarnd("--once", check=78)
        assert 'needs starttls = "required"' in p.stderr, p.stderr


def test_pidfile_and_reload_with_a_relative_config_path(pg):
    with Env(pg, whois=False) as env:
        env.init_db()
        pidfile = os.path.join(env.tmp, "ipwarnd.pid")
        # Not --foreground: it detaches and chdir's to /; both paths are
        # relative to where it started.
        p = subprocess.run([os.path.join(BIN, "ipwarnd"), "-c", "ipwarn.conf",
                            "--pidfile", "ipwarnd.pid"], cwd=env.tmp,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        wait_for(lambda: os.path.exists(pidfile), what="the pidfile")
        time.sleep(0.2)
        with open(pidfile) as f:
            pid = int(f.read())
        try:
            assert os.readlink("/proc/%d/cwd" % pid) == "/"
            cmd = open("/proc/%d/cmdline" % pid).read()
            assert "ipwarnd" in cmd
            # Reloaded from the same (now absolute) path: the new From
            # is used.
            with open(env.conf) as f:
                text = f.read()
            with open(env.conf, "w") as f:
                f.write(text.replace("Secure Your Server", "Reloaded"))
            os.kill(pid, signal.SIGHUP)
            time.sleep(1)
            assert os.path.exists("/proc/%d" % pid)
            env.ipwarn("contact", "set", "192.0.2.0/24", "abuse@a.example",
                       check=0)
            env.enqueue("192.0.2.9\n")
            wait_for(lambda: len(env.smtp.messages()) == 1, timeout=20,
                     what="a letter after the reload")
            assert "Reloaded" in str(env.smtp.messages()[0]["msg"]["From"])
        finally:
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
                     "zombie" in open("/proc/%d/status" % pid).read()
                     .lower(), what="the daemon's exit")
        assert not os.path.exists(pidfile)
