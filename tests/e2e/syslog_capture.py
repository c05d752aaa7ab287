#!/usr/bin/env python3
"""Run a command with a /dev/log of our own and print what it sent to syslog.

Usage (as root): unshare --mount --propagation private python3 syslog_capture.py CMD...

In the private mount namespace unshare gives, a tmpfs replaces /dev (the machine's own /dev and
syslog daemon are untouched), with the device nodes a program needs bound back and /dev/log a
datagram socket read here. Prints each message received, one per line, to standard output; the
command's standard error is passed through; exits with the command's status."""

import os
import socket
import subprocess
import sys
import tempfile

DEVICES = ["null", "zero", "random", "urandom"]


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def main():
    cmd = sys.argv[1:]
    real = tempfile.mkdtemp(prefix="realdev-")
    mount("--bind", "/dev", real)
    mount("-t", "tmpfs", "tmpfs", "/dev")
    for name in DEVICES:
        open(os.path.join("/dev", name), "w").close()
        mount("--bind", os.path.join(real, name), os.path.join("/dev", name))
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
