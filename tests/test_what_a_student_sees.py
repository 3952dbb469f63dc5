"""Each lesson played through as a student would (dummy driver, real events) up to its last
card, its own-data step included; XOR and Digits played for a while. After every step the
picture is measured (tests/student.py): the network inside its area, filling a fair part of it,
holding still unless dragged; no red banner; the response's axes still while training."""

import time
from pathlib import Path

import numpy as np
import pygame
import pygame_gui
import pytest
from conftest import settle
from student import Student

from sandbox.scenes.build import load_scene
from sandbox.window.app import App

SCENES = Path(__file__).parent.parent / "scenes"


def open_window(name, size=(1280, 800)):
    app = App(load_scene(SCENES / f"{name}.yaml"), size=size, headless=True, show_help=False)
    settle(app)
    app.teaching.live.wait()
    app.tick()
    return app


def own_example(student, plot_point, button=1):
    """Click in the response panel at plot coordinates (input, answer) or (input 1, input 2)."""
    view = student.app.teaching.view
    student.click(view.to_screen(np.array([plot_point]))[0], button)
    student.settle()


def test_lesson_one_two_springs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # (the work kept on leaving goes to saved/ here)
    app = open_window("lesson_two_springs")
    me, s = Student(app), app.session
    me.look()
    lesson = app.teaching.lesson
    while not lesson.is_last:
        me.meet(lesson.step)
    assert "slope now 0.30" in app.teaching.view.readout_text()  # the readout reached its goal
    n = s.trainer.task.n_examples
    own_example(me, (0.4, -0.1))  # an example far off the line: a new task
    assert s.trainer.task.n_examples == n + 1
    me.look()
    me.train(lambda: s.trainer.epochs_done >= 15)  # no false divergence on the new task
    assert "diverged" not in s.caption
    me.key(pygame.K_z)  # Z undoes the student's example, with the training since it
    me.settle()
    me.look()
    assert s.trainer.task.n_examples == n and s.training.paused, s.caption
    me.click(app.teaching.card.next.center)  # Next lesson
    settle(app)
    assert s.scene.name.startswith("Lesson 2") and s.training.paused and app.teaching.lesson.index == 0
    app.exports.wait()
    saved = list((tmp_path / "saved").glob("lesson_two_springs-autosave-*.yaml"))
    assert saved  # the work on lesson 1 was kept


def test_lesson_two_allostery():
    app = open_window("lesson_allostery")
    me, s = Student(app), app.session
    me.look()
    lesson = app.teaching.lesson
    while not lesson.is_last:
        step = lesson.step
        if step.wait is not None and step.wait.key == "x":  # click a spring between the pairs, X
            net = s.net
            mid = (s.x[net.edges[:, 0]] + s.x[net.edges[:, 1]]) / 2
            pairs = s.x[np.concatenate([s.trainer.task.inputs, np.ravel(s.trainer.task.outputs)])]
            e = int(np.argmin(np.linalg.norm(mid - pairs.mean(axis=0), axis=1)))
            me.click(app.camera.to_screen(mid[e]))
            assert s.hands.selected is not None
        me.meet(step)
    own_example(me, (0.1, 0.05))  # a second example: a small pull should stretch the pair
    me.look()
    me.train(lambda: s.trainer.epochs_done >= s.trainer.history[s.trainer.baseline]["epoch"] + 10)
    assert "diverged" not in s.caption


def test_lesson_three_xor():
    app = open_window("lesson_xor")
    me, s = Student(app), app.session
    me.look()
    lesson = app.teaching.lesson
    while not lesson.is_last:
        me.meet(lesson.step)
    assert s.trainer.history[-1]["accuracy"] == 1.0  # what the next card says
    own_example(me, (0.3, -0.3), button=3)  # one where C should win ...
    own_example(me, (-0.3, -0.2), button=1)  # ... and one where R should
    assert s.trainer.task.n_examples == 6
    me.train(lambda: s.trainer.epochs_done >= s.trainer.history[s.trainer.baseline]["epoch"] + 5)
    assert "diverged" not in s.caption


