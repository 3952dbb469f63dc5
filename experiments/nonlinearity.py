"""Where a spring network's nonlinearity comes from, measured on small cases (issue 28).

    python experiments/nonlinearity.py run [--seeds 0 1] [--parts string fraction training] [--json PATH]
    python experiments/nonlinearity.py figure [--json PATH] [--png PATH]

`run` trains small networks on TensorFlow Playground's data (the scenes of
bench/playground_scenes.py, varied one thing at a time) by centered EP, through the library's
Trainer as `python main.py train` does, and writes the test accuracies to a JSON file
(default experiments/nonlinearity.json); `figure` draws them (default assets/nonlinearity.png).

What is varied:

- reach: how far the input node P moves, as a fraction of the ring's radius (0.05 to 0.6), with
  the scene's margin and learning rate. At small reach every spring stays near its rest
  direction and the network answers nearly linearly (measured: the fraction of the untrained
  hidden nodes' motion that no linear function of the point explains): no better on the circle
  and on XOR than logistic regression on the raw point (about chance).
- hidden: P joined straight to the two beads, or through a ring of 4, 8 or 12 hidden nodes.
- encoding: the point as one node's displacement (x, y), or as two nodes each moved along x by
  one coordinate (the same ring around them).
- pre-stress: one node on a rail across the middle of a string between two anchors, pushed
  sideways: its response for rest lengths 0.9, 1.0 and 1.05 times the half-span (a string in
  tension, one at the edge of buckling, one buckled), and EP's gradient error at each.
- spiral: the ring, and a grid of pinned hidden nodes across P's range (the spiral scene's
  network), with logistic regression on the untrained network's hidden displacements (what its
  features allow a perfect read-out).
- digits: the same question for experiments/digits_hidden.yaml: logistic regression on the pixels,
  and on the pixels with the untrained strings' slides (every image relaxed once).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.playground_scenes import DESIGNS, scene_text  # noqa: E402
from sandbox.files import save_figure, write_atomic  # noqa: E402
from sandbox.learning.baseline import logistic_regression  # noqa: E402
from sandbox.learning.rules import gradient_check  # noqa: E402
from sandbox.learning.task import Task  # noqa: E402
from sandbox.learning.trainer import Trainer  # noqa: E402
from sandbox.physics.equilibrium import NewtonSolver  # noqa: E402
from sandbox.physics.network import FIXED, HIDDEN, INPUT, OUTPUT, Network  # noqa: E402
from sandbox.scenes.build import build_scene  # noqa: E402

JSON = HERE / "nonlinearity.json"
PNG = ROOT / "assets" / "nonlinearity.png"
REACHES = (0.05, 0.1, 0.2, 0.35, 0.5, 0.6)
RINGS = (0, 4, 8, 12)  # 0: P joined straight to the beads
STRING_RATIOS = (0.9, 1.0, 1.05)


def design(name: str, **changes):
    """The library's design of a Playground scene, with some fields changed."""
    base = next(d for d in DESIGNS if d.name == name)
    return dataclasses.replace(base, **changes)


def scene_of(d):
    """A loaded scene from a design (its CSV found in assets/, as the library's scenes do)."""
    return build_scene(yaml.safe_load(scene_text(d)), ROOT / "scenes" / f"playground_{d.name}.yaml")


def train(d, seed: int) -> dict:
    """Train a design's scene by its own rule for its epochs; the last history row, with the time."""
    scene = scene_of(d)
    trainer = Trainer.from_scene(scene, seed=seed)
    start = time.process_time()
    trainer.fit(d.epochs)
    row = dict(trainer.history[-1], cpu_seconds=time.process_time() - start, stopped=trainer.stopped,
               warnings=list(trainer.warnings))
    row["logistic_regression"] = logistic_regression(scene.task)["test_accuracy"]
    return row


def hidden_motion(scene) -> np.ndarray:
    """(S, 2H) the untrained network's hidden-node displacements at each of the S examples."""
    net, task = scene.net, scene.task
    hidden = np.flatnonzero(net.roles == HIDDEN)
    solver = NewtonSolver()
    return np.array([(solver.relax(net, task.start(net, s)).x[hidden] - net.pos[hidden]).ravel()
                     for s in range(task.n_examples)])


