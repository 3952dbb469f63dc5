"""The interfaces the learning layer relies on, as typing.Protocols: write a class with these
methods (no base class needed) and the solver, the trainer and the rules use it.

An Engine finds equilibria: the Newton solver (`equilibrium.NewtonSolver`, the "exact" engine)
and the live pymunk world (`world.WorldEngine`, the "physical" engine) both follow it. A Cost
scores the outputs of one example: `costs.PositionCost`, `DistanceCost` and `MarginCost`, or
your own (give a Task kind="custom" and cost_fn). A TargetCost is a cost with targets, which
coupled learning can clamp toward: the position and distance costs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

    from .costs import Clamp
    from .equilibrium import Equilibrium
    from .network import Network

ENGINES = ("exact", "physical")  # the one vocabulary: command line, window and README


@runtime_checkable
class Cost(Protocol):
    """C(x) on the outputs of positions x (N, 2): everything the solver, the engines and the
    one-sided, centered and exact rules call."""

    nodes: np.ndarray
    """(C,) int: the nodes C reads (the solver couples their coordinates in its Newton matrix)."""

    def value(self, x: np.ndarray) -> float:
        """The cost."""

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """(N, 2) dC/dx, zero off `nodes`; the nudge force is -beta times this."""

    def hessian_entries(self, x: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """d2C/dx2 over the free coordinates picked by the (2N,) bool mask `free`, as COO
        triplets (rows (K,), cols (K,), vals (K,)) indexed among the free coordinates (the
        position of a coordinate in np.flatnonzero(free)); duplicates are summed."""


@runtime_checkable
class TargetCost(Cost, Protocol):
    """A least-squares cost C = 1/2 |q(x) - t|^2 over P quantities q (coordinates, lengths),
    which coupled learning can clamp (and `gradient_check` can compare with its limit)."""

    def coupled_clamp(self, x: np.ndarray, eta: float) -> Clamp:
        """What coupled learning holds from the free state x (N, 2): each quantity a fraction
        eta of the way to its target (costs.Clamp: coordinates held outright, lengths by a
        constraint on the length alone)."""

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """(P,) q(x) - t."""

    def jacobian(self, x: np.ndarray) -> sp.spmatrix:
        """(P, 2N) dq/dx."""


@runtime_checkable
class Engine(Protocol):
    """Finds the equilibrium of E(x) + beta C(x) from a start, holding what the network holds."""

    def relax(self, net: Network, x_start: np.ndarray, cost: Cost | None = None, beta: float = 0.0,
              free: np.ndarray | None = None) -> Equilibrium:
        """Relax from x_start (N, 2); `free` (2N,) bool overrides which coordinates move. At a
        temperature above 0 the Equilibrium's `samples` (S, N, 2) are its thermal snapshots."""
