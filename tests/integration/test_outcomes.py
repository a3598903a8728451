"""Outcomes: the control group (campaign create --holdout), observation
rounds (ipwarn observe) and the campaign report (ipwarn report), against a
real PostgreSQL, the loopback relay and WHOIS world.  Every expected number
is computed here from the test's own data, not read back from ipwarn."""

import csv
import hashlib
import io
import json
import os

from harness import Env


def in_control(campaign, email, percent):
    """The documented draw: the first four bytes of SHA-256(campaign
    name, newline, lower-case address), big-endian, below percent % of
    2^32."""
    h = hashlib.sha256((campaign + "\n" + email.lower()).encode()).digest()
    return int.from_bytes(h[:4], "big") * 100 < percent * 2 ** 32


def override_ips(env, n, prefix="c"):
    """n IPs 198.18.x.y, one operator override (one contact) each;
    returns {ip: contact}."""
    env.sql("INSERT INTO contact_override (network, email) SELECT "
            "('198.18.' || (i / 250) || '.' || (i %% 250) || '/32')::cidr, "
            "'%s' || i || '@op.example' FROM generate_series(1, %d) i"
            % (prefix, n))
    return {"198.18.%d.%d" % (i // 250, i % 250): "%s%d@op.example"
            % (prefix, i) for i in range(1, n + 1)}


def targets(env, name, state=None):
    args = ["targets", "--campaign", name, "--format", "json"]
    if state:
        args += ["--state", state]
    return json.loads(env.ipwarn(*args, check=0).stdout)


def control_group(pg, name, contacts, percent):
    """Build the campaign's letters in a fresh database (a draft: nothing
    is sent); the control group's IPs."""
    with Env(pg) as env:
        env.init_db()
        override_ips(env, len(contacts))
        env.campaign("create", name, "--holdout", str(percent))
        env.enqueue("".join("%s,open resolver\n" % ip for ip in contacts),
                    "--campaign", name, approve=False)
        env.ipwarnd("--once", check=0)
        rows = targets(env, name, "control")
        show = json.loads(env.ipwarn("campaign", "show", name, "--json",
                                     check=0).stdout)
        assert show["holdout"] == percent, show
        assert show["targets"]["control"] == len(rows)
        # Every IP of the campaign is either in the control group or in a
        # letter; the control group's have none.
        every = targets(env, name)
        assert len(every) == len(contacts)
        assert all(r["letter"] is None for r in rows)
        assert all(r["letter"] is not None for r in every
                   if r["state"] != "control")
        letters = json.loads(env.ipwarn("letters", "--campaign", name,
                                        "--format", "json", check=0).stdout)
        assert len(letters) == len(contacts) - len(rows)
        # The audit export names them too.
        out = env.ipwarn("export", name, check=0).stdout
        exp = list(csv.DictReader(io.StringIO(out)))
        ctl = sorted(r["ip"] for r in exp if r["letter_state"] == "control")
        assert ctl == sorted(r["ip"] for r in rows)
        assert all(r["letter"] == "" for r in exp
                   if r["letter_state"] == "control")
        return {r["ip"] for r in rows}


def test_holdout_share_is_near_the_asked_and_reproducible(pg):
    contacts = {"198.18.%d.%d" % (i // 250, i % 250): "c%d@op.example" % i
                for i in range(1, 2001)}
    group = control_group(pg, "osys-2026", contacts, 10)
    share = 100.0 * len(group) / len(contacts)
    assert 7.0 <= share <= 13.0, share
    want = {ip for ip, e in contacts.items()
            if in_control("osys-2026", e, 10)}
    assert group == want
    # The same campaign name and contacts in another database: the same
    # control group.
    assert control_group(pg, "osys-2026", contacts, 10) == group


def test_holdout_is_refused_out_of_range(pg):
    with Env(pg, whois=False) as env:
        env.init_db()
        for bad in ("0", "100", "-5", "12.345", "ten", "50.", ""):
            p = env.campaign("create", "x", "--holdout", bad, check=None)
            assert p.returncode == 64, (bad, p.returncode, p.stderr)
            assert "--holdout" in p.stderr
        assert env.campaign("show", "x", check=None).returncode == 65
        env.campaign("create", "y", "--holdout", "12.5%")
        show = json.loads(env.ipwarn("campaign", "show", "y", "--json",
                                     check=0).stdout)
        assert show["holdout"] == 12.5
        p = env.ipwarn("campaign", "show", "y", check=0)
        assert "12.50 % of contacts" in p.stdout
