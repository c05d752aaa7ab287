#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the winmail.dat (TNEF, [MS-OXTNEF]) that samples/mail/40-outlook-winmail-dat.eml carries.

The stream is built the way Outlook builds it: signature, legacy key, attTnefVersion,
attOemCodepage, the message attributes, attMsgProps, then per attachment attAttachRendData,
attAttachTitle, the dates, attAttachData and attAttachment with its MAPI properties. It holds two
files: a one-page PDF whose long name "Angebot März 2026.pdf" is PT_UNICODE (8.3 title
"ANGEBO~1.PDF") and "notes.txt", whose long name is PT_STRING8 so both encodings are covered.
Nothing depends on the clock or on randomness: the output is the same on every run.

Usage:
  make_winmail_dat.py [OUT]          the TNEF blob (stdout when OUT is missing or "-")
  make_winmail_dat.py --eml [OUT]    the whole sample mail with the blob as a base64 part
  make_winmail_dat.py --files DIR    the two attachments as they must come out of the blob
"""

import base64
import os
import quopri
import struct
import sys

SIGNATURE = 0x223E9F78
LEGACY_KEY = 0x5A17  # any value: readers ignore it, Outlook picks a random one

LVL_MESSAGE = 0x01
LVL_ATTACHMENT = 0x02

# Attribute ids are (attribute type << 16) | attribute id, as [MS-OXTNEF] 2.1.3.3 lists them.
ATP_STRING, ATP_TEXT, ATP_DATE, ATP_SHORT, ATP_BYTE, ATP_WORD, ATP_DWORD = 1, 2, 3, 4, 6, 7, 8
ATT_SUBJECT = ATP_STRING << 16 | 0x8004
ATT_DATE_SENT = ATP_DATE << 16 | 0x8005
ATT_MESSAGE_CLASS = ATP_WORD << 16 | 0x8008
ATT_BODY = ATP_TEXT << 16 | 0x800C
ATT_PRIORITY = ATP_SHORT << 16 | 0x800D
ATT_ATTACH_DATA = ATP_BYTE << 16 | 0x800F
ATT_ATTACH_TITLE = ATP_STRING << 16 | 0x8010
ATT_ATTACH_CREATE_DATE = ATP_DATE << 16 | 0x8012
ATT_ATTACH_MODIFY_DATE = ATP_DATE << 16 | 0x8013
ATT_ATTACH_REND_DATA = ATP_BYTE << 16 | 0x9002
ATT_MSG_PROPS = ATP_BYTE << 16 | 0x9003
ATT_ATTACHMENT = ATP_BYTE << 16 | 0x9005
ATT_TNEF_VERSION = ATP_DWORD << 16 | 0x9006
ATT_OEM_CODEPAGE = ATP_BYTE << 16 | 0x9007

PT_LONG, PT_BOOLEAN, PT_STRING8, PT_UNICODE, PT_SYSTIME = 0x03, 0x0B, 0x1E, 0x1F, 0x40

PR_MESSAGE_CODEPAGE = 0x3FFD
PR_INTERNET_CPID = 0x3FDE
PR_ATTACH_SIZE = 0x0E20
PR_ATTACH_EXTENSION = 0x3703
PR_ATTACH_FILENAME = 0x3704
PR_ATTACH_METHOD = 0x3705
PR_ATTACH_LONG_FILENAME = 0x3707
PR_RENDERING_POSITION = 0x370B
PR_ATTACH_MIME_TAG = 0x370E
PR_DISPLAY_NAME = 0x3001
PR_CREATION_TIME = 0x3007
ATTACH_BY_VALUE = 1

# Named properties: PSETID_Common by number, PS_INTERNET_HEADERS by name ([MS-OXPROPS]).
PSETID_COMMON = bytes.fromhex("0820060000000000c000000000000046")
PS_INTERNET_HEADERS = bytes.fromhex("8603020000000000c000000000000046")

CODEPAGE = "cp1252"
SENT = (2026, 3, 17, 9, 12, 44, 2)  # dtr: year, month, day, hour, minute, second, weekday
FILETIME_SENT = 134182087640000000  # 2026-03-17 08:12:44 UTC in 100 ns ticks since 1601

PDF_NAME = "Angebot März 2026.pdf"
PDF_TITLE = "ANGEBO~1.PDF"
NOTES_NAME = "notes.txt"
NOTES = (b"Notes for offer 2026-117\r\n"
         b"- delivery in calendar week 15\r\n"
         b"- prices valid until 2026-04-30\r\n")

BODY = ("Sehr geehrte Damen und Herren,\r\n\r\n"
        "anbei unser Angebot für März 2026 und die Notizen aus dem Telefonat.\r\n\r\n"
        "Mit freundlichen Grüßen\r\nAnna Huber\r\n")


def make_pdf():
    """A valid one-page PDF 1.4 with its cross-reference table computed, not typed."""
    text = "Angebot März 2026 - Nr. 2026-117".encode("cp1252")
    text = text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    content = b"BT /F1 18 Tf 72 770 Td (" + text + b") Tj ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def attribute(level, att_id, data):
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BII", level, att_id, len(data)) + data + struct.pack("<H", checksum)


def pad4(data):
    return data + b"\0" * (-len(data) % 4)


def prop_tag(prop_type, prop_id):
    return struct.pack("<I", prop_id << 16 | prop_type)


def prop_long(prop_id, value):
    return prop_tag(PT_LONG, prop_id) + struct.pack("<I", value & 0xFFFFFFFF)


def prop_systime(prop_id, value):
    return prop_tag(PT_SYSTIME, prop_id) + struct.pack("<Q", value)


def variable_value(data):
    # Variable-size values come as a count of values (1), then size, bytes, padding to 4.
    return struct.pack("<II", 1, len(data)) + pad4(data)


def prop_string8(prop_id, text):
    return prop_tag(PT_STRING8, prop_id) + variable_value(text.encode(CODEPAGE) + b"\0")


def prop_unicode(prop_id, text):
    return prop_tag(PT_UNICODE, prop_id) + variable_value(text.encode("utf-16-le") + b"\0\0")


def named_by_id(prop_type, guid, lid, value):
    # Ids 0x8000 and up are named: the GUID, kind 0 (MNID_ID) and the number follow the tag.
    return prop_tag(prop_type, 0x8000) + guid + struct.pack("<II", 0, lid) + value


def named_by_string(prop_type, guid, name, value):
    encoded = name.encode("utf-16-le") + b"\0\0"
    return (prop_tag(prop_type, 0x8001) + guid + struct.pack("<II", 1, len(encoded)) +
            pad4(encoded) + value)


def prop_list(props):
    return struct.pack("<I", len(props)) + b"".join(props)


def dtr(fields):
    return struct.pack("<7H", *fields)


def attachment(title, long_name, long_name_unicode, mime_type, data):
    rend = struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0)  # atyp 1: a file, no position, no flags
    extension = os.path.splitext(long_name)[1]
    if long_name_unicode:
        long_prop = prop_unicode(PR_ATTACH_LONG_FILENAME, long_name)
    else:
        long_prop = prop_string8(PR_ATTACH_LONG_FILENAME, long_name)
    props = [
        prop_long(PR_ATTACH_SIZE, len(data)),
        prop_long(PR_ATTACH_METHOD, ATTACH_BY_VALUE),
        prop_string8(PR_ATTACH_FILENAME, title),
        long_prop,
        prop_string8(PR_ATTACH_EXTENSION, extension),
        prop_string8(PR_ATTACH_MIME_TAG, mime_type),
        prop_unicode(PR_DISPLAY_NAME, long_name),
        prop_long(PR_RENDERING_POSITION, -1),
        prop_systime(PR_CREATION_TIME, FILETIME_SENT),
    ]
    return b"".join([
        attribute(LVL_ATTACHMENT, ATT_ATTACH_REND_DATA, rend),
        attribute(LVL_ATTACHMENT, ATT_ATTACH_TITLE, title.encode(CODEPAGE) + b"\0"),
        attribute(LVL_ATTACHMENT, ATT_ATTACH_CREATE_DATE, dtr(SENT)),
        attribute(LVL_ATTACHMENT, ATT_ATTACH_MODIFY_DATE, dtr(SENT)),
        attribute(LVL_ATTACHMENT, ATT_ATTACH_DATA, data),
        attribute(LVL_ATTACHMENT, ATT_ATTACHMENT, prop_list(props)),
    ])


def make_tnef():
    msg_props = prop_list([
        prop_long(PR_MESSAGE_CODEPAGE, 1252),
        prop_long(PR_INTERNET_CPID, 65001),
        named_by_id(PT_BOOLEAN, PSETID_COMMON, 0x8506, struct.pack("<I", 0)),
        named_by_string(PT_STRING8, PS_INTERNET_HEADERS, "x-ms-has-attach",
                        variable_value(b"yes\0")),
    ])
    return b"".join([
        struct.pack("<IH", SIGNATURE, LEGACY_KEY),
        attribute(LVL_MESSAGE, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000)),
        # Primary code page, then the (unused) secondary one.
        attribute(LVL_MESSAGE, ATT_OEM_CODEPAGE, struct.pack("<II", 1252, 0)),
        attribute(LVL_MESSAGE, ATT_MESSAGE_CLASS, b"IPM.Microsoft Mail.Note\0"),
        attribute(LVL_MESSAGE, ATT_SUBJECT, "Angebot März 2026".encode(CODEPAGE) + b"\0"),
        attribute(LVL_MESSAGE, ATT_DATE_SENT, dtr(SENT)),
        attribute(LVL_MESSAGE, ATT_PRIORITY, struct.pack("<H", 2)),
        attribute(LVL_MESSAGE, ATT_BODY, BODY.encode(CODEPAGE)),
        attribute(LVL_MESSAGE, ATT_MSG_PROPS, msg_props),
        attachment(PDF_TITLE, PDF_NAME, True, "application/pdf", make_pdf()),
        attachment(NOTES_NAME.upper(), NOTES_NAME, False, "text/plain", NOTES),
    ])


EML_HEAD = """\
From: "Huber, Anna" <anna.huber@example.org>
To: Billing <billing@example.com>
Subject: =?utf-8?Q?Angebot_M=C3=A4rz_2026?=
Thread-Topic: =?utf-8?Q?Angebot_M=C3=A4rz_2026?=
Thread-Index: AdqYhR2kQ3Jm8nZrT0uV1wXyZ9aB4A==
Date: Tue, 17 Mar 2026 09:12:44 +0100
Message-ID: <winmail-40@example.com>
Accept-Language: de-DE, en-US
Content-Language: de-DE
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator: <winmail-40@example.com>
Content-Type: multipart/mixed; boundary="_000_winmail40examplecom_"
MIME-Version: 1.0

