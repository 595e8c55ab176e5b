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
#   RLESS_BENCH_RUNS=N  hyperfine runs per command (default 30; the start times: 60 in all)
#   RLESS_BENCH_ROUNDS=N  rounds the start-time commands take turns in (default 6)
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
	if [[ ${RLESS_BENCH_ONLY:-} != network ]]; then
		# ext4 here slows down after many creates and deletes (a test run) until the caches
		# are dropped: every timing starts from dropped caches.
		sync
		echo 1 >/proc/sys/vm/drop_caches
		(cd "$stage" && runuser -u "$RLESSTEST_USER" -- env -i "${env1[@]}" \
			RLESS_BENCH_WORKDIR="$stage/work" bash "$stage/tests/bench/run.sh") || rc=$?
		if [[ -f $stage/work/bench.json && -d $top/build ]]; then
			cp "$stage/work/bench.json" "$top/build/bench.json"
			echo "# hyperfine results: $top/build/bench.json"
		fi
		image_bench "$stage" || rc=$?
	fi
	network_bench "$stage" || rc=$?
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

# podman, with runc: crun refuses this hybrid cgroup host.
need_podman() {
	local missing=()
	command -v podman >/dev/null || missing+=(podman)
	command -v runc >/dev/null || missing+=(runc)
	[[ ${#missing[@]} -eq 0 ]] || bash "$top/contrib/install-deps.sh" "${missing[@]}"
}

image_bench() {
	local stage=$1 w=$1/work reg img blob layer runs=${RLESS_BENCH_PULL_RUNS:-5} drop
	need_podman
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
if "podman-exec" in res:
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

# ---- networking (docs/networking.md) ----
# Start time with a helper and TCP throughput through a published port: rless vs podman with the
# same backend (runc: crun refuses this hybrid cgroup host). Debian 12's podman 4.3 has no pasta
# (podman 4.4 added it): rless' pasta is compared with pasta itself running the same server.
# The target: rless start with pasta <= 1.5 x (its start with --network none + pasta's own
# start), pasta's own start being the time from its exec to its readiness, run the way rless
# runs it (net_helper_start below). Throughput with slirp4netns for both port handlers: the
# default (rless' forwarder, src/net_forward.c, against podman's rootlessport) and
# port_handler=slirp4netns (slirp4netns' add_hostfwd in both tools).
#   RLESS_BENCH_NET_MB=N     size of the transfer (default 256 MiB)
#   RLESS_BENCH_NET_RUNS=N   transfers per configuration, round robin (default 15)
#   RLESS_BENCH_ONLY=network only this section
network_bench() {
	local stage=$1 w=$1/work/net runs=${RLESS_BENCH_RUNS:-30} p missing=()
	local mb=${RLESS_BENCH_NET_MB:-256} truns=${RLESS_BENCH_NET_RUNS:-15}
	command -v pasta >/dev/null || missing+=(passt)
	command -v slirp4netns >/dev/null || missing+=(slirp4netns)
	command -v curl >/dev/null || missing+=(curl)
	[[ ${#missing[@]} -eq 0 ]] || bash "$top/contrib/install-deps.sh" "${missing[@]}"
	need_podman
	# As for /dev/fuse in tests/integration/run.sh: what Debian's udev rules do.
	if [[ -c /dev/net/tun && $(stat -c %a /dev/net/tun) == 600 ]]; then
		echo "# /dev/net/tun is 0600 (no udev here): making it 0666 as Debian's udev rules do"
		chmod 0666 /dev/net/tun
	fi
	# A short runtime dir: podman's slirp4netns API socket path must fit in 108 bytes.
	local run
	run=$(mktemp -d /tmp/rlnb.XXXXXX)
	chown "$RLESSTEST_USER:" "$run"
	mkdir -p "$w/www"
	head -c "$((mb << 20))" /dev/urandom >"$w/www/big"
	tar -C "$stage/work/rootfs" -c . >"$w/bb.tar" 2>/dev/null ||
		{ "$top/tests/fixtures/mkrootfs-busybox.sh" "$w/rootfs" >/dev/null && tar -C "$w/rootfs" -c . >"$w/bb.tar"; }
	chown -R "$RLESSTEST_USER:" "$w"
	local -a env2=("${env1[@]}" "XDG_RUNTIME_DIR=$run")
	local u="runuser -u $RLESSTEST_USER -- env -i ${env2[*]}"
	local rl="$stage/build/rless --root $w/store"
	local pod="podman --runtime runc --storage-driver overlay --root $w/ps --runroot $w/pr"
	$u $rl import "$w/bb.tar" bb:1 >/dev/null
	$u $pod import -q "$w/bb.tar" localhost/bb:1 >/dev/null
	echo "# networking: start time (image bb:1, the busybox rootfs, in each tool's store)"
	hyperfine --warmup 3 --runs "$runs" --export-json "$w/start.json" \
		--command-name rless-none "$u $rl run --rm --network none bb:1 true" \
		--command-name rless-pasta "$u $rl run --rm --network pasta bb:1 true" \
		--command-name rless-slirp4netns "$u $rl run --rm --network slirp4netns bb:1 true" \
		--command-name podman-none "$u $pod run --rm --network none localhost/bb:1 true" \
		--command-name podman-slirp4netns "$u $pod run --rm --network slirp4netns localhost/bb:1 true" \
		>/dev/null
	$u python3 - >"$w/helper.json" <<'PY'
# The helpers' own start, as rless runs them: exec to readiness, on a fresh user+net namespace.
import json, os, statistics, subprocess, time

def one(argv, fds_from):
    ns = subprocess.Popen(["unshare", "-Urn", "sh", "-c", "echo; exec sleep 30"], stdout=subprocess.PIPE)
    ns.stdout.readline()
    user = os.open(f"/proc/{ns.pid}/ns/user", os.O_RDONLY)
    net = os.open(f"/proc/{ns.pid}/ns/net", os.O_RDONLY)
    rd, wr = os.pipe()
    ex_r, ex_w = os.pipe()
    fds = {3: user, 4: net, 5: wr, 6: ex_r}
    def child():
        for k, v in fds.items():
            os.dup2(os.dup(v), k)
    t = time.perf_counter()
    h = subprocess.Popen(argv, preexec_fn=child, pass_fds=(3, 4, 5, 6), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    os.close(wr)
    os.read(rd, 64)
    dt = time.perf_counter() - t
    h.kill(); h.wait(); ns.kill(); ns.wait()
    for f in (user, net, rd, ex_r, ex_w):
        os.close(f)
    return dt

pasta = ["pasta", "--config-net", "--quiet", "--foreground", "--no-netns-quit", "--userns",
         "/proc/self/fd/3", "--netns", "/proc/self/fd/4", "--pid", "/proc/self/fd/5", "-T", "none",
         "-U", "none", "-t", "none", "-u", "none"]
slirp = ["slirp4netns", "--configure", "--ready-fd=5", "--exit-fd=6", "--netns-type=path",
         "--userns-path=/proc/self/fd/3", "--mtu=65520", "/proc/self/fd/4", "tap0"]
out = {}
for name, argv in (("pasta", pasta), ("slirp4netns", slirp)):
    one(argv, None)
    out[name] = statistics.median(one(argv, None) for _ in range(20))
print(json.dumps(out))
PY
	python3 - "$w/start.json" "$w/helper.json" <<'PY'
import json, sys
res = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
own = json.load(open(sys.argv[2]))
for n, m in res.items():
    print(f"  {n:20s} median {m * 1000:7.2f} ms")
for h in ("pasta", "slirp4netns"):
    print(f"  {h + ' alone':20s} median {own[h] * 1000:7.2f} ms  (exec to ready)")
for h in ("pasta", "slirp4netns"):
    bound = 1.5 * (res["rless-none"] + own[h])
    r = res[f"rless-{h}"]
    print(f"# rless-{h} {r * 1000:.1f} ms vs 1.5 x (rless-none + {h} alone) = {bound * 1000:.1f} ms: "
          f"{'within' if r <= bound else 'OVER'} target; overhead over none {(r - res['rless-none']) * 1000:.1f} ms")
print(f"# ratio rless-slirp4netns/podman-slirp4netns (median): {res['rless-slirp4netns'] / res['podman-slirp4netns']:.2f}")
print(f"# ratio rless-none/podman-none (median): {res['rless-none'] / res['podman-none']:.2f}")
PY
	echo "# networking: TCP throughput, ${mb} MiB downloads from busybox httpd through 127.0.0.1:PORT ($truns runs)"
	local port=18480 names=() cmds=() pids=()
	net_server() { # NAME START-COMMAND...: start a server publishing $port, queue its download
		local name=$1
		shift
		"$@" >"$w/$name.log" 2>&1 &
		pids+=($!)
		local i
		for ((i = 0; i < 300; i++)); do
			curl -sf -o /dev/null --max-time 30 "http://127.0.0.1:$port/big" && break
			sleep 0.1
		done
		if ((i < 300)); then
			names+=("$name")
			cmds+=("curl -s -o /dev/null http://127.0.0.1:$port/big")
		else
			echo "# $name: the server did not answer on port $port: $(tail -n 3 "$w/$name.log")" >&2
		fi
		port=$((port + 1))
	}
	local www="-v $w/www:/www:ro" srv="httpd -f -p 80 -h /www"
	net_server rless-pasta $u $rl run -d --rm --name nb1 --network pasta -p "127.0.0.1:$port:80" $www bb:1 $srv
	net_server rless-slirp4netns $u $rl run -d --rm --name nb2 --network slirp4netns -p "127.0.0.1:$port:80" $www bb:1 $srv
	net_server rless-slirp4netns-hostfwd $u $rl run -d --rm --name nb5 --network slirp4netns:port_handler=slirp4netns -p "127.0.0.1:$port:80" $www bb:1 $srv
	net_server pasta-alone $u pasta --config-net -q -f -P "$w/pasta.pid" -t "127.0.0.1/$port:80" -u none \
		-T none -U none -- busybox httpd -f -p 80 -h "$w/www"
	net_server podman-slirp4netns $u $pod run -d --rm --name nb3 --network slirp4netns:port_handler=slirp4netns -p "127.0.0.1:$port:80" $www localhost/bb:1 $srv
	net_server podman-rootlessport $u $pod run -d --rm --name nb4 --network slirp4netns -p "127.0.0.1:$port:80" $www localhost/bb:1 $srv
	# Round robin, not one configuration after the other: on a shared machine the load moves.
	python3 - "$mb" "$truns" "${names[@]}" -- "${cmds[@]}" <<'PY'
import statistics, subprocess, sys, time
mb, runs = int(sys.argv[1]), int(sys.argv[2])
rest = sys.argv[3:]
cut = rest.index("--")
names, cmds = rest[:cut], rest[cut + 1:]
times = {n: [] for n in names}
for n, c in zip(names, cmds):
    subprocess.run(c.split(), check=True)  # warm-up
for _ in range(runs):
    for n, c in zip(names, cmds):
        t = time.perf_counter()
        subprocess.run(c.split(), check=True)
        times[n].append(time.perf_counter() - t)
res = {n: statistics.median(v) for n, v in times.items()}
for n, m in res.items():
    print(f"  {n:26s} median {m:7.3f} s   {mb / m:8.1f} MiB/s   (min {min(times[n]):.3f}, max {max(times[n]):.3f})")
def ratio(a, b, what):
    if a in res and b in res:
        print(f"# throughput {a}/{b}: {res[b] / res[a]:.2f} ({what})")
ratio("rless-pasta", "pasta-alone", "same backend; podman 4.3 has no pasta")
ratio("rless-slirp4netns", "podman-rootlessport",
      "slirp4netns, default port handlers: rless' forwarder and podman's rootlessport")
ratio("rless-slirp4netns-hostfwd", "podman-slirp4netns",
      "slirp4netns, port_handler=slirp4netns in both: slirp4netns' own add_hostfwd")
PY
	$u $rl rm -f nb1 nb2 nb5 >/dev/null 2>&1 || true
	$u $pod rm -f -t 0 nb3 >/dev/null 2>&1 || true
	$u $pod rm -f -t 0 nb4 >/dev/null 2>&1 || true
	if [[ -s $w/pasta.pid ]]; then # its server is the init of a pid namespace: SIGKILL
		pkill -9 -P "$(<"$w/pasta.pid")" 2>/dev/null || true
		kill "$(<"$w/pasta.pid")" 2>/dev/null || true
	fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	# rootless podman's pause process keeps its user namespace for the next command: not needed now
	[[ ! -s $run/libpod/tmp/pause.pid ]] || kill "$(<"$run/libpod/tmp/pause.pid")" 2>/dev/null || true
	# podman's cleanup processes may still be writing its events log: a second try
	rm -rf "$run" 2>/dev/null || rm -rf "$run"
	cp "$w/start.json" "$top/build/net-start.json" 2>/dev/null || true
}

user_main() {
	local rless work rootfs runs json rss=()
	need_packages
	rless=$(readlink -f "${RLESS:-$top/build/rless}")
	[[ -x $rless ]] || { echo "bench: $rless not built (run make)" >&2; exit 1; }
	runs=${RLESS_BENCH_RUNS:-60}
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

	# The three commands take turns in rounds (one hyperfine invocation, a block of runs per
	# command and round): this VM's speed drifts by 20-30 % within a minute, and one block per
	# command would measure each at a different speed. Medians are over all runs of a command;
	# the per-round ratios show the spread.
	local rounds=${RLESS_BENCH_ROUNDS:-6} per args=() i
	per=$(((runs + rounds - 1) / rounds))
	for ((i = 1; i <= rounds; i++)); do
		args+=(--command-name "rless#$i" "$rless run --rm --network none --rootfs $rootfs true"
			--command-name "bwrap#$i" "bwrap --unshare-all --ro-bind $rootfs / --proc /proc --dev /dev true"
			--command-name "unshare#$i" "unshare -Urmpfiu --mount-proc true")
	done
	echo "# $rounds rounds of $per runs per command ($((rounds * per)) each)"
	hyperfine --warmup 3 --runs "$per" --shell=none --export-json "$json" "${args[@]}" </dev/null >/dev/null

	python3 - "$json" <<'PY'
import json, statistics, sys
times, rounds = {}, {}
for r in json.load(open(sys.argv[1]))["results"]:
    name, rnd = r["command"].split("#")
    times.setdefault(name, []).extend(r["times"])
    rounds.setdefault(rnd, {})[name] = r["median"]
med = {n: statistics.median(t) for n, t in times.items()}
print("# median start time (ms):")
for n, t in times.items():
    print(f"  {n:8s} {med[n] * 1000:8.2f}   (mean {statistics.mean(t) * 1000:.2f} ± {statistics.pstdev(t) * 1000:.2f}, {len(t)} runs)")
print(f"# ratio rless/bwrap (median): {med['rless'] / med['bwrap']:.2f}")
per = sorted(r["rless"] / r["bwrap"] for r in rounds.values())
print(f"#   per round: {' '.join(f'{x:.2f}' for x in per)}")
print(f"# ratio rless/unshare (median): {med['rless'] / med['unshare']:.2f}")
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
