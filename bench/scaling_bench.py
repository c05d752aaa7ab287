#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Scaling benchmark: mails/s with 1, 2 and 4 mail2ticket processes, SQLite vs PostgreSQL.

Usage: bench/scaling_bench.py BUILD_DIR [PIPE_MAILS [IMPORT_MAILS]]   (defaults: 400 2000)

pipe: PIPE_MAILS distinct small mails, split between P feeders that each pipe their share one
mail after another (one mail2ticket process per mail, as an MTA delivers), all at once into one
sandbox desk and one journal. import: an archive of IMPORT_MAILS mails without attachments
(bench/gen_mbox.py --light, threads included) shared by P `import --worker` processes at once,
in units of 100 mails.
Every run starts with an empty desk and an empty journal: the SQLite file on this host's disk,
or a new database on a private PostgreSQL (tests/e2e/postgres.py, fsync on) on loopback; the
PostgreSQL rows are left out when its binaries are missing. The desk is the sandbox (one Python
process answering at once), so the figures show what the journal and the processes cost, not
a real desk's latency. Not a test: nothing is asserted, but each run's tickets and replies are
shown beside the single process's, so a figure never hides lost or doubled mail. With
M2T_BENCH_SMOKE=1 (bench/smoke.py) the defaults are 8 and 200 mails.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))
import postgres  # noqa: E402
from import_bench import generated_archive, sized, start_desk  # noqa: E402

PROCESSES = (1, 2, 4)
# Units of 100 mails give four workers several each; a 6 s claim makes a worker that found
# every unit taken look again every 0.2 s (a thirtieth of it) instead of every second, so the
# run's time is the import's, not an idle worker's last pause.
WORKER_OPTIONS = ["--unit-size", "100", "--lease", "6"]
CONFIG = """[desk]
kind = whmcs
url = http://127.0.0.1:{port}/includes/api.php
identifier = bench
default_department = 1
concurrency = 1
[departments]
support@example.com = 1
[state]
{state}
quarantine = {tmp}/quarantine
"""
MAIL = """From: Customer {n} <customer{n}@example.org>
To: support@example.com
Subject: Bench mail {n}
Message-ID: <scaling-{n}@example.org>
Date: Sat, 05 Dec 2026 12:00:00 +0000
Content-Type: text/plain; charset=utf-8

Mail number {n} of the scaling benchmark.
"""


def desk_counts(port):
    """Tickets and replies the sandbox desk holds."""
    with urllib.request.urlopen("http://127.0.0.1:%s/_sandbox/tickets" % port, timeout=30) as r:
        tickets = json.load(r)["tickets"]
    return len(tickets), sum(len(t["messages"]) - 1 for t in tickets)


class Journals:
    """A fresh, empty journal for each run, as [state] lines."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.pg = None
        self.runs = 0

    def kinds(self):
        return ["sqlite"] + (["postgresql"] if postgres.available() else [])

    def state(self, kind, run_dir):
        self.runs += 1
        if kind == "sqlite":
            return "path = %s/journal.db" % run_dir
        if not self.pg:
            self.pg = postgres.PostgreSQL(self.tmp)
            self.pg.start()
        database = "bench%d" % self.runs
        self.pg.psql("CREATE DATABASE %s OWNER %s" % (database, self.pg.user))
        return ("kind = postgresql\nurl = postgresql://%s@%s:%s/%s\npassword_file = %s"
                % (self.pg.user, postgres.HOST, self.pg.port, database, self.pg.password_file))

    def close(self):
        if self.pg:
            self.pg.stop()


def feed_pipe(binary, config, env, mails, failures):
    for n in mails:
        proc = subprocess.run([binary, "-q", "--config", config, "pipe"],
                              input=MAIL.format(n=n).encode(), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            failures.append("pipe of mail %d: exit %d: %s" % (n, proc.returncode,
                                                              proc.stderr.decode()[-300:]))


def run_pipe(binary, config, env, count, processes):
    failures = []
    shares = [range(i, count, processes) for i in range(processes)]
    feeders = [threading.Thread(target=feed_pipe, args=(binary, config, env, s, failures))
               for s in shares]
    start = time.perf_counter()
    for t in feeders:
        t.start()
    for t in feeders:
        t.join()
    return time.perf_counter() - start, failures


def run_import(binary, config, env, archive, processes):
    start = time.perf_counter()
    workers = [subprocess.Popen([binary, "-q", "--config", config, "import", "--worker"] +
                                WORKER_OPTIONS + [archive], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE) for _ in range(processes)]
    failures = []
    for w in workers:
        _, err = w.communicate()
        if w.returncode != 0:
            failures.append("import --worker: exit %d: %s" % (w.returncode, err.decode()[-300:]))
    return time.perf_counter() - start, failures


def main():
    binary = os.path.join(os.path.abspath(sys.argv[1]), "mail2ticket")
    pipe_mails = int(sys.argv[2]) if len(sys.argv) > 2 else sized(400, 8)
    import_mails = int(sys.argv[3]) if len(sys.argv) > 3 else sized(2000, 200)
    archive = generated_archive("import-%d.mbox" % import_mails, "--count", str(import_mails),
                                "--seed", "11", "--light")
    env = dict(os.environ, MAIL2TICKET_SECRET="bench-secret")
    print("%-10s %-7s %9s %7s %9s %9s  %s" % ("journal", "command", "processes", "mails",
                                             "seconds", "mails/s", "desk (tickets+replies)"))
    with tempfile.TemporaryDirectory() as tmp:
        journals = Journals(tmp)
        reference = {}
        try:
            for kind in journals.kinds():
                for command, count in (("pipe", pipe_mails), ("import", import_mails)):
                    for processes in PROCESSES:
                        run_dir = tempfile.mkdtemp(dir=tmp)
                        desk, port = start_desk(run_dir)
                        try:
                            config = os.path.join(run_dir, "bench.conf")
                            with open(config, "w") as f:
                                f.write(CONFIG.format(port=port, tmp=run_dir,
                                                      state=journals.state(kind, run_dir)))
                            if command == "pipe":
                                seconds, failures = run_pipe(binary, config, env, count,
                                                             processes)
                            else:
                                seconds, failures = run_import(binary, config, env, archive,
                                                               processes)
                            tickets, replies = desk_counts(port)
                        finally:
                            desk.terminate()
                            desk.wait()
                        same = reference.setdefault(command, (tickets, replies))
                        print("%-10s %-7s %9d %7d %9.1f %9.0f  %d+%d%s" % (
                            kind, command, processes, count, seconds, count / seconds,
                            tickets, replies, "" if (tickets, replies) == same else
                            "  (NOT AS WITH ONE PROCESS)"), flush=True)
                        for f in failures[:3]:
                            print("  " + f)
        finally:
            journals.close()


if __name__ == "__main__":
    main()
