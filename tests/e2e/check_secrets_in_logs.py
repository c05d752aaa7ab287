#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The logs of a whole test run hold none of the secrets the tests used.

Usage: check_secrets_in_logs.py LOG_DIR [FILE...]

LOG_DIR holds what every end-to-end test case's mail2ticket runs printed (harness.keep_logs);
the FILEs are more logs to read, such as ctest's own Testing/Temporary/LastTest.log. Run by
ctest after every test that keeps logs (a fixture cleanup)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SECRETS  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    paths = []
    for root, _, names in os.walk(sys.argv[1]):
        paths += [os.path.join(root, name) for name in sorted(names)]
    paths += [p for p in sys.argv[2:] if os.path.exists(p)]
    found = []
    lines = 0
    for path in paths:
        with open(path, errors="replace") as f:
            for number, line in enumerate(f, 1):
                lines += 1
                found += [(path, number, s) for s in SECRETS if s in line]
    for path, number, secret in found:
        print(f"{path}:{number}: holds the test secret {secret!r}")
    print(f"read {len(paths)} log files, {lines} lines, for {len(SECRETS)} secrets: "
          f"{len(found)} found")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
