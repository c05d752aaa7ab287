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
from harness import (CONFIG_TEMPLATE, DESK_KIND, IDENTIFIER, SECRET,  # noqa: E402
                     DeskTestCase, FrontProxy, SandboxDesk)


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


if __name__ == "__main__":
    unittest.main(verbosity=2)
