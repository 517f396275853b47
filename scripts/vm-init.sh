#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Second stage of the test VM's init, run as PID 1 by the initramfs after it
# has mounted the host's root (read-only 9p) and the writable build/vm-out
# share, and switched into it. Not for running by hand: see scripts/vm.sh.
#
# Kernel command line parameters (passed to init as environment):
#   pshare_top=DIR      work tree    pshare_flavor=stock|lts|newest|debug
#   pshare_run=NAME     run directory under build/vm-out/ (holds "cmd")
#   pshare_nomod=1      do not load pshare.ko
#   pshare_modroot=DIR  the kernel's modules are in DIR/lib/modules, not in
#                       the host's /lib/modules (the newest kernel)

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
top=${pshare_top:?}
flavor=${pshare_flavor:?}
rundir=$top/build/vm-out/${pshare_run:?}
bb=/bin/busybox

# say MSG: a harness message on the console, with the uptime for timing.
say() {
	local up
	read -r up _ </proc/uptime
	echo "PSHARE-VM [$up]: $*"
}

# Print the exit marker, flush, and end the VM (QEMU runs with -no-reboot).
finish() {
	local rc=$1
	dmesg >"$rundir/dmesg" 2>/dev/null
	echo "$rc" >"$rundir/status"
	sync
	echo "PSHARE-VM-EXIT=$rc run=$pshare_run"
	$bb reboot -f
	sleep 60
}

fail() {
	echo "PSHARE-VM: $*" >&2
	finish 125
}

mount -t proc proc /proc || fail "mount /proc failed"
mount -t sysfs sysfs /sys || fail "mount /sys failed"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev failed"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug || fail "mount debugfs failed"
mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "mount cgroup2 failed"
# The initramfs mounted these already when the work tree lies below one.
mounted() { grep -q "^[^ ]* $1 " /proc/mounts; }
for d in /tmp /var/tmp; do
	mounted $d || mount -t tmpfs -o mode=1777 tmpfs "$d" || fail "mount tmpfs on $d failed"
done
mounted /run || mount -t tmpfs -o mode=755 tmpfs /run || fail "mount tmpfs on /run failed"
mounted /root || mount -t tmpfs -o mode=700 tmpfs /root || fail "mount tmpfs on /root failed"
exec </dev/null >/dev/console 2>&1

say "$(uname -r) ($flavor), $(nproc) cpus, $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"

if [ -n "${pshare_modroot:-}" ]; then
	mount --bind "$pshare_modroot/lib/modules" /lib/modules ||
		fail "cannot mount $pshare_modroot/lib/modules on /lib/modules"
fi
if [ "$flavor" != debug ]; then
	modprobe loop || say "warning: modprobe loop failed"
	modprobe ext4 || say "warning: modprobe ext4 failed"
	# KVM is optional: tests that need /dev/kvm skip without it.
	modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null ||
		say "KVM modules did not load; tests needing /dev/kvm will skip"
fi
if [ -c /dev/kvm ]; then
	say "/dev/kvm present"
	# An idle VM that keeps KVM's static keys on (see the script).
	/usr/bin/python3 "$top/scripts/kvm-hold.py" >/tmp/kvm-hold.log 2>&1 &
	for _ in $(seq 50); do
		grep -q ready /tmp/kvm-hold.log 2>/dev/null && break
		kill -0 $! 2>/dev/null || break
		sleep 0.2
	done
	grep -q ready /tmp/kvm-hold.log && say "idle KVM VM held (scripts/kvm-hold.py)" ||
		say "warning: scripts/kvm-hold.py failed: $(cat /tmp/kvm-hold.log)"
else
	say "no /dev/kvm"
fi

kmemleak=/sys/kernel/debug/kmemleak
if [ -w $kmemleak ]; then
	# Scans happen only where this script asks for them (no background scan
	# reporting in the middle of a test), and whatever boot itself left
	# behind is forgotten: only leaks from here on count.
	echo scan=off >$kmemleak
	echo scan >$kmemleak
	echo clear >$kmemleak
	say "kmemleak armed"
fi

if [ "${pshare_nomod:-0}" != 1 ]; then
	ko=$top/build/$flavor/pshare.ko
	[ -f "$ko" ] || fail "$ko missing (scripts/build.sh $flavor)"
	insmod "$ko" || fail "insmod $ko failed"
	mkdir -p /run/pshare
	mount -t pshare pshare /run/pshare || fail "mount -t pshare pshare /run/pshare failed"
	say "pshare.ko loaded, mounted on /run/pshare"
fi

cd "$top" || fail "cannot cd to $top"
export PSHARE_KERNEL=$flavor PSHARE_TOP=$top
say "running command"
bash "$rundir/cmd"
rc=$?
say "command exited with status $rc"

if [ -w $kmemleak ]; then
	say "kmemleak scan"
	echo scan >$kmemleak
	sleep 6
	echo scan >$kmemleak
	sed 's/^/kmemleak-report: /' $kmemleak
fi

finish $rc
