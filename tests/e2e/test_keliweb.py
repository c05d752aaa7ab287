# SPDX-License-Identifier: LGPL-2.1-or-later
"""Keliweb as its public method pages document it: get-ticket, open-ticket and add-ticket-reply
with the fields those pages list (the sandbox refuses any other with HTTP 400, so every Keliweb
end-to-end test checks that), and the inferred list and department endpoints done without when a
server lacks them; and its login (apiv2.keliweb.it/docs/auth/v2/access-token): tokens got with
the password grant, renewed before their hour is out. The real binary against the sandbox desk in
its Keliweb mode."""

import email.message
import mailbox
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CLIENT_ID, CLIENT_SECRET, DESK_KIND, SECRET, USERNAME,  # noqa: E402
                     DeskTestCase, sample)

STATIC_TOKEN_WARNING = "Keliweb without client_id: the secret is sent as a fixed bearer token"


class KeliwebCase(DeskTestCase):
    def use_login(self, extra=""):
        """The config logs in: client_id and username here, the client secret in a file of its
        own, the password in the secret file."""
        path = os.path.join(self.dir, "client_secret")
        with open(path, "w") as f:
            f.write(CLIENT_SECRET + "\n")
        os.chmod(path, 0o600)
        with open(self.config) as f:
            text = f.read()
        self.config = self.write_config(text.replace(
            "priority = Medium", f"priority = Medium\nclient_id = {CLIENT_ID}\n"
            f"username = {USERNAME}\nclient_secret_file = client_secret{extra}"))

    def logins(self):
        return [c for c in self.desk.calls() if c["action"] == "token"]

    def api_calls(self):
        return [c for c in self.desk.calls() if c["action"] != "token"]

    def journal_bytes(self):
        with open(os.path.join(self.dir, "state", "journal.db"), "rb") as f:
            return f.read()


@unittest.skipUnless(DESK_KIND == "keliweb", "Keliweb's own calls")
class KeliwebDocumentedApi(KeliwebCase):
    def actions(self):
        return [c["action"] for c in self.desk.calls()]

    def test_only_documented_fields_are_sent(self):
        with open(self.config) as f:
            text = f.read()
        self.config = self.write_config(text.replace("priority = Medium",
                                                     "priority = Medium\ncc = param\nnoemail = true"))
        rc, _, err = self.pipe(sample("10-cc-list.eml"))
        self.assertEqual(rc, 0, err)
        self.assertIn("[desk] cc = param: Keliweb's open-ticket takes no cc", err)
        self.assertIn("[desk] noemail: Keliweb's open-ticket takes no noemail", err)
        [call] = self.desk.calls()
        self.assertEqual(set(call["params"]), {"deptid", "subject", "message", "name", "email"})
        self.assertTrue(self.desk.tickets()[0]["messages"][0]["message"].startswith("Cc: "))

    def test_an_answer_without_the_id_is_looked_up(self):
        """open-ticket's page promises only `result`: the ticket just opened is found by the
        list call, once."""
        self.desk.fault("bare_answer", actions=["OpenTicket"], count=1)
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertIn(f"ticket={ticket['tid']}", err)
        self.assertEqual(self.actions()[:2], ["OpenTicket", "GetTickets"])

    def without_the_list_call(self):
        with open(self.config) as f:
            text = f.read()
        self.config = self.write_config(text.replace(
            "priority = Medium", "priority = Medium\nget_tickets_endpoint = no-such-call"))

    def test_without_the_list_call_an_answer_without_the_id_is_still_one_ticket(self):
        self.without_the_list_call()
        self.desk.fault("bare_answer", actions=["OpenTicket"], count=1)
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        self.assertIn("opened the ticket without saying its number", err)
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        self.assertIn("action=already-handled", err)
        self.assertEqual(len(self.desk.tickets()), 1)

    def test_without_the_list_call_a_lost_answer_is_said_and_the_mail_goes_again(self):
        self.desk.fault("lose_answer", actions=["OpenTicket"], count=1)
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 75, err)
        self.without_the_list_call()
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        self.assertIn("cannot be looked for; the mail goes again", err)
        self.assertIn("Keliweb has no no-such-call endpoint", err)

    def test_check_says_which_call_the_server_lacks(self):
        self.desk.fault("missing", actions=["GetSupportDepartments"])
        rc, out, err = self.run_m2t("check")
        self.assertEqual(rc, 0, err)
        self.assertIn("Keliweb has no get-support-departments endpoint", out)
        self.assertIn("departments and credentials not checked here", out)
        # With a login, the login has checked the credentials.
        self.use_login()
        rc, out, err = self.run_m2t("check")
        self.assertEqual(rc, 0, err)
        self.assertIn("departments not checked here", out)

    def test_flags_are_sent_as_1(self):
        """Laravel's boolean rule refuses "true" (the sandbox answers 422 to it)."""
        with open(self.config) as f:
            text = f.read()
        self.config = self.write_config(text.replace("priority = Medium",
                                                     "priority = Medium\nmarkdown = true"))
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        [call] = self.desk.calls()
        self.assertEqual(call["params"]["markdown"], "1")
        self.assertTrue(self.desk.tickets()[0]["messages"][0]["markdown"])
        # GetTickets's ignore_dept_assignments, after an answer without the id.
        self.desk.fault("bare_answer", actions=["OpenTicket"], count=1)
        rc, _, err = self.pipe(sample("02-html-only.eml"))
        self.assertEqual(rc, 0, err)
        [lookup] = [c for c in self.desk.calls() if c["action"] == "GetTickets"]
        self.assertEqual(lookup["params"]["ignore_dept_assignments"], "1")
        self.assertEqual(lookup["http_status"], 200)


