"""Relaxing many examples together (`NewtonSolver.relax_many`) finds, for each, the equilibrium
that relaxing it alone finds from the same start and factorization: the same Newton steps, the
same factorizations, the same numbers."""

import numpy as np
import pytest
from conftest import random_network, random_task

import sandbox.physics.batch as batch
from bench.benchmarks import lattice
from sandbox.physics.equilibrium import FloppyNetworkError, NewtonSolver, NotConvergedError
from sandbox.physics.network import HIDDEN


def _alone(net, starts, costs=None, betas=None, kept=None, tol=1e-10):
    """Each example relaxed alone by a solver of its own, from kept[i] (None: a new factorization)."""
    out = []
    for i, x in enumerate(starts):
        solver = NewtonSolver(tol=tol)
        solver.kept = None if kept is None else kept[i]
        out.append(solver.relax(net, x) if costs is None else solver.relax(net, x, costs[i], betas[i]))
    return out


def _same(alone, together):
    for a, b in zip(alone, together, strict=True):
        assert np.array_equal(a.x, b.x)
        assert (a.iterations, a.factorizations, a.converged) == (b.iterations, b.factorizations, b.converged)
        assert a.residual == b.residual and a.energy == b.energy


def test_each_example_gets_the_equilibrium_it_gets_alone():
    # prestressed: compressed springs, indefinite Hessians (band LU, modified Newton steps)
    net = random_network(80, seed=3, prestress=0.3)
    task = random_task(net, examples=6, seed=3)
    starts = task.starts(net, range(6))
    free = NewtonSolver().relax_many(net, starts, kept=[None] * 6)
    _same(_alone(net, starts), free)
    assert len({eq.iterations for eq in free}) > 1  # they finished at different rounds
    # the nudged phases, each from its own free phase's factorization, +beta and -beta together
    x0 = np.stack([eq.x for eq in free])
    costs = [task.cost(net, s) for s in range(6)]
    betas = np.repeat([0.05, -0.05], 6)
    kept = [eq.kept for eq in free] * 2
    nudged = NewtonSolver().relax_many(net, np.concatenate([x0, x0]), costs + costs, betas, kept=kept)
    _same(_alone(net, np.concatenate([x0, x0]), costs + costs, betas, kept), nudged)
    assert np.abs(nudged[0].x - free[0].x).max() > 1e-4


def test_a_wide_band_padded_to_the_panel_gives_the_same_numbers():
    # 400 nodes: 756 free coordinates (not a multiple of LAPACK's 32-column panel), band 55
    net, task = lattice(400)
    rng = np.random.default_rng(1)
    starts = task.start(net, 0) + 0.02 * rng.standard_normal((3, net.n_nodes, 2)) * net.free_dofs.reshape(-1, 2)
    solver = NewtonSolver()
    shared = solver.relax(net, task.start(net, 0)).kept  # all start from one kept factorization
    assert solver.assembly(net, net.free_dofs).bandwidth >= 32
    _same(_alone(net, starts, kept=[shared] * 3), solver.relax_many(net, starts, kept=[shared] * 3))


def test_chunks_and_the_kept_factorization(monkeypatch):
    net = random_network(60, seed=5, prestress=0.1)
    task = random_task(net, examples=7, seed=5)
    starts = task.starts(net, range(7))
    costs = [task.cost(net, s) for s in range(7)]
    whole = NewtonSolver().relax_many(net, starts, kept=[None] * 7)
    nudged = NewtonSolver().relax_many(net, starts, costs, 0.1, kept=[None] * 7)
    monkeypatch.setattr(batch, "CHUNK_VALUES", 1)  # one example a chunk
    solver = NewtonSolver()
    chunked = solver.relax_many(net, starts, kept=[None] * 7)
    _same(whole, chunked)
    # afterwards the solver keeps the last example's factorization, as if relaxed one by one
    assert solver.kept.factor is chunked[-1].kept.factor
    _same(nudged, NewtonSolver().relax_many(net, starts, costs, 0.1, kept=[None] * 7))  # each its own cost


def test_an_example_already_at_rest_drops_out_at_once():
    net = random_network(50, seed=2, prestress=0.1)
    task = random_task(net, examples=3, seed=2)
    starts = task.starts(net, range(3))
    settled = NewtonSolver(tol=1e-12).relax(net, starts[1]).x
    starts[1] = settled
    out = NewtonSolver().relax_many(net, starts)
    assert out[1].iterations == 0 and np.array_equal(out[1].x, settled)
    assert out[0].iterations > 0 and out[2].iterations > 0


def test_a_floppy_network_and_a_stalled_one_name_the_example():
    net = random_network(40, seed=5)
    lone = net.nodes(HIDDEN)[0]
    net.remove_springs(np.flatnonzero((net.edges == lone).any(axis=1)))  # nothing holds it
    task = random_task(net, examples=3, seed=5)
    starts = task.starts(net, range(3))
    starts[:, net.nodes(0)] += 0.01  # not at rest, so Newton must factorize
    with pytest.raises(FloppyNetworkError, match=r"example 0 of the batch") as err:
        NewtonSolver().relax_many(net, starts)
    assert err.value.example == 0
    ok = random_network(40, seed=6, prestress=0.2)
    many = random_task(ok, examples=3, seed=6).starts(ok, range(3))
    with pytest.raises(NotConvergedError, match=r"example \d"):
        NewtonSolver(max_iter=1).relax_many(ok, many, strict=True)


def test_costs_need_a_nudge_for_every_example():
    net = random_network(30, seed=1)
    task = random_task(net, examples=2, seed=1)
    with pytest.raises(ValueError, match="nonzero beta"):
        NewtonSolver().relax_many(net, task.starts(net, range(2)), [task.cost(net, s) for s in range(2)], [0.1, 0.0])
