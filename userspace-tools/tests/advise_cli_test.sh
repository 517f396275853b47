#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test of `psharectl advise` as a command, without the module: a
# made-up sysfs directory, debugfs region table and /proc/meminfo
# (PSHARECTL_SYSFS, PSHARECTL_DEBUGFS, PSHARECTL_MEMINFO), the text and
# JSON it prints, and its exit status for bad input. Prints TAP.
#
#   make -C userspace-tools check
#   advise_cli_test.sh [PSHARECTL]

set -uo pipefail

ctl=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/psharectl}
tmp=$(mktemp -d /tmp/pshare-advise.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"
tap_on_fail() {
	sed 's/^/# stdout: /' "$tmp/out" | head -n 20
	sed 's/^/# stderr: /' "$tmp/err" | head -n 5
}

# The figures of advise_test.c's base case: two 1 GiB regions in domain 1,
# a 512 MiB one in domain 2, 16000000 KiB of RAM, 12000000 KiB available.
mkdir -p "$tmp/sys" "$tmp/dbg/pshare"
for f in pages_private=200000 pages_shared=10000 pages_sharing=70000 \
	 pages_zero=110000 pages_paged=0 limit_pages=0 memory_state=high; do
	echo "${f#*=}" >"$tmp/sys/${f%%=*}"
done
regions=$tmp/dbg/pshare/regions
cat >"$regions" <<'EOF'
ino size pages_private pages_zero pages_shared cow_breaks domain shares min_pages max_pages target_pages active_permille active_fast active_slow active_current pages_paged paged_out paged_in name
10 1073741824 100000 50000 40000 0 1 262144 0 262144 262144 400 400 300 400 0 0 0 vm1
11 1073741824 90000 60000 40000 0 1 262144 0 262144 262144 500 500 450 500 0 0 0 vm2
12 536870912 10000 0 0 0 2 131072 0 131072 131072 900 900 900 900 0 0 0 other
EOF
printf 'MemTotal:       16384000 kB\nMemFree:         1000 kB\nMemAvailable:   12000000 kB\n' >"$tmp/meminfo"
export PSHARECTL_SYSFS=$tmp/sys PSHARECTL_DEBUGFS=$tmp/dbg PSHARECTL_MEMINFO=$tmp/meminfo

# expect RC NAME ARGS...: psharectl advise ARGS exits RC.
expect() {
	local want=$1 name=$2 rc
	shift 2
	"$ctl" advise "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq "$want" ] && tap_result ok "$name (exit $want)" ||
		tap_result fail "$name (exit $rc, expected $want)"
}

# has FILE PATTERN NAME: a line of FILE matches the extended regex.
has() {
	grep -qE -- "$2" "$1" && tap_result ok "$3" || tap_result fail "$3: /$2/"
}

expect 0 "advise" && has "$tmp/out" '^fit +64 more VMs expected \(range 58 to 96\), bound by host_memory$' "advise: the fit line"
has "$tmp/out" '^domain +1 \(2 regions\)$' "advise: the busiest domain"
has "$tmp/out" '^size +1G \(mean of the domain' "advise: the mean size"
has "$tmp/out" '^per new VM +167M expected' "advise: per VM"
expect 0 "advise --json" --json
if python3 - "$tmp/out" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert list(j) == ["domain", "domain_regions", "size_bytes", "size_from", "fit",
    "binding", "per_vm_bytes", "active_permille", "touched_permille",
    "sharing_permille", "available_bytes", "host_room_bytes",
    "limit_room_bytes", "paged_bytes", "headroom_bytes",
    "reclaim_threshold_bytes", "mem_total_bytes", "mem_available_bytes",
    "limit_pages", "held_bytes"], list(j)
assert j["fit"] == {"expected": 64, "low": 58, "high": 96}
assert j["per_vm_bytes"]["expected"] == 42704 * 4096
assert j["binding"] == "host_memory" and j["limit_room_bytes"] is None
assert j["domain"] == 1 and j["size_from"] == "domain_mean"
assert j["held_bytes"] == 210000 * 4096
EOF
then tap_result ok "advise --json: keys and values"; else tap_result fail "advise --json: keys and values"; fi

expect 0 "advise --n-plus-one" --n-plus-one &&
	has "$tmp/out" '^fit +58 more VMs .*bound by headroom$' "advise --n-plus-one: fit and binding"
expect 0 "advise --headroom" --headroom && has "$tmp/out" '^headroom +1G ' "advise --headroom: the largest region"
echo 310000 >"$tmp/sys/limit_pages"
expect 0 "advise under a limit" --json &&
	has "$tmp/out" '"binding": "limit_pages"' "advise under a limit: binding" &&
	has "$tmp/out" '"limit_room_bytes": 409600000' "advise under a limit: room"
echo 0 >"$tmp/sys/limit_pages"
expect 0 "advise --domain 2 --size 512M" --domain 2 --size 512M &&
	has "$tmp/out" '^domain +2 \(1 region\)$' "advise --domain 2: the domain"
expect 0 "advise -d 9 -s 1G (empty domain)" -d 9 -s 1G &&
	has "$tmp/out" '^model +no regions to measure' "advise on an empty domain: says so"

expect 1 "advise --domain 9 (no regions, no size)" --domain 9 &&
	has "$tmp/err" "^psharectl: advise: domain 9 has no regions: give the new VM's size" "advise --domain 9: message"
expect 2 "advise --size 0" --size 0 &&
	has "$tmp/err" "^psharectl: advise: --size '0': expected a size of at least one page \\(4K\\)$" "advise --size 0: message"
expect 2 "advise --size 2T" --size 2T &&
	has "$tmp/err" "--size '2T': expected at most 2\\^28 pages \\(1T\\)" "advise --size 2T: message"
expect 2 "advise --size garbage" --size 2Q &&
	has "$tmp/err" "--size '2Q': expected PAGES or a SIZE like 2G$" "advise --size 2Q: message"
expect 2 "advise --size -1" --size -1
expect 2 "advise --size 99999999999999999999" --size 99999999999999999999
expect 2 "advise --domain x" --domain x &&
	has "$tmp/err" "--domain 'x': expected a number from 0 to 4294967295$" "advise --domain x: message"
expect 2 "advise --domain 4294967296" --domain 4294967296
expect 2 "advise takes no arguments" foo
expect 2 "advise --size without its value" --size

head -n 1 "$regions" >"$regions.new" && mv "$regions.new" "$regions"
expect 1 "advise with no regions" &&
	has "$tmp/err" '^psharectl: advise: no regions to model a new VM on: give its size \(--size 2G\)$' "advise with no regions: message"
expect 0 "advise --size 1G with no regions" --size 1G --json &&
	has "$tmp/out" '"domain": null, "domain_regions": 0' "advise with no regions: domain null"
grep -v MemAvailable "$tmp/meminfo" >"$tmp/m2" && mv "$tmp/m2" "$tmp/meminfo"
expect 1 "advise without MemAvailable" --size 1G &&
	has "$tmp/err" 'no MemAvailable line' "advise without MemAvailable: message"
PSHARECTL_DEBUGFS=$tmp/none expect 1 "advise without the region table" --size 1G

tap_end advise
