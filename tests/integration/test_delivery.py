"""Delivery against the fault-injecting SMTP server: every letter ends in
the right state with every attempt and reply recorded.  Contacts come from
operator overrides so these tests need no WHOIS."""

import email
import json
import os
import time

from harness import Env, wait_for


def setup(env, contacts):
    """contacts: list of (ip, email); one override /32 each."""
    env.init_db()
    for ip, email in contacts:
        env.ipwarn("contact", "set", ip + "/32", email, check=0)
    env.enqueue("".join("%s,open relay\n" % ip for ip, _ in contacts))


def letters(env):
    rows = env.sql("SELECT contact_email, state, attempts, "
                   "coalesce(last_code, 0), coalesce(fail_reason, ''), "
                   "extract(epoch FROM next_attempt_at - now())::int "
                   "FROM letter ORDER BY contact_email")
    return {r[0]: {"state": r[1], "attempts": int(r[2]),
                   "code": int(r[3]), "fail": r[4], "due_in": int(r[5])}
            for r in rows}


def attempts(env, email):
    return env.sql("SELECT a.outcome, coalesce(a.code, 0), "
                   "coalesce(a.enhanced, ''), coalesce(a.stage, ''), "
                   "coalesce(a.reply, '') FROM attempt a JOIN letter l ON "
                   "l.id = a.letter_id WHERE l.contact_email = '%s' "
                   "ORDER BY a.id" % email)


def spooled(env):
    out = []
    spool = env.smtp.spool
    if not os.path.isdir(spool):
        return out
    for name in sorted(os.listdir(spool)):
        if name.endswith(".json"):
            with open(os.path.join(spool, name)) as f:
                env_ = json.load(f)
            with open(os.path.join(spool, name[:-5] + ".eml"), "rb") as f:
                raw = f.read()
            msg = email.message_from_bytes(raw)
            env_["message_id"] = msg["Message-ID"]
            env_["raw"] = raw
            out.append(env_)
    return out


CONTACTS = [("192.0.2.1", "ok@dest.example"),
            ("192.0.2.2", "later@dest.example"),
            ("192.0.2.3", "unknown@dest.example"),
            ("192.0.2.4", "content@dest.example")]


def test_rcpt_and_data_replies_decide_each_letters_state(pg):
    rules = [{"rcpt": "later@dest.example", "reply": "451 4.3.0 try later"},
             {"rcpt": "unknown@dest.example",
              "reply": "550 5.1.1 no such user"},
             {"when": "data", "rcpt": "content@dest.example",
              "reply": "554 5.7.1 content rejected"}]
    with Env(pg, smtp="fault", whois=False, rules=rules) as env:
        setup(env, CONTACTS)
        env.ipwarnd("--once", check=0)
        ls = letters(env)
        assert ls["ok@dest.example"]["state"] == "sent", ls
        assert ls["later@dest.example"]["state"] == "deferred", ls
        # min_backoff 5m for a young letter, +-10 % jitter.
        assert 260 <= ls["later@dest.example"]["due_in"] <= 335, ls
        assert ls["unknown@dest.example"]["state"] == "failed", ls
        assert ls["content@dest.example"]["state"] == "failed", ls
        a = attempts(env, "later@dest.example")
        assert a == [["deferred", "451", "4.3.0", "rcpt",
                      a[0][4]]], a
        assert "try later" in a[0][4]
        a = attempts(env, "unknown@dest.example")
        assert a[0][:4] == ["failed", "550", "5.1.1", "rcpt"], a
        # A dead address at RCPT counts as a hard bounce: suppressed.
        # A content refusal (5.7.1) blames us, not the contact.
        sup = [r[0] for r in env.sql("SELECT email FROM suppression")]
        assert sup == ["unknown@dest.example"], sup
        assert env.sql("SELECT bounce_class FROM letter WHERE "
                       "contact_email = 'unknown@dest.example'") == [["hard"]]
        a = attempts(env, "content@dest.example")
        assert a[0][0] == "failed" and a[0][1] == "554", a
        assert "554" in ls["content@dest.example"]["fail"]
        st = env.status()
        assert st["letters"]["sent"] == 1 and st["letters"]["failed"] == 2
        assert st["letters"]["deferred"] == 1
        assert st["targets"]["notified"] == 1

        # The deferred letter goes when due, and only it.
        env.smtp.set_rules([])
        env.sql("UPDATE letter SET next_attempt_at = now() "
                "WHERE state = 'deferred'")
        env.ipwarnd("--once", check=0)
        ls = letters(env)
        assert ls["later@dest.example"]["state"] == "sent", ls
        assert ls["later@dest.example"]["attempts"] == 2
        sent_to = sorted(r for m in spooled(env) for r in m["rcpts"])
        assert sent_to == ["later@dest.example", "ok@dest.example"], sent_to


