"""Writes the four TensorFlow Playground data sets into assets/ and their scenes into scenes/.

    python -m bench.playground_scenes

The data sets are those of the Playground's `src/dataset.ts` (github.com/tensorflow/playground,
Apache-2.0): circle, XOR, two Gaussians and the spiral, two classes each, the points drawn the
same way (radii, angles, padding, spreads and noise as there) with numpy's generator and a fixed
seed, so every run writes the same files. Class 'blue' is the Playground's +1, 'orange' its -1.

Each scene moves one input node, P, to the data point: the point's two coordinates, scaled, are
P's displacement (x, y) (`input: displacement`, two CSV columns for one node). P sits inside a
ring of hidden nodes, each joined to P by a spring and held by two anchors. When P moves by a
good part of the ring's radius its springs stretch, shorten and turn: each hidden node is pulled
by an amount that depends on P's distance to it, a nonlinear function of the point. Two output
beads on horizontal rails to the right, 'blue' and 'orange', are joined to every hidden node
and to a bias input; the bead of the point's class should move further right, by a margin.
The spiral's network puts its hidden nodes on a grid across the square P moves in instead
('pins'): features that change within the data, which a ring around it cannot give.
`Design` holds every choice; experiments/nonlinearity.py varies them one at a time.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent
CLASSES = ("blue", "orange")  # the Playground's +1 and -1


# ---------------------------------------------------------------- the data (as the Playground draws it)


def circle(n: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Half the points inside radius 2.5, half in the ring 3.5 to 5; a point's class is whether
    it lies inside 2.5 after a noise shift (uniform, up to 5 * noise on each axis).
    Returns points (n, 2) and labels (n,), 0 blue (inside) or 1 orange."""
    radius = 5.0
    pts, labels = [], []
    for lo, hi in ((0.0, 0.5 * radius), (0.7 * radius, radius)):
        for _ in range(n // 2):
            r, angle = rng.uniform(lo, hi), rng.uniform(0, 2 * math.pi)
            p = np.array([r * math.sin(angle), r * math.cos(angle)])
            shift = rng.uniform(-radius, radius, 2) * noise
            pts.append(p)
            labels.append(0 if np.linalg.norm(p + shift) < 0.5 * radius else 1)
    return np.array(pts), np.array(labels)


def xor(n: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-5, 5]^2, pushed 0.3 away from both axes; blue where x y >= 0 (after a
    noise shift, uniform up to 5 * noise on each axis), orange elsewhere."""
    pts, labels = [], []
    for _ in range(n):
        p = rng.uniform(-5, 5, 2)
        p += np.where(p > 0, 0.3, -0.3)
        shift = rng.uniform(-5, 5, 2) * noise
        pts.append(p)
        labels.append(0 if (p[0] + shift[0]) * (p[1] + shift[1]) >= 0 else 1)
    return np.array(pts), np.array(labels)


def gauss(n: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds, blue around (2, 2) and orange around (-2, -2), variance 0.5 to 4 as
    noise goes from 0 to 0.5."""
    variance = 0.5 + 7.0 * noise
    pts, labels = [], []
    for centre, label in ((2.0, 0), (-2.0, 1)):
        for _ in range(n // 2):
            pts.append(centre + math.sqrt(variance) * rng.standard_normal(2))
            labels.append(label)
    return np.array(pts), np.array(labels)


def spiral(n: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals of 1.75 turns out to radius 5, blue and orange (half a turn
    apart), each point shifted by uniform noise up to `noise` on each axis."""
    pts, labels = [], []
    m = n // 2
    for delta, label in ((0.0, 0), (math.pi, 1)):
        for i in range(m):
            r, t = i / m * 5, 1.75 * i / m * 2 * math.pi + delta
            pts.append([r * math.sin(t) + rng.uniform(-1, 1) * noise, r * math.cos(t) + rng.uniform(-1, 1) * noise])
            labels.append(label)
    return np.array(pts), np.array(labels)


DATASETS = {"circle": circle, "xor": xor, "gauss": gauss, "spiral": spiral}


def csv_text(points: np.ndarray, labels: np.ndarray) -> str:
    rows = ["x,y,label"] + [f"{x:.4f},{y:.4f},{CLASSES[c]}" for (x, y), c in zip(points, labels)]
    return "\n".join(rows) + "\n"


# ---------------------------------------------------------------- the scenes


@dataclass
class Design:
    """One scene: its data and the shape of its network (lengths in units of the ring radius)."""

    name: str
    title: str
    blurb: str
    kind: str = "ring"  # hidden nodes on a circle around P ('ring'), on a grid across P's range
    # ('pins'), or none: P joined straight to the beads ('direct')
    encoding: str = "point"  # 'point': P moves to (x, y); 'axes': node X moves x along x, node Y y along x
    points: int = 300
    noise: float = 0.0
    seed: int = 0
    hidden: int = 12
    phase: float = 0.5  # hidden node j at angle 2 pi (j + phase) / hidden
    scale: float = 0.5  # P moves up to this far along each axis
    anchor_r: float = 1.8
    spread: float = 1.0  # half the angle between a hidden node's two anchors, radians
    out_x: float = 3.0
    pins: int = 7  # 'pins': a pins x pins grid (without its centre) spanning [-pin_span, pin_span]^2
    pin_span: float = 0.5
    pin_anchor: float = 0.3  # length of each pin's two anchor springs
    k_pin_anchor: float = 3.0
    k_anchor_out: float = 3.0
    margin: float = 0.02
    lr: float = 1000.0
    lr_decay: float = 0.1
    epochs: int = 15
    batch: int = 10
    promise: float = 0.95
    note: str = ""


WHERE = {"ring": "inside a ring of springs", "pins": "among a grid of pinned nodes",
         "direct": "joined straight to the beads"}


def _f(v: float) -> str:
    return f"{v:.4g}"


def scene_text(d: Design) -> str:
    """The YAML text of a Playground scene."""
    sources = ["P"] if d.encoding == "point" else ["X", "Y"]
    nodes = (["    - {id: P, pos: [0, 0], role: input}"] if d.encoding == "point" else
             ["    - {id: X, pos: [0, 0.15], role: input}", "    - {id: Y, pos: [0, -0.15], role: input}"])
    springs = []
    hidden = {"pins": _pins, "ring": _ring, "direct": lambda *_: sources}[d.kind](d, sources, nodes, springs)
    nodes.append(f"    - {{id: bias, pos: [{_f(d.out_x)}, 0], role: input}}")
    for name, y in (("blue", -0.6), ("orange", 0.6)):
        nodes.append(f"    - {{id: {name}, pos: [{_f(d.out_x)}, {y}], role: output, slide: x}}")
        nodes.append(f"    - {{id: {name}_anchor, pos: [{_f(d.out_x + 1.5)}, {y}], role: fixed}}")
        springs.append(f"    - {{between: [{name}, {name}_anchor], k: {_f(d.k_anchor_out)}}}")
        springs += [f"    - {{between: [{h}, {name}]}}" for h in hidden]
        springs.append(f"    - {{between: [bias, {name}]}}")
    return _document(d, sources, nodes, springs)


def _ring(d: Design, sources: list, nodes: list, springs: list) -> list[str]:
    """Hidden nodes h0, h1, ... on the unit circle around P, each joined to P (to the sources)
    and to two anchors further out; returns their ids."""
    ids = []
    for j in range(d.hidden):
        t = 2 * math.pi * (j + d.phase) / d.hidden
        nodes.append(f"    - {{id: h{j}, pos: [{_f(math.cos(t))}, {_f(math.sin(t))}], role: hidden}}")
        springs += [f"    - {{between: [{src}, h{j}]}}" for src in sources]
        for side, dt in (("a", -d.spread), ("b", d.spread)):
            a = t + dt
            nodes.append(f"    - {{id: h{j}{side}, pos: [{_f(d.anchor_r * math.cos(a))}, {_f(d.anchor_r * math.sin(a))}], "
                         f"role: fixed}}")
            springs.append(f"    - {{between: [h{j}, h{j}{side}]}}")
        ids.append(f"h{j}")
    return ids


def _pins(d: Design, sources: list, nodes: list, springs: list) -> list[str]:
    """Hidden nodes ('pins') on a grid across the square P moves in, each joined to P (to the
    sources) and held by two anchors above it; returns their ids."""
    ids = []
    grid = np.linspace(-d.pin_span, d.pin_span, d.pins)
    for i, x in enumerate(grid):
        for j, y in enumerate(grid):
            if abs(x) < 1e-9 and abs(y) < 1e-9:
                continue  # P's own place
            pin = f"p{i}_{j}"
            nodes.append(f"    - {{id: {pin}, pos: [{_f(x)}, {_f(y)}], role: hidden}}")
            springs += [f"    - {{between: [{src}, {pin}]}}" for src in sources]
            for side, a in (("a", math.radians(30)), ("b", math.radians(150))):
                nodes.append(f"    - {{id: {pin}{side}, pos: [{_f(x + d.pin_anchor * math.cos(a))}, "
                             f"{_f(y + d.pin_anchor * math.sin(a))}], role: fixed}}")
                springs.append(f"    - {{between: [{pin}, {pin}{side}], k: {_f(d.k_pin_anchor)}}}")
            ids.append(pin)
    return ids


def _document(d: Design, sources: list, nodes: list, springs: list) -> str:
    n_test = int(round(0.3 * d.points))
    head = [f"# {line}".rstrip() for line in d.blurb.strip().splitlines()]
    head += ["#", f"# {d.points} points (assets/playground_{d.name}.csv, noise {d.noise:g}, seed {d.seed}), 30% held out.",
             "# Written by `python -m bench.playground_scenes` (see its docstring for the network)."]
    if d.note:
        head += ["#"] + [f"# {line}".rstrip() for line in d.note.strip().splitlines()]
    return "\n".join(head + [
        f"name: {d.title}",
        "description: >-",
        f"  Each data point moves the input node P to its place, {WHERE[d.kind]}; the bead of",
        "  its colour should move further right. TensorFlow Playground's data,",
        f"  {d.points - n_test} points to learn from and {n_test} held out.",
        "seed: 0",
        "network:",
        "  nodes:", *nodes,
        "  springs:", *springs,
        "task:",
        f"  inputs: [{', '.join(sources)}, bias]",
        "  outputs: [blue, orange]",
        ("  input: displacement   # P moves to the data point (x, y), scaled; the bias along x" if d.encoding == "point"
         else "  input: x   # X moves along x by the point's x, Y by its y, the bias by 0.3"),
        "  output: x",
        f"  csv: {{file: playground_{d.name}.csv, inputs: [x, y], label: label, classes: [blue, orange], "
        f"scale: {_f(d.scale)}, bias: 0.3}}",
        "  classify: true",
        "  classify_cost: margin   # squared hinge: the right bead ahead of the other by the margin",
        f"  margin: {_f(d.margin)}",
        "  test_fraction: 0.3",
        "learning:",
        "  rule: centered",
        "  beta: 0.001",
        f"  lr: {_f(d.lr)}",
        *([f"  lr_decay: {_f(d.lr_decay)}"] if d.lr_decay else []),
        "  learn: stiffness",
        f"  epochs: {d.epochs}",
        f"  batch: {d.batch}",
        "expect:",
        f"  test_accuracy_at_least: {_f(d.promise)}",
        ""])


DESIGNS = [
    Design("circle", "Playground circle", """
TensorFlow Playground's circle: blue points inside radius 2.5, orange ones in a ring around
them. No straight line parts them; a ring of springs around the input node does."""),
    Design("xor", "Playground XOR", """
TensorFlow Playground's XOR: blue where x and y have the same sign, orange where they differ."""),
    Design("gauss", "Playground two Gaussians", """
TensorFlow Playground's two Gaussian clouds: the one data set of the four that a straight line
parts. The untrained network calls every point the wrong colour; one epoch mends it.""", epochs=4),
    Design("spiral", "Playground spiral", """
TensorFlow Playground's two interleaved spirals.""", kind="pins", pins=5, scale=0.6, out_x=1.5, lr=10000.0, epochs=20,
           promise=0.6),
]


def write_all(root: Path = HERE) -> list[Path]:
    """Write every data set and scene under root (assets/, scenes/); returns the paths."""
    from sandbox.files import write_atomic

    out = []
    for d in DESIGNS:
        points, labels = DATASETS[d.name](d.points, d.noise, np.random.default_rng(d.seed))
        for path, text in ((root / "assets" / f"playground_{d.name}.csv", csv_text(points, labels)),
                           (root / "scenes" / f"playground_{d.name}.yaml", scene_text(d))):
            write_atomic(path, text)
            out.append(path)
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    for p in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(f"wrote {p}")
