# t_image.sh — `rless run IMAGE` and `rless pull` against the local test registries that
# tests/registry/fixtures.sh starts (run.sh exports RLESS_REG, RLESS_REG_BASIC, RLESS_REG_TOKEN,
# RLESS_REG_USER, RLESS_REG_PASS and RLESS_REGISTRIES_CONF). Each test keeps its images in its
# own store (--root $T/store) unless it says otherwise, so "from an empty store" is literal.
# shellcheck shell=bash disable=SC2016,SC2034

require_registry() {
	[[ -n ${RLESS_REG:-} ]] || skip "no test registry (tests/registry/fixtures.sh up failed)"
	STORE=$T/store
}

# irun ARG...: `rless --root $STORE run --rm ARG...`
irun() {
	run_rless --root "$STORE" run --rm "$@"
}

irun_ok() {
	irun "$@"
	[[ $RC -eq 0 ]] || { show_run >&2; fail "expected exit status 0"; }
}

# no_canary: none of the files a hostile layer tries to create outside the store exists.
no_canary() {
	local f
	for f in /tmp/rless-canary /tmp/rless-canary-escape /tmp/rless-canary-abs /tmp/rless-canary-rel \
		"$T/rless-canary"; do
		[[ ! -e $f ]] || fail "hostile layer wrote $f"
	done
}

test_image_run_from_empty_store() {
	require_registry
	irun_ok "$RLESS_REG/rless-test/busybox" echo hi
	assert_eq "hi" "$OUT" "output"
	assert_contains "$ERR" "Unable to find image '$RLESS_REG/rless-test/busybox' locally"
	assert_contains "$ERR" "$RLESS_REG/rless-test/busybox:latest" "the resolved name is printed"
	irun_ok "$RLESS_REG/rless-test/busybox:latest" echo again
	assert_eq "again" "$OUT"
	assert_not_contains "$ERR" "Unable to find image" "second run pulls again"
}

test_image_short_name_resolves_through_config() {
	require_registry
	irun_ok alpine sh -c 'echo ok'
	assert_eq "ok" "$OUT"
	assert_contains "$ERR" "$RLESS_REG/alpine:latest" "resolved name"
	# Found locally by its short name the second time.
	irun_ok --pull=never alpine true
}

test_image_default_cmd_and_entrypoint() {
	require_registry
	irun_ok "$RLESS_REG/rless-test/busybox:entry"
	assert_eq "entry default" "$OUT" "Entrypoint + Cmd"
	irun_ok "$RLESS_REG/rless-test/busybox:entry" one two
	assert_eq "entry one two" "$OUT" "arguments replace Cmd"
	irun_ok --entrypoint /bin/echo "$RLESS_REG/rless-test/busybox:entry" other
	assert_eq "other" "$OUT" "--entrypoint replaces Entrypoint and drops Cmd"
	irun_ok --entrypoint "" "$RLESS_REG/rless-test/busybox:entry" echo cleared
	assert_eq "cleared" "$OUT" "--entrypoint '' clears it"
	# The plain image's Cmd is sh: with stdin at EOF it exits 0.
	irun_ok "$RLESS_REG/rless-test/busybox"
}

test_image_env_workdir_user_from_config() {
	require_registry
	irun_ok "$RLESS_REG/rless-test/busybox:env" sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g)"'
	assert_eq "from-image /srv 1000:1000" "$OUT" "image Env, WorkingDir, User"
	irun_ok -e FOO=from-cli -w /tmp -u 0:0 "$RLESS_REG/rless-test/busybox:env" \
		sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g)"'
	assert_eq "from-cli /tmp 0:0" "$OUT" "options override the image"
	irun_ok "$RLESS_REG/rless-test/busybox:env" sh -c 'echo $PATH'
	assert_contains "$OUT" "/bin" "image PATH"
}

