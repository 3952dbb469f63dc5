"""Drawing a network state onto a pygame surface (works off-screen, with no window).

Springs: width grows with stiffness (log scale around the scene's median k); colour shows
tension (red) or compression (blue), or, in "change" mode, the last change of stiffness
(green: stiffer, purple: softer; orange is the outputs' colour alone). Nodes show their role by
shape and colour; targets are crosses, under the nodes (an output on its target stays seen);
nudge forces are arrows on the outputs; a ghost shows the free equilibrium.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from ..files import write_atomic
from ..physics.network import FIXED, HIDDEN, INPUT, OUTPUT, Network
from .names import class_names, node_names

PALETTE = {
    "background": (250, 250, 246),
    "spring": (140, 140, 140),
    "tension": (214, 39, 40),
    "compression": (31, 119, 180),
    "stiffer": (44, 160, 44),
    "softer": (148, 103, 189),
    "fixed": (60, 60, 60),
    "input": (31, 119, 180),
    "hidden": (120, 120, 120),
    "output": (230, 100, 0),
    "target": (200, 0, 120),
    "ghost": (185, 185, 185),
    "nudge": (200, 0, 120),
    "text": (30, 30, 30),
    "highlight": (255, 200, 0),
}


@dataclass
class Camera:
    """Maps world coordinates (y up) into a screen rectangle (y down): fit bounds with a margin."""

    rect: pygame.Rect
    center: np.ndarray
    scale: float  # pixels per world unit

    @classmethod
    def fit(cls, rect: pygame.Rect, points: np.ndarray, scale: float | None = None, margin: float = 0.12):
        """The camera showing points (K, 2) in rect with a margin; at `scale` pixels per unit
        if given and the points fit at it, else at the scale that fits them."""
        lo, hi = points.min(axis=0), points.max(axis=0)
        span = np.maximum(hi - lo, 1e-9)
        usable = np.array([rect.width, rect.height], float) * (1 - 2 * margin)
        fits = float(max(1e-6, min(usable / span))) if len(points) > 1 else 100.0
        fits = min(fits, max(rect.width, rect.height))
        return cls(rect, (lo + hi) / 2, fits if scale is None else min(scale, fits))

    def to_screen(self, x: np.ndarray) -> np.ndarray:
        """(..., 2) world -> (..., 2) float pixels."""
        s = (x - self.center) * self.scale
        return np.stack([self.rect.centerx + s[..., 0], self.rect.centery - s[..., 1]], axis=-1)

    def to_world(self, p) -> np.ndarray:
        p = np.asarray(p, float)
        return self.center + np.array([(p[0] - self.rect.centerx), -(p[1] - self.rect.centery)]) / self.scale


def spring_widths(k: np.ndarray, k_ref: float) -> np.ndarray:
    """(E,) int line widths in pixels: 3 at k_ref, +2 per doubling, between 1 and 14."""
    return np.clip(np.round(3 + 2 * np.log2(np.maximum(k, 1e-12) / k_ref)), 1, 14).astype(int)


def spring_colors(values: np.ndarray, scale: float, pos_color, neg_color, neutral) -> list:
    """A colour per spring (E values -> E [r, g, b] lists): toward pos_color for positive values,
    toward neg_color for negative ones, neutral at zero; |value| >= scale is full colour."""
    t = np.minimum(1.0, np.abs(values) / max(scale, 1e-15)) ** 0.6
    end = np.where((values > 0)[:, None], np.array(pos_color, float), np.array(neg_color, float))
    rgb = np.array(neutral, float) + (end - np.array(neutral, float)) * t[:, None]
    return np.round(rgb).astype(int).tolist()  # pygame takes [r, g, b] lists as colours


@dataclass
class Drawing:
    """What to draw besides the network itself (all optional).

    ghost: (N, 2) positions shown faintly (the free equilibrium during the nudged phase);
    targets: (P, 2) world positions of output targets; pairs: (P, 2) node pairs of a distance task
    with target distances `pair_targets` (P,); nudge: (N, 2) forces drawn as arrows;
    change: (E,) last change of k (colour mode "change"); flash: 0..1 fades the change colours;
    highlight: index of a selected spring; clamps: (M, 2) world positions an example holds its
    inputs at (drawn as hollow diamonds, while editing); rings: (node index, colour) pairs;
    every_node: draw hidden nodes even on a crowded network; labels: {node: text} written
    beside nodes (the window names the inputs and outputs of small scenes); shades: {node:
    0..1} drawn as grey squares at the nodes' reference positions, under the nodes (an example's
    image, as digits' pixels).
    """

    ghost: np.ndarray | None = None
    targets: np.ndarray | None = None
    nudge: np.ndarray | None = None
    change: np.ndarray | None = None
    color_mode: str = "tension"
    flash: float = 1.0
    highlight: int | None = None
    custom_colors: list | None = None
    clamps: np.ndarray | None = None
    rings: list = field(default_factory=list)
    every_node: bool = False
    labels: dict = field(default_factory=dict)
    shades: dict = field(default_factory=dict)


def draw_network(surface: pygame.Surface, camera: Camera, net: Network, x: np.ndarray,
                 k_ref: float, extra: Drawing | None = None, palette: dict | None = None) -> None:
    """Draw the network at positions x (N, 2) into camera.rect of surface. A node at a
    position that is not finite is left out, with its springs; one far away is drawn toward it."""
    pal = dict(PALETTE, **(palette or {}))
    extra = extra or Drawing()
    clip = surface.get_clip()
    surface.set_clip(camera.rect)
    p, ok = _on_screen(camera, x)
    shown = ok[net.edges].all(axis=1) if net.n_springs else np.zeros(0, bool)  # springs with both ends finite
    if extra.ghost is not None:
        g, g_ok = _on_screen(camera, extra.ghost)
        for a, b in net.edges[g_ok[net.edges].all(axis=1)]:
            pygame.draw.line(surface, pal["ghost"], g[a], g[b], 1)
    # thinner lines when the springs are only a few pixels long (large networks)
    widths = np.maximum(1, np.round(spring_widths(net.k, k_ref) * float(np.clip(camera.scale / 60, 0.34, 1)))).astype(int)
    if extra.custom_colors is not None:
        colors = extra.custom_colors
    elif extra.color_mode == "change" and extra.change is not None:
        ch = extra.change * extra.flash
        colors = spring_colors(ch, float(np.abs(extra.change).max(initial=0.0)), pal["stiffer"], pal["softer"], pal["spring"])
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            d = x[net.edges[:, 1]] - x[net.edges[:, 0]]
            strain = (np.sqrt((d * d).sum(axis=1)) - net.L) / np.maximum(net.L, 1e-12)
        colors = spring_colors(np.nan_to_num(strain, posinf=1.0, neginf=-1.0), 0.05, pal["tension"],
                               pal["compression"], pal["spring"])
    pts = p.tolist()
    if extra.highlight is not None and 0 <= extra.highlight < net.n_springs and shown[extra.highlight]:
        a, b = net.edges[extra.highlight]
        pygame.draw.line(surface, pal["highlight"], pts[a], pts[b], int(widths[extra.highlight]) + 6)
    line = pygame.draw.line
    for (a, b), c, w, on in zip(net.edges.tolist(), colors, widths.tolist(), shown.tolist()):
        if on:
            line(surface, c, pts[a], pts[b], w)
    if extra.ghost is not None:
        for i in np.flatnonzero((net.roles == OUTPUT) & g_ok):
            pygame.draw.circle(surface, pal["ghost"], g[i], 7, 2)
    if extra.shades:  # over the springs, under the nodes
        _draw_shades(surface, camera.to_screen(net.pos), extra.shades, pal)
    r = max(3, min(9, int(camera.scale * 0.08)))
    if extra.targets is not None:  # under the nodes: an output on its target stays seen, the cross's arms around it
        t_at, t_ok = _on_screen(camera, extra.targets)
        for t in t_at[t_ok]:
            s = r + 4
            pygame.draw.line(surface, pal["target"], (t[0] - s, t[1] - s), (t[0] + s, t[1] + s), 2)
            pygame.draw.line(surface, pal["target"], (t[0] - s, t[1] + s), (t[0] + s, t[1] - s), 2)
    held = net.held
    rail = ~held & ~net.axes.all(axis=1)
    for i, (c, role) in enumerate(zip(pts, net.roles.tolist())):
        if not ok[i]:
            continue
        if role == FIXED:
            pygame.draw.rect(surface, pal["fixed"], pygame.Rect(c[0] - r, c[1] - r, 2 * r, 2 * r))
        elif role == INPUT:
            pygame.draw.polygon(surface, pal["input"], _diamond(c, r + 3))
        elif role == OUTPUT:
            pygame.draw.circle(surface, pal["output"], c, r + 2)
            pygame.draw.circle(surface, (255, 255, 255), c, max(2, r - 2))
        elif role == HIDDEN:
            if extra.every_node:  # something to click on
                pygame.draw.circle(surface, pal["text"], c, max(3, r - 1), 1)
            elif camera.scale >= 25:  # hidden nodes only where there is room to see them
                pygame.draw.circle(surface, pal["hidden"], c, max(2, r - 3))
        if rail[i]:
            horiz = net.axes[i, 0]
            dx, dy = (2.2 * r, 0) if horiz else (0, 2.2 * r)
            pygame.draw.line(surface, pal["fixed"], (c[0] - dx, c[1] - dy + (r + 4) * horiz),
                             (c[0] + dx, c[1] + dy + (r + 4) * horiz), 2)
    if extra.labels:
        label_font = font(18)
        for i, text in extra.labels.items():
            if ok[i]:
                surface.blit(label_font.render(str(text), True, pal["text"]), (pts[i][0] + r + 6, pts[i][1] - r - 14))
    for i, color in extra.rings:
        pygame.draw.circle(surface, color, pts[i], r + 7, 3)
    if extra.clamps is not None:
        c_at, c_ok = _on_screen(camera, extra.clamps)
        for c in c_at[c_ok]:
            pygame.draw.polygon(surface, pal["input"], _diamond(c, r + 5), 2)
    if extra.nudge is not None and np.isfinite(extra.nudge).all():
        peak = float(np.abs(extra.nudge).max(initial=0.0))
        if peak > 0:
            for i in np.flatnonzero((np.abs(extra.nudge).sum(axis=1) > 0) & ok):
                v = extra.nudge[i] / peak * 40.0
                tip = p[i] + np.array([v[0], -v[1]])
                _arrow(surface, pal["nudge"], p[i], tip)
    surface.set_clip(clip)


FAR = 1e5  # screen coordinates are kept within +-FAR pixels (a line toward a far node keeps its direction)


def _on_screen(camera: Camera, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Screen points (K, 2) of world points x (K, 2), within FAR, and (K,) which are finite."""
    with np.errstate(invalid="ignore", over="ignore"):
        p = camera.to_screen(x)
    ok = np.isfinite(p).all(axis=1)
    return np.clip(np.where(ok[:, None], p, 0.0), -FAR, FAR), ok


