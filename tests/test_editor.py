"""Editing scenes: document edits keep the task consistent, the window edits with the mouse,
everything is undoable, and what is saved loads back as it was shown. Recording a GIF from the window."""

from pathlib import Path

import numpy as np
import pygame
import pytest
from conftest import click, drag, press, settle, synced
from PIL import Image

from sandbox.scenes import editor
from sandbox.scenes.build import build_scene, load_scene
from sandbox.scenes.save import save_scene

SCENES = Path(__file__).parent.parent / "scenes"










def test_a_new_output_node_with_a_target_saves_and_loads_back(tmp_path):
    scene = load_scene(SCENES / "symmetrize.yaml")
    doc = editor.document(scene)
    new = editor.add_node(doc, (1.5, 1.75), connect_to="P")
    editor.toggle_spring(doc, new, "Q")
    editor.set_role(doc, new, "output")
    editor.set_target(doc, 1, new, (0.0, 0.2))
    edited = build_scene(doc, scene.path)  # strict: the new node is held by two springs
    assert edited.net.n_nodes == scene.net.n_nodes + 1
    assert edited.net.n_springs == scene.net.n_springs + 2
    out = list(edited.task.outputs)
    assert edited.net.ids[out[-1]] == str(new)
    path = save_scene(edited, tmp_path / "edited.yaml")
    again = load_scene(path)
    o = again.net.ids.index(str(new))
    assert again.net.roles[o] == 3 and o == again.task.outputs[-1]
    # the scene's outputs move along y: the target keeps its y, and other examples get zero
    assert again.task.targets[1, -1, 1] == pytest.approx(0.2)
    assert np.all(again.task.targets[[0, 2], -1] == 0)
    np.testing.assert_array_equal(again.task.targets[:, :-1], scene.task.targets)
    np.testing.assert_array_equal(again.net.k[: scene.net.n_springs], scene.net.k)


def test_a_new_input_gets_a_zero_clamp_and_takes_it_away_again():
    scene = load_scene(SCENES / "regression.yaml")  # inputs move along x
    doc = editor.document(scene)
    hidden = next(i for i, r in enumerate(scene.net.roles) if r == 2)
    nid = scene.net.ids[hidden]
    editor.set_role(doc, nid, "input")
    grown = build_scene(doc, scene.path)
    m = scene.task.clamps.shape[1]
    assert grown.task.clamps.shape == (scene.task.n_examples, m + 1, 2)
    assert np.all(grown.task.clamps[:, -1] == 0)
    np.testing.assert_array_equal(grown.task.clamps[:, :m], scene.task.clamps)
    editor.remove_node(doc, nid)
    shrunk = build_scene(doc, scene.path, lenient=True)
    np.testing.assert_array_equal(shrunk.task.clamps, scene.task.clamps)
    assert shrunk.net.n_nodes == scene.net.n_nodes - 1
    assert not any(nid in (shrunk.net.ids[a], shrunk.net.ids[b]) for a, b in shrunk.net.edges)


def test_loose_nodes_until_two_springs_hold_a_new_node():
    scene = load_scene(SCENES / "symmetrize.yaml")
    doc = editor.document(scene)
    new = editor.add_node(doc, (1.5, 1.75))
    idx = len(doc["network"]["nodes"]) - 1

    def loose():
        return editor.loose_nodes(build_scene(doc, scene.path, lenient=True).net)

    assert loose() == [idx]  # no spring: it would float away
    editor.toggle_spring(doc, new, "P")
    assert loose() == [idx]  # one spring: it swings freely
    editor.toggle_spring(doc, new, "Q")
    assert loose() == []
    editor.toggle_spring(doc, new, "Q")  # the same pair again takes the spring away
    assert loose() == [idx]


def test_refused_edits_change_nothing_and_say_why(app):
    s = synced(app.session)
    edges, roles = s.net.edges.copy(), s.net.roles.copy()
    outputs = [s.net.ids[i] for i in s.trainer.task.outputs]
    s.edit.start()
    s.edit.picked = s.net.ids.index(outputs[0])
    s.edit.set_role("hidden")
    s.edit.picked = s.net.ids.index(outputs[1])
    s.edit.set_role("hidden")  # the last output: a scene needs one
    assert "cannot" in s.caption and "output" in s.caption
    assert list(s.trainer.task.outputs) == [s.net.ids.index(outputs[1])]
    s.history.undo()
    np.testing.assert_array_equal(s.net.edges, edges)
    np.testing.assert_array_equal(s.net.roles, roles)


