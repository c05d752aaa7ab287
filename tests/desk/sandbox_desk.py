#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sandbox helpdesk: fake WHMCS, Keliweb v2 and Thulium APIs for mail2ticket's tests and demo.

End-to-end tests start this server on a loopback port, point the real
mail2ticket binary at it and then read back, through the /_sandbox/ control
endpoints, exactly what the desk stored.  The WHMCS part follows the real
API's observable behaviour (error messages, numbers as JSON strings, PHP-style
JSON escaping, collections that vanish when empty) closely enough that a
client passing against the sandbox has a good chance against a real desk.
Fault injection lets tests reproduce the failures that matter for a mail
bridge: HTTP errors, garbage answers, refused credentials and, above all, a
desk that creates the ticket but answers too late.

Layout, so that more desks (Keliweb, Thulium) can be added next to WHMCS:
  * shared helpers and request-body parsing;
  * Store: tickets, clients and the call log, shared by every desk API;
  * FaultControl: the single active injected fault;
  * WhmcsApi: everything WHMCS-specific (one class per desk API); KeliwebApi: Keliweb's REST
    front over the same actions, KeliwebLoginApi its OAuth token endpoint and TokenIssuer the
    tokens it gave; ThuliumApi: Thulium's REST API over the same store;
  * ControlApi: the /_sandbox/ test-control endpoints;
  * the HTTP server, which routes a path to its API and applies faults.

Standard library only (Python 3.11).
"""

import argparse
import base64
import binascii
import copy
import email.parser
import email.policy
import hashlib
import hmac
import ipaddress
import json
import os
import random
import re
import signal
import socket
import secrets
import ssl
import string
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------

MAX_BODY_BYTES = 64 * 1024 * 1024
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
TRUE_WORDS = {"true", "1", "on", "yes"}


class RequestError(Exception):
    """An HTTP request the sandbox cannot make sense of (answered with 4xx)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Reply:
    """An HTTP answer plus what the call log and the stderr log say about it."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict = field(default_factory=dict)
    result: str = ""  # "success", "error", or the fault mode for non-JSON bodies
    note: str = ""  # short detail for the log line: error message or new ids


def control_reply(obj, status=200):
    """Readable UTF-8 JSON for the control endpoints (not meant to look like PHP)."""
    body = json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8")
    return Reply(status, body, result="ok" if status < 400 else "error")


def now_string():
    return datetime.now().strftime(DATE_FORMAT)


def parse_bool(value):
    """WHMCS-style boolean flag: true/1/on/yes (any case) mean true."""
    return (value or "").strip().lower() in TRUE_WORDS


def parse_id(value):
    """A positive database id, or None when absent, zero or not a number.

    Strict on purpose: "7abc" is not silently read as 7, so a client sending a
    malformed id gets a "not found" error instead of touching another record.
    """
    value = (value or "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return None


def parse_count(value, default):
    """A non-negative paging number; absent, zero or invalid gives the default."""
    value = (value or "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return default


def parse_date(value):
    """`YYYY-MM-DD HH:MM:SS` or ISO 8601 to the desk's local `YYYY-MM-DD HH:MM:SS`.

    An offset-aware time is converted to local time because that is how a
    WHMCS server stores dates.  Returns None when the text is not a date.
    """
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    return moment.strftime(DATE_FORMAT)


def decode_base64(text):
    """Strict base64: CR/LF line wrapping is tolerated, anything else is not.

    PHP's base64_decode() skips invalid characters; the sandbox does not,
    because the classic client bug (a '+' sent unescaped in a urlencoded body
    arrives as a space) would otherwise corrupt data silently.
    Raises ValueError.
    """
    compact = text.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"bad base64: {exc}") from None


def parse_php_string_array(data):
    """Parse PHP serialize() output of an int=>string array into {str: str}.

    Only what customfields needs is accepted: `a:N:{...}` whose keys are
    `i:K;` (or `s:LEN:"K";`) and whose values are `s:LEN:"TEXT";` (or `i:V;`).
    LEN counts UTF-8 bytes, exactly as PHP writes it, so a client that counts
    characters instead of bytes is caught here.  Raises ValueError.
    """
    header = re.compile(rb"a:(\d+):\{").match(data)
    if not header:
        raise ValueError("not a serialized array")
    position = header.end()
    result = {}
    for _ in range(int(header.group(1))):
        key, position = _php_scalar(data, position)
        value, position = _php_scalar(data, position)
        result[key] = value
    if data[position:] != b"}":
        raise ValueError("element count or terminator wrong")
    return result


_PHP_INT = re.compile(rb"i:(-?\d+);")
_PHP_STRING_HEAD = re.compile(rb's:(\d+):"')


def _php_scalar(data, position):
    """One serialized int or string at `position`: returns (text, next position)."""
    match = _PHP_INT.match(data, position)
    if match:
        return match.group(1).decode("ascii"), match.end()
    match = _PHP_STRING_HEAD.match(data, position)
    if not match:
        raise ValueError(f"unsupported element at byte {position}")
    start = match.end()
    end = start + int(match.group(1))
    if data[end:end + 2] != b'";':
        raise ValueError(f"string length wrong at byte {position}")
    return data[start:end].decode("utf-8"), end + 2


def parse_attachments(text):
    """Decode WHMCS `attachments`: base64 of a JSON list of {"name", "data"}.

    `data` is the base64 of the file.  Returns the stored form: name, size,
    sha256 and canonical base64, so tests can compare files byte for byte.
    Raises ValueError.
    """
    try:
        items = json.loads(decode_base64(text))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"attachments: {exc}") from None
    if not isinstance(items, list):
        raise ValueError("attachments: not a JSON list")
    files = []
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str)
                and item["name"] and isinstance(item.get("data"), str)):
            raise ValueError("attachments: each item needs a name and data")
        content = decode_base64(item["data"])
        files.append({
            "name": item["name"],
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "data_b64": base64.b64encode(content).decode("ascii"),
        })
    return files


PHP_SPACE = " \t\n\v\f\r"


def php_strip_tags(text):
    """PHP's strip_tags($text) without allowed tags: php-src's php_strip_tags_ex state machine
    (text; a tag, whose quoted values may hold '>'; <?PHP code?>; <!declarations>;
    <!-- comments -->). A '<' before a blank is text; a tag never closed takes the rest; NULs
    go. WHMCS 7's GetTicket gives every message back through it."""
    out = []
    state, depth, parens, quote, last, xml = "text", 0, 0, "", "", False
    for i, c in enumerate(text):
        prev = text[i - 1] if i >= 1 else ""
        prev2 = text[i - 2] if i >= 2 else ""
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if state == "text":
            if c == "\0":
                continue
            if c == "<" and nxt and nxt in PHP_SPACE:
                out.append(c)
            elif c == "<":
                last, state = "<", "tag"
            elif c == ">" and depth:
                depth -= 1
            else:
                out.append(c)
        elif state == "tag":
            if c == "<" and not quote and not (nxt and nxt in PHP_SPACE):
                depth += 1
            elif c == ">":
                if depth:
                    depth -= 1
                elif not quote:
                    last = ">"
                    if not (xml and prev == "-"):
                        state, quote, xml = "text", "", False
            elif c in "\"'":
                if not quote or c == quote:
                    quote = "" if quote else c
            elif c == "!" and prev == "<":
                last, state = c, "declaration"
            elif c == "?" and prev == "<":
                parens, state = 0, "php"
        elif state == "php":
            if c in "()" and last not in ("\"", "'"):
                last = c
                parens += 1 if c == "(" else -1
            elif c == ">":
                if depth:
                    depth -= 1
                elif not quote and not parens and last != '"' and prev == "?":
                    state, quote, xml = "text", "", False
            elif c in "\"'" and prev != "\\":
                if last == c:
                    last = ""
                elif last != "\\":
                    last = c
                if not quote or c == quote:
                    quote = "" if quote else c
            elif c in "lL" and i > 4 and text[i - 4:i].lower() == "<?xm":
                state, xml = "tag", True
        elif state == "declaration":
            if c == ">":
                if depth:
                    depth -= 1
                elif not quote:
                    state, quote, xml = "text", "", False
            elif c in "\"'" and prev != "\\":
                if not quote or c == quote:
                    quote = "" if quote else c
            elif c == "-" and prev == "-" and prev2 == "!":
                state = "comment"
            elif c in "eE" and i > 6 and text[i - 6:i].lower() == "doctyp":
                state = "tag"
        elif c == ">" and not quote and prev == "-" and prev2 == "-":
            state, quote, xml = "text", "", False
    return "".join(out)


# ---------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------

def parse_form(content_type, body):
    """Form fields of a POST body, urlencoded or multipart; last duplicate wins.

    Values must be UTF-8.  Anything else raises RequestError (HTTP 400), where
    PHP would quietly see no fields at all: an explicit error is easier to
    diagnose from a failing C test.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    try:
        if media_type == "application/x-www-form-urlencoded":
            return _parse_urlencoded(body)
        if media_type == "multipart/form-data":
            return _parse_multipart(content_type, body)
    except UnicodeDecodeError:
        raise RequestError(400, "form fields must be UTF-8") from None
    raise RequestError(400, f"unsupported Content-Type {content_type!r}; "
                            "use application/x-www-form-urlencoded or multipart/form-data")


def _parse_urlencoded(body):
    """Decode by hand: urllib's parse_qsl cannot take raw non-ASCII bytes."""
    fields = {}
    for pair in body.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        fields[_unquote_plus(name)] = _unquote_plus(value)
    return fields


