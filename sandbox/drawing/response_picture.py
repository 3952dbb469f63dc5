"""The response panel drawn onto a pygame surface: what the network computes over its inputs.

One input: the network's answer (each output number) against the input, as curves, with the
examples as points on them (filled: training, ringed: held out for testing), and the goal: the
line through the origin the examples lie on (dashed), if they do. Two inputs: a map of the input
plane coloured by the predicted class (a classifier; paler where the winning output leads by
less than the margin) or by the first output's value, with the examples on it. A line under
the title reads out what is learned beside its goal (the slope now and the goal's, the answer at
the one example and its target, the examples a classifier gets right). The axes are fixed per
scene: while the network learns, the line moves and the dots stay.

Drawn from a source (the window's LiveResponse, or a StillResponse for a recording or a
picture): probe, response, current, inputs, targets, labels, test, margin, accuracy, y_range,
input_names(), output_names(). The window's ResponseView adds the mouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygame

from ..learning.response import example_numbers, free_response, probe_of_scene
from .names import input_names, output_names
from .render import PALETTE

CURVE_COLORS = [PALETTE["output"], (23, 190, 207), (44, 160, 44), (140, 86, 75)]
CLASS_COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


GOAL_COLOR = PALETTE["target"]


@dataclass(frozen=True)
class Goal:
    """What the examples ask, as the readout compares it: "slope" (they lie on the line
    value * input through the origin), "point" (one example: the answer `value` at input `at`),
    "gap" (anything else on a curve: how far the answer is from the examples, on average), "right" (a
    classifier: how many examples it gets right)."""

    kind: str
    value: float = float("nan")
    at: float = float("nan")


def goal_of(source) -> Goal | None:
    """The goal of a source's examples (None when there is no probe)."""
    probe = source.probe
    if probe is None:
        return None
    if source.labels is not None:
        return Goal("right")
    if probe.n_dims != 1 or source.targets is None or not len(source.inputs):
        return None
    x, y = source.inputs[:, probe.dims[0]], source.targets[:, 0]
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return Goal("point", float(y[0]), float(x[0]))
    a = float(x @ y / (x @ x)) if x @ x > 0 else float("nan")
    if np.isfinite(a) and np.abs(y - a * x).max() <= 1e-6 * max(float(np.abs(y).max()), 1e-12):
        return Goal("slope", a)
    return Goal("gap")


def readout(source, goal: Goal | None) -> str:
    """What is learned now beside its goal, in words ('' if nothing to say yet)."""
    resp = source.response
    if goal is None:
        return ""
    if goal.kind == "right":
        acc = getattr(source, "accuracy", float("nan"))
        n = int((~source.test).sum())
        return f"right now: {int(round(acc * n))} of {n}   goal: all {n}" if np.isfinite(acc) else ""
    if resp is None or resp.values.ndim != 2:
        return ""
    xs, ys = resp.axes[0], resp.values[:, 0]
    ok = np.isfinite(ys)
    if ok.sum() < 2:
        return ""
    if goal.kind == "slope":
        now = float(xs[ok] @ ys[ok] / (xs[ok] @ xs[ok]))
        return f"slope now {now:.3f}   goal {goal.value:.3g}"
    if goal.kind == "point":
        now = float(np.interp(goal.at, xs[ok], ys[ok]))
        return f"at {goal.at:.3g}: now {now:.3g}   goal {goal.value:.3g}"
    train = ~source.test
    x, y = source.inputs[train, source.probe.dims[0]], source.targets[train, 0]
    a = float(xs[ok] @ ys[ok] / (xs[ok] @ xs[ok])) if xs[ok] @ xs[ok] > 0 else float("nan")
    if np.isfinite(a) and x @ x > 0 and np.abs(ys[ok] - a * xs[ok]).max() <= 1e-3 * max(float(np.abs(ys[ok]).max()), 1e-12):
        # the answer is a line through 0 (lesson 1's springs can make no other), and no such line
        # meets every example: the goal is the least-squares line (what training minimises)
        return f"slope now {a:.3f}   best line through 0: {float(x @ y / (x @ x)):.3g}"
    return f"mean gap to the examples now {float(np.abs(np.interp(x, xs[ok], ys[ok]) - y).mean()):.2g}"


def y_range_of(source, with_response: bool = True) -> tuple[float, float]:
    """The output axis of a source's curve: the targets, zero, the goal's line across the
    inputs shown (a line through the examples: the network should end up near it, at either end
    too) and (with_response) the answer now; with a margin."""
    vals = [np.zeros(1)]
    if source.targets is not None:
        vals.append(np.ravel(source.targets))
    goal = goal_of(source)
    if goal is not None and goal.kind in ("slope", "point") and source.probe is not None:
        slope = goal.value if goal.kind == "slope" else goal.value / goal.at if goal.at else 0.0
        vals.append(slope * np.array([source.probe.lo[0], source.probe.hi[0]]))
    response = source.response if with_response else None
    if response is not None and response.values.ndim == 2:
        vals.append(response.values[np.isfinite(response.values)])
    v = np.concatenate(vals)
    lo, hi = float(v.min()), float(v.max())
    pad = 0.12 * max(hi - lo, 1e-3)
    return round_out(lo - pad, hi + pad)


