#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A private, real Dovecot 2.3 (IMAP and POP3) for the end-to-end tests, on loopback ports.

Everything lives under the test's workdir: the config (nothing from /etc/dovecot is read, no
!include), the runtime sockets (base_dir), state_dir, the log, a self-signed certificate and
the one user's Maildir.  Four listeners on free ports picked at start: imap and pop3 (with
STARTTLS/STLS when ssl=True), imaps and pop3s (only when ssl=True).  A system Dovecot on
143/993 is not touched and does not matter.

    with Dovecot(workdir) as server:           # or start() plus addCleanup(server.stop)
        server.append(sample("01-plain.eml"))
        ... point mail2ticket at imap://127.0.0.1:{server.imap_port} ...
        self.assertEqual(server.count("INBOX"), 0)

The helpers (append, count, messages, ...) talk plain IMAP to imap_port with LOGIN, one
connection per call.  Folder names are Unicode; they are sent quoted and in modified UTF-7.

As root (how the tests run) the mail processes run as 65534:65534 (Dovecot refuses uid 0 for
mail), the login processes as dovenull and auth as dovecot, so the workdir gets the
group/other execute bit for them to reach their files.  As another user, everything runs as
that user with the login chroots turned off.

Standard library only.  Run this file as a script for a smoke test of the server itself.
"""

import atexit
import base64
import contextlib
import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import die_with_parent, free_ports, open_path, port_open

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
HOST = "127.0.0.1"
START_TIMEOUT = 15
STOP_GRACE = 1.6  # a clean stop takes 1.0-1.1 s
STOP_TIMEOUT = 10
NOBODY = 65534
MAX_BASE_DIR = 60  # unix socket paths (base_dir/login/imap...) must stay under 108 bytes

_running = set()  # started instances, stopped at interpreter exit whatever the tests did


@atexit.register
def _stop_all():
    for server in list(_running):
        server.stop()


def make_self_signed(cert_path, key_path, cn="127.0.0.1"):
    """A self-signed EC certificate for 127.0.0.1 and localhost; the PEM doubles as CA file."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", f"/CN={cn}", "-keyout", key_path, "-out", cert_path,
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    os.chmod(key_path, 0o600)


def untrusted_ca_file(workdir):
    """A self-signed certificate PEM (same names as the server's) that signs no server here:
    a client given it as its CA file must refuse the Dovecot's certificate."""
    path = os.path.join(workdir, "untrusted-ca.pem")
    if not os.path.exists(path):
        make_self_signed(path, path + ".key")
    return path


# ---------------------------------------------------------------------------
# IMAP folder names: modified UTF-7 (RFC 3501 5.1.3), always sent quoted
# ---------------------------------------------------------------------------

def _b64_utf16(text):
    return base64.b64encode(text.encode("utf-16-be")).rstrip(b"=").replace(b"/", b",").decode()


def encode_folder(name):
    out, pending = [], ""
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            if pending:
                out.append("&" + _b64_utf16(pending) + "-")
                pending = ""
            out.append("&-" if ch == "&" else ch)
        else:
            pending += ch
    if pending:
        out.append("&" + _b64_utf16(pending) + "-")
    return "".join(out)


def decode_folder(name):
    def utf16(match):
        data = match.group(1)
        if not data:
            return "&"
        data = data.replace(",", "/")
        return base64.b64decode(data + "=" * (-len(data) % 4)).decode("utf-16-be")
    return re.sub(r"&([^-]*)-", utf16, name)


def quote(name):
    """A folder name as an IMAP quoted string."""
    encoded = encode_folder(name).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{encoded}"'


def _unquote(token):
    if token.startswith('"') and token.endswith('"'):
        return re.sub(r'\\(.)', r"\1", token[1:-1])
    return token


class ImapError(RuntimeError):
    pass


def _check(result, what):
    typ, data = result
    if typ != "OK":
        raise ImapError(f"{what}: {typ} {data!r}")
    return data


