#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The real-guest part of `make bench`, run inside the test VM by
# scripts/bench.sh: N identical KVM guests, first with their RAM in pshare
# regions, then with QEMU's default anonymous RAM under KSM, each scanner set
# to scan as fast as it can for the same settle time. Prints how much of the
# guests' RAM each one merged, how fast, and at what scanner CPU cost.
# Figures only: nothing passes or fails.
#
# The guests boot the same kernel and initramfs and run the same workload
# (guestmem with one fixed seed: GUEST_FILL_MIB of identical pattern), so
# the mergeable content is the same in both runs. Each run starts the
# scanner only once every guest has written and verified its pattern, so
# both scanners start from the same state. Memory figures:
#
#   touched  guest RAM the host holds when the scanner starts: the resident
#            size (Rss) of QEMU's guest-RAM mapping, summed over the guests
#   saved    pages the scanner made free: KSM's pages_sharing (KSM merges
#            zero pages into a KSM page too, counted there); for pshare the
#            rise of pages_sharing plus the rise of pages_zero (zero pages
#            repointed to the zero frame) over the run
#   held     frames the guests' RAM holds when the settle time is over,
#            by each scanner's own counters: pages_private + pages_shared
#            for pshare (the zero frame is free), pages_unshared +
#            pages_volatile + pages_shared for KSM
#   host     what the run cost the host, from /proc/meminfo: the rise of
#            used memory (MemTotal - MemFree - Buffers - Cached -
#            SReclaimable) from before the guests started to the end of
#            the settle time; QEMU's own memory is in it, alike in both
#
# With transparent huge pages on (Debian's default, and QEMU asks for them),
# a guest's first touch of anonymous RAM faults in 2 MiB of zeros: the
# anonymous guests touch more, and KSM then "saves" the zero parts back.
# The table shows how much of the touched RAM was in huge pages, and
# BENCH_THP=never|madvise|always sets the host's THP mode for the run.
#
# On kernels whose KSM has the smart scan (6.7) and the scan-time advisor
# (6.8), KSM runs twice: at full speed with smart_scan=1, as before, and
# with advisor_mode=scan-time, which sets its own scan rate (its defaults:
# advisor_target_scan_time 200 s, advisor_max_cpu 70%), so pshare is
# measured against KSM at its best settings in both respects. pshare then
# runs twice too: at full speed, and with auto_scan=1 (its own rate, with
# smart_scan=1), both automatic runs set to the same target, a full pass
# in BENCH_SCAN_TARGET seconds on at most 70% of a CPU (KSM's
# advisor_target_scan_time and advisor_max_cpu, pshare's target_scan_secs
# and max_cpu_percent).
#
# With BENCH_CHURN_MIB, each guest also keeps rewriting that much memory of
# its own with fresh data (guestmem.churn: a page a millisecond, round and
# round): memory no scanner can share, on which a scanner only spends CPU.
#
# Environment: BENCH_GUESTS (default 3), BENCH_GUEST_MIB (RAM of each guest,
# default 256), GUEST_FILL_MIB (identical pattern per guest, default 32),
# BENCH_SETTLE (seconds each scanner runs, default 90), BENCH_SCAN_TARGET
# (default 30), BENCH_CHURN_MIB (default 0), BENCH_THP.

set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/scripts/guest/lib.sh"

nguests=${BENCH_GUESTS:-3}
mem=${BENCH_GUEST_MIB:-256}
fill=${GUEST_FILL_MIB:-32}
settle=${BENCH_SETTLE:-90}
target=${BENCH_SCAN_TARGET:-30}
churn=${BENCH_CHURN_MIB:-0}
GUEST_APPEND="guestmem.fill=$fill guestmem.keep=$fill guestmem.seed=4242 guestmem.churn=$churn ${GUEST_APPEND:-}"
psysfs=/sys/kernel/mm/pshare
ksysfs=/sys/kernel/mm/ksm
thp=/sys/kernel/mm/transparent_hugepage/enabled
mnt=/run/pshare

