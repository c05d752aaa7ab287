#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Dry-run benchmark: `mail2ticket import --dry-run` against the bare GMime loop, same archive.

Usage: bench/dry_run_bench.py BUILD_DIR [COUNT] [ROUNDS]      (defaults: 5000 mails, 5 rounds)

The archive: bench/gen_mbox.py --count COUNT --seed 1 (attachments, HTML, replies; about one mail
in seven a reply whose subject carries its thread's ticket number), generated once into
bench/out/. The dry run asks the sandbox desk (tests/desk/sandbox_desk.py) about each of those
tickets (GetTicket) and has no journal, as on a first import. Its lanes are [desk] concurrency
= 4 (the default) and 1, to show what the lanes do for the look-ups. The programs take turns,
ROUNDS times, so that a machine busy with something else slows each about as much; reported:
the median wall time, the CPU (user + system) of that run, per mail, and the desk look-ups.
Not a test: nothing is asserted."""

import json
import os
import statistics
import sys
import tempfile
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
from import_bench import generated_archive, measure, start_desk  # noqa: E402

CONFIG = """[desk]
kind = whmcs
url = http://127.0.0.1:{port}/includes/api.php
identifier = bench
secret = bench-secret
default_department = 1
concurrency = {concurrency}
[departments]
support@example.com = 1
[state]
path = {tmp}/no-journal/journal.db
"""


def run(cmd):
    """Wall seconds and CPU seconds (user + system) of one run, its output discarded."""
    elapsed, usage = measure(cmd)
    return elapsed, usage.ru_utime + usage.ru_stime


def control(port, name, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%s/_sandbox/%s" % (port, name), data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as answer:
        return json.load(answer)


def main():
    build = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    archive = generated_archive("dry-run-%d.mbox" % count, "--count", str(count), "--seed", "1")
    with tempfile.TemporaryDirectory() as tmp:
        desk, port = start_desk(tmp)
        try:
            configs = {}
            for concurrency in (4, 1):
                configs[concurrency] = os.path.join(tmp, "lanes-%d.conf" % concurrency)
                with open(configs[concurrency], "w") as f:
                    f.write(CONFIG.format(port=port, tmp=tmp, concurrency=concurrency))
            programs = [("bare GMime loop", [os.path.join(build, "bench_gmime_loop"),
                                             archive])]
            for concurrency, config in configs.items():
                programs.append(("import --dry-run, %d lane%s" % (
                    concurrency, "s" if concurrency > 1 else ""),
                    [os.path.join(build, "mail2ticket"), "-q", "--config", config, "import",
                     "--dry-run", archive]))
            results = {name: [] for name, _ in programs}
            lookups = {}
            for _ in range(rounds):
                for name, cmd in programs:
                    control(port, "reset", {})
                    results[name].append(run(cmd))
                    calls = control(port, "calls")["calls"]
                    lookups[name] = sum(1 for c in calls if c["action"] == "GetTicket")
        finally:
            desk.terminate()
            desk.wait()
    print("%s: %d mails, %.0f MB; %d rounds, taking turns; the median run:" % (
        os.path.basename(archive), count, os.path.getsize(archive) / 1048576, rounds))
    print("%-30s %9s %9s %13s %10s" % ("program", "wall s", "CPU s", "CPU ms/mail",
                                       "look-ups"))
    for name, _ in programs:
        wall, cpu = sorted(results[name])[len(results[name]) // 2]
        print("%-30s %9.2f %9.2f %13.3f %10s" % (name, wall, cpu, 1000 * cpu / count,
                                                 lookups[name] if name in lookups and
                                                 name.startswith("import") else "-"))
    loop = statistics.median(w for w, _ in results["bare GMime loop"])
    dry = statistics.median(w for w, _ in results["import --dry-run, 4 lanes"])
    print("  import --dry-run (4 lanes) takes %.0f%% of the bare GMime loop's wall time"
          % (100 * dry / loop))


if __name__ == "__main__":
    main()
