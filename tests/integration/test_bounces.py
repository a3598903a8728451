"""Bounces end to end: a letter goes out through smtp-sink, a bounce built
from a real message shape (tests/fixtures/bounces) for its VERP address is
piped to `ipwarn bounce`, and the letter, the suppression list and later
campaigns show the effect.  Forged and non-bounce messages change nothing.
"""

import email.utils
import json
import os
import secrets
import subprocess

from harness import SRC, Env, addr_of

FIXTURES = os.path.join(SRC, "tests/fixtures/bounces")
BOUNCES = 'bounces: { maildir = "maildir"; soft_limit = 3; };'


def send_one(env, ip="192.0.2.10", campaign="c1"):
    """Enqueue ip, run the daemon once; the letter as the relay saw it."""
    env.enqueue(ip + ",open proxy on 3128/tcp\n", "--campaign", campaign)
    env.ipwarnd("--once", check=0)
    msgs = env.smtp.messages()
    assert msgs, "no letter reached the relay"
    m = msgs[-1]
    verp = addr_of(m["mail_from"])
    args = m["mail_from"]
    envid = ""
    for a in args.split():
        if a.upper().startswith("ENVID="):
            envid = a.split("=", 1)[1]
    return {"verp": verp, "rcpt": addr_of(m["rcpts"][0]),
            "msgid": m["msg"]["Message-ID"].strip("<>"),
            "envid": envid or verp.split("+", 1)[1].split("@", 1)[0],
            "id": int(verp.split("+", 1)[1].split(".", 1)[0])}


def render(name, letter, **over):
    with open(os.path.join(FIXTURES, name)) as f:
        text = f.read()
    vals = {"VERP": letter["verp"], "ENVID": letter["envid"],
            "RCPT": letter["rcpt"], "MSGID": letter["msgid"],
            "DATE": email.utils.formatdate(),
            "BOUNCEID": secrets.token_hex(6)}
    vals.update(over)
    for k, v in vals.items():
        text = text.replace("{%s}" % k, v)
    return text


def pipe(env, text, *args, check=0):
    return env.ipwarn("bounce", *args, input=text, check=check)


def letter_row(env, lid):
    return env.sql("SELECT state, bounce_class, bounce_status, "
                   "coalesce(bounce_diagnostic, '') FROM letter "
                   "WHERE id = %d" % lid)[0]


def suppressed(env):
    return {r[0]: r[1] for r in env.sql(
        "SELECT email, source FROM suppression")}


def test_hard_bounce_marks_letter_and_suppresses_contact(pg):
    with Env(pg, extra=BOUNCES) as env:
        env.init_db()
        lt = send_one(env)
        p = pipe(env, render("postfix-hard.eml", lt), "--recipient",
                 lt["verp"])
        assert "hard" in p.stdout, p.stdout
        state, cls, status, diag = letter_row(env, lt["id"])
        assert (state, cls, status) == ("bounced", "hard", "5.1.1")
        assert "User unknown" in diag, diag
        assert suppressed(env) == {lt["rcpt"]: "bounce"}
        rows = env.sql("SELECT verified, letter_id, class, reason, "
                       "raw IS NULL FROM bounce")
        assert rows == [["t", str(lt["id"]), "hard", "userunknown", "t"]], \
            rows
        st = env.status()
        assert st["letters"]["bounced"] == 1, st
        # The contact never got the letter, and a later campaign's IP of
        # the same contact is not mailed to it either: both go to the next
        # contact of their fallback chain (the LIR's allocation; see
        # test_fallback.py), each campaign in a letter of its own.
        env.enqueue("192.0.2.11,open relay\n", "--campaign", "c2")
        env.ipwarnd("--once", check=0)
        got = sorted(addr_of(m["rcpts"][0]) for m in env.smtp.messages())
        assert got == sorted(["abuse@ripe-lir.example"] * 2 + [lt["rcpt"]]), \
            got
        rows = env.sql("SELECT host(ip), state, contact_email FROM target "
                       "ORDER BY ip")
        assert rows == [["192.0.2.10", "resolved", "abuse@ripe-lir.example"],
                        ["192.0.2.11", "resolved",
                         "abuse@ripe-lir.example"]], rows


