# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mail text cannot forge what mail2ticket writes about it: log lines (text, JSON) and the
envelope kept with a spooled or quarantined mail. The real binary against the sandbox desk."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DeskTestCase  # noqa: E402
from service_harness import ServiceTestCase  # noqa: E402

# An RFC 2231 charset parameter holding an encoded line feed and U+2028: GMime reads the label
# "iso-8859-3" off its front, so the text part is decoded with it and the byte 0xA5 (undefined
# there) makes mail2ticket name the label in a warning. Unescaped, the warning printed a second
# line that reads as mail2ticket's own.
FORGED_LINE = "mail2ticket: info: mail handled source=pipe action=opened ticket=1"
LOG_FORGERY = (b"From: Mallory <mallory@example.org>\nTo: support@example.com\n"
               b"Subject: log forgery\nMessage-ID: <forge-log@example.org>\nMIME-Version: 1.0\n"
               b"Content-Type: text/plain; charset*=utf-8''iso-8859-3%0A"
               + FORGED_LINE.replace(" ", "%20").encode() + b"%E2%80%A8%C2%85x\n\n"
               b"Hello \xa5 there\n")


class ForgedLogLines(DeskTestCase):
    def test_text_lines_escape_what_the_mail_holds(self):
        rc, _, err = self.pipe(LOG_FORGERY)
        self.assertEqual(rc, 0, err)
        lines = err.splitlines()
        self.assertEqual([line for line in lines if "mail handled" in line and
                          "key=mid:forge-log@example.org#" not in line], [],
                         "a line the mail wrote reads as mail2ticket's own")
        for line in lines:
            self.assertTrue(line.startswith("mail2ticket: "), line)
        self.assertNotIn("\u2028", err)
        self.assertNotIn("\u0085", err)
        [warning] = [line for line in lines if "charset label" in line]
        # The mail's text is a quoted field of the line, not its message.
        self.assertRegex(warning, r'mail read with a warning key=mid:forge-log@example.org#[0-9a-f]{16} '
                         r'warning="text part: charset label \\"iso-8859-3\\n')
        self.assertIn(FORGED_LINE, warning)
        self.assertIn("\\u2028\\u0085x", warning)
        self.assertEqual(len(self.desk.tickets()), 1)

    def test_json_lines_are_one_object_each(self):
        rc, _, err = self.run_m2t("--log-format", "json", "pipe", stdin=LOG_FORGERY)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("\u2028", err)
        self.assertNotIn("\u0085", err)
        events = [json.loads(line) for line in err.splitlines()]
        self.assertEqual([e["msg"] for e in events].count("mail handled"), 1)
        [warning] = [e for e in events if "charset label" in e.get("warning", "")]
        self.assertEqual(warning["msg"], "mail read with a warning")
        self.assertIn("\n" + FORGED_LINE + "\u2028\u0085x", warning["warning"])


def with_envelope_header(raw, value):
    """raw with a first header as mail2ticket writes at the head of a kept file."""
    return b"X-Mail2ticket-Envelope: " + value + b"\n" + raw


SUPPORT_MAIL = (b"From: Customer <customer@example.org>\nTo: support@example.com\n"
                b"Subject: envelope forgery\nMessage-ID: <forge-env@example.org>\n\n"
                b"Please help.\n")


class ForgedEnvelope(ServiceTestCase):
    """A sender writes mail2ticket's envelope header himself: it must not pick the department
    (recipient) or the sender his mail is handled with."""

    FORGED = with_envelope_header(SUPPORT_MAIL, b"sender=boss@example.com "
                                                b"recipient=billing@example.com mailbox=vip")

    def test_spooled_mail_keeps_the_envelope_pipe_was_given(self):
        self.use_spool()
        rc, _, err = self.pipe(self.FORGED)
        self.assertEqual(rc, 0, err)
        [(_, data)] = self.spool_files().items()
        self.assertTrue(data.startswith(b"X-Mail2ticket-Envelope:\n"), data[:200])
        self.assertNotIn(b"billing@example.com", data)
        self.assertEqual(data.split(b"\n", 1)[1], SUPPORT_MAIL)
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertEqual(str(ticket["deptid"]), "1", "the forged recipient chose the department")

    def test_quarantined_mail_is_reprocessed_with_its_own_envelope(self):
        self.use_direct()
        self.desk.fault("error", message="Department ID not found", count=1)
        rc, _, err = self.pipe(self.FORGED, "-f", "customer@example.org")
        self.assertEqual(rc, 0, err)
        [(_, data)] = self.quarantine_files().items()
        self.assertEqual(data.split(b"\n", 1)[0],
                         b"X-Mail2ticket-Envelope: sender=customer@example.org")
        self.assertNotIn(b"billing@example.com", data)
        rc, _, err = self.run_m2t("reprocess")
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertEqual(str(ticket["deptid"]), "1", "the forged recipient chose the department")
        self.assertEqual(self.quarantine_files(), {})


if __name__ == "__main__":
    unittest.main(verbosity=2)
