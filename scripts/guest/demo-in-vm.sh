#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The narrated part of `make demo`, run inside the test VM by scripts/demo.sh
# (through scripts/vm.sh, which has loaded pshare.ko, mounted /run/pshare and
# loaded KVM). It runs two identical, unmodified QEMU/KVM guests whose RAM
# is in pshare regions, lets the scanner merge their identical pages, makes
# them diverge (copy-on-write), balloons one of them, and shows pshare's own
# figures at each step. Lines for the reader start with "demo:".
#
# Environment: DEMO_FILL_MIB (how much each guest writes, default 96),
# DEMO_KEEP_MIB (what it keeps after that, default 48), DEMO_BALLOON_MIB
# (guest A's RAM while the balloon is inflated, default 192).

set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/scripts/guest/lib.sh"

mem=384
fill=${DEMO_FILL_MIB:-96}
keep=${DEMO_KEEP_MIB:-48}
target=${DEMO_BALLOON_MIB:-192}
mnt=/run/pshare
region_a=$mnt/vm-a
region_b=$mnt/vm-b
seed=$((RANDOM * 32768 + RANDOM + 1))
sysfs=/sys/kernel/mm/pshare
psharectl=$top/userspace-tools/psharectl
GUEST_APPEND="guestmem.fill=$fill guestmem.keep=$keep guestmem.seed=$seed ${GUEST_APPEND:-}"
t_start=$SECONDS
fails=0

say()  { echo "demo: $*"; }
step() { echo; echo "demo: ==== [$(elapsed)] $* ===="; }
elapsed() { printf '%d:%02d' $(((SECONDS - t_start) / 60)) $(((SECONDS - t_start) % 60)); }
mib_of_pages() { echo $(($1 / 256)); }
region_mib() { mib_of_pages "$(region_pages "$1")"; }
# region_mapped PATH: MiB of guest RAM the region backs with a frame of its
# own or a shared one (debugfs pages_private + pages_shared).
region_mapped() { region_line "$1" | awk '{ print int(($3 + $5) / 256) }'; }
counter() { cat "$sysfs/$1" 2>/dev/null || echo "?"; }
problem() { say "PROBLEM: $*"; fails=$((fails + 1)); }

# show_stats: the figures an administrator would look at.
show_stats() {
	say "  region file (ls -ls: first column is KiB held):"
	ls -ls "$mnt" | sed 's/^/demo:     /'
	say "  /sys/kernel/mm/pshare: regions=$(counter regions)" \
		"pages_private=$(counter pages_private) ($(mib_of_pages "$(counter pages_private)") MiB)" \
		"pages_zero=$(counter pages_zero)"
	say "    pages_shared=$(counter pages_shared) pages_sharing=$(counter pages_sharing)" \
		"($(mib_of_pages "$(counter pages_sharing)") MiB saved) cow_breaks=$(counter cow_breaks)" \
		"full_scans=$(counter full_scans)"
	if [ -r /sys/kernel/debug/pshare/regions ]; then
		say "  /sys/kernel/debug/pshare/regions:"
		sed 's/^/demo:     /' /sys/kernel/debug/pshare/regions
	fi
}

