"""Contact resolution at campaign scale: the contact cache, its
correctness rule (never a less specific network's contact where the
registry holds a more specific registration), query counts, throttling.

Each test counts the queries the loopback WHOIS world received (whoisd
--log).  The world (tests/fixtures/whois/world.json) has the traps: ARIN
198.18.0.0/15 with the reallocated 198.18.5.0/24 of another organisation
and reassigned /24s, 198.51.100.0/24 with a reallocated /25 and a /26
transferred to LACNIC, and RIPE's allocation 192.0.2.0/24 with /26
assignments (one of them with an IRT only).
"""

import ipaddress
import os

from harness import Env, Whois

# Most specific registration -> contact, as the registries hold them.
TRUTH = [
    ("192.0.2.0/24", "abuse@ripe-lir.example"),
    ("192.0.2.0/26", "abuse-dk@ripe-dk.example"),
    ("192.0.2.64/26", "abuse@ripe-nl.example"),
    ("192.0.2.128/26", "abuse@ripe-de.example"),
    ("192.0.2.192/26", "irt@ripe-ro.example"),
    ("198.18.0.0/15", "abuse@bench.example"),
    ("198.18.5.0/24", "abuse@realloc-5.example"),
    ("198.18.6.0/24", "abuse@customer-6.example"),
    ("198.18.7.0/24", "abuse@bench.example"),
    ("198.51.100.0/24", "abuse@arin-org.example"),
    ("198.51.100.128/25", "abuse@downstream.example"),
    ("198.51.100.64/26", "abuse@lacnic-via-arin.example"),
    ("203.0.113.0/25", "abuse@apnic-member.example"),
    ("203.0.113.128/26", "abuse@lacnic-member.example"),
    ("203.0.113.192/26", "abuse@afrinic-member.example"),
]


def truth(ip):
    a = ipaddress.ip_address(ip)
    best = None
    for net, email in TRUTH:
        n = ipaddress.ip_network(net)
        if a in n and (best is None or n.prefixlen > best[0].prefixlen):
            best = (n, email)
    return best[1]


def campaign_ips():
    """~170 IPs, dense inside each trap."""
    ips = []
    ips += ["192.0.2.%d" % i for i in range(1, 255, 4)]          # 64
    ips += ["198.18.%d.%d" % (o, h) for o in (0, 1, 4, 5, 6, 7, 9)
            for h in (3, 77, 130, 201, 250)]                       # 35
    ips += ["198.19.%d.9" % o for o in (0, 100, 200, 255)]         # 4
    ips += ["198.51.100.%d" % i for i in range(2, 255, 7)]        # 37
    ips += ["203.0.113.%d" % i for i in range(1, 255, 9)]         # 29
    return ips


def setup(env, *whoisd_args, whois_extra=""):
    env.whois = Whois(env.tmp, extra=whoisd_args)
    env.servers.append(env.whois)
    env.write_conf({"workers": 4})
    if whois_extra:
        with open(env.conf) as f:
            text = f.read()
        text = text.replace('timeout = "5s";', 'timeout = "5s"; ' +
                            whois_extra, 1)
        with open(env.conf, "w") as f:
            f.write(text)
    env.init_db()


def contacts(env, campaign="default"):
    rows = env.sql("SELECT host(t.ip), t.state, coalesce(t.contact_email, "
                   "''), coalesce(t.reason, '') FROM target t JOIN campaign "
                   "c ON c.id = t.campaign_id WHERE c.name = '%s'" % campaign)
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_scale_traps_every_contact_right_few_queries(pg):
    with Env(pg, whois=False) as env:
        setup(env)
        ips = campaign_ips()
        env.enqueue("\n".join(ips) + "\n")
        env.ipwarnd("--once", "--dry-run", check=0)
        got = contacts(env)
        wrong = {ip: (got.get(ip), truth(ip)) for ip in ips
                 if got.get(ip, ("", "", ""))[1] != truth(ip)}
        assert not wrong, wrong
        q = env.whois.queries()
        assert len(q) <= len(ips) // 4, (len(q), len(ips), q)


