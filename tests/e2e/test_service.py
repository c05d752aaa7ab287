#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""mail2ticket as a service: one "mail handled" line per mail (text and JSON) from pipe, import,
poll and reprocess; the journal's level prefixes when standard error is the stream named by
$JOURNAL_STREAM; sd_notify READY/RELOADING/STOPPING and the watchdog, received on a datagram
socket of our own as $NOTIFY_SOCKET; warnings for config and secret files others can read."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, SAMPLES, SECRET, TICKET_NUMBER, sample  # noqa: E402
from service_harness import DEAD_DESK, ServiceTestCase, mail  # noqa: E402
from test_forgery import FORGED_LINE, LOG_FORGERY  # noqa: E402

TEXT_LINE = re.compile(r"^mail2ticket: (error|warning|info|debug): (.*)$")
FIELD = re.compile(r' ([A-Za-z][\w-]*)=("(?:[^"\\]|\\.)*"|\S+)')


def parse_text_line(line, prefix=TEXT_LINE):
    """(level, message, {field: value}) of one text log line, or None when it is not one."""
    m = prefix.match(line)
    if not m:
        return None
    level, rest = m.group(1), m.group(2)
    first = FIELD.search(rest)
    message = rest[:first.start()] if first else rest
    fields = {}
    for name, value in FIELD.findall(rest[len(message):]):
        if value.startswith('"'):
            value = re.sub(r'\\(.)', lambda x: "\n" if x.group(1) == "n" else x.group(1),
                           value[1:-1])
        fields[name] = value
    return level, message, fields


def handled_lines(err, prefix=TEXT_LINE):
    """[(level, fields)] of the "mail handled" / "mail not handled" lines of err."""
    out = []
    for line in err.splitlines():
        parsed = parse_text_line(line, prefix)
        if parsed and parsed[1] in ("mail handled", "mail not handled"):
            out.append((parsed[0], parsed[1], parsed[2]))
    return out


def json_lines(err):
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    for obj in lines:
        for key in ("time", "level", "msg"):
            assert key in obj, obj
    return lines


