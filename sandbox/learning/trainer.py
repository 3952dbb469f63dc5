"""The trainer: the one training loop that headless training, scripts and the window share.

`Trainer.stages(epochs)` yields every moment of training in order: for each mini-batch the free
and nudged equilibria of its examples and then one update, and after an epoch's last update an
"epoch" stage carrying the new history row. A mini-batch's examples, and the evaluation's, are
relaxed together when the engine can (`NewtonSolver.relax_many`), one at a time otherwise (the
pymunk world), with the same results. `fit` consumes it with callbacks; the window pulls
it one stage at a time. Both get the same divergence policy (`Guard`), with rollback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..physics.costs import batch_of
from ..physics.energy import extensions
from ..physics.equilibrium import FloppyNetworkError, NewtonSolver
from ..physics.network import Network
from .advice import stall_advice
from .hardware import Hardware
from .optimizers import OptimizerState
from .rules import Phases, Rule, apply_update, ep_gradients, ep_phases, ep_phases_many, exact_gradients, one_at_a_time
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
    epoch. Either way a DivergenceError says what happened and what to try. Losses are compared
    only within one task: from the history row where the task (or the network) last changed
    from outside training (Trainer.new_baseline). A noisy learner (warm, or imperfect hardware)
    is not checked for jumps: when the noise swamps the nudge its loss wanders above its start
    without anything crumpling, and rolling back would not help.
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

    def check_epoch(self, history: list, since: int = 0, jumps: bool = True) -> str:
        """'' if the last history row is acceptable, else why not; rows before `since` (another
        task's) are not compared; jumps=False: no jump check."""
        history = history[since:]
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

    `optimizer_state` holds the moments of the rule's optimizer (momentum, Adam), reset on
    rollback; `predict(clamps)` gives the trained network's answers to new inputs.

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
        self.baseline = 0  # the history row where the task last changed: the guard compares from it
        self.optimizer_state = OptimizerState()
        self._moves = []  # per epoch: the largest relative change of a k, of an L (stall advice)
        bad = np.flatnonzero((self.net.k < self.rule.k_min) | (self.net.k > self.rule.k_max))
        if len(bad):
            self.warnings.append(f"{len(bad)} spring(s) start with k outside the rule's bounds [{self.rule.k_min:g}, "
                                 f"{self.rule.k_max:g}] (spring {bad[0]}: k = {self.net.k[bad[0]]:g}); the first "
                                 "update moves them inside")

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
        why = self.guard.check_epoch(self.history, self.baseline, jumps=not self.noisy)
        if why:
            raise DivergenceError(self._advice(why))
        self._note_progress()
        self._keep_good()
        s = int(self.task.train[0])
        return Stage("epoch", s, self._x.get(s), row=row)

    def new_baseline(self) -> dict:
        """The task or the network was changed from outside training (an example added, moved or
        removed; springs cut; an edit): evaluate the network now as a new history row, keep it as
        the last good state, and let the guard judge later epochs against this row only (an old
        task's best loss says nothing about a new one). Returns the row."""
        row = self.record()
        self.baseline = len(self.history) - 1
        self._keep_good()
        return row

    def _advice(self, why: str) -> str:
        hint = " (rest lengths move much faster than stiffnesses at the same rate)" if self.rule.learn != "stiffness" else ""
        noise = ", or, if noise swamps the nudge, a larger one" if self.noisy else ""
        return f"{why}. Try a smaller learning rate (now {self.rule.lr:g}{hint}) or a smaller beta{noise}"

    @property
    def noisy(self) -> bool:
        """Whether learning is noisy: a warm engine or imperfect hardware."""
        return getattr(self.engine, "temperature", 0) > 0 or self.hardware is not None

    def _note_progress(self) -> None:
        """Remember how far this epoch moved k and L; say once if the loss stalled (advice.py)."""
        k0, L0 = self._good[0], self._good[1]
        if len(k0) == self.net.n_springs and len(k0):
            self._moves.append((float(np.max(np.abs(self.net.k - k0) / k0)), float(np.max(np.abs(self.net.L - L0) / L0))))
        tip = stall_advice(self.history, self._moves, self.rule)
        if tip and not any(w.startswith("the loss has not moved") for w in self.warnings):
            self.warnings.append(tip)

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
        self.optimizer_state.reset()

    def batch_stages(self, indices):
        """Yield the stages of one mini-batch: free and nudged per example, then one update."""
        phases, costs, free = [], [], []
        for s, cost, ph in self._batch_phases(indices):
            if self.rule.kind == "exact":  # not EP: the gradient a computer would take
                x0 = ph
                yield Stage("free", s, x0, x0, cost=cost.value(x0))
                costs.append(cost)
            else:
                if ph.warning and ph.warning not in self.warnings:
                    self.warnings.append(ph.warning)
                self._x[s] = ph.x_free
                c = cost.value(ph.x_free)
                yield Stage("free", s, ph.x_free, ph.x_free, cost=c, phases=ph)
                yield Stage("nudged", s, ph.x_b, ph.x_free, cost=c, phases=ph)
                phases.append(ph)
            free.append(self._x[s])
        n = len(indices)
        if phases:
            gk, gL = ep_gradients(self.net, phases, self.hardware)
        else:
            gk, gL = exact_gradients(self.net, np.stack(free), costs, solver=self.engine)
        gk, gL = (gk / n).sum(axis=0), (gL / n).sum(axis=0)  # the means over the examples
        # the mean |e| in the free states: it bounds a rest-length step
        ext = (np.abs(extensions(self.net, np.stack(free))) / n).sum(axis=0)
        before = (self.net.k.copy(), self.net.L.copy())
        pinned = pinned_fraction(self.net, self.rule)
        dk, dL = apply_update(self.net, gk, gL, self.rule, self.epochs_done, ext, self.optimizer_state)
        if self.hardware is not None:  # the update as imperfect hardware makes it
            dk, dL = self.hardware.realize(self.net, before, self.rule)
        why = self.guard.check_update(self.net, self.rule, pinned)
        if why:
            self.net.k, self.net.L = before
            raise DivergenceError(self._advice(why + " (the update was undone)"))
        self.steps += 1
        yield Stage("update", indices[-1], self._x[indices[-1]], dk=dk, dL=dL, before=before)

    def _batch_phases(self, indices):
        """(example, cost, Phases) for each example of a mini-batch (its free state (N, 2) for the
        exact rule). Relaxed together when the engine can (relax_many), else one at a time as
        they are pulled; either way each free phase starts from the factorization `_first`
        says and each nudged phase from its free phase's, so both give the same equilibria."""
        costs = [self.task.cost(self.net, s) for s in indices]
        starts = self._starts(indices)
        exact = self.rule.kind == "exact"
        if self._together(indices):
            if exact:
                results = [eq.x for eq in self.free_states(indices, starts)]
            else:
                results = ep_phases_many(self.engine, self.net, starts, costs, self.rule, kept=self._first(len(indices)))
            yield from zip(indices, costs, results)
            return
        keeps = hasattr(self.engine, "kept")
        first = self._first(len(indices))[0] if keeps else None
        for s, cost, x in zip(indices, costs, starts):
            if keeps:
                self.engine.kept = first
            if exact:
                eq = self.engine.relax(self.net, x)
                self._x[s] = eq.x
                yield s, cost, eq.x
            else:
                yield s, cost, ep_phases(self.engine, self.net, x, cost, self.rule)

    def _first(self, n: int) -> list:
        """The factorization each of n free phases starts from (with an engine that keeps one).
        Several examples from the reference positions (no warm start): the network's at rest,
        one new factorization of its Hessian at the reference positions (the PSD part), shared:
        every first Newton step is then the linear response to the example's inputs, and the
        state depends on the parameters alone, even where the network has several equilibria
        (Iris after 16 epochs: from the last example's factorization, as before, 60 to 117 of
        its 150 flowers settled elsewhere than from a new one at their own start). One example,
        or warm starts: the one the engine kept (for one example, its own from the last step)."""
        if self.warm_start or n == 1 or not hasattr(self.engine, "factorization_at"):
            return [self.engine.kept] * n
        return [self.engine.factorization_at(self.net, self.net.pos, psd=True)] * n

    def _together(self, indices) -> bool:
        """Whether these examples are relaxed as one batch (an engine with relax_many)."""
        return len(indices) > 1 and callable(getattr(self.engine, "relax_many", None))

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

    def _starts(self, indices) -> np.ndarray:
        """(B, N, 2) the starts of the examples `indices` (see warm_start)."""
        if not self.warm_start:
            return self.task.starts(self.net, indices)
        return np.stack([self._start(s) for s in indices])

    def free_state(self, s: int):
        """Free equilibrium of example s."""
        return self.free_states([s])[0]

    def free_states(self, indices, starts=None) -> list:
        """Free equilibria of the examples `indices` (from `starts` (B, N, 2), else their usual
        starts), remembered for warm starts and the window."""
        if not len(indices):
            return []
        eqs = self._relax_free(self._starts(indices) if starts is None else starts)
        for s, eq in zip(indices, eqs):
            self._x[s] = eq.x
        return eqs

    def _relax_free(self, starts: np.ndarray) -> list:
        """Free equilibria from starts (B, N, 2): one batch when the engine can relax many, else
        one at a time; each from the factorization `_first` says, as in a mini-batch."""
        kept = self._first(len(starts)) if hasattr(self.engine, "kept") else None
        relax = self.engine.relax_many if self._together(starts) else one_at_a_time(self.engine)
        return relax(self.net, starts, kept=kept)

    def predict(self, clamps) -> np.ndarray:
        """The network's answers to new inputs: clamps (B, M, 2) (or one (M, 2)) displacements
        of the M input nodes, each relaxed to its free equilibrium and read as the targets are
        (Task.answer): (B, P, 2) output displacements, (B, P) pair lengths, or (B, P) read-outs."""
        c = np.asarray(clamps, dtype=float)
        one = c.ndim == 2
        c = c.reshape(-1, len(self.task.inputs), 2)
        eqs = self._relax_free(np.stack([self.task.clamped(self.net, ci) for ci in c]))
        out = np.array([self.task.answer(self.net, eq.x) for eq in eqs])
        return out[0] if one else out

    def evaluate(self, indices) -> tuple[float, float]:
        """Mean cost and (for classification, else nan) accuracy over the examples."""
        indices = np.asarray(indices, dtype=int)
        return self._score(indices, [eq.x for eq in self.free_states(indices)])

    def _score(self, indices, xs) -> tuple[float, float]:
        """Mean cost and accuracy (nan if not a classifier) of the examples at states xs (N, 2)."""
        if len(indices) == 0:
            return float("nan"), float("nan")
        costs = batch_of([self.task.cost(self.net, s) for s in indices])
        loss = float(np.mean(costs.values(np.stack(xs), np.arange(len(indices)))))
        if self.task.labels is None:
            return loss, float("nan")
        predicted = np.argmax(self.task.readout(self.net, np.stack(xs)), axis=1)
        return loss, float(np.mean(predicted == self.task.labels[indices]))

    def record(self) -> dict:
        """Evaluate train and test sets now (their free states as one batch) and append a row to
        the history."""
        train, test = np.asarray(self.task.train, dtype=int), np.asarray(self.task.test, dtype=int)
        xs = [eq.x for eq in self.free_states(np.concatenate([train, test]))]
        loss, acc = self._score(train, xs[:len(train)])
        test_loss, test_acc = self._score(test, xs[len(train):])
        row = dict(epoch=self.epochs_done, step=self.steps, loss=loss, test_loss=test_loss,
                   accuracy=acc, test_accuracy=test_acc)
        self.history.append(row)
        return row
