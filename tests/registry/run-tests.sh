#!/bin/bash
# run-tests.sh [TEST_BINARY] — run the registry client's tests against real registries.
#
# Starts three docker-registry instances on 127.0.0.1 in a temp dir (anonymous; Basic auth via
# htpasswd; Bearer tokens from token_server.py), pushes test images with skopeo
# (rless-test/busybox:latest into each, rless-test/tamper:latest into the anonymous one), runs
# TEST_BINARY (default build/tests/test_registry) with the RLESS_TEST_REGISTRY* variables set,
# and stops everything again. Needs docker-registry, skopeo, apache2-utils (htpasswd), openssl,
# python3 and busybox-static. Set RLESS_REGISTRY_KEEP=1 to keep the registries running
# (their dirs and the variables are printed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${1:-build/tests/test_registry}
for tool in docker-registry skopeo htpasswd openssl python3; do
	command -v "$tool" >/dev/null || {
		echo "run-tests.sh: $tool not installed (apt-get install docker-registry skopeo apache2-utils openssl python3)" >&2
		exit 1
	}
done

work=$(mktemp -d /tmp/rless-registries-XXXXXX)
cleanup() {
	for d in "$work"/plain "$work"/basic "$work"/token; do
		[[ -d $d ]] && bash "$here/stop.sh" "$d"
	done
	rm -rf "$work"
}
[[ ${RLESS_REGISTRY_KEEP:-} == 1 ]] || trap cleanup EXIT

user=rless-tester
pass="pw-$RANDOM-$RANDOM"
htpasswd -Bbn "$user" "$pass" >"$work/htpasswd"

plain=$(bash "$here/start.sh" "$work/plain")
basic=$(bash "$here/start.sh" "$work/basic" --htpasswd "$work/htpasswd")
token=$(bash "$here/start.sh" "$work/token" --token-server "$user:$pass")

bash "$here/push-image.sh" "127.0.0.1:$plain" rless-test/busybox:latest >/dev/null
bash "$here/push-image.sh" "127.0.0.1:$plain" rless-test/tamper:latest --random 200000 >/dev/null
bash "$here/push-image.sh" "127.0.0.1:$basic" rless-test/busybox:latest --creds "$user:$pass" >/dev/null
bash "$here/push-image.sh" "127.0.0.1:$token" rless-test/busybox:latest --creds "$user:$pass" >/dev/null

export RLESS_TEST_REGISTRY=127.0.0.1:$plain
export RLESS_TEST_REGISTRY_DIR=$work/plain
export RLESS_TEST_REGISTRY_BASIC=127.0.0.1:$basic
export RLESS_TEST_REGISTRY_TOKEN=127.0.0.1:$token
export RLESS_TEST_REGISTRY_USER=$user
export RLESS_TEST_REGISTRY_PASSWORD=$pass
if [[ ${RLESS_REGISTRY_KEEP:-} == 1 ]]; then
	env | grep '^RLESS_TEST_REGISTRY' | sed 's/^/export /'
	echo "# stop with: for d in $work/*/; do bash $here/stop.sh \$d; done"
fi
"$bin"
