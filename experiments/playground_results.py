"""The Playground scenes and digits against the linear baselines: the README's figure.

    python experiments/playground_results.py run [--seeds 0 1 2 3 4] [--json PATH] [--trained DIR]
    python experiments/playground_results.py digits [--scenes digits digits_hidden] [--seeds 0 1 2] [--exact-seeds 0]
    python experiments/playground_results.py figure [--json PATH] [--trained DIR] [--png PATH]

`run` trains each scene of the library's Playground set (scenes/playground_*.yaml) with its own
rule (centered EP) and, from the same starting network, with the exact gradient, for every
seed, as `python main.py train SCENE --seed S --compare` does; it fits the two linear baselines
(least squares and logistic regression on the raw inputs) and keeps the EP-trained network of
the first seed (DIR, default experiments/playground_trained/). Results go to a JSON file
(default experiments/playground_results.json), with the training CPU time of each run.
`digits` does the same for the digits scenes (minutes to tens of minutes a run: see the README),
printing each epoch, into experiments/digits_results.json (a scene's entry replaced, the others
kept); `figure` adds them when that file exists.

`figure` draws test accuracy by data set and method, and the response maps of the four trained
Playground networks (default assets/playground.png).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from sandbox.files import save_figure, write_atomic  # noqa: E402
from sandbox.learning.baseline import linear_classifier, logistic_regression  # noqa: E402
from sandbox.learning.trainer import Trainer  # noqa: E402
from sandbox.scenes.build import load_scene  # noqa: E402
from sandbox.scenes.save import save_scene  # noqa: E402

NAMES = ("circle", "xor", "gauss", "spiral")
JSON = HERE / "playground_results.json"
DIGITS_JSON = HERE / "digits_results.json"
TRAINED = HERE / "playground_trained"
PNG = ROOT / "assets" / "playground.png"
METHODS = (("ep", "centered EP"), ("exact", "exact gradient"), ("least_squares", "least squares"),
           ("logistic", "logistic regression"))


def train_once(path: Path, seed: int, exact: bool, verbose: bool = False):
    """(last history row with cpu_seconds, the trained scene) for one run."""
    scene = load_scene(path)
    rule = scene.rule()
    trainer = Trainer.from_scene(scene, replace(rule, kind="exact") if exact else rule, seed=seed)
    start = time.process_time()

    def show(tr, stage):
        if stage.name == "epoch":
            r = stage.row
            print(f"  {path.stem} seed {seed}{' exact' if exact else ''} epoch {r['epoch']}: train {r['accuracy']:.4f} "
                  f"test {r['test_accuracy']:.4f} ({time.process_time() - start:.0f} s of CPU)", flush=True)

    trainer.fit(scene.spec.learning.epochs, [show] if verbose else [])
    row = dict(trainer.history[-1], cpu_seconds=time.process_time() - start, stopped=trainer.stopped,
               warnings=list(trainer.warnings))
    return row, scene


def run(seeds, trained: Path) -> dict:
    out = {}
    for name in NAMES:
        path = ROOT / "scenes" / f"playground_{name}.yaml"
        task = load_scene(path).task
        rows = {"ep": [], "exact": []}
        for seed in seeds:
            for key in rows:
                row, scene = train_once(path, seed, key == "exact")
                rows[key].append(row)
                if key == "ep" and seed == seeds[0]:
                    save_scene(scene, trained / f"playground_{name}.yaml",
                               origin={"scene": path.name, "seed": seed, "epochs": row["epoch"]})
            print(f"{name} seed {seed}: EP {rows['ep'][-1]['test_accuracy']:.3f} "
                  f"exact {rows['exact'][-1]['test_accuracy']:.3f}", flush=True)
        out[name] = {**rows, "least_squares": linear_classifier(task)["test_accuracy"],
                     "logistic": logistic_regression(task)["test_accuracy"]}
    return out


def run_digits(names, seeds, exact_seeds) -> dict:
    for name in names:
        path = ROOT / "scenes" / f"{name}.yaml"
        path = path if path.exists() else ROOT / "experiments" / f"{name}.yaml"  # (digits_hidden)
        task = load_scene(path).task
        entry = {"ep": [train_once(path, s, False, verbose=True)[0] for s in seeds],
                 "exact": [train_once(path, s, True, verbose=True)[0] for s in exact_seeds],
                 "least_squares": linear_classifier(task)["test_accuracy"]}
        entry["logistic"] = logistic_regression(task)["test_accuracy"]
        out = json.loads(DIGITS_JSON.read_text()) if DIGITS_JSON.exists() else {}  # as it is now
        out[name] = entry
        write_atomic(DIGITS_JSON, json.dumps(out, indent=1))
    return out


def _accuracies(entry, key) -> list:
    v = entry.get(key)
    if v is None:
        return []
    return [r["test_accuracy"] for r in v] if isinstance(v, list) else [v]


def figure(results: dict, trained: Path, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sandbox.response_plot import draw_response

    sets = dict(results)
    if DIGITS_JSON.exists():
        sets.update(json.loads(DIGITS_JSON.read_text()))
    fig = plt.figure(figsize=(13, 8.5), dpi=100)
    bars = fig.add_axes([0.06, 0.56, 0.9, 0.34])
    width = 0.2
    for j, (key, label) in enumerate(METHODS):
        means, lo, hi = [], [], []
        for name in sets:
            acc = _accuracies(sets[name], key)
            m = float(np.mean(acc)) if acc else np.nan
            means.append(m)
            lo.append(m - min(acc) if acc else 0)
            hi.append(max(acc) - m if acc else 0)
        xs = np.arange(len(sets)) + (j - 1.5) * width
        bars.bar(xs, means, width, yerr=[lo, hi], capsize=2, label=label, color=f"C{j}")
    bars.set_xticks(np.arange(len(sets)), [n.replace("_", " ") for n in sets])
    bars.set_ylim(0.4, 1.02)
    bars.set_ylabel("test accuracy (bars: mean over seeds, min to max)")
    bars.axhline(0.5, color="0.8", lw=0.8, zorder=0)
    bars.legend(fontsize=9, ncol=4, loc="lower left", bbox_to_anchor=(0, 1.06))
    bars.set_title("Spring networks trained by EP against linear classifiers on the same inputs and split", pad=44)
    for i, name in enumerate(NAMES):
        ax = fig.add_axes([0.06 + i * 0.235, 0.06, 0.2, 0.4])
        scene = load_scene(trained / f"playground_{name}.yaml")
        draw_response(ax, scene, f"{name}: trained (seed 0)")
        ax.legend().remove()
        ax.set_aspect("equal")
    save_figure(fig, png)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    r.add_argument("--json", type=Path, default=JSON)
    r.add_argument("--trained", type=Path, default=TRAINED)
    d = sub.add_parser("digits")
    d.add_argument("--scenes", nargs="+", default=["digits", "digits_hidden"])
    d.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    d.add_argument("--exact-seeds", type=int, nargs="*", default=[0])
    f = sub.add_parser("figure")
    f.add_argument("--json", type=Path, default=JSON)
    f.add_argument("--trained", type=Path, default=TRAINED)
    f.add_argument("--png", type=Path, default=PNG)
    a = p.parse_args(argv)
    if a.cmd == "run":
        start = time.perf_counter()
        write_atomic(a.json, json.dumps(run(a.seeds, a.trained), indent=1))
        print(f"wrote {a.json} in {time.perf_counter() - start:.0f} s")
    elif a.cmd == "digits":
        run_digits(a.scenes, a.seeds, a.exact_seeds)
        print(f"wrote {DIGITS_JSON}")
    else:
        figure(json.loads(a.json.read_text()), a.trained, a.png)
        print(f"wrote {a.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
