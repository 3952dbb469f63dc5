"""What a network is asked to learn: examples of input clamps and output targets.

S examples, M input nodes, P outputs (nodes for a position cost, node pairs for a distance cost).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..physics.costs import DistanceCost, MarginCost, PositionCost
from ..physics.network import Network

KINDS = ("position", "distance", "margin")


@dataclass
class Task:
    """Examples and the cost that scores them.

    inputs:  (M,) int        clamped input nodes
    clamps:  (S, M, 2)       displacement of each input from its reference position
    kind:    "position", "distance" or "margin" (classification by a squared hinge)
    outputs: (P,) int        output nodes (position) or (P, 2) int output pairs (distance)
    targets: (S, P, 2)       target displacements of the outputs (position), or
             (S, P)          target distances of the pairs (distance)
    mask:    (P, 2) bool     axes that the position cost counts
    labels:  (S,) int | None class of each example, for a "which output wins" read-out
    axis:    int             the axis along which outputs are read for classification
    train, test: index arrays into the S examples
    class_names: the name of each class (P,) for a classifier, if known
    """

    inputs: np.ndarray
    clamps: np.ndarray
    kind: str
    outputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray | None = None
    labels: np.ndarray | None = None
    axis: int = 0
    train: np.ndarray | None = None
    test: np.ndarray | None = None
    margin: float = 0.3
    class_names: list | None = None

    def __post_init__(self):
        s = len(self.clamps)
        if self.train is None:
            self.train = np.arange(s)
        if self.test is None:
            self.test = np.arange(0)
        self.inputs = np.asarray(self.inputs, dtype=np.int64).reshape(-1)
        self.clamps = np.asarray(self.clamps, dtype=float)
        self.outputs = np.asarray(self.outputs, dtype=np.int64)
        self.targets = np.asarray(self.targets, dtype=float)
        if self.kind in ("position", "margin") and self.mask is None:
            self.mask = np.ones((len(self.outputs), 2), dtype=bool)
        self._check()

    def _check(self) -> None:
        """Shapes that agree and finite values, or a ValueError saying which array is wrong."""
        s, m, p = len(self.clamps), len(self.inputs), len(self.outputs)
        if self.kind not in KINDS:
            raise ValueError(f"Task: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.clamps.shape != (s, m, 2):
            raise ValueError(f"Task: clamps must be (examples, {m} inputs, 2), not {self.clamps.shape}")
        want = (s, p) if self.kind == "distance" else (s, p, 2)
        if self.kind == "distance" and self.outputs.shape != (p, 2):
            raise ValueError(f"Task: a distance task's outputs must be (pairs, 2), not {self.outputs.shape}")
        if self.kind != "margin" and self.targets.shape != want:
            raise ValueError(f"Task: targets must be {want}, not {self.targets.shape}")
        for name, arr in (("clamps", self.clamps), ("targets", self.targets)):
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
        return self.starts(net, [s], None if x is None else x[None])[0]

    def starts(self, net: Network, examples, x: np.ndarray | None = None) -> np.ndarray:
        """(B, N, 2) `start` of each of the B examples, free nodes from x (B, N, 2) (or reference)."""
        y = np.repeat(net.pos[None], len(examples), axis=0) if x is None else np.array(x, dtype=float)
        held = net.held
        y[:, held] = net.pos[held]
        y[:, self.inputs] = net.pos[self.inputs] + self.clamps[np.asarray(examples, dtype=int)]
        return y

    def target_points(self, net: Network, s: int, x: np.ndarray) -> np.ndarray:
        """(P, 2) world points where example s wants its outputs (the network at x (N, 2)): the
        targets of a position task; for a distance task, the two ends of each output pair at the
        target distance, centred on the pair's midpoint (2P points: all first ends, then all
        second ends)."""
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
        if self.kind in ("position", "margin"):
            return x[self.outputs]
        return np.concatenate([x[self.outputs[:, 0]], x[self.outputs[:, 1]]])

    def cost(self, net: Network, s: int):
        """The cost of example s: a PositionCost or a DistanceCost."""
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
