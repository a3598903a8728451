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
    return env.contact_overrides(n, prefix)


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
        # The list shows the share asked for and the group drawn.
        listed = {r["name"]: r for r in json.loads(env.ipwarn(
            "campaign", "list", "--json", check=0).stdout)}
        assert listed[name]["holdout"] == percent
        assert listed[name]["control"] == len(rows)
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


# --- observation rounds and the report ---

GEO = [("192.0.2.0/26", "DK"), ("192.0.2.64/26", "NL"),
       ("192.0.2.128/26", "DE"), ("192.0.2.192/26", "RO"),
       ("198.51.100.0/25", "US"), ("198.51.100.128/25", "NO"),
       ("198.18.0.0/15", "US"), ("203.0.113.0/25", "JP"),
       ("203.0.113.128/26", "BR"), ("203.0.113.192/26", "ZA"),
       ("2001:db8::/32", "DE")]
LOCALE = {"DK": "da", "NO": "nb", "NL": "nl", "DE": "de", "RO": "ro"}
# IPs the loopback WHOIS world resolves: ip -> (contact, registry).
WHOIS = {
    "192.0.2.10": ("abuse-dk@ripe-dk.example", "whois.ripe.net"),
    "192.0.2.70": ("abuse@ripe-nl.example", "whois.ripe.net"),
    "192.0.2.130": ("abuse@ripe-de.example", "whois.ripe.net"),
    "192.0.2.200": ("irt@ripe-ro.example", "whois.ripe.net"),
    "198.51.100.10": ("abuse@arin-org.example", "whois.arin.net"),
    "198.51.100.200": ("abuse@downstream.example", "whois.arin.net"),
    "198.51.100.70": ("abuse@lacnic-via-arin.example", "whois.lacnic.net"),
    "203.0.113.5": ("abuse@apnic-member.example", "whois.apnic.net"),
    "203.0.113.130": ("abuse@lacnic-member.example", "whois.lacnic.net"),
    "203.0.113.200": ("abuse@afrinic-member.example", "whois.afrinic.net"),
}
UNRESOLVED = ["2001:db8:bad::1", "2001:db8:ffff::1"]
SENT = "2026-01-01T00:00:00Z"
ROUND1 = "2026-01-05T00:00:00Z"    # 4 days after the letters
ROUND2 = "2026-01-11T12:00:00Z"    # 10.5 days after


def country(ip):
    import ipaddress
    a = ipaddress.ip_address(ip)
    for net, cc in GEO:
        if a in ipaddress.ip_network(net):
            return cc
    return None


def newcombe(x1, n1, x2, n2, z=1.959963984540054):
    """Newcombe (1998) method 10, written out from the paper."""
    def wilson(x, n):
        p = x / n
        den = 1 + z * z / n
        mid = (p + z * z / (2 * n)) / den
        half = z / den * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
        return max(0.0, mid - half), min(1.0, mid + half)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    d = p1 - p2
    return (d - ((p1 - l1) ** 2 + (u2 - p2) ** 2) ** 0.5,
            d + ((u1 - p1) ** 2 + (p2 - l2) ** 2) ** 0.5)


