"""ipwarnd and PostgreSQL outages: the daemon never exits because the
database is away, keeps a batch's results until it is back (no letter the
relay accepted is sent again), and applies SIGHUP at the next batch, not
after the whole pass."""

import email
import os
import signal
import time

from harness import Env, stop_daemon, wait_for
from test_daemon import log_of
from test_delivery import spooled


def fill(env, n, domain):
    """n letters, one contact each, built (not sent)."""
    env.init_db()
    env.enqueue("".join(ip + "\n" for ip in
                        env.contact_overrides(n, "o", domain)))
    env.ipwarnd("--dry-run", check=0)      # build the letters


def set_reconnect_max(env, value):
    with open(env.conf) as f:
        text = f.read()
    with open(env.conf, "w") as f:
        f.write(text.replace("database: {", "database: { reconnect_max = "
                             "%s;" % value, 1))


def outage(pg, env, d, seconds):
    """PostgreSQL away for seconds; the daemon must live through it."""
    pg.halt()
    try:
        time.sleep(seconds)
        assert d.poll() is None, log_of(env)
    finally:
        pg.start()


def test_database_stopped_mid_batch_sends_nothing_twice(pg):
    n = 40
    # 150 ms a message: one batch of 40 is at the relay for 6 s, and the
    # database goes away while it is.
    with Env(pg, smtp="fault", whois=False,
             rules=[{"when": "data", "delay_ms": 150}],
             delivery={"workers": 1, "batch": n}) as env:
        fill(env, n, "outage.example")
        set_reconnect_max(env, '"2s"')
        d = env.start_daemon()
        try:
            wait_for(lambda: len(spooled(env)) >= 3, timeout=30,
                     what="a batch at the relay")
            outage(pg, env, d, 10)
            wait_for(lambda: env.status()["letters"]["sent"] == n,
                     timeout=90, what="every letter recorded as sent")
        finally:
            stop_daemon(d)
        ids = [m["message_id"] for m in spooled(env)]
        assert len(ids) == n and len(set(ids)) == n, \
            "%d messages, %d Message-IDs" % (len(ids), len(set(ids)))
        assert env.sql("SELECT count(*), count(DISTINCT letter_id) FROM "
                       "attempt") == [[str(n), str(n)]]
        assert "keeping the results of %d letters" % n in log_of(env)
        assert "recorded the %d results kept" % n in log_of(env)


def test_daemon_outlives_a_long_outage_and_resumes(pg):
    with Env(pg, whois=False) as env:
        env.init_db()
        env.ipwarn("contact", "set", "192.0.2.0/24", "abuse@a.example",
                   check=0)
        # At most 1 s between attempts: 15 s away is more attempts than
        # the 10 after which ipwarnd used to give up (~6 min at 60 s).
        set_reconnect_max(env, '"1s"')
        d = env.start_daemon()
        try:
            wait_for(lambda: "started" in log_of(env), what="daemon start")
            outage(pg, env, d, 15)
            env.enqueue("192.0.2.1\n")
            wait_for(lambda: len(env.smtp.messages()) == 1, timeout=30,
                     what="the letter after the outage")
            # Logged when the pass that found the database again ends,
            # which may be just after its letter went out; once only.
            wait_for(lambda: "database reachable again" in log_of(env),
                     timeout=15, what="the line saying the database is back")
            time.sleep(1)
            assert log_of(env).count("database reachable again") == 1
        finally:
            stop_daemon(d)


def test_sighup_is_applied_at_the_next_batch_not_after_the_pass(pg):
    n = 30
    with Env(pg, smtp="fault", whois=False,
             rules=[{"when": "data", "delay_ms": 200}],
             delivery={"workers": 1, "batch": 3}) as env:
        fill(env, n, "hup.example")
        d = env.start_daemon()
        try:
            wait_for(lambda: len(spooled(env)) >= 3, timeout=30,
                     what="the pass under way")
            with open(env.conf) as f:
                text = f.read()
            with open(env.conf, "w") as f:
                f.write(text.replace("Secure Your Server", "Reloaded"))
            d.send_signal(signal.SIGHUP)
            wait_for(lambda: len(spooled(env)) == n, timeout=60,
                     what="every letter")
        finally:
            stop_daemon(d)
        froms = [str(email.message_from_bytes(m["raw"])["From"])
                 for m in spooled(env)]
        new = sum("Reloaded" in f for f in froms)
        # Letters are rendered when claimed: those of the batches after
        # the reload carry the new From.  After the pass, none would.
        assert new >= n // 2, froms
        assert "configuration reloaded" in log_of(env)
