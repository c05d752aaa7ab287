#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install, with apt-get, the Debian 12 packages mail2ticket needs to build, test and run the demo:
# only those missing, non-interactively. Re-running it when all are present does nothing.
set -eu

packages="gcc make libc6-dev cmake pkg-config ca-certificates openssl python3 valgrind
libgmime-3.0-dev libetpan-dev libcurl4-gnutls-dev libjansson-dev libsqlite3-dev libxml2-dev
libytnef0-dev zlib1g-dev libgnutls28-dev libjemalloc-dev libsystemd-dev libsasl2-modules
libpq-dev libcmocka-dev clang libclang-rt-14-dev dovecot-imapd dovecot-pop3d postfix postgresql
systemd man-db"
# libjemalloc-dev: the program's allocator; glibc's malloc makes the parser threads wait.
# libsystemd-dev: sd_notify, so that `poll` runs as a Type=notify service with a watchdog.
# libgnutls28-dev: the mail servers' certificates are checked with GnuTLS (libetpan does not).
# libsasl2-modules: the SASL PLAIN mechanism behind `auth = plain`.
# dovecot-imapd and dovecot-pop3d: the end-to-end tests run their own private Dovecot on
# loopback ports (tests/e2e/dovecot.py); a system instance the install may start is not used.
# systemd and man-db: the install test runs `systemd-analyze verify` on the unit and renders the
# man pages.
# libpq-dev: the journal kept in PostgreSQL ([state] kind = postgresql).
# postgresql: the journal's unit tests and the shared-journal end-to-end tests run their own
# private server (tests/e2e/postgres.py, initdb in a temporary folder, a loopback port); the
# system cluster the install may start is not used.
# postfix: the MTA end-to-end test runs its own private Postfix (tests/e2e/postfix.py) with a pipe
# transport to `mail2ticket pipe`; the system instance the install may start is not used.

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "deps: run as root, or install these packages first:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
case " $missing " in
*" postfix "*)
	# Without an answer, postfix's install asks which mail setup to write; "No configuration"
	# leaves /etc/postfix without a main.cf the system instance would run with.
	echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
	;;
esac
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
