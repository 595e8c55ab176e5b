# t_pid.sh — pid namespace and uts namespace.
# shellcheck shell=bash disable=SC2016,SC2034

test_command_is_pid1() {
	rrun_ok sh -c 'echo $$'
	assert_eq 1 "$OUT" "\$\$ of sh"
	rrun_ok cat /proc/1/cmdline
	assert_eq "cat /proc/1/cmdline " "$(tr '\0' ' ' <"$T/.out")" "/proc/1/cmdline"
}

test_ps_lists_only_container_processes() {
	# a host process that must stay invisible
	sleep 60 &
	local hostsleep=$!
	# wait until the background child has exec'd sleep (before, its comm is still "sh")
	rrun sh -c 'sleep 30 & p=$!; i=0
		while [ "$(cat /proc/$p/comm)" = sh ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
		ps -o pid,comm; kill $p'
	kill "$hostsleep" 2>/dev/null || true
	assert_rc 0
	local lines
	# busybox-static may run applets through /proc/self/exe: then sleep's comm is "exe"
	lines=$(awk 'NR > 1 {c = $2; if (c == "exe") c = "sleep"; print ($1 == 1 ? "1" : "N"), c}' <<<"$OUT" | LC_ALL=C sort)
	assert_eq "PID COMMAND" "$(head -n1 <<<"$OUT" | norm)" "ps header"
	assert_eq $'1 sh\nN ps\nN sleep' "$lines" "processes seen by ps (N: any pid but 1)"
}

test_hostname_option() {
	local before after
	before=$(hostname)
	rrun_ok -h myhost hostname
	assert_eq myhost "$OUT" "hostname inside"
	rrun_ok --hostname other.example sh -c 'hostname; cat /proc/sys/kernel/hostname'
	assert_eq $'other.example\nother.example' "$OUT" "hostname inside with --hostname"
	after=$(hostname)
	assert_eq "$before" "$after" "host's hostname after the runs"
}

test_hostname_default_is_not_host() {
	rrun_ok hostname
	[[ -n $OUT ]] || fail "empty hostname inside"
	[[ $OUT != "$(hostname)" ]] || fail "default hostname inside is the host's ($OUT)"
}

test_ipc_namespace_is_private() {
	require_cmd ipcmk util-linux
	# a SysV shared memory segment on the host must not be visible inside
	local id
	id=$(ipcmk -M 4096 | awk '{print $NF}')
	[[ -n $id ]] || fail "ipcmk -M 4096 printed no id"
	rrun sh -c 'grep -vc "^ *key" /proc/sysvipc/shm || true'
	ipcrm -m "$id" || true
	assert_rc 0
	assert_eq 0 "$OUT" "SysV shared memory segments inside"
}
