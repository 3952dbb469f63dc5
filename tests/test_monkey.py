"""A monkey at the keyboard: a seeded random driver posts thousands of events to the window (every
key of the help, clicks and drags on nodes, springs and empty space, menu choices, resizes, edits,
scene changes) over every scene of the library and a saved copy. Nothing may escape a frame,
nothing heavy may run on the main thread, and the state stays sound after every event.

MONKEY_EVENTS sets the number of events (default 300: every scene opened twice, about 30 s of
CI on two busy cores), MONKEY_SEED the seed. A numerical warning (RuntimeWarning) in any thread
fails it. A longer soak, on a real window (an X display, e.g. Xvfb), printing the frame times:
    MONKEY_EVENTS=20000 MONKEY_REAL_WINDOW=1 SDL_VIDEODRIVER=x11 DISPLAY=:11 python -m pytest tests/test_monkey.py -n 0 -s -k the_monkey
"""

import os
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pygame
import pygame_gui
import pytest
from conftest import settle

from sandbox.learning.trainer import Trainer
from sandbox.physics.equilibrium import NewtonSolver
from sandbox.physics.world import World, WorldEngine
from sandbox.scenes import build
from sandbox.scenes.build import load_scene
from sandbox.window import engines as engines_module
from sandbox.window.app import App
from sandbox.window.background import checkpoint
from sandbox.window.commands import EDIT_KEY_COMMANDS, KEY_COMMANDS
from sandbox.window.engines import ExactEngine
from sandbox.window.library import scene_choices
from sandbox.window.session import Session

SCENES = Path(__file__).parent.parent / "scenes"
EVENTS = int(os.environ.get("MONKEY_EVENTS", "300"))
SEED = int(os.environ.get("MONKEY_SEED", "13"))
REAL_WINDOW = os.environ.get("MONKEY_REAL_WINDOW") == "1"
HEAVY = [(NewtonSolver, "relax"), (NewtonSolver, "relax_many"), (WorldEngine, "relax"), (World, "settle"),
         (World, "__init__"), (build, "build_scene"), (Trainer, "evaluate"), (Trainer, "free_states"),
         (engines_module, "settles_quickly")]


@pytest.fixture
def on_main_thread(monkeypatch):
    """Names of the heavy functions called on the main thread while the window runs."""
    seen = []

    for owner, name in HEAVY:
        original = getattr(owner, name)

        def watched(*args, _original=original, _name=name, **kwargs):
            if threading.current_thread() is threading.main_thread():
                seen.append(_name)
            return _original(*args, **kwargs)
        monkeypatch.setattr(owner, name, watched)
    return seen


@pytest.fixture
def failures(monkeypatch):
    """Exceptions the window caught at its frame boundary (there must be none)."""
    caught = []
    recover = Session.recover

    def watched(self, exc):
        caught.append(exc)
        recover(self, exc)
    monkeypatch.setattr(Session, "recover", watched)
    return caught


def check_invariants(app, step, bounds: dict):
    """bounds: {id(network): (network, its spring count, lowest k, highest k)} as each network
    (a scene opened, an edit, a cut) was first seen: learning keeps every spring within the
    rule's bounds, or within where the scene or an edit put it."""
    s = app.session
    assert app.running, step
    assert s.x.shape == (s.net.n_nodes, 2), (step, s.x.shape, s.net.n_nodes, s.caption)
    assert np.isfinite(s.x).all(), (step, s.caption, s.engine_name, s.hands.world is not None)
    k, L, r = s.net.k, s.net.L, s.rule
    assert len(k) == len(L) == s.net.n_springs and (s.net.edges < s.net.n_nodes).all(), step  # one network
    assert np.isfinite(k).all() and np.isfinite(L).all(), step
    seen = bounds.get(id(s.net))
    if seen is None or seen[0] is not s.net or seen[1] != s.net.n_springs:
        seen = bounds[id(s.net)] = (s.net, s.net.n_springs, np.minimum(k, r.k_min), np.maximum(k, r.k_max))
    assert (k >= seen[2] * (1 - 1e-9)).all(), (step, k.min(), r.k_min)
    assert (k <= seen[3] * (1 + 1e-9)).all(), (step, k.max(), r.k_max)
    assert (L > 0).all(), step
    # the engine shown is the one running: the menu and the status line say s.engine_name
    shown = next(e for e, label in app.controls.engine_labels.items() if label == app.controls.menus["engine"].selected_option[0])
    assert shown == s.engine_name, (step, s.caption, s.training.pace, s.jobs.kind(), app.controls._shown.get("engine"))
    assert isinstance(s.trainer.engine, WorldEngine) == (s.engine_name == "physical"), step


