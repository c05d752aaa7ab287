#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run a command with a /dev/log of our own and print what it sent to syslog.

Usage (as root): unshare --mount --propagation unchanged python3 syslog_capture.py CMD...

In the mount namespace unshare gives, /dev is made private (so nothing done to it reaches the
machine's own, also where / is not a mount point to make private, as in a chroot), then a tmpfs
replaces it, with the device nodes a program needs made anew and /dev/log a datagram socket read
here. Prints each message received, one per line, to standard output; the command's standard
error is passed through; exits with the command's status."""

import os
import socket
import stat
import subprocess
import sys

DEVICES = {"null": (1, 3), "zero": (1, 5), "random": (1, 8), "urandom": (1, 9)}


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def main():
    cmd = sys.argv[1:]
    mount("--make-rprivate", "/dev")
    mount("-t", "tmpfs", "tmpfs", "/dev")
    for name, (major, minor) in DEVICES.items():
        os.mknod(os.path.join("/dev", name), 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(os.path.join("/dev", name), 0o666)
    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log.bind("/dev/log")
    rc = subprocess.run(cmd).returncode
    log.setblocking(False)
    while True:
        try:
            print(log.recv(65536).decode("utf-8", "replace"))
        except BlockingIOError:
            break
    sys.exit(rc)


if __name__ == "__main__":
    main()
