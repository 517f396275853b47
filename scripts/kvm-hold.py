#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# Hold one idle KVM VM for the life of the test VM: an in-kernel irqchip and
# one vCPU that never runs. Started by vm-init.sh when /dev/kvm exists.
#
# Why: starting the first KVM guest and stopping the last one flip static
# keys (the scheduler's preempt notifiers, KVM's APIC keys), and the kernel
# live-patches those call sites while other CPUs run through them. Under
# QEMU's multi-threaded TCG a vCPU can go on executing its old translation
# of the patched bytes - the int3 that text_poke_bp() planted - while the
# int3 handler, reading the new bytes, sends it back to the same address:
# the CPU spins there for good (soft lockups at finish_task_switch+0x9f in
# the stock kernel). With this VM alive the keys stay on, so the KVM tests
# and the demo start and stop guests without patching kernel text.
#
# Prints "kvm-hold: ready" once the VM exists, then sleeps until killed.

import fcntl
import os
import signal
import sys

KVM_CREATE_VM = 0xAE01		# _IO(KVMIO, 0x01)
KVM_CREATE_VCPU = 0xAE41	# _IO(KVMIO, 0x41)
KVM_CREATE_IRQCHIP = 0xAE60	# _IO(KVMIO, 0x60)


def main():
    try:
        kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
        fcntl.ioctl(vm, KVM_CREATE_IRQCHIP, 0)
        fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
    except OSError as e:
        print(f"kvm-hold: {e}", file=sys.stderr)
        return 1
    print("kvm-hold: ready", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
