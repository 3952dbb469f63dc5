"""A notebook-sized tour of the API: load a scene, train it, check EP against the exact gradient,
plot the learning curve.

    python examples/train_and_check.py [SCENE] [--epochs N] [--out PNG]

Runs from anywhere once the package is installed (`pip install .`), or from a checkout.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import sandbox  # noqa: E402
from sandbox.paths import SCENES  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scene", nargs="?", default=str(SCENES / "allostery.yaml"))
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--out", default="learning_curve.png")
    args = p.parse_args(argv)

    scene = sandbox.load_scene(args.scene)
    print(f"{scene.name}: {scene.net.n_nodes} nodes, {scene.net.n_springs} springs, "
          f"{scene.task.n_examples} examples, rule {scene.rule().kind}")

    # 1. EP's gradient against the exact one (implicit differentiation), as beta shrinks
    for row in sandbox.gradient_check(scene.net, scene.task, int(scene.task.train[0]), betas=(1e-2, 1e-3, 1e-4)):
        print(f"  beta {row['beta']:.0e}: centered EP relative error {row['rel_err_centered']:.1e}")

    # 2. train: the same loop as `python main.py train` and the window
    trainer = sandbox.Trainer.from_scene(scene)
    history = trainer.fit(args.epochs)
    first, last = history[0]["loss"], history[-1]["loss"]
    print(f"  loss {first:.3g} -> {last:.3g} in {history[-1]['epoch']} epochs"
          + (f" (stopped: {trainer.stopped})" if trainer.stopped else ""))

    # 3. plot the learning curve
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogy([r["epoch"] for r in history], [r["loss"] for r in history])
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_title(scene.name)
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"  wrote {Path(args.out).resolve().name}")
    return 0 if last < first else 1


if __name__ == "__main__":
    raise SystemExit(main())
