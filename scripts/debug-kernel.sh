#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug kernel (KASAN, lockdep, kmemleak, ...) used by
# `make vm KERNEL=debug` and `make check`.
#
#   bash scripts/debug-kernel.sh              build if needed, print the O= dir
#   bash scripts/debug-kernel.sh --print-dir  only print the O= dir
#
# The kernel is linux-source-6.12, or linux-source-6.1 with
# PSHARE_DEBUG_LINE=6.1 (scripts/lib.sh), configured as tinyconfig plus
# scripts/debug-kernel.config, built out of tree into
# /var/cache/pshare/debug-kernel-<hash of fragment and source version>/, which
# is a complete KDIR for out-of-tree module builds. A finished build is reused;
# a changed fragment or kernel source gives a new directory.
#
# Environment: PSHARE_JOBS (default 2) make -j value.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

frag=$PSHARE_TOP/scripts/debug-kernel.config
jobs=${PSHARE_JOBS:-2}

if [ ! -f "$PSHARE_DEBUG_KSRC/Makefile" ]; then
	[ -f "$PSHARE_DEBUG_KSRC_TAR" ] ||
		die "$PSHARE_DEBUG_KSRC_TAR missing: run 'make deps' (installs $PSHARE_DEBUG_KSRC_PKG)"
	note "extracting $PSHARE_DEBUG_KSRC_TAR into $PSHARE_DEBUG_KSRC"
	rm -rf "$PSHARE_DEBUG_KSRC.tmp"
	mkdir -p "$PSHARE_DEBUG_KSRC.tmp"
	tar -C "$PSHARE_DEBUG_KSRC.tmp" --strip-components=1 -xf "$PSHARE_DEBUG_KSRC_TAR"
	mv "$PSHARE_DEBUG_KSRC.tmp" "$PSHARE_DEBUG_KSRC"
fi

out=$(debug_kdir) || die "cannot locate the kernel source in $PSHARE_DEBUG_KSRC"
if [ "${1:-}" = "--print-dir" ]; then
	echo "$out"
	exit 0
fi

stamp=$out/.pshare-build-complete
if [ -f "$stamp" ] && [ -f "$out/arch/x86/boot/bzImage" ]; then
	echo "$out"
	exit 0
fi

# A finished build of the same options and source (made before the
# directory naming ignored comments) is reused as it is.
if [ ! -e "$out" ]; then
	for d in "$PSHARE_CACHE"/debug-kernel-*/; do
		d=${d%/}
		[ -f "$d/.pshare-build-complete" ] && [ -f "$d/.pshare-fragment" ] && [ ! -L "$d" ] || continue
		[ "$(cat "$d/.pshare-ksrc-version" 2>/dev/null || ksrc_version)" = "$(ksrc_version)" ] || continue
		if [ "$(fragment_options "$d/.pshare-fragment")" = "$(fragment_options "$frag")" ]; then
			ln -sn "$(basename "$d")" "$out" 2>/dev/null || true
			break
		fi
	done
	if [ -f "$stamp" ] && [ -f "$out/arch/x86/boot/bzImage" ]; then
		echo "$out"
		exit 0
	fi
fi

mkdir -p "$out"
# One builder at a time; a second caller waits and then reuses the result.
exec 9>"$out.lock"
if ! flock -n 9; then
	note "another debug kernel build is running; waiting for it"
	flock 9
fi
if [ -f "$stamp" ] && [ -f "$out/arch/x86/boot/bzImage" ]; then
	echo "$out"
	exit 0
fi

log=$out/build.log
note "building debug kernel in $out (log: $log); this takes several minutes"
start=$(date +%s)

kmake() {
	make -C "$PSHARE_DEBUG_KSRC" O="$out" ARCH=x86_64 "$@"
}

# Seed a new configuration from the finished build whose fragment differs
# least from this one: kbuild then recompiles only what the changed options
# touch.
if [ ! -f "$out/.config" ]; then
	prev= best=
	for d in "$PSHARE_CACHE"/debug-kernel-*/; do
		d=${d%/}
		[ -f "$d/.pshare-build-complete" ] && [ -f "$d/.pshare-fragment" ] && [ ! -L "$d" ] || continue
		[ "$(cat "$d/.pshare-ksrc-version" 2>/dev/null)" = "$(ksrc_version)" ] || continue
		n=$(diff "$d/.pshare-fragment" "$frag" | grep -c '^[<>]' || true)
		if [ -z "$best" ] || [ "$n" -lt "$best" ]; then
			prev=$d best=$n
		fi
	done
	if [ -n "$prev" ]; then
		note "seeding from $prev"
		cp -a "$prev/." "$out/"
		rm -f "$out/.pshare-build-complete" "$out/.pshare-fragment" "$out/.pshare-ksrc-version" "$out/build.log"
	fi
fi

{
	kmake tinyconfig
	"$PSHARE_DEBUG_KSRC/scripts/kconfig/merge_config.sh" -m -O "$out" \
		"$out/.config" "$frag"
	kmake olddefconfig
} >"$log" 2>&1 || { tail -n 40 "$log" >&2; die "configuring the debug kernel failed (see $log)"; }

# tinyconfig + olddefconfig silently drops options whose dependencies are
# off; insist on getting exactly what the fragment asks for.
bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		opt=${line%%=*}
		if ! grep -qxF -- "$line" "$out/.config"; then
			got=$(grep -E "^(# )?$opt[= ]" "$out/.config" || echo "(absent)")
			echo "  wanted: $line   got: $got" >&2
			bad=1
		fi
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		if grep -q "^$opt=" "$out/.config"; then
			echo "  wanted: $line   got: $(grep "^$opt=" "$out/.config")" >&2
			bad=1
		fi
		;;
	esac
done <"$frag"
[ "$bad" = 0 ] || die "the options above did not survive olddefconfig; add their dependencies to $frag"

if ! kmake -j"$jobs" all >>"$log" 2>&1; then
	grep -E 'error|Error' "$log" | tail -n 20 >&2 || true
	tail -n 20 "$log" >&2
	die "debug kernel build failed (see $log)"
fi
[ -f "$out/Module.symvers" ] || die "build finished without $out/Module.symvers"
cp "$frag" "$out/.pshare-fragment"
ksrc_version >"$out/.pshare-ksrc-version"
touch "$stamp"
note "debug kernel built in $(($(date +%s) - start)) s: $out/arch/x86/boot/bzImage"
echo "$out"
