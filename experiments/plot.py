#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Render the reclaim experiments' logs (CSV from pshare_exp) as PNG plots.

    plot.py sampling SAMPLING.csv OUT.png
    plot.py idle-tax IDLE_TAX.csv OUT.png

Needs matplotlib (Debian: python3-matplotlib). Exits 3 when it is missing,
so the caller can fall back to another plotter or skip the figure.
"""
import csv
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.stderr.write("plot.py: matplotlib is missing (apt-get install python3-matplotlib)\n")
    sys.exit(3)


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def sampling(rows, out):
    t = [float(r["t"]) for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.step(t, [int(r["true_permille"]) / 10 for r in rows], where="post",
            color="black", linestyle="--", linewidth=1.5,
            label="true working set")
    for key, style, label in (
        ("active_current", dict(color="tab:gray", linewidth=0.8, alpha=0.8),
         "current period"),
        ("active_fast", dict(color="tab:orange", linewidth=1.3), "fast average"),
        ("active_slow", dict(color="tab:blue", linewidth=1.3), "slow average"),
        ("active_permille", dict(color="tab:red", linewidth=2.2),
         "estimate = max(fast, slow, current)"),
    ):
        ax.plot(t, [int(r[key]) / 10 for r in rows], label=label, **style)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("active memory (% of the region)")
    ax.set_ylim(0, 105)
    ax.set_title("pshare sampled active memory (cf. Waldspurger 2002, Fig. 6)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def idle_tax(rows, out):
    taxes = sorted({int(r["tax"]) for r in rows})
    fig, axes = plt.subplots(1, len(taxes), figsize=(5 * len(taxes), 4),
                             sharey=True, squeeze=False)
    for ax, tax in zip(axes[0], taxes):
        rs = [r for r in rows if int(r["tax"]) == tax]
        t = [float(r["t"]) for r in rs]
        for key, color, label in (
            ("a_private", "tab:blue", "A (idle) held"),
            ("a_target", "tab:blue", "A target"),
            ("b_private", "tab:red", "B (busy) held"),
            ("b_target", "tab:red", "B target"),
        ):
            ax.plot(t, [int(r[key]) / 256 for r in rs], color=color,
                    linestyle="--" if "target" in key else "-", label=label)
        ax.set_title("idle tax %d%%" % tax)
        ax.set_xlabel("time (s)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("MiB")
    axes[0][0].set_ylim(bottom=0)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("pshare idle memory tax (cf. Waldspurger 2002, Fig. 7)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("sampling", "idle-tax"):
        sys.stderr.write(__doc__)
        return 2
    rows = read(sys.argv[2])
    if not rows:
        sys.stderr.write("plot.py: %s has no data\n" % sys.argv[2])
        return 1
    (sampling if sys.argv[1] == "sampling" else idle_tax)(rows, sys.argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
