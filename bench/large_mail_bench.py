#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Memory for one large mail: `mail2ticket pipe` of a 60 MB mail (9 MB of Cyrillic text, three
12 MiB attachments) into the sandbox desk (WHMCS API), its time and peak RSS.

A mail is held whole while it is parsed and sent, so memory follows the largest mail, never the
number of mails; the request is URL-encoded as it is sent (a copy of some 120 MB is never made).
With M2T_BENCH_SMOKE=1 (bench/smoke.py) the mail is 1024 times smaller (60 KB).

Usage: large_mail_bench.py BUILD_DIR
"""

import base64
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX = os.path.join(HERE, "..", "tests", "desk", "sandbox_desk.py")
SECRET = "bench-secret"
sys.path.insert(0, HERE)
from import_bench import sized  # noqa: E402

TEXT_BYTES = sized(9 << 20, 9 << 10)
ATTACHMENT_BYTES = sized(12 << 20, 12 << 10)


def large_mail():
    line = "Съешь же ещё этих мягких французских булок да выпей чаю. "
    text = (line * (TEXT_BYTES // len(line.encode()))).encode()
    rng = random.Random(60)
    parts = [b"--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
             + text + b"\n"]
    for i in range(3):
        data = rng.randbytes(ATTACHMENT_BYTES)
        parts.append(f"--b\nContent-Type: application/octet-stream\nContent-Disposition: "
                     f"attachment; filename=\"part{i}.bin\"\nContent-Transfer-Encoding: "
                     f"base64\n\n".encode() + base64.encodebytes(data))
    return (b"From: Ivan <ivan@example.org>\nTo: support@example.com\nSubject: large\n"
            b"Message-ID: <large@bench>\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=b\n\n" + b"".join(parts) + b"--b--\n")


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 64
    binary = os.path.join(argv[1], "mail2ticket")
    with tempfile.TemporaryDirectory(prefix="m2t-large-") as tmp:
        port_file = os.path.join(tmp, "port")
        desk = subprocess.Popen([sys.executable, SANDBOX, "--quiet", "--port", "0",
                                 "--port-file", port_file, "--identifier", "bench",
                                 "--max-body-mb", "512"],
                                env=dict(os.environ, SANDBOX_DESK_SECRET=SECRET))
        try:
            while not (os.path.exists(port_file) and open(port_file).read().strip()):
                time.sleep(0.05)
            config = os.path.join(tmp, "bench.conf")
            with open(config, "w") as f:
                f.write(f"[desk]\nkind = whmcs\nurl = http://127.0.0.1:"
                        f"{open(port_file).read().strip()}/includes/api.php\n"
                        f"identifier = bench\nsecret = {SECRET}\ndefault_department = 1\n"
                        f"timeout = 600\n[state]\npath = {tmp}/journal.db\n"
                        "[parser]\nmax_attachment_bytes = 64M\nmax_total_bytes = 64M\n")
            os.chmod(config, 0o600)
            raw = large_mail()
            mail = os.path.join(tmp, "large.eml")
            with open(mail, "wb") as f:
                f.write(raw)
            started = time.monotonic()
            with open(mail, "rb") as stdin:
                proc = subprocess.Popen([binary, "--config", config, "-q", "pipe"], stdin=stdin)
                # wait4: the rusage of this child alone, not the desk's.
                _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.monotonic() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                print(f"mail2ticket pipe exited {proc.returncode}", file=sys.stderr)
                return 1
            peak = usage.ru_maxrss / 1024
            print(f"large mail: {len(raw) / 1e6:.1f} MB through pipe into the sandbox desk in "
                  f"{elapsed:.1f} s ({usage.ru_utime + usage.ru_stime:.1f} s of it "
                  f"mail2ticket's CPU, the rest the desk's), peak RSS {peak:.0f} MB")
        finally:
            desk.terminate()
            desk.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
