# SPDX-License-Identifier: LGPL-2.1-or-later
"""poll against a real Dovecot (IMAP and POP3, TLS with a self-signed certificate trusted through
ca_file) and the sandbox desk: exactly one ticket per mail through desk failures, server restarts
and kill -9, IDLE latency, TLS refusals, and mail set aside without blocking the rest."""

import collections
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dovecot import Dovecot, untrusted_ca_file  # noqa: E402
from harness import (BINARY, CONFIG_TEMPLATE, OPEN_ACTION, SECRET, DeskTestCase,  # noqa: E402
                     read_file, wait_until)

MAILBOX_TEMPLATE = """
[mailbox support]
url = {url}
user = support
password_file = mailbox.pass
after = {after}
start = all
interval = {interval}
timeout = 10
{extra}
"""


def mail(n, subject=None, size=0):
    subject = subject or f"Poll test {n}"
    body = f"Body of mail {n}.\r\n" + ("x" * 76 + "\r\n") * (size // 78)
    return (f"From: Customer {n} <customer{n}@example.org>\r\n"
            f"To: support@example.com\r\n"
            f"Subject: {subject}\r\n"
            f"Message-ID: <poll-{n}@example.org>\r\n"
            f"Date: Tue, 24 Nov 2026 10:{n % 60:02d}:00 +0000\r\n"
            f"\r\n{body}").encode()


class PollTestCase(DeskTestCase):
    timeout = 5
    dovecot_ssl = True
    dovecot_options = {}  # more Dovecot(...) arguments; a subclass may set it before setUp

    def setUp(self):
        super().setUp()
        # Dovecot's unprivileged processes must reach their files below the scratch folders.
        os.chmod(self.classdir, 0o755)
        os.chmod(self.dir, 0o755)
        self.dovecot = Dovecot(self.dir, ssl=self.dovecot_ssl, **self.dovecot_options)
        self.dovecot.start()
        self.addCleanup(self.dovecot.stop)
        with open(os.path.join(self.dir, "mailbox.pass"), "w") as f:
            f.write(self.dovecot.password + "\n")
        os.chmod(os.path.join(self.dir, "mailbox.pass"), 0o600)
        self.procs = []
        self.addCleanup(self.kill_procs)

    def kill_procs(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr:
                proc.stderr.close()

    def use_mailbox(self, url=None, after="move:Processed", interval=60, extra="",
                    concurrency=None):
        dv = self.dovecot
        url = url or f"imaps://127.0.0.1:{dv.imaps_port}/INBOX"
        if dv.ca_file and "ca_file" not in extra.split("\n[mailbox")[0]:
            extra = f"ca_file = {dv.ca_file}\n" + extra
        text = CONFIG_TEMPLATE.format(url=self.desk.url, identifier="e2e-identifier",
                                      timeout=self.timeout)
        if concurrency is not None:
            text = text.replace("[desk]\n", f"[desk]\nconcurrency = {concurrency}\n", 1)
        text += MAILBOX_TEMPLATE.format(url=url, after=after, interval=interval, extra=extra)
        self.config = self.write_config(text)

    def poll_once(self, *args):
        return self.run_m2t("poll", "--once", *args)

    def start_poll(self, *args):
        cmd = [BINARY, "--config", self.config, "poll", *args]
        env = dict(os.environ)
        env.pop("MAIL2TICKET_SECRET", None)
        log = open(os.path.join(self.dir, f"poll-{len(self.procs)}.log"), "wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        self.procs.append(proc)
        return proc

    def poll_log(self):
        text = ""
        for i in range(len(self.procs)):
            with open(os.path.join(self.dir, f"poll-{i}.log"), errors="replace") as f:
                text += f.read()
        self.assertNotIn(SECRET, text)
        self.assertNotIn(self.dovecot.password, text)
        # A GLib warning (g_propagate_error() given no error, and the like) is a bug here.
        self.assertNotIn("-CRITICAL **", text)
        return text

    def wait_for_log(self, text, timeout):
        deadline = time.monotonic() + timeout
        while text not in self.poll_log():
            if time.monotonic() > deadline:
                self.fail(f"no '{text}' in the log after {timeout} s\n" + self.poll_log())
            time.sleep(0.05)

    def wait_for_tickets(self, n, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tickets = self.desk.tickets()
            if len(tickets) >= n:
                return tickets
            time.sleep(0.05)
        self.fail(f"{len(self.desk.tickets())} tickets after {timeout} s, expected {n}\n"
                  + self.poll_log())

    def assert_one_ticket_each(self, subjects):
        counts = collections.Counter(t["subject"] for t in self.desk.tickets())
        doubled = {s: c for s, c in counts.items() if c > 1}
        self.assertEqual(doubled, {}, "mail turned into more than one ticket")
        self.assertEqual(sorted(counts), sorted(subjects))


def backlog(threads, tag=lambda k: ""):
    """threads openers with two replies each (In-Reply-To and References naming the mails before
    them), each reply a mail or two behind the mail it answers, so that a thread is on the desk
    lanes at once: [(subject, raw)] in the order they arrive. tag(k): text for thread k's
    opener's subject only (e.g. to aim a desk fault at it)."""
    def one(k, n):
        ids = [f"<backlog-{k}-{j}@example.org>" for j in range(n + 1)]
        subject = f"Backlog {k}{tag(k)}" if n == 0 else f"Re: Backlog {k}"
        head = (f"From: Customer {k} <customer{k}@example.org>\r\n"
                f"To: support@example.com\r\n"
                f"Subject: {subject}\r\n"
                f"Message-ID: {ids[n]}\r\n"
                f"Date: Tue, 24 Nov 2026 11:{k % 60:02d}:{n:02d} +0000\r\n")
        if n:
            head += f"In-Reply-To: {ids[n - 1]}\r\nReferences: {' '.join(ids[:n])}\r\n"
        return subject, (head + f"\r\nMessage {n} of backlog {k}.\r\n").encode()
    order = []
    for k in range(threads + 3):
        order += [(k, 0)] if k < threads else []
        order += [(k - 1, 1)] if 1 <= k <= threads else []
        order += [(k - 3, 2)] if 3 <= k <= threads + 2 else []
    return [one(k, n) for k, n in order]


def thread_of(subject):
    """The thread number k of "Backlog k", "Backlog k [desk fails]" or "Re: Backlog k"."""
    return int(subject.split("Backlog ")[1].split()[0])


class BacklogTest(PollTestCase):
    """A backlog on the desk lanes: fetched ahead on the poll thread, delivered on [desk]
    concurrency lanes with each thread's mails in order, acknowledged after the journal has
    the answer, the UID mark moved only over the mails handled without a gap."""

    def journal_mark(self):
        db = sqlite3.connect(os.path.join(self.dir, "state", "journal.db"))
        try:
            return db.execute("SELECT last_uid FROM mailbox_marks").fetchone()[0]
        finally:
            db.close()

    def assert_threads_whole(self, threads, failing=()):
        """One ticket per thread (but the failing ones), holding its three mails in order."""
        tickets = self.desk.tickets()
        self.assertEqual(sorted(thread_of(t["subject"]) for t in tickets),
                         [k for k in range(threads) if k not in failing])
        for t in tickets:
            k = thread_of(t["subject"])
            self.assertEqual([m["message"].strip() for m in t["messages"]],
                             [f"Message {n} of backlog {k}." for n in range(3)],
                             f"ticket {t['subject']}: replies missing, doubled or out of order")

    def run_backlog(self, concurrency):
        mails = backlog(40)
        uids = self.dovecot.append_many([raw for _, raw in mails])
        self.use_mailbox(concurrency=concurrency)
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_threads_whole(40)
        self.assertEqual(self.dovecot.count("INBOX"), 0)
        self.assertEqual(self.dovecot.count("Processed"), 120)
        self.assertEqual(self.journal_mark(), max(uids))
        calls = len(self.desk.calls())
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.calls()), calls, "a second run called the desk")

    def test_120_mails_in_40_threads_on_4_lanes(self):
        self.run_backlog(4)

    def test_120_mails_in_40_threads_on_one_lane(self):
        self.run_backlog(1)

    def test_flag_marks_every_mail_seen(self):
        mails = backlog(10)
        self.dovecot.append_many([raw for _, raw in mails])
        self.use_mailbox(after="flag", concurrency=8)
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_threads_whole(10)
        flags = self.dovecot.flags("INBOX")
        self.assertEqual(len(flags), 30)
        self.assertTrue(all("\\Seen" in f for f in flags.values()), flags)

    def test_desk_failing_on_some_threads_leaves_them_whole_for_the_next_pass(self):
        failing = {3, 4, 11, 25, 26, 39}
        mails = backlog(40, lambda k: " [desk fails]" if k in failing else "")
        uids = self.dovecot.append_many([raw for _, raw in mails])
        self.use_mailbox(concurrency=4)
        self.desk.fault("http500", match="[desk fails]")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 75, err)
        # The failing threads' replies were not sent either: they would have opened tickets.
        self.assert_threads_whole(40, failing)
        left = [subject for subject, _ in mails if thread_of(subject) in failing]
        self.assertEqual(self.dovecot.count("INBOX"), len(left))
        self.assertEqual(self.dovecot.count("Processed"), 120 - len(left))
        first_left = min(uid for uid, (subject, _) in zip(uids, mails)
                         if thread_of(subject) in failing)
        self.assertEqual(self.journal_mark(), first_left - 1)
        self.desk.fault("none")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_threads_whole(40)
        self.assertEqual(self.dovecot.count("INBOX"), 0)
        self.assertEqual(self.journal_mark(), max(uids))

    def test_pop3_backlog_is_deleted_after_its_deliveries(self):
        mails = backlog(15)
        self.dovecot.append_many([raw for _, raw in mails])
        self.use_mailbox(url=f"pop3s://127.0.0.1:{self.dovecot.pop3s_port}", after="delete",
                         concurrency=4)
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_threads_whole(15)
        self.assertEqual(self.dovecot.count("INBOX"), 0)


class ImapPollTest(PollTestCase):
    def test_once_turns_50_mails_into_50_tickets_then_none(self):
        self.dovecot.append_many([mail(i) for i in range(50)])
        self.use_mailbox()
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each([f"Poll test {i}" for i in range(50)])
        self.assertEqual(self.dovecot.count("INBOX"), 0)
        self.assertEqual(self.dovecot.count("Processed"), 50)
        self.assertRegex(err, r'mail handled source="mailbox support" mail="UID 1" '
                              r'key=mid:poll-0@example.org#[0-9a-f]{16} action=opened ticket=')
        calls = len(self.desk.calls())
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 50)
        self.assertEqual(len(self.desk.calls()), calls, "a second run called the desk")

    def test_starttls_plain_and_flag_keep_the_mail_and_do_not_repeat(self):
        self.dovecot.append_many([mail(i) for i in range(5)])
        self.use_mailbox(url=f"imap://127.0.0.1:{self.dovecot.imap_port}/INBOX", after="flag",
                         extra="auth = plain")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 5)
        self.assertEqual(self.dovecot.count("INBOX"), 5)
        self.assertTrue(all("\\Seen" in f for f in self.dovecot.flags("INBOX").values()))
        self.dovecot.append(mail(5))
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each([f"Poll test {i}" for i in range(6)])

    def test_start_unseen_leaves_mail_read_before_the_first_start(self):
        self.dovecot.append(mail(0), flags="\\Seen")
        self.dovecot.append(mail(1))
        self.use_mailbox(extra="start = unseen")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(["Poll test 1"])
        self.assertEqual(self.dovecot.count("INBOX"), 1)

    def mark_read(self, folder="INBOX"):
        """A person opens every mail of folder in a mail client: \\Seen."""
        with self.dovecot.session() as imap:
            imap.select(folder)
            imap.store("1:*", "+FLAGS", "(\\Seen)")

    def test_start_unseen_delivers_a_waiting_mail_someone_has_read(self):
        """start = unseen is for the mail read before the first start; a mail the desk failed
        on, left in the folder and then opened by someone, still waits in the journal."""
        self.dovecot.append_many([mail(1), mail(2, "Poll test 2 [desk fails]"), mail(3)])
        self.use_mailbox(extra="start = unseen")
        self.desk.fault("http500", match="[desk fails]")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 75, err)
        self.assertEqual(self.dovecot.count("INBOX"), 1)
        self.mark_read()
        self.desk.fault("none")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(["Poll test 1", "Poll test 2 [desk fails]", "Poll test 3"])
        self.assertEqual(self.dovecot.count("INBOX"), 0)

    def test_start_unseen_after_a_uidvalidity_change_delivers_a_waiting_mail_read(self):
        """The folder restored from a backup (new UIDVALIDITY, flags kept): the waiting mail,
        read meanwhile, is found in the journal by its key; read mail the journal does not know
        is still left alone."""
        url = f"imaps://127.0.0.1:{self.dovecot.imaps_port}/Support"
        self.dovecot.append(mail(0), "Support", flags="\\Seen")
        self.dovecot.append_many([mail(1), mail(2, "Poll test 2 [desk fails]"), mail(3)],
                                 "Support")
        self.use_mailbox(url=url, extra="start = unseen")
        self.desk.fault("http500", match="[desk fails]")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 75, err)
        waiting = self.dovecot.messages("Support")[1]
        self.dovecot.delete("Support")
        self.dovecot.append(mail(0), "Support", flags="\\Seen")
        self.dovecot.append(waiting, "Support", flags="\\Seen")
        self.desk.fault("none")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assertIn("UIDVALIDITY changed", err)
        self.assert_one_ticket_each(["Poll test 1", "Poll test 2 [desk fails]", "Poll test 3"])
        self.assertEqual(self.dovecot.count("Support"), 1)
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 3)

    def test_idle_turns_a_new_mail_into_a_ticket_quickly(self):
        # interval is long, so only IDLE can notice the mail.
        self.use_mailbox(interval=600)
        proc = self.start_poll()
        self.wait_for_log("watching mailbox", 15)
        time.sleep(1)  # the first (empty) pass is done and IDLE has begun
        started = time.monotonic()
        self.dovecot.append(mail(1))
        self.wait_for_tickets(1, timeout=10)
        took = time.monotonic() - started
        print(f"\nIDLE: appended mail became a ticket in {took:.2f} s", file=sys.stderr)
        self.assertLess(took, 10)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=15), 0, self.poll_log())
        self.assertIn("stopped by a signal", self.poll_log())

    def test_without_idle_mail_arriving_in_an_empty_folder_is_seen(self):
        """idle = false polls every interval; the folder's message count libetpan keeps is not
        refreshed between passes then, so an empty folder (also one emptied by our own MOVE)
        must still be asked about new mail."""
        self.use_mailbox(interval=1, extra="idle = false")
        proc = self.start_poll()
        self.wait_for_log("watching mailbox", 15)
        time.sleep(2)  # a pass or two over the empty folder
        self.dovecot.append(mail(1))
        self.wait_for_tickets(1, timeout=15)
        wait_until(lambda: self.dovecot.count("INBOX") == 0, 15, self.poll_log)
        time.sleep(2)  # passes over the folder our MOVE emptied
        self.dovecot.append(mail(2))
        self.wait_for_tickets(2, timeout=15)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=15), 0, self.poll_log())
        self.assert_one_ticket_each(["Poll test 1", "Poll test 2"])
        self.assertEqual(self.dovecot.count("Processed"), 2)

    def test_desk_failing_for_20_of_50_mails_leaves_them_until_it_recovers(self):
        failing = {i for i in range(50) if i % 5 in (1, 3)}
        self.dovecot.append_many(
            [mail(i, f"Poll test {i}" + (" [desk fails]" if i in failing else ""))
             for i in range(50)])
        self.use_mailbox()
        self.desk.fault("http500", match="[desk fails]")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 75, err)
        self.assertEqual(len(self.desk.tickets()), 30)
        self.assertEqual(self.dovecot.count("INBOX"), 20)
        left = {m.split(b"Subject: ")[1].split(b"\r\n")[0].decode()
                for m in self.dovecot.messages("INBOX")}
        self.assertEqual(left, {f"Poll test {i} [desk fails]" for i in failing})
        self.desk.fault("none")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each([f"Poll test {i}" + (" [desk fails]" if i in failing else "")
                                     for i in range(50)])
        self.assertEqual(self.dovecot.count("INBOX"), 0)

    def test_a_desk_that_is_down_pauses_the_mailbox(self):
        self.dovecot.append_many([mail(i) for i in range(10)])
        self.use_mailbox()
        self.desk.fault("http503")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 75, err)
        self.assertIn("the desk is failing; the mailbox pauses", err)
        opened = [c for c in self.desk.calls() if c.get("action") == "OpenTicket"]
        self.assertLessEqual(len(opened), 3, "the mailbox went on calling a desk that is down")
        self.assertEqual(self.dovecot.count("INBOX"), 10)

    def test_a_mail_the_desk_keeps_failing_is_retried_with_a_growing_pause(self):
        """The service tries a mail the desk fails on (temporarily) again after 1 s, 2, 4, ...
        rather than every second, says so at error level after five failed passes, and new
        mail is still delivered at once."""
        self.dovecot.append_many([mail(1), mail(2, "Poll test 2 [desk fails]"), mail(3)])
        self.use_mailbox(interval=600)
        self.desk.fault("http500", match="[desk fails]")
        started = time.monotonic()
        proc = self.start_poll()
        self.wait_for_log("mailbox keeps failing", 40)
        took = time.monotonic() - started

        def opens():
            return [c for c in self.desk.calls() if c.get("action") == OPEN_ACTION
                    and "[desk fails]" in json.dumps(c)]
        # Five passes (at 0, 1, 3, 7 and 15 s) before the error line; one a second would
        # have made it after 5 s.
        self.assertGreater(took, 10, self.poll_log())
        tried = len(opens())
        self.assertLessEqual(tried, 6, self.poll_log())
        self.dovecot.append(mail(4))
        self.wait_for_tickets(3, timeout=5)
        time.sleep(5)
        self.assertLessEqual(len(opens()), tried + 2, "retried at once again")
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=15), 0, self.poll_log())
        self.assert_one_ticket_each(["Poll test 1", "Poll test 3", "Poll test 4"])
        self.assertEqual(self.dovecot.count("INBOX"), 1)

    def test_dovecot_restarted_mid_run(self):
        self.dovecot.append_many([mail(i) for i in range(50)])
        self.use_mailbox(interval=600)
        self.desk.fault("slow", delay=0.1)
        proc = self.start_poll()
        self.wait_for_tickets(10)
        self.dovecot.stop()
        time.sleep(1.5)
        self.dovecot.start()
        self.wait_for_tickets(50, timeout=90)
        # The mails the lanes delivered while the server was away are acknowledged by the
        # first pass after the reconnection, which comes after a backoff.
        wait_until(lambda: self.dovecot.count("INBOX") == 0, 60,
                   lambda: f"{self.dovecot.count('INBOX')} mails left\n" + self.poll_log()
                   + "\nDovecot's log:\n" + self.dovecot.log())
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0)
        log = self.poll_log()
        self.assertIn("the mailbox cannot be read", log)
        self.assert_one_ticket_each([f"Poll test {i}" for i in range(50)])
        self.assertEqual(self.dovecot.count("INBOX"), 0)
        self.assertEqual(self.dovecot.count("Processed"), 50)

    def test_kill_9_at_random_points_then_restart(self):
        subjects = [f"Poll test {i}" for i in range(40)]
        self.dovecot.append_many([mail(i) for i in range(40)])
        self.use_mailbox(interval=600)
        self.desk.fault("slow", delay=0.05)
        rng = random.Random(5)
        for _ in range(20):
            proc = self.start_poll()
            time.sleep(rng.uniform(0.1, 0.6))
            proc.kill()
            proc.wait()
        self.desk.fault("none")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(subjects)
        self.assertEqual(self.dovecot.count("INBOX"), 0)
        self.assertEqual(self.dovecot.count("Processed"), 40)

    def test_after_folder_deleted_by_another_client_is_made_again(self):
        """Folders named in after are created when missing, also when another client deletes
        one while poll runs: the refused MOVE changed nothing, so it is tried once more."""
        self.use_mailbox(interval=600)
        proc = self.start_poll()
        self.wait_for_log("watching mailbox", 15)
        self.dovecot.append(mail(1))
        self.wait_for_tickets(1, timeout=15)
        wait_until(lambda: self.dovecot.count("Processed") == 1, 15, self.poll_log)
        self.dovecot.delete("Processed")
        self.dovecot.append(mail(2))
        self.wait_for_tickets(2, timeout=15)
        wait_until(lambda: self.dovecot.count("INBOX") == 0, 10,
                   lambda: f"{self.dovecot.count('INBOX')} mails left\n" + self.poll_log())
        self.assertEqual(self.dovecot.count("Processed"), 1)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=15), 0, self.poll_log())
        self.assertNotIn("Mailbox doesn't exist", self.poll_log())
        self.assert_one_ticket_each(["Poll test 1", "Poll test 2"])

    def test_oversized_mail_is_set_aside_and_the_rest_goes_on(self):
        self.dovecot.append_many([mail(0), mail(1, size=30000), mail(2)])
        self.use_mailbox(extra="max_message_bytes = 20K\nfailed = move:Failed")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(["Poll test 0", "Poll test 2"])
        self.assertEqual(self.dovecot.count("Failed"), 1)
        self.assertIn("over max_message_bytes", err)

    def test_mail_refused_by_the_desk_goes_to_failed_after_max_failures(self):
        self.dovecot.append_many([mail(0, "Refused one"), mail(1)])
        self.use_mailbox(extra="max_failures = 2\nfailed = move:Failed")
        self.desk.fault("error", match="Refused one", message="Invalid department")
        for expected_rc in (75, 0):
            rc, _, err = self.poll_once()
            self.assertEqual(rc, expected_rc, err)
        self.assertIn("Invalid department", err)
        self.assert_one_ticket_each(["Poll test 1"])
        self.assertEqual(self.dovecot.count("Failed"), 1)
        self.assertEqual(self.dovecot.count("INBOX"), 0)

    def test_sighup_reloads_the_config(self):
        self.use_mailbox(interval=600)
        proc = self.start_poll()
        self.wait_for_log("watching mailbox", 15)
        with open(self.config, "a") as f:
            f.write("\n[no such section]\n")
        proc.send_signal(signal.SIGHUP)
        self.wait_for_log("not reloaded", 10)
        self.assertIn("unknown section", self.poll_log())
        self.use_mailbox(interval=600, after="flag")
        proc.send_signal(signal.SIGHUP)
        self.wait_for_log("config reloaded", 10)
        self.dovecot.append(mail(1))
        self.wait_for_tickets(1, timeout=10)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=15), 0, self.poll_log())
        self.assertEqual(self.dovecot.count("INBOX"), 1, "after = flag was not taken up")


    def uidvalidity(self):
        with self.dovecot.session() as imap:
            _, data = imap.status("INBOX", "(UIDVALIDITY)")
        return int(data[0].split(b"UIDVALIDITY ")[1].rstrip(b")"))

    def test_mail_that_killed_the_parser_max_failures_times_is_set_aside(self):
        self.dovecot.append(mail(0))
        uid = self.dovecot.append(mail(1))
        self.dovecot.append(mail(2))
        self.use_mailbox(extra="failed = move:Failed")
        # What three runs that died inside the parser leave in the journal: the count raised
        # before parsing and never lowered.
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        db = sqlite3.connect(os.path.join(self.dir, "state", "journal.db"))
        db.executescript(
            "CREATE TABLE IF NOT EXISTS mailbox_items (mailbox TEXT NOT NULL, item TEXT NOT NULL,"
            " failures INTEGER NOT NULL DEFAULT 0, reason TEXT, seen INTEGER NOT NULL DEFAULT 0,"
            " updated INTEGER NOT NULL, PRIMARY KEY (mailbox, item));")
        db.execute("INSERT INTO mailbox_items (mailbox, item, failures, reason, updated) "
                   "VALUES ('support', ?, 3, 'the parser crashed or was stopped while reading it',"
                   " 0)", (f"{self.uidvalidity()}:{uid}",))
        db.commit()
        db.close()
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(["Poll test 0", "Poll test 2"])
        self.assertEqual(self.dovecot.count("Failed"), 1)
        self.assertIn("failed 3 times, last: the parser crashed", err)

    def test_folder_names_are_written_as_read(self):
        # Non-ASCII and '&' go over IMAP in modified UTF-7; the config has them as people read
        # them, the watched one percent-encoded in the URL.
        watched = "Eingang/Kunden & Partner/Prüfung"
        self.dovecot.append_many([mail(0), mail(1, size=30000), mail(2)], folder=watched)
        self.use_mailbox(
            url=f"imaps://127.0.0.1:{self.dovecot.imaps_port}/{urllib.parse.quote(watched)}",
            after="move:Archiv/Entwürfe",
            extra="max_message_bytes = 20K\nfailed = move:Größe überschritten")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(["Poll test 0", "Poll test 2"])
        self.assertEqual(self.dovecot.count(watched), 0)
        self.assertEqual(self.dovecot.count("Archiv/Entwürfe"), 2)
        self.assertEqual(self.dovecot.count("Größe überschritten"), 1)
        self.assertIn('folder="Größe überschritten"', err)

    def test_two_mailboxes_in_one_process(self):
        self.dovecot.append_many([mail(i) for i in range(3)])
        self.dovecot.append_many([mail(i) for i in range(3, 5)], folder="Billing")
        self.use_mailbox(extra=(
            "\n[mailbox billing]\n"
            f"url = imap://127.0.0.1:{self.dovecot.imap_port}/Billing\n"
            "user = support\npassword_file = mailbox.pass\n"
            f"ca_file = {self.dovecot.ca_file}\nstart = all\nafter = move:Billing-done\n"))
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each([f"Poll test {i}" for i in range(5)])
        self.assertEqual(self.dovecot.count("Processed"), 3)
        self.assertEqual(self.dovecot.count("Billing-done"), 2)
        self.assertIn('mail handled source="mailbox billing"', err)


