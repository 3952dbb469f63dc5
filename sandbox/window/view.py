"""The view of the network: a camera that holds still, what is drawn in it, and what is under
the mouse.

The camera is fitted to the scene (its reference positions, where the examples clamp the inputs
and where they want the outputs) when a scene opens or the window's layout changes, and again
only when asked or when the network truly leaves the view (most of its nodes out of sight for a
second); never per example, never to a magnified or non-finite position. Picking uses the
positions as they were drawn, so a click lands on what the user saw.
"""

from __future__ import annotations

import numpy as np
import pygame

from ..drawing.render import PALETTE, Camera, Drawing, draw_network, drawing_for, spring_colors

DRAG_ROOM = 1.5  # the view holds the inputs' clamps this many times as far from their reference positions
LEAVE_FRAMES = 60  # frames in a row the network must be mostly out of view before the view follows it


def scene_points(net, task) -> np.ndarray:
    """(K, 2) the points a view of the scene must hold: the reference positions, where every
    example clamps the inputs, with room to drag them half as far again (an input at the end of
    its examples' range is not against the edge), and where it wants the outputs (finite ones)."""
    pts = [net.pos, (net.pos[task.inputs][None] + DRAG_ROOM * task.clamps).reshape(-1, 2)]
    pts += [task.target_points(net, s, net.pos) for s in range(min(task.n_examples, 200))]
    pts = np.vstack(pts)
    return pts[np.isfinite(pts).all(axis=1)]


def typical(x: np.ndarray) -> np.ndarray:
    """The finite positions of x (N, 2) that are not outliers: within three times the spread of
    the middle half of the nodes (quartiles) of its median, along each axis."""
    x = x[np.isfinite(x).all(axis=1)]
    if len(x) < 4:
        return x
    q1, med, q3 = np.percentile(x, [25, 50, 75], axis=0)
    reach = 3 * np.maximum(q3 - q1, 1e-9 + 1e-3 * np.abs(med))
    return x[(np.abs(x - med) <= reach).all(axis=1)]


def mostly_outside(camera: Camera, x: np.ndarray) -> bool:
    """Whether most of the positions x (N, 2) are drawn outside the camera's rectangle."""
    p = camera.to_screen(x)
    r = camera.rect
    inside = np.isfinite(p).all(axis=1) & (p[:, 0] >= r.x) & (p[:, 0] <= r.right) & (p[:, 1] >= r.y) & (p[:, 1] <= r.bottom)
    return bool(len(inside)) and inside.mean() < 0.5


