#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The module DKMS built works: scripts/dkms-check.sh (a host step of
# `make check`) has Debian's dkms build and install pshare against each
# tested Debian kernel's headers and leaves each installed module in
# build/dkms/<release>/pshare.ko. Here, in the test VM of that kernel, it
# must load, register the filesystem and the control device, mount and
# unload.
#
# The harness has its own build loaded and mounted on /run/pshare: it is
# unloaded for the moment of the check and put back after, so this runs
# after the other selftests. Skips on a kernel DKMS does not build for (the
# debug kernel), and when the host step has not run. Prints TAP.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
mnt=${PSHARE_MNT:-/run/pshare}
ko=$top/build/dkms/$(uname -r)/pshare.ko
harness_ko=$top/build/${PSHARE_KERNEL:-stock}/pshare.ko

echo "TAP version 13"
echo "1..3"
if [ ! -f "$ko" ]; then
	for i in 1 2 3; do
		echo "ok $i dkms module step $i # SKIP $ko missing: DKMS builds for the Debian kernels only (bash scripts/dkms-check.sh on the host)"
	done
	exit 4
fi

failed=0
tmp=$(mktemp -d /tmp/pshare-dkms.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Unload the harness module (it must not be in use by anything but the mount).
was_loaded=0
if grep -q '^pshare ' /proc/modules; then
	was_loaded=1
	grep -qE "^[^ ]+ $mnt pshare " /proc/mounts && umount "$mnt"
	rmmod pshare
fi
if grep -q '^pshare ' /proc/modules; then
	echo "not ok 1 the dkms module loads # cannot unload the harness module (in use?)"
	echo "ok 2 the dkms module mounts # SKIP not loaded"
	echo "ok 3 the harness module is back # SKIP it was never unloaded"
	exit 1
fi

if out=$(insmod "$ko" 2>&1) && [ -c /dev/pshare ] &&
	[ -d /sys/kernel/mm/pshare ]; then
	echo "ok 1 the dkms module loads ($(modinfo -F vermagic "$ko"))"
	mkdir -p "$tmp/mnt"
	if out=$(mount -t pshare pshare "$tmp/mnt" 2>&1) &&
		[ "$(stat -f -c %t "$tmp/mnt")" = 70736872 ] &&
		out=$(umount "$tmp/mnt" 2>&1) && out=$(rmmod pshare 2>&1); then
		echo "ok 2 the dkms module mounts a pshare filesystem and unloads"
	else
		echo "not ok 2 the dkms module mounts a pshare filesystem and unloads # $out"
		failed=1
	fi
else
	echo "not ok 1 the dkms module loads # $out"
	echo "ok 2 the dkms module mounts # SKIP not loaded"
	failed=1
fi
umount "$tmp/mnt" 2>/dev/null
grep -q '^pshare ' /proc/modules && rmmod pshare

if [ "$was_loaded" = 1 ]; then
	if out=$(insmod "$harness_ko" 2>&1) && out=$(mount -t pshare pshare "$mnt" 2>&1); then
		echo "ok 3 the harness module is back, mounted on $mnt"
	else
		echo "not ok 3 the harness module is back # $out"
		failed=1
	fi
else
	echo "ok 3 the harness module is back # SKIP none was loaded"
fi
exit "$failed"
