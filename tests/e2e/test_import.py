#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`mail2ticket import` end to end: mbox, Maildir and .eml folders into the sandbox desk."""

import email.utils
import gzip
import json
import mailbox
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BINARY, DESK_KIND, OPEN_ACTION, SECRET, SOURCE_DIR,  # noqa: E402
                     DeskTestCase, wait_until)

INBOX = os.path.join(SOURCE_DIR, "samples", "inbox.mbox")


def ticket_summary(tickets):
    """What must be equal whatever the archive format: who, what, which files, in order within a
    ticket. Tickets are opened several at a time, so their ids do not follow the archive."""
    return sorted((t["email"], t["subject"], t["deptid"], len(t["messages"]),
                   [(a["name"], a["sha256"]) for m in t["messages"] for a in m["attachments"]])
                  for t in tickets)


class Import(DeskTestCase):
    def setUp(self):
        super().setUp()
        self.maildir = os.path.join(self.dir, "Maildir")
        self.emls = os.path.join(self.dir, "emls")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub))
        os.makedirs(self.emls)
        box = mailbox.mbox(INBOX, create=False)
        messages = [msg.as_bytes() for msg in box]
        box.close()
        for i, raw in enumerate(messages):
            # Maildir file names that sort in the mbox's order.
            with open(os.path.join(self.maildir, "cur", "%04d.host:2,S" % i), "wb") as f:
                f.write(raw)
            with open(os.path.join(self.emls, "%04d.eml" % i), "wb") as f:
                f.write(raw)
        with open(os.path.join(self.emls, "README.txt"), "w") as f:
            f.write("not a mail\n")

    def import_paths(self, *paths):
        return self.run_m2t("import", *paths)

    def test_same_tickets_from_every_format(self):
        results = []
        for path in (INBOX, self.maildir, self.emls):
            self.desk.reset()
            shutil.rmtree(os.path.join(self.dir, "state"), ignore_errors=True)
            rc, _, err = self.import_paths(path)
            self.assertEqual(rc, 0, err)
            # Mails 3 and 4 answer mail 2 (In-Reply-To): replies on its ticket.
            self.assertIn("opened=4 replied=2", err)
            results.append(ticket_summary(self.desk.tickets()))
        self.assertEqual(len(results[0]), 4)
        self.assertEqual(sorted(r[3] for r in results[0]), [1, 1, 1, 3])
        self.assertEqual(results[0], results[1])
        self.assertEqual(results[0], results[2])

    def test_order_of_the_archive_does_not_split_threads(self):
        # The same mails, newest first: answers come before the mail they answer.
        box = mailbox.mbox(INBOX, create=False)
        messages = list(box)
        box.close()
        reversed_path = os.path.join(self.dir, "reversed.mbox")
        out = mailbox.mbox(reversed_path)
        for msg in reversed(messages):
            out.add(msg)
        out.close()
        rc, _, err = self.import_paths(INBOX)
        self.assertEqual(rc, 0, err)
        forward = ticket_summary(self.desk.tickets())
        self.desk.reset()
        shutil.rmtree(os.path.join(self.dir, "state"))
        rc, _, err = self.import_paths(reversed_path)
        self.assertEqual(rc, 0, err)
        self.assertIn("opened=4 replied=2", err)
        self.assertEqual(ticket_summary(self.desk.tickets()), forward)

    def test_rerun_creates_nothing(self):
        self.assertEqual(self.import_paths(INBOX)[0], 0)
        rc, _, err = self.import_paths(INBOX, self.emls)
        self.assertEqual(rc, 0, err)
        self.assertIn("opened=0", err)
        # The mbox's checkpoint says all 6 are handled: they are not even read again. The same
        # mails in the .eml folder are read, and the journal knows each of them.
        self.assertIn("continuing where the last run stopped", err)
        self.assertIn("handled=6", err)
        self.assertIn("already-handled=6", err)
        self.assertEqual(len(self.desk.tickets()), 4)

    def test_changed_archive_is_read_again(self):
        copy = os.path.join(self.dir, "inbox.mbox")
        shutil.copy(INBOX, copy)
        self.assertEqual(self.import_paths(copy)[0], 0)
        with open(copy, "a") as f:
            f.write("\nFrom x@example.org Mon Mar 30 10:00:00 2026\nFrom: x@example.org\n"
                    "To: support@example.com\nSubject: one more\n"
                    "Date: Mon, 30 Mar 2026 10:00:00 +0000\nMessage-ID: <more@x>\n\nhi\n")
        rc, _, err = self.import_paths(copy)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("continuing where", err)
        self.assertIn("opened=1 already-handled=6", err)

    def test_dry_run_prints_each_call_and_changes_nothing(self):
        rc, out, err = self.import_paths("--dry-run", INBOX)
        self.assertEqual(rc, 0, err)
        calls = [json.loads(line) for line in out.splitlines()]
        calls = [c for c in calls if c["action"] != "temporary_files"]  # Thulium's uploads
        # Without a journal a dry run cannot know the thread: every mail would open a ticket.
        self.assertEqual([c["action"] for c in calls], [OPEN_ACTION] * 6)
        self.assertNotIn(SECRET, out)
        self.assertTrue(all(c["desk"] == DESK_KIND for c in calls))
        self.assertEqual(self.desk.calls(), [])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "state")))

    def test_dry_run_shows_the_keys_the_run_files_mail_under(self):
        # A dry run without a journal makes a mail's key (a digest of all its bytes) only for a
        # line that shows it: each mail's log line, a warning, a line of the report (a mail
        # not sent); with -q, only the report's. What it shows must be the key the real run
        # files the mail under, also for a mail without a Message-ID, whose key skips the lines
        # its last hop added.
        archive = os.path.join(self.dir, "keys.mbox")
        shutil.copy(INBOX, archive)
        with open(archive, "ab") as f:
            f.write(b"\nFrom nomid@example.org Mon Mar 30 10:00:00 2026\n"
                    b"Return-Path: <nomid@example.org>\nFrom: nomid@example.org\n"
                    b"To: support@example.com\nSubject: no id\n"
                    b"Date: Mon, 30 Mar 2026 10:00:00 +0000\n"
                    b"Content-Type: text/plain; charset=utf-8\n\nnot UTF-8: \xff\n"
                    b"\nFrom robot@example.org Mon Mar 30 11:00:00 2026\n"
                    b"From: robot@example.org\nTo: support@example.com\nSubject: Out of office\n"
                    b"Date: Mon, 30 Mar 2026 11:00:00 +0000\nAuto-Submitted: auto-replied\n"
                    b"Message-ID: <ooo@example.org>\n\nAway.\n")
        rc, _, err = self.import_paths("--dry-run", archive)
        self.assertEqual(rc, 0, err)
        logged = set(re.findall(r"mail handled .* key=(\S+)", err))
        warned = set(re.findall(r"mail read with a warning key=(\S+)", err))
        report = os.path.join(self.dir, "report.jsonl")
        rc, _, err = self.run_m2t("-q", "import", "--dry-run", "--report", report, archive)
        self.assertEqual(rc, 0, err)
        with open(report) as f:
            reported = {json.loads(line)["key"] for line in f}
        rc, _, err = self.import_paths(archive)
        self.assertEqual(rc, 0, err)
        db = sqlite3.connect(os.path.join(self.dir, "state", "journal.db"))
        try:
            filed = {key for (key,) in db.execute("SELECT key FROM mails")}
        finally:
            db.close()
        self.assertEqual(len(filed), 8)
        self.assertEqual(len([k for k in filed if k.startswith("sha256:")]), 1)
        self.assertEqual(logged, filed)
        self.assertEqual(reported, {k for k in filed if k.startswith("mid:ooo@example.org#")})
        self.assertEqual(len(warned), 1)
        self.assertLessEqual(warned, filed)

    def test_dry_run_on_lanes_prints_in_the_archives_order(self):
        # Replies that name their ticket are looked up at the desk, which answers slowly: on
        # four lanes later mails finish first, and the calls must still come out in order.
        # Mails that look nothing up are delivered on the main thread, the others on the lanes;
        # three long ones among them (27 KB of text each), dated among the 80 (8:00 to 17:13),
        # keep the main thread printing while the lanes wait for the desk.
        archive = os.path.join(self.dir, "tickets.mbox")
        subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "bench", "gen_mbox.py"),
                        archive, "--count", "80", "--seed", "3"], check=True,
                       capture_output=True)
        with open(archive, "a") as f:
            for n, when in enumerate(("08:03", "12:03", "17:30")):
                f.write("\nFrom long@example.org Mon Mar  2 %s:00 2026\nFrom: long@example.org\n"
                        "To: support@example.com\nSubject: Long report %d\n"
                        "Date: Mon, 2 Mar 2026 %s:00 +0100\nMessage-ID: <long-%d@example.org>\n"
                        "\n%s" % (when, n, when, n, "A line of the long report.\n" * 1000))
        with open(self.config) as f:
            text = f.read()
        with open(archive, encoding="utf-8", errors="replace") as f:
            named = re.findall(r"^Subject:.*\[Ticket ID: #(\d+)\]", f.read(), re.M)
        self.assertGreater(len(named), len(set(named)),
                           "the archive should name some ticket more than once")
        printed, asked = {}, {}
        for lanes in (1, 4):
            self.desk.reset()
            self.desk.fault("slow", delay=0.05)
            self.write_config(text.replace("[desk]\n", "[desk]\nconcurrency = %d\n" % lanes,
                                           1))
            rc, printed[lanes], err = self.import_paths("--dry-run", archive)
            self.assertEqual(rc, 0, err)
            asked[lanes] = [json.dumps([c["path"], c["action"], c["params"]], sort_keys=True)
                            for c in self.desk.calls()]
        self.assertGreater(len(asked[1]), 0, "the archive should name tickets to look up")
        lines = printed[1].splitlines()
        where = [next(i for i, line in enumerate(lines) if "Long report %d" % n in line)
                 for n in range(3)]
        self.assertTrue(where[0] < 10 and where[0] + 30 < where[1] and where[1] + 30 < where[2],
                        where)
        self.assertEqual(printed[4], printed[1])
        # A dry run changes nothing at the desk: each ticket is asked about once (on several
        # lanes two may ask at the same moment, before either has the answer).
        self.assertEqual(len(asked[1]), len(set(asked[1])))
        self.assertEqual(set(asked[4]), set(asked[1]))

    def many_mails_on_four_lanes(self, delay):
        """An archive of 400 light mails, four lanes, a desk slowed by delay seconds a call;
        the archive and the environment to import it in."""
        archive = os.path.join(self.dir, "many.mbox")
        subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "bench", "gen_mbox.py"),
                        archive, "--count", "400", "--seed", "5", "--light"], check=True,
                       capture_output=True)
        with open(self.config) as f:
            self.write_config(f.read().replace("[desk]\n", "[desk]\nconcurrency = 4\n", 1))
        self.desk.fault("slow", delay=delay)
        return archive, {k: v for k, v in os.environ.items() if not k.startswith("MAIL2TICKET_")}

    def test_pipe_beside_a_running_import_keeps_the_journal_whole(self):
        # The MTA delivers while an import runs on four lanes; each pipe opens and closes the
        # journal. The import's opening of its lanes once dropped its own locks on the file, so
        # a pipe's closing took the file for itself and removed the WAL the lanes were writing:
        # "database disk image is malformed", and every run after it exit 75.
        archive, env = self.many_mails_on_four_lanes(delay=0.01)
        importing = subprocess.Popen([BINARY, "--config", self.config, "-q", "import", archive],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        try:
            for i in range(20):
                rc, _, err = self.pipe(b"From: p%d@example.org\nTo: support@example.com\n"
                                       b"Subject: Piped %d\nMessage-ID: <piped-%d@example.org>"
                                       b"\n\nHello.\n" % (i, i, i))
                self.assertEqual(rc, 0, err)
            self.assertIsNone(importing.poll(), "the import should still run")
            self.assertEqual(importing.wait(timeout=120), 0, importing.stderr.read().decode())
        finally:
            if importing.poll() is None:
                importing.kill()
            importing.wait()
            importing.stderr.close()
        db = sqlite3.connect(os.path.join(self.dir, "state", "journal.db"))
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            self.assertEqual(db.execute("SELECT count(*) FROM mails WHERE state = 'delivered'"
                                        ).fetchone(), (420,))
        finally:
            db.close()

    def test_two_imports_of_one_archive_at_once(self):
        # An operator starts the same import twice (two shells, a timer and a hand). Both must
        # finish, and the desk see each mail once. The mail locks were once the process's own
        # record locks, and the kernel took lanes of the two imports waiting on each other's
        # slots for a deadlock: one import stopped with "Resource deadlock avoided", exit 75.
        archive, env = self.many_mails_on_four_lanes(delay=0.005)
        imports = [subprocess.Popen([BINARY, "--config", self.config, "-q", "import", archive],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
                   for _ in range(2)]
        try:
            for importing in imports:
                self.assertEqual(importing.wait(timeout=120), 0,
                                 importing.stderr.read().decode())
        finally:
            for importing in imports:
                if importing.poll() is None:
                    importing.kill()
                importing.wait()
                importing.stderr.close()
        self.assertEqual(sum(len(t["messages"]) for t in self.desk.tickets()), 400)

    def test_maildir_renamed_by_a_mail_client_during_the_import(self):
        # A team imports the live Maildir of a support address: the mail client moves the new
        # mail to cur/ as it is seen, and renames a message when its flags change. A file not
        # at its indexed name used to stop the import with exit 75 ("cannot open").
        archive, env = self.many_mails_on_four_lanes(delay=0.05)
        live = os.path.join(self.dir, "live")
        box = mailbox.Maildir(live, create=True)
        source = mailbox.mbox(archive, create=False)
        for msg in source:
            box.add(mailbox.MaildirMessage(msg))
        source.close()
        importing = subprocess.Popen([BINARY, "--config", self.config, "import", live],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        try:
            wait_until(lambda: self.desk.calls(), 30, "the import never called the desk")
            for name in sorted(os.listdir(os.path.join(live, "new"))):
                os.rename(os.path.join(live, "new", name),
                          os.path.join(live, "cur", name + ":2,S"))
            for name in sorted(os.listdir(os.path.join(live, "cur")))[::2]:
                os.rename(os.path.join(live, "cur", name),
                          os.path.join(live, "cur", name.replace(":2,S", ":2,RS")))
            err = importing.communicate(timeout=120)[1].decode()
        finally:
            if importing.poll() is None:
                importing.kill()
            importing.wait()
            importing.stderr.close()
        self.assertEqual(importing.returncode, 0, err)
        self.assertIn("/cur/", err, "no mail was read after it was moved")
        self.assertEqual(sum(len(t["messages"]) for t in self.desk.tickets()), 400)

    def test_desk_failure_stops_and_the_rerun_finishes(self):
        self.desk.fault("http500", actions=["OpenTicket"])
        rc, _, err = self.import_paths(INBOX)
        self.assertEqual(rc, 75, err)
        self.assertIn("run again later", err)
        self.desk.fault("none")
        rc, _, err = self.import_paths(INBOX)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 4)

    def test_gzipped_mbox(self):
        gz = os.path.join(self.dir, "inbox.mbox.gz")
        with open(INBOX, "rb") as src, gzip.open(gz, "wb") as dst:
            dst.write(src.read())
        rc, _, err = self.import_paths(gz)
        self.assertEqual(rc, 0, err)
        self.assertIn("opened=4 replied=2", err)

    def test_tickets_keep_the_mails_dates(self):
        self.assertEqual(self.import_paths(INBOX)[0], 0)
        if DESK_KIND == "keliweb":
            # Keliweb's pages list no date for open-ticket or add-ticket-reply.
            self.assertEqual([t["created_param"] for t in self.desk.tickets()], [None] * 4)
            return
        if DESK_KIND == "thulium":
            # POST tickets has no date; a customer's reply carries its own.
            dates = [m["date"] for t in self.desk.tickets() for m in t["messages"][1:]]
            self.assertEqual(len(dates), 2)
            self.assertTrue(all(d.startswith("2026-") for d in dates), dates)
            return
        created = [t["created_param"] for t in self.desk.tickets()]
        self.assertTrue(all(c and c.startswith("2026-") for c in created), created)

    def test_since_and_until(self):
        box = mailbox.mbox(INBOX, create=False)
        dates = sorted(email.utils.parsedate_to_datetime(m["Date"]) for m in box)
        box.close()
        middle = dates[3].strftime("%Y-%m-%d")
        before = sum(1 for d in dates if d.strftime("%Y-%m-%d") < middle)
        rc, _, err = self.import_paths("--since", middle, INBOX)
        self.assertEqual(rc, 0, err)
        self.assertIn("outside-dates=%d" % before, err)
        rc, _, err = self.import_paths("--until", middle, INBOX)
        self.assertEqual(rc, 0, err)
        # The second run takes exactly the mails the first left out.
        self.assertIn("outside-dates=%d" % (6 - before), err)
        rc, _, err = self.run_m2t("import", "--since", "yesterday", INBOX)
        self.assertEqual(rc, 64, err)

    def test_report_lists_what_did_not_become_a_ticket(self):
        report = os.path.join(self.dir, "report.jsonl")
        shutil.copy(os.path.join(SOURCE_DIR, "samples", "mail", "39-out-of-office-exchange.eml"),
                    self.emls)
        rc, _, err = self.import_paths("--report", report, self.emls)
        self.assertEqual(rc, 0, err)
        with open(report) as f:
            [line] = [json.loads(x) for x in f]
        self.assertEqual(line["outcome"], "dropped")
        self.assertIn("Auto-Submitted", line["reason"])
        self.assertTrue(line["location"].endswith("39-out-of-office-exchange.eml"))

    def test_bad_paths(self):
        # A path that is not there is a mistake no retry heals (66), found before any mail of
        # the other paths is sent.
        rc, _, err = self.import_paths(INBOX, os.path.join(self.dir, "nope.mbox"))
        self.assertEqual(rc, 66, err)
        self.assertIn("cannot read %s: No such file or directory"
                      % os.path.join(self.dir, "nope.mbox"), err)
        self.assertEqual(self.desk.tickets(), [])
        rc, _, err = self.run_m2t("import")
        self.assertEqual(rc, 64, err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
