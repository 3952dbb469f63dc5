"""Hands on: dragging, cutting, undoing, saving, recording, and the EP-vs-exact view."""

from pathlib import Path

import numpy as np
import pygame
import pytest
from conftest import like, mouse, press, red_in_status, settle, spring_pixels, synced
from PIL import Image

from sandbox.drawing.render import PALETTE
from sandbox.runner import train_scene
from sandbox.scenes.build import load_scene

SCENES = Path(__file__).parent.parent / "scenes"






def test_dragging_a_node_moves_it_and_the_network_relaxes_when_released(app):
    s = synced(app.session)
    p = int(np.flatnonzero(s.net.roles == 3)[0])  # an output mass
    rest = s.x.copy()
    start = app.camera.to_screen(s.x[p])
    mouse(app, pygame.MOUSEBUTTONDOWN, start)
    assert s.hands.dragging == p
    for t in np.linspace(0, 1, 10):
        mouse(app, pygame.MOUSEMOTION, start + t * np.array([80, -60]), frames=3)
    mouse(app, pygame.MOUSEMOTION, start + np.array([80, -60]), frames=60)
    held_at = s.x[p].copy()
    goal = app.camera.to_world(start + np.array([80, -60]))
    assert np.linalg.norm(held_at - goal) < 0.05 * np.ptp(s.net.pos, axis=0).max()
    assert np.linalg.norm(held_at - rest[p]) > 0.2
    mouse(app, pygame.MOUSEBUTTONUP, start + np.array([80, -60]), frames=400)
    assert s.hands.world is None  # settled
    assert np.abs(s.x - rest).max() < 1e-4  # back to its equilibrium


def test_clicking_a_spring_inspects_it_and_x_cuts_it_everywhere(app):
    s = synced(app.session)
    a, b = s.net.edges[2]
    mid = app.camera.to_screen((s.x[a] + s.x[b]) / 2)
    mouse(app, pygame.MOUSEBUTTONDOWN, mid)
    mouse(app, pygame.MOUSEBUTTONUP, mid)
    assert s.hands.selected == 2
    info = s.hands.spring_info(2)
    assert info["ep_grad"] == pytest.approx(info["exact_grad"], rel=1e-3, abs=1e-9)
    ends = app.camera.to_screen(s.x[[a, b]])
    drawn = spring_pixels(app, ends)
    assert len(drawn) >= 3 and not like(drawn, PALETTE["background"]).any()  # the spring is drawn there
    n = s.net.n_springs
    press(app, pygame.K_x, frames=2)
    assert s.net.n_springs == n - 1
    assert not any({int(a), int(b)} == set(e) for e in s.net.edges.tolist())
    settle(app, 30)
    gone = spring_pixels(app, app.camera.to_screen(s.x[[a, b]]))
    assert like(gone, PALETTE["background"], 20).all()  # its pixels are gone from the view
    assert s.history.marks and s.history.marks[-1][1] == "cut 1"


def test_undo_restores_the_network_exactly(app):
    s = synced(app.session)
    edges, k, L = s.net.edges.copy(), s.net.k.copy(), s.net.L.copy()
    press(app, pygame.K_e)  # one update
    assert not np.array_equal(s.net.k, k)
    press(app, pygame.K_d)  # damage: cut 10%
    assert s.net.n_springs < len(edges)
    press(app, pygame.K_z)
    press(app, pygame.K_z)
    assert np.array_equal(s.net.edges, edges) and np.array_equal(s.net.k, k) and np.array_equal(s.net.L, L)


def test_divergence_banner_and_undo_to_finite_values(app):
    s = synced(app.session)
    k = s.net.k.copy()
    assert red_in_status(app) == 0
    s.settings.set_rule(lr=1e12, max_change=1.0)
    press(app, pygame.K_e)
    assert "diverged" in s.caption
    assert red_in_status(app) > 200  # the banner is drawn, in red
    assert np.isfinite(s.net.k).all() and np.array_equal(s.net.k, k)


def test_edit_then_save_writes_a_scene_that_loads_back(app, tmp_path):
    s = synced(app.session)
    s.history.cut([0])
    press(app, pygame.K_MINUS)  # a learning rate tuned in the window is saved with the network
    press(app, pygame.K_v)
    path = app.exports.save_copy(tmp_path)
    settle(app)
    again = load_scene(path)
    assert again.rule().lr == s.rule.lr and again.rule().beta == s.rule.beta == 5e-4
    assert again.net.n_springs == s.net.n_springs
    assert np.array_equal(again.net.k, s.net.k)
    assert (SCENES / "symmetrize.yaml").read_text().count("between") == 5  # source untouched


def test_recorded_gif_has_a_frame_per_epoch_and_they_differ(tmp_path):
    gif = tmp_path / "learning.gif"
    train_scene(load_scene(SCENES / "allostery.yaml"), epochs=6, progress=False, gif=gif)
    im = Image.open(gif)
    assert im.n_frames == 7
    frames = []
    for i in range(im.n_frames):
        im.seek(i)
        frames.append(np.asarray(im.convert("RGB"), dtype=int))
    assert np.abs(frames[-1] - frames[0]).sum() > 0


def test_agreement_view_turns_green_as_beta_shrinks(app):
    s = synced(app.session)
    s.settings.set_rule(beta=1e-1)
    coarse = s.hands.agreement().max()
    s.settings.set_rule(beta=1e-4)
    fine = s.hands.agreement().max()
    assert fine < 1e-3 * coarse
    edges = [(int(i), int(j)) for i, j in s.net.edges]
    tension = [spring_pixels(app, app.camera.to_screen(s.x[list(e)])) for e in edges]
    press(app, pygame.K_c)
    press(app, pygame.K_c)
    settle(app, 2)  # (EP vs exact is computed beside the window's work)
    green = [spring_pixels(app, app.camera.to_screen(s.x[list(e)])) for e in edges]
    assert all(like(g, PALETTE["stiffer"]).all() for g in green if len(g))  # every spring: EP = exact
    assert not any(like(t, PALETTE["stiffer"]).any() for t in tension if len(t))  # (not so in tension colours)
    s.settings.set_rule(beta=0.9)  # a large nudge: EP far from the exact gradient somewhere
    settle(app, 2)
    off = [spring_pixels(app, app.camera.to_screen(s.x[list(e)])) for e in edges]
    assert any(like(o, PALETTE["softer"], 90).any() for o in off if len(o))
