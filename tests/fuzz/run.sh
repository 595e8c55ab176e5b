#!/bin/bash
# tests/fuzz/run.sh [-t SECONDS] [-j JOBS] [-k] BINDIR [NAME...] — run the libFuzzer targets
# BINDIR/fuzz_NAME (all of them, or the NAMEs given), JOBS at once (default 2). `make fuzz` and
# `make check` call it after building them (see the Makefile). For each target:
#   1. its regression inputs, tests/fuzz/regress/NAME/*, once each: every one crashed once;
#   2. SECONDS (default 10; 0: only the seeds, run once) of fuzzing from the seed corpus
#      tests/fuzz/corpus/NAME/ (read, never written) plus a working corpus that receives the new
#      inputs: BINDIR/corpus/NAME with -k (kept, so `make fuzz` goes on where it stopped), else
#      a temporary directory removed afterwards (`make check` leaves nothing behind).
# A crash, leak, timeout or broken invariant fails the target; its input is kept in
# BINDIR/crashes/NAME/ and the end of its log printed. To keep it as a regression input, copy
# it into tests/fuzz/regress/NAME/ (and fix the bug). The targets' scratch files go to a
# private TMPDIR (under $TMPDIR, else /dev/shm, else /tmp), removed at the end.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
time=10 jobs=2 keep=false
while getopts t:j:k opt; do
	case $opt in
	t) time=$OPTARG ;;
	j) jobs=$OPTARG ;;
	k) keep=true ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -ge 1 ]] || { echo "usage: $0 [-t SECONDS] [-j JOBS] [-k] BINDIR [NAME...]" >&2; exit 2; }
bindir=$(cd "$1" && pwd) || exit 2
shift
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
	for f in "$here"/fuzz_*.c; do
		f=${f##*/fuzz_}
		names+=("${f%.c}")
	done
fi

# tmpfs when there is one: the layer and auth.json targets create, fsync and remove files at
# every input, 6 times slower on a disk.
tmp=${TMPDIR:-/tmp}
[[ -n ${TMPDIR:-} || ! -d /dev/shm || ! -w /dev/shm ]] || tmp=/dev/shm
scratch=$(mktemp -d "$tmp/rless-fuzz.XXXXXX") || exit 1
# shellcheck disable=SC2064
trap "rm -rf '$scratch'" EXIT

# run_one NAME: regression inputs, then the timed run; the log is $scratch/NAME.log.
run_one() {
	local name=$1 bin=$bindir/fuzz_$1 dir=$scratch/$1 corpus regress=() rc=0
	local opts=(-rss_limit_mb=2048 -timeout=20 -print_final_stats=1 -artifact_prefix="$dir/")
	mkdir -p "$dir/tmp" "$dir/corpus"
	export TMPDIR=$dir/tmp
	[[ -x $bin ]] || { echo "$bin not built" >"$dir.log"; return 1; }
	shopt -s nullglob
	regress=("$here/regress/$name"/*)
	shopt -u nullglob
	if [[ ${#regress[@]} -gt 0 ]]; then
		"$bin" "${opts[@]}" "${regress[@]}" >"$dir.log" 2>&1 || return 1
	fi
	corpus=$dir/corpus
	if $keep; then
		corpus=$bindir/corpus/$name
		mkdir -p "$corpus"
	fi
	local seeds=()
	[[ ! -d $here/corpus/$name ]] || seeds=("$here/corpus/$name")
	if [[ $time -eq 0 ]]; then
		"$bin" "${opts[@]}" -runs=0 "$corpus" "${seeds[@]}" >>"$dir.log" 2>&1 || rc=1
	else
		"$bin" "${opts[@]}" -max_total_time="$time" "$corpus" "${seeds[@]}" >>"$dir.log" 2>&1 || rc=1
	fi
	return $rc
}

# report NAME RC: one line, and on failure the crash kept and the end of the log.
report() {
	local name=$1 rc=$2 log=$scratch/$1.log runs cov art
	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[^ ]*' "$log" | tail -n 1)
	if [[ $rc -eq 0 ]]; then
		echo "ok fuzz_$name: ${runs:-seeds only}${cov:+, $cov}"
		return 0
	fi
	echo "not ok fuzz_$name"
	mkdir -p "$bindir/crashes/$name"
	for art in "$scratch/$name"/crash-* "$scratch/$name"/leak-* "$scratch/$name"/timeout-* \
		"$scratch/$name"/oom-*; do
		[[ -f $art ]] || continue
		cp "$art" "$bindir/crashes/$name/"
		echo "#   input kept: $bindir/crashes/$name/${art##*/}" \
			"(a regression input once copied into tests/fuzz/regress/$name/)"
	done
	grep -v '^#[0-9]' "$log" | tail -n 40 | sed 's/^/#   /'
	return 1
}

failed=0
declare -A running=() # pid -> name
# reap_one: wait for any target to end and report it.
reap_one() {
	local pid rc
	wait -n -p pid
	rc=$?
	report "${running[$pid]}" $rc || failed=$((failed + 1))
	unset "running[$pid]"
}
for name in "${names[@]}"; do
	while [[ ${#running[@]} -ge $jobs ]]; do
		reap_one
	done
	run_one "$name" &
	running[$!]=$name
done
while [[ ${#running[@]} -gt 0 ]]; do
	reap_one
done
if [[ $failed -gt 0 ]]; then
	echo "# fuzz: $failed of ${#names[@]} targets FAILED"
	exit 1
fi
echo "# fuzz: ${#names[@]} targets passed (${time} s each)"
