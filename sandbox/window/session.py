"""What the window shows, frame by frame, with no pygame: a training session that can be paused,
stepped a stage or an example at a time, run fast, reset, and retuned while it runs.

It drives the very Trainer that headless training uses (same batches, same seed, same updates,
same divergence policy), and turns its stages into frames: in the physical engine the frames are
the pymunk world's own motion as it settles; in the exact engine a short glide to each new
equilibrium. Its edit mode is in sandbox/window/edit_mode.py.

The window's thread never computes: opening a scene (and choosing its engine), a stage,
settling, evaluating and building an edited scene are Jobs (sandbox/window/background.py), one
at a time; `tick` collects a finished job and shows it. Whatever makes a job moot (another
scene, reset, an engine switch, Esc, a change of the network) cancels it. The commands the
window offers are the public methods under "commands"; the window maps keys and buttons to them.
"""

from __future__ import annotations

import time
import traceback
from collections import deque
from concurrent.futures import wait
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..learning.rules import LEARNS, ep_gradient, ep_phases, exact_gradient
from ..learning.trainer import DivergenceError, Stage, Trainer
from ..physics.energy import energy, extensions
from ..physics.equilibrium import FloppyNetworkError, NewtonSolver
from ..physics.world import World, WorldEngine
from ..scenes import editor
from ..scenes.build import Scene, load_scene
from ..scenes.messages import SceneError
from ..window.background import Cancelled, Job, checkpoint
from ..window.edit_mode import EDITING, EditMode

UNDO_DEPTH = 50
RULE_CYCLE = ("centered", "one-sided", "coupled")
ENGINES = ("physical", "exact")
FAST_BURST_S = 0.1  # worker time per fast-mode job: the window shows where training got after each
DRAG_BUDGET_S = 0.008  # main-thread time a frame may spend stepping the live world under the mouse

CAPTIONS = {
    "free": "free phase: relaxing with the inputs clamped",
    "nudged": "nudged phase: outputs pulled toward their targets",
    "update": "update: springs that stretched more when nudged got softer",
}

QUICK_STEPS = 20_000  # pymunk steps a free phase may take for a scene to open on the physical engine


def settles_quickly(scene: Scene, steps: int = QUICK_STEPS) -> bool:
    """Whether the pymunk world settles the scene's first example within `steps` steps (a
    fraction of a second): small, well-conditioned networks do; slow ones open on exact.
    Takes up to a second: call it off the window's thread."""
    if scene.net.n_nodes > 60:
        return False
    engine = WorldEngine(scene.spec.physics, tol=1e-9, max_steps=steps)
    try:
        return engine.relax(scene.net, scene.task.start(scene.net, int(scene.task.train[0]))).converged
    except (FloppyNetworkError, NotImplementedError):
        return False


class _Checked:
    """Mixin for engines: a checkpoint before each relaxation (a cancelled job stops there)."""

    def relax(self, *args, **kwargs):
        checkpoint()
        return super().relax(*args, **kwargs)


class ExactEngine(_Checked, NewtonSolver):
    """The Newton solver, stoppable between relaxations (and between chunks of a batch)."""

    def checkpoint(self) -> None:
        checkpoint()


class _CheckedWorld(World):
    def residual(self, *args, **kwargs):  # settle() checks the residual every few dozen steps
        checkpoint()
        return super().residual(*args, **kwargs)


class PhysicalEngine(_Checked, WorldEngine):
    """The pymunk world as engine, stoppable within a relaxation (at every check of settle)."""

    def relax(self, net, x_start, *args, **kwargs):
        if self.world is None or self.world.net is not net or len(self.world.springs) != net.n_springs:
            self.world = _CheckedWorld(net, x_start, self.drag)
        return super().relax(net, x_start, *args, **kwargs)


def make_engine(name: str, physics=None):
    """The engine called `name` (one of ENGINES) for the window."""
    if name == "physical":
        return PhysicalEngine(physics, tol=1e-9, record=90)
    return ExactEngine()


def engine_name(engine) -> str:
    """Which of ENGINES an engine object is."""
    return "physical" if isinstance(engine, WorldEngine) else "exact"


def coupled_unavailable(trainer: Trainer) -> str:
    """Why coupled learning cannot run now ('' if it can): it clamps the outputs, which the
    pymunk world cannot, and it needs target positions, which a margin cost has not."""
    if engine_name(trainer.engine) == "physical":
        return "coupled learning clamps the outputs: exact engine only (P switches)"
    s = int(trainer.task.train[0])
    try:
        trainer.task.cost(trainer.net, s).coupled_clamp(trainer.net.pos, 0.5)
    except NotImplementedError:
        return "coupled learning needs target positions; this scene's cost has none"
    return ""


