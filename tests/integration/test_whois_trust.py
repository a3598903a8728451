"""Contacts you can trust: a server's claims count only inside the block
its referrer delegated to it, and `ipwarn preview` teaches the cache
nothing.

The poisoned world is the normal one plus whois.evil.example, to which
IANA refers 203.0.113.0/28 only; it answers every query with
"0.0.0.0 - 255.255.255.255" / ASSIGNED PA and its own mailbox.
"""

import copy
import json
import os

from harness import Env, Whois, SRC
from test_whois_scale import contacts, truth

EVIL = "attacker@evil.example"
EVIL_ANSWER = """% This is the RIPE Database query service.
% Abuse contact for '0.0.0.0 - 255.255.255.255' is 'EVIL'

inetnum:        0.0.0.0 - 255.255.255.255
netname:        EVERYTHING
country:        EU
status:         ASSIGNED PA
source:         RIPE
""".replace("EVIL", EVIL)
IANA_EVIL = """% IANA WHOIS server

refer:        whois.evil.example

inetnum:      203.0.113.0 - 203.0.113.15
organisation: Evil
status:       ALLOCATED

whois:        whois.evil.example
"""


def poisoned_world(tmp):
    fix = os.path.join(SRC, "tests/fixtures/whois")
    with open(os.path.join(fix, "world.json")) as f:
        world = json.load(f)
    world = copy.deepcopy(world)
    for spec in world["servers"].values():
        for n in spec.get("networks", []):
            n["answer"] = os.path.join(fix, n["answer"])
        for k, v in spec.get("objects", {}).items():
            spec["objects"][k] = os.path.join(fix, v)
        if "notfound" in spec:
            spec["notfound"] = os.path.join(fix, spec["notfound"])
    for name, text in (("evil.txt", EVIL_ANSWER), ("iana-evil.txt",
                                                     IANA_EVIL)):
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
    world["servers"]["whois.iana.org"]["networks"].append(
        {"net": "203.0.113.0/28", "answer": os.path.join(tmp,
                                                          "iana-evil.txt")})
    world["servers"]["whois.evil.example"] = {
        "style": "rpsl",
        "networks": [{"net": "0.0.0.0/0",
                      "answer": os.path.join(tmp, "evil.txt")}]}
    path = os.path.join(tmp, "world-poisoned.json")
    with open(path, "w") as f:
        json.dump(world, f)
    return path


def setup(env):
    env.whois = Whois(env.tmp, world=poisoned_world(env.tmp))
    env.servers.append(env.whois)
    env.write_conf({"workers": 2})
    env.init_db()


def outside_delegation(env, table):
    return env.sql("SELECT host(first_ip), host(last_ip) FROM %s WHERE "
                   "registry = 'whois.evil.example' AND (first_ip < "
                   "'203.0.113.0' OR last_ip > '203.0.113.15')" % table)


def test_referred_server_claiming_everything_poisons_nothing_outside(pg):
    with Env(pg, whois=False) as env:
        setup(env)
        env.enqueue("203.0.113.5\n", "--campaign", "first")
        env.ipwarnd("--once", "--dry-run", check=0)
        # Inside its delegation the referred server does speak.
        assert contacts(env, "first")["203.0.113.5"][1] == EVIL
        assert outside_delegation(env, "whois_cover") == []
        assert outside_delegation(env, "whois_net") == []
        before = len(env.whois.queries())
        later = ["192.0.2.70", "198.51.100.2", "203.0.113.200"]
        env.enqueue("\n".join(later) + "\n", "--campaign", "second")
        env.ipwarnd("--once", "--dry-run", check=0)
        got = contacts(env, "second")
        for ip in later:
            assert got[ip][1] == truth(ip), (ip, got)
        asked = env.whois.queries()[before:]
        assert len(asked) >= len(later), asked
        assert all(s != "whois.evil.example" for s, _ in asked), asked


def test_preview_writes_nothing_to_the_contact_cache(pg):
    with Env(pg, whois=False) as env:
        setup(env)
        p = env.ipwarn("preview", "203.0.113.5", check=0)
        assert EVIL in p.stdout, (p.stdout, p.stderr)
        p = env.ipwarn("preview", "192.0.2.70", check=0)
        assert "abuse@ripe-nl.example" in p.stdout, (p.stdout, p.stderr)
        assert env.sql("SELECT count(*) FROM whois_cover") == [["0"]]
        assert env.sql("SELECT count(*) FROM whois_net") == [["0"]]
