#!/bin/bash
# tests/bench/run.sh — `make bench`: container start time of rless against bubblewrap and
# unshare(1) in one hyperfine run on this machine, the ratio rless/bwrap, and the peak RSS of
# `rless run`. Benchmarks are not tests: nothing here fails on slowness.
#
# As root, the benchmark runs as the test user rlesstest (tests/lib/testuser.sh) from a copy
# under /tmp, so the real rootless path (newuidmap/newgidmap) is measured; the hyperfine JSON
# is copied to build/bench.json. As a normal user it runs directly.
#   RLESS=PATH          binary to measure (default build/rless)
#   RLESS_BENCH_RUNS=N  hyperfine runs per command (default 30)
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
	exit "$rc"
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
