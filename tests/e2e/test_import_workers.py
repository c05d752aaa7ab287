#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`import --worker`: one archive shared by three workers "on three hosts" (a config, a working
folder and a quarantine each) through one shared journal, against a slowed sandbox desk, one
worker killed with kill -9 midway: every mail reaches the desk exactly once, every reply on its
thread's ticket, a survivor takes the dead worker's unit over, and a worker run again afterwards
sends nothing.

The journal the workers share is a parameter: ImportWorkers.check_shared_import() takes the
[state] section's text: a SQLite file (the workers run on one host), or a PostgreSQL database
(tests/e2e/postgres.py starts a private server; skipped where its binaries are missing), whose
claim expiries are the server's clock."""

import collections
import datetime
import email
import email.policy
import email.utils
import os
import re
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BINARY, CONFIG_TEMPLATE, IDENTIFIER, SOURCE_DIR, DeskTestCase,  # noqa: E402
                     die_with_parent, wait_until)
from postgres import PostgreSQL, available  # noqa: E402

MAILS = 600
WORKERS = 3
UNIT_SIZE = 20
LEASE = 3  # seconds: how long the dead worker's unit waits for a survivor


def archive_mails(path):
    """Each mail of the mbox as (date, Message-ID, In-Reply-To)."""
    with open(path, "rb") as f:
        chunks = re.split(rb"\n(?=From user@example\.org )", f.read())
    mails = []
    for chunk in chunks:
        msg = email.message_from_bytes(chunk.split(b"\n", 1)[1], policy=email.policy.compat32)
        mails.append((email.utils.parsedate_to_datetime(msg["Date"]), msg["Message-ID"],
                      msg["In-Reply-To"]))
    return mails


def read_log(path):
    with open(path, errors="replace") as f:
        return f.read()