def hidden_features(d) -> dict:
    """Logistic regression (cross-validated penalty) on the untrained network's hidden-node
    displacements at every example: what a perfect linear read-out of its features reaches."""
    scene = scene_of(d)
    task, feats = scene.task, hidden_motion(scene)
    as_inputs = dataclasses.replace(task, inputs=np.zeros(feats.shape[1] // 2, int),
                                    clamps=feats.reshape(task.n_examples, -1, 2))
    return logistic_regression(as_inputs)


def nonlinear_fraction(d) -> float:
    """How far the untrained network is from linear response over a scene's data: the fraction of
    the variance of its hidden nodes' displacements (S, 2H) that no linear function of the input
    numbers explains (least squares with a constant)."""
    scene = scene_of(d)
    task, h = scene.task, hidden_motion(scene)
    a = np.column_stack([task.clamps.reshape(task.n_examples, -1), np.ones(task.n_examples)])
    residual = h - a @ np.linalg.lstsq(a, h, rcond=None)[0]
    return float(np.sum(residual ** 2) / np.sum((h - h.mean(axis=0)) ** 2))


def measure_digits() -> dict:
    """Logistic regression (cross-validated penalty) on digits' pixels, and on the pixels with
    the slides along x of digits_hidden's 210 string beads in the untrained network."""
    from sandbox.scenes.build import load_scene

    scene = load_scene(ROOT / "experiments" / "digits_hidden.yaml")
    net, task = scene.net, scene.task
    strings = np.flatnonzero(net.roles == HIDDEN)
    solver = NewtonSolver()
    slides = np.array([solver.relax(net, task.start(net, s)).x[strings, 0] - net.pos[strings, 0]
                       for s in range(task.n_examples)])
    pixels = task.clamps[:, -65:-1, 1]  # the linear copy's 64 pixel nodes (the bias is last)
    out = {}
    for key, feats in (("pixels", pixels), ("pixels_and_slides", np.hstack([pixels, slides]))):
        as_inputs = dataclasses.replace(task, inputs=np.zeros(feats.shape[1], int),
                                        clamps=np.stack([feats, np.zeros_like(feats)], axis=2))
        out[key] = logistic_regression(as_inputs)
    out["largest_slide"] = float(slides.max())
    return out


def measure_fraction() -> dict:
    return {name: {str(r): nonlinear_fraction(design(name, scale=r)) for r in REACHES} for name in ("circle", "xor")}


def measure_training(seeds) -> dict:
    out = {"reach": {}, "hidden": {}, "encoding": {}, "spiral": {}}
    for name in ("circle", "xor"):
        out["reach"][name] = {str(r): [train(design(name, scale=r), s) for s in seeds] for r in REACHES}
        out["hidden"][name] = {str(n): [train(design(name, hidden=n, kind="ring" if n else "direct"), s) for s in seeds]
                               for n in RINGS}
        out["encoding"][name] = {e: [train(design(name, encoding=e), s) for s in seeds] for e in ("point", "axes")}
        print(f"{name}: done", flush=True)
    for kind, d in (("ring", design("spiral", kind="ring", scale=0.6, out_x=3.0, lr=1000.0, lr_decay=0.1)),
                    ("pins", design("spiral"))):
        out["spiral"][kind] = {"trained": [train(d, s) for s in seeds], "features": hidden_features(d)}
    return out


# ---------------------------------------------------------------- one pre-stressed unit


def string_unit(ratio: float, k_push: float = 0.05):
    """A node S on a vertical rail halfway between anchors at (-1, 0) and (1, 0), joined to both
    by springs of rest length `ratio` (below 1: in tension; 1: slack at rest; above 1: buckled),
    and pushed by an input node I above it (at height 3) through a soft spring. Returns (network, task) with
    one example per push (I moved along y by u); S's height is the output."""
    pos = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 3.0]])
    roles = np.array([FIXED, FIXED, OUTPUT, INPUT])
    axes = np.array([[True, True], [True, True], [False, True], [True, True]])
    net = Network(pos, [(0, 2), (1, 2), (3, 2)], [1.0, 1.0, k_push], [ratio, ratio, 3.0], roles, axes,
                  ["A", "B", "S", "I"])
    pushes = np.linspace(-1.0, 1.0, 80)  # not 0: a buckled unit pushed by nothing sits on its saddle
    clamps = np.zeros((len(pushes), 1, 2))
    clamps[:, 0, 1] = pushes
    targets = np.zeros((len(pushes), 1, 2))
    mask = np.array([[False, True]])
    return net, Task([3], clamps, "position", [2], targets, mask), pushes


def measure_string() -> dict:
    """Response S_y(u) from a cold start at the reference (as training relaxes), and EP's
    relative gradient error (centered, beta 1e-3) at a push of 0.1 and at 0.5."""
    out = {}
    for ratio in STRING_RATIOS:
        net, task, pushes = string_unit(ratio)
        solver = NewtonSolver()
        ys = [float(solver.relax(net, task.start(net, s)).x[2, 1]) for s in range(len(pushes))]
        errors = {}
        for u in (0.1, 0.5):
            s = int(np.argmin(np.abs(pushes - u)))
            task.targets[s, 0, 1] = ys[s] + 0.01  # asked to sit a little higher
            row = next(r for r in gradient_check(net, task, s, betas=(1e-3,)))
            errors[str(u)] = row["rel_err_centered"]
        out[str(ratio)] = {"push": pushes.tolist(), "height": ys, "ep_error": errors}
    return out


# ---------------------------------------------------------------- the figure


