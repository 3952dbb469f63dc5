"""Where things go in the window: the status line on top, the side panel on the right, the view
of the network (with the teaching column) in between; and the print, scaled with the window."""

from __future__ import annotations

import pygame

from ..drawing.render import font

PANEL_W = 320
PANEL_SHARE = 0.3  # in a narrow window the side panel takes at most this share
STATUS_H = 72
MIN_SIZE = (800, 600)  # below this the caption, the legend and the panel do not fit
BASE_SIZE = (1280, 800)  # larger windows scale the panel and the print up (at most 2x)


class Layout:
    """The geometry of a window whose surface is screen() (it may be replaced on a resize)."""

    def __init__(self, screen):
        self._screen = screen
        self._scale = (None, 1.0)

    @property
    def size(self) -> tuple[int, int]:
        return self._screen().get_size()

    @property
    def scale(self) -> float:
        """How much larger than BASE_SIZE the window is (1 to 2): the panel and the print grow."""
        size = self.size
        if self._scale[0] != size:
            self._scale = (size, min(2.0, max(1.0, min(size[0] / BASE_SIZE[0], size[1] / BASE_SIZE[1]))))
        return self._scale[1]

    def px(self, v: float) -> int:
        return int(round(v * self.scale))

    @property
    def panel_w(self) -> int:
        """The side panel's width: PANEL_W scaled, or less in a narrow window (at least 240)."""
        return min(self.px(PANEL_W), max(240, int(PANEL_SHARE * self.size[0])))

    def view_rect(self) -> pygame.Rect:
        """Between the status line and the bottom, left of the side panel."""
        w, h = self.size
        top = self.px(STATUS_H)
        return pygame.Rect(0, top, max(10, w - self.panel_w), max(10, h - top))

    def panel_rect(self) -> pygame.Rect:
        w, h = self.size
        return pygame.Rect(max(0, w - self.panel_w), 0, self.panel_w, h)

    def font(self, size: int) -> pygame.font.Font:
        """The window's font of `size` points at BASE_SIZE, scaled with the window."""
        return font(self.px(size))


class ScaledFonts:
    """fonts[size]: the layout's font of that size (for parts that take a font table)."""

    def __init__(self, layout: Layout):
        self.layout = layout

    def __getitem__(self, size: int):
        return self.layout.font(size)
