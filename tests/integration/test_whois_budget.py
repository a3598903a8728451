"""One WHOIS budget across daemons: three ipwarnd on one database ask a
registry no faster together than its configured rate, and with no more
queries in flight together than its configured concurrency
(lib/budget.c).

whoisd --log-times records when each query arrived; the rate measured at
the fake server over the whole run must be within 10 % of the rate
configured for it, although each daemon alone would go that fast.
whoisd --log-spans records when each connection opened and closed; at no
instant are more of them open than the configured concurrency, although
each daemon alone would open that many.
"""

import os
import subprocess

from harness import BIN, Env, Whois
from test_whois_scale import contacts, truth

RATE = 8.0
CONCURRENCY = 2


def three_daemons(pg, ripe_limits, extra, check):
    """Three ipwarnd --once on one database resolve RIPE's /26s (no cache:
    every IP asks RIPE) with whois.ripe.net limited by ripe_limits; then
    check(env) looks at what whoisd recorded."""
    with Env(pg, whois=False) as env:
        env.whois = Whois(env.tmp, extra=extra(env.tmp))
        env.servers.append(env.whois)
        env.write_conf({"workers": 4})
        with open(env.conf) as f:
            text = f.read()
        text = text.replace('timeout = "5s";',
                            'timeout = "5s"; cache = false;', 1)
        ripe = 'name = "whois.ripe.net"; address = "%s"; }' % \
            env.whois.hosts["whois.ripe.net"]
        assert ripe in text, text
        text = text.replace(ripe, ripe[:-1] + ripe_limits + " }")
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
        check(env, ips)


def test_three_daemons_share_one_whois_budget(pg):
    def check(env, ips):
        with open(os.path.join(env.tmp, "query-times.log")) as f:
            t = sorted(float(line.split("\t")[1]) for line in f
                       if line.startswith("whois.ripe.net\t"))
        assert len(t) == len(ips), len(t)
        rate = (len(t) - 1) / (t[-1] - t[0])
        print("whois.ripe.net: %d queries at %.2f/s (configured %.1f/s)" %
              (len(t), rate, RATE))
        assert abs(rate - RATE) <= 0.1 * RATE, (rate, RATE)

    three_daemons(pg, "rate = %.1f;" % RATE,
                  lambda tmp: ["--log-times",
                               os.path.join(tmp, "query-times.log")], check)


def most_at_once(spans):
    """The largest number of (start, end) spans open at one instant."""
    ev = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans],
                key=lambda e: (e[0], e[1]))
    n = top = 0
    for _, d in ev:
        n += d
        top = max(top, n)
    return top


def test_three_daemons_share_one_concurrency_limit(pg):
    # A slow server (each answer takes 0.3 s) and no rate limit: only the
    # concurrency limit keeps the 3 x 4 resolve threads from piling on.
    def check(env, ips):
        with open(os.path.join(env.tmp, "spans.log")) as f:
            spans = [tuple(float(x) for x in line.split("\t")[1:3])
                     for line in f if line.startswith("whois.ripe.net\t")]
        assert len(spans) == len(ips), len(spans)
        top = most_at_once(spans)
        # Never more than configured, and the limit was used, not idle.
        assert top == CONCURRENCY, (top, CONCURRENCY)
        took = max(b for _, b in spans) - min(a for a, _ in spans)
        print("whois.ripe.net: %d connections, at most %d at once "
              "(configured %d), %.1f s" % (len(spans), top, CONCURRENCY,
                                           took))
        assert took >= len(ips) * 0.3 / CONCURRENCY * 0.95, took

    three_daemons(pg, "rate = 0; concurrency = %d;" % CONCURRENCY,
                  lambda tmp: ["--latency-ms", "300", "--log-spans",
                               os.path.join(tmp, "spans.log")], check)


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
