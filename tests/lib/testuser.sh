# tests/lib/testuser.sh — create or reuse the unprivileged users the tests run as (root only).
# Sourced by tests/integration/run.sh and tests/bench/run.sh.
#
#   rlesstest   two subordinate id ranges (RLESSTEST_RANGES) in /etc/subuid and /etc/subgid
#   rlesstest2  no subordinate ids at all (by name or by uid), for the single-id map
#
# Idempotent: an existing user is reused, its subordinate id lines are rewritten only when they
# differ from the wanted ones, and never duplicated. Ranges chosen so they do not overlap the
# ranges useradd hands out from SUB_UID_MIN upwards on a fresh Debian machine.
# shellcheck shell=bash

RLESSTEST_USER=${RLESSTEST_USER:-rlesstest}
RLESSTEST_USER2=${RLESSTEST_USER2:-rlesstest2}
RLESSTEST_RANGES=${RLESSTEST_RANGES:-"300000:65536 400000:1000"}

# rl_testuser_log MSG...: progress on stderr, same prefix everywhere.
rl_testuser_log() { echo "# testuser: $*" >&2; }

# rl_testuser_missing_tools: prints the tools user management needs that are absent.
rl_testuser_missing_tools() {
	local t missing=()
	for t in useradd runuser getent; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	echo "${missing[*]}"
}

# rl_testuser_create NAME: create NAME (home under /home, bash) unless it exists.
rl_testuser_create() {
	local name=$1
	if getent passwd "$name" >/dev/null; then
		return 0
	fi
	rl_testuser_log "creating user $name"
	useradd --create-home --shell /bin/bash --user-group "$name" || return 1
}

# rl_subid_set FILE NAME "START:COUNT ...": make FILE list exactly these ranges for NAME, in
# this order, and no line keyed by NAME's uid. Rewrites FILE (atomically) only on a difference.
rl_subid_set() {
	local file=$1 name=$2 ranges=$3 uid current wanted r tmp
	uid=$(id -u "$name") || return 1
	[[ -e $file ]] || : >"$file"
	current=$(awk -F: -v n="$name" -v u="$uid" '$1 == n || $1 == u' "$file")
	wanted=""
	for r in $ranges; do
		wanted+="$name:$r"$'\n'
	done
	if [[ $current == "${wanted%$'\n'}" ]]; then
		return 0
	fi
	rl_testuser_log "setting $file for $name: ${ranges:-no ranges}"
	tmp=$(mktemp "$file.rless.XXXXXX") || return 1
	{
		awk -F: -v n="$name" -v u="$uid" '!($1 == n || $1 == u)' "$file"
		printf '%s' "$wanted"
	} >"$tmp" || { rm -f "$tmp"; return 1; }
	chmod 0644 "$tmp" && mv -f "$tmp" "$file"
}

# rl_testusers_setup: both users with their subordinate ids. Returns non-zero on failure.
rl_testusers_setup() {
	local f
	if [[ $(id -u) -ne 0 ]]; then
		rl_testuser_log "rl_testusers_setup needs root"
		return 1
	fi
	rl_testuser_create "$RLESSTEST_USER" || return 1
	rl_testuser_create "$RLESSTEST_USER2" || return 1
	for f in /etc/subuid /etc/subgid; do
		rl_subid_set "$f" "$RLESSTEST_USER" "$RLESSTEST_RANGES" || return 1
		rl_subid_set "$f" "$RLESSTEST_USER2" "" || return 1
	done
}

# rl_testuser_env NAME: prints NAME=VALUE words for `env -i` that give NAME a clean login-like
# environment, keeping CI and every RLESS_* variable of the caller.
rl_testuser_env() {
	local name=$1 home v
	home=$(getent passwd "$name" | cut -d: -f6)
	printf '%s\n' "HOME=$home" "USER=$name" "LOGNAME=$name" "LANG=C.UTF-8" \
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "TERM=${TERM:-dumb}"
	for v in $(compgen -e); do
		if [[ $v == CI || $v == RLESS_* ]]; then
			printf '%s=%s\n' "$v" "${!v}"
		fi
	done
}