scan_run=$(counter run)
cleanup() {
	guest_stop_all A B
	rm -f "$region_a" "$region_b"
	[ "$scan_run" != "?" ] && echo "$scan_run" > "$sysfs/run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "Setting the scene"
if ! grep -qs " $mnt pshare " /proc/mounts; then
	say "pshare is not mounted on $mnt: the VM setup failed (see the messages above)"
	exit 1
fi
if [ ! -c /dev/kvm ]; then
	say "/dev/kvm is missing: this machine's QEMU could not give the test VM nested"
	say "virtualization (kvm-amd with -cpu max). The demo needs it."
	exit 1
fi
echo 0 > "$sysfs/run"
say "pshare.ko is loaded and its filesystem is mounted on $mnt."
say "Every regular file there is one guest's RAM (a 'region'). QEMU needs no"
say "patch: it is told to back guest RAM with a shared file in that directory."
say "Before the guest starts, pshare holds:"
show_stats

step "Starting two identical KVM guests, A and B, with $mem MiB of RAM each"
say "QEMU command line of guest A (unmodified QEMU $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')):"
say "  qemu-system-x86_64 -enable-kvm -cpu host -m $mem -machine q35,memory-backend=ram0 \\"
say "    -object memory-backend-file,id=ram0,mem-path=$region_a,size=${mem}M,share=on \\"
say "    -device virtio-balloon-pci -qmp unix:...,server=on,wait=off -kernel ... -initrd ..."
say "Guest B is the same with mem-path=$region_b. Both boot the same small Linux,"
say "which writes the same pattern (same seed) over $fill MiB of its RAM, reads it"
say "back, then frees all but $keep MiB and re-checks those every 3 s. Like a farm"
say "of VMs running one OS image and one application."
say "(In this nested setup every first touch of a guest page is slow, so this"
say "takes a few minutes; progress every 15 s. pshare's scanner is off for now.)"
GUEST_A_REGION=$region_a GUEST_A_MEM=$mem
GUEST_B_REGION=$region_b GUEST_B_MEM=$mem
GUEST_NOTE="demo:   "
progress() {
	local g l line
	line="  [$(elapsed)] guest A holds $(region_mib "$region_a") MiB, guest B $(region_mib "$region_b") MiB"
	for g in A B; do
		guest_load $g
		l=$(guest_last_line 'GUEST:' | sed 's/^.*GUEST: //')
		line+="; $g: ${l:-booting}"
	done
	say "$line"
}
GUEST_PROGRESS=progress
guest_start_all A B
for g in A B; do
	guest_load $g
	if ! guest_wait_qmp 30; then
		problem "QEMU of guest $g did not start:"
		sed 's/^/demo:     /' "$GUEST_RUN/qemu.out"
		exit 1
	fi
done
if ! guest_boot_wait 900 A B; then
	problem "the guests did not write and verify their data within 15 minutes"
	exit 1
fi
for g in A B; do
	guest_load $g
	guest_wait 'GUEST: released' 1 30
	[ "$(guest_count 'GUEST: verify ok')" -ge 1 ] || { problem "guest $g's data did not verify"; exit 1; }
done
guest_load A
grep -a 'GUEST:' "$GUEST_LOG" | grep -av 'writing\.\.\.\|reverify' | tr -d '\r' | sed 's/^/demo:   guest A console> /'
guest_last_line 'GUEST: reverify' | sed 's/^/demo:   guest A console> /'
full_a=$(region_pages "$region_a")
full_b=$(region_pages "$region_b")
touched=$((full_a + full_b))
say "The two regions hold $(mib_of_pages "$full_a") + $(mib_of_pages "$full_b") MiB: every page the guests"
say "touched, much of it identical (same kernel, same initramfs, same data)."
show_stats

step "Starting pshare's scanner: echo 1 > $sysfs/run"
say "The scanner hashes each guest page and looks it up in one hash table of"
say "shared frames and hints; on a match it compares the full 4 KiB and, if"
say "equal, points both guest pages at one read-only frame and frees the other."
echo 4096 > "$sysfs/pages_to_scan"
echo 20 > "$sysfs/sleep_millisecs"
echo 1 > "$sysfs/run"
prev=-1
t0=$SECONDS
while :; do
	sleep 5
	sharing=$(counter pages_sharing)
	say "  [$(elapsed)] pages_shared=$(counter pages_shared) pages_sharing=$sharing" \
		"($(mib_of_pages "$sharing") MiB saved) pages_zero=$(counter pages_zero) full_scans=$(counter full_scans)"
	# Settled: less than 64 pages (256 KiB) of change in 5 s.
	d=$((sharing - prev))
	[ "${d#-}" -lt 64 ] && [ "$(counter full_scans)" -ge 2 ] && break
	prev=$sharing
	if [ $((SECONDS - t0)) -gt 240 ]; then
		say "  (still rising after 4 minutes; going on)"
		break
	fi
done
sharing=$(counter pages_sharing)
say "Sharing saves $(mib_of_pages "$sharing") MiB of the $(mib_of_pages "$touched") MiB the guests touched" \
	"($((sharing * 100 / (touched > 0 ? touched : 1)))%); the regions now hold" \
	"$(region_mib "$region_a") + $(region_mib "$region_b") MiB of private frames."
[ "$sharing" -ge $((fill * 256 / 2)) ] ||
	problem "less than half of the common pattern was merged"
show_stats
if [ -x "$psharectl" ]; then
	say "  psharectl status:"
	"$psharectl" status 2>&1 | sed 's/^/demo:     /'
fi
for g in A B; do
	guest_load $g
	guest_reverified 1 60 || problem "guest $g did not re-verify its data while shared"
	say "Guest $g meanwhile: $(guest_last_line 'GUEST: (reverify|verify FAILED)' | sed 's/^.*GUEST: //')"
done

step "The guests diverge: guest B rewrites its $keep MiB with data of its own"
say "Each write of B to a shared page faults; pshare gives B a private copy of"
say "that page (copy-on-write) and A keeps the shared content."
cow0=$(counter cow_breaks)
share0=$(counter pages_sharing)
guest_load B
guest_send "seed $((seed + 1))"
if guest_wait 'GUEST: rewrote' 1 300; then
	say "Guest B: $(guest_last_line 'GUEST: rewrote' | sed 's/^.*GUEST: //')"
else
	problem "guest B did not rewrite its data"
fi
sleep 3
say "cow_breaks: $cow0 -> $(counter cow_breaks); pages_sharing: $share0 -> $(counter pages_sharing)"
[ $(( $(counter cow_breaks) - cow0 )) -ge $((keep * 256 / 2)) ] ||
	problem "fewer copy-on-write breaks than half of B's rewritten pages"
for g in A B; do
	guest_load $g
	if guest_reverified 2 60; then
		say "Guest $g re-checked its own data: $(guest_last_line 'GUEST: reverify ok' | sed 's/^.*GUEST: //')"
	else
		problem "guest $g's data did not re-verify after the divergence"
	fi
done
show_stats

step "Inflating guest A's balloon: asking it to give back $((mem - target)) MiB"
say "Over QMP: {\"execute\": \"balloon\", \"arguments\": {\"value\": $((target * 1048576))}}"
say "The guest's virtio-balloon driver takes free pages and reports them; QEMU"
say "then calls fallocate(PUNCH_HOLE) on $region_a, and pshare drops those pages"
say "(a private frame is freed; a shared frame loses one user)."
guest_load A
full=$(region_mapped "$region_a")
guest_qmp balloon "${target}M" >/dev/null
t0=$SECONDS
while :; do
	actual=$(guest_qmp query-balloon 2>/dev/null || echo 0)
	say "  [$(elapsed)] guest A RAM per balloon: $((actual / 1048576)) MiB | region A backs $(region_mapped "$region_a") MiB" \
		"($(region_mib "$region_a") MiB private)"
	[ $((actual / 1048576)) -le $((target + 1)) ] && break
	if [ $((SECONDS - t0)) -gt 180 ]; then
		problem "the balloon did not reach $target MiB in 3 minutes"
		break
	fi
	sleep 5
done
sleep 2
now=$(region_mapped "$region_a")
say "Region A backed $full MiB of guest RAM with frames before, $now MiB now: the balloon gave"
say "back $((full - now)) MiB; pages_sharing is now $(counter pages_sharing)."
[ $((full - now)) -ge $(((mem - target) / 4)) ] ||
	problem "region A shrank by less than a quarter of the balloon"
show_stats
if guest_qmp balloon "${mem}M" --wait 120 >/dev/null; then
	say "Deflated: guest A has $(($(guest_qmp query-balloon) / 1048576)) MiB again."
else
	problem "the balloon did not deflate within 2 minutes"
fi
if guest_reverified 1 30; then
	say "Guest A re-checked the $keep MiB it kept: $(guest_last_line 'GUEST: reverify ok' | sed 's/^.*GUEST: //')"
else
	problem "guest A's kept data did not re-verify after the balloon"
fi

step "Stopping both guests and removing the regions"
before=$(counter pages_private)
guest_stop_all A B
rm -f "$region_a" "$region_b"
say "pages_private: $before before, $(counter pages_private) after; pages_shared $(counter pages_shared):"
say "every frame went back to the host."
show_stats

step "Done in $(elapsed)"
if [ "$fails" -eq 0 ]; then
	say "All steps behaved as described."
else
	say "$fails step(s) did not behave as described (lines with PROBLEM above)."
fi
[ "$fails" -eq 0 ]
