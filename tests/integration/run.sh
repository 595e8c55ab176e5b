#!/bin/bash
# tests/integration/run.sh [t_FILE.sh ...] — rless integration tests: real containers started by
# an unprivileged user. `make check` runs it from the repository root after the unit tests.
#
# As a normal user: runs the tests as that user (all t_*.sh files; t_single.sh, which needs a
# user without subordinate ids, only when the user has none).
# As root: creates or reuses the users from tests/lib/testuser.sh, copies build/rless,
# build/rless-init and tests/ to a fresh directory under /tmp (the checkout may be unreadable to
# them), runs every file but t_single.sh as rlesstest (two subordinate ranges) and t_single.sh
# as rlesstest2 (none), then removes the copy.
#
# Output is TAP-like: "ok N name", "not ok N name", "skip N name: reason", then a summary; the
# exit status is non-zero when a test failed. With CI=true a skip is a failure unless the test
# called allow_skip_in_ci. Environment:
#   RLESS=PATH            binary to test (default: build/rless next to tests/)
#   RLESS_TEST_FILTER=RE  run only tests whose name matches the extended regex RE
#   RLESS_TEST_TIMEOUT=S  timeout of each container run (default 30)
#   RLESS_TEST_KEEP=1     keep the scratch directory
#   RLESS_TEST_WORKDIR=D  scratch directory to use (set by the root part; must be empty)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lib/testuser.sh
source "$top/tests/lib/testuser.sh"

is_ci() { [[ ${CI:-} == true || ${CI:-} == 1 ]]; }

# whole_suite_skip REASON: nothing can run on this host.
whole_suite_skip() {
	echo "skip 1 integration: $*"
	if is_ci; then
		echo "# CI=true: a skipped suite is a failure"
		exit 1
	fi
	exit 0
}

# ---------------------------------------------------------------------------------------------
# root: set up users, stage a readable copy, run the suite as them.

# start_registries STAGE: the local registries and test images (tests/registry/fixtures.sh),
# exported as RLESS_REG* for the suite; images are cached in build/test-images between runs.
# Without them the image tests skip (a failure under CI=true).
start_registries() {
	local dir=$1/registries
	[[ -x $top/tests/registry/fixtures.sh || -f $top/tests/registry/fixtures.sh ]] || return 0
	mkdir -p "$top/build/test-images"
	echo "# starting the test registries and building the test images"
	if ! RLESS_IMAGE_CACHE=$top/build/test-images bash "$top/tests/registry/fixtures.sh" up "$dir" \
		>"$1/registries.log" 2>&1; then
		echo "# the test registries did not start; image tests will skip:"
		tail -n 30 "$1/registries.log" | sed 's/^/#   /'
		return 0
	fi
	set -a
	# shellcheck disable=SC1091
	source "$dir/env"
	set +a
}

stop_registries() {
	[[ -d $1/registries ]] || return 0
	bash "$top/tests/registry/fixtures.sh" down "$1/registries" >/dev/null 2>&1 || true
}

