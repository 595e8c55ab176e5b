#!/bin/bash
# contrib/demo.sh — `make demo`: a busybox image built locally (build/demo-rootfs imported as
# rless-demo/busybox) and one container run from it. As root (no subordinate ids) rless falls back to a single-id map.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

if [[ ! -x /bin/busybox ]] || ! command -v newuidmap >/dev/null || ! command -v newgidmap >/dev/null; then
	bash contrib/install-deps.sh busybox-static uidmap
fi
if [[ ! -x build/rless ]]; then
	make all
fi

# The default image: Debian's busybox-static as a one-layer image, made here with no network.
rootfs=build/demo-rootfs
tests/fixtures/mkrootfs-busybox.sh "$rootfs"
echo "+ tar -C $rootfs -c . | build/rless import --change 'CMD [\"sh\"]' - rless-demo/busybox"
tar --numeric-owner -C "$rootfs" -c . | build/rless import --change 'CMD ["sh"]' - rless-demo/busybox

# shellcheck disable=SC2016
cmd='echo "hello from rless"; id; hostname; cat /proc/self/uid_map'
echo "+ build/rless run --rm rless-demo/busybox sh -c '$cmd'"
exec build/rless run --rm rless-demo/busybox sh -c "$cmd" </dev/null
