# tests/integration/lib.sh — helpers for the test functions in t_*.sh.
#
# Every test runs in its own bash process (set -eu) with these variables exported by run.sh:
#   RLESS       the rless binary under test        ROOTFS  shared busybox rootfs (do not modify)
#   RLESS_INIT  rless-init next to it              T       a fresh scratch dir for this test
#   TOP         the tree holding tests/            MKROOTFS  tests/fixtures/mkrootfs-busybox.sh
# A test passes when its function returns; `fail`, a failed assertion or any failing command
# (set -e) makes it fail; `skip REASON` skips it (a failure when CI=true unless the test called
# `allow_skip_in_ci` first).
# shellcheck shell=bash

RUN_TIMEOUT=${RLESS_TEST_TIMEOUT:-30}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	printf '%s\n' "$*" >"$T/.skip"
	exit 77
}

allow_skip_in_ci() {
	: >"$T/.allow_skip"
}

# show_run: what the last rless run did, for failure messages.
show_run() {
	echo "  command: ${LAST_CMD:-?}"
	echo "  exit status: ${RC:-?}"
	echo "  stdout: $(printf '%q' "${OUT:-}")"
	echo "  stderr: $(printf '%q' "${ERR:-}")"
}

# run_rless ARG...: `rless ARG...` with a timeout, stdin from /dev/null unless STDIN_FILE is
# set; sets OUT, ERR (trailing newlines stripped) and RC. Never fails by itself.
run_rless() {
	local in=${STDIN_FILE:-/dev/null}
	LAST_CMD="rless $*"
	RC=0
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" "$@" <"$in" >"$T/.out" 2>"$T/.err" || RC=$?
	OUT=$(<"$T/.out")
	ERR=$(<"$T/.err")
	if [[ $RC -eq 124 ]]; then
		echo "note: rless timed out after ${RUN_TIMEOUT}s" >&2
	fi
}

# rrun OPTION... CMD [ARG...]: `rless run --rootfs "$ROOTFS" OPTION... CMD ARG...`.
rrun() {
	run_rless run --rootfs "${RUN_ROOTFS:-$ROOTFS}" "$@"
}

# rrun_ok ...: rrun and require exit status 0.
rrun_ok() {
	rrun "$@"
	[[ $RC -eq 0 ]] || { show_run >&2; fail "expected exit status 0"; }
}

assert_eq() { # EXPECTED ACTUAL [WHAT]
	if [[ "$1" != "$2" ]]; then
		echo "${3:-value} differs" >&2
		echo "  expected: $(printf '%q' "$1")" >&2
		echo "  actual:   $(printf '%q' "$2")" >&2
		[[ -z ${LAST_CMD:-} ]] || show_run >&2
		fail "${3:-value}: expected $(printf '%q' "$1")"
	fi
}

assert_rc() { # EXPECTED-STATUS: of the last run
	if [[ $RC -ne $1 ]]; then
		show_run >&2
		fail "expected exit status $1, got $RC"
	fi
}

assert_contains() { # HAYSTACK NEEDLE [WHAT]
	if [[ "$1" != *"$2"* ]]; then
		echo "  text: $(printf '%q' "$1")" >&2
		[[ -z ${LAST_CMD:-} ]] || show_run >&2
		fail "${3:-text} does not contain $(printf '%q' "$2")"
	fi
}

assert_not_contains() { # HAYSTACK NEEDLE [WHAT]
	if [[ "$1" == *"$2"* ]]; then
		echo "  text: $(printf '%q' "$1")" >&2
		[[ -z ${LAST_CMD:-} ]] || show_run >&2
		fail "${3:-text} contains $(printf '%q' "$2")"
	fi
}

assert_match() { # TEXT EXTENDED-REGEX [WHAT]
	if ! [[ "$1" =~ $2 ]]; then
		echo "  text: $(printf '%q' "$1")" >&2
		[[ -z ${LAST_CMD:-} ]] || show_run >&2
		fail "${3:-text} does not match /$2/"
	fi
}

require_cmd() { # CMD [PACKAGE]
	command -v "$1" >/dev/null 2>&1 || skip "$1 not installed${2:+ (package $2)}"
}

