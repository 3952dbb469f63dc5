"""What the window shows, frame by frame, with no pygame: a training session over one scene
at a time, made of parts with one job each.

    jobs      the work in the background, one job at a time (sandbox.window.jobs)
    training  play, pause, step, fast, slow motion; the stages shown (training, playback)
    settings  rule, what learns, learning rate, beta, engine, drag (settings)
    warmth    the temperature, the masses jiggling at it (warmth)
    history   one undo stack of actions: updates, cuts, edits, examples (history)
    hands     a node dragged in the live world, a spring inspected (hands)
    edit      edit mode (edit_mode)

The Session holds what they share: the scene, its network and trainer, what is drawn now (x,
the ghost, the stage, the last change) and the message. The window's thread never computes:
opening a scene (and choosing its engine), a stage, settling, evaluating and building an edited
scene are jobs; `tick` collects a finished job and shows it. Whatever makes a job moot (another
scene, reset, an engine switch, Esc, a change of the network) cancels it.
"""

from __future__ import annotations

import traceback
from collections import deque
from pathlib import Path

import numpy as np

from ..learning.trainer import DivergenceError, Stage, Trainer
from ..physics.energy import energy
from ..physics.equilibrium import FloppyNetworkError
from ..scenes.build import Scene, load_scene
from ..scenes.messages import SceneError
from .edit_mode import EditMode
from .engines import ExactEngine, Opened, engine_name, make_engine, prepare
from .hands import Hands
from .history import History
from .jobs import Jobs
from .playback import caption, glide
from .settings import Settings
from .training import Training
from .warmth import Warmth

LONG_EPOCH = 100  # training examples beyond which an epoch played at the normal pace takes minutes