def _unquote_plus(raw):
    return urllib.parse.unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")


def _parse_multipart(content_type, body):
    """multipart/form-data through the email package (the cgi module is deprecated).

    The request's Content-Type is prepended as a MIME header so the message
    parser finds the boundary; parser defects (such as a missing closing
    boundary, i.e. a truncated upload) are refused.
    """
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if boundary and body.strip() in (b"", b"--" + boundary.group(1).encode("latin-1") + b"--"):
        return {}  # a call without fields, as libcurl sends it
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        raise RequestError(400, f"malformed multipart body: {message.defects or 'no parts'}")
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_content_disposition() != "form-data" or not name or part.defects:
            raise RequestError(400, "malformed multipart part (needs form-data with a name)")
        fields[name] = (part.get_payload(decode=True) or b"").decode("utf-8")
    return fields


# ---------------------------------------------------------------------------
# Shared store
# ---------------------------------------------------------------------------

DEFAULT_CLIENTS = [
    {"id": 1, "firstname": "Cynthia", "lastname": "Reilly", "companyname": "",
     "email": "cynthia@example.com", "datecreated": "2016-01-01", "groupid": 0,
     "status": "Active"},
    {"id": 2, "firstname": "Wile", "lastname": "Coyote", "companyname": "Acme Ltd",
     "email": "wile@acme.example", "datecreated": "2016-01-01", "groupid": 0,
     "status": "Active"},
]
DEFAULT_CONTACTS = [
    {"id": 1, "userid": 1, "firstname": "Sam", "lastname": "Reilly",
     "email": "sam@example.com"},
]
# (title, WHMCS default colour); every status except Closed counts as active.
STATUSES = [
    ("Open", "#779500"), ("Answered", "#000000"), ("Customer-Reply", "#ff6600"),
    ("Closed", "#888888"), ("On Hold", "#224488"), ("In Progress", "#cc0000"),
]
AWAITING_REPLY = {"Open", "Customer-Reply"}
STATE_FORMAT = "mail2ticket-sandbox-desk/1"
HASH_ALPHABET = string.ascii_letters + string.digits


class Store:
    """Tickets, clients and the call log shared by every desk API.

    Tickets are kept in the generic form /_sandbox/tickets shows; each desk
    API renders them in its own wire format.  Every access holds `lock`
    (handler threads run concurrently); every change is followed by save(),
    so a desk restarted with the same --state file keeps its tickets.
    """

    def __init__(self, departments, seed, state_path=None):
        self.lock = threading.RLock()
        self.departments = departments  # {id: name}; configuration, not state
        self.seed = seed
        self.state_path = state_path
        self.calls = []  # not persisted: a log of this process's requests
        self._load_defaults()
        if state_path and os.path.exists(state_path):
            self._load(state_path)

    def _load_defaults(self):
        self.tickets = []
        self._index()
        self.next_ticket_id = 1
        self.clients = copy.deepcopy(DEFAULT_CLIENTS)
        self.contacts = copy.deepcopy(DEFAULT_CONTACTS)

    def _load(self, path):
        with open(path, encoding="utf-8") as stream:
            state = json.load(stream)
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"{path}: not a sandbox desk state file")
        self.tickets = state["tickets"]
        self._index()
        self.next_ticket_id = state["next_ticket_id"]
        self.clients = state["clients"]
        self.contacts = state["contacts"]

    def save(self):
        """Write the state file atomically (tmp + rename); no-op without --state."""
        if not self.state_path:
            return
        state = {"format": STATE_FORMAT, "next_ticket_id": self.next_ticket_id,
                 "tickets": self.tickets, "clients": self.clients,
                 "contacts": self.contacts}
        temporary = self.state_path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump(state, stream, ensure_ascii=False, indent=1)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, self.state_path)

    def reset(self):
        """Back to a fresh desk: no tickets, no calls, default clients."""
        with self.lock:
            self._load_defaults()
            self.calls.clear()
            self.save()

    def client(self, client_id):
        return next((c for c in self.clients if c["id"] == client_id), None)

    def contact(self, contact_id, client_id):
        return next((c for c in self.contacts
                     if c["id"] == contact_id and c["userid"] == client_id), None)

    def add_contact(self, spec):
        """A contact of an existing client from the control JSON: userid and email required,
        firstname and lastname optional. Raises ValueError."""
        if not isinstance(spec, dict):
            raise ValueError("a contact is a JSON object")
        client_id = spec.get("userid")
        address = spec.get("email")
        if type(client_id) is not int or self.client(client_id) is None:
            raise ValueError(f"userid must be a client's id, not {client_id!r}")
        if not isinstance(address, str) or not EMAIL_RE.fullmatch(address):
            raise ValueError(f"email must be an e-mail address, not {address!r}")
        contact = {"id": max((c["id"] for c in self.contacts), default=0) + 1,
                   "userid": client_id, "firstname": str(spec.get("firstname", "")),
                   "lastname": str(spec.get("lastname", "")), "email": address}
        self.contacts.append(contact)
        return contact

    def _index(self):
        """Tickets by id and by tid: a scan per look-up made a 50,000-mail import quadratic."""
        self.by_id = {t["id"]: t for t in self.tickets}
        self.by_tid = {t["tid"]: t for t in self.tickets}

    def ticket(self, ticket_id):
        return self.by_id.get(ticket_id)

    def ticket_by_tid(self, tid):
        return self.by_tid.get(tid)

    def touch(self, ticket):
        """Mark ticket as changed last: GetTickets lists by last reply, and this orders
        changes within one second of lastreply."""
        self.activity = getattr(self, "activity", 0) + 1
        ticket["activity"] = self.activity

    def add_ticket(self, ticket, number_is_id=False):
        """Store a new ticket, giving it the next id, a unique `tid` and a `c` hash.

        The random numbers come from a generator seeded with (--seed, ticket
        id), so ticket N gets the same tid in every run, even after a reset
        or a restart on a state file; a clash with an existing tid is redrawn.
        """
        ticket_id = self.next_ticket_id
        rng = random.Random(f"{self.seed}/{ticket_id}")
        tid = str(ticket_id) if number_is_id else str(rng.randint(100000, 999999))
        while self.ticket_by_tid(tid):
            tid = str(rng.randint(100000, 999999))
        ticket.update(id=ticket_id, tid=tid,
                      c="".join(rng.choice(HASH_ALPHABET) for _ in range(8)))
        self.touch(ticket)
        self.tickets.append(ticket)
        self.by_id[ticket_id] = ticket
        self.by_tid[tid] = ticket
        self.next_ticket_id += 1
        self.save()
        return ticket

    def record_call(self, entry):
        with self.lock:
            self.calls.append(entry)


def person_name(record):
    return f"{record['firstname']} {record['lastname']}".strip()


def client_display_name(client):
    """How WHMCS shows a client on tickets: "First Last (Company)"."""
    name = person_name(client)
    return f"{name} ({client['companyname']})" if client["companyname"] else name


# ---------------------------------------------------------------------------
# Fault injection
# ---------------------------------------------------------------------------

FAULT_MODES = {"http500", "http503", "error", "error400", "badjson", "huge", "auth", "slow",
               "slow_after_create", "lose_answer", "lose_answer_reused", "random", "missing",
               "bare_answer"}
# What "random" picks from for a call it hits: an error page, the connection closed before the
# desk did anything, or closed after the desk did the work (the answer lost), or an answer that
# comes after `delay`.
RANDOM_KINDS = ("http500", "http503", "drop", "lose_answer", "slow")
# Calls that log in rather than use the desk (KeliwebLoginApi).
LOGIN_ACTIONS = {"token"}


@dataclass
class Fault:
    mode: str
    remaining: int | None  # None: until cleared
    actions: set | None  # lower-case action names; None: every action
    delay: float
    message: str
    match: str | None = None  # substring a parameter value must contain; None: every call
    share: float = 1.0  # "random": the share of calls it hits
    rng: random.Random | None = None  # "random": seeded, so that a run can be repeated
    kinds: tuple = RANDOM_KINDS  # "random": what a hit call gets

    def describe(self):
        return {"mode": self.mode, "count": self.remaining,
                "actions": sorted(self.actions) if self.actions else None,
                "delay": self.delay, "message": self.message, "match": self.match,
                "share": self.share, "kinds": list(self.kinds)}

    def hits(self, action, params):
        """Whether this call is one the fault is aimed at (by action and by parameter text).
        A login (Keliweb's "token") is hit only by a fault that names it, so that a fault aimed
        at every call still hits the calls it was aimed at before there were logins."""
        if self.actions and action.lower() not in self.actions:
            return False
        if action in LOGIN_ACTIONS and not self.actions:
            return False
        return self.match is None or any(self.match in value for value in params.values()
                                         if isinstance(value, str))


