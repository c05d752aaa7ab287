#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`kill -9` of `mail2ticket import` at random points, each followed by a re-run: the tickets and
replies at the desk must equal those of one clean run, none doubled, none missing."""

import collections
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, CONFIG_TEMPLATE, IDENTIFIER, SOURCE_DIR, DeskTestCase  # noqa: E402

KILLS = 10


def desk_state(tickets):
    """What one clean run leaves at the desk, in a form independent of ids and order."""
    return collections.Counter(
        (t["email"], t["subject"], tuple(m["message"] for m in t["messages"]))
        for t in tickets)


class ImportSurvivesKill(DeskTestCase):
    timeout = 5

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.archive = os.path.join(cls.classdir, "crash.mbox")
        subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "bench", "gen_mbox.py"),
                        cls.archive, "3", "7"], check=True, capture_output=True)

    def import_archive(self):
        return self.run_m2t("-q", "import", self.archive)

    def fresh_state(self):
        self.desk.reset()
        for name in os.listdir(os.path.join(self.dir)):
            if name == "state":
                subprocess.run(["rm", "-rf", os.path.join(self.dir, name)], check=True)

    def test_kill_at_random_points_then_rerun(self):
        rc, _, err = self.import_archive()
        self.assertEqual(rc, 0, err)
        clean = desk_state(self.desk.tickets())
        replies = sum(len(k[2]) - 1 for k in clean.elements())
        self.assertGreater(replies, 0, "the archive should hold threads")

        self.fresh_state()
        rng = random.Random(42)
        # A desk slow enough that a kill often lands while calls are in flight (four at a time).
        self.desk.fault("slow", delay=0.12)
        cmd = [BINARY, "--config", self.config, "-q", "import", self.archive]
        env = dict(os.environ)
        env.pop("MAIL2TICKET_SECRET", None)
        killed = 0
        for _ in range(KILLS):
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env=env)
            time.sleep(rng.uniform(0.05, 0.4))
            proc.send_signal(signal.SIGKILL)
            killed += proc.wait() == -signal.SIGKILL
        self.assertEqual(killed, KILLS, "every run should die mid-import")
        self.desk.fault("none")
        rc, _, err = self.import_archive()
        self.assertEqual(rc, 0, err)
        final = desk_state(self.desk.tickets())
        self.assertEqual(final, clean, f"missing or different: {clean - final}\n"
                                       f"extra or different: {final - clean}")
        db = sqlite3.connect(os.path.join(self.dir, "state", "journal.db"))
        adopted = db.execute("SELECT count(*) FROM mails WHERE action = 'adopted'").fetchone()
        print("%d tickets and replies; %d adopted after a kill" % (sum(clean.values()) + replies,
                                                                   adopted[0]))


    def test_calls_overlap_and_the_tickets_equal_a_one_at_a_time_run(self):
        text = CONFIG_TEMPLATE.format(url=self.desk.url, identifier=IDENTIFIER,
                                      timeout=self.timeout)
        self.config = self.write_config(
            text.replace("connect_timeout = 5", "connect_timeout = 5\nconcurrency = 1"))
        rc, _, err = self.import_archive()
        self.assertEqual(rc, 0, err)
        one_at_a_time = desk_state(self.desk.tickets())

        self.fresh_state()
        self.config = self.write_config(
            text.replace("connect_timeout = 5", "connect_timeout = 5\nconcurrency = 4"))
        self.desk.fault("slow", delay=0.02)
        rc, _, err = self.import_archive()
        self.assertEqual(rc, 0, err)
        self.assertEqual(desk_state(self.desk.tickets()), one_at_a_time)
        calls = [c for c in self.desk.calls() if c["action"] in ("OpenTicket", "AddTicketReply")]
        events = sorted([(c["started"], 1) for c in calls] + [(c["finished"], -1) for c in calls])
        in_flight = peak = 0
        for _, step in events:
            in_flight += step
            peak = max(peak, in_flight)
        print(f"\nat most {peak} desk calls were in flight at once", file=sys.stderr)
        self.assertGreaterEqual(peak, 2, "the calls never overlapped")
        self.assertLessEqual(peak, 4, "more calls in flight than concurrency = 4")


class ImportFiveThousand(DeskTestCase):
    timeout = 30

    def test_every_mail_accounted_for_and_threads_are_replies(self):
        archive = os.path.join(self.dir, "5000.mbox")
        subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "bench", "gen_mbox.py"),
                        archive, "--count", "5000", "--seed", "5", "--light"], check=True,
                       capture_output=True)
        with open(archive, "rb") as f:
            follow_ups = sum(1 for line in f if line.startswith(b"In-Reply-To: "))
        # Each write on a connection of its own: a few seconds more; the bound is for a hang.
        rc, _, err = self.run_m2t("import", archive, timeout=600)
        self.assertEqual(rc, 0, err)
        counts = dict(pair.split("=") for pair in
                      re.search(r'outcomes="([^"]*)"', err).group(1).split())
        self.assertEqual(sum(int(v) for v in counts.values()), 5000, counts)
        self.assertEqual(int(counts["replied"]), follow_ups)
        tickets = self.desk.tickets()
        self.assertEqual(len(tickets), int(counts["opened"]))
        self.assertEqual(sum(len(t["messages"]) for t in tickets), 5000)


if __name__ == "__main__":
    unittest.main(verbosity=2)
