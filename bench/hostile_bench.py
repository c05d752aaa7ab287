#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Time `mail2ticket parse` on every hostile shape (tests/hostile/hostile.py) at 1 MB and 2 MB.

Every scanner mail2ticket has of its own must run in time linear in its input, so doubling the
input should double the time: a ratio near 4 means a quadratic scanner. mbox shapes go through
`import --dry-run` instead (the splitter reads archives only). Best of three runs each; a run is
stopped after 120 s. With M2T_BENCH_SMOKE=1 (bench/smoke.py): 16 KB and 32 KB (the columns
keep their names), one run each.

Usage: hostile_bench.py BUILD_DIR [SHAPE...]
"""

import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "hostile"))
import hostile  # noqa: E402
from import_bench import OFFLINE_CONFIG, sized  # noqa: E402

SIZES = sized((1 << 20, 2 << 20), (16 << 10, 32 << 10))
RUNS = sized(3, 1)
LIMIT = 120.0


def command(binary, config, shape, path):
    if hostile.is_mbox(shape):
        return [binary, "--config", config, "-q", "import", "--dry-run", path]
    return [binary, "parse", path]


def best_time(cmd):
    """The shortest of RUNS runs in seconds, or None when one ran past LIMIT or failed."""
    best = None
    for _ in range(RUNS):
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  timeout=LIMIT)
        except subprocess.TimeoutExpired:
            return None
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: "
                               f"{proc.stderr.decode(errors='replace')[-500:]}")
        elapsed = time.monotonic() - started
        best = elapsed if best is None else min(best, elapsed)
    return best


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 64
    binary = os.path.join(argv[1], "mail2ticket")
    shapes = argv[2:] or list(hostile.SHAPES)
    print(f"hostile inputs: mail2ticket parse (mbox shapes: import --dry-run), best of {RUNS}")
    print(f"{'shape':32} {'1 MB':>8} {'2 MB':>8} {'2MB/1MB':>8}")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="m2t-hostile-") as tmp:
        config = os.path.join(tmp, "bench.conf")
        with open(config, "w") as f:
            f.write(OFFLINE_CONFIG.format(state=tmp))
        os.chmod(config, 0o600)
        for shape in shapes:
            times = []
            for size in SIZES:
                path = os.path.join(tmp, hostile.file_name(shape))
                with open(path, "wb") as f:
                    f.write(hostile.make(shape, size))
                times.append(best_time(command(binary, config, shape, path)))
            shown = [f"{t:8.3f}" if t is not None else " timeout" for t in times]
            if None in times:
                ratio, flag = "       -", "  past the limit"
            else:
                r = times[1] / times[0] if times[0] > 0 else 0.0
                worst = max(worst, r if times[1] > 0.2 else 0.0)
                ratio = f"{r:8.2f}"
                flag = "  quadratic?" if r > 3 and times[1] > 0.2 else ""
            print(f"{shape:32} {shown[0]} {shown[1]} {ratio}{flag}", flush=True)
    print(f"largest ratio among shapes over 0.2 s at 2 MB: {worst:.2f} (linear: about 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
