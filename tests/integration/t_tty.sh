# t_tty.sh — -t under a real pty (script(1) from util-linux/bsdutils), -i.
# shellcheck shell=bash disable=SC2016,SC2034

# q: the rless command line for in_pty, quoted.
rl_cmd() {
	local s
	s="timeout --foreground -k 5 $RUN_TIMEOUT $(printf %q "$RLESS") run --rootfs $(printf %q "$ROOTFS")"
	printf '%s %s' "$s" "$*"
}

test_tty_is_a_pts() {
	in_pty "$(rl_cmd -t tty)"
	assert_rc 0
	assert_eq /dev/pts/0 "$OUT" "tty inside"
}

test_tty_size_is_copied() {
	# 20 runs: the size must be in place before the command starts, every time
	in_pty "stty rows 33 cols 101; for i in \$(seq 20); do $(rl_cmd -t stty size) || exit; done"
	assert_rc 0
	assert_eq "$(yes "33 101" | head -n 20)" "$OUT" "stty size inside, 20 runs"
}

test_tty_output_of_short_command_not_lost() {
	# 50 quick runs: all output written before pid 1 exits must reach the terminal
	in_pty "for i in \$(seq 50); do $(rl_cmd -t echo hi) || exit; done"
	assert_rc 0
	assert_eq "$(yes hi | head -n 50)" "$OUT" "output of 50 runs of 'rless run -t echo hi'"
}

test_tty_mode_restored() {
	# a non-default mode (no echo, no icanon) outside must come back exactly
	in_pty "stty -echo -icanon min 1 time 0; stty -g > $(printf %q "$T/before"); $(rl_cmd -t true); stty -g > $(printf %q "$T/after")"
	assert_rc 0
	[[ -s $T/before ]] || fail "stty -g printed nothing"
	assert_eq "$(<"$T/before")" "$(<"$T/after")" "stty -g after rless -t"
}

test_tty_exit_status() {
	in_pty "$(rl_cmd -t sh -c "'exit 7'")"
	assert_rc 7
}

test_tty_stdin_is_a_terminal_inside() {
	in_pty "$(rl_cmd -t sh -c "'[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty'")"
	assert_rc 0
	assert_eq all-tty "$OUT" "stdin/out/err are terminals"
}

test_no_tty_without_t() {
	rrun sh -c 'tty; true'
	assert_eq "not a tty" "$OUT" "tty without -t"
}

test_interactive_passes_stdin() {
	printf 'hello\nworld\n' >"$T/in"
	STDIN_FILE=$T/in rrun -i cat
	assert_rc 0
	assert_eq $'hello\nworld' "$OUT" "cat with -i"
}

test_stdin_not_passed_without_i() {
	printf 'hello\n' >"$T/in"
	STDIN_FILE=$T/in rrun cat
	assert_rc 0
	assert_eq "" "$OUT" "cat without -i"
}

test_tty_resize_is_forwarded() {
	require_cmd tmux tmux
	mkdir "$T/sync"
	local sock=$T/tmux.sock inner cmd
	# inside: record the size, then wait (up to 5 s) for it to change and record it again
	inner='stty size > /sync/a; touch /sync/ready; s=$(stty size); i=0
		while [ "$s" = "$(cat /sync/a)" ] && [ $i -lt 50 ]; do sleep 0.1; s=$(stty size); i=$((i + 1)); done
		echo "$s" > /sync/b'
	cmd="$(rl_cmd -t -v "$(printf %q "$T/sync:/sync")" sh -c "$(printf %q "$inner")"); echo \$? > $(printf %q "$T/sync/rc")"
	LAST_CMD="tmux new-session -x 101 -y 33 $cmd"
	tmux -S "$sock" -f /dev/null new-session -d -s rl -x 101 -y 33 "$cmd"
	wait_for_file "$T/sync/ready" 10 || { tmux -S "$sock" kill-server || true; fail "container did not start in tmux"; }
	tmux -S "$sock" resize-window -t rl -x 120 -y 40
	wait_for_file "$T/sync/rc" 15 || true
	tmux -S "$sock" kill-server 2>/dev/null || true
	assert_eq "33 101" "$(cat "$T/sync/a")" "size at start"
	assert_eq "40 120" "$(cat "$T/sync/b" 2>/dev/null)" "size after tmux resize-window"
	assert_eq 0 "$(cat "$T/sync/rc" 2>/dev/null)" "exit status of rless"
}