say() { echo "$*"; }
val() { cat "$1" 2>/dev/null || echo 0; }

why=$(guest_missing) || exit 1
if [ -n "$why" ]; then
	say "real guests: skipped: $why"
	exit 0
fi
if [ ! -d "$ksysfs" ]; then
	say "real guests: skipped: the kernel has no KSM ($ksysfs)"
	exit 0
fi

declare -A saved_knobs
for k in run pages_to_scan sleep_millisecs; do
	saved_knobs[p_$k]=$(val "$psysfs/$k")
	saved_knobs[k_$k]=$(val "$ksysfs/$k")
done
for k in advisor_target_scan_time advisor_max_cpu; do
	[ -f "$ksysfs/$k" ] && saved_knobs[k_$k]=$(val "$ksysfs/$k")
done
# pshare's automatic rate, where the module has it.
p_auto_knobs=()
for k in auto_scan smart_scan target_scan_secs max_cpu_percent; do
	[ -f "$psysfs/$k" ] && p_auto_knobs+=("$k") && saved_knobs[p_$k]=$(val "$psysfs/$k")
done
# The newer KSM's own knobs, where it has them: the mode in brackets.
ksm_new_knobs=()
[ -f "$ksysfs/smart_scan" ] && ksm_new_knobs+=(smart_scan)
[ -f "$ksysfs/advisor_mode" ] && ksm_new_knobs+=(advisor_mode)
for k in "${ksm_new_knobs[@]}"; do
	saved_knobs[k_$k]=$(sed 's/.*\[\(.*\)\].*/\1/' "$ksysfs/$k")
done
# The mode in brackets: "always [madvise] never" -> madvise.
thp_mode() {
	sed -n 's/.*\[\(.*\)\].*/\1/p' "$thp" 2>/dev/null
}
thp_saved=$(thp_mode)
if [ -n "${BENCH_THP:-}" ] && ! echo "$BENCH_THP" > "$thp"; then
	say "BENCH_THP=$BENCH_THP: cannot set $thp"
	exit 1
fi

guests=()
cleanup() {
	guest_stop_all "${guests[@]}"
	guests=()
	rm -f "$mnt"/bench-guest-*
	echo 2 > "$ksysfs/run" 2>/dev/null
	# The advisor first: it refuses pages_to_scan while it is on.
	for k in advisor_mode smart_scan advisor_target_scan_time advisor_max_cpu; do
		[ -n "${saved_knobs[k_$k]:-}" ] && echo "${saved_knobs[k_$k]}" > "$ksysfs/$k" 2>/dev/null
	done
	# auto_scan off first: it refuses pages_to_scan while it is on.
	for k in "${p_auto_knobs[@]}"; do
		echo "${saved_knobs[p_$k]}" > "$psysfs/$k" 2>/dev/null
	done
	for k in run pages_to_scan sleep_millisecs; do
		echo "${saved_knobs[p_$k]}" > "$psysfs/$k" 2>/dev/null
		echo "${saved_knobs[k_$k]}" > "$ksysfs/$k" 2>/dev/null
	done
}
restore_thp() {
	cleanup
	[ -z "$thp_saved" ] || echo "$thp_saved" > "$thp" 2>/dev/null
}
trap restore_thp EXIT
trap 'exit 130' INT TERM

# ram_smaps_kib PID MIB FIELD: FIELD (Rss, AnonHugePages) of the guest-RAM
# mapping of QEMU PID (the one mapping at least MIB large), in KiB.
ram_smaps_kib() {
	awk -v min=$(($2 * 1024)) -v field="$3:" '
		/^[0-9a-f]+-[0-9a-f]+ / { inmap = 0 }
		/^Size:/ { inmap = ($2 >= min) }
		$1 == field && inmap { sum += $2 }
		END { print sum + 0 }' "/proc/$1/smaps"
}

