#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The narrated part of `make demo`, run inside the test VM by scripts/demo.sh
# (through scripts/vm.sh, which has loaded pshare.ko, mounted /run/pshare and
# loaded KVM). It runs an unmodified QEMU/KVM guest whose RAM is a pshare
# region, balloons it, reboots it, and shows pshare's own figures at each
# step. Lines for the reader start with "demo:".
#
# Environment: DEMO_FILL_MIB (how much the guest writes, default 160),
# DEMO_KEEP_MIB (what it keeps after that, default 32), DEMO_BALLOON_MIB
# (guest RAM while the balloon is inflated, default 256).

set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/scripts/guest/lib.sh"

mem=512
fill=${DEMO_FILL_MIB:-160}
keep=${DEMO_KEEP_MIB:-32}
target=${DEMO_BALLOON_MIB:-256}
mnt=/run/pshare
region=$mnt/demo-vm
sysfs=/sys/kernel/mm/pshare
psharectl=$top/userspace-tools/psharectl
GUEST_APPEND="guestmem.fill=$fill guestmem.keep=$keep ${GUEST_APPEND:-}"
t_start=$SECONDS
fails=0

say()  { echo "demo: $*"; }
step() { echo; echo "demo: ==== [$(elapsed)] $* ===="; }
elapsed() { printf '%d:%02d' $(((SECONDS - t_start) / 60)) $(((SECONDS - t_start) % 60)); }
mib_of_pages() { echo $(($1 / 256)); }
region_mib() { mib_of_pages "$(region_pages "$region")"; }
counter() { cat "$sysfs/$1" 2>/dev/null || echo "?"; }
problem() { say "PROBLEM: $*"; fails=$((fails + 1)); }

# show_stats: the figures an administrator would look at.
show_stats() {
	say "  region file (ls -ls: first column is KiB held):"
	ls -ls "$mnt" | sed 's/^/demo:     /'
	say "  /sys/kernel/mm/pshare: regions=$(counter regions)" \
		"pages_private=$(counter pages_private) ($(mib_of_pages "$(counter pages_private)") MiB)" \
		"pages_zero=$(counter pages_zero)"
	if [ -r /sys/kernel/debug/pshare/regions ]; then
		say "  /sys/kernel/debug/pshare/regions:"
		sed 's/^/demo:     /' /sys/kernel/debug/pshare/regions
	fi
}

