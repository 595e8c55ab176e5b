#!/bin/bash
# tests/vm/guest.sh SRC RESULTS — in the VM, as root (rless-vm-tests.service, from the image that
# tests/vm/mkimage.sh builds): copies rless and the test files it needs from the checkout SRC
# (9p, read-only) to /opt/rless, then runs tests/vm/suite.sh as tester once per placement:
#   delegated  in a transient service of tester's systemd user manager with Delegate=yes: a
#              cgroup tester owns, offering cpuset cpu io memory pids
#   system     straight from this system service through runuser: a root-owned cgroup, where
#              rless has to ask the user manager (sd-bus) for a delegated scope
# Each placement's per-test files land in RESULTS/PLACEMENT/, its exit status and duration in
# RESULTS/PLACEMENT/status; RESULTS/done when everything ran. Settings from the host in
# RESULTS/settings (sourced): RLESS_VM_CI, RLESS_VM_FILTER, RLESS_VM_TEST_TIMEOUT,
# RLESS_VM_PLACEMENTS.
set -uo pipefail

src=$1
results=$2
stage=/opt/rless
tester=tester
tuid=1000
runtime=/run/user/$tuid

msg() { echo "rless-vm: $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

RLESS_VM_CI=
RLESS_VM_FILTER=
RLESS_VM_TEST_TIMEOUT=60
RLESS_VM_PLACEMENTS="delegated system"
# shellcheck disable=SC1091
[[ ! -f $results/settings ]] || source "$results/settings"

uptime_s >"$results/boot-seconds"

# stage_tree: the binaries and the few test files the suite uses (each file over 9p costs
# several emulated round trips: the whole tests/ took 13 s).
stage_tree() {
	local f
	rm -rf "$stage"
	mkdir -p "$stage/build" "$stage/tests/vm" "$stage/tests/integration" "$stage/tests/fixtures"
	for f in rless rless-init rless-image; do
		[[ ! -e $src/build/$f ]] || cp "$src/build/$f" "$stage/build/$f"
	done
	cp "$src"/tests/vm/*.sh "$stage/tests/vm/"
	cp "$src/tests/integration/lib.sh" "$stage/tests/integration/"
	cp "$src/tests/fixtures/mkrootfs-busybox.sh" "$stage/tests/fixtures/"
	chmod -R a+rX "$stage"
}

# wait_user_manager: user@1000.service up with its session bus (lingering starts it at boot).
wait_user_manager() {
	local i
	for ((i = 0; i < 240; i++)); do
		[[ -S $runtime/bus && -S $runtime/systemd/private ]] && break
		sleep 0.5
	done
	[[ -S $runtime/bus ]] || { msg "no session bus at $runtime/bus"; return 1; }
}

# write_script PLACEMENT OUT WORK: the command both placements run, as a file (systemd-run
# expands $VAR in a command line; the user manager's environment is not ours).
write_script() {
	local place=$1 out=$2 work=$3 script=$stage/suite-$1.sh
	{
		echo '#!/bin/bash'
		printf 'export HOME=/home/%s USER=%s LOGNAME=%s SHELL=/bin/bash LANG=C.UTF-8\n' \
			"$tester" "$tester" "$tester"
		echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
		printf 'export XDG_RUNTIME_DIR=%q DBUS_SESSION_BUS_ADDRESS=%q\n' \
			"$runtime" "unix:path=$runtime/bus"
		printf 'export CI=%q RLESS_TEST_TIMEOUT=%q RLESS_VM_PLACEMENT=%q RLESS_VM_FILTER=%q\n' \
			"$RLESS_VM_CI" "$RLESS_VM_TEST_TIMEOUT" "$place" "$RLESS_VM_FILTER"
		printf 'exec bash %q %q %q\n' "$stage/tests/vm/suite.sh" "$out" "$work"
	} >"$script"
	chmod 0755 "$script"
	echo "$script"
}

# main_status_of_unit UNIT: 128+N when systemd-run --wait said 255 because the command died of
# signal N (ExecMainCode 2 is "killed", 3 "dumped").
main_status_of_unit() {
	local code status
	code=$(runuser -u "$tester" -- env XDG_RUNTIME_DIR="$runtime" \
		systemctl --user show -P ExecMainCode "$1" 2>/dev/null)
	status=$(runuser -u "$tester" -- env XDG_RUNTIME_DIR="$runtime" \
		systemctl --user show -P ExecMainStatus "$1" 2>/dev/null)
	if [[ $code == 2 || $code == 3 ]]; then
		echo $((128 + status))
	else
		echo 255
	fi
}

run_placement() {
	local place=$1 out=/var/tmp/rless-vm/$1 work=/var/tmp/rless-vm/$1-work script rc=0 t0 t1
	rm -rf "$out" "$work"
	mkdir -p "$out" "$work"
	chown "$tester:" "$out" "$work"
	script=$(write_script "$place" "$out" "$work")
	local env=(XDG_RUNTIME_DIR="$runtime" DBUS_SESSION_BUS_ADDRESS="unix:path=$runtime/bus")
	msg "placement $place: starting"
	t0=$(uptime_s)
	case $place in
	delegated)
		runuser -u "$tester" -- env "${env[@]}" systemd-run --user --wait --pipe --quiet \
			--unit="rless-vm-$place" -p Delegate=yes /bin/bash "$script" </dev/null || rc=$?
		if [[ $rc -eq 255 ]]; then
			rc=$(main_status_of_unit "rless-vm-$place")
		fi
		runuser -u "$tester" -- env "${env[@]}" systemctl --user reset-failed \
			"rless-vm-$place" >/dev/null 2>&1 || true
		;;
	system)
		runuser -u "$tester" -- env "${env[@]}" bash "$script" </dev/null || rc=$?
		;;
	*)
		msg "unknown placement $place"
		rc=2
		;;
	esac
	t1=$(uptime_s)
	mkdir -p "$results/$place"
	cp -R "$out/." "$results/$place/"
	printf 'rc=%s\nseconds=%s\n' "$rc" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')" \
		>"$results/$place/status"
	msg "placement $place: suite exited with status $rc"
}

main() {
	local place
	msg "tests start at uptime $(uptime_s)s; kernel $(uname -r), $(nproc) CPUs"
	stage_tree
	msg "staged rless and the tests at uptime $(uptime_s)s"
	wait_user_manager || msg "the user manager of $tester is not running; the tests will say more"
	msg "user manager ready at uptime $(uptime_s)s"
	uptime_s >"$results/ready-seconds"
	for place in $RLESS_VM_PLACEMENTS; do
		run_placement "$place"
	done
	journalctl -b --no-pager -o short-monotonic >"$results/journal.txt" 2>&1 || true
	uptime_s >"$results/done"
}

main
