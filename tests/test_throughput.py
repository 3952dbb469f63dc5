"""The fast solver path (pattern assembly, band Cholesky, a mini-batch's examples relaxed together)
learns what the one-at-a-time path and the reference path learn, and its structure cache follows
the network when springs are cut or roles change."""

import numpy as np
import pytest
from conftest import random_network, random_task

from bench.reference import OneAtATimeSameStarts, ReferenceNewton
from sandbox.learning.rules import Rule
from sandbox.learning.trainer import Trainer
from sandbox.paths import SCENES
from sandbox.physics import energy as en
from sandbox.physics.assembly import SpringAssembly
from sandbox.physics.costs import MarginCost
from sandbox.physics.equilibrium import FloppyNetworkError, NewtonSolver
from sandbox.physics.factor import BandCholesky, BandLU, factorize
from sandbox.physics.network import HIDDEN, OUTPUT
from sandbox.scenes.build import load_scene


def _train(scene_name: str, engine, epochs: int):
    scene = load_scene(SCENES / scene_name)
    tr = Trainer.from_scene(scene, engine=engine)
    ks = []
    # evaluation relaxes too (at each epoch's end): the kept factorization must follow the same path
    tr.fit(epochs, [lambda t, st: ks.append(scene.net.k.copy()) if st.name == "update" else None])
    return np.array(ks), tr.history


@pytest.mark.parametrize("scene_name,epochs", [("iris.yaml", 2), ("allostery.yaml", 30)])
def test_new_and_reference_paths_learn_the_same_stiffnesses(scene_name, epochs):
    k_new, hist_new = _train(scene_name, NewtonSolver(), epochs)
    k_ref, hist_ref = _train(scene_name, ReferenceNewton(), epochs)
    assert k_new.shape == k_ref.shape
    assert np.abs(k_new[-1] - k_new[0]).max() > 1e-3  # it did learn something
    # every k after every update, to 1e-9 relative
    assert np.max(np.abs(k_new - k_ref) / np.abs(k_ref)) < 1e-9
    for a, b in zip(hist_new, hist_ref):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-9)


def _record(trainer: Trainer, epochs: int):
    """Every equilibrium a trainer shows (free and nudged, example by example), every k after an
    update, and the free states of the last evaluation, over `epochs` epochs."""
    xs, ks = [], []

    def keep(t, st):
        if st.name in ("free", "nudged"):
            xs.append(st.x.copy())
        elif st.name == "update":
            ks.append(t.net.k.copy())

    trainer.fit(epochs, [keep])
    assert not trainer.stopped
    seen = np.concatenate([trainer.task.train, trainer.task.test])
    last = np.array([trainer._x[s] for s in seen])
    return np.array(xs), np.array(ks), last, trainer.history


def _equal(batched, alone):
    (xs_b, ks_b, last_b, hist_b), (xs_a, ks_a, last_a, hist_a) = batched, alone
    assert xs_b.shape == xs_a.shape and ks_b.shape == ks_a.shape
    assert np.abs(xs_b - xs_a).max() <= 1e-10  # every equilibrium of training
    assert np.abs(last_b - last_a).max() <= 1e-10  # and of the evaluation
    assert np.max(np.abs(ks_b - ks_a) / np.abs(ks_a)) <= 1e-8  # every k after every update
    assert [h["loss"] for h in hist_b] == pytest.approx([h["loss"] for h in hist_a], rel=1e-12)
    assert np.abs(ks_b[-1] - ks_b[0]).max() > 1e-4  # it did learn


@pytest.mark.parametrize("scene_name,epochs,subset", [("iris.yaml", 2, None), ("allostery_multi.yaml", 10, None),
                                                      ("xor.yaml", 20, None), ("digits.yaml", 2, 250)])
def test_batched_training_equals_one_at_a_time(scene_name, epochs, subset):
    """Mini-batches relaxed together (relax_many) and one relaxation at a time (the engine seen
    through `relax` and the factorization it keeps): the same equilibria, stiffnesses and history.
    (Digits on 250 training and 100 test images, for time: `bench` compares whole epochs.)"""
    scene = load_scene(SCENES / scene_name)
    if subset:
        scene.task.train, scene.task.test = scene.task.train[:subset], scene.task.test[:100]
    start = scene.net.copy()
    runs = []
    for engine in (NewtonSolver(), OneAtATimeSameStarts()):
        scene.net.k, scene.net.L = start.k.copy(), start.L.copy()
        runs.append(_record(Trainer.from_scene(scene, engine=engine), epochs))
    _equal(*runs)


