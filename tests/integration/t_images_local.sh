# t_images_local.sh — images, rmi, tag, image inspect/prune/ls/rm on a store built by hand (no
# registry): blobs named by their sha256, unpacked layer dirs, images.json as src/images.c
# writes it, and a container record as `rless run` writes it.
# shellcheck shell=bash disable=SC2016,SC2034,SC1091

# build_store: $S (= $T/store) with four images and one container; sets the digests below from
# $T/ids.sh.  Layers: BASE (busybox, app, used), APP (app), EXTRA (the untagged image), USED.
#   BUSY   docker.io/library/busybox:latest + :1.36   [BASE]        config created 400 days ago
#   APP    127.0.0.1:5000/team/app:v1                 [BASE APP]    2 hours ago
#   NONE   (no name)                                  [EXTRA]       3 days ago
#   USEDI  localhost/used:latest                      [BASE USED]   5 hours ago, container "web"
# The index's own "created" (when stored) is 10 s ago for all: CREATED must come from the config.
build_store() {
	require_cmd python3 python3
	S=$T/store
	python3 - "$S" "$T/ids.sh" <<'EOF'
import gzip, hashlib, io, json, os, sys, tarfile, time

store, out = sys.argv[1], sys.argv[2]
now = int(time.time())
for d in ("blobs/sha256", "layers/overlay", "containers", "tmp"):
    os.makedirs(os.path.join(store, d))
env = {}

def blob(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(os.path.join(store, "blobs/sha256", digest[7:]), "wb") as f:
        f.write(data)
    return digest

def layer(key, name):
    """A gzip'd tar of NAME/data as the blob; the same tree unpacked under layers/overlay."""
    buf = io.BytesIO()
    data = (name + "\n").encode()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        d = tarfile.TarInfo(name)
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 1700000000
        f = tarfile.TarInfo(name + "/data")
        f.size, f.mtime = len(data), 1700000000
        tf.addfile(d)
        tf.addfile(f, io.BytesIO(data))
    raw = buf.getvalue()
    gz = gzip.compress(raw, mtime=0)
    digest = blob(gz)
    top = os.path.join(store, "layers/overlay", digest[7:], name)
    os.makedirs(top)
    with open(os.path.join(top, "data"), "w") as f:
        f.write(name + "\n")
    env[key] = digest
    env[key + "_DIFF"] = "sha256:" + hashlib.sha256(raw).hexdigest()
    return (digest, env[key + "_DIFF"], len(gz))

def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

images = []

def image(key, names, layers, ago, size, cfg):
    config = {"architecture": "amd64", "os": "linux", "created": rfc3339(now - ago),
              "config": cfg, "rootfs": {"type": "layers", "diff_ids": [l[1] for l in layers]}}
    cdata = json.dumps(config).encode()
    cid = blob(cdata)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": cid, "size": len(cdata)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": l[0], "size": l[2]} for l in layers]}
    mid = blob(json.dumps(manifest).encode())
    images.append({"id": cid, "manifest": mid, "names": names, "layers": [l[0] for l in layers],
                   "size": size, "created": now - 10, "config": cfg})
    env[key + "_ID"], env[key + "_MANIFEST"] = cid, mid

base = layer("BASE", "base")
app = layer("APP", "app")
extra = layer("EXTRA", "extra")
used = layer("USED", "used")
image("BUSY", ["docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"], [base],
      400 * 86400, 4261888, {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]})
image("APP", ["127.0.0.1:5000/team/app:v1"], [base, app], 7200, 77812345,
      {"Entrypoint": ["/app/run"], "Cmd": ["--serve"], "Env": ["PATH=/bin", "MODE=prod"],
       "WorkingDir": "/app", "User": "1000:1000", "StopSignal": "SIGINT",
       "ExposedPorts": {"8080/tcp": {}}})
image("NONE", [], [extra], 3 * 86400, 999, {"Cmd": ["true"]})
image("USEDI", ["localhost/used:latest"], [base, used], 5 * 3600, 1000, {"Cmd": ["sleep", "1"]})
with open(os.path.join(store, "images.json"), "w") as f:
    json.dump({"version": 1, "images": images}, f, indent=1, sort_keys=True)

cid = "0123456789abcdef" * 4
os.makedirs(os.path.join(store, "containers", cid))
with open(os.path.join(store, "containers", cid, "container.json"), "w") as f:
    json.dump({"id": cid, "name": "web", "image": env["USEDI_ID"],
               "layers": [base[0], used[0]]}, f)
