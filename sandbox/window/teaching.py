"""The window's teaching column: the response panel and the lesson card, to the right of the
network, and the few hooks the App calls (tick, handle, key, draw, network_area).

It watches the session rather than being told: a stage reached, epochs trained, a node dragged
are seen frame by frame and handed to the lesson; the response is recomputed off the main loop
when the network changed (sandbox.window.response_live).
"""

from __future__ import annotations

import pygame

from .lesson import Event, LessonProgress
from .lesson_card import LessonCard
from .response_live import LiveResponse
from .response_view import ResponseView

COLUMN_W = 340  # the teaching column's width, when it shows anything
PANEL_H = 320  # the response panel's height
TOGGLE_KEY = pygame.K_t
BACK_KEYS = (pygame.K_LEFT, pygame.K_PAGEUP)
NEXT_KEYS = (pygame.K_RIGHT, pygame.K_PAGEDOWN)


class Teaching:
    """show_response: whether the response panel is on (T); lesson: the LessonProgress of the
    scene's lesson, or None."""

    def __init__(self, session, fonts: dict):
        self.session = session
        self.fonts = fonts
        self.live = LiveResponse(session)
        self.view = ResponseView(self.live, fonts)
        self.card = LessonCard(fonts)
        self.show_response = True
        self.lesson: LessonProgress | None = None
        self._source = None
        self._stage = None
        self._dragging = None
        self._epochs = 0
        self._follow_scene()

    def _follow_scene(self) -> None:
        """A scene opened from another file starts its own lesson (a reset or an edit keeps it)."""
        s = self.session
        if s.source != self._source:
            self._source = s.source
            lesson = s.scene.spec.lesson
            self.lesson = LessonProgress(lesson, s.trainer.epochs_done) if lesson is not None else None
            self._stage, self._dragging, self._epochs = s.stage, s.hands.dragging, s.trainer.epochs_done

    # ------------------------------------------------------------ layout

    @property
    def response_shown(self) -> bool:
        return self.show_response and self.live.probe is not None

    def network_area(self, view: pygame.Rect) -> pygame.Rect:
        """The part of the view left to the network; sets the column's rects."""
        if not (self.response_shown or self.lesson is not None):
            return view
        col = pygame.Rect(view.right - COLUMN_W, view.y, COLUMN_W, view.height)
        y = col.y + 8
        if self.response_shown:
            self.view.rect = pygame.Rect(col.x + 4, y, COLUMN_W - 12, min(PANEL_H, col.height // 2))
            y = self.view.rect.bottom + 8
        if self.lesson is not None:
            h = self.card.height_for(self.lesson, COLUMN_W - 12)
            self.card.rect = pygame.Rect(col.x + 4, y, COLUMN_W - 12, min(h, col.bottom - y - 8))
        return pygame.Rect(view.x, view.y, view.width - COLUMN_W, view.height)

    # ------------------------------------------------------------ hooks

    def tick(self) -> None:
        """Once a frame: follow the scene, keep the response up to date, tell the lesson what
        happened since the last frame."""
        s = self.session
        self._follow_scene()
        self.live.tick()
        if self.lesson is None:
            return
        if s.stage is not None and s.stage is not self._stage:
            self.lesson.notify(Event("stage", s.stage.name))
        self._stage = s.stage
        if s.trainer.epochs_done != self._epochs:
            self._epochs = s.trainer.epochs_done
            self.lesson.notify(Event("epochs", self._epochs))
        if s.hands.dragging is not None and s.hands.dragging != self._dragging and s.hands.dragging < s.net.n_nodes:
            self.lesson.notify(Event("drag", s.net.ids[s.hands.dragging]))
        self._dragging = s.hands.dragging

    def key(self, key) -> bool:
        """A key went down: the lesson hears it; T and the arrow keys are the column's (True)."""
        if self.lesson is not None:
            self.lesson.notify(Event("key", pygame.key.name(key)))
        if key == TOGGLE_KEY:
            self.show_response = not self.show_response
        elif self.lesson is not None and key in BACK_KEYS:
            self.lesson.back()
        elif self.lesson is not None and key in NEXT_KEYS:
            self.lesson.next()
        else:
            return False
        return True

    def handle(self, event) -> bool:
        """A mouse event; True if the column took it (the network's view never sees it)."""
        if event.type == pygame.MOUSEBUTTONDOWN:
            if self.lesson is not None and self.card.rect.collidepoint(event.pos):
                what = self.card.button_at(event.pos)
                if what == "back":
                    self.lesson.back()
                elif what == "next":
                    self.lesson.next()
                return True
            return self.response_shown and self.view.press(event.pos, event.button)
        if event.type == pygame.MOUSEMOTION:
            return self.view.motion(event.pos)
        if event.type == pygame.MOUSEBUTTONUP:
            return self.view.release(event.pos)
        return False

    def draw(self, surface: pygame.Surface) -> None:
        if self.response_shown:
            self.view.draw(surface)
        if self.lesson is not None:
            self.card.draw(surface, self.lesson)
