#!/bin/bash
# stop.sh DIR — stop what start.sh DIR started (the registry and its token server, if any).
# DIR and the pushed images stay; remove DIR to start afresh.
set -uo pipefail

[[ $# -eq 1 ]] || { echo "usage: stop.sh DIR" >&2; exit 2; }
dir=$1
for f in "$dir/pid" "$dir/token.pid"; do
	[[ -f $f ]] || continue
	pid=$(cat "$f")
	if kill "$pid" 2>/dev/null; then
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
done
rm -f "$dir/port" "$dir/token.port"
