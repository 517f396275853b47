#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The perf and bpftrace examples of Documentation/admin-guide.rst
# ("Tracepoints"), run as written while pshare merges pages and breaks a
# copy-on-write: each must count those events. The commands are read out of
# the guide, so the guide and this test cannot drift apart; only the
# example's duration is changed (and bpftrace gets SIGINT, the Ctrl-C the
# guide mentions).
#
# A file written through write(2) is a region: 64 identical pages merge, and
# a write into one of them afterwards breaks copy-on-write. Skips an example
# whose tool is not installed or that the kernel cannot run (the debug
# kernel has no BPF: bpftrace skips there). Puts the scanner knobs back.
# Prints TAP.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
guide=$top/Documentation/admin-guide.rst
mnt=${PSHARE_MNT:-/run/pshare}
sysfs=/sys/kernel/mm/pshare
knobs=(run pages_to_scan sleep_millisecs)
declare -A saved

echo "TAP version 13"
echo "1..2"

tmp=$(mktemp -d /tmp/pshare-trace-tools.XXXXXX) || exit 1
region=$mnt/trace-tools.$$
cleanup() {
	local k
	rm -f "$region"
	for k in "${knobs[@]}"; do
		[ -z "${saved[$k]:-}" ] || echo "${saved[$k]}" > "$sysfs/$k" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

failed=0
n=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }

# example TOOL: the guide's first literal command starting with TOOL, its
# continuation lines joined (a command goes on while a quote is open).
example() {
	awk -v tool="$1" -v q="'" '
		!cmd && $1 == tool { cmd = $0; sub(/^ +/, "", cmd) }
		cmd && started { sub(/^ +/, " "); cmd = cmd $0 }
		cmd { started = 1; if (gsub(q, q, cmd) % 2 == 0) { print cmd; exit } }
	' "$guide"
}

# Events for the examples to see: merges (64 equal pages, the scanner at
# full speed), then one copy-on-write break (a write into a merged page).
# Sets "events" to what happened, empty if nothing merged.
events=
make_events() {
	local k before cow0 i
	for k in "${knobs[@]}"; do
		saved[$k]=$(cat "$sysfs/$k")
	done
	echo 0 > "$sysfs/run"
	rm -f "$region"
	head -c $((64 * 4096)) /dev/zero | tr '\0' 'p' > "$region" || return
	before=$(cat "$sysfs/pages_sharing")
	cow0=$(cat "$sysfs/cow_breaks")
	echo 1024 > "$sysfs/pages_to_scan"
	echo 0 > "$sysfs/sleep_millisecs"
	echo 1 > "$sysfs/run"
	for i in $(seq 300); do
		[ $(($(cat "$sysfs/pages_sharing") - before)) -ge 63 ] && break
		sleep 0.1
	done
	echo 0 > "$sysfs/run"
	i=$(($(cat "$sysfs/pages_sharing") - before))
	[ "$i" -ge 63 ] || return
	printf 'q' | dd of="$region" bs=1 seek=5000 conv=notrunc status=none
	events="pages_sharing +$i, cow_breaks +$(($(cat "$sysfs/cow_breaks") - cow0))"
}

# verdict NAME MERGES COWS WHAT LOG: one example's result. It must have
# counted every merge and the copy-on-write break make_events caused; WHAT
# says what it counted, LOG is its output, shown on failure.
verdict() {
	if [ -z "$events" ]; then
		not_ok "$1 # nothing merged in 30 s"
	elif [ "${2:-0}" -ge 63 ] && [ "${3:-0}" -ge 1 ]; then
		ok "$1: $4 ($events)"
	else
		not_ok "$1 # $4 ($events)"
		sed 's/^/# /' "$5"
	fi
}

if [ ! -d "$sysfs" ] || ! grep -qE "^[^ ]+ $mnt pshare " /proc/mounts; then
	skip "perf example" "pshare is not loaded and mounted at $mnt"
	skip "bpftrace example" "pshare is not loaded and mounted at $mnt"
	exit 4
fi
# The examples open tracefs themselves; mount it where they look.
[ -d /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
ino() { stat -c %i "$region"; }

# 1. perf stat -a -e 'pshare:*' -- sleep 10: counts of each event.
cmd=$(example perf)
if [ -z "$cmd" ]; then
	not_ok "perf example # no perf command in $guide"
elif ! command -v perf >/dev/null; then
	skip "perf example" "perf not installed (Debian package linux-perf)"
elif ! perf stat -e 'pshare:pshare_merge' -- true > "$tmp/probe" 2>&1; then
	skip "perf example" "this kernel cannot count tracepoints: $(head -n1 "$tmp/probe")"
else
	# perf counts while its workload runs: a sleep long enough for any
	# kernel, ended once the events are made (then perf prints).
	cmd=${cmd/sleep 10/sleep 600}
	eval "$cmd" > "$tmp/perf" 2>&1 &
	pid=$!
	# perf enables its counters, then execs the workload: count from
	# when "sleep 600" runs.
	for i in $(seq 600); do
		pgrep -xf 'sleep 600' >/dev/null && break
		sleep 0.1
	done
	sleep 1
	make_events
	pkill -xf 'sleep 600' 2>/dev/null
	wait "$pid"
	merges=$(awk '$2 == "pshare:pshare_merge" { gsub(/,/, "", $1); print $1 }' "$tmp/perf")
	cows=$(awk '$2 == "pshare:pshare_cow_break" { gsub(/,/, "", $1); print $1 }' "$tmp/perf")
	verdict "perf example" "$merges" "$cows" \
		"pshare_merge ${merges:-none}, pshare_cow_break ${cows:-none}" "$tmp/perf"
fi

# 2. bpftrace: merges by kind and COW breaks per inode, until Ctrl-C.
cmd=$(example bpftrace)
if [ -z "$cmd" ]; then
	not_ok "bpftrace example # no bpftrace command in $guide"
elif ! command -v bpftrace >/dev/null; then
	skip "bpftrace example" "bpftrace not installed (Debian package bpftrace)"
elif ! timeout 120 bpftrace -e 'BEGIN { exit(); }' > "$tmp/probe" 2>&1; then
	skip "bpftrace example" "this kernel cannot run bpftrace: $(grep -m1 -i error "$tmp/probe" || head -n1 "$tmp/probe")"
else
	eval "timeout -s INT 300 $cmd" > "$tmp/bpf" 2>&1 &
	pid=$!
	for i in $(seq 1200); do
		grep -q '^Attaching' "$tmp/bpf" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 1
	make_events
	# Ctrl-C: bpftrace prints its maps and exits.
	pkill -INT -x bpftrace 2>/dev/null
	wait "$pid"
	merges=$(awk -F': ' '/^@merges\[/ { s += $2 } END { print s + 0 }' "$tmp/bpf")
	cows=$(awk -F': ' -v k="@cow[$(ino)]" '$1 == k { print $2 }' "$tmp/bpf")
	verdict "bpftrace example" "$merges" "$cows" \
		"@merges $merges in all, @cow[ino $(ino)] ${cows:-none}" "$tmp/bpf"
fi

[ "$failed" -eq 0 ]
