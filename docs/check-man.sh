#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Check the man pages: docs/check-man.sh [mail2ticket.1 [mail2ticket.conf.5]]
#
# 1. groff (and mandoc, where installed) format each page without a single warning.
# 2. Every key in the key lists under config/, desk/ and ingest/ is documented in
#    mail2ticket.conf(5) as "key = ..." in the subsection of its section: each string of a
#    `static const char *const NAME_keys[] = {...}` array is a key of [NAME] ([mailbox NAME] for
#    mailbox_keys), and the first string of each row of a desk backend's
#    `static const struct desk_key NAME_keys[] = {...}` is a key of [desk].
# 3. Every command in the command table of cli/main.c is described in the COMMANDS section of
#    mail2ticket(1) and shown in its SYNOPSIS.
# 4. Every long option (but --help) of main.c's and each cli/cmd_NAME.c's option table is
#    documented as --OPTION in mail2ticket(1)'s subsection "Global options" or "NAME options".
# The check is page >= code: a page may document more than the code has (keys and commands
# still being added), never less. Exit 0 when all holds, 1 otherwise, 2 on bad usage.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
page1=${1:-$here/mail2ticket.1}
page5=${2:-$here/mail2ticket.conf.5}
failed=0
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ $# -gt 2 ]; then
	echo "usage: $0 [mail2ticket.1 [mail2ticket.conf.5]]" >&2
	exit 2
fi
for f in "$page1" "$page5" "$root/cli/main.c" "$root/config/config.c" \
	"$root/desk/desk_backend.c"; do
	if [ ! -r "$f" ]; then
		echo "check-man: cannot read $f" >&2
		exit 2
	fi
done
if ! command -v groff >/dev/null 2>&1; then
	echo "check-man: groff is needed (apt-get install groff-base)" >&2
	exit 2
fi

fail() {
	echo "check-man: $*"
	failed=1
}

# 1. Formatting: any diagnostic is a failure.
for page in "$page1" "$page5"; do
	out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	[ -z "$out" ] || fail "groff warns about $page:
$out"
	if command -v mandoc >/dev/null 2>&1; then
		out=$(mandoc -Tlint -W warning "$page" 2>&1)
		[ -z "$out" ] || fail "mandoc warns about $page:
$out"
	fi
done

# The pages as plain text: no bold, underline or colour, no hyphenation across lines.
render() {
	groff -man -Tutf8 -P-cbou -rHY=0 "$1" 2>/dev/null
}
render "$page1" >"$tmp/page1.txt"
render "$page5" >"$tmp/page5.txt"

# Lines of the subsection (".SS") of a rendered page whose heading starts with $2, up to the
# next subsection or section.
subsection() {
	awk -v head="$2" '
		/^[^ ]/ || /^   [^ ]/ { inside = index($0, "   " head) == 1 }
		inside { print }
	' "$1"
}

# Lines of the section (".SH") named $2.
section() {
	awk -v head="$2" '
		/^[^ ]/ { inside = ($0 == head) }
		inside { print }
	' "$1"
}

# 2. Config keys: "SECTION KEY" for each key in each key list.
awk '
	/static const char \*const [a-z_]+_keys\[\] *= *\{/ {
		section = $0
		sub(/.*const char \*const /, "", section)
		sub(/_keys\[.*/, "", section)
		inside = 1
		rows = 0
	}
	/static const struct desk_key [a-z_]+_keys\[\] *= *\{/ {
		section = "desk"
		inside = 1
		rows = 1
		next
	}
	inside {
		line = $0
		if (rows) {
			if (match(line, /\{"[^"]*"/))
				print section, substr(line, RSTART + 2, RLENGTH - 3)
		} else {
			while (match(line, /"[^"]*"/)) {
				print section, substr(line, RSTART + 1, RLENGTH - 2)
				line = substr(line, RSTART + RLENGTH)
			}
		}
		if ($0 ~ /\};/)
			inside = 0
	}
' "$root"/config/*.c "$root"/desk/*.c "$root"/ingest/*.c >"$tmp/keys"
[ -s "$tmp/keys" ] || fail "no key lists found under config/, desk/ and ingest/"

keys=0
while read -r section key; do
	keys=$((keys + 1))
	case $section in
	mailbox) head="[mailbox " shown="[mailbox NAME]" ;;
	*) head="[$section]" shown="[$section]" ;;
	esac
	subsection "$tmp/page5.txt" "$head" >"$tmp/sub"
	if [ ! -s "$tmp/sub" ]; then
		fail "$page5 has no subsection $shown (for key $key)"
	elif ! grep -Eq "(^|[^A-Za-z0-9_.])$key = " "$tmp/sub"; then
		fail "$page5 does not document $shown $key (as \"$key = ...\")"
	fi
done <"$tmp/keys"

# 3. Commands: the names in main.c's table, {"name", cmd_name}.
sed -n '/static const struct command commands\[\]/,/};/p' "$root/cli/main.c" |
	sed -n 's/.*{"\([a-z0-9-]*\)",.*/\1/p' >"$tmp/commands"
[ -s "$tmp/commands" ] || fail "no command table found in cli/main.c"

section "$tmp/page1.txt" COMMANDS >"$tmp/commands.txt"
section "$tmp/page1.txt" SYNOPSIS >"$tmp/synopsis.txt"
commands=0
while read -r command; do
	commands=$((commands + 1))
	grep -Eq "^       $command( |\$)" "$tmp/commands.txt" ||
		fail "$page1 does not describe the command $command under COMMANDS"
	grep -Eq "(^| )$command( |\$)" "$tmp/synopsis.txt" ||
		fail "$page1 does not show the command $command in the SYNOPSIS"
done <"$tmp/commands"

# 4. Options: the names in each `static const struct option options[]` table, {"name", ...}.
long_options() {
	sed -n '/static const struct option options\[\]/,/};/p' "$1" |
		grep -o '{"[a-z0-9-]*",' | sed 's/^{"//; s/",$//' | grep -vx help
}

options=0
check_options() { # file subsection-heading
	[ -r "$1" ] || return 0
	subsection "$tmp/page1.txt" "$2" >"$tmp/sub"
	for option in $(long_options "$1"); do
		options=$((options + 1))
		grep -Eq -- "(^|[^a-z0-9-])--$option([^a-z0-9-]|\$)" "$tmp/sub" ||
			fail "$page1 does not document --$option under \"$2\""
	done
}
check_options "$root/cli/main.c" "Global options"
while read -r command; do
	check_options "$root/cli/cmd_$command.c" "$command options"
done <"$tmp/commands"

if [ "$failed" -ne 0 ]; then
	echo "check-man: FAILED"
	exit 1
fi
echo "check-man: ok: $page1, $page5 format cleanly; $keys config keys, $commands commands and" \
	"$options options documented"
exit 0
