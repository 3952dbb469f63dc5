"""What a sweep keeps on disk: results.csv (one row per finished or failed run) and one history
CSV per run in histories/. Every write is atomic: a crash leaves the previous file or the new
one, never half a row, so a finished row is never lost.

results.csv is read defensively, line by line: a row that is cut, has a cell that is not what
its column holds, or whose history file is missing or does not end where the row does, is set
aside (results.rejected.csv, with the reason) and its run is done again. Only a file that is not
a sweep's results at all (no 'run' and 'status' columns) is refused as a whole."""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
from pathlib import Path

from ..files import write_atomic
from ..scenes.confine import UnsafeFile, excerpt, open_lines, open_regular
from ..scenes.messages import SceneError

LEADING = ("run", "scene")
TRAILING = ("status", "met", "epochs_done", "loss_start", "loss", "test_loss", "accuracy", "test_accuracy",
            "stopped", "seconds", "cpu_seconds", "worker", "history", "error")
HISTORY_COLUMNS = ("epoch", "step", "loss", "test_loss", "accuracy", "test_accuracy")
MAX_RESULTS_BYTES = 200_000_000  # 100,000 runs of 2 KB
MAX_HISTORY_BYTES = 20_000_000
MAX_LINE_BYTES = 1_000_000
RUN_ID = re.compile(r"[^/\\\x00-\x1f]{1,200}-[0-9a-f]{10}")
REJECTED = "results.rejected.csv"


class Results:
    """results.csv in `folder`, read back if it is there: `rows` (run id -> row) holds the rows
    that hold up, `rejected` the others as (line number, cells, reason)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / "results.csv"
        self.rows: dict[str, dict] = {}
        self.rejected: list[tuple[int, list, str]] = []
        if os.path.lexists(self.path):
            self._read()

    def _read(self) -> None:
        try:
            numbered = enumerate(_lines(self.path), 1)
            header = next((_cells(text) for _, text in numbered if text.strip()), None)
            if header is None or "run" not in header or "status" not in header:
                raise SceneError(self.path, ["is not a sweep's results file (no 'run' and 'status' columns); "
                                             "choose another --out folder"])
            for n, text in numbered:
                if text is None:
                    self.rejected.append((n, [], f"longer than {MAX_LINE_BYTES:,} bytes"))
                elif text.strip():
                    self._take(n, text, header)
        except UnsafeFile as exc:
            raise SceneError(self.path, [f"{exc}; choose another --out folder"]) from None

    def _take(self, n: int, text: str, header: list) -> None:
        """Keep the row on line n, or set it aside with the reason."""
        cells = _cells(text)
        if cells is None:
            self.rejected.append((n, [text.rstrip("\r\n")], "not a CSV row"))
            return
        why = ""
        if "\ufffd" in text or "\x00" in text:
            why = "not UTF-8 text" if "\ufffd" in text else "a NUL byte"
        elif len(cells) != len(header):
            why = f"{len(cells)} cells where the header has {len(header)} (a row cut short, or run together)"
        else:
            row = dict(zip(header, cells))
            why = self._check(row)
        if why:
            self.rejected.append((n, cells, why))
        else:
            self.rows[row["run"]] = row

    def _check(self, row: dict) -> str:
        """'' if the row holds up, else why not."""
        run = row.get("run", "")
        if not RUN_ID.fullmatch(run):
            return f"run '{excerpt(run)}' is not a run id"
        if run in self.rows:
            return f"a second row for run {run}"
        status = row.get("status")
        if status == "failed":
            return ""
        if status != "done":
            return f"status '{excerpt(status)}' is neither done nor failed"
        for column, kind in (("epochs_done", int), ("loss_start", float), ("loss", float), ("test_loss", float),
                             ("accuracy", float), ("test_accuracy", float), ("seconds", float),
                             ("cpu_seconds", float)):
            if column in row and _number(row[column], kind) is None:
                return f"{column} '{excerpt(row[column])}' is not a number"
        if row.get("met") not in ("True", "False"):
            return f"met '{excerpt(row.get('met', ''))}' is neither True nor False"
        return self._check_history(row)

    def _check_history(self, row: dict) -> str:
        """'' if the row's history file is there and ends where the row does."""
        name = f"histories/{row['run']}.csv"
        if row.get("history") != name:
            return f"history '{excerpt(row.get('history', ''))}' is not {name}"
        try:
            history = read_history(self.folder / name)
        except (OSError, UnsafeFile, ValueError) as exc:
            return f"{name}: {exc}"
        epochs = [h["epoch"] for h in history]
        last = int(_number(row["epochs_done"], int))
        if epochs != [float(e) for e in range(len(epochs))] or len(epochs) != last + 1:
            return f"{name} holds epochs {_span(epochs)}, the row says 0 to {last}"
        if not _same(history[-1]["loss"], _number(row["loss"], float)):
            return f"{name} ends at loss {history[-1]['loss']!r}, the row says {row['loss']}"
        return ""

    def done(self) -> set:
        """Ids of the runs that finished (failed ones are run again)."""
        return {rid for rid, row in self.rows.items() if row.get("status") == "done"}

    def set_aside(self) -> list[str]:
        """Move the rejected rows into results.rejected.csv (added to what it holds, with the line
        and the reason) and rewrite results.csv without them; returns a sentence for each."""
        if not self.rejected:
            return []
        old = []
        path = self.folder / REJECTED
        if path.is_file():
            with path.open(newline="", encoding="utf-8", errors="replace") as fh:
                old = list(csv.reader(fh))[1:]
        new = [[str(n), reason, *cells] for n, cells, reason in self.rejected]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([["line", "reason", "cells..."], *old, *new])
        write_atomic(path, buf.getvalue())
        self._write()
        said = [f"line {n}: {reason}" for n, _, reason in self.rejected]
        self.rejected = []
        return said

    def record(self, run, **fields) -> None:
        """Add or replace the row of `run`, then rewrite results.csv atomically."""
        self.rows[run.id] = {"run": run.id, "scene": run.scene, **dict(run.overrides), **fields}
        self._write()

    def write_history(self, run, history: list) -> str:
        """histories/<run id>.csv (epoch, step, loss, test_loss, accuracy, test_accuracy); returns
        its path relative to the results folder."""
        name = f"histories/{run.id}.csv"
        write_atomic(self.folder / name, _csv_text(list(history[0]), history))
        return name

    def _write(self) -> None:
        middle = []
        for row in self.rows.values():
            middle += [k for k in row if k not in LEADING + TRAILING and k not in middle]
        write_atomic(self.path, _csv_text(list(LEADING) + middle + list(TRAILING), self.rows.values()))


