# t_hostile.sh — hostile root filesystems: symlinks planted where rless mounts (/etc/hosts,
# /etc/resolv.conf, /etc/hostname, /etc, /dev, /proc, /sys, a volume's or a tmpfs' parent),
# pointing at host canaries by absolute path, by `../` chains or through /proc's magic links.
# Each tree runs twice: as `--rootfs DIR` and imported as a one-layer image (overlayfs). A
# container either runs with the mount inside its own root or fails with 125 and a message
# naming the path; the canaries under $T never change and nothing appears beside them. Also:
# `rless exec` into such a container, and no host binary (rless, rless-init, rless-image) is
# writable from inside, whatever a container tries.
# shellcheck shell=bash disable=SC2016,SC2034

# Deeper than any $T: a relative escape that would reach / on the host.
UPS=../../../../../../../../../../../../../../../..
STORE_OPTS=(--root "$T/store")

# setup_canaries: $T/canary, $T/canary-dir/f; $T/absent must never be created.
setup_canaries() {
	mkdir -p "$T/canary-dir"
	echo host-canary >"$T/canary"
	echo host-canary-in-dir >"$T/canary-dir/f"
	CANARY_STATE=$(canary_state)
}

canary_state() {
	(cd "$T" && sha256sum canary canary-dir/f && find canary canary-dir -printf '%p %y %m %s %T@\n' | sort)
}

check_canaries() { # WHAT
	assert_eq "$CANARY_STATE" "$(canary_state)" "host canaries after $1"
	[[ ! -e $T/absent ]] || fail "$1: $T/absent was created on the host"
}

# hostile_tree DIR PLANT: a copy of the shared busybox rootfs with the shell code PLANT run in it.
hostile_tree() {
	rm -rf "$1"
	cp -a "$ROOTFS" "$1"
	(cd "$1" && eval "$2")
}

# hostile_run HOW NAME PLANT OPTION... -- CMD...: NAME's tree (PLANT) run with OPTION... CMD...
# as `--rootfs` (HOW=dir) or as the image localhost/hostile-NAME (HOW=image: kernel overlayfs;
# HOW=fuse: fuse-overlayfs, in a store of its own); sets RC, OUT, ERR and checks the canaries.
hostile_run() {
	local how=$1 name=$2 plant=$3 opts=() tree=$T/tree-$2
	shift 3
	while [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	shift
	if [[ $how == dir ]]; then
		hostile_tree "$tree" "$plant"
		run_rless run --rootfs "$tree" "${opts[@]}" "$@"
	else
		[[ $how == image ]] || STORE_OPTS=(--root "$T/store-fuse" --storage-driver fuse-overlayfs)
		hostile_image "$name" "$plant"
		run_rless "${STORE_OPTS[@]}" run --rm "${opts[@]}" "localhost/hostile-$name" "$@"
		STORE_OPTS=(--root "$T/store")
	fi
	check_canaries "$how $name"
}

# refused PATH: the last run failed as rless (125) with a message naming PATH, nothing else.
refused() {
	assert_rc 125
	assert_contains "$ERR" "\`$1\`" "the error"
	assert_eq "" "$OUT" "stdout of a refused run"
}

# ran_inside: the last run started and its command succeeded.
ran_inside() {
	assert_rc 0
	assert_not_contains "$OUT" host-canary "what the container saw"
}

HOSTS_LINE=$'127.0.0.1\tlocalhost'

# etc_file_case HOW NAME FILE LINK: /etc/FILE -> LINK. An image gets the generated file where
# the link leads inside its root (the upper layer); a --rootfs tree that has no such file gets
# none (nothing is written into the tree). A write through it from inside stays inside too.
etc_file_case() {
	local how=$1 name=$2 f=$3 link=$4
	hostile_run "$how" "$name" "rm -f etc/$f; ln -s $(printf %q "$link") etc/$f" \
		-h hostile --dns 192.0.2.53 -- \
		sh -c "cat /etc/$f 2>/dev/null; echo ==; echo pwned 2>/dev/null >/etc/$f && cat /etc/$f; :"
	ran_inside
	local want
	case $f in
	hostname) want=hostile ;;
	hosts) want=$HOSTS_LINE ;;
	resolv.conf) want="nameserver 192.0.2.53" ;;
	esac
	if [[ $how != dir ]]; then
		assert_contains "${OUT%%==*}" "$want" "the container's generated /etc/$f"
		assert_contains "$OUT" $'==\npwned' "a write through /etc/$f"
	else
		# the link's target has no directory in the tree: the write fails, inside
		assert_eq "==" "$OUT" "/etc/$f of a --rootfs tree without one"
	fi
}

