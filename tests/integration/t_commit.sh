# t_commit.sh — rless commit, diff and export (in rless-image) on containers of the test registry's
# images (tests/registry/fixtures.sh; run.sh exports RLESS_REG), with both storage drivers. Each
# test has its own store (--root $T/store); containers are kept (no --rm) and found by name.
# shellcheck shell=bash disable=SC2016,SC2034

require_registry() {
	[[ -n ${RLESS_REG:-} ]] || skip "no test registry (tests/registry/fixtures.sh up failed)"
	require_subids
	require_cmd python3 python3
	STORE=$T/store
}

require_fuse() {
	require_cmd fuse-overlayfs fuse-overlayfs
	[[ -r /dev/fuse && -w /dev/fuse ]] || skip "/dev/fuse is not usable (run.sh makes it 0666 as root)"
}

# cr ARG...: `rless --root $STORE [--storage-driver $DRIVER] ARG...`; cr_ok requires status 0.
cr() {
	run_rless --root "$STORE" ${DRIVER:+--storage-driver "$DRIVER"} "$@"
}

cr_ok() {
	cr "$@"
	[[ $RC -eq 0 ]] || { show_run >&2; fail "expected exit status 0"; }
}

# image_field NAME EXPR: EXPR over r, the images.json record that has NAME (or that id).
image_field() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = [i for i in d["images"] if sys.argv[2] in i["names"] or i["id"] == sys.argv[2]]
if len(r) != 1:
    sys.exit("no single image named %s in %s" % (sys.argv[2], sys.argv[1]))
r = r[0]
print(eval(sys.argv[3]))' "$STORE/images.json" "$1" "$2"
}

# tar_owners TAR: "UID/GID NAME" per member, names without a trailing /.
tar_owners() {
	python3 -c '
import sys, tarfile
for m in tarfile.open(sys.argv[1]):
    print("%d/%d %s" % (m.uid, m.gid, m.name.rstrip("/")))' "$1"
}

# no_overlay_xattrs TAR: no pax header of any member names an overlay xattr.
no_overlay_xattrs() {
	python3 -c '
import sys, tarfile
bad = [(m.name, k) for m in tarfile.open(sys.argv[1]) for k in m.pax_headers if "overlay" in k]
sys.exit("overlay xattrs: %r" % bad if bad else 0)' "$1"
}

# What the container `changed` does to rless-test/layered (tests/registry/README.md): a new file
# and dirs, /etc/passwd modified, a file of the busybox layer and one of L2 deleted (/data/a,
# whose hard link /data/hl stays), /opaque re-made (its lower y2 hidden), owners set to
# subordinate ids on a new file and on a lower file (/data/c: a metadata copy-up).
CHANGES='echo new >/new && mkdir -p /newdir/sub && echo s >/newdir/sub/f &&
	echo "extra:x:3000:3000::/:/bin/sh" >>/etc/passwd &&
	rm /bin/vi /data/a && rm -rf /opaque && mkdir /opaque && echo z >/opaque/z &&
	echo o >/owned && chown 1000:2000 /owned && chown 1000:1000 /data/c'

EXPECTED_DIFF='C /bin
D /bin/vi
C /data
D /data/a
C /data/c
C /etc
C /etc/passwd
A /new
A /newdir
A /newdir/sub
A /newdir/sub/f
C /opaque
D /opaque/y2
A /opaque/z
A /owned'

# What a container of an image with those changes must show.
CHECKS='[ ! -e /bin/vi ] || echo "/bin/vi is back"
	[ -x /bin/sh ] || echo "/bin/sh is gone"
	[ ! -e /data/a ] || echo "/data/a is back"
	[ "$(cat /data/hl)" = a ] || echo "/data/hl lost its content"
	[ "$(ls -A /opaque)" = z ] || echo "/opaque has $(ls -A /opaque | tr "\n" " ")"
	[ "$(cat /new)" = new ] || echo "/new is missing"
	[ "$(cat /newdir/sub/f)" = s ] || echo "/newdir/sub/f is missing"
	grep -q "^extra:x:3000:" /etc/passwd || echo "/etc/passwd lost its new line"
	grep -q "^root:" /etc/passwd || echo "/etc/passwd lost root"
	[ "$(stat -c %u:%g /owned)" = 1000:2000 ] || echo "/owned is $(stat -c %u:%g /owned)"
	[ "$(stat -c %u:%g /data/c)" = 1000:1000 ] || echo "/data/c is $(stat -c %u:%g /data/c)"
	[ "$(stat -c %u:%g:%a /data/owned)" = 1000:1000:640 ] || echo "/data/owned changed"
	[ "$(cat /data/c)" = c2-modified ] || echo "/data/c has $(cat /data/c)"
	[ -f /keep/file ] || echo "/keep/file is gone"
	[ ! -e /data/b ] || echo "/data/b is back"
	ls -a / /data /opaque /newdir | grep "^\.wh\." && echo "a whiteout is visible"
	echo done'

