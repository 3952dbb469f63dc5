"""The window, driven headless by posted events: keys and buttons change what it shows, pixels
follow the model, and training in the window is the same as training headless."""

from pathlib import Path

import numpy as np
import pygame
import pytest
from conftest import press, settle

from sandbox.drawing.render import PALETTE, Camera, Drawing, draw_network
from sandbox.physics.network import FIXED, OUTPUT, Network
from sandbox.runner import train_scene
from sandbox.scenes.build import load_scene
from sandbox.window.session import Session

SCENES = Path(__file__).parent.parent / "scenes"




def step(s):
    """One stage, waited for; the stage shown."""
    s.training.step_stage()
    s.wait()
    return s.stage


def test_space_plays_and_pauses(app):
    assert app.session.training.paused
    press(app, pygame.K_SPACE, frames=450)
    assert not app.session.training.paused
    assert app.session.trainer.steps >= 1  # it trained while playing
    press(app, pygame.K_SPACE)
    assert app.session.training.paused


def test_step_a_stage_goes_free_nudged_update_and_the_caption_says_so(app):
    names = []
    batch = app.session.scene.spec.learning.batch  # symmetrize: all three examples, one update
    for _ in range(2 * batch + 1):
        press(app, pygame.K_s)
        names.append(app.session.stage.name)
        assert app.session.caption.startswith({"free": "free phase", "nudged": "nudged phase",
                                               "update": "update"}[names[-1]])
    assert names == ["free", "nudged"] * batch + ["update"]
    assert app.session.trainer.steps == 1
    assert np.abs(app.session.change).max() > 0  # the springs changed and flash


def test_the_picture_changes_between_stages(app):
    before = pygame.surfarray.array3d(app.screen).copy()
    press(app, pygame.K_s)
    press(app, pygame.K_s, frames=200)  # let the nudged phase play out
    after = pygame.surfarray.array3d(app.screen)
    view = app.layout.view_rect()
    region = (slice(view.x, view.right), slice(view.y, view.bottom))
    assert np.abs(after[region].astype(int) - before[region].astype(int)).sum() > 1000


def test_reset_and_settings(app):
    press(app, pygame.K_e)
    assert app.session.trainer.steps == 1
    lr = app.session.rule.lr
    press(app, pygame.K_PLUS)
    assert app.session.rule.lr == pytest.approx(2 * lr)
    press(app, pygame.K_v)
    assert app.session.rule.beta == pytest.approx(5e-4)
    press(app, pygame.K_u)
    assert app.session.rule.kind == "one-sided"
    press(app, pygame.K_e)  # settings apply without resetting training
    assert app.session.trainer.steps == 2
    press(app, pygame.K_r)
    assert app.session.trainer.steps == 0
    assert app.session.rule.lr == pytest.approx(lr)


def test_help_toggles_and_shows(app):
    plain = pygame.surfarray.array3d(app.screen).copy()
    press(app, pygame.K_h)
    assert app.show_help
    shaded = pygame.surfarray.array3d(app.screen)
    assert shaded.mean() < plain.mean() - 10  # the overlay darkens the window
    press(app, pygame.K_ESCAPE)
    assert not app.show_help and app.running
    press(app, pygame.K_h)
    press(app, pygame.K_TAB)  # any key closes the help, and does nothing else
    assert not app.show_help and not app.session.editing
    press(app, pygame.K_h)
    pos = app.controls.buttons["Stage"].rect.center  # so does a click, even on a button
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=pos))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=pos))
    app.tick()
    assert not app.show_help and app.session.stage is None
    press(app, pygame.K_ESCAPE)
    assert not app.running


def test_button_click_steps(app):
    pos = app.controls.buttons["Stage"].rect.center
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=pos))
    app.tick()
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=pos))
    app.tick()
    settle(app)
    assert app.session.stage is not None and app.session.stage.name == "free"


