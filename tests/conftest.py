"""Shared test setup: no display needed, and small random networks to test the physics on."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from sandbox.learning.task import Task  # noqa: E402
from sandbox.physics.network import FIXED, HIDDEN, INPUT, OUTPUT, Network, disordered_network  # noqa: E402

# Fuzz depth: "ci" (the default, 200 examples a property) or "deep" (2,000), chosen with
# HYPOTHESIS_PROFILE=deep python -m pytest tests/test_hostile.py
for _name, _n in (("ci", 200), ("deep", 2000)):
    settings.register_profile(_name, max_examples=_n, deadline=None, derandomize=True,
                              suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def random_network(n=40, seed=0, coordination=4.6, prestress=0.1):
    """A disordered network: bottom nodes fixed, two inputs left, two outputs right.

    Rest lengths are perturbed by `prestress` so the reference state is not at equilibrium.
    """
    rng = np.random.default_rng(seed)
    side = np.sqrt(n)
    pos, edges = disordered_network(n, coordination, side, side, rng)
    roles = np.full(n, HIDDEN)
    roles[np.argsort(pos[:, 1])[: max(3, int(side))]] = FIXED
    hidden = np.flatnonzero(roles == HIDDEN)
    left = hidden[np.argsort(pos[hidden, 0])]
    roles[left[:2]] = INPUT
    roles[left[-2:]] = OUTPUT
    net = Network(pos, edges, rng.uniform(0.5, 2.0, len(edges)), None, roles)
    net.L = net.rest_lengths_from_positions() * (1 + prestress * rng.standard_normal(len(edges)))
    return net


def random_task(net, examples=3, seed=0, kind="position"):
    rng = np.random.default_rng(seed)
    inputs = net.nodes(INPUT)
    outputs = net.nodes(OUTPUT)
    clamps = 0.1 * rng.standard_normal((examples, len(inputs), 2))
    if kind == "position":
        targets = 0.1 * rng.standard_normal((examples, len(outputs), 2))
        return Task(inputs, clamps, "position", outputs, targets)
    pair = outputs.reshape(1, 2)
    d0 = np.linalg.norm(net.pos[pair[0, 1]] - net.pos[pair[0, 0]])
    return Task(inputs, clamps, "distance", pair, d0 * (0.9 + 0.05 * rng.standard_normal((examples, 1))))


@pytest.fixture
def net():
    return random_network()


@pytest.fixture
def app():
    """The window, headless, on the Symmetrize scene, after its first frame."""
    from pathlib import Path

    from sandbox.scenes.build import load_scene
    from sandbox.window.app import App

    a = App(load_scene(Path(__file__).parent.parent / "scenes" / "symmetrize.yaml"), size=(1100, 720),
            headless=True, show_help=False)
    a.tick()
    a.session.wait()  # the scene opens in the background
    a.tick()
    return a


def settle(app, frames=1):
    """Let the window finish what it computes in the background, then draw `frames` frames."""
    app.session.wait()
    app.exports.wait()
    for _ in range(frames):
        app.tick()
        app.session.wait()


class Synced:
    """A session whose commands wait for the work they start (for tests written step by step);
    its parts (training, history, hands, edit...) too."""

    def __init__(self, target, session=None):
        object.__setattr__(self, "_t", target)
        object.__setattr__(self, "_s", session or target)

    def __getattr__(self, name):
        import inspect

        value = getattr(self._t, name)
        if getattr(value, "session", None) is self._s:  # a part of the session
            return Synced(value, self._s)
        if not inspect.ismethod(value):
            return value

        def call(*args, **kwargs):
            out = value(*args, **kwargs)
            self._s.wait()
            return out
        return call

    def __setattr__(self, name, value):
        setattr(self._t, name, value)


def synced(session):
    return Synced(session.wait())


# ------------------------------------------------------------------ driving the window in tests


def press(app, key, frames=1, mod=0):
    """Press a key, draw `frames` frames, then let the work it started finish."""
    import pygame

    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod, unicode=""))
    for _ in range(frames):
        app.tick()
    settle(app)


def mouse(app, kind, pos, button=1, frames=1):
    """Post a mouse event at pos (screen) and draw `frames` frames, each waiting for the session."""
    import pygame

    extra = {"button": button} if kind != pygame.MOUSEMOTION else {"buttons": (1, 0, 0), "rel": (0, 0)}
    pygame.event.post(pygame.event.Event(kind, pos=tuple(int(v) for v in pos), **extra))
    for _ in range(frames):
        app.tick()
        app.session.wait()


def drag(app, start, end, button=1):
    """Press at start, move there to end in five steps, release."""
    import pygame

    start, end = np.asarray(start, float), np.asarray(end, float)
    mouse(app, pygame.MOUSEBUTTONDOWN, start, button)
    for t in np.linspace(0, 1, 6):
        mouse(app, pygame.MOUSEMOTION, start + t * (end - start))
    mouse(app, pygame.MOUSEBUTTONUP, end, button)


def click(app, pos):
    import pygame

    mouse(app, pygame.MOUSEBUTTONDOWN, pos)
    mouse(app, pygame.MOUSEBUTTONUP, pos)


# ------------------------------------------------------------------ what a student sees


def network_region(app):
    """The screen rectangle the network is drawn in (its view, above the legend, left of the
    teaching column)."""
    return app.camera.rect.copy()


def screen_pixels(app, x=slice(None), y=slice(None)) -> np.ndarray:
    """(W, H, 3) int16 copy of the window's pixels in columns x and rows y (slices), read
    through a view of the surface rather than a copy of all of it."""
    import pygame

    view = pygame.surfarray.pixels3d(app.screen)
    try:
        return view[x, y].astype(np.int16)
    finally:
        del view  # (the surface stays locked while a view of it lives)


def drawn_box(app):
    """The box around everything drawn (not background) in the network's region of the screen,
    and the number of such pixels: (pygame.Rect, count)."""
    import pygame

    from sandbox.drawing.render import PALETTE

    r = network_region(app)
    img = screen_pixels(app, slice(r.x, r.right), slice(r.y, r.bottom))
    ink = np.abs(img - np.array(PALETTE["background"], np.int16)).sum(axis=2) > 40
    if not ink.any():
        return pygame.Rect(r.x, r.y, 0, 0), 0
    xs, ys = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return pygame.Rect(r.x + xs[0], r.y + ys[0], xs[-1] - xs[0] + 1, ys[-1] - ys[0] + 1), int(ink.sum())


def red_in_status(app) -> int:
    """Pixels of the warning red drawn in the status line (a banner saying something went wrong)."""
    from sandbox.window.panels import WARNING

    img = screen_pixels(app, slice(app.layout.view_rect().width), slice(app.layout.view_rect().y))
    return int((np.abs(img - np.array(WARNING, np.int16)).sum(axis=2) < 60).sum())


def spring_pixels(app, ends) -> np.ndarray:
    """(K, 3) the colours drawn along the middle of a spring whose ends are screen points
    `ends` (2, 2): points between 30% and 70% of its length that no other spring passes near."""
    import pygame

    from sandbox.drawing.render import PALETTE

    s = app.session
    a, b = np.asarray(ends, float)
    img = pygame.surfarray.array3d(app.screen)
    p = app.camera.to_screen(s.x)
    others = [(p[i], p[j]) for i, j in s.net.edges if not (np.allclose(p[i], a) and np.allclose(p[j], b))]
    out = []
    for t in np.linspace(0.3, 0.7, 9):
        q = a + t * (b - a)
        near = False
        for u, v in others:
            uv = v - u
            w = np.clip(((q - u) @ uv) / max(uv @ uv, 1e-9), 0, 1)
            near |= np.hypot(*(u + w * uv - q)) < 8
        if not near:  # (of the 3 x 3 pixels there, the one most unlike the background: a thin line)
            x, y = int(round(q[0])), int(round(q[1]))
            patch = img[x - 1:x + 2, y - 1:y + 2].reshape(-1, 3).astype(int)
            out.append(patch[np.argmax(np.abs(patch - np.array(PALETTE["background"])).sum(axis=1))])
    return np.array(out, int).reshape(-1, 3)


def like(colors: np.ndarray, color, tol: int = 60) -> np.ndarray:
    """(K,) whether each colour (K, 3) is within `tol` (summed over r, g, b) of `color`."""
    return np.abs(np.asarray(colors, int) - np.array(color)).sum(axis=1) < tol