def round_out(lo: float, hi: float) -> tuple[float, float]:
    """The range widened to ends a reader takes in at a glance: multiples of a step of 1, 2 or 5
    times a power of ten, about a fifth of the range (-0.0297 and 0.228 become -0.05 and 0.25)."""
    span = hi - lo
    if not (np.isfinite(span) and span > 0):
        return lo, hi
    power = 10.0 ** np.floor(np.log10(span / 5))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= span / 5)
    return float(np.floor(lo / step + 1e-9) * step), float(np.ceil(hi / step - 1e-9) * step)


class ResponsePicture:
    """The panel at `rect` on the screen, drawing what `live` holds: a LiveResponse in the
    window, a StillResponse in a recording (probe, response, current, inputs, targets, labels,
    test, margin, input_names(), output_names())."""

    grip: dict | None = None  # an example being dragged by the mouse (the window's ResponseView)
    hints = False  # say what the mouse does (the window's ResponseView)

    def __init__(self, live, fonts: dict, px=None):
        self.live = live
        self.fonts = fonts
        self.px = px or (lambda v: int(round(v)))  # pixels at the window's scale
        self.rect = pygame.Rect(0, 0, 10, 10)

    # ------------------------------------------------------------ geometry

    def plot_rect(self) -> pygame.Rect:
        """The plotting area inside the panel (room for the title, the readout and the labels)."""
        r, px = self.rect, self.px
        below = px(122) + (px(13) if len(self._legend_lines(r.right - r.x - px(62) - px(4))) > 1 else 0)
        return pygame.Rect(r.x + px(62), r.y + px(48), max(10, r.width - px(74)), max(10, r.height - below))

    def _legend_lines(self, width: int) -> list[str]:
        """The legend under a curve's plot, in one line or two (a narrow panel)."""
        live = self.live
        if live.probe is None or (live.probe.classify and live.probe.n_dims == 2):
            return []
        goal = goal_of(live)
        parts = ["line: network" if live.probe.n_dims == 1 else "colour: network",
                 "dots: examples" + (" (rings: test)" if live.test.any() else "")]
        parts += ["dashed: goal"] if goal is not None and goal.kind == "slope" else []
        if self.fonts[16].size("   ".join(parts))[0] <= width:
            return ["   ".join(parts)]
        return ["   ".join(parts[:2]), "   ".join(parts[2:])]

    def _y_range(self) -> tuple[float, float]:
        fixed = getattr(self.live, "y_range", None)
        return fixed if fixed is not None else y_range_of(self.live)

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

    def readout_text(self) -> str:
        """What the readout line says now ('' if nothing yet)."""
        return readout(self.live, goal_of(self.live))

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
        clip = surface.get_clip()
        surface.set_clip(r)
        pygame.draw.rect(surface, (255, 255, 255), r, border_radius=6)
        pygame.draw.rect(surface, (190, 190, 190), r, 1, border_radius=6)
        pr = self.plot_rect()
        px = self.px
        title = "what the network computes"
        if self.fonts[24].size(title)[0] > r.width - px(80):
            title = "the network's answer"
        w = self._text(surface, title, (r.x + px(8), r.y + px(6)), 24, PALETTE["text"]).get_width()
        if not live.current:  # a newer network is being relaxed over the grid
            self._text(surface, "updating", (r.x + px(16) + w, r.y + px(10)), 16, (150, 150, 150))
        goal = goal_of(live)
        said = readout(live, goal)
        if said:
            self._text(surface, said, (r.x + px(8), r.y + px(28)), 20, GOAL_COLOR)
        resp = live.response
        # a response computed for another scene (just opened) waits for its own
        fits = (resp is not None and resp.values.shape[-1] == self._n_outputs()
                and len(resp.axes) == live.probe.n_dims and resp.values.ndim == live.probe.n_dims + 1)
        if live.probe.n_dims == 2:
            if fits:
                self._draw_map(surface, pr, resp)
        else:
            self._draw_axes_zero(surface, pr)
            if goal is not None and goal.kind == "slope":
                self._draw_goal_line(surface, pr, goal.value)
            if fits:
                self._draw_curves(surface, pr, resp)
        pygame.draw.rect(surface, (150, 150, 150), pr, 1)
        self._draw_examples(surface)
        self._draw_labels(surface, pr)
        surface.set_clip(clip)

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

    def _draw_goal_line(self, surface, pr, slope: float):
        """The line the examples lie on, dashed (clipped to the plot)."""
        lo, hi = self._ranges()
        xs = np.linspace(lo[0], hi[0], 41)
        pts = self.to_screen(np.column_stack([xs, slope * xs]))
        clip = surface.get_clip()
        surface.set_clip(pr)
        for a, b in zip(pts[0:-1:2], pts[1::2]):
            pygame.draw.line(surface, GOAL_COLOR, a, b, 2)
        surface.set_clip(clip)

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
        if self.grip is not None:
            scr[self.grip["index"]] = self.grip["pos"]
        clip = surface.get_clip()
        surface.set_clip(self.plot_rect().inflate(12, 12))
        for s, (x, y) in enumerate(scr):
            if live.labels is not None:
                color = CLASS_COLORS[int(live.labels[s]) % len(CLASS_COLORS)]
            else:
                color = CURVE_COLORS[0] if live.probe.n_dims == 1 else PALETTE["target"]
            r = self.px(6)
            if live.test[s]:
                pygame.draw.circle(surface, (255, 255, 255), (x, y), r)
                pygame.draw.circle(surface, color, (x, y), r, 2)
            else:
                pygame.draw.circle(surface, color, (x, y), r)
                pygame.draw.circle(surface, (30, 30, 30), (x, y), r, 1)
        surface.set_clip(clip)

    def _draw_labels(self, surface, pr):
        live, px = self.live, self.px
        lo, hi = self._ranges()
        names = live.input_names()
        grey = (110, 110, 110)
        self._text(surface, _fmt(lo[0], hi[0] - lo[0]), (pr.x, pr.bottom + px(3)), 16, grey)
        t = _fmt(hi[0], hi[0] - lo[0])
        self._text(surface, t, (pr.right - self.fonts[16].size(t)[0], pr.bottom + px(3)), 16, grey)
        self._text(surface, names[0], (pr.centerx - self.fonts[20].size(names[0])[0] // 2, pr.bottom + px(3)), 20)
        for v, y in ((hi[1], pr.y), (lo[1], pr.bottom - px(10))):
            t = _fmt(v, hi[1] - lo[1])
            self._text(surface, t, (pr.x - px(4) - self.fonts[16].size(t)[0], y), 16, grey)
        ylabel = names[1] if live.probe.n_dims == 2 else ", ".join(live.output_names()[:3])
        side = pygame.transform.rotate(self.fonts[20].render(ylabel, True, (60, 60, 60)), 90)
        surface.blit(side, (self.rect.x + px(4), pr.centery - side.get_height() // 2))
        legend_y = pr.bottom + px(21)
        if live.probe.classify and live.probe.n_dims == 2:
            x = pr.x
            for c, name in enumerate(live.output_names()):
                pygame.draw.rect(surface, CLASS_COLORS[c % len(CLASS_COLORS)], pygame.Rect(x, legend_y + 1, px(12), px(12)))
                x += px(26) + self._text(surface, f"{name} ahead", (x + px(16), legend_y), 16).get_width()
            n = live.output_names()
            one = n[1] if len(n) > 1 else "class 1"
            hints = [(f"click: add one for {n[0]}   right-click: one for {one}", MOVE_HINTS[0]),
                     (f"click: add {n[0]}   right-click: add {one}", MOVE_HINTS[1])]
        else:
            for line in self._legend_lines(self.rect.right - pr.x - px(4)):
                self._text(surface, line, (pr.x, legend_y), 16)
                legend_y += px(13)
            hints = [("click: add an example there" if live.probe.n_dims == 1 else "click: add an example",
                      MOVE_HINTS[0]), ("click: add an example", MOVE_HINTS[1])]
        if self.hints:  # the first wording whose lines fit the panel (a narrow window gets the short one)
            room = self.rect.width - px(12)
            lines = next((h for h in hints if max(self.fonts[16].size(t)[0] for t in h) <= room), hints[-1])
            for t, up in zip(lines, (32, 17)):
                self._text(surface, t, (self.rect.x + px(8), self.rect.bottom - px(up)), 16, (120, 120, 120))


MOVE_HINTS = ("drag: move one   right-click on one: remove it", "drag: move   right-click a dot: remove")


def _fmt(v: float, span: float) -> str:
    """An axis end, with as many digits as its axis's span needs (two ends never read alike)."""
    digits = max(2, int(np.ceil(-np.log10(max(abs(span), 1e-300)))) + 2) if span > 0 else 2
    return f"{v:.{min(digits, 6)}g}" if abs(v) >= 1e-3 * abs(span) else "0"


class StillResponse:
    """One response to draw, as a LiveResponse would hold it, with no session (a recording's
    frame, a lesson's picture): the scene's examples and `response` of its network now."""

    current = True

    def __init__(self, scene, task, probe, response, accuracy: float = float("nan"), y_range=None):
        ts = scene.spec.task
        ex = example_numbers(task, scene.net, ts.input, ts.output)
        self.inputs, self.targets, self.labels, self.test = ex.inputs, ex.targets, ex.labels, ex.test
        self.probe, self.response, self.margin, self.accuracy = probe, response, task.margin, accuracy
        self.y_range = y_range
        self._names = (input_names(scene, task, probe), output_names(scene, task, probe))

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
    view = ResponsePicture(still, fonts)
    view.rect = pygame.Rect(4, 4, size[0] - 8, size[1] - 8)
    view.draw(surf)
    return surf


def scene_response(scene, task=None, resolution: int | None = None, y_range=None) -> StillResponse | None:
    """The response of a scene's network now, ready to draw (None: not one or two inputs)."""
    probe = probe_of_scene(scene)
    if probe is None:
        return None
    task = task or scene.task
    return StillResponse(scene, task, probe, free_response(scene.net, task, probe, resolution), y_range=y_range)
