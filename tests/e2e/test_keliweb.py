# SPDX-License-Identifier: LGPL-2.1-or-later
"""Keliweb as its public method pages document it: get-ticket, open-ticket and add-ticket-reply
with the fields those pages list (the sandbox refuses any other with HTTP 400, so every Keliweb
end-to-end test checks that), and the inferred list and department endpoints done without when a
server lacks them. The real binary against the sandbox desk in its Keliweb mode."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DESK_KIND, DeskTestCase, sample  # noqa: E402


@unittest.skipUnless(DESK_KIND == "keliweb", "Keliweb's own calls")
class KeliwebDocumentedApi(DeskTestCase):
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