class FaultControl:
    """The one active injected fault; it disarms itself when its count runs out.

    Armed by POST /_sandbox/fault with a JSON object:
      mode     one of FAULT_MODES, or "none" to clear the fault (required);
      count    how many calls it hits before disarming (default null: until cleared);
      actions  list of API action names it is limited to (default null: every action);
      match    a string: the fault hits only calls with a request parameter (form field)
               whose value contains it, e.g. a mail's subject (default null: every call);
      delay    seconds for "slow", "slow_after_create" and random "slow" (default 5);
      message  the error message for "error" (default "Sandbox says no");
      share    "random": the share of calls hit, 0 to 1 (default 0.4);
      seed     "random": the seed of its choices (default 1);
      kinds    "random": what a hit call gets, from RANDOM_KINDS (default all of them).
    "lose_answer" does the call's work and closes the connection without an answer;
    "lose_answer_reused" does so only on a connection that carried a request before (a client
    retrying on a new connection then sends the same request twice); "random" hits a share of
    the calls, each with a kind of failure chosen at random; "error400" is "error" with
    HTTP 400, as a REST front may say no; "missing" answers HTTP 404, as a
    server without the endpoint would; "bare_answer" does the work and answers only
    {"result": "success"}, all Keliweb's open-ticket page promises.
    Calls the fault is not aimed at (other actions, no match) pass normally and do not
    count against `count`. Keliweb's login, action "token", is aimed at only by name.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._fault = None

    def configure(self, spec):
        """Arm (or with mode "none" clear) a fault from the control JSON.

        Returns the new fault's description (None when cleared); raises
        ValueError on a bad specification so the test sees a 400 at once.
        """
        if not isinstance(spec, dict):
            raise ValueError("fault must be a JSON object")
        mode = spec.get("mode")
        if mode == "none":
            self.clear()
            return None
        if mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of: none, {', '.join(sorted(FAULT_MODES))}")
        count = spec.get("count")
        if count is not None and (type(count) is not int or count < 1):
            raise ValueError("count must be a positive integer or null")
        actions = spec.get("actions")
        if actions is not None and (not isinstance(actions, list) or not actions
                                    or not all(isinstance(a, str) for a in actions)):
            raise ValueError("actions must be a non-empty list of action names or null")
        delay = spec.get("delay", 5)
        if type(delay) not in (int, float) or delay < 0:
            raise ValueError("delay must be a non-negative number of seconds")
        message = spec.get("message", "Sandbox says no")
        if not isinstance(message, str):
            raise ValueError("message must be a string")
        match = spec.get("match")
        if match is not None and (not isinstance(match, str) or not match):
            raise ValueError("match must be a non-empty string or null")
        share = spec.get("share", 0.4)
        if type(share) not in (int, float) or not 0 <= share <= 1:
            raise ValueError("share must be a number from 0 to 1")
        seed = spec.get("seed", 1)
        if type(seed) is not int:
            raise ValueError("seed must be an integer")
        kinds = spec.get("kinds", list(RANDOM_KINDS))
        if not isinstance(kinds, list) or not kinds or not set(kinds) <= set(RANDOM_KINDS):
            raise ValueError(f"kinds must be a non-empty list of: {', '.join(RANDOM_KINDS)}")
        fault = Fault(mode, count, {a.lower() for a in actions} if actions else None,
                      float(delay), message, match, float(share), random.Random(seed),
                      tuple(kinds))
        with self._lock:
            self._fault = fault
        return fault.describe()

    def clear(self):
        with self._lock:
            self._fault = None

    def current(self):
        with self._lock:
            return self._fault.describe() if self._fault else None

    def take(self, action, params, reused):
        """The fault hitting this call, if any, counting the call against it; reused: the
        call came on a connection that carried a request before. A "random" fault comes back
        as a fault of the kind it picked."""
        with self._lock:
            fault = self._fault
            if fault is None or not fault.hits(action, params):
                return None
            if fault.mode == "lose_answer_reused" and not reused:
                return None
            if fault.mode == "random":
                if fault.rng.random() >= fault.share:
                    return None
                return Fault(fault.rng.choice(fault.kinds), None, None, fault.delay,
                             fault.message)
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._fault = None
            return fault


# ---------------------------------------------------------------------------
# WHMCS API
# ---------------------------------------------------------------------------

class WhmcsApi:
    """WHMCS `POST /includes/api.php`: authentication, actions and wire format.

    Every answer is rendered like PHP's json_encode(): numbers as strings
    (the desk reads them from MySQL), non-ASCII as \\uXXXX and '/' as '\\/',
    so the client's JSON parser meets the same text as against a real desk.
    """

    name = "whmcs"
    path = "/includes/api.php"
    API_ADMIN_NAME = "Sandbox API"  # the admin the API credential belongs to
    PRIORITIES = ("Low", "Medium", "High")

    def __init__(self, store, identifier, secret):
        self.store = store
        self.identifier = identifier
        self.secret = secret
        self.secret_md5 = hashlib.md5(secret.encode("utf-8")).hexdigest()
        handlers = {
            "OpenTicket": self.open_ticket,
            "AddTicketReply": self.add_ticket_reply,
            "GetTicket": self.get_ticket,
            "GetTickets": self.get_tickets,
            "GetSupportDepartments": self.get_support_departments,
            "GetSupportStatuses": self.get_support_statuses,
            "GetClients": self.get_clients,
            "GetContacts": self.get_contacts,
            "AddTicketNote": self.add_ticket_note,
            "UpdateTicket": self.update_ticket,
        }
        # WHMCS matches action names case-insensitively.
        self.actions = {name.lower(): (name, method) for name, method in handlers.items()}

    # -- protocol ----------------------------------------------------------

    def handles(self, path):
        return path == self.path

    def parse_call(self, content_type, body, path, authorization, method="POST"):
        """(canonical action name, form fields) of one API request."""
        if method != "POST":
            raise RequestError(405, f"{method} not allowed; the API takes POST")
        params = parse_form(content_type, body)
        action = params.get("action", "")
        known = self.actions.get(action.lower())
        return (known[0] if known else action), params

    def admit(self, headers, params):
        """What the request's headers say, looked at as it arrives (before a "slow" fault's
        pause): nothing for WHMCS, whose credentials are in the form."""

    def handle(self, action, params):
        """Authenticate, then run the action, as api.php does."""
        if not self._authenticated(params):
            return self.auth_failure()
        if params.get("responsetype", "").lower() != "json":
            return self._not_json_reply(action)
        known = self.actions.get(action.lower())
        if known is None:
            return self.error("Command Not Found")
        with self.store.lock:
            return known[1](params)

    def _authenticated(self, params):
        """identifier+secret, or legacy username+password (secret or its MD5)."""
        def same(a, b):
            return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))

        if "identifier" in params and "secret" in params:
            if same(params["identifier"], self.identifier) and same(params["secret"], self.secret):
                return True
        if "username" in params and "password" in params:
            password = params["password"]
            return same(params["username"], self.identifier) and (
                same(password, self.secret) or same(password.lower(), self.secret_md5))
        return False

    def auth_failure(self):
        return self._json({"result": "error", "message": "Authentication Failed"}, 403)

    def error(self, message):
        return self._json({"result": "error", "message": message})

    def redact(self, params):
        """Parameters as the call log shows them: no secrets, no file contents."""
        shown = dict(params)
        for key in ("secret", "password", "accesskey"):
            if key in shown:
                shown[key] = "REDACTED"
        if shown.get("attachments"):
            try:
                shown["attachments"] = [{"name": f["name"], "size": f["size"]}
                                        for f in parse_attachments(shown["attachments"])]
            except ValueError:
                shown["attachments"] = "(invalid attachments data)"
        return shown

    def _not_json_reply(self, action):
        """The sandbox speaks only JSON; a client that forgot responsetype=json
        gets XML, as from a real desk, and its JSON parser fails just the same."""
        body = ('<?xml version="1.0" encoding="utf-8"?>\n<whmcsapi version="8.0">\n'
                f"<action>{action.lower()}</action>\n<result>error</result>\n"
                "<message>sandbox desk: only responsetype=json is supported</message>\n"
                "</whmcsapi>\n").encode("utf-8")
        return Reply(200, body, "text/xml; charset=utf-8", result="error",
                     note="responsetype is not json")

    @staticmethod
    def _json(obj, status=200):
        text = json.dumps(obj, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
        note = obj.get("message", "")
        if not note and "tid" in obj:
            note = f"id={obj.get('id', obj.get('ticketid'))} tid={obj['tid']}"
        return Reply(status, text.encode("ascii"), result=obj.get("result", ""), note=note)

    # -- shared validation -------------------------------------------------

    def _requester(self, params):
        """Who writes: (clientid, contactid, name, email) or an error Reply.

        A client (or its contact) is taken from the client records, as WHMCS
        does; anyone else must give a name and a plausible e-mail address.
        """
        raw_client = (params.get("clientid") or "").strip()
        if raw_client not in ("", "0"):
            client = self.store.client(parse_id(raw_client))
            if client is None:
                return self.error("Client ID Not Found")
            raw_contact = (params.get("contactid") or "").strip()
            if raw_contact in ("", "0"):
                return client["id"], 0, client_display_name(client), client["email"]
            contact = self.store.contact(parse_id(raw_contact), client["id"])
            if contact is None:
                return self.error("Contact ID Not Found")
            return client["id"], contact["id"], person_name(contact), contact["email"]
        name = params.get("name", "").strip()
        address = params.get("email", "").strip()
        if not name or not address:
            return self.error("Name and email address are required if not a client")
        if not EMAIL_RE.fullmatch(address):
            return self.error("Email Address Invalid")
        return 0, 0, name, address

    def _extras(self, params):
        """Validated created date, custom fields and attachments, or an error Reply."""
        created = params.get("created", "").strip()
        date = now_string()
        if created:
            date = parse_date(created)
            if date is None:
                return self.error("Invalid Date Format")
        customfields = {}
        if params.get("customfields"):
            try:
                customfields = parse_php_string_array(decode_base64(params["customfields"]))
            except (ValueError, UnicodeDecodeError):
                return self.error("Invalid Custom Fields")
        attachments = []
        if params.get("attachments"):
            try:
                attachments = parse_attachments(params["attachments"])
            except ValueError:
                return self.error("Invalid attachments data")
        return date, customfields, attachments

    def _status_param(self, params):
        """The canonical spelling of a `status` parameter, "" if absent, None if unknown."""
        wanted = params.get("status", "").strip()
        if not wanted:
            return ""
        return next((title for title, _ in STATUSES if title.lower() == wanted.lower()), None)

    def _find_ticket(self, params):
        """Ticket by `ticketnum` (the public tid) if given, else by `ticketid`."""
        if params.get("ticketnum", "").strip():
            return self.store.ticket_by_tid(params["ticketnum"].strip())
        return self.store.ticket(parse_id(params.get("ticketid")))

    # -- actions -----------------------------------------------------------

    def open_ticket(self, params):
        """OpenTicket, checked in the real desk's order: requester, department,
        subject, message; then the sandbox's stricter priority/date/data checks."""
        requester = self._requester(params)
        if isinstance(requester, Reply):
            return requester
        client_id, contact_id, name, address = requester
        dept_id = parse_id(params.get("deptid"))
        if dept_id not in self.store.departments:
            return self.error("Department ID not found")
        if not params.get("subject", "").strip():
            return self.error("Subject is Required")
        if not params.get("message", "").strip():
            return self.error("Message is Required")
        priority = params.get("priority", "").strip() or "Medium"
        if priority not in self.PRIORITIES:
            return self.error("Invalid Priority. Valid priorities are: Low, Medium, High")
        extras = self._extras(params)
        if isinstance(extras, Reply):
            return extras
        date, customfields, attachments = extras
        markdown = parse_bool(params.get("markdown"))
        admin = parse_bool(params.get("admin"))
        cc = ",".join(a.strip() for a in params.get("cc", "").split(",") if a.strip())
        ticket = self.store.add_ticket({
            "deptid": dept_id, "deptname": self.store.departments[dept_id],
            "subject": params["subject"], "status": "Open", "priority": priority,
            "name": name, "email": address, "clientid": client_id,
            "contactid": contact_id, "cc": cc, "date": date, "lastreply": date,
            "serviceid": parse_id(params.get("serviceid")) or 0,
            "domainid": parse_id(params.get("domainid")) or 0,
            "markdown": markdown, "noemail": parse_bool(params.get("noemail")),
            "admin": admin, "customfields": customfields,
            "created_param": params.get("created") or None, "flag": 0,
            "messages": [{
                "replyid": 0, "userid": client_id, "contactid": contact_id,
                "name": name, "email": address,
                "admin": self.API_ADMIN_NAME if admin else "",
                "date": date, "message": params["message"], "markdown": markdown,
                "noemail": parse_bool(params.get("noemail")),
                "created_param": params.get("created") or None, "attachments": attachments,
            }],
            "notes": [],
        })
        return self._json({"result": "success", "id": str(ticket["id"]),
                           "tid": ticket["tid"], "c": ticket["c"]})

    def add_ticket_reply(self, params):
        """AddTicketReply: a customer reply (client, contact or guest) or, with
        adminusername, a staff reply; the status changes like in WHMCS."""
        ticket = self.store.ticket(parse_id(params.get("ticketid")))
        if ticket is None:
            return self.error("Ticket ID Not Found")
        admin_name = params.get("adminusername", "").strip()
        if admin_name:  # staff reply: no customer is involved
            requester = (0, 0, "", "")
        else:
            requester = self._requester(params)
            if isinstance(requester, Reply):
                return requester
        client_id, contact_id, name, address = requester
        if not params.get("message", "").strip():
            return self.error("Message is Required")
        status = self._status_param(params)
        if status is None:
            return self.error("Invalid Ticket Status")
        extras = self._extras(params)
        if isinstance(extras, Reply):
            return extras
        date, customfields, attachments = extras
        ticket["messages"].append({
            "replyid": len(ticket["messages"]), "userid": client_id,
            "contactid": contact_id, "name": name, "email": address,
            "admin": admin_name, "date": date, "message": params["message"],
            "markdown": parse_bool(params.get("markdown")),
            "noemail": parse_bool(params.get("noemail")),
            "created_param": params.get("created") or None, "attachments": attachments,
        })
        ticket["customfields"].update(customfields)
        ticket["status"] = status or ("Answered" if admin_name else "Customer-Reply")
        ticket["lastreply"] = date
        self.store.touch(ticket)
        self.store.save()
        return self._json({"result": "success"})

    def get_ticket(self, params):
        ticket = self._find_ticket(params)
        if ticket is None:
            return self.error("Ticket ID Not Found")
        replies = [self._reply_view(m) for m in ticket["messages"]]
        if params.get("repliessort", "").strip().upper() == "DESC":
            replies.reverse()
        name, address = self._owner(ticket)
        return self._json({
            "result": "success", "ticketid": str(ticket["id"]), "tid": ticket["tid"],
            "c": ticket["c"], "deptid": str(ticket["deptid"]),
            "deptname": ticket["deptname"], "userid": str(ticket["clientid"]),
            "contactid": str(ticket["contactid"]), "name": name, "email": address,
            "cc": ticket["cc"], "date": ticket["date"], "subject": ticket["subject"],
            "status": ticket["status"], "priority": ticket["priority"],
            "admin": self.API_ADMIN_NAME if ticket["admin"] else "",
            "lastreply": ticket["lastreply"], "flag": str(ticket["flag"]),
            "service": self._service(ticket),
            "replies": {"reply": replies},
            "notes": {"note": [
                {"noteid": str(n["noteid"]), "date": n["date"], "message": n["message"],
                 "admin": n["admin"]} for n in ticket["notes"]]},
        })

    def get_tickets(self, params):
        """GetTickets, the last replied to first, as WHMCS lists them (so a ticket opened
        earlier and answered since comes before a newer one); `ignore_dept_assignments` is
        accepted but has no effect because the sandbox has no staff department assignments."""
        tickets = sorted(self.store.tickets, reverse=True,
                         key=lambda t: (t["lastreply"], t.get("activity", 0), t["id"]))
        dept_id = parse_id(params.get("deptid"))
        if dept_id:
            tickets = [t for t in tickets if t["deptid"] == dept_id]
        client_id = parse_id(params.get("clientid"))
        if client_id:
            tickets = [t for t in tickets if t["clientid"] == client_id]
        address = params.get("email", "").strip().lower()
        if address:
            tickets = [t for t in tickets if t["email"].lower() == address]
        status = params.get("status", "").strip()
        if status == "All Active Tickets":
            tickets = [t for t in tickets if t["status"] != "Closed"]
        elif status == "Awaiting Reply":
            tickets = [t for t in tickets if t["status"] in AWAITING_REPLY]
        elif status:
            tickets = [t for t in tickets if t["status"].lower() == status.lower()]
        subject = params.get("subject", "").lower()
        if subject:
            tickets = [t for t in tickets if subject in t["subject"].lower()]
        start = parse_count(params.get("limitstart"), 0)
        page = tickets[start:start + parse_count(params.get("limitnum"), 25)]
        answer = {"result": "success", "totalresults": str(len(tickets)),
                  "startnumber": start, "numreturned": len(page)}
        if page:  # like WHMCS, an empty result has no "tickets" key at all
            answer["tickets"] = {"ticket": [self._ticket_summary(t) for t in page]}
        return self._json(answer)

    def get_support_departments(self, params):
        departments = []
        for dept_id, dept_name in self.store.departments.items():
            tickets = [t for t in self.store.tickets if t["deptid"] == dept_id]
            departments.append({
                "id": str(dept_id), "name": dept_name,
                "awaitingreply": str(sum(t["status"] in AWAITING_REPLY for t in tickets)),
                "opentickets": str(sum(t["status"] != "Closed" for t in tickets)),
            })
        return self._json({"result": "success", "totalresults": str(len(departments)),
                           "departments": {"department": departments}})

    def get_support_statuses(self, params):
        tickets = self.store.tickets
        dept_id = parse_id(params.get("deptid"))
        if dept_id:
            tickets = [t for t in tickets if t["deptid"] == dept_id]
        statuses = [{"title": title, "color": colour,
                     "count": str(sum(t["status"] == title for t in tickets))}
                    for title, colour in STATUSES]
        return self._json({"result": "success", "totalresults": str(len(statuses)),
                           "statuses": {"status": statuses}})

    def get_clients(self, params):
        search = params.get("search", "").strip().lower()
        clients = [c for c in self.store.clients
                   if not search or any(search in c[key].lower() for key in
                                        ("email", "firstname", "lastname", "companyname"))]
        return self._paged(clients, params, "clients", "client")

    def get_contacts(self, params):
        """GetContacts, filtered by `userid` and by `email` (whole address, without regard to
        case, as MySQL compares), 25 a page unless `limitnum` says."""
        client_id = parse_id(params.get("userid"))
        address = params.get("email", "").strip().lower()
        contacts = [c for c in self.store.contacts
                    if (client_id is None or c["userid"] == client_id)
                    and (not address or c["email"].lower() == address)]
        return self._paged(contacts, params, "contacts", "contact")

    def _paged(self, records, params, outer, inner):
        """One page (limitstart, limitnum) of records the way WHMCS lists them: every value a
        string, the list nested one level and left out when empty."""
        start = parse_count(params.get("limitstart"), 0)
        page = records[start:start + parse_count(params.get("limitnum"), 25)]
        answer = {"result": "success", "totalresults": str(len(records)),
                  "startnumber": start, "numreturned": len(page)}
        if page:
            answer[outer] = {inner: [{key: str(value) for key, value in r.items()}
                                     for r in page]}
        return self._json(answer)

    def add_ticket_note(self, params):
        ticket = self._find_ticket(params)
        if ticket is None:
            return self.error("Ticket ID Not Found")
        if not params.get("message", "").strip():
            return self.error("Message is Required")
        ticket["notes"].append({
            "noteid": len(ticket["notes"]) + 1, "admin": self.API_ADMIN_NAME,
            "date": now_string(), "message": params["message"],
            "markdown": parse_bool(params.get("markdown")),
        })
        self.store.save()
        return self._json({"result": "success"})

    def update_ticket(self, params):
        """UpdateTicket; only `status` and `deptid` are supported (tests close tickets, and
        move them as an agent would)."""
        ticket = self.store.ticket(parse_id(params.get("ticketid")))
        if ticket is None:
            return self.error("Ticket ID Not Found")
        status = self._status_param(params)
        if status is None:
            return self.error("Invalid Ticket Status")
        if status:
            ticket["status"] = status
        dept_id = parse_id(params.get("deptid"))
        if params.get("deptid") and dept_id is None:
            return self.error("Invalid Department ID")
        if dept_id:
            ticket["deptid"] = dept_id
        if status or dept_id:
            self.store.save()
        return self._json({"result": "success", "ticketid": str(ticket["id"])})

    # -- rendering ---------------------------------------------------------

    def _owner(self, ticket):
        """Ticket-level name/email: the client account's, else the guest's."""
        client = self.store.client(ticket["clientid"]) if ticket["clientid"] else None
        if client:
            return client_display_name(client), client["email"]
        return ticket["name"], ticket["email"]

    @staticmethod
    def _service(ticket):
        if ticket["serviceid"]:
            return f"S{ticket['serviceid']}"
        return f"D{ticket['domainid']}" if ticket["domainid"] else ""

    @staticmethod
    def _reply_view(message):
        """A message as GetTicket gives it back: through strip_tags(), as WHMCS 7 does (the
        store, and /_sandbox/tickets, keep the text as sent)."""
        return {
            "replyid": str(message["replyid"]), "userid": str(message["userid"]),
            "contactid": str(message["contactid"]), "name": message["name"],
            "email": message["email"], "date": message["date"],
            "message": php_strip_tags(message["message"]),
            "attachment": "|".join(a["name"] for a in message["attachments"]),
            "admin": message["admin"], "rating": "0",
        }

    def _ticket_summary(self, ticket):
        name, address = self._owner(ticket)
        opening = ticket["messages"][0]
        if ticket["contactid"]:
            requestor_type = "Sub-Account"
        else:
            requestor_type = "Owner" if ticket["clientid"] else "Guest"
        return {
            "id": str(ticket["id"]), "tid": ticket["tid"], "deptid": str(ticket["deptid"]),
            "userid": str(ticket["clientid"]), "name": name, "email": address,
            "requestor_name": ticket["name"], "requestor_email": ticket["email"],
            "requestor_type": requestor_type,
            "owner_name": name if ticket["clientid"] else "",
            "cc": ticket["cc"], "c": ticket["c"], "date": ticket["date"],
            "subject": ticket["subject"], "status": ticket["status"],
            "priority": ticket["priority"],
            "admin": self.API_ADMIN_NAME if ticket["admin"] else "",
            "attachment": "|".join(a["name"] for a in opening["attachments"]),
            "attachments": [{"filename": a["name"], "index": i}
                            for i, a in enumerate(opening["attachments"])],
            "lastreply": ticket["lastreply"], "flag": str(ticket["flag"]),
            "service": self._service(ticket),
        }


