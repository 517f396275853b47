#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make style`: the kernel's own style and static checks over pshare.
#
#   1. checkpatch.pl (from linux-source-6.1, unpacked by scripts/deps.sh)
#      with --no-tree -f over module/*.[ch], uapi/linux/pshare.h and
#      psharectl's sources and host tests (userspace-tools/ctl/*.[ch],
#      userspace-tools/tests/*.c);
#   2. sparse (Debian package), through kbuild's C=2, over every object of
#      pshare.ko and of the test helper pshare_pin.ko built against the
#      stock kernel's headers, and against the
#      debug kernel too when it is built (only it has KUnit, so only there
#      are the KUnit test files compiled and checked).
#
#   3. scripts/include-graph.py over module/: no include loop among the
#      module's parts, every function declared in its own part's header;
#   4. kernel-doc -none (linux-source-6.1's) over module/*.[ch]: every
#      kernel-doc comment well-formed, every parameter described.
#
# Passes only with zero checkpatch errors, warnings and checks-as-warnings,
# zero sparse warnings in our files, no include loop and zero kernel-doc
# warnings. Three checkpatch rules are ignored, each for the one line or
# file it concerns:
#   LINUX_VERSION_CODE              module/compat.h's supported-range guard:
#                                   an out-of-tree module has no "version it
#                                   is merged to" (dkms.conf states the same
#                                   range);
#   COMPLEX_MACRO                   uapi/linux/pshare.h only: its
#                                   PSHARE_REGION_STATS_FIELDS(X) is an
#                                   X-macro list, which cannot be one
#                                   parenthesized value;
#   PREFER_DEFINED_ATTRIBUTE_MACRO  userspace only: psharectl.h defines the
#                                   __printf() the rule asks for, since
#                                   userspace has no <linux/compiler.h>.
# Objects go to build/style/, never next to the sources.

set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PSHARE_TOP" || exit 1

checkpatch=$PSHARE_KSRC/scripts/checkpatch.pl
[ -x "$checkpatch" ] || die "$checkpatch missing: run 'make deps' (unpacks linux-source-6.1)"
command -v sparse >/dev/null || die "sparse not found: run 'make deps' (Debian package sparse)"

bad=0

# --- checkpatch ------------------------------------------------------------------
# run_checkpatch IGNORES FILE...: print the findings, add their number
# to cp_findings.
cp_findings=0
run_checkpatch() {
	local ignore=$1 out
	shift
	out=$("$checkpatch" --no-tree -f --terse --show-types --no-summary \
		--ignore "$ignore" "$@" 2>&1)
	[ -n "$out" ] && echo "$out"
	cp_findings=$((cp_findings + $(grep -cE ': (ERROR|WARNING|CHECK):' <<<"$out")))
}

shopt -s nullglob
kfiles=(module/*.c module/*.h)
ufiles=(userspace-tools/ctl/*.[ch] userspace-tools/tests/*.c)
run_checkpatch LINUX_VERSION_CODE "${kfiles[@]}"
run_checkpatch COMPLEX_MACRO uapi/linux/pshare.h
kfiles+=(uapi/linux/pshare.h)
run_checkpatch LINUX_VERSION_CODE,PREFER_DEFINED_ATTRIBUTE_MACRO "${ufiles[@]}"
echo "checkpatch: $cp_findings findings in ${#kfiles[@]} kernel and ${#ufiles[@]} userspace files"
[ "$cp_findings" -eq 0 ] || bad=1

# --- sparse ----------------------------------------------------------------------
# run_sparse FLAVOR KDIR: C=2 build in build/style/FLAVOR; count the
# warnings and errors sparse (or the compiler) reports in our files.
run_sparse() {
	local flavor=$1 kdir=$2 src log n found
	src=$PSHARE_TOP/build/style/$flavor
	mkdir -p "$src"
	rsync -a --delete \
		--exclude '*.o' --exclude '*.ko' --exclude '*.mod' --exclude '*.mod.c' \
		--exclude '.*.cmd' --exclude '*.order' --exclude '*.a' --exclude Module.symvers \
		Kbuild module uapi "$src/"
	log=$src.log
	# C=2 checks every source whether or not it needs rebuilding; the
	# test helper modules (PSHARE_TEST_MODULES, see Kbuild) too.
	if ! make -C "$kdir" M="$src" C=2 CHECK=sparse PSHARE_TEST_MODULES=y modules >"$log" 2>&1; then
		cat "$log"
		echo "sparse ($flavor): the build failed"
		return 1
	fi
	found=$(grep -E "^$src/.*: (warning|error):" "$log")
	[ -n "$found" ] && echo "$found"
	n=$(grep -c . <<<"$found")
	echo "sparse ($flavor, $kdir): $n warnings in our files"
	[ "$n" -eq 0 ]
}

kdir=$(kdir_for stock) || die "no stock kernel headers: run 'make deps'"
run_sparse stock "$kdir" || bad=1
dkdir=$(debug_kdir) && [ -f "$dkdir/Module.symvers" ] && [ -f "$dkdir/.config" ] &&
	{ run_sparse debug "$dkdir" || bad=1; }
[ -f "${dkdir:-/nonexistent}/Module.symvers" ] ||
	echo "sparse (debug): the debug kernel is not built, KUnit files not checked"

# --- include graph and kernel-doc -------------------------------------------------
if python3 scripts/include-graph.py; then
	echo "include-graph: the module's parts form layers"
else
	bad=1
fi

kdoc=$("$PSHARE_KSRC/scripts/kernel-doc" -none module/*.c module/*.h 2>&1 |
	grep -v '^Warning: Sphinx version')
[ -n "$kdoc" ] && echo "$kdoc"
echo "kernel-doc: $(grep -c 'warning:' <<<"$kdoc") warnings in module/"
grep -q 'warning:' <<<"$kdoc" && bad=1

if [ "$bad" -ne 0 ]; then
	echo "style: FAILED"
	exit 1
fi
echo "style: clean"
exit 0
