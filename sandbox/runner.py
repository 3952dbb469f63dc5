"""Headless training of a scene: epochs with a progress bar, the promise check, and the run's
folder: the trained scene, its history and run.json written together at checkpoints (every
`Checkpoints` interval and when training stops: Ctrl+C, SIGTERM, SIGHUP, a divergence), then the
pictures. Whatever stops it, the folder holds a consistent set of the last completed epoch.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import platform
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .files import STOP_SIGNALS, held_signals, write_atomic
from .learning.rules import Rule
from .learning.trainer import Trainer
from .run_folder import OutputError, RunFolder
from .scenes.build import Scene
from .scenes.save import scene_text


@dataclass
class RunResult:
    """history: one dict per epoch (epoch 0 is before training); met: whether the scene's
    expect holds; verdict: the sentence saying so; stopped: '' or why training ended early;
    interrupted: whether a signal (Ctrl+C, SIGTERM, SIGHUP) stopped it; output_error: '' or why
    the last set could not be written (the folder then holds the epoch `saved_epoch`)."""

    history: list
    met: bool
    verdict: str
    stopped: str = ""
    out_dir: Path | None = None
    warnings: list = field(default_factory=list)
    class_accuracy: dict | None = None  # classification: {class index: test accuracy} (train if no test)
    seconds: float = 0.0  # wall time of training
    interrupted: bool = False
    output_error: str = ""
    saved_epoch: int | None = None
    written: list = field(default_factory=list)  # the files written into out_dir, pictures included
    pictures_skipped: bool = False  # a signal came while drawing
    settings: dict = field(default_factory=dict)  # effective_settings() of the run


@dataclass
class Checkpoints:
    """When training writes its last completed epoch into the run's folder: every `epochs`
    epochs or `seconds` seconds, whichever comes first (0: never by that measure), and when it
    stops. With `spacing` > 0, never sooner than `spacing` times the last checkpoint's own time
    after it, so checkpoints take at most 1/spacing of the time (the defaults: 2%)."""

    epochs: int = 100
    seconds: float = 10.0
    spacing: float = 50.0

    def due(self, epochs_since: int, seconds_since: float, last_cost: float) -> bool:
        if seconds_since < self.spacing * last_cost:
            return False
        return (self.epochs > 0 and epochs_since >= self.epochs) or (self.seconds > 0 and seconds_since >= self.seconds)


def check_expect(expect, history: list) -> tuple[bool, str]:
    """Compare the last history row with the scene's promises; returns (met, sentence)."""
    if not history:
        return False, "no training happened"
    first, last = history[0], history[-1]
    parts, ok = [], True

    def judge(label, value, bound, good):
        nonlocal ok
        fine = value is not None and math.isfinite(value) and good
        ok &= fine
        parts.append(f"{label} {value:.3g} ({'ok' if fine else 'NOT met'}: {bound})")

    if expect.loss_below is not None:
        judge("train loss", last["loss"], f"< {expect.loss_below:g}", last["loss"] < expect.loss_below)
    if expect.loss_drop is not None:
        drop = first["loss"] / last["loss"] if last["loss"] > 0 else math.inf
        judge("loss drop", drop, f">= {expect.loss_drop:g}x", drop >= expect.loss_drop)
    if expect.test_loss_below is not None:
        judge("test loss", last["test_loss"], f"< {expect.test_loss_below:g}", last["test_loss"] < expect.test_loss_below)
    if expect.accuracy_at_least is not None:
        judge("train accuracy", last["accuracy"], f">= {expect.accuracy_at_least:g}", last["accuracy"] >= expect.accuracy_at_least)
    if expect.test_accuracy_at_least is not None:
        judge("test accuracy", last["test_accuracy"], f">= {expect.test_accuracy_at_least:g}",
              last["test_accuracy"] >= expect.test_accuracy_at_least)
    if not parts:
        return True, "the scene makes no promise (no 'expect'); nothing to check"
    return ok, ("promise met: " if ok else "promise NOT met: ") + "; ".join(parts)


@contextlib.contextmanager
def stop_on_signals():
    """While the block runs, SIGTERM and SIGHUP (a scheduler, `timeout`, a closed terminal) stop
    training as Ctrl+C (SIGINT) does: a KeyboardInterrupt, which the trainer turns into a stop
    at the last completed epoch. `stop_on_signals.last` names the last signal received. Main
    thread only (Python's rule for signal handlers)."""

    def stop(signum, frame):
        stop_on_signals.last = signal.Signals(signum).name
        raise KeyboardInterrupt

    stop_on_signals.last = ""
    old = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


stop_on_signals.last = ""


