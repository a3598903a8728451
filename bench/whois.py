#!/usr/bin/env python3
"""make bench-whois: contact resolution with the contact cache against one
query chain per IP.

Starts a private PostgreSQL, smtp-sink and tests/servers/whoisd.py with
--latency-ms 20 serving a generated world: 198.18.0.0/15 split into
IW_BENCH_ALLOCS (400) /24 allocations taking turns between RIPE, ARIN,
RIPE and APNIC, each with 4 /27 assignments of other organisations
(2,000 registrations, realistic nesting: the allocation keeps half its
space).  APNIC's quarter is national-registry space: APNIC's answer is
JPNIC's allocation naming only JPNIC's hostmaster, so the chain goes on
to whois.nic.ad.jp (IANA > APNIC > JPNIC, English "/e" answers in
ISO-2022-JP), where the allocation and the assignments are, each with its
[Abuse] address; JPNIC's answer for a network lists what is inside it.  Enqueues
IW_BENCH_IPS (100,000) IPs spread over them, runs `ipwarnd --once
--dry-run`, and prints IPs/s, queries issued and queries per registration
touched.  The baseline (whois.cache = false: one query chain per IP) runs
on a subsample of IW_BENCH_BASE_IPS (2,000) IPs; its query count is
extrapolated to the full run, which would take hours at the configured
rates.  Per-server limits: concurrency 8, 150 queries/s (IW_BENCH_RATE).

To show what bounds the cached run it prints, per run, the queries each
server got and the time those queries alone need at the configured rate
(the busiest server's count / rate), next to the elapsed time.  A second
cached run with a low per-server rate (IW_BENCH_SLOW_RATE, 10 queries/s;
0 skips it) on a fresh database should take about that long: the rate,
not the daemon, bounds it.
"""

import ipaddress
import json
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..",
                                "tests", "integration"))
import harness  # noqa: E402

ALLOCS = int(os.environ.get("IW_BENCH_ALLOCS", "400"))
NIPS = int(os.environ.get("IW_BENCH_IPS", "100000"))
BASE_IPS = int(os.environ.get("IW_BENCH_BASE_IPS", "2000"))
RATE = float(os.environ.get("IW_BENCH_RATE", "150"))
SLOW_RATE = float(os.environ.get("IW_BENCH_SLOW_RATE", "10"))

RIPE_HEAD = "% This is the RIPE Database query service.\n\n"
APNIC_HEAD = "% [whois.apnic.net]\n\n"
ARIN_HEAD = "\n#\n# ARIN WHOIS data and services\n#\n\n\n"


def ripe_obj(net, name, status, email):
    a, b = net[0], net[-1]
    return ("%% Information related to '%s - %s'\n\n"
            "%% Abuse contact for '%s - %s' is '%s'\n\n"
            "inetnum:        %s - %s\nnetname:        %s\ncountry:        "
            "NL\nstatus:         %s\nmnt-by:         %s-MNT\nsource:       "
            "  RIPE\n\n" % (a, b, a, b, email, a, b, name, status, name))


def arin_rec(net, name, ntype, org, email):
    return ("# start\n\nNetRange:       %s - %s\nCIDR:           %s\n"
            "NetName:        %s\nNetHandle:      NET-%s-1\nNetType:    "
            "    %s\nOrganization:   %s (%s)\n\n\nOrgName:        %s\n"
            "OrgId:          %s\n\n\nOrgAbuseHandle: %s-ARIN\n"
            "OrgAbuseEmail:  %s\n\n# end\n\n" % (
                net[0], net[-1], net, name,
                str(net[0]).replace(".", "-"), ntype, org, org, org, org,
                org, email))


def apnic_jpnic(net):
    a, b = net[0], net[-1]
    return (APNIC_HEAD + "%% Information related to '%s - %s'\n\n"
            "%% Abuse contact for '%s - %s' is 'hostmaster@nic.ad.jp'\n\n"
            "inetnum:        %s - %s\nnetname:        JPNIC-NET-JP\n"
            "descr:          Japan Network Information Center\ncountry:  "
            "      JP\nstatus:         ALLOCATED PORTABLE\nmnt-by:       "
            "  MAINT-JPNIC\nmnt-irt:        IRT-JPNIC-JP\nsource:         "
            "APNIC\n\n" % (a, b, a, b, a, b))


def jpnic(net, name, email, less, more):
    """JPNIC's English answer, ISO-2022-JP on the wire."""
    out = ("[ JPNIC database provides information regarding IP address "
           "and ASN. ]\n\nNetwork Information:\na. [Network Number]     "
           "        %s\nb. [Network Name]               %s\nf. [組織名]  "
           "                   株式会社%s\ny. [Abuse]                    "
           "  %s\n\nLess Specific Info.\n----------\n" % (
               net, name, name, email))
    out += "".join("%s  SUBALLOCATION  %s\n" % (n, l) for n, l in less) \
        or "No match!!\n"
    out += "\nMore Specific Info.\n----------\n"
    out += "".join("%s  ASSIGNMENT  %s\n" % (n, m) for n, m in more) \
        or "No match!!\n"
    return out.encode("iso2022_jp").decode("latin-1")


