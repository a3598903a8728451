"""One WHOIS budget across daemons: three ipwarnd on one database ask a
registry no faster together than its configured rate (lib/budget.c).

whoisd --log-times records when each query arrived; the rate measured at
the fake server over the whole run must be within 10 % of the rate
configured for it, although each daemon alone would go that fast.
"""

import os
import subprocess

from harness import BIN, Env, Whois
from test_whois_scale import contacts, truth

RATE = 8.0


def test_three_daemons_share_one_whois_budget(pg):
    with Env(pg, whois=False) as env:
        times = os.path.join(env.tmp, "query-times.log")
        env.whois = Whois(env.tmp, extra=["--log-times", times])
        env.servers.append(env.whois)
        env.write_conf({"workers": 4})
        with open(env.conf) as f:
            text = f.read()
        # No cache: every IP asks RIPE, so the queries measure the budget.
        text = text.replace('timeout = "5s";',
                            'timeout = "5s"; cache = false;', 1)
        ripe = 'name = "whois.ripe.net"; address = "%s"; }' % \
            env.whois.hosts["whois.ripe.net"]
        assert ripe in text, text
        text = text.replace(ripe, ripe[:-1] + "rate = %.1f; }" % RATE)
        with open(env.conf, "w") as f:
            f.write(text)
        env.init_db()
        # RIPE's /26s with an abuse contact (the .192/26 needs an irt query)
        ips = ["192.0.2.%d" % i for i in range(1, 192, 2)]
        env.enqueue("\n".join(ips) + "\n")
        logs = [os.path.join(env.tmp, "once-%d.log" % i) for i in range(3)]
        procs = [subprocess.Popen(
            [os.path.join(BIN, "ipwarnd"), "-c", env.conf, "--once",
             "--dry-run"], stdout=open(log, "wb"), stderr=subprocess.STDOUT,
            cwd=env.tmp) for log in logs]
        for p in procs:
            p.wait(timeout=300)
        got = contacts(env)
        for ip in ips:
            assert got[ip][:2] == ("resolved", truth(ip)), (ip, got[ip])
        # The work was shared: more than one daemon asked RIPE.
        asked = 0
        for log in logs:
            with open(log) as f:
                asked += any("192.0.2." in line for line in f)
        assert asked >= 2, [open(log).read()[-2000:] for log in logs]
        with open(times) as f:
            t = sorted(float(line.split("\t")[1]) for line in f
                       if line.startswith("whois.ripe.net\t"))
        assert len(t) == len(ips), len(t)
        rate = (len(t) - 1) / (t[-1] - t[0])
        assert abs(rate - RATE) <= 0.1 * RATE, (rate, RATE)


def test_throttle_answer_backs_the_server_off_for_every_daemon(pg):
    with Env(pg, whois=False) as env:
        env.whois = Whois(env.tmp, extra=["--throttle", "whois.ripe.net=1"])
        env.servers.append(env.whois)
        env.write_conf({"workers": 1})
        env.init_db()
        env.enqueue("192.0.2.70\n", "--campaign", "first")
        env.ipwarnd("--once", "--dry-run", check=0)
        ripe = [q for s, q in env.whois.queries() if s == "whois.ripe.net"]
        assert len(ripe) == 1, env.whois.queries()   # answered %ERROR:201
        # Another daemon (a new process: its own limiter knows nothing)
        # leaves RIPE alone while the shared back-off (5 s) lasts.
        env.enqueue("192.0.2.10\n", "--campaign", "second")
        env.ipwarnd("--once", "--dry-run", check=0)
        ripe = [q for s, q in env.whois.queries() if s == "whois.ripe.net"]
        assert len(ripe) == 1, env.whois.queries()
        got = contacts(env, "second")
        assert got["192.0.2.10"][0] == "new", got
        left = env.sql("SELECT count(*) FROM whois_budget WHERE server = "
                       "'whois.ripe.net' AND open_until > now()")
        assert left == [["1"]], left
