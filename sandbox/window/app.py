"""The desktop window: watch a spring network learn, stage by stage, and steer it.

The network fills the middle (sandbox.window.view); a side panel holds the controls
(sandbox.window.controls), the loss plot and the figures (sandbox.window.panels); a status line
names the scene, the step, the rule and the loss; a caption names the stage; the teaching
column shows the response and the lesson card. Every key and button is a row of one table
(sandbox.window.commands) that calls a command of the session or of the window. The session
does the work, off this thread; the App only turns input into commands and draws. Nothing
unexpected leaves a frame: `tick` catches it, the session pauses and rolls back, and the
traceback goes to stderr.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402

from ..drawing.render import PALETTE  # noqa: E402
from ..scenes.build import Scene  # noqa: E402
from . import panels  # noqa: E402
from .commands import EDIT_KEY_COMMANDS, KEY_COMMANDS, KEYS  # noqa: E402
from .controls import ControlPanel  # noqa: E402
from .exports import Exports  # noqa: E402
from .layout import BASE_SIZE, MIN_SIZE, STATUS_H, Layout  # noqa: E402
from .library import same_file  # noqa: E402
from .session import LONG_EPOCH, Session  # noqa: E402
from .teaching import Teaching  # noqa: E402
from .view import NetworkView  # noqa: E402

HELP_SEEN = Path.home() / ".spring_sandbox_help_seen"
DRAG_MARGIN = 60  # pixels a dragged node stays inside the network's view (its name beside it too)
LOSS_COLORS = {"train": (31, 119, 180), "test": (214, 39, 40), "each": (160, 160, 160)}


class App:
    """The window. headless=True draws into an off-screen surface of `size` (for tests)."""

    def __init__(self, scene: Scene, size=BASE_SIZE, headless: bool = False, show_help: bool | None = None,
                 engine: str | None = None):
        pygame.display.init()
        pygame.font.init()
        self.headless = headless
        size = (max(size[0], MIN_SIZE[0]), max(size[1], MIN_SIZE[1]))
        self.screen = pygame.display.set_mode(size, 0 if headless else pygame.RESIZABLE)
        pygame.display.set_caption("Spring sandbox: equilibrium propagation")
        self.layout = Layout(lambda: self.screen)
        # the engine is chosen for the scene in the background (physical where the world settles in time)
        self.session = Session(scene, engine=engine)
        self.color_mode = scene.spec.view.panels.get("color_by_change", False) and "change" or "tension"
        self.log_plot = True
        self.show_help = (not HELP_SEEN.exists()) if show_help is None else show_help
        self.running = True
        self.last_key = None
        self.asking = None  # a question waiting for the same key again ("quit", "overwrite")
        self._press = None  # where an edit click went down (screen)
        self.view = NetworkView(self.session)
        self.teaching = Teaching(self.session, self.layout, self.open_scene)  # response panel and lesson card
        self.exports = Exports(self)
        self.controls = ControlPanel(self)
        self.frame_times: list[float] = []  # when each frame was drawn (perf_counter), for soak tests

    @property
    def size(self):
        return self.screen.get_size()

    @property
    def camera(self):
        return self.view.camera

    # ------------------------------------------------------------ input

    def handle(self, event) -> None:
        """Turn one pygame event into a command of the session or the view."""
        s = self.session
        if event.type == pygame.QUIT:  # the window's close button: nothing learned is lost
            if s.unsaved:
                path = self.exports.save_copy(autosave=True)
                print(f"saved what was learned to {path}" if path else s.message)
            self.running = False
        elif event.type == pygame.VIDEORESIZE:
            self.resize((event.w, event.h))
        elif event.type == pygame.KEYDOWN:
            self.key(event.key, getattr(event, "mod", 0))
        elif self.show_help and event.type == pygame.MOUSEBUTTONDOWN:  # so does a click
            self.close_help()
        elif self.teaching.handle(event):  # a click or drag on the response panel or lesson card
            pass
        elif self.controls.handle(event):  # a button, a slider, a menu
            pass
        else:
            self.mouse(event)
        self.controls.sync()

    def mouse(self, event) -> None:
        """A mouse event over the network's view."""
        s, view = self.session, self.layout.view_rect()
        down = event.type == pygame.MOUSEBUTTONDOWN and view.collidepoint(event.pos)
        if down and s.editing:
            # right button (or shift) moves a node; left draws springs, moves markers, adds nodes
            move = event.button == 3 or bool(pygame.key.get_mods() & pygame.KMOD_SHIFT)
            self.edit_press(event.pos, move) if event.button in (1, 3) else None
        elif down and event.button == 1:
            self.click(event.pos)
        elif event.type == pygame.MOUSEMOTION and s.hands.dragging is not None:  # (kept well inside the view)
            r = self.view.camera.rect.inflate(-2 * DRAG_MARGIN, -2 * DRAG_MARGIN)
            s.hands.drag_to(self.view.to_world((min(max(event.pos[0], r.x), r.right - 1),
                                                min(max(event.pos[1], r.y), r.bottom - 1))))
        elif event.type == pygame.MOUSEMOTION and s.edit.grip is not None:
            if np.hypot(*np.subtract(event.pos, self._press)) > 4:  # a click that wobbles is a click
                s.edit.move_to(self.view.to_world(event.pos))
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1 and s.hands.dragging is not None:
            s.hands.release()
        elif event.type == pygame.MOUSEBUTTONUP and event.button in (1, 3) and s.edit.grip is not None:
            s.edit.let_go(self.view.node_at(event.pos))

    def key(self, key, mod: int = 0) -> None:
        """A key: the command of the table (the edit table first while editing)."""
        self.last_key = key
        if key not in (pygame.K_w, pygame.K_ESCAPE):
            self.asking = None  # a question asked by the last key is answered no
        if self.show_help:  # any key closes the help
            self.close_help()
            return
        if self.teaching.key(key):  # T, arrow keys; the lesson hears every key
            return
        s = self.session
        if s.editing and key in EDIT_KEY_COMMANDS and EDIT_KEY_COMMANDS[key].run(self, mod):
            return
        if key in KEY_COMMANDS:
            KEY_COMMANDS[key].run(self, mod)
        self.controls.sync()

    def escape(self) -> None:
        """Esc, the same in every scene: stop what is going on (a computation, training), else
        quit, asking once if there is unsaved work."""
        s = self.session
        if s.cancel():
            return
        if not s.training.paused:
            s.training.pause()
            s.say("paused: Esc again quits")
            return
        if s.unsaved and self.asking != "quit":
            self.asking = "quit"
            s.warn("not saved: W saves a copy, Esc again quits without saving")
        else:
            self.running = False

    def click(self, pos) -> None:
        """Grab the node under the mouse, or select the spring under it."""
        s = self.session
        what = self.view.under(pos)
        if what is not None and what[0] == "node" and s.net.roles[what[1]] != 0:  # (fixed nodes stay fixed)
            s.hands.grab(what[1], self.view.to_world(pos))
            return
        s.hands.select(what[1] if what is not None and what[0] == "spring" else self.view.spring_at(pos))

    def edit_press(self, pos, move: bool = False) -> None:
        """A button goes down while editing. On a marker: drag it. On a node: draw a spring out
        of it (or move it, if `move`); a click without a drag picks it. On a spring: select it.
        On empty space: a new node (right button: unpick)."""
        s, view = self.session, self.view
        self._press = pos
        world = view.to_world(pos)
        targets, clamps = s.edit.markers()
        i = view.node_at(pos)
        node = view.node_distances(pos)[i] + 14.0 if i is not None else np.inf
        for what, points in (("target", targets), ("clamp", clamps)):
            if len(points) and not move:
                d = np.hypot(*(view.camera.to_screen(points) - np.asarray(pos, float)).T)
                if d.min() < 10 and d.min() <= node:  # (a marker at least as near as the node under it)
                    s.edit.take(what, int(np.argmin(d)), world)
                    return
        if i is not None:
            s.edit.take("node" if move else "link", i, world)
        elif move:
            s.edit.pick(None)
        elif (e := view.spring_at(pos)) is not None:
            s.hands.select(e)
        else:
            s.edit.click_empty(world)

    # ------------------------------------------------------------ window commands

    def open_help(self) -> None:
        self.show_help = True

    def close_help(self) -> None:
        self.show_help = False
        HELP_SEEN.touch(exist_ok=True) if not self.headless else None

    def toggle_log(self) -> None:
        self.log_plot = not self.log_plot

    def cycle_colors(self) -> None:
        modes = ["tension", "change", "agreement"]
        self.color_mode = modes[(modes.index(self.color_mode) + 1) % len(modes)]

    def open_scene(self, path) -> None:
        """Open a scene (in the background; a file that does not open says why). Unsaved work
        on the scene shown is kept first, in saved/ (the message says where)."""
        self.exports.keep_work()
        self.session.open(path)

    def open_next(self) -> None:
        paths = list(self.controls.scenes.values())
        i = next((j for j, path in enumerate(paths) if same_file(path, self.session.source)), -1)
        self.open_scene(paths[(i + 1) % len(paths)])

    def resize(self, size) -> None:
        """A new window size (never below MIN_SIZE)."""
        size = (max(size[0], MIN_SIZE[0]), max(size[1], MIN_SIZE[1]))
        self.screen = pygame.display.set_mode(size, 0 if self.headless else pygame.RESIZABLE)
        self.controls.build()

    # ------------------------------------------------------------ drawing

    def status(self) -> panels.Status:
        s, lay = self.session, self.layout
        tr = s.trainer
        loss = f"loss {s.loss:.3g}" if tr.history and np.isfinite(s.loss) else "loss -"
        when = f"epoch {tr.epochs_done}  step {tr.steps}"
        n = len(tr.task.train)
        if n > LONG_EPOCH:  # a long epoch: how far into it
            when += f" ({min(n, s.training.seen):,} of {n:,} examples)"
        parts = [s.scene.name, when, loss]
        parts += ["EDITING"] if s.editing else [s.training.pace_name]
        parts += [f"{s.rule.kind} EP", s.engine_name]  # (also on the panel: left out first)
        width = lay.view_rect().width - lay.px(24) - (lay.px(120) if self.exports.film is not None else 0)
        while len(parts) > 3 and lay.font(24).size("  |  ".join(parts))[0] > width:
            parts.pop()
        line = "  |  ".join(parts)
        caption = s.caption
        film = self.exports.film
        return panels.Status(line, caption, s.warning and caption == s.message,
                             film.seconds if film is not None else None)

    def info_lines(self) -> list[str]:
        s = self.session
        e_free, e_nudged = s.energies
        lines = []
        sel, i = s.hands.selected, s.hands.info
        if sel is not None and i is not None and i["spring"] == sel:  # what was asked for, first
            lines += [f"spring {sel}: k {i['k']:.4g}, L {i['L']:.4g}",
                      f"  extension free {i['extension_free']:.3g}, nudged {i['extension_nudged']:.3g}",
                      f"  dC/dk: EP {i['ep_grad']:.4g}, exact {i['exact_grad']:.4g}"]
        elif sel is not None:
            lines.append(f"spring {sel}: measuring...")
        lines += [f"{s.example_name}: cost {s.step_costs[-1]:.3g}" if s.step_costs else "example cost: -",
                  f"energy, free phase: {e_free:.4g}",
                  f"energy, nudged phase: {e_nudged:.4g}" if np.isfinite(e_nudged) else "energy, nudged phase: -",
                  f"{s.net.n_nodes} nodes, {s.net.n_springs} springs"]
        hist = s.trainer.history[-1] if s.trainer.history else {}
        if np.isfinite(hist.get("accuracy", float("nan"))):
            lines.append(f"accuracy train {hist['accuracy']:.0%}" + (
                f", test {hist['test_accuracy']:.0%}" if np.isfinite(hist.get("test_accuracy", float("nan"))) else ""))
        if np.isfinite(hist.get("test_loss", float("nan"))):
            lines.append(f"test loss {hist['test_loss']:.3g}")
        return lines

    def loss_plot(self) -> panels.LossPlot:
        s = self.session
        hist = s.trainer.history
        series = [("train, per epoch", [h["loss"] for h in hist], LOSS_COLORS["train"]),
                  ("test, per epoch", [h["test_loss"] for h in hist], LOSS_COLORS["test"]),
                  ("each example", s.step_costs[-300:], LOSS_COLORS["each"])]
        return panels.LossPlot(series, s.history.marks, len(hist), self.log_plot)

    def draw(self) -> None:
        s, scr, lay = self.session, self.screen, self.layout
        scr.fill(PALETTE["background"])
        area = self.teaching.network_area(lay.view_rect())  # the teaching column takes the right
        extra = self.view.drawing(self.color_mode)
        mode = extra.color_mode if extra.custom_colors is None else "agreement"
        shown = {panels.ROLES[r] for r in np.unique(s.net.roles)} | ({"target"} if extra.targets is not None else set())
        band = panels.legend_height(lay, area.width, mode, s.editing, shown)
        self.view.draw(scr, pygame.Rect(area.x, area.y, area.width, max(10, area.height - band)), extra)
        panels.draw_legend(scr, area, lay, mode, s.editing, shown)
        panels.draw_status(scr, pygame.Rect(0, 0, lay.view_rect().width, lay.px(STATUS_H)), lay, self.status())
        p = lay.panel_rect()
        pygame.draw.rect(scr, (242, 242, 238), p)
        pygame.draw.line(scr, (200, 200, 200), p.topleft, p.bottomleft, 2)
        lines, desc = self.info_lines(), self.description()
        _, _, needed = panels.info_layout(lay, self.controls.below.width, lines, desc)
        plot, info = self.controls.plot_and_text(needed)
        panels.draw_info(scr, info, lay, lines, desc)
        panels.draw_loss_plot(scr, plot, lay, self.loss_plot())
        self.teaching.draw(scr)
        self.controls.ui.draw_ui(scr)  # after the plot: an open menu lies over it
        if self.show_help:
            panels.draw_help(scr, lay, KEYS)

    def description(self) -> str:
        s = self.session
        return s.scene.spec.description if s.scene.spec.view.panels.get("description", True) else ""

    # ------------------------------------------------------------ the loop

    def tick(self, dt: float = 1 / 60) -> None:
        """One frame: handle queued events, advance the session, draw. Nothing raised in a frame
        leaves it: the session pauses and rolls back, a banner says so, stderr has the traceback."""
        try:
            for event in pygame.event.get():
                if not (self.show_help and event.type == pygame.MOUSEBUTTONDOWN):  # a click on help only closes it
                    self.controls.ui.process_events(event)
                self.handle(event)
            if not self.show_help:
                self.session.tick()
            self.teaching.tick()
            self.exports.poll()
            self.controls.sync()
            self.controls.ui.update(dt)
        except Exception as exc:  # noqa: BLE001 - the frame boundary
            self.session.recover(exc)
        try:
            self.draw()
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            self.session.recover(exc)
            self.screen.fill(PALETTE["background"])
            panels.text(self.screen, self.layout, self.session.caption, (12, 36), 24, panels.WARNING)
        self.frame_times.append(time.perf_counter())
        del self.frame_times[:-10_000]
        self.exports.frame(self.screen)
        if not self.headless:
            pygame.display.flip()

    def run(self) -> None:
        clock = pygame.time.Clock()
        while self.running:
            dt = clock.tick(60) / 1000.0
            self.tick(dt)
        pygame.quit()