class LogLines(ServiceTestCase):
    def assert_handled_fields(self, fields, source, action, ticket=True):
        self.assertEqual(fields["source"], source)
        self.assertEqual(fields["action"], action)
        self.assertTrue(fields["key"].startswith(("mid:", "sha256:")), fields)
        self.assertRegex(fields["ms"], r"^\d+$")
        if ticket:
            self.assertRegex(fields["ticket"], TICKET_NUMBER)
        else:
            self.assertNotIn("ticket", fields)

    def test_pipe_one_line_per_mail_with_each_outcome(self):
        cases = [
            (mail(1), "opened", "info"),
            (mail(1), "already-handled", "info"),
            (sample("39-out-of-office-exchange.eml"), "dropped", "info"),
        ]
        for raw, action, level in cases:
            rc, _, err = self.pipe(raw)
            self.assertEqual(rc, 0, err)
            [(got_level, message, fields)] = handled_lines(err)
            self.assertEqual((got_level, message), (level, "mail handled"), err)
            self.assert_handled_fields(fields, "pipe", action, ticket=action != "dropped")
            if action == "dropped":
                self.assertIn("loop guard", fields["reason"])
            if action == "opened":
                self.assertEqual(fields["why"], "department 1 from To support@example.com")
        self.assertEqual(handled_lines(self.pipe(mail(1))[2])[0][2]["ticket"],
                         self.desk.tickets()[0]["tid"])

        # Refused by the desk: quarantined, at warning level, with the desk's reason.
        self.desk.fault("error", message="Department ID not found")
        rc, _, err = self.pipe(mail(2), "--mailbox", "mta")
        self.assertEqual(rc, 0, err)
        [(level, message, fields)] = handled_lines(err)
        self.assertEqual((level, message), ("warning", "mail handled"))
        self.assert_handled_fields(fields, "pipe mta", "quarantined", ticket=False)
        self.assertIn("Department ID not found", fields["reason"])

        # A desk that fails: "mail not handled" with the error.
        self.desk.fault("http500")
        rc, _, err = self.pipe(mail(3))
        self.assertEqual(rc, 75, err)
        [(level, message, fields)] = handled_lines(err)
        self.assertEqual(message, "mail not handled")
        self.assertEqual(fields["source"], "pipe")
        self.assertIn("HTTP 500", fields["error"])
        self.assertRegex(fields["ms"], r"^\d+$")
        self.assertNotIn("action", fields)

    def test_import_one_line_per_mail_dry_run_and_real(self):
        names = ["01-plain.eml", "03-alternative.eml", "04-pdf-attachment.eml"]
        paths = [os.path.join(SAMPLES, n) for n in names]
        rc, out, err = self.run_m2t("import", "--dry-run", *paths)
        self.assertEqual(rc, 0, err)
        lines = handled_lines(err)
        self.assertEqual(len(lines), 3, err)
        # The source is the import; the mail names the file (or mbox@offset) it came from.
        self.assertEqual(sorted(f["mail"] for _, _, f in lines), sorted(paths))
        for level, message, fields in lines:
            self.assert_handled_fields(fields, "import", "dry-run", ticket=False)
        self.assertEqual(self.desk.calls(), [])

        rc, _, err = self.run_m2t("import", *paths)
        self.assertEqual(rc, 0, err)
        lines = handled_lines(err)
        self.assertEqual(len(lines), 3, err)
        tids = sorted(t["tid"] for t in self.desk.tickets())
        self.assertEqual(sorted(f["ticket"] for _, _, f in lines), tids)
        for level, message, fields in lines:
            self.assertEqual((level, message), ("info", "mail handled"))
            self.assert_handled_fields(fields, "import", "opened")

    def test_poll_one_line_per_spooled_mail(self):
        self.use_spool()
        for i in range(4):
            rc, _, err = self.pipe(mail(i))
            self.assertEqual(rc, 0, err)
            self.assertNotIn("mail handled", err)  # spooling is not handling
            self.assertIn("mail spooled", err)
        rc, _, err = self.run_m2t("poll", "--once")
        self.assertEqual(rc, 0, err)
        lines = handled_lines(err)
        self.assertEqual(len(lines), 4, err)
        for level, message, fields in lines:
            self.assert_handled_fields(fields, "mailbox spool", "opened")
            self.assertRegex(fields["mail"], r"^file \S+$")
        self.assertEqual(sorted(f["ticket"] for _, _, f in lines),
                         sorted(t["tid"] for t in self.desk.tickets()))

    def test_json_lines_parse_for_every_command(self):
        rc, _, err = self.run_m2t("--log-format", "json", "pipe", stdin=mail(1))
        self.assertEqual(rc, 0, err)
        [handled] = [o for o in json_lines(err) if o["msg"] == "mail handled"]
        self.assertEqual(handled["level"], "info")
        self.assertEqual((handled["source"], handled["action"]), ("pipe", "opened"))
        self.assertRegex(handled["ticket"], TICKET_NUMBER)
        self.assertRegex(handled["ms"], r"^\d+$")
        self.assertRegex(handled["key"], r"^mid:spool-1@example.org#[0-9a-f]{16}$")

        path = os.path.join(SAMPLES, "01-plain.eml")
        for args in (["import", "--dry-run", path], ["import", path]):
            rc, _, err = self.run_m2t("--log-format", "json", *args)
            self.assertEqual(rc, 0, err)
            [handled] = [o for o in json_lines(err) if o["msg"] == "mail handled"]
            self.assertEqual((handled["source"], handled["mail"]), ("import", path))
            self.assertEqual(handled["action"], "dry-run" if "--dry-run" in args else "opened")

        self.use_spool()
        self.assertEqual(self.pipe(mail(2))[0], 0)
        self.desk.fault("error", message="No such \"queue\"\nat all", match="Spool test 3")
        rc, _, err = self.run_m2t("--log-format", "json", "pipe", stdin=mail(3))
        self.assertEqual(rc, 0, err)
        self.assertEqual([o["msg"] for o in json_lines(err) if o["level"] == "info"],
                         ["mail spooled"])
        rc, _, err = self.run_m2t("--log-format", "json", "poll", "--once")
        self.assertEqual(rc, 75, err)
        objs = json_lines(err)
        [handled] = [o for o in objs if o["msg"] == "mail handled"]
        self.assertEqual((handled["source"], handled["action"]), ("mailbox spool", "opened"))
        self.assertTrue(handled["mail"].startswith("file "))
        [failed] = [o for o in objs if o["msg"] == "mail not handled"]
        self.assertEqual(failed["level"], "warning")
        self.assertIn('No such "queue"\nat all', failed["error"])

        # reprocess (of nothing) and stats log as JSON too.
        rc, _, err = self.run_m2t("--log-format", "json", "reprocess")
        self.assertEqual(rc, 0, err)
        self.assertIn("reprocess finished", [o["msg"] for o in json_lines(err)])

    def test_text_values_with_blanks_and_quotes_stay_one_line(self):
        self.desk.fault("error", message='Say "no"\nand = more')
        rc, _, err = self.pipe(mail(1))
        self.assertEqual(rc, 0, err)
        [(level, message, fields)] = handled_lines(err)
        self.assertEqual(fields["action"], "quarantined")
        self.assertIn('Say "no"\nand = more', fields["reason"])


