"""One run of a sweep, as a Dask worker executes it: the scene with its overrides, trained by
`sandbox.runner.train_scene`, summed up in one row plus its history."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import replace

from ..runner import train_scene
from ..scenes.build import Scene, build_scene


def apply_overrides(scene: Scene, overrides: dict) -> tuple:
    """(scene, rule, epochs, seed) for train_scene. A new seed rebuilds the scene from its document
    (a generated network changes with it); batch goes into the scene's learning section."""
    scene = copy.deepcopy(scene)  # training changes the network in place: never the caller's copy
    seed = overrides.get("seed")
    if seed is not None and seed != scene.spec.seed:
        scene = build_scene({**scene.raw, "seed": seed}, scene.path)
    if overrides.get("batch") is not None:
        learning = scene.spec.learning.model_copy(update={"batch": overrides["batch"]})
        scene.spec = scene.spec.model_copy(update={"learning": learning})
    rule = scene.rule()
    changes = {field: overrides[name] for name, field in (("rule", "kind"), ("beta", "beta"), ("lr", "lr"),
                                                          ("learn", "learn")) if overrides.get(name) is not None}
    return scene, replace(rule, **changes), overrides.get("epochs"), seed


def run_one(scene: Scene, overrides: dict) -> dict:
    """Train one configuration; returns {"row": final metrics, time and worker, "history": [...]}.
    An exception propagates: Dask retries it, then the sweep records the run as failed."""
    start = time.perf_counter()
    scene, rule, epochs, seed = apply_overrides(scene, overrides)
    result = train_scene(scene, epochs, rule, None, seed, out_dir=None, progress=False)
    first, last = result.history[0], result.history[-1]
    row = {"met": result.met, "epochs_done": last["epoch"], "loss_start": first["loss"], "loss": last["loss"],
           "test_loss": last["test_loss"], "accuracy": last["accuracy"], "test_accuracy": last["test_accuracy"],
           "stopped": result.stopped, "seconds": round(time.perf_counter() - start, 3), "worker": _worker()}
    return {"row": {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()},
            "history": result.history}


def _worker() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "local"
