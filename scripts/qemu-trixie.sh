#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the QEMU installed in the Debian 13 root (scripts/vm-qemu.sh) on this
# machine: with the root's dynamic loader and libraries, its firmware, and
# its loadable modules (else it tries this machine's, QEMU 7.2's, and says
# that they are not from its build; it still says so of ui-opengl, which
# the root lacks and the test VM does not use).
root=${PSHARE_NEWEST_ROOT:-${PSHARE_CACHE:-/var/cache/pshare}/trixie-root}
QEMU_MODULE_DIR=$root/usr/lib/x86_64-linux-gnu/qemu
export QEMU_MODULE_DIR
exec "$root/usr/lib64/ld-linux-x86-64.so.2" \
	--library-path "$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu" \
	"$root/usr/bin/qemu-system-x86_64" \
	-L "$root/usr/share/qemu" -L "$root/usr/share/seabios" "$@"
