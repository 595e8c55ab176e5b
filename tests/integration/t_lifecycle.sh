# t_lifecycle.sh — detached containers: run -d, logs, stop, kill, start, --rm, many at once,
# a killed monitor. Images from the local registry (see t_image.sh).
# shellcheck shell=bash disable=SC2016,SC2034

require_registry() {
	[[ -n ${RLESS_REG:-} ]] || skip "no test registry (tests/registry/fixtures.sh up failed)"
	STORE=$T/store
	IMG=$RLESS_REG/rless-test/busybox
}

# r ARG...: rless --root $STORE ARG...
r() {
	run_rless --root "$STORE" "$@"
}

r_ok() {
	r "$@"
	[[ $RC -eq 0 ]] || { show_run >&2; fail "expected exit status 0"; }
}

# status NAME: the STATUS column of `ps -a` for NAME.
status() {
	r_ok ps -a --format json
	python3 -c 'import json,sys
for c in json.loads(sys.argv[1]):
    if sys.argv[2] in c.get("Names", []): print(c["Status"])' "$OUT" "$1"
}

# no_processes_of ID: nothing on the host runs from that container's dirs.
no_processes_of() {
	local id=$1 p
	for p in /proc/[0-9]*; do
		if grep -qs "$id" "$p/cmdline" 2>/dev/null; then
			fail "a process still refers to container $id: $(tr '\0' ' ' <"$p/cmdline")"
		fi
	done
}

test_run_detached_prints_id_and_returns() {
	require_registry
	r_ok pull -q "$IMG"
	local start=$SECONDS
	r_ok run -d --name d1 "$IMG" sleep 30
	assert_match "$OUT" '^[0-9a-f]{64}$' "run -d prints the id"
	[[ $((SECONDS - start)) -lt 10 ]] || fail "run -d did not return at once"
	r_ok ps
	assert_contains "$OUT" "d1" "ps lists the running container"
	assert_contains "$OUT" "Up " "status"
	r_ok kill d1
	r_ok wait d1
	assert_eq "137" "$OUT" "exit code after kill"
	r_ok rm d1
}

test_run_detached_start_failure_is_reported() {
	require_registry
	r run -d --name bad "$IMG" /no/such/command
	assert_rc 127
	assert_contains "$ERR" "/no/such/command"
}

test_logs_keep_streams_apart_and_follow() {
	require_registry
	r_ok run -d --name l1 "$IMG" sh -c 'echo one; echo two >&2; sleep 1; printf "three"; sleep 1; echo four'
	r_ok logs -f l1
	assert_eq $'one\nthreefour' "$OUT" "stdout, -f until the container exits"
	assert_eq "two" "$ERR" "stderr"
	r_ok logs --tail 1 l1
	assert_eq "threefour" "$OUT" "--tail 1"
	r_ok logs -t l1
	assert_match "$OUT" '^20[0-9-]+T[0-9:.]+Z one' "-t timestamps"
	r_ok logs --since 1h l1
	assert_contains "$OUT" "one"
	r_ok logs --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" l1
	assert_eq "" "$OUT" "--since in the future shows nothing"
	grep -q ' stdout F one$' "$STORE/containers/"*/ctr.log || fail "log is not in k8s-file format"
}

test_stop_escalates_and_uses_stop_signal() {
	require_registry
	r_ok run -d --name s1 "$IMG" sleep 60
	local t0=$SECONDS
	r_ok stop -t 1 s1
	assert_eq "s1" "$OUT"
	[[ $((SECONDS - t0)) -lt 8 ]] || fail "stop -t 1 took $((SECONDS - t0)) s"
	assert_match "$(status s1)" '^Exited \(137\)' "pid 1 ignores SIGTERM: killed"
	# The image's StopSignal (SIGUSR1) reaches a shell that traps it.
	r_ok run -d --name s2 "$RLESS_REG/rless-test/busybox:stopsig" \
		sh -c 'trap "exit 7" USR1; echo ready; while :; do sleep 1; done'
	# Until the trap is set, pid 1 ignores SIGUSR1 from outside its pid namespace.
	local i
	for i in $(seq 100); do
		r logs s2
		[[ $OUT != ready ]] || break
		sleep 0.1
	done
	r_ok stop -t 10 s2
	assert_match "$(status s2)" '^Exited \(7\)' "StopSignal delivered"
	r_ok rm s1 s2
}

