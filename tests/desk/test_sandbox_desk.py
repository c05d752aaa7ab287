#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests for the sandbox desk, run as a real subprocess over real HTTP.

The end-to-end tests of mail2ticket trust what the sandbox stores and
answers, so these tests pin both: the WHMCS wire behaviour a C client sees,
and the /_sandbox/ view the end-to-end tests read back.

Run from the project root:
    python3 -m unittest tests/desk/test_sandbox_desk.py
    python3 tests/desk/test_sandbox_desk.py
"""

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVER = HERE / "sandbox_desk.py"
LIST_TICKETS = HERE / "list_tickets.py"
IDENTIFIER = "sandbox-identifier"
SECRET = "sandbox-secret"
AUTH = {"identifier": IDENTIFIER, "secret": SECRET, "responsetype": "json"}
GUEST = {"name": "Bob Guest", "email": "bob@guest.example"}


class DeskProcess:
    """One sandbox desk subprocess on a free loopback port."""

    def __init__(self, workdir, *extra_args):
        self.port_file = os.path.join(workdir, f"port-{time.monotonic_ns()}")
        self.stderr = open(os.path.join(workdir, "desk-stderr.log"), "ab")
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", "0", "--port-file", self.port_file,
             "--quiet", *extra_args],
            stdout=subprocess.PIPE, stderr=self.stderr)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("sandbox desk did not start")
            time.sleep(0.02)
        with open(self.port_file) as stream:
            self.port = int(stream.read())
        self.url = f"http://127.0.0.1:{self.port}"
        self.banner = self.process.stdout.readline().decode()

    def stop(self):
        """SIGTERM and wait; returns the exit status (0 for a clean exit)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=10)
        self.process.stdout.close()
        self.stderr.close()
        return status


def post(url, fields, *, timeout=5, multipart=False):
    """POST form fields; returns (HTTP status, headers, body bytes) even for 4xx/5xx."""
    if multipart:
        body, content_type = encode_multipart(fields)
    else:
        body = urllib.parse.urlencode(fields).encode()
        content_type = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    return open_url(request, timeout)


def open_url(request, timeout=5):
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def encode_multipart(fields):
    boundary = "----sandbox-test-boundary-7MA4YWxkTrZu0gW"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     .encode() + str(value).encode() + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def php_serialize(mapping):
    """PHP serialize() of an int => string array (lengths in UTF-8 bytes)."""
    items = "".join(f'i:{key};s:{len(value.encode())}:"{value}";'
                    for key, value in mapping.items())
    return f"a:{len(mapping)}:{{{items}}}"


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def attachments_param(files):
    return b64(json.dumps([{"name": name, "data": b64(data)} for name, data in files]))


