"""The networks of the capacity experiment and the node pairs its tasks strain and measure.

Disc-shaped disordered networks with no zero mode but the three rigid-body ones (Rocks et al.
2017, Materials and Methods): a disordered network (`sandbox.physics.network.disordered_network`:
Delaunay triangulation of spread points, springs pruned at random to mean coordination 4.6, at
least three springs per node) is cut to a disc, then, while the network has a zero mode other
than a rigid-body motion, the node that moves most in each such mode is removed. The disc is
cut so that exactly N nodes remain.

Pairs: `unbonded_pairs` are pairs of nodes no spring joins, closer than a few spring lengths
(Rocks's "ghost bonds": measured, never tuned, no stiffness of their own); the surface is the
nodes within one spring length of the network's outer radius.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sandbox.files import write_atomic
from sandbox.learning.linear_response import rigid_body_modes
from sandbox.physics.energy import spring_hessian
from sandbox.physics.factor import use_one_blas_thread
from sandbox.physics.network import disordered_network

COORDINATION = 4.6
ZERO = 1e-9  # an eigenvalue of the unit-stiffness Hessian below this (relative to its largest) is a zero mode
DENSE_MAX = 400  # coordinates up to which the zero modes come from a dense eigendecomposition (above: Lanczos)


@dataclass
class CapacityNetwork:
    """pos (N, 2) rest positions, edges (E, 2) springs (all of stiffness 1 at the start),
    surface (S,) node indices."""

    pos: np.ndarray
    edges: np.ndarray
    surface: np.ndarray

    def save(self, path: Path) -> None:
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, pos=self.pos, edges=self.edges, surface=self.surface)
        write_atomic(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> "CapacityNetwork":
        with np.load(path) as z:
            return cls(z["pos"], z["edges"], z["surface"])


def disc_network(n: int, seed: int, coordination: float = COORDINATION) -> CapacityNetwork:
    """A disc of exactly n nodes with no zero mode but the rigid-body ones, from `seed`: cut a
    few more nodes than n around the centre, remove the zero modes, then take off the outermost
    node (and whatever that leaves floppy) until n are left; a step that would go below n takes
    off the next outermost node instead."""
    rng = np.random.default_rng(seed)
    n_box = int(n * 4 / np.pi * 1.3) + 30
    side = float(np.sqrt(n_box))
    pos, edges = disordered_network(n_box, coordination, side, side, rng)
    order = np.argsort(((pos - side / 2) ** 2).sum(axis=1))
    keep = n + 8 + n // 16
    pos, edges = remove_zero_modes(*_subnetwork(pos, edges, order[:keep]))
    while len(pos) < n:  # rare: cut more
        keep += n - len(pos) + 8
        pos, edges = remove_zero_modes(*_subnetwork(*disordered_network(n_box, coordination, side, side,
                                                                         np.random.default_rng(seed)), order[:keep]))
    while len(pos) > n:
        radius = ((pos - pos.mean(axis=0)) ** 2).sum(axis=1)
        for v in np.argsort(-radius):
            trial = remove_zero_modes(*_subnetwork(pos, edges, np.delete(np.arange(len(pos)), v)))
            if len(trial[0]) >= n:
                pos, edges = trial
                break
        else:
            raise RuntimeError(f"could not trim the disc of seed {seed} to exactly {n} nodes")
    return CapacityNetwork(pos, edges, surface_nodes(pos, edges))


def _subnetwork(pos, edges, nodes) -> tuple[np.ndarray, np.ndarray]:
    """The nodes `nodes` (in their order) and the springs between them, renumbered."""
    index = -np.ones(len(pos), dtype=np.int64)
    index[nodes] = np.arange(len(nodes))
    e = index[edges]
    return pos[nodes], e[(e >= 0).all(axis=1)]


def is_rigid(pos: np.ndarray, edges: np.ndarray) -> bool:
    """Whether the unit-stiffness network has no zero mode but the rigid-body ones, by a band
    Cholesky with three coordinates held (milliseconds, where `floppy_modes` takes a Lanczos run).
    A pivot that is not clearly positive means a zero mode."""
    from scipy.linalg import lapack

    from sandbox.learning.linear_response import pinned_coordinates
    from sandbox.physics.assembly import SpringAssembly

    use_one_blas_thread()
    free = np.ones(2 * len(pos), dtype=bool)
    free[pinned_coordinates(pos)] = False
    asm = SpringAssembly(edges, len(pos), free)
    rest = np.linalg.norm(pos[edges[:, 1]] - pos[edges[:, 0]], axis=1)
    vals = asm.values(pos, np.ones(len(edges)), rest)
    c, info = lapack.dpbtrf(asm.bands(vals[:, None]), lower=1)  # (one block; its closing identity rows pivot 1)
    return info == 0 and float(c[0].min()) ** 2 > ZERO * float(abs(vals).max())


def floppy_modes(pos: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(2N, z) orthonormal zero modes of the unit-stiffness network that are not rigid-body
    motions (z = 0 for a rigid network)."""
    use_one_blas_thread()  # threads on a shared machine made a 150 x 150 eigh take 0.5 s
    n = len(pos)
    rest = np.linalg.norm(pos[edges[:, 1]] - pos[edges[:, 0]], axis=1)
    h = spring_hessian(pos, edges, np.ones(len(edges)), rest, np.ones(2 * n, dtype=bool), rigidity_only=True)
    scale = float(abs(h).max())
    if 2 * n <= DENSE_MAX:
        w, v = np.linalg.eigh(h.toarray())
        zero = v[:, w < ZERO * scale]
    else:
        zero = _small_modes(h, scale)
    modes = rigid_body_modes(pos)
    rest_space = zero - modes @ (modes.T @ zero)  # take the rigid-body motions out
    if rest_space.shape[1] == 0:
        return rest_space
    u, s, _ = np.linalg.svd(rest_space, full_matrices=False)
    return u[:, s > 0.5]


