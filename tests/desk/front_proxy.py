#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A reverse proxy in front of the sandbox desk, behaving as the proxies, WAFs and web servers
in front of real desks do, for the end-to-end tests of what mail2ticket makes of their answers.

  --refuse-expect   answer "417 Expectation Failed" to a request with "Expect: 100-continue"
                    (libcurl's way for bodies over 1 MB), as some proxies do;
  --basic USER:PASS require HTTP Basic authentication (401 without it), as a proxy guarding a
                    desk does; the Authorization header is not passed on;
  --mode-file FILE  what the next POSTs get, read at each POST: "MODE [COUNT]" (COUNT POSTs,
                    then "pass"), MODE one of
                      pass      forwarded, the desk's answer returned;
                      echo      not forwarded: 200 text/plain with the request's
                                Authorization header (if any) and body echoed, as a
                                misconfigured front or a WAF's error page does;
                      noresult  forwarded (the desk does the work), the answer replaced by
                                {"status":"ok"}: JSON without WHMCS's result.
Every request is logged, as a JSON line (method, path, whether Basic credentials were right,
the Expect header, the answer's status), to --log.

Standard library only."""

import argparse
import base64
import json
import os
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_HEADERS = {"host", "content-length", "connection", "expect", "transfer-encoding",
               "authorization"}


class Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)

    def take_mode(self):
        """The mode for this POST, counting it against the file's COUNT."""
        with self.lock:
            try:
                with open(self.args.mode_file) as f:
                    words = f.read().split()
            except (FileNotFoundError, TypeError):
                return "pass"
            if not words:
                return "pass"
            if len(words) > 1:
                left = int(words[1]) - 1
                with open(self.args.mode_file, "w") as f:
                    f.write(f"{words[0]} {left}" if left > 0 else "pass")
            return words[0]

    def log(self, entry):
        if self.args.log:
            with self.lock, open(self.args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_expect_100(self):
        if not self.server.args.refuse_expect:
            return super().handle_expect_100()
        self.server.log({"method": self.command, "path": self.path, "expect": True,
                         "status": 417})
        self.send_response_only(417)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_GET(self):
        self.serve(None)

    def do_POST(self):
        self.serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def basic_ok(self):
        want = self.server.args.basic
        if not want:
            return None
        given = self.headers.get("Authorization", "")
        return given == "Basic " + base64.b64encode(want.encode()).decode()

    def serve(self, body):
        basic = self.basic_ok()
        mode = self.server.take_mode() if body is not None else "pass"
        if basic is False:
            status, data, ctype = 401, b"<html>401 Authorization Required</html>", "text/html"
        elif mode == "echo":
            auth = self.headers.get("Authorization")
            head = f"Authorization: {auth}\r\n".encode() if auth else b""
            status, data, ctype = 200, head + (body or b""), "text/plain"
        else:
            status, data, ctype = self.forward(body)
            if mode == "noresult":
                status, data, ctype = 200, b'{"status":"ok"}', "application/json"
        self.server.log({"method": self.command, "path": self.path, "basic": basic,
                         "expect": self.headers.get("Expect"), "mode": mode, "status": status})
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def forward(self, body):
        req = urllib.request.Request(self.server.args.upstream + self.path, data=body,
                                     method=self.command)
        for name, value in self.headers.items():
            if name.lower() not in HOP_HEADERS or (name.lower() == "authorization"
                                                   and not self.server.args.basic):
                req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            return err.code, err.read(), err.headers.get("Content-Type", "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--upstream", required=True, help="the desk's base, http://HOST:PORT")
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--mode-file")
    parser.add_argument("--log")
    parser.add_argument("--refuse-expect", action="store_true")
    parser.add_argument("--basic", metavar="USER:PASS")
    proxy = Proxy(parser.parse_args())
    with open(proxy.args.port_file + ".tmp", "w") as f:
        f.write(str(proxy.server_address[1]))
    os.replace(proxy.args.port_file + ".tmp", proxy.args.port_file)
    proxy.serve_forever()


if __name__ == "__main__":
    main()