class TlsTest(PollTestCase):
    def test_untrusted_certificate_is_refused(self):
        self.dovecot.append(mail(1))
        other = untrusted_ca_file(self.dir)
        self.use_mailbox(extra=f"ca_file = {other}")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 75, err)
        self.assertIn("the certificate of 127.0.0.1 is not trusted", err)
        self.assertEqual(self.desk.tickets(), [])
        self.assertEqual(self.dovecot.count("INBOX"), 1)

    def test_check_logs_into_the_mailbox_or_says_why_not(self):
        self.use_mailbox()
        rc, out, err = self.run_m2t("check")
        self.assertEqual(rc, 0, err)
        self.assertIn("mailbox support (imaps://127.0.0.1:", out)
        self.assertIn("logged in as support", out)
        self.use_mailbox(extra=f"ca_file = {untrusted_ca_file(self.dir)}")
        rc, out, err = self.run_m2t("check")
        self.assertEqual(rc, 75, err)
        self.assertIn("is not trusted", err)

    def test_system_authorities_do_not_trust_a_self_signed_certificate(self):
        self.use_mailbox(url=f"pop3s://127.0.0.1:{self.dovecot.pop3s_port}", after="delete",
                         extra="ca_file = /etc/ssl/certs/ca-certificates.crt")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 75, err)
        self.assertIn("is not trusted", err)