def test_coupled_batches_equal_one_at_a_time():
    net = random_network(60, seed=6, prestress=0.1)
    task = random_task(net, examples=4, seed=6)
    runs = [_record(Trainer(net.copy(), task, Rule(kind="coupled", beta=0.5, lr=0.5), engine=engine, batch=4), 5)
            for engine in (NewtonSolver(), OneAtATimeSameStarts())]
    _equal(*runs)


@pytest.mark.parametrize("psd", [False, True])
def test_pattern_assembly_equals_the_triplet_hessian(psd):
    net = random_network(60, seed=7, prestress=0.3)  # prestress: compressed springs
    x = net.pos + 0.05 * np.random.default_rng(7).standard_normal(net.pos.shape)
    free = net.free_dofs
    asm = SpringAssembly(net.edges, net.n_nodes, free)
    vals = asm.values(x, net.k, net.L, psd)
    expected = en.hessian(net, x, free, psd=psd).toarray()
    assert np.allclose(asm.sparse(vals).toarray(), expected, rtol=1e-12, atol=1e-12)
    # the band storage holds the same matrix in the RCM order
    ab = asm.bands(vals[:, None])
    p = asm.perm
    a = expected[np.ix_(p, p)]
    for d in range(asm.bandwidth + 1):
        assert np.allclose(ab[d, : asm.n_free - d], np.diagonal(a, -d), rtol=1e-12, atol=1e-12)
    assert np.all(np.tril(a, -asm.bandwidth - 1) == 0)


def test_cost_entries_land_in_the_coupled_pattern():
    net = random_network(40, seed=3)
    outs = net.nodes(OUTPUT)
    cost = MarginCost(np.append(outs, net.nodes(HIDDEN)[0]), 1, 0.3, 0, net.pos)
    x = net.pos.copy()
    free = net.free_dofs
    asm = SpringAssembly(net.edges, net.n_nodes, free, coupled=cost.nodes)
    vals = asm.values(x, net.k, net.L)
    asm.add_entries(vals, *cost.hessian_entries(x, free))
    expected = en.hessian(net, x, free).toarray() + cost.hessian(x, free).toarray()
    assert np.allclose(asm.sparse(vals).toarray(), expected)
    plain = SpringAssembly(net.edges, net.n_nodes, free)
    with pytest.raises(ValueError, match="outside this assembly's pattern"):
        plain.add_entries(plain.values(x, net.k, net.L), *cost.hessian_entries(x, free))


def test_band_and_superlu_paths_reach_the_same_equilibrium():
    net = random_network(150, seed=2, prestress=0.15)
    task = random_task(net, seed=2)
    x0 = task.start(net, 0)
    band = NewtonSolver(tol=1e-12).relax(net, x0, strict=True)
    superlu = NewtonSolver(tol=1e-12, band_max=0).relax(net, x0, strict=True)
    assert np.abs(band.x - superlu.x).max() < 1e-10
    nudged = NewtonSolver(tol=1e-12).relax(net, band.x, task.cost(net, 0), 1e-2, strict=True)
    nudged_lu = NewtonSolver(tol=1e-12, band_max=0).relax(net, band.x, task.cost(net, 0), 1e-2, strict=True)
    assert np.abs(nudged.x - nudged_lu.x).max() < 1e-10
    assert np.abs(nudged.x - band.x).max() > 1e-6


def test_structure_cache_follows_cut_springs_and_role_changes():
    net = random_network(80, seed=4, prestress=0.1)
    task = random_task(net, seed=4)
    solvers = (NewtonSolver(tol=1e-12), ReferenceNewton(tol=1e-12))  # the reference assembles anew each step
    states = []
    for solver in solvers:
        n = net.copy()
        solver.relax(n, task.start(n, 0))
        n.remove_springs([0, 5, 9])  # a new edges array: the cached pattern no longer fits
        cut = solver.relax(n, task.start(n, 0))
        n.roles[n.nodes(HIDDEN)[0]] = 0  # a hidden node becomes fixed: a new free mask
        held = solver.relax(n, cut.x)
        for eq in (cut, held):  # an equilibrium of the network as it is now
            assert np.abs(en.gradient(n, eq.x).reshape(-1)[n.free_dofs]).max() < 1e-12
        assert np.array_equal(held.x[n.held], cut.x[n.held])
        states.append((cut.x, held.x))
    for a, b in zip(*states):
        assert np.abs(a - b).max() < 1e-9


