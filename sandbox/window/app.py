"""The desktop window: watch a spring network learn, stage by stage, and steer it.

The network fills the middle; a side panel holds the controls (pygame_gui), the loss plot and the
energies; a status line names the scene, the step, the rule and the loss; a caption names the
stage. Every key and button is a row of one table, COMMANDS (the help is drawn from it), that
calls a command of the Session or of the window. The Session does the work, off this thread;
this module only draws it and turns input into commands. Nothing unexpected leaves a frame:
`tick` catches it, the session pauses and rolls back, and the traceback goes to stderr.
"""

from __future__ import annotations

import math
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pygame_gui  # noqa: E402
from pygame_gui.elements import UIButton, UIDropDownMenu, UIHorizontalSlider, UILabel  # noqa: E402

from ..files import write_atomic  # noqa: E402
from ..learning.rules import LEARNS  # noqa: E402
from ..paths import ASSETS, SCENES  # noqa: E402
from ..scenes.build import Scene  # noqa: E402
from ..window.background import Job  # noqa: E402
from ..window.render import PALETTE, Camera, Drawing, draw_network, example_marks, spring_colors, wrap  # noqa: E402
from ..window.session import ENGINES, RULE_CYCLE, Session  # noqa: E402
from ..window.teaching import Teaching  # noqa: E402

RECORD_EVERY = 6  # window frames per GIF frame: 10 per second at 60 fps
RECORD_MAX_S = 60
LABELLED_MAX_NODES = 30  # networks this small show the ids of their inputs and outputs

PANEL_W = 320
STATUS_H = 72
MIN_SIZE = (800, 600)  # below this the caption, the legend and the panel do not fit
BASE_SIZE = (1280, 800)  # larger windows scale the panel and the print up (at most 2x)
HELP_SEEN = Path.home() / ".spring_sandbox_help_seen"
COLOR_MODES = {"tension": "tension", "change": "last change", "agreement": "EP vs exact"}
LEARN_LABELS = {learn: learn.replace("_", " ") for learn in LEARNS}
PLUS = (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS)
MINUS = (pygame.K_MINUS, pygame.K_KP_MINUS)


@dataclass(frozen=True)
class Command:
    """One row of the window's controls: the keys that call it, its name in the help, what it
    does, `run(app, mod)`, and the panel button that calls it too (if any). Edit commands
    return True when they applied (else the key means what it means outside editing)."""

    keys: tuple
    label: str
    does: str
    run: Callable
    button: str = ""


COMMANDS = [
    Command((pygame.K_SPACE,), "Space", "play / pause", lambda a, m: a.session.toggle_play(), "Play"),
    Command((pygame.K_s,), "S", "step one stage (free, nudged, update)", lambda a, m: a.session.step_stage(), "Stage"),
    Command((pygame.K_e,), "E", "step one example (through its update)", lambda a, m: a.session.step_example(), "Example"),
    Command((pygame.K_f,), "F", "run fast (exact engine while on, draws only the states)",
            lambda a, m: a.session.toggle_fast(), "Fast"),
    Command((pygame.K_r,), "R", "reset to the scene's start (same seed)", lambda a, m: a.session.reset(), "Reset"),
    Command((pygame.K_m,), "M", "slow motion on / off", lambda a, m: a.session.toggle_slow()),
    Command((pygame.K_p,), "P", "physical engine (pymunk) / exact engine", lambda a, m: a.session.toggle_engine()),
    Command(PLUS + MINUS, "+ / -", "learning rate x2 / /2", lambda a, m: a.session.scale_lr(2.0 if a.last_key in PLUS else 0.5)),
    Command((pygame.K_b, pygame.K_v), "B / V", "beta x2 / /2",
            lambda a, m: a.session.scale_beta(2.0 if a.last_key == pygame.K_b else 0.5)),
    Command((pygame.K_u,), "U", "rule: centered / one-sided / coupled (where it can run)", lambda a, m: a.session.cycle_rule()),
    Command((pygame.K_k,), "K", "what learns: stiffness / rest length / both", lambda a, m: a.session.cycle_learn()),
    Command((pygame.K_c,), "C", "spring colours: tension / last change / EP vs exact", lambda a, m: a.cycle_colors()),
    Command((pygame.K_n,), "N", "show the next example (its clamp and target)", lambda a, m: a.session.next_example()),
    Command((pygame.K_x, pygame.K_DELETE), "X / D", "cut the selected spring / cut a random 10%",
            lambda a, m: a.session.cut_selected()),
    Command((pygame.K_d,), "", "", lambda a, m: a.session.damage(0.1)),
    Command((pygame.K_z,), "Z", "undo the last update, cut or edit", lambda a, m: a.session.undo()),
    Command((pygame.K_l,), "L", "loss plot: log / linear scale", lambda a, m: a.toggle_log()),
    Command((pygame.K_o,), "O", "open the next scene in scenes/ (and saved/)", lambda a, m: a.open_next()),
    Command((pygame.K_F12, pygame.K_g), "F12 / G", "screenshot (PNG) / record a GIF, G again stops (recordings/)",
            lambda a, m: a.screenshot() if a.last_key == pygame.K_F12 else a.record()),
    Command((pygame.K_w,), "W", "save the network as a new scene (in saved/); Shift+W twice: over the source",
            lambda a, m: a.save_copy(over_source=bool(m & pygame.KMOD_SHIFT))),
    Command((pygame.K_TAB,), "Tab", "edit: click adds a node, drag node to node a spring, right-drag moves",
            lambda a, m: a.session.start_editing(), "Edit"),
    Command((pygame.K_h, pygame.K_F1), "H or F1", "this help", lambda a, m: a.open_help(), "Help"),
    Command((pygame.K_ESCAPE,), "Esc", "stop what is computing, stop editing, or quit (asks first if unsaved)",
            lambda a, m: a.escape()),
]
# buttons without a key of their own
BUTTONS = {"Record": pygame.K_g, "Save": pygame.K_w}
ROLE_KEYS = {pygame.K_1: "fixed", pygame.K_2: "input", pygame.K_3: "hidden", pygame.K_4: "output"}