test_start_keeps_the_upper_layer() {
	require_registry
	r_ok run --name p1 "$IMG" sh -c 'echo x >>/persist; wc -l </persist'
	assert_eq "1" "$OUT"
	r_ok start -a p1
	assert_eq "2" "$OUT" "start -a reruns with the same files"
	r_ok start p1
	r_ok wait p1
	r_ok logs p1
	assert_eq "3" "$OUT"
	r_ok rm p1
}

test_detached_rm_removes_itself() {
	require_registry
	r_ok run -d --rm --name gone "$IMG" true
	local id=$OUT i
	for i in $(seq 50); do
		[[ -e $STORE/containers/$id ]] || break
		sleep 0.1
	done
	[[ ! -e $STORE/containers/$id ]] || fail "--rm left the container dir"
	r_ok ps -a -q
	assert_not_contains "$OUT" "${id:0:12}"
}

test_monitor_survives_the_terminal() {
	require_registry
	# setsid: rless -d in a session of its own that ends at once, like a closed terminal.
	setsid -w "$RLESS" --root "$STORE" run -d --name m1 "$IMG" sleep 30 >"$T/id" </dev/null
	r_ok ps
	assert_contains "$OUT" "m1"
	r_ok rm -f m1
}

test_killed_monitor_then_rm_f_cleans_up() {
	require_registry
	r_ok run -d --name km "$IMG" sleep 60
	local id=$OUT mon
	mon=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["monitor_pid"])' \
		"$XDG_RUNTIME_DIR/rless/containers/$id/state.json" 2>/dev/null) ||
		mon=$(pgrep -f -o "run -d --name km" || true)
	[[ -n $mon ]] || fail "no monitor pid found"
	kill -9 "$mon"
	r_ok ps -a
	assert_contains "$OUT" "km" "ps -a still lists it"
	r_ok rm -f km
	[[ ! -e $STORE/containers/$id ]] || fail "rm -f left the container dir"
	grep -q "$id" /proc/self/mountinfo && fail "a mount of the container remains"
	no_processes_of "$id"
}

# The monitor is a fork that ends with _exit, out of reach of a leak checker: its memory while a
# container logs a lot must stay where it was after the first lines (src/memtrim.c drops what
# start-up made resident; a leak per line would show as growth here).
test_monitor_memory_stays_flat_while_logging() {
	require_registry
	r_ok run -d --name ml "$IMG" sh -c 'i=0; while [ $i -lt 40000 ]; do echo "line $i"; echo "err $i" >&2; i=$((i + 1)); done; sleep 60'
	local id=$OUT mon i a b rss san=
	mon=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["monitor_pid"])' \
		"$XDG_RUNTIME_DIR/rless/containers/$id/state.json")
	# sampled after 2000 lines and once all 80000 are written
	for ((i = 0; i < 300; i++)); do
		[[ $(grep -c . "$STORE/containers/$id/ctr.log" 2>/dev/null || echo 0) -ge 2000 ]] && break
		sleep 0.05
	done
	a=$(awk '/^Private_Dirty:/ {s += $2} END {print s}' "/proc/$mon/smaps")
	for ((i = 0; i < 600; i++)); do
		[[ $(grep -c . "$STORE/containers/$id/ctr.log" 2>/dev/null || echo 0) -ge 80000 ]] && break
		sleep 0.1
	done
	b=$(awk '/^Private_Dirty:/ {s += $2} END {print s}' "/proc/$mon/smaps")
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$mon/status")
	# ASan's allocator and quarantine are memory of their own: the plain build is measured
	grep -q libasan "/proc/$mon/maps" && san=1
	r_ok rm -f ml
	[[ -z $san ]] || return 0
	[[ $b -le $((a + 64)) ]] || fail "the monitor's private memory grew from $a kB to $b kB over 78000 log lines"
	[[ $rss -le 1024 ]] || fail "the monitor's RSS is $rss kB after 80000 log lines (target: 1 MB)"
}

test_fifty_detached_containers() {
	require_registry
	r_ok pull -q "$IMG"
	local i pids=() rc=0
	for i in $(seq 50); do
		"$RLESS" --root "$STORE" run -d --name "many$i" "$IMG" sleep 60 >/dev/null 2>"$T/e$i" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || rc=1; done
	[[ $rc -eq 0 ]] || { cat "$T"/e* >&2; fail "a run -d failed"; }
	r_ok ps -q
	[[ $(wc -l <<<"$OUT") -eq 50 ]] || fail "expected 50 running, got $(wc -l <<<"$OUT")"
	r_ok stop -t 0 $(seq -f 'many%g' 50)
	r_ok rm $(seq -f 'many%g' 50)
	[[ -z $(ls -A "$STORE/containers") ]] || fail "container dirs left: $(ls "$STORE/containers" | head -3)"
	[[ -z $(ls -A "$STORE/names" 2>/dev/null) ]] || fail "names left"
	for i in /proc/[0-9]*; do
		grep -qs "$STORE" "$i/cmdline" && fail "process left: $(tr '\0' ' ' <"$i/cmdline")"
	done
	true
}

