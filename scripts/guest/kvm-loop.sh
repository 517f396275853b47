#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The nested-guest load of `make kvm-repeat` (scripts/kvm-repeat.sh), run
# inside the test VM: ROUNDS times, boot GUESTS identical KVM guests at once,
# wait until each has written and verified its pattern, let a scanner merge
# them for HOLD seconds while they keep re-verifying, check they all still
# verify, and stop them. This is the shape of load that made the test VM's
# kernel panic in the vCPU thread ("CPU 0/KVM"): several guests starting and
# running at the same time.
#
#   KIND=pshare  guests on pshare regions, pshare's scanner on (needs pshare
#                mounted on /run/pshare)
#   KIND=anon    guests on QEMU's anonymous RAM, KSM on (pshare not needed)
#
# Prints "kvm-loop: round N ok" per round and exits 0 when every round
# passed; 1 when a guest did not come up or stopped verifying. A panic of the
# test VM's kernel ends the VM before the script ends: the host side counts
# that.
#
# Environment: KVM_LOOP_KIND (default pshare), KVM_LOOP_GUESTS (3),
# KVM_LOOP_MIB (RAM of each guest, 256), KVM_LOOP_FILL (MiB of pattern, 32),
# KVM_LOOP_ROUNDS (2), KVM_LOOP_HOLD (seconds, 30), KVM_LOOP_IPI (1: two
# processes pinned to CPUs 0 and 1 wake each other through pipes all the
# time, so that reschedule IPIs keep arriving while the vCPU threads enter
# and leave their guests; 0 by default).

set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$top/scripts/guest/lib.sh"

kind=${KVM_LOOP_KIND:-pshare}
nguests=${KVM_LOOP_GUESTS:-3}
mem=${KVM_LOOP_MIB:-256}
fill=${KVM_LOOP_FILL:-32}
rounds=${KVM_LOOP_ROUNDS:-2}
hold=${KVM_LOOP_HOLD:-30}
mnt=/run/pshare
GUEST_APPEND="guestmem.fill=$fill guestmem.keep=$fill guestmem.seed=777 guestmem.period=2 ${GUEST_APPEND:-}"

say() { echo "kvm-loop: $*"; }

case $kind in
pshare)
	scanner=/sys/kernel/mm/pshare
	grep -qs " $mnt pshare " /proc/mounts || { say "pshare is not mounted on $mnt"; exit 2; }
	;;
anon) scanner=/sys/kernel/mm/ksm ;;
*) say "KVM_LOOP_KIND must be pshare or anon"; exit 2 ;;
esac
if [ ! -c /dev/kvm ]; then
	for m in irqbypass kvm ccp kvm-amd kvm-intel; do
		modprobe "$m" 2>/dev/null
	done
fi
[ -c /dev/kvm ] || { say "no /dev/kvm"; exit 2; }
guest_check_built || { say "inner guest not built: make -C selftests/kvm on the host"; exit 2; }

guests=()
ipi_pid=
stop() {
	[ -z "$ipi_pid" ] || kill -- "-$ipi_pid" 2>/dev/null
	guest_stop_all "${guests[@]}"
	guests=()
	rm -f "$mnt"/kvm-loop-*
	echo 0 > "$scanner/run" 2>/dev/null
}
trap stop EXIT
trap 'exit 130' INT TERM

say "$kind: $rounds rounds of $nguests guests x $mem MiB, $hold s each, on $(uname -r)"
if [ "${KVM_LOOP_IPI:-0}" = 1 ]; then
	# Its own process group, for stop(). Each wake-up of the partner on
	# the other CPU is a reschedule IPI when that CPU is busy.
	setsid python3 "$top/scripts/kvm-exit-storm.py" --ipi-only &
	ipi_pid=$!
	say "IPI load on CPUs 0 and 1 (pid $ipi_pid)"
fi
echo 100 > "$scanner/sleep_millisecs"
echo 1000 > "$scanner/pages_to_scan"
for r in $(seq 1 "$rounds"); do
	guest_name_all "$kind" "$nguests" "$mem" "$mnt/kvm-loop"
	guests=("${GUEST_NAMES[@]}")
	t0=$SECONDS
	guest_start_all "${guests[@]}"
	if ! guest_boot_wait 600 "${guests[@]}"; then
		say "round $r: the guests did not come up"
		exit 1
	fi
	say "round $r: $nguests guests up after $((SECONDS - t0)) s"
	echo 1 > "$scanner/run"
	sleep "$hold"
	for g in "${guests[@]}"; do
		guest_load "$g"
		guest_reverified 1 120 || { say "round $r: guest $g stopped verifying"; exit 1; }
	done
	echo 0 > "$scanner/run"
	guest_stop_all "${guests[@]}"
	rm -f "$mnt"/kvm-loop-*
	say "round $r ok ($((SECONDS - t0)) s)"
done
exit 0
