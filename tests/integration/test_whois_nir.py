"""National registries on loopback: IANA -> APNIC -> JPNIC / KRNIC / TWNIC /
CNNIC and IANA -> LACNIC -> registro.br / NIC Mexico, each answering in
its own encoding (tests/fixtures/whois/nir, written by make-fixtures.py);
the inheritance case (APNIC's copy of a TWNIC customer network without an
abuse contact, the enclosing allocation in the same answer naming one);
and registry-run addresses (a JPNIC network without [Abuse], space whose
only contact is APNIC's helpdesk), which are held, not mailed.
"""

import os

from harness import Env, Whois, SRC
from test_whois_scale import contacts

WORLD = os.path.join(SRC, "tests/fixtures/whois/nir/world.json")

# ip -> (state, contact, a word the contact source must hold)
EXPECT = {
    "210.130.1.77": ("resolved", "abuse@cust-jp.example", "JPNIC [Abuse]"),
    "210.130.9.9": ("resolved", "noc-abuse@isp-jp.example",
                    "JPNIC [Abuse]"),
    "211.40.1.10": ("resolved", "abuse@isp-kr.example",
                    "inherited from 211.40.0.0/15: KRNIC abuse contact"),
    "61.220.5.20": ("resolved", "abuse@cust-tw.example",
                    "TWNIC abuse contact"),
    "202.112.8.30": ("resolved", "abuse@univ-cn.example",
                     "abuse contact comment"),
    "200.160.5.1": ("resolved", "abuse@telecom-br.example", "abuse-c EXT2"),
    "200.94.17.3": ("resolved", "abuse@cable-mx.example", "abuse-c CAE2"),
    "218.166.97.42": ("resolved", "hinet-abuse@hinet.example",
                      "inherited from 218.160.0.0/12"),
    "210.130.2.5": ("held", "hostmaster@nic.ad.jp", "registry-run: "),
    "61.9.1.1": ("held", "helpdesk@apnic.net", "registry-run: "),
}


def setup(env):
    env.whois = Whois(env.tmp, world=WORLD)
    env.servers.append(env.whois)
    env.write_conf({"workers": 2})
    env.init_db()


def rows(env):
    got = env.sql("SELECT host(ip), state, coalesce(contact_email, ''), "
                  "coalesce(contact_source, ''), coalesce(reason, ''), "
                  "coalesce(whois_server, ''), coalesce(whois_chain, '') "
                  "FROM target")
    return {r[0]: r[1:] for r in got}


def test_nir_world_every_contact_from_its_registry(pg):
    with Env(pg, whois=False) as env:
        setup(env)
        env.enqueue("\n".join(EXPECT) + "\n")
        env.ipwarnd("--once", "--dry-run", check=0)
        got = rows(env)
        for ip, (state, email, src) in EXPECT.items():
            st, em, source, reason, server, chain = got[ip]
            assert (st, em) == (state, email), (ip, got[ip])
            assert src in source, (ip, got[ip])
        # The NIR hop is in the chain and is the answering server.
        assert got["210.130.1.77"][4] == "whois.nic.ad.jp"
        assert got["210.130.1.77"][5] == ("whois.iana.org > "
                                          "whois.apnic.net > "
                                          "whois.nic.ad.jp"), got
        assert got["211.40.1.10"][4] == "whois.kisa.or.kr"
        assert got["61.220.5.20"][4] == "whois.twnic.net.tw"
        assert got["202.112.8.30"][4] == "whois.cnnic.cn"
        assert got["200.160.5.1"][4] == "whois.registro.br"
        assert got["200.94.17.3"][4] == "whois.nic.mx"
        # Inheritance stays in APNIC's answer: no NIR asked for it.
        assert got["218.166.97.42"][4] == "whois.apnic.net"
        # Registry-run: held with the reason, no letter to the registry.
        for ip in ("210.130.2.5", "61.9.1.1"):
            assert got[ip][3].startswith("registry-run address "), got[ip]
        letters = env.sql("SELECT contact_email FROM letter")
        mailed = {r[0] for r in letters}
        assert "hostmaster@nic.ad.jp" not in mailed
        assert "helpdesk@apnic.net" not in mailed
        assert "abuse@cust-jp.example" in mailed, mailed
        # The raw answers were decoded from their encodings.
        p = env.ipwarn("preview", "61.220.5.20", check=0)
        assert "abuse@cust-tw.example" in p.stdout, (p.stdout, p.stderr)
        p = env.ipwarn("preview", "210.130.2.5", check=65)
        assert "registry-run address hostmaster@nic.ad.jp" in p.stderr


