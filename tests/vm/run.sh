#!/bin/bash
# tests/vm/run.sh [--probe] — `make check-vm`: rless' cgroup v2 tests in a systemd VM, for hosts
# that cannot delegate cgroups themselves (no systemd, hybrid cgroups).
#
# Builds or reuses the VM's boot files (tests/vm/mkimage.sh, cached in build/vm/img-KEY), boots
# them with qemu (KVM when it can run a stock kernel, else TCG), the checkout shared read-only
# over 9p and build/vm/results shared writable; in the VM, tests/vm/guest.sh runs
# tests/vm/t_cgroup.sh as tester from a delegated cgroup and from a root-owned one, and powers
# off. Prints the results TAP-like ("ok N PLACEMENT/NAME"), then the time of each phase; exits
# non-zero when a test failed, a placement did not finish or the VM did not power off in time.
# With CI=true, a test's skip is a failure unless it called allow_skip_in_ci.
#   --probe                  say whether this host can run the VM (exit 0) or why not (exit 1)
#   RLESS_VM_FILTER=RE       only tests whose name matches the extended regex RE
#   RLESS_VM_PLACEMENTS=...  "delegated system" (default), or one of them
#   RLESS_VM_TIMEOUT=S       the whole boot, tests and power-off (default 900)
#   RLESS_VM_ACCEL=kvm|tcg   force the accelerator
#   RLESS_VM_CPU=MODEL       qemu's CPU model under TCG (default max)
#   RLESS_VM_SHELL=1         console on this terminal and a root shell after the tests
#   RLESS_VM_APPEND=ARGS     more kernel command line (systemd.log_level=debug, ...)
#   RLESS_VM_DIR=DIR         cache and results directory (default build/vm)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
vmdir=${RLESS_VM_DIR:-$top/build/vm}
results=$vmdir/results
console=$results/console.log
placements=${RLESS_VM_PLACEMENTS:-delegated system}
qemu_bin=qemu-system-x86_64

is_ci() { [[ ${CI:-} == true || ${CI:-} == 1 ]]; }
say() { echo "# $*"; }

# probe: can this host boot the VM? The reason on stdout when not.
probe() {
	if [[ $(uname -m) != x86_64 ]]; then
		echo "the VM is x86_64 (Debian's amd64 kernel); this host is $(uname -m)"
		return 1
	fi
	if ! command -v "$qemu_bin" >/dev/null; then
		echo "$qemu_bin not installed (package qemu-system-x86; bash contrib/install-deps.sh)"
		return 1
	fi
	if [[ $(id -u) -ne 0 ]]; then
		local key
		key=$(RLESS_VM_DIR=$vmdir bash "$here/mkimage.sh" --key 2>/dev/null)
		if [[ -z $key || ! -f $vmdir/img-$key/rootfs.img ]]; then
			echo "the VM image is not built, and building it needs root"
			return 1
		fi
	fi
	return 0
}

# accel: qemu's accelerator options. /dev/kvm of a PVM host (kvm_pvm) boots only PVM-aware
# guest kernels: a stock one hangs at 100% CPU, so it gets software emulation.
accel() {
	local want=${RLESS_VM_ACCEL:-}
	if [[ -z $want ]]; then
		if [[ -e /sys/module/kvm_pvm ]]; then
			want=tcg
			ACCEL_WHY="/dev/kvm is PVM (kvm_pvm), which boots no stock kernel"
		elif [[ -r /dev/kvm && -w /dev/kvm ]] && grep -qE '\b(vmx|svm)\b' /proc/cpuinfo; then
			want=kvm
			ACCEL_WHY="/dev/kvm"
		else
			want=tcg
			ACCEL_WHY="no usable /dev/kvm"
		fi
	else
		ACCEL_WHY="RLESS_VM_ACCEL"
	fi
	ACCEL=$want
	if [[ $want == kvm ]]; then
		ACCEL_ARGS=(-accel kvm -cpu host)
	else
		# shellcheck disable=SC2054 # qemu's comma, not a list
		ACCEL_ARGS=(-accel tcg,thread=multi -cpu "${RLESS_VM_CPU:-max}")
	fi
}

elapsed() { # START-NS: seconds since, one decimal
	awk -v ns=$(($(date +%s%N) - $1)) 'BEGIN {printf "%.1f", ns / 1e9}'
}

