"""Reading a sweep: a table of its configurations (seeds pooled) and summary.png, the median
learning curve of each configuration with the spread (min to max) over its seeds."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from ..files import save_figure
from .results import Results, read_history
from .spec import Sweep

MAX_TABLE_LINES = 40
MAX_PANELS = 12


def varying(sweep: Sweep) -> set:
    """The overrides that differ between runs (those set for every run are left out of labels)."""
    values: dict = {}
    for run in sweep.runs:
        for k, v in run.overrides:
            values.setdefault(k, set()).add(v)
    return {k for k, vs in values.items() if len(vs) > 1}


def configurations(sweep: Sweep, results: Results) -> dict:
    """config -> list of the result rows of its runs (done or failed), in sweep order; runs
    not recorded yet are left out."""
    groups: dict = {}
    for run in sweep.runs:
        groups.setdefault(run.config(), [])
        if run.id in results.rows:
            groups[run.config()].append(results.rows[run.id])
    return groups


def table(sweep: Sweep, results: Results) -> list[str]:
    """One line per configuration: runs done of all, promises met, final train loss (median and
    range over seeds), and test accuracy where the scene has one."""
    groups, shown = configurations(sweep, results), varying(sweep)
    per_config = len(sweep.runs) // max(1, len(groups))
    cells = [("scene", "overrides", "done", "met", "final loss: median [min, max]", "accuracy", "test acc.")]
    for config, rows in list(groups.items())[:MAX_TABLE_LINES]:
        done = [r for r in rows if r.get("status") == "done"]
        losses = [float(r["loss"]) for r in done]
        loss = f"{statistics.median(losses):.3g} [{min(losses):.3g}, {max(losses):.3g}]" if losses else "-"
        met = sum(str(r.get("met")) == "True" for r in done)
        cells.append((config[0], _label(config, shown), f"{len(done)}/{per_config}", str(met), loss,
                      _median_share(done, "accuracy"), _median_share(done, "test_accuracy")))
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    if len(groups) > MAX_TABLE_LINES:
        lines.append(f"... {len(groups) - MAX_TABLE_LINES} more configurations: results.csv has them all")
    return lines


def _median_share(rows: list, key: str) -> str:
    values = [float(r[key]) for r in rows if r.get(key) not in ("", None)]
    return f"{statistics.median(values):.1%}" if values else "-"


def plot(sweep: Sweep, results: Results, path: Path) -> None:
    """summary.png: a panel per scene (the first MAX_PANELS), a curve per configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups, labelled = configurations(sweep, results), varying(sweep)
    scenes = list(dict.fromkeys(config[0] for config in groups))
    shown = scenes[:MAX_PANELS]
    cols = min(3, len(shown))
    rows_n = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(5 * cols, 3.6 * rows_n), dpi=100, squeeze=False)
    for ax, scene in zip(axes.flat, shown):
        for config, rows in groups.items():
            if config[0] != scene:
                continue
            curves = [read_history(results.folder / r["history"]) for r in rows
                      if r.get("status") == "done" and r.get("history")]
            if not curves:
                continue
            epochs, median, low, high = _spread(curves)
            line, = ax.semilogy(epochs, median, label=_label(config, labelled) or "as set")
            if len(curves) > 1:
                ax.fill_between(epochs, low, high, color=line.get_color(), alpha=0.2)
        ax.set_title(scene, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("train loss")
        if ax.lines:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    title = "median over seeds, band: min to max" + (f"; first {MAX_PANELS} of {len(scenes)} scenes"
                                                     if len(scenes) > MAX_PANELS else "")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def _spread(curves: list) -> tuple:
    """Epochs and, at each, the median, min and max train loss over the runs that reached it."""
    longest = max(curves, key=len)
    epochs, median, low, high = [], [], [], []
    for i, row in enumerate(longest):
        values = [max(c[i]["loss"], 1e-300) for c in curves if i < len(c)]
        epochs.append(row["epoch"])
        median.append(statistics.median(values))
        low.append(min(values))
        high.append(max(values))
    return epochs, median, low, high


def _label(config: tuple, keys: set) -> str:
    return " ".join(f"{k}={v}" for k, v in config[1:] if k in keys)
