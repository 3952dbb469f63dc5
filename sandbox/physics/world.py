"""The live physical world: the network as pymunk bodies and springs in a viscous medium.

Every node is a body; every spring a pymunk DampedSpring whose stiffness and rest length are the
live parameters (learning writes into them). Held nodes are kinematic bodies at their anchor or
clamp positions; a node on a rail slides in a groove.

Overdamped motion without a Python callback per body: pymunk applies spring forces as velocity
kicks F h / m (h: pymunk's step, 1 here), then multiplies the velocity by the fraction d it keeps
per step. With d small each step's velocity is almost only this step's kick, and x advances by
about F d / (m (1 - d)). Choosing the mass m = gamma d / ((1 - d) dt) makes that F dt / gamma:
the overdamped law gamma dx/dt = F with a physical time step dt, kept below the stiffest mode's
limit so the motion slides downhill without overshoot (tests/test_world.py checks both).
pymunk's own step stays 1 because it raises the damping to the power 1/step, which underflows
to 0 (and switches the springs off) for small steps.

At a temperature kT > 0 every free coordinate also feels a random force: overdamped Langevin
dynamics, with the noise of `thermal.LangevinNoise` (exactly kT / 2 of energy per harmonic mode
at this world's step and memory). Settling (`settle`) stays noise-free: it finds the
equilibrium; `sample` then takes thermal snapshots around it.
"""

from __future__ import annotations

import math
from collections import deque
from contextlib import contextmanager

import numpy as np
import pymunk

from ..physics.costs import DistanceCost, PositionCost
from ..physics.equilibrium import Equilibrium
from ..physics.network import Network
from . import energy as en
from .thermal import LangevinNoise, thermal_rng

MEMORY = 0.05  # fraction of velocity kept from one step to the next: small = overdamped
# dt * (stiffest mode) / drag. With MEMORY's bit of momentum a mode creeps without overshoot up
# to (1 - sqrt(MEMORY))^2 = 0.60; 0.45 leaves room for springs stiffening as they turn.
STEP_SAFETY = 0.45
SLOWEST_STEPS = 100_000  # cap on the steps between two thermal snapshots (a nearly floppy network)
THERMAL_BURN = 3  # relaxation times of thermal motion before the first snapshot


