"""The response picture of headless training (response.png): the same as the window's panel,
drawn with matplotlib. One input: the answer (each output number) against the input, with the
examples (filled: training, hollow: held out); two inputs: the map of the predicted class (or
the first output) over the input plane, with the examples on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .files import save_figure
from .learning.response import (
    Probe,
    example_numbers,
    free_response,
    input_names,
    output_names,
    probe_of_scene,
)
from .scenes.build import Scene

CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]


def plot_response(scene: Scene, path: Path, title: str = "") -> bool:
    """Write response.png for a scene with one or two input numbers; False (nothing written) if
    it has more."""
    if probe_of_scene(scene) is None:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    draw_response(ax, scene, title)
    fig.tight_layout()
    save_figure(fig, path)
    return True


def draw_response(ax, scene: Scene, title: str = "") -> bool:
    """Draw the scene's response (curve or map, with its examples) on matplotlib axes; False
    (nothing drawn) for a scene with more than two input numbers."""
    probe = probe_of_scene(scene)
    if probe is None:
        return False
    net, task, ts = scene.net, scene.task, scene.spec.task
    resp = free_response(net, task, probe)
    ex = example_numbers(task, net, ts.input, ts.output)
    shown, targets, test = ex.inputs[:, list(probe.dims)], ex.targets, ex.test
    xname = input_names(task, net, probe)
    onames = output_names(task, net, probe)
    if probe.n_dims == 1:
        _curves(ax, resp, shown, targets, task.labels, test, onames)
        ax.set_ylabel(", ".join(onames[:3]) if targets is not None else "output (read-out)")
    else:
        _map(ax, probe, resp, shown, targets, task.labels, test, onames, task.margin)
        ax.set_ylabel(xname[1])
    ax.set_xlabel(xname[0])
    ax.set_title(title or f"{scene.name}: what the network computes")
    return True


def _curves(ax, resp, shown, targets, labels, test, names):
    for j in range(resp.values.shape[1]):
        color = f"C{(j + 1) % 10}"
        ax.plot(resp.axes[0], resp.values[:, j], color=color, lw=2, label=f"network: {names[j]}")
        if targets is not None:
            ax.scatter(shown[~test, 0], targets[~test, j], color=color, edgecolor="k", zorder=3,
                       label="examples" if j == 0 else None)
            if test.any():
                ax.scatter(shown[test, 0], targets[test, j], facecolor="white", edgecolor=color, lw=2,
                           zorder=3, label="held out" if j == 0 else None)
    ax.axhline(0, color="0.85", lw=0.8, zorder=0)
    ax.axvline(0, color="0.85", lw=0.8, zorder=0)
    ax.legend(fontsize=8)


def _map(ax, probe: Probe, resp, shown, targets, labels, test, names, margin):
    extent = (probe.lo[0], probe.hi[0], probe.lo[1], probe.hi[1])
    if labels is not None:
        from matplotlib.colors import to_rgb

        cls = resp.classes()
        s = np.sort(resp.values, axis=-1)
        lead = s[..., -1] - s[..., -2] if s.shape[-1] > 1 else np.abs(s[..., -1])
        t = 0.25 + 0.6 * np.clip(lead / (margin or 0.1), 0, 1)
        base = np.array([to_rgb(CLASS_COLORS[c % len(CLASS_COLORS)]) for c in range(resp.values.shape[-1])])
        img = 1 + (base[cls] - 1) * t[..., None]
        ax.imshow(np.transpose(img, (1, 0, 2)), origin="lower", extent=extent, aspect="auto", interpolation="bilinear")
        for c, name in enumerate(names):
            pick = labels == c
            color = CLASS_COLORS[c % len(CLASS_COLORS)]
            ax.scatter(shown[pick & ~test, 0], shown[pick & ~test, 1], color=color, edgecolor="k", s=60,
                       zorder=3, label=f"class {c}: {name} ahead")
            ax.scatter(shown[pick & test, 0], shown[pick & test, 1], facecolor="white", edgecolor=color, s=60,
                       lw=2, zorder=3)
        ax.legend(fontsize=8, loc="upper center")
    else:
        v = resp.values[..., 0]
        lim = float(np.nanmax(np.abs(v))) or 1.0
        im = ax.imshow(v.T, origin="lower", extent=extent, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.figure.colorbar(im, ax=ax, label=names[0])
        ax.scatter(shown[:, 0], shown[:, 1], c=targets[:, 0], cmap="RdBu_r", vmin=-lim, vmax=lim, edgecolor="k",
                   s=60, zorder=3)
