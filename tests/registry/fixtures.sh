#!/bin/bash
# fixtures.sh up DIR | down DIR | verify DIR — the registries and images of rless' image tests.
#
#   up DIR      (as root) start three docker-registry instances on 127.0.0.1 (anonymous; Basic
#               auth; Bearer tokens from token_server.py), build the test images of README.md
#               (cached in $RLESS_IMAGE_CACHE, default DIR/cache, keyed by the sha256 of the
#               scripts that build them), push them with skopeo, corrupt rless-test/corrupt's
#               layer blob, and write DIR/env (shell-sourceable), DIR/registries.json and
#               DIR/images.txt. DIR is left readable by everyone (the tests run unprivileged).
#   down DIR    stop everything up started.
#   verify DIR  check what up made: skopeo inspect and a round trip of every image, the auth
#               of the Basic and Bearer registries, the corrupt blob; prints a summary line.
#
# Nothing reaches the network but Debian's archive (apt-get for missing packages, mmdebstrap).
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fixtures=$(cd "$here/../fixtures" && pwd)
USER_NAME=rlessuser
USER_PASS=rlesspass
REGS=(anon basic token)

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
log() { echo "fixtures.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# ensure_tools: install what is missing (as root), or say what to install.
ensure_tools() {
	local -A pkg=([docker-registry]=docker-registry [skopeo]=skopeo [htpasswd]=apache2-utils
		[mmdebstrap]=mmdebstrap [zstd]=zstd [python3]=python3 [openssl]=openssl [curl]=curl)
	local missing=() t
	for t in "${!pkg[@]}"; do
		command -v "$t" >/dev/null || missing+=("${pkg[$t]}")
	done
	[[ -x /bin/busybox ]] || missing+=(busybox-static)
	[[ ${#missing[@]} -gt 0 ]] || return 0
	[[ $(id -u) -eq 0 ]] || die "missing packages: ${missing[*]} (as root: apt-get install ${missing[*]})"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${missing[@]}" >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q "${missing[@]}" >&2; }
}

# cache_key FILE...: sha256 over the files' sha256s.
cache_key() { sha256sum "$@" | cut -d' ' -f1 | sha256sum | cut -c1-16; }

# cached NAME KEY BUILDER...: print the cache dir NAME-KEY, running BUILDER... DIR to make it
# first when missing. Older NAME-* entries are removed.
cached() {
	local name=$1 key=$2 dst tmp old
	shift 2
	dst=$cache/$name-$key
	if [[ ! -f $dst/.complete ]]; then
		tmp=$(mktemp -d "$cache/.$name-XXXXXX")
		# cached runs in a process of its own ($(...) or _cached): the trap is its alone.
		cached_tmp=$tmp
		trap 'rm -rf "$cached_tmp" "$cached_tmp.log"' EXIT
		"$@" "$tmp" >"$tmp.log" 2>&1 || { cat "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"; return 1; }
		rm -f "$tmp.log"
		touch "$tmp/.complete"
		# Another `up` sharing the cache may have finished first: keep its copy.
		mv -T "$tmp" "$dst" 2>/dev/null || rm -rf "$tmp"
	fi
	for old in "$cache/$name"-*; do
		[[ $old == "$dst" || ! -d $old ]] || rm -rf "$old"
	done
	echo "$dst"
}

# push LAYOUT TAG DEST TARGETS: skopeo copy to each target registry; logs to DIR/logs.
push() {
	local layout=$1 tag=$2 dest=$3 targets=$4 t port args
	for t in ${targets//,/ }; do
		port=$(cat "$dir/$t/port")
		args=(--insecure-policy copy --all --preserve-digests --retry-times 2 --dest-tls-verify=false)
		[[ $t == anon ]] || args+=(--dest-creds "$USER_NAME:$USER_PASS")
		skopeo "${args[@]}" "oci:$layout:$tag" "docker://127.0.0.1:$port/$dest" \
			>>"$dir/logs/push-${dest//[\/:]/_}.log" 2>&1 ||
			{ log "push $dest to $t failed:"; cat "$dir/logs/push-${dest//[\/:]/_}.log" >&2; return 1; }
	done
}

# push_list ROOT LIST: the pushes of LIST (LAYOUT TAG DEST TARGETS lines), three at a time.
push_list() {
	local root=$1 list=$2 layout tag dest targets rc=0 done_pid
	local -A pids=()
	while read -r layout tag dest targets; do
		[[ -n $layout ]] || continue
		echo "$targets $dest $(manifest_digest "$root/$layout" "$tag")" >>"$dir/images.txt"
		push "$root/$layout" "$tag" "$dest" "$targets" &
		pids[$!]=1
		if [[ ${#pids[@]} -ge 3 ]]; then
			wait -n -p done_pid "${!pids[@]}" || rc=1
			unset "pids[$done_pid]"
		fi
	done <"$list"
	while [[ ${#pids[@]} -gt 0 ]]; do
		wait -n -p done_pid "${!pids[@]}" || rc=1
		unset "pids[$done_pid]"
	done
	return $rc
}

# manifest_digest LAYOUT TAG: the digest index.json gives TAG.
manifest_digest() {
	python3 -c 'import json, sys
for m in json.load(open(sys.argv[1] + "/index.json"))["manifests"]:
    if m["annotations"]["org.opencontainers.image.ref.name"] == sys.argv[2]:
        print(m["digest"])' "$1" "$2"
}

# corrupt SYNTH: replace rless-test/corrupt's layer blob in the anonymous registry's storage by
# the same number of other bytes, and check that the registry now serves them.
corrupt() {
	local synth=$1 digest hex data port got
	digest=$(cat "$synth/corrupt.digest")
	hex=${digest#sha256:}
	data=$dir/anon/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
	[[ -f $data ]] || die "corrupt: $data missing after the push"
	[[ $(stat -c %s "$data") == $(stat -c %s "$synth/corrupt.bad") ]] || die "corrupt: sizes differ"
	cp "$synth/corrupt.bad" "$data"
	port=$(cat "$dir/anon/port")
	got=$(curl -fsS "http://127.0.0.1:$port/v2/rless-test/corrupt/blobs/$digest" | sha256sum | cut -d' ' -f1)
	[[ $got == $(sha256sum <"$synth/corrupt.bad" | cut -d' ' -f1) && $got != "$hex" ]] ||
		die "corrupt: the registry does not serve the replaced blob (got sha256:$got)"
	echo "$digest"
}

write_env() {
	local anon basic token tport corrupt_digest=$1
	anon=127.0.0.1:$(cat "$dir/anon/port")
	basic=127.0.0.1:$(cat "$dir/basic/port")
	token=127.0.0.1:$(cat "$dir/token/port")
	tport=$(cat "$dir/token/token.port")
	cat >"$dir/registries.json" <<-EOF
		{"unqualified-search-registries": ["$anon"],
		 "registries": [{"prefix": "$anon", "insecure": true},
		                {"prefix": "$basic", "insecure": true},
		                {"prefix": "$token", "insecure": true}]}
	EOF
	{
		printf '%s=%q\n' RLESS_REG "$anon" RLESS_REG_BASIC "$basic" RLESS_REG_TOKEN "$token" \
			RLESS_REG_USER "$USER_NAME" RLESS_REG_PASS "$USER_PASS" \
			RLESS_REGISTRIES_CONF "$dir/registries.json" \
			RLESS_REG_TOKEN_SERVER "127.0.0.1:$tport" RLESS_REG_STORAGE "$dir/anon/storage" \
			RLESS_REG_CORRUPT_DIGEST "$corrupt_digest" RLESS_REG_IMAGES "$dir/images.txt"
		# rless reads RLESS_REGISTRIES_CONF from its environment: `source env` must export.
		echo "export RLESS_REG RLESS_REG_BASIC RLESS_REG_TOKEN RLESS_REG_USER RLESS_REG_PASS" \
			"RLESS_REGISTRIES_CONF RLESS_REG_TOKEN_SERVER RLESS_REG_STORAGE" \
			"RLESS_REG_CORRUPT_DIGEST RLESS_REG_IMAGES"
	} >"$dir/env.tmp"
	mv "$dir/env.tmp" "$dir/env"
}

# up_cleanup: on a failed or interrupted `up`, stop the Debian build and the registries.
up_cleanup() {
	set +e
	[[ -z $up_ok ]] || return 0
	if [[ -n $debpid ]] && kill -- "-$debpid" 2>/dev/null; then
		# mmdebstrap ends its current step first (seconds); leave nothing of it running.
		for _ in $(seq 1200); do
			kill -0 -- "-$debpid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	cmd_down
}

cmd_up() {
	local t0=$SECONDS synth deb corrupt_digest
	debpid='' up_ok=''
	ensure_tools
	[[ $(id -u) -eq 0 ]] || die "up must run as root (mmdebstrap, and the registry storage)"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	cmd_down 2>/dev/null || true
	cache=${RLESS_IMAGE_CACHE:-$dir/cache}
	mkdir -p "$cache" "$dir/logs"
	cache=$(cd "$cache" && pwd)
	# Fresh registries: what an earlier run or test left in their storage would persist.
	rm -rf "$dir/anon" "$dir/basic" "$dir/token" "$dir/images.txt" "$dir/env" "$dir"/logs/push-*.log
	# Stop whatever was started if anything below fails.
	trap up_cleanup EXIT

	# Debian takes longest (mmdebstrap): build it while the rest happens.
	# In a session of its own, so that a failure can stop it (mmdebstrap included) as a group.
	setsid bash "${BASH_SOURCE[0]}" _cached "$cache" debian \
		"$(cache_key "$fixtures/mkimage-debian.sh" "$fixtures/mkoci.py")" \
		bash "$fixtures/mkimage-debian.sh" >"$dir/logs/debian.dir" 2>"$dir/logs/debian.log" &
	debpid=$!
	synth=$(cached synthetic "$(cache_key "$fixtures/mkimages.py" "$fixtures/mkoci.py" \
		"$fixtures/mkrootfs-busybox.sh" /bin/busybox)" python3 "$fixtures/mkimages.py")
	log "synthetic images ready at $((SECONDS - t0))s ($synth)"

	htpasswd -Bbn "$USER_NAME" "$USER_PASS" >"$dir/htpasswd"
	bash "$here/start.sh" "$dir/anon" >/dev/null
	bash "$here/start.sh" "$dir/basic" --htpasswd "$dir/htpasswd" >/dev/null
	bash "$here/start.sh" "$dir/token" --token-server "$USER_NAME:$USER_PASS" >/dev/null
	log "registries up at $((SECONDS - t0))s"

	push_list "$synth" "$synth/push.list"
	corrupt_digest=$(corrupt "$synth")
	log "synthetic images pushed at $((SECONDS - t0))s"
	wait "$debpid" || { cat "$dir/logs/debian.log" >&2; die "building rless-test/debian failed"; }
	debpid=
	deb=$(cat "$dir/logs/debian.dir")
	echo ". bookworm rless-test/debian:bookworm anon" >"$dir/logs/debian.list"
	push_list "$deb" "$dir/logs/debian.list"
	log "debian pushed at $((SECONDS - t0))s ($deb)"

	write_env "$corrupt_digest"
	chmod 0755 "$dir"
	chmod -R a+rX "$dir"
	chmod 0600 "$dir/token/token.key"
	up_ok=1
	if id rlesstest >/dev/null 2>&1 && ! runuser -u rlesstest -- test -r "$dir/env"; then
		log "warning: user rlesstest cannot read $dir/env (a parent directory is closed)"
	fi
	log "up in $((SECONDS - t0))s; $dir/env:"
	cat "$dir/env"
}

cmd_down() {
	local r
	for r in "${REGS[@]}"; do
		[[ ! -d $dir/$r ]] || bash "$here/stop.sh" "$dir/$r"
	done
}

cmd_verify() {
	# shellcheck disable=SC1091
	source "$dir/env"
	python3 "$here/verify_fixtures.py" "$dir"
}

if [[ ${1:-} == _cached && $# -ge 5 ]]; then
	cache=$2
	shift 2
	cached "$@"
	exit
fi
[[ $# -eq 2 ]] || usage
dir=$2
case $1 in
up) cmd_up ;;
down) cmd_down ;;
verify) cmd_verify ;;
*) usage ;;
esac
