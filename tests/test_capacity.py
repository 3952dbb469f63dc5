"""The capacity experiment (experiments/capacity): its networks and pairs, the linear response
against the full nonlinear physics, the pruning step against brute force, the tuners, the fits."""

import csv
import subprocess
import sys

import numpy as np
import pytest

from experiments.capacity.descend import ep, ep_beta, lbfgs
from experiments.capacity.figure import draw, summary
from experiments.capacity.fit import capacity, crossing, read_outcomes
from experiments.capacity.networks import disc_network, is_rigid, spring_length
from experiments.capacity.pairs import choose_pairs
from experiments.capacity.prune import Pruner, prune
from experiments.capacity.task import Task
from sandbox.learning.linear_response import StrainResponse, pinned_coordinates
from sandbox.physics.costs import DistanceCost
from sandbox.physics.energy import spring_hessian
from sandbox.physics.equilibrium import NewtonSolver
from sandbox.physics.network import FIXED, HIDDEN, Network


@pytest.fixture(scope="module")
def net():
    return disc_network(64, seed=3)


def _unit_hessian(pos, edges):
    rest = np.linalg.norm(pos[edges[:, 1]] - pos[edges[:, 0]], axis=1)
    return spring_hessian(pos, edges, np.ones(len(edges)), rest, np.ones(2 * len(pos), dtype=bool)).toarray()


def test_a_generated_disc_has_n_nodes_and_no_zero_mode_but_the_three_rigid_motions(net):
    assert len(net.pos) == 64
    w = np.linalg.eigvalsh(_unit_hessian(net.pos, net.edges))
    assert (w < 1e-9 * w.max()).sum() == 3  # two translations and a rotation, nothing floppy
    assert w[3] > 1e-6 * w.max()
    radius = np.linalg.norm(net.pos - net.pos.mean(axis=0), axis=1)
    assert radius.max() < 0.75 * np.ptp(net.pos[:, 0])  # a disc, not a strip


def test_cutting_a_disc_leaves_floppy_nodes_that_the_generator_removes(net):
    from experiments.capacity.networks import _subnetwork
    from sandbox.physics.network import disordered_network

    pos, edges = disordered_network(120, 4.6, 11, 11, np.random.default_rng(0))
    order = np.argsort(((pos - 5.5) ** 2).sum(axis=1))
    cut = _subnetwork(pos, edges, order[:70])
    w = np.linalg.eigvalsh(_unit_hessian(*cut))
    assert (w < 1e-9 * w.max()).sum() > 3 and not is_rigid(*cut)  # the cut boundary dangles
    assert is_rigid(net.pos, net.edges)


def test_the_source_is_an_unbonded_surface_pair_and_the_targets_are_unbonded_strained_pairs(net):
    source, targets = choose_pairs(net, "ghost", seed=5)
    springs = {frozenset(map(int, e)) for e in net.edges}
    assert frozenset(map(int, source)) not in springs
    assert not any(frozenset(map(int, t)) in springs for t in targets)  # ghosts: measured, never tuned
    assert set(map(int, source)) <= set(map(int, net.surface))
    radius = np.linalg.norm(net.pos - net.pos.mean(axis=0), axis=1)
    assert radius[source].min() >= radius.max() - spring_length(net.pos, net.edges)  # on the outer rim
    assert len(net.surface) < len(net.pos) / 2
    assert len({frozenset(map(int, t)) for t in targets}) == len(targets)
    assert frozenset(map(int, source)) not in {frozenset(map(int, t)) for t in targets}
    assert not set(targets.ravel()) <= set(net.surface)  # targets anywhere, not only on the rim
    eta0 = StrainResponse(net.pos, net.edges, source, targets).ratios(np.ones(len(net.edges)))
    assert np.abs(eta0).min() > 1e-9 * np.abs(eta0).max()  # pairs the source cannot strain are left out
    again = choose_pairs(net, "ghost", seed=5)
    assert np.array_equal(again[1], targets)  # the same order every time: T targets are the first T


