"""The operator's side of a campaign: create -> enqueue -> review ->
approve -> send; pause, resume and cancel, also racing a sending daemon;
the audit record (every letter's exact bytes, their SHA-256 against what a
capturing relay received); repair with `retry`; the re-notification
guard; exit codes.  Real PostgreSQL, the project's fault-injecting relay
(it spools each message exactly as received) or Postfix's smtp-sink, and
the loopback WHOIS world."""

import csv
import email
import email.policy
import hashlib
import io
import json
import os
import time

from harness import Env, wait_for

DK = [("192.0.2.10", "abuse-dk@ripe-dk.example")]
NL = "192.0.2.70"          # abuse@ripe-nl.example
ARIN = "198.51.100.10"     # abuse@arin-org.example


def spool(env):
    """Messages the fault relay accepted: (envelope, raw bytes)."""
    out = []
    d = env.smtp.spool
    if not os.path.isdir(d):
        return out
    for name in sorted(os.listdir(d)):
        if name.endswith(".json"):
            with open(os.path.join(d, name)) as f:
                envl = json.load(f)
            with open(os.path.join(d, name[:-5] + ".eml"), "rb") as f:
                out.append((envl, f.read()))
    return out


def show(env, name):
    return json.loads(env.ipwarn("campaign", "show", name, "--json",
                                 check=0).stdout)


def overrides(env, n, prefix="c", net="198.18"):
    """n IPs NET.x.y, one override (and so one letter) each: the input."""
    return "".join("%s,open relay\n" % ip for ip in
                   env.contact_overrides(n, prefix, net=net))


def test_draft_sends_nothing_until_approved(pg):
    with Env(pg, smtp="fault") as env:
        env.init_db()
        p = env.campaign("create", "osys")
        assert "draft" in p.stdout
        env.enqueue("%s,open relay\n%s,open proxy\n" % (DK[0][0], NL),
                    "--campaign", "osys", approve=False)
        env.ipwarnd("--once", check=0)
        assert spool(env) == [], "a draft campaign was mailed"
        st = show(env, "osys")
        assert st["state"] == "draft"
        assert st["letters"]["queued"] == 2 and st["letters"]["sent"] == 0
        # Review: the letters can be read before anyone signs off.
        p = env.ipwarn("letters", "--campaign", "osys", "--render",
                       "--decode", check=0)
        assert DK[0][0] in p.stdout and NL in p.stdout
        assert "rendered now, not sent yet" in p.stdout
        env.campaign("approve", "osys")
        env.ipwarnd("--once", check=0)
        assert sorted(e["rcpts"][0] for e, _ in spool(env)) == sorted(
            [DK[0][1], "abuse@ripe-nl.example"])
        st = show(env, "osys")
        assert st["letters"]["sent"] == 2
        assert [e["action"] for e in st["events"]] == ["create", "approve"]
        assert all(e["actor"] for e in st["events"])
        p = env.ipwarn("status", "--campaign", "osys", "--json", check=0)
        assert json.loads(p.stdout)["letters"]["sent"] == 2


def test_two_files_into_one_draft_give_one_letter_per_contact(pg):
    # 192.0.2.10 and .11 are both in RIPE's DK network: one contact.
    with Env(pg, smtp="fault") as env:
        env.init_db()
        env.campaign("create", "two-files")
        env.enqueue("192.0.2.10,open relay\n%s\n" % NL, "--campaign",
                    "two-files", approve=False)
        env.ipwarnd("--once", check=0)     # resolves and builds (draft)
        time.sleep(1)
        env.enqueue("192.0.2.11,open proxy\n192.0.2.71\n", "--campaign",
                    "two-files", approve=False)
        env.ipwarnd("--once", check=0)
        env.campaign("approve", "two-files")
        env.ipwarnd("--once", check=0)
        got = {}
        for e, raw in spool(env):
            got.setdefault(e["rcpts"][0], []).append(raw)
        assert sorted(got) == sorted([DK[0][1], "abuse@ripe-nl.example"])
        assert all(len(v) == 1 for v in got.values()), got.keys()
        dk = got[DK[0][1]][0].decode()
        assert "192.0.2.10" in dk and "192.0.2.11" in dk


