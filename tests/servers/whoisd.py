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
    arin    "n + IP" (also "n IP", "IP")
    rpsl    "-r IP", "IP", "-r -T irt HANDLE" and other RIPE flags
    lacnic  "IP"

The answer is the text file of the most specific network of that server
containing IP; an object query returns the named object's file; anything
else gets the registry's own "no entries found" text ("{query}"/"{key}" in
it are replaced).  --log appends "server<TAB>query" per query.  SIGTERM and
SIGINT stop it.
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

    def answer(self, query):
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
        self.log_lock = threading.Lock()
        self.stop = threading.Event()

    def log(self, server, query):
        if not self.log_path:
            return
        line = "%s\t%s\n" % (server, query.replace("\t", " "))
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(line)

    def handle(self, conn, server):
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
            conn.sendall(server.answer(query).encode("latin-1"))
        except OSError:
            pass
        finally:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

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
    ap.add_argument("--latency-ms", type=int, default=0)
    args = ap.parse_args()
    world = World(args)

    socks, hosts = [], {}
    for name, server in world.servers.items():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
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