# cpu_ticks COMM: utime+stime of the thread named COMM, in clock ticks.
cpu_ticks() {
	local pid
	pid=$(pgrep -x "$1" | head -n1)
	[ -n "$pid" ] || { echo 0; return; }
	# the fields after "(comm)": state is 1, utime 12, stime 13
	sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'
}

# is_pshare KIND: is it a run on pshare regions (pshare, pshare-auto)?
is_pshare() {
	[ "${1%-auto}" = pshare ]
}

# start_guests KIND: boot the guests (on pshare regions or anonymous RAM)
# and wait until each has written and verified the common pattern.
start_guests() {
	local backing=anon
	is_pshare "$1" && backing=pshare
	guest_name_all "$backing" "$nguests" "$mem" "$mnt/bench-guest"
	guests=("${GUEST_NAMES[@]}")
	guest_start_all "${guests[@]}"
	guest_boot_wait 1200 "${guests[@]}"
}

# guests_kib FIELD: ram_smaps_kib FIELD summed over the guests.
guests_kib() {
	local i sum=0
	for i in $(seq 1 "$nguests"); do
		guest_load "g$i"
		sum=$((sum + $(ram_smaps_kib "$GUEST_PID" "$mem" "$1")))
	done
	echo $sum
}

# held_kib KIND: the "held" figure above, now.
held_kib() {
	if is_pshare "$1"; then
		echo $(( ($(val $psysfs/pages_private) + $(val $psysfs/pages_shared)) * 4 ))
	else
		echo $(( ($(val $ksysfs/pages_unshared) + $(val $ksysfs/pages_volatile) +
			  $(val $ksysfs/pages_shared)) * 4 ))
	fi
}

# used_kib: the host's used memory now (see "host" above), in KiB.
used_kib() {
	awk '{ v[$1] = $2 }
		END { u = v["MemTotal:"] - v["MemFree:"] - v["Buffers:"]
		      print u - v["Cached:"] - v["SReclaimable:"] }' /proc/meminfo
}

# saved_pages KIND: the "saved" counters above as they read now (the run
# reports the rise).
saved_pages() {
	if is_pshare "$1"; then
		echo $(( $(val $psysfs/pages_sharing) + $(val $psysfs/pages_zero) ))
	else
		val $ksysfs/pages_sharing
	fi
}

# end_counters DIR NAME...: "NAME VALUE" pairs of a sysfs directory.
end_counters() {
	local dir=$1 k
	shift
	for k in "$@"; do
		printf '%s %s ' "$k" "$(val "$dir/$k")"
	done
}

