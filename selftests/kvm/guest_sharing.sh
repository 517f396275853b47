#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Two identical KVM guests on pshare memory share their pages, and keep
# their own data once they diverge. Runs inside the test VM
# (selftests/run.sh) and prints TAP.
#
#   1. two guests boot the same kernel and initramfs, each on its own region
#      of one mount (one sharing domain), and write the same pattern
#      (guestmem.seed) over GUEST_FILL_MIB of their RAM, then verify it;
#   2. with the scanner running, pages_sharing rises by at least 3/4 of the
#      pattern's pages: the guests' identical pages now use one frame each;
#   3. both regions hold shared pages (debugfs), and the regions' private
#      frames fell accordingly (st_blocks);
#   4. the guests still verify their pattern while it is shared (reads of
#      merged pages through KVM's page tables);
#   5. each guest is told (over its second serial port) to rewrite its
#      pattern with a seed of its own: the writes break copy-on-write, so
#      cow_breaks rises by at least the pages of one guest's pattern;
#   6. each guest then verifies its own new data, several passes, while the
#      scanner keeps running;
#   7. pages_sharing fell back by at least half the pattern (nothing of the
#      diverged data is shared);
#   8. with both guests gone and the regions removed, pages_shared and the
#      region count are back to what they were before.
#
# Needs what guest_balloon.sh needs: /dev/kvm, pshare on /run/pshare, and the
# inner guest built on the host (make -C selftests/kvm).
#
# Environment: GUEST_MEM_MIB (RAM of each guest, default 320), GUEST_FILL_MIB
# (pattern size, default 64), GUEST_ACCEL=tcg to try without KVM (slow).

set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/scripts/guest/lib.sh"

mem=${GUEST_MEM_MIB:-320}
fill=${GUEST_FILL_MIB:-64}
seed=$((RANDOM * 32768 + RANDOM + 1))
GUEST_APPEND="guestmem.fill=$fill guestmem.keep=$fill guestmem.seed=$seed guestmem.period=2 ${GUEST_APPEND:-}"
mnt=/run/pshare
sysfs=/sys/kernel/mm/pshare
fill_pages=$((fill * 256))
PLAN=8

. "$top/scripts/guest/tap.sh"

global() { cat "$sysfs/$1" 2>/dev/null || echo 0; }

echo "1..$PLAN"
why=$(guest_missing) || exit 1
[ -z "$why" ] || skip_rest "$why"

knobs="run pages_to_scan sleep_millisecs merge_across_domains"
declare -A saved
for k in $knobs; do
	saved[$k]=$(global "$k")