def test_greeting_421_backs_off_the_sender_not_the_letters(pg):
    rules = [{"when": "greeting", "reply": "421 4.3.2 busy"}]
    with Env(pg, smtp="fault", whois=False, rules=rules,
             delivery={"workers": 1, "batch": 2}) as env:
        setup(env, CONTACTS)
        # Letters left unsent because the relay could not be used: 75,
        # so that a cron job sees it.
        p = env.ipwarnd("--once", check=75)
        ls = letters(env)
        tried = [k for k, v in ls.items() if v["state"] == "deferred"]
        waiting = [k for k, v in ls.items() if v["state"] == "queued"]
        # One batch met the 421; the breaker kept the rest untouched.
        assert len(tried) == 2 and len(waiting) == 2, ls
        for k in tried:
            # The breaker's 30 s, not the letter's 5 min back-off.
            assert 20 <= ls[k]["due_in"] <= 31, ls
            a = attempts(env, k)
            assert len(a) == 1 and a[0][1] == "421", a
        for k in waiting:
            assert ls[k]["attempts"] == 0 and attempts(env, k) == []
        assert spooled(env) == []
        assert "421" in p.stderr and "no sending for 30 s" in p.stderr


def test_each_4xx_at_rcpt_defers_with_its_reply(pg):
    codes = [("450", "4.2.0"), ("451", "4.3.0"), ("452", "4.2.2")]
    contacts = [("192.0.2.%d" % (10 + i), "t%s@dest.example" % c)
                for i, (c, _) in enumerate(codes)]
    rules = [{"rcpt": "t%s@dest.example" % c,
              "reply": "%s %s temporary" % (c, e)} for c, e in codes]
    with Env(pg, smtp="fault", whois=False, rules=rules) as env:
        setup(env, contacts)
        env.ipwarnd("--once", check=0)
        ls = letters(env)
        for c, e in codes:
            k = "t%s@dest.example" % c
            assert ls[k]["state"] == "deferred" and ls[k]["code"] == int(c)
            assert attempts(env, k)[0][:4] == ["deferred", c, e, "rcpt"]


def test_deferred_several_times_then_delivered(pg):
    rules = [{"rcpt": "later@dest.example", "reply": "450 4.2.0 busy",
              "times": 3}]
    with Env(pg, smtp="fault", whois=False, rules=rules) as env:
        setup(env, CONTACTS[1:2])
        for _ in range(4):
            env.ipwarnd("--once", check=0)
            env.sql("UPDATE letter SET next_attempt_at = now() "
                    "WHERE state = 'deferred'")
        ls = letters(env)
        assert ls["later@dest.example"]["state"] == "sent", ls
        a = attempts(env, "later@dest.example")
        assert [x[0] for x in a] == ["deferred"] * 3 + ["sent"], a
        assert len(spooled(env)) == 1


def test_domain_rate_limit_postpones_without_an_attempt(pg):
    contacts = [("192.0.2.%d" % i, "a%d@slow.example" % i)
                for i in range(1, 4)]
    with Env(pg, smtp="fault", whois=False,
             delivery={"domain_rate": 0.02, "workers": 1}) as env:
        setup(env, contacts)
        env.ipwarnd("--once", check=0, timeout=60)
        ls = letters(env)
        sent = [k for k, v in ls.items() if v["state"] == "sent"]
        held = [k for k, v in ls.items() if v["state"] == "queued"]
        # One letter per 50 s to slow.example: one now, two later.
        assert len(sent) == 1 and len(held) == 2, ls
        for k in held:
            assert ls[k]["due_in"] >= 30 and ls[k]["attempts"] == 0, ls
            assert attempts(env, k) == []


def test_connection_dropped_mid_data_defers(pg):
    rules = [{"when": "data", "rcpt": "later@dest.example",
              "action": "drop"}]
    with Env(pg, smtp="fault", whois=False, rules=rules) as env:
        setup(env, CONTACTS[:2])
        env.ipwarnd("--once", check=0)
        ls = letters(env)
        assert ls["later@dest.example"]["state"] == "deferred", ls
        # The other letter is sent or deferred, never lost or failed.
        assert ls["ok@dest.example"]["state"] in ("sent", "deferred"), ls


