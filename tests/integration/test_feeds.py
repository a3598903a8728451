"""The feeds abuse desks receive, through `ipwarn enqueue`: Shadowserver-
style CSV reports with a header in several column orders (quoted fields,
BOM, CRLF, ';'), bad values in the ip column reported per line with the
good rows queued, --evidence templates (a name the header lacks is a usage
error before anything is queued), JSON lines, an over-long line; and the
built evidence in the letter the relay receives."""

import email
import email.policy
import os

from harness import Env

SS = ["timestamp", "ip", "port", "hostname", "tag", "asn", "geo", "region",
      "city", "naics", "sic", "protocol"]
TEMPLATE = "{tag} on {port}/{protocol}"


def report(columns, rows, sep=",", eol="\n", bom=False):
    """A quoted report with columns in the given order; rows are dicts."""
    def q(v):
        return '"%s"' % str(v).replace('"', '""')
    lines = [sep.join(q(c) for c in columns)]
    for r in rows:
        lines.append(sep.join(q(r.get(c, "")) for c in columns))
    return ("\ufeff" if bom else "") + eol.join(lines) + eol


def row(ip, tag="proxy", port=3128, protocol="tcp", ts="2026-11-01 10:00:00"):
    return {"timestamp": ts, "ip": ip, "port": port, "hostname": "h.example",
            "tag": tag, "asn": 64500, "geo": "DK", "region": "x, \"y\"",
            "city": "", "naics": 0, "sic": 0, "protocol": protocol}


def queued(env):
    """ip -> (evidence, observed as UTC text) of the queued targets."""
    rows = env.sql("SELECT host(ip), coalesce(evidence, ''), "
                   "coalesce(to_char(observed_at AT TIME ZONE 'UTC', "
                   "'YYYY-MM-DD HH24:MI:SS'), '') FROM target")
    return {r[0]: (r[1], r[2]) for r in rows}


def bodies(env):
    """The decoded text of every message the fault relay accepted."""
    out = []
    d = env.smtp.spool
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if name.endswith(".eml"):
            with open(os.path.join(d, name), "rb") as f:
                msg = email.message_from_bytes(f.read(),
                                               policy=email.policy.default)
            out.append("".join(p.get_content() for p in msg.walk()
                               if p.get_content_maintype() == "text"))
    return out


