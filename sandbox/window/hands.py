"""Hands on the network: a node dragged in the live pymunk world, a spring selected and
inspected, and the EP-vs-exact agreement of every spring (computed beside the running job).

A drag happens in the pymunk world under the mouse, built off the window's thread; while a node
is held (and while the network settles after it is let go) the world moves a frame's worth at
a time, within DRAG_BUDGET_S of the frame.
"""

from __future__ import annotations

import time

import numpy as np

from ..physics.world import World
from .diagnostics import agreement, spring_info

DRAG_BUDGET_S = 0.008  # main-thread time a frame may spend stepping the live world under the mouse


class Hands:
    """world: the live world while a node is dragged or settles (None otherwise); dragging: the
    node held; selected: the spring inspected (None: none) and info, what is known of it
    (None until computed); agreement_values: (key, (E,) array) once computed."""

    def __init__(self, session):
        self.session = session
        self.forget()
        self.agreement_values = None

    def forget(self) -> None:
        """Let go of everything (the network changed, or another scene opened)."""
        self.world: World | None = None
        self.dragging: int | None = None
        self._drag_point = None
        self.selected: int | None = None
        self.info: dict | None = None

    # ------------------------------------------------------------ dragging

    def grab(self, i: int, p) -> None:
        """Take node i with the mouse at world point p: the live world follows the drag (it is
        built off this thread; the drag starts when it is ready)."""
        s = self.session
        s.command()
        s.training.paused = True
        s.still()
        self.dragging, self._drag_point = i, np.asarray(p, float)

        def start():
            net, x, drag = s.net, s.x.copy(), s.scene.spec.physics.drag
            if i >= net.n_nodes or s.editing:
                self.dragging = None
                return

            def then(world: World):
                if s.net is not net or s.editing:
                    return
                if self.dragging != i:  # let go before the world was ready: it settles from the press
                    world.release()
                elif s.net.held[i]:
                    world.hold(i, self._drag_point)
                else:  # (a capped pull, finite even when no spring is left)
                    world.grab(i, self._drag_point, max_force=50.0 * s.k_ref)
                self.world = world
            s.jobs.submit("grab", "taking hold of the network", lambda: World(net, x, drag), then)
        s.jobs.after(start, cancel=("stage",), bound=True)

    def drag_to(self, p) -> None:
        if self.dragging is None:
            return
        self._drag_point = np.asarray(p, float)
        if self.world is None:
            return
        if self.session.net.held[self.dragging]:
            self.world.hold(self.dragging, p)  # a clamped input moves to a new clamp position
        else:
            self.world.drag_to(p)

    def release(self) -> None:
        """Let go: the network relaxes (to the input's new clamp position, if it was an input)."""
        if self.world is not None:
            self.world.release()
        self.dragging = None

    def step_world(self) -> None:
        """Move the live world a frame's worth; it is dropped once settled and let go."""
        s = self.session
        t0 = time.perf_counter()
        n = max(1, min(20, 1000 // max(1, s.net.n_nodes)))
        while time.perf_counter() - t0 < DRAG_BUDGET_S:
            self.world.step(n)
        s.x = self.world.positions()
        if self.dragging is None and self.world.residual(s.x) < 1e-7:
            self.world = None

    # ------------------------------------------------------------ inspecting

    def _snapshot(self):
        s = self.session
        return s.net.copy(), s.trainer.task, s.example, s.rule

    def select(self, e: int | None) -> None:
        """Select spring e (None: none) and compute what the panel says about it."""
        s = self.session
        s.command()
        self.selected, self.info = e, None
        if e is None or s.editing:
            return
        snapshot = self._snapshot()

        def then(info):
            if self.selected == e and info is not None:
                self.info = info
        s.jobs.beside(lambda: spring_info(*snapshot, e), then)

    def want_agreement(self) -> None:
        """Have EP vs exact computed for the state shown now (once per state)."""
        s = self.session
        key = (s.trainer.steps, s.rule.beta, s.rule.kind, s.version, s.example)
        if self.agreement_values is not None and self.agreement_values[0] == key:
            return
        if s.jobs.side is not None and s.jobs.side.key == key:
            return
        snapshot = self._snapshot()

        def then(values):
            self.agreement_values = (key, values)
        s.jobs.beside(lambda: agreement(*snapshot), then, key)

    def spring_info(self, e: int) -> dict | None:
        """What the window says about spring e, computed now (blocking; the window uses select)."""
        return spring_info(*self._snapshot(), e)

    def agreement(self) -> np.ndarray | None:
        """EP vs exact for the shown example, computed now (blocking; the window uses want_agreement)."""
        return agreement(*self._snapshot())