done
regions=("$mnt/share-a-$$" "$mnt/share-b-$$")
GUEST_A_REGION=${regions[0]} GUEST_A_MEM=$mem
GUEST_B_REGION=${regions[1]} GUEST_B_MEM=$mem
before_regions=$(global regions)
before_shared=$(global pages_shared)
cleanup() {
	guest_stop_all A B
	rm -f "${regions[@]}"
	for k in $knobs; do
		echo "${saved[$k]}" > "$sysfs/$k" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dump_guests() {
	local g
	for g in A B; do
		guest_load $g
		diag "--- guest $g console (last 10 lines) ---"
		tail -n 10 "$GUEST_LOG" 2>/dev/null | tr -d '\r' | sed 's/^/#   /'
		sed 's/^/#   qemu: /' "$GUEST_RUN/qemu.out" 2>/dev/null
		guest_diagnose 2>&1 | sed 's/^/#   state: /'
	done
	diag "--- dmesg (last 10 lines) ---"
	dmesg 2>/dev/null | tail -n 10 | sed 's/^/#   /'
}

# both CMD...: run CMD for guest A and then guest B; true if both succeed.
both() {
	local g rc=0
	for g in A B; do
		guest_load $g
		"$@" || rc=1
		guest_save $g
	done
	return $rc
}

# region_shared PATH: the region's pages that use a shared frame (debugfs).
region_shared() {
	region_line "$1" | awk '{print $5}'
}

counters() {
	echo "pages_shared $(global pages_shared) pages_sharing $(global pages_sharing) pages_zero $(global pages_zero) cow_breaks $(global cow_breaks) full_scans $(global full_scans)"
}

# --- 1: two identical guests boot and write the same pattern -----------
# The scanner starts only once both have written: what it merges then is
# the guests' doing, not a race with their first writes.
echo 0 > "$sysfs/run"
echo 0 > "$sysfs/merge_across_domains"
t0=$SECONDS
guest_start_all A B
if both guest_wait_qmp 30 && guest_boot_wait 600 A B &&
   [ "$(both guest_count 'GUEST: verify FAILED' | tr -d '\n')" = 00 ]; then
	ok "two guests on pshare memory wrote and verified the same ${fill} MiB pattern ($((SECONDS - t0)) s)"
else
	not_ok "two guests on pshare memory wrote and verified the same ${fill} MiB pattern"
	dump_guests
	skip_rest "the guests did not come up"
fi
private_before=$(( $(region_pages "${regions[0]}") + $(region_pages "${regions[1]}") ))
sharing_before=$(global pages_sharing)
diag "before scanning: regions hold $((private_before / 256)) MiB private; $(counters)"

# --- 2: the scanner merges their identical pages ----------------------
echo 4096 > "$sysfs/pages_to_scan"
echo 20 > "$sysfs/sleep_millisecs"
echo 1 > "$sysfs/run"
t0=$SECONDS
end=$((SECONDS + 600))
need=$((sharing_before + fill_pages * 3 / 4))
while [ "$(global pages_sharing)" -lt "$need" ] && [ "$SECONDS" -lt "$end" ]; do
	sleep 2
done
# A little longer, so the figures below include the guests' common kernel
# and initramfs pages, not just the pattern.
scans=$(global full_scans)
while [ "$(global full_scans)" -lt $((scans + 2)) ] && [ "$SECONDS" -lt $((end + 120)) ]; do
	sleep 2
done
sharing=$(global pages_sharing)
diag "after $((SECONDS - t0)) s of scanning: $(counters)"
diag "guest RAM touched: $((private_before / 256)) MiB; saved by sharing: $((sharing / 256)) MiB ($((sharing * 100 / (private_before > 0 ? private_before : 1)))%)"
if [ "$sharing" -ge "$need" ]; then
	ok "pages_sharing rose by $((sharing - sharing_before)) (>= $((fill_pages * 3 / 4)), 3/4 of the common pattern)"
else
	not_ok "pages_sharing rose by only $((sharing - sharing_before)) in 600 s (>= $((fill_pages * 3 / 4)) expected)"
	dump_guests
fi

# --- 3: both regions share, and hold fewer private frames --------------
sa=$(region_shared "${regions[0]}")
sb=$(region_shared "${regions[1]}")
private_after=$(( $(region_pages "${regions[0]}") + $(region_pages "${regions[1]}") ))
diag "region A shares ${sa:-?} pages, region B ${sb:-?}; private frames $private_before -> $private_after"
if [ "${sa:-0}" -ge $((fill_pages * 3 / 4)) ] && [ "${sb:-0}" -ge $((fill_pages * 3 / 4)) ] &&
   [ $((private_before - private_after)) -ge $((fill_pages * 3 / 2)) ]; then
	ok "both regions map shared frames (A ${sa}, B ${sb} pages); their private frames fell by $(( (private_before - private_after) / 256 )) MiB"
else
	not_ok "both regions map shared frames (A ${sa:-?}, B ${sb:-?} pages, >= $((fill_pages * 3 / 4)) each; private frames fell by $((private_before - private_after)))"
fi

# --- 4: the guests read their merged pages correctly ------------------
if both guest_reverified 2 120; then
	ok "both guests verify their pattern while it is shared"
else
	not_ok "both guests verify their pattern while it is shared"
	dump_guests
fi

# --- 5: divergence breaks copy-on-write --------------------------------
cow_before=$(global cow_breaks)
t0=$SECONDS
guest_load A; guest_send "seed $((seed + 1))"
guest_load B; guest_send "seed $((seed + 2))"
if both guest_wait 'GUEST: rewrote' 1 600; then
	cow=$(( $(global cow_breaks) - cow_before ))
	diag "guests rewrote their pattern with seeds of their own in $((SECONDS - t0)) s; $(counters)"
	if [ "$cow" -ge "$fill_pages" ]; then
		ok "diverging writes broke copy-on-write: cow_breaks +$cow (>= $fill_pages)"
	else
		not_ok "diverging writes broke copy-on-write: cow_breaks +$cow (>= $fill_pages expected)"
	fi
else
	not_ok "guests rewrote their pattern on request"
	dump_guests
fi

# --- 6: each guest keeps its own data ---------------------------------
if both guest_reverified 3 180; then
	ok "each guest verifies its own diverged data (3 passes, scanner running)"
else
	not_ok "each guest verifies its own diverged data"
	dump_guests
fi

# --- 7: the diverged data is not shared ---------------------------------
sharing_now=$(global pages_sharing)
diag "pages_sharing $sharing -> $sharing_now after divergence"
if [ $((sharing - sharing_now)) -ge $((fill_pages / 2)) ]; then
	ok "pages_sharing fell by $((sharing - sharing_now)) after divergence (>= $((fill_pages / 2)))"
else
	not_ok "pages_sharing fell by only $((sharing - sharing_now)) after divergence (>= $((fill_pages / 2)) expected)"
fi

# --- 8: nothing is left -------------------------------------------------
guest_stop_all A B
rm -f "${regions[@]}"
# The scanner may hold the last reference to a region a moment longer: it
# frees the region, and its frames, when it lets go.
for _ in $(seq 60); do
	left=$(global pages_shared)
	nreg=$(global regions)
	[ "$left" = "$before_shared" ] && [ "$nreg" = "$before_regions" ] && break
	sleep 0.5
done
diag "after removal: $(counters) regions $nreg"
if [ "$left" = "$before_shared" ] && [ "$nreg" = "$before_regions" ]; then
	ok "guests gone, regions removed: shared frames and regions back to $before_shared and $before_regions"
else
	not_ok "guests gone, regions removed: pages_shared $left, regions $nreg ($before_shared and $before_regions expected)"
fi

finish