def engine_name(engine) -> str:
    """'exact' (the Newton solver), 'physical' (the pymunk world), or the engine's class."""
    return {"NewtonSolver": "exact", "WorldEngine": "physical"}.get(type(engine).__name__, type(engine).__name__)


def effective_settings(trainer: Trainer, epochs: int) -> dict:
    """Every setting a run trains with, flat (rule, beta, lr, lr_rest, ..., epochs, batch, seed,
    engine, warm_start): the scene's values with the overrides applied. The rule's fields are
    all there, whatever they are, 'kind' named 'rule' as on the command line."""
    rule = {("rule" if k == "kind" else k): v for k, v in asdict(trainer.rule).items()}
    return {**rule, "epochs": epochs, "batch": trainer.batch, "seed": trainer.seed,
            "engine": engine_name(trainer.engine), "warm_start": trainer.warm_start}


def train_scene(scene: Scene, epochs: int | None = None, rule: Rule | None = None, engine=None,
                seed: int | None = None, out_dir=None, progress: bool = True,
                trainer: Trainer | None = None, frame_hook=None, gif=None,
                checkpoints: Checkpoints | None = None, about: dict | None = None) -> RunResult:
    """Train for `epochs` (default: the scene's) with Trainer.fit. Stops early, keeping the last
    good epoch, on Ctrl+C (SIGTERM, SIGHUP too inside stop_on_signals) or divergence.

    out_dir (a folder, or an opened RunFolder): trained.yaml, history.csv and run.json written
    together at epoch 0, at `checkpoints` and at the end, then loss.png, network.png and, for
    one or two inputs, response.png. A folder that cannot be used raises OutputError before
    training; a checkpoint that cannot be written is a warning (the folder keeps the last one),
    the last one sets `output_error`. frame_hook(trainer) is called after every update; gif (a
    path) records one frame per epoch; about: more for run.json (the command line).
    """
    epochs = scene.spec.learning.epochs if epochs is None else epochs
    trainer = trainer or Trainer.from_scene(scene, rule, engine, seed)
    k_ref = float(np.median(scene.net.k))
    if not trainer.history:
        trainer.record()
    callbacks = []
    if frame_hook:
        callbacks.append(lambda tr, st: frame_hook(tr) if st.name == "update" else None)
    run = None
    if out_dir is not None:
        folder = out_dir if isinstance(out_dir, RunFolder) else RunFolder(out_dir, scene.path, [gif] if gif else [])
        run = _Run(folder, scene, trainer, epochs, checkpoints or Checkpoints(), about or {})
        run.start(owns=not isinstance(out_dir, RunFolder))
        callbacks.append(run.on_stage)
    recorder = GifRecorder(scene) if gif else None
    if recorder:
        recorder(trainer)
        callbacks.append(lambda tr, st: recorder(tr) if st.name == "epoch" else None)
    bar = _progress(epochs, progress, scene.name)
    if bar:
        callbacks.append(lambda tr, st: _advance_bar(bar, st) if st.name == "epoch" else None)
        if run:
            run.say = tqdm_write
    start = time.perf_counter()
    try:
        try:
            trainer.fit(epochs, callbacks)
        finally:
            if bar:
                bar.close()
        seconds = time.perf_counter() - start
        stopped = trainer.stopped
        interrupted = stopped.startswith("interrupted")
        if interrupted and stop_on_signals.last:
            stopped = stopped.replace("interrupted", f"interrupted by {stop_on_signals.last}", 1)
        met, verdict = check_expect(scene.spec.expect, trainer.history)
        result = RunResult(trainer.history, met and not stopped, verdict, stopped,
                           run.folder.path if run else None, list(trainer.warnings), class_accuracy(trainer),
                           seconds, interrupted, settings=effective_settings(trainer, epochs))
        if run is not None:
            run.finish(result)
            make_pictures(scene, trainer, run.folder.path, k_ref, result)
    finally:
        if run is not None:
            run.close()
    if recorder:
        _picture(result, gif, lambda: recorder.save(gif))
    return result


def tqdm_write(text: str) -> None:
    from tqdm import tqdm

    tqdm.write(text, file=sys.stderr)


