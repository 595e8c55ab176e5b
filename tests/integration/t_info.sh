# t_info.sh — rless info.
# shellcheck shell=bash disable=SC2016,SC2034

test_info_text() {
	run_rless info
	assert_rc 0
	[[ -n $OUT ]] || fail "rless info printed nothing"
	assert_contains "$OUT" "newuidmap" "rless info"
}

test_info_json_is_valid() {
	require_cmd python3 python3
	run_rless info --format json
	assert_rc 0
	printf '%s\n' "$OUT" >"$T/info.json"
	python3 -m json.tool "$T/info.json" >/dev/null || { show_run >&2; fail "not valid JSON"; }
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if isinstance(d, dict) and d else 1)' "$T/info.json" ||
		fail "JSON is not a non-empty object"
}

test_info_bad_format_fails() {
	run_rless info --format yaml
	assert_rc 125
}
