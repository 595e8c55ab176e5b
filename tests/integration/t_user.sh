# t_user.sh — -u, -e, --env-file, -w.
# shellcheck shell=bash disable=SC2016,SC2034

test_user_numeric() {
	rrun_ok -u 1000 sh -c 'id -u; id -g'
	assert_eq $'1000\n1000' "$OUT" "id -u, id -g with -u 1000 (gid from passwd)"
}

test_user_numeric_unknown_uid() {
	rrun_ok -u 4242 sh -c 'id -u; id -g'
	assert_eq $'4242\n0' "$OUT" "id -u, id -g with -u 4242 (not in passwd)"
}

test_user_by_name_with_groups() {
	rrun_ok -u tester sh -c 'id -u; id -g; id -G; echo $HOME'
	assert_eq $'1000\n1000\n1000 2000\n/home/tester' "$OUT" "id -u, id -g, id -G, HOME with -u tester"
}

test_user_uid_gid() {
	rrun_ok -u 1000:100 sh -c 'id -u; id -g'
	assert_eq $'1000\n100' "$OUT" "id -u, id -g with -u 1000:100"
	rrun_ok -u tester:users sh -c 'id -u; id -g'
	assert_eq $'1000\n100' "$OUT" "id -u, id -g with -u tester:users"
}

test_user_unknown_name_fails() {
	rrun -u nosuchuser true
	[[ $RC -ne 0 ]] || { show_run >&2; fail "-u nosuchuser succeeded"; }
	assert_contains "$ERR" "nosuchuser" "stderr"
}

test_user_cannot_write_root_files() {
	rrun -u 1000 sh -c 'echo x > /etc/passwd'
	[[ $RC -ne 0 ]] || { show_run >&2; fail "uid 1000 wrote /etc/passwd"; }
	assert_contains "$ERR" "Permission denied" "stderr"
}

test_env_option() {
	# shellcheck disable=SC2016
	HOSTVAR=from-host rrun_ok -e FOO=bar -e 'SPACED=a b  c' -e EMPTY= -e HOSTVAR -e UNSETVAR_RLESS \
		sh -c 'echo "$FOO|$SPACED|$EMPTY|${EMPTY+set}|$HOSTVAR|${UNSETVAR_RLESS-unset}"'
	assert_eq "bar|a b  c||set|from-host|unset" "$OUT" "environment with -e"
}

test_env_host_not_leaked() {
	# shellcheck disable=SC2016
	HOSTVAR=from-host rrun_ok sh -c 'echo "${HOSTVAR-unset}"; echo "$PATH" | grep -c /bin'
	assert_eq $'unset\n1' "$OUT" "host variable without -e; PATH set"
}

test_env_file() {
	cat >"$T/env" <<'ENV'
# a comment
A=1

B=two words
  # indented comment
C=with=equals
HOSTVAR
ENV
	# shellcheck disable=SC2016
	HOSTVAR=from-host rrun_ok --env-file "$T/env" -e A=override \
		sh -c 'echo "$A|$B|$C|$HOSTVAR|${a-unset}"; env | grep -c "^#" || true'
	assert_eq $'override|two words|with=equals|from-host|unset\n0' "$OUT" "environment from --env-file (then -e)"
}

test_env_file_missing_fails() {
	rrun --env-file "$T/none" true
	assert_rc 125
	assert_contains "$ERR" "$T/none" "stderr"
}

test_workdir() {
	rrun_ok -w /tmp pwd
	assert_eq /tmp "$OUT" "pwd with -w /tmp"
	rrun_ok -w /etc -u tester pwd
	assert_eq /etc "$OUT" "pwd with -w /etc -u tester"
	rrun_ok pwd
	assert_eq / "$OUT" "default working directory"
}
