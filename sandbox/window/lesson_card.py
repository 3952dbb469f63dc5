"""Drawing a lesson's card onto a pygame surface: the step's text, what it waits for, and Back
and Next buttons (drawn here, so the card needs nothing of the side panel's widgets). On the
last step, Next becomes "Next lesson" when there is one."""

from __future__ import annotations

from pathlib import Path

import pygame

from ..drawing.render import PALETTE, wrap
from .lesson import LessonProgress

BUTTON = (64, 28)
WIDE = 120  # the "Next lesson" button's width


class LessonCard:
    """The card at `rect` (its height follows the text); back and next: the buttons' rects;
    next_lesson: the lesson its last step leads to (None: none)."""

    def __init__(self, fonts, px=None):
        self.fonts = fonts
        self.px = px or (lambda v: int(round(v)))
        self.rect = pygame.Rect(0, 0, 10, 10)
        self.back = pygame.Rect(0, 0, *BUTTON)
        self.next = pygame.Rect(0, 0, *BUTTON)
        self.next_lesson: Path | None = None

    def _line(self) -> int:
        return self.fonts[20].get_linesize()

    def height_for(self, progress: LessonProgress, width: int) -> int:
        px = self.px
        lines = wrap(progress.step.text, self.fonts[20], width - px(20))
        return px(34) + self._line() * len(lines) + px(22) + px(BUTTON[1]) + px(14)

    def _next_label(self, progress: LessonProgress) -> str:
        if progress.is_last:
            return "Next lesson" if self.next_lesson is not None else ""
        return "Next"

    def draw(self, surface: pygame.Surface, progress: LessonProgress) -> None:
        r, px = self.rect, self.px
        pygame.draw.rect(surface, (255, 252, 235), r, border_radius=8)
        pygame.draw.rect(surface, (220, 190, 90), r, 2, border_radius=8)
        title = progress.lesson.title or "Lesson"
        head = f"{title}   {progress.index + 1} / {len(progress.steps)}"
        surface.blit(self.fonts[24].render(head, True, (120, 80, 0)), (r.x + px(10), r.y + px(8)))
        y = r.y + px(34)
        lines = wrap(progress.step.text, self.fonts[20], r.width - px(20))
        room = max(1, (r.height - px(34) - px(22) - px(BUTTON[1]) - px(14)) // self._line())
        if len(lines) > room:  # (a small window: the text is cut, never drawn past the card)
            lines = lines[:room - 1] + ["... (a larger window shows all)"]
        clip = surface.get_clip()
        surface.set_clip(r)
        for line in lines:
            surface.blit(self.fonts[20].render(line, True, PALETTE["text"]), (r.x + px(10), y))
            y += self._line()
        waiting = progress.what_it_waits_for()
        if waiting:
            surface.blit(self.fonts[20].render(waiting + " (or Next)", True, (20, 70, 160)), (r.x + px(10), y + px(3)))
        nxt = self._next_label(progress)
        self.back.size = (px(BUTTON[0]), px(BUTTON[1]))
        self.next.size = (px(WIDE if nxt == "Next lesson" else BUTTON[0]), px(BUTTON[1]))
        self.back.bottomleft = (r.x + px(10), r.bottom - px(8))
        self.next.bottomright = (r.right - px(10), r.bottom - px(8))
        for rect, label, active in ((self.back, "Back", progress.index > 0), (self.next, nxt or "Next", bool(nxt))):
            pygame.draw.rect(surface, (250, 250, 250) if active else (235, 235, 235), rect, border_radius=5)
            pygame.draw.rect(surface, (150, 150, 150), rect, 1, border_radius=5)
            text = self.fonts[20].render(label, True, PALETTE["text"] if active else (170, 170, 170))
            surface.blit(text, text.get_rect(center=rect.center))
        hint = self.fonts[16].render("arrow keys: back / next", True, (150, 150, 150))
        if hint.get_width() < self.next.left - self.back.right - px(8):
            surface.blit(hint, hint.get_rect(midbottom=(r.centerx, r.bottom - px(14))))
        surface.set_clip(clip)

    def button_at(self, pos, progress: LessonProgress) -> str | None:
        """'back', 'next', 'next lesson' or None for a click at screen pos."""
        if self.back.collidepoint(pos):
            return "back"
        if self.next.collidepoint(pos):
            return {"Next": "next", "Next lesson": "next lesson"}.get(self._next_label(progress))
        return None