--_000_winmail40examplecom_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

"""

EML_TEXT = """\
Sehr geehrte Damen und Herren,

anbei erhalten Sie unser Angebot für März 2026 (Nr. 2026-117) sowie die Notizen aus unserem \
Telefonat vom Montag. Bitte prüfen Sie die Positionen und geben Sie uns bis zum 31.03.2026 \
Bescheid, ob wir die Bestellung so auslösen dürfen.

Mit freundlichen Grüßen
Anna Huber
Einkauf
"""

EML_TNEF_HEAD = """
--_000_winmail40examplecom_
Content-Type: application/ms-tnef; name="winmail.dat"
Content-Description: winmail.dat
Content-Disposition: attachment; filename="winmail.dat"
Content-Transfer-Encoding: base64

"""


def make_eml(blob):
    text = quopri.encodestring(EML_TEXT.encode("utf-8")).decode("ascii")
    b64 = base64.b64encode(blob).decode("ascii")
    lines = "".join(b64[i:i + 76] + "\n" for i in range(0, len(b64), 76))
    return (EML_HEAD + text + EML_TNEF_HEAD + lines +
            "\n--_000_winmail40examplecom_--\n").encode("ascii")


def write(path, data):
    if path in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(path, "wb") as f:
            f.write(data)


def main(argv):
    if argv[:1] == ["--files"] and len(argv) == 2:
        os.makedirs(argv[1], exist_ok=True)
        write(os.path.join(argv[1], PDF_NAME), make_pdf())
        write(os.path.join(argv[1], NOTES_NAME), NOTES)
    elif argv[:1] == ["--eml"] and len(argv) <= 2:
        write(argv[1] if len(argv) == 2 else None, make_eml(make_tnef()))
    elif len(argv) <= 1 and not (argv and argv[0].startswith("--")):
        write(argv[0] if argv else None, make_tnef())
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