cleanup() {
	guest_stop
	rm -f "$region"
	[ -n "${GUEST_RUN:-}" ] && rm -rf "$GUEST_RUN"
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
say "pshare.ko is loaded and its filesystem is mounted on $mnt."
say "Every regular file there is one guest's RAM (a 'region'). QEMU needs no"
say "patch: it is told to back guest RAM with a shared file in that directory."
say "Before the guest starts, pshare holds:"
show_stats

step "Starting a KVM guest with 512 MiB of RAM in $region"
say "QEMU command line (unmodified QEMU $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')):"
say "  qemu-system-x86_64 -enable-kvm -cpu host -m 512 -machine q35,memory-backend=ram0 \\"
say "    -object memory-backend-file,id=ram0,mem-path=$region,size=512M,share=on \\"
say "    -device virtio-balloon-pci -qmp unix:...,server=on,wait=off -kernel ... -initrd ..."
say "The guest is a small Linux that writes a pattern over $fill MiB of its RAM,"
say "reads it back, then frees all but $keep MiB and re-checks those every 3 s."
say "(In this nested setup every first touch of a guest page is slow, so this"
say "takes a minute or two; progress every 15 s.)"
guest_start "$region" "$mem"
if ! guest_wait_qmp 30; then
	problem "QEMU did not start:"
	sed 's/^/demo:     /' "$GUEST_RUN/qemu.out"
	exit 1
fi
last=$SECONDS
until [ "$(guest_count 'GUEST: (verify ok|verify FAILED|too little)')" -ge 1 ]; do
	if ! guest_alive; then
		problem "QEMU exited:"
		sed 's/^/demo:     /' "$GUEST_RUN/qemu.out"
		exit 1
	fi
	if [ $((SECONDS - last)) -ge 15 ]; then
		last=$SECONDS
		g=$(guest_last_line 'GUEST:' | sed 's/^.*GUEST: //')
		say "  [$(elapsed)] guest: ${g:-kernel booting}" \
			"| region holds $(region_mib) MiB"
	fi
	if [ $((SECONDS - t_start)) -gt 600 ]; then
		problem "the guest did not finish writing within 10 minutes"
		exit 1
	fi
	sleep 1
done
guest_wait 'GUEST: released' 1 30
grep -a 'GUEST:' "$GUEST_LOG" | grep -av 'writing\.\.\.' | tr -d '\r' | sed 's/^/demo:   guest console> /'
[ "$(guest_count 'GUEST: verify ok')" -ge 1 ] || { problem "the guest's data did not verify"; exit 1; }
full=$(region_pages "$region")
say "The guest's RAM now holds $(mib_of_pages "$full") MiB in pshare: every page it ever"
say "touched. It has freed $((fill - keep)) MiB inside, but the host cannot know that:"
show_stats
if [ -x "$psharectl" ]; then
	say "  psharectl status:"
	"$psharectl" status 2>&1 | sed 's/^/demo:     /'
fi

step "Inflating the balloon: asking the guest to give back $((mem - target)) MiB"
say "Over QMP: {\"execute\": \"balloon\", \"arguments\": {\"value\": $((target * 1048576))}}"
say "The guest's virtio-balloon driver takes free pages and reports them; QEMU"
say "then calls fallocate(PUNCH_HOLE) on $region, and pshare frees the frames."
guest_qmp balloon "${target}M" >/dev/null
t0=$SECONDS
while :; do
	actual=$(guest_qmp query-balloon 2>/dev/null || echo 0)
	say "  [$(elapsed)] guest RAM per balloon: $((actual / 1048576)) MiB | region holds $(region_mib) MiB"
	[ $((actual / 1048576)) -le $((target + 1)) ] && break
	if [ $((SECONDS - t0)) -gt 180 ]; then
		problem "the balloon did not reach $target MiB in 3 minutes"
		break
	fi
	sleep 5
done
sleep 2
now=$(region_pages "$region")
say "Region: $(mib_of_pages "$full") MiB -> $(mib_of_pages "$now") MiB: the balloon gave back" \
	"$(mib_of_pages $((full - now))) MiB of host memory."
[ $((full - now)) -gt $(((mem - target) * 256 / 4)) ] ||
	problem "the region shrank by less than a quarter of the balloon"
show_stats
c=$(guest_count 'GUEST: reverify ok')
guest_wait 'GUEST: (reverify ok|verify FAILED)' $((c + 1)) 30
say "Meanwhile the guest: $(guest_last_line 'GUEST: (reverify|verify FAILED)' | sed 's/^.*GUEST: //')"

step "Deflating the balloon: the guest gets its 512 MiB back"
if guest_qmp balloon "${mem}M" --wait 120 >/dev/null; then
	say "QMP query-balloon: guest RAM $(($(guest_qmp query-balloon) / 1048576)) MiB."
else
	problem "the balloon did not deflate within 2 minutes"
fi
c=$(guest_count 'GUEST: reverify ok')
if guest_wait 'GUEST: (reverify ok|verify FAILED)' $((c + 1)) 30 &&
   [ "$(guest_count 'GUEST: verify FAILED')" -eq 0 ]; then
	say "The guest re-checked the $keep MiB it kept: $(guest_last_line 'GUEST: reverify ok' | sed 's/^.*GUEST: //')"
else
	problem "the guest's kept data did not re-verify after deflation"
fi
say "Region holds $(region_mib) MiB: pages come back only when the guest touches them again."

step "Rebooting the guest (QMP system_reset)"
t0=$SECONDS
guest_qmp system_reset
if guest_wait 'GUEST: init started' 2 180 &&
   guest_wait 'GUEST: verify (ok|FAILED)' 2 420 &&
   [ "$(guest_count 'GUEST: verify ok')" -ge 2 ]; then
	say "After $((SECONDS - t0)) s the guest is up again and verified a fresh pattern:"
	grep -a 'GUEST:' "$GUEST_LOG" | grep -av 'writing\.\.\.\|reverify' | tr -d '\r' |
		tail -n 4 | sed 's/^/demo:   guest console> /'
else
	problem "the guest did not come back and verify after the reset"
fi
say "Region holds $(region_mib) MiB."

step "Stopping QEMU and removing the region"
before=$(counter pages_private)
guest_stop
rm -f "$region"
say "pages_private: $before before, $(counter pages_private) after: every frame went back to the host."
show_stats

step "Done in $(elapsed)"
if [ "$fails" -eq 0 ]; then
	say "All steps behaved as described."
else
	say "$fails step(s) did not behave as described (lines with PROBLEM above)."
fi
[ "$fails" -eq 0 ]