def test_enqueue_into_unknown_campaign_changes_nothing(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        env.init_db()
        p = env.ipwarn("enqueue", "--campaign", "osys-typo", "-",
                       input="192.0.2.1\n")
        assert p.returncode == 65, p
        assert "no campaign osys-typo" in p.stderr
        assert "ipwarn campaign create osys-typo" in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1
        assert env.sql("SELECT count(*) FROM campaign")[0][0] == "0"
        assert env.sql("SELECT count(*) FROM target")[0][0] == "0"


def test_state_transitions_and_their_errors(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        env.init_db()
        env.enqueue(overrides(env, 3), approve=False)   # 'default' draft
        assert show(env, "default")["state"] == "draft"

        def act(verb, name, code):
            p = env.campaign(verb, name, check=None)
            assert p.returncode == code, (verb, name, p)
            if code:
                assert len(p.stderr.strip().splitlines()) == 1, p.stderr
            return p

        act("pause", "default", 65)         # a draft is not sending
        act("resume", "default", 65)
        act("approve", "nope", 65)
        assert "no campaign nope" in act("show", "nope", 65).stderr
        act("approve", "default", 0)
        assert "already" in act("approve", "default", 0).stdout
        act("pause", "default", 0)
        env.ipwarnd("--once", check=0)
        assert spool(env) == [], "a paused campaign was mailed"
        act("resume", "default", 0)
        act("pause", "default", 0)
        p = act("cancel", "default", 0)
        assert "3 queued letters will never be sent" in p.stdout
        act("approve", "default", 65)       # cancelled is final
        act("resume", "default", 65)
        env.ipwarnd("--once", check=0)
        assert spool(env) == []
        st = show(env, "default")
        assert st["state"] == "cancelled"
        assert st["letters"]["cancelled"] == 3, st
        assert [e["action"] for e in st["events"]] == [
            "create", "approve", "pause", "resume", "pause", "cancel"]
        # Nothing more goes into a cancelled campaign.
        p = env.ipwarn("enqueue", "-", input="198.18.0.9\n")
        assert p.returncode == 65 and "cancelled" in p.stderr
        act("create", "default", 65)        # the name stays taken
        p = env.campaign("create", "x", "--var", "agency", check=None)
        assert p.returncode == 64 and "KEY=VALUE" in p.stderr


def test_pause_holds_a_running_daemon_back(pg):
    # A relay that takes 20 ms per message and a daemon in the middle of
    # 400 letters: once `pause` returns, not one more message arrives.
    n = 400
    with Env(pg, smtp="fault", whois=False,
             rules=[{"when": "data", "delay_ms": 20}],
             delivery={"workers": 2, "batch": 25}) as env:
        env.init_db()
        env.campaign("create", "race")
        env.enqueue(overrides(env, n), "--campaign", "race")
        d = env.start_daemon()
        try:
            wait_for(lambda: len(spool(env)) >= 30, timeout=60,
                     what="sending under way")
            env.campaign("pause", "race")
            at_pause = len(spool(env))
            time.sleep(3)
            after = len(spool(env))
            assert after == at_pause, (at_pause, after)
            assert 0 < after < n
            st = show(env, "race")
            assert st["letters"]["sending"] == 0, st
            assert st["letters"]["sent"] == after, st
            env.campaign("resume", "race")
            wait_for(lambda: show(env, "race")["letters"]["sent"] == n,
                     timeout=120, what="all letters after resume")
        finally:
            d.terminate()
            d.wait(30)
        rcpts = [e["rcpts"][0] for e, _ in spool(env)]
        assert len(rcpts) == n and len(set(rcpts)) == n


def test_letters_behind_the_claims_are_not_left_behind(pg):
    # Claims go on from where the worker's last one ended.  Letters
    # approved meanwhile but older in the queue ("early", built first)
    # lie behind that point: they must still go out, within the few
    # seconds after which a claim looks from the start again, not only
    # once everything newer is sent -- and a --once run must not end
    # without them.
    late = 300
    with Env(pg, smtp="fault", whois=False,
             rules=[{"when": "data", "delay_ms": 20}],
             delivery={"workers": 1, "batch": 10}) as env:
        env.init_db()
        env.campaign("create", "early")
        env.enqueue(overrides(env, 10, prefix="e", net="198.19"),
                    "--campaign", "early", approve=False)
        env.ipwarnd("--dry-run", check=0)          # early's letters first
        env.campaign("create", "late")
        env.enqueue(overrides(env, late, prefix="l"), "--campaign", "late")
        d = env.start_daemon("--once")
        try:
            wait_for(lambda: len(spool(env)) >= 20, timeout=60,
                     what="late's letters under way")
            env.campaign("approve", "early")
            assert d.wait(120) == 0
        finally:
            if d.poll() is None:
                d.kill()
        order = [e["rcpts"][0] for e, _ in spool(env)]
        assert len(order) == late + 10 and len(set(order)) == late + 10
        early = [i for i, r in enumerate(order) if r.startswith("e")]
        assert len(early) == 10
        # Out well before the last of "late" (6 s of relay time at least).
        assert early[-1] < len(order) - 25, early


def test_export_hash_is_that_of_the_bytes_the_relay_received(pg):
    with Env(pg, smtp="fault") as env:
        env.init_db()
        env.campaign("create", "proof", "--var", "agency=Test Agency")
        env.enqueue("192.0.2.10,open relay,2026-11-01T10:00:00Z\n"
                    "192.0.2.11,open proxy\n%s\n" % ARIN,
                    "--campaign", "proof")
        env.ipwarnd("--once", check=0)
        received = {e["rcpts"][0]: raw for e, raw in spool(env)}
        assert len(received) == 2
        p = env.ipwarn("export", "proof", check=0)
        rows = list(csv.reader(io.StringIO(p.stdout)))
        assert ",".join(rows[0]) == (
            "campaign,letter,ref,message_id,recipient,locale,ip,country,"
            "evidence,observed,contact_source,whois_server,whois_network,"
            "letter_state,first_attempt,sent_at,relay_reply,bounce_class,"
            "bounce_status,message_sha256")
        body = [dict(zip(rows[0], r)) for r in rows[1:]]
        assert sorted(r["ip"] for r in body) == sorted(
            ["192.0.2.10", "192.0.2.11", ARIN])
        for r in body:
            raw = received[r["recipient"]]
            assert r["message_sha256"] == hashlib.sha256(raw).hexdigest()
            assert r["letter_state"] == "sent" and r["sent_at"]
            assert r["relay_reply"].startswith("250"), r
            assert r["whois_server"] and r["whois_network"], r
            assert r["ref"].startswith("proof-")
            assert ("X-Ipwarn-Ref: %s" % r["ref"]).encode() in raw
            shown = env.ipwarn("letter", "show", r["letter"], "--raw",
                               input=b"")
            assert shown.returncode == 0
            assert shown.stdout == raw
            assert hashlib.sha256(shown.stdout).hexdigest() == \
                r["message_sha256"]
        dk = [r for r in body if r["ip"] == "192.0.2.10"][0]
        assert dk["evidence"] == "open relay"
        assert dk["observed"] == "2026-11-01T10:00:00Z"
        assert dk["country"] == "DK" and dk["locale"] == "da"
        # The same record as JSON; the letter in full, decoded.
        js = json.loads(env.ipwarn("export", "proof", "--format", "json",
                                   check=0).stdout)
        assert len(js) == 3 and js[0]["message_sha256"]
        p = env.ipwarn("letter", "show", dk["letter"], "--decode", check=0)
        assert "attempts:" in p.stdout and "192.0.2.11" in p.stdout
        assert "=?UTF-8?" not in p.stdout.split("message as given")[1]
        p = env.ipwarn("letter", "show", "999999", check=None)
        assert p.returncode == 65 and "no letter 999999" in p.stderr


def test_a_chunking_relay_gets_the_stored_bytes_and_is_judged_at_last(pg):
    # A relay that offers CHUNKING (Postfix does) gets BDAT from libESMTP,
    # not DATA: the message goes as counted chunks, with no dot-stuffing,
    # and its verdict comes with the chunk marked LAST.
    with Env(pg, smtp="fault", whois=False,
             rules=[{"when": "ehlo", "extensions": ["CHUNKING"]},
                    {"when": "data", "rcpt": "c2@op.example",
                     "reply": "554 5.7.1 content rejected"},
                    {"when": "data", "rcpt": "c3@op.example",
                     "reply": "451 4.3.0 try later"}],
             delivery={"workers": 1}) as env:
        env.init_db()
        env.campaign("create", "chunks")
        env.enqueue(overrides(env, 4), "--campaign", "chunks")
        env.ipwarnd("--once", check=0)
        with open(env.smtp.log) as f:
            log = f.read()
        assert "C: BDAT" in log and "C: DATA" not in log, log[-2000:]
        received = {e["rcpts"][0]: raw for e, raw in spool(env)}
        assert sorted(received) == ["c1@op.example", "c4@op.example"]
        rows = list(csv.DictReader(io.StringIO(
            env.ipwarn("export", "chunks", check=0).stdout)))
        by = {r["recipient"]: r for r in rows}
        for rcpt, raw in received.items():
            assert by[rcpt]["message_sha256"] == \
                hashlib.sha256(raw).hexdigest()
            assert by[rcpt]["letter_state"] == "sent"
            assert b"\r\n\r\n" in raw and raw.endswith(b"\r\n")
        assert by["c2@op.example"]["letter_state"] == "failed"
        assert by["c2@op.example"]["relay_reply"].startswith("554 5.7.1")
        assert by["c3@op.example"]["letter_state"] == "deferred"
        got = env.sql("SELECT l.contact_email, a.outcome, a.stage, a.code "
                      "FROM attempt a JOIN letter l ON l.id = a.letter_id "
                      "ORDER BY l.contact_email")
        assert [tuple(r) for r in got] == [
            ("c1@op.example", "sent", "", "250"),
            ("c2@op.example", "failed", "dot", "554"),
            ("c3@op.example", "deferred", "dot", "451"),
            ("c4@op.example", "sent", "", "250")], got


def test_retries_send_the_stored_bytes(pg):
    with Env(pg, smtp="fault", whois=False,
             rules=[{"rcpt": "c1@op.example",
                     "reply": "451 4.3.0 try later", "times": 1}],
             delivery={"min_backoff": 0}) as env:
        env.init_db()
        env.enqueue(overrides(env, 1))
        env.ipwarnd("--once", check=0)
        assert spool(env) == []
        first = env.sql("SELECT sha256 FROM letter_message")[0]
        env.sql("UPDATE letter SET next_attempt_at = now()")
        time.sleep(1.1)      # a new rendering would carry another Date
        env.ipwarnd("--once", check=0)
        (_, raw), = spool(env)
        assert hashlib.sha256(raw).hexdigest() == first[0]


def test_a_message_stored_by_another_daemon_is_kept_and_not_sent(pg):
    # The batch's messages go to PostgreSQL in one COPY, in pieces of
    # 64 KiB (40 letters are about 140 KiB).  While it runs, a rival
    # daemon stores its own rendering of the 35th letter (a trigger set
    # off by the 3rd row stands for it): the COPY fails whole, each
    # letter is stored on its own, and the 35th keeps the rival's bytes
    # and is not sent by this daemon.
    with Env(pg, smtp="fault", whois=False,
             delivery={"workers": 1, "batch": 50}) as env:
        env.init_db()
        env.sql("""
            CREATE FUNCTION rival() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE third bigint; victim bigint;
            BEGIN
              SELECT id INTO third FROM letter ORDER BY id OFFSET 2 LIMIT 1;
              SELECT id INTO victim FROM letter ORDER BY id OFFSET 34
                LIMIT 1;
              IF NEW.letter_id = third AND NOT EXISTS (SELECT 1 FROM
                  letter_message WHERE letter_id = victim) THEN
                INSERT INTO letter_message (letter_id, locale,
                  reverse_path, message, sha256) VALUES (victim, 'en',
                  'rival@op.example', 'stored by another daemon', 'rival');
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER rival BEFORE INSERT ON letter_message
              FOR EACH ROW EXECUTE FUNCTION rival();""")
        env.enqueue(overrides(env, 40))
        env.ipwarnd("--once", check=0)
        victim = env.sql("SELECT id, contact_email FROM letter ORDER BY id "
                         "OFFSET 34 LIMIT 1")[0]
        got = {e["rcpts"][0]: raw for e, raw in spool(env)}
        assert len(got) == 39 and victim[1] not in got, sorted(got)
        stored = {r[0]: r[1:] for r in env.sql(
            "SELECT l.contact_email, m.sha256, m.message FROM letter l "
            "JOIN letter_message m ON m.letter_id = l.id")}
        assert stored[victim[1]] == ["rival", "stored by another daemon"]
        for rcpt, raw in got.items():
            assert stored[rcpt][0] == hashlib.sha256(raw).hexdigest()
        row = env.sql("SELECT state, (SELECT count(*) FROM attempt WHERE "
                      "letter_id = %s) FROM letter WHERE id = %s"
                      % (victim[0], victim[0]))[0]
        assert row == ["queued", "0"], row


def test_listings_as_table_csv_and_json(pg):
    with Env(pg, smtp="fault") as env:
        env.init_db()
        env.campaign("create", "views")
        env.enqueue("%s\n2001:db8:bad::1\n" % NL, "--campaign", "views")
        env.ipwarnd("--once", check=0)
        t = json.loads(env.ipwarn("targets", "--campaign", "views",
                                  "--format", "json", check=0).stdout)
        by_ip = {r["ip"]: r for r in t}
        assert by_ip[NL]["state"] == "notified"
        assert by_ip[NL]["contact"] == "abuse@ripe-nl.example"
        assert by_ip[NL]["whois_server"] == "whois.ripe.net"
        assert by_ip["2001:db8:bad::1"]["state"] == "unresolved"
        assert by_ip["2001:db8:bad::1"]["reason"]
        rows = list(csv.DictReader(io.StringIO(env.ipwarn(
            "targets", "--state", "unresolved", "--format", "csv",
            check=0).stdout)))
        assert [r["ip"] for r in rows] == ["2001:db8:bad::1"]
        assert list(rows[0]) == ["ip", "campaign", "state", "contact",
                                 "contact_source", "whois_server",
                                 "whois_network", "country", "locale",
                                 "letter", "reason"]
        ls = json.loads(env.ipwarn("letters", "--format", "json",
                                   check=0).stdout)
        assert len(ls) == 1 and ls[0]["state"] == "sent"
        assert ls[0]["ips"] == 1 and len(ls[0]["message_sha256"]) == 64
        table = env.ipwarn("letters", check=0).stdout.splitlines()
        assert table[0].split()[:3] == ["letter", "ref", "campaign"]
        assert json.loads(env.ipwarn("bounces", "--format", "json",
                                     check=0).stdout) == []
        p = env.ipwarn("targets", "--state", "bogus", check=None)
        assert p.returncode == 64
        p = env.ipwarn("letters", "--campaign", "none", check=None)
        assert p.returncode == 65


def test_retry_held_after_suppress_del_and_contact_set(pg):
    with Env(pg, smtp="fault") as env:
        env.init_db()
        env.ipwarn("suppress", "add", "abuse@ripe-nl.example", check=0)
        env.ipwarn("suppress", "add", "abuse@arin-org.example", check=0)
        # The next contact of the RIPE IPs' fallback chain (the LIR) too;
        # no letters.escalation: their chains are exhausted, they wait in
        # 'held'.  (The ARIN network names no parent with an address.)
        env.ipwarn("suppress", "add", "abuse@ripe-lir.example", check=0)
        env.enqueue("%s\n192.0.2.71\n%s\n" % (NL, ARIN))
        env.ipwarnd("--once", check=0)
        assert spool(env) == []
        assert env.status()["targets"]["held"] == 3
        p = env.ipwarn("retry", "--held", check=0)
        assert p.stdout.strip() == "retried 0"   # still suppressed
        env.ipwarn("suppress", "del", "abuse@ripe-nl.example", check=0)
        env.ipwarn("contact", "set", ARIN + "/32", "noc@fixed.example",
                   check=0)
        p = env.ipwarn("retry", "--held", check=0)
        assert p.stdout.strip() == "retried 3"
        env.ipwarnd("--once", check=0)
        got = sorted(e["rcpts"][0] for e, _ in spool(env))
        assert got == ["abuse@ripe-nl.example", "noc@fixed.example"]
        assert env.status()["targets"]["held"] == 0


def test_retry_unresolved_after_an_override(pg):
    with Env(pg, smtp="fault") as env:
        env.init_db()
        env.enqueue("2001:db8:bad::1\n%s\n" % NL)
        env.ipwarnd("--once", check=0)
        assert env.status()["targets"]["unresolved"] == 1
        env.ipwarn("contact", "set", "2001:db8:bad::/48",
                   "noc@v6.example", check=0)
        p = env.ipwarn("retry", "--unresolved", "2001:db8:bad::1",
                       check=0)
        assert p.stdout.strip() == "retried 1"
        env.ipwarnd("--once", check=0)
        assert "noc@v6.example" in [e["rcpts"][0] for e, _ in spool(env)]
        assert env.status()["targets"]["unresolved"] == 0


def test_renotify_guard_across_campaigns(pg):
    with Env(pg, smtp="fault") as env:
        env.init_db()
        env.campaign("create", "first")
        env.enqueue(NL + "\n", "--campaign", "first")
        env.ipwarnd("--once", check=0)
        assert len(spool(env)) == 1
        env.campaign("create", "second")
        env.enqueue("%s\n192.0.2.10\n" % NL, "--campaign", "second")
        env.ipwarnd("--once", check=0)
        assert [e["rcpts"][0] for e, _ in spool(env)][1:] == [DK[0][1]]
        held = json.loads(env.ipwarn("targets", "--campaign", "second",
                                     "--state", "held", "--format", "json",
                                     check=0).stdout)
        assert [r["ip"] for r in held] == [NL]
        assert "first" in held[0]["reason"]
        assert "renotify_after" in held[0]["reason"]
        env.campaign("create", "third", "--renotify")
        env.enqueue(NL + "\n", "--campaign", "third")
        env.ipwarnd("--once", check=0)
        assert [e["rcpts"][0] for e, _ in spool(env)][-1] == \
            "abuse@ripe-nl.example"


def test_once_exits_75_when_the_relay_cannot_be_used(pg):
    with Env(pg, smtp="fault", whois=False,
             rules=[{"when": "greeting", "reply": "421 4.3.2 busy"}]) as env:
        env.init_db()
        env.enqueue(overrides(env, 2))
        p = env.ipwarnd("--once")
        assert p.returncode == 75, p
        assert env.status()["letters"]["sent"] == 0
        env.smtp.set_rules([])
        env.sql("UPDATE letter SET next_attempt_at = now()")
        assert env.ipwarnd("--once").returncode == 0
        assert env.status()["letters"]["sent"] == 2


def test_enqueue_exit_codes_and_separators(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        env.init_db()
        env.campaign("create", "feeds")
        p = env.ipwarn("enqueue", "--campaign", "feeds", "-",
                       input="not-an-ip\n300.1.1.1;x\n")
        assert p.returncode == 65, p
        assert p.stdout.strip().splitlines()[-1] == \
            "enqueued 0, duplicate 0, invalid 2"
        p = env.ipwarn("enqueue", "--campaign", "feeds", "-",
                       input="# nothing\n\n")
        assert p.returncode == 0
        p = env.ipwarn("enqueue", "--campaign", "feeds", "-",
                       input="ip;evidence;observed\n"
                             "192.0.2.1;open relay, port 25;"
                             "2026-11-01 10:00:00\n")
        assert p.returncode == 0, p
        p = env.ipwarn("enqueue", "--campaign", "feeds", "-",
                       input="192.0.2.2\topen proxy; 3128\t\n")
        assert p.returncode == 0, p
        rows = env.sql("SELECT host(ip), evidence FROM target ORDER BY ip")
        assert rows == [["192.0.2.1", "open relay, port 25"],
                        ["192.0.2.2", "open proxy; 3128"]], rows


def test_mapped_locale_without_template_is_a_configuration_error(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        env.init_db()
        with open(env.conf) as f:
            conf = f.read()
        with open(env.conf, "w") as f:
            f.write(conf.replace('RO = "ro";', 'RO = "ro"; SE = "sv";'))
        p = env.ipwarnd("--once")
        assert p.returncode == 78, p
        assert "letters.countries.SE" in p.stderr and "'sv'" in p.stderr
        p = env.ipwarn("render", "--locale", "en")
        assert p.returncode == 78 and "letters.countries.SE" in p.stderr
        p = env.ipwarn("letters", "check")
        assert p.returncode == 78


def test_campaign_templates_vars_and_sample_render(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        env.init_db()
        own = os.path.join(env.tmp, "own")
        os.mkdir(own)
        src = os.path.join(os.path.dirname(__file__), "..", "..",
                           "locales", "en")
        with open(src, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("If you have questions",
                            "Sent for {var.agency} in campaign {campaign}, "
                            "reference {ref}.\n\nIf you have questions", 1)
        with open(os.path.join(own, "en"), "w", encoding="utf-8") as f:
            f.write(text)
        p = env.campaign("create", "own", "--letters", own, check=None)
        assert p.returncode == 65 and "{var.agency}" in p.stderr, p
        assert os.path.basename(own) + "/en:" in p.stderr
        env.campaign("create", "own", "--letters", own, "--var",
                     "agency=Datatilsynet")
        p = env.ipwarn("render", "--locale", "en", "--campaign", "own",
                       "--ips", "3", check=0)
        assert "Sent for Datatilsynet in campaign own" in p.stdout
        assert "192.0.2.3" in p.stdout and "=3D" not in p.stdout
        p = env.ipwarn("render", "--locale", "da", "--campaign", "own",
                       check=0)
        assert "Datatilsynet" not in p.stdout   # da comes from locales/
        p = env.ipwarn("render", "--locale", "xx", check=None)
        assert p.returncode == 65
        p = env.ipwarn("letters", "check", check=0)
        assert "campaign own" in p.stdout
        env.enqueue(overrides(env, 1), "--campaign", "own")
        env.ipwarnd("--once", check=0)
        (_, raw), = spool(env)
        ref = env.sql("SELECT ref FROM letter")[0][0]
        dec = env.ipwarn("letter", "show", env.sql(
            "SELECT id FROM letter")[0][0], "--decode", check=0).stdout
        assert "reference %s." % ref in dec
        # A broken template in the campaign's directory: the letter waits
        # and the daemon says where.
        with open(os.path.join(own, "en"), "a", encoding="utf-8") as f:
            f.write("{nosuch}\n")
        p = env.ipwarn("letters", "check")
        assert p.returncode == 78 and "/en:" in p.stdout


def test_large_contact_gets_an_attached_list(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        with open(env.conf) as f:
            conf = f.read()
        with open(env.conf, "w") as f:
            f.write(conf.replace("letters: {", "letters: {\n"
                                 "  max_inline_ips = 3;"))
        env.init_db()
        env.ipwarn("contact", "set", "198.18.0.0/24", "big@op.example",
                   check=0)
        ips = ["198.18.0.%d" % i for i in range(1, 8)]
        env.enqueue("".join('%s,"open relay, ""port"" 25"\n' % ip
                            for ip in ips))
        env.ipwarnd("--once", check=0)
        (_, raw), = spool(env)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert msg.get_content_type() == "multipart/mixed"
        text = msg.get_body(preferencelist=("plain",)).get_content()
        assert sum(ip in text.split() for ip in ips) == 3
        att, = list(msg.iter_attachments())
        assert att.get_filename() == "ips.csv"
        rows = list(csv.reader(io.StringIO(att.get_content())))
        assert rows[0] == ["ip", "evidence", "observed"]
        assert [r[0] for r in rows[1:]] == ips
        assert rows[1][1] == 'open relay, "port" 25'
        assert "ips.csv" in text


def test_campaign_list_and_preview_with_a_campaign(pg):
    with Env(pg, smtp="fault") as env:
        env.init_db()
        env.campaign("create", "alpha")
        env.campaign("create", "beta")
        env.enqueue(NL + "\n", "--campaign", "beta")
        rows = json.loads(env.ipwarn("campaign", "list", "--json",
                                     check=0).stdout)
        assert [(r["name"], r["state"], r["ips"]) for r in rows] == [
            ("alpha", "draft", 0), ("beta", "approved", 1)]
        assert "alpha" in env.ipwarn("campaign", "list", check=0).stdout
        p = env.ipwarn("preview", NL, "--campaign", "beta", "--decode",
                       check=0)
        assert "contact:  abuse@ripe-nl.example" in p.stdout
        assert "X-Ipwarn-Ref: preview-000000" in p.stdout
        assert "=?UTF-8?" not in p.stdout.split("X-Ipwarn-Ref")[1]
        p = env.ipwarn("preview", NL, "--campaign", "nope", check=None)
        assert p.returncode == 65 and "no campaign nope" in p.stderr
        assert env.status()["letters"]["queued"] == 0   # stores nothing
