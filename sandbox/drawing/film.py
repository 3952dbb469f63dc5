"""Recording pictures into an animated GIF: the window's frames, or one picture per epoch.

Frames are kept small as they come (scaled, 256 colours each), so a minute of window costs
tens of megabytes, not gigabytes; `save` writes the GIF atomically.
"""

from __future__ import annotations

import io

import pygame
from PIL import Image

from ..files import write_atomic


class Film:
    """Frames of pygame surfaces. offer() keeps every `every`-th surface it is shown, scaled by
    `scale`, until `max_frames` are kept; each frame lasts `frame_ms` in the GIF."""

    def __init__(self, every: int = 1, scale: float = 1.0, max_frames: int | None = None, frame_ms: int = 100):
        self.every, self.scale, self.max_frames, self.frame_ms = every, scale, max_frames, frame_ms
        self.frames: list[Image.Image] = []
        self._offered = 0

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def full(self) -> bool:
        return self.max_frames is not None and len(self.frames) >= self.max_frames

    @property
    def seconds(self) -> float:
        return len(self.frames) * self.frame_ms / 1000

    def offer(self, surface: pygame.Surface) -> bool:
        """Keep this surface if its turn has come (and there is room); True if kept."""
        self._offered += 1
        if (self._offered - 1) % self.every or self.full:
            return False
        self.add(surface)
        return True

    def add(self, surface: pygame.Surface) -> None:
        if self.scale != 1.0:
            w, h = surface.get_size()
            surface = pygame.transform.smoothscale(surface, (max(1, round(w * self.scale)), max(1, round(h * self.scale))))
        im = Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))
        self.frames.append(im.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE))

    def gif(self) -> bytes:
        """The frames as a looping GIF. Needs at least one frame."""
        if not self.frames:
            raise ValueError("no frames to save")
        buf = io.BytesIO()
        self.frames[0].save(buf, format="GIF", save_all=True, append_images=self.frames[1:],
                            duration=self.frame_ms, loop=0, optimize=False)
        return buf.getvalue()

    def save(self, path) -> None:
        """Write the GIF atomically."""
        write_atomic(path, self.gif())
