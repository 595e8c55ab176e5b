# t_network.sh — --network none (own netns, loopback up) and host.
# shellcheck shell=bash disable=SC2016,SC2034

# ifnames: interface names from /proc/net/dev text on stdin, sorted.
ifnames() {
	awk -F: 'NR > 2 {gsub(/ /, "", $1); print $1}' | sort
}

test_network_none_only_lo_up() {
	rrun_ok cat /proc/net/dev
	assert_eq lo "$(ifnames <<<"$OUT")" "interfaces with the default network"
	rrun_ok --network none ip -o link show
	assert_eq 1 "$(grep -c '' <<<"$OUT")" "ip -o link lines"
	assert_match "$OUT" "^1: lo: <[^>]*[<,]UP[,>]" "lo flags"
}

test_network_none_loopback_works() {
	rrun_ok --network none sh -c 'ip -o addr show lo | awk "{print \$3, \$4}"; nc -l -p 8123 > /tmp/got & sleep 0.3; echo ping | nc 127.0.0.1 8123; sleep 0.3; cat /tmp/got'
	assert_eq $'inet 127.0.0.1/8\ninet6 ::1/128\nping' "$OUT" "loopback addresses and a TCP round trip"
}

test_network_host_sees_host_interfaces() {
	local want
	want=$(ifnames </proc/net/dev)
	rrun_ok --network host cat /proc/net/dev
	assert_eq "$want" "$(ifnames <<<"$OUT")" "interfaces with --network host"
}

test_network_bad_mode_fails() {
	rrun --network bogus true
	assert_rc 125
	assert_contains "$ERR" "bogus" "stderr"
}
