#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The DKMS package builds: Debian's dkms adds, builds and installs pshare
# from the tree `make dkms-install` would put in /usr/src, against the
# stock kernel's installed headers, and refuses a kernel outside
# dkms.conf's range. A step of `make check` on the host (compiling inside
# the TCG test VM takes a quarter of an hour); the module it installs is
# copied to build/dkms/pshare.ko, which selftests/dkms_check.sh loads in
# the test VM.
#
# Nothing outside a temporary directory is written: dkms gets its trees
# (--dkmstree, --sourcetree, --installtree), --no-depmod, and a signing key
# of its own (it would otherwise create /var/lib/dkms/mok.key); the script
# then checks that /usr/src, /var/lib/dkms and /lib/modules/<kver> have no
# file newer than its start.

set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PSHARE_TOP" || exit 1

command -v dkms >/dev/null || die "dkms not found: run 'make deps' (Debian package dkms)"
kver=$(stock_kver) || die "no stock kernel with headers: run 'make deps'"
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
[ -n "$version" ] || die "dkms.conf has no PACKAGE_VERSION"

tmp=$(mktemp -d /tmp/pshare-dkms.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
stamp=$tmp/stamp
touch "$stamp"
sleep 1
export mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub
trees=(--dkmstree "$tmp/dkms" --sourcetree "$tmp/usr/src" --installtree "$tmp/install")
# dkms installs only into an existing kernel directory.
mkdir -p "$tmp/dkms" "$tmp/install/$kver"
dkms_do() { dkms "$1" -m pshare -v "$version" "${trees[@]}" "${@:2}"; }

failed=0
step() {
	local name=$1
	shift
	echo "--- $name"
	if "$@"; then
		echo "--- ok: $name"
	else
		echo "--- FAILED: $name"
		failed=1
	fi
}

step "stage the source (make dkms-src)" make -s dkms-src DESTDIR="$tmp"
step "dkms add" dkms_do add
step "dkms build -k $kver" dkms_do build -k "$kver"
[ "$failed" = 0 ] || cat "$tmp/dkms/pshare/$version/build/make.log" 2>/dev/null
step "dkms install -k $kver (temporary tree, no depmod)" dkms_do install -k "$kver" --no-depmod

ko=$(find "$tmp/install/$kver" -name 'pshare.ko*' 2>/dev/null | head -n1)
if [ -n "$ko" ]; then
	vermagic=$(modinfo -F vermagic "$ko")
	echo "installed: ${ko#"$tmp"/install/} (vermagic $vermagic)"
	if [ "${vermagic%% *}" = "$kver" ]; then
		mkdir -p build/dkms
		rm -f build/dkms/pshare.ko*
		cp "$ko" "build/dkms/$(basename "$ko")"
		echo "$kver" >build/dkms/kernel
	else
		echo "FAILED: the module is not for $kver"
		failed=1
	fi
else
	echo "FAILED: dkms installed no pshare.ko below the install tree"
	failed=1
fi

# Out of range: refused with status 77 before anything is built.
out=$(dkms_do build -k 7.3.0-1-amd64 2>&1)
rc=$?
if [ "$rc" = 77 ] && grep -q BUILD_EXCLUSIVE <<<"$out"; then
	echo "ok: kernel 7.3.0-1-amd64 refused (BUILD_EXCLUSIVE_KERNEL, status 77)"
else
	echo "FAILED: kernel 7.3.0-1-amd64 not refused as BUILD_EXCLUSIVE (status $rc): $out"
	failed=1
fi
dkms_do remove --all --no-depmod >/dev/null 2>&1

touched=$(find /usr/src /var/lib/dkms "/lib/modules/$kver" -maxdepth 4 -newer "$stamp" 2>/dev/null)
if [ -n "$touched" ]; then
	echo "FAILED: dkms wrote outside its temporary trees:"
	echo "$touched"
	failed=1
else
	echo "ok: nothing written to /usr/src, /var/lib/dkms, /lib/modules/$kver"
fi
[ "$failed" = 0 ] && echo "dkms: pshare $version builds and installs for $kver"
exit "$failed"