def _lines(path):
    """The lines of a results file, decoded (bytes that are not UTF-8 shown as \ufffd), None for
    a line over MAX_LINE_BYTES (skipped); UnsafeFile if it is not a regular file or too big."""
    with open_regular(path) as fh:
        if os.fstat(fh.fileno()).st_size > MAX_RESULTS_BYTES:
            raise UnsafeFile(f"over {MAX_RESULTS_BYTES:,} bytes")
        total = 0
        while True:
            line = fh.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            total += len(line)
            if total > MAX_RESULTS_BYTES:
                raise UnsafeFile(f"over {MAX_RESULTS_BYTES:,} bytes")
            if len(line) > MAX_LINE_BYTES:
                while line and not line.endswith(b"\n"):
                    line = fh.readline(MAX_LINE_BYTES)
                    total += len(line)
                yield None
            else:
                yield line.decode("utf-8", "replace")


def _cells(text: str) -> list | None:
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return None


def _number(text: str, kind):
    """text as an int or float (kind); '' is nan for floats; None if it is not one."""
    if kind is float and text == "":
        return math.nan
    try:
        return kind(text)
    except (TypeError, ValueError, OverflowError):
        return None


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _span(epochs: list) -> str:
    return "none" if not epochs else f"{epochs[0]:g} to {epochs[-1]:g} ({len(epochs)} rows)"


def _csv_text(columns: list, rows) -> str:
    """CSV with one line per row: a line break inside a cell becomes a space, so that a damaged
    line never takes the next ones with it."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, restval="", extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: ("" if v is None else " ".join(str(v).splitlines()) if isinstance(v, str) else v)
                    for k, v in row.items()})
    return buf.getvalue()


def read_history(path: Path) -> list[dict]:
    """A history CSV back as rows of floats. Raises ValueError (what is wrong, and where),
    UnsafeFile or OSError for a file that is not one: not a regular file, too big, a column
    missing, a cell that is not a number."""
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise ValueError("not a regular file")
    fh, lines = open_lines(path, MAX_HISTORY_BYTES, MAX_LINE_BYTES, "history files", unit="line")
    with fh:
        reader = csv.DictReader(lines)
        missing = [c for c in ("epoch", "loss") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"no column {', '.join(missing)}")
        rows = []
        for row in reader:
            try:
                rows.append({k: float(v) if v not in ("", None) else float("nan") for k, v in row.items()
                             if k is not None})
            except (TypeError, ValueError):
                raise ValueError(f"line {reader.line_num}: a cell is not a number") from None
    if not rows:
        raise ValueError("no rows")
    return rows
