#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run each libFuzzer target for SECONDS: tests/fuzz/run.sh BUILD SECONDS TARGET...
# (TARGET without the fuzz_ prefix). Each keeps the inputs it finds in BUILD/corpus-TARGET,
# starts from its seeds (tests/fuzz/seeds/TARGET, the sample mails for mail_parse, generated TNEF
# files for tnef) and its dictionary; a crash, leak or hang (10 s) is saved as BUILD/TARGET-* and
# fails the run, after every target has had its turn.
set -u
build=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$(dirname "$here")")
failed=""
for target in "$@"; do
	corpus="$build/corpus-$target"
	mkdir -p "$corpus"
	seeds="$here/seeds/$target"
	dict="$here/mime.dict"
	case $target in
	mail_parse) seeds="$root/samples/mail" ;;
	html_text) dict="$here/html.dict" ;;
	calendar) dict="$here/ics.dict" ;;
	header_decode) dict="$here/header.dict" ;;
	tnef)
		dict="$here/tnef.dict"
		seeds="$build/seeds-tnef"
		mkdir -p "$seeds"
		python3 "$root/tests/tnef/make_winmail_dat.py" "$seeds/winmail.dat" >/dev/null
		;;
	mbox) dict="$here/mbox.dict" ;;
	desk_answers | json_write) dict="$here/json.dict" ;;
	base64_size) dict="$here/base64.dict" ;;
	auth_results) dict="$here/auth.dict" ;;
	compare_text) dict="$here/compare.dict" ;;
	esac
	echo "fuzz: $target for $seconds s"
	if ! "$build/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=262144 -dict="$dict" -artifact_prefix="$build/$target-" \
		-print_final_stats=1 "$corpus" "$seeds"; then
		failed="$failed $target"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed (inputs saved in $build/)" >&2
	exit 1
fi
echo "fuzz: ok: $*"
