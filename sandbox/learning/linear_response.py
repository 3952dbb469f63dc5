"""Linear response of a spring network at rest to a strain imposed on one pair of nodes.

The network: N nodes at rest at `pos` (N, 2), E springs `edges` (E, 2) at their rest lengths,
stiffness k (E,). The source is a pair of nodes (joined by a spring or not) held at extension
eps_S l_S: a constraint on that pair's distance alone, not on where the pair sits. Everything
else relaxes. For small eps_S every displacement is linear in it, and so is the extension
delta_p = q_p . u of any measured pair p (q_p: the unit vector n_p of the pair, -n_p on its first
node, +n_p on its second; u: the displacements). The strain ratio

    eta_p = (delta_p / l_p) / eps_S

comes from one factorization of the Hessian H = sum_e k_e q_e q_e^T and one solve:
u = l_S G q_S / (q_S . G q_S) with G = H^-1 (eps_S = 1). Rigid motions, which no strain sees,
are removed by holding three coordinates (two nodes far apart); the network must have no other
zero mode (experiments/capacity/networks.py builds networks without one).

A cost of the ratios given, near the ratios where it is taken, as a quadratic
C = 1/2 sum_p w_p (eta_p - eta*_p)^2 (a callable `quadratic(ratios) -> (w (P,), eta* (P,))`: a
squared hinge is such a cost, w_p = 0 where the hinge is off), has

- the exact gradient dC/dk_e = -(q_e . u)(q_e . v), v = G_c dC/du (an adjoint solve; G_c is G
  with the source held: G - p p^T / (q_S . p), p = G q_S);
- the centered EP estimate: the network nudged by +beta C and by -beta C (a weak spring on
  each measured pair, of stiffness beta w_p / l_p^2, pulling it toward extension l_p eta*_p),
  relaxed from the free state, and each spring's (1/2 e_e^2 at +beta - 1/2 e_e^2 at -beta) /
  (2 beta): what the physics hands a local rule. Its bias is O(beta^2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..physics.assembly import SpringAssembly
from ..physics.factor import BAND_MAX_COORDS, factorize


def pair_geometry(pos: np.ndarray, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (P, 2) from the first node of each pair to the second, and lengths (P,)."""
    d = pos[pairs[:, 1]] - pos[pairs[:, 0]]
    length = np.sqrt((d * d).sum(axis=1))
    return d / length[:, None], length


