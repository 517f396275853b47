#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing pshare needs on Debian 12 (bookworm):
# compilers, the stock kernel with its headers and modules, the kernel source
# for the debug kernel, QEMU and busybox for the test VMs, sparse for
# `make style`, dkms for the packaging check, perf and bpftrace for the
# guide's tracepoint examples. Quiet when
# everything is already there; runs `apt-get update` once, only when a package
# is missing. Also unpacks linux-source-6.1 into /var/cache/pshare.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pkgs=(
	build-essential flex bison bc libelf-dev libssl-dev
	linux-image-amd64 linux-headers-amd64 linux-source-6.1
	qemu-system-x86 busybox-static
	cpio kmod python3 e2fsprogs xz-utils rsync util-linux coreutils
	gzip procps
	sparse dkms
	linux-perf bpftrace
)

missing=()
for p in "${pkgs[@]}"; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	[ -r /etc/debian_version ] || die "not a Debian system; install by hand: ${missing[*]}"
	sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "missing packages (${missing[*]}); run this as root"
		sudo=sudo
	fi
	note "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q
	$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

ver=$(stock_kver) ||
	die "no /boot/vmlinuz-*-amd64 with matching /usr/src/linux-headers-* and /lib/modules/*: install linux-image-amd64 and linux-headers-amd64 of the same version"

if [ ! -f "$PSHARE_KSRC/Makefile" ]; then
	[ -f "$PSHARE_KSRC_TAR" ] || die "$PSHARE_KSRC_TAR missing although linux-source-6.1 is installed"
	note "extracting $PSHARE_KSRC_TAR into $PSHARE_CACHE"
	mkdir -p "$PSHARE_CACHE"
	tar -C "$PSHARE_CACHE" -xf "$PSHARE_KSRC_TAR"
fi

# The stock kernel image must be readable for QEMU (Debian installs it 0600
# when not running as root; we run as root, but say so clearly otherwise).
[ -r "/boot/vmlinuz-$ver" ] || die "/boot/vmlinuz-$ver is not readable: run as root or chmod a+r it"
exit 0
