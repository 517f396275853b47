#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make experiments`: the paper's reclaim experiments against pshare.ko, in
# one boot of the test VM (stock kernel by default), with figures and tables
# under build/experiments/. Figures, not tests: nothing passes or fails here,
# only a broken setup stops the script.
#
#   idle_tax.txt, idle_tax.csv, idle_tax.png   the idle memory tax (Fig. 7)
#   sampling.txt, sampling.csv, sampling.png   sampled active memory (Fig. 6)
#
# The programs are experiments/pshare_exp.c (built here on the host) and
# experiments/plot.py (matplotlib; when python3-matplotlib is missing the
# script installs it with apt-get, and without it falls back to gnuplot, or
# leaves the tables only).
#
# Environment: KERNEL (stock|debug), EXP_TAXES (default 0,75), EXP_SETTLE
# and EXP_MEASURE (idle tax: seconds of settling and of measurement, default
# 40 and 20), EXP_STEPS (sampling: working-set percentages, default
# 20,80,40,20) and EXP_STEP_SECS (seconds per step, default 20).

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kernel=${KERNEL:-stock}
taxes=${EXP_TAXES:-0,75}
settle=${EXP_SETTLE:-40}
measure=${EXP_MEASURE:-20}
steps=${EXP_STEPS:-20,80,40,20}
step_secs=${EXP_STEP_SECS:-20}

out=$PSHARE_TOP/build/experiments
mkdir -p "$out" "$PSHARE_TOP/build/vm-out"
command -v gcc >/dev/null || die "gcc not found: run 'make deps'"
[ -f "$PSHARE_TOP/scripts/vm.sh" ] || die "scripts/vm.sh missing: the work tree is incomplete"

gcc -O2 -Wall -Wextra -Werror -pthread -I"$PSHARE_TOP/uapi" \
	-o "$out/pshare_exp" "$PSHARE_TOP/experiments/pshare_exp.c" ||
	die "building experiments/pshare_exp.c failed"

# The VM writes only to build/vm-out; results are moved to $out afterwards.
vmout=$PSHARE_TOP/build/vm-out/experiments-$$
rm -rf "$vmout"
mkdir -p "$vmout"
trap 'rm -rf "$vmout"' EXIT

exp=$out/pshare_exp
cmd="set -e
'$exp' idle-tax --tax '$taxes' --settle '$settle' --measure '$measure' \
	--log '$vmout/idle_tax.csv' >'$vmout/idle_tax.txt'
'$exp' sampling --steps '$steps' --step-secs '$step_secs' \
	--log '$vmout/sampling.csv' >'$vmout/sampling.txt'"

note "running the experiments in a $kernel test VM (several minutes under TCG;" \
	"console log: $out/vm-console.log)"
set +e
bash "$PSHARE_TOP/scripts/vm.sh" --kernel "$kernel" --log "$out/vm-console.log" \
	-- bash -c "$cmd" >/dev/null
rc=$?
set -e
for f in idle_tax.txt idle_tax.csv sampling.txt sampling.csv; do
	[ -f "$vmout/$f" ] && cp "$vmout/$f" "$out/$f"
done
[ "$rc" = 0 ] || die "the VM run failed with status $rc (see $out/vm-console.log)"

echo
cat "$out/idle_tax.txt"
echo
cat "$out/sampling.txt"
echo

# Figures: matplotlib, installed from Debian's archive when missing. Debian's
# python3-matplotlib is for Debian's interpreter, which need not be the first
# python3 on PATH.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
if ! "$py" -c 'import matplotlib' 2>/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		note "installing python3-matplotlib for the plots"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-matplotlib \
			>"$out/apt.log" 2>&1 ||
			note "apt-get install python3-matplotlib failed (see $out/apt.log)"
	fi
fi
if "$py" -c 'import matplotlib' 2>/dev/null; then
	"$py" "$PSHARE_TOP/experiments/plot.py" sampling "$out/sampling.csv" "$out/sampling.png"
	"$py" "$PSHARE_TOP/experiments/plot.py" idle-tax "$out/idle_tax.csv" "$out/idle_tax.png"
	echo "plots: $out/sampling.png $out/idle_tax.png"
elif command -v gnuplot >/dev/null; then
	gnuplot <<-EOF
		set terminal png size 990,495
		set output '$out/sampling.png'
		set datafile separator ','
		set key autotitle columnhead bottom right
		set xlabel 'time (s)'
		set ylabel 'active memory (permille)'
		set yrange [0:1050]
		plot for [c=2:6] '$out/sampling.csv' using 1:c with lines
	EOF
	echo "plot: $out/sampling.png (gnuplot; the idle tax figure needs matplotlib)"
else
	note "no matplotlib and no gnuplot: tables only (apt-get install python3-matplotlib)"
fi
