"""Teaching depth: the response view shows the network's own free-state answers, examples added
and moved in it change the task and survive saving, lessons advance on their conditions, and
the window draws the view and the card, computing the response off its main loop."""

import threading
from pathlib import Path

import numpy as np
import pygame
import pytest

from sandbox.learning import response as response_module
from sandbox.learning.response import free_response, output_numbers, probe_of_scene
from sandbox.learning.trainer import Trainer
from sandbox.runner import train_scene
from sandbox.scenes import editor
from sandbox.scenes.build import build_scene, load_scene
from sandbox.scenes.messages import SceneError
from sandbox.scenes.save import save_scene
from sandbox.scenes.schema import Lesson
from sandbox.window.lesson import Event, LessonProgress
from sandbox.window.response_live import LiveResponse
from sandbox.window.session import Session
from tests.conftest import settle, synced

SCENES = Path(__file__).parent.parent / "scenes"


# ------------------------------------------------------------------ the response


@pytest.mark.parametrize("name, epochs", [("two_springs", 3), ("regression", 2), ("xor", 20), ("allostery", 5)])
def test_the_response_is_the_networks_free_state_answer_at_sampled_inputs(name, epochs):
    """Each sampled grid point, written into the scene as an example and relaxed by the trainer
    (cold, as training does), gives the value the view shows."""
    scene = load_scene(SCENES / f"{name}.yaml")
    train_scene(scene, epochs=epochs, progress=False)  # a trained network, not the symmetric start
    probe = probe_of_scene(scene)
    resp = free_response(scene.net, scene.task, probe)
    rng = np.random.default_rng(0)
    shape = resp.values.shape[:-1]
    ts = scene.spec.task
    for _ in range(4):
        idx = tuple(int(rng.integers(g)) for g in shape)
        numbers = probe.base.copy()
        for i, d in enumerate(probe.dims):
            numbers[d] = resp.axes[i][idx[i]]
        doc = editor.document(scene)
        dummy_target = None if ts.classify else np.zeros(resp.values.shape[-1])
        s = editor.add_example_at(doc, numbers, dummy_target, 0 if ts.classify else None)
        probe_scene = build_scene(doc, scene.path)
        probe_scene.net.k, probe_scene.net.L = scene.net.k, scene.net.L
        x = Trainer.from_scene(probe_scene).free_state(s).x
        want = output_numbers(probe_scene.task, probe_scene.net, ts.output, x)
        np.testing.assert_allclose(resp.values[idx], want, atol=1e-8)
        if ts.classify:
            assert resp.classes()[idx] == probe_scene.task.predict(probe_scene.net, x)


def test_scenes_with_one_or_two_inputs_have_a_response_others_not():
    shown = {p.stem: probe_of_scene(load_scene(p)) for p in sorted(SCENES.glob("*.yaml")) if p.stem != "large"}
    assert shown["two_springs"].n_dims == 1 and shown["regression"].n_dims == 1
    assert shown["xor"].n_dims == 2 and shown["xor"].dims == (0, 1)  # the bias input B stays put
    assert shown["iris"] is None  # four measurements and a bias: no picture
    lo, hi = shown["regression"].lo[0], shown["regression"].hi[0]
    assert lo < -1.0 and hi > 1.0  # the examples' range, widened


def test_the_live_response_is_computed_in_a_worker_and_follows_training():
    s = synced(Session(load_scene(SCENES / "regression.yaml"), engine="exact"))
    live = LiveResponse(s)
    live.tick(now=0.0)
    assert live._job is not None  # started, not computed here
    first = live.wait()
    assert live.current and first.values.shape == (41, 1)
    s.training.step_example()
    assert not live.current  # the network changed: the picture is stale until recomputed
    live.tick(now=10.0)
    second = live.wait()
    assert live.current and not np.allclose(first.values, second.values)


# ------------------------------------------------------------------ your own examples


