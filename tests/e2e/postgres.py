#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A private, real PostgreSQL for the tests, on a free loopback port.

Everything lives under the test's workdir: the cluster made by initdb (fsync on, as in
production), its unix socket folder and its log.  A role with a password and a database it owns
are made at the first start; mail2ticket gets the url without the password, and the password
in a file of its own (url and password_file, what [state] takes).

    with PostgreSQL(workdir) as pg:          # or start() plus addCleanup(pg.stop)
        ... [state] kind = postgresql, url = {pg.url}, password_file = {pg.password_file} ...
        pg.restart()                          # stop (fast shutdown) and start on the same port
        pg.psql("SELECT count(*) FROM mails") # as the superuser, over the unix socket

initdb and postgres refuse to run as root, which the tests are: as root, the cluster belongs to
nobody (65534) and the server runs as nobody; as another user, as that user.  The superuser
(postgres) logs in over the unix socket without a password; over TCP every login needs one.

Run as a wrapper, it lends a server to a program that is not Python (the journal's unit tests):

    postgres.py run -- COMMAND ARGS...

starts one, runs COMMAND with M2T_TEST_PG_URL (a conninfo without dbname, for a role that may
create databases) and M2T_TEST_PG_PASSWORD_FILE in its environment, stops it and exits with
COMMAND's status.  Without the PostgreSQL binaries COMMAND runs without them (and skips what
needs a server).  Standard library only.
"""

import atexit
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import PG_PASSWORD, die_with_parent, free_ports, open_path  # noqa: E402

HOST = "127.0.0.1"
NOBODY = 65534
START_TIMEOUT = 60
STOP_TIMEOUT = 30
MAX_SOCKET_DIR = 80  # the socket's path (dir/.s.PGSQL.PORT) must stay under 108 bytes
# The test role's password: harness.SECRETS has it, so that no log may show it.
PASSWORD = PG_PASSWORD


def bin_dir():
    """The folder of initdb and postgres (the newest installed), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    postgres = shutil.which("postgres")
    return os.path.dirname(postgres) if postgres else None


def available():
    """Whether this machine has the PostgreSQL server binaries."""
    d = bin_dir()
    return bool(d) and all(os.access(os.path.join(d, p), os.X_OK)
                           for p in ("initdb", "postgres", "psql"))


_running = set()  # started servers, stopped at interpreter exit whatever the tests did


@atexit.register
def _stop_all():
    for server in list(_running):
        server.stop()


