"""Settings are checked when made (a ValueError names the value and why), a stalled loss says
what to try, the optimizers stay inside the trust region, and the guard's every check fires on
its own (made-up histories)."""

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import random_network, random_task

from sandbox.learning.optimizers import OptimizerState
from sandbox.learning.rules import Rule, apply_update
from sandbox.learning.trainer import Guard, Trainer
from sandbox.physics.network import FIXED, HIDDEN, OUTPUT, Network
from sandbox.scenes.build import load_scene

SCENES = Path(__file__).resolve().parent.parent / "scenes"


@pytest.mark.parametrize("settings, says", [
    ({"kind": "centred"}, r"kind 'centred' is not known \(did you mean 'centered'\?\)"),
    ({"learn": "stifness"}, r"learn 'stifness' is not known \(did you mean 'stiffness'\?\)"),
    ({"optimizer": "adm"}, r"optimizer 'adm' is not known \(did you mean 'adam'\?\)"),
    ({"rest_step": "plain"}, r"rest_step 'plain' is not known; one of scaled, gradient"),
    ({"beta": -1}, r"beta must lie in \(0, inf\) \(the nudge strength"),
    ({"beta": 0.0}, r"beta must lie in \(0, inf\)"),
    ({"lr": 0}, r"lr must lie in \(0, inf\) \(the learning rate\), not 0"),
    ({"lr": float("nan")}, r"lr must lie in \(0, inf\)"),
    ({"lr": "fast"}, r"lr must be a number"),
    ({"k_min": -1.0}, r"k_min must lie in \(0, inf\) \(a spring cannot have zero or negative stiffness\)"),
    ({"k_min": 5.0, "k_max": 1.0}, r"k_min \(5\) must be below k_max \(1\)"),
    ({"L_min": 0.0}, r"L_min must lie in \(0, inf\)"),
    ({"max_change": 1.5}, r"max_change must lie in \(0, 1\]"),
    ({"momentum": 1.0}, r"momentum must lie in \[0, 1\)"),
    ({"lr_decay": -0.1}, r"lr_decay must lie in \[0, inf\)"),
    ({"lr_rest": 0.0}, r"lr_rest must lie in \(0, inf\)"),
])
def test_a_bad_rule_is_refused_when_made_saying_which_value_and_why(settings, says):
    with pytest.raises(ValueError, match="Rule: " + says):
        Rule(**settings)


def test_a_rule_checks_a_value_set_later_and_keeps_good_ones():
    rule = Rule(kind="coupled", beta=1e-3, lr=3, momentum=0.0, max_change=1.0, lr_decay=0)
    assert (rule.kind, rule.lr, rule.momentum) == ("coupled", 3.0, 0.0)
    with pytest.raises(ValueError, match="kind 'centred'"):
        rule.kind = "centred"
    with pytest.raises(ValueError, match="k_min .* must be below k_max"):
        replace(rule, k_max=1e-4)


@pytest.mark.parametrize("change, says", [
    (lambda a: a.update(k=[1.0, -1.0]), r"k\[1\] = -1: a spring's stiffness must be positive"),
    (lambda a: a.update(L=[1.0, 0.0]), r"L\[1\] = 0: a spring's rest length must be positive"),
    (lambda a: a.update(pos=[[0, 0], [1, np.inf], [2, 0]]), r"pos\[1\] is \[ 1. inf\], not finite"),
    (lambda a: a.update(edges=[[0, 1], [1, 3]]), r"spring 1 joins nodes \[1, 3\], outside 0..2"),
    (lambda a: a.update(edges=[[0, 1], [2, 2]]), r"spring 1 joins node 2 to itself"),
    (lambda a: a.update(ids=["a", "b", "a"]), r"node ids must be distinct; 'a' appear twice"),
])
def test_a_bad_network_is_refused_when_made_saying_which_value_and_why(change, says):
    args = dict(pos=[[0, 0], [1, 0], [2, 0]], edges=[[0, 1], [1, 2]], k=[1.0, 1.0], L=[1.0, 1.0],
                roles=[FIXED, HIDDEN, FIXED])
    change(args)
    with pytest.raises(ValueError, match="Network: " + says):
        Network(**args)


