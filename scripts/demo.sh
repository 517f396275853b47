#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: show pshare with its real client. In a throwaway QEMU (TCG) VM
# running the stock Debian kernel with pshare.ko loaded, an unmodified
# QEMU/KVM guest runs with its RAM in a pshare region; the demo balloons it,
# reboots it, and prints pshare's statistics at each step
# (scripts/guest/demo-in-vm.sh tells the story).
#
# Needs root on Debian 12; installs what is missing (scripts/deps.sh), builds
# pshare.ko, psharectl and the small inner guest, then boots the VM. Takes a
# few minutes. The full VM console is kept under build/vm-logs/.
#
# Options: --verbose  also show the VM's kernel messages

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
verbose=0
[ "${1:-}" = --verbose ] && verbose=1

die() { echo "demo.sh: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs packages, and QEMU needs /boot/vmlinuz-* readable)"

echo "demo: preparing (packages, pshare.ko, psharectl, the inner guest)..."
t0=$(date +%s)
if [ -f "$top/scripts/deps.sh" ]; then
	bash "$top/scripts/deps.sh" || die "installing the dependencies failed (scripts/deps.sh)"
fi
if [ -f "$top/userspace-tools/Makefile" ]; then
	make -s -C "$top/userspace-tools" >/dev/null ||
		echo "demo: warning: psharectl did not build; the demo goes on without it" >&2
fi
bash "$top/scripts/guest/build.sh" --quiet || die "building the inner guest failed (scripts/guest/build.sh)"
[ -f "$top/scripts/vm.sh" ] || die "scripts/vm.sh missing: the work tree is incomplete"

echo "demo: booting the test VM (stock kernel, pshare.ko loaded)..."
# Kernel messages and firmware noise are hidden unless --verbose; anything
# that looks like a kernel report is always shown.
filter() {
	if [ "$verbose" = 1 ]; then
		cat
		return
	fi
	sed -u 's/\r//g' | grep -a --line-buffered -E \
		'^demo:|^PSHARE-VM:|BUG|WARNING|Oops|panic|KASAN|error' |
		grep -a --line-buffered -v '^PSHARE-VM-EXIT='
}
set +e
bash "$top/scripts/vm.sh" --kernel stock --timeout 1500 -- \
	bash "$top/scripts/guest/demo-in-vm.sh" | filter
rc=${PIPESTATUS[0]}
set -e
echo "demo: finished in $(($(date +%s) - t0)) s (exit status $rc)"
exit "$rc"
