#!/bin/bash
# push-image.sh HOST:PORT NAME:TAG [--creds USER:PASS] [--random BYTES] [--layout DIR]
#
# Build a one-layer OCI image by hand and push it with skopeo to the plain-http test registry.
# The layer is a busybox rootfs (tests/fixtures/mkrootfs-busybox.sh) or, with --random, a single
# file of BYTES random bytes (a layer no other image shares, e.g. for tampering tests). The OCI
# layout is left in --layout DIR (default: a temp dir that is removed). Prints the manifest
# digest. Needs skopeo (apt-get install skopeo), gzip, sha256sum, python3.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -ge 2 ]] || { sed -n '2p' "${BASH_SOURCE[0]}" | sed 's/^# /usage: /' >&2; exit 2; }
dest=$1 ref=$2
shift 2
creds='' random='' layout=''
while [[ $# -gt 0 ]]; do
	case $1 in
	--creds) creds=$2; shift 2 ;;
	--random) random=$2; shift 2 ;;
	--layout) layout=$2; shift 2 ;;
	*) echo "push-image.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
command -v skopeo >/dev/null || { echo "push-image.sh: skopeo not installed (apt-get install skopeo)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
layout=${layout:-$work/layout}
rm -rf "$layout"
mkdir -p "$layout/blobs/sha256" "$work/rootfs"

if [[ -n $random ]]; then
	head -c "$random" /dev/urandom >"$work/rootfs/random.bin"
else
	bash "$here/../fixtures/mkrootfs-busybox.sh" "$work/rootfs" >&2
fi
# Reproducible tar: fixed order, times and owners.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" .
gzip -n -c "$work/layer.tar" >"$work/layer.tar.gz"

# put FILE: store FILE as a blob; prints "DIGEST SIZE"
put() {
	local hex size
	hex=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	cp "$1" "$layout/blobs/sha256/$hex"
	echo "sha256:$hex $size"
}

diff_id=sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
read -r layer_digest layer_size < <(put "$work/layer.tar.gz")
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
cat >"$work/config.json" <<EOF
{"architecture":"$arch","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["$diff_id"]},"history":[{"created_by":"rless tests/registry/push-image.sh"}]}
EOF
read -r config_digest config_size < <(put "$work/config.json")
cat >"$work/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config_digest","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$layer_digest","size":$layer_size}]}
EOF
read -r manifest_digest manifest_size < <(put "$work/manifest.json")
tag=${ref##*:}
cat >"$layout/index.json" <<EOF
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$manifest_digest","size":$manifest_size,"annotations":{"org.opencontainers.image.ref.name":"$tag"}}]}
EOF
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

args=(--insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false)
[[ -z $creds ]] || args+=(--dest-creds "$creds")
skopeo "${args[@]}" "oci:$layout:$tag" "docker://$dest/$ref" >&2
echo "$manifest_digest"