env["CID"] = cid
with open(out, "w") as f:
    for k, v in env.items():
        f.write("%s=%s\n" % (k, v))
EOF
	source "$T/ids.sh"
}

short() { # DIGEST: the 12-hex image id
	local d=${1#sha256:}
	echo "${d:0:12}"
}

blob_exists() { [[ -f $S/blobs/sha256/${1#sha256:} ]]; }
layer_exists() { [[ -d $S/layers/overlay/${1#sha256:} ]]; }

assert_blobs() { # present|absent DIGEST...
	local want=$1 d
	shift
	for d in "$@"; do
		if [[ $want == present ]]; then
			blob_exists "$d" || fail "blob $d was removed"
		else
			! blob_exists "$d" || fail "blob $d is still there"
		fi
	done
}

assert_layers() { # present|absent DIGEST...
	local want=$1 d
	shift
	for d in "$@"; do
		if [[ $want == present ]]; then
			layer_exists "$d" || fail "layer dir of $d was removed"
		else
			! layer_exists "$d" || fail "layer dir of $d is still there"
		fi
	done
}

# json_check FILE PYTHON-EXPRESSION...: every expression over `d` (the parsed file) is true.
json_check() {
	local file=$1
	shift
	python3 - "$file" "$@" <<'EOF' || fail "JSON check failed (see above)"
import json, sys
d = json.load(open(sys.argv[1]))
bad = [e for e in sys.argv[2:] if not eval(e, {"d": d})]
for e in bad:
    print("false: " + e, file=sys.stderr)
if bad:
    print(json.dumps(d, indent=1), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
}

test_images_table() {
	build_store
	run_rless --root "$S" images
	assert_rc 0
	local f='%-26s%-10s%-15s%-16s%s\n' want
	# shellcheck disable=SC2059
	want=$(printf "$f" REPOSITORY TAG "IMAGE ID" CREATED SIZE \
		127.0.0.1:5000/team/app v1 "$(short "$APP_ID")" "2 hours ago" 77.8MB \
		localhost/used latest "$(short "$USEDI_ID")" "5 hours ago" 1kB \
		"<none>" "<none>" "$(short "$NONE_ID")" "3 days ago" 999B \
		busybox 1.36 "$(short "$BUSY_ID")" "13 months ago" 4.26MB \
		busybox latest "$(short "$BUSY_ID")" "13 months ago" 4.26MB)
	assert_eq "$want" "$OUT" "rless images"
	# image ls is the same listing
	run_rless --root "$S" image ls
	assert_eq "$want" "$OUT" "rless image ls"
}

test_images_quiet_notrunc_filter() {
	build_store
	run_rless --root "$S" images -q
	assert_rc 0
	assert_eq "$(printf '%s\n' "$(short "$APP_ID")" "$(short "$USEDI_ID")" "$(short "$NONE_ID")" \
		"$(short "$BUSY_ID")")" "$OUT" "images -q (each id once, newest first)"
	run_rless --root "$S" images -q --no-trunc
	assert_eq "$(printf '%s\n' "$APP_ID" "$USEDI_ID" "$NONE_ID" "$BUSY_ID")" "$OUT" "images -q --no-trunc"
	run_rless --root "$S" images busybox
	assert_rc 0
	assert_eq 3 "$(wc -l <<<"$OUT")" "rows of images busybox (header + 2 tags)"
	assert_match "$OUT" $'\nbusybox +1\\.36 +'"$(short "$BUSY_ID")"
	run_rless --root "$S" images busybox:latest
	assert_eq 2 "$(wc -l <<<"$OUT")" "rows of images busybox:latest"
	assert_contains "$OUT" "latest"
	# a short repository under another registry, by its last components
	run_rless --root "$S" images team/app
	assert_eq 2 "$(wc -l <<<"$OUT")" "rows of images team/app"
	assert_contains "$OUT" "127.0.0.1:5000/team/app"
	run_rless --root "$S" images --format yaml
	assert_rc 125
}

test_images_json() {
	build_store
	run_rless --root "$S" images --format json
	assert_rc 0
	printf '%s\n' "$OUT" >"$T/images.json"
	json_check "$T/images.json" 'len(d) == 4' \
		"[i['Id'] for i in d] == ['$APP_ID', '$USEDI_ID', '$NONE_ID', '$BUSY_ID']" \
		"d[3]['Names'] == ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36']" \
		"d[2]['Names'] == []" \
		"d[0]['Digest'] == '$APP_MANIFEST'" \
		"d[0]['Size'] == 77812345" \
		"d[0]['Layers'] == ['$BASE', '$APP']" \
		"all(i['Created'].endswith('Z') and len(i['Created']) == 20 for i in d)"
	# Created is the config's, not when the image was stored (10 s ago)
	python3 -c 'import json,sys,time,calendar
d = json.load(open(sys.argv[1]))
t = calendar.timegm(time.strptime(d[0]["Created"], "%Y-%m-%dT%H:%M:%SZ"))
sys.exit(0 if abs(time.time() - 7200 - t) < 60 else 1)' "$T/images.json" || fail "Created of app is not 2 hours ago"
}

test_empty_store() {
	run_rless --root "$T/nothing" images
	assert_rc 0
	assert_eq "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE" "$OUT" "images of a store that does not exist"
	[[ ! -e $T/nothing ]] || fail "listing images created the store"
	run_rless --root "$T/nothing" rmi busybox
	assert_rc 1
	assert_contains "$ERR" "No such image: busybox"
}

test_tag_short_name_goes_to_localhost() {
	build_store
	run_rless --root "$S" tag busybox mybox:2
	assert_rc 0
	assert_eq "" "$OUT" "tag output"
	run_rless --root "$S" tag "$(short "$APP_ID")" quay.io/org/app
	assert_rc 0
	python3 - "$S/images.json" "$BUSY_ID" "$APP_ID" <<'EOF' || fail "names in images.json after tag"
import json, sys
ix = {i["id"]: i["names"] for i in json.load(open(sys.argv[1]))["images"]}
assert "localhost/mybox:2" in ix[sys.argv[2]], ix
assert "quay.io/org/app:latest" in ix[sys.argv[3]], ix
EOF
	run_rless --root "$S" images mybox
	assert_match "$OUT" $'\nlocalhost/mybox +2 +'"$(short "$BUSY_ID")"
	# the new name finds the image: by short name (localhost/), then moved to another image
	run_rless --root "$S" tag app:v1 mybox:2
	assert_rc 0
	run_rless --root "$S" image inspect mybox:2
	assert_rc 0
	assert_contains "$OUT" "\"Id\": \"$APP_ID\""
	run_rless --root "$S" image tag nosuch x
	assert_rc 1
	assert_contains "$ERR" "No such image: nosuch"
	run_rless --root "$S" tag busybox "Bad:Name"
	assert_rc 125
	assert_contains "$ERR" "Bad:Name"
	run_rless --root "$S" tag busybox "x@sha256:$(printf '%064d' 0)"
	assert_rc 125
}

test_rmi_untags_a_name_of_several() {
	build_store
	run_rless --root "$S" rmi busybox:1.36
	assert_rc 0
	assert_eq "Untagged: busybox:1.36" "$OUT" "rmi output"
	assert_blobs present "$BUSY_ID" "$BUSY_MANIFEST" "$BASE"
	run_rless --root "$S" images -q busybox
	assert_eq "$(short "$BUSY_ID")" "$OUT" "busybox still listed"
}

test_rmi_deletes_and_collects() {
	build_store
	# app:v1 is stored as 127.0.0.1:5000/team/app:v1: the only name ending in app:v1
	run_rless --root "$S" rmi app:v1
	assert_rc 0
	assert_eq $'Untagged: 127.0.0.1:5000/team/app:v1\nDeleted: '"$APP_ID" "$OUT" "rmi output"
	assert_blobs absent "$APP_ID" "$APP_MANIFEST" "$APP"
	assert_layers absent "$APP"
	# base is busybox's and used's too
	assert_blobs present "$BASE" "$BUSY_ID" "$BUSY_MANIFEST"
	assert_layers present "$BASE" "$EXTRA" "$USED"
	assert_eq "" "$(ls -A "$S/tmp")" "store tmp/ after rmi"
	# by id, an image with two names goes at once
	run_rless --root "$S" rmi "$(short "$BUSY_ID")"
	assert_rc 0
	assert_eq $'Untagged: busybox:latest\nUntagged: busybox:1.36\nDeleted: '"$BUSY_ID" "$OUT" "rmi by id"
	assert_blobs absent "$BUSY_ID" "$BUSY_MANIFEST"
	assert_layers present "$BASE" # still used's
	run_rless --root "$S" images -q
	assert_eq "$(printf '%s\n' "$(short "$USEDI_ID")" "$(short "$NONE_ID")")" "$OUT" "images left"
}

test_rmi_missing_continues() {
	build_store
	run_rless --root "$S" rmi nosuch busybox:1.36 "$(short "$NONE_ID")"
	assert_rc 1
	assert_contains "$ERR" "No such image: nosuch"
	assert_eq $'Untagged: busybox:1.36\nDeleted: '"$NONE_ID" "$OUT" "rmi output"
	assert_layers absent "$EXTRA"
	# an ambiguous short name is refused, naming both
	run_rless --root "$S" tag app:v1 quay.io/x/app:v1
	run_rless --root "$S" rmi app:v1
	assert_rc 1
	assert_contains "$ERR" "matches 2 names"
	assert_contains "$ERR" "quay.io/x/app:v1"
}

test_rmi_refuses_image_in_use() {
	build_store
	run_rless --root "$S" rmi used
	assert_rc 2
	assert_contains "$ERR" "image used is in use by container 0123456789ab (web)"
	assert_contains "$ERR" "rless rm 0123456789ab"
	assert_contains "$ERR" "-f"
	assert_eq "" "$OUT" "stdout of a refused rmi"
	assert_blobs present "$USEDI_ID" "$USEDI_MANIFEST" "$USED"
	run_rless --root "$S" images -q used
	assert_eq "$(short "$USEDI_ID")" "$OUT" "image still listed"
	# prune -a does not take it either
	run_rless --root "$S" image prune -a
	assert_rc 0
	assert_not_contains "$OUT" "$USEDI_ID"
	# -f removes the record; what the container uses stays (its config and layers)
	run_rless --root "$S" rmi -f localhost/used
	assert_rc 0
	assert_contains "$OUT" "Deleted: $USEDI_ID"
	assert_contains "$ERR" "used by container 0123456789ab"
	assert_blobs present "$USEDI_ID" "$USED" "$BASE"
	assert_layers present "$USED" "$BASE"
	assert_blobs absent "$USEDI_MANIFEST"
	run_rless --root "$S" images -q
	assert_eq "" "$OUT" "images after rmi -f"
}

test_rmi_damaged_container_record_fails() {
	build_store
	echo '{"id": ' >"$S/containers/$CID/container.json"
	run_rless --root "$S" rmi busybox:1.36
	assert_rc 125
	assert_contains "$ERR" "containers/$CID/container.json"
	assert_eq "" "$OUT" "stdout"
	run_rless --root "$S" images -q busybox:1.36
	assert_eq "$(short "$BUSY_ID")" "$OUT" "nothing removed"
}

# Files owned by a subordinate id (uid 1 inside = the first subordinate uid outside) in a
# read-only layer dir: the user cannot delete them, rmi must (in its user namespace).
test_rmi_removes_files_of_subordinate_ids() {
	require_subids
	require_cmd unshare util-linux
	build_store
	local dir=$S/layers/overlay/${EXTRA#sha256:} uid_range gid_range
	uid_range=$(subid_ranges uid | head -n1)
	gid_range=$(subid_ranges gid | head -n1)
	unshare --map-root-user --map-users="${uid_range% *},1,${uid_range#* }" \
		--map-groups="${gid_range% *},1,${gid_range#* }" \
		sh -c 'mkdir "$1/secret" && echo x >"$1/secret/f" && chown -R 1:1 "$1/secret" &&
			chmod 0700 "$1/secret"' _ "$dir"
	chmod 0555 "$dir"
	assert_eq "${uid_range% *}" "$(stat -c %u "$dir/secret")" "host owner of the test files"
	! rm -rf "$dir/secret" 2>/dev/null || fail "the test files were removable without the user namespace"
	run_rless --root "$S" rmi "$(short "$NONE_ID")"
	assert_rc 0
	assert_eq "Deleted: $NONE_ID" "$OUT" "rmi output"
	[[ ! -e $dir ]] || fail "layer dir $dir still there"
	assert_eq "" "$(ls -A "$S/tmp")" "store tmp/ after rmi"
}

test_image_inspect() {
	build_store
	run_rless --root "$S" image inspect app:v1 busybox
	assert_rc 0
	printf '%s\n' "$OUT" >"$T/inspect.json"
	local l=$S/layers/overlay
	json_check "$T/inspect.json" 'len(d) == 2' \
		"d[0]['Id'] == '$APP_ID'" \
		"d[0]['RepoTags'] == ['127.0.0.1:5000/team/app:v1']" \
		"d[0]['RepoDigests'] == ['127.0.0.1:5000/team/app@$APP_MANIFEST']" \
		"d[0]['Size'] == 77812345 and d[0]['Architecture'] == 'amd64' and d[0]['Os'] == 'linux'" \
		"d[0]['Config']['Entrypoint'] == ['/app/run'] and d[0]['Config']['Cmd'] == ['--serve']" \
		"d[0]['Config']['Env'] == ['PATH=/bin', 'MODE=prod']" \
		"d[0]['Config']['WorkingDir'] == '/app' and d[0]['Config']['User'] == '1000:1000'" \
		"d[0]['Config']['StopSignal'] == 'SIGINT' and '8080/tcp' in d[0]['Config']['ExposedPorts']" \
		"d[0]['RootFS'] == {'Type': 'layers', 'Layers': ['$BASE_DIFF', '$APP_DIFF']}" \
		"d[0]['GraphDriver']['Name'] == 'overlay'" \
		"d[0]['GraphDriver']['Data']['LowerDir'] == '$l/${APP#sha256:}:$l/${BASE#sha256:}'" \
		"d[1]['RepoTags'] == ['busybox:latest', 'busybox:1.36']" \
		"d[1]['RepoDigests'] == ['busybox@$BUSY_MANIFEST']" \
		"d[1]['Config']['WorkingDir'] == '' and d[1]['Config']['Entrypoint'] is None"
	run_rless --root "$S" --storage-driver fuse-overlayfs image inspect "$(short "$NONE_ID")" nosuch
	assert_rc 1
	assert_contains "$ERR" "No such image: nosuch"
	printf '%s\n' "$OUT" >"$T/inspect2.json"
	json_check "$T/inspect2.json" 'len(d) == 1' "d[0]['RepoTags'] == []" \
		"d[0]['GraphDriver'] == {'Name': 'fuse-overlayfs', 'Data': {'LowerDir': '$S/layers/fuse/${EXTRA#sha256:}'}}"
	run_rless --root "$S" image inspect --format yaml busybox
	assert_rc 125
}

# human_size BYTES: docker's SIZE spelling, to check the byte count rless adds up.
human_size() {
	python3 -c 'import sys
n, u = float(sys.argv[1]), ["B", "kB", "MB", "GB"]
i = 0
while n >= 1000 and i < 3:
    n, i = n / 1000, i + 1
print("%.3g%s" % (n, u[i]))' "$1"
}

test_image_prune() {
	build_store
	# reclaimed: the three blobs of the untagged image and the 6 bytes of extra/data
	local bytes=6 d
	for d in "$NONE_ID" "$NONE_MANIFEST" "$EXTRA"; do
		bytes=$((bytes + $(stat -c %s "$S/blobs/sha256/${d#sha256:}")))
	done
	run_rless --root "$S" image prune
	assert_rc 0
	assert_eq "Deleted Images:"$'\n'"deleted: $NONE_ID"$'\n\n'"Total reclaimed space: $(human_size $bytes)" \
		"$OUT" "prune output"
	assert_layers absent "$EXTRA"
	assert_blobs absent "$NONE_ID" "$NONE_MANIFEST" "$EXTRA"
	assert_layers present "$BASE" "$APP" "$USED"
	assert_blobs present "$BUSY_ID" "$APP_ID" "$USEDI_ID" "$BASE"
	# nothing untagged left
	run_rless --root "$S" image prune
	assert_eq "Total reclaimed space: 0B" "$OUT" "second prune"
	# -a: every image no container uses; base stays for the container
	run_rless --root "$S" image prune -a -f
	assert_rc 0
	assert_contains "$OUT" "untagged: 127.0.0.1:5000/team/app:v1"
	assert_contains "$OUT" "untagged: busybox:latest"
	assert_contains "$OUT" "deleted: $BUSY_ID"
	assert_contains "$OUT" "deleted: $APP_ID"
	assert_not_contains "$OUT" "$USEDI_ID"
	assert_layers absent "$APP"
	assert_layers present "$BASE" "$USED"
	run_rless --root "$S" images -q
	assert_eq "$(short "$USEDI_ID")" "$OUT" "images after prune -a"
}

test_image_rm_alias_and_usage() {
	build_store
	run_rless --root "$S" image rm busybox:1.36
	assert_rc 0
	assert_eq "Untagged: busybox:1.36" "$OUT" "image rm"
	run_rless --root "$S" image
	assert_rc 125
	run_rless --root "$S" image frobnicate
	assert_rc 125
	assert_contains "$ERR" "rless image frobnicate"
	run_rless --root "$S" rmi
	assert_rc 125
}
