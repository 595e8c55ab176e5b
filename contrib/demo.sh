#!/bin/bash
# contrib/demo.sh — `make demo`: a busybox root filesystem in build/demo-rootfs and one
# container run in it. As root (no subordinate ids) rless falls back to a single-id map.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

if [[ ! -x /bin/busybox ]] || ! command -v newuidmap >/dev/null || ! command -v newgidmap >/dev/null; then
	bash contrib/install-deps.sh busybox-static uidmap
fi
if [[ ! -x build/rless ]]; then
	make all
fi

rootfs=build/demo-rootfs
tests/fixtures/mkrootfs-busybox.sh "$rootfs"

# shellcheck disable=SC2016
cmd='echo "hello from rless"; id; hostname; cat /proc/self/uid_map'
echo "+ build/rless run --rm --rootfs $rootfs sh -c '$cmd'"
exec build/rless run --rm --rootfs "$rootfs" sh -c "$cmd" </dev/null
