# t_seccomp.sh — the default seccomp profile inside containers (EPERM for keyctl, bpf,
# perf_event_open, kexec_load and the rest, through the i386 entry point too), TIOCSTI under
# -t, --security-opt seccomp=unconfined, --privileged, --cap-add SYS_ADMIN lifting what docker
# lifts for it, profiles in docker's JSON format (errors before anything starts), and exec
# getting the container's filter.
#
# build/seccomp-probe (tests/fixtures/seccomp-probe.c, static) is mounted at /probe and prints
# "NAME ERRNO" per call it tries (0: the call went through).
# shellcheck shell=bash disable=SC2016,SC2034

need_probe() {
	PROBE=${RLESS%/*}/seccomp-probe
	[[ -x $PROBE ]] || skip "$PROBE not built (make build/seccomp-probe; run.sh copies it beside rless)"
}

# probe OPTION...: /probe in a container run with OPTION...; requires exit status 0.
probe() {
	need_probe
	rrun_ok -v "$PROBE:/probe:ro" "$@" /probe
}

# expect_probe NAME=ERRNO...: the probe printed ERRNO for NAME ("!E": anything but E).
expect_probe() {
	local kv name want got
	for kv in "$@"; do
		name=${kv%%=*}
		want=${kv#*=}
		got=$(awk -v n="$name" '$1 == n {print $2}' <<<"$OUT")
		[[ -n $got ]] || { show_run >&2; fail "the probe printed no line for $name"; }
		if [[ $want == !* ]]; then
			[[ $got != "${want#!}" ]] || { show_run >&2; fail "$name: $got"; }
		else
			[[ $got == "$want" ]] || { show_run >&2; fail "$name: expected $want, got $got"; }
		fi
	done
}

# need_i386: the probe reached the i386 entry point (IA32 emulation in this kernel).
need_i386() {
	[[ $OUT == *"i386 killed"* ]] && { show_run >&2; fail "a call through int \$0x80 was killed"; }
	[[ $OUT == *"i386 ok"* ]] || skip "this kernel runs no i386 code (no IA32 emulation)"
}

test_default_profile_denies_with_eperm() {
	probe
	expect_probe keyctl=EPERM add_key=EPERM bpf=EPERM perf_event_open=EPERM kexec_load=EPERM \
		open_by_handle_at=EPERM userfaultfd=EPERM fsopen=EPERM personality=EPERM \
		unshare_newuser=EPERM clone3=ENOSYS tiocsti=EPERM tioclinux=EPERM
	# what the policy leaves alone still works
	rrun_ok sh -c 'mkdir /tmp/d && echo ok >/tmp/d/f && cat /tmp/d/f && uname -s'
	assert_eq $'ok\nLinux' "$OUT" "ordinary calls under the default profile"
}

test_default_profile_covers_the_i386_entry_point() {
	probe
	need_i386
	expect_probe keyctl_i386=EPERM bpf_i386=EPERM kexec_load_i386=EPERM perf_event_open_i386=EPERM
}

# seccomp_pty SHELL-COMMAND: under script(1) in a new pty; sets OUT (CRs removed) and RC.
seccomp_pty() {
	require_cmd script bsdutils
	LAST_CMD="script -qec $(printf %q "$1") /dev/null"
	RC=0
	timeout -k 5 "$((RUN_TIMEOUT + 10))" script -qec "$1" /dev/null </dev/null >"$T/.out" 2>"$T/.err" || RC=$?
	OUT=$(tr -d '\r' <"$T/.out")
	ERR=$(<"$T/.err")
}

# pty_probe OPTION...: /probe with -t on a real terminal.
pty_probe() {
	need_probe
	seccomp_pty "timeout --foreground -k 5 $RUN_TIMEOUT $(printf %q "$RLESS") run --rootfs $(printf %q "$ROOTFS") -t -v $(printf %q "$PROBE"):/probe:ro $* /probe"
	assert_rc 0
}

test_tiocsti_fails_under_tty() {
	pty_probe
	expect_probe tiocsti=EPERM tioclinux=EPERM
	# the terminal is there: without the filter the kernel answers, and not with ENOTTY
	pty_probe --security-opt seccomp=unconfined
	expect_probe tiocsti='!EPERM' tiocsti='!ENOTTY'
}

test_unconfined_lets_them_through() {
	probe --security-opt seccomp=unconfined
	expect_probe keyctl='!EPERM' add_key='!EPERM' bpf='!EPERM' perf_event_open='!EPERM' \
		userfaultfd='!EPERM' personality=0 clone3='!ENOSYS' unshare_newuser='!EPERM'
	need_i386
	expect_probe keyctl_i386='!EPERM' bpf_i386='!EPERM' perf_event_open_i386='!EPERM'
}

test_privileged_has_no_seccomp() {
	probe --privileged
	expect_probe keyctl='!EPERM' bpf='!EPERM' personality=0 clone3='!ENOSYS' fsopen='!EPERM'
}

# docker lifts the mount API, clone3 and new user namespaces for CAP_SYS_ADMIN; never keyctl.
test_cap_sys_admin_lifts_what_docker_lifts() {
	probe --cap-add SYS_ADMIN
	expect_probe fsopen=ENODEV clone3='!ENOSYS' unshare_newuser='!EPERM' bpf='!EPERM' \
		keyctl=EPERM kexec_load=EPERM tiocsti=EPERM personality=EPERM
}

write_deny_mkdir() {
	cat >"$T/deny-mkdir.json" <<-'EOF'
		{
		  "defaultAction": "SCMP_ACT_ALLOW",
		  "archMap": [{"architecture": "SCMP_ARCH_X86_64",
		               "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
		              {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
		  "syscalls": [
		    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
		    {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "comment": "the default: skipped"}
		  ]
		}
	EOF
}

test_profile_denying_mkdir() {
	write_deny_mkdir
	rrun --security-opt "seccomp=$T/deny-mkdir.json" mkdir /x
	[[ $RC -ne 0 ]] || { show_run >&2; fail "mkdir /x succeeded under a profile denying it"; }
	assert_contains "$ERR" "Operation not permitted" "stderr of mkdir"
	rrun_ok --security-opt "seccomp=$T/deny-mkdir.json" sh -c 'touch /tmp/f && echo made'
	assert_eq made "$OUT" "other calls under the profile"
	# the profile replaces the default policy
	probe --security-opt "seccomp=$T/deny-mkdir.json"
	expect_probe keyctl='!EPERM' bpf='!EPERM' personality=0
}

test_bad_profile_fails_before_the_container() {
	cat >"$T/bad.json" <<-'EOF'
		{"defaultAction": "SCMP_ACT_ALLOW",
		 "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
		               "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]}]}
	EOF
	rrun --security-opt "seccomp=$T/bad.json" sh -c 'echo started'
	assert_rc 125
	assert_not_contains "$OUT" "started" "stdout"
	assert_contains "$ERR" "seccomp profile \`$T/bad.json\`: syscalls[0].args[0].op: unknown operator \`SCMP_CMP_XX\`"
	printf '{"defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": [' >"$T/trunc.json"
	rrun --security-opt "seccomp=$T/trunc.json" true
	assert_rc 125
	assert_contains "$ERR" "seccomp profile \`$T/trunc.json\`: line 2"
	rrun --security-opt "seccomp=$T/nope.json" true
	assert_rc 125
	assert_contains "$ERR" "read the seccomp profile \`$T/nope.json\`: No such file or directory"
}

# A profile libseccomp 2.5.4 loops on for ever (tests/fuzz/regress/seccomp/): rless gives up on
# it after a few seconds with an error that says what to change, instead of hanging.
test_profile_libseccomp_cannot_build_is_an_error() {
	cat >"$T/loop.json" <<-'EOF'
		{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
		 {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
		  {"index": 0, "value": 16, "op": "SCMP_CMP_NE"}, {"index": 1, "value": 9, "op": "SCMP_CMP_NE"}]},
		 {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
		  {"index": 0, "value": 16, "op": "SCMP_CMP_NE"}, {"index": 2, "value": 9, "op": "SCMP_CMP_NE"}]}]}
	EOF
	rrun --security-opt "seccomp=$T/loop.json" sh -c 'echo started'
	assert_not_contains "$OUT" "started" "stdout"
	if [[ $RC -eq 0 ]] || ! grep -q "did not finish" <<<"$ERR"; then
		# a libseccomp that builds it is fine too: then the container ran under it
		[[ $RC -ne 125 ]] || { show_run >&2; fail "the profile was refused for another reason"; }
		return 0
	fi
	assert_rc 125
	assert_contains "$ERR" "build the seccomp filter of $T/loop.json: libseccomp" "stderr"
	assert_contains "$ERR" "SCMP_CMP_EQ" "stderr (hint)"
}

# Podman's own profile (docker's format: allowlist, defaultErrnoRet ENOSYS, archMap,
# includes/excludes by capability) runs a shell and denies what it lists.
test_podman_default_profile() {
	local f=/usr/share/containers/seccomp.json
	if [[ ! -r $f ]]; then
		allow_skip_in_ci
		skip "$f not installed (package golang-github-containers-common)"
	fi
	rrun_ok --security-opt "seccomp=$f" sh -c 'echo hi | cat; ls / >/dev/null && echo ls-ok'
	assert_eq $'hi\nls-ok' "$OUT" "a shell under podman's profile"
	probe --security-opt "seccomp=$f"
	# keyctl is on its allowlist, bpf is ERRNO(EPERM) without CAP_SYS_ADMIN, personality(0xffff)
	# falls to its default ERRNO(ENOSYS)
	expect_probe keyctl=0 bpf=EPERM kexec_load=EPERM personality=ENOSYS
	need_i386
	expect_probe keyctl_i386=0 bpf_i386=EPERM
}

require_registry() {
	[[ -n ${RLESS_REG:-} ]] || skip "no test registry (tests/registry/fixtures.sh up failed)"
	S=$T/store
	IMG=$RLESS_REG/rless-test/busybox
	run_rless --root "$S" pull -q "$IMG"
	[[ $RC -eq 0 ]] || { show_run >&2; fail "pull $IMG"; }
}

rm_all() {
	"$RLESS" --root "$S" rm -f sc1 sc2 sc3 >/dev/null 2>&1 || true
}

# exec applies the container's own filter: the default, unconfined, or the profile recorded
# when the container was created (its file may be gone).
test_exec_gets_the_containers_filter() {
	need_probe
	require_registry
	trap rm_all EXIT
	write_deny_mkdir
	run_rless --root "$S" run -d --name sc1 -v "$PROBE:/probe:ro" "$IMG" sleep 60
	assert_rc 0
	run_rless --root "$S" run -d --name sc2 -v "$PROBE:/probe:ro" \
		--security-opt seccomp=unconfined "$IMG" sleep 60
	assert_rc 0
	run_rless --root "$S" run -d --name sc3 --security-opt "seccomp=$T/deny-mkdir.json" "$IMG" sleep 60
	assert_rc 0
	rm -f "$T/deny-mkdir.json"
	run_rless --root "$S" exec sc1 /probe
	assert_rc 0
	expect_probe keyctl=EPERM bpf=EPERM tiocsti=EPERM personality=EPERM
	run_rless --root "$S" exec sc2 /probe
	assert_rc 0
	expect_probe keyctl='!EPERM' bpf='!EPERM' personality=0
	run_rless --root "$S" exec sc3 mkdir /x
	[[ $RC -ne 0 ]] || { show_run >&2; fail "mkdir in exec under the recorded profile succeeded"; }
	assert_contains "$ERR" "Operation not permitted" "stderr of mkdir"
	run_rless --root "$S" exec sc3 sh -c 'touch /tmp/t && echo ok'
	assert_eq ok "$OUT" "exec under the recorded profile"
}
