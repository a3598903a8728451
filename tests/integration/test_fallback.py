"""The fallback contact chain end to end (lib/fallback.c,
daemon/fallback.c): a letter's contact hard-bounces (a real Postfix DSN
shape from tests/fixtures/bounces, piped to `ipwarn bounce`), its IP goes
to the abuse contact of the enclosing registration (the loopback RIPE
answers `-r -l RANGE` as RIPE does), that one is refused with 5.1.1 at
RCPT by the fault relay, and the IP goes to the national CERT of
letters.escalation -- each time in a new letter of the same campaign that
holds exactly the moved IP and says why in its {fallback} block.  The
chain is in contact_source (targets, export); with no CERT configured the
IP ends held with the chain as the reason.
"""

import csv
import glob
import io
import json
import os

from harness import SRC, Env, Whois
from test_bounces import BOUNCES, pipe, render

FIX = os.path.join(SRC, "tests/fixtures/whois")

NL = "192.0.2.70"            # RIPE 192.0.2.64/26, abuse@ripe-nl.example, NL
LIR = "abuse@ripe-lir.example"   # its allocation 192.0.2.0/24
CERT = "cert@cert-nl.example"
REFUSE_LIR = [{"rcpt": LIR, "reply": "550 5.1.1 <%s>: Recipient address "
               "rejected: User unknown in local recipient table" % LIR}]
COUNTRIES = 'countries = { DK = "da"; NO = "nb"; NL = "nl"; DE = "de"; ' \
    'RO = "ro"; };'


def small_world(tmp, files, servers):
    """A WHOIS world of its own in tmp/world: files maps an answer file's
    name to (fixture name or None, text to append, {old: new}) -- a copy
    of the fixture with the replacements, or the text alone; servers is
    the world's "servers" (whoisd.py).  Returns the world file."""
    d = os.path.join(tmp, "world")
    os.mkdir(d)
    for name, (src, extra, subst) in files.items():
        text = ""
        if src:
            with open(os.path.join(FIX, src), encoding="latin-1") as f:
                text = f.read()
        for old, new in subst.items():
            assert old in text, (src, old)
            text = text.replace(old, new)
        with open(os.path.join(d, name), "w", encoding="latin-1") as f:
            f.write(text + extra)
    path = os.path.join(d, "world.json")
    with open(path, "w") as f:
        json.dump({"servers": servers}, f)
    return path


def escalate(env, text):
    with open(env.conf) as f:
        conf = f.read()
    assert COUNTRIES in conf
    conf = conf.replace(COUNTRIES, COUNTRIES + " escalation = { %s };" %
                        text)
    with open(env.conf, "w") as f:
        f.write(conf)


def relayed(env):
    """What the fault relay accepted: [(rcpts, envelope, message text)]."""
    out = []
    for js in sorted(glob.glob(os.path.join(env.smtp.spool, "*.json"))):
        with open(js) as f:
            meta = json.load(f)
        with open(js[:-5] + ".eml", "rb") as f:
            out.append((meta, f.read().decode("utf-8", "replace")))
    return out


def decoded(env, lid):
    return env.ipwarn("letter", "show", str(lid), "--decode",
                      check=0).stdout


def first_letter(env):
    (meta, text), = relayed(env)
    verp = meta["mail_from"].strip("<>")
    msgid = [l for l in text.splitlines()
             if l.lower().startswith("message-id:")][0].split(":", 1)[1]
    return {"verp": verp, "rcpt": meta["rcpts"][0].strip("<>"),
            "msgid": msgid.strip().strip("<>"),
            "envid": verp.split("+", 1)[1].split("@", 1)[0],
            "id": int(verp.split("+", 1)[1].split(".", 1)[0])}