def run_with_stderr_fd(cmd, env, stdin=b"", journal_stream_of=None, timeout=60):
    """Run cmd with its standard error a pipe of our own; JOURNAL_STREAM is set to that pipe's
    "dev:ino" (journal_stream_of="self"), to another pipe's (="other"), or to the given text.
    Returns (rc, stdout, stderr) as text."""
    r, w = os.pipe()
    other_r, other_w = os.pipe()
    try:
        st = os.fstat(w if journal_stream_of == "self" else other_w)
        run_env = dict(env)
        if journal_stream_of in ("self", "other"):
            run_env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        elif journal_stream_of is not None:
            run_env["JOURNAL_STREAM"] = journal_stream_of
        else:
            run_env.pop("JOURNAL_STREAM", None)
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=w,
                                env=run_env)
        os.close(w)
        w = None
        chunks = []
        reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(r, 65536),
                                                                    b"")))
        reader.start()
        out, _ = proc.communicate(stdin, timeout=timeout)
        reader.join(timeout)
        return (proc.returncode, out.decode("utf-8", "replace"),
                b"".join(chunks).decode("utf-8", "replace"))
    finally:
        for fd in (r, w, other_r, other_w):
            if fd is not None:
                os.close(fd)


class JournalStream(ServiceTestCase):
    def run_journal(self, *args, stdin=b"", stream="self"):
        env = dict(os.environ)
        env.pop("MAIL2TICKET_SECRET", None)
        env.pop("MAIL2TICKET_CONFIG", None)
        rc, out, err = run_with_stderr_fd([BINARY, "--config", self.config] + list(args), env,
                                          stdin=stdin, journal_stream_of=stream)
        self.assertNotIn(SECRET, out + err, "the secret appeared in mail2ticket's output")
        return rc, out, err

    def test_matching_stream_gives_level_prefixes(self):
        os.chmod(self.config, 0o644)  # a warning line to see
        rc, _, err = self.run_journal("pipe", stdin=mail(1))
        self.assertEqual(rc, 0, err)
        lines = err.splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^<[0-7]>(error|warning|info|debug): ")
            self.assertNotIn("mail2ticket: ", line)
        self.assertTrue(any(line.startswith("<4>warning: the config file") for line in lines),
                        err)
        [(level, message, fields)] = handled_lines(
            err, re.compile(r"^<6>(info): (.*)$"))
        self.assertEqual(fields["action"], "opened")
        self.assertRegex(fields["ticket"], TICKET_NUMBER)

        self.desk.fault("error", message="Department ID not found")
        rc, _, err = self.run_journal("pipe", stdin=mail(2))
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"(?m)^<4>warning: mail handled source=pipe .*action=quarantined")
        self.desk.fault("none")

        self.use_direct(url=DEAD_DESK)
        rc, _, err = self.run_journal("pipe", stdin=mail(3))
        self.assertEqual(rc, 75, err)
        self.assertRegex(err, r"(?m)^<4>warning: mail not handled source=pipe ")
        self.assertRegex(err, r"(?m)^<3>error: .*exit=\"75 \(the MTA keeps the mail")

    def test_matching_stream_with_json_prefixes_each_object(self):
        rc, _, err = self.run_journal("--log-format", "json", "pipe", stdin=mail(1))
        self.assertEqual(rc, 0, err)
        for line in err.splitlines():
            m = re.match(r"^<(\d)>(\{.*\})$", line)
            self.assertTrue(m, line)
            obj = json.loads(m.group(2))
            self.assertEqual(int(m.group(1)),
                             {"error": 3, "warning": 4, "info": 6, "debug": 7}[obj["level"]])

    def test_stream_of_another_file_or_garbage_gives_normal_lines(self):
        for stream in ("other", "garbage", "0:0", None):
            self.desk.reset()
            rc, _, err = self.run_journal("pipe", stdin=mail(1), stream=stream)
            self.assertEqual(rc, 0, err)
            self.assertNotRegex(err, r"(?m)^<\d>", stream)
            self.assertRegex(err, r"(?m)^mail2ticket: info: mail handled source=pipe ", stream)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"),
                     "needs root and unshare(1) for a private /dev/log")