def _draw_shades(surface, p: np.ndarray, shades: dict, pal: dict) -> None:
    """A square at each shaded node's reference position (screen points p (N, 2)), from the
    background (0) to the text colour (1), as wide as the nodes are apart: a grid shows an image."""
    nodes = np.array(list(shades), dtype=np.int64)
    q = p[nodes]
    gaps = np.linalg.norm(q[:, None] - q[None], axis=2) + np.eye(len(q)) * 1e9
    side = float(np.clip(gaps.min(), 4, 40)) if len(q) > 1 else 12.0
    back, ink = np.array(pal["background"], float), np.array(pal["text"], float)
    for (cx, cy), t in zip(q.tolist(), shades.values()):
        color = np.round(back + (ink - back) * float(np.clip(t, 0, 1))).astype(int).tolist()
        pygame.draw.rect(surface, color, pygame.Rect(cx - side / 2, cy - side / 2, side, side))


def _diamond(c, size: float) -> list:
    """The corners of a diamond of half-width `size` around screen point c."""
    return [(c[0], c[1] - size), (c[0] + size, c[1]), (c[0], c[1] + size), (c[0] - size, c[1])]


_FONTS: dict = {}


def font(size: int) -> pygame.font.Font:
    if size not in _FONTS:
        pygame.font.init()
        _FONTS[size] = pygame.font.Font(None, size)
    return _FONTS[size]