CONFIG_TEMPLATE = """\
# Written by tests/e2e/dovecot.py: a private test server.  Nothing from /etc/dovecot is used.
instance_name = {instance}
base_dir = {base_dir}
state_dir = {state_dir}
log_path = {log_path}
log_timestamp = "%Y-%m-%d %H:%M:%S "
listen = {host}
protocols = imap pop3
shutdown_clients = yes
# No stats: fewer processes, and none waiting at a stop for a stats handshake.
stats_writer_socket_path =

default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
first_valid_gid = 1

auth_mechanisms = {auth_mechanisms}
disable_plaintext_auth = no
auth_verbose = yes
auth_debug = {debug}
mail_debug = {debug}
verbose_ssl = {debug}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users_file}
}}
{oauth2_passdb}userdb {{
  driver = passwd-file
  args = username_format=%u {users_file}
}}

mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 1000
imap_idle_notify_interval = {idle_notify}
mailbox_idle_check_interval = 1 secs
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Junk {{
    special_use = \\Junk
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
}}

{ssl_settings}

service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
{imaps_listener}{login_chroot}}}
service pop3-login {{
  inet_listener pop3 {{
    address = {host}
    port = {pop3_port}
  }}
{pop3s_listener}{login_chroot}}}
{extra_services}"""

SSL_LISTENER = """\
  inet_listener {name} {{
    address = {host}
    port = {port}
    ssl = yes
  }}
"""

# With oauth2_introspection_url: after the passwd-file passdb (which fails for a token, and
# result_failure = continue is the default), the oauth2 passdb checks the token that XOAUTH2 and
# OAUTHBEARER carry.  The userdb stays the passwd-file one.
OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {oauth2_file}
}}
"""

# The oauth2 passdb's settings: RFC 7662 introspection, POSTing token=... as a form.  The answer
# must be a JSON object whose "username" is the user logging in and whose "active" is true.
OAUTH2_SETTINGS = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
"""

# Without root there is no chroot and no user switching: every service runs as the caller.
ROOTLESS_SERVICES = """\
service anvil {
  chroot =
}
service auth-worker {
  user = $default_internal_user
}
"""