# tmux_start CMD: a tmux server of this test running CMD in a 100x30 window.
tmux_start() {
	require_cmd tmux tmux
	TMUX_N=$((${TMUX_N:-0} + 1))
	TMUX_SOCK=$T/tmux$TMUX_N.sock
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -s rl -x 100 -y 30 "$1"
}

tmux_keys() {
	tmux -S "$TMUX_SOCK" send-keys -t rl "$@"
}

# tmux_wait_for TEXT: until the pane shows TEXT (10 s at most).
tmux_wait_for() {
	local i
	for i in $(seq 100); do
		tmux -S "$TMUX_SOCK" capture-pane -p -t rl | grep -qF -- "$1" && return 0
		sleep 0.1
	done
	echo "pane:" >&2
	tmux -S "$TMUX_SOCK" capture-pane -p -t rl >&2
	fail "the terminal never showed: $1"
}

test_run_it_detach_and_attach_again() {
	require_registry
	r_ok pull -q "$IMG"
	printf '#!/bin/sh\n"%s" --root "%s" "$@"; echo "rc=$?"; exec sleep 60\n' "$RLESS" "$STORE" >"$T/r.sh"
	chmod +x "$T/r.sh"
	tmux_start "$T/r.sh run -it --name a1 $IMG sh"
	tmux_keys 'echo in-$((40+2))' Enter
	tmux_wait_for "in-42"
	tmux_keys C-p C-q
	tmux_wait_for "detached from container"
	tmux_wait_for "rc=0"
	r_ok ps
	assert_contains "$OUT" "a1" "the container runs on after the detach"
	tmux -S "$TMUX_SOCK" kill-server
	tmux_start "$T/r.sh attach a1"
	sleep 0.5
	tmux_keys 'echo back-$((1+1)); exit 3' Enter
	tmux_wait_for "back-2"
	tmux_wait_for "rc=3"
	tmux -S "$TMUX_SOCK" kill-server
	r_ok wait a1
	assert_eq "3" "$OUT"
	r_ok rm a1
}

test_attach_with_own_detach_keys() {
	require_registry
	r_ok run -dit --name a2 "$IMG" sh
	printf '#!/bin/sh\n"%s" --root "%s" "$@"; echo "rc=$?"; exec sleep 60\n' "$RLESS" "$STORE" >"$T/r.sh"
	chmod +x "$T/r.sh"
	tmux_start "$T/r.sh attach --detach-keys ctrl-a,d a2"
	sleep 0.5
	tmux_keys 'echo hi-$((2*3))' Enter
	tmux_wait_for "hi-6"
	tmux_keys C-p C-q 'echo still-$((3*3))' Enter
	tmux_wait_for "still-9" # ctrl-p ctrl-q are plain keys here
	tmux_keys C-a d
	tmux_wait_for "rc=0"
	tmux -S "$TMUX_SOCK" kill-server
	r_ok ps
	assert_contains "$OUT" "a2"
	r_ok logs a2
	assert_contains "$OUT" "hi-6" "a terminal container's output is logged too"
	r attach a2 --bogus
	assert_rc 125
	r_ok rm -f a2
}

test_attach_refuses_container_without_tty() {
	require_registry
	r_ok run -d --name a3 "$IMG" sleep 30
	r attach a3
	assert_rc 125
	assert_contains "$ERR" "no terminal"
	r_ok rm -f a3
}

test_restart_runs_it_again() {
	require_registry
	r_ok run -d --name rs1 "$IMG" sh -c 'echo run >>/count; sleep 60'
	r_ok restart -t 0 rs1
	assert_eq "rs1" "$OUT"
	r_ok exec rs1 wc -l /count
	assert_match "$OUT" '^2 /count$' "restarted with its upper layer"
	r_ok rm -f rs1
}

test_runtime_dir_wiped_then_start() {
	require_registry
	r_ok run --name w1 "$IMG" sh -c 'echo x >>/f; wc -l </f'
	rm -rf "$XDG_RUNTIME_DIR/rless"
	r_ok ps -a
	assert_contains "$OUT" "w1" "ps -a knows it without the runtime dir"
	assert_contains "$OUT" "Exited (0)"
	r_ok start -a w1
	assert_eq "2" "$OUT"
	r_ok rm w1
}
