"""Enqueue speed: 100,000 rows (plus 10 bad lines) through `ipwarn enqueue`
into a private PostgreSQL, then the same file again (all duplicates) — once
as positional CSV (ip,evidence,observed) and once as a Shadowserver-style
report (quoted header, 12 columns in report order, evidence built by
--evidence "{tag} on {port}/{protocol}"), the same IPs, evidence and times;
best of 3 runs each, wall clock and the CPU time of ipwarn itself.
Usage: IW_BIN=bin python3 bench/enqueue.py [LINES [positional|report]...]
(positional alone also runs against a build older than the report case).
"""

import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
import harness  # noqa: E402

HEADER = ('"timestamp","ip","port","hostname","tag","asn","geo","region",'
          '"city","naics","sic","protocol"\n')


def ip(i):
    return "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)


def positional(n):
    return "".join(
        "%s,open proxy on 3128/tcp,2026-11-01T10:00:00Z\n" % ip(i)
        for i in range(1, n + 1)) + "bad line\n" * 10


def report(n):
    return HEADER + "".join(
        '"2026-11-01 10:00:00","%s",3128,"host-%d.example.net",'
        '"open proxy",64500,"DK","Hovedstaden","Copenhagen",518210,0,'
        '"tcp"\n' % (ip(i), i) for i in range(1, n + 1)) + "bad line\n" * 10


def run(pg, name, text, args, rounds=3):
    """Best of rounds, each in a database of its own (so neither case
    runs on the other's table)."""
    best = {}
    for _ in range(rounds):
        with harness.Env(pg, smtp="sink", whois=False) as env:
            env.init_db()
            env.ipwarn("campaign", "create", name, check=0)
            for what in ("new", "repeat (all duplicates)"):
                c0 = cpu()
                t0 = time.monotonic()
                p = env.ipwarn("enqueue", "--campaign", name, *args, "-",
                               input=text, check=0)
                t = time.monotonic() - t0
                if what not in best or t < best[what][0]:
                    best[what] = (t, cpu() - c0,
                                  p.stdout.strip().splitlines()[-1])
    for what, (t, c, line) in best.items():
        print("%-11s %-24s %s  %.2f s (ipwarn cpu %.2f s)" % (
            name, what, line, t, c))


def cpu():
    """CPU seconds of the finished children (ipwarn; not PostgreSQL)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    only = sys.argv[2:] or ["positional", "report"]
    pg = harness.Postgres()
    try:
        if "positional" in only:
            run(pg, "positional", positional(n), [])
        if "report" in only:
            run(pg, "report", report(n),
                ["--evidence", "{tag} on {port}/{protocol}"])
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