class StarttlsMissingTest(PollTestCase):
    dovecot_ssl = False

    def test_starttls_required_refuses_a_server_without_it(self):
        self.dovecot.append(mail(1))
        self.use_mailbox(url=f"imap://127.0.0.1:{self.dovecot.imap_port}/INBOX")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 75, err)
        self.assertIn("does not offer STARTTLS, and TLS is required", err)
        self.assertEqual(self.desk.tickets(), [])

    def test_tls_none_is_an_explicit_choice(self):
        self.dovecot.append(mail(1))
        self.use_mailbox(url=f"imap://127.0.0.1:{self.dovecot.imap_port}/INBOX",
                         extra="tls = none")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.tickets()), 1)


class Pop3PollTest(PollTestCase):
    def test_20_mails_become_20_tickets_and_are_deleted(self):
        self.dovecot.append_many([mail(i) for i in range(20)])
        self.use_mailbox(url=f"pop3s://127.0.0.1:{self.dovecot.pop3s_port}", after="delete")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each([f"Poll test {i}" for i in range(20)])
        self.assertEqual(self.dovecot.count("INBOX"), 0)
        calls = len(self.desk.calls())
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.calls()), calls)

    def test_stls_and_keep_do_not_repeat(self):
        self.dovecot.append_many([mail(i) for i in range(3)])
        self.use_mailbox(url=f"pop3://127.0.0.1:{self.dovecot.pop3_port}", after="keep")
        for _ in range(2):
            rc, _, err = self.poll_once()
            self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each([f"Poll test {i}" for i in range(3)])
        self.assertEqual(self.dovecot.count("INBOX"), 3)
        calls = len(self.desk.calls())
        self.dovecot.append(mail(3))
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.desk.calls()), calls + 1)


