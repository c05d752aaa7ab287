#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What mail2ticket makes of the answers of the servers in front of a desk (a proxy, a WAF, a web
server with a body limit: tests/desk/front_proxy.py, sandbox_desk.py --max-body-mb) and of a
password in [desk] url: which failures wait (75), which quarantine the mail, and that no secret
of the desk's gets into a message, the journal or `stats`."""

import base64
import os
import sqlite3
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CONFIG_TEMPLATE, DESK_KIND, IDENTIFIER, PROXY_PASSWORD,  # noqa: E402
                     SECRET, DeskTestCase, FrontProxy, SandboxDesk)


def big_mail(subject, megabytes=2):
    """A mail with a random attachment of megabytes MB: a request over 1 MB to any desk."""
    data = base64.encodebytes(os.urandom(megabytes << 20)).decode()
    return (f"From: Ann <ann@example.org>\nTo: support@example.com\nSubject: {subject}\n"
            f"Message-ID: <{subject.replace(' ', '-')}@example.org>\nMIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
            "see attached\n--b\nContent-Type: application/octet-stream; name=a.bin\n"
            f"Content-Transfer-Encoding: base64\n\n{data}--b--\n").encode()


def small_mail(subject):
    return (f"From: Ann <ann@example.org>\nTo: support@example.com\nSubject: {subject}\n"
            f"Message-ID: <{subject.replace(' ', '-')}@example.org>\n"
            "Date: Thu, 5 Mar 2026 10:00:00 +0000\n\nHello.\n").encode()


class ProxiedDeskTestCase(DeskTestCase):
    """The sandbox desk reached through front_proxy.py started with proxy_args."""

    proxy_args = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.proxy = FrontProxy(cls.classdir, cls.desk, *cls.proxy_args)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.proxy.mode("pass")
        if os.path.exists(self.proxy.log_file):
            os.remove(self.proxy.log_file)
        self.config = self.write_config(url=self.proxy.url)

    def journal_errors(self):
        db = sqlite3.connect(os.path.join(self.dir, "state", "journal.db"))
        return "\n".join(row[0] or "" for row in db.execute("SELECT last_error FROM mails"))

    def quarantined(self):
        folder = os.path.join(self.dir, "state", "quarantine", "new")
        return os.listdir(folder) if os.path.isdir(folder) else []


class ExpectRefused(ProxiedDeskTestCase):
    """A proxy answering 417 to "Expect: 100-continue", which libcurl sends with a body over
    1 MB unless told not to: libcurl then begins the request again, which the write guard
    refuses, so every large mail waited for ever."""

    proxy_args = ("--refuse-expect",)

    def test_a_mail_over_1_mb_is_delivered_once(self):
        mail = big_mail("Large through a strict proxy")
        rc, _, err = self.pipe(mail)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 1)
        self.assertEqual([r for r in self.proxy.requests() if r.get("expect")], [])
        self.assertEqual(self.pipe(mail)[0], 0)
        self.assertEqual(len(self.desk.tickets()), 1)


