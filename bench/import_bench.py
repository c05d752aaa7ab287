#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Import benchmark: `mail2ticket import` into the sandbox desk, and `import --dry-run`.

Usage: bench/import_bench.py BUILD_DIR [COUNT ...]      (default counts: 5000 50000)

For each count, a seeded archive of that many mails without attachments (bench/gen_mbox.py
--light, threads included) is generated once into bench/out/; then the import runs against a
fresh sandbox desk and journal (one desk call at a time, then four in flight), and the dry run
against no journal; last, LATENCY_COUNT (1000) mails against a desk slowed to 50 ms a call.
Reported: messages/s and peak RSS (ru_maxrss) of mail2ticket; the same figure at both counts
means memory does not grow with the archive. Not a test: nothing is asserted.

Shared by the other benchmarks: M2T_BENCH_OUT names the folder for the generated archives
(default bench/out/), and M2T_BENCH_SMOKE=1 makes every benchmark tiny (sized(): here 20 and 40
mails, 20 at 50 ms), for bench/smoke.py, which checks that they still run (ctest bench_smoke_*);
its figures mean nothing."""

import os
import json
import subprocess
import sys
import tempfile
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(BENCH)
# The generated archives, kept for later runs (and the benchmarks' own config files).
OUT = os.environ.get("M2T_BENCH_OUT") or os.path.join(BENCH, "out")
# A smoke run (bench/smoke.py): every benchmark at a tiny size, once.
SMOKE = os.environ.get("M2T_BENCH_SMOKE") == "1"


def sized(normal, tiny):
    """A size or round count of a benchmark: normal, or tiny in a smoke run."""
    return tiny if SMOKE else normal


# For runs that need no desk to answer (dry runs of mail that asks it nothing): its name does not
# resolve, so a run that did call it would fail, and measure() would say so.
OFFLINE_CONFIG = """[desk]
kind = whmcs
url = https://desk.invalid/includes/api.php
identifier = bench
secret = bench-secret
default_department = 1
[departments]
support@example.com = 1
[state]
path = {state}/journal.db
"""
CONFIG = """[desk]
kind = whmcs
url = http://127.0.0.1:{port}/includes/api.php
identifier = bench
default_department = 1
concurrency = {concurrency}
[departments]
support@example.com = 1
[state]
path = {state}/journal.db
"""

RUNS = (("import --dry-run", ["--dry-run"], 1, 0),
        ("import, 1 call at a time", [], 1, 0),
        ("import, 4 calls in flight", [], 4, 0))
# A real desk answers in tens of milliseconds, not in the sandbox's one; the sandbox's "slow"
# fault adds that answer time to every call.
LATENCY_COUNT = sized(1000, 20)
LATENCY_RUNS = (("1 call at a time, 50 ms desk", [], 1, 0.05),
                ("4 calls in flight, 50 ms desk", [], 4, 0.05))


def measure(cmd, env=None):
    """Wall seconds and the resource usage (os.wait4) of one run, its output discarded; the
    benchmark stops with the program's errors when it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), proc.stderr.read().decode()))
    return elapsed, usage


def generated_archive(name, *options):
    """OUT/NAME (bench/out/NAME), written by bench/gen_mbox.py with options the first time it is
    asked for and kept for later runs."""
    os.makedirs(OUT, exist_ok=True)
    archive = os.path.join(OUT, name)
    if not os.path.exists(archive):
        subprocess.run([sys.executable, os.path.join(BENCH, "gen_mbox.py"), archive] +
                       list(options), check=True, stdout=subprocess.DEVNULL)
    return archive


def run(cmd, env):
    """Seconds and peak RSS (MB) of one run."""
    elapsed, usage = measure(cmd, env)
    return elapsed, usage.ru_maxrss / 1024


def start_desk(tmp):
    port_file = os.path.join(tmp, "port")
    env = dict(os.environ, SANDBOX_DESK_SECRET="bench-secret")
    desk = subprocess.Popen([sys.executable, os.path.join(SOURCE, "tests", "desk",
                                                         "sandbox_desk.py"),
                             "--port", "0", "--port-file", port_file, "--quiet",
                             "--identifier", "bench"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(100):
        if os.path.exists(port_file) and open(port_file).read().strip():
            return desk, open(port_file).read().strip()
        time.sleep(0.1)
    sys.exit("the sandbox desk did not start")


def slow_down(port, delay):
    req = urllib.request.Request("http://127.0.0.1:%s/_sandbox/fault" % port,
                                 data=json.dumps({"mode": "slow", "delay": delay}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req, timeout=10).read()


def main():
    binary = os.path.join(os.path.abspath(sys.argv[1]), "mail2ticket")
    counts = [int(c) for c in sys.argv[2:]] or sized([5000, 50000], [20, 40])
    env = dict(os.environ, MAIL2TICKET_SECRET="bench-secret")
    print("%-30s %8s %10s %10s %10s" % ("run", "mails", "seconds", "mails/s", "peak RSS"))
    plan = [(count, RUNS) for count in counts] + [(LATENCY_COUNT, LATENCY_RUNS)]
    for count, runs in plan:
        archive = generated_archive("import-%d.mbox" % count, "--count", str(count), "--seed",
                                    "11", "--light")
        for name, extra, concurrency, delay in runs:
            # A fresh desk and journal for each run, so each one sends every mail.
            with tempfile.TemporaryDirectory() as tmp:
                desk, port = start_desk(tmp)
                try:
                    if delay:
                        slow_down(port, delay)
                    config = os.path.join(tmp, "bench.conf")
                    with open(config, "w") as f:
                        f.write(CONFIG.format(port=port, state=os.path.join(tmp, "state"),
                                              concurrency=concurrency))
                    seconds, rss = run([binary, "-q", "--config", config, "import"] + extra
                                       + [archive], env)
                    print("%-30s %8d %10.1f %10.0f %7.0f MB" % (name, count, seconds,
                                                              count / seconds, rss))
                finally:
                    desk.terminate()
                    desk.wait()


if __name__ == "__main__":
    main()
