"""Factorizing a Newton matrix: band Cholesky (LAPACK) for small and mid-size problems, SuperLU
for large ones.

Both factorize the matrix they are given as it is (never regularized) and solve with it:

- band (F <= BAND_MAX_COORDS): the matrix in its reverse Cuthill-McKee order (see
  `assembly.SpringAssembly`), Cholesky in LAPACK band storage (pbtrf/pbtrs). When it is not
  positive definite (compressed springs), a band LU with partial pivoting (gbtrf/gbtrs) takes
  over: like SuperLU before it, it also solves indefinite systems;
- sparse: SuperLU with the MMD ordering of A^T + A.

Several matrices of one pattern (the examples of a mini-batch) are factorized together
(`factorize_many`): side by side they form one block-diagonal band matrix with the band width of
one, so one LAPACK call factorizes them all (`BandStack`) and one solves them all. A matrix alone
is a stack of one. Every block is laid out as it would be alone: padded to a multiple of LAPACK's
panel width (32 columns) when the band is that wide, and each stack closed by bw identity rows,
so the few sums LAPACK and BLAS make (a panel's updates, the dot products of the back
substitution) run over the same terms in the same order: a matrix gets the same factors and
solutions, to the last bit, alone or among others. Every `solve` also takes several right-hand
sides at once, (F, m).

An exactly singular matrix (a floppy mode) raises FloppyNetworkError. LAPACK runs on one thread
(`use_one_blas_thread`, set when the first solver is made):
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
    """The Hessian is singular: some part of the network can move at no cost. `example`: which
    of a batch's examples (its position in the batch), when several were relaxed together."""

    example: int | None = None


FLOPPY_MESSAGE = ("the network has a floppy mode (a node or cluster that can move at no cost): "
                  "hold it, brace it with more springs, or put it on a rail")


PANEL = 32  # LAPACK's panel width for band Cholesky (ilaenv's NB for xPBTRF): wider bands are blocked


class BandStack:
    """Band Cholesky factors of m matrices of one pattern, side by side in one LAPACK array.

    Block i holds rows i * stride .. i * stride + F of the stack (the rest of its stride, and
    the stack's last bw rows, are identity); perm (F,) is the RCM order all share (new -> old).
    """

    def __init__(self, c: np.ndarray, m: int, stride: int, n: int, perm: np.ndarray):
        from scipy.linalg import lapack

        self._pbtrs = lapack.dpbtrs
        self.m, self.stride, self.n, self.perm = m, stride, n, perm
        self.bandwidth = c.shape[0] - 1
        self.blocks = c.T[:m * stride].reshape(m, stride, -1)  # (m, stride, bw+1) views
        whole = c.shape[1] == m * stride + self.bandwidth
        self._whole = c if whole else None  # the stack as factorized, if every block in it is good

    def solve(self, blocks: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """(k, F) solutions for the k factors `blocks` (distinct indices into the stack), rhs
        (k, F): with the whole stack when it has at most twice as many blocks (the others solve
        zeros), else with a copy of those blocks."""
        whole = self._whole is not None and 2 * len(blocks) >= self.m
        c, at = (self._whole, blocks) if whole else (self.gathered(blocks), np.arange(len(blocks)))
        b = np.zeros(c.shape[1])
        b[:len(b) - self.bandwidth].reshape(-1, self.stride)[at, :self.n] = rhs[:, self.perm]
        y = self._pbtrs(c, b, lower=1, overwrite_b=1)[0]
        out = np.empty_like(rhs)
        out[:, self.perm] = y[:len(y) - self.bandwidth].reshape(-1, self.stride)[at, :self.n]
        return out

    def gathered(self, blocks) -> np.ndarray:
        """(bw+1, k stride + bw) Fortran band storage of the factors `blocks`, closed as a stack."""
        close = np.zeros((self.bandwidth, self.bandwidth + 1))
        close[:, 0] = 1.0
        return np.concatenate([self.blocks[blocks].reshape(-1, self.bandwidth + 1), close]).T


class BandCholesky:
    """The Cholesky factor of one matrix, block i of a BandStack: solve(b) for b (F,) or (F, m)."""

    def __init__(self, stack: BandStack, i: int):
        self.stack, self.i = stack, i
        self._alone = None  # its block closed as a stack of one, made at the first solve

    def solve(self, b: np.ndarray) -> np.ndarray:
        st = self.stack
        if self._alone is None:
            self._alone = st._whole if st.m == 1 and st._whole is not None else st.gathered([self.i])
        padded = np.zeros((st.stride + st.bandwidth,) + b.shape[1:])
        padded[:st.n] = b[st.perm]
        y = st._pbtrs(self._alone, padded, lower=1, overwrite_b=1)[0]
        out = np.empty_like(b, dtype=float)
        out[st.perm] = y[:st.n]
        return out


class BandLU:
    """LU factors, with partial pivoting, of a matrix in general band storage: ab (3 bw + 1, F)
    of P A P^T (see BandStack). Raises FloppyNetworkError when it is exactly singular."""

    def __init__(self, ab: np.ndarray, bandwidth: int, perm: np.ndarray):
        from scipy.linalg import lapack

        self._gbtrs = lapack.dgbtrs
        self._bw = bandwidth
        self._lu, self._piv, info = lapack.dgbtrf(ab, bandwidth, bandwidth, overwrite_ab=1)
        if info > 0:  # U[info-1, info-1] is exactly zero
            raise FloppyNetworkError(FLOPPY_MESSAGE)
        self._perm = perm

    def solve(self, b: np.ndarray) -> np.ndarray:
        """A^-1 b for b (F,) or (F, m)."""
        y = self._gbtrs(self._lu, self._bw, self._bw, b[self._perm], self._piv, overwrite_b=1)[0]
        out = np.empty_like(y)
        out[self._perm] = y
        return out


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
    return factorize_many(asm, vals[:, None], True)[0][0]


def factorize_many(asm, vals: np.ndarray, band: bool) -> tuple[list, int]:
    """Factors of m matrices with values vals (nnz, m) in the pattern of asm, as `factorize` makes
    each: with `band`, band Cholesky of all in one LAPACK call (BandCholesky blocks of a
    BandStack), band LU for any that is not positive definite; else SuperLU, one by one.
    Returns the m factors and how many factorizations that took. A singular matrix raises
    FloppyNetworkError with `example` set."""
    m, n = vals.shape[1], asm.n_free
    factors: list = [None] * m
    if not band:
        for i in range(m):
            factors[i] = _numbered(i, lambda i=i: sparse_factor(asm.sparse(np.ascontiguousarray(vals[:, i]))))
        return factors, m
    use_one_blas_thread()
    from scipy.linalg import lapack

    bw = asm.band_layout()
    stride = n if bw < PANEL else -(-n // PANEL) * PANEL
    start = 0
    while start < m:
        c, info = lapack.dpbtrf(asm.bands(vals[:, start:], stride), lower=1, overwrite_ab=1)
        good = m - start if info == 0 else (info - 1) // stride  # blocks factorized before a failure
        if good:
            stack = BandStack(c, good, stride, n, asm.perm)
            factors[start:start + good] = [BandCholesky(stack, i) for i in range(good)]
        start += good
        if info != 0:  # not positive definite: the LU of that one, then on with the rest
            i = start
            factors[i] = _numbered(i, lambda i=i: BandLU(asm.general_band(vals[:, i]), bw, asm.perm))
            start += 1
    return factors, m


def _numbered(i: int, make):
    """make(), naming example i in a FloppyNetworkError."""
    try:
        return make()
    except FloppyNetworkError as exc:
        exc.example = i
        raise


def solve_many(factors: list, rhs: np.ndarray) -> np.ndarray:
    """(k, F) solutions of k systems, rhs[i] (rhs (k, F)) with factors[i]: the rows that share a
    factor in one solve with many right-hand sides, the other blocks of one BandStack in one call."""
    first = factors[0]
    if all(f is first for f in factors):  # all on one factorization (a kept one)
        return first.solve(rhs.T).T
    stack = getattr(first, "stack", None)
    if stack is not None and all(type(f) is BandCholesky and f.stack is stack for f in factors):
        blocks = [f.i for f in factors]
        if len(set(blocks)) == len(blocks):  # (else one block solving several: below)
            return stack.solve(np.array(blocks), rhs)
    out = np.empty_like(rhs)
    shared: dict[int, tuple[object, list]] = {}
    for i, f in enumerate(factors):
        shared.setdefault(id(f), (f, []))[1].append(i)
    stacks: dict[int, tuple[BandStack, list, list]] = {}
    for f, rows in shared.values():
        if isinstance(f, BandCholesky) and len(rows) == 1:
            group = stacks.setdefault(id(f.stack), (f.stack, [], []))
            group[1].append(rows[0])
            group[2].append(f.i)
        else:
            out[rows] = f.solve(rhs[rows].T).T
    for stack, rows, blocks in stacks.values():
        out[rows] = stack.solve(np.asarray(blocks), rhs[rows])
    return out


_blas_limited = False


def use_one_blas_thread() -> None:
    """Set every BLAS/LAPACK library loaded to one thread, for the rest of the process (once; a
    no-op without threadpoolctl). scipy may ship its own OpenBLAS, loaded only when scipy.linalg
    or scipy.sparse.linalg is first imported: both are imported here first, so the limit reaches
    numpy's and scipy's libraries whatever the order a script imported them in (a limit applies
    only to the libraries already loaded). Entering and leaving a limit around every relaxation
    cost 30-150 us, a tenth of a small relaxation; nothing else in the sandbox gains from BLAS
    threads. NewtonSolver calls it when made."""
    global _blas_limited
    if _blas_limited:
        return
    _blas_limited = True
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS, if it has its own)
    import scipy.sparse.linalg  # noqa: F401
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")
