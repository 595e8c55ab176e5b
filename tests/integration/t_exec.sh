# t_exec.sh — `rless exec`: a new process in a running container joins its namespaces (pid, uts,
# mount, user...), its root filesystem, capabilities, env, workdir and user; exit codes, -e,
# -w, -u, -i, -t under a real pty, -d, signals, and the errors for a stopped or unknown
# container. Containers are run from the local test registry (run.sh exports RLESS_REG), each
# test in its own store ($STORE = $T/store).
# shellcheck shell=bash disable=SC2016,SC2034

require_registry() {
	[[ -n ${RLESS_REG:-} ]] || skip "no test registry (tests/registry/fixtures.sh up failed)"
	STORE=$T/store
	IMG=$RLESS_REG/rless-test/busybox
	run_rless --root "$STORE" pull -q "$IMG"
	[[ $RC -eq 0 ]] || { show_run >&2; fail "pull $IMG"; }
}

# x ARG...: `rless --root $STORE exec ARG...`; sets OUT, ERR, RC.
x() {
	run_rless --root "$STORE" exec "$@"
}

x_ok() {
	x "$@"
	[[ $RC -eq 0 ]] || { show_run >&2; fail "expected exit status 0"; }
}

# stop_c1: SIGKILL what the background rless runs (pid 1 ignores SIGTERM: it is sleep as pid 1
# of its namespace), then reap rless. The EXIT trap of every test that starts c1.
stop_c1() {
	local p kids=()
	if [[ -n ${C1_RLESS:-} ]]; then
		read -r -a kids 2>/dev/null <"/proc/$C1_RLESS/task/$C1_RLESS/children" || true
		for p in "${kids[@]}"; do
			kill -KILL "$p" 2>/dev/null || true
		done
	fi
	[[ -z ${C1_BG:-} ]] || wait "$C1_BG" 2>/dev/null || true
}