def test_bounce_matched_by_headers_and_envid_without_recipient(pg):
    with Env(pg, extra=BOUNCES) as env:
        env.init_db()
        lt = send_one(env)
        # No --recipient: Delivered-To / X-Original-To carry the token.
        pipe(env, render("postfix-hard.eml", lt))
        assert letter_row(env, lt["id"])[0] == "bounced"
    with Env(pg, extra=BOUNCES) as env:
        env.init_db()
        lt = send_one(env)
        # Rewritten to a plain address by a forwarder: only the ENVID
        # is left to match.
        text = render("postfix-hard.eml", lt).replace(
            lt["verp"], "bounces@regulator.example")
        pipe(env, text)
        assert letter_row(env, lt["id"])[0] == "bounced"


def test_forged_bounce_changes_nothing_and_is_kept(pg):
    with Env(pg, extra=BOUNCES) as env:
        env.init_db()
        lt = send_one(env)
        bad = "bounces+%d.aaaaaaaaaaaaa@regulator.example" % lt["id"]
        text = render("postfix-hard.eml", lt, VERP=bad,
                      ENVID="%d.aaaaaaaaaaaaa" % lt["id"])
        p = pipe(env, text, "--recipient", bad)
        assert "unmatched" in p.stdout, p.stdout
        assert letter_row(env, lt["id"])[0] == "sent"
        assert suppressed(env) == {}
        rows = env.sql("SELECT verified, letter_id IS NULL, "
                       "length(raw) > 0 FROM bounce")
        assert rows == [["f", "t", "t"]], rows
        d = json.loads(pipe(env, text, "--dry-run", "--recipient",
                            bad).stdout)
        assert d["verified"] is False and d["letter"] is None


def test_soft_bounces_suppress_at_soft_limit(pg):
    with Env(pg, extra=BOUNCES) as env:
        env.init_db()
        lt = send_one(env)
        for i in range(3):
            pipe(env, render("exim-mailbox-full.eml", lt))
            row = letter_row(env, lt["id"])
            assert row[:2] == ["bounced", "soft"], row
            if i < 2:
                assert suppressed(env) == {}, i
        assert suppressed(env) == {lt["rcpt"]: "bounce"}


def soft_count(env, email):
    return int(env.sql("SELECT count(*) FROM bounce WHERE verified AND "
                       "class = 'soft' AND email = '%s'" % email)[0][0])


