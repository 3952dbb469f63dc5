"""The reference path: the Newton solver as it was before structure-aware assembly (issue 15).

At every Newton step it rebuilds the sparse Hessian from COO triplets (`energy.hessian`) and
factorizes it with SuperLU, whatever the size. The benchmark times training with it against
today's `NewtonSolver`, and tests/test_throughput.py checks both learn the same stiffnesses.
The decisions (when to refactorize, the line search, the safe step) are the ones
`NewtonSolver` still takes, so the two paths differ by round-off only. Like it, it tells which
factorization it keeps (`kept`, each Equilibrium's `kept`), so the trainer starts its phases
from the same ones on both paths.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from sandbox.physics import energy as en
from sandbox.physics.equilibrium import Equilibrium, FloppyNetworkError, Kept, NotConvergedError
from sandbox.physics.network import Network


class ReferenceNewton:
    """The damped Newton solver as it was before issue 15, kept verbatim as the reference path.

    tol: force residual (max |dE/dx| over free coordinates) at which a state counts as settled.
    max_iter: cap on Newton steps per call, so a phase can never hang.
    """

    def __init__(self, tol: float = 1e-10, max_iter: int = 200):
        self.tol = tol
        self.max_iter = max_iter
        self._lu = None
        self._lu_free = None
        self.total_factorizations = 0

    def forget(self):
        """Drop the kept factorization (after the network's structure changed)."""
        self._lu = None
        self._lu_free = None

    @property
    def kept(self) -> Kept | None:
        """The factorization the next relaxation starts with (None: a new one); settable."""
        return None if self._lu is None else Kept(self._lu, self._lu_free)

    @kept.setter
    def kept(self, kept: Kept | None):
        self._lu, self._lu_free = (None, None) if kept is None else kept

    def factorization_at(self, net: Network, x: np.ndarray, psd: bool = False) -> Kept | None:
        """A new factorization of the Hessian at x (N, 2) (psd: its PSD part)."""
        free = net.free_dofs
        if not free.any():
            return None
        self._factorize(en.hessian(net, x, free, psd=psd), free)
        return self.kept

    def relax(self, net: Network, x_start: np.ndarray, cost=None, beta: float = 0.0,
              free: np.ndarray | None = None, strict: bool = False) -> Equilibrium:
        """Minimize E(x) + beta * C(x) over the free coordinates, starting at x_start (N, 2).

        Held coordinates keep their values from x_start. `free` (2N,) overrides which coordinates
        move (coupled learning clamps the outputs too). strict=True raises NotConvergedError
        when the tolerance is not reached.
        """
        free = net.free_dofs if free is None else free
        x = np.array(x_start, dtype=float)
        flat = x.reshape(-1)
        nudged = cost is not None and beta != 0.0

        def total(xx):
            e = en.energy(net, xx)
            return e + beta * cost.value(xx) if nudged else e

        def grad(xx):
            g = en.gradient(net, xx)
            if nudged:
                g = g + beta * cost.gradient(xx)
            return g.reshape(-1)[free]

        def matrix(xx, psd):
            h = en.hessian(net, xx, free, psd=psd)
            if nudged:
                h = h + beta * cost.hessian(xx, free)
            return h

        if self._lu_free is None or not np.array_equal(self._lu_free, free):
            self.forget()
        n_free = int(free.sum())
        if n_free == 0:
            return Equilibrium(x, 0.0, total(x), 0, 0, True, self.kept)
        f0 = self.total_factorizations
        e_cur = total(x)
        g = grad(x)
        res = float(np.max(np.abs(g)))
        it = 0
        stale = self._lu is not None
        while res > self.tol and it < self.max_iter and np.isfinite(res):
            it += 1
            if not stale:
                self._factorize(matrix(x, psd=False), free)
            p = -self._lu.solve(g)
            slope = float(g @ p)
            if not (np.isfinite(slope) and slope < 0):
                if stale:
                    stale = False
                    it -= 1
                    continue
                p, slope = self._safe_step(matrix(x, psd=True), g, free)
            step = self._line_search(total, flat, free, p, slope, e_cur, grad, res)
            if step is None:
                if stale:
                    stale = False
                    continue
                p, slope = self._safe_step(matrix(x, psd=True), g, free)
                step = self._line_search(total, flat, free, p, slope, e_cur, grad, res)
                if step is None:
                    break
            flat[free] += step
            e_new = total(x)
            g = grad(x)
            res_new = float(np.max(np.abs(g)))
            # keep the factorization while it converges fast; refactorize when it slows down
            stale = res_new <= 0.1 * res
            res, e_cur = res_new, e_new
        converged = bool(res <= self.tol)
        if strict and not converged:
            raise NotConvergedError(f"residual {res:.3g} after {it} Newton steps (tol {self.tol:g})")
        return Equilibrium(x, res, e_cur, it, self.total_factorizations - f0, converged, self.kept)

    def _factorize(self, h: sp.csc_matrix, free: np.ndarray):
        try:
            self._lu = spla.splu(h.tocsc(), permc_spec="MMD_AT_PLUS_A")
        except RuntimeError as exc:  # "Factor is exactly singular"
            raise FloppyNetworkError(
                "the network has a floppy mode (a node or cluster that can move at no cost): "
                "hold it, brace it with more springs, or put it on a rail") from exc
        self._lu_free = free.copy()
        self.total_factorizations += 1

    def _safe_step(self, h_psd: sp.csc_matrix, g: np.ndarray, free) -> tuple[np.ndarray, float]:
        """Descent direction from the PSD Hessian plus a growing shift (modified Newton)."""
        shift = 1e-8 * max(float(abs(h_psd).max()), 1e-12)
        eye = sp.identity(h_psd.shape[0], format="csc")
        for _ in range(30):
            try:
                self._factorize(h_psd + shift * eye, free)
                p = -self._lu.solve(g)
                slope = float(g @ p)
                if np.isfinite(slope) and slope < 0:
                    return p, slope
            except FloppyNetworkError:
                pass
            shift *= 10
        return -g, -float(g @ g)

    @staticmethod
    def _line_search(total, flat, free, p, slope, e0, grad, res0):
        """Backtracking: the largest step 2^-m that lowers the energy (Armijo), or that lowers
        the residual when the energy change is below round-off. None if none is found."""
        base = flat[free].copy()
        noise = 1e-13 * (abs(e0) + 1e-300)
        alpha = 1.0
        for _ in range(40):
            flat[free] = base + alpha * p
            e = total(flat.reshape(-1, 2))
            ok = np.isfinite(e) and (e <= e0 + 1e-4 * alpha * slope)
            if not ok and np.isfinite(e) and abs(alpha * slope) < noise and e <= e0 + noise:
                ok = float(np.max(np.abs(grad(flat.reshape(-1, 2))))) < res0
            flat[free] = base
            if ok:
                return alpha * p
            alpha *= 0.5
        return None



class OneAtATime:
    """A solver the trainer can only drive one relaxation at a time (`relax`, no `relax_many`):
    the path before batching (issue 27), each relaxation starting from whatever factorization
    the last one kept."""

    def __init__(self, solver=None):
        from sandbox.physics.equilibrium import NewtonSolver

        self.solver = solver or NewtonSolver()

    def relax(self, *args, **kwargs) -> Equilibrium:
        return self.solver.relax(*args, **kwargs)

    def forget(self):
        self.solver.forget()

    @property
    def total_factorizations(self) -> int:
        return self.solver.total_factorizations


class OneAtATimeSameStarts(OneAtATime):
    """One relaxation at a time, but with `kept` and `factorization_at` shown, so the trainer
    starts each phase from the factorization the batched path starts it from: the one-at-a-time
    twin of `relax_many`."""

    def factorization_at(self, *args, **kwargs):
        return self.solver.factorization_at(*args, **kwargs)

    @property
    def kept(self) -> Kept | None:
        return self.solver.kept

    @kept.setter
    def kept(self, kept: Kept | None):
        self.solver.kept = kept
