#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The real client: an unmodified QEMU with KVM whose guest RAM is a pshare
# region, ballooned over QMP. Runs inside the test VM (selftests/run.sh) and
# prints TAP.
#
#   1. the guest boots on pshare memory, fills most of its RAM with a pattern
#      and reads it back;
#   2. the region holds that data (pages_private, from st_blocks);
#   3. inflating virtio-balloon to leave the guest 256 MiB makes QEMU punch
#      holes in the region: its resident pages fall by a clear amount;
#   4. after deflating, the guest's kept data is still intact;
#   5. given a backing file and a max far below what it holds, the region
#      pages out;
#   6. with the max lifted, the guest's faults bring its pages back in
#      while the first frame allocations fail (debugfs frame_alloc_fail, a
#      transient shortage): KVM's faults wait it out, the guest keeps
#      running and verifies its data (QEMU stops a guest whose fault fails,
#      "kvm run failed Bad address");
#   7. after a guest reset (system_reset) it boots and verifies again;
#   8. once QEMU is gone and the file removed, pshare's global counters fall
#      back to where they were.
#
# Needs: /dev/kvm (kvm + kvm-amd/kvm-intel loaded), pshare mounted on
# /run/pshare, and the inner guest built on the host beforehand
# (bash scripts/guest/build.sh, or make -C selftests/kvm).
#
# Environment: GUEST_MEM_MIB (default 512), BALLOON_MIB (guest RAM while
# inflated, default 256), GUEST_FILL_MIB (pattern size, default 192; 128 on
# the debug kernel), GUEST_KEEP_MIB (kept after the fill, default 48),
# GUEST_ACCEL=tcg to try without KVM (slow).
#
# Why not fill all of the guest's free RAM: under nested KVM in a TCG VM every
# first touch of a guest page is a nested page fault through emulated SVM,
# about 1-4 ms each, so 400 MiB takes minutes (the guest kernel's own boot
# already touches about 90 MiB). 192 MiB written and 144 MiB of it released
# in the guest is enough for the balloon (256 MiB) to take mostly written
# pages, because the guest's page allocator hands out the most recently freed
# blocks first (measured: with 192 MiB released, inflation freed 192 MiB).

set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/scripts/guest/lib.sh"

mem=${GUEST_MEM_MIB:-512}
target=${BALLOON_MIB:-256}
if [ "${PSHARE_KERNEL:-stock}" = debug ]; then
	fill=${GUEST_FILL_MIB:-128}
else
	fill=${GUEST_FILL_MIB:-192}
fi
keep=${GUEST_KEEP_MIB:-48}
GUEST_APPEND="guestmem.fill=$fill guestmem.keep=$keep ${GUEST_APPEND:-}"
mnt=/run/pshare
sysfs=/sys/kernel/mm/pshare
PLAN=12

. "$top/scripts/guest/tap.sh"

# The last value of a counter in sysfs, or "?" without it.
global() { cat "$sysfs/$1" 2>/dev/null || echo "?"; }
mib()    { echo $(( $1 / 256 )); }

echo "1..$PLAN"

# --- prerequisites -------------------------------------------------------
why=$(guest_missing) || exit 1
[ -z "$why" ] || skip_rest "$why"

region=$mnt/kvm-balloon-$$
before_regions=$(global regions)
before_private=$(global pages_private)
# The sharing scanner would also lower pages_private: keep it stopped so
# that what falls here is the balloon's doing.
scan_run=$(global run)
if [ "$scan_run" != "?" ] && [ "$scan_run" != 0 ]; then
	echo 0 > "$sysfs/run" && diag "stopped the pshare scanner (run was $scan_run)"
