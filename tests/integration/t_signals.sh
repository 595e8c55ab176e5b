# t_signals.sh — signal forwarding and rless-init.
# shellcheck shell=bash disable=SC2016,SC2034

test_sigterm_reaches_container() {
	mkdir "$T/sync"
	# shellcheck disable=SC2016
	rless_bg -v "$T/sync:/sync" sh -c 'trap "echo got-term; exit 42" TERM; touch /sync/ready; while :; do sleep 0.1; done'
	wait_for_file "$T/sync/ready" 10 || { bg_wait; show_run >&2; fail "container did not start"; }
	kill -TERM "$BG_PID"
	bg_wait
	assert_rc 42
	assert_eq got-term "$OUT" "stdout"
}

test_sigint_and_hup_forwarded() {
	mkdir "$T/sync"
	# shellcheck disable=SC2016
	rless_bg -v "$T/sync:/sync" sh -c 'trap "echo int" INT; trap "echo hup; exit 7" HUP; touch /sync/ready; while :; do sleep 0.1; done'
	wait_for_file "$T/sync/ready" 10 || { bg_wait; show_run >&2; fail "container did not start"; }
	kill -INT "$BG_PID"
	sleep 0.5
	kill -HUP "$BG_PID"
	bg_wait
	assert_rc 7
	assert_eq $'int\nhup' "$OUT" "stdout"
}

test_sigterm_with_init_reaches_command() {
	mkdir "$T/sync"
	# shellcheck disable=SC2016
	rless_bg --init -v "$T/sync:/sync" sh -c 'trap "echo got-term; exit 42" TERM; touch /sync/ready; while :; do sleep 0.1; done'
	wait_for_file "$T/sync/ready" 10 || { bg_wait; show_run >&2; fail "container did not start"; }
	kill -TERM "$BG_PID"
	bg_wait
	assert_rc 42
	assert_eq got-term "$OUT" "stdout"
}

test_init_is_pid1_and_reaps_orphans() {
	[[ -x $RLESS_INIT ]] || fail "$RLESS_INIT not built"
	# control: a parent that never waits (sh exec'ing sleep) leaves a zombie ps shows as Z
	rrun_ok sh -c 'sh -c "sleep 0.1 & exec sleep 2" & sleep 1; ps -o stat,comm'
	[[ $(sed -n '2,$p' <<<"$OUT" | awk '$1 ~ /^Z/' | wc -l) -ge 1 ]] ||
		{ show_run >&2; fail "control: no zombie seen, the check below would prove nothing"; }
	# the orphan (sleep 0.2, its parent subshell exits at once) is reparented to pid 1:
	# with --init that is rless-init, not sh, so only rless-init can reap it
	rrun_ok --init sh -c '(sleep 0.2 &); sleep 1; cat /proc/1/comm; echo $$; ps -o stat,comm'
	local comm pid zombies
	comm=$(sed -n 1p <<<"$OUT")
	pid=$(sed -n 2p <<<"$OUT")
	assert_eq rless-init "$comm" "/proc/1/comm with --init"
	[[ $pid != 1 ]] || fail "the command is pid 1 with --init"
	assert_eq "STAT COMMAND" "$(sed -n 3p <<<"$OUT" | norm)" "ps header"
	zombies=$(sed -n '4,$p' <<<"$OUT" | awk '$1 ~ /^Z/')
	assert_eq "" "$zombies" "zombie processes"
}

test_init_passes_exit_status() {
	rrun --init sh -c 'exit 5'
	assert_rc 5
}
