"""The two interfaces the learning layer relies on, as typing.Protocols.

An Engine finds equilibria: the Newton solver (`equilibrium.NewtonSolver`, the "exact" engine)
and the live pymunk world (`world.WorldEngine`, the "physical" engine) both follow it. A Cost
scores the outputs of one example: `costs.PositionCost`, `DistanceCost` and `MarginCost`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

    from .equilibrium import Equilibrium
    from .network import Network

ENGINES = ("exact", "physical")  # the one vocabulary: command line, window and README


@runtime_checkable
class Cost(Protocol):
    """C(x) on the outputs of positions x (N, 2)."""

    def value(self, x: np.ndarray) -> float:
        """The cost."""

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """(N, 2) dC/dx; the nudge force is -beta times this."""

    def hessian(self, x: np.ndarray, free: np.ndarray) -> sp.csc_matrix:
        """(F, F) d2C/dx2 over the free coordinates picked by the (2N,) bool mask `free`."""

    def coupled_clamp(self, x: np.ndarray, eta: float) -> tuple[np.ndarray, np.ndarray]:
        """For coupled learning: positions (N, 2) with the outputs moved a fraction eta toward
        their targets, and the (2N,) bool mask of the coordinates so clamped. Costs without
        targets (a margin) raise NotImplementedError."""


@runtime_checkable
class Engine(Protocol):
    """Finds the equilibrium of E(x) + beta C(x) from a start, holding what the network holds."""

    def relax(self, net: Network, x_start: np.ndarray, cost: Cost | None = None, beta: float = 0.0,
              free: np.ndarray | None = None) -> Equilibrium:
        """Relax from x_start (N, 2); `free` (2N,) bool overrides which coordinates move. At a
        temperature above 0 the Equilibrium's `samples` (S, N, 2) are its thermal snapshots."""