def test_hard_bounce_then_parent_refused_at_rcpt_then_cert(pg):
    with Env(pg, smtp="fault", rules=REFUSE_LIR, extra=BOUNCES) as env:
        escalate(env, 'NL = "%s";' % CERT)
        env.init_db()
        env.enqueue(NL + ",open proxy on 3128/tcp\n", "--campaign", "c1")
        env.ipwarnd("--once", check=0)
        lt = first_letter(env)
        assert lt["rcpt"] == "abuse@ripe-nl.example", lt
        # A first letter is no fallback letter: no {fallback} block.
        assert "niet bereiken via" not in decoded(env, lt["id"])
        pipe(env, render("postfix-hard.eml", lt), "--recipient", lt["verp"])
        row = env.sql("SELECT state, fallback_step, letter_id IS NULL "
                      "FROM target")
        assert row == [["new", "1", "t"]], row
        env.ipwarnd("--once", check=0)
        letters = env.sql("SELECT id, contact_email, state, "
                          "coalesce(fallback, '') FROM letter ORDER BY id")
        assert [r[1:] for r in letters] == [
            ["abuse@ripe-nl.example", "bounced", ""],
            [LIR, "failed", "abuse@ripe-nl.example"],
            [CERT, "sent", LIR]], letters
        # Each letter held exactly the one IP, never twice.
        lt_rows = env.sql("SELECT lt.letter_id, host(t.ip) FROM "
                          "letter_target lt JOIN target t ON "
                          "t.id = lt.target_id ORDER BY 1")
        assert [r[1] for r in lt_rows] == [NL] * 3, lt_rows
        assert env.sql("SELECT count(*) FROM target") == [["1"]]
        # The relay got the first letter and the CERT's, not the LIR's.
        got = [m["rcpts"][0].strip("<>") for m, _ in relayed(env)]
        assert got == ["abuse@ripe-nl.example", CERT], got
        body = decoded(env, letters[2][0])
        assert NL in body and "niet bereiken via " + LIR in body, body
        # The chain, as targets and export show it.
        t = json.loads(env.ipwarn("targets", "--campaign", "c1",
                                  "--format", "json", check=0).stdout)
        assert len(t) == 1 and t[0]["state"] == "notified", t
        src = t[0]["contact_source"]
        for part in ("<abuse@ripe-nl.example>: hard bounce 5.1.1",
                     "parent 192.0.2.0 - 192.0.2.255 (whois.ripe.net "
                     "-r -l 192.0.2.64 - 192.0.2.127)",
                     "<%s>: refused at RCPT 5.1.1" % LIR,
                     "CERT NL <%s>" % CERT):
            assert part in src, (part, src)
        assert t[0]["contact"] == CERT, t
        out = env.ipwarn("export", "c1", "--format", "csv", check=0).stdout
        rows = list(csv.DictReader(io.StringIO(out)))
        assert sorted(r["recipient"] for r in rows) == sorted(
            ["abuse@ripe-nl.example", LIR, CERT]), rows
        assert all(r["ip"] == NL and r["contact_source"] == src
                   for r in rows), rows


def test_chain_exhausted_holds_the_ip_with_the_chain(pg):
    rules = REFUSE_LIR + [{"rcpt": "abuse@ripe-nl.example",
                           "reply": "550 5.1.1 no such user"}]
    with Env(pg, smtp="fault", rules=rules) as env:
        env.init_db()       # no letters.escalation
        env.enqueue(NL + ",open proxy on 3128/tcp\n", "--campaign", "c1")
        env.ipwarnd("--once", check=0)
        row = env.sql("SELECT state, reason FROM target")
        assert row[0][0] == "held", row
        reason = row[0][1]
        assert reason.startswith("fallback chain exhausted: "), reason
        for part in ("<abuse@ripe-nl.example>: refused at RCPT 5.1.1",
                     "parent 192.0.2.0 - 192.0.2.255",
                     "<%s>: refused at RCPT 5.1.1" % LIR,
                     "CERT: none for country NL in letters.escalation"):
            assert part in reason, (part, reason)
        assert relayed(env) == []
        st = env.status()
        assert st["targets"].get("held") == 1, st


