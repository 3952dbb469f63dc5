"""Imperfect hardware: what each spring measures, and how a change the rule asks for is made.

A learning machine built of springs measures and adjusts each spring on its own. Real ones do
both imprecisely; this is the model of it (all of it off by default):

- measurement: a spring reads its extension e with an error of standard deviation
  `measure_noise` (length units), independent at each reading. A measurement of one phase
  averages `readings` readings: at a temperature above 0, one per thermal snapshot of the state
  (`Equilibrium.samples`); at zero temperature, repeated readings of the settled state. From
  them the spring knows the two things the rule uses, the means of dE/dk = e^2 / 2 and of
  dE/dL = -k e. (The mean of e^2 / 2, not the square of the mean e: at a finite temperature
  that is the derivative of the free energy, and EP then descends the thermal average of the
  cost.)
- update: the change the rule computed is made with a relative error of standard deviation
  `update_noise` (each spring, each update, k and L apart); with `k_levels`, the stiffness can
  only take that many values, spaced logarithmically from k_min to k_max, and each update lands
  on one of them: the nearest (in log k), or with `rounding: stochastic` one of the two around
  it, chosen with the probabilities that keep the expected k where the rule put it.
- fabrication: the network is built with every k and L off by a relative spread
  `fabrication` around the scene's values (a log-normal factor, so they stay positive); with
  `k_levels` the built stiffnesses are put on the grid too.

At zero temperature with none of these, the rule sees exactly the extensions of the states and
every change is made exactly: the code paths are those of a perfect machine (bit for bit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..physics import energy as en
from ..physics.network import Network

ROUNDINGS = ("nearest", "stochastic")
HARDWARE_STREAM = 2  # np.random.default_rng([seed, HARDWARE_STREAM]): kept apart from shuffling
FABRICATION_STREAM = 3


@dataclass
class Hardware:
    """The imperfections of a learning machine (see the module). rng: its random stream."""

    measure_noise: float = 0.0
    update_noise: float = 0.0
    k_levels: int | None = None
    rounding: str = "nearest"
    readings: int = 1
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng([0, HARDWARE_STREAM]))

    @classmethod
    def from_scene(cls, spec, seed: int = 0) -> Hardware | None:
        """The hardware of a scene spec (its `hardware` and `physics.samples`), None when it is
        perfect (nothing noisy, no levels): then the trainer takes the exact paths."""
        h = spec.hardware
        if not (h.measure_noise or h.update_noise or h.k_levels):
            return None
        return cls(h.measure_noise, h.update_noise, h.k_levels, h.rounding, spec.physics.samples,
                   np.random.default_rng([int(seed) % 2**63, HARDWARE_STREAM]))

    # ------------------------------------------------------------ measuring

    def read(self, net: Network, x: np.ndarray, samples: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(E,) means of dE/dk and dE/dL over this phase's readings: one per snapshot of
        `samples` (S, N, 2), or `readings` of the state x (N, 2) when there are none."""
        if samples is None and not self.measure_noise:
            return en.parameter_gradients(net, x)
        e = _extensions(net, x, samples)
        if samples is None and self.readings > 1:
            e = np.repeat(e, self.readings, axis=0)
        if self.measure_noise:
            e = e + self.measure_noise * self.rng.standard_normal(e.shape)
        return 0.5 * (e * e).mean(axis=0), -net.k * e.mean(axis=0)

    # ------------------------------------------------------------ updating

    def realize(self, net: Network, before: tuple[np.ndarray, np.ndarray], rule) -> tuple[np.ndarray, np.ndarray]:
        """Make the update the rule just wrote into net (from `before` = (k, L), (E,) each) as
        this hardware does: each change off by update_noise, k on its levels, within the rule's
        bounds. Writes net.k, net.L; returns the changes made (dk, dL)."""
        k_old, L_old = before
        k, L = net.k, net.L
        if self.update_noise:
            off = 1.0 + self.update_noise * self.rng.standard_normal((2, len(k)))
            k = np.clip(k_old + (k - k_old) * off[0], rule.k_min, rule.k_max)
            L = np.maximum(L_old + (L - L_old) * off[1], rule.L_min)
        if self.k_levels:
            k = to_levels(k, k_grid(rule.k_min, rule.k_max, self.k_levels), self.rounding == "stochastic", self.rng)
        net.k, net.L = k, L
        return net.k - k_old, net.L - L_old


def measure(net: Network, x: np.ndarray, samples: np.ndarray | None = None,
            hardware: Hardware | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(E,) dE/dk and dE/dL as a spring measures them in one phase: in the state x (N, 2), or
    averaged over its thermal snapshots `samples` (S, N, 2), through the hardware if any."""
    if hardware is not None:
        return hardware.read(net, x, samples)
    if samples is None:
        return en.parameter_gradients(net, x)
    e = _extensions(net, x, samples)
    return 0.5 * (e * e).mean(axis=0), -net.k * e.mean(axis=0)


def _extensions(net: Network, x: np.ndarray, samples: np.ndarray | None) -> np.ndarray:
    """(S, E) extensions at each snapshot, or (1, E) at x."""
    states = x[None] if samples is None else samples
    d = states[:, net.edges[:, 1]] - states[:, net.edges[:, 0]]
    return np.sqrt((d * d).sum(axis=-1)) - net.L


# ---------------------------------------------------------------- stiffness levels


def k_grid(k_min: float, k_max: float, levels: int) -> np.ndarray:
    """(levels,) stiffness values from k_min to k_max, spaced logarithmically."""
    return np.geomspace(k_min, k_max, levels)


def to_levels(k: np.ndarray, grid: np.ndarray, stochastic: bool = False,
              rng: np.random.Generator | None = None) -> np.ndarray:
    """k (E,) moved onto the grid: the nearest level in log k, or (stochastic) the level below
    or above with the probabilities that keep the mean at k. Every value returned is a grid
    value itself."""
    k = np.clip(k, grid[0], grid[-1])
    hi = np.clip(np.searchsorted(grid, k), 1, len(grid) - 1)  # grid[hi - 1] <= k <= grid[hi]
    lo_k, hi_k = grid[hi - 1], grid[hi]
    if stochastic:
        up = rng.random(k.shape) < (k - lo_k) / (hi_k - lo_k)
    else:
        up = np.log(k) - np.log(lo_k) > np.log(hi_k) - np.log(k)
    return np.where(up, hi_k, lo_k)


# ---------------------------------------------------------------- building


def fabricate(net: Network, spread: float, grid: np.ndarray | None, seed: int) -> None:
    """Build the network as imperfect hardware would, in place: every k and L times
    exp(spread xi), xi standard normal (a relative spread `spread`), then k onto `grid` (the
    nearest level) if given."""
    if spread:
        rng = np.random.default_rng([int(seed) % 2**63, FABRICATION_STREAM])
        net.k = net.k * np.exp(spread * rng.standard_normal(net.n_springs))
        net.L = net.L * np.exp(spread * rng.standard_normal(net.n_springs))
    if grid is not None:
        net.k = to_levels(net.k, grid)
