#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`mail2ticket pipe` end to end: the real binary, the sandbox desk, a journal on disk."""

import base64
import hashlib
import json
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DESK_CAN, DESK_KIND, OPEN_ACTION, SECRET, TICKET_NUMBER,  # noqa: E402
                     DeskTestCase, sample)


class PipeOpensTickets(DeskTestCase):
    def test_mail_becomes_a_ticket_with_every_part(self):
        mail = sample("10-cc-list.eml")
        rc, out, err = self.pipe(mail)
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertEqual(ticket["subject"], "VPN access for three new team members")
        self.assertEqual(ticket["email"], "dana.whitfield@example.org")
        self.assertEqual(ticket["deptid"], 1)
        first = ticket["messages"][0]["message"]
        if DESK_KIND == "thulium":
            # POST tickets has no field for the author's name, and takes the copies as `cc`.
            self.assertEqual(ticket["cc"], "bob@example.org,carol@example.net,juergen@example.net")
            self.assertTrue(first.startswith("Hi,\n"), first[:200])
            return
        self.assertEqual(ticket["name"], "Dana Whitfield")
        self.assertEqual(ticket["priority"], "Medium")
        # WHMCS's OpenTicket has no cc parameter: the cc addresses head the ticket text.
        self.assertTrue(first.startswith(
            "Cc: Bob Builder <bob@example.org>, carol@example.net, "
            "Jürgen Müller <juergen@example.net>\n\n"), first[:200])
        self.assertIn("Bob, Carol and Juergen (all in Cc) start on our team", first)
        self.assertRegex(err, r'mail handled source=pipe key=mid:\S+ action=opened ticket=\S+ '
                              r'why=.* ms=\d+')

    def test_attachments_arrive_with_names_and_bytes(self):
        rc, _, err = self.pipe(sample("05-two-attachments.eml"))
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        if "attachments" not in DESK_CAN:
            self.assertIn("2 attachments not sent", ticket["messages"][0]["message"])
            self.assertIn("error-dialog.png", ticket["messages"][0]["message"])
            self.assertIn("this desk's API takes no files", err)
            return
        got = {a["name"]: base64.b64decode(a["data_b64"])
               for a in ticket["messages"][0]["attachments"]}
        want = {a["filename"]: base64.b64decode(a["data"])
                for a in self.parsed("05-two-attachments.eml")["attachments"]}
        self.assertEqual(set(got), {"error-dialog.png", "failed-orders.csv"})
        self.assertEqual(got, want)
        self.assertTrue(got["error-dialog.png"].startswith(b"\x89PNG"))

    def test_department_from_recipient_and_encoded_names(self):
        rc, _, err = self.pipe(sample("11-rfc2231-filename.eml"))
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertEqual(ticket["deptid"], 2)  # billing@ through [departments]
        if "attachments" not in DESK_CAN:
            self.assertIn("Rechnung für März.pdf", ticket["messages"][0]["message"])
            return
        [att] = ticket["messages"][0]["attachments"]
        self.assertEqual(att["name"], "Rechnung für März.pdf")

    def test_envelope_recipient_routes_first(self):
        rc, _, err = self.pipe(sample("01-plain.eml"), "--recipient", "sales@example.com")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.desk.tickets()[0]["deptid"], 3)

    def test_split_encoded_subject_is_whole(self):
        rc, _, err = self.pipe(sample("09-split-encoded-words.eml"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.desk.tickets()[0]["subject"], "Домен не продлевается")

    def test_html_only_mail_becomes_readable_text(self):
        rc, _, err = self.pipe(sample("02-html-only.eml"))
        self.assertEqual(rc, 0, err)
        text = self.desk.tickets()[0]["messages"][0]["message"]
        self.assertIn("- Restarting the phone", text)
        self.assertIn("status page (https://status.example.net/)", text)
        self.assertNotIn("<", text)

    def test_same_mail_twice_makes_one_ticket(self):
        mail = sample("04-pdf-attachment.eml")
        self.assertEqual(self.pipe(mail)[0], 0)
        rc, _, err = self.pipe(mail)
        self.assertEqual(rc, 0, err)
        self.assertIn("action=already-handled", err)
        self.assertEqual(len(self.desk.tickets()), 1)
        # Thulium's file goes up first, once.
        uploads = ["UploadFile"] if DESK_KIND == "thulium" else []
        self.assertEqual([c["action"] for c in self.desk.calls()], uploads + ["OpenTicket"])

    def test_mail_without_message_id_is_keyed_by_its_bytes(self):
        mail = b"From: x@example.org\nTo: support@example.com\nSubject: no id\n\nhello\n"
        self.assertEqual(self.pipe(mail)[0], 0)
        self.assertEqual(self.pipe(mail)[0], 0)
        self.assertEqual(self.pipe(mail + b"changed\n")[0], 0)
        self.assertEqual(len(self.desk.tickets()), 2)


class PipeFailures(DeskTestCase):
    timeout = 2

    def test_http_500_is_temporary_then_recovers(self):
        mail = sample("01-plain.eml")
        self.desk.fault("http500")
        rc, _, err = self.pipe(mail)
        self.assertEqual(rc, 75, err)
        self.assertIn("HTTP 500", err)
        self.assertEqual(self.desk.tickets(), [])
        self.desk.fault("none")
        rc, _, err = self.pipe(mail)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 1)

    def test_answer_after_timeout_is_adopted_on_retry(self):
        mail = sample("06-iso-8859-1.eml")
        self.desk.fault("slow_after_create", delay=4, count=1)
        rc, _, err = self.pipe(mail)
        self.assertEqual(rc, 75, err)
        self.assertIn("imed out", err)
        self.assertEqual(len(self.desk.tickets()), 1)  # the desk did create it
        rc, _, err = self.pipe(mail)
        self.assertEqual(rc, 0, err)
        self.assertIn("adopted", err)
        tickets = self.desk.tickets()
        self.assertEqual(len(tickets), 1)
        db = sqlite3.connect(os.path.join(self.dir, "state", "journal.db"))
        row = db.execute("SELECT state, action, ticket_tid, attempts FROM mails").fetchone()
        self.assertEqual(row, ("delivered", "adopted", tickets[0]["tid"], 1))
        # The third time, the journal alone answers.
        self.assertEqual(self.pipe(mail)[0], 0)
        self.assertEqual(len(self.desk.tickets()), 1)

    def test_bad_credentials_are_temporary_and_named(self):
        self.desk.fault("auth")
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 75, err)
        self.assertIn("refused the API credentials", err)

    def test_wrong_secret_is_refused(self):
        rc, _, err = self.pipe(sample("01-plain.eml"), env={"MAIL2TICKET_SECRET": "wrong"})
        self.assertEqual(rc, 75, err)
        self.assertIn("refused the API credentials", err)
        self.assertNotIn("wrong", err.replace("wrong secret", ""))

    def test_unreadable_answer_is_temporary(self):
        self.desk.fault("badjson")
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 75, err)
        self.assertIn("not JSON", err)

    def test_a_huge_answer_is_not_read(self):
        """An answer past 32 MB is cut off, not read into memory; the mail waits (exit 75)."""
        self.write_config(timeout=60)  # 32 MB from a Python desk on a busy machine
        self.desk.fault("huge", count=1)
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 75, err)
        self.assertIn("is larger than 32 MB: not read", err)

    def test_desk_down_is_temporary(self):
        self.write_config(url="http://127.0.0.1:9")
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 75, err)
        self.assertIn("no answer from", err)

    def test_refused_mail_is_quarantined_not_lost(self):
        self.desk.fault("error", message="Department ID not found", count=1)
        mail = sample("01-plain.eml")
        rc, _, err = self.pipe(mail)
        self.assertEqual(rc, 0, err)
        self.assertIn("quarantined", err)
        self.assertIn("Department ID not found", err)
        qdir = os.path.join(self.dir, "state", "quarantine", "new")
        [kept] = os.listdir(qdir)
        with open(os.path.join(qdir, kept), "rb") as f:
            # After mail2ticket's envelope line, empty here: pipe had no -f, -r or --mailbox.
            self.assertEqual(f.read(), b"X-Mail2ticket-Envelope:\n" + mail)

    def test_the_apis_no_with_a_4xx_is_a_refusal_too(self):
        """A REST front may say no with HTTP 400: sent again, it says no again, so the mail
        is quarantined rather than retried for ever (a bare 400 still waits)."""
        self.desk.fault("error400", message="Department ID not found", count=1)
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        self.assertIn("action=quarantined", err)
        self.assertIn("Department ID not found", err)

    def test_mail_without_any_sender_is_quarantined(self):
        mail = b"To: support@example.com\nSubject: who?\n\nno sender at all\n"
        rc, _, err = self.pipe(mail)
        self.assertEqual(rc, 0, err)
        self.assertIn("no sender address", err)
        self.assertEqual(self.desk.tickets(), [])
        rc, _, err = self.pipe(mail, "--sender", "bounce@example.org")
        self.assertEqual(rc, 0, err)  # the journal remembers it was quarantined

    def test_input_without_any_header_is_quarantined(self):
        """Empty input, or text a script pipes in, is no mail: no ticket "(no subject)"."""
        for raw in (b"", b"just some text\n"):
            with self.subTest(raw=raw):
                rc, _, err = self.pipe(raw, "-f", "script@example.org")
                self.assertEqual(rc, 0, err)
                self.assertIn("no header at all", err)
                self.assertIn("action=quarantined", err)
        self.assertEqual(self.desk.tickets(), [])
        qdir = os.path.join(self.dir, "state", "quarantine", "new")
        self.assertEqual(len(os.listdir(qdir)), 2)

    def test_envelope_sender_stands_in_for_a_missing_from(self):
        mail = b"To: support@example.com\nSubject: envelope only\n\nhi\n"
        rc, _, err = self.pipe(mail, "-f", "env@example.org")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.desk.tickets()[0]["email"], "env@example.org")

    def test_busy_journal_is_temporary(self):
        self.assertEqual(self.pipe(sample("01-plain.eml"))[0], 0)
        db = sqlite3.connect(os.path.join(self.dir, "state", "journal.db"))
        db.execute("BEGIN IMMEDIATE")
        with open(self.config, "a") as f:
            f.write("busy_timeout_ms = 100\n")
        rc, _, err = self.pipe(sample("03-alternative.eml"))
        db.rollback()
        self.assertEqual(rc, 75, err)
        self.assertIn("busy", err)