class Syslog(ServiceTestCase):
    """--syslog, against a /dev/log of the test's own (tests/e2e/syslog_capture.py) in a private
    mount namespace: the machine's syslog is not touched."""

    desk_tls = True  # no warning about plain http in the lines checked
    def syslog_run(self, *args, stdin=b""):
        cmd = ["unshare", "--mount", "--propagation", "unchanged", sys.executable,
               os.path.join(os.path.dirname(os.path.abspath(__file__)), "syslog_capture.py"),
               BINARY, "--config", self.config, *args]
        env = dict(os.environ)
        env.pop("MAIL2TICKET_SECRET", None)
        env.pop("JOURNAL_STREAM", None)
        with tempfile.TemporaryFile() as f:
            f.write(stdin)
            f.seek(0)
            proc = subprocess.run(cmd, stdin=f, capture_output=True, env=env, timeout=60)
        out, err = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
        self.kept_output.append("$ mail2ticket --syslog\n" + out + err)
        self.assertNotIn(SECRET, out + err)
        return proc.returncode, out, err

    def test_lines_go_to_syslog_as_mail_facility_with_their_level(self):
        rc, out, err = self.syslog_run("--syslog", "pipe", stdin=mail(1))
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")  # nothing on standard error
        # <PRI>: facility mail (2) * 8 + level; info 6 -> 22, warning 4 -> 20.
        self.assertRegex(out, r"(?m)^<22>.*mail2ticket\[\d+\]: info: mail handled source=pipe "
                              r"key=mid:spool-1@example.org#[0-9a-f]{16} action=opened ticket=")
        self.use_direct(url=DEAD_DESK)
        rc, out, err = self.syslog_run("--syslog", "pipe", stdin=mail(2))
        self.assertEqual(rc, 75, err)
        self.assertRegex(out, r"(?m)^<20>.*mail2ticket\[\d+\]: warning: mail not handled ")
        self.assertRegex(out, r"(?m)^<19>.*mail2ticket\[\d+\]: error: ")

    def test_mail_text_cannot_forge_a_syslog_line(self):
        rc, out, err = self.syslog_run("--syslog", "pipe", stdin=LOG_FORGERY)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("\u2028", out)
        self.assertNotIn("\u0085", out)
        forged = [line for line in out.splitlines() if FORGED_LINE in line]
        self.assertEqual(len(forged), 1, out)
        self.assertIn("charset label", forged[0])
        self.assertIn("\\n" + FORGED_LINE + "\\u2028\\u0085x", forged[0])
        self.assertEqual([line for line in out.splitlines() if "mail handled" in line
                          and "key=mid:forge-log@example.org#" not in line], [])

    def test_json_lines_too(self):
        rc, out, err = self.syslog_run("--syslog", "--log-format", "json", "pipe",
                                       stdin=mail(3))
        self.assertEqual(rc, 0, err)
        [line] = [l for l in out.splitlines() if "mail handled" in l]
        handled = json.loads(line[line.index("{"):])
        self.assertEqual((handled["level"], handled["action"]), ("info", "opened"))


