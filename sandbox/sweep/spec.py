"""The sweep file: which scenes, which overrides, validated like a scene, expanded into runs.

    scenes: [../scenes/xor.yaml, capacity_scenes/n0064-*.yaml]   # relative to this file; globs allowed
    grid: {rule: [centered, one-sided], beta: [1e-3, 1e-2], seed: [0, 1, 2]}
    epochs: 50                                                  # an override for every run

Every combination of the grid's values, for every scene, is one run.

    run: experiments.capacity.runs:run_task     # instead of training scenes: call this function

With `run`, the files `scenes` names are that function's own documents (not scenes): each run
calls function(document, path, overrides) on a worker, which returns {"row": {...}, "history":
[{"epoch": ..., "loss": ...}, ...]} (`work.run_one`).
"""

from __future__ import annotations

import difflib
import glob
import hashlib
import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError

from ..learning.hardware import ROUNDINGS
from ..learning.rules import LEARNS, RULES
from ..scenes.messages import Locator, SceneError, explain, explain_all
from ..scenes.schema import MAX_SEED, SceneSpec, Strict
from ..scenes.yaml_source import read_document, read_yaml


class Overrides(Strict):
    """What a sweep may change in a scene; each is optional (absent: the scene's own)."""

    rule: Literal[RULES] | None = Field(None, description="learning rule")
    beta: float | None = Field(None, gt=0, description="nudge strength (eta for coupled)")
    lr: float | None = Field(None, gt=0, description="learning rate")
    learn: Literal[LEARNS] | None = Field(None, description="what learns")
    seed: int | None = Field(None, ge=0, le=MAX_SEED,
                             description="the scene's seed: its generated network, test split and shuffling")
    epochs: int | None = Field(None, ge=1, le=10_000_000, description="epochs to train")
    batch: int | None = Field(None, ge=1, description="examples per update")
    temperature: float | None = Field(None, ge=0, le=1e6, description="physics.temperature (kT)")
    samples: int | None = Field(None, ge=1, le=10_000, description="physics.samples")
    measure_noise: float | None = Field(None, ge=0, le=1e6, description="hardware.measure_noise")
    update_noise: float | None = Field(None, ge=0, le=100, description="hardware.update_noise")
    k_levels: int | None = Field(None, ge=2, le=1_000_000, description="hardware.k_levels")
    rounding: Literal[ROUNDINGS] | None = Field(None, description="hardware.rounding")
    fabrication: float | None = Field(None, ge=0, le=1, description="hardware.fabrication")


OVERRIDES = tuple(Overrides.model_fields)


class Grid(Strict):
    """Lists of values, one list per override name."""

    rule: list[Literal[RULES]] | None = Field(None, min_length=1)
    beta: list[float] | None = Field(None, min_length=1)
    lr: list[float] | None = Field(None, min_length=1)
    learn: list[Literal[LEARNS]] | None = Field(None, min_length=1)
    seed: list[Annotated[int, Field(ge=0, le=MAX_SEED)]] | None = Field(None, min_length=1)
    epochs: list[int] | None = Field(None, min_length=1)
    batch: list[int] | None = Field(None, min_length=1)
    temperature: list[Annotated[float, Field(ge=0, le=1e6)]] | None = Field(None, min_length=1)
    samples: list[Annotated[int, Field(ge=1, le=10_000)]] | None = Field(None, min_length=1)
    measure_noise: list[Annotated[float, Field(ge=0, le=1e6)]] | None = Field(None, min_length=1)
    update_noise: list[Annotated[float, Field(ge=0, le=100)]] | None = Field(None, min_length=1)
    k_levels: list[Annotated[int, Field(ge=2, le=1_000_000)]] | None = Field(None, min_length=1)
    rounding: list[Literal[ROUNDINGS]] | None = Field(None, min_length=1)
    fabrication: list[Annotated[float, Field(ge=0, le=1)]] | None = Field(None, min_length=1)


assert tuple(Grid.model_fields) == OVERRIDES  # one list per override, same names


class SweepSpec(Overrides):
    scenes: list[str] = Field(min_length=1, description="scene files, relative to the sweep file; globs allowed")
    grid: Grid = Grid()
    run: str | None = Field(None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
                            description="module:function to call for each file instead of training a scene")


@dataclass(frozen=True)
class Run:
    """One run: a scene (as results.csv names it) and its overrides (name -> value)."""

    scene: str
    overrides: tuple  # ((name, value), ...) in OVERRIDES order

    @property
    def id(self) -> str:
        """Stable across invocations: the same scene and overrides give the same id."""
        text = self.scene + "|" + "|".join(f"{k}={v!r}" for k, v in self.overrides)
        return Path(self.scene).stem + "-" + hashlib.sha1(text.encode()).hexdigest()[:10]

    def config(self) -> tuple:
        """The configuration this run belongs to: scene and overrides but the seed."""
        return (self.scene,) + tuple((k, v) for k, v in self.overrides if k != "seed")


