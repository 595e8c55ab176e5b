#!/bin/bash
# start.sh DIR [--htpasswd FILE] [--token-realm URL [--token-cert FILE]] [--token-server USER:PASS]
#
# Start a local OCI registry (Debian's docker-registry, the distribution registry) for tests:
# listening on 127.0.0.1 on a free port, storage under DIR/storage, config DIR/config.yml, log
# DIR/registry.log. Prints the port on stdout and writes DIR/port and DIR/pid; stop it with
# stop.sh DIR.
#
#   --htpasswd FILE         Basic auth against FILE (bcrypt: htpasswd -Bbn USER PASS >FILE)
#   --token-realm URL       Bearer tokens from URL, signed by the key of --token-cert
#                           (default DIR/token.crt); issuer rless-test-issuer, service
#                           rless-test-registry (what token_server.py uses)
#   --token-server U:P      start token_server.py under DIR (user U, password P; anonymous
#                           clients get nothing) and use it as the token realm; it is stopped
#                           by stop.sh too. Add --token-ttl SECONDS for short-lived tokens,
#                           --token-anonymous to let clients without credentials pull (as
#                           Docker Hub does for public images).
#
# Installs the docker-registry package with apt-get when it is missing and we are root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() {
	sed -n '2,3p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2
	exit 2
}
[[ $# -ge 1 ]] || usage
dir=$1
shift
htpasswd='' realm='' cert='' token_user='' token_ttl=300 token_anon=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--htpasswd) htpasswd=$2; shift 2 ;;
	--token-realm) realm=$2; shift 2 ;;
	--token-cert) cert=$2; shift 2 ;;
	--token-server) token_user=$2; shift 2 ;;
	--token-ttl) token_ttl=$2; shift 2 ;;
	--token-anonymous) token_anon=(--anonymous); shift ;;
	*) usage ;;
	esac
done

if ! command -v docker-registry >/dev/null; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		echo "start.sh: installing docker-registry" >&2
		# The package may try to start its service: without systemd that does nothing.
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry >&2
	else
		echo "start.sh: docker-registry not installed (as root: apt-get install docker-registry)" >&2
		exit 1
	fi
fi

mkdir -p "$dir/storage"
dir=$(cd "$dir" && pwd)
if [[ -f $dir/pid ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
	echo "start.sh: a registry already runs for $dir (pid $(cat "$dir/pid"))" >&2
	exit 1
fi

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# answers PORT: the registry's /v2/ gives any HTTP status (200, or 401 with auth)
answers() {
	python3 - "$1" <<-'EOF'
		import sys, urllib.request, urllib.error
		try:
		    urllib.request.urlopen("http://127.0.0.1:%s/v2/" % sys.argv[1], timeout=1)
		except urllib.error.HTTPError:
		    pass
		except Exception:
		    sys.exit(1)
	EOF
}

if [[ -n $token_user ]]; then
	python3 "$here/token_server.py" "$dir" --user "$token_user" --ttl "$token_ttl" "${token_anon[@]}" \
		>"$dir/token.log" 2>&1 &
	for _ in $(seq 100); do
		[[ -s $dir/token.port ]] && break
		sleep 0.1
	done
	[[ -s $dir/token.port ]] || { echo "start.sh: token server did not start:" >&2; cat "$dir/token.log" >&2; exit 1; }
	realm="http://127.0.0.1:$(cat "$dir/token.port")/token"
	cert=${cert:-$dir/token.crt}
fi

auth=
if [[ -n $htpasswd ]]; then
	auth=$(printf 'auth:\n  htpasswd:\n    realm: rless-test\n    path: %s\n' "$(realpath "$htpasswd")")
elif [[ -n $realm ]]; then
	cert=$(realpath "${cert:-$dir/token.crt}")
	auth=$(printf 'auth:\n  token:\n    realm: %s\n    service: rless-test-registry\n    issuer: rless-test-issuer\n    rootcertbundle: %s\n' "$realm" "$cert")
fi

# A port can be taken between choosing it and binding it: try a few.
for _ in 1 2 3 4 5; do
	port=$(free_port)
	awk -v addr="127.0.0.1:$port" -v root="$dir/storage" -v auth="$auth" '
		{ gsub(/@ADDR@/, addr); gsub(/@ROOT@/, root) }
		/^@AUTH@$/ { if (auth != "") print auth; next }
		{ print }' "$here/config.yml.in" >"$dir/config.yml"
	docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		if answers "$port"; then
			echo "$pid" >"$dir/pid"
			echo "$port" >"$dir/port"
			echo "$port"
			exit 0
		fi
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
echo "start.sh: docker-registry did not start; its log:" >&2
cat "$dir/registry.log" >&2
exit 1
