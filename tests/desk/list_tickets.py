#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Print the tickets a sandbox desk holds as a table (used by `make demo`).

Usage: list_tickets.py URL      e.g. list_tickets.py http://127.0.0.1:8765

Reads URL/_sandbox/tickets, so it shows what the desk really stored, not what
the client believes it sent.  Standard library only.
"""

import json
import sys
import unicodedata
import urllib.error
import urllib.request

SUBJECT_WIDTH = 50
COLUMNS = ("ID", "TID", "DEPARTMENT", "PRIORITY", "SUBJECT", "ATTACHMENTS", "MESSAGES", "FROM")


def fetch_tickets(base_url):
    url = base_url.rstrip("/") + "/_sandbox/tickets"
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)["tickets"]


def display_width(text):
    """Terminal columns: CJK and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def truncate(text, width):
    """One line of at most `width` columns, marking any cut with '...'."""
    text = " ".join(text.split())
    if display_width(text) <= width:
        return text
    while display_width(text) > width - 3:
        text = text[:-1]
    return text + "..."


def pad(text, width):
    return text + " " * (width - display_width(text))


def table_rows(tickets):
    for ticket in tickets:
        messages = ticket["messages"]
        yield (str(ticket["id"]), ticket["tid"],
               f"{ticket['deptid']} {ticket['deptname']}", ticket["priority"],
               truncate(ticket["subject"], SUBJECT_WIDTH),
               str(sum(len(m["attachments"]) for m in messages)),
               str(len(messages)), ticket["email"])


def format_table(tickets):
    rows = [COLUMNS, *table_rows(tickets)]
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(pad(cell, width) for cell, width in zip(row, widths)).rstrip()
                     for row in rows)


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} URL   (the sandbox desk, e.g. http://127.0.0.1:8765)",
              file=sys.stderr)
        return 2
    try:
        tickets = fetch_tickets(argv[1])
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"list_tickets: cannot read tickets from the sandbox desk at {argv[1]}: {reason}",
              file=sys.stderr)
        return 1
    if not tickets:
        print("(the sandbox desk holds no tickets)")
        return 0
    print(format_table(tickets))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
