# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every mail becomes exactly one ticket or reply, against a desk that fails, loses answers and
slows down, and for mail of every size: nothing lost, nothing doubled, nothing blanked. The real
binary against the sandbox desk's fault modes."""

import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, DESK_CAN, DESK_KIND, DeskTestCase  # noqa: E402

WRITES = ["OpenTicket", "AddTicketReply"]


def mail(sender, subject, body="Hello.\n", msgid=None, extra="", to="support@example.com"):
    headers = f"From: {sender}\nTo: {to}\nSubject: {subject}\n"
    if msgid:
        headers += f"Message-ID: <{msgid}>\n"
    return (headers + extra + "\n" + body).encode()


class ExactlyOnceCase(DeskTestCase):
    def edit_config(self, old, new):
        with open(self.config) as f:
            text = f.read()
        self.config = self.write_config(text.replace(old, new, 1))


# Text quoting a mail as mailers do, with a link in angle brackets: WHMCS 7 gives messages back
# through PHP's strip_tags() (the sandbox does too), which takes everything in <...> out. A
# reply's text is sent without the quote below its attribution line, so there the address and
# the link are in the reply's own words.
QUOTING = ("Still broken, see below.\n\nJohn <john@example.com> wrote:\n"
           "> Try <https://example.com/help?printer=1&lang=en> first.\n> a < b\n")
INLINE = ("Still broken. As John <john@example.com> wrote: try\n"
          "<https://example.com/help?printer=1&lang=en> first. But a < b.\n")


class LostAnswers(ExactlyOnceCase):
    timeout = 5

    def test_a_lost_open_of_a_text_in_angle_brackets_is_found(self):
        """The desk gives the text back without what was in <...> (WHMCS, Keliweb) or lists
        its own comment and the messages newest first (Thulium): the ticket the lost attempt
        opened was not recognized, and the mail was opened a second time."""
        raw = mail("Ann <ann@example.org>", "Printer", QUOTING, msgid="quoting@x")
        self.desk.fault("lose_answer", actions=["OpenTicket"], count=1)
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 75, err)
        self.assertEqual(len(self.desk.tickets()), 1)  # the desk opened it all the same
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 0, err)
        self.assertIn("action=adopted", err)
        [ticket] = self.desk.tickets()
        self.assertEqual(len(ticket["messages"]), 1)

    def test_a_lost_reply_of_a_text_in_angle_brackets_is_found(self):
        rc, _, err = self.pipe(mail("Ann <ann@example.org>", "Printer", msgid="opener@x"))
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        reply = mail("ann@example.org", f"Re: [Ticket ID: {ticket['tid']}] Printer", INLINE,
                     msgid="quoting-reply@x")
        self.desk.fault("lose_answer", actions=["AddTicketReply"], count=1)
        rc, _, err = self.pipe(reply)
        self.assertEqual(rc, 75, err)
        rc, _, err = self.pipe(reply)
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertEqual(len(ticket["messages"]), 2, "the reply was added twice")
        self.assertIn("John <john@example.com> wrote: try\n<https://",
                      ticket["messages"][1]["message"])

    def test_a_lost_answer_on_a_reused_connection_is_not_sent_again(self):
        """The reply's look-up (GetTicket) and its write share a connection: libcurl sent the
        lost write again on a new connection, and the desk added the reply twice."""
        rc, _, err = self.pipe(mail("Owner <owner@example.org>", "Printer", msgid="o@x"))
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.desk.fault("lose_answer_reused", actions=WRITES)
        reply = mail("owner@example.org", f"Re: [Ticket ID: {ticket['tid']}] Printer",
                     "Still broken.\n", msgid="r@x")
        rc, _, err = self.pipe(reply)
        self.assertIn(rc, (0, 75), err)
        if rc == 75:  # the answer was lost: the next try finds the reply at the desk
            self.desk.fault("none")
            rc, _, err = self.pipe(reply)
            self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertEqual([m["message"].strip() for m in ticket["messages"]],
                         ["Hello.", "Still broken."])

    def test_import_over_reused_connections_opens_each_ticket_once(self):
        archive = os.path.join(self.dir, "a.mbox")
        with open(archive, "wb") as f:
            for i in range(20):
                f.write(b"From x Thu Mar  5 10:00:00 2026\n" +
                        mail(f"c{i}@example.org", f"Mail {i}", msgid=f"m{i}@x") + b"\n")
        self.desk.fault("lose_answer_reused", actions=WRITES)
        for _ in range(5):
            rc, _, err = self.run_m2t("import", archive)
            if rc == 0:
                break
            self.assertEqual(rc, 75, err)
        self.assertEqual(rc, 0, err)
        subjects = sorted(t["subject"] for t in self.desk.tickets())
        self.assertEqual(subjects, sorted(f"Mail {i}" for i in range(20)))

    def test_a_lost_open_is_found_before_the_mail_goes_as_a_reply(self):
        """B answers A but arrives first: its OpenTicket's answer is lost. Then A opens its
        ticket, and B, tried again, now threads onto A's: before the reply is sent, the ticket
        the lost attempt opened is looked for and adopted (B was a ticket and a reply)."""
        first = mail("Ann <ann@example.org>", "Printer", "It is broken.\n", msgid="a@x")
        answer = mail("Ann <ann@example.org>", "Re: Printer", "Also the scanner.\n",
                      msgid="b@x", extra="In-Reply-To: <a@x>\n")
        self.desk.fault("lose_answer", actions=["OpenTicket"], count=1)
        rc, _, err = self.pipe(answer)
        self.assertEqual(rc, 75, err)
        self.assertEqual(len(self.desk.tickets()), 1)  # the desk opened it all the same
        rc, _, err = self.pipe(first)
        self.assertEqual(rc, 0, err)
        rc, _, err = self.pipe(answer)
        self.assertEqual(rc, 0, err)
        self.assertIn("action=adopted", err)
        tickets = self.desk.tickets()
        self.assertEqual(len(tickets), 2)
        self.assertEqual(sorted(len(t["messages"]) for t in tickets), [1, 1],
                         "the mail became a ticket and a reply")



