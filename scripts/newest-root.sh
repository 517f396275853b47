#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The newest stable kernel Debian packages, and a place to build for it.
#
#   bash scripts/newest-root.sh          make it if needed, print its kernel
#                                        release (e.g. "7.2.3+deb13-amd64")
#   bash scripts/newest-root.sh --root   only print the root's directory
#
# That kernel (trixie-backports) is built with gcc-14, which Debian 12 does
# not have, and its headers package wants trixie's toolchain: so pshare is
# built for it inside a Debian 13 root made with debootstrap, cached in
# /var/cache/pshare/trixie-root. The root holds gcc-14, make, dkms and the
# kernel's headers; the kernel image and its modules are unpacked beside it
# into $PSHARE_NEWEST_KERNEL (its boot/ and lib/modules/), from where
# scripts/vm.sh boots them.
# Nothing is installed on this machine outside /var/cache/pshare.
#
# The kernel is the newest linux-image-<release>-amd64 in trixie-backports
# at the time the root is made; the root is kept until it is removed by
# hand, so the tested version changes only then.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

root=$PSHARE_NEWEST_ROOT
if [ "${1:-}" = --root ]; then
	echo "$root"
	exit 0
fi
stamp=$root/.pshare-complete
if [ -f "$stamp" ]; then
	cat "$stamp"
	exit 0
fi

mirror=http://deb.debian.org/debian
command -v debootstrap >/dev/null || die "debootstrap not found: run 'make deps'"
mkdir -p "$PSHARE_CACHE"
exec 9>"$root.lock"
flock 9
if [ -f "$stamp" ]; then
	cat "$stamp"
	exit 0
fi

log=$PSHARE_CACHE/trixie-root.log
note "making a Debian 13 build root in $root (log: $log); this takes a few minutes"
# A root that debootstrap finished is kept when a later step failed.
if [ ! -f "$root/.pshare-bootstrapped" ]; then
	rm -rf "$root"
	if ! debootstrap --variant=minbase --include=ca-certificates trixie "$root" "$mirror" >"$log" 2>&1; then
		tail -n 20 "$log" >&2
		die "debootstrap trixie failed"
	fi
	touch "$root/.pshare-bootstrapped"
fi
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror trixie main
deb $mirror trixie-backports main
EOF
# Inside the root apt needs no daemons and no init, only a /proc of its own
# (in_newest_root, scripts/lib.sh).
in_root() {
	in_newest_root env DEBIAN_FRONTEND=noninteractive "$@"
}
in_root apt-get update -q >>"$log" 2>&1 || die "apt-get update in the trixie root failed (see $log)"
image=$(in_root apt-cache -t trixie-backports search --names-only '^linux-image-[0-9.]+.*-amd64$' |
	awk '{print $1}' | grep -vE -- '-(rt|cloud)-amd64|unsigned|dbg' | sort -V | tail -n1)
[ -n "$image" ] || die "no linux-image-*-amd64 found in trixie(-backports)"
kver=${image#linux-image-}
note "newest Debian kernel: $kver"
if ! in_root apt-get install -y -q --no-install-recommends -t trixie-backports \
	gcc-14 make libc6-dev dkms xz-utils "linux-headers-$kver" >>"$log" 2>&1; then
	tail -n 20 "$log" >&2
	die "installing gcc-14, dkms and linux-headers-$kver in the trixie root failed"
fi
# The image's maintainer scripts want an initramfs generator and a boot
# loader: neither is wanted here, so the packages are only unpacked. Since
# Debian's 7.x packages the image is a small package whose dependencies
# linux-binary-<release>, linux-modules-<release> and linux-base-<release>
# hold the kernel, its modules and their lists; older ones hold all that
# themselves.
parts=$(in_root apt-cache -t trixie-backports show "$image" | sed -n 's/^Depends: //p' | head -n1 |
	tr ',' '\n' | sed 's/ *(.*//; s/^ *//' |
	awk -v k="$kver" '$0 == "linux-binary-" k || $0 == "linux-modules-" k || $0 == "linux-base-" k' | tr '\n' ' ')
rm -f "$root"/tmp/*.deb
in_root bash -c "cd /tmp && apt-get download -t trixie-backports $image $parts" >>"$log" 2>&1 ||
	die "downloading $image $parts failed (see $log)"
kimg=$PSHARE_NEWEST_KERNEL
rm -rf "$kimg"
mkdir -p "$kimg"
for deb in "$root"/tmp/*.deb; do
	dpkg-deb -x "$deb" "$kimg"
	rm -f "$deb"
done
# Debian 13 ships modules in /usr/lib/modules: one place for vm.sh.
if [ -d "$kimg/usr/lib/modules" ] && [ ! -e "$kimg/lib/modules" ]; then
	mkdir -p "$kimg/lib"
	mv "$kimg/usr/lib/modules" "$kimg/lib/modules"
fi
# and since 7.x the kernel image itself lies beside them.
if [ ! -e "$kimg/boot/vmlinuz-$kver" ] && [ -f "$kimg/lib/modules/$kver/vmlinuz" ]; then
	mkdir -p "$kimg/boot"
	cp "$kimg/lib/modules/$kver/vmlinuz" "$kimg/boot/vmlinuz-$kver"
fi
[ -r "$kimg/boot/vmlinuz-$kver" ] || die "$image has no vmlinuz for $kver"
[ -d "$kimg/lib/modules/$kver/kernel" ] || die "$image has no modules for $kver"
# modprobe in the test VM needs the dependency lists, which Debian's
# maintainer scripts would make.
depmod -b "$kimg" "$kver" || die "depmod for $kver failed"
echo "$kver" >"$stamp"
echo "$kver"