class Session:
    """A training session for the window.

    x (N, 2): positions shown now; ghost (N, 2) or None: the free equilibrium, shown during the
    nudged phase; stage: the last Stage reached; change (E,): the last update's dk (or dL),
    shown while the update is; frames: positions (N, 2) still to show, in order; step_costs:
    each example's cost at its free equilibrium, in order; energies: (free, nudged) energy.
    """

    frame_wait_s = 0.012  # how long a frame waits for a running job (the worker gets the GIL meanwhile)

    def __init__(self, scene: Scene, engine: str | None = None):
        self.version = 0
        self.generation = 0
        self.message, self.banner, self.warning = "", False, False  # a banner stays until the next command
        self.updates_since_said = 0
        self.jobs = Jobs(self._failed, lambda: self.generation)
        self._recovered_after = -1  # jobs.succeeded at the last recovery
        self.training = Training(self)
        self.settings = Settings(self)
        self.hands = Hands(self)
        self.warmth = Warmth(self)
        self.source = Path(scene.path)
        self._install(Opened(scene, Trainer.from_scene(scene, None, ExactEngine()), scene.net.pos.copy()))
        self.jobs.submit("open", f"opening {self.source.name}", lambda: prepare(scene, engine), self._opened)

    # ------------------------------------------------------------ life cycle

    def _install(self, opened: Opened):
        self.generation += 1  # counts scenes opened
        self.training.stop()  # every scene opens paused
        scene = opened.scene
        self.scene, self.net, self.trainer = scene, scene.net, opened.trainer
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
        self.say(opened.note)
        self.history = History(self)  # (a new scene: nothing to undo)
        self.hands.forget()
        self.warmth.forget()
        self.edit = EditMode(self)
        self.version += 1  # counts changes of the network (new scene, cuts, edits, undos)
        self.mark_saved()

    def _opened(self, opened: Opened):
        self._install(opened)
        if np.isfinite(opened.cost):
            self.step_costs.append(opened.cost)
        n = len(self.trainer.task.train)
        if n > LONG_EPOCH:  # (at the normal pace an epoch would take minutes: say how to train it)
            self.say(f"{self.scene.name}: {n:,} training examples, {-(-n // self.trainer.batch):,} updates an "
                     "epoch. Space shows them one by one; F (fast) trains on the exact engine and shows where it got",
                     banner=True)
            return
        self.say(f"opened {self.source.name} on the {self.engine_name} engine"
                 + ("" if self.engine_name == "physical" else " (the pymunk world settles it slowly)"
                    if self.net.n_nodes <= 60 else ""))

    def open(self, path) -> None:
        """Open a scene file (in the background; the engine is chosen for it). What was running
        is cancelled; if the file cannot be opened the message says why and nothing changes."""
        self.command()
        self.jobs.cancel()
        path = Path(path)

        def compute():
            try:
                return prepare(load_scene(path))
            except SceneError as exc:
                return f"cannot open {path.name}: {exc.problems[0] if exc.problems else exc}"

        def then(opened):
            if isinstance(opened, str):
                self.warn(opened)
                return
            self.source = path
            self._opened(opened)
        self.jobs.submit("open", f"opening {path.name}", compute, then)

    def reset(self) -> None:
        """Back to the scene as loaded (same seed, same settings as the file)."""
        self.open(self.source)

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

    @property
    def rule(self):
        return self.trainer.rule

    @property
    def editing(self) -> bool:
        return self.edit.on

    # ------------------------------------------------------------ each frame

    def tick(self, budget_s: float | None = None) -> None:
        """Advance one frame: collect finished work, then move the live world under the mouse
        (at most its budget), or show the next frame of a stage, or start the next stage."""
        self.jobs.give_time(self.frame_wait_s if budget_s is None else budget_s)
        self.jobs.poll()
        if self.hands.world is not None:
            self.hands.step_world()
            return
        self.training.tick()
        self.warmth.tick()

    def wait(self, timeout: float = 600.0) -> Session:
        """Block until no job runs or waits (for scripts and tests; the window never calls it)."""
        self.jobs.wait(timeout)
        return self

    @property
    def busy(self) -> bool:
        return self.jobs.busy

    def cancel(self) -> bool:
        """Esc: stop what is computing (and pause). True if there was something to stop."""
        if self.jobs.idle:
            return False
        self.command()
        label = self.jobs.job.label if self.jobs.job is not None else "waiting work"
        self.jobs.cancel()
        self.training.paused = True
        self.say(f"cancelled: {label}")
        return True

    def _failed(self, exc: BaseException) -> None:
        """What a job raised (on this thread): a divergence, a floppy network, or a bug."""
        if isinstance(exc, DivergenceError):
            self.training.diverged(exc)
        elif isinstance(exc, FloppyNetworkError):
            self.warn("the network is floppy (a part can move freely): press Z to undo")
            self.training.paused, self.training.stages = True, None
        else:
            self.recover(exc)

    def recover(self, exc: BaseException) -> None:
        """Something unexpected went wrong: pause, roll back to the last good state, say so on
        the window and print the traceback to stderr. (The roll-back waits for a job that was
        running to stop: two threads never touch one network.)"""
        traceback.print_exception(exc)
        self.jobs.cancel()
        self.training.stop()
        self.still()
        self.hands.world, self.hands.dragging, self.edit.grip = None, None, None
        if len(self.x) != self.net.n_nodes or not np.isfinite(self.x).all():
            self.x = self.net.pos.copy()
        again = self._recovered_after == self.jobs.succeeded  # (what was shown after the last one failed too)
        self._recovered_after = self.jobs.succeeded

        def roll_back():
            self.trainer.rollback()
            self.history.rolled_back(self.trainer.steps)
            self.warn(f"something went wrong ({type(exc).__name__}: {exc}); training paused and rolled back "
                      f"to epoch {self.trainer.epochs_done}; details on the terminal")
            if again:
                self.x = self.net.pos.copy()
            else:
                self.show_free_state()
        self.jobs.after(roll_back)

    # ------------------------------------------------------------ messages

    def say(self, text: str, banner: bool = False) -> None:
        """Put a message on the caption (a banner stays until the next command, or, while
        training runs, for BANNER_UPDATES updates: its moment is over)."""
        self.message, self.banner, self.warning = text, banner, False
        self.updates_since_said = 0

    def warn(self, text: str) -> None:
        """A warning on the caption (drawn red), staying until the next command."""
        self.message, self.banner, self.warning = text, True, True
        self.updates_since_said = 0

    def command(self) -> None:
        """A new command: the last one's message is answered."""
        self.message, self.banner, self.warning = "", False, False

    @property
    def caption(self) -> str:
        """What the window says under the status line now (sandbox.window.playback.caption)."""
        return caption(self)

    # ------------------------------------------------------------ examples and the network

    def show_example(self, s: int) -> None:
        """Clamp example s (any example, train or test) and show its free equilibrium and target."""
        self.command()

        def apply():
            self.example = int(s) % self.trainer.task.n_examples
            self.still()
            self.hands.world = None
            self.ghost = None
            self.say(f"showing {self.example_name}", banner=True)
            if not self.editing:  # (editing, the drawing stays; its markers are this example's)
                self.show_free_state()
        self.jobs.after(apply, cancel=("stage",), bound=True)

    @property
    def example_name(self) -> str:
        """The shown example as a student counts it: "training example 3 of 1,258" (its place
        in its own set, from 1; the index into all examples numbers train and test together)."""
        task = self.trainer.task
        for split, rows in (("training", task.train), ("test", task.test)):
            at = np.flatnonzero(np.asarray(rows) == self.example)
            if len(at):
                return f"{split} example {int(at[0]) + 1:,} of {len(rows):,}"
        return f"example {self.example}"

    def next_example(self) -> None:
        self.show_example(self.example + 1)

    def show_free_state(self) -> None:
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
            self.still()
            self.frames.extend(glide(self.x, x))
            self.ghost, self.stage = None, None
            self.step_costs.append(cost)
            self.energies = (energy(self.net, x), float("nan"))
        self.jobs.submit("state", "relaxing", compute, then)

    def adopt(self, scene: Scene, loose: list | None = None) -> None:
        """Carry on with another version of the scene: same rule, engine, history and marks.
        loose: its loose nodes, if known (else found again, in editing)."""
        old = self.trainer
        self.scene, self.net = scene, scene.net
        self.trainer = Trainer.from_scene(scene, old.rule, make_engine(engine_name(old.engine), scene.spec.physics,
                                                                         old.seed))
        self.trainer.history, self.trainer.steps, self.trainer.epochs_done = old.history, old.steps, old.epochs_done
        self.trainer.baseline = old.baseline
        self.training.stages = None
        self.example = min(self.example, self.trainer.task.n_examples - 1)
        self.change = np.zeros(self.net.n_springs)
        ed = self.edit
        ed.picked = ed.picked if ed.picked is not None and ed.picked < self.net.n_nodes else None
        ed.pending = None
        if ed.grip is not None and ed.grip.get("index") is not None and ed.grip["index"] >= self.net.n_nodes:
            ed.grip = None  # the node it held went with an edit or an undo
        self.structure_changed(loose)

    def structure_changed(self, loose: list | None = None):
        """The network's springs or nodes changed: what was computed for the old one is dropped,
        and its state is shown again (in editing, as drawn)."""
        self.version += 1
        self.hands.forget()
        self.training.stages = None
        self.still()
        if hasattr(self.trainer.engine, "forget"):
            self.trainer.engine.forget()
        self.trainer.forget_states()
        self.ghost = None
        if self.x.shape != self.net.pos.shape:  # (nodes came or went: the drawing starts from the reference)
            self.x = self.net.pos.copy()
        if self.editing:
            self.x = self.net.pos.copy()
            if loose is not None:
                self.edit.loose = loose
            else:
                self.edit.find_loose()
        else:
            self.show_free_state()

    def still(self) -> None:
        """Stop the motion being shown: no frames and no stages waiting to be shown."""
        self.frames.clear()
        self.training.queued.clear()

    # ------------------------------------------------------------ what to draw

    @property
    def flashing(self) -> bool:
        """The last update's changes are shown (green stiffer, purple softer) while the update
        stage is: they last as long as the caption that names them."""
        return self.stage is not None and self.stage.name == "update" and not self.editing

    def nudge_forces(self) -> np.ndarray | None:
        """(N, 2) nudge force on the outputs during the nudged phase, else None."""
        if self.stage is None or self.stage.name != "nudged" or self.stage.phases is None:
            return None
        return -self.rule.beta * self.stage.phases.cost.gradient(self.stage.x)

    @property
    def loss(self) -> float:
        return self.trainer.history[-1]["loss"] if self.trainer.history else float("nan")
