"""Every key and button of the window as a row of one table: the keys, the name and line of
the help, what it calls, and the panel button that calls it too. The help is drawn from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pygame


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


PLUS = (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS)
MINUS = (pygame.K_MINUS, pygame.K_KP_MINUS)
ROLE_KEYS = {pygame.K_1: "fixed", pygame.K_2: "input", pygame.K_3: "hidden", pygame.K_4: "output"}

COMMANDS = [
    Command((pygame.K_SPACE,), "Space", "play / pause", lambda a, m: a.session.training.toggle_play(), "Play"),
    Command((pygame.K_s,), "S", "step one stage (free, nudged, update)", lambda a, m: a.session.training.step_stage(), "Stage"),
    Command((pygame.K_e,), "E", "step one example (through its update)", lambda a, m: a.session.training.step_example(),
            "Example"),
    Command((pygame.K_f,), "F", "fast on / off (exact engine while on, draws only the states)",
            lambda a, m: a.session.training.toggle_fast()),
    Command((pygame.K_m,), "M", "slow motion on / off (the pace buttons: slow, normal, fast)",
            lambda a, m: a.session.training.toggle_slow()),
    Command((pygame.K_r,), "R", "reset to the scene's start (same seed)", lambda a, m: a.session.reset(), "Reset"),
    Command((pygame.K_HOME, pygame.K_0), "Home / 0", "fit the view to the network again", lambda a, m: a.view.refit(),
            "Fit view"),
    Command((pygame.K_p,), "P", "physical engine (pymunk) / exact engine", lambda a, m: a.session.settings.toggle_engine()),
    Command(PLUS + MINUS, "+ / -", "learning rate x2 / /2",
            lambda a, m: a.session.settings.scale_lr(2.0 if a.last_key in PLUS else 0.5)),
    Command((pygame.K_b, pygame.K_v), "B / V", "beta x2 / /2",
            lambda a, m: a.session.settings.scale_beta(2.0 if a.last_key == pygame.K_b else 0.5)),
    Command((pygame.K_RIGHTBRACKET, pygame.K_LEFTBRACKET), "] / [", "temperature kT x10 / /10 (0, 1e-9 ... 1e-3)",
            lambda a, m: a.session.warmth.step(a.last_key == pygame.K_RIGHTBRACKET)),
    Command((pygame.K_u,), "U", "rule: centered / one-sided / coupled (where it can run)",
            lambda a, m: a.session.settings.cycle_rule()),
    Command((pygame.K_k,), "K", "what learns: stiffness / rest length / both", lambda a, m: a.session.settings.cycle_learn()),
    Command((pygame.K_c,), "C", "spring colours: tension / last change / EP vs exact", lambda a, m: a.cycle_colors()),
    Command((pygame.K_n,), "N", "show the next example (its clamp and target)", lambda a, m: a.session.next_example()),
    Command((pygame.K_x, pygame.K_DELETE), "X / D", "cut the selected spring / cut a random 10%",
            lambda a, m: a.session.history.cut_selected()),
    Command((pygame.K_d,), "", "", lambda a, m: a.session.history.damage(0.1)),
    Command((pygame.K_z,), "Z", "undo your last change (and the training since)", lambda a, m: a.session.history.undo()),
    Command((pygame.K_l,), "L", "loss plot: log / linear scale", lambda a, m: a.toggle_log()),
    Command((pygame.K_o,), "O", "open the next scene in scenes/ (and saved/)", lambda a, m: a.open_next()),
    Command((pygame.K_F12, pygame.K_g), "F12 / G", "screenshot (PNG) / record a GIF, G again stops (recordings/)",
            lambda a, m: a.exports.screenshot() if a.last_key == pygame.K_F12 else a.exports.record()),
    Command((pygame.K_w,), "W", "save the network as a new scene (in saved/); Shift+W twice: over the source",
            lambda a, m: a.exports.save_copy(over_source=bool(m & pygame.KMOD_SHIFT))),
    Command((pygame.K_TAB,), "Tab", "edit: click adds a node, drag node to node a spring, right-drag moves",
            lambda a, m: a.session.edit.start(), "Edit"),
    Command((pygame.K_h, pygame.K_F1), "H or F1", "this help", lambda a, m: a.open_help(), "Help"),
    Command((pygame.K_ESCAPE,), "Esc", "stop what is computing, stop editing, or quit (asks first if unsaved)",
            lambda a, m: a.escape()),
]
BUTTONS = {"Record": pygame.K_g, "Save": pygame.K_w}  # buttons without a command row of their own


def _edit_scale(a, m) -> bool:
    if a.session.hands.selected is None:
        return False
    a.session.edit.scale_selected(2.0 if a.last_key in PLUS else 0.5)
    return True


def _edit_escape(a, m) -> bool:
    s = a.session
    if s.cancel():
        return True
    if s.edit.picked is not None:
        s.edit.pick(None)
    else:
        s.edit.stop()
    return True


EDIT_COMMANDS = [
    Command(tuple(ROLE_KEYS), "1-4 / A", "(editing) role of the picked node: fixed, input, hidden, output / new example",
            lambda a, m: a.session.edit.picked is not None and (a.session.edit.set_role(ROLE_KEYS[a.last_key]) or True)),
    Command((pygame.K_a,), "", "", lambda a, m: a.session.edit.add_example() or True),
    Command(PLUS + MINUS, "+ / -", "(editing) the selected spring twice as stiff / half as stiff", _edit_scale),
    Command((pygame.K_x, pygame.K_DELETE, pygame.K_BACKSPACE), "X", "(editing) remove the picked node",
            lambda a, m: a.session.edit.picked is not None and (a.session.edit.remove_picked() or True)),
    Command((pygame.K_TAB,), "", "", lambda a, m: a.session.edit.stop() or True),
    Command((pygame.K_ESCAPE,), "", "", _edit_escape),
]
MOUSE_HELP = [("click", "drag a node (or a clamped input); click a spring to inspect it")]
TEACHING_HELP = [("T / arrows", "the response panel on / off; lesson card: back / next")]
_ROWS = [(c.label, c.does) for c in COMMANDS if c.label]
KEYS = _ROWS[:12] + MOUSE_HELP + _ROWS[12:] + [(c.label, c.does) for c in EDIT_COMMANDS if c.label] + TEACHING_HELP
KEY_COMMANDS = {k: c for c in COMMANDS for k in c.keys}
EDIT_KEY_COMMANDS = {k: c for c in EDIT_COMMANDS for k in c.keys}