def test_a_csv_scene_refuses_a_new_input_naming_its_file():
    from sandbox.window.session import Session

    s = synced(Session(load_scene(SCENES / "iris.yaml"), engine="exact"))
    s.edit.start()
    s.edit.picked = int(np.flatnonzero(s.net.roles == 2)[0])
    n_inputs = len(s.trainer.task.inputs)
    s.edit.set_role("input")
    assert "iris.csv" in s.caption
    assert len(s.trainer.task.inputs) == n_inputs and not s.history.stack


def test_editing_in_the_window_with_the_mouse_then_save_and_undo(app, tmp_path):
    s = synced(app.session)
    before = (s.net.pos.copy(), s.net.edges.copy(), s.net.k.copy(), s.net.L.copy(), s.net.roles.copy())
    picture = pygame.surfarray.array3d(app.screen).copy()
    press(app, pygame.K_TAB)
    assert s.editing
    assert np.abs(pygame.surfarray.array3d(app.screen).astype(int) - picture).sum() > 1000  # markers shown

    def at(i):
        return app.camera.to_screen(s.x[i])

    P, Q = s.net.ids.index("P"), s.net.ids.index("Q")
    drag(app, at(P), (at(P) + at(Q)) / 2 + np.array([0, -120]))  # a spring out of P to a new node
    new = s.net.n_nodes - 1
    assert s.net.n_nodes == len(before[0]) + 1 and s.net.n_springs == len(before[1]) + 1
    assert s.edit.loose == [new]
    press(app, pygame.K_TAB)
    assert s.editing and "move freely" in s.caption  # cannot leave with a node that swings
    drag(app, at(new), at(Q))  # and one to Q: now it holds
    assert s.edit.loose == []
    click(app, at(new))
    assert s.edit.picked == new
    press(app, pygame.K_4)
    assert s.net.roles[new] == 3 and s.trainer.task.outputs[-1] == new
    targets, _ = s.edit.markers()
    old_target = s.trainer.task.targets[s.example, -1].copy()
    drag(app, app.camera.to_screen(targets[-1]), app.camera.to_screen(targets[-1]) + np.array([0, -40]))
    assert s.trainer.task.targets[s.example, -1, 1] > old_target[1] + 0.05  # up on screen is up
    rest_before = s.net.pos[new].copy()
    drag(app, at(new), at(new) + np.array([20, 0]), button=3)  # right-drag moves it
    assert s.net.pos[new, 0] > rest_before[0] + 0.05
    n_history = len(s.trainer.history)
    press(app, pygame.K_TAB, frames=25)
    assert not s.editing
    assert len(s.trainer.history) == n_history + 1 and s.history.marks[-1][1] == "edit"
    press(app, pygame.K_e)  # it trains
    assert s.trainer.steps == 1

    path = app.exports.save_copy(tmp_path)
    settle(app)
    again = load_scene(path)
    assert again.net.n_nodes == s.net.n_nodes and again.net.roles[new] == 3
    np.testing.assert_allclose(again.net.pos[new], s.net.pos[new])
    np.testing.assert_array_equal(again.task.targets, s.trainer.task.targets)

    while s.history.undo():
        pass
    for was, now in zip(before, (s.net.pos, s.net.edges, s.net.k, s.net.L, s.net.roles)):
        np.testing.assert_array_equal(was, now)


