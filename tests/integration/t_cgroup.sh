# t_cgroup.sh — resource limits on this host. The limits themselves are proven in the VM
# (tests/vm/t_cgroup.sh, `make check-vm`); here: a limit that the host cannot apply fails with
# exit 125 naming the reason and the fix (hybrid cgroups on the CI machine), runs without limits
# work, and the option and command errors.
# shellcheck shell=bash disable=SC2016,SC2034

# cg_layout: the cgroup layout `rless info` reports (v1, hybrid, v2, none).
cg_layout() {
	"$RLESS" info --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cgroup"]["version"])'
}

# cg_usable: can this user get cgroups with memory here (v2, writable, memory delegated)?
cg_usable() {
	"$RLESS" info --format json | python3 -c '
import json, sys
c = json.load(sys.stdin)["cgroup"]
sys.exit(0 if c.get("limits_problem") is None else 1)'
}

# cg_image: a local one-layer busybox image in $T/store, named cg:1 (no registry needed).
cg_image() {
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$ROOTFS" -cf "$T/rootfs.tar" .
	run_rless --root "$T/store" import "$T/rootfs.tar" cg:1
	[[ $RC -eq 0 ]] || { show_run >&2; fail "import the busybox image"; }
}

test_cgroup_limit_unavailable_fails_with_fix() {
	require_cmd python3 python3
	if cg_usable; then
		skip "this host delegates cgroup v2 controllers to $(id -un): covered by make check-vm"
	fi
	local layout
	layout=$(cg_layout)
	rrun --memory 32m true
	assert_rc 125
	assert_contains "$ERR" "cannot apply --memory" "stderr"
	case $layout in
	hybrid)
		assert_contains "$ERR" "cgroups are hybrid" "stderr"
		assert_contains "$ERR" "memory controller" "stderr"
		assert_contains "$ERR" "/sys/fs/cgroup/unified" "stderr"
		assert_contains "$ERR" "systemd.unified_cgroup_hierarchy=1" "the fix"
		;;
	v2) assert_match "$ERR" "not writable|not delegated" "stderr" ;;
	*) assert_contains "$ERR" "cgroup v2" "stderr" ;;
	esac
	# Every limit says which option could not be applied; none runs unlimited.
	local opt
	for opt in "--cpus 0.5" "--pids-limit 10" "--cpuset-cpus 0" "--memory-reservation 8m" \
		"--cpu-shares 512" "--blkio-weight 300"; do
		# shellcheck disable=SC2086
		rrun $opt true
		assert_rc 125
		assert_contains "$ERR" "cannot apply ${opt%% *}" "stderr of $opt"
	done
}

test_cgroup_no_limits_runs() {
	rrun_ok sh -c 'echo ok'
	assert_eq ok "$OUT"
	rrun_ok --cgroups=disabled sh -c 'echo ok'
	assert_eq ok "$OUT"
	rrun_ok --cgroups enabled true
}

test_cgroup_bad_values() {
	local spec
	for spec in "--memory 12x" "--memory -5" "--cpus 0" "--cpus abc" "--pids-limit ten" \
		"--cpuset-cpus 3-1" "--cpu-shares 1" "--cpu-weight 20000" "--blkio-weight 5" \
		"--cgroups sometimes"; do
		# shellcheck disable=SC2086
		rrun $spec true
		assert_rc 125
		assert_contains "$ERR" "invalid value" "stderr of $spec"
		assert_contains "$ERR" "${spec%% *}" "stderr of $spec"
	done
	rrun --memory-swap 1g true
	assert_rc 125
	assert_contains "$ERR" "--memory-swap needs --memory"
	rrun --memory 1g --memory-swap 512m true
	assert_rc 125
	assert_contains "$ERR" "at least --memory"
	rrun --pids-limit 5 --cgroups=disabled true
	assert_rc 125
	assert_contains "$ERR" "--cgroups=disabled"
}

test_cgroup_stats_update_without_cgroup() {
	require_cmd python3 python3
	if cg_usable; then
		skip "this host delegates cgroup v2 controllers to $(id -un): covered by make check-vm"
	fi
	cg_image
	run_rless --root "$T/store" run -d --name cgx localhost/cg:1 sleep 30
	[[ $RC -eq 0 ]] || { show_run >&2; fail "run -d"; }
	run_rless --root "$T/store" stats --no-stream cgx
	assert_rc 125
	assert_contains "$ERR" "container cgx has no cgroup of its own" "stats stderr"
	run_rless --root "$T/store" update --memory 64m cgx
	assert_rc 125
	assert_contains "$ERR" "has no cgroup of its own" "update stderr"
	run_rless --root "$T/store" update cgx
	assert_rc 125
	assert_contains "$ERR" "needs a limit" "update without a limit"
	# inspect shows the (empty) limits in docker's fields and no cgroup path.
	run_rless --root "$T/store" inspect cgx
	assert_eq "0 None " "$(python3 -c 'import json,sys; c = json.load(sys.stdin)[0]
print(c["HostConfig"]["Memory"], c["HostConfig"]["PidsLimit"], c["State"]["CgroupPath"])' <<<"$OUT")"
	run_rless --root "$T/store" rm -f cgx
	# A limit on an image run fails before the command starts, and --rm leaves nothing.
	run_rless --root "$T/store" run --rm --memory 32m localhost/cg:1 true
	assert_rc 125
	run_rless --root "$T/store" ps -aq
	assert_eq "" "$OUT" "containers left"
}