def test_duplicate_bounce_counted_once(pg):
    """The same bounce piped twice, then delivered to the maildir with other
    trace headers (same Message-Id), is recorded once: it takes three
    different soft bounces to reach soft_limit = 3."""
    with Env(pg, extra=BOUNCES) as env:
        env.init_db()
        lt = send_one(env)
        text = render("exim-mailbox-full.eml", lt, BOUNCEID="dup1")
        first = pipe(env, text)
        again = pipe(env, text)
        assert "already recorded" in again.stdout, again.stdout
        md = os.path.join(env.tmp, "maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub))
        with open(os.path.join(md, "new", "1.M1P1.host"), "w") as f:
            f.write("Delivered-To: %s\n" % lt["verp"] + text)
        env.ipwarnd("--once", check=0)
        assert soft_count(env, lt["rcpt"]) == 1
        assert env.sql("SELECT count(*), min(reason) FROM bounce") == \
            [["1", "mailboxfull"]], first.stdout
        pipe(env, render("exim-mailbox-full.eml", lt))
        assert suppressed(env) == {}
        pipe(env, render("exim-mailbox-full.eml", lt))
        assert soft_count(env, lt["rcpt"]) == 3
        assert suppressed(env) == {lt["rcpt"]: "bounce"}


def test_autoreply_changes_nothing(pg):
    with Env(pg, extra=BOUNCES) as env:
        env.init_db()
        lt = send_one(env)
        text = render("vacation.eml", lt)
        d = json.loads(pipe(env, text, "--dry-run").stdout)
        assert d["class"] == "autoreply", d
        pipe(env, text)
        assert letter_row(env, lt["id"])[0] == "sent"
        assert suppressed(env) == {}
        assert env.sql("SELECT class, verified FROM bounce") == \
            [["autoreply", "t"]]


def test_dry_run_prints_the_contract_json(pg):
    with Env(pg, extra=BOUNCES) as env:
        env.init_db()
        lt = send_one(env)
        p = pipe(env, render("postfix-hard.eml", lt), "--dry-run")
        d = json.loads(p.stdout)
        assert set(d) == {"verified", "letter", "class", "reason",
                          "recipients"}
        assert d["verified"] is True and d["letter"] == lt["id"]
        assert d["class"] == "hard" and d["reason"] == "userunknown"
        assert d["recipients"] == [{
            "address": lt["rcpt"], "action": "failed", "status": "5.1.1",
            "reason": "userunknown",
            "diagnostic": d["recipients"][0]["diagnostic"]}]
        assert "User unknown" in d["recipients"][0]["diagnostic"]
        assert len(p.stdout.strip().splitlines()) == 1
        # touched nothing
        assert env.sql("SELECT count(*) FROM bounce") == [["0"]]
        assert letter_row(env, lt["id"])[0] == "sent"


def test_dry_run_needs_only_the_sender_section(pg):
    with Env(pg) as env:
        conf = os.path.join(env.tmp, "sender-only.conf")
        with open(conf, "w") as f:
            f.write('sender: { from = "a@regulator.example"; '
                    'return_path = "bounces@regulator.example"; '
                    'verp_secret = "test-secret-0123456789"; };\n')
        os.chmod(conf, 0o600)
        with open(os.path.join(FIXTURES, "vacation.eml"), "rb") as f:
            raw = f.read() + b"\n\xff\xfe broken \x00 bytes\n"
        p = subprocess.run([os.path.join(env_bin(), "ipwarn"), "-c", conf,
                            "bounce", "--dry-run"], input=raw,
                           capture_output=True)
        assert p.returncode == 0, p.stderr
        p.stdout.decode("utf-8")    # valid UTF-8
        d = json.loads(p.stdout)
        assert d["verified"] is False and d["letter"] is None


def test_database_down_exits_75(pg):
    with Env(pg, extra=BOUNCES) as env:
        env.init_db()
        lt = send_one(env)
        text = render("postfix-hard.eml", lt)
        dead = os.path.join(env.tmp, "nosock")
        os.mkdir(dead)
        with open(env.conf) as f:
            conf = f.read()
        conf = conf.replace(pg.conninfo(env.db),
                            "host=%s port=1 dbname=x connect_timeout=2" %
                            dead)
        with open(env.conf, "w") as f:
            f.write(conf)
        p = pipe(env, text, check=75)
        assert p.stderr.count("\n") == 1, p.stderr


def env_bin():
    from harness import BIN
    return BIN


def test_daemon_takes_bounces_from_maildir(pg):
    with Env(pg, extra=BOUNCES) as env:
        env.init_db()
        lt = send_one(env)
        md = os.path.join(env.tmp, "maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub))
        with open(os.path.join(md, "new", "1.M1P1.host"), "w") as f:
            f.write(render("postfix-hard.eml", lt))
        with open(os.path.join(md, "new", "2.M2P2.host"), "wb") as f:
            f.write(b"\x00\xffnot a message at all\r\r\n")
        env.ipwarnd("--once", check=0)
        assert letter_row(env, lt["id"])[:2] == ["bounced", "hard"]
        assert suppressed(env) == {lt["rcpt"]: "bounce"}
        assert os.listdir(os.path.join(md, "new")) == []
        assert os.listdir(os.path.join(md, ".done", "cur")) == \
            ["1.M1P1.host:2,S"]
        assert os.listdir(os.path.join(md, ".failed", "cur")) == \
            ["2.M2P2.host:2,"]
        rows = env.sql("SELECT via, class, raw IS NOT NULL FROM bounce "
                       "ORDER BY id")
        assert rows == [["maildir", "hard", "f"],
                        ["maildir", "undetermined", "t"]], rows
