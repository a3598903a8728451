#!/usr/bin/env python3
"""Loopback WHOIS world for ipwarn tests (RFC 3912, Python 3 stdlib only).

    whoisd.py --world tests/fixtures/whois/world.json --hosts-out FILE
              [--log FILE] [--latency-ms N]

Every server named in the world gets its own listening socket on 127.0.0.1
(ephemeral port).  Once all of them listen, FILE is written atomically as
JSON {"whois.iana.org": "127.0.0.1:PORT", ...}; a harness waits for it and
turns it into the `whois.hosts` configuration.  Each connection reads one
query line and answers the way that registry does for the query syntax
lib/whois.c sends:

    iana    "IP"
    arin    "n + IP" (also "n IP", "IP"); "n + > CIDR" / "n > CIDR";
            "n + ! HANDLE": the world's object of that NetHandle
    rpsl    "-r IP", "IP", "-r -T irt HANDLE" and other RIPE flags;
            "-r -M RANGE" / "-m" (RANGE "a - b" or a prefix);
            "-r -l RANGE": the smallest network strictly enclosing RANGE
    lacnic  "IP"
    jpnic   "IP/e" (English output), "PREFIX/e": that network's own answer
            (JPNIC's lists the networks inside it)
    plain   "IP" (KRNIC, TWNIC, CNNIC, NIC Mexico)

Answer files are sent as their bytes, so each registry's encoding
(ISO-2022-JP, EUC-KR, Big5, GB2312, Latin-1) reaches the client as is.

The answer is the text file of the most specific network of that server
containing IP; an object query returns the named object's file; anything
else gets the registry's own "no entries found" text ("{query}"/"{key}" in
it are replaced).

More-specific queries answer the way the registries do: RIPE's -M lists
every inetnum strictly inside RANGE (all levels; -m: one level), each with
its "% Abuse contact for" comment, as in the network's own answer file;
ARIN's ">" lists every network inside CIDR including CIDR itself, with
full records and POCs when "+" is given, else one summary line each
("Org NETNAME (NET-HANDLE) first - last").

--log appends "server<TAB>query" per query, --log-times
"server<TAB>unix time", --log-spans "server<TAB>accepted<TAB>answered" per
connection (unix times; the test reads from them how many connections a
server had open at once).  --throttle SERVER=N answers
the first N queries to SERVER with that registry's rate-limit text (RIPE
"%ERROR:201: access denied", ARIN/LACNIC "Query rate limit exceeded").
SIGTERM and SIGINT stop it.
"""

import argparse
import ipaddress
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time

RPSL_FLAGS_WITH_ARG = {"-T", "-i", "-s", "-t", "-v", "-q", "-V", "--types",
                       "--inverse", "--sources", "--template", "--verbose",
                       "--client"}


THROTTLE_TEXT = {
    "rpsl": "%ERROR:201: access denied for 127.0.0.1\n%\n% Sorry, access "
            "from your host has been permanently\n% denied because of a "
            "repeated excessive querying.\n",
    "arin": "\n#\n# ARIN WHOIS data and services are subject to the Terms "
            "of Use\n#\n\n\nQuery rate limit exceeded. Please try again "
            "later.\n",
    "lacnic": "\n% Joint Whois - whois.lacnic.net\n\n% Query rate limit "
              "exceeded\n",
    "iana": "% Query rate limit exceeded\n",
}


def body_of(text):
    """A RIPE answer without its header and footer comments."""
    lines = text.splitlines(True)
    start = 0
    for i, l in enumerate(lines):
        if l.startswith("% Information related to"):
            start = i
            break
    out = []
    for l in lines[start:]:
        if l.startswith("% This query was served"):
            break
        out.append(l)
    return "".join(out)


def arin_records(text):
    """Every NetRange record of an ARIN answer, with the POCs after it."""
    recs, cur = [], None
    for l in text.splitlines(True):
        if l.startswith("NetRange:"):
            if cur:
                recs.append("".join(cur))
            cur = [l]
        elif cur is not None:
            if l.startswith("# end") or l.startswith("# ARIN WHOIS"):
                recs.append("".join(cur))
                cur = None
            else:
                cur.append(l)
    if cur:
        recs.append("".join(cur))
    return recs


def arin_field(rec, key):
    for l in rec.splitlines():
        if l.startswith(key + ":"):
            return l.split(":", 1)[1].strip()
    return ""