def test_floppy_node_is_reported_by_the_band_path():
    net = random_network(40, seed=5)
    lone = net.nodes(HIDDEN)[0]
    net.remove_springs(np.flatnonzero((net.edges == lone).any(axis=1)))  # nothing holds it
    x = net.pos.copy()
    x[net.nodes(0)] += 0.01  # not at rest, so Newton must factorize
    with pytest.raises(FloppyNetworkError):
        NewtonSolver().relax(net, x)


def test_compressed_network_band_path_matches_reference():
    net = random_network(80, seed=4, prestress=0.0)
    net.L = net.L * 1.4  # buckling: indefinite Hessians, SuperLU and the safe step take over
    x = net.pos + 0.01 * np.random.default_rng(0).standard_normal(net.pos.shape)
    x[net.held] = net.pos[net.held]
    new = NewtonSolver(tol=1e-11).relax(net, x, strict=True)
    ref = ReferenceNewton(tol=1e-11).relax(net, x, strict=True)
    # buckling makes the step decisions sensitive to round-off: the paths may take different
    # numbers of steps, but they reach the same minimum
    assert new.energy == pytest.approx(ref.energy, rel=1e-9)
    assert np.abs(new.x - ref.x).max() < 1e-7  # soft modes: a residual of 1e-11 pins x to ~1e-9


def test_coupled_rule_trains_the_same_on_both_paths():
    net = random_network(60, seed=6, prestress=0.1)
    task = random_task(net, seed=6)
    rule = Rule(kind="coupled", beta=0.5, lr=0.5)
    ks = []
    for engine in (NewtonSolver(), ReferenceNewton()):
        tr = Trainer(net.copy(), task, rule, engine=engine)
        for _ in range(5):
            tr.step([0, 1, 2])
        ks.append(tr.net.k)
    assert np.max(np.abs(ks[0] - ks[1]) / ks[1]) < 1e-9
    assert np.abs(ks[0] - net.k).max() > 1e-4


def test_indefinite_matrix_is_solved_by_the_band_lu():
    net = random_network(60, seed=8, prestress=0.0)
    net.L = net.L * 1.3  # compressed: the exact Hessian is indefinite
    free = net.free_dofs
    asm = SpringAssembly(net.edges, net.n_nodes, free)
    vals = asm.values(net.pos, net.k, net.L)
    h = asm.dense(vals)
    assert np.linalg.eigvalsh(h).min() < -1e-3
    factors = factorize(asm, vals, band=True)
    assert isinstance(factors, BandLU)
    b = np.random.default_rng(0).standard_normal(asm.n_free)
    assert np.allclose(factors.solve(b), np.linalg.solve(h, b), rtol=1e-9, atol=1e-9)
    psd = asm.values(net.pos, net.k, net.L, psd=True)
    assert isinstance(factorize(asm, psd + 1e-6 * (np.abs(psd).max()) * _identity(asm), band=True), BandCholesky)


def _identity(asm):
    """The values of the identity matrix in asm's pattern."""
    eye = np.zeros(asm.nnz)
    eye[asm.diag_slots] = 1.0
    return eye


def test_an_edit_of_the_springs_in_place_is_noticed():
    net = random_network(50, seed=9, prestress=0.1)
    task = random_task(net, seed=9)
    solver = NewtonSolver(tol=1e-12)
    solver.relax(net, task.start(net, 0))
    i, j = net.edges[0]
    other = next(n for n in range(net.n_nodes) if n not in (i, j) and not ((net.edges == [i, n]).all(1).any()))
    net.edges[0, 1] = other  # same array, same shape, another spring
    x = task.start(net, 0)
    eq = solver.relax(net, x)
    assert np.abs(en.gradient(net, eq.x).reshape(-1)[net.free_dofs]).max() < 1e-12
