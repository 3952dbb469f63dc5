"""Examples read from a CSV file named in a scene: input columns scaled, class labels indexed.
The file is confined (confine.confined_path) and streamed with limits: only the columns the
scene names are kept, as numbers, so memory stays bounded whatever the file holds."""

from __future__ import annotations

import csv
import math
from array import array
from pathlib import Path

import numpy as np

from .confine import NAME_EXCERPT, UnsafeFile, carry_file, confined_path, excerpt, excerpt_list, open_lines
from .messages import SceneError
from .schema import CsvSpec

MAX_CSV_BYTES = 20_000_000  # 20 MB, as scene files
MAX_ROWS = 100_000
MAX_COLUMNS = 1_000
MAX_LINE_BYTES = 65_536
WHAT = "CSV files"


class CsvProblem(ValueError):
    """A CSV's content does not fit the scene; `key` is the task.csv key the message is about."""

    def __init__(self, message: str, key: tuple = ()):
        super().__init__(message)
        self.key = key


def resolve_data_file(name: str, scene_path: Path) -> Path:
    """The data file a scene names: in the scene's folder (or below it), or in assets/.
    Raises confine.UnsafeFile when the name breaks that rule or names no file."""
    return confined_path(name, Path(scene_path).parent)


def read_csv(spec: CsvSpec, scene_path: Path, problems, locate):
    """Input columns min-max scaled to [-scale, scale] (S, M), and class indices (S,); None
    with a message in problems (naming key, file, row and column) when the file is refused."""
    where = ("task", "csv")
    shown = f"CSV '{excerpt(spec.file, NAME_EXCERPT)}'"
    try:
        path = resolve_data_file(spec.file, scene_path)
    except UnsafeFile as exc:
        problems.append(locate.at(where + ("file",)) + f"{exc}")
        return None
    try:
        fh, lines = open_lines(path, MAX_CSV_BYTES, MAX_LINE_BYTES, WHAT, unit="row")
        with fh:
            values, labels = read_columns(lines, spec.inputs, spec.label, spec.classes)
    except UnsafeFile as exc:
        problems.append(locate.at(where + ("file",)) + f"{shown}: {exc}")
        return None
    except CsvProblem as exc:
        problems.append(locate.at(where + exc.key) + f"{shown}: {exc}")
        return None
    lo, hi = values.min(axis=0), values.max(axis=0)
    scaled = spec.scale * (2 * (values - lo) / np.where(hi > lo, hi - lo, 1) - 1)
    if spec.bias is not None:  # a constant input: the network's bias, as in a neuron
        scaled = np.column_stack([scaled, np.full(len(scaled), spec.bias)])
    return scaled, labels


def read_columns(lines, inputs: list[str], label: str, classes: list[str] | None = None):
    """From CSV text lines (a header, then rows): the `inputs` columns as numbers (S, M) and the
    `label` column as indices (S,) into classes (default: the labels found, sorted). Only these
    columns are kept. Raises CsvProblem naming the row and column; a problem in the lines
    themselves (from confine.text_lines) passes through as UnsafeFile."""
    reader = csv.reader(lines)
    try:
        header = next((r for r in reader if r), None)
        if header is None:
            raise CsvProblem("has no rows", ("file",))
        header[0] = header[0].removeprefix("\ufeff")  # a byte-order mark, as spreadsheets write
        _check_width(header, reader.line_num)
        missing = [c for c in inputs + [label] if c not in header]
        if missing:
            raise CsvProblem(f"has no column(s) {excerpt_list(missing)}; its {len(header):,} columns are "
                             f"{excerpt_list(header)}")
        wanted = [header.index(c) for c in inputs]
        at_label = header.index(label)
        known = {c: i for i, c in reversed(list(enumerate(classes)))} if classes else None
        found: dict[str, int] = {}
        values, codes = array("d"), array("q")
        for row in reader:
            if not row:
                continue
            n = reader.line_num
            if len(codes) >= MAX_ROWS:
                raise CsvProblem(f"row {n:,}: more than {MAX_ROWS:,} rows; {WHAT} are limited to {MAX_ROWS:,}",
                                 ("file",))
            _check_width(row, n)
            for col, j in zip(inputs, wanted):
                values.append(_number(row, j, n, col))
            if at_label >= len(row):
                raise CsvProblem(f"row {n:,}, column {at_label + 1} '{excerpt(label)}': no value")
            name = row[at_label]
            if known is None:
                codes.append(found.setdefault(name, len(found)))
            elif name in known:
                codes.append(known[name])
            else:
                raise CsvProblem(f"row {n:,}, column {at_label + 1} '{excerpt(label)}': class "
                                 f"'{excerpt(name)}' is not in classes", ("classes",))
    except csv.Error as exc:
        raise CsvProblem(f"row {reader.line_num:,}: not valid CSV: {excerpt(str(exc), 80)}", ("file",)) from None
    if not codes:
        raise CsvProblem("has no rows", ("file",))
    labels = np.frombuffer(codes, dtype=np.int64)
    if known is None:  # indices into the sorted labels
        order = sorted(found)
        labels = np.array([order.index(c) for c in found])[labels]
    return np.frombuffer(values, dtype=float).reshape(len(codes), len(inputs)), labels


def _check_width(row: list[str], n: int) -> None:
    if len(row) > MAX_COLUMNS:
        raise CsvProblem(f"row {n:,}: {len(row):,} columns; {WHAT} are limited to {MAX_COLUMNS:,}", ("file",))


def _number(row: list[str], j: int, n: int, col: str) -> float:
    where = f"row {n:,}, column {j + 1} '{excerpt(col)}'"
    if j >= len(row):
        raise CsvProblem(f"{where}: no value")
    try:
        v = float(row[j])
    except ValueError:
        raise CsvProblem(f"{where}: '{excerpt(row[j])}' is not a number") from None
    if not math.isfinite(v):
        raise CsvProblem(f"{where}: not a finite number")
    return v


def carry_data_file(name: str, scene_path: Path, out_path: Path) -> str:
    """The data-file name to write in a scene saved at out_path so it opens from there: the
    file's name in assets/ or below the new folder, or else a copy put next to the new file."""
    try:
        return carry_file(name, Path(scene_path).parent, Path(out_path).parent, MAX_CSV_BYTES)
    except UnsafeFile as exc:
        raise SceneError(out_path, [f"task.csv.file: {exc}"]) from None
