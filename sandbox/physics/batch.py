"""Relaxing many examples of one network together: B equilibria with shared k, L and sparsity.

The examples of a mini-batch, or of a whole evaluation set, are independent problems with one
Hessian pattern. Each Newton round works on the examples still moving, all at once:

- one assembly: their springs, energies, gradients and Hessian values, each a few numpy calls
  over springs x examples (`assembly.SpringAssembly`'s kernels take one column per example),
  their costs scored together (`costs.batch_of`);
- one factorization of those that need a new one, side by side in one block-diagonal band
  matrix with the band width of one network (`factor.factorize_many`), and one solve
  (`factor.solve_many`; examples still on a shared factorization solve together with it);
- the decisions of `NewtonSolver.relax`, taken per example: keep a factorization while it
  converges by 10x a step, backtrack until the energy goes down, fall back to modified Newton
  where the Hessian is indefinite, and stop at the tolerance: an example that has converged
  drops out of the stack. Each example's arithmetic is its own, so its equilibrium is the one
  `relax` finds from the same start and factorization.

Large batches are relaxed in chunks (CHUNK_VALUES, CHUNK_BAND_VALUES), one after another.
"""

from __future__ import annotations

import numpy as np

from .assembly import Springs, columns
from .costs import batch_of
from .equilibrium import Equilibrium, Kept, NotConvergedError, safe_step
from .factor import FloppyNetworkError, factorize_many, solve_many
from .network import Network

# The most numbers per chunk in the spring arrays (spring ends x examples): a Digits evaluation
# (1,797 examples of 660 springs) took 0.17 s of CPU in chunks of 2^17 (50 examples), 0.18 and
# 0.21 s in chunks of 2^16 and 2^18, 0.26 s in one (memory traffic); and in the band factors
# (band x coordinates x examples), 16 MB.
CHUNK_VALUES = 2**17
CHUNK_BAND_VALUES = 2**21


