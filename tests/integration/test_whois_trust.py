"""Contacts you can trust: a server's claims count only inside the block
its referrer delegated to it, and `ipwarn preview` teaches the cache
nothing.

The poisoned world is the normal one plus whois.evil.example, to which
IANA refers 203.0.113.0/28 only; it answers every query with
"0.0.0.0 - 255.255.255.255" / ASSIGNED PA and its own mailbox.
"""

import copy
import ipaddress
import json
import os
import random

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


def iana_for(server, first, last):
    return ("%% IANA WHOIS server\n\nrefer:        %s\n\ninetnum:      "
            "%s - %s\nstatus:       ALLOCATED\n\nwhois:        %s\n" %
            (server, first, last, server))


def world_with(tmp, extra):
    """The fixture world plus extra servers: {name: (iana_net, answers)},
    answers {net: bytes}; IANA refers iana_net to name."""
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
    k = 0
    for name, (iana_net, answers) in extra.items():
        k += 1
        path = os.path.join(tmp, "iana-%d.txt" % k)
        with open(path, "w") as f:
            f.write(iana_net)
        net = iana_net.split("inetnum:")[1].split("\n")[0].split(" - ")
        world["servers"]["whois.iana.org"]["networks"].append(
            {"net": str(next(ipaddress.summarize_address_range(
                ipaddress.ip_address(net[0].strip()),
                ipaddress.ip_address(net[1].strip())))), "answer": path})
        nets = []
        for j, (n, body) in enumerate(answers.items()):
            path = os.path.join(tmp, "srv-%d-%d.txt" % (k, j))
            with open(path, "wb") as f:
                f.write(body)
            nets.append({"net": n, "answer": path})
        world["servers"][name] = {"style": "rpsl", "networks": nets}
    path = os.path.join(tmp, "world-extra.json")
    with open(path, "w") as f:
        json.dump(world, f)
    return path


def poisoned_world(tmp):
    return world_with(tmp, {"whois.evil.example": (
        IANA_EVIL, {"0.0.0.0/0": EVIL_ANSWER.encode()})})


def setup(env, world=None):
    env.whois = Whois(env.tmp, world=world or poisoned_world(env.tmp))
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


LATIN1_OK = (b"% Abuse contact for '203.0.113.16 - 203.0.113.23' is "
             b"'abuse@muenchen.example'\n\ninetnum:        203.0.113.16 - "
             b"203.0.113.23\nnetname:        M\xdcNCHEN\ndescr:          "
             b"Universit\xe4t M\xfcnchen\nstatus:         ASSIGNED PA\n")
LATIN1_NONE = (b"inetnum:        203.0.113.24 - 203.0.113.31\nnetname:   "
               b"     Z\xfcrich\ndescr:          Gr\xfc\xdfe, no abuse "
               b"contact\nstatus:         ASSIGNED PA\n")


def test_latin1_and_random_bytes_affect_only_their_own_ip(pg):
    noise = bytes(random.Random(12).randrange(256) for _ in range(3000))
    world = None
    with Env(pg, whois=False) as env:
        world = world_with(env.tmp, {
            "whois.latin.example": (
                iana_for("whois.latin.example", "203.0.113.16",
                         "203.0.113.31"),
                {"203.0.113.16/29": LATIN1_OK,
                 "203.0.113.24/29": LATIN1_NONE}),
            "whois.noise.example": (
                iana_for("whois.noise.example", "203.0.113.32",
                         "203.0.113.47"),
                {"203.0.113.32/28": noise}),
        })
        setup(env, world)
        ips = ["192.0.2.70", "203.0.113.17", "203.0.113.25",
               "203.0.113.33", "198.51.100.2"]
        env.enqueue("\n".join(ips) + "\n")
        env.ipwarnd("--once", "--dry-run", check=0)
        got = contacts(env)
        assert got["203.0.113.17"][:2] == ("resolved",
                                          "abuse@muenchen.example"), got
        assert got["203.0.113.25"][0] == "unresolved", got
        assert "Latin-1" in got["203.0.113.25"][2], got
        assert got["203.0.113.33"][0] == "unresolved", got
        for ip in ("192.0.2.70", "198.51.100.2"):
            assert got[ip][:2] == ("resolved", truth(ip)), (ip, got)
        raw = env.sql("SELECT raw_answer FROM target WHERE ip = "
                      "'203.0.113.25'")
        raw = "\n".join(r[0] for r in raw)   # psql splits its lines
        assert "Zürich" in raw and "Grüße" in raw, raw
        left = env.sql("SELECT count(*) FROM target WHERE state = 'new'")
        assert left == [["0"]], left