def _mean(rows, key="test_accuracy"):
    return float(np.mean([r[key] for r in rows]))


def figure(results: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 2, figsize=(11, 8.5), dpi=100)
    a = ax[0, 0]
    twin = a.twinx() if "fraction" in results else None
    for name, color in (("circle", "C0"), ("xor", "C1")):
        reach = results["reach"][name]
        xs = [float(r) for r in reach]
        a.plot(xs, [_mean(v) for v in reach.values()], "o-", color=color, label=f"{name}: centered EP")
        a.plot(xs, [_mean(v, "logistic_regression") for v in reach.values()], ":", color=color,
               label=f"{name}: logistic regression on (x, y)")
        if twin is not None:
            frac = results["fraction"][name]
            twin.semilogy([float(r) for r in frac], list(frac.values()), "s--", color=color, ms=4, alpha=0.5)
            twin.set_ylabel("dashed: share of the untrained hidden motion\nnot linear in the point", fontsize=8)
    a.set_xlabel("reach: P's largest move along an axis / ring radius")
    a.set_ylabel("test accuracy")
    a.set_ylim(0.3, 1.03)
    a.set_title("Linear response is linear: the ring learns once P reaches far", fontsize=10)
    a.legend(fontsize=8, loc="lower right")

    a = ax[0, 1]
    labels, width = [], 0.38
    for i, name in enumerate(("circle", "xor")):
        hid = results["hidden"][name]
        enc = results["encoding"][name]
        vals = [_mean(hid[str(n)]) for n in RINGS] + [_mean(enc["axes"])]
        a.bar(np.arange(len(vals)) + (i - 0.5) * width, vals, width, label=name, color=f"C{i}")
    labels = ["no hidden\n(P to beads)"] + [f"ring of {n}" for n in RINGS[1:]] + ["ring of 12,\n(x, y) as two\nnodes along x"]
    a.set_xticks(np.arange(len(labels)), labels, fontsize=8)
    a.set_ylim(0.3, 1.03)
    a.set_ylabel("test accuracy (centered EP)")
    a.set_title("Hidden nodes and the input's encoding", fontsize=10)
    a.legend(fontsize=8)

    a = ax[1, 0]
    for i, (ratio, r) in enumerate(results["string"].items()):
        what = {"0.9": "in tension", "1.0": "slack at rest", "1.05": "buckled"}.get(ratio, "")
        err = ", ".join(f"{float(e):.0e}" for e in r["ep_error"].values())
        a.plot(r["push"], r["height"], color=f"C{i}", label=f"rest {ratio} x half-span ({what}); EP error {err}")
    a.set_xlabel("push u (input node moved along y)")
    a.set_ylabel("height of the node on the rail")
    a.set_title("Pre-stress sets the activation: linear, cube root, a jump", fontsize=10)
    a.legend(fontsize=7, loc="upper left")

    a = ax[1, 1]
    sp = results["spiral"]
    names = ["ring of 12", "grid of 24 pins"]
    trained = [_mean(sp["ring"]["trained"]), _mean(sp["pins"]["trained"])]
    feats = [sp["ring"]["features"]["test_accuracy"], sp["pins"]["features"]["test_accuracy"]]
    xs = np.arange(2)
    a.bar(xs - 0.2, trained, 0.4, label="centered EP (the whole network)")
    a.bar(xs + 0.2, feats, 0.4, label="logistic regression on the untrained\nnetwork's hidden displacements")
    a.axhline(sp["ring"]["trained"][0]["logistic_regression"], color="k", ls=":", label="logistic regression on (x, y)")
    a.set_xticks(xs, names)
    a.set_ylim(0.3, 1.03)
    a.set_ylabel("spiral: test accuracy")
    a.set_title("Spiral: the features are there, the read-out lags", fontsize=10)
    a.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    save_figure(fig, png)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--json", type=Path, default=JSON)
    r.add_argument("--parts", nargs="+", default=["string", "fraction", "training", "digits"],
                   help="what to measure (the others are kept from the JSON file if it exists)")
    f = sub.add_parser("figure")
    f.add_argument("--json", type=Path, default=JSON)
    f.add_argument("--png", type=Path, default=PNG)
    a = p.parse_args(argv)
    if a.cmd == "run":
        start = time.perf_counter()
        results = json.loads(a.json.read_text()) if a.json.exists() else {}
        if "string" in a.parts:
            results["string"] = measure_string()
        if "fraction" in a.parts:
            results["fraction"] = measure_fraction()
        if "digits" in a.parts:
            results["digits"] = measure_digits()
        if "training" in a.parts:
            results.update(measure_training(a.seeds), seeds=a.seeds)
        write_atomic(a.json, json.dumps(results, indent=1))
        print(f"wrote {a.json} in {time.perf_counter() - start:.0f} s")
    else:
        figure(json.loads(a.json.read_text()), a.png)
        print(f"wrote {a.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
