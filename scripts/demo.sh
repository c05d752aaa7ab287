#!/bin/sh
# make demo: start the sandbox desk, pipe every sample mail through mail2ticket as an MTA would,
# and show the tickets the desk received.
set -eu
binary=$(realpath "$1")
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

# The sample config as it is, but for the sandbox's port and a journal in the scratch folder.
sed -e "s#^url = .*#url = $url/includes/api.php#" -e "s#^path = .*#path = $work/journal.db#" \
	"$top/samples/mail2ticket.conf" >"$work/mail2ticket.conf"
export MAIL2TICKET_CONFIG="$work/mail2ticket.conf"
export MAIL2TICKET_SECRET="sandbox-secret"

echo "== mail2ticket check"
"$binary" check
echo
echo "== piping $(ls "$top"/samples/mail/*.eml | wc -l) sample mails (samples/mail/*.eml)"
for mail in "$top"/samples/mail/*.eml; do
	rc=0
	"$binary" -q pipe <"$mail" || rc=$?
	printf '  %-40s exit %s\n' "$(basename "$mail")" "$rc"
done
echo
echo "== piping them all again: the journal knows them, no ticket is doubled"
again=0
for mail in "$top"/samples/mail/*.eml; do
	"$binary" -q pipe <"$mail" || again=$?
done
echo "  last exit $again"
echo
echo "== tickets at the sandbox desk ($url)"
python3 "$top/tests/desk/list_tickets.py" "$url"
