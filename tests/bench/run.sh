#!/bin/bash
# tests/bench/run.sh — `make bench`: container start time of rless against bubblewrap and
# unshare(1) in one hyperfine run on this machine, the ratio rless/bwrap, and the peak RSS of
# `rless run`. Benchmarks are not tests: nothing here fails on slowness.
#
# As root, the benchmark runs as the test user rlesstest (tests/lib/testuser.sh) from a copy
# under /tmp, so the real rootless path (newuidmap/newgidmap) is measured; the hyperfine JSON
# is copied to build/bench.json. As a normal user it runs directly.
# As root it then measures image pulls and I/O (they need the page cache dropped, which only
# root can do): `rless pull` vs `podman pull` of the Debian test image from the local registry
# (tests/registry/fixtures.sh) into empty stores, the floor (sha256sum in parallel with
# gzip -dc | tar -x of the same layer blob in `unshare -Ur`), and reading every file of the
# image inside a container (kernel overlay) vs the same tree on the host.
#   RLESS=PATH          binary to measure (default build/rless)
#   RLESS_BENCH_RUNS=N  hyperfine runs per command (default 30)
#   RLESS_BENCH_PULL_RUNS=N  runs of each pull (default 5)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lib/testuser.sh
source "$top/tests/lib/testuser.sh"

