"""Drawing a lesson's card onto a pygame surface: the step's text, what it waits for, and Back
and Next buttons (drawn here, so the card needs nothing of the side panel's widgets)."""

from __future__ import annotations

import pygame

from .lesson import LessonProgress
from ..drawing.render import PALETTE, wrap

BUTTON = (64, 28)


class LessonCard:
    """The card at `rect` (its height follows the text); back and next: the buttons' rects."""

    def __init__(self, fonts: dict):
        self.fonts = fonts
        self.rect = pygame.Rect(0, 0, 10, 10)
        self.back = pygame.Rect(0, 0, *BUTTON)
        self.next = pygame.Rect(0, 0, *BUTTON)

    def height_for(self, progress: LessonProgress, width: int) -> int:
        lines = wrap(progress.step.text, self.fonts[20], width - 20)
        return 34 + 19 * len(lines) + 22 + BUTTON[1] + 14

    def draw(self, surface: pygame.Surface, progress: LessonProgress) -> None:
        r = self.rect
        pygame.draw.rect(surface, (255, 252, 235), r, border_radius=8)
        pygame.draw.rect(surface, (220, 190, 90), r, 2, border_radius=8)
        title = progress.lesson.title or "Lesson"
        head = f"{title}   {progress.index + 1} / {len(progress.steps)}"
        surface.blit(self.fonts[24].render(head, True, (120, 80, 0)), (r.x + 10, r.y + 8))
        y = r.y + 34
        for line in wrap(progress.step.text, self.fonts[20], r.width - 20):
            surface.blit(self.fonts[20].render(line, True, PALETTE["text"]), (r.x + 10, y))
            y += 19
        waiting = progress.what_it_waits_for()
        if waiting:
            surface.blit(self.fonts[20].render(waiting + " (or Next)", True, (20, 70, 160)), (r.x + 10, y + 3))
        self.back.bottomleft = (r.x + 10, r.bottom - 8)
        self.next.bottomright = (r.right - 10, r.bottom - 8)
        for rect, label, active in ((self.back, "Back", progress.index > 0),
                                    (self.next, "Next", not progress.is_last)):
            pygame.draw.rect(surface, (250, 250, 250) if active else (235, 235, 235), rect, border_radius=5)
            pygame.draw.rect(surface, (150, 150, 150), rect, 1, border_radius=5)
            text = self.fonts[20].render(label, True, PALETTE["text"] if active else (170, 170, 170))
            surface.blit(text, text.get_rect(center=rect.center))
        hint = self.fonts[16].render("arrow keys: back / next", True, (150, 150, 150))
        surface.blit(hint, hint.get_rect(midbottom=(r.centerx, r.bottom - 14)))

    def button_at(self, pos) -> str | None:
        """'back', 'next' or None for a click at screen pos."""
        if self.back.collidepoint(pos):
            return "back"
        if self.next.collidepoint(pos):
            return "next"
        return None
