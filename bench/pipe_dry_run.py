#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Time from start to exit of `mail2ticket pipe --dry-run` on a small mail.

Usage: bench/pipe_dry_run.py BINARY [RUNS]

A dry run parses the mail, loads the config, decides, and prints the OpenTicket call without
contacting the desk, so this measures the fixed cost of one MTA delivery (process start, library
initialisation, config, parse) apart from the network. Not a test: nothing is asserted."""

import os
import statistics
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = """[desk]
kind = whmcs
url = https://desk.invalid/includes/api.php
identifier = bench
secret = bench-secret
default_department = 1
[departments]
support@example.com = 1
[state]
path = journal.db
"""


def main():
    binary = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    mail_path = os.path.join(SOURCE_DIR, "samples", "mail", "01-plain.eml")
    with open(mail_path, "rb") as f:
        mail = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "mail2ticket.conf")
        with open(config, "w") as f:
            f.write(CONFIG)
        cmd = [binary, "--config", config, "-q", "pipe", "--dry-run"]
        for _ in range(10):  # warm the page cache and the dynamic loader's caches
            subprocess.run(cmd, input=mail, capture_output=True, check=True)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(cmd, input=mail, capture_output=True, check=True)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print("mail2ticket pipe --dry-run, %s (%d bytes), %d runs:" % (
        os.path.basename(mail_path), len(mail), runs))
    print("  min %.2f ms  median %.2f ms  mean %.2f ms  p95 %.2f ms  max %.2f ms" % (
        times[0], statistics.median(times), statistics.mean(times),
        times[int(len(times) * 0.95) - 1], times[-1]))


if __name__ == "__main__":
    main()
