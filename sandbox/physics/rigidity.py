"""Whether a network holds together: free nodes no spring ties to an anchor, and floppy modes."""

from __future__ import annotations

import numpy as np

from .energy import hessian
from .factor import use_one_blas_thread
from .network import Network


def unanchored_nodes(net: Network) -> list[list[int]]:
    """Groups of free nodes that no spring path ties to a held node (they would float away).

    Returns a list of clusters, each a sorted list of node indices.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = net.n_nodes
    e = net.edges
    graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    held = net.held | ~net.axes.any(axis=1)
    anchored = np.zeros(label.max() + 1 if n else 0, dtype=bool)
    anchored[label[held]] = True
    clusters = {}
    for i in np.flatnonzero(~anchored[label]):
        clusters.setdefault(label[i], []).append(int(i))
    return sorted(clusters.values())


def floppy_nodes(net: Network, max_nodes: int = 600) -> list[int]:
    """Free nodes that take part in a zero-stiffness motion of the unstressed network.

    Uses the first-order rigidity of the springs at their reference geometry (every spring
    counts along its own axis only). Empty when the network is rigid. Skipped (empty) above
    `max_nodes` free nodes, where the solver reports a singular Hessian instead.
    """
    free = net.free_dofs
    if free.sum() == 0 or free.sum() > 2 * max_nodes:
        return []
    h = hessian(net, net.pos, free, rigidity_only=True).toarray()
    scale = max(float(np.abs(h).max()), 1e-300)
    use_one_blas_thread()  # Iris's 192 x 192 eigh took 0.36 s with threads on two shared cores
    w, v = np.linalg.eigh(h / scale)
    zero = w < 1e-9
    if not zero.any():
        return []
    weight = np.zeros(2 * net.n_nodes)
    weight[np.flatnonzero(free)] = (v[:, zero] ** 2).sum(axis=1)
    per_node = weight.reshape(-1, 2).sum(axis=1)
    return [int(i) for i in np.flatnonzero(per_node > 1e-6)]

