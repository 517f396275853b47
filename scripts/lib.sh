# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for the pshare build and test scripts. Source it; it defines
# functions and a few variables and has no side effects.
#
#   PSHARE_TOP        the work tree (the directory above scripts/)
#   PSHARE_CACHE      /var/cache/pshare: kernel sources, debug kernel builds,
#                     the Debian 13 build root
#   PSHARE_KSRC       the extracted linux-source-6.1 tree (checkpatch, the
#                     kselftest harness)
#   PSHARE_DEBUG_KSRC the extracted linux-source tree the debug kernel is
#                     built from (PSHARE_DEBUG_LINE: 6.1 or 6.12), named by
#                     the package version
#   PSHARE_NEWEST_ROOT, PSHARE_NEWEST_KERNEL  see scripts/newest-root.sh
#
# The tested kernels ("flavors"), each booted by scripts/vm.sh and run
# through the whole suite by scripts/check.sh:
#
#   stock   Debian 12's own kernel, the 6.1 line (linux-image-amd64)
#   lts     the 6.12 LTS line Debian 12 also ships (linux-image-6.12.*+deb12)
#   newest  the newest stable kernel Debian packages (trixie-backports),
#           built for in a Debian 13 root (scripts/newest-root.sh)
#   debug   linux-source-6.12 (PSHARE_DEBUG_LINE=6.1: linux-source-6.1) as
#           tinyconfig plus scripts/debug-kernel.config (KASAN, lockdep,
#           kmemleak, DEBUG_VM, fault injection, KUnit)

PSHARE_FLAVORS="stock lts newest debug"
PSHARE_TOP=${PSHARE_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PSHARE_CACHE=${PSHARE_CACHE:-/var/cache/pshare}
PSHARE_KSRC_TAR=/usr/src/linux-source-6.1.tar.xz
PSHARE_KSRC=$PSHARE_CACHE/linux-source-6.1
# The line the debug kernel is built from: 6.12, where new hosts are;
# PSHARE_DEBUG_LINE=6.1 builds it from linux-source-6.1 instead.
PSHARE_DEBUG_LINE=${PSHARE_DEBUG_LINE:-6.12}
PSHARE_DEBUG_KSRC_PKG=linux-source-$PSHARE_DEBUG_LINE
PSHARE_DEBUG_KSRC_TAR=/usr/src/linux-source-$PSHARE_DEBUG_LINE.tar.xz
PSHARE_DEBUG_KSRC=$PSHARE_CACHE/linux-source-$PSHARE_DEBUG_LINE-$(dpkg-query -W -f='${Version}' $PSHARE_DEBUG_KSRC_PKG 2>/dev/null || echo none)
# The Debian 13 build root for the newest kernel, and that kernel's unpacked
# image and modules (scripts/newest-root.sh).
PSHARE_NEWEST_ROOT=$PSHARE_CACHE/trixie-root
PSHARE_NEWEST_KERNEL=$PSHARE_CACHE/newest-kernel

die() {
	echo "$(basename "$0"): error: $*" >&2
	exit 1
}

note() {
	echo "$(basename "$0"): $*" >&2
}

# line_kver PREFIX: the newest installed Debian amd64 kernel of one line
# (PREFIX "6.1." or "6.12.") that also has its headers and modules
# installed, e.g. "6.1.0-57-amd64".
line_kver() {
	local img ver best=
	for img in /boot/vmlinuz-"$1"*-amd64; do
		[ -e "$img" ] || continue
		ver=${img#/boot/vmlinuz-}
		[ -d "/usr/src/linux-headers-$ver" ] || continue
		[ -d "/lib/modules/$ver/kernel" ] || continue
		best=$(printf '%s\n%s\n' "$best" "$ver" | sed '/^$/d' | sort -V | tail -n1)
	done
	[ -n "$best" ] || return 1
	echo "$best"
}

# stock_kver: Debian 12's own kernel (the 6.1 line), e.g. "6.1.0-57-amd64".
# Other lines installed beside it (bookworm-backports' 6.12) do not count.
stock_kver() {
	line_kver 6.1.
}

# ksrc_version: the version of the debug kernel's source tree ("6.1.192")
# plus the Debian package version, so a package upgrade gives a new debug
# kernel.
ksrc_version() {
	local mk=$PSHARE_DEBUG_KSRC/Makefile v p s pkg
	v=$(sed -n 's/^VERSION = //p' "$mk")
	p=$(sed -n 's/^PATCHLEVEL = //p' "$mk")
	s=$(sed -n 's/^SUBLEVEL = //p' "$mk")
	pkg=$(dpkg-query -W -f='${Version}' $PSHARE_DEBUG_KSRC_PKG 2>/dev/null || true)
	echo "$v.$p.$s ${pkg:-unknown}"
}

# fragment_options FILE: the option lines of a config fragment, sorted, so
# that comments and ordering do not change a kernel's identity.
fragment_options() {
	grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' "$1" | LC_ALL=C sort
}

# debug_kdir: the O= build directory of the debug kernel for the current
# config fragment options and kernel source. It may not be built yet.
debug_kdir() {
	local frag=$PSHARE_TOP/scripts/debug-kernel.config h
	[ -f "$PSHARE_DEBUG_KSRC/Makefile" ] || return 1
	h=$({ fragment_options "$frag"; ksrc_version; } | sha256sum | cut -c1-12)
	echo "$PSHARE_CACHE/debug-kernel-$h"
}

# newest_kver: the release of the newest kernel, once its root is made.
newest_kver() {
	[ -f "$PSHARE_NEWEST_ROOT/.pshare-complete" ] || return 1
	cat "$PSHARE_NEWEST_ROOT/.pshare-complete"
}

# in_newest_root [VAR=VALUE...] CMD...: run a command in the Debian 13 root
# with a clean environment and a /proc of its own (objtool reads
# /proc/self/limits when it links a module), mounted in a private mount
# namespace so that nothing stays mounted in the root afterwards.
in_newest_root() {
	unshare --mount --propagation private sh -c '
		root=$1; shift
		mount -t proc proc "$root/proc" || exit 125
		exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"
	' sh "$PSHARE_NEWEST_ROOT" "$@"
}

# vm_qemu_cmd: the command that runs the test VM's QEMU: $PSHARE_VM_QEMU,
# where "trixie" (the default) means Debian 13's QEMU 10.0
# (scripts/vm-qemu.sh installs it on first use) and "host" this machine's
# qemu-system-x86_64 (Debian 12's 7.2, which panics now and then under
# nested guests: "The emulated CPU" in scripts/vm.sh); any other value is
# the command itself.
vm_qemu_cmd() {
	case ${PSHARE_VM_QEMU:-trixie} in
	trixie)	bash "$PSHARE_TOP/scripts/vm-qemu.sh" ;;
	host)	echo qemu-system-x86_64 ;;
	*)	echo "$PSHARE_VM_QEMU" ;;
	esac
}