# run_one KIND: one run; sets R_touched, R_thp (KiB of it in huge pages),
# R_held (KiB at the end), R_host (KiB the run took), R_saved, R_t90 (seconds to 90% of
# R_saved), R_cpu90 (scanner CPU ticks until then), R_cpu (ticks in the
# whole window), R_verified, R_end (counters at the end).
run_one() {
	local kind=$1 sysfs thread t0 saved0 s=0 hist=() i cpu0 e used0
	R_touched=0 R_thp=0 R_held=0 R_host=0 R_saved=0 R_t90=- R_cpu90=0 R_cpu=0 R_verified=no R_end=
	if is_pshare "$kind"; then
		sysfs=$psysfs thread=pshare_scand
	else
		sysfs=$ksysfs thread=ksmd
	fi
	echo 0 > "$psysfs/run"
	echo 2 > "$ksysfs/run"
	used0=$(used_kib)
	start_guests "$kind" || { say "  $kind: the guests did not come up"; return 1; }
	R_touched=$(guests_kib Rss)
	R_thp=$(guests_kib AnonHugePages)
	saved0=$(saved_pages "$kind")
	case $kind in
	ksm-advisor)
		# The advisor sets the batch; the sleep stays at KSM's default.
		echo 1 > "$ksysfs/smart_scan"
		echo 20 > "$ksysfs/sleep_millisecs"
		echo "$target" > "$ksysfs/advisor_target_scan_time"
		echo 70 > "$ksysfs/advisor_max_cpu"
		echo scan-time > "$ksysfs/advisor_mode"
		;;
	pshare-auto)
		# The same target and CPU cap, one batch per 20 ms as KSM.
		echo 1 > "$psysfs/smart_scan"
		echo 20 > "$psysfs/sleep_millisecs"
		echo "$target" > "$psysfs/target_scan_secs"
		echo 70 > "$psysfs/max_cpu_percent"
		echo 1 > "$psysfs/auto_scan"
		;;
	*)
		# As fast as each can: the largest batch, no sleep.
		[ "$kind" = ksm ] && [ -f "$ksysfs/advisor_mode" ] && echo none > "$ksysfs/advisor_mode"
		[ "$kind" = ksm ] && [ -f "$ksysfs/smart_scan" ] && echo 1 > "$ksysfs/smart_scan"
		echo 65536 > "$sysfs/pages_to_scan"
		echo 0 > "$sysfs/sleep_millisecs"
		;;
	esac
	cpu0=$(cpu_ticks "$thread")
	t0=$SECONDS
	echo 1 > "$sysfs/run"
	while [ $((SECONDS - t0)) -lt "$settle" ]; do
		sleep 1
		s=$(( $(saved_pages "$kind") - saved0 ))
		hist+=("$((SECONDS - t0)):$s:$(( $(cpu_ticks "$thread") - cpu0 ))")
	done
	R_cpu=$(( $(cpu_ticks "$thread") - cpu0 ))
	R_saved=$s
	R_held=$(held_kib "$kind")
	R_host=$(( $(used_kib) - used0 ))
	for i in "${hist[@]}"; do
		IFS=: read -r -a e <<<"$i"
		if [ "${e[1]}" -ge $((s * 9 / 10)) ]; then
			R_t90=${e[0]} R_cpu90=${e[2]}
			break
		fi
	done
	# Every guest still reads its pattern right after the merging.
	R_verified=yes
	for i in $(seq 1 "$nguests"); do
		guest_load "g$i"
		guest_reverified 1 60 || R_verified=no
	done
	# What was left unmerged, and why, in each scanner's own counters.
	if is_pshare "$kind"; then
		R_end=$(end_counters "$psysfs" pages_private pages_hinted pages_zero merge_busy false_matches stale_hints cow_breaks pages_scanned full_scans skipped_unchanged skipped_volatile)
	else
		R_end=$(end_counters "$ksysfs" pages_shared pages_sharing pages_unshared pages_volatile full_scans)
	fi
	echo 0 > "$sysfs/run"
	[ "$kind" = ksm-advisor ] && echo none > "$ksysfs/advisor_mode"
	[ "$kind" = pshare-auto ] && echo 0 > "$psysfs/auto_scan"
	cleanup
}

hz=$(getconf CLK_TCK)
say "Real guests: $nguests identical KVM guests of $mem MiB, each writing the same $fill MiB,"
[ "$churn" -gt 0 ] && say "and each rewriting $churn MiB more with fresh data all the time (guestmem.churn),"
say "scanners at full speed for $settle s (pshare on regions; KSM on QEMU's anonymous RAM),"
say "and at their automatic rates, a pass in $target s on at most 70% of a CPU, where they have one"
say "transparent huge pages: $(thp_mode)"
kinds=(pshare)
[ -f "$psysfs/auto_scan" ] && kinds+=(pshare-auto)
kinds+=(ksm)
[ -f "$ksysfs/advisor_mode" ] && kinds+=(ksm-advisor)
declare -A res ends
for kind in "${kinds[@]}"; do
	if run_one "$kind"; then
		res[$kind]="$R_touched $R_saved $R_t90 $R_cpu90 $R_cpu $R_verified $R_thp $R_held $R_host"
		ends[$kind]=$R_end
	else
		res[$kind]="0 0 - 0 0 no 0 0 0"
		cleanup
	fi
done

