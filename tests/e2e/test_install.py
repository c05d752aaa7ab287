#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`cmake --install` as an admin runs it: the files land where they belong, the man pages render
without a warning, the systemd unit passes `systemd-analyze verify`, the example config loads
with the installed program, and that program finds its modules under the prefix it was installed
to (a module missing is a temporary failure that leaves the mail with the MTA)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, SOURCE_DIR, DeskTestCase, sample  # noqa: E402

BUILD_DIR = os.path.dirname(BINARY)
with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as cache:
    SANITIZED = "M2T_SANITIZE:BOOL=ON" in cache.read()


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="m2t-install-")
        cls.prefix = os.path.join(cls.dir, "prefix")
        subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", cls.prefix], check=True,
                       capture_output=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def installed(self, *parts):
        return os.path.join(self.prefix, *parts)

    def test_files_are_where_an_admin_looks(self):
        for path in ["bin/mail2ticket", "share/man/man1/mail2ticket.1",
                     "share/man/man5/mail2ticket.conf.5", "lib/systemd/system/mail2ticket.service",
                     "share/doc/mail2ticket/mail2ticket.conf.example",
                     "share/doc/mail2ticket/README.md", "share/doc/mail2ticket/scaling.md"]:
            self.assertTrue(os.path.isfile(self.installed(path)), path)
        modules = [name for _, _, names in os.walk(self.installed("lib")) for name in names
                   if name.startswith("mail2ticket-") and name.endswith(".so")]
        self.assertEqual(sorted(modules), ["mail2ticket-digest.so", "mail2ticket-html.so",
                                           "mail2ticket-http.so", "mail2ticket-mailbox.so",
                                           "mail2ticket-postgresql.so"])
        out = subprocess.run([self.installed("bin/mail2ticket"), "--version"],
                             capture_output=True, text=True, check=True).stdout
        self.assertRegex(out, r"^mail2ticket \d+\.\d+")

    def test_man_pages_render_without_warnings(self):
        for page in ["man1/mail2ticket.1", "man5/mail2ticket.conf.5"]:
            proc = subprocess.run(["man", "-l", self.installed("share/man", page)],
                                  capture_output=True, text=True, env=dict(os.environ,
                                                                           MANWIDTH="80"))
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(proc.stderr, "")
            self.assertIn("mail2ticket", proc.stdout)
        proc = subprocess.run(["sh", os.path.join(SOURCE_DIR, "docs", "check-man.sh"),
                               self.installed("share/man/man1/mail2ticket.1"),
                               self.installed("share/man/man5/mail2ticket.conf.5")],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_unit_passes_systemd_analyze_verify(self):
        with open(self.installed("lib/systemd/system/mail2ticket.service")) as f:
            unit = f.read()
        for line in ["Type=notify", "ProtectSystem=strict", "NoNewPrivileges=yes",
                     "ExecReload=/bin/kill -HUP $MAINPID", "LimitCORE=0"]:
            self.assertIn(line, unit.splitlines())
        self.assertRegex(unit, r"(?m)^WatchdogSec=\S+")
        self.assertRegex(unit, r"(?m)^ExecStart=/\S+/bin/mail2ticket --config "
                               r"/etc/mail2ticket/mail2ticket.conf poll$")
        # verify checks that ExecStart's program exists: the copy names the one installed here.
        copy = os.path.join(self.dir, "mail2ticket.service")
        with open(copy, "w") as f:
            f.write(re.sub(r"(?m)^ExecStart=\S+", "ExecStart=" + self.installed("bin/mail2ticket"),
                           unit))
        proc = subprocess.run(["systemd-analyze", "verify", copy], capture_output=True, text=True,
                              cwd=self.dir,
                              env=dict(os.environ, MANPATH=self.installed("share/man")))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stderr, "")

    def test_example_config_loads_without_warnings(self):
        with open(self.installed("share/doc/mail2ticket/mail2ticket.conf.example")) as f:
            text = f.read()
        etc = os.path.join(self.dir, "etc")
        state = os.path.join(self.dir, "state")
        os.makedirs(etc)
        text = text.replace("/etc/mail2ticket/", etc + "/").replace("/var/lib/mail2ticket/",
                                                                     state + "/")
        config = os.path.join(etc, "mail2ticket.conf")
        for name, content in [("mail2ticket.conf", text), ("desk.secret", "example-desk-secret\n"),
                              ("support.pass", "example-mailbox-password\n")]:
            path = os.path.join(etc, name)
            with open(path, "w") as f:
                f.write(content)
            os.chmod(path, 0o600)
        proc = subprocess.run([self.installed("bin/mail2ticket"), "--config", config, "route",
                               os.path.join(SOURCE_DIR, "samples", "mail", "01-plain.eml")],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("warning", proc.stderr)
        self.assertIn('"action": "open"', proc.stdout)
        # The same file readable by its group is named in a warning.
        os.chmod(config, 0o640)
        proc = subprocess.run([self.installed("bin/mail2ticket"), "--config", config, "route",
                               os.path.join(SOURCE_DIR, "samples", "mail", "01-plain.eml")],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(f"the config file {config} can be read by its group (mode 0640)",
                      proc.stderr)
        for secret in ["example-desk-secret", "example-mailbox-password"]:
            self.assertNotIn(secret, proc.stdout + proc.stderr)


class InstalledModules(DeskTestCase):
    """The installed program's pipe against the sandbox desk: it loads the modules it needs
    from its own prefix, and without one the mail stays with the MTA."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.prefix = os.path.join(cls.classdir, "prefix")
        subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", cls.prefix], check=True,
                       capture_output=True)

    def pipe_installed(self, prefix, mail):
        return subprocess.run([os.path.join(prefix, "bin", "mail2ticket"), "--config",
                               self.config, "pipe"], input=mail, capture_output=True, text=False)

    def test_html_mail_is_rendered_and_sent(self):
        proc = self.pipe_installed(self.prefix, sample("02-html-only.eml"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        [ticket] = self.desk.tickets()
        text = ticket["messages"][0]["message"]
        self.assertNotIn("HTML not rendered", text)
        self.assertNotIn("<p>", text)

    @unittest.skipIf(SANITIZED, "the sanitizer build links the modules' code in")
    def test_missing_module_leaves_the_mail_with_the_mta(self):
        broken = os.path.join(self.dir, "broken")
        shutil.copytree(self.prefix, broken, symlinks=True)
        [module] = [os.path.join(root, name) for root, _, names in os.walk(broken)
                    for name in names if name == "mail2ticket-http.so"]
        os.remove(module)
        proc = self.pipe_installed(broken, sample("01-plain.eml"))
        self.assertEqual(proc.returncode, 75, proc.stderr)
        self.assertIn(b"cannot load the module " + module.encode(), proc.stderr)
        self.assertEqual(self.desk.tickets(), [])


if __name__ == "__main__":
    unittest.main()
