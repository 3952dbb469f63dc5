"""Energy, gradient and Hessian of one network structure, with the bookkeeping done once.

A `SpringAssembly` belongs to one structure: the springs (edges (E, 2)), the number of nodes N,
the (2N,) mask of free coordinates and the nodes a cost couples (outputs). It works out once

- the sparsity pattern of the (F, F) Hessian over the F free coordinates, in CSC order: every
  spring's 2x2 blocks, the whole diagonal, and all pairs of the coupled nodes' coordinates (so a
  cost's Hessian adds into the same pattern);
- a scatter index from every spring block entry to its place in the pattern, so a Newton step
  only recomputes the (nnz,) values and sums them into place with one bincount;
- a reverse Cuthill-McKee ordering of the free coordinates and where each lower-triangle entry
  lands in LAPACK's band storage: a network in the plane has a band about 2 sqrt(N) coordinates
  wide, so a band Cholesky costs F bw^2 instead of the F^3 / 3 of a dense one.

The formulas are those of `energy.py` (E = sum 1/2 k (r - L)^2; Hessian blocks
k [u u^T + (1 - L/r)(I - u u^T)], the transverse part clipped at 0 when psd=True).

The kernels work on columns: positions z (2N, b) hold b states of the network (b examples, or
one: x.reshape(-1, 1)), coordinate 2i+a of node i in row 2i+a. Every sum (the energy over the
springs, a coordinate's gradient and Hessian terms) is a sparse matrix product that adds its
terms one after another in a fixed order, so an example gets the same numbers, to the last bit,
whether it is relaxed alone or among others.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .energy import free_index


class Springs(NamedTuple):
    """The springs of b states: vectors d (2E, b) from first to second end (every dx, then every
    dy), lengths r (E, b), extensions e = r - L (E, b) and tensions ke = k e (E, b)."""

    d: np.ndarray
    r: np.ndarray
    e: np.ndarray
    ke: np.ndarray


class SpringAssembly:
    """Pattern, scatter indices and band layout of the Hessian of one structure.

    edges (E, 2) int, free (2N,) bool, coupled (C,) int node indices whose coordinates a cost
    may couple. `matches` tells whether a network still has this structure; stiffness and rest
    lengths are passed at each call (they change while learning).
    """

    def __init__(self, edges: np.ndarray, n_nodes: int, free: np.ndarray, coupled=()):
        self.edges = np.array(edges, dtype=np.int64)  # a copy: an edit in place is noticed too
        self.n_nodes = int(n_nodes)
        self.free = np.array(free, dtype=bool)
        self.coupled = _unique(np.asarray(coupled, dtype=np.int64))
        self.free_idx = np.flatnonzero(self.free)
        n = self.n_free = len(self.free_idx)
        i, j = self.edges[:, 0], self.edges[:, 1]
        # flat coordinates of both ends, as (x_j, y_j, x_i, y_i) rows of E: one take reads them
        self._ends = np.concatenate([2 * j, 2 * j + 1, 2 * i, 2 * i + 1])
        index = free_index(self.free)
        n_e = len(self.edges)
        # the gradient over the free coordinates from the spring forces (fx, fy), (2E, b): each
        # force adds to the free coordinates of its second end and subtracts from its first
        to = index[self._ends]
        terms = np.flatnonzero(to >= 0)
        self._scatter = sp.csr_matrix((np.where(terms < 2 * n_e, 1.0, -1.0), (to[terms], terms % (2 * n_e))),
                                      shape=(n, 2 * n_e))
        self._sum = sp.csr_matrix(np.ones((1, n_e)))  # the energy: a sum over the springs, in order
        rows, cols, src, sign = [], [], [], []
        for a in range(2):
            for b in range(2):
                entry = a + b  # block entries are stored as (xx, xy, yy): 0, 1, 2
                for p, q, s in ((i, i, 1), (j, j, 1), (i, j, -1), (j, i, -1)):
                    rows.append(index[2 * p + a])
                    cols.append(index[2 * q + b])
                    src.append(entry * n_e + np.arange(n_e))  # from (xx, xy, yy), each (E,)
                    sign.append(np.full(n_e, float(s)))
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        keep = (rows >= 0) & (cols >= 0)
        spring_keys = cols[keep] * max(n, 1) + rows[keep]
        cc = index[(2 * self.coupled[:, None] + np.arange(2)).ravel()]
        cc = cc[cc >= 0]
        extra = np.concatenate([np.arange(n) * (n + 1),  # the diagonal
                                (cc[:, None] * max(n, 1) + cc[None, :]).ravel()])
        self._pattern = _unique(np.concatenate([spring_keys, extra]))
        self.nnz = len(self._pattern)
        # the Hessian's (nnz, b) values from the springs' blocks (xx, xy, yy), (3E, b)
        self._gather = sp.csr_matrix((np.concatenate(sign)[keep], (np.searchsorted(self._pattern, spring_keys),
                                                                   np.concatenate(src)[keep])), shape=(self.nnz, 3 * n_e))
        prow, pcol = self._pattern % max(n, 1), self._pattern // max(n, 1)
        self.indices = prow.astype(np.int32)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(pcol, minlength=n))]).astype(np.int32)
        self.diag_slots = np.searchsorted(self._pattern, np.arange(n) * (n + 1))
        self.perm = None  # the band layout is worked out on first use (large problems skip it)

    def band_layout(self) -> int:
        """Work out (once) the reverse Cuthill-McKee order (perm: new -> old coordinate) and
        where each entry goes in band storage; returns the band width."""
        if self.perm is None:
            self._band_layout()
        return self.bandwidth

    def _band_layout(self):
        from scipy.sparse.csgraph import reverse_cuthill_mckee

        n = self.n_free
        prow, pcol = self.indices.astype(np.int64), self._pattern // max(n, 1)
        if n == 0:
            self.perm, self.bandwidth = np.zeros(0, dtype=np.int64), 0
            self._band_slots = self._band_pos = self._general_pos = np.zeros(0, dtype=np.int64)
            return
        graph = sp.csr_matrix((np.ones(self.nnz), (prow, pcol)), shape=(n, n))
        self.perm = np.asarray(reverse_cuthill_mckee(graph, symmetric_mode=True), dtype=np.int64)
        inv = np.empty(n, dtype=np.int64)
        inv[self.perm] = np.arange(n)
        r, c = inv[prow], inv[pcol]
        lower = r >= c
        self.bandwidth = int((r - c)[lower].max()) if n else 0
        self._band_slots = np.flatnonzero(lower)
        # LAPACK lower band storage, column-major (bw+1, F): A[r, c] -> ab[r - c, c]
        self._band_pos = (r - c)[lower] + c[lower] * (self.bandwidth + 1)
        # general band storage for an LU with pivoting, column-major (3 bw + 1, F):
        # A[r, c] -> ab[2 bw + r - c, c] (the top bw rows are room for the fill of pivoting)
        self._general_pos = (2 * self.bandwidth + r - c) + c * (3 * self.bandwidth + 1)

    def matches(self, edges: np.ndarray, n_nodes: int, free: np.ndarray) -> bool:
        """True when (edges, n_nodes, free) is this structure: same shapes, then same contents
        (3 us for Iris's 253 springs, 30 us for 30,000; cut springs or an edit in place show)."""
        return (n_nodes == self.n_nodes and free.shape == self.free.shape and edges.shape == self.edges.shape
                and np.array_equal(free, self.free) and np.array_equal(edges, self.edges))

    def springs(self, z: np.ndarray, k: np.ndarray, L: np.ndarray) -> Springs:
        """The springs of b states z (2N, b): their vectors, lengths, extensions and tensions.
        k, L: (E,), or (E, b) columns (see `columns`)."""
        v = z.take(self._ends, axis=0)
        d = v[:len(v) // 2] - v[len(v) // 2:]
        dx, dy = d[:len(d) // 2], d[len(d) // 2:]
        r = np.sqrt(dx * dx + dy * dy)
        e = r - _column(L)
        return Springs(d, r, e, _column(k) * e)

    def energy(self, s: Springs) -> np.ndarray:
        """(b,) spring energies, sum over the springs of 1/2 k e^2."""
        return 0.5 * (self._sum @ (s.ke * s.e))[0]

    def gradient(self, s: Springs) -> np.ndarray:
        """(F, b) gradients of the spring energy over the free coordinates."""
        t = s.ke / np.maximum(s.r, 1e-300)
        f = (t[None] * s.d.reshape(2, *t.shape)).reshape(s.d.shape)
        return self._scatter @ f

    def hessians(self, z: np.ndarray, k: np.ndarray, L: np.ndarray, psd: bool = False) -> np.ndarray:
        """(nnz, b) Hessian values in the pattern's CSC order, of b states z (2N, b); k, L as
        for `springs`."""
        k, L = _column(k), _column(L)
        d, r = self.springs(z, k, L)[:2]
        rs = np.maximum(r, 1e-300)
        ux, uy = d[:len(r)] / rs, d[len(r):] / rs
        t = 1.0 - L / rs
        if psd:
            t = np.maximum(t, 0.0)
        kt = k * t  # the block is k t I + k (1 - t) u u^T
        c = k - kt
        cux = c * ux
        return self._gather @ np.concatenate([kt + cux * ux, cux * uy, kt + c * uy * uy])

    def values(self, x: np.ndarray, k: np.ndarray, L: np.ndarray, psd: bool = False) -> np.ndarray:
        """(nnz,) Hessian values in the pattern's CSC order, at x (N, 2)."""
        return self.hessians(x.reshape(-1, 1), k, L, psd)[:, 0]

    def add_entries(self, vals: np.ndarray, rows, cols, weights) -> None:
        """Add COO triplets over the free coordinates (a cost's Hessian) into vals (nnz,)."""
        if len(rows) == 0:
            return
        keys = np.asarray(cols) * self.n_free + np.asarray(rows)
        slots = np.searchsorted(self._pattern, keys)
        if np.any(slots >= self.nnz) or np.any(self._pattern[np.minimum(slots, self.nnz - 1)] != keys):
            raise ValueError("the cost couples coordinates outside this assembly's pattern: "
                             "build it with the cost's nodes as `coupled`")
        np.add.at(vals, slots, weights)

    def bands(self, vals: np.ndarray, stride: int | None = None) -> np.ndarray:
        """(bw+1, m stride + bw) lower band storage (Fortran order) of m matrices side by side,
        from their values (nnz, m): the block-diagonal matrix of the m, each in the RCM order
        `perm`, each block in `stride` (>= F, default F) rows padded with identity rows, and bw
        identity rows closing the stack (see factor.BandStack)."""
        self.band_layout()
        m, n, w = vals.shape[1], self.n_free, self.bandwidth + 1
        stride = stride or n
        ab = np.zeros((m * stride + w - 1, w))
        ab[:m * stride, 0] = 1.0
        blocks = ab[:m * stride].reshape(m, stride * w)
        blocks[:, self._band_pos] = vals[self._band_slots].T
        ab[m * stride:, 0] = 1.0
        return ab.T

    def general_band(self, vals: np.ndarray) -> np.ndarray:
        """(3 bw + 1, F) general band storage (Fortran order, both triangles, room for LU fill)
        of the matrix in the RCM order `perm`, for LAPACK's gbtrf."""
        self.band_layout()
        ab = np.zeros((3 * self.bandwidth + 1) * self.n_free)
        ab[self._general_pos] = vals
        return ab.reshape(self.n_free, 3 * self.bandwidth + 1).T

    def sparse(self, vals: np.ndarray) -> sp.csc_matrix:
        """(F, F) CSC matrix with these values (sorted indices, no duplicates)."""
        return sp.csc_matrix((vals, self.indices, self.indptr), shape=(self.n_free, self.n_free))

    def dense(self, vals: np.ndarray) -> np.ndarray:
        """(F, F) dense array with these values (for tests and small checks)."""
        return self.sparse(vals).toarray()


def columns(a: np.ndarray, b: int) -> np.ndarray:
    """(E, b) copies of a (E,) as columns: numpy's broadcasting of a (E, 1) over a short inner
    axis of b costs 3 to 6 times an operation on two (E, b) arrays (E = 660, b = 5 to 50), so a
    relaxation that uses k and L in many rounds passes them as columns."""
    return np.repeat(a[:, None], b, axis=1)


def _column(a: np.ndarray) -> np.ndarray:
    """a (E, b) as it is; a (E,) as a column (E, 1) to broadcast."""
    return a if a.ndim == 2 else a[:, None]


def _unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a 1-D int array (a sort: numpy 2's hashing np.unique was 8x
    slower on the 500,000 keys of a 10,000-node network)."""
    s = np.sort(a)
    keep = np.ones(len(s), dtype=bool)
    keep[1:] = s[1:] != s[:-1]
    return s[keep]
