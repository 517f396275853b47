# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for the pshare build and test scripts. Source it; it defines
# functions and a few variables and has no side effects.
#
#   PSHARE_TOP        the work tree (the directory above scripts/)
#   PSHARE_CACHE      /var/cache/pshare: kernel source and debug kernel builds
#   PSHARE_KSRC       the extracted linux-source-6.1 tree

PSHARE_TOP=${PSHARE_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PSHARE_CACHE=${PSHARE_CACHE:-/var/cache/pshare}
PSHARE_KSRC_TAR=/usr/src/linux-source-6.1.tar.xz
PSHARE_KSRC=$PSHARE_CACHE/linux-source-6.1

die() {
	echo "$(basename "$0"): error: $*" >&2
	exit 1
}

note() {
	echo "$(basename "$0"): $*" >&2
}

# stock_kver: the newest installed Debian amd64 kernel that also has its
# headers and modules installed, e.g. "6.1.0-56-amd64".
stock_kver() {
	local img ver best=
	for img in /boot/vmlinuz-*-amd64; do
		[ -e "$img" ] || continue
		ver=${img#/boot/vmlinuz-}
		[ -d "/usr/src/linux-headers-$ver" ] || continue
		[ -d "/lib/modules/$ver/kernel" ] || continue
		best=$(printf '%s\n%s\n' "$best" "$ver" | sed '/^$/d' | sort -V | tail -n1)
	done
	[ -n "$best" ] || return 1
	echo "$best"
}

# stock_kdir: kbuild directory for the stock kernel.
stock_kdir() {
	local ver
	ver=$(stock_kver) || return 1
	echo "/usr/src/linux-headers-$ver"
}

# ksrc_version: the version of the linux-source tree ("6.1.192") plus the
# Debian package version, so a package upgrade gives a new debug kernel.
ksrc_version() {
	local mk=$PSHARE_KSRC/Makefile v p s pkg
	v=$(sed -n 's/^VERSION = //p' "$mk")
	p=$(sed -n 's/^PATCHLEVEL = //p' "$mk")
	s=$(sed -n 's/^SUBLEVEL = //p' "$mk")
	pkg=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
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
	[ -f "$PSHARE_KSRC/Makefile" ] || return 1
	h=$({ fragment_options "$frag"; ksrc_version; } | sha256sum | cut -c1-12)
	echo "$PSHARE_CACHE/debug-kernel-$h"
}

# kdir_for <stock|debug>
kdir_for() {
	case $1 in
	stock) stock_kdir ;;
	debug) debug_kdir ;;
	*) return 1 ;;
	esac
}
