"""ipwarnd as a daemon: woken by NOTIFY, SIGTERM exits 0, SIGHUP reloads
and keeps the old configuration when the new one is bad."""

import os
import signal
import time

from harness import Env, wait_for


def log_of(env):
    text = ""
    for name in sorted(os.listdir(env.tmp)):
        if name.startswith("ipwarnd-"):
            with open(os.path.join(env.tmp, name), errors="replace") as f:
                text += f.read()
    return text


def test_daemon_wakes_on_new_work_and_stops_on_sigterm(pg):
    with Env(pg, whois=False) as env:
        env.init_db()
        env.ipwarn("contact", "set", "192.0.2.0/24", "abuse@a.example",
                   check=0)
        d = env.start_daemon()
        try:
            wait_for(lambda: "started" in log_of(env), what="daemon start")
            time.sleep(1)   # asleep now: only a notification wakes it
            t0 = time.time()
            env.enqueue("192.0.2.1,open relay\n")
            wait_for(lambda: len(env.smtp.messages()) == 1, timeout=15,
                     what="the letter")
            # Far below the 60 s idle sleep: NOTIFY woke it.
            assert time.time() - t0 < 15
            d.send_signal(signal.SIGTERM)
            assert d.wait(20) == 0
        finally:
            if d.poll() is None:
                d.kill()
        assert env.status()["letters"]["sent"] == 1
        assert env.sql("SELECT count(*) FROM letter WHERE locked_by IS "
                       "NOT NULL") == [["0"]]


def test_sighup_with_a_bad_file_keeps_the_old_configuration(pg):
    with Env(pg, whois=False) as env:
        env.init_db()
        env.ipwarn("contact", "set", "192.0.2.0/24", "abuse@a.example",
                   check=0)
        d = env.start_daemon()
        try:
            wait_for(lambda: "started" in log_of(env), what="daemon start")
            with open(env.conf) as f:
                good = f.read()
            with open(env.conf, "w") as f:
                f.write(good + "\ndelivery2: { };\n")
            d.send_signal(signal.SIGHUP)
            wait_for(lambda: "keeping the old configuration" in log_of(env),
                     what="the reload error in the log")
            assert "delivery2" in log_of(env)
            assert d.poll() is None
            # The file is fixed for the CLI only; the daemon still runs on
            # the configuration it kept.
            with open(env.conf, "w") as f:
                f.write(good)
            env.enqueue("192.0.2.7\n")
            wait_for(lambda: len(env.smtp.messages()) == 1, timeout=15,
                     what="a letter after the failed reload")
            d.send_signal(signal.SIGHUP)
            wait_for(lambda: "configuration reloaded" in log_of(env),
                     what="the reload")
            d.send_signal(signal.SIGTERM)
            assert d.wait(20) == 0
        finally:
            if d.poll() is None:
                d.kill()
