# tests/vm/t_cgroup.sh — cgroup v2 limits of rless containers, run inside the test VM by
# tests/vm/suite.sh as tester (uid 1000, subordinate ids 100000:65536), once per placement
# (RLESS_VM_PLACEMENT): "delegated", a cgroup of tester's own with cpuset cpu io memory pids, and
# "system", a root-owned cgroup where rless has to get a delegated scope from the systemd user
# manager. RLESS_VM_CGROUP is the cgroup the harness started the suite in. The assertions are
# tests/integration/lib.sh's; containers run on its busybox $ROOTFS (rrun), or, when they need a
# record (names, -d, inspect), on the same tree imported as $RLESS_VM_IMAGE (named, detached).
# shellcheck shell=bash

CG_ROOT=/sys/fs/cgroup

# json_get KEY.PATH: the value at KEY.PATH of the JSON on stdin (an array: its first element);
# true/false as such, "" when absent.
json_get() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
if isinstance(d, list):
    d = d[0] if d else None
for k in sys.argv[1].split("."):
    d = d.get(k) if isinstance(d, dict) else None
print("" if d is None else json.dumps(d) if isinstance(d, (bool, list, dict)) else d)
' "$1"
}

# inspect_get NAME KEY.PATH: sets VAL to KEY.PATH of `rless inspect NAME`.
inspect_get() {
	run_rless inspect "$1"
	[[ $RC -eq 0 ]] || { show_run >&2; fail "rless inspect $1 failed"; }
	VAL=$(json_get "$2" <<<"$OUT")
}

