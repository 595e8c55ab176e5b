# t_containers.sh — containers that outlive their run: ps, inspect, rm, wait, container prune,
# names (given, generated, raced for), status from facts (a wiped runtime dir), and the layers
# a removed container leaves to collect. Images come from the local test registry (run.sh
# exports RLESS_REG); each test has its own store ($S = $T/store).
# shellcheck shell=bash disable=SC2016,SC2034

require_registry() {
	[[ -n ${RLESS_REG:-} ]] || skip "no test registry (tests/registry/fixtures.sh up failed)"
	S=$T/store
	IMG=$RLESS_REG/rless-test/busybox
	run_rless --root "$S" pull -q "$IMG"
	[[ $RC -eq 0 ]] || { show_run >&2; fail "pull $IMG"; }
}

# r ARG...: `rless --root $S ARG...`
r() {
	run_rless --root "$S" "$@"
}

r_ok() {
	r "$@"
	[[ $RC -eq 0 ]] || { show_run >&2; fail "expected exit status 0"; }
}

# full_id NAME: the 64-hex id of container NAME.
full_id() {
	r_ok ps -a -q --no-trunc --filter "name=^$1\$"
	[[ $OUT =~ ^[0-9a-f]{64}$ ]] || fail "no single container named $1: $(printf '%q' "$OUT")"
	echo "$OUT"
}

# bg_container NAME ARG...: `rless run --name NAME ARG...` in the background, under a timeout;
# BGP is its pid, output in $T/NAME.out and $T/NAME.err.
bg_container() {
	local name=$1
	shift
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" --root "$S" run --name "$name" "$@" \
		</dev/null >"$T/$name.out" 2>"$T/$name.err" &
	BGP=$!
}

# wait_running NAME: until `ps` (running containers only) lists NAME, 10 s at most.
wait_running() {
	local i
	for ((i = 0; i < 100; i++)); do
		r ps -q --filter "name=^$1\$"
		[[ -z $OUT ]] || return 0
		sleep 0.1
	done
	cat "$T/$1.err" >&2 || true
	fail "container $1 never showed as running"
}

# json_get EXPR: evaluate a Python expression on the JSON in $OUT (bound to `d`).
json_get() {
	python3 -c 'import json, sys; d = json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' \
		"$1" <<<"$OUT"
}

# nothing_left ID NAME: no dir, no name claim, no runtime dir.
nothing_left() {
	[[ ! -e $S/containers/$1 ]] || fail "container dir of $2 is still there"
	[[ ! -L $S/names/$2 && ! -e $S/names/$2 ]] || fail "name $2 is still claimed"
	[[ ! -e $XDG_RUNTIME_DIR/rless/containers/$1 ]] || fail "runtime dir of $2 is still there"
}

test_exited_container_in_ps_a() {
	require_registry
	r run "$IMG" sh -c 'exit 3'
	assert_rc 3
	r_ok ps
	assert_eq "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES" "$OUT" \
		"ps lists running containers only"
	r_ok ps -a
	local rows
	mapfile -t rows <<<"$OUT"
	assert_eq 2 "${#rows[@]}" "ps -a lines"
	assert_match "${rows[0]}" '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$'
	assert_match "${rows[1]}" \
		"^[0-9a-f]{12}   ${IMG//./\\.} +\"sh -c 'exit 3'\" +[A-Za-z0-9 ]+ ago +Exited \\(3\\) [A-Za-z0-9 ]+ ago +[a-z]+_[a-z]+\$"
	# column starts line up with the header's
	local before=${rows[0]%%STATUS*}
	assert_eq "Exited" "${rows[1]:${#before}:6}" "STATUS column start"
	r_ok ps -a -q
	assert_match "$OUT" '^[0-9a-f]{12}$'
	r_ok ps -a -q --no-trunc
	assert_match "$OUT" '^[0-9a-f]{64}$'
	r_ok ps -a --format json
	assert_eq "exited 3 $IMG" "$(json_get 'd[0]["State"], d[0]["ExitCode"], d[0]["Image"]' |
		tr -d "(),'")" "ps --format json"
	# a long command is cut like docker's
	r run "$IMG" sh -c 'echo a long command line; exit 0'
	assert_rc 0
	r_ok ps -a
	assert_contains "$OUT" "\"sh -c 'echo a long …\"" "truncated COMMAND"
	r_ok ps -a --no-trunc
	assert_contains "$OUT" "\"sh -c 'echo a long command line; exit 0'\"" "--no-trunc COMMAND"
}

