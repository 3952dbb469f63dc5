"""A spring network as plain arrays: positions, springs, stiffness, rest lengths and node roles.

N nodes in the plane and E springs. Held nodes (fixed anchors and clamped inputs) do not move;
free nodes (hidden and outputs) move along their free axes (both, or one for a node on a rail).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FIXED, INPUT, HIDDEN, OUTPUT = 0, 1, 2, 3
ROLE_NAMES = ("fixed", "input", "hidden", "output")


@dataclass(eq=False)
class Network:
    """Arrays of one network, checked when made (a ValueError names the array and the problem).

    pos:   (N, 2) float  reference positions (fixed nodes stay here; inputs are clamped
                         relative to these)
    edges: (E, 2) int    node indices of each spring
    k:     (E,)   float  stiffness (learned), > 0; None: 1 each
    L:     (E,)   float  rest length (learned when rest lengths learn), > 0; None: the springs'
                         lengths in `pos` (every spring at rest)
    roles: (N,)   int    FIXED, INPUT, HIDDEN or OUTPUT
    axes:  (N, 2) bool   which axes a free node may move along (a rail holds the other one)
    ids:   N distinct names (strings), for messages and for scene files

    Two networks are equal when every array and name is; `save` and `load` write and read the
    network section of a scene file, exactly.
    """

    pos: np.ndarray
    edges: np.ndarray
    k: np.ndarray
    L: np.ndarray
    roles: np.ndarray
    axes: np.ndarray = None
    ids: list = field(default=None)

    def __post_init__(self):
        self.pos = np.asarray(self.pos, dtype=float).reshape(-1, 2)
        self.edges = np.asarray(self.edges, dtype=np.int64).reshape(-1, 2)
        if self.k is None:
            self.k = np.ones(len(self.edges))
        self.k = np.asarray(self.k, dtype=float).reshape(-1)
        if self.L is None and (len(self.edges) == 0 or (self.edges.min() >= 0 and self.edges.max() < len(self.pos))):
            self.L = self.rest_lengths_from_positions()
        self.L = np.asarray(self.L, dtype=float).reshape(-1)
        self.roles = np.asarray(self.roles, dtype=np.int8).reshape(-1)
        n = len(self.pos)
        if self.axes is None:
            self.axes = np.ones((n, 2), dtype=bool)
        self.axes = np.asarray(self.axes, dtype=bool).reshape(n, 2)
        self.ids = [f"n{i}" for i in range(n)] if self.ids is None else [str(i) for i in self.ids]
        self._check()

    def _check(self) -> None:
        """Shapes that agree and finite values, or a ValueError saying which array is wrong."""
        n, e = len(self.pos), len(self.edges)
        for name, arr in (("k", self.k), ("L", self.L)):
            if len(arr) != e:
                raise ValueError(f"Network: {name} has {len(arr)} values for {e} springs")
        if len(self.roles) != n:
            raise ValueError(f"Network: roles has {len(self.roles)} values for {n} nodes")
        if len(self.ids) != n:
            raise ValueError(f"Network: ids has {len(self.ids)} names for {n} nodes")
        if len(set(self.ids)) != n:
            twice = sorted({i for i in self.ids if self.ids.count(i) > 1})[:3]
            raise ValueError(f"Network: node ids must be distinct; {', '.join(map(repr, twice))} appear twice")
        for name, arr in (("pos", self.pos), ("k", self.k), ("L", self.L)):
            finite = np.isfinite(arr)
            bad = np.flatnonzero(~(finite.all(axis=1) if finite.ndim == 2 else finite))
            if len(bad):
                raise ValueError(f"Network: {name}[{bad[0]}] is {arr[bad[0]]}, not finite")
        for name, arr, what in (("k", self.k, "stiffness"), ("L", self.L, "rest length")):
            bad = np.flatnonzero(arr <= 0)
            if len(bad):
                raise ValueError(f"Network: {name}[{bad[0]}] = {arr[bad[0]]:g}: a spring's {what} must be "
                                 f"positive ({len(bad)} spring(s) are not)")
        if e and (self.edges.min() < 0 or self.edges.max() >= n):
            s = int(np.flatnonzero((self.edges < 0).any(axis=1) | (self.edges >= n).any(axis=1))[0])
            raise ValueError(f"Network: spring {s} joins nodes {self.edges[s].tolist()}, outside 0..{n - 1}")
        if e and (self.edges[:, 0] == self.edges[:, 1]).any():
            s = int(np.flatnonzero(self.edges[:, 0] == self.edges[:, 1])[0])
            raise ValueError(f"Network: spring {s} joins node {self.edges[s, 0]} to itself")
        if not set(np.unique(self.roles).tolist()) <= {FIXED, INPUT, HIDDEN, OUTPUT}:
            raise ValueError("Network: roles must be FIXED, INPUT, HIDDEN or OUTPUT (0 to 3)")

    def __repr__(self) -> str:
        counts = np.bincount(self.roles, minlength=4)
        roles = ", ".join(f"{c} {name}" for c, name in zip(counts, ROLE_NAMES) if c)
        springs = f"{self.n_springs} springs"
        if self.n_springs:
            springs += (f", k {self.k.min():.3g} to {self.k.max():.3g}, L {self.L.min():.3g} to "
                        f"{self.L.max():.3g}")
        return f"Network({self.n_nodes} nodes" + (f": {roles}" if roles else "") + f"; {springs})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return (self.ids == other.ids and all(np.array_equal(getattr(self, a), getattr(other, a))
                                              for a in ("pos", "edges", "k", "L", "roles", "axes")))

    __hash__ = None  # mutable: k and L change as it learns

    def save(self, path) -> None:
        """Write the network to a YAML file (atomically): the `network:` section of a scene,
        every node and spring listed, k and L exactly (see network_file.py)."""
        from .network_file import save_network

        save_network(self, path)

    @classmethod
    def load(cls, path) -> "Network":
        """The network in a file written by `save`, or of a scene file that lists its nodes (a
        trained.yaml); ValueError naming the file and the problem otherwise."""
        from .network_file import load_network

        return load_network(path)

    @property
    def n_nodes(self) -> int:
        return len(self.pos)

    @property
    def n_springs(self) -> int:
        return len(self.edges)

    @property
    def held(self) -> np.ndarray:
        """(N,) bool: fixed and input nodes."""
        return (self.roles == FIXED) | (self.roles == INPUT)

    @property
    def free_dofs(self) -> np.ndarray:
        """(2N,) bool: the coordinates that move when the network relaxes."""
        return (self.axes & ~self.held[:, None]).reshape(-1)

    def nodes(self, role: int) -> np.ndarray:
        """Indices of the nodes with this role."""
        return np.flatnonzero(self.roles == role)

    def rest_lengths_from_positions(self) -> np.ndarray:
        """(E,) distances between the ends of each spring in the reference positions."""
        d = self.pos[self.edges[:, 1]] - self.pos[self.edges[:, 0]]
        return np.linalg.norm(d, axis=1)

    def copy(self) -> "Network":
        return Network(self.pos.copy(), self.edges.copy(), self.k.copy(), self.L.copy(),
                       self.roles.copy(), self.axes.copy(), list(self.ids))

    def remove_springs(self, cut) -> None:
        """Remove the springs at indices `cut`, in place (whoever holds this network sees it)."""
        keep = np.ones(self.n_springs, dtype=bool)
        keep[np.asarray(cut, dtype=int)] = False
        self.edges, self.k, self.L = self.edges[keep], self.k[keep], self.L[keep]




def triangular_lattice(rows: int, cols: int, spacing: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Positions (rows*cols, 2) and edges (E, 2) of a triangular lattice, row by row from the bottom."""
    pos = []
    for r in range(rows):
        for c in range(cols):
            pos.append(((c + 0.5 * (r % 2)) * spacing, r * spacing * np.sqrt(3) / 2))
    idx = np.arange(rows * cols).reshape(rows, cols)
    edges = []
    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols:
                edges.append((idx[r, c], idx[r, c + 1]))
            if r + 1 < rows:
                edges.append((idx[r, c], idx[r + 1, c]))
                diag = c + 1 if r % 2 else c - 1
                if 0 <= diag < cols:
                    edges.append((idx[r, c], idx[r + 1, diag]))
    return np.array(pos, dtype=float), np.array(edges, dtype=np.int64)


