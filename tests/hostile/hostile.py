#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile mail of a chosen size, one shape per weakness a hand-written scanner could have.

Each shape repeats one pattern that once made (or could make) a scanner rescan its input from
every position, recurse without bound, or keep per-item state: an opener without its closer, a
long run of one element, deep nesting, many small fields. mail2ticket must read each in time
linear in its size: tests/e2e/test_hostile.py parses every shape at 1 MB and checks that it
finishes with a sane result, and bench/hostile_bench.py times each at 1 MB and at 2 MB, so that a
doubling that costs four times as much shows.

Usage:
  hostile.py --list                          the shapes, with the scanner each attacks
  hostile.py --size 1M --out DIR [SHAPE...]  write SHAPE.eml (or SHAPE.mbox) files into DIR
"""

import argparse
import base64
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tnef"))
import make_winmail_dat as tnef  # noqa: E402

HEAD = ("From: Mallory <mallory@example.org>\nTo: support@example.com\n"
        "Message-ID: <{name}@hostile.example>\nDate: Thu, 05 Mar 2026 10:00:00 +0000\n")


def repeat(pattern, size):
    """pattern repeated to about size bytes."""
    return pattern * max(1, size // len(pattern))


def mail(name, body, subject="hostile", headers="", content_type="text/plain; charset=utf-8"):
    return (HEAD.format(name=name) + f"Subject: {subject}\n" + headers + "MIME-Version: 1.0\n"
            f"Content-Type: {content_type}\n\n").encode() + (
                body if isinstance(body, bytes) else body.encode())


def multipart(name, parts, subject="hostile", headers=""):
    """parts: (headers, body) pairs into one multipart/mixed mail."""
    out = [f"--b\n{h}\n\n".encode() + (b if isinstance(b, bytes) else b.encode()) + b"\n"
           for h, b in parts]
    return mail(name, b"".join(out) + b"--b--\n", subject, headers,
                'multipart/mixed; boundary="b"')


def html(name, size, pattern, before="", after=""):
    return mail(name, before + repeat(pattern, size) + after,
                content_type="text/html; charset=utf-8")


# -- RFC 2047 and RFC 2231 ------------------------------------------------------------------------

def subject_unclosed_words(name, size):
    return mail(name, "hi\n", subject=repeat("=?a?B?x", size))


def from_unclosed_words(name, size):
    raw = mail(name, "hi\n")
    return raw.replace(b"From: Mallory", b"From: " + repeat("=?a?B?x", size).encode(), 1)


def filename_unclosed_words(name, size):
    return multipart(name, [("Content-Type: text/plain", "hi"),
                            ('Content-Type: application/pdf\nContent-Disposition: attachment; '
                             f'filename="{repeat("=?a?B?x", size)}"', "x")])


def subject_many_words(name, size):
    """Adjacent encoded words: each run is merged and decoded once."""
    return mail(name, "hi\n", subject=repeat(" =?utf-8?B?w6nDqQ==?=", size))


def subject_glued_words(name, size):
    return mail(name, "hi\n", subject=repeat("x=?utf-8?Q?=C3=A9?=", size))


def filename_rfc2231_continuations(name, size):
    count = max(1, size // 30)
    params = "".join(f";\n filename*{i}*=%41%42%43" for i in range(count))
    return multipart(name, [("Content-Type: text/plain", "hi"),
                            ("Content-Type: application/pdf\nContent-Disposition: attachment"
                             + params, "x")])


def charset_rfc2231_label(name, size):
    """A charset parameter as long as the mail, encoded: the label is refused before iconv."""
    label = repeat("%0Aiso-8859-3", size)
    return mail(name, b"caf\xe9\n", content_type=f"text/plain; charset*=utf-8''{label}")


# -- headers and addresses ------------------------------------------------------------------------

def many_headers(name, size):
    return mail(name, "hi\n", headers=repeat("X-Junk: value\n", size))


def one_long_header(name, size):
    return mail(name, "hi\n", headers="X-Junk: " + repeat("a", size) + "\n")


def folded_header(name, size):
    return mail(name, "hi\n", subject="start" + repeat("\n x", size))


def many_recipients(name, size):
    return mail(name, "hi\n", headers="Cc: " + repeat("a <a@example.org>, ", size) + "\n")


def address_garbage(name, size):
    return mail(name, "hi\n", headers="Cc: " + repeat('"<@,;:\\', size) + "\n")


def many_references(name, size):
    return mail(name, "hi\n",
                headers="References: " + repeat("<id@example.org> ", size) + "\n"
                "In-Reply-To: " + repeat("<", size // 4) + "\n")


# -- MIME structure -------------------------------------------------------------------------------

def deep_multipart(name, size):
    depth = max(1, size // 60)
    head = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n'
                   for i in range(depth))
    return mail(name, head + "Content-Type: text/plain\n\ndeep\n",
                content_type='multipart/mixed; boundary="top"')


def many_parts(name, size):
    return multipart(name, [("Content-Type: text/plain", "x")] * max(1, size // 30))


def unterminated_boundaries(name, size):
    return mail(name, repeat("--b\n", size), content_type='multipart/mixed; boundary="b"')


def bare_cr(name, size):
    return mail(name, repeat("line\r", size))


# -- HTML -----------------------------------------------------------------------------------------

def html_ordered_items(name, size):
    return html(name, size, "<li>x", "<ol>", "</ol>")


def html_table_cells(name, size):
    return html(name, size, "<td>x", "<table><tr>", "</table>")


def html_table_rows(name, size):
    return html(name, size, "<tr><td>x<td>y", "<table>", "</table>")


def html_deep_nesting(name, size):
    half = size // 2
    return html(name, half, "<div><span>", after="x" + repeat("</span></div>", half))


def html_links_with_breaks(name, size):
    return html(name, size, 'abc          <a href="http://x.org/"><br>y</a> ', "<pre>", "</pre>")


def html_nested_links(name, size):
    return html(name, size, '<a href="http://x.org/"><b>', after="text")


def html_styles(name, size):
    style = "display : " + "x" * 200 + "none"
    return html(name, size, f'<span style="{style}">t</span>')


def html_unclosed_comment(name, size):
    return html(name, size, "<!-- x ", "<p>before</p>")


def html_entities(name, size):
    return html(name, size, "&amp;&#128;&#x2028;&bogus;&")


# -- plain-text scanners --------------------------------------------------------------------------

def uuencode_begins(name, size):
    return mail(name, repeat("begin 644 x\n", size))


def uuencode_unended_block(name, size):
    return mail(name, "begin 644 data.bin\n" + repeat("M" + "A" * 60 + "\n", size))


def flowed_paragraph(name, size):
    return mail(name, repeat("word word word word word word word word word word \n", size) + "end\n",
                content_type="text/plain; charset=utf-8; format=flowed; delsp=yes")


def flowed_quote_depths(name, size):
    lines = "".join(">" * d + " soft \n" for d in range(1, 40))
    return mail(name, repeat(lines, size), content_type="text/plain; format=flowed")


def reply_attribution_lines(name, size):
    """Lines that look almost like attributions, as long as an attribution may be."""
    line = "On 2026-03-05 10:00 " + "schrieb 于 " * 36 + "x wrote:\n"
    return mail(name, repeat(line, size))


def reply_quote_blocks(name, size):
    return mail(name, "Answer.\n" + repeat("\n\n> quoted\n\nSent from my iPhone\n\n", size))


def reply_outlook_headers(name, size):
    return mail(name, "Answer.\n" + repeat("From: a\nSent: b\n________________________________\n",
                                           size))


def reply_separators(name, size):
    return mail(name, "Answer.\n" + repeat("-----Original Message-----\n", size))


def reply_marker_lines(name, size):
    return mail(name, repeat("## Please reply above this line ## " + "é" * 20 + "\n", size))


def reply_long_line(name, size):
    return mail(name, "On " + repeat("1:00 schrieb ", size) + ":\n> q\n")


def signature_lines(name, size):
    return mail(name, repeat("-- \nSent from my iPhone\n", size))


# -- charsets -------------------------------------------------------------------------------------

def charset_invalid_bytes(name, size):
    return mail(name, repeat(b"\x81\x8d\x8f\x90\x9d\xff", size),
                content_type="text/plain; charset=windows-1252")


def charset_iso2022_escapes(name, size):
    return mail(name, repeat(b"\x1b$B\x1b(J\x1b$(D\x80", size),
                content_type="text/plain; charset=iso-2022-jp")


def charset_utf16_odd(name, size):
    return mail(name, repeat(b"\xd8\x00a", size), content_type="text/plain; charset=utf-16")


# -- calendar, report, TNEF -----------------------------------------------------------------------

def calendar(name, body):
    return multipart(name, [("Content-Type: text/plain", "invitation"),
                            ("Content-Type: text/calendar; charset=utf-8; method=REQUEST", body)])


def calendar_lone_quotes(name, size):
    line = 'DTSTART;TZID=";X=":20260310T140000Z\n'
    return calendar(name, "BEGIN:VCALENDAR\nBEGIN:VEVENT\n" + repeat(line, size) + "END:VEVENT\n")


def calendar_many_params(name, size):
    return calendar(name, "BEGIN:VEVENT\nORGANIZER" + repeat(';X="a;b:c"', size)
                    + ":mailto:a@x.org\nEND:VEVENT\n")


def calendar_folded_line(name, size):
    return calendar(name, "BEGIN:VEVENT\nSUMMARY:" + repeat("\n  x", size) + "\nEND:VEVENT\n")


def calendar_many_events(name, size):
    return calendar(name, repeat("BEGIN:VEVENT\nSUMMARY:x\\,y\\n\nEND:VEVENT\n", size))


def report_many_fields(name, size):
    fields = repeat("X-Field: value\n", size // 2)
    return mail(name, f"--r\nContent-Type: text/plain\n\nbounced\n--r\n"
                f"Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n{fields}\n"
                f"Final-Recipient: rfc822; a@x\nAction: failed\n{fields}\n--r--\n",
                content_type='multipart/report; report-type=delivery-status; boundary="r"')


def report_folded_diagnostic(name, size):
    return mail(name, "--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\n"
                "Final-Recipient: rfc822; a@x\nAction: failed\nDiagnostic-Code: smtp; 550"
                + repeat("\n \t x", size) + "\n--r--\n",
                content_type='multipart/report; report-type=delivery-status; boundary="r"')


def winmail(name, blob):
    return multipart(name, [("Content-Type: text/plain", "see attached"),
                            ("Content-Type: application/ms-tnef; name=winmail.dat\n"
                             "Content-Transfer-Encoding: base64",
                             base64.encodebytes(blob).decode())])


def tnef_head():
    return struct.pack("<IH", tnef.SIGNATURE, tnef.LEGACY_KEY)


def tnef_attachment_start():
    """attAttachRendData, which opens an attachment: its properties are read only after it."""
    rend = struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0)
    return tnef.attribute(tnef.LVL_ATTACHMENT, tnef.ATT_ATTACH_REND_DATA, rend)


def tnef_many_props(name, size):
    count = max(1, size * 3 // 4 // 8)
    props = tnef.prop_list([tnef.prop_long(tnef.PR_ATTACH_SIZE, i) for i in range(count)])
    blob = tnef_head() + tnef_attachment_start() + tnef.attribute(
        tnef.LVL_ATTACHMENT, tnef.ATT_ATTACHMENT, props)
    return winmail(name, blob)


def tnef_many_attributes(name, size):
    one = tnef.attribute(tnef.LVL_MESSAGE, tnef.ATT_SUBJECT, b"x\0")
    return winmail(name, tnef_head() + one * max(1, size * 3 // 4 // len(one)))


def tnef_many_attachments(name, size):
    one = tnef.attachment("A.TXT", "a.txt", False, "text/plain", b"a")
    return winmail(name, tnef_head() + one * max(1, size * 3 // 4 // len(one)))


def tnef_lying_counts(name, size):
    """A property list that claims far more entries than it holds, then garbage."""
    props = struct.pack("<I", 0xFFFFFFF0) + repeat(b"\x03\x00\x20\x0e\xff\xff\xff\xff", size // 2)
    return winmail(name, tnef_head() + tnef_attachment_start() + tnef.attribute(
        tnef.LVL_ATTACHMENT, tnef.ATT_ATTACHMENT, props))


# -- mbox (for import) ----------------------------------------------------------------------------

def mbox_from_lines_in_one_mail(name, size):
    body = repeat("From someone Thu Mar  5 10:00:00 2026\n>From quoted\n\n", size)
    return b"From a@example.org Thu Mar  5 10:00:00 2026\n" + mail(name, body) + b"\n"


def mbox_tiny_messages(name, size):
    one = (b"From a@example.org Thu Mar  5 10:00:00 2026\nFrom: a@example.org\n"
           b"Subject: s\n\nx\n\n")
    return repeat(one, size)


def mbox_long_line(name, size):
    line = repeat("From x ", size)
    return b"From a@example.org Thu Mar  5 10:00:00 2026\n" + mail(name, line + "\n") + b"\n"


SHAPES = {
    # name: (function, what it attacks); mbox shapes end in _mbox when written.
    "subject_unclosed_words": (subject_unclosed_words, "RFC 2047: '=?a?B?x' without '?=' (subject)"),
    "from_unclosed_words": (from_unclosed_words, "RFC 2047 in an address (GMime, header_decode)"),
    "filename_unclosed_words": (filename_unclosed_words, "RFC 2047 in a file name"),
    "subject_many_words": (subject_many_words, "RFC 2047: adjacent words merged and decoded"),
    "subject_glued_words": (subject_glued_words, "RFC 2047: words glued to text"),
    "filename_rfc2231_continuations": (filename_rfc2231_continuations,
                                       "RFC 2231: thousands of filename*N* continuations"),
    "charset_rfc2231_label": (charset_rfc2231_label, "RFC 2231 charset label with line feeds"),
    "many_headers": (many_headers, "GMime: many header fields"),
    "one_long_header": (one_long_header, "GMime: one long header line"),
    "folded_header": (folded_header, "header unfolding"),
    "many_recipients": (many_recipients, "address lists (GMime)"),
    "address_garbage": (address_garbage, "address list of special characters (GMime)"),
    "many_references": (many_references, "References and In-Reply-To (GMime)"),
    "deep_multipart": (deep_multipart, "MIME nesting (GMime, mail_parse's depth limit)"),
    "many_parts": (many_parts, "many MIME parts (mail_parse's part limit)"),
    "unterminated_boundaries": (unterminated_boundaries, "boundaries without content (GMime)"),
    "bare_cr": (bare_cr, "bare CR line ends (without_bare_cr, unix_line_ends)"),
    "html_ordered_items": (html_ordered_items, "html_text: <li> in <ol>"),
    "html_table_cells": (html_table_cells, "html_text: <td> in one row"),
    "html_table_rows": (html_table_rows, "html_text: rows of cells"),
    "html_deep_nesting": (html_deep_nesting, "html_text: nesting past libxml2's tree limit"),
    "html_links_with_breaks": (html_links_with_breaks, "html_text: <br> in links after blanks"),
    "html_nested_links": (html_nested_links, "html_text: links in links"),
    "html_styles": (html_styles, "html_text: long style attributes"),
    "html_unclosed_comment": (html_unclosed_comment, "libxml2: a comment without its end"),
    "html_entities": (html_entities, "libxml2: entities and character references"),
    "uuencode_begins": (uuencode_begins, "uuencode: 'begin' lines without 'end'"),
    "uuencode_unended_block": (uuencode_unended_block, "uuencode: one block without 'end'"),
    "flowed_paragraph": (flowed_paragraph, "format=flowed: one long soft-broken paragraph"),
    "flowed_quote_depths": (flowed_quote_depths, "format=flowed: changing quote depths"),
    "reply_attribution_lines": (reply_attribution_lines,
                                "reply_text: near-attributions (regular expressions)"),
    "reply_quote_blocks": (reply_quote_blocks, "reply_text: quotes, blanks and footers"),
    "reply_outlook_headers": (reply_outlook_headers, "reply_text: Outlook header blocks"),
    "reply_separators": (reply_separators, "reply_text: '-----Original Message-----' lines"),
    "reply_marker_lines": (reply_marker_lines, "reply_text: reply markers, non-ASCII"),
    "reply_long_line": (reply_long_line, "reply_text: one long attribution-like line"),
    "signature_lines": (signature_lines, "reply_text: signatures and footers"),
    "charset_invalid_bytes": (charset_invalid_bytes, "charset: undefined windows-1252 bytes"),
    "charset_iso2022_escapes": (charset_iso2022_escapes, "charset: ISO-2022-JP escapes"),
    "charset_utf16_odd": (charset_utf16_odd, "charset: broken UTF-16"),
    "calendar_lone_quotes": (calendar_lone_quotes, "calendar: parameter of one lone quote"),
    "calendar_many_params": (calendar_many_params, "calendar: many quoted parameters"),
    "calendar_folded_line": (calendar_folded_line, "calendar: one long folded line"),
    "calendar_many_events": (calendar_many_events, "calendar: many events"),
    "report_many_fields": (report_many_fields, "report: delivery status with many fields"),
    "report_folded_diagnostic": (report_folded_diagnostic, "report: long folded diagnostic"),
    "tnef_many_props": (tnef_many_props, "TNEF: one property list of many entries"),
    "tnef_many_attributes": (tnef_many_attributes, "TNEF: many attributes"),
    "tnef_many_attachments": (tnef_many_attachments, "TNEF: many attachments"),
    "tnef_lying_counts": (tnef_lying_counts, "TNEF: counts larger than the data"),
    "mbox_from_lines_in_one_mail": (mbox_from_lines_in_one_mail,
                                    "mbox splitting: 'From ' lines inside a mail"),
    "mbox_tiny_messages": (mbox_tiny_messages, "mbox splitting: many tiny messages"),
    "mbox_long_line": (mbox_long_line, "mbox splitting: one long line of 'From '"),
}


def is_mbox(shape):
    return shape.startswith("mbox_")


def file_name(shape):
    return shape + (".mbox" if is_mbox(shape) else ".eml")


def make(shape, size):
    """The bytes of shape at about size bytes."""
    return SHAPES[shape][0](shape, size)


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else int(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--list", action="store_true", help="list the shapes")
    parser.add_argument("--size", type=parse_size, default=1 << 20, help="e.g. 1M, 512K")
    parser.add_argument("--out", help="folder to write the files into")
    parser.add_argument("shapes", nargs="*", help="default: all")
    args = parser.parse_args(argv)
    if args.list:
        for shape, (_, what) in SHAPES.items():
            print(f"{shape:32} {what}")
        return 0
    if not args.out:
        parser.error("--out is needed")
    unknown = [s for s in args.shapes if s not in SHAPES]
    if unknown:
        parser.error("unknown shapes: " + ", ".join(unknown))
    os.makedirs(args.out, exist_ok=True)
    for shape in args.shapes or SHAPES:
        with open(os.path.join(args.out, file_name(shape)), "wb") as f:
            f.write(make(shape, args.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
