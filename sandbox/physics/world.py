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
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pymunk

from ..physics.costs import DistanceCost, PositionCost
from ..physics.equilibrium import Equilibrium
from ..physics.network import Network
from . import energy as en

MEMORY = 0.05  # fraction of velocity kept from one step to the next: small = overdamped
# dt * (stiffest mode) / drag. With MEMORY's bit of momentum a mode creeps without overshoot up
# to (1 - sqrt(MEMORY))^2 = 0.60; 0.45 leaves room for springs stiffening as they turn.
STEP_SAFETY = 0.45


class World:
    """A pymunk space built from a network.

    drag: gamma, force per unit speed of every node. `dt` follows from the stiffest node so the
    motion cannot overshoot; `time_scale` = gamma / k_typical is how long relaxing takes.
    """

    def __init__(self, net: Network, x: np.ndarray | None = None, drag: float = 1.0):
        self.net = net
        self.drag = drag
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
        self.time_scale = self.drag / max(float(np.median(net.k)), 1e-12)

    def _stiffest_mode(self) -> float:
        """The largest stiffness of a motion of the free nodes where they are now: the top
        eigenvalue of the (positive part of the) Hessian, 5% up for the way it changes as the
        network moves, and never above the Gershgorin bound (which always holds)."""
        net = self.net
        load = np.zeros(net.n_nodes)
        np.add.at(load, net.edges[:, 0], net.k)
        np.add.at(load, net.edges[:, 1], net.k)
        bound = 2.0 * max(float(load.max(initial=0.0)), 1e-12)
        free = net.free_dofs
        if not free.any() or not net.n_springs:
            return bound
        h = en.hessian(net, self.positions(), free, psd=True)
        try:
            if h.shape[0] <= 400:
                top = float(np.linalg.eigvalsh(h.toarray())[-1])
            else:
                from scipy.sparse.linalg import eigsh

                top = float(eigsh(h, k=1, which="LA", tol=1e-3, return_eigenvectors=False)[0])
        except Exception:  # noqa: BLE001 - the bound is always safe
            return bound
        return float(np.clip(1.05 * top, 1e-12, bound))

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
        (N, 2), reapplied each step."""
        f = self.nudge if extra is None else self.nudge + extra
        pushed = np.flatnonzero(np.abs(f).sum(axis=1))
        # pymunk damps the springs' kicks by MEMORY but not body.force: scale it the same way
        f = f * MEMORY
        for _ in range(n):
            for i in pushed:
                self.bodies[i].force = (float(f[i, 0]), float(f[i, 1]))
            self.space.step(1.0)

    def settle(self, tol: float = 1e-9, max_steps: int = 200_000, check_every: int = 50,
               cost=None, beta: float = 0.0, snapshots: list | None = None) -> tuple[bool, int]:
        """Step until the force residual is below tol, or max_steps (so a phase never hangs).

        With a cost, the outputs feel the nudge -beta dC/dx: as weak pymunk springs where the
        cost is one (see _nudge_springs), else as forces recomputed every step from where the
        outputs are. Positions at every check are appended to `snapshots` if given.
        Returns (settled, steps).
        """
        nudge = self._nudge_springs(cost, beta) if cost is not None else None
        if nudge:
            self.space.add(*nudge[0])
        steps = 0
        try:
            while True:
                x = self.positions()
                if snapshots is not None:
                    snapshots.append(x.copy())
                if self.residual(x, cost, beta) < tol:
                    return True, steps
                if steps >= max_steps:
                    return False, steps
                n = min(check_every, max_steps - steps)
                if cost is None:
                    self.step(n)
                elif nudge:
                    nudge[1](x)  # anchors to where the outputs are now
                    self.step(n)
                else:
                    self._step_following(n, x, cost, beta)
                steps += n
        finally:
            if nudge:
                self.space.remove(*nudge[0])

    def _step_following(self, n: int, x: np.ndarray, cost, beta: float) -> None:
        """n steps with the nudge -beta dC/dx recomputed each step from where the cost's nodes
        are (x (N, 2) is scratch space); only their bodies are read and pushed."""
        nodes = np.union1d(cost.nodes, np.flatnonzero(np.abs(self.nudge).sum(axis=1)))
        bodies = [self.bodies[i] for i in nodes]
        for _ in range(n):
            x[nodes] = [tuple(b.position) for b in bodies]
            f = (self.nudge[nodes] - beta * cost.gradient(x)[nodes]) * MEMORY  # damped like the springs' kicks
            for b, force in zip(bodies, f.tolist()):
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


class WorldEngine:
    """Equilibria from the physical world, with the interface of NewtonSolver.relax: physical
    learning reads every spring's extension from where pymunk's bodies came to rest."""

    def __init__(self, physics=None, tol: float = 1e-9, max_steps: int = 400_000, record: int = 0):
        """record > 0 keeps up to that many snapshots of each relaxation in `trajectory`
        (a list of (N, 2) arrays), so the window can replay the world's own motion."""
        self.drag = getattr(physics, "drag", 1.0)
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
            self.world = World(net, x_start, self.drag)
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
        self.steps += steps
        x = w.positions()
        e = en.energy(net, x) + (beta * cost.value(x) if cost is not None else 0.0)
        return Equilibrium(x, w.residual(x, cost, beta), e, steps, 0, ok)
