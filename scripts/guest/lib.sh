# SPDX-License-Identifier: GPL-2.0
#
# Helpers to run the inner guest (built by scripts/guest/build.sh) under an
# unmodified QEMU whose RAM is a pshare region. Sourced by the tests in
# selftests/kvm/ and by scripts/guest/demo-in-vm.sh.
#
#   guest_start REGION_PATH MEM_MIB   start QEMU in the background; REGION_PATH
#                                     "anon" gives QEMU's default anonymous
#                                     RAM instead (KSM's case)
#   guest_wait PATTERN COUNT SECS     wait for COUNT console lines matching
#                                     PATTERN (grep -E); 1 on timeout/QEMU exit
#   guest_count PATTERN               console lines matching PATTERN so far
#   guest_qmp ARGS...                 scripts/guest/qmp.py on the guest's socket
#   guest_stop                        quit QEMU (QMP, then SIGTERM, SIGKILL)
#   guest_discard                     guest_stop, then remove the guest's run
#                                     directory (a test's EXIT trap)
#   guest_dump [LINES]                the guest's last LINES console lines
#                                     (default 15), QEMU's output and its
#                                     state, as "#" lines for a test's log
#   guest_send LINE                   write LINE to the guest's control port
#                                     (its ttyS1; see guestmem.c)
#   guest_save NAME / guest_load NAME keep several guests: save the current
#                                     guest's state under NAME, make NAME's
#                                     the current one
#   guest_name_all KIND N MIB PREFIX  name N guests g1..gN in GUEST_NAMES,
#                                     each of MIB on region PREFIX-<i> (KIND
#                                     pshare) or anonymous RAM (KIND anon)
#   guest_start_all NAME...           start one guest per NAME, each on the
#                                     region in ${GUEST_<NAME>_REGION}
#   guest_boot_wait SECS NAME...      wait until every named guest wrote and
#                                     verified its pattern (see below)
#   guest_stop_all NAME...            stop the named guests, remove their
#                                     run directories
#   region_pages PATH                 pages the region holds (st_blocks / 8)
#   region_line PATH                  its line in debugfs pshare/regions
#
# Environment: GUEST_ACCEL=kvm|tcg (default kvm; tcg is for trying the guest
# on a machine without usable KVM), GUEST_DIR (build products, default
# <worktree>/build/guest), GUEST_RUN (sockets and logs, default a new
# directory under /tmp).

GUEST_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GUEST_TOP=$(cd "$GUEST_SRC/../.." && pwd)
GUEST_DIR=${GUEST_DIR:-$GUEST_TOP/build/guest}
GUEST_ACCEL=${GUEST_ACCEL:-kvm}
GUEST_PID=
GUEST_LOG=
GUEST_QMP=
GUEST_CTL=
GUEST_REGION=
GUEST_MEM=

# guest_check_built: 0 if the kernel and initramfs are there.
guest_check_built() {
	[ -r "$GUEST_DIR/vmlinuz" ] && [ -r "$GUEST_DIR/initramfs.cpio.gz" ]
}

guest_start() {
	local region=$1 mem=$2 accel cpu ram
	GUEST_RUN=${GUEST_RUN:-$(mktemp -d /tmp/pshare-guest.XXXXXX)}
	GUEST_REGION=$region
	GUEST_MEM=$mem
	GUEST_LOG=$GUEST_RUN/console.log
	GUEST_QMP=$GUEST_RUN/qmp.sock
	GUEST_CTL=$GUEST_RUN/ctl.sock
	: > "$GUEST_LOG"
	case $GUEST_ACCEL in
	kvm) accel=kvm cpu=host ;;
	*) accel=tcg cpu=max ;;
	esac
	if [ "$region" = anon ]; then
		ram=(-machine q35,accel=$accel)
	else
		ram=(-machine q35,accel=$accel,memory-backend=ram0
		     -object memory-backend-file,id=ram0,mem-path="$region",size="${mem}M",share=on)
	fi
	# -nodefaults: no NIC, no VGA; the serial console goes to a file and
	# the host drives everything else over QMP.
	qemu-system-x86_64 \
		-nodefaults -no-user-config -name guest,debug-threads=on \
		"${ram[@]}" \
		-cpu $cpu -smp 1 -m "${mem}M" \
		-device virtio-balloon-pci,id=balloon0 \
		-display none -vga none \
		-serial file:"$GUEST_LOG" \
		-serial unix:"$GUEST_CTL",server=on,wait=off \
		-qmp unix:"$GUEST_QMP",server=on,wait=off \
		-kernel "$GUEST_DIR/vmlinuz" \
		-initrd "$GUEST_DIR/initramfs.cpio.gz" \
		-append "console=ttyS0 quiet loglevel=4 panic=-1 ${GUEST_APPEND:-}" \
		> "$GUEST_RUN/qemu.out" 2>&1 &
	GUEST_PID=$!
}

guest_alive() {
	[ -n "$GUEST_PID" ] && kill -0 "$GUEST_PID" 2>/dev/null
}

