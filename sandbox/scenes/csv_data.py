"""Examples read from a CSV file named in a scene: input columns scaled, class labels indexed."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from ..paths import ASSETS
from .schema import CsvSpec


def resolve_data_file(name: str, scene_path: Path) -> Path:
    """A data file named in a scene: next to the scene, or in the project's assets/."""
    p = Path(name)
    for cand in (scene_path.parent / p, ASSETS / p):
        if cand.is_file():
            return cand
    return scene_path.parent / p


def read_csv(spec: CsvSpec, scene_path: Path, problems, locate):
    """Input columns min-max scaled to [-scale, scale] (S, M), and class indices (S,)."""
    where = ("task", "csv")
    f = resolve_data_file(spec.file, scene_path)
    if not f.is_file():
        problems.append(locate.at(where + ("file",)) + f"CSV file '{spec.file}' not found (looked next to the scene and in assets/)")
        return None
    try:
        with open(f, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(locate.at(where + ("file",)) + f"cannot read CSV '{spec.file}': {exc}")
        return None
    if not rows:
        problems.append(locate.at(where + ("file",)) + f"CSV '{spec.file}' has no rows")
        return None
    header = list(rows[0].keys())
    missing = [c for c in spec.inputs + [spec.label] if c not in header]
    if missing:
        problems.append(locate.at(where) + f"CSV '{spec.file}' has no column(s) {', '.join(missing)}; its columns are {', '.join(header)}")
        return None
    values = np.zeros((len(rows), len(spec.inputs)))
    for r, row in enumerate(rows):
        for c, col in enumerate(spec.inputs):
            try:
                values[r, c] = float(row[col])
            except (TypeError, ValueError):
                problems.append(locate.at(where) + f"CSV '{spec.file}' row {r + 2}, column '{col}': {row[col]!r} is not a number")
                return None
            if not math.isfinite(values[r, c]):
                problems.append(locate.at(where) + f"CSV '{spec.file}' row {r + 2}, column '{col}': not a finite number")
                return None
    classes = spec.classes or sorted({row[spec.label] for row in rows})
    labels = []
    for r, row in enumerate(rows):
        if row[spec.label] not in classes:
            problems.append(locate.at(where + ("classes",)) + f"CSV row {r + 2}: class {row[spec.label]!r} is not in classes")
            return None
        labels.append(classes.index(row[spec.label]))
    lo, hi = values.min(axis=0), values.max(axis=0)
    scaled = spec.scale * (2 * (values - lo) / np.where(hi > lo, hi - lo, 1) - 1)
    if spec.bias is not None:  # a constant input: the network's bias, as in a neuron
        scaled = np.column_stack([scaled, np.full(len(scaled), spec.bias)])
    return scaled, np.array(labels)


# ---------------------------------------------------------------- saving