class SdNotify(ServiceTestCase):
    """$NOTIFY_SOCKET is an AF_UNIX datagram socket the test binds; poll (on a spool) reports
    to it what systemd's Type=notify and WatchdogSec expect."""

    timeout = 3

    def setUp(self):
        super().setUp()
        self.use_spool()
        self.notify_path = os.path.join(self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.notify_path)
        self.addCleanup(self.sock.close)
        self.messages = []  # [set of "KEY=value" lines] per datagram, in order

    def start_notified_poll(self, **env):
        env = dict(env, NOTIFY_SOCKET=self.notify_path)
        return self.start_poll(env=env)

    def receive_until(self, predicate, timeout, what):
        """Receive datagrams until predicate(self.messages) holds; fail after timeout s."""
        deadline = time.monotonic() + timeout
        while not predicate(self.messages):
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"{what}: not within {timeout} s; received {self.messages}\n"
                          + self.proc_log())
            self.sock.settimeout(min(left, 0.5))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            self.assertNotIn(SECRET.encode(), data)
            self.messages.append(set(data.decode().split("\n")))

    def index_of(self, line, after=-1):
        for i, msg in enumerate(self.messages):
            if i > after and line in msg:
                return i
        return None

    def count(self, line, after=-1):
        return sum(1 for i, msg in enumerate(self.messages) if i > after and line in msg)

    def test_ready_watchdog_reload_and_stop(self):
        proc = self.start_notified_poll(WATCHDOG_USEC="1000000")
        self.receive_until(lambda m: self.index_of("READY=1") is not None, 15, "READY=1")
        ready = self.index_of("READY=1")
        self.assertTrue(any(line.startswith("STATUS=") for line in self.messages[ready]),
                        self.messages[ready])
        self.assertIn("watching mailbox mailbox=spool", self.proc_log())

        # WATCHDOG_USEC=1 s: pings at least every half of it; wait (generously) for several.
        self.receive_until(lambda m: self.count("WATCHDOG=1", ready) >= 4, 10,
                           "four WATCHDOG=1 after READY=1")

        # Still pinging while mail is delivered.
        self.assertEqual(self.pipe(mail(1))[0], 0)
        self.wait_for_tickets(1, timeout=20)

        # SIGHUP: RELOADING=1, then READY=1 again; the reloaded service still works.
        before = len(self.messages)
        proc.send_signal(signal.SIGHUP)
        self.receive_until(lambda m: self.index_of("READY=1", self.index_of("RELOADING=1",
                                                                            before - 1) or
                                                   len(m)) is not None
                           and self.index_of("RELOADING=1", before - 1) is not None,
                           15, "RELOADING=1 then READY=1")
        reloading = self.index_of("RELOADING=1", before - 1)
        self.assertTrue(any(line.startswith("MONOTONIC_USEC=") for line in
                            self.messages[reloading]), self.messages[reloading])
        self.wait_for_log("config reloaded", 10)
        self.assertEqual(self.pipe(mail(2))[0], 0)
        self.wait_for_tickets(2, timeout=20)
        after_reload = len(self.messages) - 1
        self.receive_until(lambda m: self.count("WATCHDOG=1", after_reload) >= 2, 10,
                           "WATCHDOG=1 after the reload")

        # SIGTERM: STOPPING=1 and exit 0.
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0, self.proc_log())
        self.receive_until(lambda m: self.index_of("STOPPING=1") is not None, 5, "STOPPING=1")
        self.assertIn("stopped by a signal", self.proc_log())
        self.assert_one_ticket_each(["Spool test 1", "Spool test 2"])

    def test_a_reload_that_fails_still_ends_with_ready(self):
        proc = self.start_notified_poll()
        self.receive_until(lambda m: self.index_of("READY=1") is not None, 15, "READY=1")
        with open(self.config, "a") as f:
            f.write("\n[no such section]\n")
        before = len(self.messages)
        proc.send_signal(signal.SIGHUP)
        self.receive_until(lambda m: self.index_of("RELOADING=1", before - 1) is not None and
                           self.index_of("READY=1", self.index_of("RELOADING=1",
                                                                  before - 1)) is not None,
                           15, "RELOADING=1 then READY=1")
        ready = self.messages[self.index_of("READY=1", before - 1)]
        self.assertIn("STATUS=the config was not reloaded; the old one stays", ready)
        self.wait_for_log("not reloaded", 10)
        self.drop_in_spool(mail(1))  # the old config goes on working (pipe reads the new one)
        self.wait_for_tickets(1, timeout=20)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0, self.proc_log())
        self.receive_until(lambda m: self.index_of("STOPPING=1") is not None, 5, "STOPPING=1")

    def test_no_watchdog_pings_without_watchdog_usec_or_for_another_pid(self):
        for env in ({}, {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}):
            self.messages = []
            proc = self.start_notified_poll(**env)
            self.receive_until(lambda m: self.index_of("READY=1") is not None, 15, "READY=1")
            self.assertEqual(self.pipe(mail(len(self.procs)))[0], 0)
            self.wait_for_tickets(len(self.procs), timeout=20)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0, self.proc_log())
            self.receive_until(lambda m: self.index_of("STOPPING=1") is not None, 5,
                               "STOPPING=1")
            self.assertEqual(self.count("WATCHDOG=1"), 0, (env, self.messages))


