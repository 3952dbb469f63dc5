"""Training control for the window: play, pause, a stage or an example at a time, the pace
(slow motion, normal, fast), and what the trainer's stages show.

The pace: a stage stepped with S plays its whole motion (the pymunk world's own, or a glide);
played with Space at the normal pace an epoch takes about PLAY_EPOCH_FRAMES frames (each stage
a few frames, an update's colours twice as long), so that a lesson's wait of tens of epochs is
met in well under half a minute; slow motion shows every frame four times; fast trains on the
exact engine and shows only where training got. Frames are due 1/60 s apart: a window that
draws slower (a loaded machine, a large network) skips frames, so a motion keeps its duration.

It drives the very Trainer that headless training uses (same batches, same seed, same updates,
same divergence guard, with rollback): its stages are pulled one at a time in a background job,
and each finished stage is shown (sandbox.window.playback makes its frames).
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from ..learning.trainer import DivergenceError, Stage
from ..physics.energy import energy
from .playback import frames_for, magnification, shown_state

FAST_BURST_S = 0.1  # worker time per fast-mode job: the window shows where training got after each
PACES = {"slow": "slow motion", "normal": "normal pace", "fast": "fast"}
PLAY_EPOCH_FRAMES = 48  # frames an epoch takes when played at the normal pace (within the bounds below)
PLAY_STAGE_FRAMES = (3, 12)  # fewest and most frames a played stage takes at the normal pace
BANNER_UPDATES = 3  # updates of running training a banner (not a warning) outlasts: then its moment is over
FRAME_S = 1 / 60  # a motion's frames are due this far apart (a slower window skips some)


class Training:
    """paused; pace: one of PACES (fast: training as fast as the exact engine goes, showing
    only the states; slow: every frame of a stage shown four times)."""

    def __init__(self, session):
        self.session = session
        self.paused = True
        self.pace = "normal"
        self.stages = None  # the trainer's stage generator, pulled in the background
        self.queued: deque = deque()  # (stage, animate, played) computed, to show once the frames before end
        self._due: float | None = None  # when the next frame of the motion shown is due (perf_counter)
        self.seen = 0  # examples shown (free phases) since the epoch began: progress in a long epoch
        self.engine_before_fast: str | None = None

    def stop(self) -> None:
        """Paused, fast mode off, the stage generator dropped (a new scene, a rollback)."""
        self.paused, self.engine_before_fast, self.stages, self.seen = True, None, None, 0
        self.queued.clear()
        if self.pace == "fast":
            self.pace = "normal"

    @property
    def fast(self) -> bool:
        return self.pace == "fast"

    @property
    def slow(self) -> int:
        """How many times each frame of a stage is shown."""
        return 4 if self.pace == "slow" else 1

    @property
    def pace_name(self) -> str:
        return PACES[self.pace]

    def stage_frames(self) -> int:
        """How many frames a played stage takes at the normal pace (see the module's docstring)."""
        task, batch = self.session.trainer.task, max(1, self.session.trainer.batch)
        n = len(task.train)
        per_epoch = n * (1 if self.session.rule.kind == "exact" else 2) + -(-n // batch)
        return int(np.clip(round(PLAY_EPOCH_FRAMES / per_epoch), *PLAY_STAGE_FRAMES))

    # ------------------------------------------------------------ commands

    def toggle_play(self) -> None:
        s = self.session
        s.command()
        if s.editing and not s.edit.stop():
            return
        self.paused = not self.paused

    def pause(self) -> None:
        self.paused = True

    def _ready_to_step(self) -> bool:
        """Before a step by hand: leave edit mode (False if it cannot be left), pause, hold still."""
        s = self.session
        s.command()
        if s.editing and not s.edit.stop():
            return False
        self.paused = True
        s.still()
        return True

    def step_stage(self) -> None:
        """One stage (free, nudged or update), animated."""
        s = self.session
        if not self._ready_to_step():
            return
        if s.jobs.kind() == "stage":
            return  # the stage being computed is the step
        s.jobs.submit("stage", "computing the next stage", lambda: self._pull(1), self.show_stages)

    def step_example(self) -> None:
        """Through the next update (one mini-batch), shown without animation."""
        s = self.session
        if not self._ready_to_step():
            return

        def compute():
            out = []
            while not out or out[-1].name != "update":
                out += self._pull(1)
            return out
        s.jobs.submit("stage", "training one example", compute, lambda sts: self.show_stages(sts, animate=False))

    def run_epochs(self, n: int) -> None:
        """Train n whole epochs at once, as headless training does (in the background)."""
        s = self.session
        goal = s.trainer.epochs_done + n

        def compute():
            out = []
            while s.trainer.epochs_done < goal:
                out += self._pull(1)[-1:]
            return out
        s.jobs.submit("stage", f"training {n} epochs", compute, lambda sts: self.show_stages(sts, animate=False))

    def set_pace(self, pace: str) -> None:
        """Slow motion, normal or fast (one of PACES). Fast trains on the exact engine and
        starts training; leaving it, the engine that ran before comes back."""
        s = self.session
        s.command()
        if pace == self.pace or (s.editing and not s.edit.stop()):
            return
        was_fast, self.pace = self.fast, pace
        if self.fast:
            s.jobs.cancel(("stage",))
            s.still()
            self.paused = False
            self.engine_before_fast = s.engine_name
            s.jobs.after(lambda: s.settings.use_engine("exact"))
        elif was_fast:
            s.jobs.cancel(("stage",))
            back, self.engine_before_fast = self.engine_before_fast, None
            if back and back != s.engine_name:
                s.jobs.after(lambda: s.settings.use_engine(back))

    def toggle_fast(self) -> None:
        self.set_pace("normal" if self.fast else "fast")

    def toggle_slow(self) -> None:
        self.set_pace("normal" if self.pace == "slow" else "slow")

    # ------------------------------------------------------------ each frame

    def tick(self) -> None:
        """Show the next pending frame, or, when running, start the next stage. While a stage
        computes on the physical engine the world is shown as it settles."""
        s = self.session
        if s.jobs.kind() == "stage":
            traj = getattr(s.trainer.engine, "trajectory", None)
            if traj and not s.frames and traj[-1].shape == s.x.shape and np.isfinite(traj[-1]).all():
                s.x = traj[-1]  # (a world that blew up is not shown: the trainer's guard deals with it)
        if not s.frames and self.queued:  # the next stage computed: its state and motion now
            self.show(*self.queued.popleft())
        if s.frames:
            s.x = self.next_frame(time.perf_counter())
            return
        self._due = None
        if self.paused or s.editing or not s.jobs.idle:
            return
        if not s.banner:
            s.say("")
        if self.fast:
            s.jobs.submit("stage", "training fast", self._burst,
                          lambda sts: self.show_stages(sts, animate=False, running=True))
        else:
            s.jobs.submit("stage", "computing the next stage", self._pull_played,
                          lambda sts: self.show_stages(sts, played=True, running=True))

    def next_frame(self, now: float) -> np.ndarray:
        """The frame to show now: the next one, or, in a window drawing slower than FRAME_S a
        frame, the last one whose time has come (the motion keeps its duration; one frame a tick
        at most, however fast the window draws)."""
        frames = self.session.frames
        if self._due is None or now - self._due > 1.0:  # (a new motion, or after a pause in drawing)
            self._due = now
        while len(frames) > 1 and now - self._due >= FRAME_S - 1e-9:
            frames.popleft()
            self._due += FRAME_S
        self._due += FRAME_S
        return frames.popleft()

    # ------------------------------------------------------------ stages (in the worker)

    def _pull(self, n: int) -> list[Stage]:
        """The next n stages that show something (an epoch's bookkeeping comes along)."""
        out = []
        while sum(st.name != "epoch" for st in out) < n:
            if self.stages is None:
                self.stages = self.session.trainer.stages()
            try:
                out.append(next(self.stages))
            except BaseException:
                self.stages = None
                raise
        return out

    def _pull_played(self) -> list[Stage]:
        """The next stage, and with a free phase its nudged phase too (the network does not
        change between them: one job instead of two, while the first plays)."""
        out = self._pull(1)
        if out[-1].name == "free" and self.session.rule.kind != "exact":
            out += self._pull(1)
        return out

    def _burst(self) -> list[Stage]:
        t0 = time.perf_counter()
        out = []
        while time.perf_counter() - t0 < FAST_BURST_S:
            out += self._pull(1)
        return out

    # ------------------------------------------------------------ showing them

    def diverged(self, exc: DivergenceError) -> None:
        """The trainer rolled back to its last good epoch: say so, pause, show its state."""
        s = self.session
        s.warn(f"learning diverged: {exc}. Z undoes further.")
        s.history.rolled_back(s.trainer.steps)
        self.stages = None
        self.stop()
        s.still()
        s.show_free_state()

    def show_stages(self, stages: list[Stage], animate: bool = True, played: bool = False,
                    running: bool = False) -> None:
        """Show stages just computed: the last one animated (played: at the pace's length);
        running: computed because training runs (Space, F), not stepped."""
        # a stage that took long was watched live: it is shown at once instead of replayed
        last = self.session.jobs.last
        quick = last is None or last.seconds < 0.5
        for st in stages:
            animated = animate and quick and (played or st is stages[-1])
            if animated and (self.session.frames or self.queued):  # (shown once the motion before it has played)
                self.queued.append((st, animated, played, running))
            else:
                self.show(st, animated, played, running)

    def show(self, st: Stage, animate: bool, played: bool = False, running: bool = False) -> None:
        s = self.session
        if st.name == "epoch":  # the epoch's losses are recorded: the loss plot shows them
            self.seen = 0
            return
        if st.x is None or st.x.shape != s.net.pos.shape:  # (of a network since replaced)
            return
        if not s.banner:
            s.say("")
        s.stage, s.example = st, st.example
        s.magnify = magnification(st, s.net, s.trainer.task)
        if animate:
            runs = getattr(s.trainer.engine, "trajectories", None) if s.engine_name == "physical" else None
            count = None
            if played and self.pace == "normal":
                count = self.stage_frames() * (2 if st.name == "update" else 1)
            s.frames.extend(frames_for(st, s.x, s.magnify, runs, self.slow, count))
        else:
            s.x = shown_state(st, s.magnify)
        if not np.isfinite(shown_state(st, s.magnify)).all():  # (a stage of a world that blew up: keep what was shown)
            s.still()
            s.x = s.net.pos.copy() if not np.isfinite(s.x).all() else s.x
        if st.name == "free":
            self.seen += 1
            s.ghost = None
            s.step_costs.append(st.cost)
            s.energies = (energy(s.net, st.x), float("nan"))
        elif st.name == "nudged":
            s.ghost = st.x_free
            s.energies = (energy(s.net, st.x_free), energy(s.net, st.x) + s.rule.beta * st.phases.cost.value(st.x))
        elif st.name == "update":
            s.history.trained(st.before, running)
            s.updates_since_said += running
            if s.banner and not s.warning and s.updates_since_said >= BANNER_UPDATES:
                s.say("")
            s.ghost = None
            s.change = st.dk if s.rule.learn != "rest_length" else st.dL
