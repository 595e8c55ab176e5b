#!/bin/bash
# tests/fuzz/san-run.sh DIR COMMAND [ARG...] — run COMMAND for `make check SANITIZE=...` with
# DIR as the sanitizers' report dir: emptied and made writable for the test users first (the
# sanitized binaries log there when it exists: tests/fuzz/san_defaults.c), every report printed
# afterwards. Fails when COMMAND fails or left a report (a leak at exit, say, in a process
# whose exit status nobody checks).
set -uo pipefail

dir=$1
shift
rm -rf "$dir"
mkdir -m 1777 "$dir" || exit 1
rc=0
"$@" || rc=$?
shopt -s nullglob
reports=("$dir"/*)
for r in "${reports[@]}"; do
	echo "== sanitizer report ${r##*/}:"
	sed 's/^/#   /' "$r"
done
rm -rf "$dir"
if [[ ${#reports[@]} -gt 0 ]]; then
	echo "# ${#reports[@]} sanitizer report(s) from: $*"
	exit 1
fi
exit $rc