# layered_checks: the overlay semantics the layered image must show (tests/registry/README.md).
layered_checks() {
	local img=$RLESS_REG/rless-test/layered
	irun_ok "$@" "$img" sh -c '
		[ ! -e /data/b ] || echo "whiteout: /data/b exists"
		[ "$(ls -A /opaque)" = y2 ] || echo "opaque: /opaque has $(ls -A /opaque | tr "\n" " ")"
		[ "$(stat -c %i /data/a)" = "$(stat -c %i /data/hl)" ] || echo "hard link: different inodes"
		[ "$(readlink /data/sl)" = a ] || echo "symlink: $(readlink /data/sl)"
		[ "$(readlink /data/abs)" = /etc/passwd ] || echo "absolute symlink: $(readlink /data/abs)"
		[ "$(stat -c %u:%g:%a /data/owned)" = 1000:1000:640 ] || echo "owned: $(stat -c %u:%g:%a /data/owned)"
		[ "$(stat -c %a /data/setgid)" = 2775 ] || echo "setgid dir: $(stat -c %a /data/setgid)"
		[ -f /keep/file ] || echo "keep: /keep/file missing"
		[ -f /data/a ] || echo "/data/a missing"
		echo done'
	assert_eq "done" "$OUT" "layered image content with $*"
	# The container writes into its upper layer only: another container sees the image.
	irun_ok "$@" "$img" sh -c 'rm /data/a && echo new >/opaque/y2 && echo changed'
	irun_ok "$@" "$img" sh -c 'cat /data/a >/dev/null && cat /opaque/y2'
	assert_not_contains "$OUT" "new" "upper layer leaked into the image"
}

test_image_layered_kernel_overlay() {
	require_registry
	layered_checks --pull=missing
}

test_image_layered_fuse_overlayfs() {
	require_registry
	require_cmd fuse-overlayfs fuse-overlayfs
	[[ -c /dev/fuse ]] || skip "/dev/fuse missing"
	STORE=$T/store-fuse
	local img=$RLESS_REG/rless-test/layered
	run_rless --root "$STORE" --storage-driver fuse-overlayfs run --rm "$img" sh -c '
		[ ! -e /data/b ] && [ "$(ls -A /opaque)" = y2 ] &&
		[ "$(stat -c %i /data/a)" = "$(stat -c %i /data/hl)" ] &&
		[ "$(stat -c %u:%g:%a /data/owned)" = 1000:1000:640 ] && [ -f /keep/file ] && echo done'
	assert_rc 0
	assert_eq "done" "$OUT" "layered image content with fuse-overlayfs"
	# Whiteouts stay files of the fuse format in the store, never device nodes.
	[[ -z $(find "$STORE/layers" -type c 2>/dev/null) ]] || fail "device nodes in the fuse layers"
	[[ -n $(find "$STORE/layers/fuse" -name '.wh.b' 2>/dev/null) ]] || fail "no .wh.b whiteout file"
}

test_image_debian_tools_and_shadow_group() {
	require_registry
	irun_ok "$RLESS_REG/rless-test/debian:bookworm" sh -c 'apt-get --version | head -n1; id -u; stat -c %g /etc/shadow'
	assert_match "$OUT" $'^apt [0-9.]+ \\(amd64\\)\n0\n42$' "apt-get, id, /etc/shadow's group"
	irun_ok "$RLESS_REG/rless-test/debian:bookworm" ls -ln /etc/shadow
	assert_match "$OUT" '^-rw-r----- 1 0 42 ' "ls -ln /etc/shadow"
}

