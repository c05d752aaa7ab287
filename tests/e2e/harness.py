# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared parts of the end-to-end tests: the real mail2ticket binary, a sandbox desk on a loopback
port, and a config written per test. Standard library only."""

import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

SOURCE_DIR = os.environ.get(
    "M2T_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BINARY = os.environ.get("M2T_BINARY", os.path.join(SOURCE_DIR, "build", "mail2ticket"))
SAMPLES = os.path.join(SOURCE_DIR, "samples", "mail")
IDENTIFIER = "e2e-identifier"
SECRET = "e2e-secret-7f3a9c"  # the tests check that it never appears in any output
# Keliweb's login (tests/e2e/test_keliweb.py): the sandbox's API key, its secret and the account;
# the account's password is SECRET.
CLIENT_ID = "e2e-client-id"
CLIENT_SECRET = "e2e-client-secret-5b2d81"
USERNAME = "e2e@example.com"
# The password of the PostgreSQL role the shared-journal tests use (tests/e2e/postgres.py).
PG_PASSWORD = "pg-secret-4d1c8e"
# Every secret any end-to-end test hands mail2ticket: the desk's secret, the Dovecot password, the
# OAuth2 tokens, the install test's example secrets, the journal database's password.
# check_secrets_in_logs.py looks for each in the logs of the whole run.
# The password of the proxy in front of the desk, in [desk] url (test_desk_answers.py).
PROXY_PASSWORD = "Pr0xyPassw0rd"
SECRETS = [SECRET, CLIENT_SECRET, "pass123", "tok-good-123", "tok-bad-456", "example-desk-secret",
           "example-mailbox-password", PG_PASSWORD, PROXY_PASSWORD]
# With M2T_LOG_DIR set (ctest sets it), each test case's mail2ticket output is kept there.
LOG_DIR = os.environ.get("M2T_LOG_DIR")


def read_file(path):
    """The stripped text of path, or "" when it does not exist yet."""
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


def die_with_parent():
    """As a subprocess's preexec_fn: SIGTERM the child when the test process dies, even by
    SIGKILL (a ctest timeout), so that no orphan keeps its port and scratch folder.  Linux only;
    the signal comes when the *thread* that started the child ends."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def open_path(path, who):
    """Give other users passage (o+x, g+x) through path and the folders above it, as far as they
    are ours and in the temporary directory (tempfile.mkdtemp makes them 0700), so that a test
    server's unprivileged processes (who: for the error) reach their files; refuse a path that
    stays closed elsewhere."""
    path = os.path.abspath(path)
    tmp = os.path.realpath(tempfile.gettempdir())
    while True:
        st = os.stat(path)
        if not st.st_mode & 0o001:
            inside_tmp = os.path.commonpath([os.path.realpath(path), tmp]) == tmp
            if not inside_tmp or st.st_uid != os.geteuid():
                raise RuntimeError(f"{path} is not searchable by other users, so {who} cannot "
                                   "reach their files; use a workdir under " + tmp)
            os.chmod(path, st.st_mode | 0o011)
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def wait_until(predicate, timeout, failure, interval=0.1):
    """Poll predicate() until it returns something true, and return that; after timeout seconds
    raise AssertionError(failure()). An upper bound only, never a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(failure())
        time.sleep(interval)


def free_ports(count, host="127.0.0.1"):
    """count distinct loopback TCP ports that were free a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def port_open(port, timeout=0.2, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as f:
        return f.read()


class SandboxDesk:
    """The sandbox desk (tests/desk/sandbox_desk.py) as a subprocess."""

    def __init__(self, workdir, tls=False, state=None, token_lifetime=None, args=()):
        """tls: serve HTTPS with a self-signed certificate for 127.0.0.1, kept in ca_file for
        the config (plain http to loopback gets a warning at every start). state: the desk's
        --state file, tickets and clients to start with (the desk writes to it).
        token_lifetime: seconds a token of Keliweb's login lasts (default the desk's, an hour).
        args: more of sandbox_desk.py's options (--max-body-mb 1)."""
        self.workdir = workdir
        port_file = os.path.join(workdir, "desk.port")
        env = dict(os.environ, SANDBOX_DESK_SECRET=SECRET, SANDBOX_DESK_CLIENT_SECRET=CLIENT_SECRET)
        self.log = open(os.path.join(workdir, "desk.log"), "wb")
        self.ca_file = os.path.join(workdir, "desk-cert.pem") if tls else None
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(SOURCE_DIR, "tests", "desk", "sandbox_desk.py"),
             "--port", "0", "--port-file", port_file, "--identifier", IDENTIFIER,
             "--client-id", CLIENT_ID, "--username", USERNAME]
            + (["--token-lifetime", str(token_lifetime)] if token_lifetime else [])
            + (["--tls-self-signed", self.ca_file] if tls else [])
            + (["--state", state] if state else []) + list(args),
            stdout=self.log, stderr=subprocess.STDOUT, env=env, preexec_fn=die_with_parent)
        deadline = time.monotonic() + 15
        while not read_file(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("sandbox desk did not start: "
                                   + read_file(os.path.join(workdir, "desk.log")))
            time.sleep(0.05)
        self.url = "%s://127.0.0.1:%s" % ("https" if tls else "http", read_file(port_file))

    def _request(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return json.load(resp)

    def tickets(self):
        return self._request("/_sandbox/tickets")["tickets"]

    def calls(self):
        return self._request("/_sandbox/calls")["calls"]

    def fault(self, mode, **kw):
        self._request("/_sandbox/fault", dict(kw, mode=mode))

    def reset(self):
        self._request("/_sandbox/reset", {})

    def move(self, ticket_id, deptid):
        """Move a ticket to another department, as an agent does."""
        self._request("/_sandbox/move", {"id": ticket_id, "deptid": deptid})

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


class FrontProxy:
    """tests/desk/front_proxy.py in front of a sandbox desk, as a subprocess; args: its options
    (--refuse-expect, --basic USER:PASS)."""

    def __init__(self, workdir, desk, *args):
        self.port_file = os.path.join(workdir, "proxy.port")
        self.mode_file = os.path.join(workdir, "proxy.mode")
        self.log_file = os.path.join(workdir, "proxy-requests.json")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(SOURCE_DIR, "tests", "desk", "front_proxy.py"),
             "--upstream", desk.url, "--port-file", self.port_file, "--mode-file",
             self.mode_file, "--log", self.log_file] + list(args),
            preexec_fn=die_with_parent)
        wait_until(lambda: read_file(self.port_file), 15, lambda: "front proxy did not start")
        self.url = "http://127.0.0.1:" + read_file(self.port_file)

    def mode(self, mode, count=1):
        """The next count POSTs get mode (front_proxy.py's --mode-file)."""
        with open(self.mode_file, "w") as f:
            f.write(f"{mode} {count}")

    def requests(self):
        """What the proxy saw, a dict per request."""
        text = read_file(self.log_file)
        return [json.loads(line) for line in text.splitlines()] if text else []

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