# ---------------------------------------------------------------------------
# Test control endpoints
# ---------------------------------------------------------------------------

class TokenIssuer:
    """The bearer tokens Keliweb's login gave, each with the monotonic time it stops working."""

    def __init__(self, lifetime):
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._tokens = {}

    def issue(self):
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.lifetime
        return token

    def live(self, token):
        with self._lock:
            expires = self._tokens.get(token)
        return expires is not None and time.monotonic() < expires


def expects_json(headers):
    """Laravel's Request::expectsJson(): an XMLHttpRequest that takes any type, or one that
    asks for JSON. Without it, Laravel sends a refused caller to its login page."""
    accept = headers.get("Accept", "")
    ajax = headers.get("X-Requested-With", "") == "XMLHttpRequest"
    return (ajax and (not accept or "*/*" in accept)) or "json" in accept


def laravel_unauthenticated(headers):
    """Laravel's answer to a request without a valid token."""
    if expects_json(headers):
        return Reply(401, b'{"message":"Unauthenticated."}', result="error",
                     note="Unauthenticated.")
    return Reply(302, b"", "text/html; charset=utf-8", headers={"Location": "/login"},
                 result="redirect", note="to /login")


class KeliwebLoginApi:
    """Keliweb's token endpoint, `POST /oauth/token` (apiv2.keliweb.it/docs/auth/v2/access-token):
    Laravel Passport's password grant, urlencoded or multipart. A token lasts --token-lifetime
    seconds; the refresh grant is not offered (mail2ticket does not use it). Its calls are in the
    call log as action "token"."""

    name = "keliweb"
    path = "/oauth/token"

    def __init__(self, issuer, client_id, client_secret, username, password):
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.password = password

    def handles(self, path):
        return path == self.path

    def parse_call(self, content_type, body, path, authorization, method="POST"):
        if method != "POST":
            raise RequestError(405, f"{method} not allowed; the token endpoint takes POST")
        return "token", parse_form(content_type, body)

    def admit(self, headers, params):
        params["_headers"] = {name: headers.get(name, "")
                              for name in ("X-Requested-With", "Accept")}

    @staticmethod
    def _oauth_error(status, code, message):
        body = {"error": code, "error_description": message, "message": message}
        return Reply(status, json.dumps(body).encode("utf-8"), result="error", note=code)

    def handle(self, action, params):
        def same(a, b):
            return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))

        if params.get("grant_type") != "password":
            return self._oauth_error(400, "unsupported_grant_type", "The authorization grant "
                                     "type is not supported by the authorization server.")
        if not all(params.get(k) for k in ("client_id", "username", "password")):
            return self._oauth_error(400, "invalid_request", "The request is missing a "
                                     "required parameter.")
        if not (same(params["client_id"], self.client_id)
                and same(params.get("client_secret", ""), self.client_secret)):
            return self.auth_failure()
        if not (same(params["username"], self.username)
                and same(params["password"], self.password)):
            return self._oauth_error(400, "invalid_grant", "The user credentials were "
                                     "incorrect.")
        answer = {"token_type": "Bearer", "expires_in": self.issuer.lifetime,
                  "access_token": self.issuer.issue(),
                  "refresh_token": secrets.token_urlsafe(32)}
        return Reply(200, json.dumps(answer).encode("utf-8"), result="success",
                     note=f"token for {self.issuer.lifetime} s")

    def auth_failure(self):
        return self._oauth_error(401, "invalid_client", "Client authentication failed")

    def error(self, message):
        return self._oauth_error(400, "invalid_request", message)

    def redact(self, params):
        shown = {k: v for k, v in params.items() if not k.startswith("_")}
        for key in ("client_secret", "password"):
            if key in shown:
                shown[key] = "REDACTED"
        return shown


