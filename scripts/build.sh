#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build pshare.ko out of tree for one of the test kernels:
#
#   bash scripts/build.sh stock     against Debian 12's 6.1 headers
#   bash scripts/build.sh lts       against Debian 12's 6.12 headers
#   bash scripts/build.sh newest    against the newest kernel's headers, with
#                                   its compiler, in the Debian 13 root
#                                   (scripts/newest-root.sh, made if needed)
#   bash scripts/build.sh debug     against the debug kernel (built if needed)
#
# Kbuild, module/ and uapi/ are copied to build/<flavor>/src/ (rsync keeps the
# timestamps, so rebuilds are incremental) and built there, which keeps the
# source directories free of objects. The result is build/<flavor>/pshare.ko,
# with the test helper pshare_pin.ko (PSHARE_TEST_MODULES=y, see Kbuild)
# next to it.
# Compiler warnings count as errors.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

flavor=${1:-}
flavor_ok "$flavor" || die "usage: $0 ${PSHARE_FLAVORS// /|}"

# in_root: run a command where the kernel's build directory is (the Debian
# 13 root for the newest kernel, this machine for the others).
in_root() {
	"$@"
}
case $flavor in
debug) kdir=$(bash "$PSHARE_TOP/scripts/debug-kernel.sh" | tail -n1) ;;
newest)
	bash "$PSHARE_TOP/scripts/newest-root.sh" >/dev/null ||
		die "the Debian 13 root for the newest kernel could not be made"
	kdir=$(kdir_for newest)
	root=$PSHARE_NEWEST_ROOT
	in_root() {
		in_newest_root "$@"
	}
	;;
*) kdir=$(kdir_for "$flavor") || die "no $flavor kernel headers found: run 'make deps'" ;;
esac
[ -f "${root:-}$kdir/Makefile" ] || die "$kdir is not a kernel build directory"

[ -f "$PSHARE_TOP/Kbuild" ] || die "$PSHARE_TOP/Kbuild missing"
ls "$PSHARE_TOP"/module/*.c >/dev/null 2>&1 || die "no module/*.c yet: nothing to build"

out=$PSHARE_TOP/build/$flavor
src=$out/src
# Inside the root the sources live under its /tmp, one directory per work
# tree, and the build sees them there.
if [ -n "${root:-}" ]; then
	src=$root/tmp/pshare-$(echo "$PSHARE_TOP" | sha256sum | cut -c1-12)
fi
mkdir -p "$out" "$src"
# One build per flavor at a time (several people share a work tree).
exec 9>"$out/.lock"
flock 9
# Excluded names are also kept from deletion, so build products stay and
# rebuilds are incremental; sources deleted from the tree disappear here too.
rsync -a --delete \
	--exclude '*.o' --exclude '*.ko' --exclude '*.mod' --exclude '*.mod.c' \
	--exclude '.*.cmd' --exclude '*.order' --exclude '*.a' --exclude Module.symvers \
	"$PSHARE_TOP/Kbuild" "$PSHARE_TOP/module" "$PSHARE_TOP/uapi" "$src/"

log=$out/build.log
# A stale module must never be picked up after a failed build.
rm -f "$out/pshare.ko" "$out/pshare_kunit.ko" "$out/pshare_pin.ko"
# -Werror keeps a warned-about object from being built, so the warning shows
# again on the next (incremental) build instead of vanishing.
if ! in_root make -C "$kdir" M="${src#"${root:-}"}" KCFLAGS=-Werror PSHARE_TEST_MODULES=y modules >"$log" 2>&1; then
	cat "$log" >&2
	die "building pshare.ko for the $flavor kernel failed"
fi
if grep -E -i '(warning|error):' "$log" >/dev/null; then
	cat "$log" >&2
	die "building pshare.ko for the $flavor kernel produced warnings (they count as errors)"
fi
cp "$src/pshare.ko" "$out/pshare.ko"
# The KUnit test module is built only for kernels with KUnit (see Kbuild).
if [ -f "$src/pshare_kunit.ko" ]; then
	cp "$src/pshare_kunit.ko" "$out/pshare_kunit.ko"
fi
# The selftests' helper (selftests/pshare_pin_test loads it).
if [ -f "$src/pshare_pin.ko" ]; then
	cp "$src/pshare_pin.ko" "$out/pshare_pin.ko"
fi
echo "$out/pshare.ko"
