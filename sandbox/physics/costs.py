"""Costs on the outputs, with their gradients, Hessians and nudges (force -beta dC/dx).

Every cost has `nodes` (the nodes it reads), value(x) -> float, gradient(x) -> (N, 2) and
hessian_entries(x, free) -> COO triplets (rows, cols, vals) over the free coordinates (the solver
adds beta times them into its Newton matrix); `interfaces.Cost` is that protocol.

The costs with targets are least squares, C = 1/2 sum_p (q_p(x) - t_p)^2, over P quantities q:
the counted output coordinates (PositionCost) or the lengths of output pairs (DistanceCost).
They also give `residuals(x)` (P,) q - t and `jacobian(x)` (P, 2N) dq/dx, and `coupled_clamp`,
which says what coupled learning holds: each quantity moved a fraction eta of the way to its
target, and nothing else (a `Clamp`).

`batch_of(costs)` scores the costs of many examples (one task: the same outputs, other targets or
labels) together: values (b,) and gradients (b, N, 2) at positions (b, N, 2), each example's
numbers computed as its own cost computes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .energy import csc_from_entries, free_index, spring_energy, spring_gradient, spring_hessian_entries, spring_vectors


@dataclass
class Clamp:
    """What coupled learning holds in its clamped phase.

    x:       (N, 2) where the clamped phase starts, coordinates held outright already in place
    held:    (2N,) bool, the coordinates held outright (a position cost's counted outputs)
    lengths: None, or a DistanceCost whose targets (P,) are lengths its pairs are held at, by
             a constraint on each length alone (the pair may still turn and move)
    """

    x: np.ndarray
    held: np.ndarray
    lengths: "DistanceCost | None" = None


class Cost:
    """What every cost shares: its sparse Hessian from its triplets, and no coupled clamp."""

    nodes: np.ndarray

    def hessian(self, x: np.ndarray, free: np.ndarray) -> sp.csc_matrix:
        """Sparse (F, F) Hessian of the cost over the free coordinates."""
        return csc_from_entries(self.hessian_entries(x, free), int(free.sum()))

    def coupled_clamp(self, x: np.ndarray, eta: float) -> Clamp:
        raise NotImplementedError(f"coupled learning needs targets to clamp toward; {type(self).__name__} has none")


class PositionCost(Cost):
    """C = 1/2 sum_o sum_a m_oa (x_oa - y_oa)^2: outputs pulled toward target positions.

    nodes (P,) int, targets (P, 2) absolute positions, mask (P, 2) bool (axes that count).
    The nudge force beta * m (y - x) is a weak spring of stiffness beta to the target.
    """

    def __init__(self, nodes, targets, mask=None):
        self.nodes = np.asarray(nodes, dtype=np.int64)
        self.targets = np.asarray(targets, dtype=float).reshape(-1, 2)
        self.mask = np.ones_like(self.targets, bool) if mask is None else np.asarray(mask, bool)

    def value(self, x: np.ndarray) -> float:
        """Cost at positions x (N, 2); it depends on `nodes` alone."""
        d = (x[self.nodes] - self.targets) * self.mask
        return float(0.5 * np.sum(d * d))

    def gradient(self, x: np.ndarray) -> np.ndarray:
        g = np.zeros_like(x)
        np.add.at(g, self.nodes, (x[self.nodes] - self.targets) * self.mask)
        return g

    def hessian_entries(self, x: np.ndarray, free: np.ndarray):
        """Diagonal triplets: 1 on each counted, free output coordinate."""
        index = free_index(free)[(2 * self.nodes[:, None] + np.arange(2)).ravel()]
        keep = index >= 0
        return index[keep], index[keep], self.mask.ravel().astype(float)[keep]

    def _coords(self) -> np.ndarray:
        """(P,) flat coordinates the cost counts, in the order of `residuals`."""
        return (2 * self.nodes[:, None] + np.arange(2))[self.mask]

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """(P,) x - y on each counted coordinate."""
        return (x[self.nodes] - self.targets)[self.mask]

    def jacobian(self, x: np.ndarray) -> sp.csr_matrix:
        """(P, 2N) d residuals / dx: one 1 per row, on its coordinate."""
        c = self._coords()
        return sp.csr_matrix((np.ones(len(c)), (np.arange(len(c)), c)), shape=(len(c), x.size))

    def coupled_clamp(self, x: np.ndarray, eta: float) -> Clamp:
        """The counted output coordinates held a fraction eta of the way from x (N, 2) to their
        targets; the uncounted ones stay free."""
        y = x.copy()
        y[self.nodes] += eta * (self.targets - x[self.nodes]) * self.mask
        held = np.zeros(x.shape, dtype=bool)
        held[self.nodes] = self.mask
        return Clamp(y, held.reshape(-1))


class DistanceCost(Cost):
    """C = 1/2 sum_p (|x_b - x_a| - d_p)^2: pairs of outputs asked to sit a distance d_p apart.

    pairs (P, 2) int, targets (P,) distances. It is the energy of unit springs of rest length d_p.
    """

    def __init__(self, pairs, targets):
        self.pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        self.targets = np.asarray(targets, dtype=float).reshape(-1)
        self._k = np.ones(len(self.pairs))
        self.nodes = np.unique(self.pairs)

    def value(self, x: np.ndarray) -> float:
        return spring_energy(x, self.pairs, self._k, self.targets)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        return spring_gradient(x, self.pairs, self._k, self.targets)

    def hessian_entries(self, x: np.ndarray, free: np.ndarray):
        return spring_hessian_entries(x, self.pairs, self._k, self.targets, free)

    def lengths(self, x: np.ndarray) -> np.ndarray:
        """(P,) distance between the two nodes of each pair."""
        return spring_vectors(x, self.pairs)[1]

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """(P,) each pair's length minus its target."""
        return self.lengths(x) - self.targets

    def jacobian(self, x: np.ndarray) -> sp.csr_matrix:
        """(P, 2N) d length / dx: the pair's unit vector u on its second node, -u on its first."""
        d, r = spring_vectors(x, self.pairs)
        u = d / np.maximum(r, 1e-300)[:, None]
        p = np.arange(len(self.pairs))
        a, b = self.pairs[:, 0], self.pairs[:, 1]
        rows = np.repeat(p, 4)
        cols = np.stack([2 * a, 2 * a + 1, 2 * b, 2 * b + 1], axis=1).ravel()
        vals = np.stack([-u[:, 0], -u[:, 1], u[:, 0], u[:, 1]], axis=1).ravel()
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(p), x.size))

    def coupled_clamp(self, x: np.ndarray, eta: float) -> Clamp:
        """Each pair's length held a fraction eta of the way from its length at x (N, 2) to its
        target, and nothing else: the pair may turn and move. The start moves each pair
        symmetrically along its axis to that length."""
        y = x.copy()
        d, r = spring_vectors(x, self.pairs)
        goal = r + eta * (self.targets - r)
        shift = (0.5 * (goal - r) / np.maximum(r, 1e-300))[:, None] * d
        np.subtract.at(y, self.pairs[:, 0], shift)
        np.add.at(y, self.pairs[:, 1], shift)
        return Clamp(y, np.zeros(x.size, dtype=bool), DistanceCost(self.pairs, goal))