test_image_multiarch_picks_this_platform() {
	require_registry
	irun_ok "$RLESS_REG/rless-test/multiarch" cat /platform
	assert_eq "amd64" "$OUT"
	run_rless --root "$T/store-arm" pull --platform linux/arm64 "$RLESS_REG/rless-test/multiarch"
	assert_rc 0
	assert_match "$OUT" '^sha256:[0-9a-f]{64}$' "pull prints the image id"
	[[ $(cat "$T"/store-arm/layers/overlay/*/platform 2>/dev/null) == arm64 ]] ||
		fail "the arm64 layer was not the one unpacked"
	run_rless --root "$T/store-arm" pull --platform linux/s390x "$RLESS_REG/rless-test/multiarch"
	assert_rc 125
	assert_contains "$ERR" "linux/amd64" "the error lists the platforms there are"
}

test_image_zstd_layers() {
	require_registry
	irun_ok "$RLESS_REG/rless-test/zstd" cat /zstd-ok
	[[ -n $OUT ]] || fail "/zstd-ok is empty"
}

test_image_sixty_layers() {
	require_registry
	irun_ok "$RLESS_REG/rless-test/many" sh -c 'cat /layers/1; ls /layers | wc -l'
	assert_eq $'top\n59' "$OUT" "60-layer image"
}

test_image_corrupt_blob_refused_nothing_stored() {
	require_registry
	run_rless --root "$STORE" pull "$RLESS_REG/rless-test/corrupt"
	assert_rc 125
	assert_match "$ERR" 'sha256:[0-9a-f]{64}' "the error names the digest"
	assert_contains "$ERR" "sha256" "digest mismatch"
	local d
	for d in $(grep -o 'sha256:[0-9a-f]\{64\}' <<<"$ERR" | sort -u); do
		[[ ! -e $STORE/blobs/sha256/${d#sha256:} ]] || fail "the corrupt blob $d was stored"
		[[ ! -e $STORE/layers/overlay/${d#sha256:} ]] || fail "the corrupt layer $d was unpacked"
	done
	[[ ! -e $STORE/images.json ]] || ! grep -q corrupt "$STORE/images.json" ||
		fail "the corrupt image was recorded"
}

test_image_pull_killed_then_completes() {
	require_registry
	local i pid delays=(0.05 0.2 0.4 0.8 1.5)
	for i in "${delays[@]}"; do
		"$RLESS" --root "$STORE" pull -q "$RLESS_REG/rless-test/debian:bookworm" >/dev/null 2>&1 &
		pid=$!
		sleep "$i"
		kill -9 "$pid" 2>/dev/null || true
		# The unpacker in the user namespace dies with its parent's pipe.
		wait "$pid" 2>/dev/null || true
	done
	run_rless --root "$STORE" pull "$RLESS_REG/rless-test/debian:bookworm"
	assert_rc 0
	irun_ok --pull=never "$RLESS_REG/rless-test/debian:bookworm" sh -c 'dpkg -s bash >/dev/null && echo intact'
	assert_eq "intact" "$OUT"
	# Everything that is in blobs/ has the digest it is named after.
	local f
	for f in "$STORE"/blobs/sha256/*; do
		[[ $(sha256sum <"$f" | cut -d' ' -f1) == "${f##*/}" ]] || fail "blob ${f##*/} does not verify"
	done
}

test_image_concurrent_pulls() {
	require_registry
	local i pids=() rc=0
	for i in 1 2 3 4; do
		"$RLESS" --root "$STORE" pull -q "$RLESS_REG/rless-test/layered" >"$T/p$i.out" 2>"$T/p$i.err" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || rc=$?
	done
	[[ $rc -eq 0 ]] || { cat "$T"/p*.err >&2; fail "a concurrent pull failed"; }
	[[ $(sort -u "$T"/p*.out | wc -l) -eq 1 ]] || fail "concurrent pulls report different ids"
	layered_checks --pull=never
}

test_image_hostile_layers_refused() {
	require_registry
	local name
	for name in dotdot abs-symlink-write symlink-parent symlink-dotdot hardlink-out hardlink-abs \
		replace-dir-symlink; do
		irun "$RLESS_REG/rless-test/hostile-$name:latest" true
		[[ $RC -eq 125 ]] || { show_run >&2; fail "hostile-$name: expected 125, got $RC"; }
		assert_contains "$ERR" "layer" "hostile-$name error"
		no_canary
	done
}

# An absolute name is taken relative to the layer root: it lands inside the image.
test_image_absolute_name_lands_inside() {
	require_registry
	irun_ok "$RLESS_REG/rless-test/hostile-abs:latest" cat /tmp/rless-canary-abs
	assert_eq "inside" "$OUT"
	no_canary
}

test_image_device_nodes_skipped_with_notice() {
	require_registry
	irun_ok "$RLESS_REG/rless-test/hostile-dev:latest" sh -c '[ ! -e /dev-null ] && echo skipped; [ -p /fifo ] && echo fifo'
	assert_eq $'skipped\nfifo' "$OUT" "the device node skipped, the fifo kept"
	assert_contains "$ERR" "device" "a notice about skipped device nodes"
}

test_image_auth_basic_and_token() {
	require_registry
	export REGISTRY_AUTH_FILE=$T/auth.json
	local reg
	for reg in "$RLESS_REG_BASIC" "$RLESS_REG_TOKEN"; do
		run_rless --root "$STORE" pull "$reg/rless-test/busybox"
		assert_rc 125
		assert_contains "$ERR" "$reg" "anonymous pull error names the registry"
		run_rless login -u "$RLESS_REG_USER" -p wrong "$reg"
		assert_rc 125
		assert_contains "$ERR" "$reg"
		run_rless login -u "$RLESS_REG_USER" -p "$RLESS_REG_PASS" "$reg"
		assert_rc 0
		irun_ok "$reg/rless-test/busybox" echo authed
		assert_eq "authed" "$OUT"
	done
}

test_image_malformed_references() {
	require_registry
	local ref
	for ref in 'Upper/case' 'a//b' 'name:' 'name@sha256:123' ':tag'; do
		irun "$ref" true
		assert_rc 125
		assert_contains "$ERR" "$ref" "the error quotes the reference"
	done
}

test_image_missing_image_and_pull_never() {
	require_registry
	irun "$RLESS_REG/rless-test/does-not-exist" true
	assert_rc 125
	assert_contains "$ERR" "does-not-exist"
	irun --pull=never "$RLESS_REG/rless-test/busybox" true
	assert_rc 125
	assert_contains "$ERR" "rless pull"
}

test_image_container_dirs() {
	require_registry
	irun_ok "$RLESS_REG/rless-test/busybox" sh -c 'echo x >/file-in-upper; chown 1:1 /file-in-upper'
	[[ -z $(ls -A "$STORE/containers") ]] || fail "--rm left $(ls "$STORE/containers")"
	run_rless --root "$STORE" run "$RLESS_REG/rless-test/busybox" true
	assert_rc 0
	local dirs
	dirs=$(ls "$STORE/containers")
	[[ $(wc -w <<<"$dirs") -eq 1 ]] || fail "expected one kept container, got: $dirs"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["image"].startswith("sha256:") and d["layers"]' \
		"$STORE/containers/$dirs/container.json" || fail "container.json is incomplete"
}

test_image_exit_codes() {
	require_registry
	irun "$RLESS_REG/rless-test/busybox" sh -c 'exit 3'
	assert_rc 3
	irun "$RLESS_REG/rless-test/busybox" /nonexistent
	assert_rc 127
	irun "$RLESS_REG/rless-test/busybox" /etc/passwd
	assert_rc 126
}

# The container's own /etc files: bound over the image's, never written into it.
test_image_etc_files_are_the_containers() {
	require_registry
	irun_ok -h box1 --add-host db:10.1.2.3 --dns 192.0.2.53 --dns-search example.org \
		"$RLESS_REG/rless-test/busybox" sh -c 'cat /etc/hostname; grep -c "box1\|10.1.2.3.*db\|localhost" /etc/hosts; cat /etc/resolv.conf'
	assert_eq $'box1\n4\nnameserver 192.0.2.53\nsearch example.org' "$OUT"
	irun_ok "$RLESS_REG/rless-test/busybox" cat /etc/resolv.conf
	assert_eq "$(cat /etc/resolv.conf)" "$OUT" "the host's resolv.conf by default"
	irun --add-host nocolon "$RLESS_REG/rless-test/busybox" true
	assert_rc 125
	assert_contains "$ERR" "invalid --add-host"
	irun --dns not-an-ip "$RLESS_REG/rless-test/busybox" true
	assert_rc 125
	# A commit does not take them.
	run_rless --root "$STORE" run --name e1 -h box2 "$RLESS_REG/rless-test/busybox" true
	assert_rc 0
	run_rless --root "$STORE" diff e1
	assert_not_contains "$OUT" "/etc/hostname"
	assert_not_contains "$OUT" "/etc/hosts"
}
