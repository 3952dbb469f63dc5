"""Headless training of a scene: epochs with a progress bar, the promise check, and the run's
folder: the trained scene, its history and run.json written together at checkpoints (every
`Checkpoints` interval and when training stops: Ctrl+C, SIGTERM, SIGHUP, a divergence), then the
pictures. Whatever stops it, the folder holds a consistent set of the last completed epoch.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .checkpoints import RUN_SET, Checkpoints, RunWriter, effective_settings
from .files import STOP_SIGNALS, held_signals, save_figure
from .learning.rules import Rule
from .learning.trainer import Trainer
from .run_folder import RunFolder
from .scenes.build import Scene


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


stop_on_signals.last = ""


def train_scene(scene: Scene, epochs: int | None = None, rule: Rule | None = None, engine=None,
                seed: int | None = None, out_dir=None, progress: bool = True,
                trainer: Trainer | None = None, frame_hook=None, gif=None,
                checkpoints: Checkpoints | None = None, about: dict | None = None) -> RunResult:
    """Train for `epochs` (default: the scene's) with Trainer.fit. Stops early, keeping the last
    good epoch, on Ctrl+C (SIGTERM, SIGHUP too inside stop_on_signals) or divergence.

    out_dir (a folder, or an opened RunFolder): trained.yaml, history.csv and run.json written
    together at `checkpoints` and at the end, then loss.png, network.png and, for
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
        run = RunWriter(folder, scene, trainer, epochs, checkpoints or Checkpoints(),
                        lambda history: check_expect(scene.spec.expect, history), about or {})
        callbacks.append(run.on_stage)
        run.start(owns=not isinstance(out_dir, RunFolder))  # OutputError here: nothing trained
    try:
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
            trainer.fit(epochs, callbacks)
        finally:
            if bar:
                bar.close()
        seconds = time.perf_counter() - start
        with held_signals():  # a signal now waits until the last set is written
            stopped = trainer.stopped
            interrupted = stopped.startswith("interrupted")
            if interrupted and stop_on_signals.last:
                stopped = stopped.replace("interrupted", f"interrupted by {stop_on_signals.last}", 1)
            failed = run.failed() if run else ""
            output_error = run.finish("interrupted" if interrupted else "stopped" if stopped else "completed",
                                      stopped) if run else ""
        met, verdict = check_expect(scene.spec.expect, trainer.history)
        result = RunResult(trainer.history, met and not stopped, verdict, stopped,
                           run.folder.path if run else None, list(trainer.warnings) + ([failed] if failed else []),
                           class_accuracy(trainer), seconds, interrupted, output_error,
                           settings=effective_settings(trainer, epochs))
        if run is not None:
            result.saved_epoch = run.folder.epoch
            if not output_error:
                result.written += list(RUN_SET)
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


def class_accuracy(trainer: Trainer) -> dict | None:
    """For a classification task, {class index: accuracy} on the test examples (the training
    ones if none are held out); None otherwise."""
    task = trainer.task
    if task.labels is None:
        return None
    idx = task.test if len(task.test) else task.train
    hits = {}
    for s, eq in zip(idx, trainer.free_states(idx)):  # (relaxed as one batch)
        hits.setdefault(int(task.labels[s]), []).append(task.predict(trainer.net, eq.x) == task.labels[s])
    return {c: float(np.mean(h)) for c, h in sorted(hits.items())}


def _advance_bar(bar, stage) -> None:
    bar.set_postfix_str(f"loss {stage.row['loss']:.3g}")
    bar.update(1)
GIF_RESPONSE_RESOLUTION = {1: 41, 2: 11}  # a recording's response: coarser maps (one per epoch)


class GifRecorder:
    """One picture of the network per call (as the window draws it), kept on a Film; for a scene
    with one or two inputs, the response panel beside it."""

    def __init__(self, scene: Scene, size=(640, 480)):
        from .drawing.film import Film
        from .learning.response import probe_of_scene

        self.scene, self.size, self.film = scene, size, Film(frame_ms=120)
        self.k_ref = float(np.median(scene.net.k))
        self.probe = probe_of_scene(scene)
        self.y_range = None  # the response's output axis, fixed at the first frame

    def __call__(self, trainer: Trainer) -> None:
        from .drawing.render import drawing_for, render_surface

        s = int(trainer.task.train[0])
        x = trainer.free_state(s).x
        frame = render_surface(self.scene.net, x, self.size, f"{self.scene.name}: epoch {trainer.epochs_done}",
                               drawing_for(self.scene, trainer.task, s, x), self.k_ref)
        self.film.add(frame if self.probe is None else self._beside(frame, trainer))

    def _beside(self, frame, trainer: Trainer):
        """The frame with the response panel (computed now, coarser) on its right."""
        import pygame

        from .drawing.response_picture import response_surface, scene_response

        still = scene_response(self.scene, trainer.task, GIF_RESPONSE_RESOLUTION[self.probe.n_dims], self.y_range)
        still.accuracy = trainer.history[-1]["accuracy"] if trainer.history else float("nan")
        if self.y_range is None and still.response.values.ndim == 2:  # the axes of the first frame, kept
            from .drawing.response_picture import y_range_of

            self.y_range = still.y_range = y_range_of(still)
        panel = response_surface(still, (330, min(340, self.size[1])))
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
        try:
            from .drawing.render import drawing_for, render_png
        except ImportError:  # installed without the [window] extra (pygame-ce): no network.png
            result.warnings.append("network.png not made: pygame-ce is not installed (the [window] extra)")
            return

        s = int(trainer.task.train[0])
        x = trainer.free_state(s).x
        render_png(out_dir / "network.png", scene.net, x, (900, 700), f"{scene.name}: trained, epoch "
                   f"{trainer.epochs_done}", drawing_for(scene, trainer.task, s, x), k_ref)

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
    save_figure(fig, path)
