"""Every lesson, step by step, as a student sees it: the window (off-screen) is driven with the
same events a student makes (a drag, S, Space and F, a click on a spring and X, ] and B, Next),
and each step's card is captured as a PNG, with an index page listing the steps.

    python main.py lessons --out docs/lessons
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pygame
from PIL import Image

from ..files import write_atomic
from ..scenes.build import load_scene
from .app import App
from .library import lessons, scene_name

MAX_FRAMES = 4000  # frames a step may take to be met (a wait of tens of epochs, trained fast)


class Tour:
    """Drives an App (headless) through its scene's lesson."""

    def __init__(self, app: App):
        self.app = app

    def key(self, key, frames: int = 1) -> None:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))
        self.frames(frames)

    def mouse(self, kind, pos, button: int = 1) -> None:
        extra = {"button": button} if kind != pygame.MOUSEMOTION else {"buttons": (1, 0, 0), "rel": (0, 0)}
        pygame.event.post(pygame.event.Event(kind, pos=tuple(int(v) for v in pos), **extra))
        self.app.tick()

    def click(self, pos, button: int = 1) -> None:
        self.mouse(pygame.MOUSEBUTTONDOWN, pos, button)
        self.mouse(pygame.MOUSEBUTTONUP, pos, button)

    def frames(self, n: int) -> None:
        for _ in range(n):
            self.app.tick()

    def settle(self) -> None:
        """Until nothing moves, computes or waits to be shown (and the response is up to date)."""
        s = self.app.session
        for _ in range(MAX_FRAMES):
            if s.jobs.idle and not s.frames and not s.training.queued and s.training.paused:
                break
            self.app.tick()
        self.app.teaching.live.wait()
        self.frames(2)

    def until(self, done) -> None:
        for _ in range(MAX_FRAMES):
            if done():
                return
            self.app.tick()

    def drag(self, node_id, by=(40, -30)) -> None:
        s = self.app.session
        start = self.app.camera.to_screen(s.x[s.net.ids.index(str(node_id))])
        self.mouse(pygame.MOUSEBUTTONDOWN, start)
        for t in np.linspace(0, 1, 8):
            self.mouse(pygame.MOUSEMOTION, start + t * np.asarray(by, float))
        self.mouse(pygame.MOUSEBUTTONUP, start + np.asarray(by, float))

    def select_middle_spring(self) -> None:
        """Click the spring nearest the middle between the inputs and the outputs."""
        s = self.app.session
        task = s.trainer.task
        mid = (s.x[s.net.edges[:, 0]] + s.x[s.net.edges[:, 1]]) / 2
        centre = s.x[np.concatenate([task.inputs, np.ravel(task.outputs)])].mean(axis=0)
        self.click(self.app.camera.to_screen(mid[int(np.argmin(np.linalg.norm(mid - centre, axis=1)))]))

    def meet(self) -> None:
        """Do what the shown card asks (its wait), or press its Next button."""
        app = self.app
        s, lesson = app.session, app.teaching.lesson
        w, index = lesson.step.wait, lesson.index
        if w is None:
            self.click(app.teaching.card.next.center)
        elif w.drag is not None:
            self.drag("in" if str(w.drag) == "any" else w.drag)
        elif w.stage is not None:
            for _ in range(4):
                self.key(pygame.K_s)
                self.settle()
                if lesson.index != index:
                    break
        elif w.epochs is not None:
            goal = s.trainer.epochs_done + w.epochs
            self.key(pygame.K_SPACE, 60)  # a moment at the normal pace, then fast
            self.key(pygame.K_f)
            self.until(lambda: s.trainer.epochs_done >= goal)
            self.key(pygame.K_f)
            self.key(pygame.K_SPACE)
        elif w.key is not None:
            if w.key == "x":
                self.select_middle_spring()
            self.key(getattr(pygame, f"K_{w.key}") if len(w.key) == 1 else getattr(pygame, f"K_{w.key.upper()}"))
        elif w.temperature is not None:  # ] until warm enough; B until the nudge is strong enough
            self.press_until(pygame.K_RIGHTBRACKET, lambda: s.warmth.kT >= w.temperature * (1 - 1e-9))
        elif w.beta is not None:
            self.press_until(pygame.K_b, lambda: s.rule.beta >= w.beta * (1 - 1e-9))
        self.settle()

    def press_until(self, key, done, most: int = 20) -> None:
        for _ in range(most):
            if done():
                return
            self.key(key)

    def own_data(self) -> None:
        """The last step: an example of one's own in the response panel, and training on it."""
        app = self.app
        view, s = app.teaching.view, app.session
        if view.live.probe is None:
            return
        if view.live.probe.n_dims == 2:
            point, button = (0.3, -0.3), 3
        else:
            lo, hi = view._ranges()
            point, button = (0.6 * hi[0], 0.5 * lo[1] if s.trainer.task.n_examples > 1 else 0.5 * hi[1]), 1
        self.click(view.to_screen(np.array([point]))[0], button)
        self.settle()
        goal = s.trainer.epochs_done + 10
        self.key(pygame.K_f)
        self.until(lambda: s.trainer.epochs_done >= goal)
        self.key(pygame.K_f)
        self.key(pygame.K_SPACE)
        self.settle()


def png(surface) -> bytes:
    """A surface as a compressed PNG."""
    im = Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def render_lessons(out: Path, size=(1280, 800)) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every step of every lesson as out/<lesson>-<step>.png, and out/README.md listing them.
    Returns [(lesson title, [(file name, card text)])]."""
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for path in lessons():
        app = App(load_scene(path), size=size, headless=True, show_help=False)
        tour = Tour(app)
        tour.settle()
        lesson = app.teaching.lesson
        shots = []
        while True:
            name = f"{path.stem}-{lesson.index + 1}.png"
            write_atomic(out / name, png(app.screen))
            shots.append((name, lesson.step.text))
            if lesson.is_last:
                break
            tour.meet()
        tour.own_data()
        name = f"{path.stem}-{lesson.index + 1}-own-data.png"
        write_atomic(out / name, png(app.screen))
        shots.append((name, "(after the last card: an example of one's own, and ten epochs on it)"))
        done.append((scene_name(path), shots))
    write_atomic(out / "README.md", index_page(done).encode())
    return done


def index_page(done) -> str:
    lines = ["# The lessons, step by step", "",
             "Every card of every lesson as a student sees it in the window (1280 x 800), made by",
             "`python main.py lessons --out docs/lessons`: the window is driven off-screen with the events",
             "each card asks for (a drag, S, Space then F for the epochs, a click on a spring and X, ] and B, Next).", ""]
    for title, shots in done:
        lines += [f"## {title}", ""]
        for j, (name, text) in enumerate(shots, 1):
            lines += [f"{j}. {' '.join(text.split())}", "", f"   ![{title}, step {j}]({name})", ""]
    return "\n".join(lines)