def relax_many(solver, net: Network, starts, costs=None, beta=0.0, free=None, kept=None,
               strict: bool = False) -> list[Equilibrium]:
    """See NewtonSolver.relax_many."""
    starts = np.array(starts, dtype=float)
    n_ex = len(starts)
    if n_ex == 0:
        return []
    betas = np.broadcast_to(np.asarray(beta, dtype=float), (n_ex,)).copy()
    free = net.free_dofs if free is None else np.asarray(free, dtype=bool)
    nudged = costs is not None and bool(np.any(betas != 0.0))
    if nudged and not np.all(betas != 0.0):
        raise ValueError("relax_many: with costs, every example needs a nonzero beta")
    cost = batch_of(costs) if nudged else None
    asm = solver.assembly(net, free, cost.nodes if nudged else ())
    if kept is None:
        shared = solver.kept
        kept = [shared] * n_ex
    usable = {id(k): k for k in kept if k is not None}  # (each distinct one checked once)
    usable = {i: k.factor for i, k in usable.items() if np.array_equal(k.free, free)}
    factors = [None if k is None else usable.get(id(k)) for k in kept]
    if asm.n_free == 0:
        energies = _Relaxation(solver, asm, net, cost, betas, starts, factors).total(np.arange(n_ex))[0]
        return [Equilibrium(starts[i], 0.0, float(energies[i]), 0, 0, True, kept[i]) for i in range(n_ex)]
    out: list[Equilibrium] = []
    size = max(1, min(CHUNK_VALUES // max(4 * net.n_springs, 1), CHUNK_BAND_VALUES // max(_band_values(asm, solver), 1)))
    for lo in range(0, n_ex, size):
        solver.checkpoint()
        rows = slice(lo, lo + size)
        run = _Relaxation(solver, asm, net, cost, betas[rows], starts[rows], factors[rows], lo)
        out += run.newton()
    last = out[-1].kept
    solver.kept = last
    if strict:
        for i, eq in enumerate(out):
            if not eq.converged:
                raise NotConvergedError(f"example {i}: residual {eq.residual:.3g} after {eq.iterations} "
                                        f"Newton steps (tol {solver.tol:g})")
    return out


def _band_values(asm, solver) -> int:
    """Numbers in one example's band factor (0 on the sparse path)."""
    if asm.n_free > solver.band_max:
        return 0
    return (asm.band_layout() + 1) * asm.n_free


class _Relaxation:
    """B relaxations of one structure under way: positions z (2N, B), one column per example,
    per-example state, and E + beta C, its gradient and Hessian for any subset `rows` (b,)."""

    def __init__(self, solver, asm, net: Network, cost, betas, x, factors, first: int = 0):
        self.solver, self.asm, self.cost = solver, asm, cost
        self.k, self.L = net.k, net.L
        self._params = {}  # b -> k and L as (E, b) columns (assembly.columns)
        self.betas = betas
        self.z = np.ascontiguousarray(x.reshape(len(x), -1).T)
        self.factors = list(factors)
        self.first = first  # the position of this chunk's first example in the batch (and its costs)
        self.band = asm.n_free <= solver.band_max

    # ------------------------------------------------------------ E + beta C and its derivatives

    def positions(self, z: np.ndarray) -> np.ndarray:
        """(b, N, 2) positions of the columns z (2N, b)."""
        return z.T.reshape(z.shape[1], -1, 2)

    def params(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """k and L as (E, b) columns, made once for each b (a few sizes of the stack recur)."""
        if b not in self._params:
            if len(self._params) >= 8:
                self._params.clear()
            self._params[b] = (columns(self.k, b), columns(self.L, b))
        return self._params[b]

    def total(self, rows: np.ndarray):
        """(b,) E + beta C of the examples `rows` at their positions, and their springs."""
        zs = self.z[:, rows]
        s = self.asm.springs(zs, *self.params(zs.shape[1]))
        e = self.asm.energy(s)
        if self.cost is not None:
            e = e + self.betas[rows] * self.cost.values(self.positions(zs), self.first + rows)
        return e, s

    def grad(self, rows: np.ndarray, springs=None) -> np.ndarray:
        """(b, F) gradients over the free coordinates (springs: those at z[:, rows])."""
        s = springs if springs is not None else self.asm.springs(self.z[:, rows], *self.params(len(rows)))
        g = self.asm.gradient(s)
        if self.cost is not None:
            cg = self.cost.gradients(self.positions(self.z[:, rows]), self.first + rows).reshape(len(rows), -1)
            g += self.betas[rows] * cg[:, self.asm.free_idx].T
        return np.ascontiguousarray(g.T)

    def matrix(self, rows: np.ndarray, psd: bool) -> np.ndarray:
        """(nnz, b) Hessian values."""
        vals = self.asm.hessians(self.z[:, rows], *self.params(len(rows)), psd)
        if self.cost is not None:
            x = self.positions(self.z[:, rows])
            for j, i in enumerate(rows):
                r, c, w = self.cost.hessian_entries(self.first + i, x[j], self.asm.free)
                self.asm.add_entries(vals[:, j], r, c, self.betas[i] * w)
        return vals

    # ------------------------------------------------------------ the Newton loop

    def newton(self) -> list[Equilibrium]:
        """Relax every example (the loop of NewtonSolver._newton, per example, all at once)."""
        tol, n = self.solver.tol, self.z.shape[1]
        every = np.arange(n)
        self.e, springs = self.total(every)
        self.g = self.grad(every, springs)
        self.res = np.abs(self.g).max(axis=1)
        self.it = np.zeros(n, dtype=int)
        self.made = np.zeros(n, dtype=int)
        self.stale = np.array([f is not None for f in self.factors])
        done = np.zeros(n, dtype=bool)  # no step found: stop there, as relax does
        while True:
            rows = np.flatnonzero((self.res > tol) & (self.it < self.solver.max_iter) & np.isfinite(self.res) & ~done)
            if not len(rows):
                break
            self.it[rows] += 1
            p, slope = self._directions(rows)
            e_new, springs, grads = self._line_search(rows, p, slope)
            failed = np.flatnonzero(np.isnan(e_new))
            if len(failed):
                stale = self.stale[rows[failed]]
                self.stale[rows[failed[stale]]] = False  # a new factorization next round
                again = failed[~stale]
                if len(again):
                    for j in again:
                        p[j], slope[j] = self._safe_step(rows[j])
                    e2, v2, g2 = self._line_search(rows[again], p[again], slope[again])
                    e_new[again] = e2
                    if g2.have.any():
                        grads.keep(again[g2.have], g2.g[g2.have])
                    done[rows[again[np.isnan(e2)]]] = True
                    good = ~np.isnan(e2)
                    for into, a in zip(springs, v2):
                        into[:, again[good]] = a[:, good]
            moved = np.flatnonzero(~np.isnan(e_new))
            if not len(moved):
                continue
            at = rows[moved]
            if grads.have[moved].all():  # the line search worked them out
                self.g[at] = grads.g[moved]
            else:
                if len(moved) < len(rows):
                    springs = _columns(springs, moved)
                self.g[at] = self.grad(at, springs)
            res_new = np.abs(self.g[at]).max(axis=1)
            # keep the factorization while it converges fast; refactorize when it slows down
            self.stale[at] = res_new <= 0.1 * self.res[at]
            self.res[at], self.e[at] = res_new, e_new[moved]
        return self._results()

    def _results(self) -> list[Equilibrium]:
        """One Equilibrium per example (numbers as Python's, converted at once)."""
        x = self.positions(self.z)
        res, e, it, made = self.res.tolist(), self.e.tolist(), self.it.tolist(), self.made.tolist()
        converged = (self.res <= self.solver.tol).tolist()
        kept = {id(f): Kept(f, self.asm.free) for f in self.factors if f is not None}  # (one for each)
        return [Equilibrium(x[i].copy(), res[i], e[i], it[i], made[i], converged[i],
                            None if f is None else kept[id(f)]) for i, f in enumerate(self.factors)]

    def _directions(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Newton steps (b, F) and their slopes (b,): with the kept factorization where it is
        still good, a new one where not; a stale one that does not go downhill is replaced at
        once, and where the new one does not either, modified Newton."""
        self._factorize(rows[~self.stale[rows]])
        p, slope = self._solve(rows)
        bad = ~(np.isfinite(slope) & (slope < 0))
        if bad.any():
            retry = np.flatnonzero(bad & self.stale[rows])
            if len(retry):
                self.stale[rows[retry]] = False
                self._factorize(rows[retry])
                p[retry], slope[retry] = self._solve(rows[retry])
                bad[retry] = ~(np.isfinite(slope[retry]) & (slope[retry] < 0))
            for j in np.flatnonzero(bad):
                p[j], slope[j] = self._safe_step(rows[j])
        return p, slope

    def _solve(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = self.g[rows]
        p = -solve_many([self.factors[i] for i in rows], g)
        return p, (g * p).sum(axis=1)

    def _factorize(self, rows: np.ndarray) -> None:
        if not len(rows):
            return
        try:
            factors, made = factorize_many(self.asm, self.matrix(rows, psd=False), self.band)
        except FloppyNetworkError as exc:
            i = int(rows[exc.example]) + self.first
            err = FloppyNetworkError(f"{exc} (example {i} of the batch)")
            err.example = i
            raise err from exc
        for i, f in zip(rows, factors):
            self.factors[i] = f
        self.made[rows] += 1
        self.solver.total_factorizations += made

    def _safe_step(self, i: int) -> tuple[np.ndarray, float]:
        p, slope, factor, made = safe_step(self.asm, self.matrix(np.array([i]), psd=True)[:, 0], self.g[i], self.band)
        if factor is not None:
            self.factors[i] = factor
        self.made[i] += made
        self.solver.total_factorizations += made
        return p, slope

    def _line_search(self, rows: np.ndarray, p: np.ndarray, slope: np.ndarray):
        """Backtracking for each of `rows` (NewtonSolver._line_search, per example): returns the
        new energies (b,), nan where no step was found (those are put back), the springs at
        the new positions, and the gradients there that it worked out (_Gradients)."""
        idx = self.asm.free_idx
        base = self.z[idx][:, rows].T  # (b, F)
        e0, res0 = self.e[rows], self.res[rows]
        noise = 1e-13 * (np.abs(e0) + 1e-300)
        alpha = np.ones(len(rows))
        e_new = np.full(len(rows), np.nan)
        pending = np.arange(len(rows))
        found = None
        grads = _Gradients(len(rows), len(idx))
        for trial in range(40):
            at = rows[pending]
            self.z[idx[:, None], at] = (base[pending] + alpha[pending, None] * p[pending]).T
            e, s = self.total(at)
            a, sl = alpha[pending], slope[pending]
            ok = np.isfinite(e) & (e <= e0[pending] + 1e-4 * a * sl)
            near = ~ok & np.isfinite(e) & (np.abs(a * sl) < noise[pending]) & (e <= e0[pending] + noise[pending])
            if near.any():  # the energy change is below round-off: ask for a lower residual
                # (of all: as cheap as of some, and the Newton loop needs them next)
                g = self.grad(at, s)
                m = np.flatnonzero(near)
                ok[m] = np.abs(g[m]).max(axis=1) < res0[pending[m]]
                grads.keep(pending[ok], g[ok])
            if trial == 0 and ok.all():
                return e, s, grads
            if found is None:
                found = Springs(*(np.empty((len(a_), len(rows))) for a_ in s))
            took = pending[ok]
            e_new[took] = e[ok]
            for into, a_ in zip(found, s):
                into[:, took] = a_[:, ok]
            pending = pending[~ok]
            if not len(pending):
                break
            alpha[pending] *= 0.5
        if len(pending):
            self.z[idx[:, None], rows[pending]] = base[pending].T
        return e_new, found, grads


class _Gradients:
    """Gradients (b, F) a line search worked out at the points it accepted (`have` (b,)): where
    the energy change was below round-off it asked for a lower residual, and the Newton loop
    needs the same gradients next."""

    def __init__(self, b: int, n_free: int):
        self.have = np.zeros(b, dtype=bool)
        self.g = np.empty((b, n_free))

    def keep(self, rows: np.ndarray, g: np.ndarray) -> None:
        """Remember the gradients g (k, F) of `rows` (k,)."""
        self.g[rows] = g
        self.have[rows] = True


def _columns(s: Springs, cols) -> Springs:
    """The springs of some of the columns."""
    return Springs(*(a[:, cols] for a in s))