class NetworkView:
    """camera: the Camera of the last frame (None before the first); drawn: the positions (N, 2)
    drawn in it."""

    def __init__(self, session):
        self.session = session
        self.camera: Camera | None = None
        self.drawn: np.ndarray | None = None
        self._key = None
        self._outside = 0

    def refit(self) -> None:
        """Fit the view to the scene again at the next frame."""
        self._key = None

    def fit(self, area: pygame.Rect) -> Camera:
        """The camera for this frame, in `area` (see the module's docstring for when it moves)."""
        s = self.session
        key = (s.generation, tuple(area))
        if self.camera is not None and self._key == key:
            if s.hands.dragging is None and not s.editing and mostly_outside(self.camera, s.x):
                self._outside += 1
            else:
                self._outside = 0
            if self._outside < LEAVE_FRAMES:
                return self.camera
            pts = np.vstack([s.net.pos, typical(s.x)]) if len(s.x) == s.net.n_nodes else s.net.pos
        else:
            pts = scene_points(s.net, s.trainer.task)
        self._key, self._outside = key, 0
        self.camera = Camera.fit(area, pts, s.scene.spec.view.scale)
        return self.camera

    def drawing(self, color_mode: str) -> Drawing:
        """What to draw besides the network now: targets, ghost, nudge, colours, names, markers."""
        s = self.session
        net = s.net
        change_colors = color_mode == "change" or s.flashing
        extra = drawing_for(s.scene, s.trainer.task, s.example, s.x, ghost=s.ghost, nudge=s.nudge_forces(),
                            change=s.change, flash=1.0 if change_colors else 0.0,
                            color_mode="change" if change_colors else "tension")
        ed = s.edit
        if s.editing:
            extra.targets, extra.clamps = ed.markers()
            extra.every_node = True
            extra.rings = [(i, PALETTE["tension"]) for i in ed.loose if i < net.n_nodes]
            if ed.pending is not None:  # the first end of a pair being made
                extra.rings.append((ed.pending[1], PALETTE[ed.pending[0]]))
            if ed.picked is not None:
                extra.rings.append((ed.picked, PALETTE["highlight"]))
        if color_mode == "agreement" and not s.editing:
            s.hands.want_agreement()
            got = s.hands.agreement_values
            values = got[1] if got is not None else None
            if values is not None and len(values) == net.n_springs:  # (None while the network is floppy)
                # green where EP is within 1e-6 of the exact gradient, purple where it is 1e-2 off
                extra.custom_colors = spring_colors(-np.log10(np.maximum(values, 1e-12)) - 4, 2,
                                                    PALETTE["stiffer"], PALETTE["softer"], PALETTE["spring"])
        sel = s.hands.selected
        extra.highlight = sel if sel is not None and sel < net.n_springs else None
        return extra

    def draw(self, surface, area: pygame.Rect, extra: Drawing) -> None:
        """Draw the network as it is now in `area`, with `extra` (made by `drawing`)."""
        s = self.session
        cam = self.fit(area)
        if len(s.x) == s.net.n_nodes:
            jiggle = s.warmth.offset()  # (warm: the thermal motion, magnified; None when cold)
            x = s.x if jiggle is None else s.x + jiggle
            draw_network(surface, cam, s.net, x, s.k_ref, extra, s.scene.spec.view.colors and
                         {k: tuple(v) for k, v in s.scene.spec.view.colors.items()})
            self.drawn = x.copy()
        g = s.edit.grip
        if g is not None and g["what"] == "link" and g["moved"] and g["index"] < len(s.x):  # the spring drawn
            pygame.draw.line(surface, PALETTE["highlight"], *cam.to_screen(np.array([s.x[g["index"]], g["at"]])), 3)

    # ------------------------------------------------------------ under the mouse

    def _shown(self) -> np.ndarray:
        s = self.session
        return self.drawn if self.drawn is not None and len(self.drawn) == s.net.n_nodes else s.x

    def node_distances(self, pos) -> np.ndarray:
        """(N,) how far each node is drawn from a screen point, in pixels, less the room it is
        picked within: 14 pixels, 5 for a hidden node too small to be drawn (negative: under it)."""
        s = self.session
        d = np.hypot(*(self.camera.to_screen(self._shown()) - np.asarray(pos, float)).T)
        drawn = (s.net.roles != 2) | s.editing | (self.camera.scale >= 25)
        return d - np.where(drawn, 14.0, 5.0)

    def node_at(self, pos) -> int | None:
        """The node under a screen point, as drawn, if any."""
        if self.camera is None or not len(self._shown()):
            return None
        d = self.node_distances(pos)
        return int(np.argmin(d)) if d.min() < 0 else None

    def spring_distances(self, pos) -> np.ndarray:
        """(E,) how far each spring is drawn from a screen point, in pixels."""
        s = self.session
        p = self.camera.to_screen(self._shown())
        a, b = p[s.net.edges[:, 0]], p[s.net.edges[:, 1]]
        ab = b - a
        t = np.clip(((np.asarray(pos) - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-9), 0, 1)
        return np.hypot(*(a + t[:, None] * ab - np.asarray(pos)).T)

    def spring_at(self, pos) -> int | None:
        """The spring within 8 pixels of a screen point, as drawn, if any."""
        s = self.session
        if self.camera is None or len(self._shown()) != s.net.n_nodes or not s.net.n_springs:
            return None
        dist = self.spring_distances(pos)
        e = int(np.argmin(dist))
        return e if dist[e] < 8 else None

    def under(self, pos) -> tuple[str, int] | None:
        """What a click at a screen point takes: ("node", i) or ("spring", e), whichever is drawn
        nearer (a node wins where it is drawn over the spring), or None."""
        i, e = self.node_at(pos), self.spring_at(pos)
        if i is not None and e is not None:
            node = self.node_distances(pos)[i] + 14.0
            return ("spring", e) if self.spring_distances(pos)[e] + 3 < node else ("node", i)
        return ("node", i) if i is not None else ("spring", e) if e is not None else None

    def to_world(self, pos) -> np.ndarray:
        return self.camera.to_world(pos)