class Server:
    def __init__(self, name, spec, base):
        self.name = name
        self.style = spec.get("style", "rpsl")
        self.networks = []
        for n in spec.get("networks", []):
            net = ipaddress.ip_network(n["net"], strict=False)
            self.networks.append((net, read(base, n["answer"])))
        self.objects = {k.upper(): read(base, v)
                        for k, v in spec.get("objects", {}).items()}
        self.notfound = read(base, spec["notfound"]) if "notfound" in spec \
            else "%ERROR:101: no entries found\n"

    def key_of(self, query):
        """The search key and whether it names an object (not an IP)."""
        toks = query.split()
        if self.style == "arin":
            toks = [t for t in toks if t not in ("n", "+", "-", "=", "!")]
            return (toks[-1] if toks else ""), False
        if self.style == "rpsl":
            rest, obj, i = [], False, 0
            while i < len(toks):
                t = toks[i]
                if t in RPSL_FLAGS_WITH_ARG:
                    if t in ("-T", "--types") and i + 1 < len(toks):
                        obj = toks[i + 1].lower() != "inetnum" and \
                            toks[i + 1].lower() != "inet6num"
                    i += 2
                    continue
                if t.startswith("-"):
                    i += 1
                    continue
                rest.append(t)
                i += 1
            return (rest[-1] if rest else ""), obj
        return (toks[-1] if toks else ""), False

    def more_query(self, query):
        """(network, one_level, plus) for a more-specific query, or None."""
        toks = query.split()
        if self.style == "arin" and ">" in toks:
            rest = [t for t in toks if t not in ("n", "+", "-", "=", "!",
                                                  ">")]
            try:
                return (ipaddress.ip_network(rest[-1], strict=False), False,
                        "+" in toks)
            except (ValueError, IndexError):
                return None
        if self.style == "rpsl" and ("-M" in toks or "-m" in toks or
                                     "--all-more" in toks or
                                     "--one-more" in toks):
            one = "-m" in toks or "--one-more" in toks
            try:
                a, b, _ = span_of(toks)
                nets = list(ipaddress.summarize_address_range(a, b))
                if len(nets) != 1:
                    return ("range", a, b), one, False
                return nets[0], one, False
            except (ValueError, IndexError):
                return None
        return None

    def inside(self, top, strict):
        out = []
        for net, text in self.networks:
            if isinstance(top, tuple):
                ok = net.version == top[1].version and \
                    top[1] <= net[0] and net[-1] <= top[2] and \
                    not (net[0] == top[1] and net[-1] == top[2])
            else:
                ok = net.version == top.version and net.subnet_of(top) and \
                    (not strict or net != top)
            if ok:
                out.append((net, text))
        return sorted(out, key=lambda x: (x[0].network_address,
                                          -x[0].prefixlen))

    def answer_more(self, query, top, one, plus):
        nets = self.inside(top, strict=self.style == "rpsl")
        if one:
            nets = [(n, t) for n, t in nets
                    if not any(n != m and n.subnet_of(m) for m, _ in nets)]
        if not nets:
            return self.not_found(query, query)
        if self.style == "rpsl":
            return "% This is the RIPE Database query service.\n\n" + \
                "".join(body_of(t) for _, t in nets)
        seen, out = set(), []
        for net, text in nets:
            for rec in arin_records(text):
                rng = arin_field(rec, "NetRange")
                if rng in seen:
                    continue
                try:
                    a, b = [ipaddress.ip_address(x.strip())
                            for x in rng.split("-")]
                except ValueError:
                    continue
                if isinstance(top, tuple) or not (
                        a in top and b in top):
                    continue
                seen.add(rng)
                if plus:
                    out.append("# start\n\n" + rec + "# end\n\n")
                else:
                    org = arin_field(rec, "Organization") or \
                        arin_field(rec, "Customer")
                    org = org.split(" (")[0]
                    out.append("%s %s (%s) %s\n" % (
                        org, arin_field(rec, "NetName"),
                        arin_field(rec, "NetHandle"), rng))
        return "\n#\n# ARIN WHOIS data\n#\n\n\n" + "".join(out) + "\n"

    # --no-listing: a server that does not understand more-specific
    # queries and says "no entries found" to them, as a naive mirror might.
    no_listing = False

    def less_query(self, query):
        """RIPE's -l (one level less specific, exact match excluded): the
        answer of the smallest network strictly enclosing the range or
        prefix asked about; None when the query is not one."""
        toks = query.split()
        if self.style != "rpsl" or not ("-l" in toks or
                                        "--one-less" in toks):
            return None
        try:
            a, b, _ = span_of(toks)
        except (ValueError, IndexError):
            return self.not_found(query, query)
        best = None
        for net, text in self.networks:
            if net.version == a.version and net[0] <= a and b <= net[-1] \
                    and not (net[0] == a and net[-1] == b) and \
                    (best is None or net.prefixlen > best[0].prefixlen):
                best = (net, text)
        return best[1] if best else self.not_found(query, query)

    def answer_jpnic(self, query):
        key = query.strip()
        if key.lower().endswith("/e"):
            key = key[:-2]
        if "/" in key:
            try:
                net = ipaddress.ip_network(key, strict=False)
            except ValueError:
                return self.not_found(query, key)
            for n, text in self.networks:
                if n == net:
                    return text
            return self.not_found(query, key)
        return self.answer_ip(query, key)

    def answer_ip(self, query, key):
        try:
            ip = ipaddress.ip_address(key)
        except ValueError:
            return self.not_found(query, key)
        best = None
        for net, text in self.networks:
            if net.version == ip.version and ip in net and \
                    (best is None or net.prefixlen > best[0].prefixlen):
                best = (net, text)
        return best[1] if best is not None else self.not_found(query, key)

    def answer(self, query):
        if self.style == "jpnic":
            return self.answer_jpnic(query)
        less = self.less_query(query)
        if less is not None:
            return less
        more = self.more_query(query)
        if more is not None and Server.no_listing:
            return self.notfound.replace("{query}", query).replace(
                "{key}", query)
        if more is not None:
            return self.answer_more(query, *more)
        key, obj = self.key_of(query)
        if not obj:
            try:
                ip = ipaddress.ip_address(key)
            except ValueError:
                ip = None
            if ip is not None:
                best = None
                for net, text in self.networks:
                    if net.version == ip.version and ip in net and \
                            (best is None or net.prefixlen > best[0].prefixlen):
                        best = (net, text)
                if best is not None:
                    return best[1]
                return self.not_found(query, key)
        text = self.objects.get(key.upper())
        return text if text is not None else self.not_found(query, key)

    def not_found(self, query, key):
        return self.notfound.replace("{query}", query).replace("{key}", key)


