#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Only a ticket's owner writes into it: the sender check trusts the receiving server's verdict
(Authentication-Results from [auth] authserv_id), not the From header. Forged From headers,
forged In-Reply-To, forged agent forwards and forged verdicts from a foreign server are tried
against the real binary and the sandbox desk; the genuine cases still thread as before. The
verdicts are written as OpenDKIM and OpenDMARC write them."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DeskTestCase  # noqa: E402

OWNER = "Vera Victim <victim@customer.example>"
AUTH = "[auth]\nauthserv_id = mx.example.com\n"


def verdict(dmarc="pass", dkim_domain=None, server="mx.example.com",
            from_domain="customer.example"):
    """An Authentication-Results header as the receiving server's milters write it."""
    parts = [server]
    if dkim_domain:
        parts.append(f"dkim=pass (2048-bit key; unprotected) header.d={dkim_domain} "
                     f"header.i=@{dkim_domain} header.b=AbC123")
    if dmarc:
        parts.append(f"dmarc={dmarc} (p=reject dis={'none' if dmarc == 'pass' else 'reject'}) "
                     f"header.from={from_domain}")
    return "Authentication-Results: " + "; ".join(parts) + "\n"


def mail(sender, subject, body="Hello.\n", msgid=None, extra=""):
    headers = f"From: {sender}\nTo: support@example.com\nSubject: {subject}\n"
    if msgid:
        headers += f"Message-ID: <{msgid}>\n"
    return (extra + headers + "\n" + body).encode()


class SenderProof(DeskTestCase):
    def setUp(self):
        super().setUp()
        with open(self.config, "a") as f:
            f.write(AUTH)
        rc, _, err = self.pipe(mail(OWNER, "Invoice question", "Please check my invoice.\n",
                                    msgid="open@customer.example", extra=verdict()))
        self.assertEqual(rc, 0, err)
        [self.ticket] = self.desk.tickets()

    def reply(self, extra="", sender="victim@customer.example", msgid="r@x", subject=None,
              more=""):
        subject = subject or f"Re: [Ticket ID: {self.ticket['tid']}] Invoice question"
        return mail(sender, subject, "Pay to account 666.\n", msgid=msgid, extra=extra + more)

    def assert_not_in_victims_ticket(self, err, reason):
        self.assertEqual(len(self.ticket_now()["messages"]), 1, err)
        self.assertIn(reason, err)

    def ticket_now(self):
        return next(t for t in self.desk.tickets() if t["id"] == self.ticket["id"])

    def test_the_owners_proven_reply_joins_the_ticket(self):
        rc, _, err = self.pipe(self.reply(verdict()))
        self.assertEqual(rc, 0, err)
        self.assertIn("action=replied", err)
        self.assertEqual(len(self.ticket_now()["messages"]), 2)

    def test_an_aligned_dkim_pass_is_proof_without_dmarc(self):
        rc, _, err = self.pipe(self.reply(verdict(dmarc=None, dkim_domain="mail.customer.example")))
        self.assertEqual(rc, 0, err)
        self.assertIn("action=replied", err)

    def test_a_forged_from_without_a_verdict_is_a_stranger(self):
        rc, _, err = self.pipe(self.reply())
        self.assertEqual(rc, 0, err)
        self.assert_not_in_victims_ticket(
            err, "From is victim@customer.example, but no Authentication-Results from "
                 "mx.example.com vouch for it")
        self.assertIn("action=opened", err)  # [threading] stranger = open

    def test_a_failed_dmarc_is_a_stranger(self):
        rc, _, err = self.pipe(self.reply(verdict(dmarc="fail")))
        self.assertEqual(rc, 0, err)
        self.assert_not_in_victims_ticket(
            err, "From is victim@customer.example, but DMARC failed at mx.example.com")

    def test_a_verdict_from_a_foreign_server_counts_for_nothing(self):
        rc, _, err = self.pipe(self.reply(verdict(server="mx.attacker.example")))
        self.assertEqual(rc, 0, err)
        self.assert_not_in_victims_ticket(err, "no Authentication-Results from mx.example.com")

    def test_a_pass_the_sender_wrote_below_the_servers_fail_counts_for_nothing(self):
        """The receiving server adds its verdict on top; what the sender put below is not it."""
        rc, _, err = self.pipe(self.reply(verdict(dmarc="fail"), more=verdict()))
        self.assertEqual(rc, 0, err)
        self.assert_not_in_victims_ticket(err, "DMARC failed at mx.example.com")

    def test_a_forged_in_reply_to_is_no_proof(self):
        forged = mail("victim@customer.example", "Re: Invoice question", "Pay to 666.\n",
                      msgid="r2@x", extra="In-Reply-To: <open@customer.example>\n")
        rc, _, err = self.pipe(forged)
        self.assertEqual(rc, 0, err)
        self.assert_not_in_victims_ticket(err, "no Authentication-Results from mx.example.com")

    def test_route_explains_the_decision(self):
        rc, out, err = self.run_m2t("route", "-", stdin=self.reply(verdict(dmarc="fail")))
        self.assertEqual(rc, 0, err)
        decision = json.loads(out)
        self.assertEqual(decision["action"], "open")
        self.assertTrue(any("but DMARC failed at mx.example.com" in why
                            for why in decision["why"]), decision["why"])

    def test_replies_any_trusts_the_from_header_and_check_says_so(self):
        with open(self.config, "a") as f:
            f.write("replies = any\n")
        rc, _, err = self.pipe(self.reply())
        self.assertEqual(rc, 0, err)
        self.assertIn("action=replied", err)
        rc, out, err = self.run_m2t("check")
        self.assertIn("[auth] replies = any: a forged From header writes into its victim's "
                      "tickets", err)