@pytest.mark.monkey
def test_the_monkey(tmp_path, monkeypatch, on_main_thread, failures):
    with warnings.catch_warnings():  # a numerical warning anywhere, in any thread, is a failure
        warnings.simplefilter("error", RuntimeWarning)
        run_the_monkey(tmp_path, monkeypatch, on_main_thread, failures)


def run_the_monkey(tmp_path, monkeypatch, on_main_thread, failures):
    monkeypatch.chdir(tmp_path)  # saves, screenshots and recordings go here
    monkeypatch.setattr(Session, "frame_wait_s", 0.002)  # (the real window gives a running job 12 ms a frame)
    rng = np.random.default_rng(SEED)
    app = App(load_scene(SCENES / "symmetrize.yaml"), size=(900, 640), headless=not REAL_WINDOW, show_help=False)
    frames = []  # how long each frame took (the window's loop waits the rest of 1/60 s)
    tick = app.tick

    def timed(*args):
        t0 = time.perf_counter()
        tick(*args)
        frames.append(time.perf_counter() - t0)
    app.tick = timed
    settle(app)
    app.exports.save_copy()  # a saved copy joins the scene menu
    settle(app)
    on_main_thread.clear()  # (the test loaded the first scene itself, as main.py does)
    scenes = list(scene_choices(app.session.source).values())
    assert any("saved" in str(p) for p in scenes)
    keys = sorted(set(KEY_COMMANDS) | set(EDIT_KEY_COMMANDS))
    kinds = ["key"] * 40 + ["node"] * 8 + ["spring"] * 6 + ["empty"] * 4 + ["drag"] * 6 + ["menu"] * 5 + \
        ["resize"] + ["edit"] * 3 + ["button"] * 3 + ["wait"] * 2
    opened, posted, bounds = set(), 0, {}
    for step in range(EVENTS):
        if step % max(1, EVENTS // (2 * len(scenes))) == 0:  # every scene, twice over
            path = scenes[(step // max(1, EVENTS // (2 * len(scenes)))) % len(scenes)]
            app.handle(pygame.event.Event(pygame_gui.UI_DROP_DOWN_MENU_CHANGED, ui_element=app.controls.menus["scene"],
                                          text=next(lbl for lbl, p in app.controls.scenes.items() if p == path)
                                          if path in app.controls.scenes.values() else list(app.controls.scenes)[0]))
            settle(app)  # (random keys may cancel an opening: this one is let through)
        kind = kinds[rng.integers(len(kinds))]
        posted += post_event(app, rng, kind, keys)
        app.tick()
        if not app.running:  # Esc twice quits: the monkey opens the window again, as it was
            app.running = True
        opened.add(app.session.scene.name)
        check_invariants(app, (step, kind), bounds)
        assert not failures, (step, kind, failures[0])  # (its traceback is on stderr)
    settle(app)
    check_invariants(app, "end", bounds)
    assert posted >= EVENTS
    assert failures == []
    assert on_main_thread == []
    assert len(opened) >= len(scenes) - 1  # (a saved copy has the name of its scene)
    frames.sort()
    print(f"\n{EVENTS} events, {len(frames)} frames: median {1e3 * frames[len(frames) // 2]:.1f} ms, "
          f"99th percentile {1e3 * frames[int(0.99 * len(frames))]:.1f} ms, longest {1e3 * frames[-1]:.1f} ms")


def post_event(app, rng, kind, keys) -> int:
    """Post one event (or a short gesture) of the given kind; the number of events posted."""
    s = app.session
    view = app.layout.view_rect()
    post = pygame.event.post
    E = pygame.event.Event

    def screen_of(points):
        return app.camera.to_screen(points) if app.camera is not None else np.zeros((len(points), 2))

    def inside(p):
        p = np.asarray(p, float)
        return (int(np.clip(p[0], view.x + 1, view.right - 2)), int(np.clip(p[1], view.y + 1, view.bottom - 2)))

    def click(p, button=1):
        post(E(pygame.MOUSEBUTTONDOWN, button=button, pos=p))
        post(E(pygame.MOUSEBUTTONUP, button=button, pos=p))
        return 2

    if kind == "key":
        key = keys[rng.integers(len(keys))]
        mod = pygame.KMOD_LSHIFT if rng.random() < 0.1 else 0
        post(E(pygame.KEYDOWN, key=key, mod=mod, unicode=""))
        return 1
    if kind == "node" and s.net.n_nodes:
        return click(inside(screen_of(s.x)[rng.integers(s.net.n_nodes)]), 1 if rng.random() < 0.8 else 3)
    if kind == "spring" and s.net.n_springs:
        a, b = s.net.edges[rng.integers(s.net.n_springs)]
        if max(a, b) < len(s.x):
            return click(inside(screen_of((s.x[a] + s.x[b])[None] / 2)[0]))
    if kind in ("empty", "spring", "node"):
        return click((int(rng.integers(view.x, view.right)), int(rng.integers(view.y, view.bottom))))
    if kind == "drag" and s.net.n_nodes:
        start = np.array(inside(screen_of(s.x)[rng.integers(s.net.n_nodes)]), float)
        button = 1 if rng.random() < 0.8 else 3
        post(E(pygame.MOUSEBUTTONDOWN, button=button, pos=inside(start)))
        n = 2
        for t in np.linspace(0, 1, 4):
            post(E(pygame.MOUSEMOTION, pos=inside(start + t * rng.normal(0, 60, 2)), rel=(0, 0), buttons=(1, 0, 0)))
            app.tick()
            n += 1
        post(E(pygame.MOUSEBUTTONUP, button=button, pos=inside(start)))
        return n
    if kind == "menu":
        menus = [app.controls.menus["rule"], app.controls.menus["engine"], app.controls.menus["learn"], app.controls.menus["color"], app.controls.menus["scene"]]
        menu = menus[rng.integers(len(menus))]
        options = [o[0] if isinstance(o, tuple) else o for o in menu.options_list]
        post(E(pygame_gui.UI_DROP_DOWN_MENU_CHANGED, ui_element=menu, text=options[rng.integers(len(options))]))
        return 1
    if kind == "resize":
        w, h = int(rng.integers(300, 1700)), int(rng.integers(200, 1100))
        post(E(pygame.VIDEORESIZE, w=w, h=h, size=(w, h)))
        return 1
    if kind == "edit":  # into edit mode and a few edit gestures
        if not s.editing:
            post(E(pygame.KEYDOWN, key=pygame.K_TAB, mod=0, unicode=""))
            app.tick()
        n = 1
        for _ in range(2):
            n += click((int(rng.integers(view.x, view.right)), int(rng.integers(view.y, view.bottom))))
            app.tick()
        return n
    if kind == "button":
        button = list(app.controls.buttons.values())[rng.integers(len(app.controls.buttons))]
        post(E(pygame_gui.UI_BUTTON_PRESSED, ui_element=button))
        return 1
    for _ in range(int(rng.integers(3, 12))):  # "wait": let frames pass, training runs
        app.tick()
    post(E(pygame.MOUSEMOTION, pos=(1, 1), rel=(0, 0), buttons=(0, 0, 0)))
    return 1


class SlowEngine(ExactEngine):
    """The exact engine made deliberately slow: every relaxation takes `seconds` (stoppable)."""

    seconds = 2.0

    def relax(self, *args, **kwargs):
        end = time.perf_counter() + self.seconds
        while time.perf_counter() < end:
            checkpoint()
            time.sleep(0.01)
        return super().relax(*args, **kwargs)


def test_with_a_slow_engine_frames_keep_coming_and_keys_are_answered(on_main_thread):
    app = App(load_scene(SCENES / "two_springs.yaml"), headless=True, show_help=False, engine="exact")
    settle(app)
    on_main_thread.clear()
    s = app.session
    s.trainer.engine = SlowEngine()
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_s, mod=0, unicode=""))
    app.tick()
    assert s.busy
    drawn, answered = len(app.frame_times), 0
    for j in range(40):  # each frame answers its key while the phase (seconds long) runs
        log = app.log_plot
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_l, mod=0, unicode=""))
        app.tick()
        answered += app.log_plot != log
        assert s.busy, j
    assert answered == 40 and len(app.frame_times) - drawn == 40
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE, mod=0, unicode=""))
    app.tick()  # Esc stops the phase (at its next checkpoint) instead of quitting
    assert app.running and "cancelled" in s.caption
    s.wait(timeout=1.0)
    assert not s.busy and s.stage is None and s.trainer.steps == 0
    assert on_main_thread == []
