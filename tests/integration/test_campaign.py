"""End to end: enqueue -> ipwarnd --once -> letters at the relay.

Real PostgreSQL, Postfix's smtp-sink as the relay, the loopback WHOIS world
(IANA, ARIN with referrals, RIPE, APNIC, LACNIC, AFRINIC) and a GeoIP
database built with MaxMind's writer.
"""

import collections
import ipaddress
import re

from harness import (COUNTRY_LOCALE, GEO_SPEC, Env, addr_of,
                     expected_contacts)


def country_of(ip):
    best = None
    a = ipaddress.ip_address(ip)
    for line in GEO_SPEC.splitlines():
        f = line.split("#", 1)[0].split()
        if len(f) < 2:
            continue
        net = ipaddress.ip_network(f[0])
        if a.version == net.version and a in net and (
                best is None or net.prefixlen > best[0].prefixlen):
            cc = f[1] if f[1] != "-" else (f[2] if len(f) > 2 else "")
            best = (net, cc)
    return best[1] if best else ""


def locale_of(ip):
    return COUNTRY_LOCALE.get(country_of(ip), "en")


def body_text(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def by_recipient(messages):
    out = collections.defaultdict(list)
    for m in messages:
        assert len(m["rcpts"]) == 1, m["rcpts"]
        out[addr_of(m["rcpts"][0])].append(m)
    return out


def campaign_input(world):
    lines = ["ip,evidence,observed", "# a comment line", ""]
    for i, e in enumerate(world["expect"]):
        lines.append('%s,"open proxy on %d/tcp, anonymous",'
                     '2026-11-0%dT10:00:00Z' % (e["ip"], 3128 + i,
                                                1 + i % 9))
    lines += ["not-an-ip,bad", "300.1.2.3", "127.0.0.1,loopback",
              world["expect"][0]["ip"] + ",repeated in the file"]
    return "\n".join(lines) + "\n"


def test_campaign_letters_reach_the_right_contacts(pg):
    with Env(pg) as env:
        env.init_db()
        world = env.whois.world
        expect = expected_contacts(world)
        p = env.enqueue(campaign_input(world), "--campaign", "osys-2026")
        n = len(expect)
        assert p.stdout.strip().splitlines()[-1] == \
            "enqueued %d, duplicate 1, invalid 3" % n, p.stdout
        bad = [line for line in p.stderr.splitlines() if line]
        assert len(bad) == 3, p.stderr
        assert all(re.match(r"^\d+: \S", line) for line in bad), bad

        env.ipwarnd("--once", check=0)
        msgs = env.smtp.messages()
        rcpt = by_recipient(msgs)

        # One letter per contact, listing every IP of that contact.
        want = collections.defaultdict(set)
        for ip, email in expect.items():
            if email:
                want[email.lower()].add(ip)
        got = {k.lower(): v for k, v in rcpt.items()}
        assert set(got) == set(want), (sorted(got), sorted(want))
        seen_paths = set()
        for email, ips in want.items():
            assert len(got[email]) == 1, "%s got %d letters" % (
                email, len(got[email]))
            m = got[email][0]
            msg = m["msg"]
            text = body_text(msg)
            for ip in ips:
                assert ip in text, "%s missing in letter to %s" % (ip, email)
            for ip in set(expect) - ips:
                assert ip not in text.split(), \
                    "%s leaked into letter to %s" % (ip, email)
            # Language: the locale of the IPs' country.
            locales = collections.Counter(locale_of(ip) for ip in ips)
            assert msg["Content-Language"] == locales.most_common(1)[0][0], \
                (email, msg["Content-Language"], locales)
            # Headers every letter must carry.
            assert msg["Auto-Submitted"] == "auto-generated"
            assert re.match(r"^<[^<>@\s]+@regulator\.example>$",
                            msg["Message-ID"]), msg["Message-ID"]
            assert msg["Date"] and msg["From"] and msg["Subject"]
            assert msg["To"].addresses[0].addr_spec.lower() == email
            assert msg.get_content_type() == "text/plain"
            assert msg.get_content_charset() == "utf-8"
            assert msg["Content-Transfer-Encoding"] == "quoted-printable"
            rp = addr_of(m["mail_from"])
            assert re.match(r"^bounces\+[0-9]+\.[a-z2-7]{13}"
                            r"@regulator\.example$", rp), rp
            assert rp not in seen_paths
            seen_paths.add(rp)
            for line in m["raw"].splitlines():
                assert len(line) <= 78, line

        st = env.status()
        unresolved = sum(1 for e in expect.values() if e is None)
        assert st["letters"]["sent"] == len(want), st
        assert st["targets"]["notified"] == n - unresolved, st
        assert st["targets"]["unresolved"] == unresolved, st
        assert st["targets"]["new"] == 0 and st["targets"]["resolved"] == 0
        for s in ("queued", "sending", "deferred", "failed", "bounced"):
            assert st["letters"][s] == 0, st

        # Every unresolved IP says why.
        rows = env.sql("SELECT host(ip), reason FROM target "
                       "WHERE state = 'unresolved'")
        assert len(rows) == unresolved
        assert all(r[1] for r in rows), rows

        # A second run sends nothing again.
        env.ipwarnd("--once", check=0)
        assert len(env.smtp.messages()) == len(msgs)
        assert env.status() == st


def test_second_batch_of_a_campaign_gets_its_own_letter(pg):
    with Env(pg) as env:
        env.init_db()
        ips = [e["ip"] for e in env.whois.world["expect"] if e.get("email")]
        env.enqueue(ips[0] + "\n", "--campaign", "c1")
        env.ipwarnd("--once", check=0)
        assert len(env.smtp.messages()) == 1
        # Re-enqueueing the same IP is a duplicate, not a new letter.
        p = env.enqueue(ips[0] + "\n", "--campaign", "c1")
        assert p.stdout.strip().endswith("enqueued 0, duplicate 1, "
                                         "invalid 0")
        env.ipwarnd("--once", check=0)
        assert len(env.smtp.messages()) == 1
        # Another campaign within letters.renotify_after: the address
        # was just told; the IP is held, not mailed again ...
        env.enqueue(ips[0] + "\n", "--campaign", "c2")
        env.ipwarnd("--once", check=0)
        assert len(env.smtp.messages()) == 1
        assert env.status()["targets"]["held"] == 1
        # ... unless the campaign says it means to write again.
        env.campaign("create", "c3", "--renotify")
        env.enqueue(ips[0] + "\n", "--campaign", "c3")
        env.ipwarnd("--once", check=0)
        assert len(env.smtp.messages()) == 2


def test_status_counts_every_state_when_empty(pg):
    with Env(pg) as env:
        env.init_db()
        st = env.status()
        assert st["targets"] == {"new": 0, "resolved": 0, "unresolved": 0,
                                 "notified": 0, "held": 0, "control": 0}
        assert st["letters"] == {"queued": 0, "sending": 0, "deferred": 0,
                                 "sent": 0, "failed": 0, "bounced": 0,
                                 "cancelled": 0}
        p = env.ipwarn("status", check=0)
        assert "queued" in p.stdout and "notified" in p.stdout


def test_db_init_is_idempotent(pg):
    with Env(pg) as env:
        p1 = env.ipwarn("db", "init", check=0)
        p2 = env.ipwarn("db", "init", check=0)
        assert "upgraded" in p1.stdout
        assert "up to date" in p2.stdout
        assert env.sql("SELECT count(*) FROM ipwarn_schema") == \
            env.sql("SELECT count(*) FROM ipwarn_schema")


def test_commands_refuse_a_database_without_schema(pg):
    with Env(pg) as env:
        p = env.ipwarn("status")
        assert p.returncode == 78
        assert "db init" in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1


def test_dry_run_prints_letters_and_sends_nothing(pg):
    with Env(pg) as env:
        env.init_db()
        e = next(e for e in env.whois.world["expect"] if e.get("email"))
        env.enqueue(e["ip"] + ",open relay\n")
        p = env.ipwarnd("--dry-run", check=0)
        assert env.smtp.messages() == []
        assert p.stdout.startswith("From bounces+")
        assert "Return-Path: <bounces+" in p.stdout
        assert e["email"].split("@")[1] in p.stdout.lower()
        st = env.status()
        assert st["letters"]["queued"] == 1 and st["letters"]["sent"] == 0
        # The real run afterwards sends that letter.
        env.ipwarnd("--once", check=0)
        assert len(env.smtp.messages()) == 1


def test_preview_shows_chain_and_letter(pg):
    with Env(pg) as env:
        env.init_db()
        e = next(e for e in env.whois.world["expect"]
                 if e.get("email") and e.get("registry") == "whois.arin.net")
        p = env.ipwarn("preview", e["ip"], check=0)
        assert "whois.iana.org > whois.arin.net" in p.stdout, p.stdout
        assert "contact:  " + e["email"] in p.stdout
        assert "Auto-Submitted: auto-generated" in p.stdout
        assert env.smtp.messages() == []
        assert env.status()["targets"]["new"] == 0
        bad = env.ipwarn("preview", "not-an-ip")
        assert bad.returncode == 65


def test_contact_override_beats_whois(pg):
    with Env(pg) as env:
        env.init_db()
        e = next(e for e in env.whois.world["expect"] if e.get("email"))
        net = str(ipaddress.ip_network(e["ip"] + "/24", strict=False)
                  if ":" not in e["ip"] else
                  ipaddress.ip_network(e["ip"] + "/64", strict=False))
        env.ipwarn("contact", "set", net, "CERT@National-Cert.Example",
                   check=0)
        p = env.ipwarn("contact", "list", check=0)
        assert net in p.stdout and "CERT@national-cert.example" in p.stdout
        env.enqueue(e["ip"] + "\n")
        env.ipwarnd("--once", check=0)
        msgs = env.smtp.messages()
        assert [addr_of(m["rcpts"][0]) for m in msgs] == \
            ["CERT@national-cert.example"]
        assert env.ipwarn("contact", "set", "192.0.2.1/24",
                          "x@y.example").returncode == 65
        env.ipwarn("contact", "del", net, check=0)
        assert net not in env.ipwarn("contact", "list", check=0).stdout


def test_suppressed_contact_is_held_not_dropped(pg):
    with Env(pg) as env:
        env.init_db()
        e = next(e for e in env.whois.world["expect"] if e.get("email"))
        env.ipwarn("suppress", "add", e["email"], "--reason", "asked us",
                   check=0)
        assert e["email"].lower() in \
            env.ipwarn("suppress", "list", check=0).stdout.lower()
        # Its enclosing registration's contact too, and no CERT
        # (letters.escalation): the fallback chain is exhausted.
        env.ipwarn("suppress", "add", "abuse@ripe-lir.example", check=0)
        env.enqueue(e["ip"] + "\n")
        env.ipwarnd("--once", check=0)
        assert env.smtp.messages() == []
        st = env.status()
        assert st["targets"]["held"] == 1, st
        rows = env.sql("SELECT reason FROM target")
        assert rows[0][0].startswith("fallback chain exhausted: "), rows
        assert "<%s>: suppressed (asked us)" % e["email"] in rows[0][0], rows


def test_unknown_config_key_is_an_error_naming_file_and_line(pg):
    with Env(pg) as env:
        with open(env.conf, "a") as f:
            f.write("\nsmtp2: { relay = \"x\"; };\n")
        p = env.ipwarn("status")
        assert p.returncode == 78
        assert re.search(r"ipwarn\.conf:\d+: smtp2", p.stderr), p.stderr
        p = env.ipwarnd("--once")
        assert p.returncode == 78


def test_ips_found_after_the_letter_went_out_get_letters_of_their_own(pg):
    """A contact already written to in the campaign gets a further letter
    (seq 2, 3, ...) for IPs enqueued later, naming only those IPs."""
    with Env(pg) as env:
        env.init_db()
        by_contact = collections.defaultdict(list)
        for ip, email in expected_contacts(env.whois.world).items():
            if email:
                by_contact[email.lower()].append(ip)
        email, ips = max(by_contact.items(), key=lambda kv: len(kv[1]))
        assert len(ips) >= 3, by_contact
        for ip in ips[:3]:
            env.enqueue(ip + "\n", "--campaign", "late")
            env.ipwarnd("--once", check=0)
        got = by_recipient(env.smtp.messages())
        letters = {k.lower(): v for k, v in got.items()}[email]
        assert len(letters) == 3, [body_text(m["msg"]) for m in letters]
        texts = [body_text(m["msg"]) for m in letters]
        for ip in ips[:3]:
            assert sum(ip in t.split() for t in texts) == 1, (ip, texts)
        rows = env.sql("SELECT seq FROM letter ORDER BY seq")
        assert [r[0] for r in rows] == ["1", "2", "3"], rows
        st = env.status()
        assert st["letters"]["sent"] == 3 and \
            st["targets"]["notified"] == 3, st


def test_build_queues_letters_without_sending(pg):
    """ipwarn build groups resolved IPs now and sends nothing; the daemon
    then sends exactly those letters."""
    with Env(pg, whois=False) as env:
        env.init_db()
        env.sql("INSERT INTO campaign (name, state) VALUES ('staged', "
                "'approved')")
        env.sql("INSERT INTO target (campaign_id, ip, state, locale, "
                "contact_email, resolved_at) SELECT (SELECT id FROM campaign "
                "WHERE name = 'staged'), '192.0.2.0'::inet + i, 'resolved', "
                "'da', 'abuse' || (i % 4) || '@net.example', now() "
                "FROM generate_series(1, 10) i")
        env.ipwarn("suppress", "add", "abuse3@net.example")
        p = env.ipwarn("build")
        assert p.stdout.strip() == \
            "built 3 letters for 8 IPs; 2 IPs moved on to their fallback " \
            "contact (contact suppressed), 0 held (notified within " \
            "letters.renotify_after)", p.stdout
        st = env.status()
        assert st["letters"]["queued"] == 3 and st["targets"]["new"] == 2
        assert env.smtp.messages() == []
        p = env.ipwarn("build")
        assert p.stdout.startswith("built 0 letters for 0 IPs"), p.stdout
        env.ipwarnd("--once", check=0)
        assert len(env.smtp.messages()) == 3
        st = env.status()
        # No registry network and no letters.escalation: the suppressed
        # contact's IPs have no fallback contact and are held.
        assert st["targets"]["notified"] == 8 and \
            st["targets"]["held"] == 2, st