guest_count() {
	grep -aEc -- "$1" "$GUEST_LOG" 2>/dev/null || true
}

guest_wait() {
	local pattern=$1 count=$2 secs=$3 end
	end=$((SECONDS + secs))
	while [ "$(guest_count "$pattern")" -lt "$count" ]; do
		if ! guest_alive; then
			echo "QEMU exited; its output:" >&2
			sed 's/^/    /' "$GUEST_RUN/qemu.out" >&2
			return 1
		fi
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.5
	done
}

# guest_reverified N SECS: wait up to SECS for the current guest to finish N
# more passes over its kept data ("reverify ok" or "verify FAILED" lines),
# then succeed if no pass in its whole log failed.
guest_reverified() {
	local pass='GUEST: (reverify ok|verify FAILED)' c
	c=$(guest_count "$pass")
	guest_wait "$pass" $((c + $1)) "$2" &&
		[ "$(guest_count 'GUEST: verify FAILED')" -eq 0 ]
}

# guest_wait_qmp SECS: wait for the QMP socket to accept connections.
guest_wait_qmp() {
	local end=$((SECONDS + $1))
	until [ -S "$GUEST_QMP" ] && guest_qmp query-status >/dev/null 2>&1; do
		guest_alive || return 1
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

guest_qmp() {
	/usr/bin/python3 "$GUEST_SRC/qmp.py" "$GUEST_QMP" "$@"
}

guest_stop() {
	local i
	guest_alive || return 0
	guest_qmp quit >/dev/null 2>&1 || true
	for i in 1 2 3 4 5 6 7 8 9 10; do
		guest_alive || break
		sleep 0.3
	done
	guest_alive && kill "$GUEST_PID" 2>/dev/null
	sleep 0.5
	guest_alive && kill -9 "$GUEST_PID" 2>/dev/null
	wait "$GUEST_PID" 2>/dev/null || true
	GUEST_PID=
}

# guest_discard: stop the current guest and remove its run directory, so
# that nothing of it is left in /tmp when a test ends, however it ends.
guest_discard() {
	guest_stop
	[ -n "${GUEST_RUN:-}" ] && rm -rf "$GUEST_RUN"
	GUEST_RUN=
}

# guest_dump [LINES]: what a test prints when a step with the current guest
# failed: the last LINES (default 15) lines of its console, QEMU's own
# output, and its state (guest_diagnose), every line starting with "#" so
# that the TAP stream stays valid.
guest_dump() {
	local n=${1:-15}
	echo "# --- guest console (last $n lines) ---"
	tail -n "$n" "$GUEST_LOG" 2>/dev/null | tr -d '\r' | sed 's/^/#   /'
	echo "# --- QEMU output ---"
	sed 's/^/#   /' "$GUEST_RUN/qemu.out" 2>/dev/null
	guest_diagnose 2>&1 | sed 's/^/#   state: /'
}

region_pages() {
	local blocks
	blocks=$(stat -c %b "$1" 2>/dev/null) || blocks=0
	echo $((blocks / 8))
}

# region_stat REGION NAME: one number from `psharectl region` (empty if
# psharectl or the region is missing).
region_stat() {
	"$top/userspace-tools/psharectl" region "$1" 2>/dev/null |
		awk -v k="$2:" '$1 == k { print $2; exit }'
}

region_line() {
	local ino
	ino=$(stat -c %i "$1")
	awk -v ino="$ino" '$1 == ino' /sys/kernel/debug/pshare/regions 2>/dev/null
}

# guest_last_line PATTERN: the last console line matching PATTERN.
guest_last_line() {
	grep -aE -- "$1" "$GUEST_LOG" 2>/dev/null | tail -n1 | tr -d '\r'
}

guest_send() {
	/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
import time; time.sleep(0.5)
s.close()' "$GUEST_CTL" "$1"
}

guest_save() {
	local v
	for v in PID LOG QMP CTL RUN REGION MEM; do
		eval "GUEST_${1}_$v=\${GUEST_$v:-}"
	done
}

guest_load() {
	local v
	for v in PID LOG QMP CTL RUN REGION MEM; do
		eval "GUEST_$v=\${GUEST_${1}_$v:-}"
	done
}

# guest_missing: why the inner guest cannot run here (one line), or nothing
# when it can. Loads the KVM modules if /dev/kvm is missing. A pshare that is
# not mounted on /run/pshare is not "missing": the caller bails out on it.
guest_missing() {
	local m
	if [ ! -c /dev/kvm ]; then
		for m in irqbypass kvm ccp kvm-amd kvm-intel; do
			modprobe "$m" 2>/dev/null
		done
	fi
	if [ ! -c /dev/kvm ] && [ "$GUEST_ACCEL" = kvm ]; then
		echo "/dev/kvm missing (load kvm and kvm-amd/kvm-intel; a TCG VM needs -cpu max)"
	elif ! guest_check_built; then
		echo "inner guest not built ($GUEST_DIR): run 'make -C selftests/kvm' on the host"
	elif ! command -v qemu-system-x86_64 >/dev/null; then
		echo "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
	elif ! grep -qs " /run/pshare pshare " /proc/mounts; then
		echo "Bail out! pshare is not mounted on /run/pshare (insmod pshare.ko; mount -t pshare pshare /run/pshare)" >&2
		exit 1
	fi
}

# guest_diagnose: what the current guest is doing, for a test's log when it
# stalls: its run state and vCPU registers (QMP), and where QEMU's threads
# wait in the host kernel (a vCPU thread stuck in a page fault shows here).
guest_diagnose() {
	local t
	echo "run state: $(guest_qmp query-status 2>&1)"
	guest_qmp hmp info registers 2>&1 | grep -E '^(RIP|RAX|RSP|CR0|CR3|EFL)' | head -n 4
	guest_alive || return 0
	for t in /proc/"$GUEST_PID"/task/*; do
		echo "thread $(cat "$t/comm" 2>/dev/null) state $(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d' ' -f1) wchan $(cat "$t/wchan" 2>/dev/null)"
		grep -q 'CPU' "$t/comm" 2>/dev/null && sed 's/^/    /' "$t/stack" 2>/dev/null | head -n 12
	done
}

guest_name_all() {
	local i
	GUEST_NAMES=()
	for i in $(seq 1 "$2"); do
		if [ "$1" = pshare ]; then
			eval "GUEST_g${i}_REGION=$4-$i"
		else
			eval "GUEST_g${i}_REGION=anon"
		fi
		eval "GUEST_g${i}_MEM=$3"
		GUEST_NAMES+=("g$i")
	done
}

guest_start_all() {
	local g
	for g in "$@"; do
		guest_load "$g"
		unset GUEST_RUN
		guest_start "$GUEST_REGION" "$GUEST_MEM"
		guest_save "$g"
	done
}

guest_stop_all() {
	local g
	for g in "$@"; do
		guest_load "$g"
		guest_discard
		guest_save "$g"
	done
}

# guest_boot_wait SECS NAME...: wait up to SECS for each named guest to print
# its first "verify ok" (or a failure). Returns 1 on timeout, on QEMU exiting,
# or on a verify failure.
#
# A nested guest under TCG has been seen, rarely, to stop in its early boot:
# no console line and no new guest page for minutes, its vCPU spinning in
# the guest kernel (see guest_diagnose). Such a guest is restarted once, with
# its state printed first (lines start with GUEST_NOTE, default "# "), so a
# test or the demo does not wait out its whole budget on it; a second stall
# of the same guest is waited out and fails.
#
# Every 15 s the function named in GUEST_PROGRESS (if any) is called.
guest_boot_wait() {
	local secs=$1 end g ready p last=$SECONDS note=${GUEST_NOTE:-# }
	local -A held moved restarted
	shift
	end=$((SECONDS + secs))
	for g in "$@"; do
		held[$g]=0 moved[$g]=$SECONDS restarted[$g]=0
	done
	while :; do
		ready=0
		for g in "$@"; do
			guest_load "$g"
			guest_alive || { echo "${note}QEMU of guest $g exited:"; sed "s/^/${note}  /" "$GUEST_RUN/qemu.out"; return 1; }
			if [ "$(guest_count 'GUEST: (verify ok|verify FAILED|too little)')" -ge 1 ]; then
				ready=$((ready + 1))
				continue
			fi
			p=0
			if [ "$GUEST_REGION" = anon ]; then
				p=$(awk '/^Rss:/ { s += $2 } END { print s + 0 }' "/proc/$GUEST_PID/smaps" 2>/dev/null)
			else
				p=$(region_pages "$GUEST_REGION")
			fi
			if [ "$p" != "${held[$g]}" ] || [ "$(guest_count 'GUEST:')" -gt 0 ]; then
				held[$g]=$p moved[$g]=$SECONDS
			elif [ $((SECONDS - moved[$g])) -ge 120 ] && [ "${restarted[$g]}" = 0 ]; then
				echo "${note}guest $g stopped in its early boot (nothing new for 120 s); its state:"
				guest_diagnose 2>&1 | sed "s/^/${note}  /"
				echo "${note}restarting guest $g once"
				guest_stop_all "$g"
				guest_start_all "$g"
				guest_load "$g"
				guest_wait_qmp 30
				restarted[$g]=1 moved[$g]=$SECONDS held[$g]=0
			fi
		done
		[ "$ready" = $# ] && break
		[ "$SECONDS" -lt "$end" ] || return 1
		if [ -n "${GUEST_PROGRESS:-}" ] && [ $((SECONDS - last)) -ge 15 ]; then
			last=$SECONDS
			"$GUEST_PROGRESS"
		fi
		sleep 1
	done
	for g in "$@"; do
		guest_load "$g"
		[ "$(guest_count 'GUEST: verify ok')" -ge 1 ] || return 1
	done
}