def test_adding_moving_and_removing_examples_changes_the_task_undoes_and_survives_saving(tmp_path):
    s = synced(Session(load_scene(SCENES / "regression.yaml"), engine="exact"))
    live = LiveResponse(s)
    n = s.trainer.task.n_examples
    held_out = s.trainer.task.test.tolist()
    live.add([0.3], value=-0.4)
    task = s.trainer.task
    assert task.n_examples == n + 1
    assert task.test.tolist() == held_out  # the split stays; the new example trains
    np.testing.assert_allclose(task.clamps[n], [[0.3, 0.0]])
    np.testing.assert_allclose(task.targets[n], [[-0.4, 0.0]])
    live.move(n, [0.6], value=0.2)
    np.testing.assert_allclose(s.trainer.task.clamps[n], [[0.6, 0.0]])
    np.testing.assert_allclose(s.trainer.task.targets[n], [[0.2, 0.0]])
    live.remove(0)
    assert s.trainer.task.n_examples == n
    assert s.trainer.task.test.tolist() == [i - 1 for i in held_out if i > 0]
    s.training.step_example()  # and the network keeps learning the new task
    assert s.trainer.steps == 1
    path = save_scene(s.scene, tmp_path / "mine.yaml")
    again = load_scene(path)
    np.testing.assert_allclose(again.task.clamps, s.trainer.task.clamps)
    np.testing.assert_allclose(again.task.targets, s.trainer.task.targets)
    assert again.task.test.tolist() == s.trainer.task.test.tolist()
    while s.history.undo():
        pass
    original = load_scene(SCENES / "regression.yaml").task
    np.testing.assert_allclose(s.trainer.task.clamps, original.clamps)
    np.testing.assert_allclose(s.trainer.task.targets, original.targets)


def test_a_classifier_takes_new_examples_by_class_and_keeps_its_bias(tmp_path):
    s = synced(Session(load_scene(SCENES / "xor.yaml"), engine="exact"))
    live = LiveResponse(s)
    live.add([0.2, -0.3], label=1)
    live.add([-0.1, -0.4], label=0)
    task = s.trainer.task
    np.testing.assert_allclose(task.clamps[-2, :, 1], [0.2, -0.3, 0.5])  # B keeps its bias push
    assert task.labels.tolist() == [0, 1, 1, 0, 1, 0]
    live.move(4, [0.4, 0.1])
    again = load_scene(save_scene(s.scene, tmp_path / "xor-mine.yaml"))
    np.testing.assert_allclose(again.task.clamps[4, :, 1], [0.4, 0.1, 0.5])
    assert again.task.labels.tolist() == [0, 1, 1, 0, 1, 0]


def test_examples_from_a_csv_are_refused_with_the_reason():
    s = synced(Session(load_scene(SCENES / "iris.yaml"), engine="exact"))
    assert not s.history.edit(editor.add_example_at, np.zeros(5), None, 0)
    assert "iris.csv" in s.message


# ------------------------------------------------------------------ lessons


def _lesson(*waits):
    return Lesson.model_validate({"title": "t", "steps": [{"text": f"step {i}", **({"wait": w} if w else {})}
                                                         for i, w in enumerate(waits)]})


def test_lesson_steps_advance_on_their_conditions_only():
    p = LessonProgress(_lesson({"stage": "nudged"}, {"epochs": 3}, {"key": "d"}, {"drag": "in"}, {"drag": "any"}, None))
    assert p.waiting and "nudged" in p.what_it_waits_for()
    assert not p.notify(Event("stage", "free"))
    assert p.notify(Event("stage", "nudged")) and p.index == 1
    p.notify(Event("epochs", 1))
    p.notify(Event("epochs", 2))
    assert p.index == 1 and "1 more epoch" in p.what_it_waits_for()
    assert p.notify(Event("epochs", 3)) and p.index == 2
    assert not p.notify(Event("key", "x"))
    assert p.notify(Event("key", "D")) and p.index == 3
    assert not p.notify(Event("drag", "out"))
    assert p.notify(Event("drag", "in")) and p.index == 4
    assert p.notify(Event("drag", "anchor")) and p.index == 5
    assert not p.waiting and p.is_last
    p.next()
    assert p.index == 5  # the last step stays
    p.back()
    p.back()
    assert p.index == 3 and not p.waiting  # a met step does not wait again
    p.go(0)
    assert not p.notify(Event("stage", "nudged"))  # nor the first


def test_an_epoch_wait_counts_from_a_reset():
    p = LessonProgress(_lesson({"epochs": 2}), epochs_done=10)
    p.notify(Event("epochs", 0))  # R reset training
    p.notify(Event("epochs", 1))
    assert p.index == 0 and p.waiting
    p.notify(Event("epochs", 2))
    assert not p.waiting


