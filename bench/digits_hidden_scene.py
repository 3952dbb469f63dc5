"""Writes experiments/digits_hidden.yaml: digits with a hidden layer of strings between neighbouring pixels.

    python -m bench.digits_hidden_scene [PATH]

Every pixel moves its input nodes up (along y) by its scaled value. Four copies of the 8x8 image
lie far to the left, each turned so that one kind of neighbour (right, down and the two
diagonals) sits side by side horizontally. Between every such pair of neighbours runs a string:
two springs, a little shorter than the gap (pre-tension), with a hidden bead a quarter of the way
along. When the two pixels move by the same amount the string just rises with them; when they
differ the string tilts and lengthens, and since its short end stretches less than its long end
the bead slides along x, towards the long end, by about (difference)^2 / 13. That slide is the
hidden feature: even in the difference (no term linear in the pixels, by the string's mirror
symmetry), unmoved by the pair's common motion, and unique (a string under tension has one
equilibrium). 210 strings in all.

Ten output beads sit on horizontal rails far to the right, each joined to every string's bead by
a long, nearly horizontal spring (it reads the bead's slide along x, and its rise only through
the small angle), to every pixel of a fifth copy of the image set below and to the left (at
40 to 60 degrees, so a pixel's rise pulls the bead along its rail: the linear part, as in
scenes/digits.yaml), to a bias input and to its own anchor. The bead of the right digit should
move furthest right, by a margin.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.digits_scene import task_and_learning

ROOT = Path(__file__).resolve().parent.parent
NEIGHBOURS = ((0, 1), (1, 0), (1, 1), (1, -1))  # (row step, column step): right, down, two diagonals
STRIP_X = (-190.0, -160.0, -130.0, -100.0)  # where each copy's pairs lie, one copy per kind
BEAD_Y = 4.5  # the beads' middle height, and the strips'
SKIP_X, SKIP_Y = -30.0, -30.0  # the linear copy's top left pixel: its springs to the beads rise at 40 to 60 degrees

HEADER = """\
# Handwritten digits with a hidden layer: a string between every pair of neighbouring pixels
# (210 strings, each with a hidden bead a quarter of the way along). A pixel moves its input
# nodes up by its value scaled to [-0.5, 0.5]. When two neighbours differ, their string tilts
# and its bead slides along x by about (difference)^2 / 13, whatever the pair's common motion:
# a quadratic feature, the same mechanism as the XOR scene's rhombus. Ten output beads on rails
# far to the right read every string's bead and (the linear part) every pixel; the bead of the
# right digit should move furthest right, by a margin. 30% of the images are held out.
# Written by `python -m bench.digits_hidden_scene` (see its docstring).
"""


def _f(v: float) -> str:
    return f"{v:.6g}"


def _placed(kind: int, r: int, c: int) -> tuple[float, float]:
    """Position of image pixel (r, c) in the copy for neighbour kind `kind`: turned so that the
    kind's step is one unit to the right, the copy centred at height BEAD_Y."""
    dr, dc = NEIGHBOURS[kind]
    if (dr, dc) == (0, 1):
        x, y = c, -r
    elif (dr, dc) == (1, 0):
        x, y = r, c
    elif (dr, dc) == (1, 1):
        x, y = (r + c) / 2, (c - r) / 2
    else:
        x, y = (r - c) / 2, -(r + c) / 2
    centre_y = {0: -3.5, 1: 3.5, 2: 0.0, 3: -3.5}[kind]
    return STRIP_X[kind] + x, BEAD_Y + y - centre_y


def scene_text(scale: float = 0.5, quarter: float = 0.25, tension: float = 0.05, k_read: float = 0.1,
               k_skip: float = 1.0, k_anchor: float = 10.0) -> str:
    """The YAML text of the scene."""
    pixels = [(r, c) for r in range(8) for c in range(8)]
    nodes, springs, inputs, columns = [], [], [], []

    def node(nid, x, y, role, slide=None):
        nodes.append(f"    - {{id: {nid}, pos: [{_f(x)}, {_f(y)}], role: {role}"
                     + (f", slide: {slide}}}" if slide else "}"))

    strings = []
    for kind, (dr, dc) in enumerate(NEIGHBOURS):
        for r, c in pixels:
            nid = f"k{kind}r{r}c{c}"
            node(nid, *_placed(kind, r, c), "input")
            inputs.append(nid)
            columns.append(f"r{r}c{c}")
        for r, c in pixels:
            if not (0 <= r + dr < 8 and 0 <= c + dc < 8):
                continue
            (xa, ya), (xb, _) = _placed(kind, r, c), _placed(kind, r + dr, c + dc)
            gid = f"s{kind}r{r}c{c}"
            gap = xb - xa
            node(gid, xa + quarter * gap, ya, "hidden")
            springs.append(f"    - {{between: [k{kind}r{r}c{c}, {gid}], rest: {_f(quarter * gap - tension)}}}")
            springs.append(f"    - {{between: [{gid}, k{kind}r{r + dr}c{c + dc}], rest: {_f((1 - quarter) * gap - tension)}}}")
            strings.append(gid)
    for r, c in pixels:  # the linear part: a fifth copy to the left of the beads, a little below
        nid = f"r{r}c{c}"
        node(nid, SKIP_X + c, SKIP_Y - r, "input")
        inputs.append(nid)
        columns.append(nid)
    node("bias", SKIP_X - 2, SKIP_Y - 3.5, "input")
    inputs.append("bias")
    outs = []
    for o in range(10):
        out, y = f"out{o}", BEAD_Y - 4.5 + o
        node(out, 0.0, y, "output", slide="x")
        node(f"anchor{o}", 10.0, y, "fixed")
        outs.append(out)
        springs += [f"    - {{between: [{g}, {out}], k: {_f(k_read)}}}" for g in strings]
        springs += [f"    - {{between: [r{r}c{c}, {out}], k: {_f(k_skip)}}}" for r, c in pixels]
        springs.append(f"    - {{between: [bias, {out}], k: {_f(k_skip)}}}")
        springs.append(f"    - {{between: [{out}, anchor{o}], k: {_f(k_anchor)}}}")
    out = [HEADER, "name: Digits with hidden strings",
           "description: >-",
           "  Each pixel lifts its input nodes; a string between every pair of neighbouring pixels",
           "  slides its bead by the square of their difference. Ten beads on rails read the strings",
           "  and the pixels. Trained on 1,258 images, tested on 539.",
           "seed: 0", "network:", "  nodes:", *nodes, "  springs:", *springs,
           *task_and_learning(inputs, outs, "y", _f(scale), columns, epochs=20, lr_decay="0.1")]
    return "\n".join(out)


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "experiments" / "digits_hidden.yaml"
    sys.path.insert(0, str(ROOT))
    from sandbox.files import write_atomic

    write_atomic(path, scene_text())
    print(f"wrote {path}")
