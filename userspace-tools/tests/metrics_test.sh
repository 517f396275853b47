#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# psharectl metrics on the host, without the module: a fake sysfs
# directory and a fake debugfs region table in a temporary directory, given
# to psharectl through PSHARECTL_SYSFS and PSHARECTL_DEBUGFS. Checks the
# output with promtool (scripts/prometheus-tools.sh takes it out of Debian's
# prometheus package; that check is skipped, with the reason, when it is
# missing), HELP and TYPE for every
# family, values in base units, the escaping of an odd region name, the
# output without the table and without the module, and the atomic
# --output. Prints TAP; exits 1 if a check failed.
#
#   make -C userspace-tools check             with the other host tests
#   PSHARECTL=... PROMTOOL=... bash userspace-tools/tests/metrics_test.sh
#                                             another psharectl or promtool

set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ctl=${PSHARECTL:-$top/userspace-tools/psharectl}
promtool=${PROMTOOL:-$(command -v promtool || echo /var/cache/pshare/prometheus/promtool)}
tmp=$(mktemp -d /tmp/pshare-metrics.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"
# has FILE LINE: FILE has LINE, whole and exact.
has() { grep -qxF -- "$2" "$1" || { echo "# no line '$2' in $1" >&2; false; }; }

if [ ! -x "$ctl" ]; then
	echo "1..0 # SKIP $ctl not built: run 'make tools'"
	exit 0
fi

# --- the fake module ---------------------------------------------------------------
sys=$tmp/sys
dbg=$tmp/debug
mkdir -p "$sys" "$dbg/pshare"
while read -r f v; do
	echo "$v" >"$sys/$f"
done <<'EOF'
run 1
pages_to_scan 100
sleep_millisecs 20
merge_across_domains 0
regions 2
pages_private 300
pages_zero 5
pages_shared 3
pages_sharing 7
pages_hinted 11
pages_scanned 123456
skipped_unchanged 777
max_cpu_percent 10
min_pages_to_scan 100
full_scans 4
hint_hits 9
stale_hints 2
false_matches 0
merge_busy 1
cow_breaks 42
limit_pages 262144
idle_tax_percent 75
sample_period_secs 30
sample_pages 100
memory_state soft
pages_paged 6
paged_out 10
paged_in 4
fault_nomem_retries 0
EOF
odd='odd "vm" \ 2'
{
	echo "ino size pages_private pages_zero pages_shared cow_breaks domain shares min_pages max_pages target_pages active_permille active_fast active_slow active_current pages_paged paged_out paged_in name"
	echo "12 16777216 256 4 2 40 2 4096 0 4096 4096 125 100 150 125 6 10 4 vm1"
	echo "13 1048576 44 1 1 2 3 256 16 256 200 1000 1000 1000 1000 0 0 0 $odd"
} >"$dbg/pshare/regions"

export PSHARECTL_SYSFS=$sys PSHARECTL_DEBUGFS=$dbg

# --- the whole output --------------------------------------------------------------
out=$tmp/out
"$ctl" metrics >"$out" 2>"$tmp/err"
tap_check "metrics exits 0" [ $? -eq 0 ]
if command -v "$promtool" >/dev/null; then
	"$promtool" check metrics <"$out" >"$tmp/promtool" 2>&1
	rc=$?
	sed 's/^/# /' "$tmp/promtool"
	tap_check "promtool check metrics: no problem" eval '[ $rc -eq 0 ] && [ ! -s "$tmp/promtool" ]'
else
	tap_skip "promtool check metrics" "$promtool missing (scripts/prometheus-tools.sh fetches it)"
fi

# Every family has HELP and TYPE before its first sample, and counters
# are named ..._total.
families_ok() {
	awk '
	/^# HELP / { help[$3] = 1; next }
	/^# TYPE / { type[$3] = $4; if ($4 == "counter" && $3 !~ /_total$/) { print "# counter " $3 " not _total"; bad = 1 }; next }
	/^#/ { next }
	{ name = $1; sub(/\{.*/, "", name)
	  if (!(name in help) || !(name in type)) { print "# " name " without HELP or TYPE"; bad = 1 }
	  if (name !~ /^pshare_/) { print "# " name " not pshare_"; bad = 1 } }
	END { exit bad }' "$1"
}
tap_check "every family has HELP and TYPE, counters end in _total" families_ok "$out"
tap_check "every global figure is there: 29 families (28 numbers, memory_state)" \
	[ "$(grep -c '^# TYPE pshare_[a-z_]* ' "$out")" -eq $((29 + 16)) ]

tap_check "pages in bytes: pshare_pages_shared_bytes" has "$out" "pshare_pages_shared_bytes $((3 * 4096))"
tap_check "sharing saved: pshare_pages_sharing_bytes" has "$out" "pshare_pages_sharing_bytes $((7 * 4096))"
tap_check "a counter: pshare_cow_breaks_total" has "$out" "pshare_cow_breaks_total 42"
tap_check "cow_breaks is a counter" has "$out" "# TYPE pshare_cow_breaks_total counter"
tap_check "paged_out in bytes, a counter" has "$out" "pshare_paged_out_bytes_total $((10 * 4096))"
tap_check "milliseconds in seconds: pshare_sleep_seconds" has "$out" "pshare_sleep_seconds 0.02"
tap_check "percent as a ratio: pshare_idle_tax_ratio" has "$out" "pshare_idle_tax_ratio 0.75"
tap_check "max_cpu_percent as a ratio" has "$out" "pshare_max_cpu_ratio 0.1"
tap_check "auto_scan's smallest batch" has "$out" "pshare_min_pages_to_scan 100"
tap_check "skipped_unchanged is a counter" has "$out" "pshare_skipped_unchanged_total 777"
tap_check "limit in bytes" has "$out" "pshare_limit_bytes $((262144 * 4096))"
tap_check "memory_state soft is 1" has "$out" 'pshare_memory_state{state="soft"} 1'
tap_check "memory_state high is 0" has "$out" 'pshare_memory_state{state="high"} 0'
tap_check "a region's private bytes, labelled" \
	has "$out" "pshare_region_private_bytes{region=\"vm1\",domain=\"2\",ino=\"12\"} $((256 * 4096))"
tap_check "a region's size in bytes" \
	has "$out" 'pshare_region_size_bytes{region="vm1",domain="2",ino="12"} 16777216'
tap_check "a region's cow breaks, a counter" \
	has "$out" 'pshare_region_cow_breaks_total{region="vm1",domain="2",ino="12"} 40'
tap_check "a region's active permille as a ratio" \
	has "$out" 'pshare_region_active_ratio{region="vm1",domain="2",ino="12"} 0.125'
tap_check "a region's target in bytes" \
	has "$out" "pshare_region_target_bytes{region=\"vm1\",domain=\"2\",ino=\"12\"} $((4096 * 4096))"
tap_check "an odd region name escaped (quote, backslash)" \
	has "$out" "pshare_region_private_bytes{region=\"odd \\\"vm\\\" \\\\ 2\",domain=\"3\",ino=\"13\"} $((44 * 4096))"
tap_check "nothing on stderr" [ ! -s "$tmp/err" ]

# --- without the table, without the module -----------------------------------------
PSHARECTL_DEBUGFS=$tmp/none "$ctl" metrics >"$out" 2>"$tmp/err"
tap_check "without debugfs: exit 0" [ $? -eq 0 ]
tap_check "without debugfs: the global figures" has "$out" "pshare_cow_breaks_total 42"
tap_check "without debugfs: no per-region family" bash -c "! grep -q pshare_region_ '$out'"
tap_check "without debugfs: a comment says why" \
	grep -qE "^# pshare per-region metrics omitted: $tmp/none/pshare/regions missing" "$out"
tap_check "without debugfs: the reason on stderr too" grep -q "$tmp/none/pshare/regions missing" "$tmp/err"
if command -v "$promtool" >/dev/null; then
	tap_check "without debugfs: promtool check metrics" "$promtool" check metrics <"$out"
fi
PSHARECTL_SYSFS=$tmp/none "$ctl" metrics >"$out" 2>"$tmp/err"
tap_check "without the module: exit 1" [ $? -eq 1 ]
tap_check "without the module: says to load it" grep -q "$tmp/none missing: load the module" "$tmp/err"
tap_check "without the module: nothing on stdout" [ ! -s "$out" ]

# --- --output ------------------------------------------------------------------------
prom=$tmp/textfile/pshare.prom
mkdir -p "$tmp/textfile"
"$ctl" metrics --output "$prom" >"$out" 2>"$tmp/err"
rc=$?
tap_check "--output: exit 0, nothing on stdout" eval '[ $rc -eq 0 ] && [ ! -s "$out" ]'
"$ctl" metrics >"$out"
tap_check "--output: the file holds what stdout gets" cmp -s "$prom" "$out"
tap_check "--output: no temporary file left" [ ! -e "$prom.tmp" ]
ino=$(stat -c %i "$prom")
echo stale >"$prom.tmp"
"$ctl" metrics -o "$prom"
rc=$?
tap_check "--output again: a new file renamed over the old one" eval \
	'[ $rc -eq 0 ] && [ "$(stat -c %i "$prom")" != "$ino" ] && [ ! -e "$prom.tmp" ] && cmp -s "$prom" "$out"'
PSHARECTL_SYSFS=$tmp/none "$ctl" metrics -o "$prom" 2>"$tmp/err"
rc=$?
tap_check "--output without the module: exit 1, the old file untouched" \
	eval '[ $rc -eq 1 ] && cmp -s "$prom" "$out"'
"$ctl" metrics --output "$tmp/nodir/pshare.prom" 2>"$tmp/err"
rc=$?
tap_check "--output into a missing directory: exit 1 and the reason" eval \
	'[ $rc -eq 1 ] && grep -q "$tmp/nodir/pshare.prom.tmp: No such file or directory" "$tmp/err"'
"$ctl" metrics --output 2>"$tmp/err"
tap_check "--output without FILE: usage error (exit 2)" [ $? -eq 2 ]
"$ctl" metrics extra 2>"$tmp/err"
tap_check "metrics takes no arguments (exit 2)" [ $? -eq 2 ]
"$ctl" metrics >/dev/full 2>"$tmp/err"
tap_check "metrics into /dev/full fails (exit 1)" [ $? -eq 1 ]

tap_end metrics