def make_world(d):
    os.makedirs(d, exist_ok=True)
    servers = {
        "whois.iana.org": {"style": "iana", "networks": []},
        "whois.ripe.net": {"style": "rpsl", "networks": []},
        "whois.arin.net": {"style": "arin", "networks": []},
        "whois.apnic.net": {"style": "rpsl", "networks": []},
        "whois.nic.ad.jp": {"style": "jpnic", "networks": []},
    }
    regs = []   # (net, email)
    base = ipaddress.ip_network("198.18.0.0/15")
    allocs = list(base.subnets(new_prefix=24))[:ALLOCS]

    def put(server, net, text):
        fn = "%s-%s.txt" % (server.split(".")[1], str(net).replace("/", "_"))
        with open(os.path.join(d, fn), "w", encoding="latin-1") as f:
            f.write(text)
        servers[server]["networks"].append({"net": str(net), "answer": fn})

    for i, a in enumerate(allocs):
        kind = ("ripe", "arin", "ripe", "jpnic")[i % 4]
        server = {"ripe": "whois.ripe.net", "arin": "whois.arin.net",
                  "jpnic": "whois.apnic.net"}[kind]
        ref = "refer:        %s\n\ninetnum:      %s - %s\nwhois:        %s\n" \
            % (server, a[0], a[-1], server)
        put("whois.iana.org", a, "%% IANA WHOIS server\n\n%s" % ref)
        lir = "abuse@lir%d.example" % i
        regs.append((a, lir))
        subs = list(a.subnets(new_prefix=27))
        chosen = [subs[1], subs[3], subs[4], subs[6]]
        if kind == "ripe":
            put(server, a, RIPE_HEAD + ripe_obj(a, "LIR%d" % i,
                                                "ALLOCATED PA", lir))
        elif kind == "arin":
            rec = arin_rec(a, "LIR%d" % i, "Direct Allocation",
                           "LIR%d" % i, lir)
            put(server, a, ARIN_HEAD + rec)
        else:
            put(server, a, apnic_jpnic(a))
            put("whois.nic.ad.jp", a, jpnic(
                a, "LIR%d" % i, lir, [],
                [("CUST%d-%d" % (i, j), s) for j, s in enumerate(chosen)]))
        for j, s in enumerate(chosen):
            em = "abuse@cust%d-%d.example" % (i, j)
            regs.append((s, em))
            if kind == "ripe":
                put(server, s, RIPE_HEAD + ripe_obj(
                    s, "CUST%d-%d" % (i, j), "ASSIGNED PA", em))
            elif kind == "arin":
                put(server, s, ARIN_HEAD + rec + arin_rec(
                    s, "CUST%d-%d" % (i, j), "Reallocated",
                    "CUST%d-%d" % (i, j), em))
            else:
                put("whois.nic.ad.jp", s, jpnic(
                    s, "CUST%d-%d" % (i, j), em, [("LIR%d" % i, a)], []))
    for s in servers.values():
        s["notfound"] = "notfound.txt"
    with open(os.path.join(d, "notfound.txt"), "w") as f:
        f.write("%ERROR:101: no entries found\n")
    path = os.path.join(d, "world.json")
    with open(path, "w") as f:
        json.dump({"servers": servers}, f)
    return path, regs


def most_specific(regs, ip, index={}):
    """(network, contact) of the most specific registration holding ip."""
    if not index:
        index.update({n: (n, e) for n, e in regs})
    for plen in range(ip.max_prefixlen, -1, -1):
        hit = index.get(ipaddress.ip_network((ip, plen), strict=False))
        if hit is not None:
            return hit
    return None


class BenchWhois(harness.Whois):
    def __init__(self, tmp, world):
        hosts = os.path.join(tmp, "whois-hosts.json")
        self.log = os.path.join(tmp, "whois-queries.log")
        cmd = [harness.PY, os.path.join(harness.SRC,
               "tests/servers/whoisd.py"), "--world", world, "--hosts-out",
               hosts, "--log", self.log, "--latency-ms", "20"]
        self.proc = harness.Proc(cmd, os.path.join(tmp, "whoisd.out"))
        harness.wait_for(lambda: os.path.exists(hosts), what="whoisd")
        with open(hosts) as f:
            self.hosts = json.load(f)