# flavor_ok FLAVOR: 0 if FLAVOR names a tested kernel.
flavor_ok() {
	case " $PSHARE_FLAVORS " in *" $1 "*) return 0 ;; esac
	return 1
}

# kver_for FLAVOR: the kernel release ("debug" for the debug kernel).
kver_for() {
	case $1 in
	stock) stock_kver ;;
	lts) line_kver 6.12. ;;
	newest) newest_kver ;;
	debug) echo debug ;;
	*) return 1 ;;
	esac
}

# kdir_for FLAVOR: its kbuild directory, as the module build sees it (for
# newest: inside the Debian 13 root).
kdir_for() {
	local v
	case $1 in
	stock | lts) v=$(kver_for "$1") && echo "/usr/src/linux-headers-$v" ;;
	newest) v=$(newest_kver) && echo "/usr/src/linux-headers-$v" ;;
	debug) debug_kdir ;;
	*) return 1 ;;
	esac
}

# bzimage_for FLAVOR: the kernel image the test VM boots (debug: once built).
bzimage_for() {
	local v
	case $1 in
	stock | lts) v=$(kver_for "$1") && echo "/boot/vmlinuz-$v" ;;
	newest) v=$(newest_kver) && echo "$PSHARE_NEWEST_KERNEL/boot/vmlinuz-$v" ;;
	debug) v=$(debug_kdir) && echo "$v/arch/x86/boot/bzImage" ;;
	*) return 1 ;;
	esac
}

# modroot_for FLAVOR: the directory whose lib/modules/<release> holds the
# flavor's modules ("/" for the installed Debian kernels; nothing for the
# debug kernel, which has what it needs built in).
modroot_for() {
	case $1 in
	stock | lts) echo / ;;
	newest) echo "$PSHARE_NEWEST_KERNEL" ;;
	debug) echo ;;
	*) return 1 ;;
	esac
}
