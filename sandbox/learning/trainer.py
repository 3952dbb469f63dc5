"""The trainer: the one training loop that headless training, scripts and the window share.

`Trainer.stages(epochs)` yields every moment of training in order: for each mini-batch the free
and nudged equilibria of its examples and then one update, and after an epoch's last update an
"epoch" stage carrying the new history row. `fit` consumes it with callbacks; the window pulls
it one stage at a time. Both get the same divergence policy (`Guard`), with rollback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..physics.energy import extensions
from ..physics.equilibrium import FloppyNetworkError, NewtonSolver
from ..physics.network import Network
from .hardware import Hardware
from .rules import Phases, Rule, apply_update, ep_gradient, ep_phases, exact_gradient
from .task import Task

STAGES = ("free", "nudged", "update", "epoch")


class DivergenceError(RuntimeError):
    """Learning produced non-finite values or a runaway cost; parameters were rolled back."""


@dataclass
class Stage:
    """One moment of training that the window can show.

    name: one of STAGES; example: index; x: (N, 2) positions to draw; x_free: (N, 2) free
    equilibrium (ghost during the nudged phase); dk, dL: (E,) changes at "update", and
    before: the (k, L) arrays (E,) the update started from (undo restores them exactly);
    cost: the example's cost at the free equilibrium; phases: the Phases object; row: the
    history row at "epoch".
    """

    name: str
    example: int
    x: np.ndarray
    x_free: np.ndarray | None = None
    dk: np.ndarray | None = None
    dL: np.ndarray | None = None
    cost: float = float("nan")
    phases: Phases | None = None
    before: tuple[np.ndarray, np.ndarray] | None = None
    row: dict | None = None


@dataclass
class Guard:
    """The divergence policy, one for every front end.

    After an update: non-finite k or L, or an update that drives more than `max_pinned_jump` of
    the springs to their stiffness bounds, undoes that update. After an epoch: a non-finite
    training loss, one more than `max_loss_growth` times the loss before training, or a jump
    to more than `max_jump` times the best loss so far (and above `jump_floor` times the start:
    a network crumpling, its springs crossing, as when rest lengths learn at a rate tuned for
    stiffness; on one-example scenes every update is an epoch), rolls back to the last good
    epoch. Either way a DivergenceError says what happened and what to try. A noisy learner (warm,
    or imperfect hardware) is not checked for jumps: when the noise swamps the nudge its loss
    wanders above its start without anything crumpling, and rolling back would not help.
    """

    max_loss_growth: float = 100.0
    max_pinned_jump: float = 0.25
    max_jump: float = 10.0
    jump_floor: float = 1.0

    def check_update(self, net: Network, rule: Rule, pinned_before: float) -> str:
        """'' if the update just made is acceptable, else why not."""
        if not (np.isfinite(net.k).all() and np.isfinite(net.L).all()):
            return "the update gave non-finite stiffness or rest lengths"
        if pinned_fraction(net, rule) - pinned_before > self.max_pinned_jump:
            return "one update drove over a quarter of the springs to their stiffness bounds"
        return ""

    def check_epoch(self, history: list, jumps: bool = True) -> str:
        """'' if the last history row is acceptable, else why not (jumps=False: no jump check)."""
        loss, start = history[-1]["loss"], history[0]["loss"]
        if not math.isfinite(loss):
            return "the training loss is not finite"
        if loss > self.max_loss_growth * max(start, 1e-300):
            return f"the loss grew from {start:.3g} to {loss:.3g}"
        best = min((row["loss"] for row in history[:-1] if math.isfinite(row["loss"])), default=start)
        if jumps and loss > self.max_jump * best and loss > self.jump_floor * start:
            return f"the loss jumped to {loss:.3g}, over {self.max_jump:g}x its best ({best:.3g}): the network crumpled"
        return ""


def pinned_fraction(net: Network, rule: Rule) -> float:
    """Fraction of springs at their stiffness bounds."""
    k = net.k
    if not len(k):
        return 0.0
    return float(np.mean((k <= rule.k_min * (1 + 1e-9)) | (k >= rule.k_max * (1 - 1e-9))))


@dataclass
class Trainer:
    """Trains a network on a task by EP, one mini-batch at a time.

    The network's k and L are the learned state; `rule`, `batch` and `guard` are hyperparameters;
    `history` holds one dict per epoch (epoch, step, loss, test_loss, accuracy, test_accuracy),
    row 0 being before training. `stopped` says why the last `fit` ended early ('' if it did not).

    warm_start=False relaxes every free phase from the reference positions, so a state depends
    on the parameters alone and a saved network behaves as it did in training even when it has
    several equilibria. warm_start=True starts from the example's last equilibrium, as a real
    network would (faster, but history-dependent where the network is multistable).

    hardware: the imperfect measurements and updates of a physical learner (`hardware.py`; None:
    perfect). A temperature belongs to the engine.
    """

    net: Network
    task: Task
    rule: Rule
    engine: object = None
    batch: int = 1
    seed: int = 0
    warm_start: bool = False
    guard: Guard = field(default_factory=Guard)
    hardware: Hardware | None = None
    history: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def __post_init__(self):
        self.engine = self.engine or NewtonSolver(seed=self.seed)  # (its noise, if it is warmed, follows the seed)
        self.rng = np.random.default_rng(self.seed)
        self.steps = 0
        self.epochs_done = 0
        self.stopped = ""
        self._x = {}  # last free equilibrium of each example: warm starts
        self._good = None  # (k, L, history length, steps, epochs): the last good epoch

    @classmethod
    def from_scene(cls, scene, rule: Rule | None = None, engine=None, seed: int | None = None) -> Trainer:
        """A trainer for a loaded scene (sandbox.load_scene), with its rule, batch and seed
        unless given, and its hardware; without an engine, the exact one at the scene's
        temperature. It trains the scene's own network in place."""
        seed = scene.spec.seed if seed is None else seed
        if engine is None and scene.spec.physics.temperature > 0:
            p = scene.spec.physics
            engine = NewtonSolver(temperature=p.temperature, samples=p.samples, seed=seed)
        return cls(scene.net, scene.task, rule or scene.rule(), engine=engine, batch=scene.spec.learning.batch,
                   seed=seed, hardware=Hardware.from_scene(scene.spec, seed))

    # ------------------------------------------------------------ the loop

    def fit(self, epochs: int, callbacks=()) -> list[dict]:
        """Train `epochs` epochs; returns the history (a list of dicts, row 0 before training).

        Each callback is called as callback(trainer, stage) after every stage (progress bars,
        GIF frames). Ctrl+C or a divergence stops early and keeps the last completed epoch;
        `stopped` says why. Call again to go on."""
        self.stopped = ""
        try:
            for stage in self.stages(epochs):
                for cb in callbacks:
                    cb(self, stage)
        except KeyboardInterrupt:
            self.rollback()
            self.stopped = f"interrupted after {self.epochs_done} epochs: kept the last completed epoch"
        except DivergenceError as exc:
            self.stopped = str(exc)
        return self.history

    def stages(self, epochs: int | None = None):
        """Yield every stage of `epochs` epochs (None: without end). A divergence (see Guard) or
        a network gone floppy rolls back to the last good epoch and raises DivergenceError."""
        if not self.history:
            self.record()
        self._keep_good()
        done = 0
        while epochs is None or done < epochs:
            try:
                for indices in self.epoch_batches():
                    yield from self.batch_stages(indices)
                yield self.end_epoch()
            except (DivergenceError, FloppyNetworkError) as exc:
                self.rollback()
                what = str(exc) if isinstance(exc, DivergenceError) else self._advice("the network became floppy")
                raise DivergenceError(f"rolled back to epoch {self.epochs_done}: {what}") from exc
            done += 1

    def end_epoch(self) -> Stage:
        """Count an epoch, evaluate it, apply the guard, and remember it as the last good one."""
        self.epochs_done += 1
        row = self.record()
        why = self.guard.check_epoch(self.history, jumps=not self.noisy)
        if why:
            raise DivergenceError(self._advice(why))
        self._keep_good()
        s = int(self.task.train[0])
        return Stage("epoch", s, self._x.get(s), row=row)

    def _advice(self, why: str) -> str:
        hint = " (rest lengths move much faster than stiffnesses at the same rate)" if self.rule.learn != "stiffness" else ""
        noise = ", or, if noise swamps the nudge, a larger one" if self.noisy else ""
        return f"{why}. Try a smaller learning rate (now {self.rule.lr:g}{hint}) or a smaller beta{noise}"

    @property
    def noisy(self) -> bool:
        """Whether learning is noisy: a warm engine or imperfect hardware."""
        return getattr(self.engine, "temperature", 0) > 0 or self.hardware is not None

    def _keep_good(self) -> None:
        self._good = (self.net.k.copy(), self.net.L.copy(), len(self.history), self.steps, self.epochs_done)

    def rollback(self) -> None:
        """Back to the last good epoch (its k, L and history), if the network still has its springs."""
        if self._good is None or len(self._good[0]) != self.net.n_springs:
            return
        k, L, n, self.steps, self.epochs_done = self._good
        self.net.k, self.net.L = k.copy(), L.copy()
        del self.history[n:]
        self._x.clear()

    def batch_stages(self, indices):
        """Yield the stages of one mini-batch: free and nudged per example, then one update."""
        gk = np.zeros(self.net.n_springs)
        gL = np.zeros(self.net.n_springs)
        ext = np.zeros(self.net.n_springs)  # mean |e| in the free states: bounds a rest-length step
        for s in indices:
            cost = self.task.cost(self.net, s)
            if self.rule.kind == "exact":  # not EP: the gradient a computer would take
                x0 = self.free_state(s).x
                yield Stage("free", s, x0, x0, cost=cost.value(x0))
                a, b = exact_gradient(self.net, x0, cost)
            else:
                ph = ep_phases(self.engine, self.net, self._start(s), cost, self.rule)
                if ph.warning and ph.warning not in self.warnings:
                    self.warnings.append(ph.warning)
                self._x[s] = ph.x_free
                c = cost.value(ph.x_free)
                yield Stage("free", s, ph.x_free, ph.x_free, cost=c, phases=ph)
                yield Stage("nudged", s, ph.x_b, ph.x_free, cost=c, phases=ph)
                a, b = ep_gradient(self.net, ph, self.hardware)
            gk += a / len(indices)
            gL += b / len(indices)
            ext += np.abs(extensions(self.net, self._x[s])) / len(indices)
        before = (self.net.k.copy(), self.net.L.copy())
        pinned = pinned_fraction(self.net, self.rule)
        dk, dL = apply_update(self.net, gk, gL, self.rule, self.epochs_done, ext)
        if self.hardware is not None:  # the update as imperfect hardware makes it
            dk, dL = self.hardware.realize(self.net, before, self.rule)
        why = self.guard.check_update(self.net, self.rule, pinned)
        if why:
            self.net.k, self.net.L = before
            raise DivergenceError(self._advice(why + " (the update was undone)"))
        self.steps += 1
        yield Stage("update", indices[-1], self._x[indices[-1]], dk=dk, dL=dL, before=before)

    def step(self, indices) -> None:
        """One update from the mini-batch `indices` (no guard beyond the update's own)."""
        for _ in self.batch_stages(list(indices)):
            pass

    def epoch_batches(self) -> list[list[int]]:
        """The training examples in a new random order, cut into mini-batches."""
        order = self.rng.permutation(self.task.train)
        return [list(order[i:i + self.batch]) for i in range(0, len(order), self.batch)]

    # ------------------------------------------------------------ states and evaluation

    def forget_states(self) -> None:
        """Drop the remembered equilibria (after the network's structure changed)."""
        self._x.clear()

    def _start(self, s: int):
        return self.task.start(self.net, s, self._x.get(s) if self.warm_start else None)

    def free_state(self, s: int):
        """Free equilibrium of example s."""
        eq = self.engine.relax(self.net, self._start(s))
        self._x[s] = eq.x
        return eq

    def evaluate(self, indices) -> tuple[float, float]:
        """Mean cost and (for classification, else nan) accuracy over the examples."""
        if len(indices) == 0:
            return float("nan"), float("nan")
        costs, hits = [], []
        for s in indices:
            x = self.free_state(s).x
            costs.append(self.task.cost(self.net, s).value(x))
            if self.task.labels is not None:
                hits.append(self.task.predict(self.net, x) == self.task.labels[s])
        acc = float(np.mean(hits)) if hits else float("nan")
        return float(np.mean(costs)), acc

    def record(self) -> dict:
        """Evaluate train and test sets now and append a row to the history."""
        loss, acc = self.evaluate(self.task.train)
        test_loss, test_acc = self.evaluate(self.task.test)
        row = dict(epoch=self.epochs_done, step=self.steps, loss=loss, test_loss=test_loss,
                   accuracy=acc, test_accuracy=test_acc)
        self.history.append(row)
        return row
