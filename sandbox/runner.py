"""Headless training of a scene: epochs with a progress bar, the promise check, and the outputs
(trained scene, history, learning curve, picture). Ctrl+C or a divergence keeps what was learned.
"""

from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .files import write_atomic
from .learning.rules import Rule
from .learning.trainer import Trainer
from .scenes.build import Scene
from .scenes.save import save_scene


@dataclass
class RunResult:
    """history: one dict per epoch (epoch 0 is before training); met: whether the scene's
    expect holds; verdict: the sentence saying so; stopped: '' or why training ended early."""

    history: list
    met: bool
    verdict: str
    stopped: str = ""
    out_dir: Path | None = None
    warnings: list = field(default_factory=list)
    class_accuracy: dict | None = None  # classification: {class index: test accuracy} (train if no test)
    seconds: float = 0.0  # wall time of training


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


def train_scene(scene: Scene, epochs: int | None = None, rule: Rule | None = None, engine=None,
                seed: int | None = None, out_dir: Path | None = None, progress: bool = True,
                trainer: Trainer | None = None, frame_hook=None, gif=None) -> RunResult:
    """Train for `epochs` (default: the scene's) with Trainer.fit, writing outputs into out_dir
    if given. Stops early, keeping the last good epoch, on Ctrl+C or divergence.
    frame_hook(trainer) is called after every update; gif (a path) records one frame per epoch.
    """
    epochs = scene.spec.learning.epochs if epochs is None else epochs
    trainer = trainer or Trainer.from_scene(scene, rule, engine, seed)
    k_ref = float(np.median(scene.net.k))
    if not trainer.history:
        trainer.record()
    callbacks = []
    if frame_hook:
        callbacks.append(lambda tr, st: frame_hook(tr) if st.name == "update" else None)
    recorder = GifRecorder(scene) if gif else None
    if recorder:
        recorder(trainer)
        callbacks.append(lambda tr, st: recorder(tr) if st.name == "epoch" else None)
    bar = _progress(epochs, progress, scene.name)
    if bar:
        callbacks.append(lambda tr, st: _advance_bar(bar, st) if st.name == "epoch" else None)
    start = time.perf_counter()
    try:
        trainer.fit(epochs, callbacks)
    finally:
        if bar:
            bar.close()
    seconds = time.perf_counter() - start
    stopped = trainer.stopped
    met, verdict = check_expect(scene.spec.expect, trainer.history)
    result = RunResult(trainer.history, met and not stopped, verdict, stopped, out_dir, list(trainer.warnings),
                       class_accuracy(trainer), seconds)
    if out_dir is not None:
        write_outputs(scene, trainer, Path(out_dir), k_ref, stopped)
    if recorder:
        recorder.save(gif)
    return result


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


def write_outputs(scene: Scene, trainer: Trainer, out_dir: Path, k_ref: float, stopped: str = "") -> None:
    """trained.yaml, history.csv, loss.png, network.png and (one or two inputs) response.png in
    out_dir (each written atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    last = trainer.history[-1]
    origin = {"scene": scene.path.name, "epochs": trainer.epochs_done, "steps": trainer.steps,
              "rule": trainer.rule.kind, "saved": time.strftime("%Y-%m-%d %H:%M:%S"),
              "metrics": {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in last.items()}}
    if stopped:
        origin["stopped"] = stopped
    save_scene(scene, out_dir / "trained.yaml", origin=origin)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(trainer.history[0].keys()))
    w.writeheader()
    w.writerows(trainer.history)
    write_atomic(out_dir / "history.csv", buf.getvalue())
    plot_history(trainer.history, out_dir / "loss.png", scene.name)
    try:
        from .window.render import drawing_for, render_png
    except ImportError:  # installed without the [window] extra (pygame-ce): no network.png
        render_png = None
    s = int(trainer.task.train[0])
    x = trainer.free_state(s).x
    if render_png is not None:
        render_png(out_dir / "network.png", scene.net, x, title=f"{scene.name}: trained, epoch {trainer.epochs_done}",
                   extra=drawing_for(scene.net, trainer.task, s, x), k_ref=k_ref)
    from .response_plot import plot_response  # one or two inputs: what the network computes

    plot_response(scene, out_dir / "response.png", f"{scene.name}: what it computes, epoch {trainer.epochs_done}")


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
