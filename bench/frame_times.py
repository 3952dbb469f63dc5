"""How long the window takes to draw a frame while a class watches: each scene opened as
`python main.py` opens it, Space, then `seconds` of the window's own loop (60 frames a second at
most, the normal pace), timing every frame (events, the session, drawing, the flip).

    SDL_VIDEODRIVER=x11 DISPLAY=:11 python -m bench.frame_times [seconds]

Prints, per scene: frames drawn, median, 99th percentile, longest (ms), and the load average.
"""

import os
import sys
import time
from pathlib import Path

import numpy as np
import pygame

from sandbox.scenes.build import load_scene
from sandbox.window.app import App

SCENES = Path(__file__).parent.parent / "scenes"


def play(name: str, seconds: float) -> np.ndarray:
    """(F,) seconds each frame took, Space pressed once the scene has opened."""
    app = App(load_scene(SCENES / f"{name}.yaml"), show_help=False)
    app.session.wait()
    clock, times = pygame.time.Clock(), []
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode=""))
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        dt = clock.tick(60) / 1000.0
        t0 = time.perf_counter()
        app.tick(dt)
        times.append(time.perf_counter() - t0)
    app.session.cancel()
    app.session.wait()
    app.teaching.live.wait()
    return np.array(times)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    print(f"driver {os.environ.get('SDL_VIDEODRIVER', 'default')}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name in ("lesson_two_springs", "lesson_allostery", "lesson_xor", "xor", "digits"):
        t = 1e3 * play(name, seconds)
        print(f"{name:20s} {len(t):5d} frames  median {np.median(t):5.1f} ms  "
              f"99th percentile {np.percentile(t, 99):6.1f} ms  longest {t.max():6.1f} ms")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
