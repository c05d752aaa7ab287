#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parse benchmark: `mail2ticket import --dry-run` against a bare GMime loop over the same mbox.

Usage: bench/parse_bench.py BUILD_DIR [SIZE_MB ...]      (default sizes: 300 600)

For each size, a seeded mbox is generated once into bench/out/ (bench/gen_mbox.py, with no
ticket numbers in the replies' subjects, so the dry run asks no desk: this measures the parse;
bench/dry_run_bench.py measures the look-ups), then each program reads it three times; the best
run is reported: messages/s, MB/s, and peak RSS (the kernel's ru_maxrss). Two sizes show whether
memory grows with the archive. Not a test: nothing is asserted. With M2T_BENCH_SMOKE=1
(bench/smoke.py): 1 and 2 MB by default, each program once."""

import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
import import_bench  # noqa: E402
from import_bench import OFFLINE_CONFIG, OUT, sized  # noqa: E402


def run(cmd):
    """Seconds and peak RSS (MB) of one run, its output discarded."""
    return import_bench.run(cmd, None)


def count_messages(path):
    with open(path, "rb") as f:
        return sum(1 for line in f if line.startswith(b"From "))


def main():
    build = os.path.abspath(sys.argv[1])
    sizes = [int(s) for s in sys.argv[2:]] or sized([300, 600], [1, 2])
    os.makedirs(OUT, exist_ok=True)
    config = os.path.join(OUT, "bench.conf")
    with open(config, "w") as f:
        f.write(OFFLINE_CONFIG.format(state=os.path.join(OUT, "no-journal")))
    programs = {
        "bare GMime loop": lambda mbox: [os.path.join(build, "bench_gmime_loop"), mbox],
        "mail2ticket import --dry-run": lambda mbox: [
            os.path.join(build, "mail2ticket"), "-q", "--config", config, "import",
            "--dry-run", mbox],
    }
    print("%-30s %8s %10s %10s %9s %10s" % ("program", "MB", "messages", "msg/s", "MB/s",
                                             "peak RSS"))
    for size in sizes:
        mbox = import_bench.generated_archive("parse-%d.mbox" % size, str(size),
                                              "--no-ticket-numbers")
        megabytes = os.path.getsize(mbox) / 1048576
        messages = count_messages(mbox)
        rates = {}
        for name, cmd in programs.items():
            best, rss = min(run(cmd(mbox)) for _ in range(sized(3, 1)))
            rates[name] = messages / best
            print("%-30s %8.0f %10d %10.0f %9.1f %8.0f MB" % (name, megabytes, messages,
                                                               messages / best,
                                                               megabytes / best, rss))
        print("  mail2ticket at %.0f%% of the bare GMime loop's throughput" % (
            100 * rates["mail2ticket import --dry-run"] / rates["bare GMime loop"]))


if __name__ == "__main__":
    main()