class MarginCost(Cost):
    """C = 1/2 sum_{o != y} max(0, m - (u_y - u_o))^2: the labelled output y should move at least
    a margin m further along `axis` than every other output (a squared hinge). u_o is output o's
    displacement from its reference position. Unlike squared error to one-hot targets it does not
    mask a middle class (the trouble a linear read-out has with Iris's versicolor). It has no
    target positions, so no coupled clamp.

    outputs (P,) int, label y in 0..P-1, ref (N, 2) reference positions.
    """

    def __init__(self, outputs, label: int, margin: float, axis: int, ref: np.ndarray):
        self.outputs = np.asarray(outputs, dtype=np.int64)
        self.nodes = self.outputs
        self.label, self.margin, self.axis = int(label), float(margin), int(axis)
        self.ref = ref
        self._coords = 2 * self.outputs + self.axis  # flat coordinate of each output's read axis

    def _violations(self, x):
        u = x.reshape(-1).take(self._coords) - self.ref.reshape(-1).take(self._coords)
        v = self.margin - (u[self.label] - u)
        v[self.label] = 0.0
        return np.maximum(v, 0.0)

    def value(self, x: np.ndarray) -> float:
        v = self._violations(x)
        return float(0.5 * (v * v).sum())

    def gradient(self, x: np.ndarray) -> np.ndarray:
        v = self._violations(x)
        g = np.zeros(x.size)
        g[self._coords] = v
        g[self._coords[self.label]] = -v.sum()
        return g.reshape(x.shape)

    def hessian_entries(self, x: np.ndarray, free: np.ndarray):
        active = np.flatnonzero(self._violations(x) > 0)
        index = free_index(free)
        y = index[2 * self.outputs[self.label] + self.axis]
        rows, cols, vals = [], [], []
        for o in active:
            i = index[2 * self.outputs[o] + self.axis]
            for a, b, s in ((i, i, 1.0), (y, y, 1.0), (i, y, -1.0), (y, i, -1.0)):
                if a >= 0 and b >= 0:
                    rows.append(a)
                    cols.append(b)
                    vals.append(s)
        return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(vals, dtype=float)

    def coupled_clamp(self, x: np.ndarray, eta: float) -> Clamp:
        raise NotImplementedError("coupled learning needs target positions; the margin cost has none")


