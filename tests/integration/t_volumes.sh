# t_volumes.sh — -v rw/ro, symlinked targets that point out of the rootfs, --tmpfs, --read-only.
# shellcheck shell=bash disable=SC2016,SC2034

test_volume_rw_owned_by_user() {
	mkdir "$T/vol"
	echo from-host >"$T/vol/in"
	rrun_ok -v "$T/vol:/data" sh -c 'cat /data/in; echo from-container > /data/out'
	assert_eq from-host "$OUT" "host file read inside"
	assert_eq from-container "$(cat "$T/vol/out")" "file written inside"
	assert_eq "$(id -u)" "$(stat -c %u "$T/vol/out")" "host owner of the written file"
}

test_volume_ro() {
	mkdir "$T/vol"
	echo from-host >"$T/vol/in"
	rrun -v "$T/vol:/data:ro" sh -c 'cat /data/in; echo x > /data/out'
	[[ $RC -ne 0 ]] || { show_run >&2; fail "write to a :ro volume succeeded"; }
	assert_eq from-host "$OUT" "read from a :ro volume"
	assert_contains "$ERR" "Read-only file system" "stderr"
	[[ ! -e $T/vol/out ]] || fail "file created on the host through a :ro volume"
}

test_volume_single_file() {
	echo file-content >"$T/file"
	rrun_ok -v "$T/file:/etc/motd:ro" cat /etc/motd
	assert_eq file-content "$OUT" "file volume"
}

test_volume_creates_missing_target() {
	local r=$T/rootfs
	fresh_rootfs "$r"
	mkdir "$T/vol"
	touch "$T/vol/marker"
	RUN_ROOTFS=$r rrun_ok -v "$T/vol:/new/deep/dir" ls /new/deep/dir
	assert_eq marker "$OUT" "listing of a volume at a new path"
}

test_volume_missing_source_fails() {
	rrun -v "$T/nope:/data" true
	assert_rc 125
	assert_contains "$ERR" "$T/nope" "stderr"
}

test_volume_relative_target_fails() {
	mkdir "$T/vol"
	rrun -v "$T/vol:data" true
	assert_rc 125
}

# symlink_escape_test LINK-TARGET: /escape in a fresh rootfs is a symlink to LINK-TARGET, which
# on the host would lead to $T/canary; the volume goes to /escape/sub. Resolved inside the
# rootfs, the mount point is ROOTFS/<T>/canary/sub and the container sees the volume through
# /escape/sub. Followed on the host, rless would create $T/canary/sub (seen here) and mount the
# volume outside the new root (so the container would not see it).
symlink_escape_test() {
	local r=$T/rootfs
	fresh_rootfs "$r"
	mkdir "$T/canary" "$T/vol"
	echo in-volume >"$T/vol/marker"
	ln -s "$1" "$r/escape"
	# the symlink really leads to the canary when followed on the host
	assert_eq "$T/canary" "$(readlink -f "$r/escape")" "host resolution of the symlink"
	RUN_ROOTFS=$r rrun -v "$T/vol:/escape/sub" sh -c 'cat /escape/sub/marker; echo w > /escape/sub/written'
	assert_eq "" "$(ls -A "$T/canary")" "host canary directory contents"
	# rless may refuse the target (125) or bind inside the rootfs; it must never escape
	if [[ $RC -eq 125 ]]; then
		return 0
	fi
	assert_rc 0
	assert_eq in-volume "$OUT" "volume content through the symlink"
	assert_eq w "$(cat "$T/vol/written")" "file written through the symlink"
	# a directory for the mount point was made inside the rootfs, at the resolved path
	[[ -d $r/${T#/}/canary/sub ]] || fail "mount point $r/${T#/}/canary/sub not created inside the rootfs"
}

test_volume_symlink_absolute_stays_inside() {
	symlink_escape_test "$T/canary"
}

test_volume_symlink_relative_dotdot_stays_inside() {
	local ups
	ups=$(printf '../%.0s' {1..24})
	symlink_escape_test "$ups${T#/}/canary"
}

test_volume_symlink_in_parent_stays_inside() {
	local r=$T/rootfs
	fresh_rootfs "$r"
	mkdir "$T/canary" "$T/vol"
	echo in-volume >"$T/vol/marker"
	ln -s "$T" "$r/parent"
	RUN_ROOTFS=$r rrun -v "$T/vol:/parent/canary/sub" sh -c 'cat /parent/canary/sub/marker'
	assert_eq "" "$(ls -A "$T/canary")" "host canary directory contents"
	[[ $RC -eq 125 ]] && return 0
	assert_rc 0
	assert_eq in-volume "$OUT" "volume content"
}

test_tmpfs_mount() {
	rrun_ok --tmpfs /scratch sh -c 'awk "\$2 == \"/scratch\" {print \$1, \$3}" /proc/mounts; echo x > /scratch/f && cat /scratch/f'
	assert_eq $'tmpfs tmpfs\nx' "$OUT" "/proc/mounts entry and a write to the tmpfs"
	[[ ! -e $ROOTFS/scratch/f ]] || fail "tmpfs write landed in the rootfs"
}

test_read_only_root_with_tmpfs() {
	rrun --read-only --tmpfs /tmp sh -c 'touch /rootfile; echo rc=$?; touch /tmp/f && echo tmp-ok; awk "\$2 == \"/\" {print \$4}" /proc/mounts | cut -d, -f1'
	assert_rc 0
	assert_eq $'rc=1\ntmp-ok\nro' "$OUT" "writes with --read-only"
	assert_contains "$ERR" "Read-only file system" "stderr"
	[[ ! -e $ROOTFS/rootfile ]] || fail "file created in the rootfs despite --read-only"
}

test_read_only_keeps_volumes_writable() {
	mkdir "$T/vol"
	rrun_ok --read-only -v "$T/vol:/data" sh -c 'echo x > /data/f'
	assert_eq x "$(cat "$T/vol/f")" "file written to a volume under --read-only"
}

test_rootfs_writable_by_default() {
	local r=$T/rootfs
	fresh_rootfs "$r"
	RUN_ROOTFS=$r rrun_ok sh -c 'echo hi > /newfile'
	assert_eq hi "$(cat "$r/newfile")" "file written to the rootfs directory"
}
