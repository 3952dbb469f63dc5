"""Thermal noise: the random forces of the physical engine, the Gaussian samples of the exact one.

The physical engine (`world.py`) runs overdamped Langevin dynamics, gamma dx/dt = F + R(t).
Plain Euler-Maruyama (a fresh random force of variance 2 gamma kT / dt at each step dt) overheats
stiff modes: a mode with a = k dt / gamma settles at a variance 1 / (1 - a / 2) times kT / k
under pure Euler, and 1.26 times with the pymunk world's bit of memory at the step it uses
(a = 0.45 for its stiffest mode). `LangevinNoise` uses instead

    R_t = sqrt(2 gamma kT / dt) (xi_t + xi_{t+1}) / 2,      xi independent standard normals

(the Leimkuhler-Matthews scheme): the same diffusion over many steps, and for a harmonic network
exactly kT / 2 of energy per mode at any stable step, the world's memory included (worked out
from the stationary covariance of the linear recursion; tests/test_thermal.py checks it).

The exact engine's measured states are the equilibrium plus Gaussian samples.

At temperature kT (in the scene's energy units, stiffness times length squared) the free
coordinates do not sit at the equilibrium x* of E + beta C; they fluctuate with the Boltzmann
weight exp(-(E + beta C) / kT). Near x* the energy is 1/2 d^T H d (d = x - x*, H the Hessian of
E + beta C over the free coordinates), so

    d ~ Normal(0, kT H^-1)                                         (the harmonic approximation)

This is exact for a harmonic network and good while the thermal motion is small next to what
makes the springs nonlinear (kT much less than k L^2: a spring turning by a visible angle). It
leaves out the thermal shift of the mean position, which is O(kT). The physical engine
(`world.py`) needs no such approximation: its Langevin dynamics samples the true distribution.

Sampling uses the Cholesky factor H = C C^T (band storage, in the assembly's reverse
Cuthill-McKee order): d = sqrt(kT) C^-T xi with xi ~ Normal(0, I) has covariance
kT C^-T C^-1 = kT H^-1. The factor is taken at the equilibrium itself: the Newton solver's kept
factorization may belong to an earlier iterate or to a shifted matrix.
"""

from __future__ import annotations

import math

import numpy as np

from .assembly import SpringAssembly
from .factor import FLOPPY_MESSAGE, FloppyNetworkError, use_one_blas_thread

THERMAL_STREAM = 1  # the engines' noise streams: np.random.default_rng([seed, THERMAL_STREAM])


def thermal_rng(seed: int) -> np.random.Generator:
    """The random stream of an engine's thermal noise for a run seeded `seed` (kept apart from
    the shuffling stream that the same seed drives)."""
    return np.random.default_rng([int(seed) % 2**63, THERMAL_STREAM])


