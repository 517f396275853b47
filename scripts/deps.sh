#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing pshare needs on Debian 12 (bookworm):
# compilers, the two kernel lines Debian 12 ships with their headers and
# modules (6.1, and 6.12 LTS from bookworm-security: the newest
# linux-image-6.12.*+deb12-amd64 there when first installed), the 6.12
# kernel source for the debug kernel and the 6.1 source for checkpatch and
# the kselftest harness, QEMU and busybox for the test VMs, debootstrap for
# the newest kernel's Debian 13 build root (scripts/newest-root.sh), sparse
# for `make style`, dkms for the packaging check, perf and bpftrace for the
# guide's tracepoint examples, and promtool and node_exporter
# (scripts/prometheus-tools.sh: the checks of psharectl metrics). Quiet when
# everything is already there; runs `apt-get update` once, only when a
# package is missing. Also unpacks linux-source-6.1 into /var/cache/pshare.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pkgs=(
	build-essential flex bison bc libelf-dev libssl-dev
	linux-image-amd64 linux-headers-amd64 linux-source-6.1 linux-source-6.12
	qemu-system-x86 busybox-static
	cpio kmod python3 e2fsprogs xz-utils rsync util-linux coreutils
	gzip procps debootstrap
	sparse dkms
	linux-perf bpftrace
)

missing=()
for p in "${pkgs[@]}"; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing+=("$p")
done

# The 6.12 line: its image and headers are named by ABI version, so the
# newest one the archive has is chosen the first time, and kept after.
lts_missing=
line_kver 6.12. >/dev/null || lts_missing=1

if [ ${#missing[@]} -gt 0 ] || [ -n "$lts_missing" ]; then
	[ -r /etc/debian_version ] || die "not a Debian system; install by hand: ${missing[*]}"
	sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "missing packages (${missing[*]}); run this as root"
		sudo=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q
	if [ -n "$lts_missing" ]; then
		lts=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' |
			awk '{ print $1 }' | sort -V | tail -n1)
		[ -n "$lts" ] || die "no linux-image-6.12.*+deb12-amd64 in this machine's apt sources (bookworm-security has them)"
		missing+=("$lts" "linux-headers-${lts#linux-image-}")
	fi
	note "installing: ${missing[*]}"
	$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

ver=$(stock_kver) ||
	die "no /boot/vmlinuz-6.1.*-amd64 with matching /usr/src/linux-headers-* and /lib/modules/*: install linux-image-amd64 and linux-headers-amd64 of the same version"
lts=$(line_kver 6.12.) ||
	die "no /boot/vmlinuz-6.12.*-amd64 with matching headers and modules: install linux-image-6.12.<N>+deb12-amd64 and linux-headers-6.12.<N>+deb12-amd64"

if [ ! -f "$PSHARE_KSRC/Makefile" ]; then
	[ -f "$PSHARE_KSRC_TAR" ] || die "$PSHARE_KSRC_TAR missing although linux-source-6.1 is installed"
	note "extracting $PSHARE_KSRC_TAR into $PSHARE_CACHE"
	mkdir -p "$PSHARE_CACHE"
	tar -C "$PSHARE_CACHE" -xf "$PSHARE_KSRC_TAR"
fi

# The stock kernel image must be readable for QEMU (Debian installs it 0600
# when not running as root; we run as root, but say so clearly otherwise).
for v in "$ver" "$lts"; do
	[ -r "/boot/vmlinuz-$v" ] || die "/boot/vmlinuz-$v is not readable: run as root or chmod a+r it"
done
bash "$(dirname "${BASH_SOURCE[0]}")/prometheus-tools.sh" >/dev/null
exit 0