def test_the_linear_response_ratio_is_the_strain_ratio_of_two_newton_relaxations(net):
    source, targets = choose_pairs(net, "ghost", seed=5)
    targets = targets[:6]
    k = np.random.default_rng(0).uniform(0.5, 2.0, len(net.edges))
    eta = StrainResponse(net.pos, net.edges, source, targets).ratios(k)

    rest = np.linalg.norm(net.pos[net.edges[:, 1]] - net.pos[net.edges[:, 0]], axis=1)
    roles = np.full(len(net.pos), HIDDEN)
    axes = np.ones((len(net.pos), 2), dtype=bool)
    held = pinned_coordinates(net.pos)  # rigid motions, which no strain sees
    roles[held[0] // 2] = FIXED
    axes[held[2] // 2, held[2] % 2] = False
    network = Network(net.pos, net.edges, k, rest, roles, axes)
    length = np.linalg.norm(net.pos[source[1]] - net.pos[source[0]])
    solver = NewtonSolver(tol=1e-11)

    def strains(eps):  # the source pair pulled by a stiff actuator toward strain eps: full physics
        x = solver.relax(network, net.pos, DistanceCost([source], [length * (1 + eps)]), beta=5.0, strict=True).x
        pairs = np.vstack([source, targets])
        d0 = np.linalg.norm(net.pos[pairs[:, 1]] - net.pos[pairs[:, 0]], axis=1)
        return np.linalg.norm(x[pairs[:, 1]] - x[pairs[:, 0]], axis=1) / d0 - 1

    plus, minus = strains(1e-3), strains(-1e-3)
    fd = (plus[1:] - minus[1:]) / (plus[0] - minus[0])
    assert np.allclose(fd, eta, rtol=1e-4, atol=1e-6 * np.abs(eta).max())  # O(eps^2) and Newton tolerance
    assert plus[0] == pytest.approx(1e-3, rel=0.5)  # the actuator did strain the source


def test_the_exact_gradient_matches_finite_differences_and_centered_ep_matches_it(net):
    source, targets = choose_pairs(net, "ghost", seed=5)
    task = Task(net.pos, net.edges, source, targets[:8])
    k = np.random.default_rng(1).uniform(0.5, 2.0, len(net.edges))
    quadratic = task.hinge(0.3)  # every target short of it: all terms on
    c, grad, _ = task.response.exact_gradient(k, quadratic)
    for e in np.argsort(-np.abs(grad))[:5]:
        step = np.zeros_like(k)
        step[e] = 1e-6
        fd = (task.response.cost(task.response.ratios(k + step), quadratic)
              - task.response.cost(task.response.ratios(k - step), quadratic)) / 2e-6
        assert fd == pytest.approx(grad[e], rel=1e-5)
    beta = ep_beta(task)
    _, est, _ = task.response.ep_gradient(k, quadratic, beta)
    assert np.linalg.norm(est - grad) < 1e-5 * np.linalg.norm(grad)


def test_a_pruning_step_takes_the_move_a_fresh_solve_says_lowers_the_loss_most():
    small = disc_network(32, seed=2)
    source, targets = choose_pairs(small, "ghost", seed=1)
    task = Task(small.pos, small.edges, source, targets[:5])
    pruner = Pruner(task, np.random.default_rng(0))
    loss_now = task.loss(task.eta0)
    for _ in range(3):  # the second and third steps may also put a spring back
        predicted, _ = pruner.scores()
        brute = np.full(len(small.edges), np.inf)
        for e in range(len(small.edges)):
            k = pruner.present.astype(float)
            k[e] = 1.0 - k[e]
            if e != pruner.last and is_rigid(small.pos, small.edges[k > 0]):
                brute[e] = task.loss(task.response.ratios(np.maximum(k, 0.0)))
        assert np.array_equal(np.isfinite(predicted), np.isfinite(brute))  # the same moves leave zero modes
        ok = np.isfinite(brute)
        assert np.allclose(predicted[ok], brute[ok], rtol=1e-7, atol=1e-12)
        before = pruner.present.copy()
        new = pruner.step(loss_now)
        if new is None:
            assert brute.min() >= loss_now * (1 - 1e-8)
            break
        moved = np.flatnonzero(before != pruner.present)
        assert len(moved) == 1 and brute[moved[0]] == pytest.approx(brute.min(), rel=1e-9)
        loss_now = new


def test_each_tuner_meets_a_small_task_and_the_verdict_is_a_fresh_solve(net):
    source, targets = choose_pairs(net, "ghost", seed=5)
    task = Task(net.pos, net.edges, source, targets[:3])
    for tuner in (prune, lbfgs, ep):
        out = tuner(task)
        met, loss, smallest = task.verify(out["k"])
        assert met and loss == 0.0 and smallest >= 0.0, tuner.__name__
        assert out["stopped"] == ""


def _synthetic(nu=0.74, sizes=(64, 256, 1024), networks=16, seed=3):
    """{(tuner, kind, N): {network: {T: met}}}: each network meets every T below its own
    threshold, thresholds logistic in log T around 0.5 N^nu."""
    rng = np.random.default_rng(seed)
    table = {}
    for n in sizes:
        tc = 0.5 * n ** nu
        grid = np.unique(np.round(tc * 2 ** np.linspace(-2, 2, 9)).astype(int))
        table[("prune", "ghost", n)] = {j: {int(t): bool(np.log(t) < np.log(tc) + 0.3 * rng.logistic()) for t in grid}
                                        for j in range(networks)}
    return table


def test_the_crossing_and_the_exponent_come_back_from_synthetic_runs():
    c = capacity(_synthetic(), "prune", "ghost", replicates=100)
    assert c["nu_low"] < 0.74 < c["nu_high"] and abs(c["nu"] - 0.74) < 0.1
    assert c["nu_high"] - c["nu_low"] < 0.4
    for n, tc, lo, hi in zip(c["sizes"], c["tc"], c["tc_low"], c["tc_high"]):
        assert lo <= tc <= hi and tc == pytest.approx(0.5 * n ** 0.74, rel=0.3)
    assert crossing({0: {4: True, 8: True}, 1: {4: True, 8: True}}) is None  # never below 1/2


def test_the_figure_and_table_come_from_sweep_results(tmp_path):
    rows = [{"run": f"{n}-{t}-{j}", "status": "done", "tuner": "prune", "kind": "ghost", "nodes": n,
             "network": j, "targets": t, "met": str(met)}
            for (_, _, n), nets in _synthetic().items() for j, by_t in nets.items() for t, met in by_t.items()]
    with (tmp_path / "results.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    table = read_outcomes(tmp_path / "results.csv")
    lines, results = summary(table, replicates=20)
    assert lines[0].startswith("**pruning**: exponent 0.")
    assert sum(line.startswith("| 1024 | 16 |") for line in lines) == 1
    draw(table, results, tmp_path / "capacity.png")
    assert (tmp_path / "capacity.png").stat().st_size > 20_000


def test_one_blas_thread_reaches_scipys_own_blas_loaded_after_the_limit():
    code = ("from sandbox.physics.factor import use_one_blas_thread\n"
            "use_one_blas_thread()\n"
            "import scipy.linalg\n"
            "from threadpoolctl import threadpool_info\n"
            "print(max(i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PATH": "", "OPENBLAS_NUM_THREADS": "4", "OMP_NUM_THREADS": "4",
                              "PYTHONPATH": str(__import__("pathlib").Path(__file__).parent.parent)})
    assert out.stdout.strip() == "1"