# The desk API the end-to-end tests speak: ctest runs them once per kind (M2T_DESK_KIND).
DESK_KIND = os.environ.get("M2T_DESK_KIND", "whmcs")
DESK_LINES = {
    "whmcs": "kind = whmcs\nurl = {url}/includes/api.php\nidentifier = {identifier}",
    "keliweb": "kind = keliweb\nurl = {url}/api/v2/keliweb",
    "thulium": "kind = thulium\nurl = {url}/api\nidentifier = {identifier}\n"
               "mailbox = support@desk.example",
}[DESK_KIND]
# What each desk's API carries (desk/desk.h, enum desk_capability), and how it names things.
DESK_CAN = {
    "whmcs": {"attachments", "priority", "cc", "clients", "names"},
    # Keliweb's pages list no priority, cc, clientid or date for its calls.
    "keliweb": {"attachments", "names"},
    "thulium": {"attachments", "category"},  # files with a new ticket, not with a reply
}[DESK_KIND]
OPEN_ACTION = {"whmcs": "OpenTicket", "keliweb": "OpenTicket", "thulium": "create_ticket"}[DESK_KIND]
TICKET_NUMBER = {"whmcs": r"^\d{6}$", "keliweb": r"^\d{6}$", "thulium": r"^\d+$"}[DESK_KIND]