test_etc_files_absolute_symlinks() {
	setup_canaries
	local how f
	for how in dir image; do
		for f in hosts resolv.conf hostname; do
			etc_file_case "$how" "abs-${f%.conf}" "$f" "$T/canary"
			etc_file_case "$how" "absent-${f%.conf}" "$f" "$T/absent/$f"
		done
	done
}

test_etc_files_relative_escapes() {
	setup_canaries
	local how f
	for how in dir image; do
		for f in hosts resolv.conf hostname; do
			etc_file_case "$how" "rel-${f%.conf}" "$f" "$UPS$T/canary"
		done
	done
}

# ../../../../ from /etc is the root directory itself: a file cannot be bound there.
test_etc_files_pointing_at_the_root() {
	setup_canaries
	local how f link
	for how in dir image; do
		for f in hosts resolv.conf hostname; do
			for link in ../../../../ /; do
				hostile_run "$how" "root-${f%.conf}" "rm -f etc/$f; ln -s $link etc/$f" -- true
				refused "/etc/$f"
			done
		done
	done
}

# /proc's magic links (/proc/self/root...) would lead out of the root once /proc is mounted.
test_etc_files_through_magic_links() {
	setup_canaries
	local how link
	for how in dir image; do
		for link in /proc/self/root$T/canary /proc/1/root$T/canary /proc/self/cwd/canary; do
			hostile_run "$how" magic-hosts "rm -f etc/hosts; ln -s $link etc/hosts" -- cat /etc/hosts
			refused /etc/hosts
			assert_contains "$ERR" "inside the root filesystem only" "the hint"
		done
	done
}

test_etc_dir_symlink() {
	setup_canaries
	local how link
	for how in dir image; do
		for link in "$T/canary-dir" "$UPS$T/canary-dir" "$T/absent"; do
			hostile_run "$how" etc-dir "rm -rf etc; ln -s $link etc" -h hostile -- \
				sh -c 'cat /etc/hosts /etc/hostname 2>/dev/null; echo ==; ls /etc/ 2>/dev/null; echo x >/etc/f; :'
			ran_inside
			if [[ $how != dir ]]; then
				assert_contains "$OUT" "$HOSTS_LINE" "/etc/hosts through /etc -> $link"
				assert_contains "$OUT" $'\nhostile\n' "/etc/hostname through /etc -> $link"
			else
				assert_eq "==" "$OUT" "/etc through a dangling /etc -> $link"
			fi
		done
	done
}

