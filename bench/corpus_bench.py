#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parse throughput on the sample corpus: samples/mail/*.eml (every class of odd and damaged mail
the parser is tested on, but replies that carry a ticket number) written into one mbox
(bench/out/corpus-SIZE_MB.mbox), each mail repeated until the archive is about SIZE_MB, read by
`mail2ticket import --dry-run` and by the bare GMime loop.

Usage: bench/corpus_bench.py BUILD_DIR [SIZE_MB]      (default 20)

The best of three runs is reported: messages/s, MB/s and peak RSS. Not a test: nothing is
asserted. With M2T_BENCH_SMOKE=1 (bench/smoke.py): 1 MB by default, each program once."""

import glob
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from import_bench import OFFLINE_CONFIG, OUT, sized  # noqa: E402
from parse_bench import BENCH, run  # noqa: E402

SOURCE = os.path.dirname(BENCH)


def corpus(binary):
    """The samples, but those whose subject carries a ticket number: a dry run would ask the
    desk about each (there is none here)."""
    names = []
    for name in sorted(glob.glob(os.path.join(SOURCE, "samples", "mail", "*.eml"))):
        parsed = json.loads(subprocess.run([binary, "parse", name], capture_output=True,
                                           check=True).stdout)
        if not re.search(r"\[Ticket ID: \d+\]", parsed["subject"]):
            names.append(name)
    return names


def write_corpus_mbox(path, size_mb, names):
    """Each sample as an mboxrd message, copied with a fresh Message-ID until size_mb; the number
    of messages."""
    mails = []
    for name in names:
        with open(name, "rb") as f:
            raw = f.read().replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n"
        mails.append(re.sub(rb"(?m)^(>*From )", rb">\1", raw))
    written = copies = 0
    with open(path, "wb") as out:
        while written < size_mb * 1048576:
            for i, raw in enumerate(mails):
                raw = re.sub(rb"(?mi)^Message-ID:[^\n]*\n", b"", raw, count=1)
                head = (b"From corpus@example.org Fri Apr 10 10:00:00 2026\n"
                        b"Message-ID: <corpus-%d-%d@example.org>\n" % (copies, i))
                out.write(head + raw + b"\n")
                written += len(head) + len(raw) + 1
            copies += 1
    return copies * len(mails)


def main():
    build = os.path.abspath(sys.argv[1])
    size = int(sys.argv[2]) if len(sys.argv) > 2 else sized(20, 1)
    os.makedirs(OUT, exist_ok=True)
    config = os.path.join(OUT, "bench.conf")
    with open(config, "w") as f:
        f.write(OFFLINE_CONFIG.format(state=os.path.join(OUT, "no-journal")))
    mbox = os.path.join(OUT, "corpus-%d.mbox" % size)
    names = corpus(os.path.join(build, "mail2ticket"))
    messages = write_corpus_mbox(mbox, size, names)
    megabytes = os.path.getsize(mbox) / 1048576
    programs = {
        "bare GMime loop": [os.path.join(build, "bench_gmime_loop"), mbox],
        "mail2ticket import --dry-run": [os.path.join(build, "mail2ticket"), "-q", "--config",
                                         config, "import", "--dry-run", mbox],
    }
    print("corpus: %d samples, %d messages, %.0f MB" % (len(names), messages, megabytes))
    print("%-30s %10s %9s %10s" % ("program", "msg/s", "MB/s", "peak RSS"))
    for name, cmd in programs.items():
        best, rss = min(run(cmd) for _ in range(sized(3, 1)))
        print("%-30s %10.0f %9.1f %8.0f MB" % (name, messages / best, megabytes / best, rss))


if __name__ == "__main__":
    main()
