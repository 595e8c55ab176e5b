# t_security.sh — masked and read-only paths, capabilities, no_new_privs.
# shellcheck shell=bash disable=SC2016,SC2034

MASKED="/proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/acpi /sys/firmware /proc/latency_stats /proc/timer_stats /proc/scsi"
READONLY="/proc/sys /proc/sysrq-trigger /proc/irq /proc/bus"

# The same kernel's fresh proc and sys: a path exists inside when it exists on the host.
test_masked_paths_read_empty() {
	local p want="" script
	for p in $MASKED; do
		if [[ -e $p ]]; then want+="$p empty mounted"$'\n'; else want+="$p absent"$'\n'; fi
	done
	# shellcheck disable=SC2016
	script='for p in '"$MASKED"'; do
		if [ ! -e $p ]; then echo "$p absent"; continue; fi
		if [ -d $p ]; then n=$(ls -A $p | wc -l); else n=$(cat $p | wc -c); cat $p >/dev/null || n=unreadable; fi
		m=$(awk -v p=$p "\$5 == p" /proc/self/mountinfo | wc -l)
		[ "$n" = 0 ] && n=empty; [ "$m" -gt 0 ] && m=mounted || m=not-mounted
		echo "$p $n $m"
	done'
	rrun_ok sh -c "$script"
	assert_eq "${want%$'\n'}" "$OUT" "masked paths (path, content, mount)"
}

test_kcore_reads_empty() {
	[[ -e /proc/kcore ]] || { allow_skip_in_ci; skip "this kernel has no /proc/kcore"; }
	rrun_ok sh -c 'cat /proc/kcore | wc -c'
	assert_eq 0 "$OUT" "bytes read from /proc/kcore"
}

test_proc_keys_and_sys_firmware_empty() {
	rrun_ok sh -c 'cat /proc/keys | wc -c; ls -A /sys/firmware | wc -l'
	assert_eq $'0\n0' "$(norm <<<"$OUT")" "/proc/keys bytes, /sys/firmware entries"
	[[ -z $ERR ]] || { show_run >&2; fail "stderr not empty"; }
}

test_readonly_proc_paths_are_ro_mounts() {
	local p want="" script
	for p in $READONLY; do
		if [[ -e $p ]]; then want+="$p ro"$'\n'; else want+="$p absent"$'\n'; fi
	done
	# shellcheck disable=SC2016
	script='for p in '"$READONLY"'; do
		if [ ! -e $p ]; then echo "$p absent"; continue; fi
		o=$(awk -v p=$p "\$5 == p {print \$6}" /proc/self/mountinfo | tail -n1)
		case ",$o," in *,ro,*) echo "$p ro";; *) echo "$p not-ro:$o";; esac
	done'
	rrun_ok sh -c "$script"
	assert_eq "${want%$'\n'}" "$OUT" "read-only proc paths"
}

test_write_proc_sys_fails() {
	rrun sh -c 'echo evil > /proc/sys/kernel/hostname'
	[[ $RC -ne 0 ]] || { show_run >&2; fail "writing /proc/sys/kernel/hostname succeeded"; }
	assert_contains "$ERR" "Read-only file system" "stderr"
	rrun_ok hostname
	assert_not_contains "$OUT" "evil" "hostname"
}

test_write_sysrq_trigger_fails() {
	[[ -e /proc/sysrq-trigger ]] || { allow_skip_in_ci; skip "this kernel has no /proc/sysrq-trigger"; }
	rrun sh -c 'echo h > /proc/sysrq-trigger'
	[[ $RC -ne 0 ]] || { show_run >&2; fail "writing /proc/sysrq-trigger succeeded"; }
	assert_contains "$ERR" "Read-only file system" "stderr"
}

# caps_of: "Inh Prm Eff Bnd Amb NoNewPrivs" from a run's /proc/self/status
caps_line() {
	awk '/^Cap(Inh|Prm|Eff|Bnd|Amb):|^NoNewPrivs:/ {printf "%s%s", sep, $2; sep = " "} END {print ""}'
}

test_default_capabilities() {
	rrun_ok cat /proc/self/status
	assert_eq "00000000800405fb 00000000800405fb 00000000800405fb 00000000800405fb 0000000000000000 1" \
		"$(caps_line <<<"$OUT")" "CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs"
}

