#!/bin/bash
# tests/vm/mkimage.sh [--key] — the boot files of the cgroup test VM, built once and cached.
#
# Prints the directory holding them (last line of stdout):
#   vmlinuz     Debian's bookworm kernel (the version linux-image-amd64 depends on), taken from
#               its package with apt-get download + dpkg-deb -x: nothing is installed on the host
#   initrd.img  busybox: loads virtio_blk and ext4, mounts /dev/vda, switch_root to systemd
#   rootfs.img  raw ext4: mmdebstrap bookworm with systemd, user tester (1000) with subordinate
#               ids, lingering, cpu cpuset io memory pids delegated to user@.service, the tests'
#               busybox rootfs in /opt/busybox-rootfs, and rless-vm-tests.service, which runs
#               tests/vm/guest.sh from the 9p share and powers the machine off
# The cache is build/vm/img-KEY, KEY a hash of this script (packages and guest configuration are
# in it), tests/fixtures/mkrootfs-busybox.sh and the kernel package's version; a changed input
# builds a new directory beside the old one and renames it into place complete, so a killed
# build leaves only build/vm/tmp.* litter, which the next build removes. Debian's archive (the
# host's own bookworm sources) is the only network use; downloaded packages are kept in
# build/vm/debs for the next build.
# Needs root (mmdebstrap's root mode, owners in the image), mmdebstrap, mkfs.ext4, depmod.
#   --key   print the cache key and exit
#   RLESS_VM_DIR=DIR   cache directory (default: build/vm of the checkout)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
base=${RLESS_VM_DIR:-$top/build/vm}
# shellcheck source=tests/lib/apt-mirrors.sh
source "$top/tests/lib/apt-mirrors.sh"

# What the guest runs: systemd and a user session bus; newuidmap and fuse for rless; the
# libraries the dynamic rless binaries load (libsystemd0: sd-bus, dlopen()ed); busybox for the
# containers' rootfs; python3 for JSON in the tests (json is not in python3-minimal).
GUEST_PACKAGES=(
	systemd systemd-sysv dbus dbus-user-session libpam-systemd udev kmod uidmap fuse3
	fuse-overlayfs procps
	libcap2 libjansson4 libcurl4 libarchive13 libssl3 libseccomp2 libsubid4 libsystemd0
	busybox-static python3-minimal python3
)
# Modules the guest loads (their dependencies come along): the root disk, the 9p shares,
# rootless overlay and fuse-overlayfs, systemd's automount support.
GUEST_MODULES=(virtio_pci virtio_blk crc32c_generic ext4 9pnet_virtio 9p fuse overlay autofs4)
INITRD_MODULES=(virtio_pci virtio_blk crc32c_generic ext4)
# Units that cost boot time under emulation and do nothing for the tests.
MASKED_UNITS=(
	apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer
	e2scrub_reap.service fstrim.timer logrotate.timer man-db.timer
	systemd-hwdb-update.service systemd-journal-catalog-update.service ldconfig.service
	systemd-update-done.service systemd-pstore.service systemd-binfmt.service
	proc-sys-fs-binfmt_misc.automount getty@tty1.service serial-getty@ttyS0.service
	console-getty.service systemd-firstboot.service systemd-sysusers.service
	modprobe@drm.service modprobe@dm_mod.service modprobe@loop.service modprobe@configfs.service
	modprobe@efi_pstore.service dev-hugepages.mount sys-kernel-debug.mount
	sys-kernel-tracing.mount sys-kernel-config.mount
)
# Generators with nothing to find here (each is a process at every boot, ~0.3 s under TCG).
MASKED_GENERATORS=(
	systemd-gpt-auto-generator systemd-cryptsetup-generator systemd-veritysetup-generator
	systemd-integritysetup-generator systemd-bless-boot-generator
	systemd-hibernate-resume-generator systemd-sysv-generator systemd-rc-local-generator
	systemd-getty-generator systemd-system-update-generator systemd-run-generator
)
TESTER_SUBIDS=100000:65536

