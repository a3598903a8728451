"""Enqueue speed: 100,000 CSV lines (plus 10 bad ones) through
`ipwarn enqueue` into a private PostgreSQL, then the same file again (all
duplicates).  Usage: IW_BIN=bin python3 bench/enqueue.py [LINES]"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
import harness  # noqa: E402


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    pg = harness.Postgres()
    try:
        with harness.Env(pg, smtp="sink", whois=False) as env:
            env.init_db()
            lines = "".join(
                "10.%d.%d.%d,open proxy on 3128/tcp,2026-11-01T10:00:00Z\n"
                % (i >> 16 & 255, i >> 8 & 255, i & 255)
                for i in range(1, n + 1)) + "bad line\n" * 10
            for what in ("new", "repeat (all duplicates)"):
                t0 = time.monotonic()
                p = env.enqueue(lines, "--campaign", "bench")
                print("%-24s %s  %.2f s" % (
                    what, p.stdout.strip().splitlines()[-1],
                    time.monotonic() - t0))
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
