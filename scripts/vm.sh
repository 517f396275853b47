#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run one command in a fresh QEMU (TCG) test VM and exit with its status.
#
#   bash scripts/vm.sh --kernel stock|lts|newest|debug [--mem MiB] [--timeout SEC]
#                      [--no-module] [--log FILE] [--result FILE] [-- CMD...]
#
# Without CMD arguments the command is taken from the environment variable
# CMD (any shell text; `make vm CMD='a; b'` uses this). The VM sees the host's
# root read-only over 9p, tmpfs on /tmp /run /var/tmp /root, the work tree at
# the same path, and <worktree>/build/vm-out writable. pshare.ko
# (build/<kernel>/pshare.ko, built first) is loaded and mounted on /run/pshare
# unless --no-module. The command runs as root in the work tree with
# PSHARE_KERNEL and PSHARE_TOP set.
#
# The console is shown live and saved (build/vm-logs/, latest at
# build/vm-<kernel>.log). Exit status: the command's, or non-zero with a
# message when the VM crashed, timed out (124), failed to set up (125), or the
# kernel printed a report (BUG, WARNING, KASAN, lockdep, kmemleak, ...): see
# scripts/console-check.sh.
#
# --result FILE writes "key=value" lines for scripts/check.sh:
#   exit=<command status or none>  timeout=0|1  console_clean=0|1  log=<file>
#
# Environment: PSHARE_VM_APPEND (extra kernel command line),
# PSHARE_VM_QEMU_ARGS (extra QEMU arguments, word-split), PSHARE_VM_CPU,
# PSHARE_VM_SMP and PSHARE_VM_ACCEL (QEMU's -cpu, -smp and -accel; see
# "The emulated CPU" below before changing them), PSHARE_VM_QEMU (the QEMU
# command, word-split; default "trixie": Debian 13's, scripts/vm-qemu.sh;
# "host": this machine's qemu-system-x86_64), PSHARE_VM_NUMA (a number of
# emulated NUMA nodes, 2 or more: the memory is split evenly between them
# and the vCPUs, a multiple of that number, make one socket a node; unset
# or 1: no NUMA topology).

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kernel=stock
mem=6144
timeout=
module=1
log=
result=
usage() {
	sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--no-module) module=0; shift ;;
	--log) log=${2:?}; shift 2 ;;
	--result) result=${2:?}; shift 2 ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) echo "vm.sh: unknown argument '$1'" >&2; usage ;;
	esac
done
flavor_ok "$kernel" || die "--kernel must be one of: $PSHARE_FLAVORS"
if [ $# -gt 0 ]; then
	cmd=$(printf '%q ' "$@")
else
	cmd=${CMD:-}
fi
[ -n "${cmd// /}" ] || die "no command: use 'make vm CMD=...' or 'scripts/vm.sh --kernel $kernel -- CMD...'"
if [ -z "$timeout" ]; then
	# The debug kernel (KASAN, lockdep) under TCG is several times slower.
	[ "$kernel" = debug ] && timeout=3600 || timeout=1200
fi

for tool in qemu-system-x86_64 busybox cpio gzip modprobe timeout flock; do
	command -v $tool >/dev/null || die "$tool not found: run 'make deps'"
done
[ -x /bin/busybox ] || die "/bin/busybox not found: run 'make deps' (busybox-static)"

build=$PSHARE_TOP/build
mkdir -p "$build/vm-out" "$build/vm-logs"

# --- kernel and module ---------------------------------------------------------
case $kernel in
debug)
	kdir=$(bash "$PSHARE_TOP/scripts/debug-kernel.sh" | tail -n1) || die "debug kernel build failed"
	bzimage=$kdir/arch/x86/boot/bzImage
	kver=debug
	;;
newest)
	bash "$PSHARE_TOP/scripts/newest-root.sh" >/dev/null || die "the newest kernel is not there (scripts/newest-root.sh)"
	;;
esac
if [ "$kernel" != debug ]; then
	kver=$(kver_for "$kernel") || die "no $kernel kernel with headers and modules: run 'make deps'"
	bzimage=$(bzimage_for "$kernel")
	[ -r "$bzimage" ] || die "$bzimage not readable (run as root)"
fi
modroot=$(modroot_for "$kernel")
if [ "$module" = 1 ]; then
	bash "$PSHARE_TOP/scripts/build.sh" "$kernel" >/dev/null ||
		die "pshare.ko did not build for the $kernel kernel (or use --no-module)"