# boot IMGDIR: run qemu until it powers off or the timeout; sets QEMU_RC.
boot() {
	local img=$1 append qpid args
	# tsc=reliable: TCG's TSC is one virtual clock for all vCPUs, but the kernel finds it
	# "unsynchronized" and falls back to the HPET, whose every read is emulated (boot 2x slower).
	append="root=/dev/vda rw console=ttyS0 quiet panic=-1 fsck.mode=skip mitigations=off tsc=reliable"
	# The units' status lines on the console: where a hanging boot stopped.
	# (Unknown NAME=VALUE arguments are init's environment.)
	append+=" systemd.show_status=yes SYSTEMD_COLORS=0 ${RLESS_VM_APPEND:-}"
	args=(-nodefaults -no-user-config -display none -no-reboot "${ACCEL_ARGS[@]}"
		-smp 2 -m "${RLESS_VM_MEMORY:-2048}" -nic none
		-kernel "$img/vmlinuz" -initrd "$img/initrd.img"
		-drive "file=$img/rootfs.img,format=raw,if=virtio,snapshot=on"
		-virtfs "local,path=$top,mount_tag=rless,security_model=none,readonly=on"
		-virtfs "local,path=$results,mount_tag=results,security_model=none")
	QEMU_RC=0
	if [[ -n ${RLESS_VM_SHELL:-} ]]; then
		"$qemu_bin" "${args[@]}" -serial mon:stdio -append "$append rlessvm.shell" || QEMU_RC=$?
		return 0
	fi
	timeout -k 10 "${RLESS_VM_TIMEOUT:-900}" "$qemu_bin" "${args[@]}" -serial "file:$console" \
		-append "$append" </dev/null >"$results/qemu.log" 2>&1 &
	qpid=$!
	QEMU_PID=$qpid
	# Progress: the guest's own lines, as they come.
	tail --pid="$qpid" -n +1 -F "$console" 2>/dev/null | grep --line-buffered -a '^rless-vm:' |
		sed -u 's/\r$//; s/^/#   /'
	wait "$qpid" || QEMU_RC=$?
	QEMU_PID=
}

console_tail() {
	say "last lines of the console ($console):"
	if [[ -s $console ]]; then
		tail -n "${1:-40}" "$console" | sed 's/\r$//; s/\x1b\[[0-9;]*[A-Za-z]//g; s/^/#   /'
	else
		say "  (empty)"
	fi
	[[ ! -s $results/qemu.log ]] || sed 's/^/#   qemu: /' "$results/qemu.log"
}

# report: the per-test results of every placement; sets N PASS FAILED SKIPPED FAILED_NAMES.
report() {
	local place dir i name rc secs word
	N=0
	PASS=0
	FAILED=0
	SKIPPED=0
	FAILED_NAMES=()
	for place in $placements; do
		dir=$results/$place
		if [[ ! -f $dir/status ]]; then
			N=$((N + 1)) FAILED=$((FAILED + 1)) FAILED_NAMES+=("$place")
			echo "not ok $N $place: the suite did not run"
			continue
		fi
		while IFS=$'\t' read -r i name rc secs; do
			N=$((N + 1))
			word="$place/$name (${secs}s)"
			if [[ $rc -eq 0 ]]; then
				echo "ok $N $word"
				PASS=$((PASS + 1))
			elif [[ $rc -eq 77 && -f $dir/$i-$name.skip ]] && ! { is_ci && [[ ! -f $dir/$i-$name.allow_skip ]]; }; then
				echo "skip $N $word: $(<"$dir/$i-$name.skip")"
				SKIPPED=$((SKIPPED + 1))
			else
				if [[ $rc -eq 77 ]]; then
					echo "not ok $N $word: skipped under CI=true: $(<"$dir/$i-$name.skip")"
				else
					echo "not ok $N $word"
					sed 's/^/#   /' "$dir/$i-$name.log"
				fi
				FAILED=$((FAILED + 1))
				FAILED_NAMES+=("$place/$name")
			fi
		done < <(cat "$dir/results.tsv" 2>/dev/null)
		[[ ! -f $dir/notes ]] || sed "s|^|# $place: note: |" "$dir/notes"
		if [[ ! -f $dir/complete ]]; then
			N=$((N + 1)) FAILED=$((FAILED + 1)) FAILED_NAMES+=("$place")
			echo "not ok $N $place: the suite did not finish ($(tr '\n' ' ' <"$dir/status"))"
		fi
	done
	echo "1..$N"
}

