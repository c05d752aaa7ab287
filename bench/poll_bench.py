#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Poll benchmark: a mailbox's backlog through `mail2ticket poll --once` on 1, 4 and 8 desk lanes.

Usage: bench/poll_bench.py BUILD_DIR [MAILS [LATENCY_MS]]      (defaults: 1000 100)

For each [desk] concurrency, a fresh private Dovecot (tests/e2e/dovecot.py, IMAPS on loopback)
gets MAILS distinct new mails in its INBOX (APPENDed over one connection), and one pass of
`poll --once` (after = move:Processed) delivers them to a fresh sandbox desk whose every call
is slowed to LATENCY_MS (its "slow" fault: a real desk answers in tens to hundreds of
milliseconds, the sandbox in one) with a fresh journal. Beside each run: the latency bound,
mails x desk calls per mail x latency / concurrency, what the desk's answer time alone costs
when the lanes are always full. The run at concurrency 1 takes MAILS x LATENCY_MS at least
(100 s at the defaults); the whole benchmark about three minutes. Not a test: nothing is
asserted, but the tickets made and the mail left in INBOX are shown, so a figure never hides
lost or doubled mail. With M2T_BENCH_SMOKE=1 (bench/smoke.py): 20 mails by default, and where
Dovecot is not installed the benchmark exits 77 (a skip for ctest), as the tests that need a
server that is missing do."""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))
from dovecot import DOVECOT, Dovecot  # noqa: E402
from import_bench import CONFIG, SMOKE, sized, slow_down, start_desk  # noqa: E402

CONCURRENCY = (1, 4, 8)
# import_bench's config (desk, departments, journal), and the mailbox.
MAILBOX = """[mailbox bench]
url = imaps://127.0.0.1:{imaps_port}/INBOX
ca_file = {ca_file}
user = support
password_file = {tmp}/mailbox.pass
after = move:Processed
start = all
"""
MAIL = """From: Customer {n} <customer{n}@example.org>\r
To: support@example.com\r
Subject: Poll bench mail {n}\r
Message-ID: <poll-bench-{n}@example.org>\r
Date: Sat, 05 Dec 2026 12:00:00 +0000\r
Content-Type: text/plain; charset=utf-8\r
\r
Mail number {n} of the poll benchmark.\r
"""


def desk_state(port, what):
    with urllib.request.urlopen("http://127.0.0.1:%s/_sandbox/%s" % (port, what),
                                timeout=30) as answer:
        return json.load(answer)[what]


def run_once(binary, mails, latency, concurrency, env):
    """One backlog through one pass: (seconds, desk calls, tickets, mails left in INBOX)."""
    with tempfile.TemporaryDirectory() as tmp:
        # Dovecot's unprivileged processes must reach their files below it.
        os.chmod(tmp, 0o755)
        dovecot = Dovecot(tmp)
        dovecot.start()
        desk, port = start_desk(tmp)
        try:
            dovecot.append_many([MAIL.format(n=n).encode() for n in range(mails)])
            slow_down(port, latency)
            with open(os.path.join(tmp, "mailbox.pass"), "w") as f:
                f.write(dovecot.password + "\n")
            os.chmod(os.path.join(tmp, "mailbox.pass"), 0o600)
            config = os.path.join(tmp, "bench.conf")
            with open(config, "w") as f:
                f.write(CONFIG.format(port=port, concurrency=concurrency,
                                      state=os.path.join(tmp, "state"))
                        + MAILBOX.format(tmp=tmp, imaps_port=dovecot.imaps_port,
                                         ca_file=dovecot.ca_file))
            os.chmod(config, 0o600)
            start = time.perf_counter()
            proc = subprocess.run([binary, "-q", "--config", config, "poll", "--once"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            seconds = time.perf_counter() - start
            if proc.returncode != 0:
                sys.exit("poll --once failed (%d):\n%s" % (proc.returncode,
                                                           proc.stderr.decode()))
            return (seconds, len(desk_state(port, "calls")), len(desk_state(port, "tickets")),
                    dovecot.count("INBOX"))
        finally:
            desk.terminate()
            desk.wait()
            dovecot.stop()


def main():
    binary = os.path.join(os.path.abspath(sys.argv[1]), "mail2ticket")
    if SMOKE and not os.access(DOVECOT, os.X_OK):
        print("poll_bench.py: skipped, Dovecot is not installed (%s)" % DOVECOT)
        sys.exit(77)
    mails = int(sys.argv[2]) if len(sys.argv) > 2 else sized(1000, 20)
    latency = (int(sys.argv[3]) if len(sys.argv) > 3 else 100) / 1000
    env = dict(os.environ, MAIL2TICKET_SECRET="bench-secret")
    started = time.perf_counter()
    print("poll --once: %d mails in a Dovecot INBOX, sandbox desk at %.0f ms a call"
          % (mails, latency * 1000))
    print("%-12s %9s %9s %11s %11s %9s %8s" % ("concurrency", "seconds", "mails/s",
                                               "calls/mail", "bound (s)", "tickets", "left"))
    for concurrency in CONCURRENCY:
        seconds, calls, tickets, left = run_once(binary, mails, latency, concurrency, env)
        per_mail = calls / mails
        bound = mails * per_mail * latency / concurrency
        print("%-12d %9.1f %9.1f %11.2f %11.1f %9d %8d" % (concurrency, seconds,
                                                           mails / seconds, per_mail, bound,
                                                           tickets, left))
    print("total %.0f s" % (time.perf_counter() - started))


if __name__ == "__main__":
    main()
