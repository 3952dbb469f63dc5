"""The side panel's widgets (pygame_gui): buttons, sliders and menus, kept in step with the
session, and what a choice in them does. The loss plot and the text go below them."""

from __future__ import annotations

import math

import numpy as np
import pygame
import pygame_gui
from pygame_gui.elements import UIButton, UIDropDownMenu, UIHorizontalSlider, UILabel

from ..learning.rules import LEARNS
from ..paths import ASSETS
from .commands import BUTTONS, COMMANDS
from .engines import ENGINES
from .library import same_file, scene_choices
from .settings import RULE_CYCLE
from .warmth import KT_SLIDER

COLOR_MODES = {"tension": "tension", "change": "last change", "agreement": "EP vs exact"}
LEARN_LABELS = {learn: learn.replace("_", " ") for learn in LEARNS}
BUTTON_LABELS = ["Play", "Stage", "Example", "Slow", "Normal", "Fast", "Reset", "Edit", "Fit view",
                 "Record", "Save", "Help"]
PACE_BUTTONS = {"Slow": "slow", "Normal": "normal", "Fast": "fast"}


def _log(v: float, lo: float, hi: float) -> float:
    """A slider's position for the value v (> 0; 0 and below: its left end)."""
    return float(np.clip(math.log10(v), lo, hi)) if v > 0 else lo