def span_of(toks):
    """The addresses an RPSL range query names ("a - b" or a prefix):
    (first, last, whether it was a range).  ValueError/IndexError when it
    names none."""
    rest = [t for t in toks if not t.startswith("-") or t == "-"]
    if "-" in rest:
        i = rest.index("-")
        return (ipaddress.ip_address(rest[i - 1]),
                ipaddress.ip_address(rest[i + 1]), True)
    n = ipaddress.ip_network(rest[-1], strict=False)
    return n[0], n[-1], False


def read(base, rel):
    with open(os.path.join(base, rel), "rb") as f:
        return f.read().decode("latin-1")


class World:
    def __init__(self, args):
        with open(args.world) as f:
            spec = json.load(f)
        base = os.path.dirname(os.path.abspath(args.world))
        self.servers = {n.lower(): Server(n.lower(), s, base)
                        for n, s in spec["servers"].items()}
        self.latency = args.latency_ms / 1000.0
        self.log_path = args.log
        self.times_path = args.log_times
        self.spans_path = args.log_spans
        self.log_lock = threading.Lock()
        self.stop = threading.Event()
        self.throttle = {}
        for t in args.throttle or []:
            name, _, n = t.partition("=")
            self.throttle[name.lower()] = int(n or "1000000000")

    def throttled(self, server):
        with self.log_lock:
            left = self.throttle.get(server.name, 0)
            if left > 0:
                self.throttle[server.name] = left - 1
                return True
        return False

    def log(self, server, query):
        if self.times_path:
            with self.log_lock, open(self.times_path, "a") as f:
                f.write("%s\t%.6f\n" % (server, time.time()))
        if not self.log_path:
            return
        line = "%s\t%s\n" % (server, query.replace("\t", " "))
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(line)

    def handle(self, conn, server):
        start = time.time()
        try:
            conn.settimeout(10)
            data = b""
            while b"\n" not in data and len(data) < 4096:
                chunk = conn.recv(1024)
                if not chunk:
                    break
                data += chunk
            query = data.split(b"\n", 1)[0].rstrip(b"\r").decode(
                "latin-1").strip()
            self.log(server.name, query)
            if self.latency:
                time.sleep(self.latency)
            if self.throttled(server):
                text = THROTTLE_TEXT.get(server.style, "rate limit\n")
            else:
                text = server.answer(query)
            conn.sendall(text.encode("latin-1"))
        except OSError:
            pass
        finally:
            # The span ends before the client can see the end of the
            # answer (and free its query slot), so spans of connections
            # that were never open together cannot overlap, however late
            # this thread gets to write them down.
            end = time.time()
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
            if self.spans_path:
                with self.log_lock, open(self.spans_path, "a") as f:
                    f.write("%s\t%.6f\t%.6f\n" % (server.name, start, end))

    def serve(self, sock, server):
        while not self.stop.is_set():
            try:
                conn, _ = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn, server),
                             daemon=True).start()


def write_atomic(path, text):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".whoisd-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description="loopback WHOIS world")
    ap.add_argument("--world", required=True)
    ap.add_argument("--hosts-out", required=True)
    ap.add_argument("--log")
    ap.add_argument("--log-times",
                    help="append server<TAB>unix time per query")
    ap.add_argument("--log-spans",
                    help="append server<TAB>accepted<TAB>answered per "
                    "connection")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--no-listing", action="store_true",
                    help="answer more-specific listings with 'no entries'")
    ap.add_argument("--throttle", action="append",
                    help="SERVER=N: refuse the first N queries to SERVER")
    args = ap.parse_args()
    Server.no_listing = args.no_listing
    world = World(args)

    socks, hosts = [], {}
    for name, server in world.servers.items():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(256)
        s.settimeout(0.2)
        socks.append((s, server))
        hosts[name] = "127.0.0.1:%d" % s.getsockname()[1]

    def stop(signum, frame):
        world.stop.set()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    threads = [threading.Thread(target=world.serve, args=(s, srv),
                                daemon=True) for s, srv in socks]
    for t in threads:
        t.start()
    write_atomic(args.hosts_out, json.dumps(hosts, indent=1) + "\n")
    while not world.stop.is_set():
        world.stop.wait(0.5)
    for s, _ in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