def test_an_empty_network_is_a_network():
    """The editor builds half-made networks: no nodes, no springs, is not an error."""
    net = Network(np.zeros((0, 2)), np.zeros((0, 2)), [], [], [])
    assert repr(net) == "Network(0 nodes; 0 springs)" and net == net.copy()


def test_a_network_without_rest_lengths_rests_where_it_is_drawn():
    net = Network([[0, 0], [3, 4]], [[0, 1]], None, None, [FIXED, OUTPUT])
    assert net.L.tolist() == [5.0] and net.k.tolist() == [1.0]


def test_springs_outside_the_rules_bounds_are_named_when_training_starts():
    net = random_network(20, seed=1)
    net.k[3] = 5e3
    tr = Trainer(net, random_task(net), Rule(k_max=1e3))
    assert any("spring 3: k = 5000" in w for w in tr.warnings)


def test_a_loss_that_does_not_move_says_the_step_is_too_small():
    """The default Rule (lr 0.1) on Allostery: the loss stays put, and the trainer says why."""
    scene = load_scene(SCENES / "allostery.yaml")
    tr = Trainer(scene.net, scene.task, Rule())
    history = tr.fit(8)
    assert history[-1]["loss"] > 0.99 * history[0]["loss"]
    tip = [w for w in tr.warnings if w.startswith("the loss has not moved")]
    assert len(tip) == 1 and "% of k" in tip[0] and "larger learning rate (lr now 0.1)" in tip[0]
    share = float(tip[0].split("was ")[1].split("%")[0]) / 100  # the largest change it reports
    assert 0 < share < 1e-3


def test_a_loss_that_learned_says_nothing():
    scene = load_scene(SCENES / "two_springs.yaml")
    tr = Trainer.from_scene(scene)
    tr.fit(30)
    assert not [w for w in tr.warnings if w.startswith("the loss has not moved")]


def test_rest_lengths_stuck_at_rest_point_to_the_plain_gradient():
    scene = load_scene(SCENES / "allostery.yaml")
    tr = Trainer(scene.net, scene.task, Rule(lr=1e-4, learn="rest_length"))
    tr.fit(7)
    tip = [w for w in tr.warnings if w.startswith("the loss has not moved")]
    assert tip and "% of L" in tip[0] and "rest_step 'gradient'" in tip[0]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_every_optimizer_learns_allostery_and_the_trust_region_bounds_its_steps(optimizer):
    lr = {"sgd": 100.0, "momentum": 30.0, "adam": 0.05}[optimizer]
    scene = load_scene(SCENES / "allostery.yaml")
    tr = Trainer.from_scene(scene, replace(scene.rule(), optimizer=optimizer, lr=lr))
    history = tr.fit(40)
    assert not tr.stopped
    assert history[-1]["loss"] < 0.1 * history[0]["loss"]
    net = scene.net
    k0 = net.k.copy()
    huge = np.full(net.n_springs, 1e6)
    dk, _ = apply_update(net, huge, huge, Rule(lr=1e6, optimizer=optimizer, max_change=0.2), state=OptimizerState())
    assert np.all(np.abs(dk) <= 0.2 * k0 * (1 + 1e-12)) and np.abs(dk).max() > 0.1 * k0.min()


def test_momentum_carries_its_velocity_and_a_rollback_forgets_it():
    net = random_network(20, seed=2)
    rule = Rule(lr=1e-3, optimizer="momentum", momentum=0.5)
    state = OptimizerState()
    g = np.full(net.n_springs, 1.0)
    first, _ = apply_update(net, g, g, rule, state=state)
    second, _ = apply_update(net, g, g, rule, state=state)
    assert np.allclose(second, 1.5 * first)  # v = 0.5 v + g
    tr = Trainer(net, random_task(net), rule)
    tr.optimizer_state = state
    tr.fit(1)
    tr.rollback()
    third, _ = apply_update(net, g, g, rule, state=tr.optimizer_state)
    assert np.allclose(third, first)  # a fresh start


