# t_fds.sh — only 0 1 2 reach the container, whatever rless inherited.
# shellcheck shell=bash disable=SC2016,SC2034

# busybox sh -c keeps no fd of its own beyond 0 1 2. `ls /proc/$$/fd; :` makes sh fork ls (as the
# last command it would exec it and list its own directory fd 3), so ls lists the shell's table
# and the exact answer is 0 1 2.
test_only_std_fds_in_container() {
	LAST_CMD="rless run --rootfs ROOTFS sh -c 'ls -1 /proc/\$\$/fd; :' 3</etc/hostname 7</dev/null 9>$T/nine"
	RC=0
	# shellcheck disable=SC2016
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" run --rootfs "$ROOTFS" sh -c 'ls -1 /proc/$$/fd; :' \
		3</etc/hostname 7</dev/null 9>"$T/nine" </dev/null >"$T/out" 2>"$T/err" || RC=$?
	OUT=$(<"$T/out") ERR=$(<"$T/err")
	assert_rc 0
	assert_eq $'0\n1\n2' "$OUT" "fds of pid 1"
}

test_only_std_fds_with_init() {
	RC=0
	# shellcheck disable=SC2016
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" run --init --rootfs "$ROOTFS" sh -c 'ls -1 /proc/1/fd; echo --; ls -1 /proc/$$/fd; :' \
		3</etc/hostname 7</dev/null </dev/null >"$T/out" 2>"$T/err" || RC=$?
	OUT=$(<"$T/out") ERR=$(<"$T/err")
	assert_rc 0
	assert_eq $'0\n1\n2' "$(sed -n '/^--$/,$p' <<<"$OUT" | sed 1d)" "fds of the command under --init"
	assert_eq $'0\n1\n2' "$(sed '/^--$/,$d' <<<"$OUT")" "fds of rless-init"
}

test_only_std_fds_with_tty() {
	require_cmd script bsdutils
	RC=0
	# shellcheck disable=SC2016
	timeout -k 5 40 script -qec "timeout --foreground $RUN_TIMEOUT $(printf %q "$RLESS") run -t --rootfs $(printf %q "$ROOTFS") sh -c 'ls -1 /proc/\$\$/fd; :' 3</etc/hostname 7</dev/null" /dev/null \
		</dev/null >"$T/out" 2>"$T/err" || RC=$?
	OUT=$(tr -d '\r' <"$T/out")
	assert_rc 0
	assert_eq $'0\n1\n2' "$OUT" "fds of pid 1 with -t"
}
