#!/bin/bash
# contrib/install-deps.sh [PACKAGE...] — install rless' build, test and benchmark packages on
# Debian/Ubuntu with apt-get (through sudo when not root). With PACKAGE arguments, only those.
# Does nothing (and needs no root) when every package is already installed.
#   RLESS_DEPS_NO_UPDATE=1  skip `apt-get update` (the caller just ran it)
#   --list                  print the default package list and exit
set -euo pipefail

PACKAGES=(
	# build
	build-essential pkg-config libcap-dev libsubid-dev libjansson-dev libseccomp-dev
	libcurl4-openssl-dev libarchive-dev libssl-dev
	# rless-init is linked statically against musl when it is there: 45 KB instead of glibc's
	# 770 KB, copied into a memfd and executed by every container process
	musl-tools
	# unit tests, formatting
	libcmocka-dev clang-format
	# fuzzing (make fuzz, and 10 s of each target in make check): clang, libFuzzer and the
	# sanitizer runtimes (compiler-rt), llvm-symbolizer for the stack traces of its reports
	clang libclang-rt-14-dev llvm
	# run time: id maps, overlay fallback, user-mode networking (pasta, slirp4netns)
	uidmap fuse-overlayfs passt slirp4netns
	# integration tests: busybox rootfs, script(1), ipcmk, ps, ip, time, JSON check
	busybox-static bsdutils util-linux procps iproute2 tmux python3 passwd coreutils
	# image tests: local registries (plain, htpasswd, token server), images built and pushed here
	docker-registry skopeo apache2-utils openssl mmdebstrap zstd curl
	# benchmarks
	hyperfine bubblewrap time
	# cgroup tests in a systemd VM (make check-vm, tests/vm): the emulator, its ext4 image, depmod
	qemu-system-x86 e2fsprogs kmod
)

if [[ ${1:-} == --list ]]; then
	printf '%s\n' "${PACKAGES[@]}"
	exit 0
fi
if [[ $# -gt 0 ]]; then
	PACKAGES=("$@")
fi

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
	echo "install-deps.sh: this script needs dpkg and apt-get (Debian/Ubuntu); install by hand:" >&2
	printf '  %s\n' "${PACKAGES[@]}" >&2
	exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ $status == installed ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "install-deps.sh: all ${#PACKAGES[@]} packages are installed"
	exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	if ! command -v sudo >/dev/null; then
		echo "install-deps.sh: not root and no sudo; as root, run: apt-get install ${missing[*]}" >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if [[ -z ${RLESS_DEPS_NO_UPDATE:-} ]]; then
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
fi
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