def _edit_scale(a, m) -> bool:
    if a.session.selected is None:
        return False
    a.session.scale_selected(2.0 if a.last_key in PLUS else 0.5)
    return True


def _edit_escape(a, m) -> bool:
    s = a.session
    if s.cancel():
        return True
    if s.picked is not None:
        s.pick(None)
    else:
        s.stop_editing()
    return True


EDIT_COMMANDS = [
    Command(tuple(ROLE_KEYS), "1-4 / A", "(editing) role of the picked node: fixed, input, hidden, output / new example",
            lambda a, m: a.session.picked is not None and (a.session.set_role(ROLE_KEYS[a.last_key]) or True)),
    Command((pygame.K_a,), "", "", lambda a, m: a.session.add_example() or True),
    Command(PLUS + MINUS, "+ / -", "(editing) the selected spring twice as stiff / half as stiff", _edit_scale),
    Command((pygame.K_x, pygame.K_DELETE, pygame.K_BACKSPACE), "X", "(editing) remove the picked node",
            lambda a, m: a.session.picked is not None and (a.session.remove_picked() or True)),
    Command((pygame.K_TAB,), "", "", lambda a, m: a.session.stop_editing() or True),
    Command((pygame.K_ESCAPE,), "", "", _edit_escape),
]
MOUSE_HELP = [("click", "drag a node (or a clamped input); click a spring to inspect it")]
TEACHING_HELP = [("T / arrows", "the response panel on / off; lesson card: back / next")]
KEYS = [(c.label, c.does) for c in COMMANDS if c.label][:12] + MOUSE_HELP + \
    [(c.label, c.does) for c in COMMANDS if c.label][12:] + [(c.label, c.does) for c in EDIT_COMMANDS if c.label] + \
    TEACHING_HELP
KEY_COMMANDS = {k: c for c in COMMANDS for k in c.keys}
EDIT_KEY_COMMANDS = {k: c for c in EDIT_COMMANDS for k in c.keys}


