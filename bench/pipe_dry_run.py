#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Time from start to exit of `mail2ticket pipe --dry-run` on a small mail, beside /bin/true.

Usage: bench/pipe_dry_run.py BINARY [RUNS] [OTHER_BINARY]

A dry run parses the mail, loads the config, decides, and prints the OpenTicket call without
contacting the desk, so this measures the fixed cost of one MTA delivery (process start, library
initialisation, config, parse) apart from the network. /bin/true (and OTHER_BINARY, an older
mail2ticket to compare with, when given) run in the same rounds, alternating, so a busy machine
slows them alike. The libraries counted are the shared objects the dynamic loader mapped in the
whole run, those dlopen() brought in included, the program itself, ld.so and the vDSO not: the
"generating link map" lines of LD_DEBUG=files. Not a test: nothing is asserted. With
M2T_BENCH_SMOKE=1 (bench/smoke.py), RUNS defaults to 3 (not 200), after 1 warming round (not 5)."""

import os
import statistics
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SOURCE_DIR, "bench"))
from import_bench import OFFLINE_CONFIG, sized  # noqa: E402

MAILS = ["01-plain.eml", "02-html-only.eml"]


def libraries_loaded(cmd, mail, cwd):
    env = dict(os.environ, LD_DEBUG="files")
    run = subprocess.run(cmd, input=mail, capture_output=True, env=env, cwd=cwd, check=True)
    return sum(1 for line in run.stderr.decode(errors="replace").splitlines()
               if "generating link map" in line)


def timed(cmd, mail, cwd):
    start = time.perf_counter()
    subprocess.run(cmd, input=mail, capture_output=True, cwd=cwd, check=True)
    return (time.perf_counter() - start) * 1000


def report(label, times, libraries):
    times.sort()
    print("  %-44s median %6.2f ms  p95 %6.2f ms  min %6.2f ms  %2d libraries" % (
        label, statistics.median(times), times[int(len(times) * 0.95) - 1], times[0],
        libraries))


def main():
    binaries = [os.path.abspath(sys.argv[1])]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else sized(200, 3)
    if len(sys.argv) > 3:
        binaries.append(os.path.abspath(sys.argv[3]))
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "mail2ticket.conf")
        with open(config, "w") as f:
            f.write(OFFLINE_CONFIG.format(state=tmp))
        cases = [("/bin/true", ["/bin/true"], b"")]
        for name in MAILS:
            with open(os.path.join(SOURCE_DIR, "samples", "mail", name), "rb") as f:
                mail = f.read()
            for binary in binaries:
                label = "%s pipe --dry-run %s" % (
                    os.path.relpath(binary, SOURCE_DIR) if len(binaries) > 1 else
                    "mail2ticket", name)
                cases.append((label, [binary, "--config", config, "-q", "pipe", "--dry-run"],
                              mail))
        times = {label: [] for label, _, _ in cases}
        for _ in range(sized(5, 1)):  # warm the page cache and the dynamic loader's caches
            for _, cmd, mail in cases:
                timed(cmd, mail, tmp)
        for _ in range(runs):
            for label, cmd, mail in cases:
                times[label].append(timed(cmd, mail, tmp))
        print("start to exit, %d runs each, alternating:" % runs)
        for label, cmd, mail in cases:
            report(label, times[label], libraries_loaded(cmd, mail, tmp))


if __name__ == "__main__":
    main()