class PermissionWarnings(ServiceTestCase):
    desk_tls = True  # the only warnings are the ones these tests cause

    def setUp(self):
        super().setUp()
        self.secret = os.path.join(self.dir, "secret")

    def warnings(self, *args, stdin=b""):
        rc, _, err = self.run_m2t(*args, stdin=stdin)
        self.assertEqual(rc, 0, err)
        return [line for line in err.splitlines() if line.startswith("mail2ticket: warning:")]

    def test_config_readable_by_others_is_named(self):
        os.chmod(self.config, 0o644)
        os.chmod(self.secret, 0o600)
        for args, stdin in ((["pipe"], mail(1)), (["stats"], b"")):
            [line] = self.warnings(*args, stdin=stdin)
            self.assertIn(f"the config file {self.config} can be read by other users "
                          f"(mode 0644)", line)
            self.assertIn(f"chmod 600 {self.config}", line)

    def test_secret_file_readable_by_its_group_is_named(self):
        os.chmod(self.config, 0o600)
        os.chmod(self.secret, 0o640)
        [line] = self.warnings("pipe", stdin=mail(1))
        self.assertIn(f"the secret file {self.secret} can be read by its group (mode 0640)",
                      line)
        self.assertIn(f"chmod 600 {self.secret}", line)
        self.assertNotIn(SECRET, line)

    def test_writable_by_others_says_changed(self):
        os.chmod(self.config, 0o602)
        os.chmod(self.secret, 0o660)
        lines = self.warnings("stats")
        self.assertEqual(len(lines), 2, lines)
        self.assertIn(f"the config file {self.config} can be changed by other users "
                      f"(mode 0602)", lines[0])
        self.assertIn(f"the secret file {self.secret} can be changed by its group (mode 0660)",
                      lines[1])

    def test_mailbox_password_file_is_checked_too(self):
        with open(os.path.join(self.dir, "mailbox.pass"), "w") as f:
            f.write("pw\n")
        pass_file = os.path.join(self.dir, "mailbox.pass")
        os.chmod(pass_file, 0o644)
        self.use_direct(extra="\n[mailbox support]\nurl = imaps://127.0.0.1:1/INBOX\n"
                              "user = support\npassword_file = mailbox.pass\n")
        os.chmod(self.config, 0o600)
        os.chmod(self.secret, 0o600)
        [line] = self.warnings("stats")
        self.assertIn(f"the secret file {pass_file} can be read by other users (mode 0644)",
                      line)

    def test_private_files_give_no_warning(self):
        os.chmod(self.config, 0o600)
        os.chmod(self.secret, 0o600)
        rc, _, err = self.run_m2t("pipe", stdin=mail(1))
        self.assertEqual(rc, 0, err)
        self.assertNotIn("warning", err)
        self.assertIn("mail handled", err)
        rc, _, err = self.run_m2t("stats")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("warning", err)
        # Also a service: poll on a spool, its start and a reload.
        self.use_spool()
        os.chmod(self.config, 0o600)
        proc = self.start_poll()
        self.wait_for_log("watching mailbox", 15)
        proc.send_signal(signal.SIGHUP)
        self.wait_for_log("config reloaded", 15)
        self.assertEqual(self.stop_proc(proc), 0)
        self.assertNotIn("warning", self.proc_log())

    def test_warnings_come_back_on_reload(self):
        os.chmod(self.secret, 0o600)
        self.use_spool()
        os.chmod(self.config, 0o600)
        proc = self.start_poll()
        self.wait_for_log("watching mailbox", 15)
        os.chmod(self.config, 0o640)
        proc.send_signal(signal.SIGHUP)
        self.wait_for_log("config reloaded", 15)
        self.assertEqual(self.stop_proc(proc), 0)
        self.assertEqual(self.proc_log().count(f"the config file {self.config} can be read by "
                                               f"its group (mode 0640)"), 1, self.proc_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
