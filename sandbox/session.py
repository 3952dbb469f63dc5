"""What the window shows, frame by frame, with no pygame: a training session that can be paused,
stepped a stage or an example at a time, run fast, reset, and retuned while it runs.

It drives the very Trainer that headless training uses (same batches, same seed, same updates),
and turns its stages into frames: in the physical engine the frames are the pymunk world's own
motion as it settles; in the exact engine a short glide to each new equilibrium.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

import numpy as np

from .energy import energy
from .equilibrium import NewtonSolver
from .learning import DivergenceError, Stage
from .runner import make_trainer
from .scene import Scene, load_scene
from .world import WorldEngine

CAPTIONS = {
    "free": "free phase: relaxing with the inputs clamped",
    "nudged": "nudged phase: outputs pulled toward their targets",
    "update": "update: springs that stretched more when nudged got softer",
}
ENGINES = ("physical", "exact")


class Session:
    """A training session for the window.

    x (N, 2): positions shown now; ghost (N, 2) or None: the free equilibrium, shown during the
    nudged phase; stage: the last Stage reached; change (E,): the last update's dk, shown as a
    flash; step_costs: the cost of each example at its free equilibrium, in order.
    """

    def __init__(self, scene: Scene, engine: str = "physical"):
        self.scene = scene
        self.source = scene.path
        self.paused = True
        self.fast = False
        self.slow = 1
        self.engine_name = engine
        self._start(scene)

    # ------------------------------------------------------------ life cycle

    def _start(self, scene: Scene, rule=None):
        self.scene = scene
        self.net = scene.net
        self.trainer = make_trainer(scene, rule, self._engine())
        self.trainer.record()
        self.k_ref = float(np.median(self.net.k))
        self.example = int(self.trainer.task.train[0])
        self.x = self.trainer.free_state(self.example).x
        self.ghost = None
        self.stage: Stage | None = None
        self.change = np.zeros(self.net.n_springs)
        self.flash = 0.0
        self.frames: deque = deque()
        self.step_costs: list[float] = []
        self.energies = (energy(self.net, self.x), float("nan"))
        self.magnify = 1.0
        self.message = ""
        self._stages = None
        self._batches: deque = deque()

    def _engine(self):
        if self.engine_name == "physical":
            return WorldEngine(self.scene.spec.physics, tol=1e-9, record=90)
        return None

    def reset(self):
        """Back to the scene as loaded (same seed, same settings as the file)."""
        self._start(load_scene(self.source))

    def open(self, path):
        self.source = path
        self._start(load_scene(path))

    # ------------------------------------------------------------ settings (live)

    @property
    def rule(self):
        return self.trainer.rule

    def set_rule(self, **changes):
        """Change learning settings (kind, beta, lr, learn) without resetting training."""
        self.trainer.rule = replace(self.trainer.rule, **changes)

    def set_engine(self, name: str):
        self.engine_name = name
        self.trainer.engine = self._engine() or NewtonSolver()

    def set_drag(self, drag: float):
        self.scene.spec.physics.drag = drag
        if self.engine_name == "physical":
            self.set_engine("physical")

    # ------------------------------------------------------------ time

    def tick(self, budget_s: float = 0.012) -> None:
        """Advance one frame: show the next pending frame, or, when running, the next stage.
        In fast mode, train for up to budget_s of wall time and show where it got."""
        self.flash = max(0.0, self.flash - 0.02)
        if self.frames:
            self.x = self.frames.popleft()
            return
        if self.paused:
            return
        if self.fast:
            import time

            t0 = time.perf_counter()
            while time.perf_counter() - t0 < budget_s:
                if self._advance(animate=False) is None:
                    break
            return
        self._advance(animate=True)

    def step_stage(self) -> Stage | None:
        """One stage (free, nudged or update), animated."""
        return self._advance(animate=True)

    def step_example(self) -> None:
        """Through the next update (one mini-batch), without animation."""
        while True:
            st = self._advance(animate=False)
            if st is None or st.name == "update":
                return

    def run_epochs(self, n: int) -> None:
        """Train n whole epochs at once, as headless training does."""
        for _ in range(n):
            while True:
                st = self._advance(animate=False)
                if st is None or (st.name == "update" and not self._batches and self._stages is None):
                    break

    def _advance(self, animate: bool) -> Stage | None:
        try:
            if self._stages is None:
                if not self._batches:
                    self._batches.extend(self.trainer.epoch_batches())
                self._stages = self.trainer.batch_stages(self._batches.popleft())
            st = next(self._stages, None)
            if st is None:
                self._stages = None
                return self._advance(animate)
        except DivergenceError as exc:
            self.paused = True
            self.message = f"learning diverged: {exc}"
            self._stages = None
            return None
        self._show(st, animate)
        if st.name == "update" and self._stages is not None:
            # the generator ends after its update: close it so the next call starts a batch
            if next(self._stages, None) is None:
                self._stages = None
            if not self._batches:
                self.trainer.epochs_done += 1
                self.trainer.record()
        return st

    def _show(self, st: Stage, animate: bool):
        self.stage = st
        self.example = st.example
        target = st.x
        self.magnify = 1.0
        if st.name == "nudged":
            # a weak nudge moves the outputs by ~beta: draw its motion magnified so it shows
            shift = float(np.abs(st.x - st.x_free).max())
            size = float(np.ptp(self.net.pos, axis=0).max())
            self.magnify = float(np.clip(0.04 * size / max(shift, 1e-300), 1.0, 1e5))
            target = st.x_free + self.magnify * (st.x - st.x_free)
        if animate:
            traj = getattr(self.trainer.engine, "trajectory", None)
            if self.engine_name == "physical" and traj and st.name != "update":
                frames = [st.x_free + self.magnify * (f - st.x_free) for f in traj] if st.name == "nudged" else list(traj)
            else:
                frames = [self.x + (target - self.x) * t for t in np.linspace(0, 1, 20)[1:]]
            for f in frames:
                for _ in range(self.slow):
                    self.frames.append(f)
            self.frames.append(target)
        else:
            self.x = target
        if st.name == "free":
            self.ghost = None
            self.step_costs.append(st.cost)
            self.energies = (energy(self.net, st.x), float("nan"))
        elif st.name == "nudged":
            self.ghost = st.x_free
            ph = st.phases
            self.energies = (energy(self.net, st.x_free),
                             energy(self.net, st.x) + self.rule.beta * ph.cost.value(st.x))
        elif st.name == "update":
            self.ghost = None
            self.change = st.dk if self.rule.learn != "rest_length" else st.dL
            self.flash = 1.0

    # ------------------------------------------------------------ what to draw

    @property
    def caption(self) -> str:
        if self.message:
            return self.message
        if self.stage is None:
            return "paused: press Space to train, S to step one stage"
        if self.stage.name == "nudged" and self.magnify > 1:
            return CAPTIONS["nudged"] + f" (motion shown x{self.magnify:.3g})"
        return CAPTIONS[self.stage.name]

    def nudge_forces(self) -> np.ndarray | None:
        """(N, 2) nudge force on the outputs during the nudged phase, else None."""
        if self.stage is None or self.stage.name != "nudged" or self.stage.phases is None:
            return None
        cost = self.stage.phases.cost
        return -self.rule.beta * cost.gradient(self.stage.x)

    @property
    def loss(self) -> float:
        return self.trainer.history[-1]["loss"] if self.trainer.history else float("nan")