class AgentForwardProof(DeskTestCase):
    FORWARD = ("Please look at this.\n\n---------- Forwarded message ---------\n"
               "From: Vera Victim <victim@customer.example>\n"
               "Date: Mon, 2 Mar 2026 at 10:00\nSubject: Invoice\n\nI was charged twice.\n")

    def forward(self, extra="", msgid="fw@x"):
        return mail("Ann Agent <ann@staff.example>", "Fwd: Invoice", self.FORWARD, msgid=msgid,
                    extra=extra)

    def configure(self, text):
        with open(self.config, "a") as f:
            f.write("[threading]\nagents = @staff.example\n" + text)

    def test_a_proven_agent_forward_is_the_customers_ticket(self):
        self.configure(AUTH)
        rc, _, err = self.pipe(self.forward(verdict(from_domain="staff.example")))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.desk.tickets()[0]["email"], "victim@customer.example")

    def test_a_forged_agent_forward_is_the_forwarders_own_ticket(self):
        self.configure(AUTH)
        rc, _, err = self.pipe(self.forward(verdict(dmarc="fail", from_domain="staff.example")))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.desk.tickets()[0]["email"], "ann@staff.example")
        self.assertIn("a forward from agent ann@staff.example, but From is ann@staff.example, "
                      "but DMARC failed at mx.example.com", err)

    def test_agents_by_route_count_only_on_the_agents_address(self):
        self.configure("[auth]\nagents = route\nagent_recipients = agents@example.com\n")
        rc, _, err = self.pipe(self.forward(), "-r", "support@example.com")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.desk.tickets()[0]["email"], "ann@staff.example")
        rc, _, err = self.pipe(self.forward(msgid="fw2@x"), "-r", "agents@example.com")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.desk.tickets()[1]["email"], "victim@customer.example")

    def test_check_names_the_open_doors(self):
        self.configure("")
        rc, out, err = self.run_m2t("check")
        self.assertIn("[auth] authserv_id is not set", err)
        self.assertIn("[threading] agents without [auth] authserv_id", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
