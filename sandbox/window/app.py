"""The desktop window: watch a spring network learn, stage by stage, and steer it.

The network fills the middle; a side panel holds the controls (pygame_gui), the loss plot and the
energies; a status line names the scene, the step, the rule and the loss; a caption names the
stage. Every control has a key (H shows them all). The Session does the work; this module only
draws it and turns input into Session calls.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pygame_gui  # noqa: E402
from pygame_gui.elements import UIButton, UIDropDownMenu, UIHorizontalSlider, UILabel  # noqa: E402

from ..files import write_atomic  # noqa: E402
from ..learning.rules import LEARNS  # noqa: E402
from ..paths import ASSETS, SCENES  # noqa: E402
from ..scenes.build import Scene  # noqa: E402
from ..window.render import PALETTE, Camera, Drawing, draw_network, example_marks, spring_colors  # noqa: E402
from ..window.session import ENGINES, Session, settles_quickly  # noqa: E402
from ..window.teaching import Teaching  # noqa: E402

ROLE_KEYS = {pygame.K_1: "fixed", pygame.K_2: "input", pygame.K_3: "hidden", pygame.K_4: "output"}
TRAINING_KEYS = (pygame.K_SPACE, pygame.K_s, pygame.K_e, pygame.K_f)
RECORD_EVERY = 6  # window frames per GIF frame: 10 per second at 60 fps
RECORD_MAX_S = 60
LABELLED_MAX_NODES = 30  # networks this small show the ids of their inputs and outputs

PANEL_W = 320
STATUS_H = 72
HELP_SEEN = Path.home() / ".spring_sandbox_help_seen"
KEYS = [
    ("Space", "play / pause"),
    ("S", "step one stage (free, nudged, update)"),
    ("E", "step one example (through its update)"),
    ("F", "run fast (exact engine, draws only the states)"),
    ("R", "reset to the scene's start (same seed)"),
    ("M", "slow motion on / off"),
    ("P", "physical engine (pymunk) / exact engine"),
    ("+ / -", "learning rate x2 / /2"),
    ("B / V", "beta x2 / /2"),
    ("U", "rule: centered / one-sided / coupled"),
    ("K", "what learns: stiffness / rest length / both"),
    ("C", "spring colours: tension / last change / EP vs exact"),
    ("click", "drag a node (or a clamped input); click a spring to inspect it"),
    ("Tab", "edit: click adds a node, drag node to node a spring, right-drag moves"),
    ("1-4 / A", "(editing) role of the picked node: fixed, input, hidden, output / new example"),
    ("+ / -", "(editing) the selected spring twice as stiff / half as stiff"),
    ("N", "show the next example (its clamp and target)"),
    ("X / D", "cut the selected spring / cut a random 10%"),
    ("Z", "undo the last update, cut or edit"),
    ("L", "loss plot: log / linear scale"),
    ("O", "open the next scene in scenes/"),
    ("F12 / G", "screenshot (PNG) / record a GIF, G again stops (recordings/)"),
    ("W", "save the network as a new scene (in saved/); Shift+W twice: over the source"),
    ("T / arrows", "the response panel on / off; lesson card: back / next"),
    ("H or F1", "this help"),
    ("Esc", "stop editing, or quit (asks first if there is unsaved work)"),
]
RULE_CYCLE = ("centered", "one-sided", "coupled")


class App:
    """The window. headless=True draws into an off-screen surface of `size` (for tests)."""

    def __init__(self, scene: Scene, size=(1280, 800), headless: bool = False, show_help: bool | None = None):
        pygame.display.init()
        pygame.font.init()
        self.headless = headless
        flags = 0 if headless else pygame.RESIZABLE
        self.screen = pygame.display.set_mode(size, flags)
        pygame.display.set_caption("Spring sandbox: equilibrium propagation")
        # the physical world settles in a blink on small, well-conditioned networks; others start exact
        self.session = Session(scene, engine="physical" if settles_quickly(scene) else "exact")
        self.color_mode = scene.spec.view.panels.get("color_by_change", False) and "change" or "tension"
        self.log_plot = True
        self.show_help = (not HELP_SEEN.exists()) if show_help is None else show_help
        self.running = True
        self.camera: Camera | None = None
        self._agreement = None
        self._info = None
        self.fonts = {s: pygame.font.Font(None, s) for s in (16, 20, 24, 30, 40)}
        self.teaching = Teaching(self.session, self.fonts)  # response panel and lesson card
        self.film = None  # a GIF being recorded
        self._press = None  # where an edit click went down (screen)
        self._confirm = None  # a question waiting for the same key again
        self._build_ui()

    # ------------------------------------------------------------ layout and widgets

    @property
    def size(self):
        return self.screen.get_size()

    def view_rect(self) -> pygame.Rect:
        w, h = self.size
        return pygame.Rect(0, STATUS_H, max(10, w - PANEL_W), max(10, h - STATUS_H))

    def panel_rect(self) -> pygame.Rect:
        w, h = self.size
        return pygame.Rect(max(0, w - PANEL_W), 0, PANEL_W, h)

    def _build_ui(self):
        self.ui = pygame_gui.UIManager(self.size, str(ASSETS / "theme.json"))
        x0, y = self.panel_rect().x + 10, 10
        bw = (PANEL_W - 30) // 3

        def button(text, col, row_y, width=bw):
            return UIButton(pygame.Rect(x0 + col * (bw + 5), row_y, width, 32), text, self.ui)

        self.b_play = button("Play", 0, y)
        self.b_stage = button("Stage", 1, y)
        self.b_example = button("Example", 2, y)
        y += 38
        self.b_fast = button("Fast", 0, y)
        self.b_reset = button("Reset", 1, y)
        self.b_help = button("Help", 2, y)
        y += 38
        self.b_edit = button("Edit", 0, y)
        self.b_record = button("Record", 1, y)
        self.b_save = button("Save", 2, y)
        y += 44
        s = self.session
        self.l_lr = UILabel(pygame.Rect(x0, y, PANEL_W - 20, 22), "", self.ui)
        y += 22
        self.s_lr = UIHorizontalSlider(pygame.Rect(x0, y, PANEL_W - 20, 24), math.log10(s.rule.lr), (-4.0, 4.0), self.ui)
        y += 28
        self.l_beta = UILabel(pygame.Rect(x0, y, PANEL_W - 20, 22), "", self.ui)
        y += 22
        self.s_beta = UIHorizontalSlider(pygame.Rect(x0, y, PANEL_W - 20, 24), math.log10(s.rule.beta), (-5.0, 0.0), self.ui)
        y += 28
        self.l_drag = UILabel(pygame.Rect(x0, y, PANEL_W - 20, 22), "", self.ui)
        y += 22
        self.s_drag = UIHorizontalSlider(pygame.Rect(x0, y, PANEL_W - 20, 24),
                                         math.log10(s.scene.spec.physics.drag), (-2.0, 2.0), self.ui)
        y += 32
        half = (PANEL_W - 25) // 2
        self.d_rule = UIDropDownMenu(list(RULE_CYCLE), s.rule.kind if s.rule.kind in RULE_CYCLE else RULE_CYCLE[0],
                                     pygame.Rect(x0, y, half, 30), self.ui)
        self.d_engine = UIDropDownMenu(list(ENGINES), s.engine_name, pygame.Rect(x0 + half + 5, y, half, 30), self.ui)
        y += 34
        self.d_learn = UIDropDownMenu(list(LEARNS), s.rule.learn, pygame.Rect(x0, y, half, 30), self.ui)
        self.d_color = UIDropDownMenu(["tension", "change", "agreement"], self.color_mode, pygame.Rect(x0 + half + 5, y, half, 30), self.ui)
        y += 34
        self.scenes = scene_choices(s.source)
        current = next(label for label, path in self.scenes.items() if _same(path, s.source))
        self.d_scene = UIDropDownMenu(list(self.scenes), current, pygame.Rect(x0, y, PANEL_W - 20, 30), self.ui)
        y += 40
        self.plot_rect = pygame.Rect(x0, y, PANEL_W - 20, 170)
        self.info_y = y + 180
        self._sync_labels()

    def _sync_labels(self):
        s = self.session
        self.l_lr.set_text(f"learning rate  {s.rule.lr:.3g}")
        self.l_beta.set_text(f"nudge beta  {s.rule.beta:.3g}")
        self.l_drag.set_text(f"drag (viscosity)  {s.scene.spec.physics.drag:.3g}")
        self.b_play.set_text("Pause" if not s.paused else "Play")
        self.b_fast.set_text("Fast: on" if s.fast else "Fast")
        self.b_edit.set_text("Editing" if s.editing else "Edit")
        self.b_record.set_text("Stop rec" if self.film else "Record")

    # ------------------------------------------------------------ input

    def handle(self, event) -> None:
        """Turn one pygame event into a change of the session or the view."""
        s = self.session
        if event.type == pygame.QUIT:  # the window's close button: nothing learned is lost
            if s.unsaved:
                path = self.save_copy(autosave=True)
                print(f"saved what was learned to {path}" if path else s.message)
            self.running = False
        elif event.type == pygame.VIDEORESIZE and not self.headless:
            self.screen = pygame.display.set_mode((max(event.w, 480), max(event.h, 360)), pygame.RESIZABLE)
            self._build_ui()
        elif event.type == pygame.KEYDOWN:
            self.key(event.key, getattr(event, "mod", 0))
        elif self.show_help and event.type == pygame.MOUSEBUTTONDOWN:  # so does a click
            self.close_help()
        elif self.teaching.handle(event):  # a click or drag on the response panel or lesson card
            pass
        elif event.type == pygame.MOUSEBUTTONDOWN and s.editing and self.view_rect().collidepoint(event.pos):
            # right button (or shift) moves a node; left draws springs, moves markers, adds nodes
            move = event.button == 3 or bool(pygame.key.get_mods() & pygame.KMOD_SHIFT)
            self.edit_press(event.pos, move) if event.button in (1, 3) else None
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and self.view_rect().collidepoint(event.pos):
            self.click(event.pos)
        elif event.type == pygame.MOUSEMOTION and s.dragging is not None:
            s.drag_to(self.camera.to_world(event.pos))
        elif event.type == pygame.MOUSEMOTION and s.grip is not None:
            if np.hypot(*np.subtract(event.pos, self._press)) > 4:  # a click that wobbles is a click
                s.move_to(self.camera.to_world(event.pos))
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1 and s.dragging is not None:
            s.release()
        elif event.type == pygame.MOUSEBUTTONUP and event.button in (1, 3) and s.grip is not None:
            s.let_go(self._node_at(event.pos))
        elif event.type == pygame_gui.UI_BUTTON_PRESSED:
            action = {self.b_play: pygame.K_SPACE, self.b_stage: pygame.K_s, self.b_example: pygame.K_e,
                      self.b_fast: pygame.K_f, self.b_reset: pygame.K_r, self.b_help: pygame.K_h,
                      self.b_edit: pygame.K_TAB, self.b_record: pygame.K_g, self.b_save: pygame.K_w}.get(event.ui_element)
            if action:
                self.key(action)
        elif event.type == pygame_gui.UI_HORIZONTAL_SLIDER_MOVED:
            if event.ui_element is self.s_lr:
                s.set_rule(lr=10 ** event.value)
            elif event.ui_element is self.s_beta:
                s.set_rule(beta=10 ** event.value)
            elif event.ui_element is self.s_drag:
                s.set_drag(10 ** event.value)
        elif event.type == pygame_gui.UI_DROP_DOWN_MENU_CHANGED:
            if event.ui_element is self.d_rule:
                s.set_rule(kind=event.text)
            elif event.ui_element is self.d_engine:
                s.set_engine(event.text)
            elif event.ui_element is self.d_learn:
                s.set_rule(learn=event.text)
            elif event.ui_element is self.d_color:
                self.color_mode = event.text
                self._agreement = None
            elif event.ui_element is self.d_scene:
                self.open_scene(self.scenes[event.text])
        self._sync_labels()

    def key(self, key, mod: int = 0) -> None:
        s = self.session
        if key not in (pygame.K_w, pygame.K_ESCAPE):
            self._confirm = None  # a question asked by the last key is answered no
        if self.show_help:  # any key closes the help
            self.close_help()
            return
        if self.teaching.key(key):  # T, arrow keys; the lesson hears every key
            return
        if s.editing and key in TRAINING_KEYS and not s.stop_editing():
            return
        if s.editing and self.edit_key(key):
            return
        if key == pygame.K_ESCAPE and s.unsaved and self._confirm != "quit":
            self._confirm = "quit"
            s.message = "not saved: W saves a copy, Esc again quits without saving"
        elif key == pygame.K_ESCAPE:
            self.running = False
        elif key == pygame.K_TAB:
            s.start_editing()
        elif key in (pygame.K_h, pygame.K_F1):
            self.show_help = True
        elif key == pygame.K_SPACE:
            s.paused = not s.paused
            s.message = ""
        elif key == pygame.K_s:
            s.paused = True
            s.frames.clear()
            s.step_stage()
        elif key == pygame.K_e:
            s.paused = True
            s.frames.clear()
            s.step_example()
        elif key == pygame.K_f:
            s.fast = not s.fast
            if s.fast:
                s.paused = False
                s.frames.clear()
                s.set_engine("exact")
        elif key == pygame.K_r:
            s.reset()
            self._build_ui()
        elif key == pygame.K_m:
            s.slow = 1 if s.slow > 1 else 4
        elif key == pygame.K_p:
            s.set_engine("exact" if s.engine_name == "physical" else "physical")
            self._build_ui()
        elif key in (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS):
            s.set_rule(lr=s.rule.lr * 2)
            self.s_lr.set_current_value(math.log10(s.rule.lr))
        elif key in (pygame.K_MINUS, pygame.K_KP_MINUS):
            s.set_rule(lr=s.rule.lr / 2)
            self.s_lr.set_current_value(math.log10(s.rule.lr))
        elif key == pygame.K_b:
            s.set_rule(beta=min(1.0, s.rule.beta * 2))
            self.s_beta.set_current_value(math.log10(s.rule.beta))
        elif key == pygame.K_v:
            s.set_rule(beta=s.rule.beta / 2)
            self.s_beta.set_current_value(math.log10(s.rule.beta))
        elif key == pygame.K_u:
            kind = RULE_CYCLE[(RULE_CYCLE.index(s.rule.kind) + 1) % 3] if s.rule.kind in RULE_CYCLE else RULE_CYCLE[0]
            s.set_rule(kind=kind)
            self._build_ui()
        elif key == pygame.K_k:
            s.set_rule(learn=LEARNS[(LEARNS.index(s.rule.learn) + 1) % len(LEARNS)])
            self._build_ui()
        elif key == pygame.K_c:
            modes = ["tension", "change", "agreement"]
            self.color_mode = modes[(modes.index(self.color_mode) + 1) % 3]
            self._agreement = None
            self._build_ui()
        elif key in (pygame.K_x, pygame.K_DELETE) and s.selected is not None:
            s.cut([s.selected])
        elif key == pygame.K_d:
            s.damage(0.1)
        elif key == pygame.K_n:
            s.show_example(s.example + 1)
        elif key == pygame.K_z:
            if not s.undo():
                s.message = "nothing to undo"
        elif key == pygame.K_l:
            self.log_plot = not self.log_plot
        elif key == pygame.K_o:
            paths = list(self.scenes.values())
            i = next(j for j, path in enumerate(paths) if _same(path, s.source))
            self.open_scene(paths[(i + 1) % len(paths)])
        elif key == pygame.K_F12:
            self.screenshot()
        elif key == pygame.K_g:
            self.record()
        elif key == pygame.K_w:
            self.save_copy(over_source=bool(mod & pygame.KMOD_SHIFT))
        self._sync_labels()

    def click(self, pos) -> None:
        """Grab the node under the mouse, or select the spring under it."""
        s = self.session
        i = self._node_at(pos)
        if i is not None and s.net.roles[i] != 0:  # fixed nodes stay fixed
            s.grab(i, self.camera.to_world(pos))
            return
        s.selected = self._spring_at(pos)
        self._info = s.spring_info(s.selected) if s.selected is not None else None

    def close_help(self) -> None:
        self.show_help = False
        HELP_SEEN.touch(exist_ok=True) if not self.headless else None

    def edit_key(self, key) -> bool:
        """Keys that mean something else while editing; True if the key was used."""
        s = self.session
        if key in ROLE_KEYS and s.picked is not None:
            s.set_role(ROLE_KEYS[key])
        elif key in (pygame.K_x, pygame.K_DELETE, pygame.K_BACKSPACE) and s.picked is not None:
            s.remove_picked()
        elif key in (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS, pygame.K_MINUS, pygame.K_KP_MINUS) \
                and s.selected is not None:
            s.scale_selected(2.0 if key in (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS) else 0.5)
        elif key == pygame.K_a:
            s.add_example()
        elif key == pygame.K_ESCAPE and s.picked is not None:
            s.picked = None
        elif key in (pygame.K_TAB, pygame.K_ESCAPE):
            s.stop_editing()
        else:
            return False
        return True

    def edit_press(self, pos, move: bool = False) -> None:
        """A button goes down while editing. On a marker: drag it. On a node: draw a spring out
        of it (or move it, if `move`); a click without a drag picks it. On a spring: select it.
        On empty space: a new node (right button: unpick)."""
        s = self.session
        self._press = pos
        world = self.camera.to_world(pos)
        targets, clamps = s.markers()
        for what, points in (("target", targets), ("clamp", clamps)):
            if len(points) and not move:
                d = np.hypot(*(self.camera.to_screen(points) - np.asarray(pos, float)).T)
                if d.min() < 10:
                    s.take(what, int(np.argmin(d)), world)
                    return
        i = self._node_at(pos)
        if i is not None:
            s.take("node" if move else "link", i, world)
        elif move:
            s.picked = None
        elif (e := self._spring_at(pos)) is not None:
            s.selected = e
        else:
            s.click_empty(world)

    def _node_at(self, pos) -> int | None:
        """The node within 14 pixels of a screen point, if any."""
        d = np.hypot(*(self.camera.to_screen(self.session.x) - np.asarray(pos, float)).T)
        return int(np.argmin(d)) if len(d) and d.min() < 14 else None

    def _spring_at(self, pos) -> int | None:
        """The spring within 8 pixels of a screen point, if any."""
        s = self.session
        p = self.camera.to_screen(s.x)
        a, b = p[s.net.edges[:, 0]], p[s.net.edges[:, 1]]
        ab = b - a
        t = np.clip(((np.asarray(pos) - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-9), 0, 1)
        dist = np.hypot(*(a + t[:, None] * ab - np.asarray(pos)).T)
        e = int(np.argmin(dist)) if len(dist) else -1
        return e if e >= 0 and dist[e] < 8 else None

    def record(self, folder: Path | None = None) -> Path | None:
        """Start recording the window into a GIF, or stop and save it (returns its path)."""
        from ..window.film import Film

        if self.film is None:
            self.film = Film(every=RECORD_EVERY, scale=0.5, max_frames=RECORD_MAX_S * 60 // RECORD_EVERY,
                             frame_ms=1000 * RECORD_EVERY // 60)
            self.session.message = "recording: G stops"
            return None
        film, self.film = self.film, None
        if not len(film):
            return None
        path = self._write(_fresh(folder or (Path.cwd() / "recordings"), self.session.source.stem, ".gif"), film.gif())
        if path is not None:
            self.session.message += f" ({len(film)} frames, {film.seconds:.0f} s)"
        return path

    def open_scene(self, path):
        from ..scenes.messages import SceneError

        try:
            self.session.open(path)
        except SceneError as exc:
            self.session.message = f"cannot open {Path(path).name}: {exc.problems[0]}"
        self._build_ui()

    def save_copy(self, folder: Path | None = None, over_source: bool = False, autosave: bool = False) -> Path | None:
        """Save the network as it is now: as a new scene in saved/ (W), or over the scene it was
        opened from (Shift+W, asked twice: the file's comments and layout are not kept).
        autosave: the window is closing with unsaved work (saved even if nodes are loose)."""
        from ..scenes.messages import SceneError
        from ..scenes.save import save_scene

        s = self.session
        if s.editing and s.loose and not autosave:
            s.message = f"not saved: {s.names(s.loose)} can move freely; add springs or hold them"
            return None
        if over_source and self._confirm != "overwrite":
            self._confirm = "overwrite"
            s.message = (f"Shift+W again overwrites {s.source.name} (its comments and layout are not kept); "
                         "any other key keeps it")
            return None
        self._confirm = None
        stem = s.source.stem + ("-autosave" if autosave else "")
        path = s.source if over_source else _fresh(folder or (Path.cwd() / "saved"), stem, ".yaml")
        try:
            r = s.rule  # the settings as tuned in the window go with the network
            settings = {"learning": {"rule": r.kind, "beta": r.beta, "lr": r.lr, "learn": r.learn},
                        "physics": {"drag": s.scene.spec.physics.drag}}
            save_scene(s.scene, path, origin={"scene": s.source.name, "epochs": s.trainer.epochs_done,
                                              "steps": s.trainer.steps, "rule": r.kind},
                       overwrite_source=over_source, settings=settings)
        except (OSError, SceneError) as exc:
            s.message = f"not saved: {getattr(exc, 'problems', [exc])[0]}"
            return None
        s.message = f"saved {path.name}"
        s.mark_saved()
        self._build_ui()  # the copy joins the scene menu
        return path

    def screenshot(self, folder: Path | None = None) -> Path | None:
        """Save what the window shows as a PNG (atomically); returns its path."""
        import io

        path = _fresh(folder or (Path.cwd() / "screenshots"), self.session.source.stem, ".png")
        buf = io.BytesIO()
        pygame.image.save(self.screen, buf, "png")
        return self._write(path, buf.getvalue())

    def _write(self, path: Path, data: bytes) -> Path | None:
        try:
            write_atomic(path, data)
        except OSError as exc:
            self.session.message = f"not saved: {exc}"
            return None
        self.session.message = f"saved {path.name}"
        return path

    # ------------------------------------------------------------ drawing

    def draw(self) -> None:
        s = self.session
        scr = self.screen
        scr.fill(PALETTE["background"])
        view = self.teaching.network_area(self.view_rect())  # the teaching column takes the right
        net = s.net
        # the view holds still while a node is dragged, and all through editing (nodes stay put
        # under the mouse); otherwise it fits the network
        held = s.dragging is not None or s.editing
        if held and self.camera is not None and self.camera.rect == view:
            cam = self.camera
        else:
            cam = Camera.fit(view, np.vstack([net.pos, s.x]), s.scene.spec.view.scale)
        self.camera = cam
        # in tension colours, an update still flashes the springs by how much they changed
        flashing = s.flash > 0 and s.stage is not None and s.stage.name == "update"
        extra = Drawing(ghost=s.ghost, targets=s.trainer.task.target_points(net, s.example, s.x),
                        nudge=s.nudge_forces(), change=s.change,
                        flash=1.0 if self.color_mode == "change" else s.flash,
                        color_mode="change" if self.color_mode == "change" or flashing else "tension")
        if net.n_nodes <= LABELLED_MAX_NODES:  # name what the description talks about
            extra.labels = {int(i): net.ids[i] for i in np.flatnonzero((net.roles == 1) | (net.roles == 3))}
        marks = example_marks(s.trainer.task, s.example)  # a classifier's class names, an image's pixels
        extra.labels.update(marks.get("labels", {}))
        extra.shades = marks.get("shades", {})
        if s.editing:
            extra.targets, extra.clamps = s.markers()
            extra.every_node = True
            extra.rings = [(i, PALETTE["tension"]) for i in s.loose]
            if s.pending is not None:  # the first end of a pair being made
                extra.rings.append((s.pending[1], PALETTE[s.pending[0]]))
            if s.picked is not None:
                extra.rings.append((s.picked, PALETTE["highlight"]))
        if self.color_mode == "agreement":
            key = (s.trainer.steps, s.rule.beta, s.rule.kind, s.version, s.example)
            if self._agreement is None or self._agreement[0] != key:
                self._agreement = (key, s.agreement())
            if self._agreement[1] is not None:  # (None while the network is floppy)
                # green where EP is within 1e-6 of the exact gradient, orange where it is 1e-2 off
                extra.custom_colors = spring_colors(-np.log10(np.maximum(self._agreement[1], 1e-12)) - 4, 2,
                                                    PALETTE["stiffer"], PALETTE["softer"], PALETTE["spring"])
        extra.highlight = s.selected
        draw_network(scr, cam, net, s.x, s.k_ref, extra, s.scene.spec.view.colors and
                     {k: tuple(v) for k, v in s.scene.spec.view.colors.items()})
        if s.grip is not None and s.grip["what"] == "link" and s.grip["moved"]:  # the spring being drawn
            pygame.draw.line(scr, PALETTE["highlight"], *cam.to_screen(np.array([s.x[s.grip["index"]], s.grip["at"]])), 3)
        self._draw_status()
        self._draw_panel()
        self._draw_legend(view, extra.color_mode if extra.custom_colors is None else "agreement")
        self.ui.draw_ui(scr)
        self._draw_plot()
        self.teaching.draw(scr)
        if self.show_help:
            self._draw_help()

    def _text(self, text, pos, size=24, color=None):
        surf = self.fonts[size].render(text, True, color or PALETTE["text"])
        self.screen.blit(surf, pos)
        return surf.get_width()

    def _draw_status(self):
        s = self.session
        tr = s.trainer
        w = self.view_rect().width
        pygame.draw.rect(self.screen, (236, 236, 230), pygame.Rect(0, 0, w, STATUS_H))
        loss = s.loss
        status = (f"{s.scene.name}   |   epoch {tr.epochs_done}   step {tr.steps}   |   {s.rule.kind} EP"
                  f"   |   loss {loss:.3g}   |   {s.engine_name}"
                  f"{'   |   slow motion' if s.slow > 1 else ''}{'   |   fast' if s.fast else ''}"
                  f"{'   |   EDITING' if s.editing else ''}")
        x = 12
        if self.film is not None:
            pygame.draw.circle(self.screen, (220, 0, 0), (x + 7, 17), 7)
            x += 36 + self._text(f"REC {self.film.seconds:.0f} s", (x + 18, 8), 24, (220, 0, 0))
        self._text(status, (x, 8), 24)
        color = (200, 30, 30) if "diverged" in s.caption or "cannot" in s.caption else (20, 70, 160)
        self._text(s.caption, (12, 36), 30, color)

    def _draw_panel(self):
        p = self.panel_rect()
        pygame.draw.rect(self.screen, (242, 242, 238), p)
        pygame.draw.line(self.screen, (200, 200, 200), p.topleft, p.bottomleft, 2)
        s = self.session
        y = self.info_y
        x0 = p.x + 10
        e_free, e_nudged = s.energies
        lines = [f"example {s.example}: cost {s.step_costs[-1]:.3g}" if s.step_costs else "example cost: -",
                 f"energy, free phase:   {e_free:.4g}",
                 f"energy, nudged phase: {e_nudged:.4g}" if np.isfinite(e_nudged) else "energy, nudged phase: -",
                 f"{s.net.n_nodes} nodes, {s.net.n_springs} springs"]
        hist = s.trainer.history[-1] if s.trainer.history else {}
        if np.isfinite(hist.get("accuracy", float("nan"))):
            lines.append(f"accuracy train {hist['accuracy']:.0%}" + (
                f", test {hist['test_accuracy']:.0%}" if np.isfinite(hist.get("test_accuracy", float("nan"))) else ""))
        if np.isfinite(hist.get("test_loss", float("nan"))):
            lines.append(f"test loss {hist['test_loss']:.3g}")
        if s.selected is not None and self._info and self._info["spring"] == s.selected and s.selected < s.net.n_springs:
            i = self._info
            lines += [f"spring {s.selected}: k {i['k']:.4g}, L {i['L']:.4g}",
                      f"  extension free {i['extension_free']:.3g}, nudged {i['extension_nudged']:.3g}",
                      f"  dC/dk: EP {i['ep_grad']:.4g}, exact {i['exact_grad']:.4g}"]
        for line in lines:
            self._text(line, (x0, y), 20)
            y += 20
        desc = s.scene.spec.description
        if desc and s.scene.spec.view.panels.get("description", True):
            y += 8
            for line in _wrap(desc, self.fonts[20], PANEL_W - 20)[:8]:
                self._text(line, (x0, y), 20, (90, 90, 90))
                y += 19

    def _draw_plot(self):
        r = self.plot_rect
        pygame.draw.rect(self.screen, (255, 255, 255), r)
        pygame.draw.rect(self.screen, (190, 190, 190), r, 1)
        s = self.session
        series = [("train loss", [h["loss"] for h in s.trainer.history], (31, 119, 180)),
                  ("test loss", [h["test_loss"] for h in s.trainer.history], (214, 39, 40)),
                  ("example cost", s.step_costs[-300:], (160, 160, 160))]
        vals = [v for _, ys, _ in series for v in ys if np.isfinite(v) and (v > 0 or not self.log_plot)]
        self._text(("log " if self.log_plot else "") + "loss per epoch; grey: each example", (r.x + 4, r.y + 2), 20)
        if len(vals) < 2:
            return
        n_hist = max(1, len(s.trainer.history) - 1)
        inner0 = r.inflate(-12, -30).move(0, 8)
        for at, label in s.events:  # cuts and damage, marked where they happened
            ex = inner0.x + inner0.width * max(0, at) / n_hist
            pygame.draw.line(self.screen, (200, 0, 0), (ex, inner0.y), (ex, inner0.bottom), 1)
            self._text(label, (ex + 2, inner0.bottom - 14), 20, (200, 0, 0))
        f = (lambda v: math.log10(max(v, 1e-300))) if self.log_plot else (lambda v: v)
        lo, hi = min(map(f, vals)), max(map(f, vals))
        hi = hi if hi > lo else lo + 1
        inner = r.inflate(-12, -30).move(0, 8)
        for _name, ys, color in series:
            pts = [(inner.x + inner.width * i / max(1, len(ys) - 1), inner.bottom - inner.height * (f(v) - lo) / (hi - lo))
                   for i, v in enumerate(ys) if np.isfinite(v) and (v > 0 or not self.log_plot)]
            if len(pts) >= 2:
                pygame.draw.lines(self.screen, color, False, pts, 2)
        self._text(f"{10 ** hi if self.log_plot else hi:.2g}", (inner.right - 50, inner.y - 4), 20, (120, 120, 120))
        self._text(f"{10 ** lo if self.log_plot else lo:.2g}", (r.right - 60, r.bottom - 18), 20, (120, 120, 120))

    def _draw_legend(self, view, mode: str):
        """Roles and what the spring colours mean now (mode: tension, change or agreement)."""
        items = [("fixed", PALETTE["fixed"]), ("input", PALETTE["input"]), ("hidden", PALETTE["hidden"]),
                 ("output", PALETTE["output"]), ("target", PALETTE["target"])]
        if mode == "tension":
            items += [("stretched", PALETTE["tension"]), ("compressed", PALETTE["compression"])]
        elif mode == "change":
            items += [("got stiffer", PALETTE["stiffer"]), ("got softer", PALETTE["softer"])]
        else:
            items += [("EP = exact (green) ... off (orange)", PALETTE["stiffer"])]
        x, y = view.x + 10, view.bottom - 26
        for name, color in items:
            pygame.draw.rect(self.screen, color, pygame.Rect(x, y + 4, 14, 14))
            x += 20 + self._text(name, (x + 18, y + 2), 20) + 6
        hint = ("editing: click = new node, drag node to node = spring, right-drag = move, click node then "
                "1-4 = role, click spring then +/- = stiffer/softer, X = remove, A = new example, Tab = done"
                if self.session.editing else
                "width = stiffness   ghost = free equilibrium   arrows = nudge   H = help")
        lines = _wrap(hint, self.fonts[20], view.width - 20)
        for j, line in enumerate(lines):
            self._text(line, (view.x + 10, view.bottom - 46 - 19 * (len(lines) - 1 - j)), 20, (110, 110, 110))

    def _draw_help(self):
        w, h = self.size
        shade = pygame.Surface((w, h), pygame.SRCALPHA)
        shade.fill((0, 0, 0, 150))
        self.screen.blit(shade, (0, 0))
        row = 28 if h >= 120 + 28 * len(KEYS) else 20  # smaller print in a small window
        box = pygame.Rect(0, 0, min(w - 40, 800), min(h - 20, 80 + row * len(KEYS)))
        box.center = (w // 2, h // 2)
        pygame.draw.rect(self.screen, (252, 252, 248), box, border_radius=10)
        self._text("Keys (buttons and menus on the right do the same; any key closes this)", (box.x + 20, box.y + 16), 30)
        y = box.y + 56
        for k, what in KEYS:
            self._text(k, (box.x + 24, y), row - 4, (20, 70, 160))
            self._text(what, (box.x + 150, y), row - 4)
            y += row

    # ------------------------------------------------------------ the loop

    def tick(self, dt: float = 1 / 60) -> None:
        """One frame: handle queued events, advance the session, draw."""
        for event in pygame.event.get():
            if not (self.show_help and event.type == pygame.MOUSEBUTTONDOWN):  # a click on help only closes it
                self.ui.process_events(event)
            self.handle(event)
        if not self.show_help:
            self.session.tick()
        self.teaching.tick()
        self.ui.update(dt)
        self.draw()
        if self.film is not None:
            self.film.offer(self.screen)
            if self.film.full:
                self.record()  # a recording stops by itself after RECORD_MAX_S
        if not self.headless:
            pygame.display.flip()

    def run(self) -> None:
        clock = pygame.time.Clock()
        while self.running:
            dt = clock.tick(60) / 1000.0
            self.tick(dt)
        pygame.quit()


def scene_choices(current: Path) -> dict[str, Path]:
    """What the scene menu offers, label -> path: the library in scenes/, the copies saved in
    saved/ (of the folder the window runs in), and the scene open now if it is neither."""
    choices = {p.name: p for p in sorted(SCENES.glob("*.yaml"))}
    choices.update({f"saved/{p.name}": p for p in sorted((Path.cwd() / "saved").glob("*.yaml"))})
    if not any(_same(p, current) for p in choices.values()):
        choices[current.name] = current
    return choices


def _same(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _fresh(folder: Path, stem: str, suffix: str) -> Path:
    """folder/stem-<date-time>suffix, numbered on if that file exists (nothing is overwritten)."""
    base = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = folder / f"{base}{suffix}", 2
    while path.exists():
        path, n = folder / f"{base}-{n}{suffix}", n + 1
    return path


def _wrap(text: str, font, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = (line + " " + word).strip()
        if font.size(trial)[0] > width and line:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + ([line] if line else [])

