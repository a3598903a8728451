"""The whole fallback chain through a real Postfix and its own DSNs: the
RIPE network of the IP names nl-gone@contact.test, its allocation (RIPE
`-r -l`) lir-gone@contact.test, letters.escalation names
cert-gone@contact.test for NL -- three unknown users of a private Postfix
instance (see test_bounce_postfix.py), which accepts each letter, finds
no such user and returns a DSN through pipe(8) to `ipwarn bounce`.  Each
hard bounce moves the IP on; after the third the chain is exhausted and
the IP is held with it.  No hand-made bounce.
"""

import grp
import os
import pwd
import time

from harness import Env, Whois, wait_for
from test_bounce_postfix import DOMAIN, Postfix, usable
from test_fallback import escalate, small_world

NL = "192.0.2.70"
GONE = ["nl-gone@" + DOMAIN, "lir-gone@" + DOMAIN, "cert-gone@" + DOMAIN]
BOUNCES = 'bounces: { maildir = "maildir"; soft_limit = 3; };'


def world(tmp):
    """RIPE as in the fixtures, with the network's and the allocation's
    abuse addresses on the Postfix instance's own domain."""
    return small_world(tmp, {
        "iana.txt": ("iana-192.0.2.0.txt", "", {}),
        "nl.txt": ("ripe-192.0.2.64.txt", "",
                   {"abuse@ripe-nl.example": GONE[0]}),
        "lir.txt": ("ripe-192.0.2.0-alloc.txt", "",
                    {"abuse@ripe-lir.example": GONE[1]})}, {
        "whois.iana.org": {"style": "iana", "networks": [
            {"net": "192.0.2.0/24", "answer": "iana.txt"}]},
        "whois.ripe.net": {"style": "rpsl", "networks": [
            {"net": "192.0.2.0/24", "answer": "lir.txt"},
            {"net": "192.0.2.64/26", "answer": "nl.txt"}]}})


def test_postfix_dsns_walk_the_whole_chain(pg):
    if not usable():
        print("SKIP: needs root and Postfix")
        return
    with Env(pg, whois=False, extra=BOUNCES) as env:
        env.whois = Whois(env.tmp, world=world(env.tmp))
        env.servers.append(env.whois)
        env.init_db()
        pf = Postfix(env.conf)
        try:
            env.smtp.port = pf.port
            env.write_conf({}, BOUNCES)
            escalate(env, 'NL = "%s";' % GONE[2])
            # pipe(8) runs ipwarn as nobody (see test_bounce_postfix.py)
            os.chown(env.conf, 0, grp.getgrgid(
                pwd.getpwnam("nobody").pw_gid).gr_gid)
            os.chmod(env.conf, 0o640)
            env.enqueue(NL + ",open proxy on 3128/tcp\n", "--campaign", "pf")

            def exhausted():
                env.ipwarnd("--once", check=0)
                row = env.sql("SELECT state, coalesce(reason, '') FROM "
                              "target")[0]
                if row[0] == "held":
                    return row
                time.sleep(1)
                return None
            try:
                state, reason = wait_for(exhausted, 180, "three DSNs")
            except TimeoutError:
                raise AssertionError("chain not exhausted; letters %s; "
                                     "maillog:\n%s" % (env.sql(
                                         "SELECT contact_email, state FROM "
                                         "letter"), pf.log()))
            letters = env.sql("SELECT contact_email, state, bounce_class, "
                              "bounce_status, coalesce(fallback, '') FROM "
                              "letter ORDER BY id")
            assert letters == [
                [GONE[0], "bounced", "hard", "5.1.1", ""],
                [GONE[1], "bounced", "hard", "5.1.1", GONE[0]],
                [GONE[2], "bounced", "hard", "5.1.1", GONE[1]]], letters
            assert reason.startswith("fallback chain exhausted: "), reason
            for part in ("<%s>: hard bounce 5.1.1" % GONE[0],
                         "parent 192.0.2.0 - 192.0.2.255",
                         "<%s>: hard bounce 5.1.1" % GONE[1],
                         "CERT NL <%s>" % GONE[2],
                         "<%s>: hard bounce 5.1.1" % GONE[2]):
                assert part in reason, (part, reason)
            b = env.sql("SELECT count(*) FROM bounce WHERE verified AND "
                        "via = 'pipe' AND class = 'hard'")
            assert b == [["3"]], b
        finally:
            pf.stop()
