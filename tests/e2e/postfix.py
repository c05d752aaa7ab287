#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A private, real Postfix for the end-to-end tests: SMTP on a loopback port, delivery to
`mail2ticket pipe` through a pipe(8) transport, and to commands in an aliases file.

Everything lives under the test's workdir: the config directory (main.cf, master.cf and the
lookup tables: nothing from /etc/postfix is read but the packaging's own files, postfix-files and
dynamicmaps.cf), the queue directory, the data directory and the log (maillog_file, written by
postlogd).  smtpd listens on 127.0.0.1 on a free port picked at start; a system Postfix, running
or not, is not touched and does not matter.  As root (which Postfix's master needs) no entry in
/etc/postfix/main.cf's alternate_config_directories is needed for `postfix -c`, `postqueue -c`
or `postmap -c`.

    with Postfix(workdir, mail2ticket_argv(BINARY, config)) as mta:
        qid = mta.submit(raw, "alice@example.org", ["support@example.com"])
        mta.wait_attempt(qid)                   # {"support@example.com": Delivery(...)}
        mta.flush(); mta.wait_attempt(qid)      # try deferred mail again now

What an admin copies is the same mail2ticket part: MAIN_CF_MAIL2TICKET, MASTER_CF_MAIL2TICKET and
the transport table (docs/mta.md shows them with real paths).

The pipe service runs the command as PIPE_USER (nobody): pipe(8) refuses root and the mail
owner.  The command, its config, secret and journal must be reachable by that user; open_path()
gives passage through the temporary folders above them.

Nothing can be left running: stop() (also run at interpreter exit) stops the master and kills
whatever of this instance remains, and a guard process started with the instance does the same
when the test process dies without stopping it (a ctest timeout's SIGKILL).

Standard library only.  Run this file as a script for a smoke test of the server itself.
"""

import atexit
import collections
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

import harness

SBIN = "/usr/sbin"
POSTFIX = shutil.which("postfix") or os.path.join(SBIN, "postfix")
POSTQUEUE = shutil.which("postqueue") or os.path.join(SBIN, "postqueue")
POSTMAP = shutil.which("postmap") or os.path.join(SBIN, "postmap")
POSTALIAS = shutil.which("postalias") or os.path.join(SBIN, "postalias")
HOST = "127.0.0.1"
PIPE_USER = "nobody"       # who the pipe transport and alias commands run as
MAIL_OWNER = "postfix"     # made by the Debian package
SETGID_GROUP = "postdrop"
MYHOSTNAME = "mx.m2t.test"
LOCAL_DOMAIN = "m2t.test"  # mydestination: the aliases file's addresses live here
START_TIMEOUT = 30
STOP_GRACE = 8             # `postfix stop` waits 5 s itself before it kills the master
DEFAULT_WAIT = 60          # upper bound for a delivery attempt to show in the log

_running = set()  # started instances, stopped at interpreter exit whatever the tests did


@atexit.register
def _stop_all():
    for server in list(_running):
        server.stop()


def unavailable():
    """Why a private Postfix cannot run here (a sentence), or None when it can."""
    for path in (POSTFIX, POSTQUEUE, POSTMAP, POSTALIAS):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: Postfix is not installed (scripts/deps.sh installs it)"
    if os.geteuid() != 0:
        return "Postfix's master must be started as root, and these tests do not run as root"
    for user in (MAIL_OWNER, PIPE_USER):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"there is no user {user!r} (the postfix package makes {MAIL_OWNER!r})"
    return None


def open_path(path):
    """harness.open_path() for Postfix and the pipe's user."""
    harness.open_path(path, f"Postfix and {PIPE_USER}")


def give_to_pipe_user(path, mode):
    """chown path to PIPE_USER (and its group) with mode: what the delivery command writes or
    must read alone (its journal folder, its secret)."""
    pw = pwd.getpwnam(PIPE_USER)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, mode)


def runs_as_pipe_user(argv):
    """Whether PIPE_USER can run argv (e.g. [binary, "--help"]) at all: the folders above a
    binary in a home directory may be closed to it."""
    pw = pwd.getpwnam(PIPE_USER)
    try:
        return subprocess.run(argv, user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                              capture_output=True, timeout=30).returncode == 0
    except OSError:
        return False


def mail2ticket_argv(binary, config, recipient="${original_recipient}"):
    """The pipe transport's command: `mail2ticket --config CONF pipe -f ${sender} -r ...`.
    The macros stay as they are: pipe(8) expands them, one argument each (never quote them)."""
    return [binary, "--config", config, "pipe", "-f", "${sender}", "-r", recipient]


# What an admin adds to main.cf, with the tables' paths filled in (docs/mta.md has them).
MAIN_CF_MAIL2TICKET = """\
# --- mail2ticket: the support domain is delivered by the mail2ticket pipe service ---
relay_domains = {domains}
relay_recipient_maps = hash:{config_dir}/mail2ticket_recipients
transport_maps = hash:{config_dir}/transport
mail2ticket_destination_recipient_limit = 1
recipient_delimiter = +
"""

# What an admin adds to master.cf.  maxproc (7th column) "-": Postfix's default; two runs that
# deliver one mail at once (its copies for support@ and billing@) take turns on the journal's
# lock for that mail.  R: a Return-Path header with the envelope sender; X: final delivery ("delivered", not
# "relayed", in success notices); q: quote unusual local parts in ${sender} and
# ${original_recipient}; null_sender=: a bounce's empty sender is passed as an empty argument
# (-f "") instead of "MAILER-DAEMON".  Not D or O: they prepend a header that differs per
# recipient (mail2ticket skips them when it keys a mail without Message-ID, but they add
# nothing).
MASTER_CF_MAIL2TICKET = """\
mail2ticket unix  -       n       n       -       {maxproc:<7} pipe
  flags={flags} user={user} null_sender=
  argv={argv}
"""

MAIN_CF = """\
# Written by tests/e2e/postfix.py: a private test instance.  Nothing here is the system's.
compatibility_level = 3.6
queue_directory = {queue_dir}
data_directory = {data_dir}
mail_owner = {mail_owner}
setgid_group = {setgid_group}
maillog_file = {maillog}
maillog_file_prefixes = {dir}
myhostname = {myhostname}
mydomain = {local_domain}
myorigin = $myhostname
mydestination = {local_domain}, $myhostname, localhost
mynetworks = 127.0.0.0/8
inet_interfaces = loopback-only
inet_protocols = ipv4
smtpd_banner = $myhostname ESMTP
smtpd_peername_lookup = no
# Treat the test's client as a remote one: add no Message-ID, Date or From to what it sends.
local_header_rewrite_clients =
biff = no
append_dot_mydomain = no
readme_directory = no
# Local delivery: only the aliases file's entries are recipients; nothing reaches /var/mail.
alias_maps = hash:{config_dir}/aliases
alias_database = hash:{config_dir}/aliases
local_recipient_maps = $alias_maps
mail_spool_directory = {dir}/mailspool
virtual_alias_maps = hash:{config_dir}/virtual
# Nothing leaves this instance.
default_transport = error:this test Postfix sends no mail out
relay_transport = error:this test Postfix relays no mail
{environment}
{mail2ticket_main}"""

# No chroot (column 5 "n"): the queue is a temporary folder without a copy of /etc.
MASTER_CF = """\
# Written by tests/e2e/postfix.py: a private test instance.
{host}:{port} inet  n     -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
{mail2ticket_master}"""

# The sanitizers' settings (make test-asan) reach the delivery commands too: the master keeps
# only import_environment's variables, and pipe(8) and local(8) pass on export_environment's.
SANITIZER_VARIABLES = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")


def environment_settings():
    passed = [name for name in SANITIZER_VARIABLES if name in os.environ]
    if not passed:
        return ""
    lines = []
    for param in ("import_environment", "export_environment"):
        default = subprocess.run([shutil.which("postconf") or os.path.join(SBIN, "postconf"),
                                  "-d", "-h", param], capture_output=True, text=True,
                                 check=True).stdout.strip()
        lines.append(f"{param} = {default} {' '.join(passed)}")
    return "\n".join(lines) + "\n"


Delivery = collections.namedtuple("Delivery", "status dsn reason relay to orig_to")

LOG_DELIVERY = re.compile(
    r"postfix/[\w/-]+\[\d+\]: (?P<qid>[0-9A-Za-z]+): to=<(?P<to>[^>]*)>, "
    r"(?:orig_to=<(?P<orig_to>[^>]*)>, )?relay=(?P<relay>[^,]+), .*?"
    r"dsn=(?P<dsn>[\d.]+), status=(?P<status>\w+) \((?P<reason>.*)\)$")
LOG_REMOVED = re.compile(r"postfix/qmgr\[\d+\]: (?P<qid>[0-9A-Za-z]+): removed$")


class Postfix:
    """One private Postfix; start() it, stop() it (also done at exit)."""

    def __init__(self, workdir, argv, domains=("example.com",), recipients=(), aliases=None,
                 virtual=None, flags="RXq", maxproc=None, name="postfix"):
        """argv: the mail2ticket service's command (see mail2ticket_argv); domains: the
        domains delivered to it; recipients: the addresses (or @domain) of those domains
        accepted, everything else refused at RCPT time; aliases: {local part: destination} of
        LOCAL_DOMAIN's aliases file, e.g. {"desk": '"|/path/mail2ticket ... pipe -r a@b"'};
        virtual: {address: address} rewritten by virtual_alias_maps before delivery;
        maxproc: how many mail2ticket runs at once (None: Postfix's default_process_limit)."""
        for arg in argv:
            if not arg or any(c.isspace() for c in arg):
                raise ValueError(f"pipe(8) argv elements cannot be empty or hold whitespace: "
                                 f"{arg!r}")
        self.workdir = workdir
        self.argv = list(argv)
        self.domains = list(domains)
        self.recipients = list(recipients)
        self.aliases = dict(aliases or {})
        self.virtual = dict(virtual or {})
        self.flags = flags
        self.maxproc = "-" if maxproc is None else str(maxproc)
        self.dir = os.path.join(os.path.abspath(workdir), name)
        self.config_dir = os.path.join(self.dir, "etc")
        self.queue_dir = os.path.join(self.dir, "spool")
        self.data_dir = os.path.join(self.dir, "data")
        self.maillog = os.path.join(self.dir, "mail.log")
        self.port = None
        self._guard = None
        self._attempts = {}  # queue id -> log offset from which its next attempt is read

    # -- lifecycle ----------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        """Write the instance, check it (`postfix check` must be silent), start it; returns when
        smtpd greets.  Raises RuntimeError with Postfix's log otherwise."""
        why = unavailable()
        if why:
            raise RuntimeError(why)
        for attempt in range(3):  # another test may take the port between pick and bind
            self.port = harness.free_ports(1)[0]
            self._write()
            self._run(POSTFIX, "-c", self.config_dir, "check", what="postfix check",
                      quiet=True)
            self._start_guard()
            _running.add(self)
            since = self._log_size()
            # `postfix start` returns once the master has bound its sockets and started.
            proc = subprocess.run([POSTFIX, "-c", self.config_dir, "start"],
                                  capture_output=True, text=True, timeout=120)
            if proc.returncode == 0:
                deadline = time.monotonic() + START_TIMEOUT
                while time.monotonic() < deadline:
                    if self._greets():
                        return
                    time.sleep(0.05)
            log = proc.stdout + proc.stderr + self.log(since)
            self.stop()
            if "Address already in use" not in log or attempt == 2:
                raise RuntimeError(f"postfix did not start with {self.config_dir} (exit "
                                   f"{proc.returncode}):\n{log}")

    def stop(self):
        """`postfix stop`, then wait until no process of this instance remains (killing what is
        left after STOP_GRACE seconds).  Idempotent."""
        _running.discard(self)
        if os.path.isdir(self.config_dir):
            subprocess.run([POSTFIX, "-c", self.config_dir, "stop"], capture_output=True,
                           timeout=60)
            reap(self.config_dir, STOP_GRACE)
        if self._guard is not None:
            self._guard.stdin.close()  # the guard finds nothing left and ends
            self._guard.wait(timeout=60)
            self._guard = None

    def processes(self):
        """pids of this instance's live processes (master, daemons, delivery commands)."""
        return instance_pids(self.config_dir)

    def _start_guard(self):
        """A process that outlives us: when our end of its stdin closes, however we end, it
        stops this instance."""
        if self._guard is None:
            self._guard = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--reap", self.config_dir],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)

    def _greets(self):
        try:
            with socket.create_connection((HOST, self.port), timeout=2) as s:
                s.settimeout(2)
                return s.recv(200).startswith(b"220 ")
        except OSError:
            return False

    # -- setup --------------------------------------------------------------

    def _write(self):
        for d in (self.config_dir, self.queue_dir, self.data_dir,
                  os.path.join(self.dir, "mailspool")):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.dir, 0o755)
        open_path(self.dir)
        owner = pwd.getpwnam(MAIL_OWNER)
        os.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
        os.chmod(self.data_dir, 0o700)
        pw = pwd.getpwnam(PIPE_USER)
        os.chown(os.path.join(self.dir, "mailspool"), pw.pw_uid, pw.pw_gid)
        main = MAIN_CF_MAIL2TICKET.format(domains=", ".join(self.domains),
                                          config_dir=self.config_dir)
        self._write_file("main.cf", MAIN_CF.format(
            queue_dir=self.queue_dir, data_dir=self.data_dir, mail_owner=MAIL_OWNER,
            setgid_group=SETGID_GROUP, maillog=self.maillog, dir=self.dir,
            myhostname=MYHOSTNAME, local_domain=LOCAL_DOMAIN, config_dir=self.config_dir,
            environment=environment_settings(), mail2ticket_main=main))
        master = MASTER_CF_MAIL2TICKET.format(flags=self.flags, user=PIPE_USER,
                                              maxproc=self.maxproc,
                                              argv=" ".join(self.argv))
        self._write_file("master.cf", MASTER_CF.format(host=HOST, port=self.port,
                                                       mail2ticket_master=master))
        self._write_file("transport", "".join(f"{d}\tmail2ticket:\n" for d in self.domains))
        self._write_file("mail2ticket_recipients",
                         "".join(f"{r}\tOK\n" for r in self.recipients))
        self._write_file("virtual", "".join(f"{a}\t{b}\n" for a, b in self.virtual.items()))
        self._write_file("aliases", "".join(f"{a}: {b}\n" for a, b in self.aliases.items()))
        for table in ("transport", "mail2ticket_recipients", "virtual"):
            self._run(POSTMAP, "-c", self.config_dir, "hash:" + self.table(table),
                      what="postmap " + table)
        # Owned by root, so local(8) runs the aliases' commands as default_privs (nobody).
        self._run(POSTALIAS, "-c", self.config_dir, "hash:" + self.table("aliases"),
                  what="postalias")

    def table(self, name):
        return os.path.join(self.config_dir, name)

    def _write_file(self, name, text):
        path = self.table(name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        # Postfix's tools wait (up to 2 s, in steps) for a main.cf changed this very second to
        # settle; these files are complete, so date them a little back.
        past = time.time() - 5
        os.utime(path, (past, past))

    def _run(self, *argv, what, quiet=False):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        output = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0 or (quiet and output):
            raise RuntimeError(f"{what} failed (exit {proc.returncode}): {output}\n"
                               + self.log())
        return proc.stdout

    # -- mail ---------------------------------------------------------------

    def submit(self, raw, sender, recipients):
        """Send raw (bytes) over SMTP from sender (may be "") to recipients; returns the queue
        id.  A refused recipient raises smtplib.SMTPRecipientsRefused (nothing is queued)."""
        since = self._log_size()
        with smtplib.SMTP(HOST, self.port, local_hostname="client.m2t.test", timeout=60) as smtp:
            smtp.ehlo()
            code, resp = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, sender)
            refused = {}
            for rcpt in recipients:
                code, resp = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = (code, resp)
            if refused:
                smtp.rset()
                raise smtplib.SMTPRecipientsRefused(refused)
            code, resp = smtp.data(raw)
            if code != 250:
                raise smtplib.SMTPDataError(code, resp)
        match = re.search(rb"queued as ([0-9A-Za-z]+)", resp)
        if not match:
            raise RuntimeError(f"no queue id in the answer to DATA: {resp!r}")
        qid = match.group(1).decode()
        self._attempts[qid] = since
        return qid

    def flush(self):
        """`postqueue -f`: try every queued mail now (deferred ones too)."""
        since = self._log_size()
        for qid in self.queue():
            self._attempts[qid] = since
        self._run(POSTQUEUE, "-c", self.config_dir, "-f", what="postqueue -f")

    def queue(self):
        """{queue id: postqueue -j's record} of every queued mail; a record has queue_name
        ("incoming", "active", "deferred", "hold"), sender and recipients (each with address
        and, once deferred, delay_reason)."""
        out = self._run(POSTQUEUE, "-c", self.config_dir, "-j", what="postqueue -j")
        records = (json.loads(line) for line in out.splitlines() if line.strip())
        return {r["queue_id"]: r for r in records}

    def deliveries(self, qid=None, since=0):
        """[(queue id, Delivery)] logged from byte offset since: every delivery attempt's
        outcome per recipient, in order."""
        out = []
        for line in self.log(since).splitlines():
            match = LOG_DELIVERY.search(line)
            if match and (qid is None or match["qid"] == qid):
                out.append((match["qid"], Delivery(match["status"], match["dsn"],
                                                   match["reason"], match["relay"],
                                                   match["to"], match["orig_to"])))
        return out

    def wait_attempt(self, qid, recipients=None, timeout=DEFAULT_WAIT):
        """Wait for the outcome of the delivery attempt that the last submit() or flush()
        started for mail qid; returns {recipient: Delivery} (keyed by the address as submitted,
        which the log shows as orig_to when Postfix rewrote it).  recipients defaults to the
        addresses queued for qid.  Only an upper bound: it returns as soon as every recipient
        has an outcome and the mail has left the active queue."""
        since = self._attempts.get(qid, 0)
        wanted = recipients
        deadline = time.monotonic() + timeout
        while True:
            queue = self.queue()
            if wanted is None and qid in queue:
                wanted = [r["address"] for r in queue[qid]["recipients"]]
            outcome = {}
            submitted = {}  # one entry per delivery, by the address as submitted
            for _, d in self.deliveries(qid, since):
                outcome[d.to] = d
                if d.orig_to:
                    outcome[d.orig_to] = d
                submitted[d.orig_to or d.to] = d
            settled = qid not in queue or queue[qid]["queue_name"] == "deferred"
            if wanted is not None and settled and all(r in outcome for r in wanted):
                return {r: outcome[r] for r in wanted}
            if wanted is None and qid not in queue and submitted:
                return submitted
            if time.monotonic() > deadline:
                raise AssertionError(f"no outcome for mail {qid} to {wanted} within {timeout} s;"
                                     f" queue: {queue.get(qid)}; log:\n" + self.log(since))
            time.sleep(0.1)

    def wait_for(self, predicate, what, timeout=DEFAULT_WAIT):
        """Poll predicate() until it returns something true (returned); an upper bound only."""
        return harness.wait_until(
            predicate, timeout, lambda: f"{what}: not within {timeout} s; log:\n" + self.log())

    def log(self, since=0):
        try:
            with open(self.maillog, "rb") as f:
                f.seek(since)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _log_size(self):
        try:
            return os.path.getsize(self.maillog)
        except FileNotFoundError:
            return 0