class SandboxDeskTest(unittest.TestCase):
    """Most tests share one desk, reset before each test."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.TemporaryDirectory()
        cls.desk = DeskProcess(cls.workdir.name)
        cls.api_url = cls.desk.url + "/includes/api.php"

    @classmethod
    def tearDownClass(cls):
        status = cls.desk.stop()
        cls.workdir.cleanup()
        assert status == 0, f"sandbox desk exited with {status}"

    def setUp(self):
        self.control("POST", "reset")

    # -- helpers -----------------------------------------------------------

    def control(self, method, name, payload=None, expect=200):
        data = None if payload is None else json.dumps(payload).encode()
        if method == "POST" and data is None:
            data = b""
        request = urllib.request.Request(f"{self.desk.url}/_sandbox/{name}", data=data,
                                         method=method)
        status, _, body = open_url(request)
        self.assertEqual(status, expect, body)
        return json.loads(body)

    def call(self, action, *, auth=AUTH, timeout=5, multipart=False, **fields):
        """An API call expected to answer HTTP 200 with JSON; returns the JSON."""
        status, _, body = post(self.api_url, {**auth, "action": action, **fields},
                               timeout=timeout, multipart=multipart)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def open_ticket(self, **fields):
        answer = self.call("OpenTicket", **{"deptid": "1", "subject": "Printer on fire",
                                            "message": "Please help.", **GUEST, **fields})
        self.assertEqual(answer["result"], "success", answer)
        return answer

    def tickets(self):
        return self.control("GET", "tickets")["tickets"]

    def wait_for_call(self, fault_mode, timeout=5):
        """Until the desk has logged a call hit by `fault_mode`, i.e. finished it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(c["fault"] == fault_mode for c in self.control("GET", "calls")["calls"]):
                return
            time.sleep(0.05)
        self.fail(f"no call with fault {fault_mode} was logged")

    # -- startup and transport ---------------------------------------------

    def test_banner_and_health(self):
        self.assertEqual(self.desk.banner.strip(),
                         f"sandbox desk listening on http://127.0.0.1:{self.desk.port}")
        self.assertEqual(self.control("GET", "health"), {"ok": True})

    def test_get_on_the_api_is_405_and_unknown_paths_are_404(self):
        for path, want in (("/includes/api.php", 405), ("/api/v2/keliweb/get-ticket", 405),
                           ("/nowhere", 404), ("/_sandbox/nothing", 404)):
            with self.subTest(path=path):
                status, _, body = open_url(urllib.request.Request(self.desk.url + path))
                self.assertEqual(status, want)
                json.loads(body)

    def test_unsupported_content_type_is_400(self):
        request = urllib.request.Request(self.api_url, data=json.dumps(AUTH).encode(),
                                         headers={"Content-Type": "application/json"})
        status, _, _ = open_url(request)
        self.assertEqual(status, 400)

    # -- authentication and dispatch ----------------------------------------

    def test_wrong_or_missing_credentials_are_403(self):
        cases = {
            "wrong secret": {"identifier": IDENTIFIER, "secret": "nope"},
            "wrong identifier": {"identifier": "nope", "secret": SECRET},
            "none": {},
            "wrong password": {"username": IDENTIFIER, "password": "nope"},
        }
        for label, credentials in cases.items():
            with self.subTest(label):
                status, _, body = post(self.api_url, {**credentials, "responsetype": "json",
                                                      "action": "GetSupportDepartments"})
                self.assertEqual(status, 403)
                self.assertEqual(json.loads(body),
                                 {"result": "error", "message": "Authentication Failed"})
        self.assertEqual(self.tickets(), [])

    def test_legacy_username_password_plain_and_md5(self):
        for password in (SECRET, hashlib.md5(SECRET.encode()).hexdigest()):
            with self.subTest(password=password):
                answer = self.call("GetSupportDepartments",
                                   auth={"username": IDENTIFIER, "password": password,
                                         "accesskey": "ignored", "responsetype": "json"})
                self.assertEqual(answer["result"], "success")

    def test_action_is_case_insensitive_and_unknown_is_command_not_found(self):
        self.assertEqual(self.call("getsupportdepartments")["result"], "success")
        self.assertEqual(self.call("FlyToTheMoon"),
                         {"result": "error", "message": "Command Not Found"})

    def test_calls_log_redacts_secrets_and_file_contents(self):
        self.open_ticket(attachments=attachments_param([("a.txt", b"hello")]))
        post(self.api_url, {"username": IDENTIFIER, "password": "wrong", "action": "GetTicket"})
        calls = self.control("GET", "calls")["calls"]
        self.assertEqual([(c["action"], c["http_status"], c["result"]) for c in calls],
                         [("OpenTicket", 200, "success"), ("GetTicket", 403, "error")])
        self.assertEqual(calls[0]["params"]["secret"], "REDACTED")
        self.assertEqual(calls[0]["params"]["attachments"], [{"name": "a.txt", "size": 5}])
        self.assertEqual(calls[1]["params"]["password"], "REDACTED")
        self.assertNotIn(SECRET, json.dumps(calls))

    # -- OpenTicket ----------------------------------------------------------

    def test_open_ticket_validation_errors(self):
        base = {"deptid": "1", "subject": "S", "message": "M", **GUEST}
        cases = [
            ({"deptid": ""}, "Department ID not found"),
            ({"deptid": "99"}, "Department ID not found"),
            ({"subject": ""}, "Subject is Required"),
            ({"message": ""}, "Message is Required"),
            ({"name": ""}, "Name and email address are required if not a client"),
            ({"email": ""}, "Name and email address are required if not a client"),
            ({"clientid": "0", "email": ""},
             "Name and email address are required if not a client"),
            ({"email": "not-an-address"}, "Email Address Invalid"),
            ({"priority": "Urgent"}, "Invalid Priority. Valid priorities are: Low, Medium, High"),
            ({"clientid": "99"}, "Client ID Not Found"),
            ({"clientid": "2", "contactid": "1"}, "Contact ID Not Found"),
            ({"created": "yesterday"}, "Invalid Date Format"),
            ({"customfields": "not base64!"}, "Invalid Custom Fields"),
            ({"customfields": b64('a:1:{i:3;s:6:"Zürich";}')}, "Invalid Custom Fields"),
            ({"customfields": b64("a:2:{i:3;s:1:\"x\";}")}, "Invalid Custom Fields"),
            ({"attachments": b64("{}")}, "Invalid attachments data"),
            ({"attachments": b64('[{"name": "a.txt", "data": "%%%"}]')},
             "Invalid attachments data"),
        ]
        for change, message in cases:
            with self.subTest(change=change):
                self.assertEqual(self.call("OpenTicket", **{**base, **change}),
                                 {"result": "error", "message": message})
        self.assertEqual(self.tickets(), [])

    def test_open_ticket_success(self):
        answer = self.open_ticket(priority="High", cc="a@x.example, b@x.example",
                                  markdown="true", noemail="1")
        self.assertEqual(set(answer), {"result", "id", "tid", "c"})
        self.assertEqual(answer["id"], "1")
        self.assertRegex(answer["tid"], r"^[1-9][0-9]{5}$")
        self.assertRegex(answer["c"], r"^[A-Za-z0-9]{8}$")
        second = self.open_ticket()
        self.assertEqual(second["id"], "2")
        self.assertNotEqual(second["tid"], answer["tid"])

        [ticket, _] = self.tickets()
        self.assertEqual((ticket["tid"], ticket["c"], ticket["status"], ticket["priority"],
                          ticket["deptname"], ticket["cc"], ticket["markdown"],
                          ticket["noemail"], ticket["created_param"]),
                         (answer["tid"], answer["c"], "Open", "High", "Support",
                          "a@x.example,b@x.example", True, True, None))
        self.assertEqual(ticket["messages"][0]["message"], "Please help.")

    def test_tid_and_c_are_reproducible_with_the_seed(self):
        first = self.open_ticket()
        self.control("POST", "reset")
        self.assertEqual(self.open_ticket(), first)

    def test_open_ticket_for_client_and_contact(self):
        self.open_ticket(clientid="2", name="", email="")
        self.open_ticket(clientid="1", contactid="1")
        acme, contact = self.tickets()
        self.assertEqual((acme["clientid"], acme["name"], acme["email"]),
                         (2, "Wile Coyote (Acme Ltd)", "wile@acme.example"))
        self.assertEqual((contact["clientid"], contact["contactid"], contact["email"]),
                         (1, 1, "sam@example.com"))
        ticket = self.call("GetTicket", ticketid="2")
        self.assertEqual((ticket["userid"], ticket["name"], ticket["email"]),
                         ("1", "Cynthia Reilly", "cynthia@example.com"))
        self.assertEqual(ticket["replies"]["reply"][0]["name"], "Sam Reilly")

    def test_created_date_formats(self):
        self.open_ticket(created="2016-01-01 06:26:29")
        self.open_ticket(created="2016-01-02T07:08:09")
        first, second = self.tickets()
        self.assertEqual((first["date"], first["created_param"]),
                         ("2016-01-01 06:26:29", "2016-01-01 06:26:29"))
        self.assertEqual(second["date"], "2016-01-02 07:08:09")
        self.assertEqual(second["lastreply"], "2016-01-02 07:08:09")

    def test_attachments_and_customfields_round_trip(self):
        serialized = php_serialize({3: "Zürich", 12: "x"})
        self.assertTrue(serialized.startswith('a:2:{i:3;s:7:"Zürich";'))
        files = [("report.pdf", bytes(range(256)) * 3), ("empty.txt", b"")]
        answer = self.open_ticket(customfields=b64(serialized),
                                  attachments=attachments_param(files))
        [ticket] = self.tickets()
        self.assertEqual(ticket["customfields"], {"3": "Zürich", "12": "x"})
        stored = ticket["messages"][0]["attachments"]
        self.assertEqual([(a["name"], a["size"], a["sha256"], base64.b64decode(a["data_b64"]))
                          for a in stored],
                         [(name, len(data), hashlib.sha256(data).hexdigest(), data)
                          for name, data in files])
        fetched = self.call("GetTicket", ticketnum=answer["tid"])
        self.assertEqual(fetched["replies"]["reply"][0]["attachment"], "report.pdf|empty.txt")

    def test_customfields_exact_php_form(self):
        self.assertEqual(php_serialize({3: "Zürich"}), 'a:1:{i:3;s:7:"Zürich";}')
        self.open_ticket(customfields=b64('a:1:{i:3;s:7:"Zürich";}'))
        self.assertEqual(self.tickets()[0]["customfields"], {"3": "Zürich"})

    def test_multipart_form_data_is_accepted(self):
        subject = "Ünïcode / multipart"
        message = "line one\r\nline two\n\nlast line"
        answer = self.call("OpenTicket", multipart=True, deptid="2", subject=subject,
                           message=message, attachments=attachments_param([("a.bin", b"\0\1")]),
                           **GUEST)
        self.assertEqual(answer["result"], "success", answer)
        [ticket] = self.tickets()
        self.assertEqual((ticket["subject"], ticket["messages"][0]["message"]),
                         (subject, message))
        self.assertEqual(ticket["messages"][0]["attachments"][0]["size"], 2)

    def test_answers_are_encoded_like_php(self):
        self.open_ticket(subject="Zürich / Wien")
        status, headers, body = post(self.api_url, {**AUTH, "action": "GetTicket",
                                                    "ticketid": "1"})
        self.assertIn(rb'"subject":"Z\u00fcrich \/ Wien"', body)
        self.assertTrue(headers["Content-Type"].startswith("application/json"))

    # -- reading tickets -----------------------------------------------------

    def test_get_ticket_by_number_and_id(self):
        answer = self.open_ticket(subject="Hello")
        by_tid = self.call("GetTicket", ticketnum=answer["tid"])
        by_id = self.call("GetTicket", ticketid=answer["id"])
        self.assertEqual(by_tid, by_id)
        self.assertEqual((by_tid["ticketid"], by_tid["tid"], by_tid["c"], by_tid["deptid"],
                          by_tid["deptname"], by_tid["userid"], by_tid["name"],
                          by_tid["status"], by_tid["priority"], by_tid["flag"]),
                         ("1", answer["tid"], answer["c"], "1", "Support", "0",
                          "Bob Guest", "Open", "Medium", "0"))
        [opening] = by_tid["replies"]["reply"]
        self.assertEqual((opening["replyid"], opening["message"], opening["email"]),
                         ("0", "Please help.", "bob@guest.example"))
        self.assertEqual(by_tid["notes"], {"note": []})
        for params in ({"ticketnum": "000000"}, {"ticketid": "99"}, {}):
            with self.subTest(params=params):
                self.assertEqual(self.call("GetTicket", **params),
                                 {"result": "error", "message": "Ticket ID Not Found"})

    def test_get_ticket_gives_messages_back_through_strip_tags(self):
        """As WHMCS 7 does; the store keeps what was sent."""
        text = "John <john@example.com> wrote:\n> see <https://example.com/a>\na < b"
        answer = self.open_ticket(message=text)
        self.call("AddTicketReply", ticketid=answer["id"], message="<p>Re</p>: x <y", **GUEST)
        replies = self.call("GetTicket", ticketid=answer["id"])["replies"]["reply"]
        self.assertEqual([r["message"] for r in replies],
                         ["John  wrote:\n> see \na < b", "Re: x "])
        self.assertEqual([m["message"] for m in self.tickets()[0]["messages"]],
                         [text, "<p>Re</p>: x <y"])

    def test_get_tickets_filters_and_empty_result(self):
        self.open_ticket(subject="Invoice question", email="Ann@Example.com", name="Ann")
        self.open_ticket(subject="Another INVOICE", email="ann@example.com", name="Ann")
        self.open_ticket(subject="Invoice, but someone else")
        found = self.call("GetTickets", email="ANN@example.com", subject="invoice")
        self.assertEqual((found["totalresults"], found["startnumber"], found["numreturned"]),
                         ("2", 0, 2))
        self.assertEqual([t["id"] for t in found["tickets"]["ticket"]], ["2", "1"])
        self.assertEqual(found["tickets"]["ticket"][0]["requestor_type"], "Guest")

        page = self.call("GetTickets", limitstart="1", limitnum="1")
        self.assertEqual((page["totalresults"], page["startnumber"], page["numreturned"]),
                         ("3", 1, 1))
        self.assertEqual(page["tickets"]["ticket"][0]["id"], "2")

        none = self.call("GetTickets", email="nobody@example.com")
        self.assertEqual(none, {"result": "success", "totalresults": "0",
                                "startnumber": 0, "numreturned": 0})

    def test_get_tickets_status_groups(self):
        for _ in range(3):
            self.open_ticket()
        self.call("UpdateTicket", ticketid="1", status="Closed")
        self.call("UpdateTicket", ticketid="2", status="Answered")
        count = lambda status: self.call("GetTickets", status=status)["totalresults"]
        self.assertEqual([count(s) for s in ("All Active Tickets", "Awaiting Reply", "Closed")],
                         ["2", "1", "1"])

    # -- changing tickets ----------------------------------------------------

    def test_add_ticket_reply(self):
        self.open_ticket()
        self.assertEqual(self.call("AddTicketReply", ticketid="1", message="More info",
                                   attachments=attachments_param([("log.txt", b"x")]),
                                   created="2030-05-06 07:08:09", **GUEST),
                         {"result": "success"})
        ticket = self.tickets()[0]
        self.assertEqual((ticket["status"], ticket["lastreply"]),
                         ("Customer-Reply", "2030-05-06 07:08:09"))
        reply = ticket["messages"][1]
        self.assertEqual((reply["replyid"], reply["message"], reply["attachments"][0]["name"]),
                         (1, "More info", "log.txt"))

        self.call("AddTicketReply", ticketid="1", message="Fixed", adminusername="alice")
        self.assertEqual(self.tickets()[0]["status"], "Answered")
        self.call("AddTicketReply", ticketid="1", message="Thanks", clientid="1",
                  status="Closed")
        self.assertEqual(self.tickets()[0]["status"], "Closed")

        newest_first = self.call("GetTicket", ticketid="1", repliessort="DESC")
        self.assertEqual([r["replyid"] for r in newest_first["replies"]["reply"]],
                         ["3", "2", "1", "0"])
        self.assertEqual(newest_first["replies"]["reply"][1]["admin"], "alice")

        errors = [
            ({"ticketid": "99", "message": "x", **GUEST}, "Ticket ID Not Found"),
            ({"ticketid": "1", "message": "", **GUEST}, "Message is Required"),
            ({"ticketid": "1", "message": "x"},
             "Name and email address are required if not a client"),
            ({"ticketid": "1", "message": "x", "status": "Bogus", **GUEST},
             "Invalid Ticket Status"),
        ]
        for params, message in errors:
            with self.subTest(params=params):
                self.assertEqual(self.call("AddTicketReply", **params),
                                 {"result": "error", "message": message})

    def test_note_and_update(self):
        self.open_ticket()
        self.assertEqual(self.call("AddTicketNote", ticketid="1", message="internal"),
                         {"result": "success"})
        self.assertEqual(self.call("UpdateTicket", ticketid="1", status="closed"),
                         {"result": "success", "ticketid": "1"})
        ticket = self.call("GetTicket", ticketid="1")
        self.assertEqual(ticket["status"], "Closed")
        self.assertEqual(ticket["notes"]["note"][0]["message"], "internal")

    # -- reference data ------------------------------------------------------

    def test_departments_statuses_clients_contacts(self):
        self.open_ticket(deptid="2")
        departments = self.call("GetSupportDepartments")
        self.assertEqual(departments["totalresults"], "3")
        self.assertEqual(departments["departments"]["department"][1],
                         {"id": "2", "name": "Billing", "awaitingreply": "1",
                          "opentickets": "1"})
        statuses = self.call("GetSupportStatuses")["statuses"]["status"]
        self.assertEqual([s["title"] for s in statuses],
                         ["Open", "Answered", "Customer-Reply", "Closed", "On Hold",
                          "In Progress"])
        self.assertEqual(statuses[0]["count"], "1")
        clients = self.call("GetClients", search="cynthia@")
        self.assertEqual((clients["totalresults"], clients["numreturned"]), ("1", 1))
        self.assertEqual(clients["clients"]["client"][0]["id"], "1")
        self.assertEqual(self.call("GetClients", search="acme")["clients"]["client"][0]["id"],
                         "2")
        self.assertNotIn("clients", self.call("GetClients", search="nobody"))
        contacts = self.call("GetContacts", userid="1")["contacts"]["contact"]
        self.assertEqual(contacts, [{"id": "1", "userid": "1", "firstname": "Sam",
                                     "lastname": "Reilly", "email": "sam@example.com"}])

    def test_contacts_added_paged_and_found_by_email(self):
        added = self.control("POST", "contacts", [{"userid": 2, "email": f"c{i}@acme.example"}
                                                  for i in range(1, 31)])["contacts"]
        self.assertEqual([c["id"] for c in added], list(range(2, 32)))
        page = self.call("GetContacts", userid="2")
        self.assertEqual((page["totalresults"], page["numreturned"]), ("30", 25))
        found = self.call("GetContacts", userid="2", email="C30@Acme.example")
        self.assertEqual([c["email"] for c in found["contacts"]["contact"]], ["c30@acme.example"])
        self.assertNotIn("contacts", self.call("GetContacts", userid="1",
                                               email="c30@acme.example"))
        for bad in ({"userid": 9, "email": "a@b.example"}, {"userid": 2, "email": "nope"}, 7):
            self.control("POST", "contacts", bad, expect=400)
        self.control("POST", "reset")
        self.assertEqual(self.call("GetContacts", userid="2")["totalresults"], "0")

    # -- faults --------------------------------------------------------------

    def test_fault_http500_and_http503(self):
        for mode, status in (("http500", 500), ("http503", 503)):
            with self.subTest(mode=mode):
                self.control("POST", "fault", {"mode": mode, "count": 1})
                code, headers, body = post(self.api_url, {**AUTH, "action": "OpenTicket",
                                                          "deptid": "1", "subject": "s",
                                                          "message": "m", **GUEST})
                self.assertEqual(code, status)
                self.assertIn(b"<html>", body)
                self.assertEqual(headers.get("Retry-After"), "30" if status == 503 else None)
        self.assertEqual(self.tickets(), [])

    def test_fault_error_with_default_and_custom_message(self):
        self.control("POST", "fault", {"mode": "error", "count": 1})
        self.assertEqual(self.call("GetSupportDepartments"),
                         {"result": "error", "message": "Sandbox says no"})
        self.control("POST", "fault", {"mode": "error", "message": "Desk on holiday"})
        self.assertEqual(self.call("OpenTicket", deptid="1", subject="s", message="m", **GUEST),
                         {"result": "error", "message": "Desk on holiday"})
        self.assertEqual(self.tickets(), [])

    def test_fault_badjson(self):
        self.control("POST", "fault", {"mode": "badjson"})
        status, _, body = post(self.api_url, {**AUTH, "action": "OpenTicket", "deptid": "1",
                                              "subject": "s", "message": "m", **GUEST})
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith(b"<br />"))
        with self.assertRaises(ValueError):
            json.loads(body)
        self.assertEqual(self.tickets(), [])

    def test_fault_auth(self):
        self.control("POST", "fault", {"mode": "auth", "count": 1})
        status, _, body = post(self.api_url, {**AUTH, "action": "GetSupportDepartments"})
        self.assertEqual((status, json.loads(body)["message"]), (403, "Authentication Failed"))

    def test_fault_slow_creates_only_after_the_delay(self):
        self.control("POST", "fault", {"mode": "slow", "delay": 1, "count": 1})
        with self.assertRaises(TimeoutError):
            self.call("OpenTicket", timeout=0.4, deptid="1", subject="s", message="m", **GUEST)
        self.assertEqual(self.tickets(), [], "ticket created before the delay")
        self.wait_for_call("slow")
        self.assertEqual(len(self.tickets()), 1)

    def test_fault_slow_after_create_stores_first(self):
        self.control("POST", "fault", {"mode": "slow_after_create", "delay": 1, "count": 1})
        with self.assertRaises(TimeoutError):
            self.call("OpenTicket", timeout=0.4, deptid="1", subject="s", message="m", **GUEST)
        self.assertEqual(len(self.tickets()), 1, "ticket must exist although no answer came")

    def test_slow_request_does_not_block_others(self):
        self.control("POST", "fault", {"mode": "slow", "delay": 1, "count": 1,
                                       "actions": ["GetSupportStatuses"]})
        slow = threading.Thread(target=post, args=(self.api_url, {
            **AUTH, "action": "GetSupportStatuses"}))
        slow.start()
        time.sleep(0.1)
        started = time.monotonic()
        self.assertEqual(self.call("GetSupportDepartments")["result"], "success")
        self.assertLess(time.monotonic() - started, 0.5)
        slow.join()

    def test_fault_count_and_actions(self):
        fault = self.control("POST", "fault", {"mode": "error", "count": 2,
                                               "actions": ["openticket"]})["fault"]
        self.assertEqual((fault["mode"], fault["count"], fault["actions"]),
                         ("error", 2, ["openticket"]))
        self.assertEqual(self.call("GetSupportDepartments")["result"], "success")
        for remaining in (1, None):
            self.assertEqual(self.call("OpenTicket", deptid="1", subject="s", message="m",
                                       **GUEST)["result"], "error")
            current = self.control("GET", "fault")["fault"]
            self.assertEqual(current and current["count"], remaining)
        self.open_ticket()
        self.assertEqual(len(self.tickets()), 1)

    def test_fault_none_and_invalid_specs(self):
        self.control("POST", "fault", {"mode": "http500"})
        self.control("POST", "fault", {"mode": "none"})
        self.assertEqual(self.control("GET", "fault"), {"fault": None})
        for spec in ({"mode": "explode"}, {"mode": "error", "count": 0},
                     {"mode": "slow", "delay": "long"}, {"mode": "error", "actions": "x"}):
            with self.subTest(spec=spec):
                self.control("POST", "fault", spec, expect=400)
        self.control("POST", "fault", {"mode": "http500"})
        self.control("POST", "reset")
        self.assertEqual(self.control("GET", "fault"), {"fault": None})

    # -- list_tickets.py -----------------------------------------------------

    def test_list_tickets_script(self):
        self.open_ticket(subject="A very long subject " * 5,
                         attachments=attachments_param([("a", b"1"), ("b", b"2")]))
        self.call("AddTicketReply", ticketid="1", message="again", **GUEST)
        result = subprocess.run([sys.executable, str(LIST_TICKETS), self.desk.url],
                                capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 0, result.stderr)
        header, row = result.stdout.splitlines()
        self.assertTrue(header.startswith("ID"))
        self.assertRegex(row, r"^1\s+\d{6}\s+1 Support\s+Medium\s+A very long subject.{20,40}"
                              r"\.\.\.\s+2\s+2\s+bob@guest\.example$")

    def test_list_tickets_unreachable_desk(self):
        result = subprocess.run([sys.executable, str(LIST_TICKETS), "http://127.0.0.1:9"],
                                capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot read tickets", result.stderr)


class ThuliumModeTest(unittest.TestCase):
    """The Thulium mode speaks only what Thulium's pages document."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.TemporaryDirectory()
        cls.desk = DeskProcess(cls.workdir.name)
        token = base64.b64encode(f"{IDENTIFIER}:{SECRET}".encode()).decode()
        cls.auth = {"Authorization": f"Basic {token}"}

    @classmethod
    def tearDownClass(cls):
        status = cls.desk.stop()
        cls.workdir.cleanup()
        assert status == 0, f"sandbox desk exited with {status}"

    def call(self, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(self.desk.url + "/api/" + path, data=data,
                                         headers={**self.auth, "Content-Type": content_type})
        return open_url(request)

    def test_a_ticket_with_a_file_and_a_customer_response(self):
        status, _, body = self.call("temporary_files?filename=a%20b.txt", b"\x00\x01data",
                                    "application/octet-stream")
        self.assertEqual(status, 200, body)
        upload = json.loads(body)
        self.assertEqual((upload["filename"], upload["size"]), ("a b.txt", 6))
        status, _, body = self.call("tickets", {
            "to": "support@desk.example", "from": "ann@example.org", "subject": "Hi",
            "body": "Text", "attachments": [upload["token"]], "cc": ["bob@example.org"]})
        self.assertEqual(status, 200, body)
        ticket_id = json.loads(body)["ticket_id"]
        status, _, body = self.call(f"tickets/{ticket_id}/customer_response",
                                    {"body": "More", "body_type": "PLAIN",
                                     "date": "2026-03-05 10:00"})
        self.assertEqual((status, body), (200, b""))
        status, _, body = self.call(f"tickets/{ticket_id}/customer_response",
                                    {"body": "Later", "body_type": "PLAIN"})
        self.assertEqual((status, body), (200, b""))
        status, _, body = self.call(f"tickets/{ticket_id}")
        ticket = json.loads(body)
        self.assertEqual(ticket["ticket_queue_id"], 1)
        # Newest first, the desk's comment among them; "More" was dated in March.
        self.assertEqual([(m["type"], m["body"], m["system_comment"])
                          for m in ticket["messages"]],
                         [("MAIL", "Later", ""), ("COMMENT", "", "Ticket created"),
                          ("MAIL", "Text", ""), ("MAIL", "More", "")])
        self.assertEqual(ticket["messages"][2]["attachments"], [{"filename": "a b.txt",
                                                                 "size": 6}])

    def test_what_the_pages_do_not_list_is_refused(self):
        base = {"to": "support@desk.example", "subject": "Hi", "body": "Text"}
        for body, message in (
                ({**base, "queue_id": 1}, "unknown field: queue_id"),
                ({**base, "customer_email": "a@b"}, "unknown field: customer_email"),
                ({"subject": "Hi", "body": "Text"}, "to is required"),
                ({**base, "to": "nobody@desk.example"}, "no mailbox nobody@desk.example"),
                ({**base, "attachments": ["forged"]}, "unknown attachment token")):
            status, _, answer = self.call("tickets", body)
            self.assertEqual((status, json.loads(answer)["error"]), (400, message))
        status, _, body = self.call("tickets", base)
        ticket_id = json.loads(body)["ticket_id"]
        for body, message in (({"body": "x", "attachments": []}, "unknown field: attachments"),
                              ({"body": "x", "date": "2026-03-05T10:00"},
                               "date is YYYY-MM-DD HH:MM")):
            status, _, answer = self.call(f"tickets/{ticket_id}/customer_response", body)
            self.assertEqual((status, json.loads(answer)["error"]), (400, message))
        for path in (f"tickets/{ticket_id}/customer_responses", "ticket_queues"):
            status, _, _ = self.call(path, {"body": "x"})
            self.assertEqual(status, 404, path)


class KeliwebModeTest(unittest.TestCase):
    """Keliweb's login, its tokens and the checks of its API calls."""

    LIFETIME = 2

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.TemporaryDirectory()
        cls.desk = DeskProcess(cls.workdir.name, "--client-id", "kid", "--client-secret", "ksec",
                               "--username", "me@example.com", "--password", "pw",
                               "--token-lifetime", str(cls.LIFETIME))
        cls.ajax = {"X-Requested-With": "XMLHttpRequest", "Accept": "application/json"}

    def setUp(self):
        open_url(urllib.request.Request(self.desk.url + "/_sandbox/reset", data=b""))

    @classmethod
    def tearDownClass(cls):
        status = cls.desk.stop()
        cls.workdir.cleanup()
        assert status == 0, f"sandbox desk exited with {status}"

    def login(self, multipart=False, **changes):
        fields = {"grant_type": "password", "client_id": "kid", "client_secret": "ksec",
                  "username": "me@example.com", "password": "pw", **changes}
        if multipart:
            body, content_type = encode_multipart(fields)
        else:
            body = urllib.parse.urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.desk.url + "/oauth/token", data=body,
                                         headers={**self.ajax, "Content-Type": content_type})
        status, _, answer = open_url(request)
        return status, json.loads(answer)

    def call(self, endpoint, token, headers=None, **fields):
        body, content_type = encode_multipart(fields)
        request = urllib.request.Request(
            f"{self.desk.url}/api/v2/keliweb/{endpoint}", data=body,
            headers={**(self.ajax if headers is None else headers),
                     "Content-Type": content_type, "Authorization": f"Bearer {token}"})
        status, _, answer = open_url(request)
        return status, json.loads(answer) if answer else None

    def test_a_token_from_the_login_works_until_it_expires(self):
        for multipart in (False, True):
            status, answer = self.login(multipart)
            self.assertEqual(status, 200, answer)
            self.assertEqual((answer["token_type"], answer["expires_in"]),
                             ("Bearer", self.LIFETIME))
            self.assertIn("refresh_token", answer)
        status, answer = self.call("get-support-departments", answer["access_token"])
        self.assertEqual((status, answer["result"]), (200, "success"))
        status, answer = self.call("get-support-departments", "sandbox-secret")
        self.assertEqual((status, answer["result"]), (200, "success"))  # the static token
        for token in ("made-up", ""):
            self.assertEqual(self.call("get-support-departments", token),
                             (401, {"message": "Unauthenticated."}))
        _, answer = self.login()
        time.sleep(self.LIFETIME + 0.2)
        self.assertEqual(self.call("get-support-departments", answer["access_token"]),
                         (401, {"message": "Unauthenticated."}))
        # Without the headers that make Laravel answer JSON, a refusal is a redirect.
        class Stay(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args):
                return None

        body, content_type = encode_multipart({})
        request = urllib.request.Request(
            f"{self.desk.url}/api/v2/keliweb/get-ticket", data=body,
            headers={"Content-Type": content_type, "Authorization": "Bearer made-up"})
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.build_opener(Stay).open(request, timeout=5)
        with caught.exception as answer:
            self.assertEqual((answer.code, answer.headers["Location"]), (302, "/login"))
        calls = [(c["action"], c["auth"]) for c in
                 json.loads(open_url(urllib.request.Request(
                     self.desk.url + "/_sandbox/calls"))[2])["calls"]]
        self.assertEqual(calls[:4], [("token", None), ("token", None),
                                     ("GetSupportDepartments", "token"),
                                     ("GetSupportDepartments", "static")])

    def test_refused_logins(self):
        for changes, status, error in (
                ({"password": "wrong"}, 400, "invalid_grant"),
                ({"username": "other@example.com"}, 400, "invalid_grant"),
                ({"client_secret": "wrong"}, 401, "invalid_client"),
                ({"client_id": "other"}, 401, "invalid_client"),
                ({"grant_type": "refresh_token"}, 400, "unsupported_grant_type"),
                ({"password": ""}, 400, "invalid_request")):
            got, answer = self.login(**changes)
            self.assertEqual((got, answer["error"]), (status, error), changes)
            self.assertTrue(answer["message"])
        calls = json.loads(open_url(urllib.request.Request(
            self.desk.url + "/_sandbox/calls"))[2])["calls"]
        self.assertTrue(all(c["params"].get("client_secret") == "REDACTED" for c in calls
                            if c["action"] == "token"))

    def test_a_flag_must_be_0_or_1(self):
        _, answer = self.login()
        token = answer["access_token"]
        fields = {"deptid": "1", "subject": "Hi", "message": "Text", **GUEST}
        for value, status in (("true", 422), ("yes", 422), ("1", 200), ("0", 200), ("", 200)):
            got, answer = self.call("open-ticket", token, markdown=value, **fields)
            self.assertEqual(got, status, answer)
        self.assertEqual(answer and self.call("get-tickets", token,
                                              ignore_dept_assignments="true")[0], 422)