def _arrow(surface, color, start, tip, width=3):
    pygame.draw.line(surface, color, start, tip, width)
    d = np.asarray(tip, float) - np.asarray(start, float)
    n = np.linalg.norm(d)
    if n < 1:
        return
    u = d / n
    w = np.array([-u[1], u[0]])
    pygame.draw.polygon(surface, color, [tip, tip - 10 * u + 5 * w, tip - 10 * u - 5 * w])


def render_png(path, net: Network, x: np.ndarray, size=(900, 700), title: str = "",
               extra: Drawing | None = None, k_ref: float | None = None) -> None:
    """Draw a network state into a PNG file, as the window draws it (no display needed): encoded
    in memory, then written atomically (a full disk cuts no file)."""
    buf = io.BytesIO()
    pygame.image.save(render_surface(net, x, size, title, extra, k_ref), buf, "png")
    write_atomic(Path(path), buf.getvalue())


def render_surface(net: Network, x: np.ndarray, size=(900, 700), title: str = "",
                   extra: Drawing | None = None, k_ref: float | None = None) -> pygame.Surface:
    """A network state drawn on a new off-screen surface of `size`, with an optional title."""
    surf = pygame.Surface(size)
    surf.fill(PALETTE["background"])
    rect = surf.get_rect()
    if title:
        rect = pygame.Rect(0, 40, size[0], size[1] - 40)
        surf.blit(font(30).render(title, True, PALETTE["text"]), (12, 10))
    cam = Camera.fit(rect, x[np.isfinite(x).all(axis=1)] if np.isfinite(x).any() else net.pos)
    draw_network(surf, cam, net, x, k_ref or float(np.median(net.k)), extra)
    return surf