# ---------------------------------------------------------------------------
# Finding and ending an instance's processes
# ---------------------------------------------------------------------------

def instance_pids(config_dir):
    """Live (not zombie) processes whose environment says MAIL_CONFIG=config_dir: `postfix -c`
    puts it there, the master and its daemons keep it, and pipe(8) and local(8) pass it on to
    the commands they run (export_environment)."""
    marker = b"MAIL_CONFIG=" + os.fsencode(config_dir)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        pids.append(int(entry))
    return pids


def reap(config_dir, grace):
    """Wait up to grace seconds for the instance's processes to end, then SIGKILL the rest and
    wait for them; raises RuntimeError if some will not go."""
    deadline = time.monotonic() + grace
    while instance_pids(config_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    deadline = time.monotonic() + 10
    while True:
        pids = instance_pids(config_dir)
        if not pids:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"postfix processes {pids} of {config_dir} do not go away")
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def _guard_main(config_dir):
    """python3 postfix.py --reap CONFIG_DIR: wait for standard input to close, then stop the
    instance if it still runs."""
    try:
        sys.stdin.buffer.read()
    except (OSError, KeyboardInterrupt):
        pass
    if instance_pids(config_dir):
        subprocess.run([POSTFIX, "-c", config_dir, "abort"], capture_output=True, timeout=60)
        reap(config_dir, 2)