# make_changed: a kept container named `changed` of rless-test/layered that made CHANGES.
make_changed() {
	cr_ok run --name changed "$RLESS_REG/rless-test/layered" sh -c "$CHANGES"
}

# commit_checks: commit `changed`, run the image, inspect its config and layer.
commit_checks() {
	cr_ok commit -m "made by t_commit" -a "Tester <t@example.com>" \
		-c 'CMD ["cat", "/new"]' -c 'LABEL org.test=yes other="two words"' changed committed:1
	assert_match "$OUT" '^sha256:[0-9a-f]{64}$' "commit prints the image id"
	local id=$OUT base layer
	assert_eq "$id" "$(image_field localhost/committed:1 'r["id"]')" "recorded as localhost/committed:1"
	cr_ok run --rm --pull=never committed:1
	assert_eq new "$OUT" "Cmd from --change"
	cr_ok run --rm --pull=never committed:1 sh -c "$CHECKS"
	assert_eq done "$OUT" "the committed image"
	# Base layers, then one more; config and history say what was asked.
	base=$(image_field "$RLESS_REG/rless-test/layered:latest" 'r["layers"]')
	assert_eq "$base" "$(image_field "$id" 'r["layers"][:-1]')" "the base image's layers first"
	assert_eq "{'org.test': 'yes', 'other': 'two words'}" "$(image_field "$id" 'r["config"]["Labels"]')"
	assert_eq "['cat', '/new']" "$(image_field "$id" 'r["config"]["Cmd"]')"
	local cfg=$STORE/blobs/sha256/${id#sha256:}
	assert_eq "made by t_commit|Tester <t@example.com>|5" "$(python3 -c '
import json, sys; d = json.load(open(sys.argv[1])); h = d["history"][-1]
print("%s|%s|%d" % (h["comment"], d["author"], len(d["rootfs"]["diff_ids"])))' "$cfg")" "config"
	layer=$(image_field "$id" 'r["layers"][-1]')
	[[ $(zcat "$STORE/blobs/sha256/${layer#sha256:}" | sha256sum | cut -d' ' -f1) == \
		"$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["rootfs"]["diff_ids"][-1][7:])' "$cfg")" ]] ||
		fail "the layer does not decompress to its diff_id"
	# The layer is OCI: whiteouts as .wh. names, owners as the container saw them, no
	# overlay bookkeeping.
	zcat "$STORE/blobs/sha256/${layer#sha256:}" | tar --numeric-owner -tvf - >"$T/layer.txt"
	local want
	for want in ' bin/.wh.vi$' ' data/.wh.a$' ' opaque/.wh..wh..opq$' ' 1000/2000 .* owned$' \
		' 1000/1000 .* data/c$' ' newdir/sub/f$' ' etc/passwd$'; do
		grep -Eq -- "$want" "$T/layer.txt" || { cat "$T/layer.txt" >&2; fail "no /$want/ in the layer"; }
	done
	local unchanged='etc/hosts|etc/resolv.conf|bin/sh|opaque/y2|keep/file'
	[[ ${DRIVER:-} == fuse-overlayfs ]] || unchanged+='|data/hl' # see the fuse diff test
	! grep -Eq " ($unchanged)\$" "$T/layer.txt" ||
		{ cat "$T/layer.txt" >&2; fail "the layer holds files the container did not change"; }
	zcat "$STORE/blobs/sha256/${layer#sha256:}" >"$T/layer.tar"
	no_overlay_xattrs "$T/layer.tar" || fail "overlay xattrs in the layer"
}

# export_checks: export `changed` and list it; import it back and run it.
export_checks() {
	"$RLESS" --root "$STORE" export changed </dev/null >"$T/fs.tar" 2>"$T/export.err" ||
		{ cat "$T/export.err" >&2; fail "export to stdout failed"; }
	tar_owners "$T/fs.tar" >"$T/fs.txt"
	local want
	for want in '0/0 new' '0/0 opaque/z' '1000/2000 owned' '1000/1000 data/c' '1000/1000 data/owned' \
		'0/0 bin/sh' '0/0 keep/file' '0/0 newdir/sub/f' '0/0 data/hl'; do
		grep -qx -- "$want" "$T/fs.txt" || { cat "$T/fs.txt" >&2; fail "no \`$want\` in the export"; }
	done
	if grep -E ' (bin/vi|data/a|data/b|opaque/y2|opaque/x|.*\.wh\..*)$' "$T/fs.txt" >&2; then
		fail "deleted files or whiteouts in the export"
	fi
	no_overlay_xattrs "$T/fs.tar" || fail "overlay xattrs in the export"
	# The same bytes with -o (written beside and renamed), and the tar is a root filesystem.
	cr_ok export -o "$T/fs-o.tar" changed
	cmp -s "$T/fs.tar" "$T/fs-o.tar" || fail "export -o differs from export to stdout"
	[[ -z $(find "$T" -maxdepth 1 -name '*.rless-tmp-*') ]] || fail "export -o left its temp file"
	cr_ok import "$T/fs.tar" reimported
	cr_ok run --rm --pull=never reimported sh -c "$CHECKS"
	assert_eq done "$OUT" "the exported file system, imported"
	[[ -z $(ls -A "$STORE/tmp") ]] || fail "tmp/ not cleaned: $(ls -A "$STORE/tmp")"
}

test_commit_diff_kernel_overlay() {
	require_registry
	make_changed
	cr_ok diff changed
	assert_eq "$EXPECTED_DIFF" "$OUT" "rless diff"
	# By id prefix too.
	local id
	id=$(ls "$STORE/containers")
	cr_ok diff "${id:0:12}"
	assert_eq "$EXPECTED_DIFF" "$OUT" "rless diff by id prefix"
	# A container that changed nothing.
	cr_ok run --name untouched "$RLESS_REG/rless-test/layered" true
	cr_ok diff untouched
	assert_eq "" "$OUT" "diff of a container that changed nothing"
}

test_commit_kernel_overlay() {
	require_registry
	make_changed
	commit_checks
	# The new layer was unpacked for this driver: the image ran without a pull.
	local layer
	layer=$(image_field localhost/committed:1 'r["layers"][-1]')
	[[ -d $STORE/layers/overlay/${layer#sha256:} ]] || fail "the new layer is not unpacked"
	# Its container can be committed again on top (two commits: two more layers).
	cr_ok run --name second --pull=never committed:1 sh -c 'echo 2 >/second'
	cr_ok commit second
	local id2=$OUT
	assert_eq 0 "$(image_field "$id2" 'len(r["names"])')" "no name: untagged"
	assert_eq 6 "$(image_field "$id2" 'len(r["layers"])')" "layers after two commits"
	cr_ok run --rm --pull=never "$id2" sh -c 'cat /second /new'
	assert_eq $'2\nnew' "$OUT"
}

test_commit_export_kernel_overlay() {
	require_registry
	make_changed
	export_checks
}

test_commit_diff_export_fuse_overlayfs() {
	require_registry
	require_fuse
	DRIVER=fuse-overlayfs
	make_changed
	# The other commands find the driver in the container's record.  Removing /data/a made
	# fuse-overlayfs copy up its other link, /data/hl, which the kernel overlay leaves below.
	DRIVER= cr_ok diff changed
	assert_eq "${EXPECTED_DIFF/$'C /data/c\n'/$'C /data/c\nC /data/hl\n'}" "$OUT" "rless diff with fuse-overlayfs"
	[[ -z $(find "$STORE/layers" -type c 2>/dev/null) ]] || fail "device nodes in the fuse layers"
	commit_checks
	local layer
	layer=$(image_field localhost/committed:1 'r["layers"][-1]')
	[[ -d $STORE/layers/fuse/${layer#sha256:} ]] || fail "the new layer is not unpacked for fuse"
	[[ -n $(find "$STORE/layers/fuse/${layer#sha256:}" -name '.wh.vi') ]] ||
		fail "the fuse layer has no .wh.vi whiteout file"
	export_checks
}

test_commit_skips_runtime_files_and_keeps_xattrs() {
	require_registry
	# /etc/hosts, /etc/resolv.conf and /etc/hostname are the container's own files bound over
	# the tree: what it writes there goes to them, never to its upper layer. A changed file
	# keeps its user xattr.
	cr_ok run --name rt -h rt-host "$RLESS_REG/rless-test/layered" sh -c \
		'echo 10.9.9.9 extra >>/etc/hosts; echo mine >/etc/hostname; echo more >>/data/xattr'
	cr_ok diff rt
	assert_eq $'C /data\nC /data/xattr' "$OUT" "diff without the runtime files"
	cr_ok commit rt rt:1
	cr_ok run --rm --pull=never -h next rt:1 sh -c 'cat /etc/hostname; grep -c extra /etc/hosts; tail -n1 /data/xattr'
	assert_eq $'next\n0\nmore' "$OUT" "the new container has its own /etc files"
	local layer
	layer=$(image_field localhost/rt:1 'r["layers"][-1]')
	zcat "$STORE/blobs/sha256/${layer#sha256:}" >"$T/rt.tar"
	tar -tf "$T/rt.tar" >"$T/rt.txt"
	! grep -Eq '^etc/(hosts|resolv.conf|hostname)$' "$T/rt.txt" || fail "runtime files in the layer"
	python3 -c '
import sys, tarfile
t = tarfile.open(sys.argv[1])
m = t.getmember("data/xattr")
sys.exit(0 if m.pax_headers.get("SCHILY.xattr.user.test") == "hello" else "xattrs: %r" % m.pax_headers)' \
		"$T/rt.tar" || fail "data/xattr lost user.test"
}

test_commit_errors() {
	require_registry
	cr commit nosuch
	assert_rc 1
	assert_contains "$ERR" "No such container: nosuch"
	cr diff nosuch
	assert_rc 1
	cr export -o "$T/x.tar" nosuch
	assert_rc 1
	[[ ! -e $T/x.tar ]] || fail "a failed export left $T/x.tar"
	make_changed
	cr commit -c 'EXPOSE 80' changed bad:1
	assert_rc 125
	assert_contains "$ERR" "EXPOSE"
	cr commit -c 'LABEL =x' changed bad:1
	assert_rc 125
	assert_contains "$ERR" "KEY=VALUE"
	cr commit changed 'Bad:Name'
	assert_rc 125
	assert_eq "['$RLESS_REG/rless-test/layered:latest']" \
		"$(python3 -c 'import json, sys; print([n for i in json.load(open(sys.argv[1]))["images"] for n in i["names"]])' "$STORE/images.json")" \
		"the images after refused commits"
	cr commit --pause=maybe changed
	assert_rc 125
	assert_contains "$ERR" "--pause"
	cr diff
	assert_rc 125
	assert_contains "$ERR" "one container"
}

test_commit_running_container() {
	require_registry
	local i running=false
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" --root "$STORE" run --name live "$RLESS_REG/rless-test/layered" \
		sh -c 'echo before >/before; exec sleep 60' </dev/null >"$T/live.out" 2>"$T/live.err" &
	local bg=$!
	for ((i = 0; i < 100; i++)); do
		cr diff live
		[[ $OUT == *"A /before"* ]] && break
		sleep 0.1
	done
	assert_contains "$OUT" "A /before" "diff of the running container"
	cr_ok ps
	grep -q 'Up .*live$' <<<"$OUT" && running=true
	cr_ok commit live live:1
	if $running; then
		assert_contains "$ERR" "is running" "the warning for a running container"
		cr_ok commit --pause=false live live:2
		assert_not_contains "$ERR" "is running" "--pause=false: no warning"
	fi
	cr_ok export -o "$T/live.tar" live
	tar -tf "$T/live.tar" | grep -qx before || fail "the export of the running container lacks /before"
	kill "$bg" 2>/dev/null || true # timeout passes SIGTERM on to rless, rless to pid 1
	wait "$bg" || true
	cr_ok run --rm --pull=never live:1 cat /before
	assert_eq before "$OUT" "the image of the running container"
	$running || skip "rless ps does not show the container running yet (container state tracking)"
}