test_cap_drop_chown() {
	rrun_ok --cap-drop CHOWN cat /proc/self/status
	assert_eq "00000000800405fa 00000000800405fa 00000000800405fa 00000000800405fa 0000000000000000 1" \
		"$(caps_line <<<"$OUT")" "caps with --cap-drop CHOWN"
	rrun --cap-drop CHOWN sh -c 'touch /tmp/c && chown 1 /tmp/c'
	[[ $RC -ne 0 ]] || { show_run >&2; fail "chown succeeded without CAP_CHOWN"; }
}

test_cap_add_sys_admin() {
	rrun_ok --cap-add SYS_ADMIN cat /proc/self/status
	assert_eq "00000000802405fb 00000000802405fb 00000000802405fb 00000000802405fb 0000000000000000 1" \
		"$(caps_line <<<"$OUT")" "caps with --cap-add SYS_ADMIN"
}

test_cap_names_accept_prefix_and_case() {
	rrun_ok --cap-drop cap_chown --cap-drop kill cat /proc/self/status
	assert_eq "00000000800405da 00000000800405da 00000000800405da 00000000800405da 0000000000000000 1" \
		"$(caps_line <<<"$OUT")" "caps with --cap-drop cap_chown --cap-drop kill"
}

test_cap_drop_all() {
	rrun_ok --cap-drop ALL cat /proc/self/status
	assert_eq "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000 1" \
		"$(caps_line <<<"$OUT")" "caps with --cap-drop ALL"
}

test_cap_unknown_fails() {
	rrun --cap-add NOT_A_CAP true
	assert_rc 125
	assert_contains "$ERR" "NOT_A_CAP" "stderr"
}

test_non_root_user_has_no_effective_caps() {
	rrun_ok -u 1000 cat /proc/self/status
	assert_eq "0000000000000000 0000000000000000 0000000000000000 00000000800405fb 0000000000000000 1" \
		"$(caps_line <<<"$OUT")" "caps of uid 1000"
}

# Without -t pid 1 leads a session of its own and has no controlling terminal,
# even when rless runs on one: it cannot TIOCSTI into the user's shell.
test_no_tty_means_own_session() {
	require_cmd script bsdutils
	script -qec "$RLESS run --rootfs $ROOTFS cat /proc/self/stat" /dev/null >"$T/stat" </dev/null
	local f
	read -ra f <<<"$(tr -d '\r' <"$T/stat")"
	assert_eq "1" "${f[0]}" "pid"
	assert_eq "1" "${f[5]}" "session id (pid 1 is its leader)"
	assert_eq "0" "${f[6]}" "controlling terminal"
}

test_security_opt_mask_and_unmask() {
	rrun_ok --security-opt mask=/etc/hostname:/home --security-opt unmask=/proc/keys \
		sh -c 'wc -c </etc/hostname; test -s /proc/keys -o -r /proc/keys && echo keys-visible'
	assert_contains "$OUT" "0" "masked file reads empty"
	assert_contains "$OUT" "keys-visible"
	rrun_ok --security-opt unmask=ALL sh -c 'echo 1 >/proc/sys/kernel/ns_last_pid 2>/dev/null; mount | grep -c " /proc/sys " || true'
	assert_eq "0" "$(tail -n1 <<<"$OUT")" "unmask=ALL leaves /proc/sys unmounted"
	rrun --security-opt bogus=1 true
	assert_rc 125
	assert_contains "$ERR" "invalid --security-opt \`bogus=1\`"
	rrun_ok --security-opt no-new-privileges grep NoNewPrivs /proc/self/status
	assert_match "$OUT" 'NoNewPrivs:[[:space:]]+1'
}

test_privileged_has_every_capability_and_no_masks() {
	rrun_ok --privileged sh -c 'grep CapEff /proc/self/status; mount | grep -c "/proc/kcore\|/proc/sys " || true'
	local eff
	eff=$(awk '/CapEff/ {print $2}' <<<"$OUT")
	[[ $eff == 000001ffffffffff || $eff == 000003ffffffffff || $eff == 0000003fffffffff ]] ||
		fail "CapEff $eff is not every capability"
	assert_eq "0" "$(tail -n1 <<<"$OUT")" "no masks with --privileged"
	rrun_ok --privileged grep NoNewPrivs /proc/self/status
	assert_match "$OUT" 'NoNewPrivs:[[:space:]]+1' "still no_new_privs"
}
