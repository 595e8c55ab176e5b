#!/bin/bash
# tests/vm/suite.sh OUT WORK — in the VM, as tester, in the placement guest.sh put it in
# (RLESS_VM_PLACEMENT): runs every test_* function of tests/vm/t_cgroup.sh the way
# tests/integration/run.sh does (own bash, set -eu, tests/integration/lib.sh, a scratch dir $T,
# the busybox tree in $ROOTFS and imported as the image $RLESS_VM_IMAGE) and records each in OUT:
# results.tsv ("N<TAB>NAME<TAB>STATUS<TAB>SECONDS"), N-NAME.log, N-NAME.skip (the reason),
# N-NAME.allow_skip; notes (what the harness had to work around); OUT/complete at the end.
# Scratch files in WORK.
#   RLESS_VM_FILTER=RE      only tests whose name matches the extended regex RE
#   RLESS_TEST_TIMEOUT=S    timeout of each rless call (lib.sh's run_rless)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$1
work=$2
place=${RLESS_VM_PLACEMENT:?}

export TOP=$top
export RLESS=$top/build/rless
export RLESS_INIT=$top/build/rless-init
export MKROOTFS=$top/tests/fixtures/mkrootfs-busybox.sh
export XDG_DATA_HOME=$work/data
export ROOTFS=$work/rootfs
# The same tree as an image, for what --rootfs containers cannot do (-d, names, inspect).
export RLESS_VM_IMAGE=rless-vm/busybox
# The cgroup the harness put this suite in, before any rless moved it (the placement tests
# check that one).
RLESS_VM_CGROUP=$(sed -n 's/^0:://p' /proc/self/cgroup)
export RLESS_VM_CGROUP

say() { echo "rless-vm: $place: $*"; }

record() { # N NAME STATUS SECONDS
	printf '%s\t%s\t%s\t%s\n' "$@" >>"$out/results.tsv"
}

# reap DIR: containers a failed test left behind (detached ones, named ones).
reap() {
	local ids
	ids=$(timeout 30 "$RLESS" ps -aq 2>/dev/null) || return 0
	# shellcheck disable=SC2086
	[[ -z $ids ]] || timeout 60 "$RLESS" rm -f $ids >/dev/null 2>&1 || true
}

# import_image: the busybox tree as $RLESS_VM_IMAGE in the store of $XDG_DATA_HOME.
import_image() {
	tar -C "$ROOTFS" -c . | "$RLESS" import - "$RLESS_VM_IMAGE" >/dev/null
}

# setup_image: $RLESS_VM_IMAGE, and a container of it that runs. When the kernel overlay does
# not mount (test_vm_image_runs_on_the_kernel_overlay says why), the limit tests use a store
# that remembers fuse-overlayfs as its driver, so they still test the limits.
setup_image() {
	import_image || return 1
	"$RLESS" run --rm "$RLESS_VM_IMAGE" true && return 0
	echo "rless run IMAGE fails on the kernel overlay; the other tests use fuse-overlayfs" \
		>>"$out/notes"
	export XDG_DATA_HOME=$work/data-fuse
	mkdir -p "$XDG_DATA_HOME/rless"
	echo fuse-overlayfs >"$XDG_DATA_HOME/rless/storage-driver"
	import_image && "$RLESS" run --rm "$RLESS_VM_IMAGE" true
}

main() {
	local n=0 name rc t0 secs word names line
	mkdir -p "$work/tests" "$XDG_DATA_HOME"
	say "cgroup $RLESS_VM_CGROUP, uid $(id -u), $(nproc) CPUs"
	# The image's copy (tests/vm/mkimage.sh made it), checked by mkrootfs-busybox.sh, which then
	# has next to nothing to do: a fresh one costs ~400 forks, 15 s under TCG.
	[[ ! -d /opt/busybox-rootfs ]] || cp -R /opt/busybox-rootfs "$ROOTFS" 2>/dev/null
	if ! "$MKROOTFS" "$ROOTFS" >"$work/setup.log" 2>&1 || ! setup_image >>"$work/setup.log" 2>&1; then
		cp "$work/setup.log" "$out/0-setup.log"
		record 0 setup_busybox_rootfs_and_image 1 0
		say "setup failed: $(tail -n 3 "$work/setup.log")"
		: >"$out/complete"
		return 1
	fi
	[[ ! -f $out/notes ]] || while read -r line; do say "note: $line"; done <"$out/notes"
	mapfile -t names < <(sed -n 's/^\(test_[A-Za-z0-9_]*\)[[:space:]]*()[[:space:]]*{.*/\1/p' \
		"$here/t_cgroup.sh")
	for name in "${names[@]}"; do
		if [[ -n ${RLESS_VM_FILTER:-} ]] && ! [[ $name =~ $RLESS_VM_FILTER ]]; then
			continue
		fi
		n=$((n + 1))
		export T=$work/tests/$n-$name
		mkdir -p "$T"
		rc=0
		t0=$(date +%s%N)
		# shellcheck disable=SC2016
		(cd "$T" && exec timeout -k 5 240 bash -c \
			'set -eu; source "$1"; source "$2"; "$3"' _ "$top/tests/integration/lib.sh" \
			"$here/t_cgroup.sh" "$name") >"$T/.log" 2>&1 || rc=$?
		[[ $rc -ne 124 ]] || echo "note: test timed out after 240s" >>"$T/.log"
		reap
		secs=$(awk -v ns=$(($(date +%s%N) - t0)) 'BEGIN {printf "%.1f", ns / 1e9}')
		cp "$T/.log" "$out/$n-$name.log"
		[[ ! -f $T/.skip ]] || cp "$T/.skip" "$out/$n-$name.skip"
		[[ ! -f $T/.allow_skip ]] || : >"$out/$n-$name.allow_skip"
		record "$n" "$name" "$rc" "$secs"
		case $rc in
		0) word=ok ;;
		77) word=skip ;;
		*) word="FAILED ($rc)" ;;
		esac
		say "$n $name: $word (${secs}s)"
	done
	: >"$out/complete"
}

main "$@"
