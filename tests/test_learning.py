"""EP computes the gradient: it matches implicit differentiation as beta shrinks, with the
right sign for every rule, and training lowers the cost."""

import numpy as np
import pytest
from conftest import random_network, random_task

from sandbox.learning.rules import Rule, ep_gradient, ep_phases, exact_gradient, gradient_check
from sandbox.physics.equilibrium import NewtonSolver


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("kind", ["position", "distance"])
def test_exact_gradient_matches_finite_differences(kind):
    net = random_network(40, seed=6)
    task = random_task(net, kind=kind, seed=6)
    solver = NewtonSolver(tol=1e-13)
    cost = task.cost(net, 0)
    x0 = solver.relax(net, task.start(net, 0)).x
    gk, gL = exact_gradient(net, x0, cost)

    def cost_at(k, L):
        n2 = net.copy()
        n2.k, n2.L = k, L
        return cost.value(NewtonSolver(tol=1e-14).relax(n2, x0).x)

    fdk = np.array([(cost_at(net.k + h, net.L) - cost_at(net.k - h, net.L)) / (2e-6)
                    for h in np.eye(net.n_springs)[:12] * 1e-6])
    fdl = np.array([(cost_at(net.k, net.L + h) - cost_at(net.k, net.L - h)) / (2e-6)
                    for h in np.eye(net.n_springs)[:12] * 1e-6])
    assert _rel(gk[:12], fdk) < 1e-5
    assert _rel(gL[:12], fdl) < 1e-5


def test_ep_converges_to_the_exact_gradient_on_a_large_disordered_network():
    net = random_network(120, seed=7)
    task = random_task(net, seed=7)
    rows = gradient_check(net, task, 0, betas=(4e-2, 2e-2, 1e-2, 5e-3, 2.5e-3, 1e-3), learn="both")
    at = {r["beta"]: r for r in rows}
    assert at[1e-3]["rel_err_centered"] < 1e-4
    assert at[1e-3]["rel_err_one_sided"] < 1e-2
    halvings = [(4e-2, 2e-2), (2e-2, 1e-2), (1e-2, 5e-3), (5e-3, 2.5e-3)]
    for big, small in halvings:
        one = at[big]["rel_err_one_sided"] / at[small]["rel_err_one_sided"]
        cen = at[big]["rel_err_centered"] / at[small]["rel_err_centered"]
        assert 1.7 < one < 2.3, (big, one)  # one-sided bias is O(beta)
        assert 3.4 < cen < 4.6, (big, cen)  # centered bias is O(beta^2)


@pytest.mark.parametrize("kind", ["one-sided", "centered", "coupled"])
@pytest.mark.parametrize("learn", ["stiffness", "rest_length", "both"])
@pytest.mark.parametrize("cost_kind", ["position", "distance"])
def test_one_small_update_lowers_the_cost(kind, learn, cost_kind):
    net = random_network(60, seed=8)
    task = random_task(net, kind=cost_kind, seed=8)
    rule = Rule(kind=kind, beta=1e-2 if kind == "coupled" else 1e-3, lr=1e-3, learn=learn)
    solver = NewtonSolver(tol=1e-12)
    cost = task.cost(net, 0)
    x0 = solver.relax(net, task.start(net, 0)).x
    before = cost.value(x0)
    gk, gL = ep_gradient(net, ep_phases(solver, net, x0, cost, rule))
    ek, eL = exact_gradient(net, x0, cost)
    step = {"stiffness": (gk, 0 * gL), "rest_length": (0 * gk, gL), "both": (gk, gL)}[learn]
    # an estimate that points the wrong way would raise the cost: check against the truth too
    assert step[0] @ ek + step[1] @ eL > 0
    net.k = net.k - rule.lr * step[0] / np.abs(np.concatenate(step)).max()
    net.L = net.L - rule.lr * step[1] / np.abs(np.concatenate(step)).max()
    after = cost.value(solver.relax(net, x0).x)
    assert after < before


def test_centered_ep_warns_and_falls_back_when_the_negative_nudge_flips_the_network():
    from sandbox.physics.network import FIXED, INPUT, OUTPUT, Network

    # a node held in a shallow well between two compressed springs: a strong negative nudge
    # pushes it over the top to another equilibrium
    net = Network([[0, 0], [1, 0.05], [2, 0]], [[0, 1], [1, 2]], [1, 1], [1.05, 1.05],
                  [FIXED, OUTPUT, INPUT], [[1, 1], [0, 1], [1, 1]])
    from sandbox.physics.costs import PositionCost

    cost = PositionCost([1], [[1.0, 0.6]], [[False, True]])
    solver = NewtonSolver(tol=1e-12)
    x0 = solver.relax(net, net.pos).x
    ph = ep_phases(solver, net, x0, cost, Rule(kind="centered", beta=0.5))
    assert "one-sided" in ph.warning
    assert ph.scale == 0.5


def test_training_lowers_the_cost_by_orders_of_magnitude():
    from pathlib import Path

    from sandbox.learning.trainer import Trainer
    from sandbox.scenes.build import load_scene

    sc = load_scene(Path(__file__).parent.parent / "scenes" / "allostery.yaml")
    tr = Trainer.from_scene(sc)
    tr.fit(100)
    first = tr.history[0]["loss"]
    assert tr.history[-1]["loss"] < 1e-2 * first  # two orders of magnitude, stiffness alone
