"""How a gradient becomes a step: plain steps, momentum, or Adam on log k (and log L).

    sgd:       step = -lr g
    momentum:  v <- mu v + g,                                   step = -lr v
    adam:      on log theta, with g' = theta g (the gradient in log theta):
               m <- b1 m + (1 - b1) g',  s <- b2 s + (1 - b2) g'^2,
               log theta <- log theta - lr m_hat / (sqrt(s_hat) + eps)   (bias-corrected; b1 = mu)

A step is only a proposal: `rules.apply_update` bounds it by the trust region and the
parameter's bounds afterwards, whatever the optimizer. `OptimizerState` keeps the running
moments of one network's springs; the trainer holds one and resets it on rollback.
"""

from __future__ import annotations

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "adam")
ADAM_B2 = 0.999
ADAM_EPS = 1e-12  # gradients here are small (dC/dk ~ 1e-4 to 1e-9): 1e-8 would swamp them


class OptimizerState:
    """The running moments of each learned array ("k", "L"), (E,) each. A new kind of
    optimizer or a new number of springs starts them afresh."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """Forget every moment (after a rollback, a cut, or a change of optimizer)."""
        self._moments: dict[str, dict] = {}
        self._kind = None

    def step(self, name: str, g: np.ndarray, theta: np.ndarray, lr: float, kind: str, mu: float) -> np.ndarray:
        """(E,) proposed change of theta (E,) from the gradient g (E,) of `name`."""
        if kind == "sgd":
            return -lr * g
        if kind != self._kind or any(len(m["t1"]) != len(g) for m in self._moments.values()):
            self.reset()
            self._kind = kind
        m = self._moments.setdefault(name, {"t1": np.zeros_like(g), "t2": np.zeros_like(g), "n": 0})
        if kind == "momentum":
            m["t1"] = mu * m["t1"] + g
            return -lr * m["t1"]
        glog = theta * g
        m["n"] += 1
        m["t1"] = mu * m["t1"] + (1 - mu) * glog
        m["t2"] = ADAM_B2 * m["t2"] + (1 - ADAM_B2) * glog * glog
        m_hat = m["t1"] / (1 - mu ** m["n"])
        s_hat = m["t2"] / (1 - ADAM_B2 ** m["n"])
        return theta * np.expm1(-lr * m_hat / (np.sqrt(s_hat) + ADAM_EPS))