def disordered_network(n: int, coordination: float, width: float, height: float,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random network of n nodes in a width x height box with mean coordination close to the target.

    Points are spread by rejection (no two closer than ~0.6 of the mean spacing), joined by a
    Delaunay triangulation (coordination ~6), then springs are pruned at random, never below three
    springs per node, until the mean coordination 2E/n reaches `coordination` (>= 4 keeps it rigid).
    Returns positions (n, 2) and edges (E, 2).
    """
    from scipy.spatial import Delaunay

    spacing = np.sqrt(width * height / n)
    pts = []
    tries = 0
    while len(pts) < n:
        p = rng.uniform((0, 0), (width, height))
        tries += 1
        if not pts or np.min(np.linalg.norm(np.array(pts) - p, axis=1)) > 0.6 * spacing or tries > 200 * n:
            pts.append(p)
    pos = np.array(pts)
    tri = Delaunay(pos)
    pairs = set()
    for simplex in tri.simplices:
        for a in range(3):
            i, j = sorted((int(simplex[a]), int(simplex[(a + 1) % 3])))
            pairs.add((i, j))
    edges = np.array(sorted(pairs), dtype=np.int64)
    # drop sliver edges on the hull (long, nearly flat triangles) first: they make poor springs
    length = np.linalg.norm(pos[edges[:, 1]] - pos[edges[:, 0]], axis=1)
    keep = np.ones(len(edges), dtype=bool)
    degree = np.bincount(edges.ravel(), minlength=n)
    target_e = int(round(coordination * n / 2))
    order = np.argsort(-length)
    for e in order[: max(0, len(edges) // 20)]:
        i, j = edges[e]
        if length[e] > 2.0 * spacing and degree[i] > 3 and degree[j] > 3:
            keep[e] = False
            degree[i] -= 1
            degree[j] -= 1
    for e in rng.permutation(len(edges)):
        if keep.sum() <= target_e:
            break
        i, j = edges[e]
        if keep[e] and degree[i] > 3 and degree[j] > 3:
            keep[e] = False
            degree[i] -= 1
            degree[j] -= 1
    return pos, edges[keep]