# ---------------------------------------------------------------------------
# Smoke test: python3 tests/e2e/postfix.py
# ---------------------------------------------------------------------------

def _smoke():
    why = unavailable()
    if why:
        print("cannot run:", why)
        sys.exit(77)
    workdir = tempfile.mkdtemp(prefix="m2t-postfix-")
    open_path(workdir)
    out = os.path.join(workdir, "delivered")
    os.makedirs(out)
    give_to_pipe_user(out, 0o755)
    stub = os.path.join(workdir, "stub.sh")
    with open(stub, "w") as f:
        f.write('#!/bin/sh\n# args: --config CONF pipe -f SENDER -r RECIPIENT\n'
                f'n=$(ls {out} | wc -l)\n'
                f'printf "%s|" "$@" > {out}/$n.args\ncat > {out}/$n.eml\n'
                f'[ -e {workdir}/down ] && {{ echo "desk is down" >&2; exit 75; }}\nexit 0\n')
    os.chmod(stub, 0o755)
    started = time.monotonic()
    mta = Postfix(workdir, mail2ticket_argv(stub, "/dev/null"),
                  recipients=["support@example.com", "billing@example.com"],
                  aliases={"desk": f'"|{stub} --config /dev/null pipe -r billing@example.com"'})
    try:
        mta.start()
        print(f"started in {time.monotonic() - started:.2f}s on port {mta.port}, "
              f"{len(mta.processes())} processes")
        mail = (b"From: Tester <tester@example.org>\nTo: support@example.com\n"
                b"Subject: smoke\nMessage-ID: <smoke-1@example.org>\n\nhello\n")
        qid = mta.submit(mail, "tester@example.org", ["support@example.com",
                                                      "billing+x@example.com"])
        print("sent:", mta.wait_attempt(qid))
        try:
            mta.submit(mail, "tester@example.org", ["nobody@example.com"])
            raise AssertionError("unknown recipient accepted")
        except smtplib.SMTPRecipientsRefused as exc:
            print("refused:", exc.recipients)
        open(os.path.join(workdir, "down"), "w").close()
        qid = mta.submit(mail, "", ["support@example.com"])
        print("deferred:", mta.wait_attempt(qid))
        print("queue:", mta.queue())
        os.unlink(os.path.join(workdir, "down"))
        mta.flush()
        print("after flush:", mta.wait_attempt(qid), "queue:", mta.queue())
        qid = mta.submit(mail, "tester@example.org", [f"desk@{LOCAL_DOMAIN}"])
        print("alias:", mta.wait_attempt(qid))
        for name in sorted(os.listdir(out)):
            if name.endswith(".args"):
                with open(os.path.join(out, name)) as f:
                    print(name, f.read())
    finally:
        mta.stop()
        print("stopped; processes left:", mta.processes(),
              "port open:", harness.port_open(mta.port))
        mta.stop()  # idempotent
    shutil.rmtree(workdir, ignore_errors=True)
    print("smoke test OK")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--reap":
        _guard_main(sys.argv[2])
    else:
        _smoke()
