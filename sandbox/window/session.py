"""What the window shows, frame by frame, with no pygame: a training session that can be paused,
stepped a stage or an example at a time, run fast, reset, and retuned while it runs.

It drives the very Trainer that headless training uses (same batches, same seed, same updates),
and turns its stages into frames: in the physical engine the frames are the pymunk world's own
motion as it settles (computed off the window's thread); in the exact engine a short glide to
each new equilibrium. Its edit mode is in sandbox/edit_mode.py.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, wait
from dataclasses import replace

import numpy as np

from ..learning.rules import ep_gradient, ep_phases, exact_gradient
from ..learning.trainer import DivergenceError, Stage, Trainer
from ..physics.energy import energy, extensions
from ..physics.equilibrium import FloppyNetworkError, NewtonSolver
from ..physics.world import World, WorldEngine
from ..scenes import editor
from ..scenes.build import Scene, load_scene
from ..window.background import exclusive, in_background
from ..window.edit_mode import EDITING, EditMode

UNDO_DEPTH = 50

CAPTIONS = {
    "free": "free phase: relaxing with the inputs clamped",
    "nudged": "nudged phase: outputs pulled toward their targets",
    "update": "update: springs that stretched more when nudged got softer",
}
ENGINES = ("physical", "exact")


QUICK_STEPS = 20_000  # pymunk steps a free phase may take for the window to open on the physical engine


def settles_quickly(scene: Scene, steps: int = QUICK_STEPS) -> bool:
    """Whether the pymunk world settles the scene's first example within `steps` steps (a
    fraction of a second): small, well-conditioned networks do; slow ones open on exact."""
    if scene.net.n_nodes > 60:
        return False
    engine = WorldEngine(scene.spec.physics, tol=1e-9, max_steps=steps)
    try:
        return engine.relax(scene.net, scene.task.start(scene.net, int(scene.task.train[0]))).converged
    except (FloppyNetworkError, NotImplementedError):
        return False


class Session(EditMode):
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
        self._job: Future | None = None  # a stage computing in the background
        self._job_started = 0.0
        self.version = 0
        self._start(scene)

    # ------------------------------------------------------------ life cycle

    def _start(self, scene: Scene, rule=None):
        self.scene = scene
        self.net = scene.net
        self.trainer = Trainer.from_scene(scene, rule, self._engine())
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
        self.selected: int | None = None
        self.events: list[tuple[int, str]] = []  # (index into history, label): marks on the plot
        self.undo_stack: list = []
        self.world: World | None = None  # the live world while a node is dragged or settles
        self.dragging: int | None = None
        self.editing = False
        self.version += 1  # counts changes of the network (new scene, cuts, edits, undos)
        self.edits = 0  # edits made since editing began
        self.picked: int | None = None  # the node an edit works on (and new springs start from)
        self.grip: dict | None = None  # what an edit drag holds: a node, a target or a clamp
        self.loose: list[int] = []  # nodes nothing holds yet (marked while editing)
        self.pending: tuple | None = None  # (role, node): the first end of a strain pair being made
        self.mark_saved()

    def mark_saved(self) -> None:
        """What is shown now is saved (or is the scene as opened)."""
        self._saved = (self.trainer.steps, self.version)

    @property
    def unsaved(self) -> bool:
        """Training steps, cuts or edits since the scene was opened or last saved."""
        return (self.trainer.steps, self.version) != self._saved

    def _engine(self):
        if self.engine_name == "physical":
            return WorldEngine(self.scene.spec.physics, tol=1e-9, record=90)
        return None

    @exclusive
    def reset(self):
        """Back to the scene as loaded (same seed, same settings as the file)."""
        self._start(load_scene(self.source))

    @exclusive
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

    @exclusive
    def set_engine(self, name: str):
        self.engine_name = name
        self.trainer.engine = self._engine() or NewtonSolver()
        if name == "physical" and not settles_quickly(self.scene):
            self.message = "physical engine: this network settles slowly (seconds a phase); F or P for exact"

    @exclusive
    def set_drag(self, drag: float):
        self.scene.spec.physics.drag = drag
        if self.engine_name == "physical":
            self.trainer.engine = self._engine()

    # ------------------------------------------------------------ time

    def tick(self, budget_s: float = 0.012) -> None:
        """Advance one frame: show the next pending frame, or, when running, the next stage.
        In fast mode, train for up to budget_s of wall time and show where it got. While a node
        is dragged (or the network settles after), the live world moves instead. On the
        physical engine a stage is computed in a worker thread, and the window shows the world
        settling while it waits."""
        self.flash = max(0.0, self.flash - 0.02)
        if self._job is not None:
            # give the worker the frame's budget: a busy drawing thread would starve it of the GIL
            wait([self._job], timeout=budget_s)
            if self._job.done():
                self._collect()
            else:
                traj = getattr(self.trainer.engine, "trajectory", None)
                if traj:
                    self.x = traj[-1]
            return
        if self.world is not None:
            self.world.step(max(20, min(2000, 40_000 // max(1, self.net.n_nodes))))
            self.x = self.world.positions()
            if self.dragging is None and self.world.residual(self.x) < 1e-7:
                self.world = None
            return
        if self.frames:
            self.x = self.frames.popleft()
            return
        if self.paused:
            return
        if self.fast:
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < budget_s:
                if self._advance(animate=False) is None:
                    break
            return
        if self.engine_name == "physical":
            self._job, self._job_started = in_background(self._next_stage), time.perf_counter()
            return
        self._advance(animate=True)

    @property
    def busy(self) -> bool:
        """A stage is being computed in the background."""
        return self._job is not None and not self._job.done()

    def _collect(self) -> None:
        """Show the stage the worker computed (waiting for it if need be). A stage that took
        long was watched live: it is shown at once instead of replayed."""
        job, self._job = self._job, None
        quick = time.perf_counter() - self._job_started < 0.5
        st = self._guarded(job.result)
        if st is not None:
            self._show(st, animate=quick)

    def _finish_job(self) -> None:
        if self._job is not None:
            self._collect()

    @exclusive
    def step_stage(self) -> Stage | None:
        """One stage (free, nudged or update), animated."""
        return self._advance(animate=True)

    @exclusive
    def step_example(self) -> None:
        """Through the next update (one mini-batch), without animation."""
        while True:
            st = self._advance(animate=False)
            if st is None or st.name == "update":
                return

    @exclusive
    def run_epochs(self, n: int) -> None:
        """Train n whole epochs at once, as headless training does."""
        goal = self.trainer.epochs_done + n
        while self.trainer.epochs_done < goal:
            if self._advance(animate=False) is None:
                break

    def _advance(self, animate: bool) -> Stage | None:
        st = self._guarded(self._next_stage)
        if st is not None and st.name == "epoch" and animate:
            st = self._guarded(self._next_stage)  # stepping shows a stage, not the bookkeeping
        if st is not None:
            self._show(st, animate)
        return st

    def _next_stage(self) -> Stage:
        """The next stage of the trainer's one training loop (in the worker thread on the
        physical engine)."""
        if self._stages is None:
            self._stages = self.trainer.stages()
        return next(self._stages)

    def _guarded(self, compute) -> Stage | None:
        """compute(), or None with the reason on screen if learning diverged (the trainer has
        rolled back to its last good epoch) or the network went floppy."""
        try:
            return compute()
        except DivergenceError as exc:
            self.message = f"learning diverged: {exc}. Z undoes further."
            self._stages = None
            self.paused = True
            self._show_free_state()
        except FloppyNetworkError:
            self.message = "the network became floppy (a part can move freely): press Z to undo"
        self.paused = True
        self._stages = None
        return None

    def _show(self, st: Stage, animate: bool):
        if st.name == "epoch":  # the epoch's losses are recorded: the loss plot shows them
            return
        self.stage = st
        self.example = st.example
        target = st.x
        self.magnify = 1.0
        if st.name == "nudged":
            # a weak nudge moves the outputs by ~beta: draw its motion magnified so it shows, but
            # never past half the way to the targets (near them the nudge is truly small)
            task = self.trainer.task
            shift = max(float(np.linalg.norm(st.x - st.x_free, axis=1).max()), 1e-300)
            gap = float(np.linalg.norm(task.target_points(self.net, st.example, st.x_free)
                                       - task.output_points(st.x_free), axis=1).max())
            size = float(np.ptp(self.net.pos, axis=0).max())
            self.magnify = float(np.clip(min(0.04 * size, 0.5 * gap) / shift, 1.0, 1e5))
            target = st.x_free + self.magnify * (st.x - st.x_free)
        if animate:
            # the world's own motion: of the relaxations just run, the one that ended in this state
            runs = getattr(self.trainer.engine, "trajectories", None)
            traj = min(runs, key=lambda t: float(np.abs(t[-1] - st.x).max())) if runs else None
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
            self._push_undo(before=st.before)
            self.ghost = None
            self.change = st.dk if self.rule.learn != "rest_length" else st.dL
            self.flash = 1.0

    # ------------------------------------------------------------ hands on

    @exclusive
    def show_example(self, s: int) -> None:
        """Clamp example s (any example, train or test) and show its free equilibrium and target."""
        self.example = int(s) % self.trainer.task.n_examples
        self.frames.clear()
        self.world = None
        self.ghost = None
        split = "test" if self.example in set(self.trainer.task.test.tolist()) else "train"
        self.message = f"showing example {self.example} ({split})"
        if not self.editing:  # (editing, the drawing stays; its markers are this example's)
            self._show_free_state()

    def _show_free_state(self) -> None:
        """Show the shown example's free equilibrium, or say why there is none."""
        try:
            self.x = self.trainer.free_state(self.example).x
        except FloppyNetworkError:
            self.message = "the network is floppy (a part can move freely): press Z to undo"

    @exclusive
    def grab(self, i: int, p) -> None:
        """Take node i with the mouse at world point p: the live world follows the drag."""
        self.paused = True
        self.frames.clear()
        self.world = World(self.net, self.x, self.scene.spec.physics.drag)
        self.dragging = i
        if self.net.held[i]:
            self.world.hold(i, p)
        else:
            self.world.grab(i, p)

    def drag_to(self, p) -> None:
        if self.world is None or self.dragging is None:
            return
        if self.net.held[self.dragging]:
            self.world.hold(self.dragging, p)  # a clamped input moves to a new clamp position
        else:
            self.world.drag_to(p)

    def release(self) -> None:
        """Let go: the network relaxes (to the input's new clamp position, if it was an input)."""
        if self.world is not None:
            self.world.release()
        self.dragging = None

    def _push_undo(self, before=None, scene: Scene | None = None):
        """Remember the network before an update or a cut (its springs), or before an edit (the
        whole scene, which the edit replaces)."""
        if scene is not None:
            self.undo_stack.append(scene)
        else:
            k, L = before if before is not None else (self.net.k, self.net.L)
            self.undo_stack.append((self.net.edges.copy(), np.array(k, float), np.array(L, float),
                                    self.change.copy()))
        del self.undo_stack[:-UNDO_DEPTH]

    def _adopt(self, scene: Scene) -> None:
        """Carry on with another version of the scene: same rule, engine, history and marks."""
        old = self.trainer
        self.scene, self.net = scene, scene.net
        self.trainer = Trainer.from_scene(scene, old.rule, old.engine)
        self.trainer.history, self.trainer.steps, self.trainer.epochs_done = old.history, old.steps, old.epochs_done
        self._stages = None
        self.example = min(self.example, self.trainer.task.n_examples - 1)
        self.change = np.zeros(self.net.n_springs)
        self.picked = self.picked if self.picked is not None and self.picked < self.net.n_nodes else None
        self.pending = None
        self._structure_changed()

    @exclusive
    def undo(self) -> bool:
        """Back to the network before the last update, cut or edit, exactly. False if none is left."""
        if not self.undo_stack:
            return False
        last = self.undo_stack.pop()
        if isinstance(last, Scene):
            self._adopt(last)
        else:
            edges, k, L, change = last
            self.net.edges, self.net.k, self.net.L = edges, k, L
            self.change = change if len(change) == len(k) else np.zeros(len(k))
            self._structure_changed()
        self.message = "undone"
        return True

    @exclusive
    def cut(self, springs) -> None:
        """Remove springs (indices) from the model, the world and the picture; undoable."""
        springs = sorted({int(e) for e in np.atleast_1d(springs)})
        if not springs:
            return
        self._push_undo()
        self.net.remove_springs(springs)
        self.change = np.zeros(self.net.n_springs)
        self.events.append((len(self.trainer.history) - 1, f"cut {len(springs)}"))
        self.message = f"cut {len(springs)} spring{'s' if len(springs) > 1 else ''}: Z undoes"
        self._structure_changed()

    def damage(self, fraction: float = 0.1, seed: int | None = None) -> None:
        """Cut a random fraction of the springs."""
        rng = np.random.default_rng(seed)
        n = max(1, int(round(fraction * self.net.n_springs)))
        self.cut(rng.choice(self.net.n_springs, size=n, replace=False))

    def _structure_changed(self):
        self.version += 1
        self.selected = None
        self._stages = None
        self.frames.clear()
        if hasattr(self.trainer.engine, "forget"):
            self.trainer.engine.forget()
        self.trainer.forget_states()
        if self.editing:
            self.loose = editor.loose_nodes(self.net)
            self.x = self.net.pos.copy()
        else:
            self._show_free_state()

    @exclusive
    def _gradients(self):
        """EP's and the exact dC/dk (E,) for the shown example, with its free and nudged states."""
        cost = self.trainer.task.cost(self.net, self.example)
        x0 = self.trainer.free_state(self.example).x
        rule = self.rule if self.rule.kind in ("one-sided", "centered") else replace(self.rule, kind="centered")
        ph = ep_phases(NewtonSolver(tol=1e-12), self.net, x0, cost, rule)
        return ep_gradient(self.net, ph)[0], exact_gradient(self.net, x0, cost)[0], x0, ph.x_b

    def spring_info(self, e: int) -> dict | None:
        """What the window says about spring e: k, L, its extension in the free and nudged states
        of the shown example, and its EP gradient beside the exact one. None while the network
        cannot be relaxed (floppy)."""
        try:
            gk, ek, x0, xb = self._gradients()
        except FloppyNetworkError:
            return None
        return dict(spring=e, k=float(self.net.k[e]), L=float(self.net.L[e]),
                    extension_free=float(extensions(self.net, x0)[e]),
                    extension_nudged=float(extensions(self.net, xb)[e]),
                    ep_grad=float(gk[e]), exact_grad=float(ek[e]))

    def agreement(self) -> np.ndarray | None:
        """(E,) disagreement of EP's dC/dk with the exact one, spring by spring, relative to the
        largest exact component: 0 where EP is exact. None while the network is floppy."""
        try:
            gk, ek, _, _ = self._gradients()
        except FloppyNetworkError:
            return None
        return np.abs(gk - ek) / (np.abs(ek).max() + 1e-300)

    # ------------------------------------------------------------ what to draw

    @property
    def caption(self) -> str:
        if self.message:
            return self.message
        if self.editing:
            return EDITING
        if self.busy:
            return "the pymunk world is settling (shown live as it moves)"
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