# start_c1 [RUN OPTION...] [-- IMAGE]: `rless run --name c1 OPTION... IMAGE sh -c ...` in the
# background (with --storage-driver $C1_DRIVER when set): pid 1 writes /tmp/p1 ("from-pid1")
# and becomes `sleep`. Returns once exec into it works (10 s at most).
start_c1() {
	local opts=() img=$IMG i
	while [[ $# -gt 0 ]]; do
		if [[ $1 == -- ]]; then
			img=$2
			break
		fi
		opts+=("$1")
		shift
	done
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" --root "$STORE" ${C1_DRIVER:+--storage-driver "$C1_DRIVER"} \
		run --name c1 "${opts[@]}" "$img" \
		sh -c 'echo from-pid1 >/tmp/p1; exec sleep 120' </dev/null >"$T/c1.out" 2>"$T/c1.err" &
	C1_BG=$!
	trap stop_c1 EXIT
	for ((i = 0; i < 100; i++)); do
		C1_RLESS=$(cat "/proc/$C1_BG/task/$C1_BG/children" 2>/dev/null || true)
		C1_RLESS=${C1_RLESS%% *}
		if "$RLESS" --root "$STORE" exec c1 test -e /tmp/p1 </dev/null >/dev/null 2>"$T/.wait.err"; then
			return 0
		fi
		sleep 0.1
	done
	echo "last exec error: $(<"$T/.wait.err")" >&2
	echo "rless run stderr: $(<"$T/c1.err")" >&2
	fail "container c1 never became exec-able"
}

# host_pid1_of_c1: the host pid of c1's pid 1 (the child of rless whose innermost pid is 1).
host_pid1_of_c1() {
	BG_PID=$C1_RLESS host_pid1
}

test_exec_sees_hostname_files_pids_and_maps() {
	require_registry
	start_c1 -h myhost
	x_ok c1 hostname
	assert_eq myhost "$OUT" "host name"
	x_ok c1 sh -c 'echo $HOSTNAME'
	assert_eq myhost "$OUT" "HOSTNAME"
	x_ok c1 cat /tmp/p1
	assert_eq from-pid1 "$OUT" "a file pid 1 wrote"
	x_ok c1 ps -o pid,args
	local lines
	mapfile -t lines <<<"$OUT"
	assert_eq 3 "${#lines[@]}" "ps lines (header, pid 1, ps): $OUT"
	assert_match "${lines[1]}" '^ +1 sleep 120$' "pid 1 is the container's sleep"
	assert_match "${lines[2]}" '^ +[0-9]+ ps -o pid,args$' "the exec'd ps is in the pid namespace"
	local p1
	p1=$(host_pid1_of_c1) || fail "no pid 1 among the children of rless"
	x_ok c1 cat /proc/self/uid_map
	assert_eq "$(norm <"/proc/$p1/uid_map")" "$(norm <<<"$OUT")" "uid_map of exec vs pid 1"
	x_ok c1 cat /proc/self/gid_map
	assert_eq "$(norm <"/proc/$p1/gid_map")" "$(norm <<<"$OUT")" "gid_map of exec vs pid 1"
	# Every namespace and the mount table are pid 1's; the host's are not.
	local ns want=""
	for ns in user mnt pid uts ipc net cgroup; do
		want+="$(readlink "/proc/$p1/ns/$ns")"$'\n'
		[[ $(readlink "/proc/$p1/ns/$ns") != $(readlink "/proc/self/ns/$ns") ]] ||
			fail "the container shares the host's $ns namespace"
	done
	x_ok c1 sh -c 'for ns in user mnt pid uts ipc net cgroup; do readlink /proc/self/ns/$ns; done'
	assert_eq "${want%$'\n'}" "$OUT" "namespaces of the exec'd process"
	x_ok c1 sh -c 'cmp /proc/1/mountinfo /proc/self/mountinfo && echo same'
	assert_eq same "$OUT" "mount table and root of pid 1"
}

test_exec_exit_codes() {
	require_registry
	start_c1
	x c1 true
	assert_rc 0
	x c1 sh -c 'exit 3'
	assert_rc 3
	x c1 /etc/passwd
	assert_rc 126
	assert_contains "$ERR" "exec \`/etc/passwd\` in the container: Permission denied"
	x c1 no-such-command
	assert_rc 127
	assert_contains "$ERR" "exec \`no-such-command\` in the container: No such file or directory"
	x c1 sh -c 'kill -KILL $$'
	assert_rc 137
	# The container lives on after all of them.
	x_ok c1 cat /tmp/p1
	assert_eq from-pid1 "$OUT"
}

test_exec_env_workdir_user() {
	require_registry
	start_c1 -e RUNVAR=from-run -e SHARED=run
	x_ok c1 sh -c 'echo "$RUNVAR $SHARED $(pwd) $(id -u):$(id -g) $HOME $container"'
	assert_eq "from-run run /root 0:0 /root rless" "$OUT" "the container's env, workdir, user"
	printf 'FILEVAR=from-file\n# comment\nSHARED=file\n' >"$T/envfile"
	x_ok -e SHARED=exec -e NEW=n --env-file "$T/envfile" -w /tmp -u 1000:1000 c1 \
		sh -c 'echo "$RUNVAR $SHARED $NEW $FILEVAR $(pwd) $(id -u):$(id -g) $HOME"'
	assert_eq "from-run file n from-file /tmp 1000:1000 /home/tester" "$OUT" "-e, --env-file, -w, -u"
	# -u NAME from the container's /etc/passwd and /etc/group, with the groups run -u gives.
	x_ok -u tester c1 id
	local ids=$OUT
	assert_contains "$ids" "uid=1000(tester) gid=1000(tester) groups=" "-u NAME"
	assert_contains "$ids" "2000(extra)" "-u NAME: supplementary group from /etc/group"
	run_rless --root "$STORE" run --rm -u tester "$IMG" id
	assert_eq "$OUT" "$ids" "exec -u tester vs run -u tester"
	x_ok -u nobody:users c1 sh -c 'id -u; id -g'
	assert_eq $'65534\n100' "$OUT" "-u USER:GROUP"
	x -u no-such-user c1 id
	assert_rc 125
	assert_contains "$ERR" "no-such-user"
	x -w /no/such/dir c1 pwd
	assert_rc 125
	assert_contains "$ERR" "chdir to the working directory \`/no/such/dir\` in the container"
	x -w relative c1 pwd
	assert_rc 125
	assert_contains "$ERR" "must be an absolute path"
}

test_exec_defaults_from_image_config() {
	require_registry
	run_rless --root "$STORE" pull -q "$IMG:env"
	assert_rc 0
	start_c1 -- "$IMG:env"
	x_ok c1 sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g)"'
	assert_eq "from-image /srv 1000:1000" "$OUT" "image Env, WorkingDir, User"
	x_ok -u 0 c1 id -u
	assert_eq 0 "$OUT" "-u 0 overrides the image's user"
}

test_exec_caps_no_new_privs_session() {
	require_registry
	start_c1 --cap-drop chown --cap-add net_raw
	local p1
	p1=$(host_pid1_of_c1) || fail "no pid 1 among the children of rless"
	x_ok c1 sh -c 'grep -E "^(Cap|NoNewPrivs)" /proc/self/status'
	assert_eq "$(grep -E '^(Cap|NoNewPrivs)' "/proc/$p1/status")" "$OUT" "caps and no_new_privs of pid 1"
	assert_contains "$OUT" $'NoNewPrivs:\t1'
	# A non-root user keeps no capability, like pid 1 would.
	x_ok -u 1000 c1 sh -c 'grep -E "^Cap(Prm|Eff)" /proc/self/status'
	assert_eq $'CapPrm:\t0000000000000000\nCapEff:\t0000000000000000' "$OUT" "caps of uid 1000"
	# Its own session (never rless' controlling terminal) and no inherited fd.
	exec 7</dev/null
	x_ok c1 sh -c 'set -- $(sed "s/.*) //" /proc/$$/stat); [ "$4" = $$ ] && echo leader; ls /proc/$$/fd; :'
	assert_eq $'leader\n0\n1\n2' "$OUT" "session leader with fds 0 1 2 only"
}

test_exec_stdin_only_with_i() {
	require_registry
	start_c1
	printf 'piped\n' >"$T/in"
	STDIN_FILE=$T/in x_ok -i c1 cat
	assert_eq piped "$OUT" "stdin with -i"
	STDIN_FILE=$T/in x_ok c1 cat
	assert_eq "" "$OUT" "stdin is /dev/null without -i"
}

# xq ARG...: the `rless exec` command line for in_pty, quoted; in the pty's foreground.
xq() {
	printf 'timeout --foreground -k 5 %s %q --root %q exec %s' "$RUN_TIMEOUT" "$RLESS" "$STORE" "$*"
}

test_exec_tty() {
	require_registry
	start_c1
	in_pty "stty rows 33 cols 101; $(xq -t c1 sh -c "'tty; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; echo \$TERM'")"
	assert_rc 0
	local lines
	mapfile -t lines <<<"$OUT"
	assert_match "${lines[0]}" '^/dev/pts/[0-9]+$' "tty inside"
	assert_eq "33 101" "${lines[1]}" "stty size inside"
	assert_eq all-tty "${lines[2]}" "stdin/out/err are the terminal"
	assert_eq xterm "${lines[3]}" "TERM"
	in_pty "$(xq -t c1 sh -c "'exit 7'")"
	assert_rc 7
	# A non-default mode outside comes back exactly, after -it too.
	in_pty "stty -echo -icanon min 1 time 0; stty -g >$(printf %q "$T/before"); $(xq -it c1 true); stty -g >$(printf %q "$T/after")"
	assert_rc 0
	[[ -s $T/before ]] || fail "stty -g printed nothing"
	assert_eq "$(<"$T/before")" "$(<"$T/after")" "stty -g after rless exec -it"
	# -it: typed input reaches the process.
	in_pty "(sleep 1; printf 'echo typed-\$((6*7))\nexit 5\n') | $(xq -it c1 sh)"
	assert_rc 5
	assert_contains "$OUT" "typed-42" "input typed into exec -it sh"
}

test_exec_tty_window_change() {
	require_registry
	start_c1
	in_pty "stty rows 33 cols 77; (sleep 1; stty rows 40 cols 100 </dev/tty) & $(xq -t c1 sh -c "'stty size; sleep 2; stty size'")"
	assert_rc 0
	assert_eq $'33 77\n40 100' "$OUT" "SIGWINCH copies the new size"
}

test_exec_signals_forwarded() {
	require_registry
	start_c1
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" --root "$STORE" exec c1 \
		sh -c 'trap "echo got-term; exit 42" TERM; touch /tmp/ready; while :; do sleep 0.1; done' \
		</dev/null >"$T/sig.out" 2>"$T/sig.err" &
	local bg=$! rl i
	for ((i = 0; i < 100; i++)); do
		"$RLESS" --root "$STORE" exec c1 test -e /tmp/ready </dev/null 2>/dev/null && break
		sleep 0.1
	done
	rl=$(cat "/proc/$bg/task/$bg/children")
	kill -TERM "${rl%% *}"
	RC=0
	wait "$bg" || RC=$?
	assert_rc 42
	assert_eq got-term "$(<"$T/sig.out")" "the process got SIGTERM"
}

test_exec_detach() {
	require_registry
	start_c1
	x_ok -d c1 sh -c 'sleep 0.5; echo detached >/tmp/d'
	assert_eq "" "$OUT" "-d prints nothing"
	x c1 cat /tmp/d
	[[ $RC -ne 0 ]] || fail "exec -d waited for the command"
	local i
	for ((i = 0; i < 50; i++)); do
		x c1 cat /tmp/d
		[[ $RC -ne 0 ]] || break
		sleep 0.1
	done
	assert_eq detached "$OUT" "the detached command ran"
	x -d c1 no-such-command
	assert_rc 127
	x -d -t c1 sh
	assert_rc 125
	assert_contains "$ERR" "cannot be combined with -i or -t"
}

test_exec_not_running_and_no_such_container() {
	require_registry
	run_rless --root "$STORE" run --name finished "$IMG" true
	assert_rc 0
	x finished true
	assert_rc 125
	assert_contains "$ERR" "container finished is not running"
	x bogus true
	assert_rc 1
	assert_contains "$ERR" "No such container: bogus"
	# A store that does not exist yet has no containers either.
	run_rless --root "$T/nostore" exec bogus true
	assert_rc 1
	assert_contains "$ERR" "No such container: bogus"
	x c1
	assert_rc 125
	assert_contains "$ERR" "needs a command to run in container c1"
}

test_exec_after_pid1_exits() {
	require_registry
	start_c1
	local p1
	p1=$(host_pid1_of_c1) || fail "no pid 1 among the children of rless"
	kill -KILL "$p1"
	wait "$C1_BG" || true
	C1_BG=
	x c1 true
	assert_rc 125
	assert_contains "$ERR" "container c1 is not running"
}

test_exec_single_id_map() {
	require_registry
	start_c1 --userns single
	x_ok c1 sh -c 'id -u; cat /proc/self/uid_map'
	assert_eq $'0\n0 '"$(id -u)"' 1' "$(norm <<<"$OUT")" "single-id map"
	x -u 1000 c1 id
	assert_rc 125
	assert_contains "$ERR" "single-id mode maps only 0"
}

test_exec_keep_id_default_user() {
	require_registry
	require_subids
	start_c1 --userns keep-id
	x_ok c1 sh -c 'id -u; id -g'
	assert_eq "$(id -u)"$'\n'"$(id -g)" "$OUT" "keep-id: the caller's ids, as pid 1"
}

test_exec_host_network() {
	require_registry
	start_c1 --network host
	x_ok c1 readlink /proc/self/ns/net
	assert_eq "$(readlink /proc/self/ns/net)" "$OUT" "--network host: the host's network namespace"
	x_ok c1 hostname
}

test_exec_into_detached_container() {
	require_registry
	run_rless --root "$STORE" run -d --name web "$IMG" sh -c 'echo from-pid1 >/tmp/p1; exec sleep 120'
	assert_rc 0
	# shellcheck disable=SC2064
	trap "$(printf %q "$RLESS") --root $(printf %q "$STORE") rm -f web >/dev/null 2>&1 || true" EXIT
	local i
	for ((i = 0; i < 50; i++)); do
		x web cat /tmp/p1
		[[ $RC -ne 0 ]] || break
		sleep 0.1
	done
	assert_eq from-pid1 "$OUT" "exec into a container run with -d"
	x_ok web ps -o pid,args
	assert_contains "$OUT" "1 sleep 120" "its pid 1"
	in_pty "stty rows 20 cols 60; $(xq -it web sh -c "'stty size; tty'")"
	assert_rc 0
	assert_match "$OUT" $'^20 60\n/dev/pts/[0-9]+$' "exec -it into a detached container"
	run_rless --root "$STORE" rm -f web
	assert_rc 0
	x web true
	assert_rc 1
	assert_contains "$ERR" "No such container: web"
}

test_exec_fuse_overlayfs_container() {
	require_registry
	require_cmd fuse-overlayfs fuse-overlayfs
	[[ -c /dev/fuse ]] || skip "/dev/fuse missing"
	# pid 1 of a fuse-overlayfs container has a mount namespace of its own (nested in the
	# daemon's): exec must join that one, where the root is the overlay.
	C1_DRIVER=fuse-overlayfs start_c1
	x_ok c1 sh -c 'cat /tmp/p1; grep -c " / / " /proc/self/mountinfo; cmp /proc/1/mountinfo /proc/self/mountinfo && echo same'
	assert_eq $'from-pid1\n1\nsame' "$OUT" "exec in a fuse-overlayfs container"
	x_ok c1 sh -c 'echo written-by-exec >/tmp/e'
	x_ok c1 cat /tmp/e
	assert_eq written-by-exec "$OUT"
}