class KeliwebApi(WhmcsApi):
    """Keliweb's API v2 (seed 001): `POST /api/v2/keliweb/<endpoint>`, a bearer token,
    multipart/form-data, WHMCS's answers. Keliweb's pages document get-ticket, open-ticket and
    add-ticket-reply, and a field they do not list is refused with HTTP 400; the list and
    department endpoints are inferred siblings (the fault mode `missing` makes one answer 404,
    as a server without it would). The token is a live one KeliwebLoginApi gave, or the static
    --secret (how the sandbox stood before it had a login); an expired or unknown one is
    refused as Laravel refuses it. A boolean field must be "0", "1" or empty: Laravel's
    `boolean` rule refuses "true"."""

    name = "keliweb"
    path = "/api/v2/keliweb/"
    ENDPOINTS = {
        "open-ticket": "OpenTicket",
        "add-ticket-reply": "AddTicketReply",
        "get-ticket": "GetTicket",
        "get-tickets": "GetTickets",
        "get-support-departments": "GetSupportDepartments",
        "get-contacts": "GetContacts",
    }
    DOCUMENTED = {
        "OpenTicket": {"deptid", "subject", "message", "contactid", "name", "email",
                       "serviceid", "domainid", "markdown", "customfields", "attachments"},
        "AddTicketReply": {"ticketid", "message", "markdown", "contactid", "name", "email",
                           "customfields", "attachments"},
        "GetTicket": {"ticketnum", "ticketid", "repliessort"},
    }
    BOOLEAN_FIELDS = {"markdown", "noemail", "admin", "ignore_dept_assignments",
                      "preventClientClosure"}

    def __init__(self, store, identifier, secret, issuer):
        super().__init__(store, identifier, secret)
        self.issuer = issuer

    def handles(self, path):
        return path.startswith(self.path)

    def parse_call(self, content_type, body, path, authorization, method="POST"):
        if method != "POST":
            raise RequestError(405, f"{method} not allowed; the API takes POST")
        if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
            raise RequestError(400, "Keliweb takes multipart/form-data")
        params = parse_form(content_type, body)
        path = urllib.parse.urlsplit(path).path
        scheme, _, token = authorization.partition(" ")
        params["_bearer"] = token.strip() if scheme.lower() == "bearer" else ""
        return self.ENDPOINTS.get(path[len(self.path):], path[len(self.path):]), params

    def admit(self, headers, params):
        """The token is judged as the request arrives, as Laravel's auth middleware does before
        the work (and before a "slow" fault's pause)."""
        token = params.pop("_bearer", "")
        if token and hmac.compare_digest(token.encode("utf-8"), self.secret.encode("utf-8")):
            params["_auth"] = "static"
        elif token and self.issuer.live(token):
            params["_auth"] = "token"
        else:
            params["_auth"] = None
        params["_headers"] = {name: headers.get(name, "")
                              for name in ("X-Requested-With", "Accept")}

    def handle(self, action, params):
        if not params.get("_auth"):
            return laravel_unauthenticated(params.get("_headers", {}))
        known = self.actions.get(action.lower())
        if known is None or action not in self.ENDPOINTS.values():
            return self._json({"result": "error", "message": "Not Found"}, 404)
        unknown = sorted(k for k in params if not k.startswith("_")
                         and k not in self.DOCUMENTED.get(action, params))
        if unknown:
            return self._json({"result": "error",
                               "message": "unknown field: " + ", ".join(unknown)}, 400)
        flags = sorted(k for k in self.BOOLEAN_FIELDS if params.get(k, "") not in ("", "0", "1"))
        if flags:
            errors = {k: [f"The {k} field must be true or false."] for k in flags}
            return self._json({"message": errors[flags[0]][0], "errors": errors}, 422)
        with self.store.lock:
            return known[1](params)

    def auth_failure(self):
        return self._json({"result": "error", "message": "Unauthenticated."}, 401)

    def redact(self, params):
        shown = super().redact(params)
        for key in [k for k in shown if k.startswith("_")]:
            shown.pop(key)
        return shown