class SameText(ExactlyOnceCase):
    """A mail whose write failed is looked for at the desk before it is sent again, by its
    text. Another mail with the same text (a customer asking "Any update?" twice, a monitor
    sending the same alert again) must not pass for it: that lost the second mail."""

    timeout = 3

    def open_printer_ticket(self):
        rc, _, err = self.pipe(mail("Owner <owner@example.org>", "Printer", msgid="o@x"))
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        return ticket

    def fail_once_then_deliver(self, raw, fault, action):
        """raw's write hit by fault once (75), then delivered as action by the retry."""
        self.desk.fault(fault, actions=WRITES, count=1)
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 75, err)
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 0, err)
        self.assertIn(f"action={action}", err)

    def texts(self, ticket_id):
        [ticket] = [t for t in self.desk.tickets() if t["id"] == ticket_id]
        return [m["message"].strip() for m in ticket["messages"]]

    def test_a_reply_with_the_text_of_an_earlier_one_is_added_after_a_failure(self):
        ticket = self.open_printer_ticket()
        subject = f"Re: [Ticket ID: {ticket['tid']}] Printer"
        first = mail("owner@example.org", subject, "Any update?\n", msgid="r1@x")
        second = mail("owner@example.org", subject, "Any update?\n", msgid="r2@x",
                      extra="Date: Fri, 06 Mar 2026 10:00:00 +0000\n")
        rc, _, err = self.pipe(first)
        self.assertEqual(rc, 0, err)
        self.fail_once_then_deliver(second, "http503", "replied")
        self.assertEqual(self.texts(ticket["id"]), ["Hello.", "Any update?", "Any update?"])

    def test_a_lost_reply_with_the_text_of_an_earlier_one_is_adopted_once(self):
        ticket = self.open_printer_ticket()
        subject = f"Re: [Ticket ID: {ticket['tid']}] Printer"
        rc, _, err = self.pipe(mail("owner@example.org", subject, "Any update?\n",
                                    msgid="r1@x"))
        self.assertEqual(rc, 0, err)
        second = mail("owner@example.org", subject, "Any update?\n", msgid="r2@x",
                      extra="Date: Fri, 06 Mar 2026 10:00:00 +0000\n")
        self.fail_once_then_deliver(second, "lose_answer", "adopted")
        self.assertEqual(self.texts(ticket["id"]), ["Hello.", "Any update?", "Any update?"])

    def test_the_same_alert_again_after_a_failure_opens_its_own_ticket(self):
        alert = mail("monitor@example.org", "Site down", "example.com does not answer.\n",
                     msgid="alert1@x")
        again = mail("monitor@example.org", "Site down", "example.com does not answer.\n",
                     msgid="alert2@x", extra="Date: Fri, 06 Mar 2026 10:00:00 +0000\n")
        rc, _, err = self.pipe(alert)
        self.assertEqual(rc, 0, err)
        self.fail_once_then_deliver(again, "http503", "opened")
        self.assertEqual(len(self.desk.tickets()), 2)

    def test_the_same_alert_again_whose_answer_was_lost_is_adopted_once(self):
        rc, _, err = self.pipe(mail("monitor@example.org", "Site down", "No answer.\n",
                                    msgid="alert1@x"))
        self.assertEqual(rc, 0, err)
        again = mail("monitor@example.org", "Site down", "No answer.\n", msgid="alert2@x",
                     extra="Date: Fri, 06 Mar 2026 10:00:00 +0000\n")
        self.fail_once_then_deliver(again, "lose_answer", "adopted")
        self.assertEqual(len(self.desk.tickets()), 2)