def test_nir_hop_is_cached_and_counted(pg):
    """Every address of a JPNIC network after the first comes from the
    cache, and the NIR's queries pass the budget shared by all daemons."""
    with Env(pg, whois=False) as env:
        setup(env)
        ips = ["210.130.1.%d" % i for i in range(10, 40)] + \
            ["210.130.9.%d" % i for i in range(1, 11)]
        env.enqueue("\n".join(ips) + "\n")
        env.ipwarnd("--once", "--dry-run", check=0)
        got = contacts(env)
        for ip in ips:
            want = "abuse@cust-jp.example" if ip.startswith("210.130.1.") \
                else "noc-abuse@isp-jp.example"
            assert got[ip][:2] == ("resolved", want), (ip, got[ip])
        asked = env.whois.queries()
        per = {}
        for server, _ in asked:
            per[server] = per.get(server, 0) + 1
        # IANA and APNIC once; JPNIC for the first network, then the
        # listing of JPNIC's /16 around it, which names the /16's own
        # contact: the addresses of the /16 come from the cache.
        assert per == {"whois.iana.org": 1, "whois.apnic.net": 1,
                       "whois.nic.ad.jp": 2}, asked
        assert ["whois.nic.ad.jp", "210.130.0.0/16/e"] in asked, asked
        assert all(q.endswith("/e") for s, q in asked
                   if s == "whois.nic.ad.jp"), asked
        budget = env.sql("SELECT count(*) FROM whois_budget WHERE server "
                         "= 'whois.nic.ad.jp'")
        assert budget == [["1"]], budget


def test_nir_network_without_contact_is_held_on_the_cache_path_too(pg):
    """The cache knows JPNIC holds 210.130.2.0/24 (from the listing of its
    /16) and asks JPNIC directly; JPNIC names no [Abuse] there, so the
    chain is asked again for the RIR's fallback: held as registry-run,
    the same as when the whole chain was asked."""
    with Env(pg, whois=False) as env:
        setup(env)
        ips = ["210.130.1.10", "210.130.2.5", "210.130.2.6"]
        env.enqueue("\n".join(ips) + "\n")
        env.ipwarnd("--once", "--dry-run", check=0)
        got = rows(env)
        assert tuple(got["210.130.1.10"][:2]) == ("resolved",
                                          "abuse@cust-jp.example"), got
        for ip in ips[1:]:
            assert tuple(got[ip][:2]) == ("held", "hostmaster@nic.ad.jp"), got
            assert got[ip][3].startswith("registry-run address"), got
        assert env.sql("SELECT count(*) FROM letter WHERE contact_email "
                       "= 'hostmaster@nic.ad.jp'") == [["0"]]


def test_registry_run_ips_go_to_the_national_cert(pg):
    """Where all WHOIS names is a registry's own address, the IP is not
    mailed to the registry: with letters.escalation naming its country's
    CERT it gets a letter there, with the {fallback} block saying why,
    and the chain in its contact source; a country without a CERT stays
    held, and so does every IP while no CERT is configured."""
    from harness import GEO_SPEC, build_mmdb
    from test_fallback import escalate
    with Env(pg, whois=False) as env:
        env.mmdb = build_mmdb(env.tmp, GEO_SPEC + "210.130.0.0/16 JP\n"
                              "61.9.0.0/16 AU\n")
        setup(env)
        ips = ["210.130.2.5", "61.9.1.1", "210.130.1.77"]
        env.enqueue("\n".join(ips) + "\n", approve=True)
        env.ipwarnd("--once", check=0)
        got = rows(env)
        assert got["210.130.2.5"][:2] == ["held", "hostmaster@nic.ad.jp"]
        assert env.sql("SELECT count(*) FROM letter WHERE contact_email "
                       "LIKE '%cert%'") == [["0"]]
        # The operator names Japan's CERT: the held JP address goes there
        # at the next pass; the AU one has none and stays held.
        escalate(env, 'JP = "cert@cert-jp.example";')
        env.ipwarnd("--once", check=0)
        got = rows(env)
        st, email, source, reason = got["210.130.2.5"][:4]
        assert (st, email) == ("resolved", "cert@cert-jp.example"), got
        assert source.startswith("registry-run: "), source
        assert "<hostmaster@nic.ad.jp>: a registry's own address" in \
            source, source
        assert "CERT JP <cert@cert-jp.example>" in source, source
        st, email, source, reason = got["61.9.1.1"][:4]
        assert st == "held" and reason.startswith(
            "registry-run address helpdesk@apnic.net"), got["61.9.1.1"]
        mailed = [r[0] for r in env.sql("SELECT contact_email FROM letter "
                                        "WHERE state = 'sent'")]
        assert sorted(mailed) == ["abuse@cust-jp.example",
                                  "cert@cert-jp.example"], mailed
        assert "hostmaster@nic.ad.jp" not in str(env.smtp.messages())
        lid = env.sql("SELECT id FROM letter WHERE contact_email = "
                      "'cert@cert-jp.example'")[0][0]
        body = env.ipwarn("letter", "show", lid, "--decode").stdout
        assert "210.130.2.5" in body and "210.130.1.77" not in body, body
        assert "through hostmaster@nic.ad.jp" in body, body
