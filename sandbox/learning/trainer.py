"""The trainer: epochs of mini-batches, each a stream of stages (free, nudged, update) that
headless training and the window both consume."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..physics.equilibrium import NewtonSolver
from ..physics.network import Network
from .rules import Phases, Rule, apply_update, ep_gradient, ep_phases, exact_gradient
from .task import Task


class DivergenceError(RuntimeError):
    """Learning produced non-finite values or a runaway cost; parameters were rolled back."""


@dataclass
class Stage:
    """One moment of training that the window can show.

    name: "free", "nudged" or "update"; example: index; x: (N, 2) positions to draw;
    x_free: (N, 2) free equilibrium (ghost during the nudged phase); dk, dL: (E,) changes at
    "update"; cost: the example's cost at the free equilibrium; phases: the Phases object.
    """

    name: str
    example: int
    x: np.ndarray
    x_free: np.ndarray | None = None
    dk: np.ndarray | None = None
    dL: np.ndarray | None = None
    cost: float = float("nan")
    phases: Phases | None = None


@dataclass
class Trainer:
    """Trains a network on a task by EP, one mini-batch at a time.

    The same `batch_stages` generator drives headless training and the window. The network's
    k and L are the learned state; `rule` and `batch` are hyperparameters; `history` holds one
    dict per epoch (epoch, step, loss, test_loss, accuracy, test_accuracy).

    warm_start=False relaxes every free phase from the reference positions, so a state depends
    on the parameters alone and a saved network behaves as it did in training even when it has
    several equilibria. warm_start=True starts from the example's last equilibrium, as a real
    network would (faster, but history-dependent where the network is multistable).
    """

    net: Network
    task: Task
    rule: Rule
    engine: object = None
    batch: int = 1
    seed: int = 0
    warm_start: bool = False
    history: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def __post_init__(self):
        self.engine = self.engine or NewtonSolver()
        self.rng = np.random.default_rng(self.seed)
        self.steps = 0
        self.epochs_done = 0
        self._x = {}  # last free equilibrium of each example: warm starts

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

    def batch_stages(self, indices):
        """Yield the stages of one mini-batch: free and nudged per example, then one update."""
        gk = np.zeros(self.net.n_springs)
        gL = np.zeros(self.net.n_springs)
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
                a, b = ep_gradient(self.net, ph)
            gk += a / len(indices)
            gL += b / len(indices)
        backup = (self.net.k.copy(), self.net.L.copy())
        pinned_before = self._pinned()
        dk, dL = apply_update(self.net, gk, gL, self.rule)
        if not (np.isfinite(self.net.k).all() and np.isfinite(self.net.L).all()):
            self.net.k, self.net.L = backup
            raise DivergenceError("the update gave non-finite stiffness or rest lengths; "
                                  "rolled back. Try a smaller learning rate.")
        if self._pinned() - pinned_before > 0.25:
            self.net.k, self.net.L = backup
            raise DivergenceError("one update drove over a quarter of the springs to their stiffness "
                                  "bounds; rolled back. Try a smaller learning rate.")
        self.steps += 1
        yield Stage("update", indices[-1], self._x[indices[-1]], dk=dk, dL=dL)

    def _pinned(self) -> float:
        """Fraction of springs at their stiffness bounds."""
        k, r = self.net.k, self.rule
        return float(np.mean((k <= r.k_min * (1 + 1e-9)) | (k >= r.k_max * (1 - 1e-9)))) if len(k) else 0.0

    def step(self, indices) -> None:
        for _ in self.batch_stages(list(indices)):
            pass

    def epoch_batches(self) -> list[list[int]]:
        order = self.rng.permutation(self.task.train)
        return [list(order[i:i + self.batch]) for i in range(0, len(order), self.batch)]

    def run_epoch(self) -> dict:
        for b in self.epoch_batches():
            self.step(b)
        self.epochs_done += 1
        return self.record()

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
        if not np.isfinite(loss):
            raise DivergenceError("the training loss is not finite")
        row = dict(epoch=self.epochs_done, step=self.steps, loss=loss, test_loss=test_loss,
                   accuracy=acc, test_accuracy=test_acc)
        self.history.append(row)
        return row

