#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Routing rules end to end: what a rule sets arrives at the desk."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DESK_CAN, DeskTestCase, sample  # noqa: E402

RULES = """
[rule vip]
header.X-Customer-Tier = gold
department = 3
priority = High
category = 4
status = 2
customfield.8 = Zürich office

[rule newsletters]
subject ~ = (?i)^\\[newsletter\\]
drop = newsletters are not support requests
"""


class Rules(DeskTestCase):
    def setUp(self):
        super().setUp()
        with open(self.config, "a") as f:
            f.write(RULES)

    def test_rule_actions_reach_the_desk(self):
        mail = (b"From: gold@customer.example\nTo: support@example.com\n"
                b"X-Customer-Tier: gold\nSubject: Help\nMessage-ID: <vip@x>\n\nPlease.\n")
        rc, _, err = self.pipe(mail)
        self.assertEqual(rc, 0, err)
        self.assertIn("rule vip matched", err)
        [t] = self.desk.tickets()
        self.assertEqual(t["deptid"], 3)
        self.assertEqual(t["customfields"], {"8": "Zürich office"})
        if "priority" in DESK_CAN:
            self.assertEqual(t["priority"], "High")
        else:
            self.assertIn("this desk's API takes no priority: the rule's is not sent rule=vip",
                          err)
        if "category" in DESK_CAN:
            self.assertEqual((t["category_id"], t["status_id"]), (4, 2))
        else:
            self.assertIn("this desk's API has no ticket category, status, tags or customer id: "
                          "the rule's are not sent rule=vip", err)

    def test_drop_rule(self):
        mail = b"From: a@x.example\nTo: support@example.com\nSubject: [Newsletter] May\n\nx\n"
        rc, _, err = self.pipe(mail)
        self.assertEqual(rc, 0, err)
        self.assertIn("newsletters are not support requests", err)
        self.assertEqual(self.desk.tickets(), [])

    def test_urgent_mail_gets_high_priority_without_a_rule(self):
        if "priority" not in DESK_CAN:
            self.skipTest("this desk's API has no ticket priority")
        rc, _, err = self.pipe(sample("14-high-priority.eml"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.desk.tickets()[0]["priority"], "High")


if __name__ == "__main__":
    unittest.main(verbosity=2)