class World:
    """A pymunk space built from a network.

    drag: gamma, force per unit speed of every node. `dt` follows from the stiffest node so the
    motion cannot overshoot; `time_scale` = gamma / k_typical is how long relaxing takes.
    temperature: kT of the random forces in `step` (0: none); rng: their random stream.
    """

    def __init__(self, net: Network, x: np.ndarray | None = None, drag: float = 1.0,
                 temperature: float = 0.0, rng: np.random.Generator | None = None):
        self.net = net
        self.drag = drag
        self.temperature = temperature
        self._noise = LangevinNoise(rng if rng is not None else thermal_rng(0))
        self.space = pymunk.Space()
        self.space.gravity = (0, 0)
        self.space.iterations = 1
        self.bodies: list[pymunk.Body] = []
        self.springs: list[pymunk.DampedSpring | None] = []
        self.nudge = np.zeros((net.n_nodes, 2))  # external force on each node (N, 2)
        self.mouse = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
        self._grab: pymunk.PivotJoint | None = None
        self.grabbed: int | None = None
        self._build(net.pos if x is None else x)

    # ------------------------------------------------------------ building

    def _build(self, x: np.ndarray):
        net = self.net
        for i in range(net.n_nodes):
            if net.held[i]:
                b = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
            else:
                b = pymunk.Body(1.0, float("inf"))
            b.position = tuple(x[i])
            self.bodies.append(b)
            self.space.add(b)
        for i in range(net.n_nodes):
            if not net.held[i] and not net.axes[i].all():
                p = x[i]
                d = (1e6, 0) if net.axes[i, 0] else (0, 1e6)
                g = pymunk.GrooveJoint(self.space.static_body, self.bodies[i],
                                       (p[0] - d[0], p[1] - d[1]), (p[0] + d[0], p[1] + d[1]), (0, 0))
                self.space.add(g)
        for (a, b), k, L in zip(net.edges, net.k, net.L):
            if net.held[a] and net.held[b]:
                self.springs.append(None)  # pymunk refuses a constraint between two held bodies
                continue
            s = pymunk.DampedSpring(self.bodies[a], self.bodies[b], (0, 0), (0, 0), float(L), float(k), 0.0)
            self.springs.append(s)
            self.space.add(s)
        self.space.add(self.mouse)
        self._free = np.flatnonzero(~net.held)  # (M,) the dynamic bodies, and their free axes (M, 2)
        self._free_axes = net.axes[self._free].astype(float)
        self.sync_parameters()

    def sync_parameters(self):
        """Write the network's k and L into the springs and re-derive the time step and masses."""
        net = self.net
        for s, k, L in zip(self.springs, net.k, net.L):
            if s is not None:
                s.stiffness = float(k)
                s.rest_length = float(L)
        self.dt = STEP_SAFETY * self.drag / self._stiffest_mode()  # physical time of one step
        self.space.damping = MEMORY
        mass = self.drag * MEMORY / ((1 - MEMORY) * self.dt)
        for b in self.bodies:
            if b.body_type == pymunk.Body.DYNAMIC:
                b.mass = mass
        self.time_scale = self.drag / max(float(np.median(net.k)) if net.n_springs else 1.0, 1e-12)

    def _stiffest_mode(self) -> float:
        """The largest stiffness of a motion of the free nodes where they are now: the top
        eigenvalue of the (positive part of the) Hessian, 5% up for the way it changes as the
        network moves, and never above the Gershgorin bound (which always holds)."""
        net = self.net
        load = np.zeros(net.n_nodes)
        np.add.at(load, net.edges[:, 0], net.k)
        np.add.at(load, net.edges[:, 1], net.k)
        bound = 2.0 * max(float(load.max(initial=0.0)), 1e-12)
        top = _hessian_eigenvalue(net, self.positions(), top=True)
        if top is None:  # the bound is always safe
            return bound
        return float(np.clip(1.05 * top, 1e-12, bound))

    def relaxation_steps(self) -> int:
        """Steps in the relaxation time gamma / lambda_min of the slowest motion of the free
        nodes where they are now (lambda_min: the smallest eigenvalue of the positive part of
        the Hessian), from 1 to SLOWEST_STEPS."""
        low = _hessian_eigenvalue(self.net, self.positions(), top=False)
        if low is None:
            return 1
        return int(min(max(1.0, math.ceil(self.drag / max(low, 1e-300) / self.dt)), SLOWEST_STEPS))

    def cut(self, e: int):
        """Remove spring e from the world (the network's arrays are changed by the caller)."""
        s = self.springs.pop(e)
        if s is not None:
            self.space.remove(s)

    # ------------------------------------------------------------ state

    def positions(self) -> np.ndarray:
        """(N, 2) current positions."""
        return np.array([tuple(b.position) for b in self.bodies])

    def set_positions(self, x: np.ndarray):
        """Place every body (held ones too) at x (N, 2), at rest."""
        for b, p in zip(self.bodies, x):
            b.position = (float(p[0]), float(p[1]))
            b.velocity = (0.0, 0.0)
        self.space.reindex_static()

    def hold(self, i: int, p):
        """Move held node i (a fixed node or a clamped input) to p."""
        b = self.bodies[i]
        b.position = (float(p[0]), float(p[1]))
        b.velocity = (0.0, 0.0)

    # ------------------------------------------------------------ motion

    def step(self, n: int = 1, extra: np.ndarray | None = None):
        """Advance n time steps of length dt, with the external forces `nudge` (+ `extra`),
        (N, 2), reapplied each step, and the random forces of the temperature."""
        f = self.nudge if extra is None else self.nudge + extra
        noise = self._thermal_forces(n)
        if noise is not None:
            bodies = [self.bodies[i] for i in self._free]
            base = f[self._free]
            for t in range(n):
                for b, force in zip(bodies, ((base + noise[t]) * MEMORY).tolist()):
                    b.force = force
                self.space.step(1.0)
            return
        pushed = np.flatnonzero(np.abs(f).sum(axis=1))
        # pymunk damps the springs' kicks by MEMORY but not body.force: scale it the same way
        f = f * MEMORY
        for _ in range(n):
            for i in pushed:
                self.bodies[i].force = (float(f[i, 0]), float(f[i, 1]))
            self.space.step(1.0)

    def _thermal_forces(self, n: int) -> np.ndarray | None:
        """(n, M, 2) random forces on the M free bodies for the next n steps (None at zero
        temperature): `thermal.LangevinNoise`."""
        if self.temperature <= 0 or not len(self._free):
            return None
        return self._noise.forces(n, self._free_axes, self.drag, self.temperature, self.dt)

    def settle(self, tol: float = 1e-9, max_steps: int = 200_000, check_every: int = 50,
               cost=None, beta: float = 0.0, snapshots: list | None = None) -> tuple[bool, int]:
        """Step, without thermal noise, until the force residual is below tol, or max_steps (so
        a phase never hangs).

        With a cost, the outputs feel the nudge -beta dC/dx: as weak pymunk springs where the
        cost is one (see _nudge_springs), else as forces recomputed every step from where the
        outputs are. Positions at every check are appended to `snapshots` if given.
        Returns (settled, steps).
        """
        steps = 0
        kT, self.temperature = self.temperature, 0.0
        try:
            with self._nudging(cost, beta) as advance:
                while True:
                    x = self.positions()
                    if snapshots is not None:
                        snapshots.append(x.copy())
                    if self.residual(x, cost, beta) < tol:
                        return True, steps
                    if steps >= max_steps:
                        return False, steps
                    n = min(check_every, max_steps - steps)
                    advance(n, x)
                    steps += n
        finally:
            self.temperature = kT

    def sample(self, count: int, spacing: int, burn: int = 0, cost=None, beta: float = 0.0,
               check_every: int = 50) -> np.ndarray:
        """(count, N, 2) snapshots under the thermal noise (and the nudge of `cost`, as in
        settle): `burn` steps first, then one snapshot every `spacing` steps."""
        out = []
        with self._nudging(cost, beta) as advance:
            for n in [burn] + [spacing] * count:
                while n > 0:  # in short runs: a nudge spring's anchor follows its output
                    advance(min(n, check_every), self.positions())
                    n -= check_every
                out.append(self.positions())
        return np.array(out[1:]).reshape(count, -1, 2)

    @contextmanager
    def _nudging(self, cost, beta: float):
        """Within it, advance(n, x) takes n steps under the nudge of `cost` (none if None) from
        the current state x (N, 2) (used as scratch space)."""
        nudge = self._nudge_springs(cost, beta) if cost is not None else None
        if nudge:
            self.space.add(*nudge[0])

        def advance(n: int, x: np.ndarray) -> None:
            if cost is None:
                self.step(n)
            elif nudge:
                nudge[1](x)  # anchors to where the outputs are now
                self.step(n)
            else:
                self._step_following(n, x, cost, beta)

        try:
            yield advance
        finally:
            if nudge:
                self.space.remove(*nudge[0])

    def _step_following(self, n: int, x: np.ndarray, cost, beta: float) -> None:
        """n steps with the nudge -beta dC/dx recomputed each step from where the cost's nodes
        are (x (N, 2) is scratch space); only their bodies are read and pushed."""
        nodes = np.union1d(cost.nodes, np.flatnonzero(np.abs(self.nudge).sum(axis=1)))
        bodies = [self.bodies[i] for i in nodes]
        noise = self._thermal_forces(n)
        if noise is not None:  # with the random forces, every free body is pushed too
            pushed = np.union1d(nodes, self._free)
            pushed_bodies = [self.bodies[i] for i in pushed]
            at_nodes, at_free = np.searchsorted(pushed, nodes), np.searchsorted(pushed, self._free)
            total = np.zeros((len(pushed), 2))
        for t in range(n):
            x[nodes] = [tuple(b.position) for b in bodies]
            f = (self.nudge[nodes] - beta * cost.gradient(x)[nodes]) * MEMORY  # damped like the springs' kicks
            if noise is None:
                for b, force in zip(bodies, f.tolist()):
                    b.force = force
            else:
                total[:] = 0.0
                total[at_nodes] = f
                total[at_free] += noise[t] * MEMORY
                for b, force in zip(pushed_bodies, total.tolist()):
                    b.force = force
            self.space.step(1.0)

    def _nudge_springs(self, cost, beta: float):
        """The nudge of a cost as pymunk springs of stiffness beta, where it is one: a distance
        cost is a spring between each pair at its target distance; a position cost a zero-length
        spring from each output to an anchor at its target on the counted axes and level with
        the output on the others (moved to follow it at every check, so only the counted axes
        are pulled once it settles). Returns (things to add to the space, follow(x)) or None."""
        if isinstance(cost, DistanceCost):
            return [pymunk.DampedSpring(self.bodies[a], self.bodies[b], (0, 0), (0, 0), float(d), beta, 0.0)
                    for (a, b), d in zip(cost.pairs, cost.targets)], lambda x: None
        if isinstance(cost, PositionCost):
            anchors = [pymunk.Body(body_type=pymunk.Body.KINEMATIC) for _ in cost.nodes]
            springs = [pymunk.DampedSpring(a, self.bodies[o], (0, 0), (0, 0), 0.0, beta, 0.0)
                       for a, o in zip(anchors, cost.nodes)]

            def follow(x):
                for a, p in zip(anchors, np.where(cost.mask, cost.targets, x[cost.nodes]).tolist()):
                    a.position = p

            follow(self.positions())
            return anchors + springs, follow
        return None

    def residual(self, x: np.ndarray | None = None, cost=None, beta: float = 0.0) -> float:
        """Largest |force| on a free coordinate from the springs, the nudge array, and a cost's
        nudge -beta dC/dx if given, at x or the current state."""
        x = self.positions() if x is None else x
        f = -en.gradient(self.net, x) + self.nudge
        if cost is not None:
            f -= beta * cost.gradient(x)
        return float(np.abs(f.reshape(-1)[self.net.free_dofs]).max(initial=0.0))

    # ------------------------------------------------------------ the mouse

    def grab(self, i: int, p, max_force: float | None = None):
        """Hold node i with the mouse at p (a pivot joint of capped force)."""
        self.release()
        self.mouse.position = (float(p[0]), float(p[1]))
        j = pymunk.PivotJoint(self.mouse, self.bodies[i], (0, 0), (0, 0))
        j.max_force = max_force if max_force is not None else 50.0 * float(np.median(self.net.k))
        j.error_bias = 0.0001
        self.space.add(j)
        self._grab, self.grabbed = j, i

    def drag_to(self, p):
        self.mouse.position = (float(p[0]), float(p[1]))

    def release(self):
        if self._grab is not None:
            self.space.remove(self._grab)
        self._grab, self.grabbed = None, None