@dataclass
class SceneSource:
    """A scene file and its document (the YAML as data), checked against the scene schema."""

    path: Path
    raw: dict


@dataclass
class Sweep:
    path: Path
    spec: SweepSpec
    scenes: dict  # scene name as written in results (str) -> SceneSource
    runs: list
    columns: tuple  # the override names that vary or are set, in OVERRIDES order


def resolve_scene_paths(sweep_file: Path, entry: str) -> list[Path]:
    """The scene files one `scenes:` entry names: relative to the sweep file's folder, a glob
    pattern expanded in sorted order. (The one place where sweep scene paths are resolved.)"""
    pattern = Path(entry) if Path(entry).is_absolute() else sweep_file.parent / entry
    if glob.has_magic(str(pattern)):
        return [Path(p) for p in sorted(glob.glob(str(pattern)))]
    return [pattern]


MAX_RUNS = 100_000  # a sweep's runs: scenes x combinations of the grid


def load_sweep(path, max_runs: int = MAX_RUNS) -> Sweep:
    """Read and check a sweep file and the documents of the scenes it names (their schema: the
    networks are built on the workers); raises SceneError listing every problem. The number of
    runs is checked before any scene is read or any run made: at most max_runs."""
    path = Path(path)
    raw, marks = read_document(path)
    locate = Locator(path, raw, marks)
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise SceneError(path, explain_all(exc.errors(), raw, locate, _explain)) from None
    fixed = {k: v for k, v in spec.model_dump(include=set(OVERRIDES)).items() if v is not None}
    grid = {k: v for k, v in spec.grid.model_dump().items() if v is not None}
    problems, found = [], {}
    for i, entry in enumerate(spec.scenes):
        found[i] = resolve_scene_paths(path, entry)
        if not found[i]:
            problems.append(locate.at(("scenes", i)) + f"no scene file matches '{entry}'")
    n_scenes = len({p for paths in found.values() for p in paths})
    n_runs = n_scenes * math.prod(len(v) for v in grid.values())
    if n_runs > max_runs:
        sizes = " x ".join([f"{n_scenes:,} scene(s)"] + [f"{len(v):,} {k}" for k, v in grid.items()])
        raise SceneError(path, [locate.at(("grid",) if grid else ("scenes",)) + f"{n_runs:,} runs ({sizes}); a sweep "
                                f"is limited to {max_runs:,}: make the grid smaller, or raise the limit "
                                f"(--max-runs)"])
    scenes = {}
    for i, entry in enumerate(spec.scenes):
        for scene_path in found[i]:
            name = _scene_name(scene_path, path.parent, Path(entry).is_absolute())
            if name in scenes:
                continue
            try:
                scenes[name] = SceneSource(scene_path, read_yaml(scene_path) if spec.run else _scene_document(scene_path))
            except SceneError as exc:
                problems.append(locate.at(("scenes", i)) + f"scene {exc}".replace("\n", "\n    "))
    if spec.run:
        try:
            run_function(spec.run)
        except (ImportError, AttributeError) as exc:
            problems.append(locate.at(("run",)) + f"cannot import '{spec.run}': {exc}")
    for k in fixed.keys() & grid.keys():
        problems.append(locate.at(("grid", k)) + f"'{k}' is also set for every run at the top level; keep one")
    if problems:
        raise SceneError(path, problems)
    columns = tuple(k for k in OVERRIDES if k in fixed or k in grid)
    runs = []
    for name in scenes:
        for combo in itertools.product(*grid.values()):
            values = {**fixed, **dict(zip(grid, combo))}
            runs.append(Run(name, tuple((k, values[k]) for k in columns)))
    return Sweep(path, spec, scenes, runs, columns)


def run_function(name: str):
    """The function a sweep's `run: module:function` names (ImportError, AttributeError if none)."""
    import importlib

    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def _scene_document(path: Path) -> dict:
    """The scene's YAML as data, checked against the scene schema (SceneError if not)."""
    raw, marks = read_document(path)
    try:
        SceneSpec.model_validate(raw)
    except ValidationError as exc:
        raise SceneError(path, explain_all(exc.errors(), raw, Locator(path, raw, marks))) from None
    return raw


def _scene_name(scene_path: Path, folder: Path, absolute: bool) -> str:
    """How results.csv names a scene: its path from the sweep file's folder, or its absolute path
    when the sweep file gives one."""
    return scene_path.as_posix() if absolute else Path(os.path.relpath(scene_path, folder)).as_posix()


def _explain(err: dict, raw, locate: Locator) -> str:
    """A validation error in the sweep file; unknown keys name what is allowed where they are."""
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden" and loc:
        known = list(Grid.model_fields) if loc[0] == "grid" else list(SweepSpec.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        what = "override" if loc[0] == "grid" else "key"
        return (locate.at(loc) + f"unknown {what} '{loc[-1]}'" + (f" (did you mean '{close[0]}'?)" if close else "")
                + f"; allowed here: {', '.join(known)}")
    return explain(err, raw, locate)
