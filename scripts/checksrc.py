#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The house rules a reviewer should not have to check by eye, run by .ci/run and ctest.

Every tracked source file carries the SPDX line of LICENSE. C files also:
- open with the SPDX line and then a comment saying what the file is;
- keep lines within 100 columns (tabs are 8), indent by tabs (continuations may add up to 7
  spaces, as .clang-format does), end lines without blanks;
- use /* */ comments only, and no TODO, FIXME or XXX (open work is an issue, not a comment);
- call none of the banned functions: unbounded copies (strcpy, strcat, sprintf, gets), number
  readers that cannot report an error (atoi, atol, atof), strtok's hidden state, alloca,
  tmpnam and mktemp's races, system()'s shell;
- exit() only in cli/: below it errors are returned (GError), so a caller can keep the mail;
- no typedef: a struct is called struct.

Usage: checksrc.py [FILE...]  (no FILE: every tracked file). Prints FILE:LINE: problem, one per
line, and exits 1 if there was any.
"""
import os
import re
import subprocess
import sys

SPDX = "SPDX-License-Identifier: LGPL-2.1-or-later"
MAX_COLUMNS = 100
BANNED = ("strcpy", "strcat", "sprintf", "vsprintf", "gets", "atoi", "atol", "atof", "strtok",
          "alloca", "tmpnam", "mktemp", "system")
BANNED_RE = re.compile(r"(?<![\w.>])(%s)\s*\(" % "|".join(BANNED))
EXIT_RE = re.compile(r"(?<![\w.>])(_?exit|_Exit)\s*\(")
OPEN_WORK_RE = re.compile(r"\b(TODO|FIXME|XXX)\b")
# Files that are data (mail samples, golden output, fuzz seeds) carry no licence line: it would
# change what they hold.
CODE_SUFFIXES = (".c", ".h", ".py", ".sh", ".in", ".example", ".1", ".5", ".md", ".dict", ".supp")
CODE_NAMES = ("CMakeLists.txt", "Makefile", "run", ".clang-format", ".gitignore")
# Test helpers and benchmarks may use what the program must not (system() to set up a fixture).
TEST_DIRS = ("tests/", "bench/")


def project_files(root):
    # Files not yet added are checked too: a new file should not pass until it is committed.
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others",
                              "--exclude-standard"], check=True, capture_output=True,
                             text=True).stdout
        paths = out.splitlines()
    except (OSError, subprocess.CalledProcessError):
        # A tree without git (an unpacked release): every file but the build's and git's.
        paths = []
        for top, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith((".git", "build")) and
                       os.path.relpath(os.path.join(top, d), root) != "bench/out"]
            paths += [os.path.relpath(os.path.join(top, f), root) for f in files]
    return sorted(p for p in paths
                  if not p.startswith("samples/") and os.path.isfile(os.path.join(root, p)))


def is_code(path):
    name = os.path.basename(path)
    if "/seeds/" in path:
        return False
    return name.endswith(CODE_SUFFIXES) or name in CODE_NAMES


def blank_literals(line, in_comment):
    """line with string and character literals and comments blanked, so that what is left is
    code; and whether a /* comment is still open at its end. Comments come back separately."""
    code, comment = [], []
    i = 0
    while i < len(line):
        if in_comment:
            end = line.find("*/", i)
            if end < 0:
                comment.append(line[i:])
                return "".join(code), "".join(comment), True
            comment.append(line[i:end])
            i = end + 2
            in_comment = False
            continue
        c = line[i]
        if line.startswith("/*", i):
            in_comment = True
            i += 2
        elif line.startswith("//", i):
            code.append("//")
            break
        elif c in "\"'":
            j = i + 1
            while j < len(line) and line[j] != c:
                j += 2 if line[j] == "\\" else 1
            code.append(c + c)
            i = j + 1
        else:
            code.append(c)
            i += 1
    return "".join(code), "".join(comment), in_comment


def check_c(path, lines, problems):
    if len(lines) < 2 or lines[0].rstrip("\n") != "/* %s */" % SPDX:
        problems.append((path, 1, "the first line must be /* %s */" % SPDX))
    elif not lines[1].startswith("/* "):
        problems.append((path, 2, "the second line must open a comment saying what the file is"))
    in_comment = False
    below_cli = not path.startswith("cli/") and not path.startswith(TEST_DIRS)
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip("\n")
        if len(line.expandtabs(8)) > MAX_COLUMNS:
            problems.append((path, n, "longer than %d columns" % MAX_COLUMNS))
        if line != line.rstrip():
            problems.append((path, n, "blanks at the end of the line"))
        if line.startswith(" " * 8):
            problems.append((path, n, "indented with 8 spaces: use a tab"))
        code, comment, in_comment = blank_literals(line, in_comment)
        if "//" in code:
            problems.append((path, n, "// comment: write /* */"))
        if OPEN_WORK_RE.search(comment):
            problems.append((path, n, "TODO/FIXME/XXX: open work belongs in an issue"))
        m = BANNED_RE.search(code)
        if m and not (m.group(1) == "system" and path.startswith(TEST_DIRS)):
            problems.append((path, n, "%s() is banned (see scripts/checksrc.py)" % m.group(1)))
        if below_cli and EXIT_RE.search(code):
            problems.append((path, n, "exit() below cli/: return an error instead"))
        if re.search(r"\btypedef\b", code):
            problems.append((path, n, "typedef: name the struct"))


def check_other(path, lines, problems):
    if not any(SPDX in line for line in lines[:3]):
        problems.append((path, 1, "no '%s' line in the first three lines" % SPDX))
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip("\n")
        if line != line.rstrip():
            problems.append((path, n, "blanks at the end of the line"))


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = argv[1:] or [p for p in project_files(root) if is_code(p)]
    problems = []
    for path in paths:
        rel = os.path.relpath(os.path.abspath(path), root) if argv[1:] else path
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            lines = f.readlines()
        if rel.endswith((".c", ".h")):
            check_c(rel, lines, problems)
        else:
            check_other(rel, lines, problems)
    for path, n, what in problems:
        print("%s:%d: %s" % (path, n, what))
    if problems:
        print("checksrc: %d problem(s) in %d file(s)" % (len(problems),
                                                       len({p for p, _, _ in problems})))
        return 1
    print("checksrc: ok, %d files" % len(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
