#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check that Documentation/ABI/testing/sysfs-kernel-mm-pshare documents
# exactly the files the loaded module has in /sys/kernel/mm/pshare: every
# file has a "What:" entry, and every entry names a file that exists.
# Prints TAP; exits 0 when both hold, 1 when not, 4 (kselftest skip) when
# the module is not loaded.
#
#   bash userspace-tools/check-abi-docs.sh [SYSFS_DIR]
#
# SYSFS_DIR defaults to /sys/kernel/mm/pshare. Run it where the module is
# loaded, e.g. make vm CMD='bash userspace-tools/check-abi-docs.sh'.

set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
abi=$top/Documentation/ABI/testing/sysfs-kernel-mm-pshare
dir=${1:-/sys/kernel/mm/pshare}
prefix=/sys/kernel/mm/pshare

echo "TAP version 13"
echo "1..3"
if [ ! -r "$abi" ]; then
	echo "not ok 1 ABI file readable # $abi missing"
	echo "ok 2 every sysfs file documented # SKIP no ABI file"
	echo "ok 3 every documented file exists # SKIP no ABI file"
	exit 1
fi
echo "ok 1 ABI file readable ($abi)"
if [ ! -d "$dir" ]; then
	echo "ok 2 every sysfs file documented # SKIP $dir missing: load pshare.ko (insmod pshare.ko)"
	echo "ok 3 every documented file exists # SKIP $dir missing"
	exit 4
fi

# The files, and the entries below the directory (the directory's own entry
# is not a file).
files=$(find "$dir" -mindepth 1 -maxdepth 1 -type f -printf '%f\n' | sort)
documented=$(sed -n "s|^What:[[:space:]]*$prefix/\([^[:space:]]*\)[[:space:]]*$|\1|p" "$abi" | sort)

undocumented=$(comm -23 <(echo "$files") <(echo "$documented") | sed '/^$/d')
missing=$(comm -13 <(echo "$files") <(echo "$documented") | sed '/^$/d')
dups=$(echo "$documented" | uniq -d)
rc=0

if [ -z "$undocumented" ]; then
	echo "ok 2 every sysfs file documented ($(echo "$files" | wc -l) files in $dir)"
else
	echo "not ok 2 every sysfs file documented: no What: entry in $abi for: $(echo $undocumented)"
	rc=1
fi
if [ -z "$missing" ] && [ -z "$dups" ]; then
	echo "ok 3 every documented file exists ($(echo "$documented" | wc -l) entries)"
else
	echo "not ok 3 every documented file exists: documented but not in $dir: $(echo $missing)${dups:+; documented twice: $(echo $dups)}"
	rc=1
fi
exit $rc