def test_screenshot_key_writes_a_png(app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    press(app, pygame.K_F12)
    shots = list((tmp_path / "screenshots").glob("*.png"))
    assert len(shots) == 1
    assert pygame.image.load(str(shots[0])).get_size() == app.size


def _two_spring_picture(k, L):
    net = Network([[0, 0], [1, 0], [0, 1]], [[0, 1], [0, 2]], k, L, [FIXED, OUTPUT, FIXED])
    surf = pygame.Surface((400, 400))
    surf.fill(PALETTE["background"])
    cam = Camera(surf.get_rect(), np.array([0.5, 0.5]), 300.0)
    draw_network(surf, cam, net, net.pos, 1.0, Drawing())
    return pygame.surfarray.array3d(surf), cam


def _column_thickness(img, x, y0, y1):
    col = img[x, y0:y1].astype(int)
    return int((np.abs(col - np.array(PALETTE["background"])).sum(axis=1) > 30).sum())


def test_a_stiffer_spring_is_drawn_wider():
    img, cam = _two_spring_picture([8.0, 0.5], [1.0, 1.0])
    # spring 0 is horizontal (measure a column across it), spring 1 vertical (a row across it)
    px, py = cam.to_screen(np.array([0.5, 0.0])).astype(int)
    qx, qy = cam.to_screen(np.array([0.0, 0.5])).astype(int)
    wide = _column_thickness(img, px, py - 20, py + 20)
    narrow = _column_thickness(img.transpose(1, 0, 2), qy, qx - 20, qx + 20)
    assert wide > narrow + 3


def test_colours_follow_tension():
    img, cam = _two_spring_picture([1.0, 1.0], [0.8, 1.2])  # spring 0 stretched, spring 1 compressed
    px, py = cam.to_screen(np.array([0.5, 0.0])).astype(int)
    qx, qy = cam.to_screen(np.array([0.0, 0.5])).astype(int)
    r, g, b = img[px, py].astype(int)
    assert r > b + 50  # stretched: red
    r, g, b = img[qx, qy].astype(int)
    assert b > r + 50  # compressed: blue


def test_training_in_the_window_equals_training_headless():
    epochs = 3
    sc = load_scene(SCENES / "allostery.yaml")
    train_scene(sc, epochs=epochs, progress=False)
    window = Session(load_scene(SCENES / "allostery.yaml"), engine="exact").wait()
    window.training.run_epochs(epochs)
    window.wait()
    assert window.trainer.epochs_done == epochs
    # the same batches and updates; only the solver's reused factorizations round differently
    assert np.allclose(window.net.k, sc.net.k, rtol=1e-9, atol=0)
    assert not np.allclose(window.net.k, 1.0)


def test_open_another_scene_from_the_window(app):
    press(app, pygame.K_o)
    assert app.session.source.name != "symmetrize.yaml"
    assert app.session.scene.name != "Symmetrize"


def test_the_window_opens_on_the_physical_engine_only_where_it_settles_quickly():
    from sandbox.scenes.build import load_scene
    from sandbox.window.engines import settles_quickly

    scenes = Path(__file__).parent.parent / "scenes"
    assert settles_quickly(load_scene(scenes / "symmetrize.yaml"))
    assert not settles_quickly(load_scene(scenes / "regression.yaml"))  # 40 nodes, but ill-conditioned


def test_a_slow_physical_stage_runs_in_the_background_and_shows_live():
    from sandbox.scenes.build import load_scene
    from sandbox.window.session import Session

    s = Session(load_scene(Path(__file__).parent.parent / "scenes" / "allostery.yaml"), engine="physical").wait()
    s.training.paused = False
    x0 = s.x.copy()
    s.tick()
    assert s.busy and "settling" in s.caption  # a free phase of 120 nodes takes pymunk seconds
    seen = []
    for _ in range(10):
        s.tick(0.01)  # each frame returns after its budget, the stage still computing
        seen.append(s.x.copy())
    assert s.busy
    assert any(np.abs(x - x0).max() > 1e-6 for x in seen)  # the world's motion, as it happens
    n = s.net.n_springs
    s.history.cut([0])  # cancels the stage (it stops at the world's next check), then cuts
    assert s.jobs.job.cancelled and s.net.n_springs == n
    s.wait()
    assert s.net.n_springs == n - 1 and s.stage is None


def test_the_magnified_nudge_goes_at_most_halfway_to_the_targets():
    from sandbox.scenes.build import load_scene
    from sandbox.window.session import Session

    s = Session(load_scene(Path(__file__).parent.parent / "scenes" / "symmetrize.yaml"), engine="exact").wait()
    s.training.run_epochs(3)  # close to the targets: the real nudge is tiny
    while step(s).name != "nudged":
        pass
    st, task = s.stage, s.trainer.task
    shown = s.frames[-1]
    gap = np.linalg.norm(task.target_points(s.net, st.example, st.x_free) - task.output_points(st.x_free), axis=1).max()
    moved = np.linalg.norm(task.output_points(shown) - task.output_points(st.x_free), axis=1).max()
    assert s.magnify > 1 and 0 < moved <= 0.5 * gap * (1 + 1e-9)


def test_quitting_with_unsaved_learning_asks_first_and_the_close_button_saves_it(app, tmp_path, monkeypatch):
    from sandbox.scenes.build import load_scene

    monkeypatch.chdir(tmp_path)
    press(app, pygame.K_e)  # one update: something to lose
    press(app, pygame.K_ESCAPE)
    assert app.running and "not saved" in app.session.caption
    press(app, pygame.K_ESCAPE)
    assert not app.running  # asked once; the second Esc means it
    app.running = True
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    app.tick()
    assert not app.running
    saved = list((tmp_path / "saved").glob("symmetrize-autosave-*.yaml"))
    assert len(saved) == 1
    np.testing.assert_array_equal(load_scene(saved[0]).net.k, app.session.net.k)
    assert not app.session.unsaved


def test_physical_stages_replay_their_own_relaxation():
    """The free stage shows the world settling from the clamped start; the nudged stage shows
    the nudged run (not the last one computed, which for centered EP is the negative nudge)."""
    from sandbox.scenes.build import load_scene
    from sandbox.window.session import Session

    s = Session(load_scene(Path(__file__).parent.parent / "scenes" / "symmetrize.yaml"), engine="physical").wait()
    st = step(s)
    frames = list(s.frames)
    assert st.name == "free"
    start = s.trainer.task.start(s.net, st.example)
    np.testing.assert_allclose(frames[0], start)  # from where the inputs were clamped ...
    np.testing.assert_array_equal(frames[-1], st.x)  # ... to the free equilibrium
    s.frames.clear()
    st = step(s)
    frames = np.array(s.frames)
    assert st.name == "nudged"
    out = s.trainer.task.outputs
    path = np.linalg.norm(np.diff(frames[:, out], axis=0), axis=2).sum(axis=0)
    travel = np.linalg.norm(frames[-1, out] - frames[0, out], axis=1)
    assert np.all(path <= 1.05 * travel + 1e-12)  # straight toward the nudged state, no detour or jump


def test_small_networks_name_their_inputs_and_outputs():
    from sandbox.drawing.render import Drawing, render_surface
    from sandbox.scenes.build import load_scene

    scene = load_scene(Path(__file__).parent.parent / "scenes" / "xor.yaml")
    x = scene.net.pos
    plain = pygame.surfarray.array3d(render_surface(scene.net, x, (500, 400), extra=Drawing()))
    named = pygame.surfarray.array3d(render_surface(scene.net, x, (500, 400), extra=Drawing(labels={6: "C", 7: "R"})))
    assert np.abs(named.astype(int) - plain).sum() > 2000  # two names written beside the outputs


def test_the_window_opens_digits_on_the_exact_engine_and_shows_the_image():
    """An example of the digits shows its 8x8 pixels on the input nodes (dark where the pen was)
    and names the ten beads by their digits; the window opens it on the exact engine."""
    from sandbox.drawing.render import drawing_for
    from sandbox.window.app import App

    app = App(load_scene(SCENES / "digits.yaml"), size=(1100, 720), headless=True, show_help=False)
    app.tick()
    s = app.session
    assert s.scene.name == "Digits" and s.engine_name == "exact"
    task = s.trainer.task
    marks = drawing_for(s.scene, task, s.example, s.x)
    assert sorted(marks.labels.values()) == [str(d) for d in range(10)]
    assert int(task.inputs[64]) not in marks.shades  # the bias is no pixel
    shades = np.array([marks.shades.get(int(i), 0.0) for i in task.inputs[:64]])  # (a pixel blank in every image: unshaded)
    raw = np.loadtxt(SCENES.parent / "assets" / "digits.csv", delimiter=",", skiprows=1)[s.example, :64]
    ink, blank = shades[raw >= 12], shades[raw == 0]
    assert ink.min() > 0.6 and blank.max() < 0.05  # the image is the example's own pixels
    img = pygame.surfarray.array3d(app.screen)
    x, y = app.camera.to_screen(s.net.pos[task.inputs[int(np.argmax(raw))]]).astype(int)
    assert img[x + 6, y + 6].sum() < np.array(PALETTE["background"]).sum() - 150  # drawn dark beside the node
