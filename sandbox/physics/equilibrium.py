"""Relaxing a network to its equilibrium: damped Newton with a band or sparse factorization.

The overdamped masses slide downhill in energy and stop where the force on every free
coordinate vanishes. We get there directly with Newton's method on the free coordinates:

- the Newton matrix is assembled into a pattern worked out once per network structure
  (`assembly.SpringAssembly`) and factorized once (LAPACK band Cholesky, or band LU when it is
  indefinite, for small and mid-size problems; SuperLU for large ones: `factor.py`), then kept
  while it keeps working: a warm start (the nudged phase after the free one, or the next
  training step) usually needs no new factorization, only cheap solves with the one it has;
- a backtracking line search never lets the energy go up;
- where the exact Hessian is indefinite (compressed springs, snap-through) the step falls back to
  the positive semi-definite Hessian plus a growing shift, so every step is a descent step;
- a network with a floppy mode makes the Hessian singular: that is reported, not regularized.

At a temperature kT > 0 each equilibrium also carries thermal snapshots around it (`thermal.py`:
the harmonic approximation), which is what learning measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..physics.network import Network
from .assembly import SpringAssembly
from .factor import BAND_MAX_COORDS, FloppyNetworkError, factorize
from .thermal import harmonic_samples, thermal_rng

__all__ = ["Equilibrium", "FloppyNetworkError", "NewtonSolver", "NotConvergedError"]


class NotConvergedError(RuntimeError):
    """Relaxation did not reach the tolerance within the iteration cap."""


@dataclass
class Equilibrium:
    """x (N, 2) positions; residual = largest |force| on a free coordinate; energy of the
    phase (E + beta C); Newton iterations, factorizations done, and whether it converged.
    samples: (S, N, 2) thermal snapshots of the state at a temperature > 0 (what a measurement
    averages over), None at zero temperature (the state is x itself)."""

    x: np.ndarray
    residual: float
    energy: float
    iterations: int
    factorizations: int
    converged: bool
    samples: np.ndarray | None = None


class NewtonSolver:
    """Damped Newton relaxation, reusing its factorization between calls.

    tol: force residual (max |dE/dx| over free coordinates) at which a state counts as settled.
    max_iter: cap on Newton steps per call, so a phase can never hang.
    band_max: the largest number of free coordinates factorized by band Cholesky (LAPACK);
    above it, SuperLU. The assembly of each structure (springs, free mask) is kept for the next
    calls.
    temperature: kT; above 0 every equilibrium comes with `samples` thermal snapshots drawn
    with the random stream of `seed` (`thermal.py`). Both may be changed between calls.
    """

    def __init__(self, tol: float = 1e-10, max_iter: int = 200, band_max: int = BAND_MAX_COORDS,
                 temperature: float = 0.0, samples: int = 1, seed: int = 0):
        self.tol = tol
        self.max_iter = max_iter
        self.band_max = band_max
        self.temperature = temperature
        self.samples = samples
        self.rng = thermal_rng(seed)
        self._lu = None
        self._lu_free = None
        self._assemblies: dict[tuple[bytes, bytes], SpringAssembly] = {}
        self.total_factorizations = 0

    def forget(self):
        """Drop the kept factorization (after the network's structure changed)."""
        self._lu = None
        self._lu_free = None

    def assembly(self, net: Network, free: np.ndarray, coupled=()) -> SpringAssembly:
        """The assembly of this network's structure with this free mask and these cost-coupled
        nodes: kept from an earlier call while the springs and the mask are the same, built anew
        otherwise (springs cut, roles changed). The last few are kept (a free and a nudged phase,
        or coupled learning's two masks, alternate)."""
        coupled = np.sort(np.asarray(coupled, dtype=np.int64))
        key = (free.tobytes(), coupled.tobytes())
        asm = self._assemblies.get(key)
        if asm is None or not asm.matches(net.edges, net.n_nodes, free):
            if len(self._assemblies) >= 6:
                self._assemblies.pop(next(iter(self._assemblies)))
            asm = self._assemblies[key] = SpringAssembly(net.edges, net.n_nodes, free, coupled)
        return asm

    def relax(self, net: Network, x_start: np.ndarray, cost=None, beta: float = 0.0,
              free: np.ndarray | None = None, strict: bool = False) -> Equilibrium:
        """Minimize E(x) + beta * C(x) over the free coordinates, starting at x_start (N, 2).

        Held coordinates keep their values from x_start. `free` (2N,) overrides which coordinates
        move (coupled learning clamps the outputs too). strict=True raises NotConvergedError
        when the tolerance is not reached.
        """
        free = net.free_dofs if free is None else np.asarray(free, dtype=bool)
        if self._lu_free is None or not np.array_equal(self._lu_free, free):
            self.forget()
        nudged = cost is not None and beta != 0.0
        asm = self.assembly(net, free, cost.nodes if nudged else ())
        phase = _Phase(asm, net.k, net.L, cost if nudged else None, beta)
        x = np.array(x_start, dtype=float)
        if asm.n_free == 0:
            return Equilibrium(x, 0.0, phase.total(x), 0, 0, True)
        eq = self._newton(phase, x, free)
        if self.temperature > 0:
            eq.samples = harmonic_samples(asm, lambda psd: phase.matrix(eq.x, psd), eq.x, self.temperature,
                                          self.samples, self.rng)
        if strict and not eq.converged:
            raise NotConvergedError(f"residual {eq.residual:.3g} after {eq.iterations} Newton steps "
                                    f"(tol {self.tol:g})")
        return eq

    def _newton(self, phase: "_Phase", x: np.ndarray, free: np.ndarray) -> Equilibrium:
        """The damped Newton loop on x (N, 2), in place."""
        flat = x.reshape(-1)
        idx = phase.asm.free_idx
        f0 = self.total_factorizations
        e_cur = phase.total(x)
        g = phase.grad(x, same=True)
        res = float(np.abs(g).max())
        it = 0
        stale = self._lu is not None
        while res > self.tol and it < self.max_iter and np.isfinite(res):
            it += 1
            if not stale:
                self._factorize(phase, phase.matrix(x, psd=False), free)
            p = -self._lu.solve(g)
            slope = float(g @ p)
            if not (np.isfinite(slope) and slope < 0):
                if stale:
                    stale = False
                    it -= 1
                    continue
                p, slope = self._safe_step(phase, phase.matrix(x, psd=True), g, free)
            e_new = self._line_search(phase, flat, idx, p, slope, e_cur, res)
            if e_new is None:
                if stale:
                    stale = False
                    continue
                p, slope = self._safe_step(phase, phase.matrix(x, psd=True), g, free)
                e_new = self._line_search(phase, flat, idx, p, slope, e_cur, res)
                if e_new is None:
                    break
            g = phase.grad(x, same=True)  # the line search ended at x with total(x)
            res_new = float(np.abs(g).max())
            # keep the factorization while it converges fast; refactorize when it slows down
            stale = res_new <= 0.1 * res
            res, e_cur = res_new, e_new
        return Equilibrium(x, res, e_cur, it, self.total_factorizations - f0, bool(res <= self.tol))

    def _factorize(self, phase: "_Phase", vals: np.ndarray, free: np.ndarray):
        self._lu = factorize(phase.asm, vals, phase.asm.n_free <= self.band_max)
        self._lu_free = free.copy()
        self.total_factorizations += 1

    def _safe_step(self, phase: "_Phase", h_psd, g: np.ndarray, free) -> tuple[np.ndarray, float]:
        """Descent direction from the PSD Hessian plus a growing shift (modified Newton)."""
        shift = 1e-8 * max(float(abs(h_psd).max()), 1e-12)
        for _ in range(30):
            try:
                self._factorize(phase, phase.shifted(h_psd, shift), free)
                p = -self._lu.solve(g)
                slope = float(g @ p)
                if np.isfinite(slope) and slope < 0:
                    return p, slope
            except FloppyNetworkError:
                pass
            shift *= 10
        return -g, -float(g @ g)

    @staticmethod
    def _line_search(phase: "_Phase", flat, idx, p, slope, e0, res0):
        """Backtracking: the largest step 2^-m that lowers the energy (Armijo), or that lowers
        the residual when the energy change is below round-off. Leaves flat (2N,) at the new
        point and returns its energy, or restores it and returns None if no step is found."""
        base = flat[idx]
        noise = 1e-13 * (abs(e0) + 1e-300)
        alpha = 1.0
        x = flat.reshape(-1, 2)
        for _ in range(40):
            flat[idx] = base + alpha * p
            e = phase.total(x)
            ok = np.isfinite(e) and (e <= e0 + 1e-4 * alpha * slope)
            if not ok and np.isfinite(e) and abs(alpha * slope) < noise and e <= e0 + noise:
                ok = float(np.abs(phase.grad(x, same=True)).max()) < res0
            if ok:
                return e
            alpha *= 0.5
        flat[idx] = base
        return None


class _Phase:
    """One relaxation problem: the energy E + beta C of a network structure (assembly) with
    stiffness k (E,), rest lengths L (E,) and an optional cost (None when not nudged); its value,
    its gradient over the free coordinates (F,) and its Hessian as (nnz,) values in the
    assembly's pattern."""

    def __init__(self, asm: SpringAssembly, k, L, cost, beta: float):
        self.asm, self.k, self.L, self.cost, self.beta = asm, k, L, cost, beta

    def total(self, x: np.ndarray) -> float:
        """E + beta C at x (N, 2); keeps the spring vectors for `grad(x, same=True)`."""
        self._vectors = self.asm.spring_vectors(x)
        e = self.asm.energy(self._vectors[1], self.k, self.L)
        return e + self.beta * self.cost.value(x) if self.cost is not None else e

    def grad(self, x: np.ndarray, same: bool = False) -> np.ndarray:
        """(F,) gradient over the free coordinates at x (N, 2); same=True: x has not moved since
        the last `total(x)`, whose spring vectors are reused."""
        d, r = self._vectors if same else self.asm.spring_vectors(x)
        g = self.asm.gradient(d, r, self.k, self.L)
        if self.cost is not None:
            g += self.beta * self.cost.gradient(x).reshape(-1)
        return g[self.asm.free_idx]

    def matrix(self, x: np.ndarray, psd: bool) -> np.ndarray:
        vals = self.asm.values(x, self.k, self.L, psd)
        if self.cost is not None:
            rows, cols, w = self.cost.hessian_entries(x, self.asm.free)
            self.asm.add_entries(vals, rows, cols, self.beta * w)
        return vals

    def shifted(self, vals: np.ndarray, shift: float) -> np.ndarray:
        """The values of H + shift * I."""
        vals = vals.copy()
        vals[self.asm.diag_slots] += shift
        return vals