GOOD_TOKEN = "tok-good-123"


class IntrospectionServer(ThreadingHTTPServer):
    """An RFC 7662 token introspection endpoint on loopback, as Dovecot's oauth2 passdb asks it
    (introspection_mode = post: a form with token=...): GOOD_TOKEN belongs to the active user
    support, any other token is inactive.  Every token asked about is kept in .tokens."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), IntrospectionHandler)
        self.tokens = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}/introspect"
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()
        self.thread.join()


class IntrospectionHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        token = urllib.parse.parse_qs(body).get("token", [""])[0]
        self.server.tokens.append(token)
        answer = {"active": True, "username": "support"} if token == GOOD_TOKEN \
            else {"active": False}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Oauth2Test(PollTestCase):
    """auth = xoauth2: the access token comes from oauth2_token_command and Dovecot checks it
    with its oauth2 passdb against a local introspection endpoint."""

    def setUp(self):
        self.introspection = IntrospectionServer()
        self.addCleanup(self.introspection.stop)  # runs last: after Dovecot has stopped
        self.dovecot_options = {"oauth2_introspection_url": self.introspection.url}
        super().setUp()

    def token_command(self, script):
        """A token command (an executable shell script in the case's folder); returns its path."""
        path = os.path.join(self.dir, "token-command")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + script)
        os.chmod(path, 0o755)
        return path

    def use_oauth2(self, script):
        self.use_mailbox(extra=f"auth = xoauth2\noauth2_token_command = "
                               f"{self.token_command(script)}")

    def test_token_from_the_command_logs_in_and_mail_becomes_tickets(self):
        self.dovecot.append_many([mail(1), mail(2)])
        self.use_oauth2(f"echo {GOOD_TOKEN}\n")
        rc, out, err = self.poll_once()
        self.assertEqual(rc, 0, err)
        self.assert_one_ticket_each(["Poll test 1", "Poll test 2"])
        self.assertEqual(self.dovecot.count("INBOX"), 0)
        self.assertEqual(self.dovecot.count("Processed"), 2)
        self.assertIn(GOOD_TOKEN, self.introspection.tokens, "Dovecot never checked the token")
        self.assertNotIn(GOOD_TOKEN, out + err, "the access token appeared in the output")
        self.assertIn("method=XOAUTH2", self.dovecot.log())

    def test_a_refused_token_says_the_login_was_refused(self):
        self.dovecot.append(mail(1))
        self.use_oauth2("echo tok-bad-456\n")
        rc, out, err = self.poll_once()
        self.assertEqual(rc, 75, err)
        self.assertIn("logging in as support: the server said no", err)
        self.assertIn("tok-bad-456", self.introspection.tokens)
        self.assertNotIn("tok-bad-456", out + err, "the access token appeared in the output")
        self.assertEqual(self.desk.tickets(), [])
        self.assertEqual(self.dovecot.count("INBOX"), 1)

    def test_a_failing_token_command_says_why(self):
        self.dovecot.append(mail(1))
        self.use_oauth2("echo 'no refresh token' >&2\nexit 1\n")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 75, err)
        self.assertIn("oauth2_token_command printed no token (Child process exited with code 1): "
                      "no refresh token", err)
        self.assertEqual(self.introspection.tokens, [], "a login was tried without a token")
        self.assertEqual(self.desk.tickets(), [])
        self.assertEqual(self.dovecot.count("INBOX"), 1)

    def test_the_token_command_sees_none_of_the_secrets(self):
        """It runs with PATH, HOME, LANG and the variables oauth2_token_env names, nothing else:
        not the desk's secret, not the mailbox passwords."""
        self.dovecot.append(mail(1))
        seen = os.path.join(self.dir, "token-env")
        command = self.token_command(f"env > {seen}\necho {GOOD_TOKEN}\n")
        self.use_mailbox(extra=f"auth = xoauth2\noauth2_token_command = {command}\n"
                               "oauth2_token_env = TOKEN_CACHE")
        rc, _, err = self.run_m2t("poll", "--once", env={
            "MAIL2TICKET_SECRET": SECRET, "MAIL2TICKET_PASSWORD_OTHER": "pass123",
            "TOKEN_CACHE": "/var/cache/tokens", "UNRELATED": "x"})
        self.assertEqual(rc, 0, err)
        names = {line.split("=", 1)[0] for line in read_file(seen).splitlines()}
        self.assertNotIn("MAIL2TICKET_SECRET", names)
        self.assertNotIn("MAIL2TICKET_PASSWORD_OTHER", names)
        self.assertNotIn("UNRELATED", names)
        self.assertIn("TOKEN_CACHE=/var/cache/tokens", read_file(seen).splitlines())
        self.assertTrue(names <= {"PATH", "HOME", "LANG", "TOKEN_CACHE", "PWD", "SHLVL", "_"},
                        names)

    def test_a_token_command_that_prints_too_much_is_refused(self):
        self.dovecot.append(mail(1))
        self.use_oauth2("head -c 200000 /dev/zero | tr '\\0' x\n")
        rc, _, err = self.poll_once()
        self.assertEqual(rc, 75, err)
        self.assertIn("oauth2_token_command printed more than 65536 bytes", err)
        self.assertEqual(self.introspection.tokens, [], "a login was tried with the output")


if __name__ == "__main__":
    unittest.main(verbosity=2)
