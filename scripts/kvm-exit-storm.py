#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# A load for `make kvm-repeat` that makes the test VM's KVM leave and enter
# its guests as often as it can, with reschedule IPIs arriving all the
# while: on each CPU a one-vCPU KVM guest runs "cpuid; count; jmp back"
# (every CPUID is a #VMEXIT that KVM handles in the kernel and a VMRUN
# back), and two processes pinned to CPUs 0 and 1 wake each other through
# pipes.
#
#   python3 scripts/kvm-exit-storm.py SECONDS
#   python3 scripts/kvm-exit-storm.py --ipi-only   (the IPI load alone, until
#                                                    killed: KVM_LOOP_IPI=1)
#
# The test VM's kernel panicked in a vCPU thread when an interrupt was
# taken at the instruction after VMRUN, before VMLOAD had restored the
# host's GS base: with GIF clear after #VMEXIT no interrupt may arrive
# there. This load gives that window as many chances as a short boot can.
# Prints "kvm-exit-storm: N s done, C CPUID exits, R reschedule IPIs" and
# exits 0 when it survives. Measured here: about 17000 exits a second with
# both guests running.

import ctypes
import fcntl
import mmap
import os
import signal
import struct
import sys
import time

KVM_GET_VCPU_MMAP_SIZE = 0xAE04		# _IO(KVMIO, 0x04)
KVM_CREATE_VM = 0xAE01			# _IO(KVMIO, 0x01)
KVM_CREATE_VCPU = 0xAE41		# _IO(KVMIO, 0x41)
KVM_RUN = 0xAE80			# _IO(KVMIO, 0x80)
KVM_SET_USER_MEMORY_REGION = 0x4020AE46	# _IOW(KVMIO, 0x46, 32 bytes)

# The reset vector: CS base 0xffff0000, RIP 0xfff0.
MEM_GPA = 0xFFFF0000
MEM_SIZE = 0x10000
# At the reset vector: cpuid; inc dword [cs:0] (the loop counter, at the
# start of the same memory); jmp back to the cpuid.
CODE = bytes([0x0F, 0xA2, 0x66, 0x2E, 0xFF, 0x06, 0x00, 0x00, 0xEB, 0xF6])


def guest(cpu, mem):
    """Run the CPUID loop on @cpu, in guest memory @mem, until killed."""
    os.sched_setaffinity(0, {cpu})
    kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    mem[0xFFF0:0xFFF0 + len(CODE)] = CODE
    region = struct.pack("IIQQQ", 0, 0, MEM_GPA, MEM_SIZE, address_of(mem))
    fcntl.ioctl(vm, KVM_SET_USER_MEMORY_REGION, region)
    vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
    size = fcntl.ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)
    run = mmap.mmap(vcpu, size, mmap.MAP_SHARED, mmap.PROT_READ)
    # CPUID exits never reach userspace: KVM_RUN returns only on a signal
    # or an exit this loop does not expect, which ends it.
    fcntl.ioctl(vcpu, KVM_RUN, 0)
    reason = struct.unpack_from("I", run, 8)[0]
    print(f"kvm-exit-storm: guest on CPU {cpu} left KVM_RUN: exit reason {reason}",
          flush=True)
    os._exit(1)


def address_of(m):
    """The address of an mmap object's memory."""
    return ctypes.addressof(ctypes.c_char.from_buffer(m))


def pingpong(cpu_a, cpu_b):
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    if os.fork() == 0:
        os.sched_setaffinity(0, {cpu_b})
        while True:
            os.read(r1, 1)
            os.write(w2, b"x")
    os.sched_setaffinity(0, {cpu_a})
    while True:
        os.write(w1, b"x")
        os.read(r2, 1)


def reschedule_ipis():
    """Reschedule IPIs taken so far on all CPUs, or None."""
    try:
        with open("/proc/interrupts") as f:
            for line in f:
                if line.strip().startswith("RES:"):
                    return sum(int(x) for x in line.split()[1:] if x.isdigit())
    except OSError:
        pass
    return None


def main():
    cpus = sorted(os.sched_getaffinity(0))
    if sys.argv[1:] == ["--ipi-only"]:
        if len(cpus) < 2:
            print("kvm-exit-storm: one CPU, no IPI load", flush=True)
            return 1
        pingpong(cpus[0], cpus[1])
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 120
    kids = []
    mems = []
    for cpu in cpus[:2]:
        # Shared with this process, which reads the loop counter.
        mem = mmap.mmap(-1, MEM_SIZE, mmap.MAP_SHARED)
        mems.append(mem)
        pid = os.fork()
        if pid == 0:
            try:
                guest(cpu, mem)
            except OSError as e:
                print(f"kvm-exit-storm: guest on CPU {cpu}: {e}", flush=True)
                os._exit(1)
        kids.append(pid)
    if len(cpus) > 1:
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)
            pingpong(cpus[0], cpus[1])
        kids.append(pid)
    print(f"kvm-exit-storm: {len(cpus[:2])} CPUID-loop guests and IPI load for {secs} s",
          flush=True)
    res0 = reschedule_ipis()
    loops0 = sum(struct.unpack_from("I", m, 0)[0] for m in mems)
    end = time.time() + secs
    failed = False
    while time.time() < end:
        time.sleep(1)
        for pid in kids:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                failed = True
        if failed:
            break
    for pid in kids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in kids:
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
    res1 = reschedule_ipis()
    loops = sum(struct.unpack_from("I", m, 0)[0] for m in mems) - loops0
    if failed:
        print("kvm-exit-storm: a guest or the IPI load stopped early", flush=True)
        return 1
    seen = f", {loops} CPUID exits"
    if res0 is not None and res1 is not None:
        seen += f", {res1 - res0} reschedule IPIs"
    print(f"kvm-exit-storm: {secs} s done{seen}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