def write(env, name, lines):
    path = os.path.join(env.tmp, name)
    with open(path, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    return path


def scenario(env, name="osys", holdout=30):
    """A sent campaign: 60 override contacts, the WHOIS world's IPs, two
    that stay unresolved; its letters dated SENT; one letter bounced.
    Returns ip -> {contact, registry, control}."""
    ips = {}
    for ip, contact in override_ips(env, 60).items():
        ips[ip] = {"contact": contact, "registry": "override"}
    for ip, (contact, reg) in WHOIS.items():
        ips[ip] = {"contact": contact, "registry": reg}
    for ip in ips.values():
        ip["control"] = in_control(name, ip["contact"], holdout)
    env.campaign("create", name, "--holdout", str(holdout))
    env.enqueue("".join("%s,open resolver\n" % ip
                        for ip in list(ips) + UNRESOLVED),
                "--campaign", name)
    env.ipwarnd("--once", check=0)
    env.sql("UPDATE letter SET sent_at = '%s' WHERE sent_at IS NOT NULL"
            % SENT)
    return ips


def test_observe_and_report_match_the_tests_own_counts(pg):
    with Env(pg) as env:
        env.init_db()
        ips = scenario(env)
        notified = sorted(ip for ip, v in ips.items() if not v["control"])
        control = sorted(ip for ip, v in ips.items() if v["control"])
        assert len(control) >= 5 and len(notified) >= 40
        # One letter bounces (hard), as a verified DSN would record it.
        bounced_contact = ips[notified[0]]["contact"]
        env.sql("UPDATE letter SET state = 'bounced', bounce_class = "
                "'hard' WHERE contact_email = '%s'; INSERT INTO bounce "
                "(via, verified, letter_id, email, class) SELECT 'pipe', "
                "true, id, contact_email, 'hard' FROM letter WHERE "
                "contact_email = '%s'" % (bounced_contact, bounced_contact))

        # Round 1: every third notified IP and every fifth control IP
        # fixed.  Round 2: those of round 1 but the first notified one
        # (it relapses), and every fourth notified one more.
        fix1 = set(notified[::3]) | set(control[::5])
        fix2 = (fix1 - {notified[0]}) | set(notified[1::4])
        every = list(ips) + UNRESOLVED
        f1 = write(env, "scan1.csv", ["ip,port"] + ["%s,53" % ip for ip in
                                                    every if ip not in fix1])
        p = env.ipwarn("observe", "osys", "--at", ROUND1, f1, check=0)
        assert "fixed %d (%d for the first time), relapsed 0" % (
            len(fix1), len(fix1)) in p.stdout, p.stdout
        # A stranger's IP and a bad line are reported, the rest recorded.
        f2 = write(env, "scan2.csv", ["ip,port"] + ["%s,53" % ip for ip in
                                                    every if ip not in fix2]
                   + ["not-an-ip,53", "192.0.2.33,53"])
        p = env.ipwarn("observe", "osys", "--at", ROUND2, f2, check=0)
        assert "scan2.csv:%d:" % (len(every) - len(fix2) + 2) in p.stderr, \
            p.stderr
        assert "relapsed 1; not of the campaign 1, invalid 1" in p.stdout, \
            p.stdout

        rep = json.loads(env.ipwarn("report", "osys", "--format", "json",
                                    check=0).stdout)
        n_letters = len({ips[ip]["contact"] for ip in notified})
        bounced_ips = [ip for ip in notified
                       if ips[ip]["contact"] == bounced_contact]
        assert rep["funnel"] == {
            "enqueued": len(every), "resolved": len(ips),
            "unresolved": len(UNRESOLVED), "held": 0,
            "control": len(control), "letters": n_letters,
            "sent": n_letters, "bounced": 1,
            "delivered_ips": len(notified) - len(bounced_ips)}, rep["funnel"]
        assert rep["bounces"] == {"hard": 1}
        assert sum(rep["unresolved_reasons"].values()) == len(UNRESOLVED)

        fixed = fix2
        nf = len([ip for ip in notified if ip in fixed])
        cf = len([ip for ip in control if ip in fixed])
        rem = rep["remediation"]
        # Relapsed: fixed in round 1, listed again in round 2.
        assert rem["notified"] == {"ips": len(notified), "fixed": nf,
                                   "rate": round(nf / len(notified), 4),
                                   "relapsed": 1}
        assert rem["control"] == {"ips": len(control), "fixed": cf,
                                  "rate": round(cf / len(control), 4),
                                  "relapsed": 0}
        assert abs(rem["lift"] - (nf / len(notified) - cf / len(control))) \
            < 1e-4
        lo, hi = newcombe(nf, len(notified), cf, len(control))
        assert abs(rem["ci95"][0] - lo) < 1e-4 and \
            abs(rem["ci95"][1] - hi) < 1e-4, (rem["ci95"], lo, hi)
        # Days from the letter to the first round that saw it fixed.
        days = sorted(4.0 if ip in fix1 else 10.5
                      for ip in notified if ip in fixed)
        mid = len(days) // 2
        median = days[mid] if len(days) % 2 else (days[mid - 1] +
                                                   days[mid]) / 2
        assert rem["median_days_to_fix"] == median

        # Per registry, locale and country, from the test's own data (the
        # unresolved IPs: RIPE's, in Germany, no letter).
        def registry(ip):
            return ips[ip]["registry"] if ip in ips else "whois.ripe.net"

        def locale(ip):
            return LOCALE.get(country(ip), "en")
        for key, of in (("by_registry", registry), ("by_country", country),
                        ("by_locale", locale)):
            want = {}
            for ip in every:
                k = want.setdefault(of(ip), {"ips": 0, "letters": set(),
                                             "bounced": set(), "fixed": 0})
                k["ips"] += 1
                k["fixed"] += ip in fixed
                if ip in ips and not ips[ip]["control"]:
                    k["letters"].add(ips[ip]["contact"])
                    if ips[ip]["contact"] == bounced_contact:
                        k["bounced"].add(bounced_contact)
            want = {k: {"ips": v["ips"], "letters": len(v["letters"]),
                        "sent": len(v["letters"]),
                        "bounced": len(v["bounced"]), "fixed": v["fixed"]}
                    for k, v in want.items()}
            assert rep[key] == want, (key, rep[key], want)
        assert [r["at"] for r in rem["rounds"]] == [ROUND1, ROUND2]
        assert rem["rounds"][0]["notified"]["fixed"] == \
            len([ip for ip in notified if ip in fix1])

        # The text and HTML forms carry the same numbers.
        txt = env.ipwarn("report", "osys", check=0).stdout
        assert "notified %d IPs, fixed %d (%.1f %%), relapsed 1" % (
            len(notified), nf, 100 * round(nf / len(notified), 4)) in txt
        out = os.path.join(env.tmp, "report.html")
        env.ipwarn("report", "osys", "--format", "html", "-o", out, check=0)
        with open(out, encoding="utf-8") as f:
            html = f.read()
        check_html(html, rep)
        check_rendered(env, out)


def check_html(html, rep):
    low = html.lower()
    for ext in ("http:", "https:", "//", "src=", "href=", "url(",
                "@import", "<script", "<link", "<img", "<iframe"):
        if ext == "//":
            assert "=\"//" not in low and "='//" not in low
            continue
        assert ext not in low, ext
    assert "<svg" in html and "@media print" in html
    f = rep["funnel"]
    for label, key in (("IPs enqueued", "enqueued"),
                       ("IPs resolved to a contact", "resolved"),
                       ("IPs unresolved", "unresolved"),
                       ("IPs in the control group", "control"),
                       ("letters sent", "sent"),
                       ("letters bounced", "bounced"),
                       ("IPs in delivered letters", "delivered_ips")):
        assert "<td>%s</td><td>%d</td>" % (label, f[key]) in html, label
    rem = rep["remediation"]
    for arm, name in (("notified", "notified"),
                      ("control", "control (no letter)")):
        a = rem[arm]
        rate = "n/a" if a["rate"] is None else "%.1f %%" % (a["rate"] * 100)
        assert "<td>%s</td><td>%d</td><td>%d</td><td>%s</td><td>%d</td>" % (
            name, a["ips"], a["fixed"], rate, a["relapsed"]) in html, arm
    if rem["lift"] is not None:
        assert "%+.1f" % (rem["lift"] * 100) in html
        assert "95 %% CI %+.1f to %+.1f" % (rem["ci95"][0] * 100,
                                             rem["ci95"][1] * 100) in html
    for dim in ("by_registry", "by_locale", "by_country", "by_source"):
        for k, v in rep[dim].items():
            assert "<tr><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d"\
                "</td><td>%d</td></tr>" % (k, v["ips"], v["letters"],
                                          v["sent"], v["bounced"],
                                          v["fixed"]) in html, (dim, k)
    for k, n in list(rep["bounces"].items()) + list(
            rep["unresolved_reasons"].items()):
        assert "<tr><td>%s</td><td>%d</td></tr>" % (
            k.replace("&", "&amp;").replace("<", "&lt;").replace(
                ">", "&gt;").replace('"', "&quot;").replace("'", "&#39;"),
            n) in html, k


def check_rendered(env, path):
    """Headless Chromium renders the page; the PNG is not blank and the
    charts' colours are in it."""
    import png_read
    shot = os.path.join(env.tmp, "report.png")
    png_read.screenshot(path, shot)
    w, h, px = png_read.read(shot)
    colours = png_read.histogram(px)
    assert len(colours) > 20, "blank page"
    assert png_read.near(colours, (0x1d, 0x4e, 0xd8)) > 2000, "no funnel"
    assert png_read.near(colours, (0xd9, 0x77, 0x06)) > 50, "no control"
    assert png_read.near(colours, (0x05, 0x96, 0x69)) > 200, "no fixed bars"


def test_observe_and_report_bad_input(pg):
    with Env(pg, whois=False) as env:
        env.init_db()
        ips = override_ips(env, 3)
        env.campaign("create", "small")
        env.enqueue("".join("%s,x\n" % ip for ip in ips), "--campaign",
                    "small", approve=False)
        env.campaign("create", "empty")
        scan = write(env, "scan.csv", list(ips)[:1])
        p = env.ipwarn("observe", "nosuch", scan, check=65)
        assert "no campaign nosuch" in p.stderr
        # None of the file's IPs is the campaign's: said, nothing stored.
        p = env.ipwarn("observe", "small", write(
            env, "other.csv", ["192.0.2.1", "192.0.2.2"]), check=65)
        assert "none of its 2 IPs is an IP of campaign small" in p.stderr
        p = env.ipwarn("observe", "small", write(env, "bad.csv", [
            "# only bad lines", "nope", "300.1.1.1"]), check=65)
        assert "bad.csv:2:" in p.stderr and "bad.csv:3:" in p.stderr
        assert "none of its 2 records is valid" in p.stderr
        p = env.ipwarn("observe", "small", write(env, "none.csv", []),
                       check=65)
        assert "no IP in the file" in p.stderr
        p = env.ipwarn("observe", "small", "--at", "2099-01-01", scan,
                       check=65)
        assert "lies in the future" in p.stderr
        p = env.ipwarn("observe", "small", "--at", "yesterday", scan,
                       check=64)
        assert "--at yesterday" in p.stderr
        assert env.sql("SELECT count(*) FROM observation") == [["0"]]
        p = env.ipwarn("observe", "small", "--at", "2026-01-01T00:00:00Z",
                       scan, check=0)
        assert "still flagged 1, fixed 2" in p.stdout, p.stdout
        # A campaign with nothing in it: a valid report of zeros, the rates
        # null (no denominator), in every format.
        rep = json.loads(env.ipwarn("report", "empty", "--format", "json",
                                    check=0).stdout)
        assert set(rep["funnel"].values()) == {0}
        assert rep["by_locale"] == {} and rep["bounces"] == {}
        rem = rep["remediation"]
        assert rem["notified"] == {"ips": 0, "fixed": 0, "rate": None,
                                   "relapsed": 0}
        assert rem["control"] == {"ips": 0, "fixed": 0, "rate": None,
                                  "relapsed": 0}
        assert rem["lift"] is None and rem["ci95"] is None
        assert rem["median_days_to_fix"] is None
        p = env.ipwarn("report", "empty", check=0)
        assert "notified 0 IPs, fixed 0 (n/a)" in p.stdout
        out = os.path.join(env.tmp, "empty.html")
        env.ipwarn("report", "empty", "--format", "html", "-o", out, check=0)
        with open(out) as f:
            check_html(f.read(), rep)
        assert env.ipwarn("report", "nosuch", check=None).returncode == 65
        assert env.ipwarn("report", "empty", "--format", "pdf",
                          check=None).returncode == 64
