"""The Newton solver reaches tight equilibria, keeps held nodes, and matches closed forms."""

import numpy as np
import pytest
from conftest import random_network, random_task

from sandbox.physics import energy as en
from sandbox.physics.equilibrium import FloppyNetworkError, NewtonSolver
from sandbox.physics.network import FIXED, HIDDEN, INPUT, OUTPUT, Network


def chain(k1, k2, pull):
    """anchor -k1- middle (on a rail along x) -k2- end, with the end pulled by `pull`."""
    net = Network([[0, 0], [1, 0], [2, 0]], [[0, 1], [1, 2]], [k1, k2], [1.0, 1.0],
                  [FIXED, OUTPUT, INPUT], [[1, 1], [1, 0], [1, 1]])
    x = net.pos.copy()
    x[2, 0] += pull
    return net, x


@pytest.mark.parametrize("k1,k2", [(1.0, 1.0), (1.0, 3.0), (5.0, 0.2)])
def test_two_springs_in_series_settle_where_the_textbook_says(k1, k2):
    net, x = chain(k1, k2, 0.4)
    eq = NewtonSolver().relax(net, x)
    # the middle moves by pull * k2 / (k1 + k2): the springs share the stretch inversely to k
    assert eq.x[1, 0] - 1.0 == pytest.approx(0.4 * k2 / (k1 + k2), abs=1e-12)
    assert eq.residual < 1e-10


def test_held_nodes_do_not_move():
    net = random_network(60, seed=1, prestress=0.2)
    x = net.pos.copy()
    x[net.nodes(INPUT)] += 0.3
    eq = NewtonSolver().relax(net, x)
    assert np.array_equal(eq.x[net.held], x[net.held])
    assert np.abs(eq.x[~net.held] - x[~net.held]).max() > 1e-3


def test_network_at_rest_length_is_already_at_equilibrium():
    net = random_network(60, seed=2, prestress=0.0)
    eq = NewtonSolver().relax(net, net.pos)
    assert eq.iterations == 0
    assert np.array_equal(eq.x, net.pos)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_newton_reaches_a_tiny_residual_and_a_minimum(seed):
    net = random_network(150, seed=seed, prestress=0.15)
    task = random_task(net, seed=seed)
    eq = NewtonSolver(tol=1e-11).relax(net, task.start(net, 0), strict=True)
    g = en.gradient(net, eq.x).reshape(-1)[net.free_dofs]
    assert np.abs(g).max() < 1e-11
    # a minimum, not a saddle: nudging any free coordinate raises the energy
    rng = np.random.default_rng(seed)
    for _ in range(20):
        d = np.zeros(2 * net.n_nodes)
        d[net.free_dofs] = rng.standard_normal(net.free_dofs.sum())
        assert en.energy(net, eq.x + 1e-4 * d.reshape(-1, 2)) >= eq.energy - 1e-15


def test_compressed_network_relaxes_downhill_without_crashing():
    net = random_network(80, seed=4, prestress=0.0)
    net.L = net.L * 1.4  # strong compression: buckling, indefinite Hessians
    x = net.pos + 0.01 * np.random.default_rng(0).standard_normal(net.pos.shape)
    x[net.held] = net.pos[net.held]
    e0 = en.energy(net, x)
    eq = NewtonSolver(tol=1e-9).relax(net, x, strict=True)
    assert eq.energy < e0
    assert eq.converged


def test_nudged_phase_reuses_the_free_factorization():
    net = random_network(200, seed=5, prestress=0.1)
    task = random_task(net, seed=5)
    solver = NewtonSolver(tol=1e-11)
    free = solver.relax(net, task.start(net, 0))
    nudged = solver.relax(net, free.x, task.cost(net, 0), 1e-3)
    assert nudged.converged
    # it starts with the matrix it already has; a fresh one only if convergence slows
    assert nudged.factorizations <= 1
    assert nudged.iterations <= 6


def test_floppy_network_is_reported_not_regularized():
    # node 3 is tied to nothing: the Hessian is singular and the solver says so
    net = Network([[0, 0], [1, 0], [2, 0], [5, 5]], [[0, 1], [1, 2]], [1, 1], [1, 1],
                  [FIXED, OUTPUT, INPUT, HIDDEN], [[1, 1], [1, 0], [1, 1], [1, 1]])
    x = net.pos + [[0, 0], [0, 0], [0.3, 0], [0, 0]]
    with pytest.raises(FloppyNetworkError, match="floppy"):
        NewtonSolver().relax(net, x)


def test_floppy_nodes_are_named_before_solving():
    from sandbox.physics.rigidity import floppy_nodes, unanchored_nodes

    # a collinear chain: the middle node can slide sideways at no cost to first order
    chain = Network([[0, 0], [1, 0], [2, 0]], [[0, 1], [1, 2]], [1, 1], [1, 1], [FIXED, OUTPUT, FIXED])
    assert floppy_nodes(chain) == [1]
    chain.axes[1] = [True, False]  # put it on a rail: rigid
    assert floppy_nodes(chain) == []
    loose = Network([[0, 0], [1, 0], [5, 5], [6, 5]], [[0, 1], [2, 3]], [1, 1], [1, 1],
                    [FIXED, OUTPUT, HIDDEN, HIDDEN])
    assert unanchored_nodes(loose) == [[2, 3]]