class UnansweredWrites(ExactlyOnceCase):
    timeout = 2

    def test_a_write_the_desk_finishes_after_the_timeout_is_not_sent_again(self):
        """The desk opens the ticket 3 s into the call, after mail2ticket gave up at 2 s. A
        retry at once must wait for the desk before it looks, not open a second ticket."""
        raw = mail("Slow <slow@example.org>", "Slow desk", msgid="slow@x")
        self.desk.fault("slow", actions=WRITES, count=1, delay=3)
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 75, err)
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 0, err)
        self.assertIn("action=adopted", err)
        self.assertEqual(len(self.desk.tickets()), 1)

    def test_a_lost_open_is_found_after_an_agent_moved_the_ticket(self):
        raw = mail("Moved <moved@example.org>", "Moved ticket", msgid="moved@x")
        self.desk.fault("lose_answer", actions=WRITES, count=1)
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 75, err)
        [ticket] = self.desk.tickets()
        self.desk.move(ticket["id"], 2)
        self.assertEqual(self.desk.tickets()[0]["deptid"], 2)
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 0, err)
        self.assertIn("action=adopted", err)
        self.assertEqual(len(self.desk.tickets()), 1)

def write_mbox(path, mails):
    with open(path, "wb") as f:
        for raw in mails:
            f.write(b"From x Thu Mar  5 10:00:00 2026\n" + raw + b"\n")


def dated(raw, minute):
    """raw with a Date minute minutes after 10:00 on 5 March 2026."""
    hour, minute = divmod(600 + minute, 60)
    return raw.replace(b"\n\n", f"\nDate: Thu, 05 Mar 2026 {hour:02d}:{minute:02d}:00 +0000\n\n"
                       .encode(), 1)


class Threads(ExactlyOnceCase):
    def test_a_reply_waits_for_its_opener_that_failed(self):
        """The opener of a thread keeps failing (the desk is down for OpenTicket only): its
        answer must not be sent as a ticket of its own, with one lane or several."""
        for concurrency in (1, 4):
            with self.subTest(concurrency=concurrency):
                self.desk.reset()
                self.edit_config("[desk]\n", f"[desk]\nconcurrency = {concurrency}\n")
                archive = os.path.join(self.dir, f"t{concurrency}.mbox")
                write_mbox(archive, [
                    dated(mail("ann@example.org", f"Printer {concurrency}", msgid=f"a{concurrency}@x"), 1),
                    dated(mail("ann@example.org", f"Re: Printer {concurrency}", "More.\n",
                               msgid=f"b{concurrency}@x",
                               extra=f"In-Reply-To: <a{concurrency}@x>\n"), 2)])
                self.desk.fault("http500", actions=["OpenTicket"])
                rc, _, err = self.run_m2t("import", archive)
                self.assertEqual(rc, 75, err)
                self.assertEqual(self.desk.tickets(), [], "the reply became a ticket")
                self.desk.fault("none")
                rc, _, err = self.run_m2t("import", archive)
                self.assertEqual(rc, 0, err)
                [ticket] = self.desk.tickets()
                self.assertEqual(len(ticket["messages"]), 2)


class FlakyDesk(ExactlyOnceCase):
    timeout = 3

    def test_an_import_of_500_mails_rides_out_a_desk_failing_40_percent(self):
        """40% of the calls fail at random (seeded): error pages, connections closed before
        the desk does anything, answers lost after it did, slow answers. One run must make
        exactly one ticket per opener and one reply per answer, each with its own text."""
        rng = random.Random(15)
        mails, expected = [], {}
        for t in range(125):
            opener = f"t{t}@x"
            mails.append(dated(mail(f"c{t}@example.org", f"Thread {t}", f"marker open {t}\n",
                                    msgid=opener), t))
            expected[f"Thread {t}"] = [f"marker open {t}"]
            for r in range(3):
                mails.append(dated(mail(f"c{t}@example.org", f"Re: Thread {t}",
                                        f"marker reply {t}.{r}\n", msgid=f"t{t}r{r}@x",
                                        extra=f"In-Reply-To: <{opener}>\n"), t + r + 1))
                expected[f"Thread {t}"].append(f"marker reply {t}.{r}")
        rng.shuffle(mails)
        archive = os.path.join(self.dir, "flaky.mbox")
        write_mbox(archive, mails)
        self.edit_config("give_up_after = 2", "give_up_after = 120")
        self.desk.fault("random", share=0.4, seed=15, delay=0.2)
        rc, _, err = self.run_m2t("import", archive, timeout=1800)
        self.assertEqual(rc, 0, err[-3000:])
        self.desk.fault("none")
        got = {}
        for t in self.desk.tickets():
            got.setdefault(t["subject"], []).append(sorted(m["message"].strip()
                                                          for m in t["messages"]))
        self.maxDiff = None
        self.assertEqual(sorted(got), sorted(expected), "tickets missing or doubled")
        for subject, texts in expected.items():
            self.assertEqual(got[subject], [sorted(texts)], subject)