# One column per run: the fields of res[KIND] by name.
declare -A F
names="touched saved t90 cpu90 cpu verified thp held host"
for kind in "${kinds[@]}"; do
	read -r -a vals <<<"${res[$kind]}"
	i=0
	for n in $names; do
		F[$kind.$n]=${vals[$i]}
		i=$((i + 1))
	done
done
declare -A title=([pshare]=pshare [pshare-auto]="pshare auto" [ksm]=KSM [ksm-advisor]="KSM advisor")
row() {
	local label=$1 k
	shift
	printf '%-34s' "$label"
	for k in "${kinds[@]}"; do
		printf ' %12s' "$("$@" "$k")"
	done
	echo
}
hdr() { echo "${title[$1]}"; }
pct() { [ "$2" -gt 0 ] && echo "$(( $1 * 4 * 1000 / $2 / 10 )).$(( $1 * 4 * 1000 / $2 % 10 ))%" || echo -; }
secs() { awk -v t="$1" -v h="$hz" 'BEGIN{printf "%.2f", t/h}'; }
# MiB per CPU-second up to the 90% point: 0.9 x saved / CPU to get there.
ms() { awk -v s="$1" -v t="$2" -v h="$hz" 'BEGIN{ if (t > 0) printf "%.1f", 0.9 * s / 256 / (t / h); else print "-" }'; }
c_touched() { echo $((F[$1.touched] / 1024)); }
c_thp() { echo $((F[$1.thp] / 1024)); }
c_saved() { echo $((F[$1.saved] / 256)); }
c_held() { echo $((F[$1.held] / 1024)); }
c_host() { echo $((F[$1.host] / 1024)); }
c_ratio() { pct "${F[$1.saved]}" "${F[$1.touched]}"; }
c_t90() { echo "${F[$1.t90]}"; }
c_cpu90() { secs "${F[$1.cpu90]}"; }
c_cpu() { secs "${F[$1.cpu]}"; }
c_ms() { ms "${F[$1.saved]}" "${F[$1.cpu90]}"; }
c_verified() { echo "${F[$1.verified]}"; }
row "" hdr
row "guest RAM touched (MiB)" c_touched
row "  of that in huge pages (MiB)" c_thp
row "saved by merging (MiB)" c_saved
row "held at the end (MiB)" c_held
row "host memory the run took (MiB)" c_host
row "saved / touched" c_ratio
row "time to 90% of that (s)" c_t90
row "scanner CPU to 90% (s)" c_cpu90
row "scanner CPU in ${settle} s (s)" c_cpu
row "MiB saved per CPU-s (to 90%)" c_ms
row "guests verified after merging" c_verified
# ratio P K: pshare run P against KSM run K, saved and MiB per CPU-s to 90%,
# and the whole window's CPU time.
ratio() {
	local ps=${F[$1.saved]} pc=${F[$1.cpu90]} ks=${F[$2.saved]} kc=${F[$2.cpu90]}
	[ -n "$ps" ] && [ -n "$ks" ] && [ "$ks" -gt 0 ] || return 0
	say "${title[$1]}/${title[$2]}: saved $(awk -v a="$ps" -v b="$ks" 'BEGIN{printf "%.2f", a/b}')x," \
		"MiB per CPU-s to 90% $(awk -v a="$ps" -v b="$ks" -v c="$pc" -v d="$kc" 'BEGIN{ if (c > 0 && d > 0) printf "%.2f", (a/c)/(b/d); else print "-" }')x," \
		"scanner CPU in ${settle} s $(awk -v a="${F[$1.cpu]}" -v b="${F[$2.cpu]}" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }')x"
}
for kind in "${kinds[@]}"; do
	is_pshare "$kind" && continue
	ratio pshare "$kind"
done
[ -n "${F[pshare-auto.saved]:-}" ] && [ -n "${F[ksm-advisor.saved]:-}" ] && ratio pshare-auto ksm-advisor
for kind in "${kinds[@]}"; do
	if [ -n "${ends[$kind]:-}" ]; then
		say "$kind counters at the end: ${ends[$kind]}"
	fi
done
