"""metrics.listen: ipwarnd's GET /metrics, checked by Prometheus' own
promtool, with counters that move as letters go out; label values
escaped; a port in use refused at start as a configuration error."""

import json
import os
import re
import socket
import subprocess
import urllib.error
import urllib.request

from harness import Env, Whois, free_port, port_open, stop_daemon, wait_for

WHOIS_IPS = ["192.0.2.10", "192.0.2.70", "198.51.100.10"]


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        return r.read().decode()


def promtool(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, "promtool: %s%s\n%s" % (p.stdout, p.stderr,
                                                       text)


def value(text, series):
    """The sample of series (name{labels} exactly as written)."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError("no %s in:\n%s" % (series, text))


def sent_letters(env):
    return len(json.loads(env.ipwarn("letters", "--state", "sent",
                                     "--format", "json", check=0).stdout))


def test_metrics_endpoint_counts_letters_as_they_go(pg):
    port = free_port()
    extra = 'metrics: { listen = "127.0.0.1:%d"; };' % port
    with Env(pg, extra=extra) as env:
        env.init_db()
        name = 'we"ird\\camp'
        env.campaign("create", name)
        d = env.start_daemon()
        try:
            wait_for(lambda: port_open(port), what="metrics port")
            text = scrape(port)
            promtool(text)
            assert value(text, 'ipwarn_smtp_attempts_total{result="sent"}') \
                == 0
            assert value(text, "ipwarn_relay_breaker_open") == 0
            # The label value is escaped, not cut or broken.
            assert value(text, 'ipwarn_letters{campaign="we\\"ird\\\\camp",'
                         'state="sent"}') == 0
            env.enqueue("".join(ip + ",open resolver\n"
                                for ip in WHOIS_IPS), "--campaign", name)
            wait_for(lambda: sent_letters(env) == 3, timeout=30,
                     what="three letters sent")
            # Counters are live; the database's gauges may be 5 s old.
            wait_for(lambda: value(scrape(port), 'ipwarn_letters{campaign='
                                   '"we\\"ird\\\\camp",state="sent"}') == 3,
                     timeout=15, what="letters gauge")
            text = scrape(port)
            promtool(text)
            assert value(text, 'ipwarn_smtp_attempts_total{result="sent"}') \
                == 3
            assert value(text, 'ipwarn_targets{campaign="we\\"ird\\\\camp",'
                         'state="notified"}') == 3
            assert value(text, 'ipwarn_whois_queries_total'
                         '{server="whois.iana.org"}') >= 3
            assert value(text, 'ipwarn_whois_queries_total'
                         '{server="whois.ripe.net"}') >= 1
            assert re.search(r'^ipwarn_whois_throttled_total\{server='
                             r'"whois.iana.org"\} 0$', text, re.M)
            assert value(text, 'ipwarn_bounces_total{class="hard"}') == 0
            # More letters: the counter moves with them.
            env.enqueue("198.51.100.200,open resolver\n", "--campaign", name)
            wait_for(lambda: value(scrape(port), 'ipwarn_smtp_attempts_total'
                                   '{result="sent"}') == 4, timeout=30,
                     what="fourth attempt counted")
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/other" % port,
                                       timeout=10)
                raise AssertionError("/other answered")
            except urllib.error.HTTPError as e:
                assert e.code == 404
        finally:
            stop_daemon(d)
        assert not port_open(port)


def test_throttled_whois_server_is_counted_and_shown(pg):
    """RIPE answers the first query with a rate-limit error: the daemon
    counts it as a query and a throttle of whois.ripe.net, and campaign
    show names the server while every daemon leaves it alone."""
    port = free_port()
    with Env(pg, whois=False) as env:
        env.whois = Whois(env.tmp, extra=["--throttle", "whois.ripe.net=1"])
        env.servers.append(env.whois)
        env.write_conf({"workers": 1}, 'metrics: { listen = "127.0.0.1:%d";'
                       ' };' % port)
        env.init_db()
        env.campaign("create", "thr")
        env.enqueue("192.0.2.70\n", "--campaign", "thr")
        d = env.start_daemon()
        try:
            wait_for(lambda: port_open(port), what="metrics port")
            throttled = 'ipwarn_whois_throttled_total{server="whois.ripe.net"}'
            wait_for(lambda: throttled in scrape(port), timeout=20,
                     what="a WHOIS query to RIPE")
            text = scrape(port)
            promtool(text)
            assert value(text, throttled) == 1
            assert value(text, 'ipwarn_whois_queries_total'
                         '{server="whois.ripe.net"}') == 1
            p = env.ipwarn("campaign", "show", "thr", check=0)
            assert "throttled WHOIS servers: whois.ripe.net" in p.stdout, \
                p.stdout
        finally:
            stop_daemon(d)


def test_metrics_port_in_use_is_a_configuration_error(pg):
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        extra = 'metrics: {\n  listen = "127.0.0.1:%d";\n};' % port
        with Env(pg, extra=extra) as env:
            env.init_db()
            with open(env.conf) as f:
                line = 1 + f.read().split("listen =")[0].count("\n")
            p = env.ipwarnd("--once", check=78)
            err = p.stderr.strip().splitlines()
            assert len(err) == 1, p.stderr
            assert "ipwarn.conf:%d: metrics.listen: cannot listen on " \
                "127.0.0.1:%d: Address already in use" % (line, port) \
                in err[0], err
            # A malformed address is refused when the file is read.
            env.write_conf({}, 'metrics: { listen = "127.0.0.1"; };')
            p = env.ipwarnd("--once", check=78)
            assert "metrics.listen" in p.stderr and "port" in p.stderr
    finally:
        taken.close()


def test_progress_lines_while_sending_and_in_campaign_show(pg):
    """A run that lasts (delivery.rate = 4 letters/s, 60 letters) logs a
    progress line per campaign at most every 10 s, not a line per letter;
    campaign show prints the same figures."""
    with Env(pg, whois=False, delivery={"rate": 4}) as env:
        env.init_db()
        ips = env.contact_overrides(60)
        env.campaign("create", "slow")
        env.enqueue("".join("%s,open relay\n" % ip for ip in ips),
                    "--campaign", "slow")
        d = env.start_daemon()
        pat = re.compile(r"progress: campaign slow: resolved 60/60, letters "
                         r"sent (\d+)/60 \(0 failed, 0 deferred to later\), "
                         r"ETA (\S+); WHOIS queries 0 by this daemon, "
                         r"throttled servers: none")
        try:
            line = wait_for(lambda: pat.search(log_text(env)), timeout=25,
                            what="a progress line")
            assert 0 < int(line.group(1)) < 60, line.group(0)
            assert re.match(r"\d+m?\d*s$", line.group(2)), line.group(0)
            p = env.ipwarn("campaign", "show", "slow", check=0)
            m = re.search(r"progress   resolved 60/60, letters sent "
                          r"(\d+)/60 \(0 failed, 0 deferred to later\), "
                          r"ETA ", p.stdout)
            assert m and 0 < int(m.group(1)) <= 60, p.stdout
            assert "throttled WHOIS servers: none" in p.stdout
            js = json.loads(env.ipwarn("campaign", "show", "slow", "--json",
                                       check=0).stdout)
            assert js["progress"]["targets"] == 60
            assert js["progress"]["resolved"] == 60
            assert js["progress"]["letters"] == 60
            assert js["progress"]["throttled_servers"] == []
            wait_for(lambda: sent_letters(env) == 60, timeout=40,
                     what="all sent")
        finally:
            stop_daemon(d)
        log = log_text(env)
        # One line per 10 s, not one per letter or IP.
        assert len(pat.findall(log)) <= 4, log
        assert "198.18.0.7" not in log and "c7@op.example" not in log, log
        js = json.loads(env.ipwarn("campaign", "show", "slow", "--json",
                                   check=0).stdout)
        assert js["progress"]["letters_sent"] == 60
        assert js["progress"]["eta_s"] == 0


def log_text(env):
    out = ""
    for name in sorted(os.listdir(env.tmp)):
        if name.startswith("ipwarnd-") and name.endswith(".log"):
            with open(os.path.join(env.tmp, name), errors="replace") as f:
                out += f.read()
    return out
