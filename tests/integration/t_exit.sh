# t_exit.sh — exit statuses like docker: 125 rless, 126 not executable, 127 not found,
# else the command's status, 128+N for a signal.
# shellcheck shell=bash disable=SC2016,SC2034

test_exit_true_is_0() {
	rrun true
	assert_rc 0
	assert_eq "" "$ERR" "stderr"
}

test_exit_status_passes_through() {
	rrun sh -c 'exit 3'
	assert_rc 3
	rrun false
	assert_rc 1
	rrun sh -c 'exit 255'
	assert_rc 255
}

test_exit_not_executable_is_126() {
	local r=$T/rootfs
	fresh_rootfs "$r"
	printf '#!/bin/sh\necho should-not-run\n' >"$r/bin/noexec"
	chmod 0644 "$r/bin/noexec"
	RUN_ROOTFS=$r rrun /bin/noexec
	assert_rc 126
	assert_not_contains "$OUT" "should-not-run" "stdout"
	assert_contains "$ERR" "noexec" "stderr"
	RUN_ROOTFS=$r rrun /etc
	assert_rc 126
}

test_exit_not_found_is_127() {
	rrun nonexistent-cmd
	assert_rc 127
	assert_contains "$ERR" "nonexistent-cmd" "stderr"
	rrun /no/such/file
	assert_rc 127
	assert_contains "$ERR" "/no/such/file" "stderr"
}

test_exit_bad_flag_is_125() {
	run_rless run --bogus --rootfs "$ROOTFS" true
	assert_rc 125
	assert_contains "$ERR" "--bogus" "stderr"
	run_rless --bogus-global run --rootfs "$ROOTFS" true
	assert_rc 125
	run_rless no-such-subcommand
	assert_rc 125
}

test_exit_missing_rootfs_is_125() {
	local missing="$T/does-not-exist/rootfs"
	run_rless run --rootfs "$missing" true
	assert_rc 125
	assert_contains "$ERR" "$missing" "stderr"
}

test_exit_killed_by_signal_is_128_plus_n() {
	# pid 1 ignores signals it has no handler for, even SIGKILL from inside its namespace;
	# kill it from the host as docker kill does.
	mkdir "$T/sync"
	rless_bg -v "$T/sync:/sync" sh -c 'touch /sync/ready; while :; do sleep 0.1; done'
	wait_for_file "$T/sync/ready" 10 || fail "container did not start"
	local p1
	p1=$(host_pid1) || fail "no pid 1 among the children of rless $BG_PID"
	kill -KILL "$p1"
	bg_wait
	assert_rc 137
}

test_exit_kill9_self_with_init_is_137() {
	[[ -x $RLESS_INIT ]] || fail "$RLESS_INIT not built"
	rrun --init sh -c 'kill -9 $$'
	assert_rc 137
}

test_exit_sigterm_self_with_init_is_143() {
	rrun --init sh -c 'kill -TERM $$; sleep 5'
	assert_rc 143
}
