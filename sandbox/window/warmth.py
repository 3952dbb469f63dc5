"""The temperature in the window: kT set by the slider or the keys, the masses drawn jiggling
at it, and the caption's words on what a spring's measurement averages.

kT lives in the scene's physics (so a reset, an engine switch or fast mode keep it) and in the
engine training now (both engines read their `temperature` at every phase). The jiggle is drawn,
not simulated: a ThermalMotion of the network around the state shown (physics/thermal.py: at
every moment a draw of Normal(0, kT H^-1), the harmonic approximation), made beside the running
job whenever the network or the example shown changes. A thermal jiggle is far too small to see
(3e-4 of a length at kT = 1e-7 in lesson 4), so it is drawn magnified as the nudge is (the two
can be compared by eye), kept between JIGGLE_MIN and JIGGLE_MAX of the network's size; the
caption says by how much.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..physics.equilibrium import FloppyNetworkError
from ..physics.thermal import thermal_motion

KT_MAX = 1e-3  # the slider's and the keys' top: far beyond where the library's networks learn
KT_MIN = 1e-9  # the smallest kT above 0 the keys step to (] from 0)
KT_SLIDER = (math.log10(KT_MIN) - 0.5, math.log10(KT_MAX))  # its log10 kT; the first half decade is 0
JIGGLE_MIN, JIGGLE_MAX = 0.008, 0.03  # the drawn jiggle's rms, as a fraction of the network's size


class Warmth:
    """motion: (key, ThermalMotion) of the state shown, or None; nudge_magnify: how much the
    last nudged stage's motion was magnified (None before one was shown)."""

    def __init__(self, session):
        self.session = session
        self.motion = None
        self.nudge_magnify: float | None = None
        self._asked = None
        self._t0 = time.perf_counter()

    def forget(self) -> None:
        """Another scene (or another network): nothing of the old one's motion is drawn."""
        self.motion, self.nudge_magnify, self._asked = None, None, None

    @property
    def kT(self) -> float:
        """The temperature the network trains at now."""
        return float(getattr(self.session.trainer.engine, "temperature", 0.0))

    @property
    def samples(self) -> int:
        return int(getattr(self.session.trainer.engine, "samples", 1))

    def set(self, kT: float) -> None:
        """Train at temperature kT from the next phase on (0 <= kT <= KT_MAX)."""
        s = self.session
        kT = float(min(max(kT, 0.0), KT_MAX))
        if kT == self.kT:
            return
        s.command()
        s.scene.override("physics", temperature=kT)
        s.trainer.engine.temperature = kT
        size = self.spring_jiggle()
        s.say(f"temperature kT = {kT:.3g}: " + (
            "cold, every measurement exact" if kT == 0 else
            f"the springs' lengths jiggle{f' by about {size:.1g}' if math.isfinite(size) else ''}, and each spring "
            "measures its extension through the jiggle"))

    def step(self, up: bool) -> None:
        """] and [: kT ten times larger or smaller (0 below KT_MIN, KT_MIN above 0)."""
        kT = self.kT
        if up:
            self.set(KT_MIN if kT <= 0 else kT * 10)
        else:
            self.set(0.0 if kT <= KT_MIN * 1.0001 else kT / 10)

    def jiggle_size(self) -> float:
        """The thermal jiggle's typical size (rms of a free node's displacement) at kT now, as far
        as it is known (nan before its motion is made)."""
        return math.sqrt(self.kT) * self.motion[1].rms if self.motion is not None else float("nan")

    def spring_jiggle(self) -> float:
        """How much a spring's length jiggles at kT now: the median over the springs of the rms
        change of its length over the motion's draws (nan before its motion is made)."""
        net = self.session.net
        if self.motion is None or not net.n_springs or self.motion[1].unit.shape[1] != net.n_nodes:
            return float("nan")
        d, x = self.motion[1].unit, self.session.net.pos
        i, j = net.edges[:, 0], net.edges[:, 1]
        u = (x[j] - x[i]) / np.maximum(np.linalg.norm(x[j] - x[i], axis=1), 1e-300)[:, None]
        change = ((d[:, j] - d[:, i]) * u).sum(axis=-1)  # (2m, E) at kT = 1
        return math.sqrt(self.kT) * float(np.median(np.sqrt((change ** 2).mean(axis=0))))

    # ------------------------------------------------------------ each frame

    def _key(self):
        s = self.session
        st = s.stage
        return (s.generation, s.version, s.trainer.steps, s.example, id(st))

    def tick(self) -> None:
        """At kT > 0, ask for the motion of the state shown when it changed (beside the running
        job, never cancelling another side job); remember the nudge's magnification."""
        s = self.session
        if s.stage is not None and s.stage.name == "nudged":
            self.nudge_magnify = s.magnify
        if self.kT <= 0 or s.editing:
            return
        key = self._key()
        if (self.motion is not None and self.motion[0] == key) or self._asked == key or s.jobs.side is not None:
            return
        st = s.stage
        x = st.x_free if st is not None and st.x_free is not None else st.x if st is not None else s.x
        if x is None or x.shape != s.net.pos.shape or not np.isfinite(x).all():
            return
        net, x = s.net.copy(), x.copy()
        rng = np.random.default_rng([s.trainer.seed, s.trainer.steps, 7])

        def compute():
            try:
                return thermal_motion(net, x, rng)
            except FloppyNetworkError:
                return None

        def then(motion):
            self.motion = (key, motion) if motion is not None else None

        self._asked = key
        s.jobs.beside(compute, then, key=("thermal",) + key)

    def magnification(self) -> float:
        """How much the jiggle is drawn magnified now: as the last nudge was (the two can be
        compared by eye), within what makes its rms JIGGLE_MIN to JIGGLE_MAX of the network's
        size (always seen, never wild)."""
        size = float(np.ptp(self.session.net.pos, axis=0).max()) if self.session.net.n_nodes else 1.0
        per = size / max(self.jiggle_size(), 1e-300)
        return float(max(1.0, min(max(self.nudge_magnify or 0.0, JIGGLE_MIN * per), JIGGLE_MAX * per, 1e7)))

    def offset(self) -> np.ndarray | None:
        """(N, 2) the jiggle to add to the positions drawn now, or None (cold, no motion yet,
        a node held or the network edited)."""
        s = self.session
        if self.kT <= 0 or self.motion is None or s.editing or s.hands.dragging is not None:
            return None
        d = self.motion[1].at(time.perf_counter() - self._t0, self.kT)
        return self.magnification() * d if d.shape == s.x.shape else None

    def caption(self) -> str:
        """What a caption adds at kT > 0: what a spring's measurement averages, and how much
        the jiggle is drawn magnified ('' when cold)."""
        kT = self.kT
        if kT <= 0:
            return ""
        n = self.samples
        of = "the pymunk world's Langevin motion" if self.session.engine_name == "physical" else "Normal(x, kT/H)"
        shown = f", jiggle drawn {self.magnification():,.0f}x" if self.motion is not None else ""
        return (f"kT {kT:.3g}: each spring averages its extension over {n} thermal snapshot{'s' if n != 1 else ''} "
                f"({of}{shown})")
