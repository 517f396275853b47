#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the pshare selftests inside the test VM and print TAP:
#
#   make vm CMD='bash selftests/run.sh'            everything
#   make vm CMD='bash selftests/run.sh mmap kvm'   only programs whose name
#                                                  contains one of the words
#
# Runs every selftests/pshare_*_test binary (built on the host by
# `make -C selftests`), in name order, and then every executable
# selftests/kvm/*.sh. pshare_unload_test unloads and reloads pshare.ko; it
# mounts again what was mounted and puts the knobs back, so the programs
# after it find the module as before (with fresh counters). Each of
# them prints its own TAP stream, passed through unchanged. A program that
# crashes, is killed, times out or exits nonzero without reporting a
# failure gets a "not ok" line of its own appended to its stream. Exits 1 if
# anything failed. Needs nothing writable but /tmp.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Seconds one program may run before it counts as hung.
timeout_s=${PSHARE_SELFTEST_TIMEOUT:-900}

tmp=$(mktemp -d /tmp/pshare-selftests.XXXXXX) || {
	echo "Bail out! cannot create a temporary directory in /tmp"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT

failed=0
ran=0
bad=()
filters=("$@")

# wanted NAME: is NAME selected by the command-line words (all if none)?
wanted() {
	local f

	[ ${#filters[@]} -eq 0 ] && return 0
	for f in "${filters[@]}"; do
		case $1 in *"$f"*) return 0 ;; esac
	done
	return 1
}

# run_one NAME CMD...: run one TAP-printing program, pass its output through,
# and add a "not ok" result when it died without saying so.
run_one() {
	local name=$1 log="$tmp/out" rc nresults
	shift

	echo "# selftests: pshare: $name"
	# Output goes through as it comes; a copy is kept to count results.
	timeout --kill-after=10 "$timeout_s" "$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	ran=$((ran + 1))

	nresults=$(grep -cE '^(not )?ok [0-9]+' "$log")
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 4 ]; then
		# 0 pass, 4 (KSFT_SKIP) all skipped; a "not ok" still fails.
		if grep -qE '^not ok [0-9]+' "$log"; then
			failed=$((failed + 1))
			bad+=("$name")
		fi
		return
	fi

	failed=$((failed + 1))
	bad+=("$name")
	if [ "$rc" -eq 124 ]; then
		echo "not ok $((nresults + 1)) $name # timed out after ${timeout_s}s"
	elif [ "$rc" -gt 128 ]; then
		echo "not ok $((nresults + 1)) $name # killed by signal $((rc - 128))"
	elif ! grep -qE '^not ok [0-9]+' "$log"; then
		echo "not ok $((nresults + 1)) $name # exited with status $rc"
	fi
}

echo "# pshare selftests on $(uname -r) (PSHARE_KERNEL=${PSHARE_KERNEL:-unset})"

# In the test VM the module must be there: its absence is a failure, not a
# reason to skip everything.
if [ -n "${PSHARE_KERNEL:-}" ]; then
	mnt=${PSHARE_MNT:-/run/pshare}
	if ! grep -qE "^[^ ]+ $mnt pshare " /proc/mounts || [ ! -c /dev/pshare ]; then
		echo "TAP version 13"
		echo "1..1"
		echo "not ok 1 pshare environment # pshare.ko not loaded or not mounted at $mnt (see scripts/vm.sh)"
		failed=$((failed + 1))
		bad+=("environment")
	fi
fi

shopt -s nullglob
tests=("$here"/pshare_*_test)
if [ ${#tests[@]} -eq 0 ]; then
	echo "TAP version 13"
	echo "1..1"
	echo "not ok 1 selftests not built # run 'make -C selftests' on the host first"
	exit 1
fi

for t in "${tests[@]}"; do
	wanted "$(basename "$t")" || continue
	if [ ! -x "$t" ]; then
		echo "# selftests: pshare: $(basename "$t")"
		echo "TAP version 13"
		echo "1..1"
		echo "not ok 1 $(basename "$t") # not executable"
		failed=$((failed + 1))
		bad+=("$(basename "$t")")
		continue
	fi
	run_one "$(basename "$t")" "$t"
done

# Every sysfs file has its ABI entry and every entry its file.
if wanted abi_docs; then
	run_one abi_docs bash "$here/../userspace-tools/check-abi-docs.sh"
fi

# The guide's perf and bpftrace examples count pshare's events.
if wanted trace_tools; then
	run_one trace_tools bash "$here/trace_tools.sh"
fi

# The module DKMS built on the host loads and mounts (it swaps the
# harness module out for a moment, so it runs after the others).
if wanted dkms; then
	run_one dkms bash "$here/dkms_check.sh"
fi

# A nested KVM guest boots in minutes under TCG: give it longer. On the
# debug kernel (KASAN in the host's KVM as well) it takes far longer than
# CI allows, so there it runs only on request.
timeout_s=${PSHARE_SELFTEST_KVM_TIMEOUT:-1800}
for s in "$here"/kvm/*.sh; do
	[ -x "$s" ] || continue
	wanted "kvm/$(basename "$s")" || continue
	if [ "${PSHARE_KERNEL:-}" = debug ] && [ -z "${PSHARE_KVM_ON_DEBUG:-}" ]; then
		echo "# selftests: pshare: kvm/$(basename "$s")"
		echo "TAP version 13"
		echo "1..1"
		echo "ok 1 kvm/$(basename "$s") # SKIP nested KVM on the debug kernel is too slow for one run; set PSHARE_KVM_ON_DEBUG=1"
		continue
	fi
	run_one "kvm/$(basename "$s")" "$s"
done

if [ "$ran" -eq 0 ] && [ "$failed" -eq 0 ]; then
	echo "# pshare selftests: no program matched: ${filters[*]}"
	exit 1
fi
if [ "$failed" -ne 0 ]; then
	echo "# pshare selftests: FAILED: ${bad[*]} ($ran programs run)"
	exit 1
fi
echo "# pshare selftests: all $ran programs passed"
exit 0