log() { echo "mkimage: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# kernel_package: "NAME VERSION" of the kernel linux-image-amd64 depends on (apt's metadata; one
# apt-cache call, it costs a second).
kernel_package() {
	local dep
	dep=$(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
		sed -n 's/^Depends: *\(linux-image-[0-9][^ ,]*\) *(= *\([^)]*\)).*/\1 \2/p' | head -n 1)
	[[ -n $dep ]] || die "apt-cache knows no linux-image-amd64 pinning its kernel (run apt-get update)"
	echo "$dep"
}

cache_key() { # KERNEL-NAME KERNEL-VERSION
	{
		cat "${BASH_SOURCE[0]}" "$top/tests/fixtures/mkrootfs-busybox.sh"
		printf '%s\n' "${GUEST_PACKAGES[*]}" "$1=$2" "$(uname -m)"
	} | sha256sum | cut -c1-16
}


# fetch_kernel NAME VERSION: the kernel package unpacked in $base/kernel-NAME_VERSION (with
# depmod's files, for modprobe --show-depends); prints that directory.
fetch_kernel() {
	local name=$1 ver=$2 dir tmp
	dir=$base/kernel-${name}_$ver
	if [[ ! -d $dir ]]; then
		log "fetching $name $ver"
		tmp=$(mktemp -d "$base/tmp.kernel.XXXXXX")
		(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$name=$ver" >&2)
		dpkg-deb -x "$tmp"/*.deb "$tmp/x"
		depmod -b "$tmp/x" "${name#linux-image-}"
		mv -T "$tmp/x" "$dir"
		rm -rf "$tmp"
	fi
	echo "$dir"
}

# module_files KDIR KREL MODULE...: the .ko files MODULE... need, dependencies first, relative
# to KDIR/lib/modules/KREL, each once.
module_files() {
	local kdir=$1 krel=$2 m
	shift 2
	for m in "$@"; do
		modprobe -d "$kdir" -S "$krel" --show-depends "$m" || die "module $m not in $krel"
	done | awk -v p="$kdir/lib/modules/$krel/" '$1 == "insmod" && !seen[$2]++ {
		sub("^" p, "", $2); print $2 }'
}

bootstrap() { # ROOT DEBCACHE NEWDEBCACHE
	local root=$1 cache=$2 newcache=$3 mirrors mmpid
	mapfile -t mirrors < <(host_mirrors)
	[[ ${#mirrors[@]} -gt 0 ]] || mirrors=("deb http://deb.debian.org/debian bookworm main")
	mkdir -p "$cache" "$newcache"
	log "mmdebstrap bookworm (${#GUEST_PACKAGES[@]} packages from ${mirrors[0]#deb })"
	# The hooks' $1 is mmdebstrap's (the chroot), not ours.
	# shellcheck disable=SC2016
	mmdebstrap --variant=minbase --mode=root --quiet --skip=essential/unlink \
		--include="$(IFS=,; echo "${GUEST_PACKAGES[*]}")" \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
		--setup-hook="sync-in $cache /var/cache/apt/archives/" \
		--customize-hook="sync-out /var/cache/apt/archives $newcache" \
		--customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
		bookworm "$root" "${mirrors[@]}" >&2 &
	mmpid=$!
	MMPID=$mmpid
	wait "$mmpid"
	MMPID=
}

install_modules() { # ROOT KDIR KREL
	local root=$1 kdir=$2 krel=$3 f src
	src=$kdir/lib/modules/$krel
	mkdir -p "$root/lib/modules/$krel"
	cp "$src"/modules.order "$src"/modules.builtin "$src"/modules.builtin.modinfo \
		"$root/lib/modules/$krel/"
	while IFS= read -r f; do
		install -D -m 0644 "$src/$f" "$root/lib/modules/$krel/$f"
	done < <(module_files "$kdir" "$krel" "${GUEST_MODULES[@]}")
	depmod -b "$root" "$krel"
	mkdir -p "$root/etc/modules-load.d"
	printf '%s\n' fuse overlay >"$root/etc/modules-load.d/rless-vm.conf"
}

configure_system() { # ROOT KEY
	local root=$1 key=$2 u
	# mmdebstrap empties machine-id; an empty one makes every boot a first boot (slower).
	printf '%s\n' "$(printf 'rless-vm %s' "$key" | sha256sum | cut -c1-32)" >"$root/etc/machine-id"
	echo rless-vm >"$root/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 rless-vm\n' >"$root/etc/hosts"
	echo '/dev/vda / ext4 rw,noatime 0 0' >"$root/etc/fstab"
	mkdir -p "$root/etc/systemd/journald.conf.d"
	printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/rless-vm.conf"
	for u in "${MASKED_UNITS[@]}"; do
		ln -sfn /dev/null "$root/etc/systemd/system/$u"
	done
	mkdir -p "$root/etc/systemd/system-generators"
	for u in "${MASKED_GENERATORS[@]}"; do
		ln -sfn /dev/null "$root/etc/systemd/system-generators/$u"
	done
	# The tests' busybox rootfs, made here where forks are cheap (the suite copies it and lets
	# mkrootfs-busybox.sh check it, which then forks next to nothing).
	BUSYBOX=$root/bin/busybox bash "$top/tests/fixtures/mkrootfs-busybox.sh" \
		"$root/opt/busybox-rootfs" >/dev/null
	chmod -R a+rX "$root/opt/busybox-rootfs"
	ln -sfn /lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"
}

configure_tester() { # ROOT
	local root=$1
	chroot "$root" useradd --create-home --uid 1000 --user-group --shell /bin/bash tester
	echo "tester:$TESTER_SUBIDS" >"$root/etc/subuid"
	echo "tester:$TESTER_SUBIDS" >"$root/etc/subgid"
	chmod 0644 "$root/etc/subuid" "$root/etc/subgid"
	# Lingering: logind starts user@1000.service (and its session bus) at boot.
	mkdir -p "$root/var/lib/systemd/linger"
	: >"$root/var/lib/systemd/linger/tester"
	# Debian 12 delegates only cpu memory pids to the user manager.
	mkdir -p "$root/etc/systemd/system/user@.service.d"
	printf '[Service]\nDelegate=cpu cpuset io memory pids\n' \
		>"$root/etc/systemd/system/user@.service.d/delegate.conf"
}

# configure_runner ROOT: the boot-time service that mounts the shares, runs the tests from the
# checkout (so changed tests need no new image) and powers off.
configure_runner() {
	local root=$1
	cat >"$root/etc/systemd/system/rless-vm-tests.service" <<-'EOF'
		[Unit]
		Description=rless VM tests (tests/vm/guest.sh from the 9p share)
		Wants=user@1000.service
		After=user@1000.service systemd-logind.service systemd-user-sessions.service

		[Service]
		Type=oneshot
		ExecStart=/usr/local/sbin/rless-vm-boot
		StandardOutput=journal+console
		StandardError=journal+console
		TimeoutStartSec=infinity

		[Install]
		WantedBy=multi-user.target
	EOF
	mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
	ln -sfn /etc/systemd/system/rless-vm-tests.service \
		"$root/etc/systemd/system/multi-user.target.wants/rless-vm-tests.service"
	cat >"$root/usr/local/sbin/rless-vm-boot" <<-'EOF'
		#!/bin/bash
		# Mount the checkout (read-only) and the results dir, run the tests, power off.
		# rlessvm.shell on the kernel command line: a root shell on ttyS0 before powering off.
		echo "rless-vm: boot took $(cut -d' ' -f1 /proc/uptime)s"
		rc=0
		modprobe -a 9pnet_virtio 9p
		mkdir -p /mnt/rless /mnt/results
		if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 rless /mnt/rless ||
			! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results /mnt/results; then
			echo "rless-vm: mounting the 9p shares failed"
			rc=1
		else
			bash /mnt/rless/tests/vm/guest.sh /mnt/rless /mnt/results || rc=$?
			echo "rless-vm: guest.sh exited with status $rc"
		fi
		if grep -qw rlessvm.shell /proc/cmdline; then
			echo "rless-vm: root shell on the console; exit it to power off"
			setsid --ctty --wait bash -i </dev/ttyS0 >/dev/ttyS0 2>&1
		fi
		sync
		systemctl poweroff --force
	EOF
	chmod 0755 "$root/usr/local/sbin/rless-vm-boot"
}

# make_initrd OUT KDIR KREL: busybox, the modules of the root disk and an /init that mounts it.
make_initrd() {
	local out=$1 kdir=$2 krel=$3 d f
	d=$(mktemp -d "$base/tmp.initrd.XXXXXX")
	mkdir -p "$d"/{bin,dev,proc,sys,newroot,lib/modules}
	cp /bin/busybox "$d/bin/busybox"
	ln -s busybox "$d/bin/sh"
	# The kernel gives /init its stdio from the initramfs' /dev/console.
	mknod -m 0600 "$d/dev/console" c 5 1
	while IFS= read -r f; do
		cp "$kdir/lib/modules/$krel/$f" "$d/lib/modules/"
		echo "${f##*/}" >>"$d/modules.list"
	done < <(module_files "$kdir" "$krel" "${INITRD_MODULES[@]}")
	cat >"$d/init" <<-'EOF'
		#!/bin/sh
		/bin/busybox --install -s /bin
		mount -t proc proc /proc
		mount -t sysfs sysfs /sys
		mount -t devtmpfs devtmpfs /dev
		for m in $(cat /modules.list); do
			insmod "/lib/modules/$m" 2>/dev/null
		done
		i=0
		while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		# A failure ends init: the kernel panics and, with panic=-1 and -no-reboot, qemu exits.
		mount -t ext4 -o rw,noatime /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda"; exit 1; }
		echo "initrd: /dev/vda mounted, starting systemd"
		umount /proc /sys
		mount --move /dev /newroot/dev
		exec switch_root /newroot /sbin/init
	EOF
	chmod 0755 "$d/init"
	(cd "$d" && find . -mindepth 1 | busybox cpio -o -H newc 2>/dev/null) >"$out"
	rm -rf "$d"
}

build() { # KEY KDIR KREL
	local key=$1 kdir=$2 krel=$3 tmp size
	tmp=$(mktemp -d "$base/tmp.img.XXXXXX")
	chmod 0755 "$tmp"
	TMPDIR_BUILD=$tmp
	bootstrap "$tmp/root" "$base/debs" "$tmp/debs"
	install_modules "$tmp/root" "$kdir" "$krel"
	configure_system "$tmp/root" "$key"
	configure_tester "$tmp/root"
	configure_runner "$tmp/root"
	make_initrd "$tmp/initrd.img" "$kdir" "$krel"
	cp "$kdir/boot/vmlinuz-$krel" "$tmp/vmlinuz"
	# Room for the tests' scratch files; raw and sparse, and snapshot=on discards guest writes.
	size=$(($(du -sm "$tmp/root" | cut -f1) + 1024))
	log "mkfs.ext4 ${size}M"
	mkfs.ext4 -q -F -L rless-vm -O ^has_journal -E root_owner=0:0 -d "$tmp/root" \
		"$tmp/rootfs.img" "${size}M" >&2
	rm -rf "$tmp/root"
	printf 'key=%s\nkernel=%s\n' "$key" "$krel" >"$tmp/info"
	rm -rf "$base/debs"
	mv -T "$tmp/debs" "$base/debs"
	mv -T "$tmp" "$base/img-$key"
	TMPDIR_BUILD=
}

main() {
	local kname kver key kdir krel d
	read -r kname kver < <(kernel_package)
	key=$(cache_key "$kname" "$kver")
	if [[ ${1:-} == --key ]]; then
		echo "$key"
		return 0
	fi
	if [[ -f $base/img-$key/rootfs.img ]]; then
		echo "$base/img-$key"
		return 0
	fi
	[[ $(id -u) -eq 0 ]] || die "building the VM image needs root (mmdebstrap, image owners)"
	local t
	for t in mmdebstrap mkfs.ext4 depmod modprobe dpkg-deb; do
		command -v "$t" >/dev/null || die "$t not found (bash contrib/install-deps.sh installs it)"
	done
	mkdir -p "$base"
	exec 9>"$base/.lock"
	flock 9
	# Holding the lock: every tmp.* is a killed build's litter.
	rm -rf "$base"/tmp.*
	if [[ ! -f $base/img-$key/rootfs.img ]]; then
		kdir=$(fetch_kernel "$kname" "$kver")
		krel=${kname#linux-image-}
		build "$key" "$kdir" "$krel"
		for d in "$base"/img-* "$base"/kernel-*; do
			[[ $d == "$base/img-$key" || $d == "$kdir" ]] || rm -rf "$d"
		done
		log "built $base/img-$key"
	fi
	echo "$base/img-$key"
}

MMPID=
TMPDIR_BUILD=
# mmdebstrap finishes its step (and unmounts) before it obeys a signal: wait for it before
# removing the directory it works in.
trap '[[ -z $TMPDIR_BUILD ]] || rm -rf "$TMPDIR_BUILD"' EXIT
trap '[[ -z $MMPID ]] || { kill "$MMPID" 2>/dev/null; wait "$MMPID" || true; }; [[ -z $TMPDIR_BUILD ]] || rm -rf "$TMPDIR_BUILD"; exit 143' TERM INT HUP
main "$@"