def test_silent_relay_times_out_and_defers(pg):
    rules = [{"when": "rcpt", "action": "silence"}]
    with Env(pg, smtp="fault", whois=False, rules=rules) as env:
        with open(env.conf) as f:
            conf = f.read().replace('timeout = "10s"; };',
                                    'timeout = "2s"; };', 1)
        with open(env.conf, "w") as f:
            f.write(conf)
        setup(env, CONTACTS[:1])
        t0 = time.time()
        env.ipwarnd("--once", check=0, timeout=60)
        assert time.time() - t0 < 40
        ls = letters(env)
        assert ls["ok@dest.example"]["state"] == "deferred", ls


def test_letter_past_max_age_fails_as_expired(pg):
    rules = [{"rcpt": "later@dest.example", "reply": "450 4.2.1 full"}]
    with Env(pg, smtp="fault", whois=False, rules=rules) as env:
        setup(env, CONTACTS[1:2])
        # Build the letter without sending, then age it.
        env.ipwarnd("--dry-run", check=0)
        env.sql("UPDATE letter SET created_at = now() - interval '6 days'")
        env.ipwarnd("--once", check=0)
        ls = letters(env)
        assert ls["later@dest.example"]["state"] == "failed", ls
        assert "expired" in ls["later@dest.example"]["fail"], ls
        assert len(attempts(env, "later@dest.example")) == 1


def test_two_daemons_never_send_a_letter_twice(pg):
    with Env(pg, smtp="fault", whois=False,
             delivery={"workers": 3, "batch": 7}) as env:
        env.init_db()
        env.sql("INSERT INTO contact_override (network, email) SELECT "
                "('198.18.' || (i / 250) || '.' || (i % 250) || '/32')::cidr,"
                " 'abuse' || i || '@net' || (i % 7) || '.example' "
                "FROM generate_series(1, 300) i")
        env.enqueue("".join("198.18.%d.%d\n" % (i // 250, i % 250)
                            for i in range(1, 301)))
        procs = [env.start_daemon("--once") for _ in range(3)]
        for p in procs:
            assert p.wait(120) == 0
        st = env.status()
        assert st["letters"]["sent"] == 300, st
        ids = [m["message_id"] for m in spooled(env)]
        rcpts = [r for m in spooled(env) for r in m["rcpts"]]
        assert len(rcpts) == 300 and len(set(rcpts)) == 300
        assert len(ids) == 300 and len(set(ids)) == 300


def test_sigkill_mid_batch_loses_nothing(pg):
    n = 600
    # A relay that takes 10 ms per message: the run lasts seconds, so each
    # kill lands while batches are out.
    with Env(pg, smtp="fault", whois=False,
             rules=[{"when": "data", "delay_ms": 10}],
             delivery={"workers": 2, "batch": 40}) as env:
        env.init_db()
        env.enqueue("".join(ip + "\n" for ip in
                            env.contact_overrides(n, "k", "kill.example")))
        env.ipwarnd("--dry-run", check=0)      # build the letters
        in_flight = 0
        for delay in (0.05, 0.3, 0.15, 0.4):
            d = env.start_daemon("--once")
            # Kill once batches are claimed, at a different point of
            # their sending each time.
            wait_for(lambda: env.status()["letters"]["sending"] > 0,
                     what="a claimed batch")
            time.sleep(delay)
            d.kill()
            d.wait()
            now = env.status()["letters"]["sending"]
            assert now > 0, "the kill did not land mid-batch"
            in_flight += now
            # Let the leases of the killed daemon run out.
            env.sql("UPDATE letter SET locked_until = now() - "
                    "interval '1 second' WHERE locked_until >= now()")
        env.ipwarnd("--once", check=0)
        st = env.status()
        assert st["letters"]["sent"] == n, st
        msgs = spooled(env)
        rcpts = [m["rcpts"][0] for m in msgs]
        assert len(set(rcpts)) == n, "a letter was lost"
        dups = len(rcpts) - n
        print("sigkill: %d letters in flight at the kills, %d sent twice"
              % (in_flight, dups))
        assert dups <= in_flight, (dups, in_flight)
        # A resent letter is the same letter: same Message-ID, and the
        # very same bytes (stored before the first SMTP transaction).
        ids, raws = {}, {}
        for m in msgs:
            ids.setdefault(m["rcpts"][0], set()).add(m["message_id"])
            raws.setdefault(m["rcpts"][0], set()).add(m["raw"])
        assert all(len(v) == 1 for v in ids.values())
        assert all(len(v) == 1 for v in raws.values())
