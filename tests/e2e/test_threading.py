#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Threading, the sender check and the loop guard, end to end through `pipe` and `route`."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DESK_CAN, DeskTestCase, sample  # noqa: E402


def mail(sender, subject, body="Hello.\n", msgid=None, extra="", to="support@example.com"):
    headers = "From: %s\nTo: %s\nSubject: %s\n" % (sender, to, subject)
    if msgid:
        headers += "Message-ID: <%s>\n" % msgid
    return (headers + extra + "\n" + body).encode()


# What the receiving server's OpenDKIM and OpenDMARC write for a genuine mail from staff.example.
STAFF_PROVEN = ("Authentication-Results: mx.example.com; dkim=pass (2048-bit key) "
                "header.d=staff.example header.i=@staff.example; dmarc=pass (p=reject dis=none) "
                "header.from=staff.example\n")


class Threading(DeskTestCase):
    def open_ticket(self, sender="Owner <owner@example.org>", msgid="first@example.org"):
        rc, _, err = self.pipe(mail(sender, "Printer broken", msgid=msgid))
        self.assertEqual(rc, 0, err)
        return self.desk.tickets()[-1]

    def test_reply_by_ticket_number_from_the_owner(self):
        ticket = self.open_ticket()
        reply = mail("owner@example.org", "Re: [Ticket ID: %s] Printer broken" % ticket["tid"],
                     "Still broken.\n\nOn Mon, 2 Mar 2026 at 10:00, Support <s@example.com> "
                     "wrote:\n> What model?\n", msgid="second@example.org")
        rc, _, err = self.pipe(reply)
        self.assertEqual(rc, 0, err)
        self.assertIn("action=replied", err)
        [t] = self.desk.tickets()
        self.assertEqual(len(t["messages"]), 2)
        # The reply carries the new words, not the quoted history.
        self.assertEqual(t["messages"][1]["message"], "Still broken.")
        self.assertEqual(self.pipe(reply)[0], 0)  # an MTA retry adds nothing
        self.assertEqual(len(self.desk.tickets()[0]["messages"]), 2)

    def test_reply_answered_after_the_timeout_is_adopted(self):
        ticket = self.open_ticket()
        reply = mail("owner@example.org", "Re: [Ticket ID: %s]" % ticket["tid"], "More.\n",
                     msgid="late@example.org")
        self.desk.fault("slow_after_create", actions=["AddTicketReply"], delay=5, count=1)
        rc, _, err = self.pipe(reply)
        self.assertEqual(rc, 75, err)
        self.assertEqual(len(self.desk.tickets()[0]["messages"]), 2)  # the desk did add it
        rc, _, err = self.pipe(reply)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()[0]["messages"]), 2)
        self.assertNotIn("AddTicketReply", [c["action"] for c in self.desk.calls()][-2:])

    def test_a_stranger_knowing_the_number_opens_a_new_ticket(self):
        ticket = self.open_ticket()
        rc, _, err = self.pipe(mail("mallory@example.net",
                                    "Re: [Ticket ID: %s] Printer broken" % ticket["tid"],
                                    msgid="stranger@example.net"))
        self.assertEqual(rc, 0, err)
        self.assertIn("neither the owner", err)
        tickets = self.desk.tickets()
        self.assertEqual(len(tickets), 2)
        self.assertEqual(len(tickets[0]["messages"]), 1)
        self.assertEqual(tickets[1]["email"], "mallory@example.net")

    def test_stranger_dropped_when_configured(self):
        ticket = self.open_ticket()
        with open(self.config, "a") as f:
            f.write("[threading]\nstranger = drop\n")
        rc, _, err = self.pipe(mail("mallory@example.net",
                                    "Re: [Ticket ID: %s] x" % ticket["tid"]))
        self.assertEqual(rc, 0, err)
        self.assertIn("action=dropped", err)
        self.assertEqual(len(self.desk.tickets()), 1)

    def test_in_reply_to_alone_threads(self):
        self.open_ticket(msgid="first@example.org")
        rc, _, err = self.pipe(mail("owner@example.org", "Another subject entirely",
                                    msgid="answer@example.org",
                                    extra="In-Reply-To: <first@example.org>\n"))
        self.assertEqual(rc, 0, err)
        self.assertIn("action=replied", err)
        [t] = self.desk.tickets()
        self.assertEqual(len(t["messages"]), 2)

    def test_someone_in_the_cc_list_may_reply(self):
        if "cc" not in DESK_CAN:
            self.skipTest("this desk's tickets keep no cc list to check a reply against")
        # With cc = param the desk keeps the cc list, which the sender check then reads.
        with open(self.config) as f:
            text = f.read()
        self.write_config(text.replace("priority = Medium", "priority = Medium\ncc = param"))
        rc, _, err = self.pipe(mail("owner@example.org", "Printer broken", msgid="cc1@x",
                                    extra="Cc: helper@example.org\n"))
        self.assertEqual(rc, 0, err)
        tid = self.desk.tickets()[0]["tid"]
        rc, _, err = self.pipe(mail("helper@example.org", "Re: [Ticket ID: %s]" % tid,
                                    msgid="cc2@x"))
        self.assertEqual(rc, 0, err)
        self.assertIn("action=replied", err)

    def test_unknown_ticket_number_opens_a_ticket(self):
        rc, _, err = self.pipe(mail("a@example.org", "Re: [Ticket ID: 999999] old"))
        self.assertEqual(rc, 0, err)
        self.assertIn("does not exist", err)
        self.assertEqual(len(self.desk.tickets()), 1)

    def test_closed_ticket_follows_the_setting(self):
        ticket = self.open_ticket()
        with open(self.config, "a") as f:
            f.write("[threading]\nclosed = open_new\n")
        self.close_ticket(ticket["id"])
        rc, _, err = self.pipe(mail("owner@example.org", "Re: [Ticket ID: %s]" % ticket["tid"]))
        self.assertEqual(rc, 0, err)
        self.assertIn("is closed", err)
        self.assertEqual(len(self.desk.tickets()), 2)

    def close_ticket(self, ticket_id):
        import urllib.parse
        import urllib.request
        from harness import IDENTIFIER, SECRET
        body = urllib.parse.urlencode({"action": "UpdateTicket", "responsetype": "json",
                                       "identifier": IDENTIFIER, "secret": SECRET,
                                       "ticketid": ticket_id, "status": "Closed"}).encode()
        with urllib.request.urlopen(self.desk.url + "/includes/api.php", body, timeout=10) as r:
            self.assertEqual(json.load(r)["result"], "success")