def test_recording_the_window_makes_a_gif_of_what_it_showed_as_long_as_it_lasted(app, tmp_path, monkeypatch):
    import time

    monkeypatch.chdir(tmp_path)
    press(app, pygame.K_g)
    assert app.exports.film is not None
    started = time.perf_counter()
    press(app, pygame.K_SPACE, frames=60)  # train while recording: a GIF frame every 100 ms
    while time.perf_counter() - started < 1.0:  # (however fast the frames come)
        app.tick()
    press(app, pygame.K_SPACE)  # (paused: no stage's caption takes the place of the message)
    press(app, pygame.K_g)
    wall = time.perf_counter() - started
    assert app.exports.film is None
    assert "recordings/" in app.session.caption  # the message names the folder
    gifs = list((tmp_path / "recordings").glob("*.gif"))
    assert len(gifs) == 1
    im = Image.open(gifs[0])
    assert im.size == (app.size[0] // 2, app.size[1] // 2)
    frames, total_ms = [], 0
    for i in range(im.n_frames):
        im.seek(i)
        total_ms += im.info["duration"]
        frames.append(np.asarray(im.convert("RGB"), dtype=int))
    assert abs(total_ms / 1000 - wall) < 0.1 * wall + 0.1  # the GIF lasts as long as the recording
    assert im.n_frames >= 3 and np.abs(frames[-1] - frames[0]).sum() > 1000


def test_shift_w_twice_saves_over_the_source_and_anything_else_keeps_it(tmp_path):
    import shutil

    from sandbox.window.app import App

    src = tmp_path / "mine.yaml"
    shutil.copy(SCENES / "symmetrize.yaml", src)
    text = src.read_text()
    app = App(load_scene(src), size=(900, 600), headless=True, show_help=False)
    app.tick()
    app.session.history.cut([0])

    def shift_w():
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_w, mod=pygame.KMOD_LSHIFT, unicode="W"))
        app.tick()
        settle(app)

    shift_w()
    assert src.read_text() == text and "again" in app.session.caption
    press(app, pygame.K_l)  # any other key: the answer is no
    shift_w()
    assert src.read_text() == text
    shift_w()
    assert load_scene(src).net.n_springs == 4  # saved over the source, with the cut


