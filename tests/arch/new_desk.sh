#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A new kind of desk is one new file plus one line in the desk table: tests/arch/new_desk.sh SRC
#
# The tracked tree of SRC is copied to a temporary folder, tests/arch/null_desk.c is added there as
# desk/null.c and one line naming it is added to the table in desk/desk_backend.c. The change must
# be exactly that (git diff: one new file, one inserted line, nothing else), the copy must build
# as it is (CMake finds desk/*.c itself), and mail2ticket built from it must run with
# `[desk] kind = null`: check reaches the desk, and pipe opens ticket 1 there.
set -eu

src=$(cd "${1:?usage: $0 SOURCE_DIR}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
tree=$tmp/tree
mkdir "$tree"

fail() {
	echo "new_desk: $*" >&2
	exit 1
}

# The tracked files (and new ones not yet ignored), not the build folders.
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$src" && git ls-files -z -c -o --exclude-standard |
		xargs -0 sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -xf - -C "$tree"
else
	(cd "$src" && tar --exclude='./build' --exclude='./build-*' -cf - .) | tar -xf - -C "$tree"
fi

git_tree() {
	git -C "$tree" -c user.name=new_desk -c user.email=new_desk@localhost "$@"
}
git_tree init -q
git_tree add -A
git_tree commit -q -m "as copied"

# The new desk: its file, and its line in the table.
cp "$src/tests/arch/null_desk.c" "$tree/desk/null.c"
sed -i 's/^\(\s*\)BACKEND(keliweb)\(\s*\\\)$/&\n\1BACKEND(null)\2/' "$tree/desk/desk_backend.c"
git_tree add -N desk/null.c
git_tree diff --stat
git_tree diff --numstat >"$tmp/numstat"
added=$(wc -l <"$tree/desk/null.c")
printf '1\t0\tdesk/desk_backend.c\n%s\t0\tdesk/null.c\n' "$added" | cmp -s - "$tmp/numstat" ||
	fail "the change is not one new file and one inserted line: $(cat "$tmp/numstat")"

cmake -S "$tree" -B "$tmp/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DM2T_TESTS=OFF >/dev/null ||
	fail "cmake cannot configure the copy"
cmake --build "$tmp/build" -j2 --target mail2ticket >"$tmp/build.log" 2>&1 || {
	cat "$tmp/build.log" >&2
	fail "the copy does not build"
}

cat >"$tmp/null.conf" <<EOF
[desk]
kind = null
url = https://null.invalid/
secret = none
default_department = 1

[state]
path = $tmp/journal.db
EOF
chmod 600 "$tmp/null.conf"
m2t() {
	"$tmp/build/mail2ticket" --config "$tmp/null.conf" "$@"
}
m2t check >"$tmp/check.out" 2>&1 || {
	cat "$tmp/check.out" >&2
	fail "check fails with kind = null"
}
cat "$tmp/check.out"
grep -q '^desk https://null.invalid/ (null): credentials accepted' "$tmp/check.out" ||
	fail "check did not reach the null desk"
m2t --verbose pipe <"$tree/samples/mail/01-plain.eml" >"$tmp/pipe.out" 2>&1 || {
	cat "$tmp/pipe.out" >&2
	fail "pipe fails with kind = null"
}
grep 'ticket opened' "$tmp/pipe.out"
grep 'ticket opened' "$tmp/pipe.out" | grep -Eq 'ticket[=":]+1\b' ||
	fail "the null desk did not open ticket 1: $(cat "$tmp/pipe.out")"
echo "new_desk: ok: one new file and one table line make a desk kind"