test_name_given_and_generated() {
	require_registry
	r_ok run --name first "$IMG" true
	r run --name first "$IMG" true
	assert_rc 125
	local id
	id=$(full_id first)
	assert_contains "$ERR" "name \"first\" is already in use by container ${id:0:12}"
	r_ok ps -a --format json
	assert_eq 1 "$(json_get 'len(d)')" "the refused run left no container"
	r_ok run "$IMG" true
	r_ok ps -a --format json
	assert_match "$(json_get 'd[0]["Names"][0]')" '^[a-z]+_[a-z]+$' "generated name"
}

# 20 runs racing for one name: exactly one wins; the others fail and leave nothing.
test_name_race() {
	require_registry
	local i pids=() ok=0 refused=0 rc
	for ((i = 0; i < 20; i++)); do
		(timeout -k 5 60 "$RLESS" --root "$S" run --name x "$IMG" sh -c 'sleep 1' \
			</dev/null >"$T/race.$i.out" 2>"$T/race.$i.err") &
		pids+=($!)
	done
	for ((i = 0; i < 20; i++)); do
		rc=0
		wait "${pids[$i]}" || rc=$?
		case $rc in
		0) ok=$((ok + 1)) ;;
		125) refused=$((refused + 1)) ;;
		*) cat "$T/race.$i.err" >&2; fail "run $i exited $rc" ;;
		esac
	done
	assert_eq "1 19" "$ok $refused" "winners and losers"
	local id
	id=$(full_id x)
	for ((i = 0; i < 20; i++)); do
		if [[ -s $T/race.$i.err ]]; then
			assert_contains "$(<"$T/race.$i.err")" \
				"name \"x\" is already in use by container ${id:0:12}"
		fi
	done
	assert_eq "$id" "$(ls "$S/containers")" "only the winner's dir is left"
	assert_eq "x" "$(ls "$S/names")" "one name claim"
	assert_eq "" "$(ls -A "$S/tmp")" "store tmp/"
}

test_inspect_fields() {
	require_registry
	mkdir "$T/vol"
	r_ok run --name insp -e FOO=bar -w /tmp -u 0:0 --hostname hh -v "$T/vol:/data:ro" \
		--read-only --cap-add NET_ADMIN --network none "$IMG" sh -c 'exit 0'
	local id
	id=$(full_id insp)
	r_ok inspect insp
	assert_eq "1" "$(json_get 'len(d)')"
	assert_eq "$id /insp sh ['-c', 'exit 0'] exited False 0" \
		"$(json_get '" ".join(str(x) for x in (d[0]["Id"], d[0]["Name"], d[0]["Path"], d[0]["Args"], d[0]["State"]["Status"], d[0]["State"]["Running"], d[0]["State"]["ExitCode"]))')" \
		"identity and state"
	assert_eq "$IMG True /tmp 0:0 hh False False" \
		"$(json_get '" ".join(str(x) for x in (d[0]["Config"]["Image"], "FOO=bar" in d[0]["Config"]["Env"], d[0]["Config"]["WorkingDir"], d[0]["Config"]["User"], d[0]["Config"]["Hostname"], d[0]["Config"]["Tty"], d[0]["Config"]["OpenStdin"]))')" \
		"Config"
	assert_eq "bind $T/vol /data False" \
		"$(json_get '" ".join(str(d[0]["Mounts"][0][k]) for k in ("Type", "Source", "Destination", "RW"))')" \
		"Mounts"
	assert_eq "False none True ['NET_ADMIN']" \
		"$(json_get '" ".join(str(d[0]["HostConfig"][k]) for k in ("AutoRemove", "NetworkMode", "ReadonlyRootfs", "CapAdd"))')" \
		"HostConfig"
	assert_eq "$S/containers/$id/upper" "$(json_get 'd[0]["GraphDriver"]["Data"]["UpperDir"]')"
	[[ -d $S/containers/$id/upper ]] || fail "UpperDir does not exist"
	assert_match "$(json_get 'd[0]["State"]["StartedAt"]')" '^20[0-9]{2}-'
	assert_match "$(json_get 'd[0]["State"]["FinishedAt"]')" '^20[0-9]{2}-'
	assert_match "$(json_get 'd[0]["Image"]')" '^sha256:[0-9a-f]{64}$'
	# by id prefix; an image too, in the same array; a missing object is an error (exit 1)
	r inspect "${id:0:5}" "$IMG" nosuch
	assert_rc 1
	assert_eq "2 $id True" "$(json_get '" ".join(str(x) for x in (len(d), d[0]["Id"], "RepoTags" in d[1]))')"
	assert_contains "$ERR" "No such object: nosuch"
	r inspect --type container "$IMG"
	assert_rc 1
	assert_contains "$ERR" "No such container: $IMG"
	r_ok container inspect "$id"
	assert_eq "/insp" "$(json_get 'd[0]["Name"]')"
}

