#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scan VM console logs (or dmesg dumps) for kernel reports:
#
#   bash scripts/console-check.sh FILE...
#
# Prints every report line found (with the file name) and exits 1 if there is
# one, 0 if the logs are clean, 2 if a file cannot be read. Only kernel
# messages count: lines carrying a printk timestamp ("[   12.345678] ...",
# which may follow user output on the same console line) and the kmemleak
# report that the VM init prints with the "kmemleak-report: " prefix. Test
# output that merely mentions "WARNING:" does not count.

set -uo pipefail

[ $# -gt 0 ] || { echo "usage: $0 FILE..." >&2; exit 2; }

reports='BUG:|WARNING:|KASAN|possible circular locking|possible recursive locking'
reports+='|inconsistent lock state|suspicious RCU|Bad page state|kernel BUG'
reports+='|general protection fault|\<Oops\>|unreferenced object|suspected memory leak'
reports+='|Kernel panic|UBSAN|Attempted to kill init|Unable to handle kernel'
kernel_line='(\[ *[0-9]+\.[0-9]+\]|^kmemleak-report: )'

found=0
for f in "$@"; do
	[ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 2; }
	hits=$(tr -d '\r' <"$f" | grep -a -n -E "$kernel_line.*($reports)") || true
	if [ -n "$hits" ]; then
		found=1
		echo "kernel reports in $f:"
		echo "$hits" | head -n 60 | sed 's/^/  /'
	fi
done
exit $found
