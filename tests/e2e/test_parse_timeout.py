# SPDX-License-Identifier: LGPL-2.1-or-later
"""[parser] parse_timeout holds for every command that parses: a mail the parser does not finish
in time is quarantined (pipe, import, reprocess), shown as such (route) or refused (parse), and
the run goes on. The real binary against the sandbox desk."""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, CONFIG_TEMPLATE, IDENTIFIER, SECRET  # noqa: E402
from service_harness import ServiceTestCase  # noqa: E402

REASON = "the parser did not finish within parse_timeout = 1 s"


def slow_mail(paragraphs):
    """A mail whose HTML holds paragraphs empty paragraphs: legitimate, read in linear time, and
    slow only by being large. ParseTimeout makes it large enough."""
    return ("From: Big Report <reports@example.org>\nTo: support@example.com\n"
            "Subject: the big table\nMessage-ID: <slow-1@example.org>\nMIME-Version: 1.0\n"
            "Content-Type: text/html; charset=utf-8\n\n" + "<p>" * paragraphs + "end\n").encode()


def small_mail(n):
    return (f"From: Customer {n} <c{n}@example.org>\nTo: support@example.com\n"
            f"Subject: small {n}\nMessage-ID: <small-{n}@example.org>\n\nHello {n}.\n").encode()


def mbox(*mails):
    return b"".join(b"From sender@example.org Thu Mar  5 10:00:00 2026\n" + m + b"\n"
                    for m in mails)


class ParseTimeout(ServiceTestCase):
    timeout = 10

    @classmethod
    def setUpClass(cls):
        """A mail the parser of this build needs at least 4 s for (four times parse_timeout =
        1 s): doubled from 10 MB until it is. Not a timing assertion: machines differ, so the
        input is sized on the machine the test runs on."""
        super().setUpClass()
        config = os.path.join(cls.classdir, "calibrate.conf")
        with open(os.path.join(cls.classdir, "secret"), "w") as f:
            f.write(SECRET + "\n")
        os.chmod(os.path.join(cls.classdir, "secret"), 0o600)
        with open(config, "w") as f:
            f.write(CONFIG_TEMPLATE.format(url=cls.desk.url, identifier=IDENTIFIER, timeout=10)
                    + "\n[parser]\nparse_timeout = 3600\n")
        os.chmod(config, 0o600)
        paragraphs = 3 << 20
        while True:
            cls.slow = slow_mail(paragraphs)
            started = time.monotonic()
            subprocess.run([BINARY, "--config", config, "route", "--offline", "-"],
                           input=cls.slow, capture_output=True, check=True)
            if time.monotonic() - started >= 4 or paragraphs >= 48 << 20:
                break
            paragraphs *= 2

    def setUp(self):
        super().setUp()
        self.use_timeout(1)

    def use_timeout(self, seconds):
        text = CONFIG_TEMPLATE.format(url=self.desk.url, identifier=IDENTIFIER,
                                      timeout=self.timeout)
        self.config = self.write_config(text + f"\n[parser]\nparse_timeout = {seconds}\n")

    def test_pipe_quarantines_the_mail_and_exits_0(self):
        rc, _, err = self.pipe(self.slow)
        self.assertEqual(rc, 0, err)
        self.assertIn("action=quarantined", err)
        self.assertIn(REASON, err)
        self.assertEqual(self.desk.tickets(), [])
        [(_, data)] = self.quarantine_files().items()
        self.assertTrue(data.endswith(self.slow))

    def test_parse_refuses_and_route_says_quarantine(self):
        path = os.path.join(self.dir, "slow.eml")
        with open(path, "wb") as f:
            f.write(self.slow)
        rc, out, err = self.run_m2t("parse", path)
        self.assertEqual(rc, 65, err)
        self.assertIn(REASON, err)
        self.assertEqual(out, "")
        rc, out, err = self.run_m2t("route", "--offline", path)
        self.assertEqual(rc, 0, err)
        self.assertIn('"action": "quarantine"', out)
        self.assertIn(REASON, out)

    def test_import_sets_it_aside_and_goes_on(self):
        archive = os.path.join(self.dir, "archive.mbox")
        with open(archive, "wb") as f:
            f.write(mbox(small_mail(1), self.slow, small_mail(2)))
        report = os.path.join(self.dir, "report.jsonl")
        rc, _, err = self.run_m2t("import", "--report", report, archive)
        self.assertEqual(rc, 0, err)
        self.assertIn("opened=2", err)
        self.assertIn("quarantined=1", err)
        self.assertEqual(sorted(t["subject"] for t in self.desk.tickets()),
                         ["small 1", "small 2"])
        with open(report) as f:
            self.assertIn(REASON, f.read())
        self.assertEqual(len(self.quarantine_files()), 1)
        # Again, reading every mail (a run limited by dates uses no checkpoint): the journal
        # knows the mail set aside by the digest of its bytes.
        rc, _, err = self.run_m2t("import", "--since", "2000-01-01", archive)
        self.assertEqual(rc, 0, err)
        self.assertIn("already-handled=3", err)
        self.assertEqual(len(self.quarantine_files()), 1, "the mail was set aside twice")
        self.assertEqual(len(self.desk.tickets()), 2)

    def test_reprocess_keeps_it_when_it_is_still_too_slow(self):
        rc, _, err = self.pipe(self.slow)
        self.assertEqual(rc, 0, err)
        [before] = self.quarantine_files()
        rc, _, err = self.run_m2t("reprocess")
        self.assertEqual(rc, 65, err)  # refused again: the file is replaced, never lost
        self.assertIn(REASON, err)
        [(after, data)] = self.quarantine_files().items()
        self.assertNotEqual(after, before)
        self.assertTrue(data.endswith(self.slow))
        self.assertEqual(self.desk.tickets(), [])

if __name__ == "__main__":
    unittest.main(verbosity=2)