phase_times() { # IMAGE-SECONDS IMAGE-WORD VM-SECONDS LOADAVG-AT-BOOT
	local line place s
	line="image $1s ($2)"
	[[ ! -f $results/boot-seconds ]] || line+=", boot $(<"$results/boot-seconds")s (guest uptime at the runner)"
	[[ ! -f $results/ready-seconds ]] || line+=", user manager up at $(<"$results/ready-seconds")s"
	for place in $placements; do
		s=$(sed -n 's/^seconds=//p' "$results/$place/status" 2>/dev/null)
		[[ -z $s ]] || line+=", tests $place ${s}s"
	done
	line+=", VM total $3s (qemu, $ACCEL; host load $4 at boot, $(cut -d' ' -f1 /proc/loadavg) after)"
	say "phases: $line"
}

main() {
	local why img t0 t_img word vm_s rc=0 before load0
	if [[ ${1:-} == --probe ]]; then
		probe
		return
	fi
	if ! why=$(probe); then
		echo "skip 1 vm: $why"
		if is_ci; then
			say "CI=true: a skipped VM suite is a failure"
			return 1
		fi
		return 0
	fi
	[[ -x $top/build/rless && -x $top/build/rless-init ]] || {
		echo "not ok 1 vm: build/rless not built (run make)"
		return 1
	}
	mkdir -p "$vmdir"
	exec 8>"$vmdir/.run.lock"
	flock -n 8 || { echo "not ok 1 vm: another tests/vm/run.sh uses $vmdir"; return 1; }

	t0=$(date +%s%N)
	before=$(ls -d "$vmdir"/img-* 2>/dev/null)
	if ! img=$(RLESS_VM_DIR=$vmdir bash "$here/mkimage.sh" | tail -n 1) || [[ ! -f $img/rootfs.img ]]; then
		echo "not ok 1 vm: building the VM image failed (tests/vm/mkimage.sh)"
		return 1
	fi
	word=built
	grep -qxF "$img" <<<"$before" && word=cached
	t_img=$(elapsed "$t0")

	rm -rf "$results"
	mkdir -p "$results"
	{
		printf 'RLESS_VM_CI=%q\n' "${CI:-}"
		printf 'RLESS_VM_FILTER=%q\n' "${RLESS_VM_FILTER:-}"
		printf 'RLESS_VM_TEST_TIMEOUT=%q\n' "${RLESS_TEST_TIMEOUT:-60}"
		printf 'RLESS_VM_PLACEMENTS=%q\n' "$placements"
	} >"$results/settings"
	accel
	load0=$(cut -d' ' -f1 /proc/loadavg)
	say "booting $img ($ACCEL: $ACCEL_WHY; timeout ${RLESS_VM_TIMEOUT:-900}s)"
	t0=$(date +%s%N)
	boot "$img"
	vm_s=$(elapsed "$t0")
	if [[ -n ${RLESS_VM_SHELL:-} ]]; then
		return "$QEMU_RC"
	fi

	report
	if [[ $QEMU_RC -eq 124 || $QEMU_RC -eq 137 ]]; then
		say "the VM did not power off within ${RLESS_VM_TIMEOUT:-900}s: killed"
		console_tail 60
		rc=1
	elif [[ ! -f $results/done ]]; then
		say "the VM stopped (qemu status $QEMU_RC) before the tests finished"
		console_tail 60
		rc=1
	fi
	phase_times "$t_img" "$word" "$vm_s" "$load0"
	say "$N tests: $PASS passed, $FAILED failed, $SKIPPED skipped; results and console in $results"
	if [[ $FAILED -gt 0 ]]; then
		say "failed: ${FAILED_NAMES[*]}"
		rc=1
	fi
	[[ $rc -ne 0 ]] || say "VM tests passed"
	return "$rc"
}

QEMU_PID=
trap '[[ -z $QEMU_PID ]] || kill "$QEMU_PID" 2>/dev/null; exit 130' INT TERM HUP
main "$@"