LABELLED_MAX_NODES = 30  # networks this small show the names of their inputs and outputs


def drawing_for(scene, task, s: int, x: np.ndarray, **kw) -> Drawing:
    """What to draw besides the network for example s at positions x (N, 2): where it wants the
    outputs (a classifier: the right output only, the one that should rise), the names of the
    inputs and outputs of a small network (a classifier's outputs: its classes), and an image's
    pixels on the inputs (image_shades). Other fields of the Drawing come as keywords."""
    net = scene.net
    targets = task.target_points(net, s, x)
    if task.labels is not None:
        targets = targets[[int(task.labels[s])]]
    labels = {}
    if net.n_nodes <= LABELLED_MAX_NODES:
        names = node_names(scene)
        labels = {int(i): names[i] for i in np.concatenate([task.inputs, np.ravel(task.outputs)]) if names[i]}
    if task.labels is not None:
        labels.update({int(o): name for o, name in zip(np.ravel(task.outputs), class_names(scene, task))})
    return Drawing(targets=targets, labels=labels, shades=image_shades(task, s), **kw)


_SHADING: list = [None, 0, 0.0, 0.0, None]  # the clamps array last shaded, its axis, range and inputs that vary


def image_shades(task, s: int) -> dict:
    """For a classifier with 16 inputs or more (an image such as digits' 8x8 pixels): {input
    node: 0..1}, example s's input displacement along its axis relative to the range over all
    examples. An input the same in every example (a bias) is no pixel: not shaded. {} otherwise."""
    if task.labels is None or len(task.inputs) < 16:
        return {}
    if _SHADING[0] is not task.clamps:  # (the range over all examples, once per task: not per frame)
        axis = int(np.argmax(np.ptp(task.clamps, axis=(0, 1))))
        varies = np.ptp(task.clamps[:, :, axis], axis=0) > 0
        _SHADING[:] = [task.clamps, axis, float(task.clamps[:, :, axis].min()), float(task.clamps[:, :, axis].max()), varies]
    _, axis, lo, hi, varies = _SHADING
    values = task.clamps[s, :, axis]
    shade = (values - lo) / (hi - lo) if hi > lo else np.zeros(len(task.inputs))
    return {int(i): float(v) for i, v, on in zip(task.inputs, shade, varies) if on}


def wrap(text: str, typeface, width: int) -> list[str]:
    """Lines of text no wider than width pixels; a blank line in the text starts a paragraph.
    The spaces between words are kept within a line (a wider gap parts items of a list); a
    no-break space (\u00a0) holds two words on one line."""
    lines = []
    for para in text.split("\n"):
        line = ""
        for gap, word in re.findall(r"( *)([^ ]+)", para):
            trial = line + gap + word if line else word
            if typeface.size(trial)[0] > width and line:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines
