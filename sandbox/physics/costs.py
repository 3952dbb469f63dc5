"""Costs on the outputs, with their gradients, Hessians and nudges (force -beta dC/dx).

Each cost has value(x) -> float, gradient(x) -> (N, 2), hessian(x, free) -> sparse (F, F) (built
from hessian_entries(x, free) -> COO triplets (rows, cols, vals) over the free coordinates) and
coupled_clamp(x, eta) -> (positions (N, 2), clamped (2N,) bool) for coupled learning.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .energy import csc_from_entries, free_index, spring_energy, spring_gradient, spring_hessian_entries, spring_vectors


class Cost:
    """What every cost shares: its sparse Hessian from its triplets."""

    def hessian(self, x: np.ndarray, free: np.ndarray) -> sp.csc_matrix:
        """Sparse (F, F) Hessian of the cost over the free coordinates."""
        return csc_from_entries(self.hessian_entries(x, free), int(free.sum()))


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

    def coupled_clamp(self, x: np.ndarray, eta: float) -> tuple[np.ndarray, np.ndarray]:
        """Coupled learning: positions with outputs moved a fraction eta toward their targets,
        and the (2N,) mask of the coordinates that this clamps."""
        y = x.copy()
        y[self.nodes] += eta * (self.targets - x[self.nodes]) * self.mask
        clamped = np.zeros(x.shape, dtype=bool)
        clamped[self.nodes] = self.mask
        return y, clamped.reshape(-1)


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

    def coupled_clamp(self, x: np.ndarray, eta: float) -> tuple[np.ndarray, np.ndarray]:
        """Coupled learning: each pair moved symmetrically along its axis so its distance goes
        a fraction eta of the way to the target; returns positions and the (2N,) clamped mask."""
        y = x.copy()
        d, r = spring_vectors(x, self.pairs)
        shift = (0.5 * eta * (self.targets - r) / np.maximum(r, 1e-300))[:, None] * d
        np.subtract.at(y, self.pairs[:, 0], shift)
        np.add.at(y, self.pairs[:, 1], shift)
        clamped = np.zeros(x.shape, dtype=bool)
        clamped[self.pairs.ravel()] = True
        return y, clamped.reshape(-1)


class MarginCost(Cost):
    """C = 1/2 sum_{o != y} max(0, m - (u_y - u_o))^2: the labelled output y should move at least
    a margin m further along `axis` than every other output (a squared hinge). u_o is output o's
    displacement from its reference position. Unlike squared error to one-hot targets it does not
    mask a middle class (the trouble a linear read-out has with Iris's versicolor).

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
        return float(0.5 * v @ v)

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

    def coupled_clamp(self, x: np.ndarray, eta: float):
        raise NotImplementedError("coupled learning needs target positions; the margin cost has none")
