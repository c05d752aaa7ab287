# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile mail cannot crash or stall mail2ticket: every shape of tests/hostile/hostile.py, at
1 MB, through the real binary (`parse`; mbox shapes through `import --dry-run`), must finish with
exit 0 and a sane result. The upper bound on each run only stops a hang; how long a shape takes is
measured by bench/hostile_bench.py, which shows that doubling the input doubles the time."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "hostile"))
import hostile  # noqa: E402
from harness import BINARY  # noqa: E402

# Under the sanitizers a realloc always copies, and GMime grows a header's buffer by small steps:
# a long folded header takes a minute there at 1 MB (not in a normal build, where it is linear).
SIZE = (256 << 10) if os.environ.get("M2T_SANITIZED") else (1 << 20)
HANG = 30  # seconds: a guard against a hang (the slowest shape takes 1 s), not a measure

DRY_RUN_CONFIG = """[desk]
kind = whmcs
url = https://desk.example.com/includes/api.php
identifier = test
secret = test
default_department = 1
[state]
path = {dir}/journal.db
"""


class HostileShapes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="m2t-hostile-")
        cls.config = os.path.join(cls.dir, "dry.conf")
        with open(cls.config, "w") as f:
            f.write(DRY_RUN_CONFIG.format(dir=cls.dir))
        os.chmod(cls.config, 0o600)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_shape(self, shape):
        """The parsed mail (mbox shapes: the dry run's calls, one per mail found)."""
        data = hostile.make(shape, SIZE)
        path = os.path.join(self.dir, hostile.file_name(shape))
        with open(path, "wb") as f:
            f.write(data)
        if hostile.is_mbox(shape):
            cmd = [BINARY, "--config", self.config, "import", "--dry-run", path]
        else:
            cmd = [BINARY, "parse", path]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=HANG)
        finally:
            os.unlink(path)
        err = proc.stderr.decode("utf-8", "replace")
        self.assertEqual(proc.returncode, 0, f"{shape}: exit {proc.returncode}\n{err[-2000:]}")
        for line in err.splitlines():
            self.assertTrue(line.startswith("mail2ticket: "), f"{shape}: {line[:200]}")
        if hostile.is_mbox(shape):
            return [json.loads(line) for line in proc.stdout.splitlines()]
        mail = json.loads(proc.stdout)
        self.assertEqual(mail["size"], len(data), shape)
        return mail

    def test_every_shape_finishes(self):
        for shape in hostile.SHAPES:
            with self.subTest(shape=shape):
                self.run_shape(shape)

    def test_what_the_known_cases_come_to(self):
        """The cases of issue 14, each of which crashed or stalled mail2ticket before."""
        mail = self.run_shape("calendar_lone_quotes")
        self.assertIn("When: 2026-03-10 14:00 UTC (;X=)", mail["text"])
        mail = self.run_shape("html_links_with_breaks")
        self.assertTrue(mail["text"].startswith("abc\ny (http://x.org/) abc"), mail["text"][:80])
        mail = self.run_shape("subject_unclosed_words")
        self.assertTrue(mail["subject"].startswith("=?a?B?x=?a?B?x"))
        mail = self.run_shape("html_ordered_items")
        self.assertTrue(mail["text"].startswith("1. x\n2. x\n3. x"))
        mail = self.run_shape("html_table_cells")
        self.assertTrue(mail["text"].startswith("x | x | x"))
        mail = self.run_shape("uuencode_begins")
        self.assertTrue(mail["text"].startswith("begin 644 x\nbegin 644 x\n"))
        self.assertEqual(mail["attachments"], [])

    def test_mbox_splitting_counts_every_mail(self):
        calls = self.run_shape("mbox_tiny_messages")
        self.assertEqual(len(calls), SIZE // len(hostile.mbox_tiny_messages("x", 1)))

if __name__ == "__main__":
    unittest.main(verbosity=2)
