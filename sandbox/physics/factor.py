"""Factorizing a Newton matrix: band Cholesky (LAPACK) for small and mid-size problems, SuperLU
for large ones.

Both factorize the matrix they are given as it is (never regularized) and solve with it:

- band (F <= BAND_MAX_COORDS): the matrix in its reverse Cuthill-McKee order (see
  `assembly.SpringAssembly`), Cholesky in LAPACK band storage (pbtrf/pbtrs). When it is not
  positive definite (compressed springs), a band LU with partial pivoting (gbtrf/gbtrs) takes
  over: like SuperLU before it, it also solves indefinite systems;
- sparse: SuperLU with the MMD ordering of A^T + A.

An exactly singular matrix (a floppy mode) raises FloppyNetworkError. LAPACK runs on one thread
(`use_one_blas_thread`, set at the first band factorization):
on this project's 2-core machines, shared, OpenBLAS threads made a 200 x 200 Cholesky 5 to 15
times slower than one thread (they wait for each other).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Above this many free coordinates a warm EP step (one factorization, many solves) is faster
# with SuperLU on the lattices of `bench` (its "band / SuperLU" rows measure both): the band
# factorization stays faster, but its solves cost F * bandwidth against SuperLU's fill.
BAND_MAX_COORDS = 6000


class FloppyNetworkError(RuntimeError):
    """The Hessian is singular: some part of the network can move at no cost."""


FLOPPY_MESSAGE = ("the network has a floppy mode (a node or cluster that can move at no cost): "
                  "hold it, brace it with more springs, or put it on a rail")


class BandCholesky:
    """Cholesky factor of a symmetric positive definite matrix in band storage.

    ab: (bw+1, F) lower band storage of P A P^T, perm (F,) the order P (new -> old).
    Raises NotPositiveDefinite when the matrix is not positive definite.
    """

    def __init__(self, ab: np.ndarray, perm: np.ndarray):
        from scipy.linalg import lapack

        self._pbtrs = lapack.dpbtrs
        self._c, info = lapack.dpbtrf(ab, lower=1, overwrite_ab=1)
        if info != 0:
            raise NotPositiveDefinite
        self._perm = perm

    def solve(self, b: np.ndarray) -> np.ndarray:
        """A^-1 b for b (F,)."""
        y = self._pbtrs(self._c, b[self._perm], lower=1, overwrite_b=1)[0]
        out = np.empty_like(y)
        out[self._perm] = y
        return out


class BandLU:
    """LU factors, with partial pivoting, of a matrix in general band storage: ab (3 bw + 1, F)
    of P A P^T (see BandCholesky). Raises FloppyNetworkError when it is exactly singular."""

    def __init__(self, ab: np.ndarray, bandwidth: int, perm: np.ndarray):
        from scipy.linalg import lapack

        self._gbtrs = lapack.dgbtrs
        self._bw = bandwidth
        self._lu, self._piv, info = lapack.dgbtrf(ab, bandwidth, bandwidth, overwrite_ab=1)
        if info > 0:  # U[info-1, info-1] is exactly zero
            raise FloppyNetworkError(FLOPPY_MESSAGE)
        self._perm = perm

    def solve(self, b: np.ndarray) -> np.ndarray:
        """A^-1 b for b (F,)."""
        y = self._gbtrs(self._lu, self._bw, self._bw, b[self._perm], self._piv, overwrite_b=1)[0]
        out = np.empty_like(y)
        out[self._perm] = y
        return out


class NotPositiveDefinite(Exception):
    """The band Cholesky met a pivot that is not positive."""


def sparse_factor(h: sp.csc_matrix):
    """SuperLU factors of a sparse (F, F) matrix (an object with solve(b))."""
    import scipy.sparse.linalg as spla

    try:
        return spla.splu(h, permc_spec="MMD_AT_PLUS_A")
    except RuntimeError as exc:  # "Factor is exactly singular"
        raise FloppyNetworkError(FLOPPY_MESSAGE) from exc


def factorize(asm, vals: np.ndarray, band: bool):
    """Factors of the matrix with values vals (nnz,) in the pattern of asm (a SpringAssembly):
    with `band`, band Cholesky, or band LU when the matrix is not positive definite; else SuperLU."""
    if not band:
        return sparse_factor(asm.sparse(vals))
    use_one_blas_thread()
    try:
        ab = asm.band(vals)  # works out asm.perm on first use
        return BandCholesky(ab, asm.perm)
    except NotPositiveDefinite:
        return BandLU(asm.general_band(vals), asm.bandwidth, asm.perm)


_blas_limited = False


def use_one_blas_thread() -> None:
    """Set BLAS/LAPACK to one thread for the rest of the process (once; a no-op without
    threadpoolctl). Entering and leaving a limit around every relaxation cost 30-150 us, a tenth
    of a small relaxation; nothing else in the sandbox gains from BLAS threads."""
    global _blas_limited
    if _blas_limited:
        return
    _blas_limited = True
    import scipy.linalg  # noqa: F401 - scipy's own BLAS loads with it; a limit set before misses it
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")