class BodyLimit(DeskTestCase):
    """A desk whose web server takes no request over 1 MB (nginx's client_max_body_size): the
    same mail is refused on every try, so it is quarantined with the reason, not retried."""

    @classmethod
    def setUpClass(cls):
        cls.classdir = tempfile.mkdtemp(prefix="m2t-e2e-")
        cls.desk = SandboxDesk(cls.classdir, args=("--max-body-mb", "1"))
        cls.outputs = []

    def test_a_mail_past_the_limit_is_quarantined_naming_http_413(self):
        rc, _, err = self.pipe(big_mail("Too big for the desk"))
        self.assertEqual(rc, 0, err)
        self.assertIn("HTTP 413", err)
        self.assertIn("max_total_bytes", err)
        self.assertIn("quarantined", err)
        self.assertEqual(self.desk.tickets(), [])
        folder = os.path.join(self.dir, "state", "quarantine", "new")
        self.assertEqual(len(os.listdir(folder)), 1)
        rc, _, err = self.pipe(small_mail("Small enough"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 1)

    def test_the_spool_quarantines_it_instead_of_sending_it_for_ever(self):
        spool = os.path.join(self.dir, "spool")
        self.write_config(CONFIG_TEMPLATE.format(url=self.desk.url, identifier=IDENTIFIER,
                                                 timeout=self.timeout)
                          + "\n[pipe]\nspool = spool\n")
        self.assertEqual(self.pipe(big_mail("Too big, spooled"))[0], 0)
        for _ in range(3):  # the spool gives a refused mail three tries
            rc, _, err = self.run_m2t("poll", "--once")
            self.assertIn("HTTP 413", err)
        self.assertEqual(rc, 0, err)
        self.assertEqual(os.listdir(os.path.join(spool, "new")), [])
        folder = os.path.join(self.dir, "state", "quarantine", "new")
        self.assertEqual(len(os.listdir(folder)), 1)
        self.assertEqual(self.desk.tickets(), [])


class AnswersInDoubt(ProxiedDeskTestCase):
    def test_json_without_a_result_is_temporary_and_adopted_on_the_retry(self):
        """{"status":"ok"} after the desk opened the ticket: we cannot tell what the desk did,
        so the mail waits, and the retry finds the ticket instead of opening another."""
        mail = small_mail("Answered by a proxy")
        self.proxy.mode("noresult")
        rc, _, err = self.pipe(mail)
        self.assertEqual(rc, 75, err)
        self.assertEqual(self.quarantined(), [])
        self.assertEqual(len(self.desk.tickets()), 1)  # the desk did open it
        rc, _, err = self.pipe(mail)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 1)

    def test_an_answer_echoing_the_request_holds_no_secret(self):
        """A front that answers with the request it got: the start of that answer is quoted in
        the error, the journal and stats, without the secret or any start of it."""
        self.proxy.mode("echo")
        rc, out, err = self.pipe(small_mail("Echoed"))
        self.assertEqual(rc, 75, err)
        self.assertIn("REDACTED", err)
        rc, stats, stats_err = self.run_m2t("stats", "--days", "1")
        self.assertEqual(rc, 0, stats_err)
        with open(os.path.join(self.dir, "state", "journal.db"), "rb") as f:
            journal = f.read().decode("latin-1")
        texts = {"stderr": out + err, "journal": journal + self.journal_errors(),
                 "stats": stats + stats_err}
        # Thulium's echo holds the Basic credentials, identifier first, then the secret.
        encoded = {SECRET, SECRET[:8], base64.b64encode(f"{IDENTIFIER}:{SECRET}".encode())
                   .decode()}
        for where, text in texts.items():
            for secret in encoded:
                self.assertNotIn(secret, text, f"{secret!r} in the {where}")
        self.assertIn("REDACTED", self.journal_errors())


class PasswordInUrl(ProxiedDeskTestCase):
    """HTTP Basic authentication of a proxy in front of WHMCS, given as user:password in [desk]
    url: WHMCS sends it (its own credentials are form fields); Thulium and Keliweb, whose
    requests carry their own Authorization, refuse it. Nowhere is the password shown."""

    proxy_args = ("--basic", "proxyuser:" + PROXY_PASSWORD)
    PASSWORD = PROXY_PASSWORD

    def url_with_password(self, port=None):
        base = self.proxy.url if port is None else f"http://127.0.0.1:{port}"
        return base.replace("http://", "http://proxyuser:%s@" % self.PASSWORD)

    def assert_no_password(self, *texts):
        for text in texts:
            self.assertNotIn(self.PASSWORD, text)

    def test_the_password_is_never_shown(self):
        self.config = self.write_config(url=self.url_with_password(port=9))
        rc, out, err = self.pipe(small_mail("Desk down"))
        rc_check, check_out, check_err = self.run_m2t("check")
        self.assert_no_password(out, err, check_out, check_err)
        if DESK_KIND != "whmcs":
            self.assertEqual(rc_check, 78, check_err)
            self.assertIn("[desk] url", check_err)
            self.assertEqual(rc, 75, err)  # pipe: a config error keeps the mail
            return
        self.assertEqual(rc, 75, err)
        self.assertIn("http://proxyuser@127.0.0.1:9/", err)
        self.assert_no_password(self.journal_errors())
        rc, stats, stats_err = self.run_m2t("stats", "--days", "1")
        self.assert_no_password(stats, stats_err)

    @unittest.skipUnless(DESK_KIND == "whmcs", "only WHMCS takes a password in [desk] url")
    def test_the_password_reaches_the_proxy(self):
        self.config = self.write_config(url=self.url_with_password())
        rc, out, err = self.pipe(small_mail("Through a guarded proxy"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 1)
        self.assertTrue(all(r["basic"] for r in self.proxy.requests()), self.proxy.requests())
        self.assert_no_password(out, err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