@unittest.skipUnless(DESK_KIND == "keliweb", "Keliweb's own calls")
class KeliwebLogin(KeliwebCase):
    def test_a_pipe_logs_in_once_and_uses_the_token(self):
        self.use_login()
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        self.assertNotIn(STATIC_TOKEN_WARNING, err)
        calls = self.desk.calls()
        self.assertEqual([c["action"] for c in calls][:2], ["token", "OpenTicket"])
        [login] = self.logins()
        self.assertEqual(login["http_status"], 200)
        self.assertEqual(login["params"], {"grant_type": "password", "client_id": CLIENT_ID,
                                           "client_secret": "REDACTED", "username": USERNAME,
                                           "password": "REDACTED"})
        for call in calls:
            self.assertEqual(call["headers"], {"X-Requested-With": "XMLHttpRequest",
                                               "Accept": "application/json"}, call)
        self.assertTrue(all(c["auth"] == "token" for c in self.api_calls()), calls)
        self.assertEqual(len(self.desk.tickets()), 1)

    def test_the_static_token_still_works_and_warns(self):
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        self.assertIn(STATIC_TOKEN_WARNING, err)
        self.assertEqual(self.logins(), [])
        self.assertEqual([c["auth"] for c in self.desk.calls()], ["static"])

    def test_check_logs_in(self):
        self.use_login()
        rc, out, err = self.run_m2t("check")
        self.assertEqual(rc, 0, err)
        self.assertIn(f"logged in at {self.desk.url}/oauth/token as {USERNAME} "
                      "(the token lasts 3600 s)", out)
        self.assertIn("credentials accepted", out)
        self.assertEqual(len(self.logins()), 1)

    def test_a_wrong_password_waits_and_names_the_refusal(self):
        self.use_login()
        password = "wrong-password-3e8a1f"
        rc, _, err = self.pipe(sample("01-plain.eml"), env={"MAIL2TICKET_SECRET": password})
        self.assertEqual(rc, 75, err)
        self.assertIn("Keliweb refused the API credentials at login (invalid_grant: The user "
                      "credentials were incorrect.)", err)
        for secret in (password, CLIENT_SECRET, SECRET):
            self.assertNotIn(secret, err)
            self.assertNotIn(secret.encode(), self.journal_bytes())
        self.assertEqual(self.api_calls(), [])
        self.assertEqual(self.desk.tickets(), [])
        # The mail waited: with the password mended, it goes.
        rc, _, err = self.pipe(sample("01-plain.eml"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 1)

    def test_a_wrong_client_secret_names_the_refusal(self):
        self.use_login()
        client_secret = "wrong-client-secret-77c1"
        rc, _, err = self.pipe(sample("01-plain.eml"),
                               env={"MAIL2TICKET_CLIENT_SECRET": client_secret})
        self.assertEqual(rc, 75, err)
        self.assertIn("(invalid_client: Client authentication failed)", err)
        self.assertNotIn(client_secret, err)
        self.assertNotIn(client_secret.encode(), self.journal_bytes())

    def test_a_login_without_its_keys_is_refused(self):
        for left_out, key in (("username", "username"),
                              ("client_secret_file", "client_secret_file")):
            self.config = self.write_config()
            self.use_login()
            with open(self.config) as f:
                lines = [line for line in f if not line.startswith(left_out + " =")]
            self.config = self.write_config("".join(lines))
            rc, _, err = self.run_m2t("check")
            self.assertEqual(rc, 78, err)
            self.assertIn(f"[desk] {key}: missing", err)
        # The client secret from the environment is enough.
        rc, _, err = self.run_m2t("check", env={"MAIL2TICKET_CLIENT_SECRET": CLIENT_SECRET})
        self.assertEqual(rc, 0, err)

    def test_a_plain_http_token_url_elsewhere_is_refused(self):
        self.use_login("\ntoken_url = http://login.example.com/oauth/token")
        rc, _, err = self.run_m2t("check")
        self.assertEqual(rc, 78, err)
        self.assertIn("[desk] token_url: http://login.example.com/oauth/token would send the "
                      "API secret unencrypted", err)

    def test_a_refused_token_is_dropped_and_the_write_not_sent_again(self):
        """A 401 fails the call (the journal decides about sending it again) and the next
        call logs in anew."""
        self.use_login("\nconcurrency = 1")
        self.desk.fault("auth", actions=["OpenTicket"], count=1)
        path = write_mbox(self.dir, 2)
        rc, _, err = self.run_m2t("import", path)
        self.assertEqual(rc, 0, err)
        self.assertIn("refused the API credentials (HTTP 401)", err)
        opens = [c for c in self.api_calls() if c["action"] == "OpenTicket"]
        self.assertEqual([c["http_status"] for c in opens].count(401), 1)
        self.assertEqual(len(opens), 3)
        self.assertEqual(len(self.desk.tickets()), 2)
        # The first login's token was dropped at the 401, though it had an hour to go.
        self.assertEqual(len(self.logins()), 2)


def write_mbox(folder, count):
    """An mbox of count mails, each its own thread."""
    path = os.path.join(folder, "many.mbox")
    box = mailbox.mbox(path)
    for i in range(count):
        msg = email.message.EmailMessage()
        msg["From"] = f"Sender {i} <sender{i}@example.org>"
        msg["To"] = "support@example.com"
        msg["Subject"] = f"Question number {i}"
        msg["Message-ID"] = f"<question-{i}@example.org>"
        msg["Date"] = "Mon, 01 Jan 2024 10:00:00 +0000"
        msg.set_content(f"Question {i}: how does it work?\n")
        box.add(msg)
    box.close()
    return path


@unittest.skipUnless(DESK_KIND == "keliweb", "Keliweb's own calls")
class KeliwebShortTokens(KeliwebCase):
    """Tokens that last 2 s against a desk that takes 0.7 s a ticket: an import outlives several
    and renews each before it runs out."""

    desk_token_lifetime = 2
    timeout = 10

    def test_an_import_renews_the_token_and_sends_each_mail_once(self):
        self.use_login("\nconcurrency = 1")
        self.desk.fault("slow", actions=["OpenTicket"], delay=0.7)
        count = 8
        rc, _, err = self.run_m2t("import", write_mbox(self.dir, count))
        self.assertEqual(rc, 0, err)
        calls = self.desk.calls()
        self.assertEqual([c for c in calls if c["http_status"] == 401], [])
        self.assertGreaterEqual(len(self.logins()), 2, calls)
        opens = [c for c in calls if c["action"] == "OpenTicket"]
        self.assertEqual(len(opens), count)
        self.assertTrue(all(c["auth"] == "token" for c in self.api_calls()), calls)
        subjects = sorted(t["subject"] for t in self.desk.tickets())
        self.assertEqual(subjects, sorted(f"Question number {i}" for i in range(count)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
