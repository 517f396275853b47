#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian 13's QEMU for the test VM (PSHARE_VM_QEMU=trixie), installed in
# the Debian 13 root that scripts/newest-root.sh makes, and run on this
# machine with that root's own dynamic loader, libraries and firmware
# (scripts/qemu-trixie.sh).
#
#   bash scripts/vm-qemu.sh      install it if needed; print the command
#                                that runs it
#
# Why one would: "The emulated CPU" in scripts/vm.sh.
# Nothing is installed on this machine outside /var/cache/pshare.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

root=$PSHARE_NEWEST_ROOT
stamp=$root/.pshare-qemu
run="sh $PSHARE_TOP/scripts/qemu-trixie.sh"
if [ ! -f "$stamp" ]; then
	bash "$PSHARE_TOP/scripts/newest-root.sh" >/dev/null
	exec 9>"$root.lock"
	flock 9
fi
if [ ! -f "$stamp" ]; then
	log=$PSHARE_CACHE/trixie-root.log
	note "installing Debian 13's QEMU in $root (log: $log)"
	if ! in_newest_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends qemu-system-x86 >>"$log" 2>&1; then
		tail -n 20 "$log" >&2
		die "installing qemu-system-x86 in the trixie root failed"
	fi
	version=$(PSHARE_NEWEST_ROOT=$root $run --version | head -n1) ||
		die "Debian 13's QEMU does not run here"
	echo "$version" >"$stamp"
fi
echo "$run"