def _hessian_eigenvalue(net: Network, x: np.ndarray, top: bool) -> float | None:
    """The largest (top) or smallest eigenvalue of the positive part of the Hessian over the free
    coordinates at x (N, 2); None when nothing moves; 0 when it cannot be found (singular)."""
    free = net.free_dofs
    if not free.any() or not net.n_springs:
        return None
    h = en.hessian(net, x, free, psd=True)
    try:
        if h.shape[0] <= 400:
            vals = np.linalg.eigvalsh(h.toarray())
            return float(vals[-1] if top else vals[0])
        from scipy.sparse.linalg import eigsh

        if top:
            return float(eigsh(h, k=1, which="LA", tol=1e-3, return_eigenvectors=False)[0])
        return float(eigsh(h.tocsc(), k=1, sigma=0, which="LM", return_eigenvectors=False)[0])
    except Exception:  # noqa: BLE001 - the callers have a safe fallback
        return None if top else 0.0


class WorldEngine:
    """Equilibria from the physical world, with the interface of NewtonSolver.relax: physical
    learning reads every spring's extension from where pymunk's bodies came to rest.

    At the physics' temperature kT > 0 each equilibrium also carries `samples` snapshots of the
    world under its Langevin noise, taken after the noise-free settle: THERMAL_BURN relaxation
    times of the slowest mode (gamma / lambda_min) to thermalize, then one snapshot every
    relaxation time (successive snapshots of the slowest mode are correlated by 1/e, of faster
    modes less). This is the measurement time of a physical learner."""

    def __init__(self, physics=None, tol: float = 1e-9, max_steps: int = 400_000, record: int = 0,
                 seed: int = 0):
        """record > 0 keeps up to that many snapshots of each relaxation in `trajectory`
        (a list of (N, 2) arrays), so the window can replay the world's own motion. seed: the
        random stream of the thermal noise."""
        self.drag = getattr(physics, "drag", 1.0)
        self.temperature = getattr(physics, "temperature", 0.0)
        self.samples = getattr(physics, "samples", 1)
        self.rng = thermal_rng(seed)
        self.tol = tol
        self.max_steps = max_steps
        self.record = record
        self.trajectory: list = []  # the last relaxation's snapshots
        self.trajectories: deque = deque(maxlen=4)  # the last few (a centered EP step makes three)
        self.world: World | None = None
        self.steps = 0

    def relax(self, net: Network, x_start: np.ndarray, cost=None, beta: float = 0.0,
              free=None, strict: bool = False) -> Equilibrium:
        if free is not None:  # only coupled learning asks to hold more than the network holds
            raise NotImplementedError("coupled learning clamps outputs: use the exact engine for it")
        if self.world is None or self.world.net is not net or len(self.world.springs) != net.n_springs:
            self.world = World(net, x_start, self.drag, rng=self.rng)
        w = self.world
        w.set_positions(x_start)
        w.sync_parameters()
        w.nudge[:] = 0
        self.trajectory = [w.positions()] if self.record else []
        ok, steps = w.settle(self.tol, self.max_steps, cost=cost, beta=beta,
                             snapshots=self.trajectory if self.record else None)
        if self.record and len(self.trajectory) > self.record:
            # motion is fast at first and slow near the end: sample geometrically in time
            pick = np.unique(np.geomspace(1, len(self.trajectory), self.record).round().astype(int) - 1)
            self.trajectory = [self.trajectory[i] for i in pick]
        if self.record:
            self.trajectories.append(self.trajectory)
        x = w.positions()
        samples = None
        w.temperature = self.temperature  # (it may have changed since the last phase)
        if self.temperature > 0:
            tau = w.relaxation_steps()
            samples = w.sample(self.samples, tau, THERMAL_BURN * tau, cost, beta)
            steps += (THERMAL_BURN + self.samples) * tau
        self.steps += steps
        e = en.energy(net, x) + (beta * cost.value(x) if cost is not None else 0.0)
        return Equilibrium(x, w.residual(x, cost, beta), e, steps, 0, ok, samples=samples)
