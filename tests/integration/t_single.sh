# t_single.sh — a user without subordinate ids: single-id map with exactly one notice line.
# run.sh as root runs this file as rlesstest2; as a normal user only when the user has no ranges.
# shellcheck shell=bash disable=SC2016,SC2034

test_single_id_map_without_subids() {
	require_no_subids
	rrun sh -c 'cat /proc/self/uid_map; cat /proc/self/gid_map; id -u'
	assert_rc 0
	assert_eq "0 $(id -u) 1"$'\n'"0 $(id -g) 1"$'\n'"0" "$(norm <<<"$OUT")" "maps and id -u"
	assert_eq 1 "$(grep -c '' <<<"$ERR")" "number of stderr lines"
	assert_match "$ERR" "[Ss]ubordinate" "the notice"
}

test_single_id_auto_explicit_notice_once() {
	require_no_subids
	rrun --userns=auto true
	assert_rc 0
	assert_eq 1 "$(grep -c '' <<<"$ERR")" "number of stderr lines with --userns=auto"
	assert_match "$ERR" "[Ss]ubordinate" "the notice"
}

test_single_id_quiet_mode_for_single() {
	require_no_subids
	# asking for the single-id map is not worth a notice
	rrun --userns=single cat /proc/self/uid_map
	assert_rc 0
	assert_eq "0 $(id -u) 1" "$(norm <<<"$OUT")" "uid_map"
	assert_eq "" "$ERR" "stderr with --userns=single"
}

test_single_id_keep_id() {
	require_no_subids
	rrun --userns=keep-id sh -c 'id -u; cat /proc/self/uid_map'
	assert_rc 0
	assert_eq "$(id -u)"$'\n'"$(id -u) $(id -u) 1" "$(norm <<<"$OUT")" "id -u and uid_map"
}

test_single_id_basic_container_works() {
	require_no_subids
	rrun sh -c 'echo $$; hostname >/dev/null; grep CapEff /proc/self/status'
	assert_rc 0
	assert_eq $'1\nCapEff: 00000000800405fb' "$(norm <<<"$OUT")" "pid and CapEff"
}
