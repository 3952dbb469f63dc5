"""The response panel in the window: the picture (sandbox.drawing.response_picture) and the
mouse on it.

Mouse: left-click on empty space adds an example there (on a curve at that target, on a map of
classes of class 0; right-click adds class 1); drag an example to move it; right-click an
example to remove it. Each is one edit of the scene (Z undoes, W saves).
"""

from __future__ import annotations

import numpy as np

from ..drawing.response_picture import ResponsePicture
from .response_live import LiveResponse

PICK_PX = 9  # an example within this many pixels is under the mouse


class ResponseView(ResponsePicture):
    """The window's response panel: its picture, and examples added, moved and removed with the mouse."""

    hints = True

    def __init__(self, live: LiveResponse, fonts, px=None):
        super().__init__(live, fonts, px)
        self.grip: dict | None = None  # an example being dragged: {"index", "pos", "moved"}

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
            self.grip = {"index": s, "pos": pos, "start": pos, "moved": False}
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

    def release(self, pos) -> bool:
        g, self.grip = self.grip, None
        if g is None:
            return False
        if g["moved"]:
            p = self.to_plot(pos)
            still = np.abs(np.subtract(pos, g["start"])) < 1  # (a direction not moved keeps its value exactly)
            p[still] = self.example_points()[g["index"]][still]
            if self.live.probe.n_dims == 2:
                self.live.move(g["index"], p)
            else:
                self.live.move(g["index"], p[:1], None if self.live.targets is None else float(p[1]))
        return True
