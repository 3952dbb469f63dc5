"""Temperature: the physical engine's Langevin dynamics gives kT/2 per harmonic mode; the exact
engine's samples have the covariance kT H^-1; both engines measure states around their
equilibria; seeded warm runs repeat exactly."""

import numpy as np
import pytest
from conftest import random_network, random_task

from sandbox.learning.rules import Rule
from sandbox.learning.trainer import Trainer
from sandbox.physics import energy as en
from sandbox.physics.equilibrium import NewtonSolver
from sandbox.physics.network import FIXED, HIDDEN, Network, triangular_lattice
from sandbox.physics.thermal import thermal_rng
from sandbox.physics.world import World, WorldEngine


def lattice_at_rest(rows=4, cols=4):
    """A triangular lattice with its bottom row fixed, every spring at its rest length."""
    pos, edges = triangular_lattice(rows, cols)
    roles = np.full(len(pos), HIDDEN)
    roles[:cols] = FIXED
    return Network(pos, edges, np.ones(len(edges)), np.linalg.norm(pos[edges[:, 1]] - pos[edges[:, 0]], axis=1), roles)


def test_langevin_world_gives_kT_over_2_per_harmonic_mode():
    """Equipartition: the mean elastic energy is kT/2 per free coordinate, within 5%, and so is
    the mean energy of the stiffest quarter of the normal modes, where a plain Euler-Maruyama
    force at the world's time step would be 10-25% too hot. kT = 1e-4 keeps the motion
    harmonic (thermal amplitude 1% of a spring's length)."""
    net = lattice_at_rest()
    kT = 1e-4
    w = World(net, drag=1.0, temperature=kT, rng=thermal_rng(1))
    free = net.free_dofs
    lam, modes = np.linalg.eigh(en.hessian(net, net.pos, free).toarray())
    tau = w.relaxation_steps()
    w.step(3 * tau)  # thermalize
    energies, mode_energy = [], np.zeros(len(lam))
    n = 4000
    for _ in range(n):
        w.step(10)
        x = w.positions()
        energies.append(en.energy(net, x))
        c = modes.T @ (x - net.pos).reshape(-1)[free]
        mode_energy += 0.5 * lam * c * c / n
    energies = np.array(energies)
    half_kT = 0.5 * kT
    assert energies.mean() / (free.sum() * half_kT) == pytest.approx(1.0, abs=0.05)
    stiff = np.argsort(lam)[-len(lam) // 4:]
    assert mode_energy[stiff].mean() / half_kT == pytest.approx(1.0, abs=0.05)
    # the sampling error is well below the 5%: 20 blocks of the run agree to about 1%
    blocks = energies.reshape(20, -1).mean(axis=1)
    assert blocks.std() / np.sqrt(20) < 0.015 * energies.mean()


@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_exact_engine_samples_have_the_covariance_kT_H_inverse(beta):
    """20,000 samples of a free phase and of a nudged one (H then includes beta times the
    cost's Hessian): whitened by the Cholesky factor of H / kT their covariance is the identity,
    every entry within 5 standard errors."""
    net = random_network(12, seed=1, prestress=0.1)
    task = random_task(net, seed=1)
    cost = task.cost(net, 0)
    kT, n = 1e-3, 20_000
    eq = NewtonSolver(tol=1e-12, temperature=kT, samples=n, seed=4).relax(
        net, task.start(net, 0), cost if beta else None, beta)
    assert eq.samples.shape == (n, net.n_nodes, 2)
    free = net.free_dofs
    assert np.array_equal(eq.samples.reshape(n, -1)[:, ~free], np.broadcast_to(eq.x.reshape(-1)[~free], (n, (~free).sum())))
    d = (eq.samples - eq.x).reshape(n, -1)[:, free]
    h = en.hessian(net, eq.x, free).toarray() + beta * cost.hessian(eq.x, free).toarray()
    chol = np.linalg.cholesky(h / kT)
    w = chol.T @ (d.T @ d / n) @ chol
    off = w - np.diag(np.diag(w))
    assert np.abs(off).max() < 5 / np.sqrt(n)
    assert np.abs(np.diag(w) - 1).max() < 5 * np.sqrt(2 / n)
    assert np.abs(d.mean(axis=0) @ chol).max() < 5 / np.sqrt(n)  # centred on the equilibrium


def test_zero_temperature_measures_the_state_itself():
    net = random_network(12, seed=1)
    task = random_task(net, seed=1)
    for engine in (NewtonSolver(), WorldEngine(tol=1e-10)):
        assert engine.relax(net, task.start(net, 0)).samples is None


def test_the_physical_engine_measures_thermal_snapshots_around_its_equilibrium():
    """WorldEngine at kT > 0 settles (noise off) where Newton does, then takes its snapshots
    under the Langevin noise, with the nudge on in a nudged phase: their spread is kT H^-1's."""
    net = lattice_at_rest(3, 4)
    net.roles[-1] = 3  # an output
    kT, count = 1e-4, 300
    physics = type("P", (), {"drag": 1.0, "temperature": kT, "samples": count})()
    engine = WorldEngine(physics, tol=1e-11, seed=2)
    from sandbox.physics.costs import PositionCost

    cost = PositionCost([net.n_nodes - 1], net.pos[-1:] + [0.3, 0.0])
    eq = engine.relax(net, net.pos, cost, 0.5)
    ref = NewtonSolver(tol=1e-12).relax(net, net.pos, cost, 0.5)
    assert np.abs(eq.x - ref.x).max() < 1e-8
    assert eq.samples.shape == (count, net.n_nodes, 2)
    free = net.free_dofs
    d = (eq.samples - eq.x).reshape(count, -1)[:, free]
    h = en.hessian(net, eq.x, free).toarray() + 0.5 * cost.hessian(eq.x, free).toarray()
    expected = kT * np.diag(np.linalg.inv(h))
    ratio = (d * d).mean(axis=0) / expected
    assert ratio.mean() == pytest.approx(1.0, abs=0.1)
    assert np.abs(d.mean(axis=0)).max() < 0.3 * np.sqrt(expected.max())


@pytest.mark.parametrize("engine", ["exact", "physical"])
def test_seeded_warm_runs_repeat_exactly(engine):
    """The same seed, the same k after training at kT > 0 with noisy hardware; another seed,
    other k."""
    from sandbox.learning.hardware import Hardware

    def run(seed):
        net = random_network(16, seed=3, prestress=0.0)
        task = random_task(net, examples=2, seed=3)
        physics = type("P", (), {"drag": 1.0, "temperature": 1e-5, "samples": 2})()
        eng = (NewtonSolver(temperature=1e-5, samples=2, seed=seed) if engine == "exact"
               else WorldEngine(physics, tol=1e-9, seed=seed))
        hw = Hardware(measure_noise=1e-3, update_noise=0.1, k_levels=200, rounding="stochastic",
                      rng=np.random.default_rng([seed, 2]))
        tr = Trainer(net, task, Rule("one-sided", beta=1e-2, lr=1.0), engine=eng, seed=seed, hardware=hw)
        tr.fit(2)
        return net.k

    a, b, c = run(5), run(5), run(6)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_a_batch_relaxed_together_gives_each_example_its_own_thermal_covariance():
    """relax_many at kT > 0 (the trainer's mini-batches and evaluations): each example's
    snapshots are spread as kT H_i^-1, H_i the Hessian of E + beta_i C_i at its own equilibrium
    (here three examples with their own costs and nudges 0.8, -0.1, 0.3): whitened by it, the
    covariance of 4,000 snapshots is the identity within 5 standard errors; whitened by
    another example's H it is not."""
    net = random_network(12, seed=1, prestress=0.1)
    task = random_task(net, examples=3, seed=1)
    kT, n = 1e-3, 4000
    costs = [task.cost(net, s) for s in range(3)]
    betas = np.array([0.8, -0.1, 0.3])
    solver = NewtonSolver(tol=1e-12, temperature=kT, samples=n, seed=5)
    eqs = solver.relax_many(net, task.starts(net, [0, 1, 2]), costs, betas)
    free = net.free_dofs

    def whitened(eq, i):
        d = (eq.samples - eq.x).reshape(n, -1)[:, free]
        h = en.hessian(net, eq.x, free).toarray() + betas[i] * costs[i].hessian(eq.x, free).toarray()
        chol = np.linalg.cholesky(h / kT)
        return chol.T @ (d.T @ d / n) @ chol

    for i, eq in enumerate(eqs):
        w = whitened(eq, i)
        assert np.abs(w - np.diag(np.diag(w))).max() < 5 / np.sqrt(n)
        assert np.abs(np.diag(w) - 1).max() < 5 * np.sqrt(2 / n)
    wrong = whitened(eqs[0], 1)  # example 0's snapshots against example 1's stiffness
    assert np.abs(wrong - np.eye(len(wrong))).max() > 20 / np.sqrt(n)


def test_the_drawn_jiggle_is_a_thermal_snapshot_at_every_moment_and_moves_smoothly():
    """ThermalMotion (what the window draws at kT > 0): over 2,000 motions of two pairs of draws
    each (from one thermal_motion's 8,000), the displacement at one moment, whitened by H / kT,
    has the identity covariance within 5 standard errors; it moves smoothly (a 60th of a second
    changes it by a few percent) and scales with sqrt(kT); held nodes stay put."""
    from sandbox.physics.thermal import ThermalMotion, thermal_motion

    net = random_network(12, seed=1, prestress=0.1)
    x = NewtonSolver(tol=1e-12).relax(net, net.pos).x
    kT, n = 1e-4, 2000
    draws = thermal_motion(net, x, np.random.default_rng(3), pairs=2 * n).unit
    motions = [ThermalMotion(draws[4 * i:4 * i + 4], np.random.default_rng([3, i])) for i in range(n)]
    free = net.free_dofs
    d = np.array([m.at(2.5, kT).reshape(-1) for m in motions])
    assert np.abs(d[:, ~free]).max() == 0
    d = d[:, free]
    chol = np.linalg.cholesky(en.hessian(net, x, free).toarray() / kT)
    w = chol.T @ (d.T @ d / n) @ chol
    assert np.abs(w - np.diag(np.diag(w))).max() < 5 / np.sqrt(n)
    assert np.abs(np.diag(w) - 1).max() < 5 * np.sqrt(2 / n)
    m = motions[0]
    step = np.linalg.norm(m.at(2.5 + 1 / 60, kT) - m.at(2.5, kT)) / np.linalg.norm(m.at(2.5, kT))
    assert 1e-3 < step < 0.1
    assert np.allclose(m.at(1.0, 100 * kT), 10 * m.at(1.0, kT))
