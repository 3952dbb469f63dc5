"""A run's output folder (`train --out DIR`): checked and locked before training, then written
as one set at each checkpoint (the trained scene, its history and the run's record, all of one
epoch, see files.write_together). Pictures are made after and are optional.

At any moment the folder holds the files of one run only: an older run stays whole until the new
one writes its first set, which first removes the older run's pictures and then replaces its
set."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .files import FolderBusy, FolderLock, probe_writable, write_together

RUN_FILES = ("trained.yaml", "history.csv", "run.json")  # written together, in this order
PICTURES = ("loss.png", "network.png", "response.png")


class OutputError(Exception):
    """The output folder cannot be used or written; the message says why, and what it holds;
    `reason`: the system's words alone ('No space left on device')."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


class RunFolder:
    """The folder of one run. open() checks it and takes its lock; commit() writes a set;
    close() lets it go. `epoch`: the epoch of the set it holds (None before the first);
    `older`: a sentence about the older run found there ('' if none), which the first set
    replaces."""

    def __init__(self, path, source, also=()):
        self.path = Path(path)
        self.source = Path(source).resolve()
        self.also = [Path(p) for p in also]  # other files the run writes (a GIF)
        self.epoch = None
        self.older = ""
        self.lock = FolderLock(self.path)

    def open(self) -> RunFolder:
        """Make the folder if needed and take it, or raise OutputError before anything is
        trained: a file in its place, a folder that cannot be made or written, a run already
        writing there, or the scene being trained among the files the run would replace."""
        if self.path.exists() and not self.path.is_dir():
            raise OutputError(f"{self.path} is a file, not a folder; choose another --out")
        for name in RUN_FILES + PICTURES:
            if (self.path / name).resolve() == self.source:
                raise OutputError(f"{self.path} holds the scene being trained ({name}), which the run would "
                                  f"replace; train into another folder (--out): a trained scene resumes "
                                  f"from anywhere")
        if any(p.resolve() == self.source for p in self.also):
            raise OutputError("the GIF would replace the scene being trained; choose another --gif")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe_writable(self.path)
            self.lock.acquire()
        except FolderBusy as busy:
            raise OutputError(f"another run ({busy}) is writing into {self.path}; wait for it, or choose "
                              f"another --out") from None
        except OSError as exc:
            raise OutputError(f"cannot write into {self.path}: {_reason(exc)}") from None
        try:
            for name in ("probe",) + PICTURES + RUN_FILES:  # left by a run killed while writing (kill -9)
                for stale in self.path.glob(f".{name}.*"):
                    os.unlink(stale)
        except OSError as exc:
            self.close()
            raise OutputError(f"cannot write into {self.path}: {_reason(exc)}") from None
        if any((self.path / n).exists() for n in PICTURES + RUN_FILES):
            about = describe(self.path)
            self.older = f"the older run in {self.path}" + (f" ({about})" if about else "")
        return self

    def commit(self, epoch: int, files: dict) -> float:
        """Write files ({name: text}) as one set, holding `epoch`; returns the seconds it took.
        The first set removes an older run's pictures first. Raises OutputError (the folder
        keeps its previous set) if they cannot be written."""
        start = time.perf_counter()
        try:
            if self.epoch is None:
                for name in PICTURES:
                    if (self.path / name).exists():
                        os.unlink(self.path / name)
            write_together(self.path, files)
        except OSError as exc:
            kept = f"it keeps epoch {self.epoch}" if self.epoch is not None else "it holds no epoch of this run"
            raise OutputError(f"could not write epoch {epoch} into {self.path}: {_reason(exc)}; {kept}",
                              _reason(exc)) from None
        self.epoch = epoch
        return time.perf_counter() - start

    def close(self) -> None:
        self.lock.release()

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()


def describe(folder) -> str:
    """What run.json in folder says of its run ('epoch 40 of scenes/xor.yaml, completed'), or ''."""
    try:
        record = json.loads((Path(folder) / "run.json").read_text(encoding="utf-8"))
        return f"epoch {int(record['epoch'])} of {record['scene']['path']}, {record['status']}"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _reason(exc: OSError) -> str:
    """An OSError as a user reads it: 'No space left on device', not a traceback."""
    return exc.strerror or str(exc) or type(exc).__name__