need_packages() {
	local missing=()
	command -v hyperfine >/dev/null || missing+=(hyperfine)
	command -v bwrap >/dev/null || missing+=(bubblewrap)
	[[ -x /usr/bin/time ]] || missing+=(time)
	[[ -x /bin/busybox ]] || missing+=(busybox-static)
	command -v newuidmap >/dev/null || missing+=(uidmap)
	command -v python3 >/dev/null || missing+=(python3)
	if [[ ${#missing[@]} -gt 0 ]]; then
		bash "$top/contrib/install-deps.sh" "${missing[@]}"
	fi
}

root_main() {
	local bin stage env1 rc=0
	need_packages
	bin=$(readlink -f "${RLESS:-$top/build/rless}")
	[[ -x $bin ]] || { echo "bench: $bin not built (run make)" >&2; exit 1; }
	rl_testusers_setup
	stage=$(mktemp -d /tmp/rless-bench.XXXXXX)
	# shellcheck disable=SC2064
	trap "rm -rf '$stage'" EXIT
	chmod 0755 "$stage"
	mkdir -p "$stage/build" "$stage/work"
	cp "$bin" "$stage/build/rless"
	cp "${bin%/*}/rless-init" "$stage/build/rless-init" 2>/dev/null || true
	cp "${bin%/*}/rless-image" "$stage/build/rless-image" 2>/dev/null || true
	cp -R "$top/tests" "$stage/tests"
	chmod -R a+rX "$stage/build" "$stage/tests"
	chown "$RLESSTEST_USER:" "$stage/work"
	mapfile -t env1 < <(rl_testuser_env "$RLESSTEST_USER")
	echo "# benchmarking as $RLESSTEST_USER (subordinate ids: $RLESSTEST_RANGES)"
	(cd "$stage" && runuser -u "$RLESSTEST_USER" -- env -i "${env1[@]}" \
		RLESS_BENCH_WORKDIR="$stage/work" bash "$stage/tests/bench/run.sh") || rc=$?
	if [[ -f $stage/work/bench.json && -d $top/build ]]; then
		cp "$stage/work/bench.json" "$top/build/bench.json"
		echo "# hyperfine results: $top/build/bench.json"
	fi
	image_bench "$stage" || rc=$?
	exit "$rc"
}

# as_user CMD...: CMD as the test user with its login-like environment.
as_user() {
	runuser -u "$RLESSTEST_USER" -- env -i "${env1[@]}" "$@"
}

# summary JSON: medians and the ratios the issues ask for.
summary() {
	python3 - "$1" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
for name, r in res.items():
    print(f"  {name:14s} median {r['median']:7.3f} s   (mean {r['mean']:.3f} ± {r['stddev']:.3f})")
def ratio(a, b):
    if a in res and b in res:
        print(f"# ratio {a}/{b} (median): {res[a]['median'] / res[b]['median']:.2f}")
ratio("rless-pull", "podman-pull")
ratio("rless-pull", "floor")
ratio("read-in-rless", "read-on-host")
PY
}

image_bench() {
	local stage=$1 w=$1/work reg img blob layer runs=${RLESS_BENCH_PULL_RUNS:-5} drop
	command -v podman >/dev/null || bash "$top/contrib/install-deps.sh" podman
	if ! RLESS_IMAGE_CACHE=$top/build/test-images bash "$top/tests/registry/fixtures.sh" up \
		"$stage/reg" >"$stage/reg.log" 2>&1; then
		tail -n 20 "$stage/reg.log" >&2
		echo "bench: the test registry did not start" >&2
		return 1
	fi
	# shellcheck disable=SC2064
	trap "bash '$top/tests/registry/fixtures.sh' down '$stage/reg' >/dev/null 2>&1; rm -rf '$stage'" EXIT
	# shellcheck disable=SC1091
	source "$stage/reg/env"
	reg=$RLESS_REG
	img=$reg/rless-test/debian:bookworm
	env1+=("RLESS_REGISTRIES_CONF=$RLESS_REGISTRIES_CONF" "XDG_RUNTIME_DIR=$w/run")
	drop='sync; echo 1 >/proc/sys/vm/drop_caches'

	# One pull to find the layer blob for the floor and the tree for the I/O test.
	as_user "$stage/build/rless" --root "$w/ref" pull -q "$img" >"$w/ref.id"
	blob=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));
print([i for i in d["images"] if i["id"] == sys.argv[2]][0]["layers"][0][7:])' \
		"$w/ref/images.json" "$(cat "$w/ref.id")")
	layer=$w/ref/layers/overlay/$blob
	blob=$w/ref/blobs/sha256/$blob
	echo "# pull of $img: layer blob $(stat -c %s "$blob") bytes, $(find "$layer" | wc -l) entries"

	hyperfine --runs "$runs" --export-json "$w/pull.json" \
		--prepare "$drop; rm -rf $w/rs $w/ps $w/pr $w/floor; mkdir -p $w/floor; chown $RLESSTEST_USER: $w/floor" \
		--command-name rless-pull "runuser -u $RLESSTEST_USER -- env -i ${env1[*]} $stage/build/rless --root $w/rs pull -q $img" \
		--command-name podman-pull "runuser -u $RLESSTEST_USER -- env -i ${env1[*]} podman --root $w/ps --runroot $w/pr pull -q --tls-verify=false $img" \
		--command-name floor "runuser -u $RLESSTEST_USER -- unshare -Ur sh -c 'sha256sum $blob >/dev/null & gzip -dc $blob | tar -x -C $w/floor; wait'"
	summary "$w/pull.json"

	# Reading every file, from the disk (page cache dropped before each run: the I/O figure),
	# then warm (the overlay's own cost per lookup shows, and the container's start counts).
	local rd_in="runuser -u $RLESSTEST_USER -- env -i ${env1[*]} $stage/build/rless --root $w/ref run --rm --pull=never $img sh -c 'find / -xdev -type f -print0 | xargs -0 cat >/dev/null'"
	local rd_host="runuser -u $RLESSTEST_USER -- unshare -Ur sh -c 'cd $layer && find . -xdev -type f -print0 | xargs -0 cat >/dev/null'"
	hyperfine --prepare "$drop" --runs "$runs" --export-json "$w/io.json" \
		--command-name read-in-rless "$rd_in" --command-name read-on-host "$rd_host"
	summary "$w/io.json"
	echo "# warm page cache:"
	hyperfine --warmup 1 --runs "$runs" --export-json "$w/io-warm.json" \
		--command-name read-in-rless "$rd_in" --command-name read-on-host "$rd_host"
	summary "$w/io-warm.json"
	lifecycle_bench "$stage" "$img"
	cp "$w/pull.json" "$w/io.json" "$w/exec.json" "$w/rund.json" "$top/build/" 2>/dev/null || true
}

# exec into a running container: rless vs nsenter into the same namespaces vs podman exec
# (runc: crun refuses this hybrid cgroup host); run -d latency; the monitor's memory.
lifecycle_bench() {
	local stage=$1 img=$2 w=$1/work rl pid mon p runs=${RLESS_BENCH_RUNS:-30}
	rl="$stage/build/rless --root $w/ref"
	local pod="podman --runtime runc --root $w/ps --runroot $w/pr"
	as_user $rl rm -f bench-exec >/dev/null 2>&1 || true
	as_user $rl run -d --name bench-exec "$img" sleep 600 >/dev/null
	pid=$(as_user $rl inspect bench-exec | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["Pid"])')
	as_user $pod pull -q --tls-verify=false "$img" >/dev/null
	as_user $pod run -d --name bench-exec --net none "$img" sleep 600 >/dev/null || true
	hyperfine --warmup 3 --runs "$runs" --export-json "$w/exec.json" \
		--command-name rless-exec "runuser -u $RLESSTEST_USER -- env -i ${env1[*]} $rl exec bench-exec true" \
		--command-name nsenter "runuser -u $RLESSTEST_USER -- nsenter -t $pid -U -m -p -u -i -n -C --preserve-credentials true" \
		--command-name podman-exec "runuser -u $RLESSTEST_USER -- env -i ${env1[*]} $pod exec bench-exec true"
	python3 - "$w/exec.json" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
for n, r in res.items():
    print(f"  {n:12s} median {r['median'] * 1000:7.2f} ms")
print(f"# ratio rless-exec/nsenter (median): {res['rless-exec']['median'] / res['nsenter']['median']:.2f}")
print(f"# ratio rless-exec/podman-exec (median): {res['rless-exec']['median'] / res['podman-exec']['median']:.2f}")
PY
	hyperfine --warmup 2 --runs "$runs" --export-json "$w/rund.json" \
		--command-name "rless run -d" "runuser -u $RLESSTEST_USER -- env -i ${env1[*]} $rl run -d --rm $img true"
	mon=$(pgrep -u "$RLESSTEST_USER" -f -- "--name bench-exec" | head -1)
	for p in $mon; do
		echo "# monitor (pid $p): $(grep VmRSS /proc/"$p"/status | tr -s ' \t' ' '), $(grep '^Pss:' /proc/"$p"/smaps_rollup | tr -s ' ' ' ')"
	done
	as_user $rl rm -f bench-exec >/dev/null 2>&1 || true
	as_user $pod rm -f bench-exec >/dev/null 2>&1 || true
}

user_main() {
	local rless work rootfs runs json rss=()
	need_packages
	rless=$(readlink -f "${RLESS:-$top/build/rless}")
	[[ -x $rless ]] || { echo "bench: $rless not built (run make)" >&2; exit 1; }
	runs=${RLESS_BENCH_RUNS:-30}
	if [[ -n ${RLESS_BENCH_WORKDIR:-} ]]; then
		work=$RLESS_BENCH_WORKDIR
	else
		work=$(mktemp -d /tmp/rless-bench.XXXXXX)
		# shellcheck disable=SC2064
		trap "rm -rf '$work' 2>/dev/null; true" EXIT
	fi
	mkdir -p "$work/run" "$work/data"
	chmod 0700 "$work/run"
	export XDG_RUNTIME_DIR=$work/run XDG_DATA_HOME=$work/data
	rootfs=$work/rootfs
	"$top/tests/fixtures/mkrootfs-busybox.sh" "$rootfs"
	json=$work/bench.json

	echo "# $(id -un) (uid $(id -u)), $(nproc) cpus, kernel $(uname -r)"
	echo "# rless: $rless"
	"$rless" run --rm --network none --rootfs "$rootfs" true </dev/null ||
		{ echo "bench: rless cannot run a container here" >&2; exit 1; }

	hyperfine --warmup 3 --runs "$runs" --shell=none --export-json "$json" \
		--command-name rless "$rless run --rm --network none --rootfs $rootfs true" \
		--command-name bwrap "bwrap --unshare-all --ro-bind $rootfs / --proc /proc --dev /dev true" \
		--command-name unshare "unshare -Urmpfiu --mount-proc true" </dev/null

	python3 - "$json" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
print("# median start time (ms):")
for name, r in res.items():
    print(f"  {name:8s} {r['median'] * 1000:8.2f}   (mean {r['mean'] * 1000:.2f} ± {r['stddev'] * 1000:.2f})")
if "rless" in res and "bwrap" in res:
    print(f"# ratio rless/bwrap (median): {res['rless']['median'] / res['bwrap']['median']:.2f}")
if "rless" in res and "unshare" in res:
    print(f"# ratio rless/unshare (median): {res['rless']['median'] / res['unshare']['median']:.2f}")
PY

	for _ in 1 2 3 4 5; do
		rss+=("$(/usr/bin/time -f %M "$rless" run --rm --network none --rootfs "$rootfs" true \
			</dev/null 2>&1 >/dev/null | tail -n1)")
	done
	echo "# peak RSS of 'rless run' (KiB, max over rless and the processes it waited for): ${rss[*]}"
	echo "# median peak RSS: $(printf '%s\n' "${rss[@]}" | sort -n | sed -n 3p) KiB"
}

if [[ $(id -u) -eq 0 ]]; then
	root_main "$@"
else
	user_main "$@"
fi