CONFIG_TEMPLATE = """\
[desk]
""" + DESK_LINES + """
secret_file = secret
department = auto
default_department = 1
priority = Medium
timeout = {timeout}
connect_timeout = 5
give_up_after = 2

[departments]
support@example.com = 1
billing@example.com = 2
sales@example.com = 3

[state]
path = state/journal.db
"""


class DeskTestCase(unittest.TestCase):
    """One sandbox desk per test class; a fresh scratch folder, config and journal per test."""

    timeout = 3
    desk_tls = False  # the sandbox desk over HTTPS, trusted through [desk] ca_file
    desk_token_lifetime = None  # seconds a token of the sandbox's Keliweb login lasts

    @classmethod
    def setUpClass(cls):
        cls.classdir = tempfile.mkdtemp(prefix="m2t-e2e-")
        cls.desk = SandboxDesk(cls.classdir, tls=cls.desk_tls,
                               token_lifetime=cls.desk_token_lifetime)
        cls.outputs = []

    @classmethod
    def tearDownClass(cls):
        cls.desk.stop()
        shutil.rmtree(cls.classdir, ignore_errors=True)

    def setUp(self):
        self.desk.reset()
        self.dir = tempfile.mkdtemp(prefix="case-", dir=self.classdir)
        self.kept_output = []
        # Registered first, so it runs last: after the processes of the case have ended.
        self.addCleanup(self.keep_logs)
        secret = os.path.join(self.dir, "secret")
        with open(secret, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(secret, 0o600)
        self.config = self.write_config()

    def keep_logs(self):
        """The case's mail2ticket output (run_m2t's, and the *.log files of its background
        processes) appended to LOG_DIR, for the check over the whole run."""
        if not LOG_DIR:
            return
        texts = list(self.kept_output)
        for root, _, names in os.walk(self.dir):
            for name in sorted(names):
                if name.endswith(".log"):
                    with open(os.path.join(root, name), errors="replace") as f:
                        texts.append(f.read())
        os.makedirs(LOG_DIR, exist_ok=True)
        path = os.path.join(LOG_DIR, "%s-%s-%d.log" % (
            os.path.basename(sys.argv[0]).removesuffix(".py"), DESK_KIND, os.getpid()))
        with open(path, "a") as f:
            f.write("== %s\n%s\n" % (self.id(), "\n".join(texts)))

    def write_config(self, text=None, **kw):
        params = dict(url=self.desk.url, identifier=IDENTIFIER, timeout=self.timeout)
        params.update(kw)
        path = os.path.join(self.dir, "mail2ticket.conf")
        text = text if text is not None else CONFIG_TEMPLATE.format(**params)
        if self.desk.ca_file and "\nca_file" not in text.split("\n[", 2)[1]:
            text = text.replace("[desk]\n", f"[desk]\nca_file = {self.desk.ca_file}\n", 1)
        with open(path, "w") as f:
            f.write(text)
        # As an admin keeps it: others reading it would get a warning line in every run.
        os.chmod(path, 0o600)
        return path

    def run_m2t(self, *args, stdin=b"", env=None, config=True, timeout=60):
        cmd = [BINARY] + (["--config", self.config] if config else []) + list(args)
        run_env = dict(os.environ)
        run_env.pop("MAIL2TICKET_SECRET", None)
        run_env.pop("MAIL2TICKET_CLIENT_SECRET", None)
        run_env.pop("MAIL2TICKET_CONFIG", None)
        if env:
            run_env.update(env)
        proc = subprocess.run(cmd, input=stdin, capture_output=True, env=run_env,
                              timeout=timeout)
        out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
        self.kept_output.append("$ mail2ticket %s\n%s%s" % (" ".join(args), err, out))
        self.assertNotIn(SECRET, out + err, "the secret appeared in mail2ticket's output")
        self.assertNotIn(CLIENT_SECRET, out + err,
                         "the client secret appeared in mail2ticket's output")
        return proc.returncode, out, err

    def pipe(self, mail, *args, **kw):
        return self.run_m2t("pipe", *args, stdin=mail, **kw)

    def parsed(self, name):
        out = subprocess.run([BINARY, "parse", "--attachment-data", os.path.join(SAMPLES, name)],
                             capture_output=True, check=True).stdout
        return json.loads(out)