def run(pg, world, ips, cache, rate=RATE):
    with harness.Env(pg, whois=False) as env:
        env.whois = BenchWhois(env.tmp, world)
        env.servers.append(env.whois)
        env.write_conf({"workers": 8})
        with open(env.conf) as f:
            text = f.read()
        hosts = ",\n".join(
            '    { name = "%s"; address = "%s"; concurrency = 8; '
            'rate = %g; }' % (n, a, rate)
            for n, a in sorted(env.whois.hosts.items()))
        start = text.index("  hosts = (")
        end = text.index("  );", start)
        text = text[:start] + "  hosts = (\n" + hosts + "\n" + text[end:]
        text = text.replace('timeout = "5s";', 'timeout = "5s"; cache = %s;'
                            % ("true" if cache else "false"), 1)
        with open(env.conf, "w") as f:
            f.write(text)
        env.init_db()
        env.enqueue("\n".join(str(i) for i in ips) + "\n")
        t0 = time.time()
        p = env.run("ipwarnd", "--once", "--dry-run", timeout=7200)
        dt = time.time() - t0
        if p.returncode != 0:
            print(p.stderr[-2000:])
        rows = env.sql("SELECT host(ip), coalesce(contact_email, '') "
                       "FROM target")
        per = {}
        for server, _ in env.whois.queries():
            per[server] = per.get(server, 0) + 1
        return dt, per, dict(rows)


def rate_bound(per, rate):
    """Seconds the queries alone need at rate per server (the busiest)."""
    return max(per.values()) / rate if per and rate > 0 else 0.0


def show_bound(label, n, dt, per, rate):
    need = rate_bound(per, rate)
    print("%s: %d IPs in %.1f s = %.0f IPs/s; per-server rate %g/s; "
          "queries %s; the queries alone need %.1f s at that rate "
          "(elapsed / that = %.2f)" % (
              label, n, dt, n / dt, rate,
              ", ".join("%s %d" % (k.replace("whois.", ""), v)
                        for k, v in sorted(per.items())),
              need, dt / need if need else 0))


def main():
    random.seed(7)
    pg = harness.Postgres()
    tmp = tempfile.mkdtemp(prefix="iw-bench-whois-")
    try:
        world, regs = make_world(os.path.join(tmp, "world"))
        space = [ipaddress.ip_address(int(regs[0][0][0]) + k)
                 for k in range(ALLOCS * 256)]
        ips = random.sample(space, min(NIPS, len(space)))
        touched = {most_specific(regs, ip)[0] for ip in ips}
        dt, per, got = run(pg, world, ips, cache=True)
        nq = sum(per.values())
        wrong = sum(1 for ip in ips if got.get(str(ip)) !=
                    most_specific(regs, ip)[1])
        sub = random.sample(ips, min(BASE_IPS, len(ips)))
        bdt, bper, bgot = run(pg, world, sub, cache=False)
        bnq = sum(bper.values())
        bwrong = sum(1 for ip in sub if bgot.get(str(ip)) !=
                     most_specific(regs, ip)[1])
        scale = len(ips) / len(sub)
        print()
        print("%-34s %14s %18s" % ("", "cached", "per-IP baseline"))
        print("%-34s %14d %18d" % ("IPs resolved", len(ips), len(sub)))
        print("%-34s %14.1f %18.1f" % ("seconds", dt, bdt))
        print("%-34s %14.0f %18.0f" % ("IPs/s", len(ips) / dt,
                                       len(sub) / bdt))
        print("%-34s %14d %18d" % ("queries issued", nq, bnq))
        print("%-34s %14s %18d" % ("queries for all IPs (extrapolated)",
                                   "-", int(bnq * scale)))
        print("%-34s %14d %18s" % ("registrations touched", len(touched),
                                   "-"))
        print("%-34s %14.2f %18.2f" % ("queries per registration", nq /
                                       len(touched), bnq * scale /
                                       len(touched)))
        print("%-34s %14d %18d" % ("wrong contacts", wrong, bwrong))
        print("%-34s %14.0fx" % ("fewer queries than per-IP",
                                 bnq * scale / max(nq, 1)))
        print("per-server limit: concurrency 8, %g queries/s; whoisd "
              "latency 20 ms; baseline measured on %d IPs" % (RATE,
                                                             len(sub)))
        print()
        show_bound("cached", len(ips), dt, per, RATE)
        show_bound("baseline", len(sub), bdt, bper, RATE)
        if SLOW_RATE > 0:
            sdt, sper, sgot = run(pg, world, ips, cache=True,
                                  rate=SLOW_RATE)
            swrong = sum(1 for ip in ips if sgot.get(str(ip)) !=
                         most_specific(regs, ip)[1])
            show_bound("cached, slow rate", len(ips), sdt, sper,
                       SLOW_RATE)
            print("cached, slow rate: %d wrong contacts" % swrong)
    finally:
        pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