def test_arin_parent_network_by_its_handle(pg):
    refuse = [{"rcpt": "abuse@downstream.example",
               "reply": "550 5.1.1 unknown"}]
    with Env(pg, smtp="fault", rules=refuse) as env:
        env.init_db()
        env.enqueue("198.51.100.130,open relay\n", "--campaign", "c1")
        env.ipwarnd("--once", check=0)
        got = [m["rcpts"][0].strip("<>") for m, _ in relayed(env)]
        assert got == ["abuse@arin-org.example"], got
        src = env.sql("SELECT contact_source FROM target")[0][0]
        assert "parent 198.51.100.0 - 198.51.100.255 (whois.arin.net " \
            "n + ! NET-198-51-100-0-1)" in src, src


def test_letters_escalation_address_is_validated(pg):
    with Env(pg) as env:
        escalate(env, 'DK = "not an address";')
        p = env.ipwarn("letters", "check", check=78)
        assert "ipwarn.conf:" in p.stderr and \
            "letters.escalation.DK: no '@'" in p.stderr, p.stderr


APNIC_ALLOC = """% [whois.apnic.net]
% Whois data copyright terms    http://www.apnic.net/db/dbcopyright.html

% Information related to '203.0.113.0 - 203.0.113.255'

inetnum:        203.0.113.0 - 203.0.113.255
netname:        EXAMPLE-LIR-AP
country:        JP
admin-c:        EMA1-AP
tech-c:         EMA1-AP
status:         ALLOCATED PORTABLE
mnt-by:         APNIC-HM
mnt-irt:        IRT-LIR-AP
last-modified:  2020-01-01T00:00:00Z
source:         APNIC
"""

APNIC_IRT = """% [whois.apnic.net]

irt:            IRT-LIR-AP
address:        1-1 Rei, Chiyoda-ku
e-mail:         csirt@lir-ap.example
abuse-mailbox:  irt@lir-ap.example
admin-c:        EMA1-AP
tech-c:         EMA1-AP
auth:           # Filtered
mnt-by:         APNIC-HM
last-modified:  2024-11-01T00:00:00Z
source:         APNIC
"""


def test_apnic_parent_abuse_address_in_its_irt_object(pg):
    refuse = [{"rcpt": "abuse@apnic-member.example",
               "reply": "550 5.1.1 unknown"}]
    with Env(pg, smtp="fault", rules=refuse, whois=False) as env:
        path = small_world(env.tmp, {
            "iana.txt": ("iana-203.0.113.0.txt", "", {}),
            "member.txt": ("apnic-203.0.113.0.txt", "", {}),
            "alloc.txt": (None, APNIC_ALLOC, {}),
            "irt.txt": (None, APNIC_IRT, {})}, {
            "whois.iana.org": {"style": "iana", "networks": [
                {"net": "203.0.113.0/25", "answer": "iana.txt"}]},
            "whois.apnic.net": {"style": "rpsl", "networks": [
                {"net": "203.0.113.0/24", "answer": "alloc.txt"},
                {"net": "203.0.113.0/25", "answer": "member.txt"}],
                "objects": {"IRT-LIR-AP": "irt.txt"}}})
        env.whois = Whois(env.tmp, world=path)
        env.servers.append(env.whois)
        env.write_conf({})
        env.init_db()
        env.enqueue("203.0.113.9,open relay\n", "--campaign", "c1")
        env.ipwarnd("--once", check=0)
        got = [m["rcpts"][0].strip("<>") for m, _ in relayed(env)]
        assert got == ["irt@lir-ap.example"], got
        asked = [q for s, q in env.whois.queries() if s == "whois.apnic.net"]
        assert asked[-2:] == ["-r -l 203.0.113.0 - 203.0.113.127",
                              "-r -T irt IRT-LIR-AP"], asked