class ControlPanel:
    """The widgets of `app`'s side panel; below: the room left under them for the loss plot and
    the text (plot_and_text shares it)."""

    def __init__(self, app):
        self.app = app
        self.saves = 0  # saved copies made (the scene menu lists them)
        self.build()

    @property
    def session(self):
        return self.app.session

    def build(self) -> None:
        """(Re)build every widget for the window's size."""
        lay, s = self.app.layout, self.session
        self._size = lay.size
        self.ui = pygame_gui.UIManager(lay.size, str(ASSETS / "theme.json"))
        px = lay.px
        pw = lay.panel_w
        x0, y = lay.panel_rect().x + px(10), px(10)
        bw = (pw - px(30)) // 3
        bh, gap = px(32), px(38)
        self.buttons = {}
        for j, text in enumerate(BUTTON_LABELS):
            self.buttons[text] = UIButton(pygame.Rect(x0 + (j % 3) * (bw + px(5)), y + gap * (j // 3), bw, bh), text, self.ui)
        y += (len(BUTTON_LABELS) // 3) * gap + px(6)
        lw, lh, sh = pw - px(20), px(22), px(24)
        self.sliders, self.slider_labels = {}, {}
        for name, value, lo, hi in (("lr", s.rule.lr, -4.0, 4.0), ("beta", s.rule.beta, -5.0, 0.0),
                                    ("drag", s.scene.spec.physics.drag, -2.0, 2.0), ("temperature", s.warmth.kT, *KT_SLIDER)):
            self.slider_labels[name] = UILabel(pygame.Rect(x0, y, lw, lh), "", self.ui)
            y += lh
            self.sliders[name] = UIHorizontalSlider(pygame.Rect(x0, y, lw, sh), _log(value, lo, hi), (lo, hi), self.ui)
            y += sh + px(4)
        y += px(4)
        half = (pw - px(25)) // 2
        mh = px(30)
        self._menu_rects = {"rule": pygame.Rect(x0, y, half, mh),
                            "engine": pygame.Rect(x0 + half + px(5), y, half, mh),
                            "learn": pygame.Rect(x0, y + mh + px(4), half, mh),
                            "color": pygame.Rect(x0 + half + px(5), y + mh + px(4), half, mh),
                            "scene": pygame.Rect(x0, y + 2 * (mh + px(4)), lw, mh)}
        self._drag = s.scene.spec.physics.drag
        self.menus: dict = {}
        self._shown: dict = {}
        for name in self._menu_rects:
            self._make_menu(name)
        y += 3 * (mh + px(4)) + px(6)
        self.below = pygame.Rect(x0, y, lw, lay.size[1] - y - px(6))  # the loss plot and the text
        self.sync()

    def plot_and_text(self, text_height: int) -> tuple[pygame.Rect, pygame.Rect]:
        """The loss plot's rectangle and the text's below it: the plot gives way to the text
        (from 170 down to 80 pixels at the base size)."""
        px, below = self.app.layout.px, self.below
        plot_h = int(np.clip(below.height - text_height - px(10), px(80), px(170)))
        plot = pygame.Rect(below.x, below.y, below.width, plot_h)
        return plot, pygame.Rect(below.x, plot.bottom + px(10), below.width, below.bottom - plot.bottom - px(10))

    def _menu_states(self) -> dict:
        """What each menu shows; a menu is made again (alone) when its entry changes."""
        s, app = self.session, self.app
        return {"rule": (s.rule.kind, s.settings.coupled_reason), "engine": (s.engine_name, s.rule.kind == "coupled"),
                "learn": s.rule.learn, "color": app.color_mode, "scene": (str(s.source), self.saves)}

    def _make_menu(self, name: str) -> None:
        """(Re)make one menu, showing what is in force. What cannot run now is offered with the
        reason (choosing it says why, and changes nothing)."""
        s = self.session
        self._shown[name] = self._menu_states()[name]
        old = self.menus.get(name)
        if old is not None and old.alive():
            old.kill()
        rect = self._menu_rects[name]
        if name == "scene":
            self.scenes = scene_choices(s.source)
            current = next(label for label, path in self.scenes.items() if same_file(path, s.source))
            options, chosen = list(self.scenes), current
        elif name == "rule":
            why = s.settings.coupled_reason
            self.rule_labels = {k: (k if k != "coupled" or not why else
                                    "coupled: " + ("exact only" if "exact" in why else "no targets")) for k in RULE_CYCLE}
            kind = s.rule.kind if s.rule.kind in RULE_CYCLE else RULE_CYCLE[0]
            options, chosen = list(self.rule_labels.values()), self.rule_labels[kind]
        elif name == "engine":
            self.engine_labels = {e: (e if e != "physical" or s.rule.kind != "coupled" else "physical: not coupled")
                                  for e in ENGINES}
            options, chosen = list(self.engine_labels.values()), self.engine_labels[s.engine_name]
        elif name == "learn":
            options, chosen = list(LEARN_LABELS.values()), LEARN_LABELS[s.rule.learn]
        else:
            options, chosen = list(COLOR_MODES.values()), COLOR_MODES[self.app.color_mode]
        self.menus[name] = UIDropDownMenu(options, chosen, rect, self.ui)

    def sync(self) -> None:
        """Show what is in force: labels, slider positions, button texts, menu entries."""
        if self.app.layout.size != self._size:
            self.build()
            return
        for name, state in self._menu_states().items():
            if self._shown.get(name) != state:
                self._make_menu(name)
        s = self.session
        kT = s.warmth.kT
        texts = {"lr": f"learning rate  {s.rule.lr:.3g}", "beta": f"nudge beta  {s.rule.beta:.3g}",
                 "drag": f"drag (viscosity)  {s.scene.spec.physics.drag:.3g}",
                 "temperature": f"temperature kT  {kT:.3g}" if kT > 0 else "temperature kT  0 (cold)"}
        for name, text in texts.items():
            self.slider_labels[name].set_text(text)
        values = {"lr": s.rule.lr, "beta": s.rule.beta, "temperature": kT}
        drag = s.scene.spec.physics.drag
        if drag != self._drag:  # (a drag set by its slider applies after the running stage: not undone meanwhile)
            values["drag"], self._drag = drag, drag
        for name, v in values.items():
            slider = self.sliders[name]
            value = _log(v, *slider.value_range)
            if abs(slider.get_current_value() - value) > 1e-9:
                slider.set_current_value(value)
        self.buttons["Play"].set_text("Pause" if not s.training.paused else "Play")
        for text, pace in PACE_BUTTONS.items():  # the pace in force is shown pressed
            button = self.buttons[text]
            if (pace == s.training.pace) != button.is_selected:
                button.select() if pace == s.training.pace else button.unselect()
        self.buttons["Edit"].set_text("Editing" if s.editing else "Edit")
        self.buttons["Record"].set_text("Stop rec" if self.app.exports.film else "Record")

    # ------------------------------------------------------------ events

    def handle(self, event) -> bool:
        """A pygame_gui event: what the widget does (True if it was one of the panel's)."""
        s, app = self.session, self.app
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            text = next((t for t, b in self.buttons.items() if b is event.ui_element), None)
            cmd = next((c for c in COMMANDS if c.button == text), None)
            if text in PACE_BUTTONS:
                s.training.set_pace(PACE_BUTTONS[text])
            elif cmd is not None:
                app.key(cmd.keys[0])
            elif text in BUTTONS:
                app.key(BUTTONS[text])
            return text is not None
        if event.type == pygame_gui.UI_HORIZONTAL_SLIDER_MOVED:
            name = next((n for n, w in self.sliders.items() if w is event.ui_element), None)
            if name == "drag":
                s.settings.set_drag(10 ** event.value)
            elif name == "temperature":  # (its left end is 0: cold)
                s.warmth.set(0.0 if event.value <= KT_SLIDER[0] + 0.25 else 10 ** event.value)
            elif name is not None:
                s.settings.set_rule(**{name: 10 ** event.value})
            return name is not None
        if event.type == pygame_gui.UI_DROP_DOWN_MENU_CHANGED:
            return self.choose(event.ui_element, event.text)
        return False

    def choose(self, element, text: str) -> bool:
        """A choice in one of the panel's menus (True if it was one of them)."""
        s, app = self.session, self.app
        menus = self.menus
        if element is menus["rule"]:
            kind = next(k for k, label in self.rule_labels.items() if label == text)
            if not s.settings.set_rule(kind=kind):
                self._shown["rule"] = None  # refused: the menu goes back to the rule in force
        elif element is menus["engine"]:
            s.settings.set_engine(next(e for e, label in self.engine_labels.items() if label == text))
            self._shown["engine"] = None  # the menu shows the engine running (the switch may come later)
        elif element is menus["learn"]:
            s.settings.set_rule(learn=next(k for k, label in LEARN_LABELS.items() if label == text))
        elif element is menus["color"]:
            app.color_mode = next(k for k, label in COLOR_MODES.items() if label == text)
        elif element is menus["scene"]:
            app.open_scene(self.scenes[text])
        else:
            return False
        return True