def test_a_lesson_with_a_bad_wait_is_refused_with_its_place(tmp_path):
    text = (SCENES / "two_springs.yaml").read_text() + (
        "lesson:\n  steps:\n    - text: one\n      wait: {stage: free, key: d}\n"
        "    - text: two\n      wait: {stag: free}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(SceneError) as err:
        load_scene(bad)
    problems = "\n".join(err.value.problems)
    assert "lesson.steps[0].wait" in problems and "exactly one of" in problems
    assert "did you mean 'stage'" in problems
    bad.write_text((SCENES / "two_springs.yaml").read_text() + "lesson:\n  steps:\n    - text: x\n      wait: {drag: nobody}\n")
    with pytest.raises(SceneError, match="no node with id 'nobody'"):
        load_scene(bad)


def test_the_three_lessons_load_and_wait_only_for_things_that_exist():
    for name in ("lesson_two_springs", "lesson_allostery", "lesson_xor"):
        scene = load_scene(SCENES / f"{name}.yaml")
        assert len(scene.spec.lesson.steps) >= 5
        assert probe_of_scene(scene) is not None  # each shows the response view
        keys = {st.wait.key for st in scene.spec.lesson.steps if st.wait is not None and st.wait.key}
        assert keys <= {"x", "d", "space", "s"}


def test_the_window_opens_on_lesson_one_by_default():
    from sandbox.cli import DEFAULT_SCENE

    assert load_scene(DEFAULT_SCENE).spec.lesson is not None and "two springs" in DEFAULT_SCENE.stem.replace("_", " ")


# ------------------------------------------------------------------ the window


def _app(name, size=(1280, 800)):
    from sandbox.window.app import App

    a = App(load_scene(SCENES / f"{name}.yaml"), size=size, headless=True, show_help=False)
    settle(a)
    return a


def _post(app, kind, frames=1, **kw):
    pygame.event.post(pygame.event.Event(kind, **kw))
    settle(app, frames)


def _pixels(app, rect):
    return pygame.surfarray.array3d(app.screen)[rect.x:rect.right, rect.y:rect.bottom].astype(int)


def _ready(app):
    app.teaching.live.wait()
    app.tick()


def test_the_window_draws_the_response_and_a_click_in_it_adds_an_example_that_z_undoes():
    app = _app("regression")
    _ready(app)
    view = app.teaching.view
    assert app.teaching.response_shown and app.camera.rect.right <= view.rect.x  # the network keeps clear
    before = _pixels(app, view.rect)
    assert np.abs(before - 255).sum() > 10_000  # the panel is drawn (curve, dots, text)
    s = app.session
    n = s.trainer.task.n_examples
    pr = view.plot_rect()
    where = (pr.x + pr.width // 2 + 3, pr.y + 8)  # empty space high up: an example with a large target
    added = view.to_plot(where)
    _post(app, pygame.MOUSEBUTTONDOWN, button=1, pos=where)
    _post(app, pygame.MOUSEBUTTONUP, button=1, pos=where)
    assert s.trainer.task.n_examples == n + 1
    np.testing.assert_allclose(s.trainer.task.clamps[n, 0, 0], added[0])
    assert s.trainer.task.targets[n, 0, 0] == pytest.approx(added[1])
    _ready(app)
    assert np.abs(_pixels(app, view.rect) - before).sum() > 1000  # the new dot (and the rescaled plot)
    _post(app, pygame.KEYDOWN, key=pygame.K_z, mod=0, unicode="")
    assert s.trainer.task.n_examples == n


def test_dragging_an_example_moves_it_and_right_click_removes_it():
    app = _app("xor")
    _ready(app)
    view, s = app.teaching.view, app.session
    start = view.to_screen(view.example_points()[[1]])[0]
    _post(app, pygame.MOUSEBUTTONDOWN, button=1, pos=tuple(int(v) for v in start))
    to = (int(start[0]) + 40, int(start[1]) + 30)
    _post(app, pygame.MOUSEMOTION, pos=to, rel=(40, 30), buttons=(1, 0, 0))
    _post(app, pygame.MOUSEBUTTONUP, button=1, pos=to)
    np.testing.assert_allclose(s.trainer.task.clamps[1, :2, 1], view.to_plot(to), atol=1e-9)
    assert s.trainer.task.labels[1] == 1
    now = view.to_screen(view.example_points()[[1]])[0]
    _post(app, pygame.MOUSEBUTTONDOWN, button=3, pos=tuple(int(v) for v in now))
    assert s.trainer.task.n_examples == 3


def test_t_hides_the_response_and_the_network_takes_the_room():
    app = _app("regression")
    narrow = app.camera.rect.width
    _post(app, pygame.KEYDOWN, key=pygame.K_t, mod=0, unicode="")
    app.tick()
    assert not app.teaching.response_shown and app.camera.rect.width > narrow


def test_the_lesson_card_follows_the_window_and_its_buttons():
    app = _app("lesson_two_springs")
    lesson, card = app.teaching.lesson, app.teaching.card
    assert lesson.index == 0 and card.rect.y > app.teaching.view.rect.bottom  # under the response
    s = app.session
    at = tuple(int(v) for v in app.camera.to_screen(s.x[[s.net.ids.index("in")]])[0])
    _post(app, pygame.MOUSEBUTTONDOWN, button=1, pos=at)
    _post(app, pygame.MOUSEMOTION, pos=(at[0] + 30, at[1]), rel=(30, 0), buttons=(1, 0, 0))
    assert lesson.index == 0  # the card stays while the input is dragged ...
    _post(app, pygame.MOUSEBUTTONUP, button=1, pos=(at[0] + 30, at[1]))
    assert lesson.index == 1  # ... and moves on when it is let go
    top = card.rect.copy()
    top.height = 150
    before = _pixels(app, top)
    _post(app, pygame.MOUSEBUTTONDOWN, button=1, pos=card.next.center)
    assert lesson.index == 2
    assert np.abs(_pixels(app, top) - before).sum() > 1000  # another text
    _post(app, pygame.KEYDOWN, key=pygame.K_s, mod=0, unicode="", frames=30)
    assert s.stage is not None and lesson.index == 3  # it waited for the free stage
    _post(app, pygame.KEYDOWN, key=pygame.K_LEFT, mod=0, unicode="")
    assert lesson.index == 2
    _post(app, pygame.MOUSEBUTTONDOWN, button=1, pos=card.back.center)
    assert lesson.index == 1


def test_a_monkey_on_the_teaching_column_never_crashes_nor_relaxes_a_grid_on_the_main_loop(monkeypatch):
    """Random clicks, drags and keys over the response panel and the card of the XOR lesson: no
    error, and every response grid is computed in a worker thread."""
    threads = []
    real = response_module.free_response

    def spy(*args, **kw):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kw)

    monkeypatch.setattr("sandbox.window.response_live.free_response", spy)
    app = _app("lesson_xor", size=(1100, 720))
    rng = np.random.default_rng(1)
    keys = [pygame.K_SPACE, pygame.K_s, pygame.K_z, pygame.K_t, pygame.K_LEFT, pygame.K_RIGHT, pygame.K_f]
    for _ in range(150):
        area = app.teaching.view.rect if rng.random() < 0.7 else app.teaching.card.rect
        pos = (int(rng.integers(area.x, area.right)), int(rng.integers(area.y, area.bottom)))
        r = rng.random()
        if r < 0.4:
            _post(app, pygame.MOUSEBUTTONDOWN, button=int(rng.choice([1, 3])), pos=pos)
            _post(app, pygame.MOUSEBUTTONUP, button=1, pos=pos)
        elif r < 0.6:
            _post(app, pygame.MOUSEBUTTONDOWN, button=1, pos=pos)
            to = (pos[0] + int(rng.integers(-30, 30)), pos[1] + int(rng.integers(-30, 30)))
            _post(app, pygame.MOUSEMOTION, pos=to, rel=(0, 0), buttons=(1, 0, 0))
            _post(app, pygame.MOUSEBUTTONUP, button=1, pos=to)
        else:
            _post(app, pygame.KEYDOWN, key=int(rng.choice(keys)), mod=0, unicode="")
    app.teaching.live.wait()
    assert threads and not any(threads)
    assert app.session.trainer.task.n_examples >= 1 and app.running


def test_a_recording_shows_the_response_beside_the_network_when_there_is_one():
    from sandbox.runner import GifRecorder

    widths = {}
    for name in ("two_springs", "iris"):
        scene = load_scene(SCENES / f"{name}.yaml")
        rec = GifRecorder(scene, size=(640, 480))
        rec(Trainer.from_scene(scene))
        widths[name] = rec.film.frames[0].size[0]
    assert widths == {"two_springs": 640 + 330, "iris": 640}
