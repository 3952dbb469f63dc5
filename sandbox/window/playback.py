"""Turning the trainer's stages into what the window shows, with no pygame: the frames of a
stage's motion, the nudge's magnification and the caption of each phase.

In the physical engine a stage's frames are the pymunk world's own motion as it settled; in
the exact engine a short glide to the new equilibrium. The nudge moves the outputs by about
beta, too little to see: its motion is drawn magnified, never past half the way to the targets.
"""

from __future__ import annotations

import numpy as np

from ..learning.trainer import Stage
from .edit_mode import EDITING

CAPTIONS = {
    "free": "free phase: relaxing with the inputs clamped",
    "nudged": "nudged phase: outputs pulled toward their targets",
    "update": "update: springs that stretched more when nudged got softer",
}
DONE = {  # the same, once the phase has played out (paused)
    "free": "free phase done: the network's answer for this example (S: the nudged phase)",
    "nudged": "nudged phase done: outputs pulled toward their targets (S: the update)",
    "update": "update done: springs that stretched more when nudged got softer (S: the next example)",
}
GLIDE_FRAMES = 20  # frames of a glide to a new state (exact engine)


def magnification(stage: Stage, net, task) -> float:
    """How much a nudged stage's motion (st.x - st.x_free) is magnified to be seen: up to 4% of
    the network's size, never past half the way to the targets, at most 1e5; 1 where the nudge
    moves nothing (an example already right by the margin: there is nothing to show)."""
    if stage.name != "nudged":
        return 1.0
    shift = float(np.linalg.norm(stage.x - stage.x_free, axis=1).max())
    size = float(np.ptp(net.pos, axis=0).max())
    if not shift > 1e-12 * size:
        return 1.0
    gap = float(np.linalg.norm(task.target_points(net, stage.example, stage.x_free)
                               - task.output_points(stage.x_free), axis=1).max())
    return float(np.clip(min(0.04 * size, 0.5 * gap) / shift, 1.0, 1e5))


def shown_state(stage: Stage, magnify: float) -> np.ndarray:
    """(N, 2) the positions drawn for a stage: its state, the nudge's motion magnified."""
    if stage.name == "nudged":
        return stage.x_free + magnify * (stage.x - stage.x_free)
    return stage.x


def frames_for(stage: Stage, x_now: np.ndarray, magnify: float, runs=None, repeat: int = 1,
               count: int | None = None) -> list:
    """The frames (N, 2) that lead from the positions shown now, x_now, to the stage's shown
    state, each `repeat` times (slow motion), the shown state last; `count` frames in all (the
    motion sampled evenly), if given.

    runs: the pymunk world's snapshots of the relaxations just run (physical engine), or None:
    the frames are the run that ended in this state (for a nudged stage, among those that
    started at the free state: the others are not its motion, and magnified they would fly
    off); with no such run, a glide."""
    target = shown_state(stage, magnify)
    traj = None
    if runs and stage.name != "update":
        if stage.name == "nudged":
            runs = [t for t in runs if t[0].shape == stage.x_free.shape and np.abs(t[0] - stage.x_free).max() <= 1e-9]
        runs = [t for t in runs if t[-1].shape == stage.x.shape]
        traj = min(runs, key=lambda t: float(np.abs(t[-1] - stage.x).max())) if runs else None
    if traj:
        traj = [f for f in traj if np.isfinite(f).all()]
        frames = [stage.x_free + magnify * (f - stage.x_free) for f in traj] if stage.name == "nudged" else list(traj)
    else:
        frames = [x_now + (target - x_now) * t for t in np.linspace(0, 1, GLIDE_FRAMES)[1:]]
    if count is not None:
        frames = [frames[int(i)] for i in np.linspace(0, len(frames) - 1, max(0, count - 1)).round()] if frames else []
    return [f for f in frames for _ in range(repeat)] + [target]


def glide(x_from: np.ndarray, x_to: np.ndarray, n: int = 12) -> list:
    """n - 1 frames (N, 2) from x_from to x_to, x_to last (or just x_to if the shapes differ)."""
    if x_from.shape != x_to.shape:
        return [x_to]
    return [x_from + (x_to - x_from) * t for t in np.linspace(0, 1, n)[1:]]


def caption(session) -> str:
    """What a session's window says now: its message, else what is being computed, else the
    phase shown (while it plays) or done (once it has, paused); warm, what a spring averages."""
    said, warm = _caption(session), session.warmth.caption()
    return f"{said}; {warm}" if warm and said != session.message else said


def _caption(session) -> str:
    s, job = session, session.jobs.job
    if s.message:
        return s.message
    if job is not None and job.kind != "stage":
        return f"{job.label}... ({job.seconds:.0f} s; Esc cancels)" if job.seconds > 1 else f"{job.label}..."
    if s.editing:
        return EDITING
    if job is not None and s.engine_name == "physical":
        return "the pymunk world is settling (shown live as it moves)" + (
            f"; {job.seconds:.0f} s, Esc stops" if job.seconds > 2 else "")
    if job is not None and job.seconds > 0.5:
        return f"{job.label}... ({job.seconds:.0f} s; Esc stops)"
    if s.stage is None:
        return "paused: press Space to train, S to step one stage"
    over = s.training.paused and not s.frames and not s.training.queued and job is None  # (played out)
    said = (DONE if over else CAPTIONS)[s.stage.name]
    if s.stage.name == "nudged" and s.magnify > 1:
        return said + f" (motion shown {float(f'{s.magnify:.2g}'):,g} times larger)"  # (two digits: 1,000, not 1,001)
    return said
