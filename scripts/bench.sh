#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: first-touch fault rate and sequential write/read throughput of
# a pshare region against memfd (QEMU's usual share=on backing) and anonymous
# memory, all measured in one boot of the test VM (TCG; KERNEL picks it), and
# printed as a table of medians with the pshare/memfd and pshare/anon ratios.
# Figures only: nothing passes or fails. Under TCG the absolute numbers are
# far below bare metal; the ratios are the point.
#
# In the same boot, bench/fault_scaling measures how faults on untouched
# guest RAM scale with threads in two regions (all zero entries share one
# zero frame), with and without a memory hog;
# bench/sharing_bench compares pshare's page sharing with
# the kernel's KSM on the same content (merge rate per scanner CPU-second,
# convergence time, metadata, scan cost against an xxh64 floor, COW break
# latency), and scripts/guest/bench-guests.sh does the same with real,
# identical KVM guests (pshare regions against QEMU's anonymous RAM under
# KSM), also figures only.
#
# Environment: BENCH_MIB (size of each mapping, default 256), BENCH_REPS
# (repetitions, default 5), BENCH_SHARING_MIB (size for sharing_bench,
# default 64), KERNEL (any tested kernel: stock, lts, newest or debug;
# default stock), and for the real
# guests BENCH_GUESTS, BENCH_GUEST_MIB, GUEST_FILL_MIB, BENCH_SETTLE,
# BENCH_SCAN_TARGET, BENCH_CHURN_MIB and
# BENCH_THP (see scripts/guest/bench-guests.sh; BENCH_GUESTS=0 leaves the
# real guests out), passed into the VM.

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mib=${BENCH_MIB:-256}
reps=${BENCH_REPS:-5}
sharing_mib=${BENCH_SHARING_MIB:-64}
kernel=${KERNEL:-stock}

die() { echo "bench.sh: error: $*" >&2; exit 1; }

make -s -C "$top/bench" || die "building bench/ failed"
guests=${BENCH_GUESTS:-3}
# The real-guest settings that are set, as assignments for the VM's shell.
guest_env="BENCH_GUESTS=$guests"
for v in BENCH_GUEST_MIB GUEST_FILL_MIB BENCH_SETTLE BENCH_SCAN_TARGET BENCH_CHURN_MIB BENCH_THP; do
	val=${!v:-}
	[ -z "$val" ] && continue
	[[ $val =~ ^[a-z0-9]+$ ]] || die "$v=$val: expected a number or a word"
	guest_env+=" $v=$val"
done
if [ "$guests" -gt 0 ]; then
	bash "$top/scripts/guest/build.sh" --quiet || die "building the inner guest failed (scripts/guest/build.sh)"
fi
[ -f "$top/scripts/vm.sh" ] || die "scripts/vm.sh missing: the work tree is incomplete"

out=$top/build/vm-out/bench-$$.txt
log=$top/build/bench/vm-console.log
mkdir -p "$top/build/vm-out" "$top/build/bench"
rm -f "$out"
echo "bench: running in a $kernel test VM (console log: $log)..."
set +e
bash "$top/scripts/vm.sh" --kernel "$kernel" --log "$log" -- \
	bash -c "'$top/build/bench/pshare_bench' -d /run/pshare -s $mib -r $reps > '$out'; s=\$?
		{ echo; '$top/build/bench/sharing_bench' -d /run/pshare -s $sharing_mib; } >> '$out' || s=\$?
		{ echo; '$top/build/bench/fault_scaling' -d /run/pshare; } >> '$out' || s=\$?
		if [ $guests -gt 0 ]; then
			{ echo; $guest_env bash '$top/scripts/guest/bench-guests.sh'; } >> '$out' || s=\$?
		fi
		exit \$s" \
	>/dev/null
rc=$?
set -e
if [ -s "$out" ]; then
	cat "$out"
	cp "$out" "$top/build/bench/last.txt"
	rm -f "$out"
fi
[ "$rc" = 0 ] || die "the VM run failed with status $rc (console log $log)"
