#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`[pipe] spool = DIR` end to end: `pipe` only stores the mail durably with its envelope (exit 0
even with the desk down), and `poll` (or `poll --once`) delivers the spool like a mailbox named
"spool": the kept envelope routes as a direct pipe would, a file is deleted only once the journal
has the desk's answer, mail the desk keeps refusing ends in the quarantine, and a kill -9 in the
middle loses or doubles nothing."""

import os
import random
import signal
import stat
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPEN_ACTION, sample  # noqa: E402
from service_harness import (DEAD_DESK, ENVELOPE_HEADER, ServiceTestCase,  # noqa: E402
                             json_objects, mail, split_envelope)


def ticket_view(t):
    """What must be the same whether a mail was piped directly or through the spool."""
    return (t["subject"], t["email"], t["name"], t["deptid"], t["priority"],
            [m["message"] for m in t["messages"]])


class SpoolAccepts(ServiceTestCase):
    def test_pipe_with_the_desk_down_stores_the_mail_with_its_envelope(self):
        self.use_spool(url=DEAD_DESK)
        raw = sample("01-plain.eml")
        rc, out, err = self.pipe(raw, "-f", "alice@example.org", "-r", "sales@example.com")
        self.assertEqual(rc, 0, err)
        self.assertIn("mail spooled", err)
        self.assertNotIn("mail handled", err)
        [(path, data)] = self.spool_files().items()
        self.assertEqual(os.path.dirname(path), os.path.join(self.spool, "new"))
        self.assertIn(f"file={path}", err)
        line, rest = split_envelope(data)
        self.assertTrue(line.startswith(ENVELOPE_HEADER), line)
        self.assertEqual(line, b"X-Mail2ticket-Envelope: sender=alice@example.org "
                               b"recipient=sales@example.com")
        self.assertEqual(rest, raw, "the spool file is not the mail as piped")
        self.assertEqual(self.spool_tmp(), [], "a file was left in tmp/")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(self.desk.calls(), [], "pipe called the desk in spool mode")
        self.assertFalse(os.path.exists(self.journal), "pipe opened the journal in spool mode")

    def test_pipe_spools_even_while_the_desk_fails(self):
        self.use_spool()
        self.desk.fault("http503")
        rc, _, err = self.pipe(sample("03-alternative.eml"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.spool_files()), 1)
        self.assertEqual(self.desk.calls(), [])

    def test_envelope_values_are_kept_whatever_their_characters(self):
        self.use_spool()
        rc, _, err = self.pipe(mail(1), "-f", "odd name=x@example.org", "-r",
                               "billing+vip@example.com", "--mailbox", "mta relay")
        self.assertEqual(rc, 0, err)
        [data] = self.spool_files().values()
        line, rest = split_envelope(data)
        self.assertEqual(len(line.split()), 4, line)  # one word per value, whatever it holds
        self.assertEqual(rest, mail(1))
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertEqual(ticket["deptid"], 2, "the plus-addressed recipient was not kept")
        self.assertIn("envelope recipient billing+vip@example.com", err)

    def test_dry_run_delivers_nothing_and_spools_nothing(self):
        self.use_spool()
        rc, out, err = self.pipe(sample("01-plain.eml"), "--dry-run")
        self.assertEqual(rc, 0, err)
        self.assertIn(OPEN_ACTION, out)
        self.assertEqual(self.spool_files(), {})
        self.assertEqual(self.desk.calls(), [])

    def test_without_a_spool_pipe_delivers_at_once(self):
        self.use_direct()
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 1)
        self.assertFalse(os.path.exists(self.spool))

    def test_unknown_pipe_key_and_nothing_to_watch_are_config_errors(self):
        self.config = self.write_config(self.config_text(spool=False) + "\n[pipe]\nspol = x\n")
        rc, _, err = self.pipe(mail(1))
        self.assertEqual(rc, 75, err)  # pipe: the MTA keeps the mail while the config is fixed
        self.assertIn("[pipe] spol: unknown key", err)
        self.use_direct()
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 78, err)
        self.assertIn("nothing to watch", err)
        self.use_spool(extra="\n[mailbox spool]\nurl = imap://127.0.0.1/INBOX\nuser = x\n"
                             "password_file = secret\n")
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 78, err)
        self.assertIn("the name spool is taken by [pipe] spool", err)


class SpoolDelivers(ServiceTestCase):
    def test_desk_down_keeps_the_file_then_one_ticket_in_the_envelope_department(self):
        raw = sample("01-plain.eml")  # To: support@ (department 1); -r says sales@ (3)
        args = ("-f", "alice@example.org", "-r", "sales@example.com")
        self.use_spool(url=DEAD_DESK)
        rc, _, err = self.pipe(raw, *args)
        self.assertEqual(rc, 0, err)
        spooled = self.spool_files()
        self.assertEqual(len(spooled), 1)

        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 75, err)
        self.assertIn("mail not handled", err)
        self.assertEqual(self.spool_files(), spooled, "the file changed while the desk was down")

        self.use_spool()  # the desk is back
        self.desk.fault("http503")
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 75, err)
        self.assertEqual(self.spool_files(), spooled)
        self.assertEqual(self.desk.tickets(), [])
        self.desk.fault("none")
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r'mail handled source="mailbox spool" mail="file \S+" '
                              r'key=mid:\S+ action=opened ticket=\S+ why="department 3 from '
                              r'envelope recipient sales@example.com" ms=\d+')
        [ticket] = self.desk.tickets()
        self.assertEqual(ticket["deptid"], 3)
        self.assertEqual(self.spool_files(), {}, "the delivered file was not deleted")
        via_spool = ticket_view(ticket)

        calls = len(self.desk.calls())
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.calls()), calls, "a second poll called the desk")
        self.assertEqual(len(self.desk.tickets()), 1)

        # The same mail piped directly, in a fresh journal and desk: the same ticket.
        self.desk.reset()
        self.journal_dir_reset()
        self.use_direct()
        rc, _, err = self.pipe(raw, *args)
        self.assertEqual(rc, 0, err)
        [direct] = self.desk.tickets()
        self.assertEqual(ticket_view(direct), via_spool)

    def journal_dir_reset(self):
        for name in os.listdir(os.path.join(self.dir, "state")):
            path = os.path.join(self.dir, "state", name)
            if os.path.isfile(path):
                os.remove(path)

    def test_envelope_sender_stands_in_for_a_missing_from(self):
        self.use_spool()
        raw = b"To: support@example.com\nSubject: envelope only\nMessage-ID: <env@x>\n\nhi\n"
        rc, _, err = self.pipe(raw, "-f", "env@example.org")
        self.assertEqual(rc, 0, err)
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertEqual(ticket["email"], "env@example.org")

    def test_empty_envelope_sender_is_dropped_by_the_loop_guard(self):
        self.use_spool()
        rc, _, err = self.pipe(mail(1), "-f", "")
        self.assertEqual(rc, 0, err)
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        self.assertIn("action=dropped", err)
        self.assertEqual(self.desk.tickets(), [])
        self.assertEqual(self.spool_files(), {})

    def test_20_spooled_mails_become_20_tickets(self):
        self.use_spool()
        for i in range(20):
            rc, _, err = self.pipe(mail(i), "-r", "support@example.com")
            self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.spool_files()), 20)
        self.assertEqual(self.desk.calls(), [])
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each([f"Spool test {i}" for i in range(20)])
        self.assertEqual(err.count("mail handled"), 20)
        self.assertEqual(self.spool_files(), {})
        calls = len(self.desk.calls())
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.calls()), calls)

    def test_the_same_mail_spooled_twice_makes_one_ticket(self):
        self.use_spool()
        for _ in range(2):
            self.assertEqual(self.pipe(mail(7))[0], 0)
        self.assertEqual(len(self.spool_files()), 2)
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        self.assertIn("action=already-handled", err)
        self.assert_one_ticket_each(["Spool test 7"])
        self.assertEqual(len(self.open_calls()), 1)
        self.assertEqual(self.spool_files(), {})

    def test_a_mail_refused_three_times_goes_to_the_quarantine(self):
        self.use_spool()
        refused = mail(1, subject="Refused by the desk")
        self.assertEqual(self.pipe(refused)[0], 0)
        self.assertEqual(self.pipe(mail(2))[0], 0)
        self.desk.fault("error", match="Refused by the desk", message="Invalid department")
        for expected in (75, 75, 0):  # max_failures = 3 for the spool
            rc, _, err = self.run_m2t("poll", "--once")
            self.assertEqual(rc, expected, err)
            self.assertIn("Invalid department", err)
        self.assert_one_ticket_each(["Spool test 2"])
        self.assertEqual(self.spool_files(), {}, "the spool is not empty")
        [kept] = self.quarantined_mails().values()
        self.assertEqual(kept, refused, "the quarantine does not hold the mail as piped")
        calls = len(self.desk.calls())
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.calls()), calls)

    def test_pipe_mailbox_name_is_kept_for_rules(self):
        self.use_spool(extra="\n[rule from-relay]\nmailbox = relay\ndepartment = 2\n")
        self.assertEqual(self.pipe(mail(1), "--mailbox", "relay")[0], 0)
        self.assertEqual(self.pipe(mail(2))[0], 0)
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        depts = {t["subject"]: t["deptid"] for t in self.desk.tickets()}
        self.assertEqual(depts, {"Spool test 1": 2, "Spool test 2": 1})

    def test_a_desk_that_is_down_pauses_the_spool_and_keeps_every_file(self):
        self.use_spool()
        for i in range(10):
            self.assertEqual(self.pipe(mail(i))[0], 0)
        spooled = self.spool_files()
        self.desk.fault("http503")
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 75, err)
        self.assertIn("the desk is failing; the mailbox pauses", err)
        self.assertLessEqual(len(self.open_calls()), 3, "the spool went on calling a dead desk")
        self.assertEqual(self.spool_files(), spooled)
        self.assertEqual(self.quarantine_files(), {})
        self.desk.fault("none")
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each([f"Spool test {i}" for i in range(10)])
        self.assertEqual(self.spool_files(), {})

    def test_poll_dry_run_and_mailbox_spool(self):
        self.use_spool()
        for i in range(2):
            self.assertEqual(self.pipe(mail(i), "-r", "billing@example.com")[0], 0)
        spooled = self.spool_files()
        rc, out, err = self.run_m2t("poll", "--dry-run")
        self.assertEqual(rc, 0, err)
        calls = json_objects(out)
        self.assertEqual([c["action"] for c in calls], [OPEN_ACTION] * 2, out)
        self.assertEqual(err.count("action=dry-run"), 2)
        self.assertEqual(self.desk.calls(), [])
        self.assertEqual(self.spool_files(), spooled)
        rc, _, err = self.run_m2t("poll", "--once", "--mailbox", "spool")
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(t["deptid"] for t in self.desk.tickets()), [2, 2])
        self.assertEqual(self.spool_files(), {})

    def test_a_spool_file_without_an_envelope_line_is_a_plain_mail(self):
        self.use_spool()
        new = os.path.join(self.spool, "new")
        os.makedirs(new)
        with open(os.path.join(new, "1700000000.dropped-by-hand"), "wb") as f:
            f.write(mail(3))
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(["Spool test 3"])
        self.assertEqual(self.spool_files(), {})


class SpoolService(ServiceTestCase):
    timeout = 5

    def test_a_running_poll_picks_up_newly_spooled_mail(self):
        # The spool's interval is 60 s: within 20 s only inotify can have noticed the files.
        self.use_spool()
        proc = self.start_poll()
        self.wait_for_log("watching mailbox mailbox=spool", 15)
        time.sleep(0.5)  # the first (empty) pass is over and the watch is set
        for n in (1, 2):
            rc, _, err = self.pipe(mail(n))
            self.assertEqual(rc, 0, err)
            self.wait_for_tickets(n, timeout=20)
            self.wait_for(lambda: not self.spool_files(), 20, "an empty spool")
        self.assert_one_ticket_each(["Spool test 1", "Spool test 2"])
        self.assertEqual(self.stop_proc(proc), 0, self.proc_log())
        self.assertIn("stopped by a signal", self.proc_log())

    def test_kill_9_in_the_middle_of_30_mails_then_poll_once(self):
        self.use_spool()
        subjects = [f"Spool test {i}" for i in range(30)]
        for i in range(30):
            self.assertEqual(self.pipe(mail(i))[0], 0)
        self.desk.fault("slow", delay=0.05)
        proc = self.start_poll()
        self.wait_for_tickets(8, timeout=60)
        proc.send_signal(signal.SIGKILL)
        self.assertEqual(proc.wait(), -signal.SIGKILL)
        self.assertLess(len(self.desk.tickets()), 30, "the kill came after the whole spool")
        self.assertGreater(len(self.spool_files()), 0)
        # More kills at random points, while the rest goes through.
        rng = random.Random(7)
        for _ in range(5):
            proc = self.start_poll()
            time.sleep(rng.uniform(0.1, 0.5))
            proc.kill()
            proc.wait()
        self.desk.fault("none")
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(subjects)
        self.assertEqual(self.spool_files(), {})
        self.assertEqual(self.quarantine_files(), {})
        self.assertEqual(self.spool_tmp(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