test_rm_removes_everything() {
	require_registry
	r_ok run --name gone "$IMG" sh -c 'echo data >/file'
	local id
	id=$(full_id gone)
	[[ -d $XDG_RUNTIME_DIR/rless/containers/$id ]] || fail "no runtime dir for a created container"
	r_ok rm gone
	assert_eq "gone" "$OUT" "rm prints the name as given"
	nothing_left "$id" gone
	r rm gone
	assert_rc 1
	assert_contains "$ERR" "No such container: gone"
	# by short id, printed as given; several at once, one missing: the others still go
	r_ok run --name a1 "$IMG" true
	r_ok run --name a2 "$IMG" true
	id=$(full_id a1)
	r rm "${id:0:12}" nosuch a2
	assert_rc 1
	assert_eq "${id:0:12}"$'\n'"a2" "$OUT"
	r_ok ps -a -q
	assert_eq "" "$OUT" "no containers left"
	assert_eq "" "$(ls -A "$S/containers")" "containers/"
	assert_eq "" "$(ls -A "$S/tmp")" "store tmp/"
}

test_rm_force_running_and_wait() {
	require_registry
	bg_container live "$IMG" sleep 30
	local bgp=$BGP id
	wait_running live
	id=$(full_id live)
	r_ok ps
	assert_match "$OUT" "${id:0:12} .* Up [A-Za-z0-9 ]+ +live\$" "ps shows it up"
	r rm live
	assert_rc 1
	assert_contains "$ERR" "cannot remove container live: it is running; stop it first or use -f"
	timeout -k 5 "$RUN_TIMEOUT" "$RLESS" --root "$S" wait live >"$T/wait.out" 2>"$T/wait.err" &
	local waiter=$!
	sleep 0.3
	kill -0 "$waiter" 2>/dev/null || fail "wait returned while the container runs: $(<"$T/wait.err")"
	r_ok rm -f live
	assert_eq "live" "$OUT"
	local rc=0
	wait "$waiter" || rc=$?
	assert_eq "0 137" "$rc $(<"$T/wait.out")" "wait: its status and the code printed"
	rc=0
	wait "$bgp" || rc=$?
	assert_eq 137 "$rc" "the run's exit status after SIGKILL"
	nothing_left "$id" live
}

test_wait_exited() {
	require_registry
	r run --name w "$IMG" sh -c 'exit 5'
	assert_rc 5
	r_ok wait w
	assert_eq "5" "$OUT"
	r wait w nosuch
	assert_rc 1
	assert_eq "5" "$OUT"
	assert_contains "$ERR" "No such container: nosuch"
	# a running one: wait blocks until it exits, then prints its code
	bg_container later "$IMG" sh -c 'sleep 1; exit 4'
	wait_running later
	r_ok wait later
	assert_eq "4" "$OUT"
	wait "$BGP" || true
}

