#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make kvm-repeat`: boot the test VM N times, run the nested-guest load
# (scripts/guest/kvm-loop.sh, or any command given in CMD) in each, and count
# the boots whose kernel panicked or that ended without the exit marker.
#
#   bash scripts/kvm-repeat.sh [N]
#
# Each boot's console log is kept in build/kvm-repeat/<run>/boot-<i>.log and
# each panic's report (from the first report line to the end of the log) in
# boot-<i>.oops. The last line is the tally:
#
#   kvm-repeat: <config>: N boots, P panicked, R reset without a message,
#   F guest-load failures, C clean
#
# Environment, besides vm.sh's (PSHARE_VM_QEMU, PSHARE_VM_CPU, PSHARE_VM_SMP,
# PSHARE_VM_ACCEL, PSHARE_VM_QEMU_ARGS) and kvm-loop.sh's (KVM_LOOP_*):
#   KERNEL            stock (default) or debug
#   KVM_REPEAT_MODULE 1 (default): pshare.ko loaded; 0: not loaded at all
#   KVM_REPEAT_STACK  1: turn the stack tracer on for the load and print the
#                     deepest stack seen (needs CONFIG_STACK_TRACER)
#   KVM_REPEAT_TIMEOUT seconds per boot (default 900)

set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PSHARE_TOP" || exit 1

n=${1:-${N:-20}}
kernel=${KERNEL:-stock}
module=${KVM_REPEAT_MODULE:-1}
tmo=${KVM_REPEAT_TIMEOUT:-900}
kind=${KVM_LOOP_KIND:-pshare}
[ "$module" = 1 ] || kind=${KVM_LOOP_KIND:-anon}
[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive number, not '$n'"

bash scripts/guest/build.sh --quiet || die "the inner guest did not build"
flags=()
[ "$module" = 1 ] || flags+=(--no-module)

qemu=$(vm_qemu_cmd) || die "no QEMU for the test VM"
qv=$($qemu --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')
config="qemu=${qv:-?} kernel=$kernel cpu=${PSHARE_VM_CPU:-max} smp=${PSHARE_VM_SMP:-2}"
config+=" accel=${PSHARE_VM_ACCEL:-tcg} module=$module"
if [ -n "${CMD:-}" ]; then
	config+=" load='$CMD'"
else
	config+=" kind=$kind guests=${KVM_LOOP_GUESTS:-3}x${KVM_LOOP_MIB:-256}M"
	config+=" rounds=${KVM_LOOP_ROUNDS:-2} hold=${KVM_LOOP_HOLD:-30}s"
	[ "${KVM_LOOP_IPI:-0}" = 0 ] || config+=" ipi-load"
fi
[ -z "${PSHARE_VM_QEMU_ARGS:-}" ] || config+=" qemu+='$PSHARE_VM_QEMU_ARGS'"
[ -z "${PSHARE_VM_APPEND:-}" ] || config+=" cmdline+='$PSHARE_VM_APPEND'"

# The VM does not inherit this environment: pass kvm-loop.sh's on.
vars="KVM_LOOP_KIND=$kind"
for v in GUESTS MIB FILL ROUNDS HOLD IPI; do
	eval "[ -z \"\${KVM_LOOP_$v:-}\" ] || vars+=\" KVM_LOOP_$v=\$KVM_LOOP_$v\""
done
load=${CMD:-"$vars bash scripts/guest/kvm-loop.sh"}
if [ "${KVM_REPEAT_STACK:-0}" = 1 ]; then
	t=/sys/kernel/tracing
	load="mount -t tracefs tracefs $t 2>/dev/null; echo 1 > /proc/sys/kernel/stack_tracer_enabled || echo 'kvm-repeat: no stack tracer'; $load; rc=\$?; echo 0 > /proc/sys/kernel/stack_tracer_enabled; echo \"kvm-repeat: stack_max_size \$(cat $t/stack_max_size)\"; sed 's/^/kvm-repeat: stack: /' $t/stack_trace; exit \$rc"
fi

dir=build/kvm-repeat/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$dir"
echo "$config" >"$dir/config"
note "$n boots, $config; logs in $dir"

panicked=0 reset=0 failed=0 clean=0
for i in $(seq 1 "$n"); do
	log=$dir/boot-$i.log res=$dir/boot-$i.result
	t0=$SECONDS
	CMD="$load" bash scripts/vm.sh --kernel "$kernel" --timeout "$tmo" \
		--log "$log" --result "$res" "${flags[@]}" >/dev/null 2>&1
	status=$(sed -n 's/^exit=//p' "$res" 2>/dev/null)
	first=$(tr -d '\r' <"$log" | grep -a -n -m1 -E '\] (Kernel panic|BUG:|general protection|WARNING:|Oops)' | cut -d: -f1)
	if [ -n "$first" ]; then
		panicked=$((panicked + 1))
		tr -d '\r' <"$log" | tail -n "+$((first > 40 ? first - 40 : 1))" >"$dir/boot-$i.oops"
		what="PANIC: $(tr -d '\r' <"$log" | grep -a -m1 -oE '(Kernel panic.*|BUG:.*|general protection.*|WARNING:.*)' | cut -c1-100)"
		comm=$(tr -d '\r' <"$log" | grep -a -m1 -oE 'Comm: [^ ]+( [^ ]+)?' || true)
		what+=" ($comm)"
	elif [ -z "$status" ] || [ "$status" = none ]; then
		reset=$((reset + 1))
		what="ended without exit marker (no message)"
	elif [ "$status" != 0 ]; then
		failed=$((failed + 1))
		what="load failed (status $status): $(tr -d '\r' <"$log" | grep -a 'kvm-loop:' | tail -n1)"
	else
		clean=$((clean + 1))
		what="clean"
	fi
	stack=$(tr -d '\r' <"$log" | grep -a -o 'kvm-repeat: stack_max_size [0-9]*' | awk '{print $3}')
	[ -z "$stack" ] || what+=" (deepest stack $stack bytes)"
	echo "boot $i/$n: $what, $((SECONDS - t0)) s" | tee -a "$dir/summary"
done
tally="kvm-repeat: $config: $n boots, $panicked panicked, $reset reset without a message, $failed guest-load failures, $clean clean"
echo "$tally" | tee -a "$dir/summary"
[ $((panicked + reset + failed)) -eq 0 ]