def extensions(u: np.ndarray, pairs: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """(P,) q_p . u: how much each pair lengthens under the displacements u (N, 2)."""
    return ((u[pairs[:, 1]] - u[pairs[:, 0]]) * unit).sum(axis=1)


def rigid_body_modes(pos: np.ndarray) -> np.ndarray:
    """(2N, 3) orthonormal translations along x, y and the rotation about the centroid."""
    n = len(pos)
    r = pos - pos.mean(axis=0)
    modes = np.zeros((2 * n, 3))
    modes[0::2, 0] = 1.0
    modes[1::2, 1] = 1.0
    modes[0::2, 2], modes[1::2, 2] = -r[:, 1], r[:, 0]
    return modes / np.linalg.norm(modes, axis=0)


def pinned_coordinates(pos: np.ndarray) -> np.ndarray:
    """Three coordinates whose holding removes the rigid motions: both of the node nearest the
    centroid, and of the node farthest from it the axis a rotation about the first moves most."""
    a = int(np.argmin(((pos - pos.mean(axis=0)) ** 2).sum(axis=1)))
    b = int(np.argmax(((pos - pos[a]) ** 2).sum(axis=1)))
    d = pos[b] - pos[a]
    axis = 1 if abs(d[0]) >= abs(d[1]) else 0  # a rotation moves b along (-d_y, d_x)
    return np.array([2 * a, 2 * a + 1, 2 * b + axis])


@dataclass
class State:
    """An equilibrium of the linear response: u (N, 2) displacements with the source held at
    extension l_S; ratios (P,) eta of the measured pairs; p (F,) = G q_S and its factor kept for
    an adjoint solve."""

    u: np.ndarray
    ratios: np.ndarray
    p: np.ndarray
    factor: object


class StrainResponse:
    """The strain ratios of measured node pairs when a source node pair is strained.

    pos (N, 2) rest positions, edges (E, 2) springs (at rest), source (2,) node indices,
    pairs (P, 2) measured node pairs (they need not be springs: a "ghost" pair has no stiffness
    and is never tuned).
    """

    def __init__(self, pos, edges, source, pairs):
        self.pos = np.asarray(pos, dtype=float)
        self.edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        self.source = np.asarray(source, dtype=np.int64).reshape(1, 2)
        self.pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        n = len(self.pos)
        self.edge_unit, self._rest = pair_geometry(self.pos, self.edges)
        self.pair_unit, self.pair_length = pair_geometry(self.pos, self.pairs)
        self.free = np.ones(2 * n, dtype=bool)
        self.free[pinned_coordinates(self.pos)] = False
        self._asm = SpringAssembly(self.edges, n, self.free)
        unit, length = pair_geometry(self.pos, self.source)
        self.source_length = float(length[0])
        self._q_source = self._vectors(self.source, unit).toarray()[0]
        self._q_pairs = self._vectors(self.pairs, self.pair_unit)

    def _vectors(self, pairs: np.ndarray, unit: np.ndarray):
        """(P, F) sparse: the vectors q of `pairs` over the free coordinates."""
        import scipy.sparse as sp

        index = -np.ones(2 * len(self.pos), dtype=np.int64)
        index[self.free] = np.arange(int(self.free.sum()))
        cols = index[np.stack([2 * pairs[:, 0], 2 * pairs[:, 0] + 1, 2 * pairs[:, 1], 2 * pairs[:, 1] + 1], axis=1)]
        vals = np.concatenate([-unit, unit], axis=1)
        rows = np.repeat(np.arange(len(pairs)), 4).reshape(-1, 4)
        keep = cols >= 0
        return sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(len(pairs), int(self.free.sum())))

    def _full(self, u_free: np.ndarray) -> np.ndarray:
        u = np.zeros(2 * len(self.pos))
        u[self.free] = u_free
        return u.reshape(-1, 2)

    def state(self, k: np.ndarray) -> State:
        """The free equilibrium with stiffness k (E,): one factorization, one solve."""
        vals = self._asm.values(self.pos, k, self._rest)
        factor = factorize(self._asm, vals, self._asm.n_free <= BAND_MAX_COORDS)
        p = factor.solve(self._q_source)
        u = self._full(self.source_length * p / (self._q_source @ p))
        return State(u, self.ratios_of(u), p, factor)

    def _held_solve(self, s: State, f: np.ndarray) -> np.ndarray:
        """G_c f (F,): the displacements a force f (F,) adds with the source held."""
        v = s.factor.solve(f)
        return v - s.p * (s.p @ f) / (self._q_source @ s.p)

    def ratios_of(self, u: np.ndarray) -> np.ndarray:
        """(P,) strain ratios eta of the measured pairs at displacements u (N, 2) (eps_S = 1)."""
        return extensions(u, self.pairs, self.pair_unit) / self.pair_length

    def ratios(self, k: np.ndarray) -> np.ndarray:
        return self.state(k).ratios

    @staticmethod
    def cost(ratios: np.ndarray, quadratic) -> float:
        """C = 1/2 sum_p w_p (eta_p - eta*_p)^2 with (w, eta*) = quadratic(ratios)."""
        weights, goals = quadratic(ratios)
        d = ratios - goals
        return 0.5 * float((weights * d * d).sum())

    def _cost_force(self, u_free: np.ndarray, weights, goals) -> np.ndarray:
        """dC/du (F,) at displacements u_free (F,)."""
        eta = (self._q_pairs @ u_free) / self.pair_length
        return self._q_pairs.T @ (weights * (eta - goals) / self.pair_length)

    def exact_gradient(self, k: np.ndarray, quadratic) -> tuple[float, np.ndarray, State]:
        """C and its exact gradient dC/dk (E,) at stiffness k: one factorization, two solves."""
        s = self.state(k)
        weights, goals = quadratic(s.ratios)
        v = self._full(self._held_solve(s, self._cost_force(s.u.reshape(-1)[self.free], weights, goals)))
        grad = -extensions(s.u, self.edges, self.edge_unit) * extensions(v, self.edges, self.edge_unit)
        return self.cost(s.ratios, quadratic), grad, s

    def ep_gradient(self, k: np.ndarray, quadratic, beta: float, tol: float = 1e-13,
                    max_sweeps: int = 20) -> tuple[float, np.ndarray, State]:
        """C and the centered EP estimate of dC/dk (E,): the free phase, then the phases nudged
        by +beta and -beta, each relaxed from the free state with the free phase's factorization
        (u <- u_free - beta G_c dC/du(u), until it moves less than tol relative), then each
        spring's rule. Raises ValueError when a nudge is too strong for that relaxation."""
        s = self.state(k)
        weights, goals = quadratic(s.ratios)
        u0 = s.u.reshape(-1)[self.free]
        half_e2 = []
        for b in (beta, -beta):
            u = u0
            for _ in range(max_sweeps):
                new = u0 - b * self._held_solve(s, self._cost_force(u, weights, goals))
                moved = float(np.abs(new - u).max())
                u = new
                if moved <= tol * float(np.abs(u0).max()):
                    break
            else:
                raise ValueError(f"the nudge beta = {b:g} is too strong to relax from the free state; take a smaller beta")
            e = extensions(self._full(u), self.edges, self.edge_unit)
            half_e2.append(0.5 * e * e)
        return self.cost(s.ratios, quadratic), (half_e2[0] - half_e2[1]) / (2 * beta), s
