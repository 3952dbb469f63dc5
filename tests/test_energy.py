"""Forces are minus the gradient of the energy; the Hessian is the Jacobian of the gradient."""

import numpy as np
import pytest
from conftest import random_network, random_task

from sandbox.physics import energy as en
from sandbox.physics.costs import DistanceCost, PositionCost


def _fd_gradient(f, x, h=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        g[idx] = (f(xp) - f(xm)) / (2 * h)
    return g


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_is_finite_difference_of_energy(seed):
    net = random_network(30, seed=seed, prestress=0.2)
    x = net.pos + 0.05 * np.random.default_rng(seed).standard_normal(net.pos.shape)
    g = en.gradient(net, x)
    assert _rel(g, _fd_gradient(lambda y: en.energy(net, y), x)) < 1e-6


@pytest.mark.parametrize("seed", [0, 1])
def test_hessian_is_jacobian_of_gradient(seed):
    net = random_network(30, seed=seed, prestress=0.2)  # prestress: some springs compressed
    x = net.pos + 0.05 * np.random.default_rng(seed).standard_normal(net.pos.shape)
    free = np.ones(2 * net.n_nodes, bool)
    h = en.hessian(net, x, free).toarray()
    fd = np.zeros_like(h)
    for c in range(2 * net.n_nodes):
        xp, xm = x.copy(), x.copy()
        xp.reshape(-1)[c] += 1e-6
        xm.reshape(-1)[c] -= 1e-6
        fd[:, c] = (en.gradient(net, xp) - en.gradient(net, xm)).reshape(-1) / 2e-6
    assert _rel(h, fd) < 1e-6
    assert np.allclose(h, h.T)


def test_psd_hessian_has_no_negative_eigenvalues_even_when_compressed():
    net = random_network(30, seed=3, prestress=0.0)
    net.L = net.L * 1.3  # every spring compressed: the exact Hessian is indefinite
    free = np.ones(2 * net.n_nodes, bool)
    exact = np.linalg.eigvalsh(en.hessian(net, net.pos, free).toarray())
    safe = np.linalg.eigvalsh(en.hessian(net, net.pos, free, psd=True).toarray())
    assert exact.min() < -1e-3
    assert safe.min() > -1e-9


@pytest.mark.parametrize("kind", ["position", "distance", "margin"])
def test_cost_gradient_and_hessian(kind):
    net = random_network(30, seed=4)
    if kind == "margin":
        from sandbox.physics.costs import MarginCost

        cost = MarginCost(np.flatnonzero(net.roles == 2)[:3], 1, 0.3, 0, net.pos)
    else:
        cost = random_task(net, kind=kind).cost(net, 0)
    x = net.pos + 0.1 * np.random.default_rng(0).standard_normal(net.pos.shape)
    assert _rel(cost.gradient(x), _fd_gradient(cost.value, x)) < 1e-6
    free = np.ones(2 * net.n_nodes, bool)
    h = cost.hessian(x, free).toarray()
    fd = np.zeros_like(h)
    for c in range(2 * net.n_nodes):
        xp, xm = x.copy(), x.copy()
        xp.reshape(-1)[c] += 1e-6
        xm.reshape(-1)[c] -= 1e-6
        fd[:, c] = (cost.gradient(xp) - cost.gradient(xm)).reshape(-1) / 2e-6
    assert np.abs(h - fd).max() < 1e-6


def test_axis_mask_ignores_the_other_axis():
    cost = PositionCost([0], [[1.0, 5.0]], [[True, False]])
    x = np.array([[0.0, 0.0]])
    assert cost.value(x) == pytest.approx(0.5)
    assert np.allclose(cost.gradient(x), [[-1.0, 0.0]])


def test_distance_cost_is_zero_at_target_distance():
    cost = DistanceCost([[0, 1]], [2.0])
    assert cost.value(np.array([[0.0, 0.0], [0.0, 2.0]])) == pytest.approx(0.0)
    assert cost.value(np.array([[0.0, 0.0], [0.0, 3.0]])) == pytest.approx(0.5)


def test_parameter_gradients_match_finite_differences():
    net = random_network(20, seed=5, prestress=0.2)
    x = net.pos
    gk, gL = en.parameter_gradients(net, x)
    for e in range(3):
        n2 = net.copy()
        n2.k[e] += 1e-6
        assert (en.energy(n2, x) - en.energy(net, x)) / 1e-6 == pytest.approx(gk[e], rel=1e-4, abs=1e-9)
        n3 = net.copy()
        n3.L[e] += 1e-7
        assert (en.energy(n3, x) - en.energy(net, x)) / 1e-7 == pytest.approx(gL[e], rel=1e-3, abs=1e-7)