class PostgreSQL:
    """One private cluster with one role and one database; start() it, stop() it."""

    def __init__(self, workdir, name="postgres", user="mail2ticket", database="mail2ticket",
                 password=PASSWORD, createdb=False):
        self.bin = bin_dir()
        self.dir = os.path.join(os.path.abspath(workdir), name)
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "postgres.log")
        self.socket_dir = os.path.join(self.dir, "run")
        self._own_socket_dir = None
        if len(self.socket_dir) > MAX_SOCKET_DIR:
            self._own_socket_dir = tempfile.mkdtemp(prefix="pg-", dir="/tmp")
            self.socket_dir = os.path.join(self._own_socket_dir, "run")
        self.password_file = os.path.join(self.dir, "password")
        self.user, self.database, self.password = user, database, password
        self.createdb = createdb
        self.port = None
        self.proc = None
        self._log = None
        self._made = False
        root = os.geteuid() == 0
        self.uid = NOBODY if root else os.getuid()
        self.gid = NOBODY if root else os.getgid()

    @property
    def url(self):
        """The url for [state] url: no password in it."""
        return f"postgresql://{self.user}@{HOST}:{self.port}/{self.database}"

    def conninfo(self, database=None):
        """The same as a key=value conninfo, without dbname unless given."""
        text = f"host={HOST} port={self.port} user={self.user}"
        return text + (f" dbname={database}" if database else "")

    # -- lifecycle ----------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        """Start (the first time: make the cluster, pick a port, make the role and database);
        returns when the server accepts connections."""
        if self.running():
            return
        if not self._made:
            self._initdb()
        if self.port is None:
            for attempt in range(3):  # another test may take the port between pick and bind
                self.port = free_ports(1)[0]
                try:
                    self._launch()
                    break
                except RuntimeError as exc:
                    if "in use" not in str(exc) or attempt == 2:
                        raise
            self._make_role_and_database()
        else:
            self._launch()

    def stop(self):
        """A fast shutdown (sessions are ended, the server stops cleanly); idempotent."""
        self._halt(signal.SIGINT)

    def kill(self):
        """Crash it: SIGKILL to the server and its processes; start() recovers it."""
        self._halt(signal.SIGKILL)

    def restart(self):
        self.stop()
        self.start()

    def _halt(self, sig):
        _running.discard(self)
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                if sig == signal.SIGKILL:
                    os.killpg(proc.pid, sig)
                else:
                    proc.send_signal(sig)
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + STOP_TIMEOUT
            while self._group_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        if self._log is not None:
            self._log.close()
            self._log = None

    def remove(self):
        """Stop and delete the cluster's files."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self._own_socket_dir:
            shutil.rmtree(self._own_socket_dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # -- queries ------------------------------------------------------------

    def psql(self, sql, database=None):
        """Run sql (on standard input: nothing of it on a command line) as the superuser over
        the unix socket; the rows, unaligned, '|' between columns."""
        proc = subprocess.run(
            [os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", self.socket_dir, "-p", str(self.port), "-U", "postgres",
             "-d", database or self.database],
            input=sql, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    # -- setup --------------------------------------------------------------

    def _as_server_user(self):
        if os.geteuid() == 0:
            return dict(user=self.uid, group=self.gid, extra_groups=[])
        return {}

    def _initdb(self):
        for d in (self.dir, self.socket_dir):
            os.makedirs(d, exist_ok=True)
            os.chown(d, self.uid, self.gid)
        if os.geteuid() == 0:
            open_path(self.dir, "PostgreSQL (running as nobody)")
            open_path(os.path.dirname(self.socket_dir), "PostgreSQL (running as nobody)")
        with open(self.password_file, "w") as f:
            f.write(self.password + "\n")
        os.chmod(self.password_file, 0o600)
        proc = subprocess.run(
            [os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres",
             "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8",
             "--locale=C.UTF-8"],
            capture_output=True, text=True, cwd=self.dir, timeout=120,
            env=dict(os.environ, LANG="C.UTF-8"), **self._as_server_user())
        if proc.returncode != 0:
            raise RuntimeError(f"initdb failed: {proc.stdout}{proc.stderr}")
        self._made = True

    def _launch(self):
        if self._log is not None:
            self._log.close()
        self._log = open(self.log_path, "ab")
        start = os.path.getsize(self.log_path)
        self.proc = subprocess.Popen(
            [os.path.join(self.bin, "postgres"), "-D", self.data, "-p", str(self.port),
             "-c", f"listen_addresses={HOST}", "-c", f"unix_socket_directories={self.socket_dir}",
             "-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "max_connections=200",
             "-c", "log_min_messages=warning", "-c", "log_connections=off"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.dir,
            start_new_session=True, preexec_fn=die_with_parent, **self._as_server_user())
        _running.add(self)
        ready = os.path.join(self.bin, "pg_isready")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is None and subprocess.run(
                    [ready, "-q", "-h", self.socket_dir, "-p", str(self.port)],
                    timeout=30).returncode == 0:
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                why = ("exited with status %s" % self.proc.returncode
                       if self.proc.poll() is not None else "timed out")
                self.kill()
                with open(self.log_path, errors="replace") as f:
                    f.seek(start)
                    text = f.read()
                raise RuntimeError(f"postgres did not start ({why}):\n{text}")
            time.sleep(0.05)

    def _make_role_and_database(self):
        # The password goes on psql's standard input, never on a command line.
        password = self.password.replace("'", "''")
        self.psql(f"CREATE ROLE {self.user} LOGIN {'CREATEDB' if self.createdb else ''} "
                  f"PASSWORD '{password}';\n"
                  f"CREATE DATABASE {self.database} OWNER {self.user};\n", database="postgres")

    @staticmethod
    def _group_alive(pgid):
        try:
            os.killpg(pgid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False


class ServerPerClass:
    """Mixed in before a harness.DeskTestCase: one private server for the test class, started
    again before each case (a case may stop it), and a database of its own for each case,
    self.database, whose url (no password in it) is self.database_url."""

    databases = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        os.chmod(cls.classdir, 0o755)  # the server's user reaches its folder inside
        cls.pg = PostgreSQL(cls.classdir)
        cls.pg.start()

    @classmethod
    def tearDownClass(cls):
        cls.pg.remove()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.addCleanup(lambda: self.kept_output.append(self.pg.log()))
        self.pg.start()
        ServerPerClass.databases += 1
        self.database = f"m2t_case_{ServerPerClass.databases}"
        self.pg.psql(f"CREATE DATABASE {self.database} OWNER {self.pg.user}",
                     database="postgres")
        self.database_url = f"postgresql://{self.pg.user}@{HOST}:{self.pg.port}/{self.database}"


def run(command):
    """Lend a server to command (see the module's text); its exit status."""
    if not available():
        print("postgres.py: no PostgreSQL server binaries: the cases that need one are skipped",
              file=sys.stderr)
        return subprocess.run(command).returncode
    workdir = tempfile.mkdtemp(prefix="m2t-pg-")
    server = PostgreSQL(workdir, createdb=True)
    try:
        server.start()
        env = dict(os.environ, M2T_TEST_PG_URL=server.conninfo(),
                   M2T_TEST_PG_PASSWORD_FILE=server.password_file)
        return subprocess.run(command, env=env).returncode
    finally:
        server.remove()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "run" and args[1] == "--":
        sys.exit(run(args[2:]))
    if args:
        sys.exit("usage: postgres.py [run -- COMMAND ARGS...]")
    # A smoke test of the server itself.
    workdir = tempfile.mkdtemp(prefix="m2t-pg-")
    server = PostgreSQL(workdir)
    try:
        t = time.monotonic()
        server.start()
        print(f"started in {time.monotonic() - t:.2f}s on port {server.port}: {server.url}")
        print("version:", server.psql("SHOW server_version"))
        print("fsync:", server.psql("SHOW fsync"))
        t = time.monotonic()
        server.restart()
        print(f"restarted in {time.monotonic() - t:.2f}s;", server.psql("SELECT 1"))
        server.kill()
        server.start()
        print("recovered after kill -9:", server.psql("SELECT current_database()"))
    finally:
        server.remove()
        shutil.rmtree(workdir, ignore_errors=True)
    print("smoke test OK")


if __name__ == "__main__":
    main()
