"""Nothing is lost: Ctrl+C keeps what was learned and a run resumes from it; a divergence rolls
back to the last good state and says what to try; the window survives odd inputs."""

import csv
from pathlib import Path

import numpy as np
import pygame
import pytest
import yaml
from conftest import settle, synced

from sandbox.learning.trainer import DivergenceError, Trainer
from sandbox.runner import train_scene
from sandbox.scenes.build import load_scene
from sandbox.window.app import App
from sandbox.window.session import Session

SCENES = Path(__file__).parent.parent / "scenes"


def test_ctrl_c_saves_the_last_completed_epoch_and_a_run_resumes(tmp_path):
    scene = load_scene(SCENES / "two_springs.yaml")
    calls = {"n": 0}

    def interrupt_in_epoch_11(trainer):
        calls["n"] += 1
        if trainer.epochs_done == 10:
            raise KeyboardInterrupt

    out = tmp_path / "run"
    res = train_scene(scene, epochs=20, out_dir=out, progress=False, frame_hook=interrupt_in_epoch_11)
    assert "interrupted" in res.stopped
    saved = yaml.safe_load((out / "trained.yaml").read_text())
    assert saved["origin"]["epochs"] == 10 and "interrupted" in saved["origin"]["stopped"]
    rows = list(csv.DictReader(open(out / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == list(range(11))
    # the saved network is the one after epoch 10, not the half-updated one of epoch 11
    resumed = load_scene(out / "trained.yaml")
    again = Trainer.from_scene(resumed).record()
    assert again["loss"] == pytest.approx(float(rows[-1]["loss"]), rel=1e-9)
    assert again["loss"] < 0.01 * float(rows[0]["loss"])  # it keeps what it learned


def test_divergence_rolls_back_and_says_what_to_try(tmp_path):
    scene = load_scene(SCENES / "allostery.yaml")
    from dataclasses import replace

    rule = replace(scene.rule(), lr=1e9, max_change=1.0, k_max=1e12)
    res = train_scene(scene, epochs=30, rule=rule, out_dir=tmp_path, progress=False)
    assert res.stopped and "smaller learning rate" in res.stopped
    assert not res.met
    saved = load_scene(tmp_path / "trained.yaml")
    assert np.isfinite(saved.net.k).all() and np.isfinite(saved.net.L).all()
    assert all(np.isfinite(r["loss"]) for r in res.history)


def test_non_finite_update_is_refused_and_rolled_back():
    scene = load_scene(SCENES / "two_springs.yaml")
    tr = Trainer.from_scene(scene)
    k0 = scene.net.k.copy()
    tr.rule.lr, tr.rule.max_change = 1e12, 1.0  # every spring slammed to a bound
    with pytest.raises(DivergenceError, match="smaller learning rate"):
        tr.step([0])
    assert np.array_equal(scene.net.k, k0)


def test_window_shows_divergence_and_keeps_finite_values():
    s = synced(Session(load_scene(SCENES / "two_springs.yaml"), engine="exact"))
    s.settings.set_rule(lr=1e12, max_change=1.0)
    s.training.paused = False
    s.training.step_example()
    assert s.training.paused and "diverged" in s.caption
    assert np.isfinite(s.net.k).all()


@pytest.mark.parametrize("size", [(1, 1), (480, 360)])
def test_window_survives_tiny_sizes_and_far_away_nodes(size):
    app = App(load_scene(SCENES / "symmetrize.yaml"), size=size, headless=True, show_help=False)
    app.session.x = app.session.x + 1e6  # a node dragged far outside the view
    app.tick()
    app.draw()
    from sandbox.window.layout import MIN_SIZE

    width, height = app.screen.get_size()
    assert width >= MIN_SIZE[0] and height >= MIN_SIZE[1]  # a tiny window is opened at the smallest that fits
    pixels = pygame.surfarray.array3d(app.screen).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 10  # caption, panel and legend are drawn, not a blank frame


def test_window_with_a_single_free_node(tmp_path):
    p = tmp_path / "one.yaml"
    p.write_text("""
name: one
network:
  nodes: [{id: a, pos: [0, 0], role: fixed}, {id: b, pos: [1, 0], role: output, slide: x}]
  springs: [{between: [a, b]}]
task: {inputs: [], input: x, output: x, examples: [{inputs: [], targets: [0.1]}]}
""")
    app = App(load_scene(p), headless=True, show_help=False)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_e, mod=0, unicode=""))
    app.tick()
    settle(app)
    assert app.session.trainer.steps == 1


def test_a_crash_mid_save_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch):
    import os

    from sandbox.scenes.save import save_scene

    scene = load_scene(SCENES / "two_springs.yaml")
    out = tmp_path / "trained.yaml"
    save_scene(scene, out)
    before = out.read_bytes()
    scene.net.k = scene.net.k * 2

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_scene(scene, out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["trained.yaml"]
