"""One run of a sweep, as a Dask worker executes it: the scene built from its document with the
overrides, trained by `sandbox.runner.train_scene`, summed up in one row plus its history.

Scenes are built here, on the workers, in parallel (a sweep may hold hundreds of large ones);
the client only checked their documents against the schema."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

from ..runner import train_scene
from ..scenes.build import build_scene
from ..scenes.messages import Locator, SceneError


class RunError(Exception):
    """A run could not start (its scene does not build); one message, so it travels back from a
    worker intact."""


SECTIONS = {"physics": ("temperature", "samples"),  # overrides that go into the scene's document
            "hardware": ("measure_noise", "update_noise", "k_levels", "rounding", "fabrication")}


def apply_overrides(raw: dict, path: Path, overrides: dict) -> tuple:
    """(scene, rule, epochs, seed) for train_scene, the scene built from its document `raw` (the
    YAML of the file at `path`) with the overrides: a seed, the temperature and the hardware go
    into the document (a generated or fabricated network changes with them), batch into the
    scene's learning section, the rest into the rule."""
    seed = overrides.get("seed")
    doc = raw if seed is None else {**raw, "seed": seed}
    for section, keys in SECTIONS.items():
        values = {k: overrides[k] for k in keys if overrides.get(k) is not None}
        if values:
            doc = {**doc, section: {**(doc.get(section) or {}), **values}}
    try:
        scene = build_scene(doc, path, Locator(path))
    except SceneError as exc:
        raise RunError(str(exc)) from None
    if overrides.get("batch") is not None:
        learning = scene.spec.learning.model_copy(update={"batch": overrides["batch"]})
        scene.spec = scene.spec.model_copy(update={"learning": learning})
    rule = scene.rule()
    changes = {field: overrides[name] for name, field in (("rule", "kind"), ("beta", "beta"), ("lr", "lr"),
                                                          ("learn", "learn")) if overrides.get(name) is not None}
    return scene, replace(rule, **changes), overrides.get("epochs"), seed


def run_one(raw: dict, path: str, overrides: dict, run: str | None = None) -> dict:
    """Train one configuration, or call the sweep's own `run` function on the document; returns
    {"row": every setting it trained with (the scene's, the overrides applied) and final metrics,
    wall and CPU time, worker, "history": [...]} (CPU time tells what a run costs on a shared
    machine, where wall time depends on the load). An exception propagates: Dask retries it,
    then the sweep records the run as failed."""
    start, cpu = time.perf_counter(), time.process_time()
    if run:
        from .spec import run_function

        got = run_function(run)(raw, Path(path), overrides)
        got["row"].update(seconds=round(time.perf_counter() - start, 3),
                          cpu_seconds=round(time.process_time() - cpu, 3), worker=_worker())
        return got
    scene, rule, epochs, seed = apply_overrides(raw, Path(path), overrides)
    result = train_scene(scene, epochs, rule, None, seed, out_dir=None, progress=False)
    first, last = result.history[0], result.history[-1]
    row = {**result.settings, "met": result.met, "epochs_done": last["epoch"], "loss_start": first["loss"], "loss": last["loss"],
           "test_loss": last["test_loss"], "accuracy": last["accuracy"], "test_accuracy": last["test_accuracy"],
           "stopped": result.stopped, "seconds": round(time.perf_counter() - start, 3),
           "cpu_seconds": round(time.process_time() - cpu, 3), "worker": _worker()}
    return {"row": {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()},
            "history": result.history}


def _worker() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "local"