root_main() {
	local missing stage rc=0 rc2=0 env1 env2 files=() f bin
	missing=$(rl_testuser_missing_tools)
	[[ -z $missing ]] || whole_suite_skip "as root, needs $missing to run the tests as a test user"
	bin=$(readlink -f "${RLESS:-$top/build/rless}")
	for f in "$bin" "${bin%/*}/rless-init" "${bin%/*}/rless-image"; do
		[[ -x $f ]] || whole_suite_skip "$f not built (run make)"
	done
	rl_testusers_setup || { echo "not ok 1 setting up test users"; exit 1; }
	# Debian's udev rules make /dev/fuse 0666 (fuse-overlayfs needs it); machines without
	# udev (containers, CI VMs) leave the kernel's 0600.
	# The same for /dev/net/tun, which pasta and slirp4netns need (udev makes it 0666).
	if [[ -c /dev/net/tun && $(stat -c %a /dev/net/tun) == 600 ]]; then
		echo "# /dev/net/tun is 0600 (no udev here): making it 0666 as Debian's udev rules do"
		chmod 0666 /dev/net/tun
	fi
	if [[ -c /dev/fuse && $(stat -c %a /dev/fuse) == 600 ]]; then
		echo "# /dev/fuse is 0600 (no udev here): making it 0666 as Debian's udev rules do"
		chmod 0666 /dev/fuse
	fi

	stage=$(mktemp -d /tmp/rless-check.XXXXXX) || exit 1
	# shellcheck disable=SC2064
	trap "stop_registries '$stage'; rm -rf '$stage'" EXIT
	chmod 0755 "$stage"
	mkdir -p "$stage/build" "$stage/work1" "$stage/work2"
	cp "$bin" "$stage/build/rless"
	cp "${bin%/*}/rless-init" "$stage/build/rless-init"
	cp "${bin%/*}/rless-image" "$stage/build/rless-image"
	[[ ! -x ${bin%/*}/seccomp-probe ]] || cp "${bin%/*}/seccomp-probe" "$stage/build/seccomp-probe"
	cp -R "$top/tests" "$stage/tests"
	chmod -R a+rX "$stage/build" "$stage/tests"
	chown "$RLESSTEST_USER:" "$stage/work1"
	chown "$RLESSTEST_USER2:" "$stage/work2"
	chmod 0700 "$stage/work1" "$stage/work2"

	# Files named on the command line (by name or path) narrow the run; t_single.sh runs as
	# the user without subordinate ids only when named or when no file is named.
	local want_single=true
	if [[ $# -gt 0 ]]; then
		want_single=false
		for f in "$@"; do
			f=${f##*/}
			[[ -f $stage/tests/integration/$f ]] || { echo "not ok 0 $f: no such test file"; exit 1; }
			if [[ $f == t_single.sh ]]; then want_single=true; else files+=("$stage/tests/integration/$f"); fi
		done
	else
		for f in "$stage"/tests/integration/t_*.sh; do
			[[ ${f##*/} == t_single.sh ]] || files+=("$f")
		done
	fi
	# Only the files that use them pay for the registries and the test images.
	if grep -ql 'RLESS_REG' "${files[@]}" /dev/null; then
		start_registries "$stage"
	fi
	mapfile -t env1 < <(rl_testuser_env "$RLESSTEST_USER")
	mapfile -t env2 < <(rl_testuser_env "$RLESSTEST_USER2")

	cd "$stage" || exit 1
	if [[ ${#files[@]} -gt 0 ]]; then
		echo "# running as $RLESSTEST_USER (subordinate ids: $RLESSTEST_RANGES)"
		runuser -u "$RLESSTEST_USER" -- env -i "${env1[@]}" RLESS_TEST_WORKDIR="$stage/work1" \
			RLESS_TEST_EXPECT_RANGES="$RLESSTEST_RANGES" \
			bash "$stage/tests/integration/run.sh" "${files[@]}" || rc=$?
	fi
	if $want_single; then
		echo "# running as $RLESSTEST_USER2 (no subordinate ids)"
		runuser -u "$RLESSTEST_USER2" -- env -i "${env2[@]}" RLESS_TEST_WORKDIR="$stage/work2" \
			bash "$stage/tests/integration/run.sh" "$stage/tests/integration/t_single.sh" || rc2=$?
	fi
	cd / || true
	if [[ $rc -ne 0 || $rc2 -ne 0 ]]; then
		echo "# integration tests FAILED"
		exit 1
	fi
	echo "# integration tests passed"
}

# ---------------------------------------------------------------------------------------------
# unprivileged: run the tests.

# test_names FILE: test functions of FILE in the order they are written.
test_names() {
	sed -n 's/^\(test_[A-Za-z0-9_]*\)[[:space:]]*()[[:space:]]*{.*/\1/p' "$1"
}

user_main() {
	local work files=() f n=0 pass=0 failed=0 skipped=0 name rc reason failed_names=()
	export TOP=$top
	export RLESS=${RLESS:-$top/build/rless}
	RLESS=$(readlink -f "$RLESS")
	export RLESS_INIT=${RLESS%/*}/rless-init
	export MKROOTFS=$top/tests/fixtures/mkrootfs-busybox.sh

	[[ -x $RLESS ]] || whole_suite_skip "$RLESS not built (run make)"
	[[ -x /bin/busybox ]] || whole_suite_skip "/bin/busybox missing (package busybox-static)"
	command -v timeout >/dev/null || whole_suite_skip "timeout missing (package coreutils)"
	if ! unshare --user --map-root-user true 2>/dev/null; then
		whole_suite_skip "this user cannot create a user namespace" \
			"(check sysctls kernel.unprivileged_userns_clone and user.max_user_namespaces)"
	fi

	if [[ -n ${RLESS_TEST_WORKDIR:-} ]]; then
		work=$RLESS_TEST_WORKDIR
	else
		work=$(mktemp -d /tmp/rless-test.XXXXXX) || exit 1
	fi
	if [[ -z ${RLESS_TEST_KEEP:-} ]]; then
		# Files that containers create with subordinate ids may resist removal; best effort.
		# shellcheck disable=SC2064
		trap "rm -rf '$work' 2>/dev/null; true" EXIT
	fi
	mkdir -p "$work/tests" "$work/run" "$work/data"
	chmod 0700 "$work/run"
	export XDG_RUNTIME_DIR=$work/run XDG_DATA_HOME=$work/data
	export ROOTFS=$work/rootfs
	if ! "$MKROOTFS" "$ROOTFS" >"$work/mkrootfs.log" 2>&1; then
		sed 's/^/# /' "$work/mkrootfs.log"
		echo "not ok 1 building the busybox rootfs"
		exit 1
	fi

	if [[ $# -gt 0 ]]; then
		files=("$@")
	else
		for f in "$here"/t_*.sh; do
			if [[ ${f##*/} == t_single.sh ]] && user_has_subids_host; then
				continue
			fi
			files+=("$f")
		done
	fi

	echo "# rless integration tests as $(id -un) (uid $(id -u)), $RLESS"
	for f in "${files[@]}"; do
		[[ -f $f ]] || f=$here/$f
		[[ -f $f ]] || { echo "not ok 0 $f: no such test file"; failed=$((failed + 1)); continue; }
		for name in $(test_names "$f"); do
			if [[ -n ${RLESS_TEST_FILTER:-} ]] && ! [[ $name =~ $RLESS_TEST_FILTER ]]; then
				continue
			fi
			n=$((n + 1))
			export T=$work/tests/$n-$name
			mkdir -p "$T"
			rc=0
			# shellcheck disable=SC2016
			(cd "$T" && exec timeout -k 5 300 bash -c \
				'set -eu; source "$1"; source "$2"; "$3"' _ "$here/lib.sh" "$f" "$name") \
				>"$T/.log" 2>&1 || rc=$?
			reap_containers "$T"
			if [[ $rc -eq 0 ]]; then
				echo "ok $n $name"
				pass=$((pass + 1))
			elif [[ $rc -eq 77 && -f $T/.skip ]]; then
				reason=$(<"$T/.skip")
				if is_ci && [[ ! -f $T/.allow_skip ]]; then
					echo "not ok $n $name: skipped under CI=true: $reason"
					failed=$((failed + 1))
					failed_names+=("$name")
				else
					echo "skip $n $name: $reason"
					skipped=$((skipped + 1))
				fi
			else
				[[ $rc -ne 124 ]] || echo "note: test timed out" >>"$T/.log"
				echo "not ok $n $name"
				sed 's/^/#   /' "$T/.log"
				failed=$((failed + 1))
				failed_names+=("$name")
			fi
		done
	done
	echo "1..$n"
	echo "# $n tests: $pass passed, $failed failed, $skipped skipped"
	if [[ $failed -gt 0 ]]; then
		echo "# failed: ${failed_names[*]}"
		return 1
	fi
	return 0
}

# reap_containers DIR: a test that failed half-way may leave detached containers (and their
# monitors, which outlive their terminal by design) in the stores under DIR: remove them.
reap_containers() {
	local s ids
	for s in "$1"/store*; do
		[[ -d $s/containers ]] || continue
		ids=$(timeout 20 "$RLESS" --root "$s" ps -aq 2>/dev/null) || continue
		# shellcheck disable=SC2086
		[[ -z $ids ]] || timeout 60 "$RLESS" --root "$s" rm -f $ids >/dev/null 2>&1 || true
	done
}

# user_has_subids_host: does the running user have subordinate uid and gid ranges?
user_has_subids_host() {
	local u n
	u=$(id -u)
	n=$(id -un)
	awk -F: -v n="$n" -v u="$u" '$1 == n || $1 == u {f = 1} END {exit !f}' /etc/subuid 2>/dev/null &&
		awk -F: -v n="$n" -v u="$u" '$1 == n || $1 == u {f = 1} END {exit !f}' /etc/subgid 2>/dev/null
}

if [[ $(id -u) -eq 0 ]]; then
	root_main "$@"
else
	user_main "$@"
fi