class ScaledFonts:
    """fonts[size]: the window's font of that size, scaled with the window (for the teaching column)."""

    def __init__(self, app):
        self.app = app

    def __getitem__(self, size: int):
        return self.app.font(size)


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
        # the engine is chosen for the scene in the background (physical where the world settles in time)
        self.session = Session(scene, engine=engine)
        self.color_mode = scene.spec.view.panels.get("color_by_change", False) and "change" or "tension"
        self.log_plot = True
        self.show_help = (not HELP_SEEN.exists()) if show_help is None else show_help
        self.running = True
        self.camera: Camera | None = None
        self._camera_key = None
        self._outside = 0  # frames in a row the network was mostly out of view
        self.last_key = None
        self.teaching = Teaching(self.session, ScaledFonts(self))  # response panel and lesson card
        self.film = None  # a GIF being recorded
        self._writes: list[Job] = []  # files being written in the background
        self._press = None  # where an edit click went down (screen)
        self._confirm = None  # a question waiting for the same key again
        self._saves = 0  # saved copies made (the scene menu lists them)
        self.frame_times: list[float] = []  # when each frame was drawn (perf_counter), for soak tests
        self._build_ui()

    # ------------------------------------------------------------ layout and widgets

    @property
    def size(self):
        return self.screen.get_size()

    @property
    def scale(self) -> float:
        """How much larger than BASE_SIZE the window is (1 to 2): the panel and the print grow."""
        size = self.screen.get_size()
        if getattr(self, "_scale", (None,))[0] != size:
            self._scale = (size, min(2.0, max(1.0, min(size[0] / BASE_SIZE[0], size[1] / BASE_SIZE[1]))))
        return self._scale[1]

    def px(self, v: float) -> int:
        return int(round(v * self.scale))

    @property
    def panel_w(self) -> int:
        return self.px(PANEL_W)

    def view_rect(self) -> pygame.Rect:
        w, h = self.size
        top = self.px(STATUS_H)
        return pygame.Rect(0, top, max(10, w - self.panel_w), max(10, h - top))

    def panel_rect(self) -> pygame.Rect:
        w, h = self.size
        return pygame.Rect(max(0, w - self.panel_w), 0, self.panel_w, h)

    def font(self, size: int) -> pygame.font.Font:
        from ..window.render import _font

        return _font(self.px(size))

    def _layout_state(self):
        """What the panel's layout depends on: it is built again when this changes."""
        return self.size

    def _menu_states(self) -> dict:
        """What each menu shows; a menu is made again (alone) when its entry changes."""
        s = self.session
        why = s.coupled_reason
        return {"rule": (s.rule.kind, why), "engine": (s.engine_name, s.rule.kind == "coupled"),
                "learn": s.rule.learn, "color": self.color_mode, "scene": (str(s.source), self._saves),
                "drag": s.scene.spec.physics.drag}

    def _build_ui(self):
        self._layout = self._layout_state()
        self.ui = pygame_gui.UIManager(self.size, str(ASSETS / "theme.json"))
        pw = self.panel_w
        x0, y = self.panel_rect().x + self.px(10), self.px(10)
        bw = (pw - self.px(30)) // 3
        bh, gap = self.px(32), self.px(38)
        s = self.session

        def button(text, col, row_y):
            return UIButton(pygame.Rect(x0 + col * (bw + self.px(5)), row_y, bw, bh), text, self.ui)

        self.buttons = {}
        labels = ["Play", "Stage", "Example", "Fast", "Reset", "Help", "Edit", "Record", "Save"]
        for j, text in enumerate(labels):
            self.buttons[text] = button(text, j % 3, y + gap * (j // 3))
        self.b_play, self.b_stage, self.b_fast = self.buttons["Play"], self.buttons["Stage"], self.buttons["Fast"]
        self.b_edit, self.b_record = self.buttons["Edit"], self.buttons["Record"]
        y += 3 * gap + self.px(6)
        lw, lh, sh = pw - self.px(20), self.px(22), self.px(24)
        self.l_lr = UILabel(pygame.Rect(x0, y, lw, lh), "", self.ui)
        y += lh
        self.s_lr = UIHorizontalSlider(pygame.Rect(x0, y, lw, sh), float(np.clip(math.log10(s.rule.lr), -4, 4)),
                                       (-4.0, 4.0), self.ui)
        y += sh + self.px(4)
        self.l_beta = UILabel(pygame.Rect(x0, y, lw, lh), "", self.ui)
        y += lh
        self.s_beta = UIHorizontalSlider(pygame.Rect(x0, y, lw, sh), float(np.clip(math.log10(s.rule.beta), -5, 0)),
                                         (-5.0, 0.0), self.ui)
        y += sh + self.px(4)
        self.l_drag = UILabel(pygame.Rect(x0, y, lw, lh), "", self.ui)
        y += lh
        self.s_drag = UIHorizontalSlider(pygame.Rect(x0, y, lw, sh),
                                         float(np.clip(math.log10(s.scene.spec.physics.drag), -2, 2)), (-2.0, 2.0), self.ui)
        y += sh + self.px(8)
        half = (pw - self.px(25)) // 2
        mh = self.px(30)
        self.d_scene = None
        self._menu_rects = {"rule": pygame.Rect(x0, y, half, mh),
                            "engine": pygame.Rect(x0 + half + self.px(5), y, half, mh),
                            "learn": pygame.Rect(x0, y + mh + self.px(4), half, mh),
                            "color": pygame.Rect(x0 + half + self.px(5), y + mh + self.px(4), half, mh),
                            "scene": pygame.Rect(x0, y + 2 * (mh + self.px(4)), lw, mh)}
        self._menus = {}
        for name in self._menu_rects:
            self._make_menu(name)
        y += 3 * (mh + self.px(4)) + self.px(6)
        # the plot gives way to the text below it in a short window (at least 8 lines stay)
        plot_h = int(np.clip(self.size[1] - y - self.px(10 + 8 * 20), self.px(80), self.px(170)))
        self.plot_rect = pygame.Rect(x0, y, lw, plot_h)
        self.info_y = y + plot_h + self.px(10)
        self._sync_labels()

    def _make_menu(self, name: str) -> None:
        """(Re)make one of the rule, engine, learn and colour menus, showing what is in force.
        What cannot run now is offered with the reason (choosing it says why, and changes nothing)."""
        s = self.session
        self._menus[name] = self._menu_states()[name]
        if name == "drag":  # (a slider)
            value = float(np.clip(math.log10(s.scene.spec.physics.drag), -2, 2))
            if abs(self.s_drag.get_current_value() - value) > 1e-9:
                self.s_drag.set_current_value(value)
            return
        old = getattr(self, f"d_{name}", None)
        if old is not None and old.alive():
            old.kill()
        rect = self._menu_rects[name]
        if name == "scene":
            self.scenes = scene_choices(s.source)
            current = next(label for label, path in self.scenes.items() if _same(path, s.source))
            self.d_scene = UIDropDownMenu(list(self.scenes), current, rect, self.ui)
        elif name == "rule":
            why = s.coupled_reason
            self.rule_labels = {k: (k if k != "coupled" or not why else
                                    "coupled: " + ("exact only" if "exact" in why else "no targets")) for k in RULE_CYCLE}
            kind = s.rule.kind if s.rule.kind in RULE_CYCLE else RULE_CYCLE[0]
            self.d_rule = UIDropDownMenu(list(self.rule_labels.values()), self.rule_labels[kind], rect, self.ui)
        elif name == "engine":
            self.engine_labels = {e: (e if e != "physical" or s.rule.kind != "coupled" else "physical: not coupled")
                                  for e in ENGINES}
            self.d_engine = UIDropDownMenu(list(self.engine_labels.values()), self.engine_labels[s.engine_name],
                                           rect, self.ui)
        elif name == "learn":
            self.d_learn = UIDropDownMenu(list(LEARN_LABELS.values()), LEARN_LABELS[s.rule.learn], rect, self.ui)
        else:
            self.d_color = UIDropDownMenu(list(COLOR_MODES.values()), COLOR_MODES[self.color_mode], rect, self.ui)

    def _sync_labels(self):
        if self._layout_state() != self._layout:
            self._build_ui()
            return
        for name, state in self._menu_states().items():
            if self._menus.get(name) != state:
                self._make_menu(name)
        s = self.session
        self.l_lr.set_text(f"learning rate  {s.rule.lr:.3g}")
        self.l_beta.set_text(f"nudge beta  {s.rule.beta:.3g}")
        self.l_drag.set_text(f"drag (viscosity)  {s.scene.spec.physics.drag:.3g}")
        for slider, value in ((self.s_lr, math.log10(s.rule.lr)), (self.s_beta, math.log10(s.rule.beta))):
            value = float(np.clip(value, *slider.value_range))
            if abs(slider.get_current_value() - value) > 1e-9:
                slider.set_current_value(value)
        self.b_play.set_text("Pause" if not s.paused else "Play")
        self.b_fast.set_text("Fast: on" if s.fast else "Fast")
        self.b_edit.set_text("Editing" if s.editing else "Edit")
        self.b_record.set_text("Stop rec" if self.film else "Record")

    # ------------------------------------------------------------ input

    def handle(self, event) -> None:
        """Turn one pygame event into a command of the session or the view."""
        s = self.session
        if event.type == pygame.QUIT:  # the window's close button: nothing learned is lost
            if s.unsaved:
                path = self.save_copy(autosave=True)
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
            text = next((t for t, b in self.buttons.items() if b is event.ui_element), None)
            cmd = next((c for c in COMMANDS if c.button == text), None)
            if cmd is not None:
                self.key(cmd.keys[0])
            elif text in BUTTONS:
                self.key(BUTTONS[text])
        elif event.type == pygame_gui.UI_HORIZONTAL_SLIDER_MOVED:
            if event.ui_element is self.s_lr:
                s.set_rule(lr=10 ** event.value)
            elif event.ui_element is self.s_beta:
                s.set_rule(beta=10 ** event.value)
            elif event.ui_element is self.s_drag:
                s.set_drag(10 ** event.value)
        elif event.type == pygame_gui.UI_DROP_DOWN_MENU_CHANGED:
            self.menu(event.ui_element, event.text)
        self._sync_labels()

    def menu(self, element, text: str) -> None:
        """A choice in one of the panel's menus."""
        s = self.session
        if element is self.d_rule:
            kind = next(k for k, label in self.rule_labels.items() if label == text)
            if not s.set_rule(kind=kind):
                self._menus["rule"] = None  # refused: the menu goes back to the rule in force
        elif element is self.d_engine:
            s.set_engine(next(e for e, label in self.engine_labels.items() if label == text))
            self._menus["engine"] = None  # the menu shows the engine running (the switch may come later)
        elif element is self.d_learn:
            s.set_rule(learn=next(k for k, label in LEARN_LABELS.items() if label == text))
        elif element is self.d_color:
            self.color_mode = next(k for k, label in COLOR_MODES.items() if label == text)
        elif element is self.d_scene:
            self.open_scene(self.scenes[text])

    def key(self, key, mod: int = 0) -> None:
        """A key: the command of the table (the edit table first while editing)."""
        self.last_key = key
        if key not in (pygame.K_w, pygame.K_ESCAPE):
            self._confirm = None  # a question asked by the last key is answered no
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
        self._sync_labels()

    def escape(self) -> None:
        """Esc: cancel what is computing; else quit (asking once if there is unsaved work)."""
        s = self.session
        if s.cancel():
            return
        if s.unsaved and self._confirm != "quit":
            self._confirm = "quit"
            s.say("not saved: W saves a copy, Esc again quits without saving", banner=True)
        else:
            self.running = False

    def open_help(self) -> None:
        self.show_help = True

    def toggle_log(self) -> None:
        self.log_plot = not self.log_plot

    def cycle_colors(self) -> None:
        modes = list(COLOR_MODES)
        self.color_mode = modes[(modes.index(self.color_mode) + 1) % len(modes)]

    def open_next(self) -> None:
        paths = list(self.scenes.values())
        i = next((j for j, path in enumerate(paths) if _same(path, self.session.source)), -1)
        self.open_scene(paths[(i + 1) % len(paths)])

    def resize(self, size) -> None:
        """A new window size (never below MIN_SIZE)."""
        size = (max(size[0], MIN_SIZE[0]), max(size[1], MIN_SIZE[1]))
        self.screen = pygame.display.set_mode(size, 0 if self.headless else pygame.RESIZABLE)
        self._build_ui()

    def click(self, pos) -> None:
        """Grab the node under the mouse, or select the spring under it."""
        s = self.session
        i = self._node_at(pos)
        if i is not None and s.net.roles[i] != 0:  # fixed nodes stay fixed
            s.grab(i, self.camera.to_world(pos))
            return
        s.select(self._spring_at(pos))

    def close_help(self) -> None:
        self.show_help = False
        HELP_SEEN.touch(exist_ok=True) if not self.headless else None

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
            s.pick(None)
        elif (e := self._spring_at(pos)) is not None:
            s.select(e)
        else:
            s.click_empty(world)

    def _node_at(self, pos) -> int | None:
        """The node within 14 pixels of a screen point, if any."""
        if self.camera is None:
            return None
        d = np.hypot(*(self.camera.to_screen(self.session.x) - np.asarray(pos, float)).T)
        return int(np.argmin(d)) if len(d) and d.min() < 14 else None

    def _spring_at(self, pos) -> int | None:
        """The spring within 8 pixels of a screen point, if any."""
        s = self.session
        if self.camera is None or len(s.x) != s.net.n_nodes:
            return None
        p = self.camera.to_screen(s.x)
        a, b = p[s.net.edges[:, 0]], p[s.net.edges[:, 1]]
        ab = b - a
        t = np.clip(((np.asarray(pos) - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-9), 0, 1)
        dist = np.hypot(*(a + t[:, None] * ab - np.asarray(pos)).T)
        e = int(np.argmin(dist)) if len(dist) else -1
        return e if e >= 0 and dist[e] < 8 else None

    # ------------------------------------------------------------ files (written off this thread)

    def record(self, folder: Path | None = None) -> Path | None:
        """Start recording the window into a GIF, or stop and save it (in the background;
        returns the path it will have)."""
        from ..window.film import Film

        if self.film is None:
            self.film = Film(every=RECORD_EVERY, scale=0.5, max_frames=RECORD_MAX_S * 60 // RECORD_EVERY,
                             frame_ms=1000 * RECORD_EVERY // 60)
            self.session.say("recording: G stops", banner=True)
            return None
        film, self.film = self.film, None
        if not len(film):
            return None
        path = _fresh(folder or (Path.cwd() / "recordings"), self.session.source.stem, ".gif")
        note = f" ({len(film)} frames, {film.seconds:.0f} s)"
        self._write(path, film.gif, note)
        return path

    def screenshot(self, folder: Path | None = None) -> Path:
        """Save what the window shows as a PNG (atomically, in the background); its path."""
        import io

        path = _fresh(folder or (Path.cwd() / "screenshots"), self.session.source.stem, ".png")
        shot = self.screen.copy()

        def encode():
            buf = io.BytesIO()
            pygame.image.save(shot, buf, "png")
            return buf.getvalue()
        self._write(path, encode)
        return path

    def _write(self, path: Path, data, note: str = "") -> None:
        """Write data() to path in the background; the caption says when it is done."""
        def compute():
            try:
                write_atomic(path, data())
            except OSError as exc:
                return f"not saved: {exc}"
            return f"saved {path.name}{note}"
        self.session.say(f"writing {path.name}...")
        self._writes.append(Job(f"writing {path.name}", compute, self.session.say, touches_network=False))

    def _poll_writes(self) -> None:
        for job in [j for j in self._writes if j.done()]:
            self._writes.remove(job)
            try:
                job.then(job.future.result())
            except Exception as exc:  # noqa: BLE001
                self.session.say(f"not saved: {exc}")

    def wait_writes(self, timeout: float = 60.0) -> None:
        """Block until every file being written is (for tests and closing)."""
        from concurrent.futures import wait

        wait([j.future for j in self._writes], timeout=timeout)
        self._poll_writes()

    def open_scene(self, path):
        """Open a scene (in the background; a file that does not open says why)."""
        self.session.open(path)

    def save_copy(self, folder: Path | None = None, over_source: bool = False, autosave: bool = False) -> Path | None:
        """Save the network as it is now: as a new scene in saved/ (W), or over the scene it was
        opened from (Shift+W, asked twice: the file's comments and layout are not kept); in the
        background, after the stage computing now. autosave: the window is closing with unsaved
        work (saved at once, even if nodes are loose). Returns the path it is saved to."""
        from ..scenes.messages import SceneError
        from ..scenes.save import save_scene

        s = self.session
        if s.editing and s.loose and not autosave:
            s.say(f"not saved: {s.names(s.loose)} can move freely; add springs or hold them")
            return None
        if over_source and self._confirm != "overwrite":
            self._confirm = "overwrite"
            s.say(f"Shift+W again overwrites {s.source.name} (its comments and layout are not kept); "
                  "any other key keeps it", banner=True)
            return None
        self._confirm = None
        stem = s.source.stem + ("-autosave" if autosave else "")
        path = s.source if over_source else _fresh(folder or (Path.cwd() / "saved"), stem, ".yaml")

        def compute():
            if s.editing and s.loose and not autosave:  # (as checked after the edits before it)
                return f"not saved: {s.names(s.loose)} can move freely; add springs or hold them"
            r, source = s.rule, s.source  # the settings as tuned in the window go with the network
            settings = {"learning": {"rule": r.kind, "beta": r.beta, "lr": r.lr, "learn": r.learn},
                        "physics": {"drag": s.scene.spec.physics.drag}}
            try:
                save_scene(s.scene, path, origin={"scene": source.name, "epochs": s.trainer.epochs_done,
                                                  "steps": s.trainer.steps, "rule": r.kind},
                           overwrite_source=over_source, settings=settings)
            except (OSError, SceneError) as exc:
                return f"not saved: {getattr(exc, 'problems', [exc])[0]}"
            return ""

        def then(why: str):
            if why:
                s.say(why, banner=True)
                return
            s.say(f"saved {path.name}", banner=True)
            s.mark_saved()
            self._saves += 1  # the copy joins the scene menu

        if autosave:
            s.cancel()
            then(compute())
        else:
            s._submit("save", f"saving {path.name}", compute, then)
        return path

    # ------------------------------------------------------------ drawing

    def _fit_camera(self, view: pygame.Rect) -> Camera:
        """The view holds still: it is fitted to the scene (its reference positions, clamps and
        targets) when a scene opens or the window's layout changes, and again only when asked
        or when the network truly leaves it (most of its nodes out of sight for a second);
        never per example, never to a magnified or non-finite position."""
        s = self.session
        key = (s.generation, tuple(view))
        if self.camera is not None and self._camera_key == key:
            if s.dragging is None and not s.editing and _mostly_outside(self.camera, s.x):
                self._outside += 1
            else:
                self._outside = 0
            if self._outside < 60:
                return self.camera
            pts = np.vstack([s.net.pos, s.x[np.isfinite(s.x).all(axis=1)]]) if len(s.x) == s.net.n_nodes else s.net.pos
        else:
            pts = scene_points(s.net, s.trainer.task)
        self._camera_key, self._outside = key, 0
        return Camera.fit(view, pts, s.scene.spec.view.scale)

    def draw(self) -> None:
        s = self.session
        scr = self.screen
        scr.fill(PALETTE["background"])
        view = self.teaching.network_area(self.view_rect())  # the teaching column takes the right
        net = s.net
        cam = self.camera = self._fit_camera(view)
        # an update shows which springs got stiffer or softer for as long as its caption is shown
        extra = Drawing(ghost=s.ghost, targets=s.trainer.task.target_points(net, s.example, s.x),
                        nudge=s.nudge_forces(), change=s.change,
                        flash=1.0 if self.color_mode == "change" or s.flashing else 0.0,
                        color_mode="change" if self.color_mode == "change" or s.flashing else "tension")
        if net.n_nodes <= LABELLED_MAX_NODES:  # name what the description talks about
            extra.labels = {int(i): net.ids[i] for i in np.flatnonzero((net.roles == 1) | (net.roles == 3))}
        marks = example_marks(s.trainer.task, s.example)  # a classifier's class names, an image's pixels
        extra.labels.update(marks.get("labels", {}))
        extra.shades = marks.get("shades", {})
        if s.editing:
            extra.targets, extra.clamps = s.markers()
            extra.every_node = True
            extra.rings = [(i, PALETTE["tension"]) for i in s.loose if i < net.n_nodes]
            if s.pending is not None:  # the first end of a pair being made
                extra.rings.append((s.pending[1], PALETTE[s.pending[0]]))
            if s.picked is not None:
                extra.rings.append((s.picked, PALETTE["highlight"]))
        if self.color_mode == "agreement" and not s.editing:
            s.want_agreement()
            values = s.agreement_values[1] if s.agreement_values is not None else None
            if values is not None and len(values) == net.n_springs:  # (None while the network is floppy)
                # green where EP is within 1e-6 of the exact gradient, orange where it is 1e-2 off
                extra.custom_colors = spring_colors(-np.log10(np.maximum(values, 1e-12)) - 4, 2,
                                                    PALETTE["stiffer"], PALETTE["softer"], PALETTE["spring"])
        extra.highlight = s.selected if s.selected is not None and s.selected < net.n_springs else None
        if len(s.x) == net.n_nodes:
            draw_network(scr, cam, net, s.x, s.k_ref, extra, s.scene.spec.view.colors and
                         {k: tuple(v) for k, v in s.scene.spec.view.colors.items()})
        if s.grip is not None and s.grip["what"] == "link" and s.grip["moved"] and s.grip["index"] < len(s.x):  # the spring drawn
            pygame.draw.line(scr, PALETTE["highlight"], *cam.to_screen(np.array([s.x[s.grip["index"]], s.grip["at"]])), 3)
        self._draw_status()
        self._draw_panel()
        self._draw_legend(view, extra.color_mode if extra.custom_colors is None else "agreement")
        self._draw_plot()
        self.teaching.draw(scr)
        self.ui.draw_ui(scr)  # after the plot: an open menu lies over it
        if self.show_help:
            self._draw_help()

    def _text(self, text, pos, size=24, color=None):
        surf = self.font(size).render(text, True, color or PALETTE["text"])
        self.screen.blit(surf, pos)
        return surf.get_width()

    def _draw_status(self):
        s = self.session
        tr = s.trainer
        w = self.view_rect().width
        pygame.draw.rect(self.screen, (236, 236, 230), pygame.Rect(0, 0, w, self.px(STATUS_H)))
        loss = s.loss
        status = (f"{s.scene.name}   |   epoch {tr.epochs_done}   step {tr.steps}   |   {s.rule.kind} EP"
                  f"   |   loss {loss:.3g}   |   {s.engine_name}"
                  f"{'   |   slow motion' if s.slow > 1 else ''}{'   |   fast' if s.fast else ''}"
                  f"{'   |   EDITING' if s.editing else ''}")
        x = self.px(12)
        if self.film is not None:
            pygame.draw.circle(self.screen, (220, 0, 0), (x + 7, self.px(17)), 7)
            x += 36 + self._text(f"REC {self.film.seconds:.0f} s", (x + 18, self.px(8)), 24, (220, 0, 0))
        for line in wrap(status, self.font(24), w - x - 8)[:1]:
            self._text(line, (x, self.px(8)), 24)
        color = (200, 30, 30) if s._banner and ("diverged" in s.caption or "wrong" in s.caption
                                                 or "not" in s.caption or "slowly" in s.caption) else (20, 70, 160)
        lines = wrap(s.caption, self.font(30), w - 24)
        size = 30 if len(lines) == 1 else 20
        for j, line in enumerate(wrap(s.caption, self.font(size), w - 24)[:2]):
            self._text(line, (self.px(12), self.px(36) + j * self.px(17)), size, color)

    def _draw_panel(self):
        p = self.panel_rect()
        pygame.draw.rect(self.screen, (242, 242, 238), p)
        pygame.draw.line(self.screen, (200, 200, 200), p.topleft, p.bottomleft, 2)
        s = self.session
        y = self.info_y
        x0 = p.x + self.px(10)
        width = p.width - self.px(20)
        row = self.px(20)
        e_free, e_nudged = s.energies
        lines = []
        i = s.info
        if s.selected is not None and i is not None and i["spring"] == s.selected:  # what was asked for, first
            lines += [f"spring {s.selected}: k {i['k']:.4g}, L {i['L']:.4g}",
                      f"  extension free {i['extension_free']:.3g}, nudged {i['extension_nudged']:.3g}",
                      f"  dC/dk: EP {i['ep_grad']:.4g}, exact {i['exact_grad']:.4g}"]
        elif s.selected is not None:
            lines.append(f"spring {s.selected}: measuring...")
        lines += [f"example {s.example}: cost {s.step_costs[-1]:.3g}" if s.step_costs else "example cost: -",
                 f"energy, free phase:   {e_free:.4g}",
                 f"energy, nudged phase: {e_nudged:.4g}" if np.isfinite(e_nudged) else "energy, nudged phase: -",
                 f"{s.net.n_nodes} nodes, {s.net.n_springs} springs"]
        hist = s.trainer.history[-1] if s.trainer.history else {}
        if np.isfinite(hist.get("accuracy", float("nan"))):
            lines.append(f"accuracy train {hist['accuracy']:.0%}" + (
                f", test {hist['test_accuracy']:.0%}" if np.isfinite(hist.get("test_accuracy", float("nan"))) else ""))
        if np.isfinite(hist.get("test_loss", float("nan"))):
            lines.append(f"test loss {hist['test_loss']:.3g}")
        bottom = p.bottom - self.px(6)
        for line in [part for text in lines for part in wrap(text, self.font(20), width)]:
            if y + row > bottom:
                return
            self._text(line, (x0, y), 20)
            y += row
        desc = s.scene.spec.description
        if desc and s.scene.spec.view.panels.get("description", True):
            y += self.px(8)
            for line in wrap(desc, self.font(20), width):
                if y + row > bottom:  # what does not fit is left out, never drawn past the panel
                    return
                self._text(line, (x0, y), 20, (90, 90, 90))
                y += self.px(19)

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
        x, y = view.x + 10, view.bottom - self.px(26)
        for name, color in items:
            pygame.draw.rect(self.screen, color, pygame.Rect(x, y + 4, self.px(14), self.px(14)))
            x += self.px(20) + self._text(name, (x + self.px(18), y + 2), 20) + 6
        hint = ("editing: click = new node, drag node to node = spring, right-drag = move, click node then "
                "1-4 = role, click spring then +/- = stiffer/softer, X = remove, A = new example, Tab = done"
                if self.session.editing else
                "width = stiffness   ghost = free equilibrium   arrows = nudge   H = help")
        lines = wrap(hint, self.font(20), view.width - 20)
        for j, line in enumerate(lines):
            self._text(line, (view.x + 10, view.bottom - self.px(46) - self.px(19) * (len(lines) - 1 - j)), 20,
                       (110, 110, 110))

    def _draw_help(self):
        w, h = self.size
        shade = pygame.Surface((w, h), pygame.SRCALPHA)
        shade.fill((0, 0, 0, 150))
        self.screen.blit(shade, (0, 0))
        row = self.px(28) if h >= 120 + self.px(28) * len(KEYS) else max(14, (h - 100) // len(KEYS))
        box = pygame.Rect(0, 0, min(w - 40, self.px(900)), min(h - 20, 80 + row * len(KEYS)))
        box.center = (w // 2, h // 2)
        pygame.draw.rect(self.screen, (252, 252, 248), box, border_radius=10)
        self._text("Keys (buttons and menus on the right do the same; any key closes this)", (box.x + 20, box.y + 16), 30)
        y = box.y + 56
        for k, what in KEYS:
            self._text(k, (box.x + 24, y), int((row - 4) / self.scale), (20, 70, 160))
            self._text(what, (box.x + self.px(150), y), int((row - 4) / self.scale))
            y += row

    # ------------------------------------------------------------ the loop

    def tick(self, dt: float = 1 / 60) -> None:
        """One frame: handle queued events, advance the session, draw. Nothing raised in a frame
        leaves it: the session pauses and rolls back, a banner says so, stderr has the traceback."""
        try:
            for event in pygame.event.get():
                if not (self.show_help and event.type == pygame.MOUSEBUTTONDOWN):  # a click on help only closes it
                    self.ui.process_events(event)
                self.handle(event)
            if not self.show_help:
                self.session.tick()
            self.teaching.tick()
            self._poll_writes()
            self._sync_labels()
            self.ui.update(dt)
        except Exception as exc:  # noqa: BLE001 - the frame boundary
            self.session.recover(exc)
        try:
            self.draw()
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            self.session.recover(exc)
            self.screen.fill(PALETTE["background"])
            self._text(self.session.caption, (12, 36), 24, (200, 30, 30))
        self.frame_times.append(time.perf_counter())
        del self.frame_times[:-10_000]
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


def _mostly_outside(camera: Camera, x: np.ndarray) -> bool:
    """Whether most of the positions x (N, 2) are drawn outside the camera's rectangle."""
    p = camera.to_screen(x)
    r = camera.rect
    inside = np.isfinite(p).all(axis=1) & (p[:, 0] >= r.x) & (p[:, 0] <= r.right) & (p[:, 1] >= r.y) & (p[:, 1] <= r.bottom)
    return inside.mean() < 0.5 if len(inside) else False


def scene_points(net, task) -> np.ndarray:
    """(K, 2) the points a view of the scene must hold: the reference positions, where every
    example clamps the inputs and where it wants the outputs."""
    pts = [net.pos, (net.pos[task.inputs][None] + task.clamps).reshape(-1, 2)]
    pts += [task.target_points(net, s, net.pos) for s in range(min(task.n_examples, 200))]
    pts = np.vstack(pts)
    return pts[np.isfinite(pts).all(axis=1)]


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