def test_xor_and_digits_played_for_a_while():
    for name, frames in (("xor", 150), ("digits", 40)):
        app = open_window(name)
        me, s = Student(app), app.session
        me.look()
        if name == "digits":  # it opens saying how to train it
            assert "F (fast)" in s.caption and "1,258 training examples" in s.caption
        me.key(pygame.K_SPACE)
        me.frames(frames, every=4, training=True)
        assert s.trainer.steps >= 1 if name == "xor" else s.training.seen >= 2, name  # progress
        if name == "digits":
            assert f"({s.training.seen} of 1,258 examples)" in app.status().line  # and the status says so
        me.key(pygame.K_SPACE)
        me.settle()
        me.look(training=True)


def test_lesson_four_warm():
    """Lesson 4 played through: it learns cold (card 1's hundredfold); ] three times warms it to
    kT = 1e-7 and the masses are drawn jiggling while it stands still (the fixed ones do not),
    the caption saying what a spring averages; ten warm epochs lose what it learned (card 3's
    thirtyfold); R starts again cold, the lesson going on; warmed again, B five times, and it
    learns at beta 0.032 (card 7's tenfold) up to the last card. (Epochs: a few frames at the
    normal pace on the physical engine, then fast; the pace's own claims: test_lesson_warm.py.)"""
    app = open_window("lesson_warm")
    me, s = Student(app), app.session
    me.look()
    lesson = app.teaching.lesson

    def epochs(card):  # the card's ten epochs, then the next card
        assert lesson.index == card - 1 and lesson.step.wait.epochs == 10
        goal = s.trainer.epochs_done + 10
        me.train(lambda: s.trainer.epochs_done >= goal, normal_frames=20)
        assert lesson.index == card, s.caption
        me.look()

    start = s.trainer.history[0]["loss"]
    epochs(1)  # cold
    learned = s.trainer.history[-1]["loss"]
    assert start / learned > 100
    assert not jiggles(me)  # cold: the picture holds still
    me.meet(lesson.step)  # card 2: ] until kT = 1e-7
    assert s.warmth.kT == pytest.approx(1e-7) and s.trainer.engine.temperature == pytest.approx(1e-7)
    assert jiggles(me)
    me.key(pygame.K_s)  # a stage: its caption says what a spring averages
    me.settle()
    assert " done: " in s.caption and "jiggle drawn" in s.caption
    assert "each spring averages its extension over 1 thermal snapshot (the pymunk world's Langevin" in s.caption
    epochs(3)  # warm, at beta 0.001
    assert s.trainer.history[-1]["loss"] > 30 * learned
    me.meet(lesson.step)  # card 4: R, the lesson going on from card 5
    assert s.trainer.epochs_done == 0 and s.warmth.kT == 0 and s.rule.beta == 0.001
    assert not jiggles(me)
    slider = app.controls.sliders["temperature"]  # card 5: warm again, with the slider this time
    assert app.controls.slider_labels["temperature"].text == "temperature kT  0 (cold)"
    app.handle(pygame.event.Event(pygame_gui.UI_HORIZONTAL_SLIDER_MOVED, ui_element=slider, value=-7.0))
    me.frames(2)
    assert s.warmth.kT == pytest.approx(1e-7) and lesson.index == 5
    assert app.controls.slider_labels["temperature"].text == "temperature kT  1e-07"
    me.meet(lesson.step)  # card 6: B five times
    assert s.rule.beta == pytest.approx(0.032) and s.warmth.kT == pytest.approx(1e-7)
    epochs(7)  # warm, at beta 0.032
    assert s.trainer.history[0]["loss"] / s.trainer.history[-1]["loss"] >= 10
    assert lesson.is_last and "diverged" not in s.caption


def jiggles(student) -> bool:
    """Whether the free nodes are drawn elsewhere a moment later, nothing running or held."""
    app = student.app
    student.settle()
    student.frames(2)
    before = app.camera.to_screen(app.view.drawn)
    time.sleep(0.3)
    student.frames(2)
    after = app.camera.to_screen(app.view.drawn)
    free = app.session.net.roles != 0
    assert np.array_equal(after[~free], before[~free])
    return bool(np.abs(after[free] - before[free]).max() > 1.0)
