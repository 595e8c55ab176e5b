# t_archive.sh — rless import, save and load (run in rless-image) against archives rless writes,
# archives skopeo writes (docker-archive with legacy layer dirs, oci-archive), OCI layouts built
# by hand, and hostile archives. Each test has its own store (--root $T/store).
# shellcheck shell=bash disable=SC2016,SC2034

# ar ARG...: `rless --root $T/store ARG...`; ar_ok requires exit status 0.
ar() {
	STORE=$T/store
	run_rless --root "$STORE" "$@"
}

ar_ok() {
	ar "$@"
	[[ $RC -eq 0 ]] || { show_run >&2; fail "expected exit status 0"; }
}

# pyj FILE EXPR: print the python expression EXPR over d, the JSON document in FILE.
pyj() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

sha() {
	echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"
}

# rootfs_tar OUT: the shared busybox rootfs as a reproducible tar.
rootfs_tar() {
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$ROOTFS" -cf "$1" .
}

# image_field NAME EXPR: EXPR over r, the images.json record that has NAME.
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

# store_is_empty: no blob, no layer, no image, nothing left in tmp/.
store_is_empty() {
	local n
	n=$(find "$STORE/blobs" "$STORE/layers" "$STORE/tmp" -mindepth 1 ! -type d 2>/dev/null | wc -l)
	[[ $n -eq 0 ]] || { find "$STORE" >&2; fail "the store holds $n files after a refused archive"; }
	n=$(find "$STORE/layers" -mindepth 2 -maxdepth 2 2>/dev/null | wc -l)
	[[ $n -eq 0 ]] || fail "the store holds $n layer dirs"
	n=$(find "$STORE/tmp" -mindepth 1 2>/dev/null | wc -l)
	[[ $n -eq 0 ]] || fail "tmp/ holds $n entries"
	if [[ -f $STORE/images.json ]]; then
		assert_eq 0 "$(pyj "$STORE/images.json" 'len(d["images"])')" "images recorded"
	fi
}

# mk_layout DIR TAG [docker]: an OCI image layout with a one-layer busybox image built by hand
# (gzip layer, OCI manifest; with `docker`, a docker schema2 manifest). Prints the manifest digest.
mk_layout() {
	local dir=$1 tag=$2 kind=${3:-oci} diff layer ls cfg cs man ms mt ct lt arch
	mkdir -p "$dir/blobs/sha256"
	rootfs_tar "$T/layout-layer.tar"
	gzip -n -c "$T/layout-layer.tar" >"$T/layout-layer.tar.gz"
	diff=$(sha "$T/layout-layer.tar")
	layer=$(sha "$T/layout-layer.tar.gz")
	ls=$(stat -c %s "$T/layout-layer.tar.gz")
	cp "$T/layout-layer.tar.gz" "$dir/blobs/sha256/${layer#sha256:}"
	arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
	printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/bin/echo","from-cmd"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
		"$arch" "$diff" >"$T/layout-config.json"
	cfg=$(sha "$T/layout-config.json")
	cs=$(stat -c %s "$T/layout-config.json")
	cp "$T/layout-config.json" "$dir/blobs/sha256/${cfg#sha256:}"
	mt=application/vnd.oci.image.manifest.v1+json
	ct=application/vnd.oci.image.config.v1+json
	lt=application/vnd.oci.image.layer.v1.tar+gzip
	if [[ $kind == docker ]]; then
		mt=application/vnd.docker.distribution.manifest.v2+json
		ct=application/vnd.docker.container.image.v1+json
		lt=application/vnd.docker.image.rootfs.diff.tar.gzip
	fi
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%s},"layers":[{"mediaType":"%s","digest":"%s","size":%s}]}' \
		"$mt" "$ct" "$cfg" "$cs" "$lt" "$layer" "$ls" >"$T/layout-manifest.json"
	man=$(sha "$T/layout-manifest.json")
	ms=$(stat -c %s "$T/layout-manifest.json")
	cp "$T/layout-manifest.json" "$dir/blobs/sha256/${man#sha256:}"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
		"$mt" "$man" "$ms" "$tag" >"$dir/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	echo "$man"
}

skopeo_copy() {
	require_cmd skopeo skopeo
	HOME=$T skopeo --insecure-policy copy --quiet "$@" || fail "skopeo copy $* failed"
}

