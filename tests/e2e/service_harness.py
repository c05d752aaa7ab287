# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared parts of the spool, reprocess and service tests: a config with `[pipe] spool`, the spool
and quarantine Maildirs as lists of files, mail2ticket started as a background process (its
output checked for the secret like run_m2t's), and waits with generous upper bounds.
Standard library only."""

import collections
import json
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BINARY, CONFIG_TEMPLATE, IDENTIFIER, SECRET, DeskTestCase,  # noqa: E402
                     wait_until)

ENVELOPE_HEADER = b"X-Mail2ticket-Envelope:"
DEAD_DESK = "http://127.0.0.1:9"  # nothing listens there: connection refused, a desk that is down


def mail(n, subject=None, to="support@example.com", sender=None, body=None):
    """A small distinct mail with LF lines, as an MTA hands it to `pipe`."""
    subject = subject if subject is not None else f"Spool test {n}"
    sender = sender or f"Customer {n} <customer{n}@example.org>"
    body = body or f"Body of mail {n}.\nSecond line of mail {n}.\n"
    return (f"From: {sender}\n"
            f"To: {to}\n"
            f"Subject: {subject}\n"
            f"Message-ID: <spool-{n}@example.org>\n"
            f"Date: Tue, 24 Nov 2026 10:{n % 60:02d}:00 +0000\n"
            f"\n{body}").encode()


def maildir_files(root):
    """{path: bytes} of every file in a Maildir's new/ and cur/ (tmp/ is never a result)."""
    files = {}
    for sub in ("new", "cur"):
        folder = os.path.join(root, sub)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as f:
                    files[path] = f.read()
            except FileNotFoundError:  # taken by a running poll since the listing
                pass
    return files


def json_objects(text):
    """Every JSON value printed one after another (as --dry-run prints its calls)."""
    decoder = json.JSONDecoder()
    out, i = [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        value, i = decoder.raw_decode(text, i)
        out.append(value)


def split_envelope(data):
    """(envelope line without its newline, the rest) of a spool file."""
    line, rest = data.split(b"\n", 1)
    return line, rest


class ServiceTestCase(DeskTestCase):
    """A DeskTestCase with a spool, a quarantine and background mail2ticket processes."""

    timeout = 3

    def setUp(self):
        super().setUp()
        self.spool = os.path.join(self.dir, "spool")
        self.quarantine = os.path.join(self.dir, "state", "quarantine")
        self.journal = os.path.join(self.dir, "state", "journal.db")
        self.procs = []
        self.addCleanup(self.kill_procs)

    # -- config -----------------------------------------------------------------------------

    def config_text(self, url=None, spool=True, extra=""):
        text = CONFIG_TEMPLATE.format(url=url or self.desk.url, identifier=IDENTIFIER,
                                      timeout=self.timeout)
        if spool:
            text += "\n[pipe]\nspool = spool\n"
        return text + extra

    def use_spool(self, url=None, extra=""):
        """The case's config with [pipe] spool = spool (relative: beside the config)."""
        self.config = self.write_config(self.config_text(url=url, extra=extra))
        return self.config

    def use_direct(self, url=None, extra=""):
        """The case's config without a spool: pipe delivers at once."""
        self.config = self.write_config(self.config_text(url=url, spool=False, extra=extra))
        return self.config

    # -- the Maildirs -----------------------------------------------------------------------

    def spool_files(self):
        return maildir_files(self.spool)

    def quarantine_files(self):
        return maildir_files(self.quarantine)

    def quarantined_mails(self):
        """{path: the mail} of the quarantine: each file starts with mail2ticket's envelope
        line (empty when the mail had no envelope), the mail follows as it came."""
        mails = {}
        for path, data in self.quarantine_files().items():
            line, mails[path] = split_envelope(data)
            self.assertTrue(line.startswith(ENVELOPE_HEADER), line)
        return mails

    def drop_in_spool(self, raw, name=None):
        """Put a mail into the spool the way pipe does (tmp/, then renamed into new/), without
        pipe and so without an envelope line."""
        name = name or f"{int(time.time())}.by-hand-{time.monotonic_ns()}"
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.spool, sub), exist_ok=True)
        tmp = os.path.join(self.spool, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(raw)
        os.rename(tmp, os.path.join(self.spool, "new", name))

    def spool_tmp(self):
        tmp = os.path.join(self.spool, "tmp")
        return sorted(os.listdir(tmp)) if os.path.isdir(tmp) else []

    def journal_rows(self, sql, params=()):
        db = sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    # -- the desk ---------------------------------------------------------------------------

    def open_calls(self):
        # The sandbox's call log names every desk's calls as WHMCS does (OpenTicket for
        # Thulium's POST tickets too); OPEN_ACTION is what --dry-run prints.
        return [c for c in self.desk.calls() if c.get("action") == "OpenTicket"]

    def assert_one_ticket_each(self, subjects):
        counts = collections.Counter(t["subject"] for t in self.desk.tickets())
        doubled = {s: c for s, c in counts.items() if c > 1}
        self.assertEqual(doubled, {}, "mail turned into more than one ticket")
        self.assertEqual(sorted(counts), sorted(subjects))

    def wait_for(self, predicate, timeout, what):
        """Poll predicate() until true (returns its value) or fail after timeout seconds."""
        return wait_until(predicate, timeout,
                          lambda: f"{what}: not after {timeout} s\n" + self.proc_log(), 0.05)

    def wait_for_tickets(self, n, timeout=60):
        return self.wait_for(lambda: len(self.desk.tickets()) >= n and self.desk.tickets(),
                             timeout, f"{n} tickets")

    # -- background processes ---------------------------------------------------------------

    def start_m2t(self, *args, env=None, stderr=None, pass_fds=()):
        """mail2ticket --config CONFIG args... in the background; its output goes to a log
        file of the case (read with proc_log(), which checks it for the secret), or stderr
        to the given file descriptor."""
        cmd = [BINARY, "--config", self.config] + list(args)
        run_env = dict(os.environ)
        run_env.pop("MAIL2TICKET_SECRET", None)
        run_env.pop("MAIL2TICKET_CONFIG", None)
        run_env.pop("NOTIFY_SOCKET", None)
        run_env.pop("WATCHDOG_USEC", None)
        run_env.pop("WATCHDOG_PID", None)
        run_env.pop("JOURNAL_STREAM", None)
        if env:
            run_env.update(env)
        log_path = os.path.join(self.dir, f"proc-{len(self.procs)}.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=stderr if stderr is not None else subprocess.STDOUT,
                                    env=run_env, pass_fds=pass_fds)
        self.procs.append(proc)
        return proc

    def start_poll(self, *args, **kw):
        return self.start_m2t("poll", *args, **kw)

    def proc_log(self):
        text = ""
        for i in range(len(self.procs)):
            path = os.path.join(self.dir, f"proc-{i}.log")
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f.read()
        self.assertNotIn(SECRET, text, "the secret appeared in mail2ticket's output")
        return text

    def wait_for_log(self, text, timeout):
        return self.wait_for(lambda: text in self.proc_log(), timeout, f"'{text}' in the log")

    def stop_proc(self, proc, timeout=30):
        """SIGTERM, then the exit status (the process must end within timeout)."""
        proc.terminate()
        return proc.wait(timeout=timeout)

    def kill_procs(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
