"""Which node pairs a capacity task strains and measures, on one network and one seed.

- "ghost" (this experiment's protocol, after Rocks et al. 2017): the source is a pair of
  surface nodes that no spring joins, at most SOURCE_REACH spring lengths apart; the targets
  are other unbonded pairs anywhere in the network, at most TARGET_REACH spring lengths apart,
  in a random order (T targets: the first T). Pairs may share nodes, as the paper's random
  target edges may.
- "bonds" (the 2019 paper's node-pair protocol, on our disc): the source is two nodes drawn at
  random; the targets are springs drawn at random, measured and free to be pruned themselves.

A pair the source does not strain at all (eta0 = 0: a pair whose distance the springs fix, as
the other diagonal of a braced quadrilateral, or a pair in a piece that only moves rigidly) can
never change by a fraction of itself: it is left out.
"""

from __future__ import annotations

import numpy as np

from sandbox.learning.linear_response import StrainResponse

from .networks import CapacityNetwork, unbonded_pairs

KINDS = ("ghost", "bonds")
SOURCE_REACH = 2.0
TARGET_REACH = 3.0
UNSTRAINED = 1e-9  # |eta0| below this times the largest: not strained at all


def choose_pairs(net: CapacityNetwork, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(source (2,), targets (M, 2)): every target this network offers, in the order asked."""
    rng = np.random.default_rng(seed)
    if kind == "ghost":
        surface = np.zeros(len(net.pos), dtype=bool)
        surface[net.surface] = True
        near = unbonded_pairs(net.pos, net.edges, SOURCE_REACH)
        on_surface = near[surface[near].all(axis=1)]
        if len(on_surface) == 0:
            raise ValueError("no unbonded pair of surface nodes")
        source = on_surface[rng.integers(len(on_surface))]
        targets = unbonded_pairs(net.pos, net.edges, TARGET_REACH)
        targets = targets[~((targets[:, 0] == source[0]) & (targets[:, 1] == source[1]))]
    elif kind == "bonds":
        source = np.sort(rng.choice(len(net.pos), 2, replace=False))
        targets = net.edges
    else:
        raise ValueError(f"unknown pair kind {kind!r}; expected one of {', '.join(KINDS)}")
    targets = targets[rng.permutation(len(targets))]
    eta0 = StrainResponse(net.pos, net.edges, source, targets).ratios(np.ones(len(net.edges)))
    return source, targets[np.abs(eta0) > UNSTRAINED * np.abs(eta0).max()]
