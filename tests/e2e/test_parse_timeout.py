"""[parser] parse_timeout holds for every command that parses: a mail the parser does not finish
in time is quarantined (pipe, import, reprocess), shown as such (route) or refused (parse), and
the run goes on. The real binary against the sandbox desk."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CONFIG_TEMPLATE, IDENTIFIER  # noqa: E402
from service_harness import ServiceTestCase, maildir_files  # noqa: E402

REASON = "the parser did not finish within parse_timeout = 1 s"


def slow_mail():
    """A legitimate mail that takes the parser seconds: a 29 MB HTML table of a million rows
    (the renderer is linear; this is simply much of it). Not a timing assertion: it only has to
    take longer than parse_timeout = 1 s, several times over."""
    rows = "<tr><td>x</td><td>y</td></tr>" * 1000000
    return ("From: Big Report <reports@example.org>\nTo: support@example.com\n"
            "Subject: the big table\nMessage-ID: <slow-1@example.org>\nMIME-Version: 1.0\n"
            "Content-Type: text/html; charset=utf-8\n\n<table>" + rows + "</table>\n").encode()


def small_mail(n):
    return (f"From: Customer {n} <c{n}@example.org>\nTo: support@example.com\n"
            f"Subject: small {n}\nMessage-ID: <small-{n}@example.org>\n\nHello {n}.\n").encode()


def mbox(*mails):
    return b"".join(b"From sender@example.org Thu Mar  5 10:00:00 2026\n" + m + b"\n"
                    for m in mails)


class ParseTimeout(ServiceTestCase):
    timeout = 10

    def setUp(self):
        super().setUp()
        self.use_timeout(1)

    def use_timeout(self, seconds):
        text = CONFIG_TEMPLATE.format(url=self.desk.url, identifier=IDENTIFIER,
                                      timeout=self.timeout)
        self.config = self.write_config(text + f"\n[parser]\nparse_timeout = {seconds}\n")

    def test_pipe_quarantines_the_mail_and_exits_0(self):
        rc, _, err = self.pipe(slow_mail())
        self.assertEqual(rc, 0, err)
        self.assertIn("action=quarantined", err)
        self.assertIn(REASON, err)
        self.assertEqual(self.desk.tickets(), [])
        [(_, data)] = self.quarantine_files().items()
        self.assertTrue(data.endswith(slow_mail()))

    def test_parse_refuses_and_route_says_quarantine(self):
        path = os.path.join(self.dir, "slow.eml")
        with open(path, "wb") as f:
            f.write(slow_mail())
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
            f.write(mbox(small_mail(1), slow_mail(), small_mail(2)))
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

    def test_reprocess_with_a_longer_limit_delivers_it(self):
        rc, _, err = self.pipe(slow_mail())
        self.assertEqual(rc, 0, err)
        rc, _, err = self.run_m2t("reprocess")
        self.assertEqual(rc, 65, err)  # refused again: still too slow for 1 s
        self.assertEqual(len(self.quarantine_files()), 1)
        self.use_timeout(600)
        rc, _, err = self.run_m2t("reprocess")
        self.assertEqual(rc, 0, err)
        self.assertEqual([t["subject"] for t in self.desk.tickets()], ["the big table"])
        self.assertEqual(maildir_files(self.quarantine), {})


if __name__ == "__main__":
    unittest.main(verbosity=2)
