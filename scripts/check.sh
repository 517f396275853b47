#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: the whole pshare test suite.
#
#   1. host: install missing packages, make the Debian 13 root for the newest
#      kernel and install Debian 13's QEMU in it for the test VMs
#      (scripts/vm-qemu.sh), build the debug kernel (in the background, at nice 19, while
#      the steps below and the other kernels' VMs run), build pshare.ko for every tested
#      kernel (warnings are errors), `make tools`, psharectl's host tests
#      (`make -C userspace-tools check`: advise against made-up figures,
#      metrics against a made-up sysfs and debugfs),
#      `make selftests`, `make style` (checkpatch and sparse, scripts/style.sh),
#      the DKMS build (scripts/dkms-check.sh, temporary trees only);
#   2. for each tested kernel (scripts/lib.sh: stock = 6.1, lts = 6.12,
#      newest = trixie-backports' kernel, debug = 6.12 with KASAN etc.): boot a test VM
#      (scripts/vm.sh), run `bash selftests/run.sh` there, and add two harness
#      results: "console clean (<kernel>)" (no BUG/WARNING/KASAN/lockdep/
#      kmemleak report, scripts/console-check.sh) and "vm exited normally
#      (<kernel>)".
#
# Everything is printed as TAP; the last line is "N passed, N failed, N
# skipped" over all results ("ok" = passed unless "# SKIP", "not ok" =
# failed). Exits 0 only when nothing failed and something ran.
#
# Environment: PSHARE_CHECK_KERNELS (default "stock lts newest debug"),
# PSHARE_CHECK_TIMEOUT_STOCK / _DEBUG (VM timeouts in seconds, default 2400 /
# 3900; the first is for every non-debug kernel), PSHARE_CHECK_VERBOSE=1
# shows the VM consoles live, PSHARE_VM_QEMU=host runs the test VMs on this
# machine's QEMU (scripts/vm.sh).

set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PSHARE_TOP" || exit 1

kernels=${PSHARE_CHECK_KERNELS:-$PSHARE_FLAVORS}
for k in $kernels; do
	flavor_ok "$k" || { echo "PSHARE_CHECK_KERNELS: unknown kernel '$k' (known: $PSHARE_FLAVORS)"; echo "0 passed, 1 failed"; exit 1; }
done
out=$PSHARE_TOP/build/check
mkdir -p "$out" "$PSHARE_TOP/build/vm-out"

passed=0
failed=0
skipped=0

# count_tap FILE: add the results of a TAP file to the totals.
count_tap() {
	local p f s
	p=$(grep -cE '^ok [0-9]+' "$1")
	s=$(grep -E '^ok [0-9]+' "$1" | grep -ciE '#[[:space:]]*skip')
	f=$(grep -cE '^(not ok [0-9]+|Bail out!)' "$1")
	passed=$((passed + p - s))
	skipped=$((skipped + s))
	failed=$((failed + f))
	echo "$((p - s)) $f $s"
}

summary() {
	echo
	local k
	for k in host $kernels; do
		[ -f "$out/$k.counts" ] || continue
		read -r p f s <"$out/$k.counts"
		v=
		[ "$k" = host ] || v=" ($(cat "$out/$k.version" 2>/dev/null || echo '?'))"
		echo "# $k$v: $p passed, $f failed, $s skipped"
	done
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]
	exit $?
}

# --- host ------------------------------------------------------------------------
host_tap=$out/host.tap
: >"$host_tap"
n=0
# host_step NAME CMD...: run a build step, log it, record ok / not ok.
host_step() {
	local name=$1 log
	shift
	n=$((n + 1))
	log=$out/host-$n.log
	echo "# host: $name" >&2
	local t0=$SECONDS
	if "$@" >"$log" 2>&1; then
		echo "ok $n $name # $((SECONDS - t0))s" >>"$host_tap"
		return 0
	fi
	echo "not ok $n $name" >>"$host_tap"
	sed 's/^/# /' "$log" | tail -n 60 >>"$host_tap"
	return 1
}