class Dovecot:
    """One private Dovecot with one user; start() it, stop() it (also done at exit)."""

    def __init__(self, workdir, ssl=True, user="support", password="pass123", debug=False,
                 idle_notify="2 secs", name="dovecot", oauth2_introspection_url=None):
        """oauth2_introspection_url: also offer XOAUTH2 and OAUTHBEARER, the token checked by
        POSTing token=... to this URL (an RFC 7662 introspection endpoint answering e.g.
        {"active": true, "username": "support"}); password logins keep working."""
        for value in (user, password):
            if not value or any(c in value for c in ":\n\r"):
                raise ValueError(f"user and password cannot be empty or contain ':' or newlines: "
                                 f"{value!r}")
        self.workdir = workdir
        self.ssl = ssl
        self.user = user
        self.password = password
        self.debug = debug
        self.idle_notify = idle_notify
        self.oauth2_introspection_url = oauth2_introspection_url
        self.dir = os.path.join(os.path.abspath(workdir), name)
        self.config = os.path.join(self.dir, "dovecot.conf")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.stderr_path = os.path.join(self.dir, "master.stderr")
        self.users_file = os.path.join(self.dir, "users")
        self.oauth2_file = os.path.join(self.dir, "oauth2.conf.ext")
        self.state_dir = os.path.join(self.dir, "state")
        self.base_dir = os.path.join(self.dir, "run")
        self._own_base_dir = None  # a short tmp dir when workdir's path is too long for sockets
        if len(self.base_dir) > MAX_BASE_DIR:
            self._own_base_dir = tempfile.mkdtemp(prefix="dc-", dir="/tmp")
            self.base_dir = os.path.join(self._own_base_dir, "run")
        self.home = os.path.join(self.dir, "home", user)
        self.maildir = os.path.join(self.home, "Maildir")
        self.cert_file = os.path.join(self.dir, "server.pem")
        self.key_file = os.path.join(self.dir, "server.key")
        self.ca_file = self.cert_file if ssl else None  # what a client must trust
        self.imap_port = self.imaps_port = self.pop3_port = self.pop3s_port = None
        self.proc = None
        self._stderr = None
        self._prepared = False

    # -- lifecycle ----------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def ports(self):
        return [p for p in (self.imap_port, self.imaps_port, self.pop3_port, self.pop3s_port)
                if p is not None]

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        """Start (on new free ports the first time, on the same ports after a stop); returns
        when every listener accepts and the IMAP greeting came.  Raises RuntimeError with the
        Dovecot log when it does not come up within START_TIMEOUT seconds."""
        if self.running():
            return
        if not self._prepared:
            self._prepare()
        if self.imap_port is None:
            for attempt in range(3):  # another test may grab a port between pick and bind
                self._pick_ports()
                try:
                    self._launch()
                    return
                except RuntimeError as exc:
                    if "in use" not in str(exc) or attempt == 2:
                        raise
        else:
            self._launch()

    def stop(self):
        """Shut down and wait until every Dovecot process is gone and the ports are closed
        (about 1.1 s: Dovecot's master waits a fixed second for its log process).  Idempotent.

        SIGTERM to the master is exactly what `doveadm stop` sends, but the master is our child
        (dovecot -F) and doveadm, seeing the unreaped zombie still "alive", would wait 3 s more.
        A login process started just before the stop may hang 5 s on a handshake with the auth
        process that is gone (the master still holds the socket), and the master waits for it:
        after STOP_GRACE seconds what remains is killed.
        """
        self._halt(signal.SIGTERM)

    def kill(self):
        """Crash it at once: SIGKILL to the master and every Dovecot process (no clean
        shutdown; mail already stored stays).  start() brings it back on the same ports."""
        self._halt(signal.SIGKILL)

    def _halt(self, sig):
        _running.discard(self)
        proc, self.proc = self.proc, None
        if proc is not None:
            if sig == signal.SIGKILL:
                self._signal_group(proc, sig)
            else:
                proc.send_signal(sig)
            try:
                proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self._signal_group(proc, signal.SIGKILL)
                proc.wait()
            # Children still alive after the master (there should be none) go the hard way.
            deadline = time.monotonic() + STOP_TIMEOUT
            while any(port_open(p) for p in self.ports) or self._group_alive(proc):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dovecot processes of group {proc.pid} do not go away")
                self._signal_group(proc, signal.SIGKILL)
                time.sleep(0.05)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._own_base_dir:
            shutil.rmtree(self._own_base_dir, ignore_errors=True)

    def restart(self):
        """Stop then start on the same ports with the same mail."""
        self.stop()
        self.start()

    def log(self, since=0):
        """What the master printed on stderr in its last run, then the Dovecot log from byte
        offset since."""
        text = ""
        for path, offset in ((self.stderr_path, 0), (self.log_path, since)):
            try:
                with open(path, "rb") as f:
                    f.seek(offset)
                    text += f.read().decode(errors="replace")
            except FileNotFoundError:
                pass
        return text

    def doveadm(self, *args):
        """Run `doveadm -c CONFIG args...` against this instance; returns its stdout."""
        return subprocess.run([DOVEADM, "-c", self.config] + list(args), capture_output=True,
                              check=True, text=True, timeout=30).stdout

    # -- setup --------------------------------------------------------------

    def _prepare(self):
        root = os.geteuid() == 0
        if root:
            uid = gid = NOBODY
            internal_user, internal_group, login_user = "dovecot", "dovecot", "dovenull"
        else:
            uid, gid = os.getuid(), os.getgid()
            internal_user = login_user = pwd.getpwuid(uid).pw_name
            internal_group = grp.getgrgid(gid).gr_name
        for d in (self.dir, self.state_dir, self.home, os.path.dirname(self.base_dir)):
            os.makedirs(d, exist_ok=True)
        if root:
            # auth (user dovecot) reads the users file, imap (65534) its home: let them through.
            open_path(os.path.dirname(self.home), "Dovecot's unprivileged processes")
            os.chown(self.home, uid, gid)
        if self.ssl:
            make_self_signed(self.cert_file, self.key_file)
        with open(self.users_file, "w") as f:
            f.write(f"{self.user}:{{PLAIN}}{self.password}:{uid}:{gid}::{self.home}\n")
        os.chmod(self.users_file, 0o644)
        oauth2 = self.oauth2_introspection_url
        if oauth2:
            if any(c in oauth2 for c in "\n\r"):
                raise ValueError(f"oauth2_introspection_url contains a newline: {oauth2!r}")
            with open(self.oauth2_file, "w") as f:
                f.write(OAUTH2_SETTINGS.format(url=oauth2))
            os.chmod(self.oauth2_file, 0o644)
        self._settings = dict(
            instance=f"m2t-dovecot-{os.getpid()}-{id(self) % 100000}", base_dir=self.base_dir,
            state_dir=self.state_dir, log_path=self.log_path, host=HOST,
            internal_user=internal_user, internal_group=internal_group, login_user=login_user,
            debug="yes" if self.debug else "no", users_file=self.users_file,
            idle_notify=self.idle_notify,
            auth_mechanisms="plain login xoauth2 oauthbearer" if oauth2 else "plain login",
            oauth2_passdb=OAUTH2_PASSDB.format(oauth2_file=self.oauth2_file) if oauth2 else "",
            ssl_settings=(f"ssl = yes\nssl_cert = <{self.cert_file}\nssl_key = <{self.key_file}"
                          if self.ssl else "ssl = no"),
            login_chroot="" if root else "  chroot =\n",
            extra_services="" if root else ROOTLESS_SERVICES)
        self._prepared = True

    def _pick_ports(self):
        ports = free_ports(4 if self.ssl else 2) + [None, None]
        if self.ssl:
            self.imap_port, self.imaps_port, self.pop3_port, self.pop3s_port = ports[:4]
        else:
            self.imap_port, self.pop3_port = ports[:2]

    def _write_config(self):
        s = self._settings
        imaps = pop3s = ""
        if self.ssl:
            imaps = SSL_LISTENER.format(name="imaps", host=HOST, port=self.imaps_port)
            pop3s = SSL_LISTENER.format(name="pop3s", host=HOST, port=self.pop3s_port)
        with open(self.config, "w") as f:
            f.write(CONFIG_TEMPLATE.format(imap_port=self.imap_port, pop3_port=self.pop3_port,
                                           imaps_listener=imaps, pop3s_listener=pop3s, **s))

    def _launch(self):
        self._write_config()
        os.makedirs(os.path.dirname(self.base_dir), exist_ok=True)
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = open(self.stderr_path, "wb")
        log_start = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        # -F: the master stays our child, so we always know its pid and process group.
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.config], stdin=subprocess.DEVNULL,
                                     stdout=self._stderr, stderr=subprocess.STDOUT,
                                     start_new_session=True, preexec_fn=die_with_parent)
        _running.add(self)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is None and all(port_open(p) for p in self.ports) \
                    and self._greeting_ok():
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                why = ("exited with status %s" % self.proc.returncode
                       if self.proc.poll() is not None else "timed out")
                self.kill()
                raise RuntimeError(f"dovecot did not start ({why}) with {self.config}:\n"
                                   + self.log(since=log_start))
            time.sleep(0.05)

    def _greeting_ok(self):
        try:
            with socket.create_connection((HOST, self.imap_port), timeout=2) as s:
                return s.recv(200).startswith(b"* OK")
        except OSError:
            return False

    @staticmethod
    def _signal_group(proc, sig):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    @staticmethod
    def _group_alive(proc):
        """Whether a live (not zombie) process of the master's group remains.  Zombies do not
        count: the master exits without reaping its log process, and the container's init may
        take seconds to."""
        try:
            entries = os.listdir("/proc")
        except OSError:
            entries = None
        if entries is None:
            try:
                os.killpg(proc.pid, 0)
                return True
            except (ProcessLookupError, PermissionError):
                return False
        for entry in entries:
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == proc.pid and fields[0] != "Z":  # state, ppid, pgrp
                return True
        return False

    # -- mail helpers over plain IMAP -----------------------------------------

    @contextlib.contextmanager
    def session(self):
        """A logged-in imaplib.IMAP4 on imap_port, logged out afterwards."""
        imap = imaplib.IMAP4(HOST, self.imap_port, timeout=30)
        try:
            _check(imap.login(self.user, self.password), "LOGIN")
            yield imap
        finally:
            try:
                imap.logout()
            except (OSError, imaplib.IMAP4.error):
                pass

    def append(self, raw, folder="INBOX", flags="", date=None):
        """Store one message (bytes); returns its UID.  The folder is created when missing."""
        return self.append_many([raw], folder, flags, date)[0]

    def append_many(self, raws, folder="INBOX", flags="", date=None):
        """Store messages in order over one connection; returns their UIDs.

        flags: e.g. "\\\\Seen" or "(\\\\Seen \\\\Flagged)"; date: the INTERNALDATE as a time.time()
        value (default: now)."""
        uids = []
        when = imaplib.Time2Internaldate(date) if date is not None else None
        with self.session() as imap:
            for raw in raws:
                typ, data = imap.append(quote(folder), flags or None, when, raw)
                if typ != "OK" and b"TRYCREATE" in b"".join(d for d in data if d):
                    _check(imap.create(quote(folder)), f"CREATE {folder}")
                    typ, data = imap.append(quote(folder), flags or None, when, raw)
                _check((typ, data), f"APPEND to {folder}")
                match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
                uids.append(int(match.group(1)) if match else None)
        return uids

    def create(self, folder):
        with self.session() as imap:
            _check(imap.create(quote(folder)), f"CREATE {folder}")

    def delete(self, folder):
        with self.session() as imap:
            _check(imap.delete(quote(folder)), f"DELETE {folder}")

    def folders(self):
        """Every folder's name (Unicode, "/" between levels)."""
        names = []
        with self.session() as imap:
            for item in _check(imap.list('""', '"*"'), "LIST"):
                if isinstance(item, tuple):  # name sent as a literal
                    name = item[1].decode()
                else:
                    match = re.match(r'\(.*?\) (?:"(?:[^"\\]|\\.)*"|NIL) (.*)$', item.decode())
                    name = _unquote(match.group(1))
                names.append(decode_folder(name))
        return names

    def count(self, folder="INBOX"):
        """Number of messages in folder (STATUS MESSAGES)."""
        with self.session() as imap:
            data = _check(imap.status(quote(folder), "(MESSAGES)"), f"STATUS {folder}")
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))

    def uids(self, folder="INBOX"):
        with self.session() as imap:
            _check(imap.select(quote(folder), readonly=True), f"EXAMINE {folder}")
            data = _check(imap.uid("SEARCH", "ALL"), "UID SEARCH")
        return sorted(int(u) for u in (data[0] or b"").split())

    def messages(self, folder="INBOX"):
        """Every message's raw bytes (as Dovecot serves them: CRLF lines), in UID order.
        Fetched with BODY.PEEK, so this does not set \\Seen."""
        return [raw for _, raw in self._fetch(folder, "BODY.PEEK[]", literal=True)]

    def flags(self, folder="INBOX"):
        """{uid: set of flags} of every message, e.g. {1: {"\\\\Seen"}}; without \\Recent, which
        only says which session saw the message first."""
        return {uid: set(re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode().split())
                - {"\\Recent"} for uid, head in self._fetch(folder, "FLAGS", literal=False)}

    def _fetch(self, folder, item, literal):
        """[(uid, literal or header line)] for every message, sorted by UID."""
        out = []
        with self.session() as imap:
            data = _check(imap.select(quote(folder), readonly=True), f"EXAMINE {folder}")
            if int(data[0] or 0) == 0:
                return []
            for part in _check(imap.uid("FETCH", "1:*", f"(UID {item})"), "UID FETCH"):
                head = part[0] if isinstance(part, tuple) else part
                match = re.search(rb"UID (\d+)", head or b"")
                if match:
                    out.append((int(match.group(1)), part[1] if literal else head))
        return sorted(out)


