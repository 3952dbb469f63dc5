"""The window's teaching column: the response panel and the lesson card, to the right of the
network, and the few hooks the App calls (tick, handle, key, draw, network_area).

It watches the session rather than being told: a stage shown, epochs trained, a node dragged
are seen frame by frame and handed to the lesson. A step waits until the action it explains is
over: a stage once its motion has played, a drag once the node is let go. The response is
recomputed off the main loop when the network changed (sandbox.window.response_live).
"""

from __future__ import annotations

import pygame

from ..drawing.names import node_names
from .layout import ScaledFonts
from .lesson import Event, LessonProgress
from .lesson_card import LessonCard
from .library import next_lesson
from .response_live import LiveResponse
from .response_view import ResponseView

COLUMN_W = 340  # the teaching column's width at the base size, when it shows anything
COLUMN_SHARE = 0.45  # at most this share of the view (a small window keeps room for the network)
PANEL_H = 320  # the response panel's height at the base size
TOGGLE_KEY = pygame.K_t
BACK_KEYS = (pygame.K_LEFT, pygame.K_PAGEUP)
NEXT_KEYS = (pygame.K_RIGHT, pygame.K_PAGEDOWN)


class Teaching:
    """show_response: whether the response panel is on (T); lesson: the LessonProgress of the
    scene's lesson, or None. open_scene(path) opens the next lesson (its card's last button)."""

    def __init__(self, session, layout, open_scene=None):
        self.session = session
        self.layout = layout
        self.fonts = ScaledFonts(layout)
        self.open_scene = open_scene
        self.live = LiveResponse(session)
        self.view = ResponseView(self.live, self.fonts, layout.px)
        self.card = LessonCard(self.fonts, layout.px)
        self.show_response = True
        self.lesson: LessonProgress | None = None
        self.following: tuple | None = None  # (source, generation) of the scene whose lesson is shown
        self._stage = None
        self._dragging = None
        self._epochs = 0
        self._reopening = False  # R pressed as the lesson asked: its scene is about to open again
        self._follow_scene()

    def _follow_scene(self) -> None:
        """A scene opened (from a file, or again by R) starts its own lesson from its first
        step, unless the lesson itself asked for R (its last step met waited for it: it goes on
        with the scene as the file has it); an edit keeps it."""
        s = self.session
        if (s.source, s.generation) != self.following:
            asked = self.lesson is not None and self.following[0] == s.source and self._reopening
            self.following, self._reopening = (s.source, s.generation), False
            lesson = s.scene.spec.lesson
            names = dict(zip(map(str, s.net.ids), node_names(s.scene)))
            if asked:
                self.lesson.go(self.lesson.index)
                self.lesson.notify(Event("epochs", s.trainer.epochs_done))  # (counted from the reopened scene's)
            else:
                self.lesson = LessonProgress(lesson, s.trainer.epochs_done, names) if lesson is not None else None
            self.card.next_lesson = next_lesson(s.source) if lesson is not None else None
            self._stage, self._dragging, self._epochs = s.stage, s.hands.dragging, s.trainer.epochs_done

    # ------------------------------------------------------------ layout

    @property
    def response_shown(self) -> bool:
        return self.show_response and self.live.probe is not None

    def network_area(self, view: pygame.Rect) -> pygame.Rect:
        """The part of the view left to the network; sets the column's rects."""
        if not (self.response_shown or self.lesson is not None):
            return view
        px = self.layout.px
        width = min(px(COLUMN_W), int(COLUMN_SHARE * view.width))
        col = pygame.Rect(view.right - width, view.y, width, view.height)
        y = col.y + px(8)
        card_h = self.card.height_for(self.lesson, width - px(12)) if self.lesson is not None else 0
        if self.response_shown:  # (it gives way to the card, down to half the column)
            room = col.height - px(24) - card_h
            h = int(min(px(PANEL_H), max(room, min(px(200), col.height // 2))))
            self.view.rect = pygame.Rect(col.x + px(4), y, width - px(12), h)
            y = self.view.rect.bottom + px(8)
        if self.lesson is not None:
            self.card.rect = pygame.Rect(col.x + px(4), y, width - px(12), min(card_h, col.bottom - y - px(8)))
        return pygame.Rect(view.x, view.y, view.width - width, view.height)

    # ------------------------------------------------------------ hooks

    def tick(self) -> None:
        """Once a frame: follow the scene, keep the response up to date, tell the lesson what
        happened since the last frame."""
        s = self.session
        self._follow_scene()
        self.live.tick()
        if self.lesson is None:
            return
        if s.stage is not None and s.stage is not self._stage and not s.frames:  # (its motion has played)
            self._stage = s.stage
            self.lesson.notify(Event("stage", s.stage.name))
        if s.trainer.epochs_done != self._epochs:
            self._epochs = s.trainer.epochs_done
            self.lesson.notify(Event("epochs", self._epochs))
        if not self._reopening:  # (the settings of a scene about to be opened again by R are not its own)
            for kind, value in (("temperature", s.warmth.kT), ("beta", s.rule.beta)):  # (a step may ask for more)
                self.lesson.notify(Event(kind, value))
        dragging = s.hands.dragging
        if self._dragging is not None and dragging != self._dragging and self._dragging < s.net.n_nodes:
            self.lesson.notify(Event("drag", s.net.ids[self._dragging]))  # let go
        self._dragging = dragging

    def key(self, key) -> bool:
        """A key went down: the lesson hears it; T and the arrow keys are the column's (True)."""
        if self.lesson is not None:
            self.lesson.notify(Event("key", pygame.key.name(key)))
            self._reopening = self.lesson.asked_for("r") and key == pygame.K_r
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
                what = self.card.button_at(event.pos, self.lesson)
                if what == "back":
                    self.lesson.back()
                elif what == "next":
                    self.lesson.next()
                elif what == "next lesson" and self.open_scene is not None:
                    self.open_scene(self.card.next_lesson)
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