test_container_prune() {
	require_registry
	r_ok run --name p1 "$IMG" true
	r run --name p2 "$IMG" false
	local id1 id2
	id1=$(full_id p1)
	id2=$(full_id p2)
	bg_container keep "$IMG" sleep 30
	local bgp=$BGP
	wait_running keep
	r_ok container prune -f
	assert_contains "$OUT" "Deleted Containers:"
	assert_contains "$OUT" "$id1"
	assert_contains "$OUT" "$id2"
	assert_match "$OUT" $'\n\nTotal reclaimed space: [0-9.]+k?B$'
	r_ok ps -a --format json
	assert_eq "1 keep running" "$(json_get '" ".join(str(x) for x in (len(d), d[0]["Names"][0], d[0]["State"]))')"
	nothing_left "$id1" p1
	r_ok rm -f keep
	wait "$bgp" || true
	r_ok container prune
	assert_eq "Total reclaimed space: 0B" "$OUT"
}

# The runtime dir is live state only: wiping it (a reboot) loses no container and makes none
# "running".
test_runtime_dir_wiped() {
	require_registry
	r_ok run --name durable "$IMG" true
	r run --name failed "$IMG" sh -c 'exit 2'
	rm -rf "$XDG_RUNTIME_DIR/rless"
	r_ok ps -a
	assert_match "$OUT" "Exited \\(0\\) [A-Za-z0-9 ]+ ago +durable"
	assert_match "$OUT" "Exited \\(2\\) [A-Za-z0-9 ]+ ago +failed"
	r_ok wait failed
	assert_eq "2" "$OUT"
	r_ok rm durable failed
	r_ok ps -a -q
	assert_eq "" "$OUT"
}

test_ps_filters() {
	require_registry
	r_ok run --name fa "$IMG" true
	r run --name fb "$IMG" false
	bg_container fc "$IMG" sleep 30
	local bgp=$BGP
	wait_running fc
	r_ok ps --filter status=exited --format json
	assert_eq "fa fb" "$(json_get '" ".join(sorted(x["Names"][0] for x in d))')" "status=exited"
	r_ok ps -a --filter name=^fa$ --filter name=fb --format json
	assert_eq "fa fb" "$(json_get '" ".join(sorted(x["Names"][0] for x in d))')" "name=, twice"
	r_ok ps -a --filter name=f --filter status=running -q
	assert_eq "$(full_id fc | cut -c1-12)" "$OUT" "name= and status= together"
	local id
	id=$(full_id fa)
	r_ok ps -a --filter "id=${id:0:8}" -q
	assert_eq "${id:0:12}" "$OUT" "id="
	r ps --filter color=red
	assert_rc 125
	assert_contains "$ERR" "invalid filter"
	r_ok container ls -a -q
	assert_eq 3 "$(wc -l <<<"$OUT")" "container ls -a"
	r_ok rm -f fc
	wait "$bgp" || true
}

# --rootfs runs are anonymous: no record, nothing in ps.
test_rootfs_run_leaves_no_record() {
	require_registry
	r_ok run --rootfs "$ROOTFS" true
	r_ok ps -a -q
	assert_eq "" "$OUT"
	assert_eq "" "$(ls -A "$S/containers")"
}

# rmi -f leaves the layers a container uses; removing the container takes them.
test_rm_collects_what_rmi_f_left() {
	require_registry
	r_ok run --name user "$IMG" true
	r_ok rmi -f "$IMG"
	assert_contains "$ERR" "used by container"
	[[ -n $(ls -A "$S"/layers/*/ 2>/dev/null) ]] || fail "rmi -f took the layers a container uses"
	r_ok rm user
	assert_eq "" "$(ls -A "$S"/layers/*/ 2>/dev/null)" "unpacked layers after rm"
	assert_eq "" "$(ls -A "$S/blobs/sha256")" "blobs after rm"
	assert_eq "" "$(ls -A "$S/tmp")" "store tmp/"
}
