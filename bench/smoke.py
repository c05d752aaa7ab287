#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Smoke run of the benchmarks: every script `make bench` runs, in its order and with its
arguments, but tiny, so that a benchmark that no longer runs fails `make test` (ctest
bench_smoke_NAME, one test per script) instead of lying broken until the next `make bench`.

Usage: bench/smoke.py BUILD_DIR [SCRIPT ...]      (SCRIPT: e.g. parse_bench.py; default: all)

The scripts and their arguments are read from the Makefile's bench target, $(BUILD) being
BUILD_DIR and the other variables the tiny values of TINY. Each script runs with
M2T_BENCH_SMOKE=1, which makes every size and round count it fixes itself tiny (see sized() in
bench/import_bench.py and each script's text), and M2T_BENCH_OUT, a temporary folder removed at
the end, for its archives: bench/out/ keeps the real benchmarks' ones. A script that exits
non-zero (a traceback, sys.exit with a message) fails the run, which names it; one that exits 77
(poll_bench.py without Dovecot) is skipped, and the run exits 77 when every script was skipped.
Nothing is timed: the figures the scripts print mean nothing at these sizes."""

import os
import re
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(BENCH)
# The Makefile's variables but BUILD, at smoke size.
TINY = {"BENCH_SIZES": "1 2", "BENCH_COUNTS": "20 40"}
SKIP = 77


def bench_commands():
    """The `python3 bench/SCRIPT ARGS...` lines of the Makefile's bench target, in their order,
    as (SCRIPT, [ARG, ...]) with the variables not yet replaced."""
    with open(os.path.join(SOURCE, "Makefile")) as f:
        lines = f.read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("bench:")) + 1
    commands = []
    for line in lines[start:]:
        if not line.startswith("\t"):
            break
        words = line.split()
        if len(words) > 1 and words[0] == "python3" and words[1].startswith("bench/"):
            commands.append((words[1][len("bench/"):], words[2:]))
    return commands


def arguments(words, build):
    """words with $(BUILD) replaced by build and the other variables by their TINY values."""
    args = []
    for word in words:
        name = word[2:-1] if re.fullmatch(r"\$\(\w+\)", word) else None
        if name in TINY:
            args += TINY[name].split()
            continue
        if "$(" in word.replace("$(BUILD)", ""):
            sys.exit("smoke.py: the Makefile's bench target has %s, which TINY does not give "
                     "a tiny value" % word)
        args.append(word.replace("$(BUILD)", build))
    return args


def main(argv):
    if len(argv) < 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 64
    build = os.path.abspath(argv[1])
    commands = bench_commands()
    unknown = set(argv[2:]) - {script for script, _ in commands}
    if unknown:
        sys.exit("smoke.py: make bench does not run %s" % ", ".join(sorted(unknown)))
    commands = [(s, w) for s, w in commands if not argv[2:] or s in argv[2:]]
    failed, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="m2t-bench-smoke-") as out:
        env = dict(os.environ, M2T_BENCH_SMOKE="1", M2T_BENCH_OUT=out,
                   PYTHONDONTWRITEBYTECODE="1")
        for script, words in commands:
            args = arguments(words, build)
            print("smoke.py: running bench/%s %s" % (script, " ".join(args)), flush=True)
            status = subprocess.run([sys.executable, os.path.join(BENCH, script)] + args,
                                    env=env, cwd=SOURCE).returncode
            if status == SKIP:
                skipped.append(script)
            elif status != 0:
                print("smoke.py: bench/%s FAILED (exit status %d)" % (script, status), flush=True)
                failed.append(script)
    print("smoke.py: %d run, %d failed%s, %d skipped%s" % (
        len(commands), len(failed), " (%s)" % ", ".join(failed) if failed else "",
        len(skipped), " (%s)" % ", ".join(skipped) if skipped else ""))
    if failed:
        return 1
    return SKIP if len(skipped) == len(commands) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
