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
MARK = (90, 90, 90)  # an action marked on the loss plot


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


def info_layout(lay, width: int, lines: list[str], description: str = "") -> tuple[list[str], list[str], int]:
    """The side panel's text wrapped in `width`: its figures, the description, and the height
    they need."""
    figures = [part for t in lines for part in wrap(t, lay.font(20), width)]
    words = wrap(description, lay.font(20), width) if description else []
    return figures, words, lay.px(20) * len(figures) + (lay.px(8) + lay.px(19) * len(words) if words else 0)


def draw_info(surface, rect: pygame.Rect, lay, lines: list[str], description: str = "") -> None:
    """Lines of figures from rect.y down, then the description in grey; what does not fit is
    left out, never drawn past the rectangle (a description cut short ends with ...)."""
    figures, words, _ = info_layout(lay, rect.width, lines, description)
    x0, y, row = rect.x, rect.y, lay.px(20)
    for line in figures:
        if y + row > rect.bottom:
            return
        text(surface, lay, line, (x0, y), 20)
        y += row
    y += lay.px(8)
    for j, line in enumerate(words):
        if y + lay.px(19) > rect.bottom:
            return
        if j + 1 < len(words) and y + 2 * lay.px(19) > rect.bottom:  # the last line that fits
            while line and lay.font(20).size(line + " ...")[0] > rect.width:
                line = line.rsplit(" ", 1)[0] if " " in line else ""
            line += " ..."
        text(surface, lay, line, (x0, y), 20, (90, 90, 90))
        y += lay.px(19)


@dataclass
class LossPlot:
    """series: (name, values, colour) lines, in the legend's words; marks: (history row, label)
    of actions; n_rows: the history's length; log: a log scale."""

    series: list
    marks: list = field(default_factory=list)
    n_rows: int = 1
    log: bool = True


def two_ends(lo: float, hi: float) -> tuple[str, str]:
    """An axis's two ends, with the fewest digits (2 to 6) that tell them apart."""
    for digits in range(2, 7):
        a, b = f"{lo:.{digits}g}", f"{hi:.{digits}g}"
        if a != b:
            return a, b
    return a, b


def draw_loss_plot(surface, r: pygame.Rect, lay, plot: LossPlot) -> None:
    """The loss per epoch (and each example's cost), a legend naming every line, and the
    actions marked where they happened (labels in rows so that none overlaps another, and
    turned left at the right edge)."""
    pygame.draw.rect(surface, (255, 255, 255), r)
    pygame.draw.rect(surface, (190, 190, 190), r, 1)
    text(surface, lay, "loss" + (" (log scale)" if plot.log else ""), (r.x + 4, r.y + 2), 20)
    x = r.x + 4
    y = r.y + lay.px(18)
    shown = [(name, ys, color) for name, ys, color in plot.series if any(np.isfinite(v) for v in ys)]
    for name, _ys, color in shown:  # the legend: every line named, in rows
        w = lay.px(24) + lay.font(16).size(name)[0]
        if x > r.x + 4 and x + w > r.right - 4:
            x, y = r.x + 4, y + lay.px(14)
        pygame.draw.line(surface, color, (x, y + lay.px(7)), (x + lay.px(14), y + lay.px(7)), 3)
        text(surface, lay, name, (x + lay.px(18), y), 16, GREY)
        x += w
    vals = [v for _, ys, _ in shown for v in ys if np.isfinite(v) and (v > 0 or not plot.log)]
    if len(vals) < 2:
        return
    f = (lambda v: math.log10(max(v, 1e-300))) if plot.log else (lambda v: v)
    lo, hi = min(map(f, vals)), max(map(f, vals))
    flat = 0.05 if plot.log else 0.05 * max(abs(lo), 1e-12)  # (all but equal: a band around them)
    if hi - lo < flat:
        lo, hi = (lo + hi) / 2 - flat, (lo + hi) / 2 + flat
    bottom, top = two_ends(10 ** lo if plot.log else lo, 10 ** hi if plot.log else hi)
    margin = max(lay.font(16).size(top)[0], lay.font(16).size(bottom)[0]) + lay.px(6)  # the ends, right of the lines
    inner = pygame.Rect(r.x + 6, y + lay.px(20), r.width - 12 - margin, r.bottom - y - lay.px(26))
    if inner.height < 10 or inner.width < 10:
        return
    clip = surface.get_clip()
    surface.set_clip(r.inflate(-2, -2))
    n_hist = max(1, plot.n_rows - 1)
    taken: list[list[tuple[int, int]]] = [[], [], []]  # the label spans of each row, bottom up
    for at, label in plot.marks:
        ex = inner.x + inner.width * max(0, at) / n_hist
        pygame.draw.line(surface, MARK, (ex, inner.y), (ex, inner.bottom), 1)
        w = lay.font(16).size(label)[0]
        left = ex + 2 if ex + 2 + w <= inner.right else ex - 2 - w  # (at the right edge: to the left)
        row = next((k for k, spans in enumerate(taken) if all(left + w < a or left > b for a, b in spans)), None)
        if row is not None:
            taken[row].append((left, left + w))
            text(surface, lay, label, (left, inner.bottom - lay.px(14) * (row + 1)), 16, MARK)
    for _name, ys, color in reversed(shown):  # the first line (the loss per epoch) on top
        pts = [(inner.x + inner.width * i / max(1, len(ys) - 1), inner.bottom - inner.height * (f(v) - lo) / (hi - lo))
               for i, v in enumerate(ys) if np.isfinite(v) and (v > 0 or not plot.log)]
        if len(pts) >= 2:
            pygame.draw.lines(surface, color, False, pts, 2)
    text(surface, lay, top, (r.right - 4 - lay.font(16).size(top)[0], inner.y - lay.px(2)), 16, GREY)
    text(surface, lay, bottom, (r.right - 4 - lay.font(16).size(bottom)[0], inner.bottom - lay.px(12)), 16, GREY)
    surface.set_clip(clip)