# norm: squeeze blanks, trim lines (for /proc/*/uid_map and similar column output).
norm() {
	awk '{$1 = $1; print}'
}

# subid_ranges uid|gid: "START COUNT" per range this user has in /etc/subuid or /etc/subgid,
# by name or by uid, in file order (the order libsubid reports them).
subid_ranges() {
	local file=/etc/sub$1 name uid
	name=$(id -un)
	uid=$(id -u)
	[[ -r $file ]] || return 0
	awk -F: -v n="$name" -v u="$uid" '($1 == n || $1 == u) && NF == 3 {print $2, $3}' "$file"
}

user_has_subids() {
	[[ -n $(subid_ranges uid) && -n $(subid_ranges gid) ]]
}

require_subids() {
	user_has_subids || skip "user $(id -un) has no subordinate ids in /etc/subuid and /etc/subgid"
	command -v newuidmap >/dev/null 2>&1 || skip "newuidmap not installed (package uidmap)"
}

require_no_subids() {
	! user_has_subids || skip "user $(id -un) has subordinate ids (run as a user without any)"
}

# wait_for_file PATH [SECONDS]: poll until PATH exists.
wait_for_file() {
	local i n=$((${2:-10} * 10))
	for ((i = 0; i < n; i++)); do
		[[ -e $1 ]] && return 0
		sleep 0.1
	done
	return 1
}

# rless_bg OPTION... CMD...: start `rless run --rootfs ROOTFS ...` in the background under a
# timeout; sets BG_TIMEOUT_PID (timeout's pid) and BG_PID (rless' pid); output in $T/bg.out,
# $T/bg.err.
rless_bg() {
	local i
	LAST_CMD="rless run --rootfs ${RUN_ROOTFS:-$ROOTFS} $*"
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" run --rootfs "${RUN_ROOTFS:-$ROOTFS}" "$@" \
		</dev/null >"$T/bg.out" 2>"$T/bg.err" &
	BG_TIMEOUT_PID=$!
	BG_PID=
	for ((i = 0; i < 100; i++)); do
		BG_PID=$(cat "/proc/$BG_TIMEOUT_PID/task/$BG_TIMEOUT_PID/children" 2>/dev/null || true)
		BG_PID=${BG_PID%% *}
		[[ -z $BG_PID ]] || return 0
		sleep 0.05
	done
	fail "rless did not start"
}

# bg_wait: wait for the background rless; sets RC, OUT, ERR.
bg_wait() {
	RC=0
	wait "$BG_TIMEOUT_PID" || RC=$?
	OUT=$(<"$T/bg.out")
	ERR=$(<"$T/bg.err")
}

# host_pid1: host pid of the container's pid 1 started by rless_bg (a child of rless whose
# innermost pid is 1).
host_pid1() {
	local c nspid children=()
	read -r -a children 2>/dev/null <"/proc/$BG_PID/task/$BG_PID/children" || true
	for c in "${children[@]}"; do
		nspid=$(awk '/^NSpid:/ {print $NF}' "/proc/$c/status" 2>/dev/null || true)
		if [[ $nspid == 1 ]]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# fresh_rootfs DIR: a private busybox rootfs for tests that change it.
fresh_rootfs() {
	"$MKROOTFS" "$1" >/dev/null
}

# in_pty SHELL-COMMAND: run it under script(1) in a new pty; sets OUT (CRs removed) and RC.
# Inside, rless must be in the pty's foreground process group: timeout --foreground. script's
# stdin is a FIFO this shell holds open: at EOF of its stdin script writes an end-of-file
# character into the pty, which a command in raw mode would read (and echo as ^@).
in_pty() {
	require_cmd script bsdutils
	LAST_CMD="script -qec $(printf %q "$1") /dev/null"
	RC=0
	rm -f "$T/.pty-in"
	mkfifo "$T/.pty-in"
	exec {pty_in}<>"$T/.pty-in"
	timeout -k 5 "$((RUN_TIMEOUT + 10))" script -qec "$1" /dev/null <&"$pty_in" >"$T/.out" 2>"$T/.err" || RC=$?
	exec {pty_in}>&-
	OUT=$(tr -d '\r' <"$T/.out")
	ERR=$(<"$T/.err")
}
