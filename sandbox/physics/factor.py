"""Factorizing a Newton matrix: band Cholesky (LAPACK) for small and mid-size problems, SuperLU
for large ones and for any matrix that is not positive definite.

Both factorize the matrix they are given as it is (never regularized) and solve with it:

- band (F <= BAND_MAX_COORDS): the matrix in its reverse Cuthill-McKee order (see
  `assembly.SpringAssembly`), Cholesky in LAPACK band storage (pbtrf/pbtrs). When it is not
  positive definite (compressed springs), SuperLU takes over, as it always did: an LU with
  partial pivoting also solves indefinite systems;
- sparse: SuperLU with the MMD ordering of A^T + A.

An exactly singular matrix (a floppy mode) raises FloppyNetworkError. LAPACK runs on one thread:
on this project's 2-core machines, shared, OpenBLAS threads made a 200 x 200 Cholesky 5 to 15
times slower than one thread (they wait for each other).
"""

from __future__ import annotations

import contextlib

import numpy as np
import scipy.sparse as sp

# Above this many free coordinates SuperLU beats the band Cholesky on the lattices of `bench`
# (its "band vs SuperLU" rows measure both).
BAND_MAX_COORDS = 8000


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
        y = self._pbtrs(self._c, b[self._perm], lower=1)[0]
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
    band Cholesky when `band` and the matrix is positive definite, else SuperLU."""
    if band:
        try:
            return BandCholesky(asm.band(vals), asm.perm)
        except NotPositiveDefinite:
            pass
    return sparse_factor(asm.sparse(vals))


_controller = None


def one_blas_thread():
    """A context in which BLAS/LAPACK use one thread (a no-op without threadpoolctl)."""
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _controller = False
        else:
            _controller = ThreadpoolController()
    if _controller is False:
        return contextlib.nullcontext()
    return _controller.limit(limits=1, user_api="blas")