class AgentsAndDepartments(DeskTestCase):
    def test_agent_forward_opens_the_customers_ticket(self):
        """As the receiving server vouches for the agent's domain (tests/e2e/test_auth.py tries
        the forgeries)."""
        with open(self.config, "a") as f:
            f.write("[threading]\nagents = @staff.example\n[auth]\nauthserv_id = mx.example.com\n")
        inline = mail("Ann Agent <ann@staff.example>", "Fwd: Broken login", msgid="fw1@x",
                      extra=STAFF_PROVEN,
                      body="Please look at this.\n\n---------- Forwarded message ---------\n"
                           "From: Jane Customer <jane@customer.example>\n"
                           "Date: Mon, 2 Mar 2026 at 10:00\nSubject: Broken login\n\n"
                           "I cannot log in.\n")
        rc, _, err = self.pipe(inline)
        self.assertEqual(rc, 0, err)
        self.assertIn("forwarded by agent ann@staff.example", err)
        attached = (b"From: ann@staff.example\nTo: support@example.com\nSubject: Fwd: x\n"
                    + STAFF_PROVEN.encode() + b"Message-ID: <fw2@x>\nMIME-Version: 1.0\n"
                    b"Content-Type: multipart/mixed; boundary=\"b\"\n\n"
                    b"--b\nContent-Type: text/plain\n\nsee attached\n"
                    b"--b\nContent-Type: message/rfc822\n\n"
                    b"From: Joe <joe@customer.example>\nSubject: x\n\nhelp\n--b--\n")
        rc, _, err = self.pipe(attached)
        self.assertEqual(rc, 0, err)
        tickets = self.desk.tickets()
        want = [("Jane Customer", "jane@customer.example"), ("Joe", "joe@customer.example")]
        got = [(t["name"], t["email"]) for t in tickets]
        if "names" not in DESK_CAN:  # Thulium keeps the address only
            want, got = [w[1] for w in want], [g[1] for g in got]
        self.assertEqual(got, want)

    def test_agent_forward_with_a_broken_quoted_sender_says_so(self):
        """The text is searched for the forward's sender only when the decision asks (the
        sender is an agent); what GMime found wrong in that address still reaches the log."""
        with open(self.config, "a") as f:
            f.write("[threading]\nagents = @staff.example\n[auth]\nauthserv_id = mx.example.com\n")
        rc, _, err = self.pipe(mail("Ann Agent <ann@staff.example>", "Fwd: Broken login",
                                    msgid="fw4@x", extra=STAFF_PROVEN,
                                    body="Look.\n\n---------- Forwarded message ---------\n"
                                         "From: Jane jane@customer.example>\n"
                                         "Date: Mon, 2 Mar 2026\n\nI cannot log in.\n"))
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r'mail read with a warning key=mid:fw4@x#[0-9a-f]{16} '
                              r'warning="invalid address list: Jane jane@customer.example>"')
        self.assertEqual(self.desk.tickets()[0]["email"], "ann@staff.example")

    def test_forward_by_a_non_agent_is_the_forwarders_ticket(self):
        rc, _, err = self.pipe(mail("someone@example.org", "Fwd: x", msgid="fw3@x",
                                    body="---------- Forwarded message ---------\n"
                                         "From: Jane <jane@customer.example>\n"
                                         "Date: Mon, 2 Mar 2026\n\nhi\n"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.desk.tickets()[0]["email"], "someone@example.org")

    def test_one_ticket_per_department_and_no_double_on_retry(self):
        two = mail("a@x.example", "Invoice and outage", msgid="both@x",
                   to="support@example.com, billing@example.com")
        self.assertEqual(self.pipe(two)[0], 0)
        self.assertEqual([t["deptid"] for t in self.desk.tickets()], [1])
        with open(self.config, "a") as f:
            f.write("[threading]\nper_department = true\n")
        two = two.replace(b"both@x", b"both2@x")
        rc, _, err = self.pipe(two)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.pipe(two)[0], 0)
        self.assertEqual(sorted(t["deptid"] for t in self.desk.tickets()[1:]), [1, 2])


