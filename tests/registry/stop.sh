#!/bin/bash
# stop.sh DIR — stop what start.sh DIR started (the registry and its token server, if any).
# DIR and the pushed images stay; remove DIR to start afresh.
set -uo pipefail

[[ $# -eq 1 ]] || { echo "usage: stop.sh DIR" >&2; exit 2; }
dir=$1
[[ -d $dir ]] || exit 0
dir=$(cd "$dir" && pwd)

# ours PID: PID runs (a zombie waiting for its reaper does not) and is one of DIR's processes:
# both have DIR on their command line, and a stale pid file must not kill a stranger.
ours() {
	local state cmd
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z ]] || return 1
	cmd=" $(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) "
	[[ $cmd == *" $dir/"* || $cmd == *" $dir "* ]]
}

for f in "$dir/pid" "$dir/token.pid"; do
	[[ -f $f ]] || continue
	pid=$(cat "$f")
	if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid" && kill "$pid" 2>/dev/null; then
		for _ in $(seq 50); do
			ours "$pid" || break
			sleep 0.1
		done
		! ours "$pid" || kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
done
rm -f "$dir/port" "$dir/token.port"
