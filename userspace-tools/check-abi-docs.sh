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
# is not a file). Plain bash, no process substitution: the test VM has no
# /dev/fd.
declare -A is_file=() is_doc=()
nfiles=0
ndoc=0
for f in "$dir"/*; do
	[ -f "$f" ] || continue
	is_file[${f##*/}]=1
	nfiles=$((nfiles + 1))
done
dups=
while read -r what path _; do
	[ "$what" = "What:" ] || continue
	case $path in "$prefix"/*) ;; *) continue ;; esac
	name=${path#"$prefix"/}
	[ -n "${is_doc[$name]:-}" ] && dups="$dups $name"
	is_doc[$name]=1
	ndoc=$((ndoc + 1))
done < "$abi"
undocumented=
for name in "${!is_file[@]}"; do
	[ -n "${is_doc[$name]:-}" ] || undocumented="$undocumented $name"
done
missing=
for name in "${!is_doc[@]}"; do
	[ -n "${is_file[$name]:-}" ] || missing="$missing $name"
done
rc=0
if [ "$nfiles" -eq 0 ]; then
	echo "not ok 2 every sysfs file documented: $dir has no files"
	echo "not ok 3 every documented file exists: $dir has no files"
	exit 1
fi

if [ -z "$undocumented" ]; then
	echo "ok 2 every sysfs file documented ($nfiles files in $dir)"
else
	echo "not ok 2 every sysfs file documented: no What: entry in $abi for:$undocumented"
	rc=1
fi
if [ -z "$missing" ] && [ -z "$dups" ]; then
	echo "ok 3 every documented file exists ($ndoc entries)"
else
	echo "not ok 3 every documented file exists: documented but not in $dir:$missing${dups:+; documented twice:$dups}"
	rc=1
fi
exit $rc