class StatePersistenceTest(unittest.TestCase):
    """--state keeps tickets across a restart, and the secret can come from the env."""

    def test_tickets_survive_restart(self):
        with tempfile.TemporaryDirectory() as workdir:
            state = os.path.join(workdir, "desk.json")
            os.environ["SANDBOX_DESK_SECRET"] = "from-env"
            try:
                desk = DeskProcess(workdir, "--state", state, "--secret", "ignored")
            finally:
                del os.environ["SANDBOX_DESK_SECRET"]
            auth = {"identifier": IDENTIFIER, "secret": "from-env", "responsetype": "json"}
            url = desk.url + "/includes/api.php"
            try:
                _, _, body = post(url, {**auth, "action": "OpenTicket", "deptid": "1",
                                        "subject": "Persist me", "message": "m", **GUEST})
                first = json.loads(body)
                self.assertEqual(first["result"], "success")
            finally:
                self.assertEqual(desk.stop(), 0)
            self.assertFalse(os.path.exists(desk.port_file), "port file left behind")

            desk = DeskProcess(workdir, "--state", state, "--secret", "from-env")
            try:
                url = desk.url + "/includes/api.php"
                _, _, body = post(url, {**auth, "action": "GetTicket",
                                        "ticketnum": first["tid"]})
                ticket = json.loads(body)
                self.assertEqual((ticket["subject"], ticket["ticketid"]), ("Persist me", "1"))
                _, _, body = post(url, {**auth, "action": "OpenTicket", "deptid": "1",
                                        "subject": "Second", "message": "m", **GUEST})
                second = json.loads(body)
                self.assertEqual(second["id"], "2")
                self.assertNotEqual(second["tid"], first["tid"])
            finally:
                self.assertEqual(desk.stop(), 0)
            with open(state, encoding="utf-8") as stream:
                self.assertEqual([t["subject"] for t in json.load(stream)["tickets"]],
                                 ["Persist me", "Second"])


if __name__ == "__main__":
    unittest.main()