class ImportWorkers(DeskTestCase):
    timeout = 10

    def setUp(self):
        super().setUp()
        self.archive = os.path.join(self.dir, "shared", "archive.mbox")
        os.makedirs(os.path.dirname(self.archive))
        subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "bench", "gen_mbox.py"),
                        self.archive, "--count", str(MAILS), "--seed", "11", "--light"],
                       check=True, capture_output=True)
        self.mails = archive_mails(self.archive)
        self.assertEqual(len(self.mails), MAILS)

    def host(self, name, state):
        """A worker's host: its folder, config (the shared journal's [state] section with a
        quarantine of its own) and secret file; the config's path."""
        home = os.path.join(self.dir, name)
        os.makedirs(home)
        shutil.copy(os.path.join(self.dir, "secret"), home)
        text = CONFIG_TEMPLATE.format(url=self.desk.url, identifier=IDENTIFIER,
                                      timeout=self.timeout)
        text = text.replace("[state]\npath = state/journal.db\n",
                            state.rstrip("\n") + "\nquarantine = %s\n"
                            % os.path.join(home, "quarantine"))
        config = os.path.join(home, "mail2ticket.conf")
        with open(config, "w") as f:
            f.write(text)
        os.chmod(config, 0o600)
        return config

    def start_worker(self, config, log):
        env = dict(os.environ)
        env.pop("MAIL2TICKET_SECRET", None)
        env.pop("MAIL2TICKET_CONFIG", None)
        return subprocess.Popen(
            [BINARY, "--config", config, "import", "--worker", "--unit-size", str(UNIT_SIZE),
             "--lease", str(LEASE), self.archive],
            stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=env,
            cwd=os.path.dirname(config), preexec_fn=die_with_parent)

    def writes(self):
        return [c for c in self.desk.calls() if c["action"] in ("OpenTicket", "AddTicketReply")]

    def check_desk(self):
        """Every mail at the desk once, every reply on the ticket of the mail it answers."""
        ticket_of = {}
        seen = collections.Counter()
        by_date = {date: (msgid, parent) for date, msgid, parent in self.mails}
        self.assertEqual(len(by_date), MAILS, "the archive's dates should tell its mails apart")
        for ticket in self.desk.tickets():
            for message in ticket["messages"]:
                date = datetime.datetime.fromisoformat(message["created_param"])
                self.assertIn(date, by_date, "a message the archive does not hold")
                seen[date] += 1
                ticket_of[by_date[date][0]] = ticket["id"]
        doubled = [d for d, n in seen.items() if n > 1]
        self.assertEqual(doubled, [], "mails delivered twice")
        self.assertEqual(len(seen), MAILS, "mails missing at the desk")
        replies = 0
        for _, msgid, parent in self.mails:
            if parent:
                replies += 1
                self.assertEqual(ticket_of[msgid], ticket_of[parent],
                                 f"{msgid} is not on the ticket of {parent}")
        self.assertGreater(replies, 50, "the archive should hold threads")

    def check_shared_import(self, state):
        configs = [self.host("host-%d" % i, state) for i in range(WORKERS)]
        logs = [os.path.join(os.path.dirname(c), "worker.log") for c in configs]
        # Slow enough that a unit takes a while, so the kill lands inside one.
        self.desk.fault("slow", delay=0.08)
        workers = [self.start_worker(c, log) for c, log in zip(configs, logs)]

        def first_is_mid_unit():
            text = read_log(logs[0])
            last = text.rfind("working on a unit")
            return ("unit finished" in text and last >= 0
                    and "mail handled" in text[last:] and "unit finished" not in text[last:])
        wait_until(first_is_mid_unit, 120,
                   lambda: "worker 0 never got into a second unit:\n" + read_log(logs[0]))
        workers[0].send_signal(signal.SIGKILL)
        self.assertEqual(workers[0].wait(timeout=30), -signal.SIGKILL)
        for worker, log in zip(workers[1:], logs[1:]):
            self.assertEqual(worker.wait(timeout=300), 0, read_log(log))
        self.desk.fault("none")

        survivors = read_log(logs[1]) + read_log(logs[2])
        self.assertRegex(survivors, r"claimed_before_by=\S+:%d:" % workers[0].pid,
                         "no survivor took the killed worker's unit over")
        units = collections.Counter(re.findall(r"unit finished archive=\S+ unit=(\d+)",
                                               survivors + read_log(logs[0])))
        self.assertEqual([u for u, n in units.items() if n > 1], [], "a unit finished twice")
        self.check_desk()

        # Run again afterwards, a worker has nothing left to do and sends nothing.
        before = len(self.writes())
        rerun = logs[1].replace("worker.log", "worker-again.log")
        self.assertEqual(self.start_worker(configs[1], rerun).wait(timeout=120), 0,
                         read_log(rerun))
        self.assertEqual(len(self.writes()), before)
        self.assertNotIn("working on a unit", read_log(rerun))

    def test_what_a_worker_refuses(self):
        for args in (["--worker", "--dry-run"], ["--worker", "--since", "2026-01-01"],
                     ["--lease", "5"], ["--worker", "--unit-size", "0"]):
            rc, _, err = self.run_m2t("import", *args, self.archive)
            self.assertEqual(rc, 64, err)
        self.assertEqual(self.desk.calls(), [])

    def test_three_workers_on_a_shared_sqlite_journal(self):
        self.check_shared_import("[state]\npath = %s\n"
                                 % os.path.join(self.dir, "shared", "journal.db"))

    @unittest.skipUnless(available(), "no PostgreSQL server binaries (apt-get install postgresql)")
    def test_three_workers_on_a_shared_postgresql_journal(self):
        for d in (self.classdir, self.dir):
            os.chmod(d, 0o755)  # the server's user reaches its folder inside
        pg = PostgreSQL(self.dir)
        self.addCleanup(pg.remove)
        self.addCleanup(lambda: self.kept_output.append(pg.log()))
        pg.start()
        self.check_shared_import("[state]\nkind = postgresql\nurl = %s\npassword_file = %s\n"
                                 % (pg.url, pg.password_file))


if __name__ == "__main__":
    unittest.main(verbosity=2)
