"""The capacity table (markdown lines) and figure from the runs' outcomes (`fit.read_outcomes`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sandbox.files import save_figure

from .fit import capacity, gap, success_fractions

ANCHOR = 0.74  # Rocks et al. 2019: mechanical networks, node-pair source, pruning
NAMES = {("ghost", "prune"): "pruning", ("ghost", "lbfgs"): "L-BFGS-B, exact gradient",
         ("ghost", "ep"): "EP + Adam", ("bonds", "prune"): "pruning, 2019 pairs (bonds)"}
COLOURS = {("ghost", "prune"): "C3", ("ghost", "lbfgs"): "C0", ("ghost", "ep"): "C2", ("bonds", "prune"): "C1"}


def summary(table: dict, replicates: int = 1000) -> tuple[list[str], dict]:
    """Markdown lines: per tuner, the crossing at each size with its interval and the exponent
    with its; then EP's crossing over L-BFGS-B's. Returns (lines, {(kind, tuner): capacity})."""
    results, lines = {}, []
    present = sorted({(ki, tu) for tu, ki, _ in table}, key=lambda k: list(NAMES).index(k) if k in NAMES else 99)
    for kind, tuner in present:
        c = results[(kind, tuner)] = capacity(table, tuner, kind, replicates)
        lines.append(f"**{NAMES.get((kind, tuner), f'{tuner}, {kind}')}**: exponent "
                     + (f"{c['nu']:.2f} [{c['nu_low']:.2f}, {c['nu_high']:.2f}]" if "nu" in c else "(fewer than two crossings)"))
        lines.append("")
        lines.append("| N | networks | runs | targets at 50% success [95%] | per node |")
        lines.append("|---|---|---|---|---|")
        for n in sorted(c["networks"]):
            if n in c["sizes"]:
                i = c["sizes"].index(n)
                cell = f"{c['tc'][i]:.1f} [{c['tc_low'][i]:.1f}, {c['tc_high'][i]:.1f}] | {c['tc'][i] / n:.3f}"
            else:
                fr = success_fractions(table[(tuner, kind, n)])
                cell = "not crossed (success " + ", ".join(f"{t}: {s}/{m}" for t, (s, m) in fr.items()) + ") | -"
            lines.append(f"| {n} | {c['networks'][n]} | {c['runs'][n]} | {cell} |")
        lines.append("")
    if ("ghost", "ep") in results and ("ghost", "lbfgs") in results:
        g = gap(table, "ghost", replicates=replicates)
        lines.append("EP's crossing over L-BFGS-B's (same networks, same targets): "
                     + ", ".join(f"N = {n}: {r:.2f} [{lo:.2f}, {hi:.2f}]" for n, (r, lo, hi) in g.items()))
    return lines, results


def draw(table: dict, results: dict, png: Path) -> None:
    """success against T / N^nu for each tuner, and the crossings against N (log axes) with the
    slope of the anchor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    panels = [k for k in (("ghost", "prune"), ("ghost", "lbfgs"), ("ghost", "ep")) if k in results]
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4.4 * (len(panels) + 1), 4.0), dpi=100)
    axes = np.atleast_1d(axes)
    for ax, (kind, tuner) in zip(axes, panels):
        c = results[(kind, tuner)]
        nu = c.get("nu", 1.0)
        sizes = sorted(n for tu, ki, n in table if tu == tuner and ki == kind)
        for i, n in enumerate(sizes):
            fr = success_fractions(table[(tuner, kind, n)])
            t = np.array(list(fr), dtype=float)
            ax.semilogx(t / n ** nu, [s / m for s, m in fr.values()], "o-", ms=3, color=f"C{i}", label=f"N = {n}")
        ax.axhline(0.5, color="grey", lw=0.8)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(f"T / N^{nu:.2f}")
        ax.set_title(NAMES[(kind, tuner)], fontsize=10)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("fraction of networks tuned")
    bx = axes[-1]
    for key, c in results.items():
        if len(c["sizes"]) < 1:
            continue
        n, tc = np.array(c["sizes"], dtype=float), np.array(c["tc"])
        err = np.abs(np.array([c["tc_low"], c["tc_high"]]) - tc)
        label = NAMES.get(key, str(key)) + (f": {c['nu']:.2f} [{c['nu_low']:.2f}, {c['nu_high']:.2f}]" if "nu" in c else "")
        bx.errorbar(n, tc, yerr=err, fmt="o", ms=4, color=COLOURS.get(key, "k"), label=label, capsize=2)
        if "nu" in c:
            grid = np.geomspace(n.min(), n.max(), 20)
            bx.loglog(grid, c["a"] * grid ** c["nu"], "-" if key[0] == "ghost" else "--", color=COLOURS.get(key, "k"), lw=1)
    if ("ghost", "prune") in results and results[("ghost", "prune")]["sizes"]:
        c = results[("ghost", "prune")]
        n0, t0 = c["sizes"][0], c["tc"][0]
        grid = np.geomspace(n0, max(c["sizes"]), 20)
        bx.loglog(grid, t0 * (grid / n0) ** ANCHOR, ":", color="grey", label=f"slope {ANCHOR} (Rocks et al. 2019)")
    bx.set_xscale("log")
    bx.set_yscale("log")
    for axis in (bx.xaxis, bx.yaxis):
        axis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    bx.set_xticks(sorted({n for c in results.values() for n in c["sizes"]}))
    bx.set_xlabel("nodes N")
    bx.set_ylabel("targets at 50% success")
    bx.set_title("capacity against size (95% intervals)", fontsize=10)
    bx.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, png)