def test_server_without_listings_still_gets_every_contact_right(pg):
    # "no entries found" to a listing query from a server that never
    # listed anything must not be read as "nothing more specific here".
    with Env(pg, whois=False) as env:
        setup(env, "--no-listing")
        # The ARIN /15 with its reallocated /24 is the trap here.
        ips = [ip for ip in campaign_ips() if ip.startswith("198.1")][:40]
        assert any(ip.startswith("198.18.5.") for ip in ips), ips
        env.enqueue("\n".join(ips) + "\n")
        env.ipwarnd("--once", "--dry-run", check=0)
        got = contacts(env)
        wrong = {ip: (got.get(ip), truth(ip)) for ip in ips
                 if got.get(ip, ("", "", ""))[1] != truth(ip)}
        assert not wrong, wrong


def test_more_specific_listing_is_asked_once_per_allocation(pg):
    with Env(pg, whois=False) as env:
        setup(env)
        env.enqueue("198.18.1.1\n198.18.2.2\n198.19.3.3\n198.18.5.5\n")
        env.ipwarnd("--once", "--dry-run", check=0)
        got = contacts(env)
        assert got["198.18.5.5"][1] == "abuse@realloc-5.example", got
        assert got["198.18.1.1"][1] == "abuse@bench.example", got
        listing = [x for x in env.whois.queries() if ">" in x[1]]
        assert len(listing) == 1, env.whois.queries()


def test_throttled_ips_wait_and_resolve_later(pg):
    with Env(pg, whois=False) as env:
        setup(env, "--throttle", "whois.arin.net=2")
        ips = ["198.18.1.%d" % i for i in range(1, 30)]
        env.enqueue("\n".join(ips) + "\n")
        env.ipwarnd("--once", "--dry-run", check=0)
        got = contacts(env)
        assert all(st != "unresolved" for st, _, _ in got.values()), got
        assert any(st == "new" for st, _, _ in got.values()), got
        # The back-off has passed: the queue offers them again, as often
        # as the server keeps refusing (whoisd refuses two queries in
        # all; each run's breaker stops after the first refusal it sees).
        for _ in range(3):
            env.sql("UPDATE target SET next_attempt_at = now()")
            # ... and so has the back-off every daemon shares.
            env.sql("UPDATE whois_budget SET open_until = NULL")
            env.ipwarnd("--once", "--dry-run", check=0)
            got = contacts(env)
            assert all(st != "unresolved" for st, _, _ in got.values())
            if all(st == "resolved" for st, _, _ in got.values()):
                break
        assert all(e == "abuse@bench.example" for _, e, _ in
                   got.values()), got


def test_cache_serves_the_next_campaign_and_expires(pg):
    with Env(pg, whois=False) as env:
        setup(env, whois_extra='cache_ttl = "3s";')
        ips = ["192.0.2.%d" % i for i in range(1, 60)] + \
            ["198.51.100.%d" % i for i in range(130, 200)]
        env.enqueue("\n".join(ips) + "\n", "--campaign", "one")
        env.ipwarnd("--once", "--dry-run", check=0)
        n1 = len(env.whois.queries())
        assert n1 > 0
        env.enqueue("\n".join(ips) + "\n", "--campaign", "two")
        env.ipwarnd("--once", "--dry-run", check=0)
        assert len(env.whois.queries()) == n1, env.whois.queries()
        got = contacts(env, "two")
        assert all(v[1] == truth(ip) for ip, v in got.items()), got
        import time
        time.sleep(3.5)
        env.enqueue("\n".join(ips) + "\n", "--campaign", "three")
        env.ipwarnd("--once", "--dry-run", check=0)
        assert len(env.whois.queries()) > n1
        got = contacts(env, "three")
        assert all(v[1] == truth(ip) for ip, v in got.items()), got
