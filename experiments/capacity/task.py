"""The capacity task (Rocks et al., PNAS 116:2506, 2019): strain the source pair and ask every
target pair's strain ratio eta_t = eps_t / eps_S to grow, relative to what the untuned network
gives (eta0_t), by at least DELTA:

    r_t = eta_t / eta0_t - 1 - DELTA >= 0 for every target      (success)
    loss = 1/2 sum_t min(r_t, 0)^2                                (the paper's loss)

eta0_t keeps its sign, so a target asked to stretch more must not start to squeeze. Responses are
linear (`sandbox.learning.linear_response`): the ratios do not depend on how far the source is
strained.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sandbox.learning.linear_response import StrainResponse

DELTA = 0.1  # the paper's desired relative change of each target's ratio
K_MIN, K_MAX = 1e-3, 1e3  # the continuous tuners' bounds (the sandbox's Rule defaults)


@dataclass
class Task:
    """pos (N, 2), edges (E, 2) springs at rest, source (2,) and targets (T, 2) node pairs."""

    pos: np.ndarray
    edges: np.ndarray
    source: np.ndarray
    targets: np.ndarray
    response: StrainResponse = field(init=False)
    eta0: np.ndarray = field(init=False)

    def __post_init__(self):
        self.response = StrainResponse(self.pos, self.edges, self.source, self.targets)
        self.eta0 = self.response.ratios(np.ones(len(self.edges)))

    def residuals(self, ratios: np.ndarray, delta: float = DELTA) -> np.ndarray:
        """(T,) r_t: >= 0 where target t has grown by at least delta."""
        return ratios / self.eta0 - 1.0 - delta

    def loss(self, ratios: np.ndarray, delta: float = DELTA) -> float:
        r = np.minimum(self.residuals(ratios, delta), 0.0)
        return 0.5 * float(r @ r)

    def met(self, ratios: np.ndarray) -> bool:
        return bool((self.residuals(ratios) >= 0).all())

    def hinge(self, delta: float = DELTA):
        """The loss at `delta` as the quadratic the linear response takes: (weights, goals) of
        the targets still short of their goal (weight 0 for the others)."""
        def quadratic(ratios):
            short = self.residuals(ratios, delta) < 0
            return short / self.eta0 ** 2, (1.0 + delta) * self.eta0
        return quadratic

    def verify(self, k: np.ndarray) -> tuple[bool, float, float]:
        """(success, loss, smallest residual) from a fresh factorization at stiffness k (E,)."""
        ratios = self.response.ratios(k)
        return self.met(ratios), self.loss(ratios), float(self.residuals(ratios).min())