class LoopGuard(DeskTestCase):
    def test_out_of_office_and_bounce_are_dropped(self):
        for name in ("39-out-of-office-exchange.eml", "38-postfix-bounce.eml"):
            rc, _, err = self.pipe(sample(name))
            self.assertEqual(rc, 0, err)
            self.assertIn("action=dropped", err)
            self.assertIn("loop guard", err)
        self.assertEqual(self.desk.tickets(), [])

    def test_each_signal(self):
        cases = [
            ("Auto-Submitted: auto-replied\n", "auto-submitted"),
            ("Precedence: bulk\n", "Precedence: bulk"),
            ("X-Autoreply: yes\n", "X-Autoreply"),
            ("X-Auto-Response-Suppress: All\n", "X-Auto-Response-Suppress"),
            ("Return-Path: <>\n", "empty return path"),
        ]
        for i, (header, why) in enumerate(cases):
            rc, _, err = self.pipe(mail("a@example.org", "s%d" % i, extra=header,
                                        msgid="sig%d@x" % i))
            self.assertEqual(rc, 0, err)
            self.assertIn(why, err)
        for sender, why in (("MAILER-DAEMON@mx.example.net", "mail system"),
                            ("support@example.com", "our own address")):
            rc, _, err = self.pipe(mail(sender, "x", msgid=sender + "@x"))
            self.assertIn(why, err)
        rc, _, err = self.pipe(mail("a@example.org", "envelope", msgid="env@x"), "-f", "")
        self.assertIn("empty return path", err)
        self.assertEqual(self.desk.tickets(), [])

    def test_banned_sender_and_domain(self):
        with open(self.config, "a") as f:
            f.write("[loop]\nbanned = spam@example.net, @junk.example\n")
        for sender in ("spam@example.net", "anyone@junk.example"):
            rc, _, err = self.pipe(mail(sender, "buy", msgid=sender + "@x"))
            self.assertIn("banned sender", err)
        self.assertEqual(self.desk.tickets(), [])

    def test_eleventh_mail_in_fifteen_minutes_is_quarantined(self):
        """Kept for reprocess: mail held back during an outage comes in a burst."""
        for i in range(11):
            rc, _, err = self.pipe(mail("chatty@example.org", "Issue %d" % i, msgid="n%d@x" % i))
            self.assertEqual(rc, 0, err)
        self.assertIn("opened 10 tickets in the last 15 minutes", err)
        self.assertIn("action=quarantined", err)
        self.assertEqual(len(self.desk.tickets()), 10)
        with open(self.config, "a") as f:
            f.write("[loop]\nrate_limit = 0\n")
        rc, _, err = self.run_m2t("reprocess")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 11)

    def test_drops_are_recorded(self):
        self.pipe(sample("39-out-of-office-exchange.eml"))
        import sqlite3
        db = sqlite3.connect(os.path.join(self.dir, "state", "journal.db"))
        [(state, reason)] = db.execute("SELECT state, last_error FROM mails").fetchall()
        self.assertEqual(state, "dropped")
        self.assertIn("Auto-Submitted", reason)


class Route(DeskTestCase):
    def route(self, raw, *args):
        path = os.path.join(self.dir, "mail.eml")
        with open(path, "wb") as f:
            f.write(raw)
        rc, out, err = self.run_m2t("route", *args, path)
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    def test_route_shows_the_decision_and_sends_nothing(self):
        decision = self.route(sample("04-pdf-attachment.eml"))
        self.assertEqual(decision["action"], "open")
        self.assertEqual(decision["department"], 2)
        self.assertIn("department 2 from To billing@example.com", decision["why"])
        decision = self.route(sample("39-out-of-office-exchange.eml"))
        self.assertEqual(decision["action"], "drop")
        self.assertTrue(decision["why"][0].startswith("loop guard: auto-submitted"))
        self.assertEqual(self.desk.tickets(), [])
        self.assertEqual([c["action"] for c in self.desk.calls()], [])

    def test_route_checks_the_ticket_unless_offline(self):
        rc, _, err = self.pipe(mail("owner@example.org", "Printer", msgid="o@x"))
        tid = self.desk.tickets()[0]["tid"]
        raw = mail("owner@example.org", "Re: [Ticket ID: %s] Printer" % tid)
        decision = self.route(raw)
        self.assertEqual(decision["action"], "reply")
        self.assertEqual(decision["ticket"]["exists"], True)
        self.assertEqual(decision["ticket"]["owner"], "owner@example.org")
        calls = len(self.desk.calls())
        decision = self.route(raw, "--offline")
        self.assertEqual(decision["ticket"]["checked"], False)
        self.assertEqual(len(self.desk.calls()), calls)


if __name__ == "__main__":
    unittest.main(verbosity=2)
