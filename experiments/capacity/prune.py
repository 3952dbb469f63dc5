"""Greedy pruning as Rocks et al. (2019) tune: at each step, of every move (remove a spring, or
put back one removed before), take the one that lowers the loss most; stop at success, or when
no move lowers it. A move that would leave a zero mode is skipped.

Each step scores every move from the inverse Hessian G (2N, 2N) and a few vectors: a move
changes stiffness k_b by d (-1 or +1), a rank-one change of the Hessian, so (Sherman-Morrison)

    G' = G - c g g^T,  g = G q_b,  c = d / (1 + d s_b),  s_b = q_b . G q_b

and with p = G q_S, sigma = q_S . p, m_t = q_t . p (target extension per unit source force;
eta_t = (l_S / l_t) m_t / sigma), y_b = q_b . p, z_bt = q_b . G q_t:

    sigma' = sigma - c y_b^2,   m_t' = m_t - c y_b z_bt

for all moves at once, (E, T) numbers. 1 + d s_b -> 0 is a move that leaves a zero mode (a
removed spring that carried load no other path can). Rigid-body motions are taken out of the
Hessian by adding R R^T (R: the three rigid-body modes), which no strain sees.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.blas import dger

from sandbox.learning.linear_response import pair_geometry, rigid_body_modes

from .task import DELTA, Task

ZERO_MODE = 1e-4  # |1 + d s_b| below this: the move leaves a zero mode (Rocks's tolerance)
REFRESH = 200  # steps between two fresh inversions of the Hessian (round-off of the updates)


def _coefficients(pos, pairs) -> tuple[np.ndarray, np.ndarray]:
    """The nonzero entries of each pair's vector q over the 2N coordinates: rows (P, 4), values (P, 4)."""
    unit, _ = pair_geometry(pos, pairs)
    i, j = pairs[:, 0], pairs[:, 1]
    rows = np.stack([2 * i, 2 * i + 1, 2 * j, 2 * j + 1], axis=1)
    return rows, np.concatenate([-unit, unit], axis=1)


class Pruner:
    """The greedy tuner's state on one task: which springs are present, G, and the step."""

    def __init__(self, task: Task, rng: np.random.Generator):
        self.task, self.rng = task, rng
        pos = task.pos
        self.present = np.ones(len(task.edges), dtype=bool)
        self.rows, self.coef = _coefficients(pos, task.edges)
        self.s_rows, self.s_coef = _coefficients(pos, task.source[None])
        self.t_rows, self.t_coef = _coefficients(pos, task.targets)
        self.ratio_scale = pair_geometry(pos, task.source[None])[1][0] / pair_geometry(pos, task.targets)[1]
        self.rigid = rigid_body_modes(pos)
        self.last = -1
        self.refresh()

    def refresh(self) -> None:
        """G afresh from the springs present: (H + R R^T)^-1."""
        import scipy.sparse as sp

        e = len(self.rows)
        q = sp.csr_matrix((self.coef.ravel(), self.rows.ravel(), np.arange(0, 4 * e + 1, 4)),
                          shape=(e, 2 * len(self.task.pos)))
        h = (q[self.present].T @ q[self.present]).toarray() + self.rigid @ self.rigid.T
        self.G = np.asfortranarray(np.linalg.inv(h))

    def _apply(self, rows, coef) -> np.ndarray:
        """G q for vectors given by rows (P, 4), coef (P, 4): (2N, P)."""
        return np.einsum("fpr,pr->fp", self.G[:, rows], coef)

    def scores(self) -> tuple[np.ndarray, np.ndarray]:
        """(E,) the loss after each move (inf where not allowed) and (E,) c of each move."""
        rows, coef = self.rows, self.coef
        p = self._apply(self.s_rows, self.s_coef)[:, 0]
        sigma = float(p[self.s_rows[0]] @ self.s_coef[0])
        w = self._apply(self.t_rows, self.t_coef)  # (2N, T)
        m = (p[self.t_rows] * self.t_coef).sum(axis=1)
        y = (p[rows] * coef).sum(axis=1)
        z = np.einsum("er,ert->et", coef, w[rows])
        s = np.einsum("er,erc,ec->e", coef, self.G[rows[:, :, None], rows[:, None, :]], coef)
        d = np.where(self.present, -1.0, 1.0)
        det = 1.0 + d * s
        allowed = np.abs(det) > ZERO_MODE
        if self.last >= 0:
            allowed[self.last] = False  # never undo the last move at once
        c = np.where(allowed, d / np.where(allowed, det, 1.0), 0.0)
        sigma_new = sigma - c * y * y
        m_new = m[None, :] - (c * y)[:, None] * z
        ratios = self.ratio_scale * m_new / sigma_new[:, None]
        r = np.minimum(ratios / self.task.eta0 - 1.0 - DELTA, 0.0)
        loss = 0.5 * (r * r).sum(axis=1)
        return np.where(allowed, loss, np.inf), c

    def step(self, loss_now: float) -> float | None:
        """Take the best move if it lowers the loss; returns the new loss, or None."""
        loss, c = self.scores()
        best = float(loss.min())
        if not np.isfinite(best) or best >= loss_now * (1 - 1e-8):
            return None
        ties = np.flatnonzero(loss == best)
        b = int(self.rng.choice(ties)) if best == 0.0 and len(ties) > 1 else int(ties[0])
        g = self._apply(self.rows[b:b + 1], self.coef[b:b + 1])[:, 0]
        self.G = dger(-c[b], g, g, a=self.G, overwrite_a=True)
        self.present[b] = not self.present[b]
        self.last = b
        return best


def prune(task: Task, seed: int = 0, max_steps: int | None = None) -> dict:
    """Run the greedy tuner to success or a stop; returns the outcome (see `runs.outcome`)."""
    pruner = Pruner(task, np.random.default_rng(seed))
    loss = task.loss(task.eta0)
    history = [{"epoch": 0, "loss": loss}]
    stopped, steps = "no move lowers the loss", 0
    max_steps = max_steps or 2 * len(task.edges)
    while loss > 0.0:
        if steps >= max_steps:
            stopped = f"step cap ({max_steps})"
            break
        new = pruner.step(loss)
        if new is None:
            break
        loss, steps = new, steps + 1
        history.append({"epoch": steps, "loss": loss})
        if steps % REFRESH == 0:
            pruner.refresh()
    k = pruner.present.astype(float)
    return {"k": k, "steps": steps, "history": history, "stopped": "" if loss == 0.0 else stopped,
            "removed": int((~pruner.present).sum())}
