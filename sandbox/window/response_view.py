"""Drawing the response panel onto a pygame surface, and the mouse on it.

One input: the network's answer (each output number) against the input, as curves, with the
examples as points on them (filled: training, ringed: held out for testing). Two inputs: a map
of the input plane coloured by the predicted class (a classifier; paler where the winning
output leads by less than the margin) or by the first output's value, with the examples on it.

Mouse: left-click on empty space adds an example there (on a curve at that target, on a map of
classes of class 0; right-click adds class 1); drag an example to move it; right-click an
example to remove it. Each is one edit of the scene (Z undoes, W saves).
"""

from __future__ import annotations

import numpy as np
import pygame

from ..learning.response import example_numbers, input_names, output_names
from .render import PALETTE
from .response_live import LiveResponse

CURVE_COLORS = [PALETTE["output"], (148, 103, 189), (44, 160, 44), (140, 86, 75)]
CLASS_COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]
PICK_PX = 9  # an example within this many pixels is under the mouse


def _mix(a, b, t):
    return tuple(int(round(a[i] + (b[i] - a[i]) * t)) for i in range(3))


class ResponseView:
    """The panel: `rect` on the screen, drawing what `live` holds: a LiveResponse in the window,
    a StillResponse in a recording (probe, response, current, inputs, targets, labels, test,
    margin, input_names(), output_names())."""

    def __init__(self, live: LiveResponse, fonts: dict):
        self.live = live
        self.fonts = fonts
        self.rect = pygame.Rect(0, 0, 10, 10)
        self.grip: dict | None = None  # an example being dragged: {"index", "pos", "moved"}
        self.hints = True  # say what the mouse does (not in a recording)

    # ------------------------------------------------------------ geometry

    def plot_rect(self) -> pygame.Rect:
        """The plotting area inside the panel (room for the title and the axis labels)."""
        r = self.rect
        return pygame.Rect(r.x + 46, r.y + 30, max(10, r.width - 58), max(10, r.height - 100))

    def _y_range(self) -> tuple[float, float]:
        vals = []
        r, live = self.live.response, self.live
        if r is not None and r.values.ndim == 2:
            vals.append(r.values[np.isfinite(r.values)])
        if live.targets is not None:
            vals.append(live.targets.ravel())
        v = np.concatenate(vals) if vals else np.zeros(1)
        lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
        lo, hi = min(lo, 0.0), max(hi, 0.0)
        pad = 0.12 * max(hi - lo, 1e-3)
        return lo - pad, hi + pad

    def _ranges(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper ends of the two plotted directions (x then y)."""
        p = self.live.probe
        if p.n_dims == 2:
            return p.lo.copy(), p.hi.copy()
        lo, hi = self._y_range()
        return np.array([p.lo[0], lo]), np.array([p.hi[0], hi])

    def to_screen(self, pts) -> np.ndarray:
        """(K, 2) plot coordinates (input, output) or (input 1, input 2) -> screen pixels."""
        lo, hi = self._ranges()
        pr = self.plot_rect()
        t = (np.asarray(pts, float) - lo) / np.maximum(hi - lo, 1e-12)
        return np.column_stack([pr.x + t[:, 0] * pr.width, pr.bottom - t[:, 1] * pr.height])

    def to_plot(self, pos) -> np.ndarray:
        """A screen point -> plot coordinates (2,)."""
        lo, hi = self._ranges()
        pr = self.plot_rect()
        t = np.array([(pos[0] - pr.x) / pr.width, (pr.bottom - pos[1]) / pr.height])
        return lo + t * (hi - lo)

    def example_points(self) -> np.ndarray:
        """(S, 2) plot coordinates of the examples: (input, first target) on a curve, (input 1,
        input 2) on a map."""
        live = self.live
        shown = live.inputs[:, list(live.probe.dims)]
        if live.probe.n_dims == 2:
            return shown
        y = live.targets[:, 0] if live.targets is not None else live.labels.astype(float)
        return np.column_stack([shown[:, 0], y])

    def example_at(self, pos) -> int | None:
        pts = self.example_points()
        if not len(pts):
            return None
        d = np.hypot(*(self.to_screen(pts) - np.asarray(pos, float)).T)
        return int(np.argmin(d)) if d.min() < PICK_PX else None

    # ------------------------------------------------------------ the mouse

    def press(self, pos, button: int) -> bool:
        """A button goes down at screen pos; True if the panel took it."""
        if self.live.probe is None or not self.rect.collidepoint(pos):
            return False
        if not self.plot_rect().collidepoint(pos):
            return True  # the panel's frame: nothing to do, but not the network's click either
        s = self.example_at(pos)
        if s is not None and button == 3:
            self.live.remove(s)
        elif s is not None and button == 1:
            self.grip = {"index": s, "pos": pos, "moved": False}
        elif s is None and button in (1, 3):
            p = self.to_plot(pos)
            if self.live.probe.n_dims == 2:
                label = (1 if button == 3 else 0) if self.live.probe.classify else None
                self.live.add(p, label=label)
            elif button == 1 and not self.live.probe.classify:
                self.live.add(p[:1], value=float(p[1]))
        return True

    def motion(self, pos) -> bool:
        if self.grip is None:
            return False
        self.grip["pos"] = pos
        self.grip["moved"] = True
        return True

    def _held(self) -> dict | None:
        """The grip, dropped if its example is gone (removed, or the examples replaced meanwhile)."""
        if self.grip is not None and self.grip["index"] >= len(self.live.inputs):
            self.grip = None
        return self.grip

    def release(self, pos) -> bool:
        g, self.grip = self._held(), None
        if g is None:
            return False
        if g["moved"]:
            p = self.to_plot(pos)
            if self.live.probe.n_dims == 2:
                self.live.move(g["index"], p)
            else:
                self.live.move(g["index"], p[:1], None if self.live.targets is None else float(p[1]))
        return True

    # ------------------------------------------------------------ drawing

    def _text(self, surface, text, pos, size=20, color=(60, 60, 60)):
        surf = self.fonts[size].render(text, True, color)
        surface.blit(surf, pos)
        return surf

    def draw(self, surface: pygame.Surface) -> None:
        live = self.live
        if live.probe is None:
            return
        r = self.rect
        pygame.draw.rect(surface, (255, 255, 255), r, border_radius=6)
        pygame.draw.rect(surface, (190, 190, 190), r, 1, border_radius=6)
        pr = self.plot_rect()
        w = self._text(surface, "what the network computes", (r.x + 8, r.y + 6), 24, PALETTE["text"]).get_width()
        if not live.current:  # a newer network is being relaxed over the grid
            self._text(surface, "updating", (r.x + 16 + w, r.y + 10), 16, (150, 150, 150))
        resp = live.response
        # a response computed for another scene (just opened) waits for its own
        fits = (resp is not None and resp.values.shape[-1] == self._n_outputs()
                and len(resp.axes) == live.probe.n_dims and resp.values.ndim == live.probe.n_dims + 1)
        if live.probe.n_dims == 2:
            if fits:
                self._draw_map(surface, pr, resp)
        else:
            self._draw_axes_zero(surface, pr)
            if fits:
                self._draw_curves(surface, pr, resp)
        pygame.draw.rect(surface, (150, 150, 150), pr, 1)
        self._draw_examples(surface)
        self._draw_labels(surface, pr)

    def _n_outputs(self) -> int:
        live = self.live
        return len(live.output_names())

    def _draw_axes_zero(self, surface, pr):
        """Thin lines where the input and the output are zero (the network at rest)."""
        lo, hi = self._ranges()
        z = self.to_screen(np.array([[0.0, 0.0]]))[0]
        if lo[0] < 0 < hi[0]:
            pygame.draw.line(surface, (225, 225, 225), (z[0], pr.y), (z[0], pr.bottom))
        if lo[1] < 0 < hi[1]:
            pygame.draw.line(surface, (225, 225, 225), (pr.x, z[1]), (pr.right, z[1]))

    def _draw_curves(self, surface, pr, resp):
        x = resp.axes[0]
        for j in range(resp.values.shape[1]):
            y = resp.values[:, j]
            ok = np.isfinite(y)
            if ok.sum() < 2:
                continue
            pts = self.to_screen(np.column_stack([x[ok], y[ok]]))
            pts[:, 1] = np.clip(pts[:, 1], pr.y, pr.bottom)
            pygame.draw.lines(surface, CURVE_COLORS[j % len(CURVE_COLORS)], False, pts.tolist(), 3)

    def map_colors(self, resp) -> np.ndarray:
        """(G, G, 3) uint8 colours of the map: the predicted class, paler where the winner leads
        by less than the margin; or the first output's value (red up, blue down)."""
        live = self.live
        v = resp.values
        if live.probe.classify:
            cls = resp.classes()
            s = np.sort(np.nan_to_num(v, nan=0.0), axis=-1)
            lead = s[..., -1] - s[..., -2] if v.shape[-1] > 1 else np.abs(s[..., -1])
            margin = float(live.margin) or 0.1
            t = 0.25 + 0.6 * np.clip(lead / margin, 0, 1)
            base = np.array([CLASS_COLORS[c % len(CLASS_COLORS)] for c in range(v.shape[-1])], float)
            col = 255 + (base[cls] - 255) * t[..., None]
        else:
            y = np.nan_to_num(v[..., 0])
            scale = max(float(np.abs(y).max()), 1e-12)
            t = np.clip(y / scale, -1, 1)[..., None]
            up, down = np.array(PALETTE["tension"], float), np.array(PALETTE["compression"], float)
            col = np.where(t >= 0, 255 + (up - 255) * t, 255 + (down - 255) * -t)
        return np.clip(col, 0, 255).astype(np.uint8)

    def _draw_map(self, surface, pr, resp):
        col = self.map_colors(resp)[:, ::-1]  # surfarray is [x, y] with y down: flip the second input
        img = pygame.surfarray.make_surface(np.ascontiguousarray(col))
        surface.blit(pygame.transform.smoothscale(img, pr.size), pr.topleft)

    def _draw_examples(self, surface):
        live = self.live
        pts = self.example_points()
        if not len(pts):
            return
        scr = self.to_screen(pts)
        if self._held() is not None:
            scr[self.grip["index"]] = self.grip["pos"]
        clip = surface.get_clip()
        surface.set_clip(self.plot_rect().inflate(12, 12))
        for s, (x, y) in enumerate(scr):
            if live.labels is not None:
                color = CLASS_COLORS[int(live.labels[s]) % len(CLASS_COLORS)]
            else:
                color = CURVE_COLORS[0] if live.probe.n_dims == 1 else PALETTE["target"]
            if live.test[s]:
                pygame.draw.circle(surface, (255, 255, 255), (x, y), 6)
                pygame.draw.circle(surface, color, (x, y), 6, 2)
            else:
                pygame.draw.circle(surface, color, (x, y), 6)
                pygame.draw.circle(surface, (30, 30, 30), (x, y), 6, 1)
        surface.set_clip(clip)

    def _draw_labels(self, surface, pr):
        live = self.live
        lo, hi = self._ranges()
        names = live.input_names()
        grey = (110, 110, 110)
        self._text(surface, f"{lo[0]:.2g}", (pr.x, pr.bottom + 3), 16, grey)
        w = self.fonts[16].size(f"{hi[0]:.2g}")[0]
        self._text(surface, f"{hi[0]:.2g}", (pr.right - w, pr.bottom + 3), 16, grey)
        self._text(surface, names[0], (pr.centerx - self.fonts[20].size(names[0])[0] // 2, pr.bottom + 3), 20)
        for v, y in ((hi[1], pr.y), (lo[1], pr.bottom - 10)):
            t = f"{v:.2g}"
            self._text(surface, t, (pr.x - 4 - self.fonts[16].size(t)[0], y), 16, grey)
        if live.probe.n_dims == 2:
            ylabel = names[1]
        else:
            ylabel = ", ".join(live.output_names()[:3])
        side = pygame.transform.rotate(self.fonts[20].render(ylabel, True, (60, 60, 60)), 90)
        surface.blit(side, (self.rect.x + 4, pr.centery - side.get_height() // 2))
        legend_y = pr.bottom + 21
        if live.probe.classify and live.probe.n_dims == 2:
            x = pr.x
            for c, name in enumerate(live.output_names()):
                pygame.draw.rect(surface, CLASS_COLORS[c % len(CLASS_COLORS)], pygame.Rect(x, legend_y + 1, 12, 12))
                x += 16 + self._text(surface, f"class {c}: {name} ahead", (x + 16, legend_y), 16).get_width() + 10
            hint = "click: add class 0   right-click: add class 1"
        else:
            what = "line: network" if live.probe.n_dims == 1 else "colour: network"
            self._text(surface, f"{what}   dots: examples (rings: test)", (pr.x, legend_y), 16)
            hint = "click: add an example there" if live.probe.n_dims == 1 else "click: add an example"
        if self.hints:
            self._text(surface, hint, (self.rect.x + 8, self.rect.bottom - 32), 16, (120, 120, 120))
            self._text(surface, "drag: move one   right-click on one: remove it", (self.rect.x + 8, self.rect.bottom - 17),
                       16, (120, 120, 120))


class StillResponse:
    """One response to draw, as a LiveResponse would hold it, with no session (a GIF's frame)."""

    current = True

    def __init__(self, task, net, input_mode: str, output_mode: str, probe, response):
        ex = example_numbers(task, net, input_mode, output_mode)
        self.inputs, self.targets, self.labels, self.test = ex.inputs, ex.targets, ex.labels, ex.test
        self.probe, self.response, self.margin = probe, response, task.margin
        self._names = (input_names(task, net, probe), output_names(task, net, probe))

    def input_names(self) -> list[str]:
        return self._names[0]

    def output_names(self) -> list[str]:
        return self._names[1]


def response_surface(still: StillResponse, size=(330, 320)) -> pygame.Surface:
    """The response panel drawn on a new surface of `size` (no display needed)."""
    pygame.font.init()
    fonts = {s: pygame.font.Font(None, s) for s in (16, 20, 24)}
    surf = pygame.Surface(size)
    surf.fill(PALETTE["background"])
    view = ResponseView(still, fonts)
    view.rect = pygame.Rect(4, 4, size[0] - 8, size[1] - 8)
    view.hints = False
    view.draw(surf)
    return surf