class ThuliumApi:
    """Thulium's REST API under /api/, as its public pages document it (api.thulium.com/docs/api/:
    tickets/get_tickets, tickets/get_tickets_id, tickets/post_tickets,
    tickets/post_tickets_id_customer_response, temporary_files/post_temporary_files), and
    nothing else: HTTP Basic auth, JSON bodies, and a field a page does not list is refused with
    HTTP 400, so a client that guesses fails here as it would there.

    Queues are the store's departments; each has one mailbox, its name in lower case at
    desk.example (1:Support is support@desk.example), which `POST tickets` takes as `to`. A
    ticket's number is its id. Temporary files live as long as the process."""

    name = "thulium"
    path = "/api/"
    MAILBOX_DOMAIN = "desk.example"
    TICKET_FIELDS = {"to", "from", "subject", "body", "body_type", "comment", "cc", "attachments",
                     "source", "direction", "user_login", "customer_id", "tags", "status_id",
                     "substatus_id", "category_id", "ticket_queue_id", "custom_fields"}
    RESPONSE_FIELDS = {"body", "body_type", "date"}
    DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")

    def __init__(self, store, identifier, secret):
        self.store = store
        self.identifier = identifier
        self.secret = secret
        self.files = {}  # token -> the stored form of parse_attachments()

    def handles(self, path):
        return path.startswith(self.path) and not path.startswith("/api/v2/")

    def admit(self, headers, params):
        """Nothing: the credentials are checked with the call (HTTP Basic)."""

    def mailboxes(self):
        return {f"{name.lower()}@{self.MAILBOX_DOMAIN}": queue
                for queue, name in self.store.departments.items()}

    def parse_call(self, content_type, body, path, authorization, method="POST"):
        parts = urllib.parse.urlsplit(path)
        route = parts.path[len(self.path):].strip("/")
        params = {"_method": method, "_auth": authorization,
                  "_query": urllib.parse.parse_qs(parts.query), "_route": route}
        media = content_type.split(";", 1)[0].strip().lower()
        if method == "POST" and route == "temporary_files":
            params["_raw"] = body
            params["filename"] = params["_query"].get("filename", [""])[0]
            params["size"] = str(len(body))
        elif method == "POST":
            if media != "application/json":
                raise RequestError(400, "Thulium takes application/json")
            try:
                data = json.loads(body or b"null")
            except (ValueError, UnicodeDecodeError):
                raise RequestError(400, "the body is not JSON") from None
            if not isinstance(data, dict):
                raise RequestError(400, "the body must be a JSON object")
            params.update({k: v if isinstance(v, str) else json.dumps(v)
                           for k, v in data.items()})
            params["_json"] = data
        return self._action(method, route.split("/")), params

    @staticmethod
    def _action(method, parts):
        """The call log names calls as WHMCS does, so tests read every desk's calls alike."""
        if parts == ["tickets"]:
            return "OpenTicket" if method == "POST" else "GetTickets"
        if parts == ["temporary_files"] and method == "POST":
            return "UploadFile"
        if len(parts) == 2 and parts[0] == "tickets" and method == "GET":
            return "GetTicket"
        if len(parts) == 3 and parts[0] == "tickets" and parts[2] == "customer_response" \
                and method == "POST":
            return "AddTicketReply"
        return f"{method} {'/'.join(parts)}"

    def handle(self, action, params):
        if not self._authenticated(params.get("_auth", "")):
            return self.auth_failure()
        parts = params["_route"].split("/")
        with self.store.lock:
            if action == "GetTickets":
                return self.list_tickets(params["_query"])
            if action == "UploadFile":
                return self.upload(params)
            if action == "OpenTicket":
                return self.create_ticket(params["_json"])
            if action == "GetTicket":
                return self.get_ticket(parts[1])
            if action == "AddTicketReply":
                return self.add_customer_response(parts[1], params["_json"])
        return self._json({"error": f"no route {action}"}, 404)

    def _authenticated(self, authorization):
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (hmac.compare_digest(user.encode(), self.identifier.encode())
                and hmac.compare_digest(password.encode(), self.secret.encode()))

    def auth_failure(self):
        return self._json({"error": "Unauthorized"}, 401)

    def error(self, message, status=400):
        return self._json({"error": message}, status)

    def redact(self, params):
        return {k: v for k, v in params.items() if not k.startswith("_")}

    @staticmethod
    def _json(obj, status=200):
        note = obj.get("error", "") if isinstance(obj, dict) else ""
        return Reply(status, json.dumps(obj).encode("utf-8"),
                     result="error" if status >= 400 else "success", note=note)

    @staticmethod
    def _minute(date):
        return (date or "")[:16]

    def _view(self, ticket):
        return {
            "ticket_id": ticket["id"], "user_login": None, "from": ticket["email"],
            "ticket_queue_name": ticket["deptname"], "ticket_queue_id": ticket["deptid"],
            "subject": ticket["subject"], "category_id": ticket.get("category_id"),
            "status_id": "3" if ticket["status"] == "Closed" else str(ticket.get("status_id") or 1),
            "substatus_id": None, "customer_id": ticket.get("customer_id"),
            "full_status_name": ticket["status"],
            "created_at": self._minute(ticket["date"]),
            "updated_at": self._minute(ticket["lastreply"]),
            "closed_at": self._minute(ticket["lastreply"]) if ticket["status"] == "Closed"
            else None,
            "messages": self._messages_view(ticket),
            "custom_fields": ticket["customfields"],
        }

    def _messages_view(self, ticket):
        """A ticket's messages as GET tickets/{id} lists them: newest first, as the page's
        example does, and with the desk's own comments among them (a COMMENT has an empty body,
        its text under comment or system_comment): here "Ticket created" after the opening
        mail. Within one minute, the one written last comes first."""
        written = []
        for i, m in enumerate(ticket["messages"]):
            written.append({"user_login": None, "type": "REPLY" if m["admin"] else "MAIL",
                            "body": m["message"], "comment": "", "system_comment": "",
                            "created_at": self._minute(m["date"]),
                            "attachments": [{"filename": a["name"], "size": a["size"]}
                                            for a in m["attachments"]]})
            if i == 0:
                written.append({"user_login": None, "type": "COMMENT", "body": "",
                                "comment": "", "system_comment": "Ticket created",
                                "created_at": self._minute(ticket["date"]), "attachments": []})
        for number, entry in enumerate(written, 1):
            entry["message_id"] = number
        return sorted(written, key=lambda e: (e["created_at"], e["message_id"]), reverse=True)

    def _undocumented(self, data, documented):
        unknown = sorted(set(data) - documented)
        return self.error(f"unknown field{'s' if len(unknown) > 1 else ''}: "
                          + ", ".join(unknown)) if unknown else None

    def list_tickets(self, query):
        def first(name, default=None):
            return query.get(name, [default])[0]

        limit = min(parse_count(first("limit"), 100), 100)
        offset = parse_count(first("offset"), 0)
        tickets = list(self.store.tickets)
        if first("ticket_queue_id"):
            tickets = [t for t in tickets if str(t["deptid"]) == first("ticket_queue_id")]
        if first("date_from"):  # modification date, on the desk's own clock
            tickets = [t for t in tickets
                       if (t.get("touched") or t["lastreply"]) >= first("date_from")]
        order = first("order", "-update_date")
        # The desk's own clock: when a ticket was created and last changed through the API.
        if order.lstrip("-") == "create_date":
            tickets.sort(key=lambda t: t["id"], reverse=order.startswith("-"))
        else:
            tickets.sort(key=lambda t: (t.get("touched") or t["lastreply"], t["id"]),
                         reverse=order.startswith("-"))
        return self._json({"count": len(tickets),
                           "result": [self._view(t) for t in tickets[offset:offset + limit]]})

    def get_ticket(self, ticket_id):
        ticket = self.store.ticket(parse_id(ticket_id))
        if ticket is None:
            return self._json({"error": "Ticket not found"}, 404)
        return self._json(self._view(ticket))

    def upload(self, params):
        if not params["filename"]:
            return self.error("filename is required")
        content = params["_raw"]
        token = secrets.token_hex(12)
        self.files[token] = {"name": params["filename"], "size": len(content),
                             "sha256": hashlib.sha256(content).hexdigest(),
                             "data_b64": base64.b64encode(content).decode("ascii")}
        return self._json({"filename": params["filename"], "token": token,
                           "size": len(content)})

    def _body_type(self, data, default):
        body_type = data.get("body_type", default)
        return body_type if body_type in ("PLAIN", "HTML") else None

    def create_ticket(self, data):
        refused = self._undocumented(data, self.TICKET_FIELDS)
        if refused:
            return refused
        for field in ("to", "subject", "body"):
            if not isinstance(data.get(field), str) or not data[field].strip():
                return self.error(f"{field} is required")
        queue = self.mailboxes().get(data["to"].lower())
        if queue is None:
            return self.error(f"no mailbox {data['to']}")
        if data.get("ticket_queue_id") is not None:
            queue = parse_id(str(data["ticket_queue_id"]))
            if queue not in self.store.departments:
                return self.error("Queue not found")
        if self._body_type(data, "PLAIN") is None:
            return self.error("body_type is PLAIN or HTML")
        tokens = data.get("attachments") or []
        cc = data.get("cc") or []
        tags = data.get("tags") or []
        fields = data.get("custom_fields") or {}
        if not (isinstance(tokens, list) and isinstance(cc, list) and isinstance(tags, list)
                and isinstance(fields, dict)):
            return self.error("attachments, cc and tags are arrays, custom_fields an object")
        if any(token not in self.files for token in tokens):
            return self.error("unknown attachment token")
        date = now_string()
        ticket = self.store.add_ticket({
            "deptid": queue, "deptname": self.store.departments[queue],
            "subject": data["subject"], "status": "Open", "priority": "Medium",
            "name": "", "email": data.get("from", ""),
            "clientid": 0, "contactid": 0, "cc": ",".join(cc), "date": date, "lastreply": date,
            "serviceid": 0, "domainid": 0, "markdown": False, "noemail": False, "admin": False,
            "customfields": {str(k): str(v) for k, v in fields.items()},
            "category_id": data.get("category_id"), "status_id": data.get("status_id"),
            "customer_id": data.get("customer_id"), "tags": tags, "to": data["to"],
            "body_type": data.get("body_type", "PLAIN"), "touched": now_string(), "flag": 0,
            "messages": [{"replyid": 0, "userid": 0, "contactid": 0, "name": "",
                          "email": data.get("from", ""), "admin": "", "date": date,
                          "message": data["body"], "markdown": False, "noemail": False,
                          "attachments": [self.files[token] for token in tokens]}],
            "notes": [],
        }, number_is_id=True)
        return self._json({"ticket_id": ticket["id"]})

    def add_customer_response(self, ticket_id, data):
        ticket = self.store.ticket(parse_id(ticket_id))
        if ticket is None:
            return self._json({"error": "Ticket not found"}, 404)
        refused = self._undocumented(data, self.RESPONSE_FIELDS)
        if refused:
            return refused
        if not isinstance(data.get("body"), str) or not data["body"].strip():
            return self.error("body is required")
        if self._body_type(data, "HTML") is None:
            return self.error("body_type is PLAIN or HTML")
        if "date" in data and not (isinstance(data["date"], str)
                                   and self.DATE.fullmatch(data["date"])):
            return self.error("date is YYYY-MM-DD HH:MM")
        date = data.get("date") or now_string()[:16]
        ticket["messages"].append({
            "replyid": len(ticket["messages"]), "userid": 0, "contactid": 0, "name": "",
            "email": "", "admin": "", "date": date, "message": data["body"],
            "body_type": data.get("body_type", "HTML"), "markdown": False, "noemail": False,
            "attachments": []})
        ticket["status"] = "Customer-Reply"
        ticket["lastreply"] = date
        ticket["touched"] = now_string()
        self.store.save()
        return Reply(200, b"", "application/json", result="success")


