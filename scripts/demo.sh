#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# make demo [DESK=whmcs|keliweb|thulium]: start the sandbox desk, pipe every sample mail through
# mail2ticket as an MTA would, and show the tickets the desk received.
set -eu
binary=$(realpath "$1")
kind=${2:-whmcs}
extra=""
case "$kind" in
whmcs) path=/includes/api.php ;;
# Keliweb's login, as in production: the sandbox's API key and account; the password is the
# secret, the client secret comes from the environment below.
keliweb) path=/api/v2/keliweb; extra='\nclient_id = sandbox-client\nusername = sandbox@example.com' ;;
# A Thulium ticket is sent to one of its mailboxes; the sandbox's first is this one.
thulium) path=/api; extra='\nmailbox = support@desk.example' ;;
*) echo "demo: DESK is whmcs, keliweb or thulium, not '$kind'" >&2; exit 64 ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/mail2ticket-demo.XXXXXX)
desk_pid=""

cleanup() {
	[ -n "$desk_pid" ] && kill "$desk_pid" 2>/dev/null && wait "$desk_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

export SANDBOX_DESK_SECRET="sandbox-secret"
python3 "$top/tests/desk/sandbox_desk.py" --port 0 --port-file "$work/port" --quiet \
	>"$work/desk.log" 2>&1 &
desk_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "demo: the sandbox desk did not start:"; cat "$work/desk.log"; exit 1; }
url="http://127.0.0.1:$(cat "$work/port")"

# The sample config as it is, but for the desk kind, the sandbox's port and a journal in the
# scratch folder.
sed -e "s#^kind = .*#kind = $kind$extra#" -e "s#^url = .*#url = $url$path#" \
	-e "s#^path = .*#path = $work/journal.db#" \
	"$top/samples/mail2ticket.conf" >"$work/mail2ticket.conf"
chmod 600 "$work/mail2ticket.conf"
export MAIL2TICKET_CONFIG="$work/mail2ticket.conf"
export MAIL2TICKET_SECRET="sandbox-secret"
export MAIL2TICKET_CLIENT_SECRET="sandbox-client-secret"

echo "== mail2ticket check"
"$binary" check
echo
echo "== piping $(ls "$top"/samples/mail/*.eml | wc -l) sample mails (samples/mail/*.eml)"
for mail in "$top"/samples/mail/*.eml; do
	rc=0
	out=$("$binary" pipe <"$mail" 2>&1) || rc=$?
	printf '  %-42s exit %s  %s\n' "$(basename "$mail")" "$rc" \
		"$(echo "$out" | grep -o 'action=[a-z-]* \(ticket=[0-9]*\)\?' | head -1)"
done
echo
echo "== piping them all again: the journal knows them, no ticket is doubled"
again=0
for mail in "$top"/samples/mail/*.eml; do
	"$binary" -q pipe <"$mail" || again=$?
done
echo "  last exit $again"
echo
echo "== Alice answers her ticket: the reply threads onto it (messages = 2 below)"
tid=$(python3 -c "import json, urllib.request
tickets = json.load(urllib.request.urlopen('$url/_sandbox/tickets'))['tickets']
print(next(t['tid'] for t in tickets if t['email'] == 'alice@example.org'))")
printf 'From: Alice Example <alice@example.org>\nTo: support@example.com\nSubject: Re: [Ticket ID: %s] Password reset e-mail never arrives\nMessage-ID: <demo-reply@example.org>\n\nIt arrived now, thanks!\n\nOn Mon, 2 Mar 2026 at 10:00, Support <support@example.com> wrote:\n> Please check again.\n' "$tid" |
	"$binary" pipe
echo
echo "== tickets at the sandbox desk ($url)"
python3 "$top/tests/desk/list_tickets.py" "$url"
