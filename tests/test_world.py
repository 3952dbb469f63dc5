"""The pymunk world is overdamped, settles where Newton does, holds what is held, follows the
mouse, and learns what the exact engine learns."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import random_network, random_task

from sandbox.learning.rules import Rule
from sandbox.learning.trainer import Trainer
from sandbox.physics.equilibrium import NewtonSolver
from sandbox.physics.world import World, WorldEngine
from sandbox.scenes.build import load_scene

SCENES = Path(__file__).parent.parent / "scenes"
SMALL = ["two_springs", "symmetrize", "allostery", "allostery_multi", "xor"]


def size(net):
    return float(np.ptp(net.pos, axis=0).max())


@pytest.mark.parametrize("name", SMALL)
def test_world_settles_at_the_newton_equilibrium(name):
    sc = load_scene(SCENES / f"{name}.yaml")
    x0 = sc.task.start(sc.net, 0)
    ref = NewtonSolver(tol=1e-12).relax(sc.net, x0).x
    eq = WorldEngine(sc.spec.physics, tol=1e-10).relax(sc.net, x0)
    assert eq.converged
    assert np.abs(eq.x - ref).max() < 1e-6 * size(sc.net)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_world_settles_at_newton_on_random_networks(seed):
    net = random_network(30, seed=seed, prestress=0.1)
    task = random_task(net, seed=seed)
    x0 = task.start(net, 0)
    ref = NewtonSolver(tol=1e-12).relax(net, x0).x
    eq = WorldEngine(tol=1e-10).relax(net, x0)
    assert np.abs(eq.x - ref).max() < 1e-6 * size(net)


@pytest.mark.parametrize("name", ["two_springs", "symmetrize", "allostery"])
@pytest.mark.parametrize("k_scale", [0.05, 1.0, 20.0])
def test_step_response_never_overshoots(name, k_scale):
    """Released from a displaced state, the distance to equilibrium never grows."""
    sc = load_scene(SCENES / f"{name}.yaml")
    net = sc.net
    net.k = net.k * k_scale * np.random.default_rng(0).uniform(0.5, 2.0, net.n_springs)
    x0 = sc.task.start(net, 0)
    ref = NewtonSolver(tol=1e-13).relax(net, x0).x
    w = World(net, net.pos.copy(), sc.spec.physics.drag)
    for i in np.flatnonzero(net.held):
        w.hold(i, x0[i])
    dist = [np.linalg.norm(w.positions() - ref)]
    for _ in range(300):
        w.step(5)
        dist.append(np.linalg.norm(w.positions() - ref))
    dist = np.array(dist)
    assert dist[-1] < 0.5 * dist[0]
    assert np.all(np.diff(dist) <= 1e-12 * dist[0])


def test_held_nodes_never_move_and_a_dragged_node_follows_the_mouse():
    net = random_network(30, seed=3, prestress=0.0)  # at rest in its reference positions
    w = World(net)
    held0 = w.positions()[net.held]
    i = int(np.flatnonzero(~net.held)[0])
    start = w.positions()[i]
    goal = start + np.array([0.5, 0.3])
    w.grab(i, start)
    for t in np.linspace(0, 1, 40):
        w.drag_to(start + t * (goal - start))
        w.step(20)
    w.step(500)
    assert np.linalg.norm(w.positions()[i] - goal) < 0.05
    moved = w.positions()
    assert np.abs(moved[~net.held] - net.pos[~net.held]).max() > 0.05  # the rest followed
    w.release()
    ok, _ = w.settle(tol=1e-9)
    assert ok
    assert np.abs(w.positions() - net.pos).max() < 1e-6  # relaxed back to rest
    assert np.array_equal(w.positions()[net.held], held0)


def test_physical_learning_on_two_springs_meets_the_promise_and_agrees_with_exact():
    ks = {}
    for engine in ("exact", "pymunk"):
        sc = load_scene(SCENES / "two_springs.yaml")
        tr = Trainer.from_scene(sc, engine=WorldEngine(sc.spec.physics, tol=1e-10) if engine == "pymunk" else None)
        tr.fit(sc.spec.learning.epochs)
        assert tr.history[-1]["loss"] < sc.spec.expect.loss_below
        ks[engine] = sc.net.k.copy()
    assert np.allclose(ks["pymunk"], ks["exact"], rtol=1e-4)
    assert ks["pymunk"][1] / ks["pymunk"].sum() == pytest.approx(0.3, abs=1e-5)


def test_physical_learning_on_symmetrize_follows_exact():
    ks, losses = {}, {}
    for engine in ("exact", "pymunk"):
        sc = load_scene(SCENES / "symmetrize.yaml")
        tr = Trainer.from_scene(sc, engine=WorldEngine(sc.spec.physics, tol=1e-10) if engine == "pymunk" else None)
        tr.fit(15)
        ks[engine], losses[engine] = sc.net.k.copy(), [r["loss"] for r in tr.history]
    assert np.allclose(ks["pymunk"], ks["exact"], rtol=1e-4)
    assert np.allclose(losses["pymunk"], losses["exact"], rtol=1e-3)
    assert losses["exact"][-1] < 0.1 * losses["exact"][0]


def test_physical_run_on_allostery_follows_the_exact_loss_curve():
    curves = {}
    for engine in ("exact", "pymunk"):
        sc = load_scene(SCENES / "allostery.yaml")
        # beta = 0.01 lets the world settle to 1e-8 and still resolve the nudge to 1e-5
        rule = replace(sc.rule(), beta=0.01)
        tr = Trainer(sc.net, sc.task, rule, warm_start=True,
                     engine=WorldEngine(sc.spec.physics, tol=1e-8) if engine == "pymunk" else None)
        curve = []
        for _ in range(20):
            tr.step([0])
            curve.append(tr.task.cost(sc.net, 0).value(tr._x[0]))
        curves[engine] = np.array(curve)
    # 20 physical steps: the loss follows the exact engine's within 1% at every step
    assert np.allclose(curves["pymunk"], curves["exact"], rtol=1e-2)


def test_coupled_learning_needs_the_exact_engine():
    net = random_network(20, seed=1)
    task = random_task(net)
    tr = Trainer(net, task, Rule(kind="coupled", beta=0.1), engine=WorldEngine())
    with pytest.raises(NotImplementedError, match="exact engine"):
        tr.step([0])