# ------------------------------------------------------------------ many examples at once


def batch_of(costs: list) -> "CostBatch":
    """The costs of B examples scored together: vectorized when they are all of one kind on the
    same outputs (a task's examples), else one by one."""
    first = costs[0]
    for kind, make in ((PositionCost, _PositionBatch), (DistanceCost, _DistanceBatch), (MarginCost, _MarginBatch)):
        if all(type(c) is kind for c in costs) and all(make.same(first, c) for c in costs):
            return make(costs)
    return CostBatch(costs)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a is b or np.array_equal(a, b)


class CostBatch:
    """B costs; `which` (b,) picks the examples that x (b, N, 2) holds, in order."""

    def __init__(self, costs: list):
        self.costs = list(costs)
        self.nodes = np.unique(np.concatenate([np.asarray(c.nodes).ravel() for c in self.costs]))

    def values(self, x: np.ndarray, which: np.ndarray) -> np.ndarray:
        """(b,) each example's cost."""
        return np.array([self.costs[w].value(xi) for w, xi in zip(which, x)])

    def gradients(self, x: np.ndarray, which: np.ndarray) -> np.ndarray:
        """(b, N, 2) each example's dC/dx."""
        return np.stack([self.costs[w].gradient(xi) for w, xi in zip(which, x)])

    def hessian_entries(self, i: int, x: np.ndarray, free: np.ndarray):
        """Example i's Hessian triplets at its positions x (N, 2)."""
        return self.costs[i].hessian_entries(x, free)


class _PositionBatch(CostBatch):
    @staticmethod
    def same(a, b) -> bool:
        return _same(a.nodes, b.nodes) and _same(a.mask, b.mask)

    def __init__(self, costs):
        super().__init__(costs)
        self._nodes, self._mask = costs[0].nodes, costs[0].mask
        self._targets = np.stack([c.targets for c in costs])  # (B, P, 2)

    def values(self, x, which):
        d = (x[:, self._nodes] - self._targets[which]) * self._mask
        return 0.5 * np.sum(d * d, axis=(1, 2))

    def gradients(self, x, which):
        g = np.zeros_like(x)
        for p, node in enumerate(self._nodes):  # (np.add.at, one output at a time: repeats add up)
            g[:, node] += (x[:, node] - self._targets[which, p]) * self._mask[p]
        return g


class _DistanceBatch(CostBatch):
    @staticmethod
    def same(a, b) -> bool:
        return _same(a.pairs, b.pairs)

    def __init__(self, costs):
        super().__init__(costs)
        self._pairs = costs[0].pairs
        self._targets = np.stack([c.targets for c in costs])  # (B, P)

    def _stretch(self, x, which):
        d = x[:, self._pairs[:, 1]] - x[:, self._pairs[:, 0]]  # (b, P, 2)
        r = np.sqrt(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1])  # (as energy.spring_vectors)
        return d, r, r - self._targets[which]

    def values(self, x, which):
        e = self._stretch(x, which)[2]
        return 0.5 * np.sum(e ** 2, axis=1)

    def gradients(self, x, which):
        d, r, e = self._stretch(x, which)
        f = (e / np.maximum(r, 1e-300))[:, :, None] * d
        g = np.zeros_like(x)
        for p, (a, b) in enumerate(self._pairs):
            g[:, b] += f[:, p]
            g[:, a] -= f[:, p]
        return g


class _MarginBatch(CostBatch):
    @staticmethod
    def same(a, b) -> bool:
        return (_same(a.outputs, b.outputs) and a.margin == b.margin and a.axis == b.axis
                and _same(a.ref, b.ref))

    def __init__(self, costs):
        super().__init__(costs)
        first = costs[0]
        self._coords, self._margin = first._coords, first.margin
        self._ref = first.ref.reshape(-1).take(first._coords)
        self._labels = np.array([c.label for c in costs])

    def _violations(self, x, which):
        b = len(x)
        u = x.reshape(b, -1).take(self._coords, axis=1) - self._ref
        rows, lab = np.arange(b), self._labels[which]
        v = self._margin - (u[rows, lab][:, None] - u)
        v[rows, lab] = 0.0
        return np.maximum(v, 0.0), rows, lab

    def values(self, x, which):
        v = self._violations(x, which)[0]
        return 0.5 * (v * v).sum(axis=1)

    def gradients(self, x, which):
        v, rows, lab = self._violations(x, which)
        g = np.zeros((len(x), x[0].size))
        g[:, self._coords] = v
        g[rows, self._coords[lab]] = -v.sum(axis=1)
        return g.reshape(x.shape)