class _Run:
    """One run's checkpoints into its folder: the set's contents, when to write it, what it cost."""

    def __init__(self, folder: RunFolder, scene: Scene, trainer: Trainer, epochs: int, policy: Checkpoints,
                 about: dict):
        self.folder, self.scene, self.trainer, self.epochs, self.policy = folder, scene, trainer, epochs, policy
        self.about, self.say = about, lambda text: print(text, file=sys.stderr)
        self.started = time.time()
        self.clock = time.perf_counter()
        self.elapsed = {trainer.epochs_done: 0.0}  # epoch -> seconds of training at its end
        self.last_at, self.last_epoch, self.last_cost = self.clock, trainer.epochs_done, 0.0
        self.cost, self.count = 0.0, 0
        self.owns = False
        self.source_sha256 = _file_sha256(scene.path)

    def start(self, owns: bool) -> None:
        """Take the folder (if we open it) and write epoch 0 (or the epoch resumed from), so that
        a folder that cannot be written is known before training."""
        self.owns = owns
        if owns:
            self.folder.open()
        if self.folder.replaced:
            self.say(self.folder.replaced)
        try:
            self.write("running")
        except OutputError:
            self.close()
            raise

    def on_stage(self, trainer, stage) -> None:
        if stage.name != "epoch":
            return
        now = time.perf_counter()
        self.elapsed[trainer.epochs_done] = now - self.clock - self.cost
        if self.policy.due(trainer.epochs_done - self.last_epoch, now - self.last_at, self.last_cost):
            try:
                self.write("running")
            except OutputError as exc:
                self.say(f"warning: {exc}")
                self.trainer.warnings.append(str(exc))
                self.last_at, self.last_epoch = time.perf_counter(), trainer.epochs_done  # try again later

    def finish(self, result: RunResult) -> None:
        status = "interrupted" if result.interrupted else "stopped" if result.stopped else "completed"
        try:
            self.write(status, result)
        except OutputError as exc:
            result.output_error = str(exc)
        result.saved_epoch = self.folder.epoch
        if self.folder.epoch is not None:
            result.written += list(RUN_SET)

    def write(self, status: str, result: RunResult | None = None) -> None:
        """The set of the trainer's current epoch, written together; a signal waits until it is."""
        t = time.perf_counter()
        tr = self.trainer
        epoch = tr.epochs_done
        with held_signals():
            try:
                text = scene_text(self.scene, self.folder.path / "trained.yaml", origin=self._origin(status, result))
            except OSError as exc:  # the scene's own CSV copied beside it
                raise OutputError(f"could not write epoch {epoch} into {self.folder.path}: {exc.strerror or exc}") from None
            history = _history_csv(tr.history, self.elapsed)
            record = self._record(status, result, {"trained.yaml": _sha256(text), "history.csv": _sha256(history)})
            self.folder.commit(epoch, {"trained.yaml": text, "history.csv": history,
                                       "run.json": json.dumps(record, indent=1, allow_nan=False) + "\n"})
        self.last_cost = time.perf_counter() - t
        self.cost += self.last_cost
        self.count += 1
        self.last_at, self.last_epoch = time.perf_counter(), epoch

    def _origin(self, status: str, result: RunResult | None) -> dict:
        tr = self.trainer
        origin = {"scene": self.scene.path.name, "epochs": tr.epochs_done, "steps": tr.steps, "rule": tr.rule.kind,
                  "saved": time.strftime("%Y-%m-%d %H:%M:%S"), "metrics": _plain(tr.history[-1]), "run": status}
        if result is not None and result.stopped:
            origin["stopped"] = result.stopped
        return origin

    def _record(self, status: str, result: RunResult | None, files: dict) -> dict:
        """run.json: how the run was made (settings, seed, versions, command) and where it is."""
        tr = self.trainer
        met, verdict = check_expect(self.scene.spec.expect, tr.history)
        now = time.perf_counter()
        return {
            "scene": {"path": str(self.scene.path), "name": self.scene.name, "sha256": self.source_sha256},
            **self.about,
            "status": status, "epoch": tr.epochs_done, "epochs": self.epochs, "steps": tr.steps,
            "stopped": result.stopped if result else "",
            "promise": {"met": bool(met) and not (result and result.stopped), "verdict": verdict},
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


RUN_SET = ("trained.yaml", "history.csv", "run.json")


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


def class_accuracy(trainer: Trainer) -> dict | None:
    """For a classification task, {class index: accuracy} on the test examples (the training
    ones if none are held out); None otherwise."""
    task = trainer.task
    if task.labels is None:
        return None
    idx = task.test if len(task.test) else task.train
    hits = {}
    for s in idx:
        hits.setdefault(int(task.labels[s]), []).append(task.predict(trainer.net, trainer.free_state(int(s)).x) == task.labels[s])
    return {c: float(np.mean(h)) for c, h in sorted(hits.items())}


def _advance_bar(bar, stage) -> None:
    bar.set_postfix_str(f"loss {stage.row['loss']:.3g}")
    bar.update(1)
GIF_RESPONSE_RESOLUTION = {1: 41, 2: 11}  # a recording's response: coarser maps (one per epoch)


class GifRecorder:
    """One picture of the network per call (as the window draws it), kept on a Film; for a scene
    with one or two inputs, the response panel beside it."""

    def __init__(self, scene: Scene, size=(640, 480)):
        from .learning.response import probe_of_scene
        from .window.film import Film

        self.scene, self.size, self.film = scene, size, Film(frame_ms=120)
        self.k_ref = float(np.median(scene.net.k))
        self.probe = probe_of_scene(scene)

    def __call__(self, trainer: Trainer) -> None:
        from .window.render import drawing_for, render_surface

        s = int(trainer.task.train[0])
        x = trainer.free_state(s).x
        frame = render_surface(self.scene.net, x, self.size, f"{self.scene.name}: epoch {trainer.epochs_done}",
                               drawing_for(self.scene.net, trainer.task, s, x), self.k_ref)
        self.film.add(frame if self.probe is None else self._beside(frame, trainer))

    def _beside(self, frame, trainer: Trainer):
        """The frame with the response panel (computed now, coarser) on its right."""
        import pygame

        from .learning.response import free_response
        from .window.response_view import StillResponse, response_surface

        ts = self.scene.spec.task
        resp = free_response(self.scene.net, trainer.task, self.probe, GIF_RESPONSE_RESOLUTION[self.probe.n_dims])
        panel = response_surface(StillResponse(trainer.task, self.scene.net, ts.input, ts.output, self.probe, resp),
                                 (330, min(340, self.size[1])))
        both = pygame.Surface((self.size[0] + panel.get_width(), self.size[1]))
        both.blit(frame, (0, 0))
        both.fill(frame.get_at((0, self.size[1] - 1)), pygame.Rect(self.size[0], 0, panel.get_width(), self.size[1]))
        both.blit(panel, (self.size[0], (self.size[1] - panel.get_height()) // 2))
        return both

    def save(self, path) -> None:
        self.film.save(path)


def _progress(total, enabled, name):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=name, unit="epoch", leave=False)


def make_pictures(scene: Scene, trainer: Trainer, out_dir: Path, k_ref: float, result: RunResult) -> None:
    """loss.png, network.png and (one or two inputs) response.png in out_dir, each written
    atomically, after the run's set: one that cannot be made is a warning, never a failed run.
    (The one place where headless training draws.)"""
    out_dir = Path(out_dir)
    _picture(result, out_dir / "loss.png", lambda: plot_history(trainer.history, out_dir / "loss.png", scene.name))

    def network():
        from .window.render import drawing_for, render_png

        s = int(trainer.task.train[0])
        x = trainer.free_state(s).x
        render_png(out_dir / "network.png", scene.net, x, title=f"{scene.name}: trained, epoch {trainer.epochs_done}",
                   extra=drawing_for(scene.net, trainer.task, s, x), k_ref=k_ref)

    _picture(result, out_dir / "network.png", network)

    def response():
        from .response_plot import plot_response  # one or two inputs: what the network computes

        plot_response(scene, out_dir / "response.png", f"{scene.name}: what it computes, epoch {trainer.epochs_done}")

    _picture(result, out_dir / "response.png", response)


def _picture(result: RunResult, path: Path, make) -> None:
    """make() a picture at path. One that fails (a full disk, a drawing error) is a warning on
    the result; an interrupt (Ctrl+C, SIGTERM while drawing) skips it and the pictures after:
    the run's set is written already, and the run is what it was."""
    name = Path(path).name
    if result.pictures_skipped:
        return
    try:
        make()
    except KeyboardInterrupt:
        result.pictures_skipped = True
        result.warnings.append(f"{name} and the pictures after it not made: interrupted")
        return
    except Exception as exc:  # noqa: BLE001 - a picture is never worth the run
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
        result.warnings.append(f"{name} not written: {why}")
        return
    if Path(path).exists():
        result.written.append(name if Path(path).parent == result.out_dir else str(path))


def plot_history(history: list, path: Path, title: str) -> None:
    """Learning curve (train and test loss, log scale) into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [r["epoch"] for r in history]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.semilogy(ep, [max(r["loss"], 1e-300) for r in history], label="train loss")
    if any(math.isfinite(r["test_loss"]) for r in history):
        ax.semilogy(ep, [r["test_loss"] for r in history], label="test loss")
    if any(math.isfinite(r["accuracy"]) for r in history):
        ax2 = ax.twinx()
        ax2.plot(ep, [r["accuracy"] for r in history], "g--", label="train accuracy")
        if any(math.isfinite(r["test_accuracy"]) for r in history):
            ax2.plot(ep, [r["test_accuracy"] for r in history], "r--", label="test accuracy")
        ax2.set_ylim(0, 1.05)
        ax2.set_ylabel("accuracy")
        ax2.legend(loc="upper center")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (mean cost)")
    ax.set_title(title)
    ax.legend(loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_atomic(path, buf.getvalue())
