# t_errors.sh — error messages: name the operation and the path, exit 125.
# shellcheck shell=bash disable=SC2016,SC2034

test_error_missing_rootfs_names_path() {
	run_rless run --rootfs "$T/missing-rootfs" true
	assert_rc 125
	assert_contains "$ERR" "$T/missing-rootfs" "stderr"
	assert_eq "" "$OUT" "stdout"
}

test_error_rootfs_is_a_file() {
	: >"$T/file"
	run_rless run --rootfs "$T/file" true
	assert_rc 125
	assert_contains "$ERR" "$T/file" "stderr"
}

test_error_no_rootfs_option() {
	run_rless run
	assert_rc 125
	assert_contains "$ERR" "needs an image or a root filesystem (--rootfs DIR)" "stderr"
	run_rless run --rm -t
	assert_rc 125
	assert_contains "$ERR" "needs an image" "stderr"
}

test_error_no_command() {
	run_rless run --rootfs "$ROOTFS"
	assert_rc 125
}

test_error_bad_log_level() {
	run_rless --log-level=loud run --rootfs "$ROOTFS" true
	assert_rc 125
	assert_contains "$ERR" "loud" "stderr"
}

test_log_level_debug_talks() {
	run_rless --log-level=debug run --rootfs "$ROOTFS" true
	assert_rc 0
	[[ -n $ERR ]] || fail "--log-level=debug printed nothing on stderr"
	run_rless --log-level=error run --rootfs "$ROOTFS" true
	assert_rc 0
	assert_eq "" "$ERR" "stderr with --log-level=error"
}

test_double_dash_ends_options() {
	rrun_ok -- sh -c 'echo "$1"' sh --not-an-option
	assert_eq --not-an-option "$OUT" "argument after --"
}

test_command_options_not_parsed_by_rless() {
	rrun_ok ls -d /etc
	assert_eq /etc "$OUT" "ls -d /etc"
}

test_global_root_option_accepted() {
	mkdir "$T/store"
	run_rless --root "$T/store" run --rootfs "$ROOTFS" true
	assert_rc 0
}

test_rm_option_accepted() {
	rrun_ok --rm echo removed
	assert_eq removed "$OUT" "stdout with --rm"
}