# ---- import ----

test_archive_import_rootfs_and_run() {
	require_cmd python3 python3
	rootfs_tar "$T/rootfs.tar"
	ar_ok import "$T/rootfs.tar" imp:1
	assert_match "$OUT" '^sha256:[0-9a-f]{64}$' "import prints the image id"
	local id=$OUT layer hex
	assert_eq "$id" "$(image_field localhost/imp:1 'r["id"]')" "recorded under localhost/ (as rless tag)"
	assert_eq 1 "$(image_field "$id" 'len(r["layers"])')" "one layer"
	layer=$(image_field "$id" 'r["layers"][0]')
	hex=${layer#sha256:}
	# The uncompressed tarball was gzipped: the blob is gzip and decompresses to the tarball.
	[[ -f $STORE/blobs/sha256/$hex ]] || fail "no layer blob"
	assert_eq "$layer" "$(sha "$STORE/blobs/sha256/$hex")" "blob digest"
	assert_eq "$(sha "$T/rootfs.tar")" "sha256:$(zcat "$STORE/blobs/sha256/$hex" | sha256sum | cut -d' ' -f1)" \
		"the blob decompresses to the tarball"
	# The config is the id's blob and its diff_id is the tarball's digest.
	assert_eq "$id" "$(sha "$STORE/blobs/sha256/${id#sha256:}")" "config blob"
	assert_eq "$(sha "$T/rootfs.tar")" "$(pyj "$STORE/blobs/sha256/${id#sha256:}" 'd["rootfs"]["diff_ids"][0]')"
	assert_eq linux "$(pyj "$STORE/blobs/sha256/${id#sha256:}" 'd["os"]')"
	assert_eq "$(pyj "$STORE/blobs/sha256/${id#sha256:}" 'd["architecture"]')" \
		"$(dpkg --print-architecture 2>/dev/null || echo amd64)"
	local manifest
	manifest=$(image_field "$id" 'r["manifest"]')
	assert_eq "$manifest" "$(sha "$STORE/blobs/sha256/${manifest#sha256:}")" "manifest blob"
	assert_eq application/vnd.oci.image.layer.v1.tar+gzip \
		"$(pyj "$STORE/blobs/sha256/${manifest#sha256:}" 'd["layers"][0]["mediaType"]')"
	# Unpacked, owners kept: root in the tarball is the user on the host.
	local dir
	dir=$(echo "$STORE"/layers/*/"$hex")
	[[ -x $dir/bin/busybox && -L $dir/bin/sh ]] || fail "layer not unpacked at $dir"
	assert_eq "$(id -u)" "$(stat -c %u "$dir/bin/busybox")" "owner of bin/busybox"
	[[ -z $(ls -A "$STORE/tmp") ]] || fail "tmp/ not cleaned: $(ls -A "$STORE/tmp")"
	ar_ok run --rm localhost/imp:1 echo hi
	assert_eq hi "$OUT" "the imported image runs"
}

test_archive_import_compressions_and_stdin() {
	require_cmd python3 python3
	require_cmd zstd zstd
	require_cmd xz xz-utils
	rootfs_tar "$T/rootfs.tar"
	zstd -q -c "$T/rootfs.tar" >"$T/rootfs.tar.zst"
	xz -c "$T/rootfs.tar" >"$T/rootfs.tar.xz"
	# zstd is a layer compression: the blob is the file itself.
	ar_ok import "$T/rootfs.tar.zst" zst
	assert_eq "$(sha "$T/rootfs.tar.zst")" "$(image_field localhost/zst:latest 'r["layers"][0]')" "zstd kept"
	# xz is not: gzipped; read from stdin.
	STDIN_FILE=$T/rootfs.tar.xz ar_ok import - xz:2
	local layer
	layer=$(image_field localhost/xz:2 'r["layers"][0]')
	[[ $(head -c 2 "$STORE/blobs/sha256/${layer#sha256:}" | od -An -tx1 | tr -d ' ') == 1f8b ]] ||
		fail "the xz tarball was not stored as gzip"
	assert_eq "$(sha "$T/rootfs.tar")" "sha256:$(zcat "$STORE/blobs/sha256/${layer#sha256:}" | sha256sum | cut -d' ' -f1)"
	ar_ok run --rm localhost/xz:2 head -n1 /etc/passwd
	assert_eq "root:x:0:0:root:/root:/bin/sh" "$OUT"
	# Without a name: recorded unnamed (another message: not the same config as above, whose
	# created time may be the same second).
	ar_ok import -m unnamed "$T/rootfs.tar.zst"
	assert_eq 0 "$(image_field "$OUT" 'len(r["names"])')" "unnamed import"
}

test_archive_import_changes_and_message() {
	require_cmd python3 python3
	rootfs_tar "$T/rootfs.tar"
	ar_ok import --change 'CMD ["sh", "-c", "echo $GREETING from $(pwd) as $(id -u)"]' \
		-c ENV=GREETING=hello -c 'ENV OTHER two words' -c WORKDIR=/tmp -c 'USER 1000' \
		-m 'made by t_archive' "$T/rootfs.tar" chg
	local id=$OUT
	assert_eq "['GREETING=hello', 'OTHER=two words']" "$(image_field "$id" 'r["config"]["Env"]')"
	assert_eq /tmp "$(image_field "$id" 'r["config"]["WorkingDir"]')"
	assert_eq 1000 "$(image_field "$id" 'r["config"]["User"]')"
	assert_eq "made by t_archive" \
		"$(pyj "$STORE/blobs/sha256/${id#sha256:}" 'd["history"][0]["comment"]')"
	ar_ok run --rm localhost/chg
	assert_eq "hello from /tmp as 1000" "$OUT" "Cmd, Env, WorkingDir and User from --change"
	ar import -c 'EXPOSE 80' "$T/rootfs.tar" bad
	assert_rc 125
	assert_contains "$ERR" "unsupported --change instruction \`EXPOSE\`"
}

test_archive_import_refuses_non_layers() {
	require_cmd python3 python3
	echo "not a tarball" >"$T/junk"
	ar import "$T/junk" junk
	assert_rc 125
	assert_contains "$ERR" "Unrecognized archive format"
	store_is_empty
	python3 -c '
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    ti = tarfile.TarInfo("../escape"); ti.size = 3; t.addfile(ti, io.BytesIO(b"bad"))' "$T/evil.tar"
	ar import "$T/evil.tar" evil
	assert_rc 125
	assert_contains "$ERR" "\`..\` component"
	store_is_empty
	[[ ! -e $T/escape && ! -e $STORE/escape ]] || fail "the hostile entry was written"
	ar import "$T/missing.tar"
	assert_rc 125
	assert_contains "$ERR" "open the tarball"
}

# ---- save and load ----

test_archive_save_rmi_load_roundtrip() {
	require_cmd python3 python3
	rootfs_tar "$T/rootfs.tar"
	ar_ok import "$T/rootfs.tar" rt:1
	local id=$OUT before after
	before=$(image_field "$id" '(r["id"], r["manifest"], r["layers"], r["config"])')
	ar_ok save -o "$T/rt.tar" localhost/rt:1
	# docker 25+'s layout: blobs/sha256, index.json, manifest.json, oci-layout.
	tar -tf "$T/rt.tar" | sort >"$T/list"
	local f
	for f in manifest.json index.json oci-layout "blobs/sha256/${id#sha256:}"; do
		grep -qx "$f" "$T/list" || fail "no $f in the archive: $(cat "$T/list")"
	done
	tar -xOf "$T/rt.tar" manifest.json >"$T/manifest.json"
	assert_eq "['localhost/rt:1']" "$(pyj "$T/manifest.json" 'd[0]["RepoTags"]')"
	assert_eq "blobs/sha256/${id#sha256:}" "$(pyj "$T/manifest.json" 'd[0]["Config"]')"
	tar -xOf "$T/rt.tar" index.json >"$T/index.json"
	assert_eq localhost/rt:1 \
		"$(pyj "$T/index.json" 'd["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]')"
	# The same bytes on stdout, and by id prefix (with all its names).
	"$RLESS" --root "$STORE" save rt:1 </dev/null >"$T/stdout.tar" || fail "save to stdout failed"
	cmp -s "$T/rt.tar" "$T/stdout.tar" || fail "save to stdout differs from save -o"
	"$RLESS" --root "$STORE" save "${id:7:12}" </dev/null >"$T/by-id.tar" || fail "save by id failed"
	cmp -s "$T/rt.tar" "$T/by-id.tar" || fail "save by id differs from save by name"
	ar_ok rmi localhost/rt:1
	[[ ! -f $STORE/blobs/sha256/${id#sha256:} ]] || fail "rmi left the config blob"
	ar_ok load -i "$T/rt.tar"
	assert_eq "Loaded image: localhost/rt:1" "$OUT"
	after=$(image_field localhost/rt:1 '(r["id"], r["manifest"], r["layers"], r["config"])')
	assert_eq "$before" "$after" "the loaded image is the saved one"
	ar_ok run --rm localhost/rt:1 echo back
	assert_eq back "$OUT"
	# Loading it again changes nothing and says so again.
	STDIN_FILE=$T/rt.tar ar_ok load -q
	assert_eq "Loaded image: localhost/rt:1" "$OUT"
}

test_archive_save_readable_by_skopeo() {
	require_cmd python3 python3
	require_cmd skopeo skopeo
	rootfs_tar "$T/rootfs.tar"
	ar_ok import "$T/rootfs.tar" sk:1
	local id=$OUT
	ar_ok save -o "$T/d.tar" sk:1
	ar_ok save --format oci-archive -o "$T/o.tar" localhost/sk:1
	! tar -tf "$T/o.tar" | grep -qx manifest.json || fail "oci-archive has a manifest.json"
	HOME=$T skopeo inspect --config "docker-archive:$T/d.tar" >"$T/dcfg.json" ||
		fail "skopeo cannot read the docker-archive"
	assert_eq "$(sha "$T/rootfs.tar")" "$(pyj "$T/dcfg.json" 'd["rootfs"]["diff_ids"][0]')"
	HOME=$T skopeo inspect "oci-archive:$T/o.tar" >"$T/oinfo.json" || fail "skopeo cannot read the oci-archive"
	assert_eq "$(image_field "$id" 'r["manifest"]')" "$(pyj "$T/oinfo.json" 'd["Digest"]')"
	# skopeo copies it out (reading every blob) to a layout whose config is the image's.
	skopeo_copy "docker-archive:$T/d.tar" "oci:$T/out:x"
	[[ -f $T/out/blobs/sha256/${id#sha256:} ]] || fail "skopeo's copy lacks the config"
	ar save --format tar -o "$T/x.tar" sk:1
	assert_rc 125
	assert_contains "$ERR" "invalid --format \`tar\`"
	ar save -o "$T/x.tar" nosuchimage
	assert_rc 125
	assert_contains "$ERR" "image \`nosuchimage\` is not in the store"
	[[ ! -e $T/x.tar ]] || fail "a failed save left $T/x.tar"
}

test_archive_save_converts_docker_schema2() {
	require_cmd python3 python3
	# A layout whose manifest is docker schema2: stored as it is, saved as OCI.
	local man
	man=$(mk_layout "$T/layout" local/v2s2:1 docker)
	(cd "$T/layout" && tar -cf "$T/in.tar" .)
	ar_ok load -i "$T/in.tar"
	assert_eq "Loaded image: localhost/local/v2s2:1" "$OUT" "a short ref.name is a local name"
	assert_eq "$man" "$(image_field localhost/local/v2s2:1 'r["manifest"]')" "manifest kept"
	ar_ok save --format oci-archive -o "$T/o.tar" localhost/local/v2s2:1
	mkdir "$T/o" && tar -C "$T/o" -xf "$T/o.tar"
	local om
	om=$(pyj "$T/o/index.json" 'd["manifests"][0]["digest"]')
	[[ $om != "$man" ]] || fail "the schema2 manifest went into the OCI layout"
	assert_eq application/vnd.oci.image.layer.v1.tar+gzip \
		"$(pyj "$T/o/blobs/sha256/${om#sha256:}" 'd["layers"][0]["mediaType"]')"
	assert_eq application/vnd.oci.image.config.v1+json \
		"$(pyj "$T/o/blobs/sha256/${om#sha256:}" 'd["config"]["mediaType"]')"
	assert_eq "$(sha "$T/o/blobs/sha256/${om#sha256:}")" "$om" "manifest blob named by its digest"
	# Same config and layer blobs, byte for byte.
	local cfg
	cfg=$(image_field localhost/local/v2s2:1 'r["id"]')
	cmp -s "$T/o/blobs/sha256/${cfg#sha256:}" "$STORE/blobs/sha256/${cfg#sha256:}" || fail "config differs"
	ar_ok run --rm localhost/local/v2s2:1
	assert_eq from-cmd "$OUT"
	# A bare tag as ref.name (skopeo's oci:DIR:latest) names no repository: unnamed.
	mk_layout "$T/layout2" latest >/dev/null
	(cd "$T/layout2" && tar -cf "$T/in2.tar" .)
	ar_ok load -i "$T/in2.tar"
	assert_match "$OUT" '^Loaded image ID: sha256:[0-9a-f]{64}$'
}

test_archive_load_skopeo_docker_archive() {
	require_cmd python3 python3
	mk_layout "$T/layout" latest >/dev/null
	skopeo_copy "oci:$T/layout:latest" "docker-archive:$T/sd.tar:example.com/t/bb:v1"
	# skopeo's docker-archive: <hex>.tar layers, <hex>.json config, legacy <id>/layer.tar links.
	tar -tf "$T/sd.tar" | grep -q '/layer.tar$' || fail "expected skopeo's legacy layer links"
	STDIN_FILE=$T/sd.tar ar_ok load
	assert_eq "Loaded image: example.com/t/bb:v1" "$OUT"
	# Its layers are uncompressed tars: the layer digest is the diff_id.
	local layer
	layer=$(image_field example.com/t/bb:v1 'r["layers"][0]')
	assert_eq "$(sha "$T/layout-layer.tar")" "$layer" "uncompressed layer kept"
	ar_ok run --rm example.com/t/bb:v1 echo from-docker-archive
	assert_eq from-docker-archive "$OUT"
	# A compressed archive is read too.
	gzip -c "$T/sd.tar" >"$T/sd.tar.gz"
	ar_ok load -i "$T/sd.tar.gz"
	assert_eq "Loaded image: example.com/t/bb:v1" "$OUT"
}

test_archive_load_skopeo_oci_archive() {
	require_cmd python3 python3
	local man
	man=$(mk_layout "$T/layout" latest)
	skopeo_copy --preserve-digests "oci:$T/layout:latest" "oci-archive:$T/so.tar:example.com/t/bb:v2"
	ar_ok load -i "$T/so.tar"
	assert_eq "Loaded image: example.com/t/bb:v2" "$OUT"
	assert_eq "$man" "$(image_field example.com/t/bb:v2 'r["manifest"]')" "manifest digest"
	ar_ok run --rm example.com/t/bb:v2 echo from-oci-archive
	assert_eq from-oci-archive "$OUT"
	# Without a reference the image has no name: its id is printed.
	skopeo_copy --preserve-digests "oci:$T/layout:latest" "oci-archive:$T/noname.tar"
	ar_ok --storage-driver fuse-overlayfs load -i "$T/noname.tar"
	assert_match "$OUT" '^Loaded image ID: sha256:[0-9a-f]{64}$'
	local layer
	layer=$(image_field example.com/t/bb:v2 'r["layers"][0]')
	[[ -d $STORE/layers/fuse/${layer#sha256:}/bin ]] || fail "not unpacked for fuse-overlayfs"
}

test_archive_load_hostile_refused_nothing_stored() {
	require_cmd python3 python3
	mk_layout "$T/layout" latest >/dev/null
	# mkevil OUT MEMBER...: a tar of the layout plus members "NAME=CONTENT" (NAME may be hostile).
	mkevil() {
		python3 - "$@" <<-'EOF'
			import io, os, sys, tarfile
			out, extra = sys.argv[1], sys.argv[2:]
			layout = os.environ["LAYOUT"]
			with tarfile.open(out, "w") as t:
			    for e in extra:
			        name, data = e.split("=", 1)
			        ti = tarfile.TarInfo(name); ti.size = len(data)
			        t.addfile(ti, io.BytesIO(data.encode()))
			    t.add(layout, arcname=".")
		EOF
	}
	export LAYOUT=$T/layout
	mkevil "$T/dotdot.tar" "../x=pwned"
	ar load -i "$T/dotdot.tar"
	assert_rc 125
	assert_contains "$ERR" "archive member \`../x\` has a \`..\` component"
	store_is_empty
	[[ ! -e $T/x && ! -e $STORE/x && ! -e $T/store/../x ]] || fail "../x was written"
	mkevil "$T/abs.tar" "/tmp/rless-archive-canary=pwned"
	ar load -i "$T/abs.tar"
	assert_rc 125
	assert_contains "$ERR" "absolute name"
	[[ ! -e /tmp/rless-archive-canary ]] || fail "/tmp/rless-archive-canary was written"
	store_is_empty
	# A blob whose content is not what its name says.
	mkevil "$T/liar.tar" "blobs/sha256/$(printf 'a%.0s' {1..64})=not that"
	ar load -i "$T/liar.tar"
	assert_rc 125
	assert_contains "$ERR" "is corrupt"
	store_is_empty
	# A layer that tries to leave its directory: refused by the unpacker, nothing kept.
	python3 - "$T/layout" <<-'EOF'
		import gzip, hashlib, io, json, os, sys, tarfile
		d = sys.argv[1]
		buf = io.BytesIO()
		with tarfile.open(fileobj=buf, mode="w") as t:
		    ti = tarfile.TarInfo("../../escape"); ti.size = 2; t.addfile(ti, io.BytesIO(b"no"))
		raw = buf.getvalue(); gz = gzip.compress(raw, mtime=0)
		put = lambda b: (open(os.path.join(d, "blobs/sha256", hashlib.sha256(b).hexdigest()), "wb").write(b), "sha256:" + hashlib.sha256(b).hexdigest())[1]
		cfg = json.dumps({"os": "linux", "architecture": "amd64", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode()
		man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg), "size": len(cfg)},
		    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(gz), "size": len(gz)}]}).encode()
		idx = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(man), "size": len(man)}]}
		json.dump(idx, open(os.path.join(d, "index.json"), "w"))
	EOF
	(cd "$T/layout" && tar -cf "$T/badlayer.tar" .)
	ar load -i "$T/badlayer.tar"
	assert_rc 125
	assert_contains "$ERR" "\`..\` component would leave the layer"
	store_is_empty
	[[ ! -e $T/escape && ! -e $STORE/escape ]] || fail "the layer escaped"
	# Not an image archive at all.
	rootfs_tar "$T/rootfs.tar"
	ar load -i "$T/rootfs.tar"
	assert_rc 125
	assert_contains "$ERR" "neither index.json nor manifest.json"
	assert_contains "$ERR" "rless import"
	store_is_empty
}

test_archive_load_docker_archive_checks_diff_ids() {
	require_cmd python3 python3
	mk_layout "$T/layout" latest >/dev/null
	skopeo_copy "oci:$T/layout:latest" "docker-archive:$T/sd.tar:bad:1"
	mkdir "$T/x" && tar -C "$T/x" -xf "$T/sd.tar" && chmod -R u+w "$T/x"
	# Point the config's diff_id elsewhere (the config keeps a valid name: it is not a blob path).
	python3 - "$T/x" <<-'EOF'
		import json, os, sys
		d = sys.argv[1]
		m = json.load(open(os.path.join(d, "manifest.json")))
		p = os.path.join(d, m[0]["Config"])
		c = json.load(open(p)); c["rootfs"]["diff_ids"] = ["sha256:" + "0" * 64]
		json.dump(c, open(p, "w"))
	EOF
	(cd "$T/x" && tar -cf "$T/bad.tar" .)
	ar load -i "$T/bad.tar"
	assert_rc 125
	assert_contains "$ERR" "is corrupt: its content hashes to"
	store_is_empty
}

test_archive_import_remembers_the_asked_driver() {
	[[ -x $(command -v fuse-overlayfs) && -w /dev/fuse ]] || skip "fuse-overlayfs or /dev/fuse missing"
	rootfs_tar "$T/rootfs.tar"
	ar_ok --storage-driver fuse-overlayfs import "$T/rootfs.tar" fz:1
	assert_eq fuse-overlayfs "$(<"$STORE/storage-driver")" "the store's driver after the first use"
	# Without the option, later commands use the layers that import unpacked for fuse.
	ar_ok run --rm localhost/fz:1 sh -c 'grep -c fuse /proc/mounts'
	assert_eq 1 "$OUT" "the rootfs is fuse-overlayfs"
}
