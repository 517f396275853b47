#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the small inner guest used by `make demo` and selftests/kvm/:
#
#   build/guest/vmlinuz          the stock Debian kernel (copied from /boot)
#   build/guest/initramfs.cpio.gz busybox, the virtio-balloon modules, /init
#                                 (scripts/guest/init) and /bin/guestmem
#   build/guest/guestmem         the static pattern writer/checker
#
# Runs on the host, before a test VM boots (the work tree is read-only inside
# the VM). Usage: bash scripts/guest/build.sh [--quiet]

set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$top/build/guest
quiet=${1:-}

say() { [ "$quiet" = --quiet ] || echo "guest/build.sh: $*"; }
die() { echo "guest/build.sh: error: $*" >&2; exit 1; }

# The newest Debian 12 kernel (the 6.1 line) whose modules are installed:
# the inner guest stays on it whichever kernel the test VM runs.
kver=
for img in /boot/vmlinuz-6.1.*-amd64; do
	[ -e "$img" ] || continue
	v=${img#/boot/vmlinuz-}
	[ -d "/lib/modules/$v/kernel" ] || continue
	kver=$(printf '%s\n%s\n' "$kver" "$v" | sed '/^$/d' | sort -V | tail -n1)
done
[ -n "$kver" ] || die "no /boot/vmlinuz-*-amd64 with modules in /lib/modules: run 'make deps' (linux-image-amd64)"
[ -r "/boot/vmlinuz-$kver" ] || die "/boot/vmlinuz-$kver is not readable (run as root)"

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found: apt-get install busybox-static"
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$busybox" 2>&1 | grep -q 'not a dynamic' ||
	die "$busybox is not static: apt-get install busybox-static"
command -v gcc >/dev/null || die "gcc not found: apt-get install build-essential"
command -v cpio >/dev/null || die "cpio not found: apt-get install cpio"
command -v modinfo >/dev/null || die "modinfo not found: apt-get install kmod"

mkdir -p "$out"
gcc -static -O2 -Wall -Wextra -o "$out/guestmem.new" "$here/guestmem.c"
mv -f "$out/guestmem.new" "$out/guestmem"

# Module closure of virtio_balloon and virtio_pci, dependencies first.
declare -A seen=()
order=()
add_mod() {
	local m=$1 deps d
	[ -n "${seen[$m]:-}" ] && return 0
	seen[$m]=1
	deps=$(modinfo -k "$kver" -F depends "$m") ||
		die "module $m not found for kernel $kver"
	for d in ${deps//,/ }; do
		add_mod "$d"
	done
	order+=("$m")
}
for m in virtio_pci virtio_balloon; do
	add_mod "$m"
done

stage=$(mktemp -d "$out/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,lib/modules}
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$out/guestmem" "$stage/bin/guestmem"
install -m 0755 "$here/init" "$stage/init"
: > "$stage/lib/modules/load-order"
for m in "${order[@]}"; do
	f=$(modinfo -k "$kver" -F filename "$m")
	case $f in
	*.ko) cp "$f" "$stage/lib/modules/$m.ko" ;;
	*.ko.xz) xz -dc "$f" > "$stage/lib/modules/$m.ko" ;;
	*.ko.zst) zstd -qdc "$f" > "$stage/lib/modules/$m.ko" ;;
	*.ko.gz) gzip -dc "$f" > "$stage/lib/modules/$m.ko" ;;
	*) die "unknown module file type: $f" ;;
	esac
	echo "$m.ko" >> "$stage/lib/modules/load-order"
done

(cd "$stage" && find . -print0 | sort -z |
	cpio --null -o -H newc --quiet -R 0:0) | gzip -9 > "$out/initramfs.cpio.gz.new"
mv -f "$out/initramfs.cpio.gz.new" "$out/initramfs.cpio.gz"
cp -f "/boot/vmlinuz-$kver" "$out/vmlinuz"
echo "$kver" > "$out/kernel-version"
say "kernel $kver, modules: ${order[*]}"
say "wrote $out/vmlinuz $out/initramfs.cpio.gz"
