"""What a network is asked to learn: examples of input clamps and output targets.

S examples, M input nodes, P outputs (nodes for a position cost, node pairs for a distance cost).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..physics.costs import DistanceCost, MarginCost, PositionCost
from ..physics.network import Network

KINDS = ("position", "distance", "margin", "custom")


@dataclass
class Task:
    """Examples and the cost that scores them.

    inputs:  (M,) int        clamped input nodes
    clamps:  (S, M, 2)       displacement of each input from its reference position
    kind:    "position", "distance", "margin" (classification by a squared hinge) or
             "custom" (the cost is cost_fn's)
    outputs: (P,) int        output nodes (position, margin, custom) or (P, 2) int output pairs
                             (distance)
    targets: (S, P, 2)       target displacements of the outputs (position), or
             (S, P)          target distances of the pairs (distance); custom: anything, or None
    mask:    (P, 2) bool     axes that the position cost counts
    labels:  (S,) int | None class of each example, for a "which output wins" read-out
    axis:    int             the axis along which outputs are read for classification
    train, test: index arrays into the S examples
    class_names: the name of each class (P,) for a classifier, if known
    cost_fn: for kind "custom", cost_fn(net, s) -> the cost of example s, any object with the
             methods of `sandbox.Cost` (no subclass needed)
    """

    inputs: np.ndarray
    clamps: np.ndarray
    kind: str
    outputs: np.ndarray
    targets: np.ndarray | None = None
    mask: np.ndarray | None = None
    labels: np.ndarray | None = None
    axis: int = 0
    train: np.ndarray | None = None
    test: np.ndarray | None = None
    margin: float = 0.3
    class_names: list | None = None
    cost_fn: Callable | None = None

    def __post_init__(self):
        s = len(self.clamps)
        if self.train is None:
            self.train = np.arange(s)
        if self.test is None:
            self.test = np.arange(0)
        self.inputs = np.asarray(self.inputs, dtype=np.int64).reshape(-1)
        self.clamps = np.asarray(self.clamps, dtype=float)
        self.outputs = np.asarray(self.outputs, dtype=np.int64)
        if self.kind != "custom" or self.targets is not None:
            self.targets = np.asarray(self.targets, dtype=float)
        if self.kind in ("position", "margin", "custom") and self.mask is None:
            self.mask = np.ones((len(self.outputs), 2), dtype=bool)
        self._check()

    def _check(self) -> None:
        """Shapes that agree and finite values, or a ValueError saying which array is wrong."""
        s, m, p = len(self.clamps), len(self.inputs), len(self.outputs)
        if self.kind not in KINDS:
            raise ValueError(f"Task: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if (self.kind == "custom") != (self.cost_fn is not None):
            raise ValueError("Task: a cost_fn goes with kind 'custom', and kind 'custom' needs a cost_fn")
        if self.clamps.shape != (s, m, 2):
            raise ValueError(f"Task: clamps must be (examples, {m} inputs, 2), not {self.clamps.shape}")
        want = (s, p) if self.kind == "distance" else (s, p, 2)
        if self.kind == "distance" and self.outputs.shape != (p, 2):
            raise ValueError(f"Task: a distance task's outputs must be (pairs, 2), not {self.outputs.shape}")
        if self.kind in ("position", "distance") and self.targets.shape != want:
            raise ValueError(f"Task: targets must be {want}, not {self.targets.shape}")
        for name, arr in (("clamps", self.clamps), ("targets", self.targets)):
            if name == "targets" and self.kind == "custom":
                continue
            if not np.isfinite(arr).all():
                raise ValueError(f"Task: {name} holds values that are not finite")
        if self.labels is not None and len(self.labels) != s:
            raise ValueError(f"Task: {len(self.labels)} labels for {s} examples")
        if self.kind == "margin" and self.labels is None:
            raise ValueError("Task: a margin (classification) task needs labels")
        for name, idx in (("train", self.train), ("test", self.test)):
            if len(idx) and (np.min(idx) < 0 or np.max(idx) >= s):
                raise ValueError(f"Task: {name} indices must lie in 0..{s - 1}")

    @property
    def n_examples(self) -> int:
        return len(self.clamps)

    @property
    def output_nodes(self) -> np.ndarray:
        return np.unique(np.asarray(self.outputs).ravel())

    def start(self, net: Network, s: int, x: np.ndarray | None = None) -> np.ndarray:
        """(N, 2) positions with example s's inputs clamped; free nodes from x (or reference)."""
        return self.clamped(net, self.clamps[s], x)

    def clamped(self, net: Network, clamp: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        """(N, 2) positions with the inputs displaced by clamp (M, 2) from their reference
        positions; the other held nodes at theirs, free nodes from x (or reference)."""
        return self._clamp_many(net, np.asarray(clamp, dtype=float).reshape(1, -1, 2), None if x is None else x[None])[0]

    def starts(self, net: Network, examples, x: np.ndarray | None = None) -> np.ndarray:
        """(B, N, 2) `start` of each of the B examples, free nodes from x (B, N, 2) (or reference)."""
        return self._clamp_many(net, self.clamps[np.asarray(examples, dtype=int)], x)

    def _clamp_many(self, net: Network, clamps: np.ndarray, x: np.ndarray | None) -> np.ndarray:
        """(B, N, 2) positions with the inputs displaced by clamps (B, M, 2), the other held nodes
        at their reference positions, free nodes from x (B, N, 2) (or reference)."""
        y = np.repeat(net.pos[None], len(clamps), axis=0) if x is None else np.array(x, dtype=float)
        held = net.held
        y[:, held] = net.pos[held]
        y[:, self.inputs] = net.pos[self.inputs] + clamps
        return y

    def answer(self, net: Network, x: np.ndarray) -> np.ndarray:
        """The outputs of state x (N, 2), in the units of the targets: (P, 2) displacements of
        the output nodes (position, custom), (P,) lengths of the output pairs (distance), or
        (P,) displacements along the read-out axis (margin: the largest is the class)."""
        if self.kind == "distance":
            return np.linalg.norm(x[self.outputs[:, 1]] - x[self.outputs[:, 0]], axis=1)
        if self.kind == "margin":
            return self.readout(net, x)
        return x[self.outputs] - net.pos[self.outputs]

    def target_points(self, net: Network, s: int, x: np.ndarray) -> np.ndarray:
        """(P, 2) world points where example s wants its outputs (the network at x (N, 2)): the
        targets of a position task; for a distance task, the two ends of each output pair at the
        target distance, centred on the pair's midpoint (2P points: all first ends, then all
        second ends)."""
        if self.kind == "custom":
            return x[self.outputs]  # a custom cost's wishes are its own: no target to draw
        if self.kind in ("position", "margin"):
            t = net.pos[self.outputs] + self.targets[s]
            # an axis-only target leaves the other coordinate where the node is
            return np.where(self.mask, t, x[self.outputs])
        a, b = x[self.outputs[:, 0]], x[self.outputs[:, 1]]
        mid, d = (a + b) / 2, b - a
        u = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
        half = 0.5 * self.targets[s][:, None] * u
        return np.concatenate([mid - half, mid + half])

    def output_points(self, x: np.ndarray) -> np.ndarray:
        """(P, 2) (or (2P, 2) for a distance task) the points of x (N, 2) that target_points
        places: the output nodes, or the two ends of each output pair."""
        if self.kind != "distance":
            return x[self.outputs]
        return np.concatenate([x[self.outputs[:, 0]], x[self.outputs[:, 1]]])

    def cost(self, net: Network, s: int):
        """The cost of example s: a PositionCost, DistanceCost, MarginCost, or cost_fn's."""
        if self.kind == "custom":
            return self.cost_fn(net, s)
        if self.kind == "position":
            return PositionCost(self.outputs, net.pos[self.outputs] + self.targets[s], self.mask)
        if self.kind == "margin":
            return MarginCost(self.outputs, self.labels[s], self.margin, self.axis, net.pos)
        return DistanceCost(self.outputs, self.targets[s])

    def readout(self, net: Network, x: np.ndarray) -> np.ndarray:
        """(P,) displacement of each output node along the read-out axis at x (N, 2); (B, P) at
        x (B, N, 2)."""
        return x[..., self.outputs, self.axis] - net.pos[self.outputs, self.axis]

    def predict(self, net: Network, x: np.ndarray) -> int:
        """Class whose output node moved furthest along the read-out axis."""
        return int(np.argmax(self.readout(net, x)))
