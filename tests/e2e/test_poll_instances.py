# SPDX-License-Identifier: LGPL-2.1-or-later
"""Several `poll` instances with one config and one journal on one real Dovecot mailbox: the
mailbox's lease in the journal lets one read it at a time. The holder killed with kill -9 midway
is taken over by the other when its lease runs out, and 300 mails still become 300 tickets, none
twice; two instances that both read the mailbox for a moment double nothing; a clean
SIGTERM hands the mailbox over at once; `poll --once` leaves a mailbox held by a live instance
to it.

The journal is a parameter: PollInstancesTest.state_section() gives the [state] section the
instances share: a SQLite file, since they run on one host, and in PostgresPollInstancesTest a
PostgreSQL database (tests/e2e/postgres.py starts a private server; those cases are skipped
where its binaries are missing), whose lease expiries are the server's clock.
"""

import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CONFIG_TEMPLATE, IDENTIFIER, OPEN_ACTION, wait_until  # noqa: E402
from postgres import ServerPerClass, available  # noqa: E402
from test_poll import MAILBOX_TEMPLATE, PollTestCase, mail  # noqa: E402

SQLITE_STATE = "[state]\npath = state/journal.db\nlease_seconds = {lease}\n"
# Short, so that a takeover comes within seconds (renewed every second).
LEASE_SECONDS = 3
MAILS = 300


