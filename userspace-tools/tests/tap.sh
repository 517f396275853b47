# SPDX-License-Identifier: GPL-2.0
#
# TAP for the host tests of psharectl, sourced by tests/*_test.sh:
# tap_result ok|fail NAME, tap_check NAME CMD..., tap_skip NAME REASON and
# tap_end. A test may define tap_on_fail to show more after a failure.

echo "TAP version 13"
n=0
failed=0
skipped=0

tap_result() {
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n $2"
	else
		failed=$((failed + 1))
		echo "not ok $n $2"
		if declare -F tap_on_fail >/dev/null; then
			tap_on_fail
		fi
	fi
}

# tap_check NAME CMD...: ok when CMD succeeds.
tap_check() {
	local name=$1

	shift
	if "$@"; then
		tap_result ok "$name"
	else
		tap_result fail "$name"
	fi
}

tap_skip() {
	n=$((n + 1))
	skipped=$((skipped + 1))
	echo "ok $n $1 # SKIP $2"
}

# tap_end WHAT: the plan and a summary line; returns 1 if a check failed.
tap_end() {
	echo "1..$n"
	echo "$1: $((n - failed - skipped)) passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}
