#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write a seeded, realistic mbox for the benchmarks and the import tests.

Usage: bench/gen_mbox.py OUT.mbox SIZE_MB [SEED] [--no-ticket-numbers]
       bench/gen_mbox.py OUT.mbox --count N [--seed SEED] [--light]

SIZE_MB: about that many megabytes; --count: exactly N mails; --light: no attachments and no
ticket numbers (for tests that send every mail to a fresh desk, which knows none of them);
--no-ticket-numbers: the same mails, but no reply names its ticket, so a dry run asks the desk
nothing (for measuring the parse alone).

The mix follows a support inbox: plain text in several charsets and transfer encodings, HTML-only
and multipart/alternative mail, attachments, replies with quoted history, encoded-word subjects
(including the split words GMime 3.2.13 cuts short), replies whose subject carries the ticket
number the desk's answer gave the thread ("Re: [Ticket ID: #1234567] ...", about 3 replies in 4:
the rest answer before the desk did) and legal 200-character lines with "From "
in the middle (the lines GMime's mbox mode splits wrongly). Nothing is downloaded; the same seed
gives the same bytes."""

import argparse
import base64
import datetime
import email.utils
import quopri
import random
import sys

# Mail i is dated 7 minutes after mail i-1 (give or take): an answer is later than what it answers.
START = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
WORDS = ("invoice account password server domain renew payment refund error login update "
         "backup mailbox certificate order shipping delivery please thanks problem since "
         "yesterday customer support ticket export import report monthly contract").split()
NAMES = ["Alice Example", "Bob Builder", "Carol Jones", "Dörte Maßmann", "Иван Петров",
         "田中 太郎", "Zofia Wiśniewska", "José García"]
CHARSETS = ["utf-8", "iso-8859-1", "windows-1252"]


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def paragraph(rng):
    return "\n".join(sentence(rng, rng.randint(6, 12)) for _ in range(rng.randint(2, 6)))


def body_text(rng):
    paras = [paragraph(rng) for _ in range(rng.randint(1, 6))]
    if rng.random() < 0.15:
        # A legal long line with "From " in the middle: GMime's mbox mode cuts mails on these.
        paras.append("x" * 120 + " From here on " + "y" * 66)
    return "\n\n".join(paras) + "\n"


def encoded_subject(rng, text):
    if rng.random() < 0.7:
        return text
    data = text.encode("utf-8")
    cut = max(1, len(data) // 2)
    # Two B-words of one charset, the first padded: the GMime 3.2.13 case.
    words = [base64.b64encode(part).decode() for part in (data[:cut], data[cut:]) if part]
    return " ".join("=?utf-8?B?%s?=" % w for w in words)


def encoded_name(name):
    if name.isascii():
        return name
    return "=?utf-8?B?%s?=" % base64.b64encode(name.encode()).decode()


def text_part(rng, text, subtype="plain"):
    charset = rng.choice(CHARSETS) if text.isascii() or subtype == "html" else "utf-8"
    data = text.encode(charset, errors="replace")
    roll = rng.random()
    if roll < 0.3:
        return ('Content-Type: text/%s; charset="%s"\nContent-Transfer-Encoding: 8bit\n\n%s'
                % (subtype, charset, data.decode(charset)))
    if roll < 0.65:
        payload = quopri.encodestring(data).decode("ascii")
        cte = "quoted-printable"
    else:
        payload = base64.encodebytes(data).decode("ascii")
        cte = "base64"
    return ('Content-Type: text/%s; charset="%s"\nContent-Transfer-Encoding: %s\n\n%s'
            % (subtype, charset, cte, payload))


def html_of(text):
    paras = "".join("<p>%s</p>" % p.replace("\n", "<br>") for p in text.split("\n\n"))
    return ('<html><head><style>p{margin:0}</style></head><body>'
            '<div style="display:none">preheader</div>%s'
            '<ul><li><a href="https://status.example.net/">status</a></li></ul></body></html>'
            % paras)


def attachment(rng, i):
    size = rng.choice([2_000, 8_000, 30_000, 60_000, 120_000])
    data = rng.randbytes(size)
    name = rng.choice(["log-%d.txt", "invoice-%d.pdf", "screenshot-%d.png", "data-%d.csv"]) % i
    kind = {"txt": "text/plain", "pdf": "application/pdf", "png": "image/png",
            "csv": "text/csv"}[name.rsplit(".", 1)[1]]
    return ('Content-Type: %s; name="%s"\nContent-Disposition: attachment; filename="%s"\n'
            "Content-Transfer-Encoding: base64\n\n%s"
            % (kind, name, name, base64.encodebytes(data).decode("ascii")))


def multipart(rng, subtype, parts):
    boundary = "b%016x" % rng.getrandbits(64)
    inner = "".join("--%s\n%s\n" % (boundary, part) for part in parts)
    return ('Content-Type: multipart/%s; boundary="%s"\n\n%s--%s--\n'
            % (subtype, boundary, inner, boundary))


# The share of replies whose subject carries the thread's ticket number; 726 of the issue's
# 5,000 mails were such replies.
TICKET_NUMBER_SHARE = 0.73


def ticket_number(i):
    """The number the desk gave the thread mail i opened: distinct for every i below 9,000,000,
    and seven digits, which the sandbox desk's numbers (six) never are: a test's fresh desk knows
    none of them."""
    return "%07d" % (1000000 + i * 7919 % 9000000)


def message(rng, i, earlier, light=False, tickets=None):
    """One mail; earlier: (Message-ID, name, sender, ticket number) of recent mails it may
    answer; tickets: the generator deciding which replies carry the ticket number (its own, so
    that the rest of the archive is the same with or without them), or None for none."""
    name = rng.choice(NAMES)
    sender = "user%d@example.org" % rng.randint(1, 5000)
    parent = rng.choice(earlier) if earlier and rng.random() < 0.2 else None
    number = parent[3] if parent else ticket_number(i)
    if parent:
        name, sender = parent[1], parent[2]  # a customer following up on their own mail
    subject = sentence(rng, rng.randint(3, 8))[:-1]
    if parent and tickets and tickets.random() < TICKET_NUMBER_SHARE:
        subject = "Re: [Ticket ID: #%s] %s" % (number, subject)
    msgid = "<bench-%d.%x@example.org>" % (i, rng.getrandbits(32))
    headers = ["From: %s <%s>" % (encoded_name(name), sender),
               "To: support@example.com",
               "Subject: %s" % encoded_subject(rng, subject),
               "Date: %s" % email.utils.format_datetime(
                   START + datetime.timedelta(minutes=7 * i + rng.randint(0, 5))),
               "Message-ID: %s" % msgid,
               "MIME-Version: 1.0"]
    text = body_text(rng)
    kind = rng.random()
    if parent:
        headers += ["In-Reply-To: %s" % parent[0], "References: %s" % parent[0]]
        text += ("\nOn Mon, 2 Mar 2026 at 10:00, Support <support@example.com> wrote:\n"
                 + "".join("> %s\n" % line for line in body_text(rng).splitlines()))
    if light and kind >= 0.75:
        kind = 0.0
    if kind < 0.40:
        body = text_part(rng, text)
    elif kind < 0.60:
        body = multipart(rng, "alternative", [text_part(rng, text),
                                              text_part(rng, html_of(text), "html")])
    elif kind < 0.75:
        body = text_part(rng, html_of(text), "html")
    else:
        parts = [text_part(rng, text)] + [attachment(rng, j) for j in range(rng.randint(1, 2))]
        body = multipart(rng, "mixed", parts)
    return "\n".join(headers) + "\n" + body, (msgid, name, sender, number)


def mboxrd_quote(raw):
    out = []
    for line in raw.split("\n"):
        stripped = line.lstrip(">")
        out.append(">" + line if stripped.startswith("From ") else line)
    return "\n".join(out)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out")
    parser.add_argument("size_mb", nargs="?", type=float)
    parser.add_argument("seed", nargs="?", type=int, default=1)
    parser.add_argument("--count", type=int)
    parser.add_argument("--seed", dest="seed_option", type=int)
    parser.add_argument("--light", action="store_true")
    parser.add_argument("--no-ticket-numbers", action="store_true")
    args = parser.parse_args(argv)
    if (args.size_mb is None) == (args.count is None):
        parser.error("give SIZE_MB or --count N")
    if args.seed_option is not None:
        args.seed = args.seed_option
    return args


def main():
    args = parse_args(sys.argv[1:])
    out_path = args.out
    rng = random.Random(args.seed)
    tickets = (None if args.light or args.no_ticket_numbers
               else random.Random(args.seed + 1000003))
    target = int(args.size_mb * 1024 * 1024) if args.size_mb else None
    written = 0
    earlier = []
    with open(out_path, "w", encoding="utf-8", newline="\n") as out:
        i = 0
        while (written < target) if target else (i < args.count):
            raw, this = message(rng, i, earlier[-200:], args.light, tickets)
            earlier.append(this)
            chunk = ("From user@example.org Mon Mar  2 10:00:00 2026\n%s\n"
                     % mboxrd_quote(raw.rstrip("\n") + "\n"))
            out.write(chunk)
            written += len(chunk.encode("utf-8"))
            i += 1
    print("%s: %d messages, %.1f MB" % (out_path, i, written / 1048576))


if __name__ == "__main__":
    main()