def _small_modes(h, scale: float, count: int = 12) -> np.ndarray:
    """The zero modes of the sparse PSD h by shift-invert Lanczos, asking for more until one of
    the eigenvalues found is not zero (dense, should Lanczos not converge)."""
    import scipy.sparse.linalg as spla

    size = h.shape[0]
    while True:
        count = min(count, size - 2)
        try:
            w, v = spla.eigsh(h.tocsc(), k=count, sigma=-1e-3 * scale, which="LM", ncv=min(size, 3 * count + 20),
                              v0=np.ones(size))  # a fixed start: the same network on every machine
        except spla.ArpackNoConvergence as exc:
            w, v = exc.eigenvalues, exc.eigenvectors
            if not (w < ZERO * scale).any():
                w, v = np.linalg.eigh(h.toarray())
                return v[:, w < ZERO * scale]
            return v[:, w < ZERO * scale]  # those found: the next pass finds the rest
        if (w >= ZERO * scale).any() or count == size - 2:
            return v[:, w < ZERO * scale]
        count *= 2


def remove_zero_modes(pos: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rocks et al.'s procedure: while a zero mode other than a rigid-body motion is left, remove
    in each such mode the node that moves most (then nodes left without springs, and all but
    the largest connected piece). Returns the new positions and springs, renumbered."""
    while True:
        pos, edges = _largest_piece(pos, edges)
        modes = np.zeros((2 * len(pos), 0)) if is_rigid(pos, edges) else floppy_modes(pos, edges)
        if modes.shape[1] == 0:
            return pos, edges
        amplitude = (modes.reshape(len(pos), 2, -1) ** 2).sum(axis=1)  # (N, z)
        drop = np.unique(np.argmax(amplitude, axis=0))
        keep = np.setdiff1d(np.arange(len(pos)), drop)
        pos, edges = _subnetwork(pos, edges, keep)


def _largest_piece(pos, edges) -> tuple[np.ndarray, np.ndarray]:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(pos)
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    degree = np.bincount(edges.ravel(), minlength=n)
    sizes = np.bincount(label[degree > 0], minlength=label.max() + 1)
    keep = np.flatnonzero((label == np.argmax(sizes)) & (degree > 0))
    return _subnetwork(pos, edges, keep) if len(keep) < n else (pos, edges)


def spring_length(pos: np.ndarray, edges: np.ndarray) -> float:
    """The median spring length."""
    return float(np.median(np.linalg.norm(pos[edges[:, 1]] - pos[edges[:, 0]], axis=1)))


def unbonded_pairs(pos: np.ndarray, edges: np.ndarray, radius: float) -> np.ndarray:
    """(P, 2) the pairs of nodes (i < j) closer than `radius` spring lengths that no spring joins."""
    from scipy.spatial import cKDTree

    n = len(pos)
    pairs = cKDTree(pos).query_pairs(radius * spring_length(pos, edges), output_type="ndarray")
    keys = np.setdiff1d(pairs[:, 0] * n + pairs[:, 1], np.sort(edges, axis=1) @ np.array([n, 1]))
    return np.stack([keys // n, keys % n], axis=1)


def surface_nodes(pos: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(S,) the nodes within one median spring length of the network's outer radius."""
    r = np.linalg.norm(pos - pos.mean(axis=0), axis=1)
    return np.flatnonzero(r >= r.max() - spring_length(pos, edges))