def test_shadowserver_reports_in_several_orders(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        env.init_db()
        orders = [SS, list(reversed(SS)),
                  ["asn", "protocol", "ip", "tag", "timestamp", "port"]]
        for i, cols in enumerate(orders):
            text = report(cols, [row("192.0.2.%d" % (10 + i))],
                          sep=";" if i == 1 else ",",
                          eol="\r\n" if i == 2 else "\n", bom=i == 2)
            p = env.enqueue(text, "--evidence", TEMPLATE, approve=False)
            assert p.stdout.strip().endswith(
                "enqueued 1, duplicate 0, invalid 0"), p.stdout + p.stderr
        got = queued(env)
        for i in range(3):
            assert got["192.0.2.%d" % (10 + i)] == (
                "proxy on 3128/tcp", "2026-11-01 10:00:00"), got


def test_bad_ip_column_values_are_reported_per_line(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        env.init_db()
        text = report(SS, [row("192.0.2.20"), row("192.0.2.0/24"),
                           row("not-an-address"),
                           row("192.0.2.21", protocol=""),
                           row("192.0.2.22", port="", protocol="")])
        p = env.enqueue(text, "--evidence", TEMPLATE, approve=False)
        assert p.stdout.strip().endswith("enqueued 3, duplicate 0, "
                                         "invalid 2"), p.stdout
        errs = p.stderr.splitlines()
        assert errs[0].startswith("3: network prefixes are not accepted")
        assert errs[1].startswith("4: not an IP address")
        got = queued(env)
        assert got["192.0.2.20"][0] == "proxy on 3128/tcp"
        assert got["192.0.2.21"][0] == "proxy on 3128"
        assert got["192.0.2.22"][0] == "proxy"


def test_header_without_template_and_old_files(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        env.init_db()
        # An evidence column by name, no timestamp column.
        env.enqueue('"src_ip","evidence","hostname"\n'
                    '"192.0.2.30","open relay, ""anon""","h"\n',
                    approve=False)
        # ip,reason keeps the positional meaning (third column: time).
        env.enqueue("ip,reason\n192.0.2.31,open proxy,2026-11-02\n",
                    approve=False)
        # No header at all: today's format.
        env.enqueue("192.0.2.32\topen proxy\t2026-11-03T04:05:06+01:00\n",
                    approve=False)
        got = queued(env)
        assert got["192.0.2.30"] == ('open relay, "anon"', "")
        assert got["192.0.2.31"] == ("open proxy", "2026-11-02 00:00:00")
        assert got["192.0.2.32"] == ("open proxy", "2026-11-03 03:05:06")


def test_unknown_template_column_is_a_usage_error(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        env.init_db()
        env.campaign("create", "feeds")
        text = report(SS, [row("192.0.2.40")])
        p = env.ipwarn("enqueue", "--campaign", "feeds", "--evidence",
                       "{tag} on {prot}", "-", input=text, check=64)
        assert 'no column "prot"' in p.stderr
        p = env.ipwarn("enqueue", "--campaign", "feeds", "--evidence",
                       "{tag", "-", input=text, check=64)
        p = env.ipwarn("enqueue", "--campaign", "feeds", "--format",
                       "xml", "-", input=text, check=64)
        # A template needs a header to name the columns.
        env.ipwarn("enqueue", "--campaign", "feeds", "--evidence", "{tag}",
                   "-", input="192.0.2.41,x\n", check=64)
        # Found before the database is touched: no default campaign either.
        env.ipwarn("enqueue", "--evidence", "{nope}", "-", input=text,
                   check=64)
        assert env.sql("SELECT count(*) FROM campaign WHERE name = "
                       "'default'") == [["0"]]
        assert queued(env) == {}


def test_json_lines(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        env.init_db()
        text = ('{"timestamp": "2026-11-01T10:00:00Z", "ip": "192.0.2.50",'
                ' "port": 3128, "protocol": "tcp", "tag": "proxy",'
                ' "geo": {"cc": "DK"}}\n'
                '{"src_ip": "192.0.2.51", "tag": "open relay"}\n'
                '{"ip": "192.0.2.52", "tag": "x"\n'
                '["192.0.2.53"]\n'
                '{"ip": {"v": "192.0.2.54"}}\n')
        p = env.enqueue(text, "--evidence", TEMPLATE, approve=False)
        assert p.stdout.strip().endswith("enqueued 2, duplicate 0, "
                                         "invalid 3"), p.stdout
        errs = p.stderr.splitlines()
        assert errs[0].startswith("3: bad JSON"), errs
        assert errs[1].startswith("4: bad JSON"), errs
        assert errs[2].startswith("5: \"ip\" is an object or array"), errs
        got = queued(env)
        assert got["192.0.2.50"] == ("proxy on 3128/tcp",
                                     "2026-11-01 10:00:00")
        assert got["192.0.2.51"] == ("open relay", "")
        # --format jsonl reads it too; all bad is exit 65.
        env.ipwarn("enqueue", "--format", "jsonl", "-",
                   input="192.0.2.55,x\n", check=65)


def test_over_long_line_is_reported_and_skipped(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        env.init_db()
        text = ("ip,tag\n192.0.2.60,a\n192.0.2.61," + "x" * 70000 +
                "\n192.0.2.62,b\n")
        p = env.enqueue(text, "--evidence", "{tag}", approve=False)
        assert p.stdout.strip().endswith("enqueued 2, duplicate 0, "
                                         "invalid 1"), p.stdout
        assert p.stderr.startswith("3: line longer than 65536 bytes")
        assert sorted(queued(env)) == ["192.0.2.60", "192.0.2.62"]


def test_letter_shows_the_built_evidence(pg):
    with Env(pg, smtp="fault", whois=False) as env:
        env.init_db()
        env.ipwarn("contact", "set", "192.0.2.0/24", "x@y.example",
                   check=0)
        cols = ["protocol", "tag", "ip", "port", "timestamp"]
        text = report(cols, [row("192.0.2.70"),
                             row("192.0.2.71", tag="open relay", port=25,
                                 protocol="")])
        env.enqueue(text, "--evidence", TEMPLATE)
        env.ipwarnd("--once", check=0)
        got = bodies(env)
        assert len(got) == 1, got
        assert "proxy on 3128/tcp" in got[0], got[0]
        assert "open relay on 25" in got[0]
        assert "open relay on 25/" not in got[0]