class ControlApi:
    """/_sandbox/*: unauthenticated JSON endpoints for tests, loopback clients only."""

    prefix = "/_sandbox/"

    def __init__(self, store, faults):
        self.store = store
        self.faults = faults
        self.routes = {
            ("GET", "health"): lambda body: control_reply({"ok": True}),
            ("GET", "tickets"): self.tickets,
            ("GET", "calls"): self.calls,
            ("POST", "reset"): self.reset,
            ("GET", "fault"): lambda body: control_reply({"fault": self.faults.current()}),
            ("POST", "fault"): self.set_fault,
            ("POST", "contacts"): self.add_contacts,
            ("POST", "move"): self.move,
        }

    def handle(self, method, path, body, client_ip):
        address = ipaddress.ip_address(client_ip.split("%", 1)[0])
        if address.version == 6 and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_loopback:
            return control_reply({"ok": False, "error": "control endpoints are loopback-only"}, 403)
        name = path[len(self.prefix):].strip("/")
        route = self.routes.get((method, name))
        if route:
            return route(body)
        if any(known == name for _, known in self.routes):
            return control_reply({"ok": False, "error": f"{method} not allowed on {path}"}, 405)
        return control_reply({"ok": False, "error": f"no control endpoint {path}"}, 404)

    def tickets(self, body):
        with self.store.lock:
            return control_reply({"tickets": self.store.tickets})

    def calls(self, body):
        with self.store.lock:
            return control_reply({"calls": self.store.calls})

    def reset(self, body):
        self.store.reset()
        self.faults.clear()
        return control_reply({"ok": True})

    def add_contacts(self, body):
        """Contacts for clients: a JSON object or a list of them (Store.add_contact)."""
        try:
            specs = json.loads(body or b"null")
            specs = specs if isinstance(specs, list) else [specs]
            with self.store.lock:
                added = [self.store.add_contact(spec) for spec in specs]
                self.store.save()
        except ValueError as exc:  # includes JSON syntax errors
            return control_reply({"ok": False, "error": str(exc)}, 400)
        return control_reply({"ok": True, "contacts": added})

    def move(self, body):
        """{"id": ticket id, "deptid": department}: what an agent does in any desk's own
        interface (Thulium's API has no call for it), the ticket changed now."""
        try:
            spec = json.loads(body or b"null")
            with self.store.lock:
                ticket = self.store.ticket(parse_id(str(spec["id"])))
                dept_id = parse_id(str(spec["deptid"]))
                if ticket is None or dept_id not in self.store.departments:
                    raise ValueError("no such ticket or department")
                ticket["deptid"] = dept_id
                ticket["deptname"] = self.store.departments[dept_id]
                ticket["touched"] = now_string()
                self.store.touch(ticket)
                self.store.save()
        except (ValueError, KeyError, TypeError) as exc:
            return control_reply({"ok": False, "error": str(exc)}, 400)
        return control_reply({"ok": True})

    def set_fault(self, body):
        try:
            fault = self.faults.configure(json.loads(body or b"null"))
        except ValueError as exc:  # includes JSON syntax errors
            return control_reply({"ok": False, "error": str(exc)}, 400)
        return control_reply({"ok": True, "fault": fault})


# ---------------------------------------------------------------------------
# HTTP server
# ---------------------------------------------------------------------------

HTTP_ERROR_PAGE = ("<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>"
                   "<body><h1>{reason}</h1><p>The sandbox desk was told to fail this "
                   "request.</p></body></html>\n")
# What a PHP desk prints when a warning leaks into the output and the process
# dies mid-answer: valid-looking JSON that no parser accepts.
# The "huge" answer: JSON of this many bytes, more than a client should read into memory.
HUGE_BODY_BYTES = 40 << 20
GARBLED_BODY = (b'<br />\n<b>Warning</b>:  Undefined array key "deptid" in '
                b"<b>/var/www/whmcs/includes/api/openticket.php</b> on line <b>42</b><br />\n"
                b'{"result":"success","id":"')


