#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`mail2ticket route` on every routing case in samples/route/ equals the case's stored JSON.

A case is NN-name.eml (the mail), NN-name.conf (the config) and NN-name.json (what route prints);
samples/route/README.md describes them for a reader. The first line of the .conf, `# route: ARGS`,
gives route's arguments before the mail (--offline, -f SENDER, -r RECIPIENT). Each case runs in a
scratch folder of its own, from a copy of its .conf (mode 600, as an admin keeps it): the journal
the config names, journal.db beside it, is the case's own.

Where the facts of a decision come from:
  * the mail, the envelope and the config alone: most cases, run with --offline;
  * the desk (23-30: the owner, the cc list, the client's contacts, a closed or a missing ticket):
    a case whose [desk] url starts with @SANDBOX_DESK@ runs against the sandbox desk
    (tests/desk/sandbox_desk.py), started once on a copy of samples/route/sandbox-desk.json;
    the runner puts the desk's address in for @SANDBOX_DESK@ and its secret in
    MAIL2TICKET_SECRET;
  * the journal (the rate limit, 19-20): NN-name.before.mbox is imported first, with
    `mail2ticket import` under the case's config at that desk, and the journal counts its tickets.
What stays in C (tests/unit/test_rules.c): the mailbox condition, since only poll gives a mail a
mailbox, route cannot; and the markdown action, which route's JSON does not show.

For a config route refuses, the .json holds route's exit code and standard error instead. Nothing
in route's output varies from run to run, so all of it is compared. A rule named yes-... must be
in the stored "rules", one named no-... must not: the rules' names check the stored files.

Run with --update to rewrite every NN-name.json after a deliberate change, then review the diff:
it is the change in routing, case by case."""

import difflib
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, SECRET, SOURCE_DIR, SandboxDesk  # noqa: E402

CASES = os.path.abspath(os.path.join(SOURCE_DIR, "samples", "route"))
PROGRAM = os.path.abspath(BINARY)  # the cases run in scratch folders
DESK_PLACEHOLDER = "@SANDBOX_DESK@"


def case_names(extension=".eml"):
    """The NN-name of every case with a file NN-name.EXTENSION."""
    names = (os.path.basename(p)[:-len(extension)]
             for p in glob.glob(os.path.join(CASES, "[0-9][0-9]-*" + extension)))
    return sorted(n for n in names if "." not in n)


def case_file(name, extension):
    return os.path.join(CASES, name + extension)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def route_args(name, config):
    first = config.split("\n", 1)[0]
    if not first.startswith("# route:"):
        raise ValueError(f"{name}.conf: the first line must be '# route: ARGS'")
    return shlex.split(first[len("# route:"):])


def as_text(output):
    return json.dumps(output, indent=2, ensure_ascii=False, sort_keys=True).splitlines(True)


class Router:
    """The sandbox desk, and the cases run one by one in scratch folders."""

    def __init__(self):
        self.workdir = tempfile.mkdtemp(prefix="m2t-route-")
        state = os.path.join(self.workdir, "desk.json")
        shutil.copyfile(os.path.join(CASES, "sandbox-desk.json"), state)
        self.desk = SandboxDesk(self.workdir, state=state)

    def close(self):
        self.desk.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def m2t(self, folder, name, *args):
        env = dict(os.environ, LC_ALL="C.UTF-8", MAIL2TICKET_SECRET=SECRET)
        env.pop("MAIL2TICKET_CONFIG", None)
        proc = subprocess.run([PROGRAM, "-c", name + ".conf"] + list(args), cwd=folder, env=env,
                              capture_output=True, timeout=60)
        out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
        if SECRET in out + err:
            raise AssertionError(f"{name}: the secret appeared in mail2ticket's output")
        return proc.returncode, out, err

    def route(self, name):
        """What route prints for the case: its JSON, or, when it refuses, the exit code and
        standard error."""
        folder = os.path.join(self.workdir, name)
        os.mkdir(folder)
        config = read(case_file(name, ".conf"))
        args = route_args(name, config)
        path = os.path.join(folder, name + ".conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(config.replace(DESK_PLACEHOLDER, self.desk.url))
        os.chmod(path, 0o600)
        before = case_file(name, ".before.mbox")
        if os.path.exists(before):
            rc, _, err = self.m2t(folder, name, "import", before)
            if rc != 0:
                raise AssertionError(f"{name}: importing {before} failed ({rc}): {err}")
        rc, out, err = self.m2t(folder, name, "route", *args, case_file(name, ".eml"))
        if rc != 0:
            return {"exit_code": rc, "stderr": err}
        return json.loads(out)


class RouteSamples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.router = Router()

    @classmethod
    def tearDownClass(cls):
        cls.router.close()

    def test_every_case_is_three_files(self):
        names = case_names()
        self.assertGreaterEqual(len(names), 50)
        self.assertEqual(case_names(".conf"), names)
        self.assertEqual(case_names(".json"), names)

    def test_every_case_routes_as_stored(self):
        for name in case_names():
            with self.subTest(case=name):
                expected = json.loads(read(case_file(name, ".json")))
                got = self.router.route(name)
                if got != expected:
                    self.fail(f"route's output for {name} is not the stored one:\n" + "".join(
                        difflib.unified_diff(as_text(expected), as_text(got),
                                             f"{name}.json", "route now", n=2)))

    def test_rule_names_say_whether_they_match(self):
        for name in case_names():
            named = re.findall(r"^\[rule ((?:yes|no)-[^\]]*)\]", read(case_file(name, ".conf")),
                               re.M)
            if not named:
                continue
            with self.subTest(case=name):
                matched = json.loads(read(case_file(name, ".json")))["rules"]
                self.assertEqual([r for r in named if r.startswith("no-") and r in matched], [],
                                 "rules named no-... in the stored rules")
                self.assertEqual([r for r in named if r.startswith("yes-") and r not in matched],
                                 [], "rules named yes-... missing from the stored rules")


def update():
    router = Router()
    try:
        for name in case_names():
            with open(case_file(name, ".json"), "w", encoding="utf-8") as f:
                json.dump(router.route(name), f, indent=2, ensure_ascii=False)
                f.write("\n")
            print("wrote", name + ".json")
    finally:
        router.close()


if __name__ == "__main__":
    if "--update" in sys.argv:
        update()
    else:
        unittest.main(verbosity=2)
