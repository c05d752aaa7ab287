#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`mail2ticket reprocess` end to end: mail the desk refused sits in the quarantine; once the
cause is fixed, reprocess sends it again through the whole flow (one ticket each, never two),
keeps what is refused again (exit 65), leaves everything as it was when the desk is down (75);
`--mailbox NAME` moves an IMAP mailbox's failed folder back into the watched folder (a real
Dovecot) for the next poll."""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DESK_KIND, OPEN_ACTION, SECRET  # noqa: E402
from service_harness import DEAD_DESK, ServiceTestCase, json_objects, mail  # noqa: E402


def call_subject(call):
    return call["params"]["subject"]


class QuarantineTestCase(ServiceTestCase):
    timeout = 2

    def quarantine_refused(self, mails, message="Department ID not found"):
        """Pipe each mail while the desk refuses it: each ends in the quarantine."""
        tickets = len(self.desk.tickets())
        self.desk.fault("error", message=message)
        for raw in mails:
            rc, _, err = self.pipe(raw)
            self.assertEqual(rc, 0, err)
            self.assertIn("action=quarantined", err)
        self.desk.fault("none")
        self.assertEqual(len(self.desk.tickets()), tickets)
        self.assertEqual(sorted(self.quarantined_mails().values()), sorted(mails))
        return self.quarantine_files()

    def reprocess(self, *args):
        return self.run_m2t("reprocess", *args)

    def assert_healed_desk_takes_all(self, subjects):
        """With the desk working again, reprocess opens one ticket each and empties the
        quarantine."""
        self.desk.fault("none")
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(subjects)
        self.assertEqual(self.quarantine_files(), {})


class Reprocess(QuarantineTestCase):
    def test_fixed_cause_gives_one_ticket_each_and_an_empty_quarantine(self):
        mails = [mail(i) for i in range(3)]
        self.quarantine_refused(mails)
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each([f"Spool test {i}" for i in range(3)])
        self.assertEqual(self.quarantine_files(), {})
        self.assertEqual(err.count("mail handled source=reprocess"), 3)
        self.assertEqual(err.count("action=opened"), 3)
        self.assertIn("reprocess finished", err)
        states = self.journal_rows("SELECT state, count(*) FROM mails GROUP BY state")
        self.assertEqual(states, [("delivered", 3)])

        # A second run finds nothing to do and calls nobody.
        calls = len(self.desk.calls())
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.calls()), calls)
        self.assertNotIn("mail handled", err)
        self.assertEqual(len(self.desk.tickets()), 3)

    def test_refused_again_stays_with_the_new_reason_and_exits_65(self):
        mails = [mail(i) for i in range(3)]
        before = self.quarantine_refused(mails, message="Department ID not found")
        self.desk.fault("error", message="Department is closed", actions=["OpenTicket"])
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 65, err)
        self.assertEqual(err.count("action=quarantined"), 3)
        self.assertIn("stays in the quarantine", err)
        after = self.quarantine_files()
        self.assertEqual(len(after), len(before), "a quarantined mail was lost or doubled")
        self.assertEqual(sorted(self.quarantined_mails().values()), sorted(mails))
        self.assertTrue(set(after).isdisjoint(before), "the old files were not replaced")
        rows = self.journal_rows("SELECT state, last_error, quarantine_path FROM mails")
        self.assertEqual(len(rows), 3)
        for state, last_error, path in rows:
            self.assertEqual(state, "quarantined")
            self.assertIn("Department is closed", last_error)
            self.assertIn(path, after)
        self.assertEqual(self.desk.tickets(), [])

        # Once fixed: one ticket each.
        self.assert_healed_desk_takes_all([f"Spool test {i}" for i in range(3)])

    def test_desk_down_exits_75_and_leaves_the_files(self):
        before = self.quarantine_refused([mail(i) for i in range(3)])
        self.use_direct(url=DEAD_DESK)
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 75, err)
        self.assertIn("mail not handled", err)
        self.assertEqual(self.quarantine_files(), before)
        self.use_direct()
        self.desk.fault("http503")
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 75, err)
        self.assertEqual(self.quarantine_files(), before)
        self.assertEqual(self.desk.tickets(), [])
        self.assert_healed_desk_takes_all([f"Spool test {i}" for i in range(3)])

    def test_dry_run_prints_the_calls_and_changes_nothing(self):
        before = self.quarantine_refused([mail(i) for i in range(2)])
        journal = self.journal_rows("SELECT * FROM mails ORDER BY key")
        calls = len(self.desk.calls())
        rc, out, err = self.reprocess("--dry-run")
        self.assertEqual(rc, 0, err)
        self.assertNotIn(SECRET, out)
        printed = json_objects(out)
        self.assertEqual(len(printed), 2, out)
        for call in printed:
            self.assertEqual(call["desk"], DESK_KIND)
            self.assertEqual(call["action"], OPEN_ACTION)
        self.assertEqual(sorted(call_subject(c) for c in printed),
                         ["Spool test 0", "Spool test 1"])
        self.assertEqual(err.count("action=dry-run"), 2)
        self.assertEqual(len(self.desk.calls()), calls, "--dry-run called the desk")
        self.assertEqual(self.quarantine_files(), before)
        self.assertEqual(self.journal_rows("SELECT * FROM mails ORDER BY key"), journal)

    def test_file_arguments_reprocess_only_those_files(self):
        before = self.quarantine_refused([mail(i) for i in range(3)])
        chosen = next(p for p, data in before.items() if b"Spool test 1" in data)
        rc, _, err = self.reprocess(chosen)
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(["Spool test 1"])
        left = self.quarantine_files()
        self.assertEqual(set(left), set(before) - {chosen})
        # A FILE named by a relative path.
        other = sorted(left)[0]
        rc, _, err = self.run_m2t("reprocess", os.path.relpath(other))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 2)
        self.assertEqual(set(self.quarantine_files()), set(left) - {other})

    def test_a_file_outside_the_quarantine_or_missing_is_left_alone_with_exit_66(self):
        before = self.quarantine_refused([mail(0)])
        outside = os.path.join(self.dir, "my.eml")
        with open(outside, "wb") as f:
            f.write(mail(1))
        rc, _, err = self.reprocess(outside, os.path.join(self.dir, "no-such.eml"),
                                    *before)
        self.assertEqual(rc, 66, err)
        self.assertIn("not a file of the quarantine", err)
        self.assertIn("cannot read the file", err)
        # The outside file is neither sent nor removed; the quarantined one named with it is.
        self.assertTrue(os.path.exists(outside))
        self.assert_one_ticket_each(["Spool test 0"])
        self.assertEqual(self.quarantine_files(), {})

    def test_mail_the_journal_has_as_delivered_is_not_sent_again(self):
        delivered = mail(1)
        self.assertEqual(self.pipe(delivered)[0], 0)
        [ticket] = self.desk.tickets()
        # The same mail lands in the quarantine anyway (put back by hand, or a copy kept
        # through a crash), next to a mail the desk refused.
        self.quarantine_refused([mail(2)])
        new = os.path.join(self.quarantine, "new")
        with open(os.path.join(new, "0000000001.by-hand"), "wb") as f:
            f.write(delivered)
        calls = len(self.open_calls())
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 0, err)
        self.assertIn("action=already-handled ticket=" + ticket["tid"], err)
        self.assertEqual(len(self.open_calls()), calls + 1, "only the refused mail is sent")
        self.assert_one_ticket_each(["Spool test 1", "Spool test 2"])
        self.assertEqual(self.quarantine_files(), {})

    def test_two_copies_of_one_quarantined_mail_make_one_ticket(self):
        files = self.quarantine_refused([mail(1)])
        [(path, data)] = files.items()
        shutil.copy(path, os.path.join(self.quarantine, "cur", "0000000002.copy:2,S"))
        calls = len(self.open_calls())
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 0, err)
        self.assertEqual(err.count("action=opened"), 1)
        self.assertEqual(err.count("action=already-handled"), 1)
        self.assert_one_ticket_each(["Spool test 1"])
        self.assertEqual(len(self.open_calls()), calls + 1)
        self.assertEqual(self.quarantine_files(), {})

    def test_an_answer_lost_during_reprocess_is_adopted_not_doubled(self):
        self.quarantine_refused([mail(1)])
        self.desk.fault("slow_after_create", delay=3, count=1, actions=["OpenTicket"])
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 75, err)
        self.assertEqual(len(self.desk.tickets()), 1)  # the desk did open it
        self.assertEqual(len(self.quarantine_files()), 1)
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 0, err)
        self.assertIn("action=adopted", err)
        self.assert_one_ticket_each(["Spool test 1"])
        self.assertEqual(self.quarantine_files(), {})

    def test_mail_quarantined_by_a_rule_stays_when_the_rule_still_applies(self):
        # No sender at all: quarantined by the flow itself, not by the desk.
        raw = b"To: support@example.com\nSubject: who?\nMessage-ID: <nobody@x>\n\nno sender\n"
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 0, err)
        self.assertEqual(list(self.quarantined_mails().values()), [raw])
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 65, err)
        self.assertIn("no sender address", err)
        self.assertEqual(list(self.quarantined_mails().values()), [raw])
        self.assertEqual(self.desk.tickets(), [])

    def test_a_mail_set_aside_from_the_spool_is_reprocessed(self):
        self.use_spool()
        self.assertEqual(self.pipe(mail(5))[0], 0)
        self.desk.fault("error", message="Invalid department")
        for expected in (75, 75, 0):
            rc, _, err = self.run_m2t("poll", "--once")
            self.assertEqual(rc, expected, err)
        self.assertEqual(self.spool_files(), {})
        self.assertEqual(len(self.quarantine_files()), 1)
        self.assert_healed_desk_takes_all(["Spool test 5"])

    def test_an_empty_or_missing_quarantine_is_nothing_to_do(self):
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.desk.calls(), [])

    def test_quarantine_key_in_the_config_is_used(self):
        self.use_direct(extra="quarantine = held\n")  # appended to [state]
        self.quarantine = os.path.join(self.dir, "held")
        self.quarantine_refused([mail(1)])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "state", "quarantine")))
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(["Spool test 1"])
        self.assertEqual(self.quarantine_files(), {})

    def test_reprocess_routes_by_the_envelope_the_mail_came_with(self):
        """The quarantine keeps the envelope at the file's head: a mail piped with
        -r sales@example.com (department 3) is reprocessed into department 3, not by its To:
        header (department 1)."""
        self.desk.fault("error", message="Department ID not found")
        rc, _, err = self.pipe(mail(1), "-r", "sales@example.com")
        self.assertEqual(rc, 0, err)
        self.assertIn("department 3 from envelope recipient", err)
        self.desk.fault("none")
        rc, _, err = self.reprocess()
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertEqual(ticket["deptid"], 3, err)


class ReprocessCommandLine(QuarantineTestCase):
    def test_help_and_usage(self):
        rc, out, _ = self.reprocess("--help")
        self.assertEqual(rc, 0)
        self.assertIn("usage: mail2ticket reprocess", out)
        rc, _, err = self.reprocess("--mailbox", "support", "some-file")
        self.assertEqual(rc, 64, err)
        rc, _, err = self.reprocess("--bogus")
        self.assertEqual(rc, 64, err)

    def test_mailbox_without_a_failed_folder_or_unknown_is_a_config_error(self):
        rc, _, err = self.reprocess("--mailbox", "nosuch")
        self.assertEqual(rc, 78, err)
        self.assertIn("no such [mailbox NAME] section", err)
        self.use_direct(extra="\n[mailbox support]\nurl = imaps://127.0.0.1:1/INBOX\n"
                              "user = support\npassword_file = secret\n")
        rc, _, err = self.reprocess("--mailbox", "support")
        self.assertEqual(rc, 78, err)
        self.assertIn("has no failed folder", err)
        self.use_spool()  # the spool's failed mail is in the quarantine
        rc, _, err = self.reprocess("--mailbox", "spool")
        self.assertEqual(rc, 78, err)
        self.assertIn("has no failed folder", err)


# The failed folder of a real IMAP mailbox.
try:
    from test_poll import PollTestCase, mail as imap_mail  # noqa: E402
except ImportError:  # pragma: no cover
    PollTestCase = None


class ReprocessFailedFolder(PollTestCase or unittest.TestCase):
    timeout = 5

    def setUp(self):
        if PollTestCase is None:
            self.skipTest("test_poll.py (the Dovecot test case) is not there")
        super().setUp()

    def test_failed_mail_is_moved_back_and_the_next_poll_makes_the_tickets(self):
        self.dovecot.append_many([imap_mail(0, "Refused one"), imap_mail(1),
                                  imap_mail(2, "Refused two")])
        self.use_mailbox(extra="max_failures = 2\nfailed = move:Failed")
        self.desk.fault("error", match="Refused", message="Invalid department")
        for expected_rc in (75, 0):
            rc, _, err = self.poll_once()
            self.assertEqual(rc, expected_rc, err)
        self.assert_one_ticket_each(["Poll test 1"])
        self.assertEqual(self.dovecot.count("Failed"), 2)
        self.assertEqual(self.dovecot.count("INBOX"), 0)

        self.desk.fault("none")
        calls = len(self.desk.calls())
        rc, _, err = self.run_m2t("reprocess", "--dry-run", "--mailbox", "support")
        self.assertEqual(rc, 0, err)
        self.assertEqual(err.count("would move back"), 2)
        self.assertEqual(self.dovecot.count("Failed"), 2)
        self.assertEqual(self.dovecot.count("INBOX"), 0)

        rc, _, err = self.run_m2t("reprocess", "--mailbox", "support")
        self.assertEqual(rc, 0, err)
        self.assertEqual(err.count("moved back"), 2)
        self.assertEqual(self.dovecot.count("Failed"), 0)
        self.assertEqual(self.dovecot.count("INBOX"), 2)
        self.assertEqual(len(self.desk.calls()), calls, "reprocess --mailbox called the desk")
        self.assertNotIn(self.dovecot.password, err)

        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(["Poll test 1", "Refused one", "Refused two"])
        self.assertEqual(self.dovecot.count("INBOX"), 0)
        self.assertEqual(self.dovecot.count("Processed"), 3)
        self.assertEqual(self.dovecot.count("Failed"), 0)

        # Nothing left to move, and a further poll sends nothing.
        rc, _, err = self.run_m2t("reprocess", "--mailbox", "support")
        self.assertEqual(rc, 0, err)
        calls = len(self.desk.calls())
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.calls()), calls)

    def test_server_down_exits_75(self):
        self.use_mailbox(extra="failed = move:Failed")
        self.dovecot.create("Failed")
        self.dovecot.append(imap_mail(0), folder="Failed")
        self.dovecot.stop()
        rc, _, err = self.run_m2t("reprocess", "--mailbox", "support")
        self.assertEqual(rc, 75, err)
        self.dovecot.start()
        self.assertEqual(self.dovecot.count("Failed"), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