_LEGENDS: dict = {}  # (width, mode, editing, scale) -> the legend laid out


ROLES = ("fixed", "input", "hidden", "output", "target")


def _legend(lay, width: int, mode: str, editing: bool, shown=ROLES) -> tuple[list, list[str]]:
    """The legend laid out in `width`: rows of (name, colour, x) and the hint's lines."""
    key = (width, mode, editing, lay.scale, tuple(sorted(shown)))
    if key not in _LEGENDS:
        _LEGENDS[key] = _lay_out_legend(lay, width, mode, editing, shown)
    return _LEGENDS[key]


def _lay_out_legend(lay, width: int, mode: str, editing: bool, shown) -> tuple[list, list[str]]:
    items = [(role, PALETTE[role]) for role in ROLES if role in shown]
    if mode == "tension":
        items += [("stretched", PALETTE["tension"]), ("compressed", PALETTE["compression"])]
    elif mode == "change":
        items += [("got stiffer", PALETTE["stiffer"]), ("got softer", PALETTE["softer"])]
    else:
        items += [("EP = exact", PALETTE["stiffer"]), ("EP off by 1%", PALETTE["softer"])]
    rows, row, x = [], [], 0
    for name, color in items:
        w = lay.px(18) + lay.font(20).size(name)[0] + lay.px(16)
        if row and x + w > width:
            rows.append(row)
            row, x = [], 0
        row.append((name, color, x))
        x += w
    rows.append(row)
    hint = ("editing: click = new node, drag node to node = spring, right-drag = move, click node then "
            "1-4 = role, click spring then +/- = stiffer/softer, X = remove, A = new example, Tab = done"
            if editing else "    ".join(item.replace(" ", "\u00a0") for item in HINT_ITEMS))
    return rows, wrap(hint, lay.font(20), width)


HINT_ITEMS = ("width = stiffness", "ghost = free equilibrium", "arrows = nudge", "H = help")


def legend_height(lay, width: int, mode: str, editing: bool, shown=ROLES) -> int:
    """The height of the legend drawn in `width` pixels (shown: the roles and marks drawn)."""
    rows, hint = _legend(lay, width - 20, mode, editing, shown)
    return lay.px(20) * len(rows) + lay.px(19) * len(hint) + lay.px(10)


def draw_legend(surface, area: pygame.Rect, lay, mode: str, editing: bool, shown=ROLES) -> None:
    """Roles and what the spring colours mean now (mode: tension, change or agreement), in rows
    at the foot of `area`, with the hint's lines above them."""
    rows, hint = _legend(lay, area.width - 20, mode, editing, shown)
    y = area.bottom - legend_height(lay, area.width, mode, editing, shown) + lay.px(4)
    for line in hint:
        text(surface, lay, line, (area.x + 10, y), 20, (110, 110, 110))
        y += lay.px(19)
    for row in rows:
        for name, color, x in row:
            pygame.draw.rect(surface, color, pygame.Rect(area.x + 10 + x, y + lay.px(3), lay.px(13), lay.px(13)))
            text(surface, lay, name, (area.x + 10 + x + lay.px(18), y + 1), 20)
        y += lay.px(20)


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
