"""A student at the window (dummy driver): real key presses, clicks and drags, and what they
see, measured on the drawn surface after every step.

What is checked, each time `look` is called:
- the network is drawn inside its area (its ink keeps clear of the area's edges) and fills a
  reasonable part of it (a quarter of its width or of its height, at least);
- it does not move between looks unless a node was dragged: every fixed node is drawn (its own
  colour at its place) where it was;
- no red banner, unless the student provoked one;
- while training, the response panel's axes (its tick labels and names) are pixel for pixel
  what they were.
"""

from __future__ import annotations

import numpy as np
import pygame
from conftest import drawn_box, network_region, red_in_status, screen_pixels

from sandbox.drawing.render import PALETTE
from sandbox.window.tour import Tour


class Student(Tour):
    """The lessons' driver (real events), looking at the picture as it goes."""

    def __init__(self, app):
        super().__init__(app)
        self.fixed_at = None  # screen points of the fixed nodes at the last look
        self.axes = None  # the response panel's axes strip at the last look (while training)
        self.looks = 0

    # ------------------------------------------------------------ what is seen

    def look(self, moved: bool = False, training: bool = False, banner_ok: bool = False) -> None:
        app = self.app
        s = app.session
        area = network_region(app)
        box, ink = drawn_box(app)
        where = f"{s.scene.name}, step {app.teaching.lesson.index + 1 if app.teaching.lesson else '-'}: {s.caption}"
        assert ink > 0, where
        assert area.inflate(-2, -2).contains(box), (where, box, area)  # nothing clipped at the edges
        assert box.width >= 0.25 * area.width or box.height >= 0.25 * area.height, (where, box, area)
        if not banner_ok:
            assert red_in_status(app) == 0, where
        fixed = np.flatnonzero(s.net.roles == 0)[:12]
        at = app.camera.to_screen(s.net.pos[fixed]).round().astype(int)
        for x, y in at:  # each fixed node is drawn, in its colour, at its place
            drawn = tuple(app.screen.get_at((int(x), int(y))))[:3]
            assert np.abs(np.subtract(drawn, PALETTE["fixed"])).sum() < 40, (where, x, y, drawn)
        if self.fixed_at is not None and not moved and len(at) == len(self.fixed_at):
            assert np.array_equal(at, self.fixed_at), (where, at, self.fixed_at)  # the view held still
        self.fixed_at = at
        view = app.teaching.view
        if app.teaching.response_shown:
            pr = view.plot_rect()
            left = screen_pixels(app, slice(view.rect.x + 2, pr.x - 8), slice(pr.y - 4, pr.bottom + 4))
            below = screen_pixels(app, slice(pr.x, pr.right), slice(pr.bottom + 2, pr.bottom + 18))
            strip = np.concatenate([left.reshape(-1, 3), below.reshape(-1, 3)])
            if training and self.axes is not None and len(self.axes) == len(strip):
                assert np.array_equal(strip, self.axes), where  # the response's axes held still
            self.axes = strip.copy()
        self.looks += 1

    # ------------------------------------------------------------ acting

    def frames(self, n: int, every: int = 6, **look) -> None:
        for j in range(n):
            self.app.tick()
            if j % every == every - 1:
                self.look(**look)

    def key(self, key, frames: int = 1) -> None:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))
        for _ in range(frames):
            self.app.tick()

    def settle(self) -> None:
        """Let the work under way finish (a stage, an edit), drawing as it goes."""
        s = self.app.session
        for _ in range(600):
            if s.jobs.idle and not s.frames and not s.training.queued and s.training.paused:
                break
            self.app.tick()
        self.app.teaching.live.wait()
        self.app.tick()

    def node_on_screen(self, node_id) -> np.ndarray:
        s = self.app.session
        return self.app.camera.to_screen(s.x[s.net.ids.index(str(node_id))])

    def drag_node(self, node_id, by) -> None:
        """Drag a node by `by` pixels, checking the picture while it is held, then let go."""
        start = self.node_on_screen(node_id)
        self.mouse(pygame.MOUSEBUTTONDOWN, start)
        index = self.app.teaching.lesson.index if self.app.teaching.lesson else None
        for t in np.linspace(0, 1, 8):
            self.mouse(pygame.MOUSEMOTION, start + t * np.asarray(by, float))
            self.app.tick()
            self.look(moved=True)
            if index is not None:  # the card stays while the node is held
                assert self.app.teaching.lesson.index == index
        self.mouse(pygame.MOUSEBUTTONUP, start + np.asarray(by, float))
        self.frames(60, moved=True)

    def next_card(self) -> None:
        card = self.app.teaching.card
        self.click(card.next.center)

    def train(self, until, normal_frames: int = 60) -> None:
        """Space, a while at the normal pace (looking), then F until `until()` holds; then
        back to the normal pace, paused."""
        s = self.app.session
        self.key(pygame.K_SPACE)
        assert not s.training.paused
        self.frames(normal_frames, training=True)
        self.key(pygame.K_f)
        for _ in range(3000):
            if until():
                break
            self.app.tick()
        assert until(), s.caption
        self.key(pygame.K_f)
        self.key(pygame.K_SPACE)
        self.settle()
        self.look(training=True)

    def meet(self, step) -> None:
        """Do what the card asks (its wait), or press Next."""
        app, s = self.app, self.app.session
        lesson = app.teaching.lesson
        index, w = lesson.index, step.wait
        if w is None:
            self.next_card()
        elif w.drag is not None:
            self.drag_node(w.drag, (40, -30))
        elif w.stage is not None:
            for _ in range(4):
                self.key(pygame.K_s)
                self.frames(40)
                self.settle()
                if lesson.index != index:
                    break
        elif w.epochs is not None:
            goal = s.trainer.epochs_done + w.epochs
            self.train(lambda: s.trainer.epochs_done >= goal)
        elif w.key is not None:
            self.key(getattr(pygame, f"K_{w.key}") if len(w.key) == 1 else getattr(pygame, f"K_{w.key.upper()}"))
        elif w.temperature is not None:  # ] until warm enough
            for _ in range(12):
                if s.warmth.kT >= w.temperature * (1 - 1e-9):
                    break
                self.key(pygame.K_RIGHTBRACKET)
        elif w.beta is not None:  # B until it nudges hard enough
            for _ in range(20):
                if s.rule.beta >= w.beta * (1 - 1e-9):
                    break
                self.key(pygame.K_b)
        self.settle()
        assert lesson.index == index + 1, (index, step.text[:60], s.caption)
        self.look()
