#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Several hosts, one journal: `[state] kind = postgresql` against a real PostgreSQL
(tests/e2e/postgres.py) and the sandbox desk. Two "hosts" are two configs in two folders (their
own secrets, password files and quarantines) that share the server and the desk. Exactly once
holds across them: the same mails piped on both at once are one ticket each, a server restarted
in the middle loses nothing and doubles nothing (pipe answers 75 and the MTA's retry delivers),
stats reads the shared counts from either host, and the database's password appears in no log
and on no command line. Exits 77 (a skip for ctest) where the PostgreSQL server is not
installed."""

import collections
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BINARY, CONFIG_TEMPLATE, IDENTIFIER, PG_PASSWORD, SECRET,  # noqa: E402
                     DeskTestCase, wait_until)
from postgres import ServerPerClass, available  # noqa: E402

STATE = """[state]
kind = postgresql
url = {url}
password_file = journal.pass
quarantine = quarantine
"""
# How often the MTA of these tests tries a mail that got 75, and how long it waits in between.
MTA_TRIES = 600
MTA_PAUSE = 0.1


def mail(n, kind="Shared"):
    return (f"From: Customer {n} <customer{n}@example.org>\nTo: support@example.com\n"
            f"Subject: {kind} {n}\nMessage-ID: <{kind.lower()}-{n}@example.org>\n"
            f"Date: Tue, 24 Nov 2026 10:00:00 +0000\n\nMail number {n}.\n").encode()


class Host:
    """One mail2ticket host: a folder of its own with its config, the desk's secret, the
    database's password file and its quarantine; the journal is the shared one."""

    def __init__(self, case, name, url):
        self.case = case
        self.name = name
        self.dir = os.path.join(case.dir, name)
        os.makedirs(self.dir)
        for file, text in (("secret", SECRET), ("journal.pass", PG_PASSWORD)):
            path = os.path.join(self.dir, file)
            with open(path, "w") as f:
                f.write(text + "\n")
            os.chmod(path, 0o600)
        text = CONFIG_TEMPLATE.format(url=case.desk.url, identifier=IDENTIFIER,
                                      timeout=case.timeout)
        text = text.replace("[state]\npath = state/journal.db\n", STATE.format(url=url))
        self.config = os.path.join(self.dir, "mail2ticket.conf")
        with open(self.config, "w") as f:
            f.write(text)
        os.chmod(self.config, 0o600)

    def run(self, *args, stdin=b""):
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAIL2TICKET_SECRET", "MAIL2TICKET_CONFIG", "PGPASSWORD")}
        proc = subprocess.run([BINARY, "--config", self.config] + list(args), input=stdin,
                              capture_output=True, env=env, timeout=120)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        self.case.kept_output.append(f"$ [{self.name}] mail2ticket {' '.join(args)}\n{err}{out}")
        for secret in (SECRET, PG_PASSWORD):
            if secret in out + err:
                raise AssertionError(f"a secret appeared in the output of {args}")
        return proc.returncode, out, err

    def deliver(self, raw, tempfails=None):
        """Pipe raw as an MTA does: 75 means try again later. The last answer; the texts of
        the 75s are added to tempfails."""
        for _ in range(MTA_TRIES):
            rc, out, err = self.run("pipe", stdin=raw)
            if rc != 75:
                return rc, err
            if tempfails is not None:
                tempfails.append(err)
            time.sleep(MTA_PAUSE)
        return rc, err


class CommandLines(threading.Thread):
    """Reads every process's command line while it runs, keeping those that hold text."""

    def __init__(self, text):
        super().__init__(daemon=True)
        self.text = text.encode()
        self.found = []
        self.reads = 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        line = f.read()
                except OSError:
                    continue
                self.reads += 1
                if self.text in line:
                    self.found.append(line.replace(b"\0", b" ").decode(errors="replace"))
            time.sleep(0.02)

    def stop(self):
        self.halt.set()
        self.join()


class SharedJournalCase(ServerPerClass, DeskTestCase):
    """One PostgreSQL for the class, a database of its own for each case, two hosts on it."""

    def setUp(self):
        super().setUp()
        self.hosts = [Host(self, "host-a", self.database_url),
                      Host(self, "host-b", self.database_url)]

    def tickets_by_subject(self):
        return collections.Counter(t["subject"] for t in self.desk.tickets())

    def journal(self, sql):
        return self.pg.psql(sql, database=self.database)


class TwoHosts(SharedJournalCase):
    def test_the_same_200_mails_on_two_hosts_at_once_are_200_tickets(self):
        """Each mail is piped on both hosts at the same moment, as two MX hosts get an MTA's
        retry: one opens the ticket, the other finds it handled, whichever comes first."""
        mails = [mail(n) for n in range(200)]
        watch = CommandLines(PG_PASSWORD)
        watch.start()
        try:
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                runs = [pool.submit(host.deliver, raw) for raw in mails for host in self.hosts]
                results = [run.result() for run in runs]
        finally:
            watch.stop()
        for rc, err in results:
            self.assertEqual(rc, 0, err)
        actions = collections.Counter(re.search(r"action=(\S+)", err).group(1)
                                      for _, err in results)
        self.assertEqual(actions, {"opened": 200, "already-handled": 200})
        self.assertEqual(self.tickets_by_subject(),
                         collections.Counter(f"Shared {n}" for n in range(200)))
        self.assertEqual(self.journal("SELECT count(*) FROM mails WHERE state = 'delivered'"),
                         "200")
        self.assertGreater(watch.reads, 0)
        self.assertEqual(watch.found, [], "the database password was on a command line")

        # stats reads the shared journal: either host counts what both did.
        shown = []
        for host in self.hosts:
            rc, out, err = host.run("stats", "--json")
            self.assertEqual(rc, 0, err)
            shown.append(json.loads(out)["outcomes"])
        self.assertEqual(shown[0], [{"source": "pipe", "outcome": "opened", "count": 200}])
        self.assertEqual(shown[0], shown[1])

        # check names the journal it reached, without the password.
        rc, out, err = self.hosts[1].run("check")
        self.assertEqual(rc, 0, err + out)
        self.assertIn(f"journal postgresql://{self.pg.user}@127.0.0.1:{self.pg.port}/"
                      f"{self.database}: ok, schema 4", out)

    def test_stats_before_any_mail_is_empty(self):
        rc, out, err = self.hosts[0].run("stats", "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["outcomes"], [])
        self.assertIn("has no tables yet", err)
        self.assertEqual(self.journal("SELECT to_regclass('meta') IS NULL"), "t")


class ServerRestart(SharedJournalCase):
    def test_a_restart_in_the_middle_loses_nothing_and_doubles_nothing(self):
        """The server stops (a fast shutdown ends every session, deliveries in the middle
        included) while both hosts pipe 60 mails; what finds it gone answers 75, and the MTA's
        retry after it is back delivers. Every mail is one ticket with its one text."""
        mails = [mail(n, "Restart") for n in range(60)]
        tempfails, results = [], []
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            runs = [pool.submit(host.deliver, raw, tempfails)
                    for raw in mails for host in self.hosts]
            wait_until(lambda: sum(run.done() for run in runs) >= 20, 300,
                       lambda: "20 deliveries did not end")
            self.pg.stop()
            wait_until(lambda: len(tempfails) >= 6, 300,
                       lambda: "no delivery answered 75 while the server was down")
            self.pg.start()
            results = [run.result() for run in runs]
        for rc, err in results:
            self.assertEqual(rc, 0, err)
        self.assertTrue(any("cannot connect" in err or "cannot be reached" in err
                            for err in tempfails), tempfails[:3])
        self.assertEqual(self.tickets_by_subject(),
                         collections.Counter(f"Restart {n}" for n in range(60)))
        for ticket in self.desk.tickets():
            self.assertEqual(len(ticket["messages"]), 1, ticket["subject"])
        self.assertEqual(self.journal("SELECT count(*) FROM mails WHERE state <> 'delivered'"),
                         "0")

    def test_an_import_waits_for_the_server(self):
        """import cannot start without its journal: 75, nothing sent; run again once the
        server is back, it sends every mail once."""
        archive = os.path.join(self.dir, "a.mbox")
        with open(archive, "wb") as f:
            for n in range(10):
                f.write(b"From x Thu Mar  5 10:00:00 2026\n" + mail(n, "Archived") + b"\n")
        self.pg.stop()
        rc, _, err = self.hosts[0].run("import", archive)
        self.assertEqual(rc, 75, err)
        self.assertIn("cannot connect", err)
        self.assertEqual(self.desk.tickets(), [])
        self.pg.start()
        rc, _, err = self.hosts[0].run("import", archive)
        self.assertEqual(rc, 0, err)
        rc, _, err = self.hosts[1].run("import", archive)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.tickets_by_subject(),
                         collections.Counter(f"Archived {n}" for n in range(10)))


if __name__ == "__main__":
    if not available():
        print("no PostgreSQL server binaries (apt-get install postgresql): skipped")
        sys.exit(77)
    unittest.main(verbosity=2)