@dataclass
class Opened:
    """A scene made ready off the window's thread: its engine chosen, evaluated, first state."""

    scene: Scene
    trainer: Trainer
    x: np.ndarray
    note: str = ""
    cost: float = float("nan")  # the first example's cost at x


def prepare(scene: Scene, engine: str | None = None, rule=None) -> Opened:
    """Choose the engine (the physical one where the world settles in time, unless given),
    evaluate the untrained network and relax its first example. Runs in a worker."""
    if engine is None:  # (coupled learning, as a saved copy may ask, runs on the exact engine only)
        coupled = (rule or scene.rule()).kind == "coupled"
        engine = "physical" if not coupled and settles_quickly(scene) else "exact"
    trainer = Trainer.from_scene(scene, rule, make_engine(engine, scene.spec.physics))
    trainer.record()
    s = int(trainer.task.train[0])
    x = trainer.free_state(s).x
    return Opened(scene, trainer, x, cost=trainer.task.cost(scene.net, s).value(x))


class Session(EditMode):
    """A training session for the window.

    x (N, 2): positions shown now; ghost (N, 2) or None: the free equilibrium, shown during the
    nudged phase; stage: the last Stage reached; change (E,): the last update's dk (or dL),
    shown while the update is; step_costs: each example's cost at its free equilibrium, in
    order; job: the work running in the background (None when idle); info: what the window says
    about the selected spring (None until computed).
    """

    def __init__(self, scene: Scene, engine: str | None = None):
        self.paused = True
        self.fast = False
        self.slow = 1
        self.version = 0
        self.job: Job | None = None
        self._queue: deque = deque()  # actions waiting for the job to end
        self._side: Job | None = None  # a read-only computation (inspecting a spring, EP vs exact)
        self.agreement_values = None  # (key, (E,) array) once computed
        self._engine_before_fast: str | None = None
        self._banner = False  # the message is a warning that stays until the next command
        self.source = Path(scene.path)
        self._install(Opened(scene, Trainer.from_scene(scene, None, ExactEngine()), scene.net.pos.copy()))
        self._submit("open", f"opening {self.source.name}", lambda: prepare(scene, engine), self._opened)

    # ------------------------------------------------------------ life cycle

    def _install(self, opened: Opened):
        self.generation = getattr(self, "generation", 0) + 1  # counts scenes opened
        scene = opened.scene
        self.scene = scene
        self.net = scene.net
        self.trainer = opened.trainer
        self.k_ref = float(np.median(self.net.k)) if self.net.n_springs else 1.0
        self.example = int(self.trainer.task.train[0])
        self.x = opened.x
        self.ghost = None
        self.stage: Stage | None = None
        self.change = np.zeros(self.net.n_springs)
        self.frames: deque = deque()
        self.step_costs: list[float] = []
        self.energies = (energy(self.net, self.x), float("nan"))
        self.magnify = 1.0
        self.message = opened.note
        self._stages = None
        self.selected: int | None = None
        self.info: dict | None = None
        self.events: list[tuple[int, str]] = []  # (index into history, label): marks on the plot
        self.undo_stack: list = []
        self.world: World | None = None  # the live world while a node is dragged or settles
        self.dragging: int | None = None
        self._drag_point = None
        self.editing = False
        self.version += 1  # counts changes of the network (new scene, cuts, edits, undos)
        self.edits = 0  # edits made since editing began
        self.picked: int | None = None  # the node an edit works on (and new springs start from)
        self.grip: dict | None = None  # what an edit drag holds: a node, a target or a clamp
        self.loose: list[int] = []  # nodes nothing holds yet (marked while editing)
        self.pending: tuple | None = None  # (role, node): the first end of a strain pair being made
        self.mark_saved()

    def _opened(self, opened: Opened):
        self.fast, self._engine_before_fast = False, None
        self._install(opened)
        if np.isfinite(opened.cost):
            self.step_costs.append(opened.cost)
        self.say(f"opened {self.source.name} on the {self.engine_name} engine"
                 + ("" if self.engine_name == "physical" else " (the pymunk world settles it slowly)"
                    if self.net.n_nodes <= 60 else ""))

    def mark_saved(self) -> None:
        """What is shown now is saved (or is the scene as opened)."""
        self._saved = (self.trainer.steps, self.version)

    @property
    def unsaved(self) -> bool:
        """Training steps, cuts or edits since the scene was opened or last saved."""
        return (self.trainer.steps, self.version) != self._saved

    @property
    def engine_name(self) -> str:
        """The engine the trainer runs on now (what the window must show)."""
        return engine_name(self.trainer.engine)

    # ------------------------------------------------------------ jobs

    def _submit(self, kind: str, label: str, compute, then=None, touches_network: bool = True,
                bound: bool = False) -> None:
        """Run compute() in the background once no other job runs; then(result) on this thread."""
        def start():
            self.job = Job(label, compute, then, touches_network)
            self.job.kind = kind
        self._after_job(start, bound=bound)

    def _after_job(self, action, cancel: tuple = (), bound: bool = False) -> None:
        """Run action() on this thread as soon as no job runs (now, if none does). A running job
        of a kind in `cancel` is cancelled first (what it computes has become moot). A `bound`
        action is about the scene shown now (a spring, a node): dropped if another opens first."""
        if self.job is None and not self._queue:
            action()
            return
        if self.job is not None and self.job.kind in cancel:
            self.job.cancel()
        self._queue.append((self.generation if bound else None, action))

    def _cancel(self, kinds=("stage", "open", "state", "check", "grab", "edit")) -> bool:
        """Cancel the running job if of one of these kinds, and what waits behind it. True if
        something was cancelled."""
        hit = False
        if self.job is not None and self.job.kind in kinds and not self.job.cancelled:
            self.job.cancel()
            hit = True
        if self._queue:
            self._queue.clear()
            hit = True
        return hit

    def _poll(self) -> None:
        """Collect a finished job, then start what waits for it."""
        while True:
            if self.job is not None:
                if not self.job.done():
                    return
                job, self.job = self.job, None
                self._collect(job)
            if not self._queue:
                return
            generation, action = self._queue.popleft()
            if generation in (None, self.generation):  # (not about a scene that has since been replaced)
                action()

    def _collect(self, job: Job) -> None:
        try:
            result = job.future.result()
        except Cancelled:
            return
        except DivergenceError as exc:
            self._diverged(exc)
            return
        except FloppyNetworkError:
            self.say("the network is floppy (a part can move freely): press Z to undo", banner=True)
            self.paused = True
            self._stages = None
            return
        except Exception as exc:  # noqa: BLE001 - nothing unexpected may leave a frame
            self.recover(exc)
            return
        if job.cancelled and job.kind != "stage":
            return  # moot: a cancelled stage that finished anyway is still shown (it changed k)
        if job.then is not None:
            self._collected = job
            job.then(result)

    def wait(self, timeout: float = 600.0) -> Session:
        """Block until no job runs or waits (for scripts and tests; the window never calls it)."""
        end = time.perf_counter() + timeout
        while self.job is not None or self._queue:
            if self.job is not None:
                wait([self.job.future], timeout=max(0.0, end - time.perf_counter()))
                if not self.job.done():
                    raise TimeoutError(f"{self.job.label} still running after {timeout} s")
            self._poll()
        if self._side is not None:
            wait([self._side.future], timeout=max(0.0, end - time.perf_counter()))
            self._poll_side()
        return self

    @property
    def busy(self) -> bool:
        """Something is being computed in the background."""
        return self.job is not None

    def recover(self, exc: BaseException) -> None:
        """Something unexpected went wrong: pause, roll back to the last good state, say so on
        the window and print the traceback to stderr."""
        traceback.print_exception(exc)
        self._cancel()
        self.paused, self.fast = True, False
        self.frames.clear()
        self.world, self.dragging, self.grip = None, None, None
        self._stages = None
        self.trainer.rollback()
        self.say(f"something went wrong ({type(exc).__name__}: {exc}); training paused and rolled back "
                 f"to epoch {self.trainer.epochs_done}; details on the terminal", banner=True)
        self._show_free_state()

    def say(self, text: str, banner: bool = False) -> None:
        """Put a message on the caption (a banner stays until the next command)."""
        self.message, self._banner = text, banner

    def _command(self) -> None:
        """A new command: the last one's message is answered."""
        self.message, self._banner = "", False

    # ------------------------------------------------------------ commands: time

    def toggle_play(self) -> None:
        self._command()
        if self.editing and not self.stop_editing():
            return
        self.paused = not self.paused

    def pause(self) -> None:
        self.paused = True

    def step_stage(self) -> None:
        """One stage (free, nudged or update), animated."""
        self._command()
        if self.editing and not self.stop_editing():
            return
        self.paused = True
        self.frames.clear()
        if self.job is not None and self.job.kind == "stage":
            return  # the stage being computed is the step
        self._submit("stage", "computing the next stage", lambda: self._pull(1), self._show_stages)

    def step_example(self) -> None:
        """Through the next update (one mini-batch), shown without animation."""
        self._command()
        if self.editing and not self.stop_editing():
            return
        self.paused = True
        self.frames.clear()

        def compute():
            out = []
            while not out or out[-1].name != "update":
                out += self._pull(1)
            return out
        self._submit("stage", "training one example", compute, lambda sts: self._show_stages(sts, animate=False))

    def run_epochs(self, n: int) -> None:
        """Train n whole epochs at once, as headless training does (in the background)."""
        goal = self.trainer.epochs_done + n

        def compute():
            out = []
            while self.trainer.epochs_done < goal:
                out += self._pull(1)[-1:]
            return out
        self._submit("stage", f"training {n} epochs", compute, lambda sts: self._show_stages(sts, animate=False))

    def toggle_fast(self) -> None:
        """Fast mode trains on the exact engine, drawing only the states; off, the engine that
        ran before comes back."""
        self._command()
        if self.editing and not self.stop_editing():
            return
        self._cancel(("stage",))
        self.fast = not self.fast
        self.frames.clear()
        if self.fast:
            self.paused = False
            self._engine_before_fast = self.engine_name
            self._after_job(lambda: self._use_engine("exact"))
        else:
            self.paused = True
            back, self._engine_before_fast = self._engine_before_fast, None
            if back and back != self.engine_name:
                self._after_job(lambda: self._use_engine(back))

    def toggle_slow(self) -> None:
        self._command()
        self.slow = 1 if self.slow > 1 else 4

    def cancel(self) -> bool:
        """Esc: stop what is computing (and pause). True if there was something to stop."""
        if self.job is None and not self._queue:
            return False
        self._command()
        label = self.job.label if self.job is not None else "waiting work"
        self._cancel()
        self.paused = True
        self.say(f"cancelled: {label}")
        return True

    frame_wait_s = 0.012  # how long a frame waits for a running job (the worker gets the GIL meanwhile)

    def tick(self, budget_s: float | None = None) -> None:
        """Advance one frame: collect finished work, show the next pending frame, or, when
        running, start the next stage. While a stage computes on the physical engine the world
        is shown as it settles. While a node is dragged (or the network settles after), the
        live world moves a frame's worth (at most DRAG_BUDGET_S of stepping)."""
        if self.job is not None and not self.job.done():
            # give the worker the frame's time: a busy drawing thread would starve it of the GIL
            wait([self.job.future], timeout=self.frame_wait_s if budget_s is None else budget_s)
        self._poll()
        self._poll_side()
        if self.world is not None:
            self._step_world()
            return
        if self.job is not None and self.job.kind == "stage":
            traj = getattr(self.trainer.engine, "trajectory", None)
            if traj and not self.frames and traj[-1].shape == self.x.shape and np.isfinite(traj[-1]).all():
                self.x = traj[-1]  # (a world that blew up is not shown: the trainer's guard deals with it)
        if self.frames:
            self.x = self.frames.popleft()
            return
        if self.paused or self.editing or self.job is not None or self._queue:
            return
        if not self._banner:
            self.message = ""
        if self.fast:
            self._submit("stage", "training fast", self._burst, lambda sts: self._show_stages(sts, animate=False))
        else:
            self._submit("stage", "computing the next stage", lambda: self._pull(1), self._show_stages)

    def _step_world(self) -> None:
        t0 = time.perf_counter()
        n = max(1, min(20, 1000 // max(1, self.net.n_nodes)))
        while time.perf_counter() - t0 < DRAG_BUDGET_S:
            self.world.step(n)
        self.x = self.world.positions()
        if self.dragging is None and self.world.residual(self.x) < 1e-7:
            self.world = None

    # ------------------------------------------------------------ stages (in the worker)

    def _pull(self, n: int) -> list[Stage]:
        """The next n stages that show something (an epoch's bookkeeping comes along)."""
        out = []
        while sum(st.name != "epoch" for st in out) < n:
            if self._stages is None:
                self._stages = self.trainer.stages()
            try:
                out.append(next(self._stages))
            except BaseException:
                self._stages = None
                raise
        return out

    def _burst(self) -> list[Stage]:
        t0 = time.perf_counter()
        out = []
        while time.perf_counter() - t0 < FAST_BURST_S:
            out += self._pull(1)
        return out

    def _diverged(self, exc: DivergenceError) -> None:
        """The trainer rolled back to its last good epoch: say so, pause, show its state."""
        self.say(f"learning diverged: {exc}. Z undoes further.", banner=True)
        self._stages = None
        self.paused, self.fast = True, False
        self.frames.clear()
        self._show_free_state()

    def _show_stages(self, stages: list[Stage], animate: bool = True) -> None:
        # a stage that took long was watched live: it is shown at once instead of replayed
        quick = getattr(self, "_collected", None) is None or self._collected.seconds < 0.5
        for st in stages:
            self._show(st, animate=animate and quick and st is stages[-1])

    def _show(self, st: Stage, animate: bool):
        if st.name == "epoch":  # the epoch's losses are recorded: the loss plot shows them
            return
        if not self._banner:
            self.message = ""
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
                traj = [f for f in traj if f.shape == st.x.shape and np.isfinite(f).all()]
                frames = [st.x_free + self.magnify * (f - st.x_free) for f in traj] if st.name == "nudged" else list(traj)
            else:
                frames = [self.x + (target - self.x) * t for t in np.linspace(0, 1, 20)[1:]]
            for f in frames:
                for _ in range(self.slow):
                    self.frames.append(f)
            self.frames.append(target)
        else:
            self.x = target
        if not np.isfinite(target).all():  # (a stage of a world that blew up: keep what was shown)
            self.frames.clear()
            self.x = self.net.pos.copy() if not np.isfinite(self.x).all() else self.x
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

    @property
    def flashing(self) -> bool:
        """The last update's changes are shown (green stiffer, orange softer) while the update
        stage is: they last as long as the caption that names them."""
        return self.stage is not None and self.stage.name == "update" and not self.editing

    @property
    def coupled_reason(self) -> str:
        """Why coupled learning cannot run now ('' if it can); kept until the engine or the
        network changes."""
        key = (self.engine_name, self.generation, self.version)
        if getattr(self, "_coupled", (None,))[0] != key:
            self._coupled = (key, coupled_unavailable(self.trainer))
        return self._coupled[1]

    # ------------------------------------------------------------ commands: settings

    @property
    def rule(self):
        return self.trainer.rule

    def set_rule(self, **changes) -> bool:
        """Change learning settings (kind, beta, lr, learn) without resetting training. Coupled
        learning where it cannot run is refused with the reason (False)."""
        if changes.get("kind") == "coupled" and (why := self.coupled_reason):
            self.say(f"not available: {why}")
            return False
        self.trainer.rule = replace(self.trainer.rule, **changes)
        return True

    def cycle_rule(self) -> None:
        """The next rule of RULE_CYCLE that can run now."""
        self._command()
        kind = self.rule.kind if self.rule.kind in RULE_CYCLE else RULE_CYCLE[-1]
        for j in range(1, len(RULE_CYCLE) + 1):
            nxt = RULE_CYCLE[(RULE_CYCLE.index(kind) + j) % len(RULE_CYCLE)]
            if nxt != "coupled" or not self.coupled_reason:
                self.set_rule(kind=nxt)
                if nxt != RULE_CYCLE[(RULE_CYCLE.index(kind) + 1) % len(RULE_CYCLE)]:
                    self.say(f"rule: {nxt} (coupled skipped: {self.coupled_reason})")
                return

    def cycle_learn(self) -> None:
        self._command()
        self.set_rule(learn=LEARNS[(LEARNS.index(self.rule.learn) + 1) % len(LEARNS)])

    def scale_lr(self, factor: float) -> None:
        self._command()
        self.set_rule(lr=self.rule.lr * factor)

    def scale_beta(self, factor: float) -> None:
        self._command()
        self.set_rule(beta=min(1.0, self.rule.beta * factor))

    def set_engine(self, name: str) -> None:
        """Switch engine. The physical one is checked first (off this thread): on a network the
        world settles slowly it says what a phase will cost."""
        self._command()
        if name == self.engine_name:
            return
        if name == "physical" and self.rule.kind == "coupled":
            self.say("not available: the physical engine cannot do coupled learning (U changes the rule)")
            return
        self.fast, self._engine_before_fast = False, None
        self._cancel(("stage", "check"))
        if name == "exact":
            self._after_job(lambda: self._use_engine("exact"))
            return
        scene = self.scene

        def then(quick: bool):
            self._use_engine("physical")
            if not quick:
                self.say("physical engine: the pymunk world settles this network slowly (seconds or more a "
                         "phase, shown live; Esc stops a phase, P goes back to exact)", banner=True)
        self._submit("check", "checking how fast the pymunk world settles this network",
                     lambda: settles_quickly(scene), then)

    def toggle_engine(self) -> None:
        self.set_engine("exact" if self.engine_name == "physical" else "physical")

    def _use_engine(self, name: str) -> None:
        if name == "physical" and self.rule.kind == "coupled":
            self.say("coupled learning runs on the exact engine only: staying on exact", banner=True)
            name = "exact"
        if name != self.engine_name:
            self.trainer.engine = make_engine(name, self.scene.spec.physics)
        self._stages = None

    def set_drag(self, drag: float) -> None:
        def apply():
            self.scene.spec.physics.drag = drag
            if self.engine_name == "physical":
                self._use_engine("physical")
        self._after_job(apply, cancel=("stage",))

    # ------------------------------------------------------------ commands: scenes

    def open(self, path) -> None:
        """Open a scene file (in the background; the engine is chosen for it). What was running
        is cancelled; if the file cannot be opened the message says why and nothing changes."""
        self._command()
        self._cancel()
        path = Path(path)

        def compute():
            try:
                return prepare(load_scene(path))
            except SceneError as exc:
                return f"cannot open {path.name}: {exc.problems[0] if exc.problems else exc}"

        def then(opened):
            if isinstance(opened, str):
                self.say(opened, banner=True)
                return
            self.source = path
            self._opened(opened)
        self._submit("open", f"opening {path.name}", compute, then)

    def reset(self) -> None:
        """Back to the scene as loaded (same seed, same settings as the file)."""
        self.open(self.source)

    # ------------------------------------------------------------ commands: hands on

    def show_example(self, s: int) -> None:
        """Clamp example s (any example, train or test) and show its free equilibrium and target."""
        self._command()

        def apply():
            self.example = int(s) % self.trainer.task.n_examples
            self.frames.clear()
            self.world = None
            self.ghost = None
            split = "test" if self.example in set(self.trainer.task.test.tolist()) else "train"
            self.say(f"showing example {self.example} ({split})", banner=True)
            if not self.editing:  # (editing, the drawing stays; its markers are this example's)
                self._show_free_state()
        self._after_job(apply, cancel=("stage",), bound=True)

    def next_example(self) -> None:
        self.show_example(self.example + 1)

    def _show_free_state(self) -> None:
        """Show the shown example's free equilibrium (computed in the background), with its
        cost and energy on the panel, or say why there is none."""
        trainer, s, version = self.trainer, self.example, self.version

        def compute():
            x = trainer.free_state(s).x
            return x, trainer.task.cost(trainer.net, s).value(x)

        def then(result):
            if self.version != version or self.editing:
                return
            x, cost = result
            self.frames.clear()
            if self.x.shape == x.shape:
                self.frames.extend(self.x + (x - self.x) * t for t in np.linspace(0, 1, 12)[1:])
            else:
                self.x = x
            self.ghost, self.stage = None, None
            self.step_costs.append(cost)
            self.energies = (energy(self.net, x), float("nan"))
        self._submit("state", "relaxing", compute, then)

    def grab(self, i: int, p) -> None:
        """Take node i with the mouse at world point p: the live world follows the drag (it is
        built off this thread; the drag starts when it is ready)."""
        self._command()
        self.paused = True
        self.frames.clear()
        self.dragging, self._drag_point = i, np.asarray(p, float)

        def start():
            net, x, drag = self.net, self.x.copy(), self.scene.spec.physics.drag
            if i >= net.n_nodes or self.editing:
                self.dragging = None
                return

            def then(world: World):
                if self.net is not net or self.editing:
                    return
                if self.dragging != i:  # let go before the world was ready: it settles from the press
                    world.release()
                elif self.net.held[i]:
                    world.hold(i, self._drag_point)
                else:  # (a capped pull, finite even when no spring is left)
                    world.grab(i, self._drag_point, max_force=50.0 * self.k_ref)
                self.world = world
            self._submit("grab", "taking hold of the network", lambda: World(net, x, drag), then)
        self._after_job(start, cancel=("stage",), bound=True)

    def drag_to(self, p) -> None:
        if self.dragging is None:
            return
        self._drag_point = np.asarray(p, float)
        if self.world is None:
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

    def select(self, e: int | None) -> None:
        """Select spring e (None: none) and compute what the panel says about it."""
        self._command()
        self.selected, self.info = e, None
        if e is None or self.editing:
            return
        snapshot = self._snapshot()

        def then(info):
            if self.selected == e and info is not None:
                self.info = info
        self._side_job(lambda: spring_info(*snapshot, e), then)

    def want_agreement(self) -> None:
        """Have EP vs exact computed for the state shown now (once per state)."""
        key = (self.trainer.steps, self.rule.beta, self.rule.kind, self.version, self.example)
        if self.agreement_values is not None and self.agreement_values[0] == key:
            return
        if self._side is not None and getattr(self._side, "key", None) == key:
            return
        snapshot = self._snapshot()

        def then(values):
            self.agreement_values = (key, values)
        self._side_job(lambda: agreement(*snapshot), then)
        self._side.key = key

    def _snapshot(self):
        return self.net.copy(), self.trainer.task, self.example, self.rule

    def _side_job(self, compute, then) -> None:
        if self._side is not None:
            self._side.cancel()
        self._side = Job("inspecting", compute, then, touches_network=False)

    def _poll_side(self) -> None:
        side = self._side
        if side is None or not side.done():
            return
        self._side = None
        try:
            result = side.future.result()
        except Cancelled:
            return
        except Exception as exc:  # noqa: BLE001
            self.recover(exc)
            return
        if not side.cancelled:
            side.then(result)

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

    def _adopt(self, scene: Scene, loose: list | None = None) -> None:
        """Carry on with another version of the scene: same rule, engine, history and marks.
        loose: its loose nodes, if known (else found again, in editing)."""
        old = self.trainer
        self.scene, self.net = scene, scene.net
        self.trainer = Trainer.from_scene(scene, old.rule, make_engine(engine_name(old.engine), scene.spec.physics))
        self.trainer.history, self.trainer.steps, self.trainer.epochs_done = old.history, old.steps, old.epochs_done
        self._stages = None
        self.example = min(self.example, self.trainer.task.n_examples - 1)
        self.change = np.zeros(self.net.n_springs)
        self.picked = self.picked if self.picked is not None and self.picked < self.net.n_nodes else None
        self.pending = None
        if self.grip is not None and self.grip.get("index") is not None and self.grip["index"] >= self.net.n_nodes:
            self.grip = None  # the node it held went with an edit or an undo
        self._structure_changed(loose)

    def undo(self) -> bool:
        """Back to the network before the last update, cut or edit, exactly; the loss plot and
        the panel then show the network as it is again. False if nothing was left to undo."""
        self._command()
        if not self.undo_stack and self.job is None and not self._queue:
            self.say("nothing to undo")
            return False

        def apply():
            if not self.undo_stack:
                self.say("nothing to undo")
                return
            last = self.undo_stack.pop()
            if isinstance(last, Scene):
                self._adopt(last)
            else:
                edges, k, L, change = last
                self.net.edges, self.net.k, self.net.L = edges, k, L
                self.change = change if len(change) == len(k) else np.zeros(len(k))
                self._structure_changed()
            self.say("undone", banner=True)
            self._remeasure("undo")
        self._after_job(apply, cancel=("stage",))
        return True

    def cut(self, springs) -> None:
        """Remove springs (indices) from the model, the world and the picture; undoable."""
        self._command()
        springs = sorted({int(e) for e in np.atleast_1d(springs)})
        if not springs:
            return

        def apply():
            if max(springs) >= self.net.n_springs:
                return
            self._push_undo()
            self.net.remove_springs(springs)
            self.change = np.zeros(self.net.n_springs)
            self.say(f"cut {len(springs)} spring{'s' if len(springs) > 1 else ''}: Z undoes", banner=True)
            self._structure_changed()
            self._remeasure(f"cut {len(springs)}")
        self._after_job(apply, cancel=("stage",), bound=True)

    def cut_selected(self) -> None:
        if self.selected is not None:
            self.cut([self.selected])

    def damage(self, fraction: float = 0.1, seed: int | None = None) -> None:
        """Cut a random fraction of the springs."""
        if not self.net.n_springs:
            self.say("no springs left to cut")
            return
        rng = np.random.default_rng(seed)
        n = max(1, int(round(fraction * self.net.n_springs)))
        self.cut(rng.choice(self.net.n_springs, size=n, replace=False))

    def _remeasure(self, label: str) -> None:
        """Evaluate the network as it is now: a point on the loss plot, marked `label`."""
        trainer, version = self.trainer, self.version

        def then(_row):
            if self.version == version:
                self.events.append((len(trainer.history) - 1, label))
        self._submit("state", "evaluating", lambda: trainer.record(), then)

    def _structure_changed(self, loose: list | None = None):
        self.version += 1
        self.selected, self.info = None, None
        self._stages = None
        self.frames.clear()
        self.world, self.dragging = None, None
        if hasattr(self.trainer.engine, "forget"):
            self.trainer.engine.forget()
        self.trainer.forget_states()
        self.ghost = None
        if self.x.shape != self.net.pos.shape:  # (nodes came or went: the drawing starts from the reference)
            self.x = self.net.pos.copy()
        if self.editing:
            self.x = self.net.pos.copy()
            if loose is not None:
                self.loose = loose
            else:
                self._find_loose()
        else:
            self._show_free_state()

    def _find_loose(self) -> None:
        """Mark the nodes nothing holds (a rigidity check: in the background)."""
        net, version = self.net, self.version

        def then(loose):
            if self.version == version and self.editing:
                self.loose = loose
        self._submit("state", "checking what holds the network", lambda: editor.loose_nodes(net), then)

    # ------------------------------------------------------------ what to draw

    @property
    def caption(self) -> str:
        if self.message:
            return self.message
        if self.job is not None and self.job.kind != "stage":
            return f"{self.job.label}... ({self.job.seconds:.0f} s; Esc cancels)" if self.job.seconds > 1 \
                else f"{self.job.label}..."
        if self.editing:
            return EDITING
        if self.job is not None and self.engine_name == "physical":
            return "the pymunk world is settling (shown live as it moves)" + (
                f"; {self.job.seconds:.0f} s, Esc stops" if self.job.seconds > 2 else "")
        if self.job is not None and self.job.seconds > 0.5:
            return f"{self.job.label}... ({self.job.seconds:.0f} s; Esc stops)"
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

    # ------------------------------------------------------------ for scripts and tests

    def spring_info(self, e: int) -> dict | None:
        """What the window says about spring e, computed now (blocking; the window uses select)."""
        return spring_info(*self._snapshot(), e)

    def agreement(self) -> np.ndarray | None:
        """EP vs exact for the shown example, computed now (blocking; the window uses want_agreement)."""
        return agreement(*self._snapshot())


def _gradients(net, task, s, rule):
    """EP's and the exact dC/dk (E,) for example s, with its free and nudged states."""
    cost = task.cost(net, s)
    solver = ExactEngine(tol=1e-12)
    x0 = solver.relax(net, task.start(net, s)).x
    rule = rule if rule.kind in ("one-sided", "centered") else replace(rule, kind="centered")
    ph = ep_phases(solver, net, x0, cost, rule)
    return ep_gradient(net, ph)[0], exact_gradient(net, x0, cost)[0], x0, ph.x_b


def spring_info(net, task, s, rule, e: int) -> dict | None:
    """Spring e: k, L, its extension in the free and nudged states of example s, and its EP
    gradient beside the exact one. None while the network cannot be relaxed (floppy)."""
    if e >= net.n_springs:
        return None
    try:
        gk, ek, x0, xb = _gradients(net, task, s, rule)
    except (FloppyNetworkError, RuntimeError, ArithmeticError, np.linalg.LinAlgError):  # (a singular network)
        return None
    return dict(spring=e, k=float(net.k[e]), L=float(net.L[e]),
                extension_free=float(extensions(net, x0)[e]),
                extension_nudged=float(extensions(net, xb)[e]),
                ep_grad=float(gk[e]), exact_grad=float(ek[e]))


def agreement(net, task, s, rule) -> np.ndarray | None:
    """(E,) disagreement of EP's dC/dk with the exact one, spring by spring, relative to the
    largest exact component: 0 where EP is exact. None while the network is floppy."""
    try:
        gk, ek, _, _ = _gradients(net, task, s, rule)
    except (FloppyNetworkError, RuntimeError, ArithmeticError, np.linalg.LinAlgError):  # (a singular network)
        return None
    return np.abs(gk - ek) / (np.abs(ek).max(initial=0.0) + 1e-300)
