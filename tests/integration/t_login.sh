# t_login.sh — rless login/logout against local registries (Basic auth and Bearer tokens) that
# each test starts under its scratch dir and stops when it ends.
# shellcheck shell=bash disable=SC2016,SC2034

LOGIN_USER=rlt
LOGIN_PASS='s3cret:with colon'

# start_registry [start.sh options]: a docker-registry under $T/reg, stopped on exit; sets REG
# (127.0.0.1:PORT) and AUTH (the auth file the tests use).
start_registry() {
	require_cmd docker-registry docker-registry
	require_cmd python3 python3
	local port
	port=$(bash "$TOP/tests/registry/start.sh" "$T/reg" "$@") || fail "the test registry did not start"
	trap 'bash "$TOP/tests/registry/stop.sh" "$T/reg"' EXIT
	REG=127.0.0.1:$port
	AUTH=$T/auth/auth.json
}

start_basic_registry() {
	require_cmd htpasswd apache2-utils
	htpasswd -Bbn "$LOGIN_USER" "$LOGIN_PASS" >"$T/htpasswd"
	start_registry --htpasswd "$T/htpasswd"
}

# login_stdin PASSWORD ARG...: rless login with the password on standard input.
login_stdin() {
	local pw=$1
	shift
	printf '%s\n' "$pw" >"$T/pw"
	STDIN_FILE=$T/pw run_rless login --password-stdin "$@"
}

# auth_entry FILE KEY: the decoded "user:password" of the entry, or "none".
auth_entry() {
	python3 - "$1" "$2" <<-'EOF'
		import base64, json, sys
		try:
		    auths = json.load(open(sys.argv[1])).get("auths", {})
		except FileNotFoundError:
		    auths = {}
		e = auths.get(sys.argv[2])
		print(base64.b64decode(e["auth"]).decode() if e else "none")
	EOF
}

test_login_stores_verified_credentials() {
	start_basic_registry
	login_stdin "$LOGIN_PASS" -u "$LOGIN_USER" --authfile "$AUTH" --tls-verify=false "$REG"
	assert_rc 0
	assert_eq "Login Succeeded" "$OUT" "stdout"
	assert_eq "$LOGIN_USER:$LOGIN_PASS" "$(auth_entry "$AUTH" "$REG")" "stored credentials"
	assert_eq 600 "$(stat -c %a "$AUTH")" "auth file mode"
	assert_eq 700 "$(stat -c %a "$T/auth")" "auth dir mode"
}

test_login_wrong_password_stores_nothing() {
	start_basic_registry
	login_stdin wrong -u "$LOGIN_USER" --authfile "$AUTH" --tls-verify=false "$REG"
	assert_rc 125
	assert_contains "$ERR" "authentication to $REG failed" "stderr"
	assert_not_contains "$OUT" "Login Succeeded" "stdout"
	[[ ! -e $AUTH ]] || fail "a refused login created $AUTH"

	# A refused login leaves an existing file, and its other entries, alone.
	login_stdin "$LOGIN_PASS" -u "$LOGIN_USER" --authfile "$AUTH" --tls-verify=false "$REG"
	assert_rc 0
	cp "$AUTH" "$T/before.json"
	login_stdin wrong -u other --authfile "$AUTH" --tls-verify=false "$REG"
	assert_rc 125
	assert_contains "$ERR" "authentication to $REG failed" "stderr"
	cmp -s "$T/before.json" "$AUTH" || fail "a refused login changed $AUTH"
}

test_login_unknown_user_fails() {
	start_basic_registry
	login_stdin "$LOGIN_PASS" -u nobody --authfile "$AUTH" --tls-verify=false "$REG"
	assert_rc 125
	assert_contains "$ERR" "authentication to $REG failed" "stderr"
	assert_eq none "$(auth_entry "$AUTH" "$REG")" "stored credentials"
}

test_login_insecure_from_registries_conf() {
	start_basic_registry
	printf '{"registries": [{"prefix": "%s", "insecure": true}]}\n' "$REG" >"$T/registries.json"
	# -p works too, with a warning that it shows the password to other users.
	run_rless login -u "$LOGIN_USER" -p "$LOGIN_PASS" --authfile "$AUTH" \
		--registries-conf "$T/registries.json" "$REG"
	assert_rc 0
	assert_eq "Login Succeeded" "$OUT" "stdout"
	assert_contains "$ERR" "--password-stdin" "stderr (warning about -p)"
	assert_eq "$LOGIN_USER:$LOGIN_PASS" "$(auth_entry "$AUTH" "$REG")" "stored credentials"

	# Without the config (and without --tls-verify=false) rless speaks https: that fails against
	# this plain http registry, and nothing is stored.
	rm -f "$AUTH"
	login_stdin "$LOGIN_PASS" -u "$LOGIN_USER" --authfile "$AUTH" "$REG"
	assert_rc 125
	assert_contains "$ERR" "log in to $REG" "stderr"
	[[ ! -e $AUTH ]] || fail "a failed login created $AUTH"
	# --tls-verify=true beats the config's insecure.
	login_stdin "$LOGIN_PASS" -u "$LOGIN_USER" --authfile "$AUTH" --tls-verify=true \
		--registries-conf "$T/registries.json" "$REG"
	assert_rc 125
	[[ ! -e $AUTH ]] || fail "a failed login created $AUTH"
}