echo "# pshare check: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), kernels: $kernels"
declare -A usable
host_step "dependencies installed (scripts/deps.sh)" bash scripts/deps.sh || deps_bad=1
if [ -z "${deps_bad:-}" ]; then
	for k in $kernels; do usable[$k]=1; done
	# Building the debug kernel takes half an hour of both CPUs on a fresh
	# machine: it runs in the background at the lowest priority, on what
	# the other steps and the other kernels' VMs leave idle, and the debug
	# VM waits for it (debug_build_wait).
	if [[ " $kernels " == *" debug "* ]]; then
		debug_t0=$SECONDS
		# Its own process group, so that an interrupted check stops it.
		nice -n 19 setsid bash scripts/debug-kernel.sh >"$out/debug-kernel.log" 2>&1 &
		debug_pid=$!
		trap 'kill -TERM -- "-$debug_pid" 2>/dev/null' EXIT
	fi
	if [[ " $kernels " == *" newest "* ]]; then
		host_step "Debian 13 root with the newest kernel (scripts/newest-root.sh)" bash scripts/newest-root.sh ||
			usable[newest]=
	fi
	# The test VMs run on Debian 13's QEMU 10.0 ("The emulated CPU" in
	# scripts/vm.sh). Without it they fall back to this machine's 7.2, and
	# this line fails: a run on 7.2 may see its rare panics.
	if [ "${PSHARE_VM_QEMU:-trixie}" = trixie ]; then
		host_step "Debian 13's QEMU for the test VMs (scripts/vm-qemu.sh)" bash scripts/vm-qemu.sh ||
			export PSHARE_VM_QEMU=host
	fi
	for k in $kernels; do
		[ -n "${usable[$k]}" ] && [ "$k" != debug ] || continue
		host_step "pshare.ko builds without warnings ($k)" bash scripts/build.sh "$k" ||
			usable[$k]=
	done
	host_step "make tools" bash -c 'need() { [ -f "$1/Makefile" ] || { echo "error: $1/Makefile missing" >&2; exit 1; }; }; need userspace-tools && make tools' ||
		tools_bad=1
	if [ -z "${tools_bad:-}" ]; then
		host_step "psharectl host tests (make -C userspace-tools check)" make -C userspace-tools check
	fi
	host_step "make selftests" bash -c '[ -f selftests/Makefile ] || { echo "error: selftests/Makefile missing" >&2; exit 1; }; [ -f selftests/run.sh ] || { echo "error: selftests/run.sh missing" >&2; exit 1; }; make selftests' ||
		tools_bad=1
	# A style finding fails this line only; the tests still run.
	host_step "make style (checkpatch, sparse: no findings)" bash scripts/style.sh
	# Leaves build/dkms/<release>/pshare.ko for selftests/dkms_check.sh.
	dk=()
	for k in $kernels; do
		[ "$k" = debug ] || [ -z "${usable[$k]}" ] || dk+=("$k")
	done
	if [ ${#dk[@]} -gt 0 ]; then
		host_step "dkms builds and installs pshare against the headers of: ${dk[*]} (scripts/dkms-check.sh)" \
			bash scripts/dkms-check.sh "${dk[@]}"
	fi
	if [ -n "${tools_bad:-}" ]; then
		for k in $kernels; do usable[$k]=; done
	fi
fi
echo "TAP version 13"
echo "# host build"
cat "$host_tap"
count_tap "$host_tap" >"$out/host.counts"
if [ -n "${deps_bad:-}" ]; then
	summary
fi

# The debug kernel's two host results, once its background build is done;
# they count as host results.
debug_build_wait() {
	local late=$out/host-debug.tap
	: >"$late"
	host_tap=$late
	echo "# host: waiting for the debug kernel build (started at the beginning)" >&2
	if wait "$debug_pid"; then
		n=$((n + 1))
		# debug-kernel.sh says how long its build took; a cached one says nothing.
		local took
		took=$(sed -n 's/.*debug kernel built in \([0-9]*\) s.*/built in \1 s/p' "$out/debug-kernel.log")
		echo "ok $n debug kernel built (scripts/debug-kernel.sh) # ${took:-cached}, ready $((SECONDS - debug_t0)) s after the start" >>"$late"
		host_step "pshare.ko builds without warnings (debug)" bash scripts/build.sh debug ||
			usable[debug]=
	else
		n=$((n + 1))
		echo "not ok $n debug kernel built (scripts/debug-kernel.sh)" >>"$late"
		tail -n 60 "$out/debug-kernel.log" | sed 's/^/# /' >>"$late"
		usable[debug]=
	fi
	echo
	echo "# host build (debug kernel)"
	cat "$late"
	local p f s hp hf hs
	count_tap "$late" >"$late.counts"
	read -r p f s <"$late.counts"
	read -r hp hf hs <"$out/host.counts"
	echo "$((hp + p)) $((hf + f)) $((hs + s))" >"$out/host.counts"
}

# --- VMs -------------------------------------------------------------------------
for k in $kernels; do
	tap=$out/$k.tap
	res=$out/$k.result
	log=$out/$k-console.log
	rm -f "$tap" "$res"
	if [ "$k" = debug ] && [ -n "${debug_pid:-}" ]; then
		debug_build_wait
		[ -n "${tools_bad:-}" ] && usable[debug]=
	fi
	echo
	echo "# selftests on the $k kernel"
	if [ -z "${usable[$k]}" ]; then
		{
			echo "TAP version 13"
			echo "1..2"
			echo "not ok 1 vm exited normally ($k) # not run: a host build step above failed"
			echo "not ok 2 console clean ($k) # not run: a host build step above failed"
		} >"$tap"
		cat "$tap"
		count_tap "$tap" >"$out/$k.counts"
		continue
	fi

	vmtap=build/vm-out/check-$k-$$.tap
	[ "$k" = debug ] && timeout=${PSHARE_CHECK_TIMEOUT_DEBUG:-3900} || timeout=${PSHARE_CHECK_TIMEOUT_STOCK:-2400}
	echo "# booting the $k kernel, console log $log (timeout ${timeout}s)" >&2
	t0=$SECONDS
	if [ "${PSHARE_CHECK_VERBOSE:-0}" = 1 ]; then
		CMD="bash selftests/run.sh 2>&1 | tee $vmtap; exit \${PIPESTATUS[0]}" \
			bash scripts/vm.sh --kernel "$k" --timeout "$timeout" --log "$log" --result "$res"
	else
		CMD="bash selftests/run.sh >$vmtap 2>&1" \
			bash scripts/vm.sh --kernel "$k" --timeout "$timeout" --log "$log" --result "$res" \
			>"$out/$k-vm.out" 2>&1
	fi
	vmrc=$?
	secs=$((SECONDS - t0))

	exit_status=none timed_out=0 console_clean=0
	if [ -f "$res" ]; then
		exit_status=$(sed -n 's/^exit=//p' "$res")
		timed_out=$(sed -n 's/^timeout=//p' "$res")
		console_clean=$(sed -n 's/^console_clean=//p' "$res")
	fi
	h=0
	{
		if [ -f "$vmtap" ]; then
			cat "$vmtap"
		fi
		echo "# harness ($k)"
		echo "TAP version 13"
		if [ ! -f "$vmtap" ] || ! grep -qE '^(not )?ok [0-9]+' "$vmtap"; then
			h=$((h + 1)); echo "not ok $h selftests ran ($k) # no TAP results (run.sh status $exit_status)"
		elif [ "$exit_status" != 0 ] && [ "$exit_status" != none ] &&
			! grep -qE '^not ok [0-9]+' "$vmtap"; then
			h=$((h + 1)); echo "not ok $h selftests/run.sh succeeded ($k) # exited $exit_status without a failed result"
		fi
		if [ "$exit_status" = none ] || [ "$exit_status" = 125 ]; then
			why="VM crashed or init failed"
			[ "$timed_out" = 1 ] && why="timed out after ${timeout}s"
			[ "$exit_status" = 125 ] && why="VM setup failed (see console log)"
			[ -f "$res" ] || why="vm.sh failed before booting (status $vmrc): $(tail -n 3 "$out/$k-vm.out" 2>/dev/null | tr '\n' ' ')"
			h=$((h + 1)); echo "not ok $h vm exited normally ($k) # $why"
		else
			h=$((h + 1)); echo "ok $h vm exited normally ($k) # ${secs}s"
		fi
		if [ "$console_clean" = 1 ]; then
			h=$((h + 1)); echo "ok $h console clean ($k)"
		else
			h=$((h + 1)); echo "not ok $h console clean ($k) # see $log"
			if [ -f "$log" ]; then
				checklogs=("$log")
				run=$(grep -a -o 'pshare_run=[^ ]*' "$log" | head -n1 | cut -d= -f2)
				[ -n "$run" ] && [ -f "build/vm-out/$run/dmesg" ] && checklogs+=("build/vm-out/$run/dmesg")
				bash scripts/console-check.sh "${checklogs[@]}" | sed 's/^/# /'
				echo "# last console lines:"
				tail -n 40 "$log" | tr -d '\r' | sed 's/^/#   /'
			fi
		fi
	} >"$tap"
	# The release the VM ran, as selftests/run.sh printed it.
	sed -n 's/^# pshare selftests on \([^ ]*\) .*/\1/p' "$tap" | head -n1 >"$out/$k.version"
	rm -f "$vmtap"
	cat "$tap"
	count_tap "$tap" >"$out/$k.counts"
done

summary
