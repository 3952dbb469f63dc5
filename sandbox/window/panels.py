"""The window's panels, each a function of (surface, rect, layout, data): the status line, the
side panel's text, the loss plot, the legend under the network and the help. They draw what
they are given and know nothing of the session."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pygame

from ..drawing.render import PALETTE, wrap

GREY = (120, 120, 120)
WARNING = (200, 30, 30)
NOTE = (20, 70, 160)


def text(surface, lay, line: str, pos, size: int = 24, color=None) -> int:
    """Write one line at pos in the layout's font of `size`; its width in pixels."""
    surf = lay.font(size).render(line, True, color or PALETTE["text"])
    surface.blit(surf, pos)
    return surf.get_width()


@dataclass
class Status:
    """The status line: `line` (scene, epoch, step, rule, loss, engine...), the caption below
    it, whether the caption is a warning (red), and the seconds recorded (None: not recording)."""

    line: str
    caption: str
    warning: bool = False
    recording: float | None = None


def draw_status(surface, rect: pygame.Rect, lay, st: Status) -> None:
    pygame.draw.rect(surface, (236, 236, 230), rect)
    x = lay.px(12)
    if st.recording is not None:
        pygame.draw.circle(surface, (220, 0, 0), (x + 7, lay.px(17)), 7)
        x += 36 + text(surface, lay, f"REC {st.recording:.0f} s", (x + 18, lay.px(8)), 24, (220, 0, 0))
    for line in wrap(st.line, lay.font(24), rect.width - x - 8)[:1]:
        text(surface, lay, line, (x, lay.px(8)), 24)
    color = WARNING if st.warning else NOTE
    size = 30 if len(wrap(st.caption, lay.font(30), rect.width - 24)) == 1 else 20
    for j, line in enumerate(wrap(st.caption, lay.font(size), rect.width - 24)[:2]):
        text(surface, lay, line, (lay.px(12), lay.px(36) + j * lay.px(17)), size, color)


def draw_info(surface, rect: pygame.Rect, lay, lines: list[str], description: str = "") -> None:
    """Lines of figures from rect.y down, then the description in grey; what does not fit is
    left out, never drawn past the rectangle."""
    x0, y, width, row = rect.x, rect.y, rect.width, lay.px(20)
    for line in [part for t in lines for part in wrap(t, lay.font(20), width)]:
        if y + row > rect.bottom:
            return
        text(surface, lay, line, (x0, y), 20)
        y += row
    if description:
        y += lay.px(8)
        for line in wrap(description, lay.font(20), width):
            if y + row > rect.bottom:
                return
            text(surface, lay, line, (x0, y), 20, (90, 90, 90))
            y += lay.px(19)


@dataclass
class LossPlot:
    """series: (name, values, colour) lines; marks: (history row, label) of actions; n_rows:
    the history's length; log: a log scale."""

    series: list
    marks: list = field(default_factory=list)
    n_rows: int = 1
    log: bool = True


def draw_loss_plot(surface, r: pygame.Rect, lay, plot: LossPlot) -> None:
    pygame.draw.rect(surface, (255, 255, 255), r)
    pygame.draw.rect(surface, (190, 190, 190), r, 1)
    vals = [v for _, ys, _ in plot.series for v in ys if np.isfinite(v) and (v > 0 or not plot.log)]
    text(surface, lay, ("log " if plot.log else "") + "loss per epoch; grey: each example", (r.x + 4, r.y + 2), 20)
    if len(vals) < 2:
        return
    n_hist = max(1, plot.n_rows - 1)
    inner = r.inflate(-12, -30).move(0, 8)
    for at, label in plot.marks:  # cuts and damage, marked where they happened
        ex = inner.x + inner.width * max(0, at) / n_hist
        pygame.draw.line(surface, (200, 0, 0), (ex, inner.y), (ex, inner.bottom), 1)
        text(surface, lay, label, (ex + 2, inner.bottom - 14), 20, (200, 0, 0))
    f = (lambda v: math.log10(max(v, 1e-300))) if plot.log else (lambda v: v)
    lo, hi = min(map(f, vals)), max(map(f, vals))
    hi = hi if hi > lo else lo + 1
    for _name, ys, color in plot.series:
        pts = [(inner.x + inner.width * i / max(1, len(ys) - 1), inner.bottom - inner.height * (f(v) - lo) / (hi - lo))
               for i, v in enumerate(ys) if np.isfinite(v) and (v > 0 or not plot.log)]
        if len(pts) >= 2:
            pygame.draw.lines(surface, color, False, pts, 2)
    text(surface, lay, f"{10 ** hi if plot.log else hi:.2g}", (inner.right - 50, inner.y - 4), 20, GREY)
    text(surface, lay, f"{10 ** lo if plot.log else lo:.2g}", (r.right - 60, r.bottom - 18), 20, GREY)


def draw_legend(surface, view: pygame.Rect, lay, mode: str, editing: bool) -> None:
    """Roles and what the spring colours mean now (mode: tension, change or agreement), at the
    foot of the view, with a line of hints above."""
    items = [("fixed", PALETTE["fixed"]), ("input", PALETTE["input"]), ("hidden", PALETTE["hidden"]),
             ("output", PALETTE["output"]), ("target", PALETTE["target"])]
    if mode == "tension":
        items += [("stretched", PALETTE["tension"]), ("compressed", PALETTE["compression"])]
    elif mode == "change":
        items += [("got stiffer", PALETTE["stiffer"]), ("got softer", PALETTE["softer"])]
    else:
        items += [("EP = exact (green) ... off (orange)", PALETTE["stiffer"])]
    x, y = view.x + 10, view.bottom - lay.px(26)
    for name, color in items:
        pygame.draw.rect(surface, color, pygame.Rect(x, y + 4, lay.px(14), lay.px(14)))
        x += lay.px(20) + text(surface, lay, name, (x + lay.px(18), y + 2), 20) + 6
    hint = ("editing: click = new node, drag node to node = spring, right-drag = move, click node then "
            "1-4 = role, click spring then +/- = stiffer/softer, X = remove, A = new example, Tab = done"
            if editing else "width = stiffness   ghost = free equilibrium   arrows = nudge   H = help")
    lines = wrap(hint, lay.font(20), view.width - 20)
    for j, line in enumerate(lines):
        text(surface, lay, line, (view.x + 10, view.bottom - lay.px(46) - lay.px(19) * (len(lines) - 1 - j)), 20,
             (110, 110, 110))


def draw_help(surface, lay, keys: list[tuple[str, str]]) -> None:
    """The help over a shaded window: every key and what it does."""
    w, h = lay.size
    shade = pygame.Surface((w, h), pygame.SRCALPHA)
    shade.fill((0, 0, 0, 150))
    surface.blit(shade, (0, 0))
    row = lay.px(28) if h >= 120 + lay.px(28) * len(keys) else max(14, (h - 100) // len(keys))
    box = pygame.Rect(0, 0, min(w - 40, lay.px(900)), min(h - 20, 80 + row * len(keys)))
    box.center = (w // 2, h // 2)
    pygame.draw.rect(surface, (252, 252, 248), box, border_radius=10)
    text(surface, lay, "Keys (buttons and menus on the right do the same; any key closes this)", (box.x + 20, box.y + 16), 30)
    y = box.y + 56
    for k, what in keys:
        text(surface, lay, k, (box.x + 24, y), int((row - 4) / lay.scale), NOTE)
        text(surface, lay, what, (box.x + lay.px(150), y), int((row - 4) / lay.scale))
        y += row
