"""The two engines a window session trains on, stoppable by its jobs, and a scene made ready
to show (its engine chosen, evaluated, its first state relaxed) off the window's thread.

physical: the pymunk world (what a student touches; small, well-conditioned scenes);
exact: the Newton solver (every scene).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..learning.trainer import Trainer
from ..physics.equilibrium import FloppyNetworkError, NewtonSolver
from ..physics.world import World, WorldEngine
from ..scenes.build import Scene
from .background import checkpoint

ENGINES = ("physical", "exact")
QUICK_STEPS = 20_000  # pymunk steps a free phase may take for a scene to open on the physical engine


def settles_quickly(scene: Scene, steps: int = QUICK_STEPS) -> bool:
    """Whether the pymunk world settles the scene's first example within `steps` steps (a
    fraction of a second): small, well-conditioned networks do; slow ones open on exact.
    Takes up to a second: call it off the window's thread."""
    if scene.net.n_nodes > 60:
        return False
    engine = WorldEngine(scene.spec.physics, tol=1e-9, max_steps=steps)
    try:
        return engine.relax(scene.net, scene.task.start(scene.net, int(scene.task.train[0]))).converged
    except (FloppyNetworkError, NotImplementedError):
        return False


class _Checked:
    """Mixin for engines: a checkpoint before each relaxation (a cancelled job stops there)."""

    def relax(self, *args, **kwargs):
        checkpoint()
        return super().relax(*args, **kwargs)


class ExactEngine(_Checked, NewtonSolver):
    """The Newton solver, stoppable between relaxations (and between chunks of a batch)."""

    def checkpoint(self) -> None:
        checkpoint()


class _CheckedWorld(World):
    def residual(self, *args, **kwargs):  # settle() checks the residual every few dozen steps
        checkpoint()
        return super().residual(*args, **kwargs)


class PhysicalEngine(_Checked, WorldEngine):
    """The pymunk world as engine, stoppable within a relaxation (at every check of settle)."""

    def relax(self, net, x_start, *args, **kwargs):
        if self.world is None or self.world.net is not net or len(self.world.springs) != net.n_springs:
            self.world = _CheckedWorld(net, x_start, self.drag, rng=self.rng)
        return super().relax(net, x_start, *args, **kwargs)


def make_engine(name: str, physics=None, seed: int = 0):
    """The engine called `name` (one of ENGINES) for the window, at the physics' temperature
    (its thermal noise seeded by `seed`)."""
    if name == "physical":
        return PhysicalEngine(physics, tol=1e-9, record=90, seed=seed)
    return ExactEngine(temperature=getattr(physics, "temperature", 0.0), samples=getattr(physics, "samples", 1), seed=seed)


def engine_name(engine) -> str:
    """Which of ENGINES an engine object is."""
    return "physical" if isinstance(engine, WorldEngine) else "exact"


def coupled_unavailable(trainer: Trainer) -> str:
    """Why coupled learning cannot run now ('' if it can): it clamps the outputs, which the
    pymunk world cannot, and it needs target positions, which a margin cost has not."""
    if engine_name(trainer.engine) == "physical":
        return "coupled learning clamps the outputs: exact engine only (P switches)"
    s = int(trainer.task.train[0])
    try:
        trainer.task.cost(trainer.net, s).coupled_clamp(trainer.net.pos, 0.5)
    except NotImplementedError:
        return "coupled learning needs target positions; this scene's cost has none"
    return ""


@dataclass
class Opened:
    """A scene made ready off the window's thread: its engine chosen, evaluated, first state."""

    scene: Scene
    trainer: Trainer
    x: np.ndarray
    note: str = ""
    cost: float = float("nan")  # the first example's cost at x


def prepare(scene: Scene, engine: str | None = None, rule=None) -> Opened:
    """Choose the engine (the physical one where the world settles in time, unless given),
    evaluate the untrained network and relax its first example. Runs in a worker."""
    if engine is None:  # (coupled learning, as a saved copy may ask, runs on the exact engine only)
        coupled = (rule or scene.rule()).kind == "coupled"
        engine = "physical" if not coupled and settles_quickly(scene) else "exact"
    trainer = Trainer.from_scene(scene, rule, make_engine(engine, scene.spec.physics, scene.spec.seed))
    trainer.record()
    s = int(trainer.task.train[0])
    x = trainer.free_state(s).x
    return Opened(scene, trainer, x, cost=trainer.task.cost(scene.net, s).value(x))