def test_adam_steps_in_log_k():
    net = random_network(20, seed=2)
    k0 = net.k.copy()
    dk, _ = apply_update(net, np.full(net.n_springs, 1e-6), 0 * k0, Rule(lr=0.01, optimizer="adam"),
                         state=OptimizerState())
    assert np.allclose(np.log(net.k / k0), -0.01, rtol=1e-4)  # the same relative step whatever the scale


# ---------------------------------------------------------------- the guard on made-up histories


def _rows(*losses):
    return [{"epoch": i, "loss": v} for i, v in enumerate(losses)]


@pytest.mark.parametrize("losses, says", [
    ((1.0, 0.5, math.nan), "not finite"),
    ((1.0, 0.5, math.inf), "not finite"),
    ((1.0, 0.5, 101.0), "grew from 1 to 101"),
    ((1.0, 0.05, 1.2), "jumped to 1.2, over 10x its best (0.05)"),  # the jump check alone
    ((1.0, 0.01, 0.02, 0.5, 2.0), "jumped to 2, over 10x its best (0.01)"),
])
def test_the_guard_refuses_each_kind_of_epoch(losses, says):
    assert says in Guard().check_epoch(_rows(*losses))


@pytest.mark.parametrize("losses", [
    (1.0, 0.01, 0.9),  # 90x its best but below the start: no jump
    (1.0, 0.05, 0.4),  # 8x its best, below the start
    (1.0, 0.2, 1.9),  # above the start but under 10x the best (0.2)
    (1.0,),
])
def test_the_guard_lets_each_acceptable_epoch_pass(losses):
    assert Guard().check_epoch(_rows(*losses)) == ""


def test_the_growth_check_at_its_limit():
    assert Guard(max_jump=1e9).check_epoch(_rows(1.0, 0.5, 100.0)) == ""  # 100x the start: not more
    assert "grew" in Guard(max_jump=1e9).check_epoch(_rows(1.0, 0.5, 100.001))


def test_the_jump_is_measured_against_the_best_before_this_epoch():
    """A history whose best is this very row would never jump: the best is taken without it."""
    rows = _rows(1.0, 0.09, 1.0001)
    assert "jumped" in Guard(jump_floor=1.0).check_epoch(rows)
    assert Guard(max_jump=12.0).check_epoch(rows) == ""  # 11.1x: under a wider jump
    assert Guard(jump_floor=1.01).check_epoch(rows) == ""  # not above 1.01 x the start


def test_the_guard_checks_an_update_at_its_limits():
    net = random_network(20, seed=3)
    rule = Rule(k_min=0.5, k_max=2.0)
    net.k = np.clip(net.k, 0.6, 1.9)
    assert Guard().check_update(net, rule, 0.0) == ""
    quarter = net.n_springs // 4
    net.k[:quarter] = rule.k_max  # exactly a quarter pinned (rounded down): allowed
    assert Guard().check_update(net, rule, 0.0) == ""
    net.k[: quarter + 2] = rule.k_min
    assert "quarter of the springs" in Guard().check_update(net, rule, 0.0)
    net.L[0] = np.nan
    assert "non-finite" in Guard().check_update(net, rule, 0.0)


def test_a_trainer_rolls_back_a_made_up_jump_to_the_epoch_before_it():
    """The jump check alone, through the trainer: an epoch whose loss (made up) jumps over 10x
    its best and above the start, under the growth limit, rolls k back to the epoch before."""
    scene = load_scene(SCENES / "two_springs.yaml")
    tr = Trainer.from_scene(scene)
    tr.fit(3)
    k_good, rows = scene.net.k.copy(), len(tr.history)
    best, start = min(r["loss"] for r in tr.history), tr.history[0]["loss"]
    made_up = max(20 * best, 2 * start)
    assert made_up < 100 * start
    real = tr._score  # what record() scores each set's free states with
    tr._score = lambda idx, xs: (made_up, math.nan) if len(idx) else real(idx, xs)
    tr.fit(1)
    assert "jumped to" in tr.stopped and "grew" not in tr.stopped
    assert np.array_equal(scene.net.k, k_good) and len(tr.history) == rows