fi
backing=/tmp/kvm-balloon-backing-$$
fail_knob=/sys/kernel/debug/pshare/frame_alloc_fail
cleanup() {
	[ "$scan_run" != "?" ] && [ "$scan_run" != 0 ] && echo "$scan_run" > "$sysfs/run"
	[ -w "$fail_knob" ] && echo 0 > "$fail_knob"
	guest_discard
	rm -f "$region" "$backing"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The guest's state, and the host kernel's last words (a balloon that fails
# often shows there first).
dump_guest() {
	guest_dump
	diag "--- dmesg (last 10 lines) ---"
	dmesg 2>/dev/null | tail -n 10 | sed 's/^/#   /'
}

# --- 1: boot, write, verify ----------------------------------------------
t0=$SECONDS
GUEST_G_REGION=$region GUEST_G_MEM=$mem
guest_start_all G
guest_load G
if guest_wait_qmp 30 && guest_boot_wait 600 G && guest_load G &&
   [ "$(guest_count 'GUEST: verify ok')" -ge 1 ]; then
	ok "guest on pshare memory wrote and verified its pattern ($(guest_last_line 'GUEST: wrote' | sed 's/.*wrote //'), $((SECONDS - t0)) s)"
else
	not_ok "guest on pshare memory wrote and verified its pattern"
	dump_guest
	skip_rest "the guest did not come up"
fi
guest_wait 'GUEST: released' 1 30
written=$(guest_last_line 'GUEST: wrote' | sed -n 's/.*wrote \([0-9]*\) MiB.*/\1/p')

# --- 2: the region holds the data ----------------------------------------
full=$(region_pages "$region")
diag "region $region: $full pages private ($(mib "$full") MiB) after the guest wrote ${written:-?} MiB"
diag "debugfs: $(region_line "$region")"
if [ -n "$written" ] && [ "$full" -ge $((written * 256)) ] &&
   [ "$full" -le $((mem * 256)) ]; then
	ok "region holds the guest's data ($(mib "$full") MiB resident, >= ${written} MiB written, <= ${mem} MiB)"
else
	not_ok "region holds the guest's data ($full pages resident, ${written:-?} MiB written)"
fi

# --- 3: inflate ----------------------------------------------------------
t0=$SECONDS
actual=$(guest_qmp balloon "${target}M" --wait 300)
rc=$?
if [ $rc -eq 0 ]; then
	ok "balloon inflated: guest RAM ${target} MiB ($((SECONDS - t0)) s)"
else
	not_ok "balloon inflated: guest RAM ${target} MiB (QEMU reports $(( ${actual:-0} / 1048576 )) MiB)"
	dump_guest
fi

# --- 4: the region shrinks (QEMU punches holes) -------------------------
# The balloon takes (mem - target) MiB of guest pages, mostly ones the guest
# wrote and released; demand at least half of that back from the region, or
# 3/4 of what the guest released if that is less.
need=$(( (mem - target) * 256 / 2 ))
released=$(( (${written:-0} - keep) * 256 * 3 / 4 ))
[ "$released" -gt 0 ] && [ "$released" -lt "$need" ] && need=$released
end=$((SECONDS + 60))
while :; do
	now=$(region_pages "$region")
	[ $((full - now)) -ge "$need" ] && break
	[ "$SECONDS" -lt "$end" ] || break
	sleep 1
done
diag "region: $full -> $now pages private ($(mib "$full") -> $(mib "$now") MiB, freed $(mib $((full - now))) MiB); sysfs pages_private $(global pages_private)"
diag "debugfs: $(region_line "$region")"
if [ $((full - now)) -ge "$need" ]; then
	ok "inflation freed region memory: $(mib $((full - now))) MiB (>= $(mib "$need") MiB expected)"
else
	not_ok "inflation freed region memory: only $(mib $((full - now))) MiB (>= $(mib "$need") MiB expected)"
	dump_guest
fi

# --- 5: pshare's own figures agree ---------------------------------------
line=$(region_line "$region")
if [ -z "$line" ]; then
	skip "debugfs regions line agrees with st_blocks" "no /sys/kernel/debug/pshare/regions entry for the region"
else
	dbg=$(echo "$line" | awk '{print $3}')
	now=$(region_pages "$region")
	g=$(global pages_private)
	if [ "$dbg" = "$now" ] && [ "$g" != "?" ] && [ "$g" -ge "$now" ]; then
		ok "debugfs pages_private ($dbg) = st_blocks/8, sysfs total ($g) >= region"
	else
		not_ok "debugfs pages_private ($dbg) = st_blocks/8 ($now), sysfs total ($g) >= region"
	fi
fi

# --- 6: data intact while inflated ---------------------------------------
if guest_reverified 1 30; then
	ok "guest data intact while inflated ($(guest_last_line 'GUEST: reverify ok' | sed 's/.*pass=[0-9]* //'))"
else
	not_ok "guest data intact while inflated"
	dump_guest
fi

# --- 7: deflate ----------------------------------------------------------
actual=$(guest_qmp balloon "${mem}M" --wait 180)
if [ $? -eq 0 ]; then
	ok "balloon deflated: guest RAM back to ${mem} MiB"
else
	not_ok "balloon deflated (QEMU reports $(( ${actual:-0} / 1048576 )) MiB)"
fi

# --- 8: re-verify after deflation ----------------------------------------
if guest_reverified 1 30; then
	ok "guest re-verified its data after deflation ($(guest_last_line 'GUEST: reverify ok' | sed 's/.*pass=[0-9]* //'))"
else
	not_ok "guest re-verified its data after deflation"
	dump_guest
fi
diag "region after deflation: $(mib "$(region_pages "$region")") MiB resident"

# --- 9: paged out ------------------------------------------------------
# A max of 8 MiB pages out nearly all the region holds; the guest, which
# re-verifies its kept data every few seconds, pages part of it back in and
# out while this runs.
psharectl=$top/userspace-tools/psharectl
paged=0
if [ ! -x "$psharectl" ]; then
	skip "region pages out to its backing file" "$psharectl not built"
elif ! "$psharectl" backing "$region" "$backing" >/dev/null ||
     ! "$psharectl" policy "$region" --max 8M >/dev/null; then
	not_ok "region pages out to its backing file (psharectl backing/policy failed)"
else
	end=$((SECONDS + 180))
	while paged=$(region_stat "$region" pages_paged); [ "${paged:-0}" -lt 8192 ]; do
		[ "$SECONDS" -lt "$end" ] || break
		sleep 1
	done
	if [ "${paged:-0}" -ge 8192 ] && guest_alive; then
		ok "region paged out $(mib "$paged") MiB to its backing file under a max of 8 MiB"
	else
		not_ok "region pages out to its backing file (pages_paged ${paged:-?} after 180 s, >= 8192 expected)"
		dump_guest
	fi
fi

# --- 10: page-in through a transient shortage ----------------------------
if [ "${paged:-0}" -lt 8192 ]; then
	skip "guest faults wait out failed frame allocations" "nothing paged out"
elif [ ! -w "$fail_knob" ]; then
	skip "guest faults wait out failed frame allocations" "no $fail_knob (debugfs not mounted, or an older module)"
else
	num() { case $1 in ''|*[!0-9]*) echo 0 ;; *) echo "$1" ;; esac; }
	retries0=$(num "$(global fault_nomem_retries)")
	in0=$(num "$(region_stat "$region" paged_in)")
	echo 20 > "$fail_knob"
	"$psharectl" policy "$region" --max default >/dev/null
	end=$((SECONDS + 120))
	while [ "$(cat "$fail_knob")" != 0 ] && [ "$SECONDS" -lt "$end" ]; do
		sleep 1
	done
	left=$(cat "$fail_knob")
	echo 0 > "$fail_knob"
	status=$(guest_qmp query-status 2>/dev/null)
	retries=$(( $(num "$(global fault_nomem_retries)") - retries0 ))
	in=$(( $(num "$(region_stat "$region" paged_in)") - in0 ))
	diag "20 frame allocations failed ($left not reached in 120 s); fault_nomem_retries +$retries, paged_in +$in, guest status: ${status:-?}"
	if [ "$left" = 0 ] && [ "$retries" -gt 0 ] && guest_reverified 1 180 &&
	   guest_qmp query-status 2>/dev/null | grep -q running; then
		ok "guest faults waited out 20 failed frame allocations ($retries retries) and the guest verified its data"
	else
		not_ok "guest faults wait out 20 failed frame allocations and the guest keeps running (status ${status:-?}, $retries retries)"
		dump_guest
	fi
fi

# --- 11: reboot ----------------------------------------------------------
t0=$SECONDS
if guest_qmp system_reset && guest_wait 'GUEST: init started' 2 300 &&
   guest_wait 'GUEST: verify (ok|FAILED)' 2 420 &&
   [ "$(guest_count 'GUEST: verify ok')" -ge 2 ]; then
	ok "guest rebooted (system_reset) and verified a fresh pattern ($((SECONDS - t0)) s)"
else
	not_ok "guest rebooted (system_reset) and verified a fresh pattern"
	dump_guest
fi

# --- 12: everything is released -----------------------------------------
guest_stop
rm -f "$region"
after_regions=$(global regions)
after_private=$(global pages_private)
diag "sysfs before: regions $before_regions pages_private $before_private; after: regions $after_regions pages_private $after_private"
if [ "$after_regions" = "?" ] || [ "$after_private" = "?" ]; then
	skip "global counters back to their start values" "no $sysfs counters"
elif [ "$after_regions" = "$before_regions" ] && [ "$after_private" = "$before_private" ]; then
	ok "QEMU gone, region removed: global counters back to their start values"
else
	not_ok "QEMU gone, region removed: global counters back to their start values"
fi

finish
