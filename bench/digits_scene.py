"""Writes scenes/digits.yaml: ten beads on rails, each joined by a spring to every pixel.

    python -m bench.digits_scene [PATH]

The 64 pixel inputs sit on an 8x8 grid (row 0 at the top) and move along x by their scaled
value; a bias input is always pulled by the same amount. Each of the ten outputs is a bead on a
horizontal rail to the right of the grid, joined by a spring to every input and by one more to a
fixed anchor further right. A bead settles where its springs balance, a weighted mean of the
input displacements (weights k cos^2 of each spring's angle, the anchor's pulling toward 0), so
every linear classifier of the pixels is within reach: adding the same amount to one pixel's
weight in every class changes no decision, so all weights can be positive, and the anchor and
the bias make up each class's total and offset.
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADER = """\
# Handwritten digits: 1,797 images of 8x8 pixels (0-16 each), ten classes (assets/digits.csv).
# Each pixel moves one input node along x, by its value scaled to [-0.3, 0.3]; a 65th input
# (the bias) is always pulled by 0.3. The ten outputs are beads on horizontal rails to the
# right, each joined by a spring to every input and to its own fixed anchor: a bead settles at
# a weighted mean of the input displacements, so the network can hold any linear classifier of
# the pixels (a weight can be made positive by adding the same amount in every class, which
# changes no decision). The bead of the right digit should move furthest right, by a margin.
# 30% of the images are held out. Written by `python -m bench.digits_scene`.
"""


def scene_text(k_in: float = 1.0, k_anchor: float = 10.0, out_x: float = 20.0, anchor_dx: float = 10.0) -> str:
    """The YAML text of the scene."""
    pixels = [f"r{r}c{c}" for r in range(8) for c in range(8)]
    out = [HEADER, "name: Digits",
           "description: >-\n  Each of 64 pixels pushes one input node (the grey squares show the image); the input at"
           "\n  the far left, pulled the same for every image, is a bias. Ten beads on rails, each joined"
           "\n  to every input, learn to move the right digit's bead furthest. Trained on 1,258 images,"
           "\n  tested on 539.",
           "seed: 0", "network:", "  nodes:"]
    out += [f"    - {{id: r{r}c{c}, pos: [{c}, {7 - r}], role: input}}" for r in range(8) for c in range(8)]
    out.append("    - {id: bias, pos: [-2, 3.5], role: input}")
    for o in range(10):
        out.append(f"    - {{id: out{o}, pos: [{out_x:g}, {o - 1}], role: output, slide: x}}")
        out.append(f"    - {{id: anchor{o}, pos: [{out_x + anchor_dx:g}, {o - 1}], role: fixed}}")
    out.append("  springs:")
    for o in range(10):
        out += [f"    - {{between: [{p}, out{o}], k: {k_in:g}}}" for p in pixels + ["bias"]]
        out.append(f"    - {{between: [out{o}, anchor{o}], k: {k_anchor:g}}}")
    out += task_and_learning(pixels + ["bias"], [f"out{o}" for o in range(10)], "x", "0.3", pixels, epochs=4)
    return "\n".join(out)


def task_and_learning(inputs: list[str], outputs: list[str], axis: str, scale: str, columns: list[str],
                      epochs: int, lr_decay: str = "") -> list[str]:
    """The task, learning and expect lines of a digits scene (the CSV's pixel columns moving the
    input nodes along `axis`, ten beads read along x, squared hinge, centered EP), a line each."""
    return ["task:",
            "  inputs: [" + ", ".join(inputs) + "]",
            "  outputs: [" + ", ".join(outputs) + "]",
            f"  input: {axis}",
            "  output: x",
            "  csv: {file: digits.csv, label: digit, classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],",
            f"        scale: {scale}, bias: {scale},",
            "        inputs: [" + ", ".join(columns) + "]}",
            "  classify: true",
            "  classify_cost: margin   # squared hinge: the right bead ahead of the others by the margin",
            "  margin: 0.02",
            "  test_fraction: 0.3",
            "learning:",
            "  rule: centered",
            "  beta: 0.001",
            "  lr: 1000.0",
            *([f"  lr_decay: {lr_decay}"] if lr_decay else []),
            "  learn: stiffness",
            f"  epochs: {epochs}",
            "  batch: 10",
            "expect:",
            "  test_accuracy_at_least: 0.9",
            ""]


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "scenes" / "digits.yaml"
    from sandbox.files import write_atomic

    write_atomic(path, scene_text())
    print(f"wrote {path}")
