# t_userns.sh — id maps: subordinate ranges after root, keep-id, single, missing newuidmap.
# shellcheck shell=bash disable=SC2016,SC2034

# expected_map uid|gid: "0 ID 1" then every subordinate range at 1, 1+count1, ...
# RLESS_TEST_EXPECT_RANGES (set by run.sh as root) must agree with the files.
expected_map() {
	local kind=$1 id ranges inside=1 start count
	id=$(id -"${kind:0:1}")
	ranges=$(subid_ranges "$kind")
	if [[ -n ${RLESS_TEST_EXPECT_RANGES:-} ]]; then
		local want
		want=$(tr ' :' '\n ' <<<"$RLESS_TEST_EXPECT_RANGES")
		assert_eq "$want" "$ranges" "ranges for $(id -un) in /etc/sub$kind"
	fi
	echo "0 $id 1"
	while read -r start count; do
		echo "$inside $start $count"
		inside=$((inside + count))
	done <<<"$ranges"
}

test_uid_map_has_user_and_both_ranges() {
	require_subids
	[[ $(subid_ranges uid | wc -l) -ge 2 ]] || skip "user $(id -un) has fewer than two subuid ranges"
	local want
	want=$(expected_map uid)
	rrun_ok cat /proc/self/uid_map
	assert_eq "$want" "$(norm <<<"$OUT")" "uid_map inside"
}

test_gid_map_has_user_and_both_ranges() {
	require_subids
	[[ $(subid_ranges gid | wc -l) -ge 2 ]] || skip "user $(id -un) has fewer than two subgid ranges"
	local want
	want=$(expected_map gid)
	rrun_ok cat /proc/self/gid_map
	assert_eq "$want" "$(norm <<<"$OUT")" "gid_map inside"
	rrun_ok cat /proc/self/setgroups
	assert_eq "allow" "$OUT" "setgroups with subordinate gids"
}

# The ranges libsubid gave are remembered in the runtime dir (src/subid_cache.c): a damaged
# cache is asked again, and a cache that claims ranges the user does not own cannot widen the
# map, since newuidmap checks every range against /etc/subuid itself.
test_subid_cache_damaged_or_forged() {
	require_subids
	local cache=$XDG_RUNTIME_DIR/rless/subids want
	want=$(expected_map uid)
	rrun_ok true
	[[ -s $cache ]] || fail "no subordinate-id cache at $cache after a run"
	cp "$cache" "$T/good"
	printf 'rless-subids 2\ngarbage\n' >"$cache"
	rrun_ok cat /proc/self/uid_map
	assert_eq "$want" "$(norm <<<"$OUT")" "uid_map with a damaged cache"
	cmp -s "$cache" "$T/good" || fail "the damaged cache was not rewritten"
	sed 's/^u [0-9]* /u 5000000 /' "$T/good" >"$cache"
	rrun cat /proc/self/uid_map
	assert_rc 125
	assert_contains "$ERR" "newuidmap" "stderr with a forged cache"
	[[ ! -e $cache ]] || fail "the cache newuidmap refused was kept"
	rrun_ok cat /proc/self/uid_map
	assert_eq "$want" "$(norm <<<"$OUT")" "uid_map after the refused cache"
	rm -f "$cache"
}

test_default_user_is_root() {
	rrun_ok sh -c 'id -u; id -g; id -un'
	assert_eq $'0\n0\nroot' "$OUT" "id inside"
}

test_subordinate_uid_owns_files() {
	require_subids
	# a file chowned to 1 inside belongs to the first subordinate uid on the host
	mkdir "$T/vol"
	rrun_ok -v "$T/vol:/vol" sh -c 'touch /vol/f && chown 1:1 /vol/f'
	local first
	first=$(subid_ranges uid | awk 'NR == 1 {print $1}'):$(subid_ranges gid | awk 'NR == 1 {print $1}')
	assert_eq "$first" "$(stat -c %u:%g "$T/vol/f")" "host owner of a file chowned to 1:1"
}

test_keep_id_runs_as_caller() {
	local uid gid
	uid=$(id -u)
	gid=$(id -g)
	rrun_ok --userns=keep-id sh -c 'id -u; id -g; cat /proc/self/uid_map; echo --; cat /proc/self/gid_map'
	local ids umap gmap
	ids=$(sed -n 1,2p <<<"$OUT")
	umap=$(sed -n '3,/^--$/p' <<<"$OUT" | sed '$d' | norm)
	gmap=$(sed -n '/^--$/,$p' <<<"$OUT" | sed 1d | norm)
	assert_eq "$uid"$'\n'"$gid" "$ids" "id -u and id -g with --userns=keep-id"
	assert_match "$umap" "(^|"$'\n'")$uid $uid 1("$'\n'"|$)" "uid_map with --userns=keep-id"
	assert_match "$gmap" "(^|"$'\n'")$gid $gid 1("$'\n'"|$)" "gid_map with --userns=keep-id"
}

test_keep_id_volume_files_owned_by_caller() {
	mkdir "$T/vol"
	rrun_ok --userns=keep-id -v "$T/vol:/vol" sh -c 'echo hi > /vol/f'
	assert_eq "$(id -u):$(id -g)" "$(stat -c %u:%g "$T/vol/f")" "owner of a file written with keep-id"
}

test_userns_single_map() {
	rrun_ok --userns=single sh -c 'cat /proc/self/uid_map; cat /proc/self/gid_map; cat /proc/self/setgroups; id -u'
	assert_eq "0 $(id -u) 1"$'\n'"0 $(id -g) 1"$'\n'"deny"$'\n'"0" "$(norm <<<"$OUT")" \
		"uid_map, gid_map, setgroups, id -u with --userns=single"
}

test_userns_bad_mode_fails() {
	rrun --userns=bogus true
	assert_rc 125
	assert_contains "$ERR" "bogus" "stderr"
}

# run_with_path DIR ARG...: rless with PATH=DIR (timeout found on the normal PATH first).
run_with_path() {
	local dir=$1
	shift
	LAST_CMD="PATH=$dir rless $*"
	RC=0
	timeout -k 5 "$RUN_TIMEOUT" env PATH="$dir" "$RLESS" "$@" </dev/null >"$T/out" 2>"$T/err" || RC=$?
	OUT=$(<"$T/out") ERR=$(<"$T/err")
}

test_missing_newuidmap_is_explained() {
	require_subids
	require_cmd newgidmap uidmap
	# newgidmap available, newuidmap not: the message must name newuidmap
	mkdir "$T/bin"
	ln -s "$(command -v newgidmap)" "$T/bin/newgidmap"
	run_with_path "$T/bin" run --userns=auto --rootfs "$ROOTFS" true
	assert_rc 125
	assert_contains "$ERR" "newuidmap" "stderr"
	assert_match "$ERR" "install[^"$'\n'"]*uidmap|uidmap package" "stderr (install hint)"
}

test_missing_both_idmap_tools_is_explained() {
	require_subids
	mkdir "$T/empty"
	run_with_path "$T/empty" run --userns=auto --rootfs "$ROOTFS" true
	assert_rc 125
	assert_match "$ERR" "new[ug]idmap" "stderr"
	assert_match "$ERR" "install[^"$'\n'"]*uidmap|uidmap package" "stderr (install hint)"
}

test_single_id_needs_no_idmap_tools() {
	mkdir "$T/empty"
	run_with_path "$T/empty" run --userns=single --rootfs "$ROOTFS" cat /proc/self/uid_map
	assert_rc 0
	assert_eq "0 $(id -u) 1" "$(norm <<<"$OUT")" "uid_map with --userns=single and no newuidmap"
}
