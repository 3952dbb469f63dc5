"""What a run writes into its folder, and when: trained.yaml (the scene, trained), history.csv
(a row per epoch, with the seconds of training) and run.json (how the run was made: the command,
every effective setting, the seed, versions, timings, the epoch it holds, why it stopped), one
set of one epoch, written together at every `Checkpoints` interval and at the end."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .files import held_signals
from .learning.trainer import Trainer
from .run_folder import OutputError, RunFolder
from .scenes.save import scene_text

RUN_SET = ("trained.yaml", "history.csv", "run.json")


@dataclass
class Checkpoints:
    """When training writes its last completed epoch into the run's folder: every `epochs`
    epochs or `seconds` seconds, whichever comes first (0: never by that measure), and when it
    stops. With `spacing` > 0, never sooner than `spacing` times the last checkpoint's own time
    (before the first, first_cost's guess) after it, so checkpoints take at most 1/spacing of
    the time (the defaults: 2%)."""

    epochs: int = 100
    seconds: float = 10.0
    spacing: float = 50.0

    def first_cost(self, net) -> float:
        """A guess of the first checkpoint's seconds: three synced files, and the network's text
        (save.network_text: 23 ms for Large's 2,250 nodes and 6,600 springs), 4 times over for
        a shared machine."""
        return 0.03 + 1e-5 * (net.n_nodes + net.n_springs)

    def due(self, epochs_since: int, seconds_since: float, last_cost: float) -> bool:
        if seconds_since < self.spacing * last_cost:
            return False
        return (self.epochs > 0 and epochs_since >= self.epochs) or (self.seconds > 0 and seconds_since >= self.seconds)


def engine_name(engine) -> str:
    """'exact' (the Newton solver), 'physical' (the pymunk world), or the engine's class."""
    return {"NewtonSolver": "exact", "WorldEngine": "physical"}.get(type(engine).__name__, type(engine).__name__)


def effective_settings(trainer: Trainer, epochs: int) -> dict:
    """Every setting a run trains with, flat (rule, beta, lr, lr_rest, ..., epochs, batch, seed,
    engine, warm_start): the scene's values with the overrides applied. The rule's fields are
    all there, whatever they are, 'kind' named 'rule' as on the command line."""
    rule = {("rule" if k == "kind" else k): v for k, v in asdict(trainer.rule).items()}
    hw = trainer.hardware  # the temperature and the hardware (learning/hardware.py) a run learns with
    warm = {"temperature": float(getattr(trainer.engine, "temperature", 0.0)),
            "samples": int(getattr(trainer.engine, "samples", 1))}
    if hw is not None:
        warm.update(measure_noise=hw.measure_noise, update_noise=hw.update_noise, k_levels=hw.k_levels,
                    rounding=hw.rounding)
    return {**rule, "epochs": epochs, "batch": trainer.batch, "seed": trainer.seed,
            "engine": engine_name(trainer.engine), "warm_start": trainer.warm_start, **warm}


class RunWriter:
    """One run's sets written into its folder: what they hold, when (Checkpoints), what they
    cost. promise(history) -> (met, verdict) judges an epoch for run.json; say(text) tells the
    user (a warning that a checkpoint could not be written)."""

    def __init__(self, folder: RunFolder, scene, trainer: Trainer, epochs: int, policy: Checkpoints, promise,
                 about: dict):
        self.folder, self.scene, self.trainer, self.epochs, self.policy = folder, scene, trainer, epochs, policy
        self.promise, self.about, self.say = promise, about, lambda text: print(text, file=sys.stderr)
        self.started = time.time()
        self.clock = time.perf_counter()
        self.elapsed = {trainer.epochs_done: 0.0}  # epoch -> seconds of training at its end
        self.first_epoch = trainer.epochs_done
        self.last_at, self.last_epoch = self.clock, trainer.epochs_done
        self.last_cost = policy.first_cost(trainer.net)
        self.cost, self.count = 0.0, 0
        self.failures = []  # (epoch, reason) of checkpoints that could not be written
        self.owns = False
        self.source_sha256 = _file_sha256(scene.path)

    def start(self, owns: bool) -> None:
        """Take the folder, if it is ours to open (OutputError if it cannot be used)."""
        self.owns = owns
        if owns:
            self.folder.open()

    def on_stage(self, trainer, stage) -> None:
        if stage.name != "epoch":
            return
        now = time.perf_counter()
        self.elapsed[trainer.epochs_done] = now - self.clock - self.cost
        last = trainer.epochs_done == self.first_epoch + self.epochs  # the final set follows at once
        if not last and self.policy.due(trainer.epochs_done - self.last_epoch, now - self.last_at, self.last_cost):
            try:
                self.write("running")
            except OutputError as exc:  # said once per reason; tried again at the next checkpoint
                if not self.failures or self.failures[-1][1] != exc.reason:
                    self.say(f"warning: {exc}")
                self.failures.append((trainer.epochs_done, exc.reason))
                self.last_at, self.last_epoch = time.perf_counter(), trainer.epochs_done

    def failed(self) -> str:
        """'' or a sentence on the checkpoints that could not be written."""
        if not self.failures:
            return ""
        epochs = [e for e, _ in self.failures]
        reasons = sorted({r for _, r in self.failures})
        return (f"{len(epochs)} checkpoint(s) not written (epochs {epochs[0]} to {epochs[-1]}): {'; '.join(reasons)}; "
                f"the folder keeps epoch {self.folder.epoch}")

    def finish(self, status: str, stopped: str) -> str:
        """The last set: status 'completed', 'stopped' or 'interrupted', stopped: why. Returns ''
        or why it could not be written (the folder then keeps `folder.epoch`)."""
        try:
            self.write(status, stopped)
        except OutputError as exc:
            return str(exc)
        return ""

    def write(self, status: str, stopped: str = "") -> None:
        """The set of the trainer's current epoch, written together; a signal waits until it is."""
        t = time.perf_counter()
        tr = self.trainer
        epoch = tr.epochs_done
        with held_signals():
            try:
                text = scene_text(self.scene, self.folder.path / "trained.yaml", origin=self._origin(status, stopped))
            except OSError as exc:  # the scene's own CSV copied beside it
                raise OutputError(f"could not write epoch {epoch} into {self.folder.path}: {exc.strerror or exc}") from None
            history = _history_csv(tr.history, self.elapsed)
            record = self._record(status, stopped, {"trained.yaml": _sha256(text), "history.csv": _sha256(history)})
            if self.folder.epoch is None and self.folder.older:
                self.say(f"replacing {self.folder.older}")
            self.folder.commit(epoch, {"trained.yaml": text, "history.csv": history,
                                       "run.json": json.dumps(record, indent=1, allow_nan=False) + "\n"})
        self.last_cost = time.perf_counter() - t
        self.cost += self.last_cost
        self.count += 1
        self.last_at, self.last_epoch = time.perf_counter(), epoch

    def _origin(self, status: str, stopped: str) -> dict:
        """trained.yaml's origin: where it came from, at which epoch, and how it went."""
        tr = self.trainer
        origin = {"scene": self.scene.path.name, "epochs": tr.epochs_done, "steps": tr.steps, "rule": tr.rule.kind,
                  "saved": time.strftime("%Y-%m-%d %H:%M:%S"), "metrics": _plain(tr.history[-1]), "run": status}
        if stopped:
            origin["stopped"] = stopped
        return origin

    def _record(self, status: str, stopped: str, files: dict) -> dict:
        """run.json: how the run was made (settings, seed, versions, command) and where it is."""
        tr = self.trainer
        met, verdict = self.promise(tr.history)
        now = time.perf_counter()
        return {
            "scene": {"path": str(self.scene.path), "name": self.scene.name, "sha256": self.source_sha256},
            **self.about,
            "status": status, "epoch": tr.epochs_done, "epochs": self.epochs, "steps": tr.steps,
            "stopped": stopped,
            "promise": {"met": bool(met) and not stopped, "verdict": verdict},
            "metrics": _plain(tr.history[-1]),
            "settings": _plain(effective_settings(tr, self.epochs)),
            "guard": _plain(asdict(tr.guard)),
            "checkpoints": asdict(self.policy),
            "timings": {"started": _iso(self.started), "saved": _iso(time.time()),
                        "training_seconds": round(self.elapsed.get(tr.epochs_done, 0.0), 3),
                        "wall_seconds": round(now - self.clock, 3),
                        "checkpoint_seconds": round(self.cost, 3), "checkpoints": self.count + 1},
            "versions": versions(),
            "files": files,
        }

    def close(self) -> None:
        if self.owns:
            self.folder.close()


def versions() -> dict:
    """The package's version and those of what its numbers depend on."""
    import pydantic
    import scipy
    import yaml

    return {"spring-sandbox": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "pydantic": pydantic.VERSION, "pyyaml": yaml.__version__,
            "libyaml": bool(getattr(yaml, "__with_libyaml__", False)), "platform": platform.platform()}


def _history_csv(history: list, elapsed: dict) -> str:
    """history.csv: one row per epoch, with the seconds of training at its end."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(history[0].keys()) + ["seconds"], lineterminator="\n")
    w.writeheader()
    for row in history:
        w.writerow({**row, "seconds": round(elapsed.get(row["epoch"], 0.0), 4)})
    return buf.getvalue()


def _plain(d: dict) -> dict:
    """JSON-ready: nan as None, numpy numbers as Python ones."""
    out = {}
    for k, v in d.items():
        if isinstance(v, (np.floating, np.integer)):
            v = v.item()
        out[k] = None if isinstance(v, float) and not math.isfinite(v) else v
    return out


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_sha256(path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))