test_login_reuses_valid_credentials() {
	start_basic_registry
	login_stdin "$LOGIN_PASS" -u "$LOGIN_USER" --authfile "$AUTH" --tls-verify=false "$REG"
	assert_rc 0
	# No -u/-p: the stored credentials are checked, nothing is asked.
	run_rless login --authfile "$AUTH" --tls-verify=false "$REG"
	assert_rc 0
	assert_contains "$OUT" "Already logged in to $REG" "stdout"
}

test_login_without_terminal_says_how() {
	start_basic_registry
	require_cmd setsid util-linux
	LAST_CMD="setsid rless login -u $LOGIN_USER --authfile $AUTH --tls-verify=false $REG"
	RC=0
	# setsid: no controlling terminal, even when the suite runs from one.
	timeout -k 5 "$RUN_TIMEOUT" setsid -w "$RLESS" login -u "$LOGIN_USER" --authfile "$AUTH" \
		--tls-verify=false "$REG" </dev/null >"$T/.out" 2>"$T/.err" || RC=$?
	OUT=$(<"$T/.out")
	ERR=$(<"$T/.err")
	assert_rc 125
	assert_contains "$ERR" "/dev/tty" "stderr"
	assert_contains "$ERR" "--password-stdin" "stderr (hint)"
}

test_logout_removes_credentials() {
	start_basic_registry
	mkdir -p "$T/auth"
	printf '{"auths": {"other.example": {"auth": "dTpw"}}, "keep": 1}\n' >"$AUTH"
	login_stdin "$LOGIN_PASS" -u "$LOGIN_USER" --authfile "$AUTH" --tls-verify=false "$REG"
	assert_rc 0
	run_rless logout --authfile "$AUTH" "$REG"
	assert_rc 0
	assert_eq "Removed login credentials for $REG" "$OUT" "stdout"
	assert_eq none "$(auth_entry "$AUTH" "$REG")" "entry after logout"
	assert_eq "u:p" "$(auth_entry "$AUTH" other.example)" "other entry after logout"
	python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])).get("keep") != 1)' "$AUTH" ||
		fail "logout dropped another key of $AUTH"

	run_rless logout --authfile "$AUTH" "$REG"
	assert_rc 125
	assert_contains "$ERR" "not logged in to $REG" "stderr"
}

test_logout_all() {
	mkdir -p "$T/auth"
	AUTH=$T/auth/auth.json
	printf '{"auths": {"a.example": {"auth": "dTpw"}, "https://index.docker.io/v1/": {"auth": "dTpw"}}}\n' >"$AUTH"
	run_rless logout --authfile "$AUTH" --all
	assert_rc 0
	assert_eq "Removed login credentials for all registries" "$OUT" "stdout"
	assert_eq none "$(auth_entry "$AUTH" a.example)" "a.example after logout --all"
	assert_eq none "$(auth_entry "$AUTH" https://index.docker.io/v1/)" "docker.io after logout --all"
	run_rless logout --authfile "$AUTH" --all a.example
	assert_rc 125
}

test_login_token_registry() {
	require_cmd openssl openssl
	start_registry --token-server "$LOGIN_USER:tokenpw"
	login_stdin tokenpw -u "$LOGIN_USER" --authfile "$AUTH" --tls-verify=false "$REG"
	assert_rc 0
	assert_eq "Login Succeeded" "$OUT" "stdout"
	assert_eq "$LOGIN_USER:tokenpw" "$(auth_entry "$AUTH" "$REG")" "stored credentials"
	rm -f "$AUTH"
	login_stdin wrong -u "$LOGIN_USER" --authfile "$AUTH" --tls-verify=false "$REG"
	assert_rc 125
	assert_contains "$ERR" "authentication to $REG failed" "stderr"
	[[ ! -e $AUTH ]] || fail "a refused login created $AUTH"
}

test_login_usage_errors() {
	AUTH=$T/auth.json
	run_rless login -u a -p b --password-stdin --authfile "$AUTH" 127.0.0.1:5
	assert_rc 125
	assert_contains "$ERR" "exclude each other" "stderr"
	run_rless login --password-stdin --authfile "$AUTH" 127.0.0.1:5
	assert_rc 125
	assert_contains "$ERR" "-u" "stderr"
	run_rless login -u a -p b --authfile "$AUTH" https://quay.io/v2/
	assert_rc 125
	assert_contains "$ERR" "invalid registry \`https://quay.io/v2/\`" "stderr"
	run_rless login -u a -p b --tls-verify=maybe 127.0.0.1:5
	assert_rc 125
	assert_contains "$ERR" "maybe" "stderr"
	run_rless logout --authfile "$AUTH"
	assert_rc 125
	[[ ! -e $AUTH ]] || fail "usage errors created $AUTH"
}
