# t_fds.sh — only 0 1 2 reach the container, whatever rless (or run -d, exec, exec -d, exec -t) inherited.
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

# rless started without a stdout or without a stderr: it opens /dev/null there first (src/cli.c),
# so no file it opens becomes its stderr, and the container writes to that /dev/null (as a setuid
# program would) instead of failing with EBADF; a failing run still says why on the stderr it has.
test_closed_std_fds_become_dev_null() {
	LAST_CMD="rless run --rootfs ROOTFS sh -c 'echo to-stdout' >&-"
	RC=0
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" run --rootfs "$ROOTFS" sh -c 'echo to-stdout' \
		</dev/null >&- 2>"$T/err" || RC=$?
	ERR=$(<"$T/err")
	assert_rc 0
	assert_eq "" "$ERR" "stderr of a write to the container's stdout when rless had none"
	LAST_CMD="rless run --rootfs ROOTFS sh -c 'echo to-stderr >&2 && echo ok' 2>&-"
	RC=0
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" run --rootfs "$ROOTFS" sh -c 'echo to-stderr >&2 && echo ok' \
		</dev/null >"$T/out" 2>&- || RC=$?
	OUT=$(<"$T/out")
	assert_rc 0
	assert_eq ok "$OUT" "a write to the container's stderr when rless had none"
	LAST_CMD="rless run --rootfs ABSENT true >&-"
	RC=0
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" run --rootfs "$T/absent" true </dev/null >&- 2>"$T/err" || RC=$?
	ERR=$(<"$T/err")
	assert_rc 125
	assert_contains "$ERR" "$T/absent" "the error with no stdout"
}

# ---- run -d, exec: image containers (only they can be detached and exec'd into) ----

# fd_image: the shared rootfs imported as localhost/fds into $T/store; $T/host-fd-file is what
# the host fds below are opened on.
fd_image() {
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$ROOTFS" -cf "$T/rootfs.tar" .
	run_rless --root "$T/store" import "$T/rootfs.tar" fds
	assert_rc 0
	echo host-secret >"$T/host-fd-file"
}

# with_host_fds CMD...: CMD with fds 3 and 7 open on $T/host-fd-file and 9 on $T/host-fd-out,
# under the timeout; sets OUT, ERR, RC.
with_host_fds() {
	LAST_CMD="$* 3<host-fd-file 7<host-fd-file 9>host-fd-out"
	RC=0
	timeout -k 5 "$RUN_TIMEOUT" "$@" 3<"$T/host-fd-file" 7<"$T/host-fd-file" 9>"$T/host-fd-out" \
		</dev/null >"$T/out" 2>"$T/err" || RC=$?
	OUT=$(<"$T/out") ERR=$(<"$T/err")
}

# Any fd of any process in the container that leads to the host's files: none.
FD_SCAN='ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep host-fd; echo scanned'

# logs_of NAME: the container's log once it has "sleeping" in it.
logs_of() {
	local i
	for ((i = 0; i < 100; i++)); do
		run_rless --root "$T/store" logs "$1"
		[[ $OUT != *sleeping* ]] || return 0
		sleep 0.1
	done
	show_run >&2
	fail "container $1 never logged"
}

test_only_std_fds_detached_and_exec() {
	fd_image
	local init
	for init in "" --init; do
		with_host_fds "$RLESS" --root "$T/store" run -d --name "d$init" $init localhost/fds \
			sh -c 'ls -1 /proc/$$/fd; echo sleeping; exec sleep 60'
		assert_rc 0
		logs_of "d$init"
		assert_eq $'0\n1\n2\nsleeping' "$OUT" "fds of pid 1 with run -d $init"
		# exec, with its own host fds, into it: its process and everything else in there
		with_host_fds "$RLESS" --root "$T/store" exec "d$init" sh -c 'ls -1 /proc/$$/fd; :'
		assert_rc 0
		assert_eq $'0\n1\n2' "$OUT" "fds of an exec'd process ($init)"
		with_host_fds "$RLESS" --root "$T/store" exec -d "d$init" sh -c 'exec >/tmp/fds; ls -1 /proc/$$/fd; :'
		assert_rc 0
		with_host_fds "$RLESS" --root "$T/store" exec "d$init" sh -c "sleep 0.5; cat /tmp/fds; $FD_SCAN"
		assert_rc 0
		assert_eq $'0\n1\n2\nscanned' "$OUT" "fds of exec -d, then a scan of every process ($init)"
		run_rless --root "$T/store" rm -f "d$init"
		assert_rc 0
	done
}

test_only_std_fds_exec_with_tty() {
	require_cmd script bsdutils
	fd_image
	run_rless --root "$T/store" run -d --name t localhost/fds sh -c 'echo sleeping; exec sleep 60'
	assert_rc 0
	logs_of t
	RC=0
	timeout -k 5 40 script -qec "timeout --foreground $RUN_TIMEOUT $(printf %q "$RLESS") --root $(printf %q "$T/store") exec -t t sh -c 'ls -1 /proc/\$\$/fd; ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -c host-fd; :' 3<$(printf %q "$T/host-fd-file") 7<$(printf %q "$T/host-fd-file")" /dev/null \
		</dev/null >"$T/out" 2>"$T/err" || RC=$?
	OUT=$(tr -d '\r' <"$T/out")
	assert_rc 0
	assert_eq $'0\n1\n2\n0' "$OUT" "fds of exec -t, then how many lead to the host's file"
	run_rless --root "$T/store" rm -f t
}

# run's own pid 1 and what it starts, scanned from inside, with -t too.
test_no_host_fd_anywhere_in_run() {
	echo host-secret >"$T/host-fd-file"
	with_host_fds "$RLESS" run --rootfs "$ROOTFS" sh -c "sleep 5 & $FD_SCAN"
	assert_rc 0
	assert_eq scanned "$OUT" "fds leading to the host's files"
	with_host_fds "$RLESS" run --init --rootfs "$ROOTFS" sh -c "sleep 5 & $FD_SCAN"
	assert_rc 0
	assert_eq scanned "$OUT" "fds leading to the host's files (--init)"
}
