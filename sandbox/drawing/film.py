"""Recording pictures into an animated GIF: the window's frames, or one picture per epoch.

Frames are kept small as they come (scaled, 256 colours each), so a minute of window costs
tens of megabytes, not gigabytes; `save` writes the GIF atomically. A recording of the window
keeps a frame every `frame_ms` of wall time and gives each its own duration, so the GIF lasts
as long as the recording did, however fast the window drew.
"""

from __future__ import annotations

import io
import time

import pygame
from PIL import Image

from ..files import write_atomic


class Film:
    """Frames of pygame surfaces. offer() keeps every `every`-th surface it is shown (or, with
    `timed`, one every `frame_ms` of wall time), scaled by `scale`, until `max_frames` are kept;
    each frame lasts `frame_ms` in the GIF (timed: until the next one was kept)."""

    def __init__(self, every: int = 1, scale: float = 1.0, max_frames: int | None = None, frame_ms: int = 100,
                 timed: bool = False):
        self.every, self.scale, self.max_frames, self.frame_ms, self.timed = every, scale, max_frames, frame_ms, timed
        self.frames: list[Image.Image] = []
        self.kept_at: list[float] = []  # when each frame was kept (timed)
        self.ended: float | None = None
        self._offered = 0

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def full(self) -> bool:
        return self.max_frames is not None and len(self.frames) >= self.max_frames

    def durations(self) -> list[int]:
        """How long each frame is shown in the GIF, in ms."""
        if not self.timed or not self.frames:
            return [self.frame_ms] * len(self.frames)
        ends = self.kept_at[1:] + [self.ended if self.ended is not None else self.kept_at[-1] + self.frame_ms / 1000]
        return [max(20, int(round(1000 * (b - a)))) for a, b in zip(self.kept_at, ends)]

    @property
    def seconds(self) -> float:
        if self.timed and self.frames:
            return (self.ended if self.ended is not None else time.perf_counter()) - self.kept_at[0]
        return len(self.frames) * self.frame_ms / 1000

    def offer(self, surface: pygame.Surface, now: float | None = None) -> bool:
        """Keep this surface if its turn has come (and there is room); True if kept."""
        self._offered += 1
        if self.full:
            return False
        if self.timed:
            now = time.perf_counter() if now is None else now
            if self.kept_at and now - self.kept_at[-1] < self.frame_ms / 1000:
                return False
            self.kept_at.append(now)
        elif (self._offered - 1) % self.every:
            return False
        self.add(surface)
        return True

    def end(self, now: float | None = None) -> None:
        """The recording stops now (the last frame lasts until then)."""
        self.ended = time.perf_counter() if now is None else now

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
                            duration=self.durations(), loop=0, optimize=False)
        return buf.getvalue()

    def save(self, path) -> None:
        """Write the GIF atomically."""
        write_atomic(path, self.gif())