class SharedMessageIds(ExactlyOnceCase):
    """Web forms and broken mailers reuse Message-IDs, and a forger can send one: two different
    mails with one Message-ID are two tickets, while one mail delivered twice (as an MTA
    retries it, with new Received lines, or fetched over IMAP with CRLF) is one."""

    FORM = "Contact form <form@example.org>"

    def test_two_mails_with_one_message_id_are_two_tickets(self):
        first = mail(self.FORM, "Question from Ann", "Ann asks.\n", msgid="form@example.org")
        second = mail(self.FORM, "Question from Bob", "Bob asks.\n", msgid="form@example.org")
        for raw in (first, second):
            rc, _, err = self.pipe(raw)
            self.assertEqual(rc, 0, err)
            self.assertIn("action=opened", err)
        self.assertEqual(sorted(t["subject"] for t in self.desk.tickets()),
                         ["Question from Ann", "Question from Bob"])

    def test_one_mail_delivered_again_is_one_ticket(self):
        raw = mail(self.FORM, "Question", "Line one.\nLine two.\n", msgid="again@example.org")
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 0, err)
        for again in (b"Received: from relay by mx; Thu, 5 Mar 2026 10:00:00 +0000\n" + raw,
                      raw.replace(b"\n", b"\r\n"), raw + b"\n\n"):
            rc, _, err = self.pipe(again)
            self.assertEqual(rc, 0, err)
            self.assertIn("action=already-handled", err)
        self.assertEqual(len(self.desk.tickets()), 1)

    def test_a_journal_of_an_older_release_is_brought_forward(self):
        """Older journals filed mail under "mid:ID" alone: the same mail is found there (and
        filed anew), another mail with that Message-ID is not taken for it."""
        raw = mail(self.FORM, "Question from Ann", "Ann asks.\n", msgid="old@example.org")
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 0, err)
        journal = os.path.join(self.dir, "state", "journal.db")
        db = sqlite3.connect(journal)
        with db:
            for table in ("mails", "attempts"):
                db.execute(f"UPDATE {table} SET key = 'mid:old@example.org'")
        db.close()
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 0, err)
        self.assertIn("action=already-handled", err)
        db = sqlite3.connect(journal)
        [(key,)] = db.execute("SELECT key FROM mails").fetchall()
        db.close()
        self.assertRegex(key, r"^mid:old@example.org#[0-9a-f]{16}$")
        with sqlite3.connect(journal) as db:
            db.execute("UPDATE mails SET key = 'mid:old@example.org'")
        other = mail(self.FORM, "Question from Bob", "Bob asks.\n", msgid="old@example.org")
        rc, _, err = self.pipe(other)
        self.assertEqual(rc, 0, err)
        self.assertIn("action=opened", err)
        self.assertEqual(len(self.desk.tickets()), 2)


