# SPDX-License-Identifier: LGPL-2.1-or-later
"""Thulium as its public API pages document it (api.thulium.com/docs/api/): the ticket goes to a
mailbox (`to`), files go up as temporary files first, a customer's reply is PLAIN text with its
date and gets an empty answer. The sandbox speaks only the documented calls and fields, so a
guessed one fails here. The real binary against the sandbox desk in its Thulium mode."""

import base64
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DESK_KIND, DeskTestCase, sample  # noqa: E402

ATTACHED = b"""From: Ann <ann@example.org>
To: support@example.com
Subject: Logs
Message-ID: <logs@x>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

The logs are attached.
--b
Content-Type: application/octet-stream; name="trace.bin"
Content-Disposition: attachment; filename="trace.bin"
Content-Transfer-Encoding: base64

""" + base64.encodebytes(bytes(range(256)) * 40) + b"--b--\n"


@unittest.skipUnless(DESK_KIND == "thulium", "Thulium's own calls")
class ThuliumDocumentedApi(DeskTestCase):
    def calls_of(self, action):
        return [c for c in self.desk.calls() if c["action"] == action]

    def test_a_ticket_goes_to_the_mailbox_with_its_files(self):
        rc, _, err = self.pipe(ATTACHED)
        self.assertEqual(rc, 0, err)
        [upload] = self.calls_of("UploadFile")
        self.assertEqual(upload["params"], {"filename": "trace.bin", "size": "10240"})
        [create] = self.calls_of("OpenTicket")
        self.assertEqual(create["params"]["to"], "support@desk.example")
        self.assertEqual(create["params"]["from"], "ann@example.org")
        self.assertEqual(create["params"]["body_type"], "PLAIN")
        [ticket] = self.desk.tickets()
        [att] = ticket["messages"][0]["attachments"]
        self.assertEqual(att["name"], "trace.bin")
        self.assertEqual(base64.b64decode(att["data_b64"]), bytes(range(256)) * 40)
        self.assertNotIn("not sent", ticket["messages"][0]["message"])

    def test_a_recipient_mapped_to_a_mailbox_is_sent_as_to(self):
        with open(self.config) as f:
            text = f.read()
        self.config = self.write_config(
            text.replace("sales@example.com = 3", "sales@example.com = sales@desk.example"))
        rc, _, err = self.pipe(sample("01-plain.eml"), "--recipient", "sales@example.com")
        self.assertEqual(rc, 0, err)
        [create] = self.calls_of("OpenTicket")
        self.assertEqual(create["params"]["to"], "sales@desk.example")
        self.assertNotIn("ticket_queue_id", create["params"])
        self.assertEqual(self.desk.tickets()[0]["deptid"], 3)  # the mailbox's queue
        rc, out, err = self.run_m2t("route", "--offline", "-r", "sales@example.com", "-",
                                    stdin=sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        self.assertIn('"mailbox": "sales@desk.example"', out)

    def test_a_reply_is_plain_text_with_its_date_and_names_its_files(self):
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        reply = ATTACHED.replace(b"Subject: Logs", b"Subject: Re: [Ticket ID: %d] Logs"
                                 % ticket["id"]).replace(b"logs@x", b"reply@x")
        reply = reply.replace(b"Ann <ann@example.org>", b"<%s>" % ticket["email"].encode())
        rc, _, err = self.pipe(reply)
        self.assertEqual(rc, 0, err)  # the empty answer is Thulium's success
        self.assertIn("action=replied", err)
        [call] = self.calls_of("AddTicketReply")
        self.assertEqual(set(call["params"]), {"body", "body_type", "date"})
        self.assertEqual(call["params"]["body_type"], "PLAIN")
        self.assertRegex(call["params"]["date"], r"^\d{4}-\d\d-\d\d \d\d:\d\d$")
        self.assertEqual(self.calls_of("UploadFile"), [])  # the reply call takes no files
        [ticket] = self.desk.tickets()
        self.assertIn("1 attachment not sent", ticket["messages"][-1]["message"])
        self.assertIn("trace.bin (10240 bytes)", ticket["messages"][-1]["message"])

    def test_a_failed_upload_leaves_the_mail_and_the_retry_opens_one_ticket(self):
        self.desk.fault("http500", actions=["UploadFile"], count=1)
        rc, _, err = self.pipe(ATTACHED)
        self.assertEqual(rc, 75, err)
        self.assertIn("temporary_files", err)
        self.assertEqual(self.desk.tickets(), [])
        rc, _, err = self.pipe(ATTACHED)
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertEqual(len(ticket["messages"][0]["attachments"]), 1)

    def test_a_lost_answer_is_adopted_without_uploading_again(self):
        self.desk.fault("lose_answer", actions=["OpenTicket"], count=1)
        rc, _, err = self.pipe(ATTACHED)
        self.assertEqual(rc, 75, err)
        rc, _, err = self.pipe(ATTACHED)
        self.assertEqual(rc, 0, err)
        self.assertIn("action=adopted", err)
        self.assertEqual(len(self.desk.tickets()), 1)
        self.assertEqual(len(self.calls_of("UploadFile")), 1)

    def test_rules_set_tags_customer_and_named_custom_fields(self):
        with open(self.config, "a") as f:
            f.write("[rule vip]\nfrom = @example.org\ntags = vip, printer\ncustomer_id = 42\n"
                    "customfield.Contract = Gold\ncategory = 2\n")
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertEqual(ticket["tags"], ["vip", "printer"])
        self.assertEqual(ticket["customer_id"], 42)
        self.assertEqual(ticket["customfields"], {"Contract": "Gold"})
        self.assertEqual(ticket["category_id"], 2)

    def test_the_desk_refuses_what_its_pages_do_not_list(self):
        """The sandbox is as strict as the documentation: a guessed field is HTTP 400, and a
        refused mail is quarantined with the desk's words."""
        with open(self.config) as f:
            text = f.read()
        self.config = self.write_config(text.replace("mailbox = support@desk.example",
                                                     "mailbox = nobody@desk.example"))
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        self.assertIn("action=quarantined", err)
        self.assertIn("no mailbox nobody@desk.example", err)

    def test_a_wrong_path_leaves_the_mail_waiting(self):
        """A 404 of a call without a ticket in its path is the config's fault, not the mail's:
        quarantining would set every mail aside alike."""
        with open(self.config) as f:
            text = f.read()
        self.config = self.write_config(text.replace(
            "[desk]\n", "[desk]\ncreate_ticket_path = tickets-typo\n", 1))
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 75, err)
        self.assertIn("no such path (HTTP 404): check url and create_ticket_path", err)
        self.assertEqual(self.desk.tickets(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