# /proc, /sys and /dev are mounted only on real directories: anything else would put the
# mount where the masked and read-only paths below it do not lead (/proc -> / stacks proc on
# the root, out of reach of its masks but through `/..`).
test_kernel_dirs_as_symlinks_refused() {
	setup_canaries
	local how d link
	for how in dir image; do
		for d in proc sys dev; do
			for link in / ../../.. "$T/canary-dir" "$UPS$T/canary-dir" "$T/absent" /tmp /dev/x/../../p; do
				[[ $link != "/$d" ]] || continue
				hostile_run "$how" "kdir-$d" "rm -rf $d; ln -s $link $d" -- true
				refused "/$d"
				assert_contains "$ERR" "is a symlink" "the error for /$d -> $link"
				[[ ! -e $T/tree-kdir-$d/${T#/} && ! -e $T/tree-kdir-$d/tmp/null ]] ||
					fail "/$d -> $link: mount points made in the tree"
			done
		done
	done
	# With --network host /sys is the host's, bound: the same rule.
	hostile_run dir sys-host "rm -rf sys; ln -s $T/canary-dir sys" --network host -- true
	refused /sys
}

# Not a symlink but a file: a clear error too.
test_kernel_dirs_as_files_refused() {
	setup_canaries
	local how d
	for how in dir image; do
		for d in proc dev; do
			hostile_run "$how" "kfile-$d" "rm -rf $d; echo file >$d" -- true
			refused "/$d"
		done
	done
}

# Missing altogether: rless makes the directories (in the tree for --rootfs, as docker does).
test_kernel_dirs_missing_are_made() {
	setup_canaries
	local how
	for how in dir image; do
		hostile_run "$how" nokdirs "rm -rf proc sys dev" -- sh -c 'ls /proc/self/fd >/dev/null && ls /sys/kernel >/dev/null && echo x >/dev/null && echo ok'
		ran_inside
		assert_eq ok "$OUT"
	done
}

volume_case() { # HOW NAME LINK
	mkdir -p "$T/vol"
	echo in-volume >"$T/vol/marker"
	hostile_run "$1" "$2" "ln -s $3 data" -v "$T/vol:/data/x" -- \
		sh -c 'cat /data/x/marker && echo w >/data/x/written && awk "\$5 ~ /x\$/ {print \$5}" /proc/self/mountinfo'
	ran_inside
	assert_contains "$OUT" in-volume "the volume through /data -> $3"
	assert_eq w "$(cat "$T/vol/written")" "a write into the volume through /data -> $3"
	rm -f "$T/vol/written"
}

test_volume_through_symlinked_parent() {
	setup_canaries
	local how
	for how in dir image; do
		volume_case "$how" vol-abs "$T/canary-dir"
		volume_case "$how" vol-rel "$UPS$T/canary-dir"
		volume_case "$how" vol-absent "$T/absent"
	done
}

# A volume or tmpfs whose target leads to the root itself would be stacked on / (hidden but for
# `/..`): refused. So is one through a magic link.
test_volume_and_tmpfs_on_the_root_refused() {
	setup_canaries
	mkdir -p "$T/vol"
	local how link
	for how in dir image; do
		for link in / ../../.. "$UPS"; do
			hostile_run "$how" vol-root "ln -s $link data" -v "$T/vol:/data" -- true
			refused /data
			assert_contains "$ERR" "root directory of the container"
			hostile_run "$how" tmpfs-root "ln -s $link data" --tmpfs /data -- true
			refused /data
		done
		hostile_run "$how" vol-magic "ln -s /proc/self/root data" -v "$T/vol:/data/x" -- true
		refused /data
		hostile_run "$how" vol-magic-cwd "ln -s /proc/1/cwd data" --tmpfs /data/x -- true
		refused /data
	done
}

test_tmpfs_through_symlinked_parent() {
	setup_canaries
	local how link
	for how in dir image; do
		for link in "$T/canary-dir" "$UPS$T/canary-dir" "$T/absent"; do
			hostile_run "$how" tmpfs "ln -s $link data" --tmpfs /data/x -- \
				sh -c 'echo t >/data/x/f && cat /data/x/f && awk "\$5 ~ /x\$/ {print \$9}" /proc/self/mountinfo'
			ran_inside
			assert_eq $'t\ntmpfs' "$OUT" "a tmpfs through /data -> $link"
		done
	done
}

# --init: rless-init comes from outside the tree (nothing is mounted for it): symlinked /usr or
# /sbin do not matter, and /dev as a symlink is refused as without it.
test_init_in_hostile_trees() {
	setup_canaries
	local how d
	for how in dir image; do
		for d in usr sbin; do
			hostile_run "$how" "init-$d" "rm -rf $d; ln -s $T/canary-dir $d" --init -- \
				sh -c 'tr "\0" " " </proc/1/cmdline; echo'
			ran_inside
			assert_match "$OUT" '^rless-init .*sh -c' "pid 1 under --init"
		done
		hostile_run "$how" init-dev "rm -rf dev; ln -s $T/canary-dir dev" --init -- true
		refused /dev
	done
}

# exec into a running container whose tree is hostile: the same mounts, nothing followed out.
# (Only image containers are recorded, so only they can be exec'd into.)
test_exec_into_hostile_container() {
	setup_canaries
	mkdir -p "$T/vol"
	hostile_image exec "rm -f etc/hosts etc/hostname; ln -s $T/canary etc/hosts; ln -s $UPS$T/canary-dir/hn etc/hostname; ln -s $T/canary-dir data; ln -s $UPS$T/canary-dir work"
	run_rless --root "$T/store" run -d --name h -h hostile -v "$T/vol:/data/x" --tmpfs /work/t \
		localhost/hostile-exec sleep 60
	assert_rc 0
	run_rless --root "$T/store" exec -w /data/x h \
		sh -c 'pwd; echo e >written; cat /etc/hosts /etc/hostname; echo pwned >/etc/hosts; echo pwned >/etc/hostname; echo t >/work/t/f; cat /work/t/f'
	check_canaries "exec"
	assert_rc 0
	assert_not_contains "$OUT" host-canary "what exec saw"
	# the working dir, /data/x, resolved inside: where the volume is
	assert_eq "$T/canary-dir/x" "${OUT%%$'\n'*}" "exec's working dir through /data"
	assert_contains "$OUT" "$HOSTS_LINE" "exec's /etc/hosts"
	assert_contains "$OUT" $'\nhostile\n' "exec's /etc/hostname"
	assert_contains "$OUT" $'\nt' "exec's tmpfs through /work"
	assert_eq e "$(cat "$T/vol/written")" "exec's write into the volume"
	run_rless --root "$T/store" exec -w /work/t h sh -c 'cat f /etc/hosts; ls /data'
	check_canaries "a second exec"
	assert_rc 0
	assert_eq $'t\npwned\nhn\nt\nx' "$OUT" "what the second exec saw (/data and /work lead to one dir inside)"
	in_pty "$(printf %q "$RLESS") --root $(printf %q "$T/store") exec -t -w /data/x h sh -c 'cat written /etc/hostname'"
	check_canaries "exec -t"
	assert_rc 0
	assert_eq $'e\npwned' "$OUT" "what exec -t saw"
	run_rless --root "$T/store" rm -f h
	assert_rc 0
	check_canaries "rm -f"
}

# hostile_image NAME PLANT: NAME's tree (PLANT) imported as localhost/hostile-NAME into the
# store of STORE_OPTS.
hostile_image() {
	local tree=$T/tree-$1
	hostile_tree "$tree" "$2"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tree" -cf "$T/$1.tar" .
	run_rless "${STORE_OPTS[@]}" import "$T/$1.tar" "hostile-$1"
	[[ $RC -eq 0 ]] || { show_run >&2; fail "import of the hostile tree $1"; }
}

# The same through fuse-overlayfs (the driver without kernel overlayfs): a few of each kind.
test_hostile_images_with_fuse_overlayfs() {
	require_cmd fuse-overlayfs fuse-overlayfs
	[[ -r /dev/fuse && -w /dev/fuse ]] || skip "/dev/fuse is not usable by $(id -un)"
	setup_canaries
	mkdir -p "$T/vol"
	echo in-volume >"$T/vol/marker"
	etc_file_case fuse f-abs hosts "$T/canary"
	etc_file_case fuse f-rel resolv.conf "$UPS$T/canary"
	hostile_run fuse f-root "rm -f etc/hostname; ln -s ../../../../ etc/hostname" -- true
	refused /etc/hostname
	hostile_run fuse f-proc "rm -rf proc; ln -s / proc" -- true
	refused /proc
	hostile_run fuse f-dev "rm -rf dev; ln -s $T/canary-dir dev" -- true
	refused /dev
	volume_case fuse f-vol "$UPS$T/canary-dir"
	hostile_run fuse f-volroot "ln -s ../../.. data" -v "$T/vol:/data" -- true
	refused /data
}

# ---- no host binary is writable from inside ----

# The attack of runc's CVE-2019-5736 at every entry point rless has: pid 1 with and without
# --init and -t, `rless exec` with and without -t, and a `#!/proc/self/exe` command, while a pid
# 1 in the same container holds read fds to the program of every process that appears there and
# keeps trying to reopen them for writing (they may be busy while they run). The binaries are
# copies in $T/bin, owned and writable by the test user, as in a build dir.

# ATTACK: try to append to /proc/1/exe, our own exe and every program any process there has
# mapped (busybox, the tree's own, aside), remounting it read-write first when it is a mount
# (with CAP_SYS_ADMIN that works on a bind mount of the container's own); print what worked.
ATTACK='
try_write() {
	[ -e "$1" ] || return 0
	[ "$1" -ef /bin/busybox ] && return 0
	mount -o remount,bind,rw "$(readlink "$1")" 2>/dev/null
	if (printf pwned >>"$1") 2>/dev/null; then echo "WROTE $1 ($(readlink "$1"))"; fi
}
for f in /proc/1/exe /proc/self/exe /proc/[0-9]*/exe /proc/[0-9]*/map_files/*; do try_write "$f"; done
'

# WATCHER SECONDS: as pid 1, for SECONDS, hold an fd to the program of every process that is not
# busybox and try writing through it; log in /tmp/attack.log. /evil-images (`#!/proc/self/exe
# images`) would run `rless images /evil-images` if rless were the interpreter: it blocks reading
# its config, a fifo, until the watcher has its fd and lets it go.
WATCHER='
end=$(( $(date +%s) + $1 )); fd=3
echo watching >/tmp/ready
while [ "$(date +%s)" -lt "$end" ]; do
	for p in /proc/[0-9]*; do
		[ -e "$p/exe" ] || continue
		[ "$p/exe" -ef /bin/busybox ] && continue
		[ "$fd" -le 9 ] || fd=3
		eval "exec $fd<\"$p/exe\"" 2>/dev/null || continue
		echo "held $(readlink "$p/exe")" >>/tmp/attack.log
		fd=$((fd + 1))
		timeout 1 sh -c "echo {} >/root/.config/rless/config.json" 2>/dev/null
	done
	for n in 3 4 5 6 7 8 9; do
		[ -e /proc/self/fd/$n ] || continue
		if (printf pwned >>/proc/self/fd/$n) 2>/dev/null; then
			echo "WROTE fd $n $(readlink /proc/self/fd/$n)" >>/tmp/attack.log
		fi
	done
done
'

ATTACK_TREE="printf '#!/proc/self/exe\n' >evil; printf '#!/proc/self/exe images\n' >evil-images; chmod 0755 evil evil-images; mkdir -p root/.config/rless; mkfifo root/.config/rless/config.json; printf %s $(printf %q "$ATTACK") >attack.sh; printf %s $(printf %q "$WATCHER") >watch.sh"

# own_binaries: rless, rless-init and rless-image copied to $T/bin, writable by us; RLESS is
# that copy from here on.
own_binaries() {
	mkdir -p "$T/bin"
	cp "$RLESS" "$RLESS_INIT" "${RLESS%/*}/rless-image" "$T/bin/"
	chmod 0755 "$T/bin"/*
	RLESS=$T/bin/rless
	BINARIES_SHA=$(binaries_sha)
}

binaries_sha() {
	(cd "$T/bin" && sha256sum rless rless-init rless-image)
}

# attacked ATTEMPT: nothing written by the attack, host binaries unchanged.
attacked() {
	assert_not_contains "$OUT" WROTE "what the attack wrote ($1)"
	assert_eq "$BINARIES_SHA" "$(binaries_sha)" "host binaries after $1"
}

test_no_host_binary_writable_from_run() {
	own_binaries
	local r=$T/tree-bin
	hostile_tree "$r" "$ATTACK_TREE"
	RUN_ROOTFS=$r rrun_ok sh /attack.sh
	attacked "run"
	RUN_ROOTFS=$r rrun_ok --init sh /attack.sh
	attacked "run --init"
	RUN_ROOTFS=$r rrun_ok --init --cap-add SYS_ADMIN sh /attack.sh
	attacked "run --init --cap-add SYS_ADMIN"
	RUN_ROOTFS=$r rrun_ok --init --privileged sh /attack.sh
	attacked "run --init --privileged"
	in_pty "$(printf %q "$RLESS") run -t --rootfs $(printf %q "$r") sh /attack.sh"
	assert_rc 0
	attacked "run -t"
	in_pty "$(printf %q "$RLESS") run -t --init --rootfs $(printf %q "$r") sh /attack.sh"
	assert_rc 0
	attacked "run -t --init"
}

test_no_host_binary_writable_from_exec() {
	own_binaries
	hostile_image bin "$ATTACK_TREE"
	run_rless --root "$T/store" run -d --name w localhost/hostile-bin sh /watch.sh 15
	assert_rc 0
	wait_ready w
	local i
	for i in 1 2 3; do
		RUN_TIMEOUT=10 run_rless --root "$T/store" exec w /evil-images
		attacked "exec /evil-images"
		run_rless --root "$T/store" exec w sh /attack.sh
		assert_rc 0
		attacked "exec"
		run_rless --root "$T/store" exec w true
		in_pty "$(printf %q "$RLESS") --root $(printf %q "$T/store") exec -t w sh /attack.sh"
		assert_rc 0
		attacked "exec -t"
	done
	run_rless --root "$T/store" exec w cat /tmp/attack.log
	local log=$OUT
	run_rless --root "$T/store" rm -f w
	assert_not_contains "$log" WROTE "the watcher's log"
	assert_eq "$BINARIES_SHA" "$(binaries_sha)" "host binaries after the watcher"
}

# A command whose interpreter is /proc/self/exe runs whatever started it: it must be nothing of
# the host and must not keep starting itself. It ends, failing, within a few seconds.
test_proc_self_exe_interpreter() {
	own_binaries
	local r=$T/tree-bin
	hostile_tree "$r" "$ATTACK_TREE"
	local RUN_TIMEOUT=10
	RUN_ROOTFS=$r rrun /evil
	attacked "run /evil"
	[[ $RC -ne 0 && $RC -ne 124 && $RC -ne 137 ]] || { show_run >&2; fail "run /evil did not end by itself with a failure"; }
	RUN_ROOTFS=$r rrun --init /evil
	attacked "run --init /evil"
	[[ $RC -ne 0 && $RC -ne 124 && $RC -ne 137 ]] || { show_run >&2; fail "run --init /evil did not end by itself with a failure"; }
	hostile_image evil "$ATTACK_TREE"
	run_rless --root "$T/store" run -d --name e localhost/hostile-evil sleep 30
	assert_rc 0
	run_rless --root "$T/store" exec e /evil
	attacked "exec /evil"
	[[ $RC -ne 0 && $RC -ne 124 && $RC -ne 137 ]] || { show_run >&2; fail "exec /evil did not end by itself with a failure"; }
	run_rless --root "$T/store" rm -f e
}

wait_ready() { # NAME: until exec into NAME sees the watcher started
	local i
	for ((i = 0; i < 100; i++)); do
		"$RLESS" --root "$T/store" exec "$1" test -e /tmp/ready </dev/null >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "container $1 never became exec-able"
}
