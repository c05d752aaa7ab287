#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`mail2ticket parse` on every sample mail equals the stored samples/expected/NAME.json.

Run with --update to rewrite the expected files after a deliberate parser change, then review the
diff: it is the parser's behaviour change, line by line."""

import glob
import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, SAMPLES, SOURCE_DIR  # noqa: E402

EXPECTED = os.path.join(SOURCE_DIR, "samples", "expected")


def parse(path):
    return json.loads(subprocess.run([BINARY, "parse", path], capture_output=True,
                                     check=True).stdout)


def parse_bytes(raw):
    return json.loads(subprocess.run([BINARY, "parse", "--attachment-data", "-"], input=raw,
                                     capture_output=True, check=True).stdout)


def comparable(parsed):
    """A parse without what depends on the raw bytes themselves."""
    del parsed["size"], parsed["sha256"]
    parsed["warnings"] = [re.sub(r"\(byte \d+", "(byte N", w) for w in parsed["warnings"]]
    parsed["attachments"] = [a for a in parsed["attachments"]
                             if a["filename"] != "original-message.eml"]
    return parsed


class ParseSamples(unittest.TestCase):
    def test_every_sample_has_expected_output(self):
        mails = sorted(glob.glob(os.path.join(SAMPLES, "*.eml")))
        self.assertGreaterEqual(len(mails), 12)
        for mail in mails:
            name = os.path.splitext(os.path.basename(mail))[0]
            with self.subTest(mail=name):
                with open(os.path.join(EXPECTED, name + ".json")) as f:
                    expected = json.load(f)
                self.assertEqual(parse(mail), expected)

    def test_lf_and_crlf_line_ends_give_the_same_mail(self):
        """A mail fetched over IMAP has CRLF line ends, one an MTA pipes has LF: the same mail
        either way. Only the raw size and digest, the byte offsets in warnings and a whole-mail
        safety copy (original-message.eml, the raw bytes) may differ."""
        for mail in sorted(glob.glob(os.path.join(SAMPLES, "*.eml"))):
            with open(mail, "rb") as f:
                lf = f.read().replace(b"\r\n", b"\n")
            with self.subTest(mail=os.path.basename(mail)):
                self.assertEqual(comparable(parse_bytes(lf)),
                                 comparable(parse_bytes(lf.replace(b"\n", b"\r\n"))))

    def test_stdin_equals_file(self):
        mail = os.path.join(SAMPLES, "04-pdf-attachment.eml")
        with open(mail, "rb") as f:
            out = subprocess.run([BINARY, "parse", "-"], stdin=f, capture_output=True,
                                 check=True).stdout
        self.assertEqual(json.loads(out), parse(mail))


def update():
    for mail in sorted(glob.glob(os.path.join(SAMPLES, "*.eml"))):
        name = os.path.splitext(os.path.basename(mail))[0]
        with open(os.path.join(EXPECTED, name + ".json"), "w") as f:
            json.dump(parse(mail), f, indent=2, ensure_ascii=False)
            f.write("\n")
        print("wrote", name + ".json")


if __name__ == "__main__":
    if "--update" in sys.argv:
        update()
    else:
        unittest.main(verbosity=2)