class LangevinNoise:
    """Random forces for M free bodies, step after step, from the stream `rng`."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._xi = None  # the last step's normals (M, 2): the next force uses them

    def forces(self, n: int, axes: np.ndarray, drag: float, kT: float, dt: float) -> np.ndarray:
        """(n, M, 2) forces for the next n steps of length dt at drag gamma and temperature kT,
        zero on the axes (M, 2) where `axes` is 0 (a node on a rail)."""
        m = len(axes)
        if self._xi is None or self._xi.shape != (m, 2):
            self._xi = self.rng.standard_normal((m, 2))
        xi = np.empty((n + 1, m, 2))
        xi[0] = self._xi
        xi[1:] = self.rng.standard_normal((n, m, 2))
        self._xi = xi[-1].copy()
        return 0.5 * math.sqrt(2.0 * drag * kT / dt) * (xi[:-1] + xi[1:]) * axes


def harmonic_samples(asm: SpringAssembly, matrix, x: np.ndarray, kT: float, count: int,
                     rng: np.random.Generator) -> np.ndarray:
    """(count, N, 2) thermal snapshots x + d, d ~ Normal(0, kT H^-1) on the free coordinates of
    the assembly `asm` (held coordinates stay at x). matrix(psd) gives H's (nnz,) values in the
    assembly's pattern; the positive semi-definite variant (compressed springs' negative
    transverse stiffness dropped) is used where the exact H is not positive definite."""
    out = np.repeat(x.reshape(1, -1), count, axis=0)
    if asm.n_free == 0 or count == 0:
        return out.reshape(count, -1, 2)
    factor = _band_cholesky(asm, matrix(False))
    if factor is None:
        factor = _band_cholesky(asm, matrix(True))
        if factor is None:
            raise FloppyNetworkError(FLOPPY_MESSAGE)
    from scipy.linalg import lapack

    xi = rng.standard_normal((asm.n_free, count))
    z, info = lapack.dtbtrs(factor, xi, uplo="L", trans="T", overwrite_b=1)  # C^T z = xi
    if info != 0:
        raise FloppyNetworkError(FLOPPY_MESSAGE)
    d = np.empty_like(z)
    d[asm.perm] = z  # back from the band order
    out[:, asm.free_idx] += math.sqrt(kT) * d.T
    return out.reshape(count, -1, 2)


def _band_cholesky(asm: SpringAssembly, vals: np.ndarray) -> np.ndarray | None:
    """The lower band Cholesky factor (bw+1, F) of the matrix with values vals in the RCM order,
    or None when it is not positive definite."""
    from scipy.linalg import lapack

    use_one_blas_thread()
    band = asm.bands(vals[:, None])[:, :asm.n_free]  # one matrix: its (bw+1, F) band, no padding
    c, info = lapack.dpbtrf(np.ascontiguousarray(band), lower=1, overwrite_ab=1)
    return c if info == 0 else None


class ThermalMotion:
    """A smooth picture of the thermal motion of a network around its state x (N, 2), for a
    window to draw: at time t (seconds) the displacement

        d(t) = sqrt(kT) sum_j (cos(w_j t + p_j) a_j + sin(w_j t + p_j) b_j) / sqrt(m),

    a_j, b_j (j < m) independent draws of Normal(0, H^-1) (`harmonic_samples` at kT = 1). At
    every t, d(t) is itself a draw of Normal(0, kT H^-1) (cos^2 + sin^2 = 1), and it moves
    smoothly: what a snapshot of the network at temperature kT looks like, changing with time.
    A sum of a few arrays per frame: cheap enough for a window's thread, once it is made."""

    def __init__(self, unit: np.ndarray, rng: np.random.Generator, speed: float = 2.0):
        """unit: (2m, N, 2) the draws a_0, b_0, a_1, b_1, ... at kT = 1; speed: the typical
        angular frequency (radians per second)."""
        self.unit = unit
        m = len(unit) // 2
        self.omega = speed * rng.uniform(0.5, 1.5, m)
        self.phase = rng.uniform(0.0, 2 * math.pi, m)

    @property
    def rms(self) -> float:
        """The root mean square displacement of a free node at kT = 1 (length units)."""
        moved = np.abs(self.unit).sum(axis=(0, 2)) > 0
        return float(np.sqrt((self.unit[:, moved] ** 2).sum(axis=-1).mean())) if moved.any() else 0.0

    def at(self, t: float, kT: float) -> np.ndarray:
        """(N, 2) the displacement at time t and temperature kT."""
        angle = self.omega * t + self.phase
        w = np.empty(2 * len(angle))
        w[0::2], w[1::2] = np.cos(angle), np.sin(angle)
        return math.sqrt(max(kT, 0.0) / len(angle)) * np.tensordot(w, self.unit, axes=1)


def thermal_motion(net, x: np.ndarray, rng: np.random.Generator, pairs: int = 4) -> ThermalMotion:
    """The ThermalMotion of `net` (its springs, its free coordinates) around x (N, 2): 2 x pairs
    draws from its Hessian's band Cholesky factor (FloppyNetworkError if it is floppy)."""
    asm = SpringAssembly(net.edges, net.n_nodes, net.free_dofs)
    unit = harmonic_samples(asm, lambda psd: asm.values(x, net.k, net.L, psd), x, 1.0, 2 * pairs, rng) - x
    return ThermalMotion(unit, rng)