class OddArchives(ExactlyOnceCase):
    def test_an_mbox_without_empty_lines_loses_no_message(self):
        """Several writers put no empty line before a separator: 6 messages, 6 tickets (it
        was one), and the run says how it split the file."""
        archive = os.path.join(self.dir, "tight.mbox")
        with open(archive, "wb") as f:
            for i in range(6):
                f.write(f"From c{i}@example.org Thu Mar  5 10:0{i}:00 2026\n".encode()
                        + mail(f"c{i}@example.org", f"Tight {i}", f"Text {i}.\n", msgid=f"k{i}@x"))
        report = os.path.join(self.dir, "report.jsonl")
        rc, _, err = self.run_m2t("import", "--report", report, archive)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(t["subject"] for t in self.desk.tickets()),
                         [f"Tight {i}" for i in range(6)])
        self.assertIn("5 of 6 messages began at a separator line without an empty line", err)
        with open(report) as f:
            self.assertIn('"outcome":"split"', f.read())

    def test_an_mboxcl_keeps_from_lines_in_bodies(self):
        body = "Quoted below.\n\nFrom the minutes of Thu Mar  5 10:00:00 2026:\n\nFrom x Thu Mar  5 10:00:00 2026\nagenda\n"
        archive = os.path.join(self.dir, "cl.mbox")
        with open(archive, "wb") as f:
            for i in range(3):
                head = mail(f"c{i}@example.org", f"CL {i}", "", msgid=f"cl{i}@x",
                            extra=f"Content-Length: {len(body.encode())}\n")
                f.write(f"From c{i}@example.org Thu Mar  5 10:0{i}:00 2026\n".encode() + head
                        + body.encode() + b"\n")
        rc, _, err = self.run_m2t("import", archive)
        self.assertEqual(rc, 0, err)
        tickets = self.desk.tickets()
        self.assertEqual(sorted(t["subject"] for t in tickets), ["CL 0", "CL 1", "CL 2"])
        for t in tickets:
            self.assertIn("agenda", t["messages"][0]["message"])
        self.assertIn("3 of 3 messages were split by their Content-Length header", err)


class LargeMail(DeskTestCase):
    timeout = 60

    def test_a_9_mb_text_arrives_whole(self):
        """Past about 24 MB URL-encoded, a field was sent as the text "(null)"."""
        line = "Съешь же ещё этих мягких французских булок да выпей чаю. "
        body = (line * (9 * 1024 * 1024 // len(line.encode()) + 1)).encode()
        raw = (b"From: Ivan <ivan@example.org>\nTo: support@example.com\nSubject: big\n"
               b"Message-ID: <big@x>\nContent-Type: text/plain; charset=utf-8\n"
               b"Content-Transfer-Encoding: 8bit\n\n" + body)
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        self.assertEqual(ticket["messages"][0]["message"].strip(), body.decode().strip())

    @unittest.skipUnless("attachments" in DESK_CAN, f"{DESK_KIND} carries no attachments")
    def test_two_7_mib_attachments_arrive_byte_identical(self):
        rng = random.Random(7)
        files = [bytes(rng.getrandbits(8) for _ in range(7 << 20)) for _ in range(2)]
        parts = "".join(
            f"--b\nContent-Type: application/octet-stream\n"
            f"Content-Disposition: attachment; filename=\"f{i}.bin\"\n"
            f"Content-Transfer-Encoding: base64\n\n" +
            __import__("base64").encodebytes(data).decode() for i, data in enumerate(files))
        raw = ("From: a@example.org\nTo: support@example.com\nSubject: files\n"
               "Message-ID: <files@x>\nMIME-Version: 1.0\n"
               "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
               "see attached\n" + parts + "--b--\n").encode()
        rc, _, err = self.pipe(raw)
        self.assertEqual(rc, 0, err)
        [ticket] = self.desk.tickets()
        got = {a["name"]: a["sha256"] for a in ticket["messages"][0]["attachments"]}
        self.assertEqual(got, {f"f{i}.bin": hashlib.sha256(d).hexdigest()
                               for i, d in enumerate(files)})


class FullDisk(DeskTestCase):
    """The journal's disk fills up: the error names that, not SQLite's complaint about the
    rollback that followed, and the mail waits (75) with nothing sent."""

    def test_a_full_disk_is_reported_as_such(self):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            self.skipTest("needs root and unshare for a small private tmpfs")
        state = os.path.join(self.dir, "state")
        os.makedirs(state, exist_ok=True)
        first = os.path.join(self.dir, "first.eml")
        second = os.path.join(self.dir, "second.eml")
        with open(first, "wb") as f:
            f.write(mail("a@example.org", "First", msgid="first@x"))
        with open(second, "wb") as f:
            f.write(mail("b@example.org", "Second", msgid="second@x"))
        m2t = f"{BINARY} --config {self.config} pipe"
        script = (f"mount -t tmpfs -o size=512k tmpfs {state} && {m2t} < {first} && "
                  f"(dd if=/dev/zero of={state}/filler bs=4k 2>/dev/null; true) && "
                  f"{m2t} < {second}")
        env = dict(os.environ)
        env.pop("MAIL2TICKET_SECRET", None)
        proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               script], capture_output=True, env=env, timeout=60)
        err = proc.stderr.decode(errors="replace")
        self.kept_output.append(err)
        self.assertEqual(proc.returncode, 75, err)
        self.assertIn("No space left on device", err.split("\n", 3)[-1])
        self.assertNotIn("cannot rollback", err)
        self.assertEqual([t["subject"] for t in self.desk.tickets()], ["First"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