class SandboxServer(ThreadingHTTPServer):
    """Threading server so a deliberately slow answer blocks nobody else."""

    daemon_threads = True  # a sleeping fault must not delay shutdown

    def __init__(self, address, store, apis, faults, quiet):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.store = store
        self.apis = apis
        self.faults = faults
        self.control = ControlApi(store, faults)
        self.quiet = quiet
        self.max_body = MAX_BODY_BYTES  # requests past it are refused (413)
        super().__init__(address, SandboxHandler)

    def log(self, line):
        if not self.quiet:
            sys.stderr.write(f"sandbox-desk: {line}\n")
            sys.stderr.flush()

    def api_for(self, path):
        return next((api for api in self.apis if api.handles(path)), None)

    def serve_api_call(self, api, request, body):
        """One desk API request: parse, apply any fault, answer, record the call. None when a
        fault closes the connection without an answer."""
        started = time.monotonic()
        try:
            action, params = api.parse_call(request.headers.get("Content-Type", ""), body,
                                            request.path,
                                            request.headers.get("Authorization", ""),
                                            request.command)
        except RequestError as exc:
            reply = Reply(exc.status, json.dumps({"result": "error", "message": exc.message})
                          .encode("utf-8"), result="error", note=exc.message)
            self._record(api, "", {}, reply, None, started, request.path)
            return reply
        api.admit(request.headers, params)
        # For the call log: how a Keliweb call was let in ("static", "token" or None), and
        # the headers that decide how Laravel answers a refusal.
        seen = {"auth": params.get("_auth"), "headers": params.get("_headers")}
        fault = self.faults.take(action, params, request.requests_served > 1)
        mode = fault.mode if fault else None
        if mode == "drop":
            self._record(api, action, api.redact(params), Reply(0, b"", result=mode), mode,
                         started, request.path, **seen)
            return None
        if mode == "slow":
            time.sleep(fault.delay)
        if mode in ("http500", "http503"):
            status = int(mode[4:])
            reason = "Internal Server Error" if status == 500 else "Service Unavailable"
            reply = Reply(status, HTTP_ERROR_PAGE.format(status=status, reason=reason)
                          .encode("utf-8"), "text/html; charset=utf-8", result=mode)
            if status == 503:
                reply.headers["Retry-After"] = "30"
        elif mode == "badjson":
            reply = Reply(200, GARBLED_BODY, "text/html; charset=utf-8", result=mode)
        elif mode == "huge":
            reply = Reply(200, b'{"result":"success","message":"' + b"x" * HUGE_BODY_BYTES
                          + b'"}', "application/json", result=mode)
        elif mode == "error":
            reply = api.error(fault.message)
        elif mode == "error400":  # the API's own "no", with a 4xx status as a REST front may
            reply = replace(api.error(fault.message), status=400)
        elif mode == "auth":
            reply = api.auth_failure()
        elif mode == "missing":
            reply = Reply(404, b'{"result":"error","message":"Not Found"}', result=mode)
        else:
            reply = api.handle(action, params)
            if mode == "bare_answer" and reply.status == 200:
                reply = Reply(200, b'{"result":"success"}', result=mode)
        self._record(api, action, api.redact(params), reply, mode, started, request.path,
                     **seen)
        if mode == "slow_after_create":
            time.sleep(fault.delay)
        if mode in ("lose_answer", "lose_answer_reused"):
            return None  # the work is done; the answer never leaves
        return reply

    def _record(self, api, action, params, reply, mode, started, path, auth=None,
                headers=None):
        # started/finished (this process's monotonic clock) let a test see calls overlap; the
        # path tells apart REST calls whose parameters are in it (Thulium's GET tickets/ID).
        self.store.record_call({"api": api.name, "action": action, "params": params,
                                "path": path, "auth": auth, "headers": headers,
                                "http_status": reply.status, "result": reply.result,
                                "fault": mode, "started": started,
                                "finished": time.monotonic()})
        detail = f" ({reply.note})" if reply.note else ""
        fault = f" [fault {mode}]" if mode else ""
        self.log(f"{api.name} {action or '-'} -> {reply.status} {reply.result}{detail}{fault}")


class SandboxHandler(BaseHTTPRequestHandler):
    """Routes a request to the control endpoints or to the desk API of its path.

    HTTP/1.1 so that `Expect: 100-continue` (which libcurl sends with larger
    bodies) is answered at once instead of costing the client a one-second
    wait; hence bodies are always fully read and lengths always sent.
    """

    # Headers and body leave in separate writes; with Nagle's algorithm the body then waits for
    # the client's delayed ACK, 40 ms per call on Linux, which made a 5,000-mail import crawl.
    disable_nagle_algorithm = True

    protocol_version = "HTTP/1.1"
    server_version = "SandboxDesk/1"

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    requests_served = 0  # on this connection, this one included

    def _route(self, method):
        self.requests_served += 1
        try:
            body = self._read_body()
        except RequestError as exc:
            self.close_connection = True
            self._send(control_reply({"ok": False, "error": exc.message}, exc.status))
            return
        path = urllib.parse.urlsplit(self.path).path
        api = self.server.api_for(path)
        if path.startswith(ControlApi.prefix):
            reply = self.server.control.handle(method, path, body, self.client_address[0])
        elif api:
            reply = self.server.serve_api_call(api, self, body)
        else:
            self.server.log(f"{method} {path} -> 404")
            reply = Reply(404, b'{"result":"error","message":"Not Found"}', result="error")
        if reply is None:
            # A fault lost the answer: the connection closes without one.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(reply)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length", "0").strip() or "0"
        if not length.isdigit():
            raise RequestError(400, "bad Content-Length")
        if int(length) > self.server.max_body:
            # Read and dropped, as nginx does before it answers 413: a server that closes the
            # connection on a body not read resets it, and the client may never see the 413.
            left = int(length)
            while left > 0:
                chunk = self.rfile.read(min(1 << 20, left))
                if not chunk:
                    break
                left -= len(chunk)
            raise RequestError(413, "request body too large")
        return self.rfile.read(int(length))

    def _read_chunked(self):
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise RequestError(400, "bad chunk size") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # skip trailers
                    pass
                return bytes(body)
            if len(body) + size > self.server.max_body:
                raise RequestError(413, "request body too large")
            body += self.rfile.read(size)
            self.rfile.readline(1024)  # CRLF after the chunk

    def _send(self, reply):
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. timed out on a slow fault): expected.
            self.close_connection = True

    def log_request(self, code="-", size="-"):
        """Silence the access log; the server logs one line per API call itself."""

    def log_message(self, format, *args):
        self.server.log(f"{self.address_string()} {format % args}")


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def parse_departments(text):
    """"1:Support,2:Billing" -> {1: "Support", 2: "Billing"}."""
    departments = {}
    for item in text.split(","):
        number, _, name = item.partition(":")
        if not number.strip().isdigit() or not name.strip():
            raise argparse.ArgumentTypeError(f"bad department {item!r}; use ID:NAME")
        departments[int(number)] = name.strip()
    return departments


def write_atomically(path, text):
    """tmp + rename, so a reader polling for the file never sees half of it."""
    with open(path + ".tmp", "w", encoding="utf-8") as stream:
        stream.write(text)
    os.replace(path + ".tmp", path)


def tls_context(cert_path):
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 and localhost.

    The certificate goes to cert_path so that a test can hand it to the client as its CA file;
    a client without it must refuse the connection, which is what TLS verification tests check."""
    key_path = cert_path + ".key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-keyout", key_path, "-out", cert_path,
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the listening port here")
    parser.add_argument("--state", help="JSON file keeping the tickets across restarts")
    parser.add_argument("--identifier", default="sandbox-identifier")
    parser.add_argument("--secret", default="sandbox-secret",
                        help="API secret; the SANDBOX_DESK_SECRET variable wins over it")
    parser.add_argument("--departments", type=parse_departments,
                        default=parse_departments("1:Support,2:Billing,3:Sales"))
    parser.add_argument("--seed", type=int, default=1, help="seed for tid and c values")
    parser.add_argument("--quiet", action="store_true", help="no request log on stderr")
    parser.add_argument("--max-body-mb", type=int, default=MAX_BODY_BYTES >> 20,
                        help="refuse requests larger than this (HTTP 413)")
    parser.add_argument("--tls-self-signed", metavar="CERT",
                        help="serve HTTPS with a new self-signed certificate for 127.0.0.1, "
                             "written to CERT (PEM) for the client to trust")
    login = parser.add_argument_group("Keliweb's login (POST /oauth/token)")
    login.add_argument("--client-id", default="sandbox-client")
    login.add_argument("--client-secret", default="sandbox-client-secret",
                       help="the SANDBOX_DESK_CLIENT_SECRET variable wins over it")
    login.add_argument("--username", default="sandbox@example.com")
    login.add_argument("--password",
                       help="default: the API secret; the SANDBOX_DESK_PASSWORD variable wins")
    login.add_argument("--token-lifetime", type=int, default=3600, metavar="SECONDS",
                       help="how long a token the login gives works (expires_in)")
    args = parser.parse_args(argv)
    secret = os.environ.get("SANDBOX_DESK_SECRET") or args.secret
    client_secret = os.environ.get("SANDBOX_DESK_CLIENT_SECRET") or args.client_secret
    password = os.environ.get("SANDBOX_DESK_PASSWORD") or args.password or secret
    if args.token_lifetime < 1:
        parser.error("--token-lifetime must be at least 1")
    issuer = TokenIssuer(args.token_lifetime)

    try:
        store = Store(args.departments, args.seed, args.state)
        store.save()
    except (OSError, ValueError, KeyError) as exc:
        print(f"sandbox-desk: cannot use state file {args.state}: {exc}", file=sys.stderr)
        return 2
    faults = FaultControl()
    try:
        server = SandboxServer((args.host, args.port), store,
                               [WhmcsApi(store, args.identifier, secret),
                                KeliwebApi(store, args.identifier, secret, issuer),
                                KeliwebLoginApi(issuer, args.client_id, client_secret,
                                                args.username, password),
                                ThuliumApi(store, args.identifier, secret)], faults, args.quiet)
    except OSError as exc:
        print(f"sandbox-desk: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    server.max_body = args.max_body_mb << 20

    scheme = "http"
    if args.tls_self_signed:
        try:
            server.socket = tls_context(args.tls_self_signed).wrap_socket(
                server.socket, server_side=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"sandbox-desk: cannot set up TLS: {exc}", file=sys.stderr)
            return 1
        scheme = "https"

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # serve_forever runs in a thread because shutdown() must be called from
    # another thread than the serving one; the main thread waits for a signal.
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    serving.start()
    port = server.server_address[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"sandbox desk listening on {scheme}://{host}:{port}", flush=True)
    if args.port_file:
        write_atomically(args.port_file, f"{port}\n")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        serving.join()
        server.server_close()
        if args.port_file:
            try:
                os.remove(args.port_file)
            except FileNotFoundError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