def test_a_save_that_cannot_be_written_says_so_instead_of_crashing(app, tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the folder should be")
    app.exports.save_copy(blocker)  # written in the background: the caption says how it went
    settle(app)
    assert "not saved" in app.session.caption
    app.exports.screenshot(blocker)
    settle(app)
    assert "not saved" in app.session.caption and blocker.is_file()


def test_while_a_node_is_loose_the_views_that_need_equilibria_wait(app):
    s = synced(app.session)
    press(app, pygame.K_TAB)
    click(app, app.layout.view_rect().move(40, 40).topleft)  # a lone node: the network cannot relax
    assert s.edit.loose
    press(app, pygame.K_n)  # the next example's markers, on the same drawing
    assert s.editing and s.example == 1
    np.testing.assert_array_equal(s.x, s.net.pos)
    app.color_mode = "agreement"
    app.tick()  # no equilibrium, so no agreement colours: the drawing carries on
    assert s.hands.agreement() is None and s.hands.spring_info(0) is None


def test_a_saved_copy_joins_the_scene_menu_and_opens_from_it(app, tmp_path, monkeypatch):
    import pygame_gui

    monkeypatch.chdir(tmp_path)
    s = synced(app.session)
    s.history.cut([0])
    path = app.exports.save_copy()
    settle(app)
    label = next(lbl for lbl, p in app.controls.scenes.items() if p == path)
    assert label.startswith(f"{app.session.scene.name}, saved ")  # its scene's name and when
    press(app, pygame.K_r)  # back to the library scene, uncut
    assert s.net.n_springs == 5
    app.handle(pygame.event.Event(pygame_gui.UI_DROP_DOWN_MENU_CHANGED, ui_element=app.controls.menus["scene"], text=label))
    settle(app)
    assert app.session.source == path and app.session.net.n_springs == 4
    assert app.controls.menus["scene"].selected_option[0] == label  # the menu names what is open


def test_dragging_the_markers_of_a_strain_scene_sets_its_strains():
    from sandbox.window.session import Session

    s = synced(Session(load_scene(SCENES / "allostery.yaml"), engine="exact"))
    s.edit.start()
    task = s.trainer.task
    a, b = task.outputs[0]
    d0 = np.linalg.norm(s.net.pos[b] - s.net.pos[a])
    targets, clamps = s.edit.markers()
    pull = targets[1] + 0.2 * d0 * (targets[1] - targets[0]) / np.linalg.norm(targets[1] - targets[0])
    s.edit.take("target", 1, targets[1])
    s.edit.move_to(pull)
    s.edit.let_go()
    wanted = np.linalg.norm(pull - targets[0])  # the pair's ends: where they were dropped
    assert s.trainer.task.targets[s.example, 0] == pytest.approx(wanted)
    i0, i1 = s.trainer.task.inputs
    gap = s.net.pos[i1] - s.net.pos[i0]
    s.edit.take("clamp", 1, clamps[1])
    s.edit.move_to(s.net.pos[i1] + 0.15 * gap)  # the second input dragged out to 30% strain
    s.edit.let_go()
    np.testing.assert_allclose(s.trainer.task.clamps[s.example], [-0.15 * gap, 0.15 * gap], atol=1e-12)


def test_a_strain_scene_makes_and_drops_pairs_with_two_presses():
    from sandbox.window.session import Session

    s = synced(Session(load_scene(SCENES / "allostery.yaml"), engine="exact"))
    s.edit.start()
    old_out = [int(i) for i in s.trainer.task.outputs.ravel()]
    old_in = [int(i) for i in s.trainer.task.inputs]
    hidden = [int(i) for i in np.flatnonzero(s.net.roles == 2)]
    a, b, c, d = hidden[10], hidden[11], hidden[40], hidden[41]

    s.edit.picked = a
    s.edit.set_role("output")
    assert s.edit.pending == ("output", a) and s.trainer.task.outputs.shape == (1, 2)  # waiting for the other end
    s.edit.picked = b
    s.edit.set_role("output")
    assert s.trainer.task.outputs.tolist() == [old_out, [a, b]]
    d0 = np.linalg.norm(s.net.pos[b] - s.net.pos[a])
    np.testing.assert_allclose(s.trainer.task.targets[:, 1], d0)  # strain 0 until dragged

    s.edit.picked = old_out[1]
    s.edit.set_role("hidden")  # one end goes: the pair goes
    assert s.trainer.task.outputs.tolist() == [[a, b]] and s.net.roles[old_out[0]] == 2

    s.edit.picked = c
    s.edit.set_role("input")
    s.edit.picked = d
    s.edit.set_role("input")  # the input pair moves
    assert s.trainer.task.inputs.tolist() == [c, d] and all(s.net.roles[i] == 2 for i in old_in)
    strain = load_scene(SCENES / "allostery.yaml").spec.task.examples[0].inputs
    gap = s.net.pos[d] - s.net.pos[c]
    np.testing.assert_allclose(s.trainer.task.clamps[0], [-0.5 * strain * gap, 0.5 * strain * gap])
    assert s.edit.stop()


def test_keys_while_editing_remove_the_picked_node_and_add_an_example(app):
    s = synced(app.session)
    press(app, pygame.K_TAB)
    n, n_examples, n_springs = s.net.n_nodes, s.trainer.task.n_examples, s.net.n_springs
    P = s.net.ids.index("P")
    click(app, app.camera.to_screen(s.x[P]))
    assert s.edit.picked == P
    press(app, pygame.K_x)  # P goes, with its three springs and its place among the outputs
    assert s.net.n_nodes == n - 1 and "P" not in s.net.ids and s.net.n_springs == n_springs - 3
    assert s.trainer.task.targets.shape[1] == 1
    press(app, pygame.K_a)
    assert s.trainer.task.n_examples == n_examples + 1 and s.example == n_examples
    np.testing.assert_array_equal(s.trainer.task.clamps[-1], s.trainer.task.clamps[0])  # a copy of example 0
    press(app, pygame.K_z)
    press(app, pygame.K_z)
    assert s.net.n_nodes == n and s.trainer.task.n_examples == n_examples


def test_plus_and_minus_while_editing_change_the_selected_springs_stiffness(app):
    s = synced(app.session)
    press(app, pygame.K_TAB)
    a, b = s.net.edges[1]
    click(app, app.camera.to_screen((s.x[a] + s.x[b]) / 2))
    assert s.hands.selected == 1
    k, lr = s.net.k.copy(), s.rule.lr
    press(app, pygame.K_PLUS)
    assert s.net.k[1] == 2 * k[1] and s.hands.selected == 1 and s.rule.lr == lr  # not the learning rate
    np.testing.assert_array_equal(np.delete(s.net.k, 1), np.delete(k, 1))
    press(app, pygame.K_MINUS)
    press(app, pygame.K_MINUS)
    assert s.net.k[1] == pytest.approx(0.5 * k[1])


@pytest.mark.parametrize("name", ["two_springs", "symmetrize", "allostery", "xor", "iris"])
def test_random_edits_never_crash_and_undo_all_the_way_back(name):
    """Random edits of every kind, including ones the scene must refuse: none raises, every state
    builds, and undoing them all (up to the undo depth) gives back the network exactly."""
    from sandbox.window.history import UNDO_DEPTH
    from sandbox.window.session import Session

    s = synced(Session(load_scene(SCENES / f"{name}.yaml"), engine="exact"))
    before = (s.net.pos.copy(), s.net.edges.copy(), s.net.k.copy(), s.net.L.copy(), s.net.roles.copy(),
              s.trainer.task.clamps.copy(), s.trainer.task.targets.copy())
    rng = np.random.default_rng(0)
    s.edit.start()
    lo, hi = s.net.pos.min(axis=0) - 1, s.net.pos.max(axis=0) + 1
    for _ in range(200):
        if len(s.history.stack) == UNDO_DEPTH - 20:  # room for the clean-up and the update below
            break
        n = s.net.n_nodes
        s.edit.picked = int(rng.integers(n))
        op = rng.integers(9)
        if op == 0:
            s.edit.click_empty(rng.uniform(lo, hi))
        elif op == 1:
            s.edit.link(int(rng.integers(n)), int(rng.integers(n)))
        elif op == 2:
            s.edit.link(int(rng.integers(n)), None, rng.uniform(lo, hi))
        elif op == 3:
            s.edit.set_role(["fixed", "input", "hidden", "output"][rng.integers(4)])
        elif op == 4 and rng.random() < 0.3:
            s.edit.remove_picked()
        elif op == 5:
            s.edit.take("node", s.edit.picked, s.x[s.edit.picked])
            s.edit.move_to(s.x[s.edit.picked] + rng.normal(0, 0.3, 2))
            s.edit.let_go()
        elif op == 6:
            targets, clamps = s.edit.markers()
            what, points = ("target", targets) if rng.random() < 0.5 else ("clamp", clamps)
            if len(points):
                j = int(rng.integers(len(points)))
                s.edit.take(what, j, points[j])
                s.edit.move_to(points[j] + rng.normal(0, 0.2, 2))
                s.edit.let_go()
        elif op == 7:
            s.edit.add_example()
        elif op == 8 and s.net.n_springs:
            s.hands.selected = int(rng.integers(s.net.n_springs))
            s.edit.scale_selected(2.0 if rng.random() < 0.5 else 0.5)
        assert s.editing and s.x.shape == (s.net.n_nodes, 2)
    assert len(s.history.stack) > 20  # many edits were taken (others refused, with a message)
    for _ in range(18):  # take away what swings free, then whatever came out trains (or says why not)
        if not s.edit.loose:
            break
        s.edit.picked = s.edit.loose[0]
        s.edit.remove_picked()
    if s.edit.stop():
        s.training.step_example()
        assert s.trainer.steps == 1 or s.message
    while s.history.undo():
        pass
    now = (s.net.pos, s.net.edges, s.net.k, s.net.L, s.net.roles, s.trainer.task.clamps, s.trainer.task.targets)
    for was, is_ in zip(before, now):
        np.testing.assert_array_equal(was, is_)


def test_a_node_on_one_spring_is_loose_even_in_a_large_network():
    from sandbox.window.session import Session

    s = synced(Session(load_scene(SCENES / "large.yaml"), engine="exact"))  # too large for the rigidity check
    s.edit.start()
    s.edit.link(0, None, s.net.pos[0] + [0.0, -0.7])  # a new node hanging from node 0 on one spring
    new = s.net.n_nodes - 1
    assert s.edit.loose == [new]
    assert not s.edit.stop() and "n2250" in s.caption
