"""What a sweep keeps on disk: results.csv (one row per finished or failed run) and one history
CSV per run in histories/. Every write is atomic: a crash leaves the previous file or the new
one, never half a row, so a finished row is never lost."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..files import write_atomic
from ..scenes.messages import SceneError

LEADING = ("run", "scene")
TRAILING = ("status", "met", "epochs_done", "loss_start", "loss", "test_loss", "accuracy", "test_accuracy",
            "stopped", "seconds", "cpu_seconds", "worker", "history", "error")


class Results:
    """results.csv in `folder`, read back if it is there; rows keyed by run id."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / "results.csv"
        self.rows: dict[str, dict] = {}
        if self.path.exists():
            try:
                with self.path.open(newline="", encoding="utf-8") as fh:
                    reader = csv.DictReader(fh)
                    if reader.fieldnames is None or "run" not in reader.fieldnames or "status" not in reader.fieldnames:
                        raise SceneError(self.path, ["is not a sweep's results file (no 'run' and 'status' "
                                                     "columns); choose another --out folder"])
                    self.rows = {row["run"]: row for row in reader}
            except (UnicodeDecodeError, csv.Error) as exc:
                raise SceneError(self.path, [f"cannot be read as CSV ({exc}); choose another --out folder"]) from None

    def done(self) -> set:
        """Ids of the runs that finished (failed ones are run again)."""
        return {rid for rid, row in self.rows.items() if row.get("status") == "done"}

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


def _csv_text(columns: list, rows) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, restval="", extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def read_history(path: Path) -> list[dict]:
    """A history CSV back as rows of floats."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        return [{k: float(v) if v not in ("", None) else float("nan") for k, v in row.items()} for row in csv.DictReader(fh)]
