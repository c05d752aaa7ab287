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
the median wall time, the CPU (user + system) of that run, per mail, the desk look-ups and the
CPU the desk spent answering them: on a machine with few cores the sandbox desk shares them, and
no run can take less than (its CPU + the desk's) / cores. Not a test: nothing is asserted. With
M2T_BENCH_SMOKE=1 (bench/smoke.py) the defaults are 50 mails and 1 round."""

import json
import os
import statistics
import sys
import tempfile
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
from import_bench import generated_archive, measure, sized, start_desk  # noqa: E402

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


def process_cpu(pid):
    """CPU seconds (user + system) process pid has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def control(port, name, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%s/_sandbox/%s" % (port, name), data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as answer:
        return json.load(answer)


def main():
    build = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else sized(5000, 50)
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else sized(5, 1)
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
                    desk_before = process_cpu(desk.pid)
                    wall, cpu = run(cmd)
                    results[name].append((wall, cpu, process_cpu(desk.pid) - desk_before))
                    calls = control(port, "calls")["calls"]
                    lookups[name] = sum(1 for c in calls if c["action"] == "GetTicket")
        finally:
            desk.terminate()
            desk.wait()
    print("%s: %d mails, %.0f MB; %d rounds, taking turns; the median run:" % (
        os.path.basename(archive), count, os.path.getsize(archive) / 1048576, rounds))
    print("%-30s %9s %9s %13s %10s %11s" % ("program", "wall s", "CPU s", "CPU ms/mail",
                                            "look-ups", "desk CPU s"))
    for name, _ in programs:
        wall, cpu, desk_cpu = sorted(results[name])[len(results[name]) // 2]
        dry_run = name.startswith("import")
        print("%-30s %9.2f %9.2f %13.3f %10s %11s" % (
            name, wall, cpu, 1000 * cpu / count, lookups[name] if dry_run else "-",
            "%.2f" % desk_cpu if dry_run else "-"))
    loop = statistics.median(r[0] for r in results["bare GMime loop"])
    dry = sorted(results["import --dry-run, 4 lanes"])[rounds // 2]
    print("  import --dry-run (4 lanes) takes %.0f%% of the bare GMime loop's wall time"
          % (100 * dry[0] / loop))
    print("  on %d cores it cannot take less than (its CPU + the desk's) / %d = %.2f s (%.0f%%)"
          % (os.cpu_count(), os.cpu_count(), (dry[1] + dry[2]) / os.cpu_count(),
             100 * (dry[1] + dry[2]) / os.cpu_count() / loop))


if __name__ == "__main__":
    main()
