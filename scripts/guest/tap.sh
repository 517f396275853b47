# SPDX-License-Identifier: GPL-2.0
#
# TAP helpers for the KVM selftests (selftests/kvm/*.sh). The sourcing script
# sets PLAN and prints "1..$PLAN" itself.
#
#   ok TEXT / not_ok TEXT     one result; not_ok makes the script exit 1
#   skip TEXT REASON          one skipped result
#   skip_rest REASON          skip every remaining result and exit
#   diag TEXT                 a "#" line
#   finish                    exit with the script's status

n=0
failed=0

ok()     { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n $*"; failed=1; }
skip()   { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
diag()   { echo "# $*"; }
finish() { exit $failed; }

skip_rest() {
	while [ "$n" -lt "$PLAN" ]; do
		skip "$(basename "$0" .sh) step $((n + 1))" "$1"
	done
	finish
}