fi

# --- initramfs -------------------------------------------------------------------
# Stage one: busybox, for the Debian kernels the modules needed to mount 9p, and
# an /init that mounts the host root and hands over to scripts/vm-init.sh.
stage1_init() {
	cat <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
fail() {
	echo "PSHARE-VM: initramfs: $*"
	echo "PSHARE-VM-EXIT=125 run=$pshare_run"
	reboot -f
	sleep 60
}
if [ -f /modules.list ]; then
	while read -r m; do
		insmod "/lib/pshare-modules/$m" || fail "insmod $m failed"
	done </modules.list
fi
echo "PSHARE-VM: initramfs: mounting the host root"
o=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $o,ro hostroot /newroot || fail "mounting the host root over 9p failed"
# The VM has tmpfs on these: a work tree below one (a clone in /tmp) comes
# from its own share, mounted on top of the tmpfs.
case "$pshare_top/" in
/tmp/* | /var/tmp/* | /run/* | /root/*)
	mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
	mount -t tmpfs -o mode=1777 tmpfs /newroot/var/tmp
	mount -t tmpfs -o mode=755 tmpfs /newroot/run
	mount -t tmpfs -o mode=700 tmpfs /newroot/root
	mkdir -p "/newroot$pshare_top"
	mount -t 9p -o $o,ro worktree "/newroot$pshare_top" ||
		fail "mounting the work tree over 9p failed"
	;;
esac
mount -t 9p -o $o vmout "/newroot$pshare_top/build/vm-out" ||
	fail "mounting build/vm-out over 9p failed"
umount /proc
exec switch_root /newroot /bin/bash "$pshare_top/scripts/vm-init.sh"
INIT
}

# Module files for a Debian kernel, in load order, one path per line (6.12
# and newer have virtio_pci built in: modprobe then names no file for it).
debian_modules() {
	local m
	for m in virtio_pci 9pnet_virtio 9p; do
		modprobe -d "$modroot" -S "$kver" --show-depends "$m" ||
			die "modprobe cannot resolve $m for $kver"
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}

mods=
[ -n "$modroot" ] && mods=$(debian_modules)
key=$({
	stage1_init
	echo "$kver $mods"
	stat -c '%Y %s' /bin/busybox
} | sha256sum | cut -c1-16)
# The name carries the inputs' hash, so concurrent runs never see a
# half-written or mismatched image.
initrd=$build/initramfs-$kernel-$key.cpio.gz
if [ ! -f "$initrd" ]; then
	stage=$(mktemp -d "$build/initramfs.XXXXXX")
	trap 'rm -rf "$stage"' EXIT
	mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lib/pshare-modules}
	cp /bin/busybox "$stage/bin/busybox"
	stage1_init >"$stage/init"
	chmod 755 "$stage/init"
	mknod "$stage/dev/console" c 5 1 2>/dev/null ||
		note "cannot create /dev/console in the initramfs (not root?); early output may be lost"
	if [ -n "$mods" ]; then
		while read -r path; do
			name=$(basename "$path")
			case $name in
			*.ko) cp "$path" "$stage/lib/pshare-modules/$name" ;;
			*.ko.xz) name=${name%.xz}; xz -dc "$path" >"$stage/lib/pshare-modules/$name" ;;
			*.ko.zst) name=${name%.zst}; zstd -qdc "$path" >"$stage/lib/pshare-modules/$name" ;;
			*.ko.gz) name=${name%.gz}; gzip -dc "$path" >"$stage/lib/pshare-modules/$name" ;;
			*) die "unexpected module file $path" ;;
			esac
			echo "$name" >>"$stage/modules.list"
		done <<<"$mods"
	fi
	(cd "$stage" && find . | cpio -o -H newc --quiet) | gzip -1 >"$stage.cpio.gz"
	mv "$stage.cpio.gz" "$initrd"
	rm -rf "$stage"
	trap - EXIT
fi

# --- run -------------------------------------------------------------------------
run=run-$(date +%Y%m%d-%H%M%S)-$$
rundir=$build/vm-out/$run
mkdir -p "$rundir"
printf '%s\n' "$cmd" >"$rundir/cmd"
[ -n "$log" ] || log=$build/vm-logs/$kernel-$run.log
mkdir -p "$(dirname "$log")"
ln -sfn "$log" "$build/vm-$kernel.log"

append="console=ttyS0 panic_on_warn=1 panic=-1 oops=panic printk.time=1 loglevel=5"
# pci=noacpi: see scripts/debug-kernel.config. random.trust_cpu=on: the
# tinyconfig-based kernel does not trust RDRAND by default and early
# getrandom() callers then wait minutes for entropy under TCG.
[ "$kernel" = debug ] && append+=" kmemleak=on pci=noacpi random.trust_cpu=on"
append+=" pshare_top=$PSHARE_TOP pshare_flavor=$kernel pshare_run=$run pshare_nomod=$((1 - module))"
# A kernel whose modules are not in the host's /lib/modules: vm-init.sh
# mounts them there.
[ -z "$modroot" ] || [ "$modroot" = / ] || append+=" pshare_modroot=$modroot"
append+=" ${PSHARE_VM_APPEND:-}"

# The emulated CPU, and the QEMU that emulates it. The inner KVM guests run
# on TCG's emulation of AMD-V (-cpu max exposes svm and npt); see
# scripts/kvm-repeat.sh.
#
# On Debian 12's QEMU 7.2 the test VM's kernel panicked now and then under
# nested-guest load, in a vCPU thread ("stack guard page was hit" or
# "corrupted stack end", Comm "CPU 0/KVM"). The full oops (make
# kvm-repeat, 2026-12-07) shows why: a reschedule IPI was taken at
# __svm_vcpu_run+0x9c, the instruction right after VMRUN, with the nested
# guest's registers still loaded (its RDX held 0xcfc, the PCI config port:
# most likely an intercepted IN) and before VMLOAD restored the host's GS
# base; the entry code's first %gs access (current_task) faulted, and so
# did the page-fault handler's, until the stack ran out. On real hardware
# GIF is 0 from #VMEXIT until KVM's STGI, so no interrupt can arrive there
# (KVM relies on it): QEMU 7.2's emulation let one through. pshare is not
# on that path: the same panic came with pshare loaded but unused.
#
# Debian 13's QEMU 10.0 (scripts/vm-qemu.sh runs it from the Debian 13
# root) has not panicked in 36 boots, 20 of them in a row on a quiet host,
# and is the default. One boot of the first 16, with the host's two CPUs
# shared by three busy processes, hung early: CPU 1 idled and never got
# its timer interrupt again ("rcu_preempt kthread timer wakeup didn't
# happen", "Possible timer handling issue on cpu=1"); not seen since.
# PSHARE_VM_QEMU=host goes back to this machine's QEMU 7.2. The nested
# guests inside the test VM run on Debian 12's QEMU 7.2 with KVM either
# way, as on a real host: the workaround is the emulator of the test
# machine, nothing a host with KVM on hardware would run.
# Boots of the nested-guest load (three guests starting at once and
# merging, scripts/guest/kvm-loop.sh), stock 6.1 kernel, 2 vCPUs:
#
#   QEMU  configuration                                  boots  panics
#   7.2   -cpu max, MTTCG, guests on pshare, idle host     27      2
#   7.2   the same with the host loaded (builds)            3      0
#   7.2   the same with reschedule-IPI load (ipi-load)      2      0
#   7.2   guests on anonymous RAM, pshare not loaded        6      0
#   7.2   -cpu EPYC (no vgif, no v-vmsave-vmload)           2      0
#   7.2   kvm_amd.npt=0                                     1      0
#   7.2   -accel tcg,thread=single                          1      -  (guests never booted)
#   7.2   CPUID-exit storm (kvm-exit-storm.py)              2      0  (17000 exits/s)
#   7.2   -cpu max,vgif=off                                 6      0  (one hung as KVM
#                                                                       made its first VM)
#   10.0  -cpu max, MTTCG, guests on pshare                 16      0  (one hung, above;
#                                                                       a second VM or a
#                                                                       kernel build beside
#                                                                       most of them)
#   10.0  the same, builds beside it now and then           20      0  (20 in a row)
#
vm_cpu=${PSHARE_VM_CPU:-max}
vm_smp=${PSHARE_VM_SMP:-2}
vm_accel=${PSHARE_VM_ACCEL:-tcg}

vm_qemu=$(vm_qemu_cmd) ||
	die "no QEMU for the test VM: Debian 13's needs scripts/vm-qemu.sh, which failed (PSHARE_VM_QEMU=host: this machine's)"
read -ra qemu <<<"$vm_qemu"

# Emulated NUMA nodes: one RAM backend per node, the last one taking what
# an even split leaves over, and one socket of vCPUs per node. The vCPUs of
# one socket share a last-level cache: split between two nodes they would
# make the kernel warn ("llc-sibling ... is not on the same node"), which
# panic_on_warn makes a panic.
vm_numa=${PSHARE_VM_NUMA:-1}
case $vm_numa in
'' | *[!0-9]*) die "PSHARE_VM_NUMA must be a number of nodes, not '$vm_numa'" ;;
esac
vm_smp_arg=$vm_smp
numa_args=()
if [ "$vm_numa" -gt 1 ]; then
	case $vm_smp in
	'' | *[!0-9]*) die "PSHARE_VM_NUMA needs a plain number of vCPUs in PSHARE_VM_SMP, not '$vm_smp'" ;;
	esac
	[ $((vm_smp % vm_numa)) -eq 0 ] ||
		die "PSHARE_VM_NUMA=$vm_numa needs a multiple of $vm_numa vCPUs (PSHARE_VM_SMP=$vm_smp)"
	[ $((mem / vm_numa)) -ge 256 ] || die "PSHARE_VM_NUMA=$vm_numa leaves less than 256 MiB a node of --mem $mem"
	vm_smp_arg="$vm_smp,sockets=$vm_numa,cores=$((vm_smp / vm_numa)),threads=1"
	for ((node = 0; node < vm_numa; node++)); do
		size=$((mem / vm_numa))
		[ $node -eq $((vm_numa - 1)) ] && size=$((mem - size * (vm_numa - 1)))
		numa_args+=(-object "memory-backend-ram,id=numa$node,size=${size}M"
			-numa "node,nodeid=$node,memdev=numa$node"
			-numa "cpu,node-id=$node,socket-id=$node")
	done
fi

qemu+=(-accel "$vm_accel" -cpu "$vm_cpu" -smp "$vm_smp_arg" -m "$mem"
	-nographic -no-reboot
	-kernel "$bzimage" -initrd "$initrd" -append "$append"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$build/vm-out,mount_tag=vmout,security_model=none,multidevs=remap"
	-virtfs "local,path=$PSHARE_TOP,mount_tag=worktree,security_model=none,readonly=on,multidevs=remap"
	"${numa_args[@]}" ${PSHARE_VM_QEMU_ARGS:-})

note "booting the $kernel kernel ($kver), timeout ${timeout}s, $vm_numa NUMA node(s), console log $log"
start=$(date +%s)
set +e
timeout --foreground -k 10 "$timeout" "${qemu[@]}" </dev/null 2>&1 | tee "$log"
qrc=${PIPESTATUS[0]}
set -e
secs=$(($(date +%s) - start))

timed_out=0
[ "$qrc" = 124 ] || [ "$qrc" = 137 ] && timed_out=1
marker=$(tr -d '\r' <"$log" | grep -a -o "PSHARE-VM-EXIT=[0-9]* run=$run\$" | tail -n1 || true)
status=none
if [ -n "$marker" ]; then
	status=${marker#PSHARE-VM-EXIT=}
	status=${status%% *}
fi
clean=1
checklogs=("$log")
[ -f "$rundir/dmesg" ] && checklogs+=("$rundir/dmesg")
reports=$(bash "$PSHARE_TOP/scripts/console-check.sh" "${checklogs[@]}") || clean=0

if [ -n "$result" ]; then
	printf 'exit=%s\ntimeout=%s\nconsole_clean=%s\nlog=%s\nseconds=%s\n' \
		"$status" "$timed_out" "$clean" "$log" "$secs" >"$result"
fi

rc=0
if [ "$clean" = 0 ]; then
	echo "$reports" >&2
	note "FAIL: the $kernel kernel reported a problem (see above; console log $log)"
	rc=1
fi
if [ "$timed_out" = 1 ]; then
	note "FAIL: timed out after ${timeout}s (console log $log)"
	exit 124
elif [ "$status" = none ]; then
	note "FAIL: the VM ended without the exit marker: kernel crash or early init failure (console log $log, qemu status $qrc)"
	exit 1
elif [ "$status" = 125 ]; then
	note "FAIL: VM setup failed (see PSHARE-VM lines above; console log $log)"
	exit 125
fi
note "command exited with status $status after ${secs}s"
[ "$status" != 0 ] && exit "$status"
exit $rc