class PipeCommandLine(DeskTestCase):
    def test_dry_run_prints_the_call_and_changes_nothing(self):
        rc, out, err = self.pipe(sample("04-pdf-attachment.eml"), "--dry-run")
        self.assertEqual(rc, 0, err)
        *uploads, call = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(call["desk"], DESK_KIND)
        self.assertEqual(call["action"], OPEN_ACTION)
        params = call["params"]
        self.assertNotIn(SECRET, out)
        if DESK_KIND == "whmcs":
            self.assertEqual(params["secret"], "REDACTED")
        self.assertEqual(params["subject"], "Question about invoice 2026-0042")
        if DESK_KIND == "thulium":
            # Thulium takes a file as an upload of its own, then its token with the ticket.
            self.assertEqual([(u["action"], u["params"]) for u in uploads],
                             [("temporary_files",
                               {"filename": "invoice-2026-0042.pdf", "size": 867})])
            self.assertEqual(params["to"], "support@desk.example")
            self.assertEqual(params["ticket_queue_id"], 2)
            self.assertEqual(params["body_type"], "PLAIN")
            self.assertEqual(params["attachments"], ["dry-run"])
        else:
            self.assertEqual(uploads, [])
            self.assertEqual(params["deptid"], "2")
            self.assertEqual(params["attachments"],
                             [{"name": "invoice-2026-0042.pdf", "size": 867}])
        self.assertEqual(self.desk.calls(), [])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "state")))

    def test_broken_config_exits_75_naming_the_key(self):
        # pipe answers a config error with 75, so the MTA keeps the mail instead of bouncing
        # it; the other commands exit 78.
        with open(self.config, "a") as f:
            f.write("colour = blue\n")
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 75, err)
        self.assertIn("mail2ticket.conf:", err)
        self.assertIn("[state] colour: unknown key", err)
        self.assertIn("the MTA keeps the mail", err)
        rc, _, err = self.run_m2t("route", "-", stdin=sample("01-plain.eml"))
        self.assertEqual(rc, 78, err)

    def test_missing_config_exits_75_for_pipe(self):
        self.config = os.path.join(self.dir, "nope.conf")
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 75, err)
        self.assertIn("nope.conf", err)

    def test_usage_errors_exit_64(self):
        for args in (["pipe", "extra"], ["pipe", "--bogus"], ["nosuchcommand"], []):
            rc, _, err = self.run_m2t(*args)
            self.assertEqual(rc, 64, (args, err))
            self.assertIn("usage:", err)

    def test_help_and_version(self):
        rc, out, _ = self.run_m2t("--help", config=False)
        self.assertEqual(rc, 0)
        self.assertIn("pipe", out)
        for command in ("pipe", "parse", "check"):
            rc, out, _ = self.run_m2t(command, "--help")
            self.assertEqual(rc, 0)
            self.assertIn("usage: mail2ticket " + command, out)
        rc, out, _ = self.run_m2t("--version", config=False)
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^mail2ticket \d+\.\d+\.\d+")

    def test_config_from_environment(self):
        rc, _, err = self.run_m2t("pipe", stdin=sample("01-plain.eml"), config=False,
                                  env={"MAIL2TICKET_CONFIG": self.config})
        self.assertEqual(rc, 0, err)

    def test_check_lists_departments(self):
        rc, out, err = self.run_m2t("check")
        self.assertEqual(rc, 0, err)
        self.assertIn("credentials accepted", out)
        if DESK_KIND == "thulium":
            self.assertIn("this desk's API lists no departments", out)
            return
        self.assertRegex(out, r"1\s+Support")
        with open(self.config) as f:
            text = f.read()
        text = text.replace("sales@example.com = 3", "sales@example.com = 3\nnew@example.com = 9")
        self.write_config(text)
        rc, out, err = self.run_m2t("check")
        self.assertEqual(rc, 78, err)
        self.assertIn("the desk has no department 9", err)

    def test_stats_counts_outcomes_errors_and_waiting_mail(self):
        rc, out, err = self.run_m2t("stats")
        self.assertEqual(rc, 0, err)
        self.assertIn("(no mail)", out)
        self.assertEqual(self.pipe(sample("01-plain.eml"))[0], 0)
        self.desk.fault("http500")
        self.assertEqual(self.pipe(sample("03-alternative.eml"))[0], 75)
        self.desk.fault("none")
        rc, out, err = self.run_m2t("stats", "--json")
        self.assertEqual(rc, 0, err)
        stats = json.loads(out)
        outcomes = {(o["source"], o["outcome"]): o["count"] for o in stats["outcomes"]}
        self.assertEqual(outcomes, {("pipe", "opened"): 1, ("pipe", "failed"): 1})
        self.assertEqual(stats["waiting_for_retry"], 1)
        [problem] = stats["latest_errors"]
        self.assertEqual(problem["state"], "failed")
        self.assertIn("HTTP 500", problem["error"])
        rc, out, err = self.run_m2t("stats", "--days", "1")
        self.assertEqual(rc, 0, err)
        self.assertIn("waiting for another attempt: 1", out)
        self.assertIn("HTTP 500", out)

    def test_json_logs(self):
        rc, _, err = self.run_m2t("--log-format", "json", "pipe", stdin=sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        lines = [json.loads(line) for line in err.splitlines()]
        opened = [line for line in lines if line["msg"] == "mail handled"]
        self.assertEqual(len(opened), 1)
        self.assertEqual(opened[0]["action"], "opened")
        self.assertEqual(opened[0]["source"], "pipe")
        self.assertRegex(opened[0]["ms"], r"^\d+$")
        self.assertRegex(opened[0]["ticket"], TICKET_NUMBER)
        self.assertTrue(opened[0]["key"].startswith("mid:"))

    def test_secret_is_not_in_the_process_arguments_or_desk_log(self):
        self.assertEqual(self.pipe(sample("01-plain.eml"))[0], 0)
        for call in self.desk.calls():
            self.assertNotIn(SECRET, json.dumps(call["params"]))
            if DESK_KIND == "whmcs":
                self.assertEqual(call["params"].get("secret"), "REDACTED")
        with open(self.config) as f:
            self.assertNotIn(SECRET, f.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
