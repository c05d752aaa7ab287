#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real MTA in front of `mail2ticket pipe`: a private Postfix (tests/e2e/postfix.py) takes mail
over SMTP on a loopback port and delivers it through a pipe(8) transport, `mail2ticket --config
CONF pipe -f ${sender} -r ${original_recipient}`, and through an aliases file's command, to the
sandbox desk.  Exit 75 must make Postfix keep the mail and try again; a retry must not make a
second ticket.

Skipped (with the reason printed) only where Postfix is not installed or the tests do not run as
root; exit status 77 then, which ctest reports as a skip (SKIP_RETURN_CODE)."""

import base64
import os
import shutil
import smtplib
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import postfix  # noqa: E402
from harness import BINARY, DESK_CAN, SECRET, DeskTestCase, sample  # noqa: E402

WHY_NOT = postfix.unavailable()
SENDER = "bounces+alice=example.org@lists.example.net"  # the envelope sender, not the From
RECIPIENTS = ["support@example.com", "billing@example.com", "sales@example.com"]


def make_mail(n, to="support@example.com", cc=None, message_id=True,
              sender="Alice Example <alice@example.org>"):
    """Mail number n (in its subject and Message-ID) from sender (None: no From at all)."""
    head = [f"From: {sender}"] if sender else []
    head.append(f"To: {to}")
    if cc:
        head.append(f"Cc: {cc}")
    head.append(f"Subject: Printer on floor {n} is jammed")
    head.append("Date: Mon, 02 Mar 2026 09:14:03 +0100")
    if message_id:
        head.append(f"Message-ID: <postfix-{n}-{os.getpid()}@example.org>")
    head += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    body = f"Hello,\n\nthe printer on floor {n} has been jammed since Monday.\n\nAlice\n"
    return ("\n".join(head) + "\n\n" + body).encode()


@unittest.skipIf(WHY_NOT, WHY_NOT)
class PostfixTestCase(DeskTestCase):
    """A sandbox desk per class; per test a fresh mail2ticket config and journal and a fresh
    Postfix whose mail2ticket service runs the real binary as postfix.PIPE_USER."""

    timeout = 3
    aliases = None  # {local part: alias destination}, with {binary} and {config} filled in
    virtual = None
    maxproc = 1     # one mail2ticket at a time; PostfixParallel runs Postfix's default

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        postfix.open_path(cls.classdir)
        cls.binary = BINARY
        if not postfix.runs_as_pipe_user([BINARY, "--help"]):
            # The build folder is closed to nobody (e.g. under a 0700 home): use a copy.
            cls.binary = os.path.join(cls.classdir, "mail2ticket")
            shutil.copy2(BINARY, cls.binary)
            os.chmod(cls.binary, 0o755)

    def setUp(self):
        super().setUp()
        postfix.open_path(self.dir)
        # What a real install does for the pipe's user: its secret, its journal folder.
        postfix.give_to_pipe_user(os.path.join(self.dir, "secret"), 0o600)
        os.makedirs(self.state_dir)
        postfix.give_to_pipe_user(self.state_dir, 0o700)
        aliases = {k: v.format(binary=self.binary, config=self.config)
                   for k, v in (self.aliases or {}).items()}
        self.mta = postfix.Postfix(self.dir, postfix.mail2ticket_argv(self.binary, self.config),
                                   recipients=RECIPIENTS, aliases=aliases, virtual=self.virtual,
                                   maxproc=self.maxproc)
        self.addCleanup(self.mta.stop)
        # What mail2ticket printed reaches Postfix's log (mail.log, which the harness keeps
        # with the case's other *.log files for the run's secret check) and bounces.
        self.addCleanup(lambda: self.assertNotIn(SECRET, self.mta.log(),
                                                 "the secret appeared in Postfix's log"))
        self.mta.start()

    @property
    def state_dir(self):
        return os.path.join(self.dir, "state")

    def write_config(self, text=None, **kw):
        path = super().write_config(text, **kw)
        postfix.give_to_pipe_user(path, 0o600)  # the service user's alone, as installed
        return path

    def deliver(self, raw, recipients, sender=SENDER):
        """Submit over SMTP and wait for the first attempt; returns (queue id, outcomes)."""
        qid = self.mta.submit(raw, sender, recipients)
        return qid, self.mta.wait_attempt(qid, recipients)

    def assertSent(self, outcomes, relay="mail2ticket"):
        for rcpt, d in outcomes.items():
            self.assertEqual((d.status, d.dsn, d.relay), ("sent", "2.0.0", relay),
                             f"{rcpt}: {d}\n" + self.mta.log())
            # pipe(8) adds the start of what mail2ticket printed (its log line) in brackets.
            self.assertTrue(d.reason.startswith("delivered via mail2ticket service"
                                                if relay == "mail2ticket"
                                                else "delivered to command: "), d)

    def assertDeferred(self, outcomes, says):
        for rcpt, d in outcomes.items():
            self.assertEqual((d.status, d.dsn), ("deferred", "4.3.0"), f"{rcpt}: {d}")
            # pipe(8) and local(8) report the exit status 75 (EX_TEMPFAIL) as "temporary
            # failure", followed by what mail2ticket printed.
            self.assertTrue(d.reason.startswith("temporary failure. Command output: "), d)
            self.assertIn(says, d.reason)

    def opened(self):
        """The desk calls that opened a ticket and were answered."""
        return [c for c in self.desk.calls() if c["action"] == "OpenTicket"
                and c.get("result") == "success"]

    def journal(self):
        """[(key, state, action, sender)] of every mail in the journal."""
        db = sqlite3.connect(os.path.join(self.state_dir, "journal.db"))
        try:
            return db.execute("SELECT key, state, action, sender FROM mails ORDER BY key"
                              ).fetchall()
        finally:
            db.close()


class PostfixDelivers(PostfixTestCase):
    def test_mail_over_smtp_becomes_one_ticket(self):
        qid, outcomes = self.deliver(make_mail(1), ["support@example.com"])
        self.assertSent(outcomes)
        self.assertNotIn(qid, self.mta.queue())
        [ticket] = self.desk.tickets()
        self.assertEqual(ticket["subject"], "Printer on floor 1 is jammed")
        self.assertEqual(ticket["deptid"], 1)
        # The mail's sender, not the envelope's (a list's bounce address here).
        self.assertEqual(ticket["email"], "alice@example.org")
        if "names" in DESK_CAN:
            self.assertEqual(ticket["name"], "Alice Example")
        self.assertIn("has been jammed since Monday", ticket["messages"][0]["message"])
        self.assertEqual(len(self.opened()), 1)
        [(key, state, action, sender)] = self.journal()
        self.assertRegex(key, rf"^mid:postfix-1-{os.getpid()}@example.org#[0-9a-f]{{16}}$")
        self.assertEqual((state, action, sender), ("delivered", "opened", "alice@example.org"))

    def test_envelope_recipient_picks_the_department(self):
        # The headers name support@ only; billing@ and sales@ get theirs as Bcc: only the
        # envelope recipient that Postfix passes as -r can route them.
        for n, rcpt in enumerate(RECIPIENTS):
            _, outcomes = self.deliver(make_mail(10 + n, to="support@example.com"), [rcpt])
            self.assertSent(outcomes)
        tickets = sorted(self.desk.tickets(), key=lambda t: t["subject"])
        self.assertEqual([t["deptid"] for t in tickets], [1, 2, 3])
        self.assertEqual([t["subject"] for t in tickets],
                         [f"Printer on floor {n} is jammed" for n in (10, 11, 12)])

    def test_envelope_sender_stands_in_for_a_missing_from(self):
        # -f ${sender}: the only sender a mail without From has.
        _, outcomes = self.deliver(make_mail(13, sender=None), ["support@example.com"],
                                   sender="env@example.org")
        self.assertSent(outcomes)
        self.assertEqual(self.desk.tickets()[0]["email"], "env@example.org")

    def test_one_mail_to_two_departments_per_department(self):
        # [threading] per_department: one mail to support@ and billing@ opens a ticket in each.
        with open(self.config, "a") as f:
            f.write("\n[threading]\nper_department = true\n")
        raw = make_mail(20, to="support@example.com", cc="billing@example.com")
        _, outcomes = self.deliver(raw, ["support@example.com", "billing@example.com"])
        self.assertSent(outcomes)
        tickets = self.desk.tickets()
        self.assertEqual(sorted(t["deptid"] for t in tickets), [1, 2], tickets)
        # The same mail again (a resend by the sender's server): nothing new.
        _, outcomes = self.deliver(raw, ["support@example.com", "billing@example.com"])
        self.assertSent(outcomes)
        self.assertEqual(len(self.desk.tickets()), 2)
        self.assertEqual(len(self.opened()), 2)

    def test_one_mail_to_two_addresses_is_one_ticket(self):
        # Without per_department a mail is one ticket however many of our addresses it went
        # to.  Postfix runs mail2ticket once per recipient (recipient limit 1); the second run
        # finds the mail in the journal.  The department is that of the recipient delivered
        # first (Postfix goes through a mail's recipients in address order: billing@ here).
        raw = make_mail(21, to="support@example.com", cc="billing@example.com")
        _, outcomes = self.deliver(raw, ["support@example.com", "billing@example.com"])
        self.assertSent(outcomes)
        [ticket] = self.desk.tickets()
        self.assertIn(ticket["deptid"], (1, 2))
        self.assertEqual(len(self.opened()), 1)
        self.assertEqual([row[1:3] for row in self.journal()], [("delivered", "opened")])

    def test_plus_address_routes_like_its_base_address(self):
        # recipient_delimiter = +: Postfix accepts support+urgent@ as support@'s, and passes the
        # whole address, which [departments] maps through support@'s entry.
        _, outcomes = self.deliver(make_mail(30, to="support+urgent@example.com"),
                                   ["support+urgent@example.com"])
        self.assertSent(outcomes)
        self.assertEqual(self.desk.tickets()[0]["deptid"], 1)

    def test_unknown_recipient_is_refused_during_smtp(self):
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as caught:
            self.mta.submit(make_mail(31, to="nobody@example.com"), SENDER,
                            ["nobody@example.com"])
        code, text = caught.exception.recipients["nobody@example.com"]
        self.assertEqual(code, 550, text)
        self.assertIn(b"User unknown in relay recipient table", text)
        self.assertEqual(self.mta.queue(), {})
        self.assertEqual(self.desk.tickets(), [])

    def test_a_bounce_is_delivered_but_opens_no_ticket(self):
        # The empty envelope sender of a bounce reaches mail2ticket as -f "" (null_sender=)
        # and as Return-Path: <> (flag R); the loop guard drops the mail, and exit 0 tells
        # Postfix it is done with it.
        _, outcomes = self.deliver(make_mail(32), ["support@example.com"], sender="")
        self.assertSent(outcomes)
        self.assertEqual(self.desk.calls(), [])
        [(_, state, _, _)] = self.journal()
        self.assertEqual(state, "dropped")

    def test_attachments_survive_the_mta(self):
        _, outcomes = self.deliver(sample("05-two-attachments.eml"), ["support@example.com"],
                                   sender="grace.holloway@example.net")
        self.assertSent(outcomes)
        [ticket] = self.desk.tickets()
        if "attachments" not in DESK_CAN:
            self.assertIn("2 attachments not sent", ticket["messages"][0]["message"])
            return
        got = {a["name"]: base64.b64decode(a["data_b64"])
               for a in ticket["messages"][0]["attachments"]}
        want = {a["filename"]: base64.b64decode(a["data"])
                for a in self.parsed("05-two-attachments.eml")["attachments"]}
        self.assertEqual(got, want)


class PostfixRewrites(PostfixTestCase):
    # An admin who sends sales@ on to support@'s queue with virtual_alias_maps.
    virtual = {"sales@example.com": "support@example.com"}

    def test_rewritten_recipient_keeps_the_address_the_sender_used(self):
        # ${original_recipient} is the address before Postfix's rewriting: sales@ (3), not
        # support@ (1) that the mail was rewritten to.
        qid, outcomes = self.deliver(make_mail(40, to="Sales <sales@example.com>"),
                                     ["sales@example.com"])
        self.assertSent(outcomes)
        [d] = outcomes.values()
        self.assertEqual((d.to, d.orig_to), ("support@example.com", "sales@example.com"))
        self.assertEqual(self.desk.tickets()[0]["deptid"], 3)


class PostfixDefers(PostfixTestCase):
    timeout = 3

    def test_failing_desk_defers_then_exactly_one_ticket(self):
        raw = make_mail(50)
        self.desk.fault("http500")
        qid, outcomes = self.deliver(raw, ["support@example.com"])
        self.assertDeferred(outcomes, "HTTP 500")
        queued = self.mta.queue()[qid]
        self.assertEqual(queued["queue_name"], "deferred")
        [rcpt] = queued["recipients"]
        self.assertTrue(rcpt["delay_reason"].startswith("temporary failure"), rcpt)
        self.assertEqual(self.desk.tickets(), [])
        # Still down: flushing only defers it again.
        self.mta.flush()
        self.assertDeferred(self.mta.wait_attempt(qid), "HTTP 500")
        self.assertEqual(self.desk.tickets(), [])
        # The desk recovers; the queue is flushed: one ticket.
        self.desk.fault("none")
        self.mta.flush()
        self.assertSent(self.mta.wait_attempt(qid))
        self.assertEqual(self.mta.queue(), {})
        self.assertEqual(len(self.desk.tickets()), 1)
        # Flushing an empty queue, then the same mail (same Message-ID) again: still one.
        self.mta.flush()
        _, outcomes = self.deliver(raw, ["support@example.com"])
        self.assertSent(outcomes)
        self.assertEqual(len(self.desk.tickets()), 1)
        self.assertEqual(len(self.opened()), 1)
        self.assertEqual([row[1:3] for row in self.journal()], [("delivered", "opened")])

    def test_unreachable_desk_defers_then_one_ticket(self):
        self.write_config(url="http://127.0.0.1:9")  # each run reads the config anew
        qid, outcomes = self.deliver(make_mail(51), ["billing@example.com"])
        self.assertDeferred(outcomes, "no answer from")
        self.assertEqual(self.desk.calls(), [])
        self.write_config()
        self.mta.flush()
        self.assertSent(self.mta.wait_attempt(qid))
        [ticket] = self.desk.tickets()
        self.assertEqual(ticket["deptid"], 2)

    def test_lost_answer_is_adopted_when_postfix_retries(self):
        # The desk opens the ticket but answers after mail2ticket gave up: exit 75, Postfix
        # keeps the mail; its retry finds the ticket and adopts it.
        self.desk.fault("slow_after_create", delay=5, count=1)
        qid, outcomes = self.deliver(make_mail(52), ["support@example.com"])
        self.assertDeferred(outcomes, "imed out")
        self.mta.wait_for(lambda: len(self.desk.tickets()) == 1, "the slow desk's ticket")
        self.mta.flush()
        self.assertSent(self.mta.wait_attempt(qid))
        self.assertEqual(len(self.desk.tickets()), 1)
        self.assertEqual([row[1:3] for row in self.journal()], [("delivered", "adopted")])

    def test_configuration_error_defers_the_mail_until_it_is_fixed(self):
        # pipe exits 75 on a config error: Postfix keeps the mail (a 78 would bounce it to the
        # customer, 5.3.5, with the config's path in the bounce); fixed, a flush delivers it.
        with open(self.config) as f:
            good = f.read()
        with open(self.config, "a") as f:
            f.write("colour = blue\n")
        qid, outcomes = self.deliver(make_mail(53), ["support@example.com"])
        self.assertDeferred(outcomes, "colour: unknown key")
        self.assertIn(qid, self.mta.queue())
        self.assertEqual(self.desk.calls(), [])
        with open(self.config, "w") as f:
            f.write(good)
        self.mta.flush()
        self.assertSent(self.mta.wait_attempt(qid))
        self.assertEqual(len(self.desk.tickets()), 1)


class PostfixAliases(PostfixTestCase):
    # The /etc/aliases form: local(8) runs the command for desk-billing@m2t.test.
    aliases = {"desk-billing":
               '"|{binary} --config {config} pipe -r billing@example.com"'}
    address = f"desk-billing@{postfix.LOCAL_DOMAIN}"

    def test_alias_command_opens_a_ticket_in_its_department(self):
        _, outcomes = self.deliver(make_mail(60, to=self.address), [self.address])
        self.assertSent(outcomes, relay="local")
        self.assertIn("delivered to command: ", outcomes[self.address].reason)
        [ticket] = self.desk.tickets()
        self.assertEqual(ticket["deptid"], 2)  # from -r in the alias
        self.assertEqual(ticket["email"], "alice@example.org")
        # local(8) puts a "From sender date" line on top; it is not part of the text.
        self.assertTrue(ticket["messages"][0]["message"].startswith("Hello,"),
                        ticket["messages"][0]["message"][:80])

    def test_alias_command_deferred_then_one_ticket(self):
        raw = make_mail(61, to=self.address)
        self.desk.fault("http500")
        qid, outcomes = self.deliver(raw, [self.address])
        self.assertDeferred(outcomes, "HTTP 500")
        self.assertEqual(self.mta.queue()[qid]["queue_name"], "deferred")
        self.desk.fault("none")
        self.mta.flush()
        self.assertSent(self.mta.wait_attempt(qid), relay="local")
        _, outcomes = self.deliver(raw, [self.address])
        self.assertSent(outcomes, relay="local")
        self.assertEqual(len(self.desk.tickets()), 1)
        self.assertEqual(len(self.opened()), 1)


class PostfixParallel(PostfixTestCase):
    maxproc = None  # Postfix's default: as many mail2ticket runs at once as it likes

    def test_parallel_deliveries_of_one_mail_make_one_ticket(self):
        # Postfix runs mail2ticket for support@ and billing@ at the same moment: the journal's
        # lock on the mail makes the second run wait for the first and find its ticket.
        for n in range(5):
            raw = make_mail(70 + n, to="support@example.com", cc="billing@example.com")
            self.deliver(raw, ["support@example.com", "billing@example.com"])
        self.mta.flush()
        self.mta.wait_for(lambda: not self.mta.queue(), "an empty queue")
        self.assertEqual(len(self.desk.tickets()), 5, [t["deptid"] for t in self.desk.tickets()])


class PostfixCopies(PostfixTestCase):
    aliases = PostfixAliases.aliases
    timeout = 3

    def test_bcc_copy_first_then_the_to_copy_with_per_department(self):
        # per_department, a mail To: support@ with billing@ in Bcc, the two copies delivered
        # one after the other, billing@'s first: its run opens tickets in 2 and 1 (keys
        # KEY#dept:2, KEY#dept:1); support@'s run, which sees only department 1, finds
        # KEY#dept:1 and opens nothing more.
        with open(self.config, "a") as f:
            f.write("\n[threading]\nper_department = true\n")
        raw = make_mail(80, to="support@example.com")
        for rcpt in ("billing@example.com", "support@example.com"):
            self.assertSent(self.deliver(raw, [rcpt])[1])
        self.assertEqual(sorted(t["deptid"] for t in self.desk.tickets()), [1, 2])

    def test_alias_retry_of_a_mail_without_message_id(self):
        # local(8) puts "From sender date" on top, with the time of each attempt; the key of a
        # mail without Message-ID is a digest of what follows such lines, so the retry after a
        # lost answer finds the earlier attempt and adopts its ticket.
        address = PostfixAliases.address
        self.desk.fault("slow_after_create", delay=5, count=1)
        qid, outcomes = self.deliver(make_mail(81, to=address, message_id=False), [address])
        self.assertDeferred(outcomes, "imed out")
        self.mta.wait_for(lambda: len(self.desk.tickets()) == 1, "the slow desk's ticket")
        self.mta.flush()
        self.assertSent(self.mta.wait_attempt(qid), relay="local")
        self.assertEqual(len(self.desk.tickets()), 1, "the retry opened a second ticket")


if __name__ == "__main__":
    program = unittest.main(verbosity=2, exit=False)
    result = program.result
    if WHY_NOT:
        print(f"postfix tests skipped: {WHY_NOT}")
    if result.testsRun and len(result.skipped) == result.testsRun:
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)