class PollInstancesTest(PollTestCase):
    timeout = 10

    def state_section(self):
        """The [state] section (with {lease} for lease_seconds) every instance is given."""
        return SQLITE_STATE

    def use_shared_mailbox(self, lease=LEASE_SECONDS):
        """One config for every instance: the mailbox in IDLE (the interval is long, so only
        IDLE and the lease wake an instance) and the journal of state_section()."""
        dv = self.dovecot
        text = CONFIG_TEMPLATE.format(url=self.desk.url, identifier=IDENTIFIER,
                                      timeout=self.timeout)
        state = "[state]\npath = state/journal.db\n"
        self.assertIn(state, text)
        text = text.replace(state, self.state_section().format(lease=lease))
        text += MAILBOX_TEMPLATE.format(url=f"imaps://127.0.0.1:{dv.imaps_port}/INBOX",
                                        after="move:Processed", interval=600,
                                        extra=f"ca_file = {dv.ca_file}\n")
        self.config = self.write_config(text)

    def log_of(self, proc):
        with open(os.path.join(self.dir, f"poll-{self.procs.index(proc)}.log"),
                  errors="replace") as f:
            return f.read()

    def holder(self, procs, timeout=30):
        """The one of procs that holds the mailbox, once one says so."""
        def holding():
            found = [p for p in procs if "holding the mailbox" in self.log_of(p)]
            self.assertLessEqual(len(found), 1, self.poll_log())
            return found[0] if found else None
        return wait_until(holding, timeout, lambda: "nobody holds the mailbox\n" + self.poll_log())

    def stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=60), 0, self.log_of(proc))

    def test_holder_killed_midway_is_taken_over_and_every_mail_is_one_ticket(self):
        subjects = [f"Poll test {i}" for i in range(MAILS)]
        self.dovecot.append_many([mail(i) for i in range(MAILS)])
        self.use_shared_mailbox()
        # Slow enough that the run takes several seconds and the kill comes midway.
        self.desk.fault("slow", delay=0.03)
        procs = [self.start_poll(), self.start_poll()]
        holder = self.holder(procs)
        survivor = procs[1 - procs.index(holder)]
        self.wait_for_tickets(MAILS // 3, timeout=120)
        holder.kill()
        holder.wait()
        done_before_kill = len(self.desk.tickets())
        self.assertLess(done_before_kill, MAILS, "the run ended before the kill")

        self.wait_for_tickets(MAILS, timeout=240)
        wait_until(lambda: self.dovecot.count("INBOX") == 0, 60,
                   lambda: f"{self.dovecot.count('INBOX')} mails left\n" + self.poll_log())
        self.stop(survivor)
        print(f"\nkilled the holder after {done_before_kill} of {MAILS} tickets",
              file=sys.stderr)

        log = self.log_of(survivor)
        self.assertIn("the mailbox is held by another instance; waiting for it", log)
        self.assertRegex(log, r"took the mailbox over: its holder's lease ran out "
                              r'mailbox="?support"? instance=\S+ from=\S+')
        self.assertIn("released the mailbox", log)
        self.assert_one_ticket_each(subjects)
        self.assertEqual(self.dovecot.count("INBOX"), 0)
        self.assertEqual(self.dovecot.count("Processed"), MAILS)

    def test_two_instances_reading_the_mailbox_for_a_moment_give_no_ticket_twice(self):
        # One desk call of the holder hangs for twice its lease: the other instance takes the
        # mailbox over while the holder still believes it holds it and is in the middle of a
        # mail, so for a moment both read the mailbox. The mail's lock and the journal keep
        # that mail one ticket (the other instance waits for the lock, then finds the mail
        # handled); at their next renewal one of the two finds the lease another's and lets the
        # mailbox go. (A process frozen with SIGSTOP instead could be stopped inside a SQLite
        # write, which would keep the journal from the other one too.)
        subjects = [f"Poll test {i}" for i in range(60)]
        self.dovecot.append_many([mail(i) for i in range(60)])
        self.use_shared_mailbox()
        self.desk.fault("slow", delay=2 * LEASE_SECONDS, match="Poll test 20", count=1,
                        actions=[OPEN_ACTION])
        procs = [self.start_poll(), self.start_poll()]
        holder = self.holder(procs)
        other = procs[1 - procs.index(holder)]
        wait_until(lambda: "took the mailbox over" in self.log_of(other), 60,
                   lambda: "the mailbox was not taken over\n" + self.poll_log())
        self.wait_for_tickets(len(subjects), timeout=120)
        wait_until(lambda: self.dovecot.count("INBOX") == 0, 60,
                   lambda: f"{self.dovecot.count('INBOX')} mails left\n" + self.poll_log())
        wait_until(lambda: "lost the mailbox to another instance" in self.poll_log(), 60,
                   lambda: "neither instance let the mailbox go\n" + self.poll_log())
        self.stop(holder)
        self.stop(other)
        self.assertRegex(self.log_of(holder), r'mail handled source="mailbox support" '
                                              r'mail="UID 21" .*action=opened')
        self.assertNotRegex(self.log_of(other), r'mail="UID 21" .*action=opened')
        self.assert_one_ticket_each(subjects)
        self.assertEqual(self.dovecot.count("Processed"), len(subjects))

    def test_sigterm_hands_the_mailbox_over_at_once(self):
        # A long lease: taken over through its expiry, the standby would say so ("took the
        # mailbox over"); released, the lease is free and the standby is "holding" it.
        self.use_shared_mailbox(lease=30)
        procs = [self.start_poll(), self.start_poll()]
        holder = self.holder(procs)
        standby = procs[1 - procs.index(holder)]
        self.wait_for_log("the mailbox is held by another instance; waiting for it", 30)
        self.dovecot.append(mail(1))
        self.wait_for_tickets(1)

        self.stop(holder)
        self.assertIn("released the mailbox", self.log_of(holder))
        wait_until(lambda: "holding the mailbox" in self.log_of(standby), 60,
                   lambda: "the standby did not take the mailbox\n" + self.poll_log())
        self.assertNotIn("took the mailbox over", self.log_of(standby))
        self.dovecot.append(mail(2))
        self.wait_for_tickets(2)
        self.stop(standby)
        self.assert_one_ticket_each(["Poll test 1", "Poll test 2"])
        self.assertEqual(self.dovecot.count("Processed"), 2)

    def test_once_leaves_a_mailbox_held_by_a_live_instance_to_it(self):
        self.use_shared_mailbox()
        service = self.start_poll()
        self.holder([service])
        self.dovecot.append(mail(1))
        self.wait_for_tickets(1)
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 75, err)
        self.assertIn("the mailbox is held by another instance; waiting for it", err)
        self.assertIn("no lease on the mailbox; its mail waits", err)
        self.assertNotIn("holding the mailbox", err)
        self.stop(service)
        # Released by the service, the mailbox is --once's at once.
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assertIn("holding the mailbox", err)
        self.assertEqual(len(self.desk.tickets()), 1)


@unittest.skipUnless(available(), "no PostgreSQL server binaries (apt-get install postgresql)")
class PostgresPollInstancesTest(ServerPerClass, PollInstancesTest):
    def state_section(self):
        return ("[state]\nkind = postgresql\nurl = %s\npassword_file = %s\nquarantine = %s\n"
                "lease_seconds = {lease}\n" % (self.database_url, self.pg.password_file,
                                               os.path.join(self.dir, "quarantine")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