# ---------------------------------------------------------------------------
# Smoke test: python3 tests/e2e/dovecot.py
# ---------------------------------------------------------------------------

def _smoke():
    import poplib
    import ssl as ssllib

    def mail(n):
        return (f"From: Tester <tester@example.org>\nTo: support@example.com\n"
                f"Subject: smoke {n} \u00fc\nMessage-ID: <smoke-{n}@example.org>\n"
                f"Content-Type: text/plain; charset=utf-8\n\nbody {n}\n").encode()

    workdir = tempfile.mkdtemp(prefix="m2t-dovecot-")
    started = time.monotonic()
    server = Dovecot(workdir)
    try:
        server.start()
        print(f"started in {time.monotonic() - started:.2f}s as uid {os.geteuid()}: imap "
              f"{server.imap_port} imaps {server.imaps_port} pop3 {server.pop3_port} "
              f"pop3s {server.pop3s_port}")
        print("uids appended:", server.append_many([mail(1), mail(2)]), server.append(mail(3)))
        assert server.count("INBOX") == 3, server.count("INBOX")
        server.append(mail(4), "Archiv/Entw\u00fcrfe", flags="\\Seen")
        print("folders:", server.folders())
        assert server.count("Archiv/Entw\u00fcrfe") == 1
        assert server.flags("Archiv/Entw\u00fcrfe") == {1: {"\\Seen"}}
        assert server.messages()[0].startswith(b"From: Tester"), server.messages()[0][:40]
        assert b"\r\n" in server.messages()[0]
        before = server.ports
        t = time.monotonic()
        server.restart()
        assert server.ports == before
        print(f"restarted in {time.monotonic() - t:.2f}s on the same ports; count:",
              server.count(), "uids:", server.uids())
        assert server.count("INBOX") == 3 and server.uids() == [1, 2, 3]

        trusted = ssllib.create_default_context(cafile=server.ca_file)
        with imaplib.IMAP4_SSL(HOST, server.imaps_port, ssl_context=trusted) as imap:
            imap.login(server.user, server.password)
            print("imaps verified:", imap.sock.version(), imap.select()[1])
        with imaplib.IMAP4(HOST, server.imap_port) as imap:
            assert "STARTTLS" in imap.capabilities, imap.capabilities
            imap.starttls(ssl_context=trusted)
            imap.login(server.user, server.password)
            print("imap STARTTLS verified:", imap.sock.version())
        untrusted = ssllib.create_default_context(cafile=untrusted_ca_file(workdir))
        try:
            imaplib.IMAP4_SSL(HOST, server.imaps_port, ssl_context=untrusted)
            raise AssertionError("untrusted CA accepted")
        except ssllib.SSLCertVerificationError as exc:
            print("untrusted CA refused:", exc.verify_message)
        pop = poplib.POP3(HOST, server.pop3_port)
        assert "STLS" in pop.capa(), pop.capa()
        pop.stls(context=trusted)
        pop.user(server.user)
        pop.pass_(server.password)
        print("pop3 STLS verified: stat", pop.stat())
        pop.quit()
        pop = poplib.POP3_SSL(HOST, server.pop3s_port, context=trusted)
        pop.user(server.user)
        pop.pass_(server.password)
        print("pop3s verified: stat", pop.stat(), "top line:", pop.retr(1)[1][0])
        pop.quit()

        t = time.monotonic()
        server.append_many([mail(n) for n in range(100)], "Bulk")
        print(f"100 appends in {time.monotonic() - t:.2f}s; Bulk count:", server.count("Bulk"))
    finally:
        server.stop()
        print("stopped; ports closed:", not any(port_open(p) for p in server.ports))
        server.stop()  # idempotent

    plain = Dovecot(workdir, ssl=False, name="dovecot-plain")
    with plain:
        with imaplib.IMAP4(HOST, plain.imap_port) as imap:
            assert "STARTTLS" not in imap.capabilities, imap.capabilities
            print("ssl=False: capabilities without STARTTLS:", " ".join(imap.capabilities))
        pop = poplib.POP3(HOST, plain.pop3_port)
        assert "STLS" not in pop.capa()
        pop.quit()
        plain.append(mail(1))
        assert plain.count() == 1
    print("ssl=False server stopped; system /etc/dovecot untouched; log lines:",
          len(server.log().splitlines()))
    shutil.rmtree(workdir, ignore_errors=True)
    print("smoke test OK")


if __name__ == "__main__":
    _smoke()
