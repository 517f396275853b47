#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The DKMS package builds: Debian's dkms adds, builds and installs pshare
# from the tree `make dkms-install` would put in /usr/src, against the
# headers of every tested Debian kernel (6.1 and 6.12 here; the newest one
# with Debian 13's dkms inside its build root, scripts/newest-root.sh), and
# refuses kernels outside dkms.conf's range. A step of `make check` on the
# host (compiling inside the TCG test VM takes a quarter of an hour); each
# module it installs is copied to build/dkms/<release>/pshare.ko, which
# selftests/dkms_check.sh loads in the test VM of that kernel.
#
# Nothing outside a temporary directory is written: dkms gets its trees
# (--dkmstree, --sourcetree, --installtree), --no-depmod, and a signing key
# of its own (it would otherwise create /var/lib/dkms/mok.key); the script
# then checks that /usr/src, /var/lib/dkms and /lib/modules/<kver> have no
# file newer than its start.
#
#   bash scripts/dkms-check.sh [FLAVOR...]   default: stock lts newest

set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PSHARE_TOP" || exit 1

command -v dkms >/dev/null || die "dkms not found: run 'make deps' (Debian package dkms)"
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
[ -n "$version" ] || die "dkms.conf has no PACKAGE_VERSION"
flavors=("$@")
[ ${#flavors[@]} -gt 0 ] || flavors=(stock lts newest)

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

# check FLAVOR: the whole check against one kernel's headers.
check() {
	local flavor=$1 kver root= tmp stamp ko vermagic out rc k touched
	case $flavor in
	stock | lts) kver=$(kver_for "$flavor") || { echo "FAILED: no $flavor kernel headers: run 'make deps'"; failed=1; return; } ;;
	newest)
		kver=$(bash scripts/newest-root.sh) || { echo "FAILED: no newest kernel root"; failed=1; return; }
		root=$PSHARE_NEWEST_ROOT
		;;
	*) echo "FAILED: dkms-check.sh: no DKMS check for '$flavor'"; failed=1; return ;;
	esac
	echo "=== $flavor: $kver"
	# run: a command where the headers are (in the root for newest), with
	# the temporary tree at the same path.
	run() {
		if [ -n "$root" ]; then
			in_newest_root mok_signing_key="${tmp#"$root"}/mok.key" \
				mok_certificate="${tmp#"$root"}/mok.pub" "$@"
		else
			mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub "$@"
		fi
	}
	tmp=$(mktemp -d "$root/tmp/pshare-dkms.XXXXXX") || { failed=1; return; }
	stamp=$tmp/stamp
	touch "$stamp"
	sleep 1
	local t=${tmp#"$root"}
	local trees=(--dkmstree "$t/dkms" --sourcetree "$t/usr/src" --installtree "$t/install")
	# dkms installs only into an existing kernel directory.
	mkdir -p "$tmp/dkms" "$tmp/install/$kver"
	dkms_do() { run dkms "$1" -m pshare -v "$version" "${trees[@]}" "${@:2}"; }

	step "stage the source (make dkms-src)" make -s dkms-src DESTDIR="$tmp"
	step "dkms add ($flavor)" dkms_do add
	# Named outright: dkms 3.2 looks for them below --installtree.
	local ksrc=/usr/src/linux-headers-$kver
	step "dkms build -k $kver" dkms_do build -k "$kver" --kernelsourcedir "$ksrc"
	[ "$failed" = 0 ] || cat "$tmp/dkms/pshare/$version/build/make.log" 2>/dev/null
	step "dkms install -k $kver (temporary tree, no depmod)" dkms_do install -k "$kver" --kernelsourcedir "$ksrc" --no-depmod

	ko=$(find "$tmp/install/$kver" -name 'pshare.ko*' 2>/dev/null | head -n1)
	if [ -n "$ko" ]; then
		mkdir -p "build/dkms/$kver"
		rm -f "build/dkms/$kver"/pshare.ko*
		case $ko in
		*.xz) xz -dc "$ko" >"build/dkms/$kver/pshare.ko" ;;
		*.zst) zstd -qdc "$ko" >"build/dkms/$kver/pshare.ko" ;;
		*.gz) gzip -dc "$ko" >"build/dkms/$kver/pshare.ko" ;;
		*) cp "$ko" "build/dkms/$kver/pshare.ko" ;;
		esac
		vermagic=$(modinfo -F vermagic "build/dkms/$kver/pshare.ko")
		echo "installed: ${ko#"$tmp"/install/} (vermagic $vermagic)"
		if [ "${vermagic%% *}" != "$kver" ]; then
			echo "FAILED: the module is not for $kver"
			rm -rf "build/dkms/$kver"
			failed=1
		fi
	else
		echo "FAILED: dkms installed no pshare.ko below the install tree"
		failed=1
	fi

	# Out of range: refused with status 77 before anything is built.
	for k in 6.0.0-1-amd64 7.4.0-1-amd64; do
		out=$(dkms_do build -k "$k" 2>&1)
		rc=$?
		if [ "$rc" = 77 ] && grep -q BUILD_EXCLUSIVE <<<"$out"; then
			echo "ok: kernel $k refused (BUILD_EXCLUSIVE_KERNEL, status 77)"
		else
			echo "FAILED: kernel $k not refused as BUILD_EXCLUSIVE (status $rc): $out"
			failed=1
		fi
	done
	dkms_do remove --all --no-depmod >/dev/null 2>&1

	touched=$(find "$root/usr/src" "$root/var/lib/dkms" "$root/lib/modules/$kver" -maxdepth 4 -newer "$stamp" 2>/dev/null)
	if [ -n "$touched" ]; then
		echo "FAILED: dkms wrote outside its temporary trees:"
		echo "$touched"
		failed=1
	else
		echo "ok: nothing written to $root/usr/src, $root/var/lib/dkms, $root/lib/modules/$kver"
	fi
	rm -rf "$tmp"
}

# `make install` refuses a kernel outside the range before it builds or
# copies anything, and says why.
install_refuses() {
	local t k=6.0.0-1-amd64
	t=$(mktemp -d /tmp/pshare-install.XXXXXX) || return 1
	if make -s install KVER=$k DESTDIR="$t/root" >"$t/log" 2>&1; then
		echo "FAILED: make install KVER=$k succeeded"
	elif [ -n "$(find "$t/root" -type f 2>/dev/null)" ]; then
		echo "FAILED: make install KVER=$k copied files: $(find "$t/root" -type f)"
	elif ! grep -q "not installing for Linux $k: outside the tested range" "$t/log"; then
		echo "FAILED: make install KVER=$k gave no reason: $(cat "$t/log")"
	else
		echo "ok: make install KVER=$k refused: $(grep 'not installing' "$t/log")"
		rm -rf "$t"
		return 0
	fi
	rm -rf "$t"
	return 1
}
step "make install refuses an untested kernel" install_refuses

for f in "${flavors[@]}"; do
	before=$failed
	failed=0
	check "$f"
	[ "$failed" = 0 ] && echo "dkms: pshare $version builds and installs for $f"
	[ "$before" = 0 ] || failed=1
done
exit "$failed"