# container_cgroup NAME: sets CG to the cgroup dir of the running container NAME, from
# `rless inspect`'s State.CgroupPath (a path under the cgroup2 mount, as /proc/PID/cgroup says).
container_cgroup() {
	inspect_get "$1" State.CgroupPath
	[[ $VAL == /* ]] || fail "rless inspect $1: State.CgroupPath is '$VAL', not a cgroup path"
	CG=$CG_ROOT$VAL
	[[ -d $CG ]] || fail "State.CgroupPath of $1 is $VAL, but $CG does not exist"
	[[ $VAL != "$RLESS_VM_CGROUP" ]] || fail "container $1 runs in the suite's own cgroup $VAL"
}

# split_opts OPTION... -- CMD...: OPTS=(OPTION...), CMD=(CMD...).
split_opts() {
	OPTS=()
	while [[ $# -gt 0 && $1 != -- ]]; do
		OPTS+=("$1")
		shift
	done
	[[ $# -gt 0 ]] || fail "split_opts: no -- before the command"
	shift
	CMD=("$@")
}

# named NAME OPTION... -- CMD...: `rless run --name NAME OPTION... IMAGE CMD...` of the busybox
# image ($RLESS_VM_IMAGE; containers of --rootfs are not recorded, so inspect knows no name).
named() {
	local name=$1
	shift
	split_opts "$@"
	run_rless run --name "$name" "${OPTS[@]}" "$RLESS_VM_IMAGE" "${CMD[@]}"
}

# detached NAME OPTION... -- CMD...: the same with -d; it must start.
detached() {
	named "$1" -d "${@:2}"
	assert_rc 0
}

# named_bg NAME OPTION... -- CMD...: `named` in the background; bg_wait (lib.sh) collects it.
named_bg() {
	local name=$1
	shift
	split_opts "$@"
	# shellcheck disable=SC2034 # lib.sh's show_run and bg_wait read them
	LAST_CMD="rless run --name $name ${OPTS[*]} $RLESS_VM_IMAGE ${CMD[*]}"
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" run --name "$name" "${OPTS[@]}" "$RLESS_VM_IMAGE" \
		"${CMD[@]}" </dev/null >"$T/bg.out" 2>"$T/bg.err" &
	# shellcheck disable=SC2034
	BG_TIMEOUT_PID=$!
}

# wait_running NAME: until `rless inspect NAME` says running (10 s).
wait_running() {
	local i
	for ((i = 0; i < 40; i++)); do
		run_rless inspect "$1"
		if [[ $RC -eq 0 && $(json_get State.Status <<<"$OUT") == running ]]; then
			return 0
		fi
		sleep 0.25
	done
	fail "container $1 did not come up"
}

# wait_gone DIR SECONDS
wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[[ -e $1 ]] || return 0
		sleep 0.1
	done
	return 1
}

cg_key() { # FILE KEY: the value of KEY in a "key value" file (cpu.stat)
	awk -v k="$2" '$1 == k {print $2}' "$1"
}

# ---------------------------------------------------------------------------------------------
# The harness itself: these need no cgroup feature of rless.

test_vm_rootless_run_works() {
	require_subids
	local want
	want="0 $(id -u) 1"$'\n'"1 $(subid_ranges uid | head -n 1)"$'\n'"0"
	rrun_ok sh -c 'cat /proc/self/uid_map; id -u'
	assert_eq "$want" "$(norm <<<"$OUT")" "uid_map and id -u inside"
}

test_vm_image_runs_on_the_kernel_overlay() {
	# A store of its own, with no remembered driver: what a user's first `rless run` gets.
	export XDG_DATA_HOME=$T/data
	tar -C "$ROOTFS" -c . | "$RLESS" import - vm/overlay >/dev/null
	run_rless run --rm vm/overlay grep " / " /proc/mounts
	assert_rc 0
	assert_match "$OUT" "^overlay / overlay " "the container's root"
}

test_vm_placement_is_what_the_harness_promises() {
	local dir=$CG_ROOT$RLESS_VM_CGROUP probe c controllers uid
	uid=$(id -u)
	assert_eq cgroup2fs "$(stat -f -c %T "$CG_ROOT")" "file system at $CG_ROOT"
	[[ -n $RLESS_VM_CGROUP && -d $dir ]] || fail "the suite's cgroup '$RLESS_VM_CGROUP' not found"
	probe=$dir/rless-vm-probe-$$
	case $RLESS_VM_PLACEMENT in
	delegated)
		assert_match "$RLESS_VM_CGROUP" "^/user\.slice/user-$uid\.slice/user@$uid\.service/" \
			"delegated cgroup"
		controllers=" $(<"$dir/cgroup.controllers") "
		for c in cpuset cpu io memory pids; do
			assert_contains "$controllers" " $c " "cgroup.controllers of $RLESS_VM_CGROUP"
		done
		[[ -O $dir && -w $dir/cgroup.procs && -w $dir/cgroup.subtree_control ]] ||
			fail "$dir is not tester's to write: $(stat -c '%U %a' "$dir")"
		mkdir "$probe" || fail "cannot create a cgroup below the delegated $dir"
		rmdir "$probe"
		;;
	system)
		assert_match "$RLESS_VM_CGROUP" "^/system\.slice/" "system cgroup"
		assert_eq 0 "$(stat -c %u "$dir")" "owner of $dir"
		if mkdir "$probe" 2>/dev/null; then
			rmdir "$probe"
			fail "tester can create cgroups in $dir: this placement is meant to be root's"
		fi
		[[ ! -w $dir/cgroup.procs ]] || fail "$dir/cgroup.procs is writable for tester"
		;;
	*) fail "RLESS_VM_PLACEMENT is '$RLESS_VM_PLACEMENT'" ;;
	esac
}

# ---------------------------------------------------------------------------------------------
# Limits (rless issue 5).

test_memory_limit_oom_kills_and_inspect_says_so() {
	# dd's 64 MiB buffer is anonymous memory, touched by read(): the kernel must kill dd.
	named oom-ok --memory 128m -- dd if=/dev/zero of=/dev/null bs=64M count=1
	assert_rc 0
	inspect_get oom-ok State.OOMKilled
	assert_eq false "$VAL" "State.OOMKilled of a run that fit"
	named oom --memory 32m -- dd if=/dev/zero of=/dev/null bs=64M count=1
	assert_rc 137
	inspect_get oom State.OOMKilled
	assert_eq true "$VAL" "State.OOMKilled after the OOM kill"
	run_rless rm oom oom-ok
	assert_rc 0
}

test_pids_limit_stops_the_eleventh_task() {
	# busybox sh gives up at the first failing fork (bash would retry for long); pid 1 and the
	# subshell are two of the ten tasks, so eight sleeps start.
	# shellcheck disable=SC2016 # the container's shell expands them
	rrun --pids-limit 10 sh -c \
		'( i=0; while [ $i -lt 30 ]; do sleep 1000 & echo started; i=$((i + 1)); done ) 2>/dev/null; echo end'
	assert_rc 0
	assert_eq 8 "$(grep -c '^started$' <<<"$OUT")" "sleeps started under --pids-limit 10"
	assert_contains "$OUT" end "pid 1 after the failed fork"
	detached pids --pids-limit 10 -- sleep 1000
	container_cgroup pids
	assert_eq 10 "$(<"$CG/pids.max")" "pids.max"
	run_rless rm -f pids
	assert_rc 0
}

test_cpus_quota_holds_a_busy_loop_to_half_a_cpu() {
	local u0 u1 t0 t1 pct
	detached busy --cpus 0.5 -- sh -c 'while :; do :; done'
	container_cgroup busy
	assert_eq "50000 100000" "$(<"$CG/cpu.max")" "cpu.max"
	sleep 0.5
	u0=$(cg_key "$CG/cpu.stat" usage_usec)
	t0=$(date +%s%N)
	sleep 2
	u1=$(cg_key "$CG/cpu.stat" usage_usec)
	t1=$(date +%s%N)
	pct=$(awk -v u=$((u1 - u0)) -v t=$(((t1 - t0) / 1000)) 'BEGIN {printf "%.1f", 100 * u / t}')
	echo "busy loop under --cpus 0.5: ${pct}% of a CPU over $(((t1 - t0) / 1000000)) ms"
	awk -v p="$pct" 'BEGIN {exit !(p <= 60)}' || fail "the busy loop used ${pct}% of a CPU (> 60%)"
	awk -v p="$pct" 'BEGIN {exit !(p >= 5)}' || fail "the busy loop used ${pct}% of a CPU: did it run?"
	run_rless rm -f busy
	assert_rc 0
}

test_cpuset_cpus_pins_to_cpu_0() {
	[[ $(nproc) -ge 2 ]] || fail "the VM has $(nproc) CPU (tests/vm/run.sh boots it with -smp 2)"
	rrun_ok --cpuset-cpus 0 grep Cpus_allowed_list /proc/self/status
	assert_eq $'Cpus_allowed_list:\t0' "$OUT" "Cpus_allowed_list with --cpuset-cpus 0"
}

test_cgroup_is_removed_after_exit() {
	local dir
	# Detached: the monitor removes it.
	detached gone --memory 32m -- sleep 1000
	container_cgroup gone
	dir=$CG
	run_rless kill gone
	assert_rc 0
	run_rless wait gone
	assert_eq 137 "$OUT" "exit code after kill"
	wait_gone "$dir" 10 || fail "$dir is still there 10 s after the detached container ended"
	# Foreground: rless itself removes it before it exits. The container runs until told (a
	# fixed sleep can end before inspect answers under emulation).
	mkdir "$T/ctl"
	named_bg fg --memory 32m -v "$T/ctl:/ctl" -- sh -c 'while [ ! -e /ctl/stop ]; do sleep 0.1; done'
	wait_running fg
	container_cgroup fg
	dir=$CG
	: >"$T/ctl/stop"
	bg_wait
	assert_rc 0
	[[ ! -e $dir ]] || fail "$dir is still there after rless run returned"
	run_rless rm gone fg
	assert_rc 0
}

test_update_changes_memory_max_live() {
	detached upd --memory 32m -- sleep 1000
	container_cgroup upd
	assert_eq 33554432 "$(<"$CG/memory.max")" "memory.max before rless update"
	run_rless update --memory 64m upd
	assert_rc 0
	assert_eq 67108864 "$(<"$CG/memory.max")" "memory.max after rless update --memory 64m"
	run_rless rm -f upd
	assert_rc 0
}

test_stats_reports_cpu_memory_and_pids() {
	detached st --memory 64m -- sh -c 'sleep 1000 & while :; do :; done'
	container_cgroup st
	local pids p
	run_rless stats --no-stream --format json st
	assert_rc 0
	echo "rless stats --no-stream --format json st: $OUT"
	pids=$(<"$CG/pids.current")
	echo "in $CG (pids.current $pids):"
	while read -r p; do
		echo "  $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done <"$CG/cgroup.procs"
	python3 -c '
import json, sys
a = json.loads(sys.argv[1])
assert isinstance(a, list) and len(a) == 1, "expected a one-element array"
s = a[0]
def need(ok, what):
    if not ok:
        sys.exit("stats: %s (got %r)" % (what, s))
need(s.get("Name") == "st", "Name is st")
need(s.get("MemLimitBytes") == 64 << 20, "MemLimitBytes is 64 MiB")
need(isinstance(s.get("MemUsageBytes"), int) and s["MemUsageBytes"] > 0, "MemUsageBytes > 0")
need(" / " in s.get("MemUsage", ""), "MemUsage is USAGE / LIMIT")
need(s.get("PidsCurrent") == int(sys.argv[2]) >= 2, "PidsCurrent is pids.current of the cgroup")
need(isinstance(s.get("CPU"), (int, float)) and s["CPU"] > 1, "CPU > 1 (a busy loop)")
need(str(s.get("CPUPerc", "")).endswith("%"), "CPUPerc ends with %")
' "$OUT" "$pids" || fail "rless stats output"
	run_rless rm -f st
	assert_rc 0
}
