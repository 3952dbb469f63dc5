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

`relax_many` relaxes the examples of a mini-batch (or a whole evaluation set) together, with the
same decisions per example (`batch.py`). Which factorization a relaxation starts from is said
explicitly: the one the solver keeps (`kept`, settable; each Equilibrium also carries the one
it ended with). The trainer starts the free phases of a mini-batch from one factorization (the
network's at rest, `factorization_at`, see Trainer._first) and each example's nudged phases
from its free phase's, whether it relaxes them one at a time or together: both give the same
equilibria, to the last bit.

At a temperature kT > 0 each equilibrium also carries thermal snapshots around it (`thermal.py`:
the harmonic approximation), which is what learning measures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..physics.network import Network
from .assembly import SpringAssembly
from .factor import BAND_MAX_COORDS, FloppyNetworkError, factorize, use_one_blas_thread
from .thermal import harmonic_samples, thermal_rng

__all__ = ["Equilibrium", "FloppyNetworkError", "Kept", "NewtonSolver", "NotConvergedError"]


class NotConvergedError(RuntimeError):
    """Relaxation did not reach the tolerance within the iteration cap."""


class Kept(NamedTuple):
    """A factorization kept for later relaxations: its factors and the (2N,) free mask it is of."""

    factor: object
    free: np.ndarray


@dataclass
class Equilibrium:
    """x (N, 2) positions; residual = largest |force| on a free coordinate; energy of the
    phase (E + beta C); Newton iterations, factorizations done, and whether it converged;
    kept: the factorization the relaxation ended with (None if it had none), for the next phase.
    samples: (S, N, 2) thermal snapshots of the state at a temperature > 0 (what a measurement
    averages over), None at zero temperature (the state is x itself)."""

    x: np.ndarray
    residual: float
    energy: float
    iterations: int
    factorizations: int
    converged: bool
    kept: Kept | None = field(default=None, repr=False, compare=False)
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
        use_one_blas_thread()
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

    def checkpoint(self) -> None:
        """Called before each chunk of a `relax_many`: a subclass may raise there to stop the work
        (the window's cancellable jobs); nothing here."""

    def forget(self):
        """Drop the kept factorization (after the network's structure changed)."""
        self._lu = None
        self._lu_free = None

    @property
    def kept(self) -> Kept | None:
        """The factorization the next relaxation starts with (None: a new one); settable, to
        start several relaxations from the same one."""
        return None if self._lu is None else Kept(self._lu, self._lu_free)

    @kept.setter
    def kept(self, kept: Kept | None):
        self._lu, self._lu_free = (None, None) if kept is None else kept

    def factorization_at(self, net: Network, x: np.ndarray, psd: bool = False) -> Kept | None:
        """A new factorization of the Hessian at x (N, 2) (psd: its positive semi-definite part),
        for relaxations that start near x."""
        asm = self.assembly(net, net.free_dofs)
        if asm.n_free == 0:
            return None
        factor = factorize(asm, asm.values(x, net.k, net.L, psd), asm.n_free <= self.band_max)
        self.total_factorizations += 1
        return Kept(factor, asm.free)

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
            return Equilibrium(x, 0.0, phase.total(x), 0, 0, True, self.kept)
        eq = self._newton(phase, x, free)
        self._thermalize(eq, phase)
        if strict and not eq.converged:
            raise NotConvergedError(f"residual {eq.residual:.3g} after {eq.iterations} Newton steps "
                                    f"(tol {self.tol:g})")
        return eq

    def relax_many(self, net: Network, starts: np.ndarray, costs=None, beta=0.0, free: np.ndarray | None = None,
                   kept=None, strict: bool = False) -> list[Equilibrium]:
        """One equilibrium per example, as `relax` finds it: starts (B, N, 2); costs None or B
        costs (one task's), beta a number or (B,), nonzero for every example when costs are given;
        `free` (2N,) shared by all. Each example starts from `kept[i]` (an Equilibrium's `kept`,
        None for a new factorization), or all from this solver's kept one when `kept` is None.
        Afterwards the solver keeps the last example's factorization, as if they had been relaxed
        one after another. A floppy network raises FloppyNetworkError naming the example."""
        from .batch import relax_many

        eqs = relax_many(self, net, starts, costs, beta, free, kept, strict)
        if self.temperature > 0:  # each example's snapshots, example after example
            free = net.free_dofs if free is None else np.asarray(free, dtype=bool)
            betas = np.broadcast_to(np.asarray(beta, dtype=float), (len(eqs),))
            for i, eq in enumerate(eqs):
                cost = costs[i] if costs is not None and betas[i] != 0.0 else None
                asm = self.assembly(net, free, cost.nodes if cost is not None else ())
                self._thermalize(eq, _Phase(asm, net.k, net.L, cost, float(betas[i])))
        return eqs

    def _thermalize(self, eq: Equilibrium, phase: "_Phase") -> None:
        """At a temperature above 0, give eq its `samples` thermal snapshots (thermal.py)."""
        if self.temperature > 0 and phase.asm.n_free:
            eq.samples = harmonic_samples(phase.asm, lambda psd: phase.matrix(eq.x, psd), eq.x, self.temperature,
                                          self.samples, self.rng)

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
            slope = float((g * p).sum())
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
        return Equilibrium(x, res, e_cur, it, self.total_factorizations - f0, bool(res <= self.tol), self.kept)

    def _factorize(self, phase: "_Phase", vals: np.ndarray, free: np.ndarray):
        self._lu = factorize(phase.asm, vals, phase.asm.n_free <= self.band_max)
        self._lu_free = free.copy()
        self.total_factorizations += 1

    def _safe_step(self, phase: "_Phase", h_psd, g: np.ndarray, free) -> tuple[np.ndarray, float]:
        """Descent direction from the PSD Hessian plus a growing shift (modified Newton)."""
        p, slope, factor, n = safe_step(phase.asm, h_psd, g, phase.asm.n_free <= self.band_max)
        if factor is not None:
            self._lu, self._lu_free = factor, free.copy()
        self.total_factorizations += n
        return p, slope

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
            with np.errstate(over="ignore", invalid="ignore"):  # (a step too far overflows: it is halved)
                e = phase.total(x)
            ok = np.isfinite(e) and (e <= e0 + 1e-4 * alpha * slope)
            if not ok and np.isfinite(e) and abs(alpha * slope) < noise and e <= e0 + noise:
                ok = float(np.abs(phase.grad(x, same=True)).max()) < res0
            if ok:
                return e
            alpha *= 0.5
        flat[idx] = base
        return None


def safe_step(asm: SpringAssembly, h_psd: np.ndarray, g: np.ndarray, band: bool):
    """Modified Newton: a descent direction p (F,) from the PSD Hessian (values (nnz,)) plus a
    shift growing tenfold until it factorizes and p goes downhill (the gradient -g after 30
    tries). Returns p, its slope g.p, the last factors made (None if none) and how many."""
    shift = 1e-8 * max(float(abs(h_psd).max()), 1e-12)
    factor, made = None, 0
    for _ in range(30):
        try:
            shifted = h_psd.copy()
            shifted[asm.diag_slots] += shift
            factor = factorize(asm, shifted, band)
            made += 1
            p = -factor.solve(g)
            with np.errstate(over="ignore", invalid="ignore"):  # (a step too large to use: shift more)
                slope = float((g * p).sum())
            if np.isfinite(slope) and slope < 0:
                return p, slope, factor, made
        except FloppyNetworkError:
            pass
        shift *= 10
    return -g, -float((g * g).sum()), factor, made


class _Phase:
    """One relaxation problem: the energy E + beta C of a network structure (assembly) with
    stiffness k (E,), rest lengths L (E,) and an optional cost (None when not nudged); its value,
    its gradient over the free coordinates (F,) and its Hessian as (nnz,) values in the
    assembly's pattern."""

    def __init__(self, asm: SpringAssembly, k, L, cost, beta: float):
        self.asm, self.k, self.L, self.cost, self.beta = asm, k, L, cost, beta

    def total(self, x: np.ndarray) -> float:
        """E + beta C at x (N, 2); keeps the springs for `grad(x, same=True)`."""
        self._springs = self.asm.springs(x.reshape(-1, 1), self.k, self.L)
        e = float(self.asm.energy(self._springs)[0])
        return e + self.beta * self.cost.value(x) if self.cost is not None else e

    def grad(self, x: np.ndarray, same: bool = False) -> np.ndarray:
        """(F,) gradient over the free coordinates at x (N, 2); same=True: x has not moved since
        the last `total(x)`, whose springs are reused."""
        s = self._springs if same else self.asm.springs(x.reshape(-1, 1), self.k, self.L)
        g = self.asm.gradient(s)[:, 0]
        if self.cost is not None:
            g += self.beta * self.cost.gradient(x).reshape(-1)[self.asm.free_idx]
        return g

    def matrix(self, x: np.ndarray, psd: bool) -> np.ndarray:
        vals = self.asm.values(x, self.k, self.L, psd)
        if self.cost is not None:
            rows, cols, w = self.cost.hessian_entries(x, self.asm.free)
            self.asm.add_entries(vals, rows, cols, self.beta * w)
        return vals
