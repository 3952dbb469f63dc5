"""The window's edit mode: the network as drawn, changed by the mouse and a few keys.

Part of a Session (`session.edit`; it works on the session's scene, network and trainer).
Every change goes through the history's `edit`, which applies a function of
sandbox.scenes.editor to the scene's document, builds the result as a file would be built, and
is undone by Z like any other action.
"""

from __future__ import annotations

import numpy as np

from ..physics.equilibrium import FloppyNetworkError
from ..physics.network import ROLE_NAMES
from ..scenes import editor

EDITING = "editing: click adds a node, drag from a node draws a spring; Tab ends"


class EditMode:
    """on: whether edit mode is on; picked: the node an edit works on (new springs start from
    it); grip: what an edit drag holds (a node, a target or a clamp); loose: nodes nothing holds
    yet (marked, and training waits for them); edits: edits made since editing began; pending:
    (role, node) waiting for the second node of a strain pair."""

    def __init__(self, session):
        self.session = session
        self.on = False
        self.edits = 0
        self.picked: int | None = None
        self.grip: dict | None = None
        self.loose: list[int] = []
        self.pending: tuple | None = None

    @property
    def net(self):
        return self.session.net

    def say(self, text: str, banner: bool = False) -> None:
        self.session.say(text, banner)

    def change(self, *args, **kwargs) -> None:
        self.session.history.edit(*args, **kwargs)

    def start(self) -> None:
        """Edit mode: the network is shown as drawn (its reference positions), with the shown
        example's clamps and targets as markers; training waits until editing ends."""
        ses = self.session
        ses.command()

        def apply():
            ses.training.stop()
            self.on, self.edits = True, 0
            ses.still()
            ses.hands.world, ses.hands.dragging, ses.ghost, ses.stage = None, None, None, None
            ses.x = self.net.pos.copy()
            self.loose = []
            self.find_loose()
        ses.jobs.after(apply, cancel=("stage", "state", "grab"), bound=True)

    def stop(self) -> bool:
        """Back to training, if every node is held in place; else say which are not (False).
        The free state is relaxed in the background (if the network turns out floppy, editing
        goes on and the message says so)."""
        ses = self.session
        if not self.on:
            return True
        if ses.jobs.kind() in ("edit", "state"):  # the edit's check is not in yet
            self.say("still checking the edit: Tab again in a moment")
            return False
        if self.loose:
            self.session.warn(f"cannot leave editing: {self.names(self.loose)} can move freely; add springs or hold them")
            return False
        self.on, self.picked, self.grip = False, None, None
        trainer, s, edits, version = ses.trainer, ses.example, self.edits, ses.version

        def compute():
            try:
                x = trainer.free_state(s).x
            except FloppyNetworkError:
                return None
            if edits:  # the loss of the edited scene, marked on the plot: the guard's new baseline
                trainer.new_baseline()
            return x

        def then(x):
            if ses.version != version:  # (the network changed meanwhile: what was relaxed is moot)
                return
            if x is None:
                self.on = True
                self.session.warn("cannot leave editing: the network is floppy (a part moves freely); add springs")
                return
            ses.frames.extend(ses.x + (x - ses.x) * t for t in np.linspace(0, 1, 20)[1:])
            if edits:
                ses.history.marks.append((len(ses.trainer.history) - 1, "edit"))
        ses.jobs.submit("state", "relaxing the edited network", compute, then)
        return True

    def find_loose(self) -> None:
        """Mark the nodes nothing holds (a rigidity check: in the background)."""
        ses = self.session
        net, version = ses.net, ses.version

        def then(loose):
            if ses.version == version and self.on:
                self.loose = loose
        ses.jobs.submit("state", "checking what holds the network", lambda: editor.loose_nodes(net), then)

    def names(self, nodes) -> str:
        """'node a' or 'nodes a, b, ...' (at most six named), for messages."""
        ids = [self.net.ids[i] for i in nodes]
        return "node" + ("s " if len(ids) > 1 else " ") + ", ".join(ids[:6]) + (" ..." if len(ids) > 6 else "")

    def node_id(self, i: int):
        """The id the scene file gives node i."""
        return self.net.ids[i]

    def set_role(self, role: str) -> None:
        """Give the picked node a role (fixed, input, hidden or output). Where the inputs or the
        outputs are strains of node pairs, the first node asked waits (`pending`) for the second."""
        i = self.picked
        if i is None:
            return
        if role in ("input", "output") and getattr(self.session.scene.spec.task, role) == "strain" \
                and ROLE_NAMES[self.net.roles[i]] != role:
            first = self.pending
            if first is None or first[0] != role or first[1] == i:
                self.pending = (role, i)
                self.say(f"node {self.node_id(i)}: one end of the {role} pair; pick the other end, same key")
                return
            a, b = self.node_id(first[1]), self.node_id(i)
            self.change(editor.set_pair, role, a, b,
                      then=lambda: self.say(f"nodes {a} and {b} are {'the' if role == 'input' else 'an'} {role} pair now"))
            return
        name = self.node_id(i)
        self.change(editor.set_role, name, role, then=lambda: self.say(f"node {name} is {role} now"))

    def link(self, a: int, b: int | None, p=None) -> None:
        """Add (or remove) the spring between nodes a and b; with b None, a new node at world
        point p joined to a. The far end is picked, so a chain goes on from it."""
        if b is None:
            self.change(editor.add_node, p, self.node_id(a), then=self._pick_last)  # new nodes go last
            return
        before = self.net.n_springs
        na, nb = self.node_id(a), self.node_id(b)

        def then():
            self.say(f"spring {na}-{nb} {'added' if self.net.n_springs > before else 'removed'}")
            self.picked = b
        self.change(editor.toggle_spring, na, nb, then=then)

    def pick(self, i: int | None) -> None:
        """The node edits work on (None: none)."""
        self.picked = i

    def _pick_last(self) -> None:
        self.picked = self.net.n_nodes - 1

    def scale_selected(self, factor: float) -> None:
        """Make the selected spring stiffer (factor > 1) or softer; it stays selected."""
        hands = self.session.hands
        e = hands.selected
        if e is None:
            return

        def then():
            hands.selected = e
            self.say(f"spring {e}: k = {self.net.k[e]:.4g}")
        self.change(editor.scale_stiffness, e, factor, then=then)

    def click_empty(self, p) -> None:
        """An edit click on empty space at world point p: a new node there, picked."""
        self.change(editor.add_node, p, then=self._pick_last)

    def remove_picked(self) -> None:
        """Remove the picked node, its springs and its place in the task."""
        if self.picked is not None:
            self.change(editor.remove_node, self.node_id(self.picked), then=lambda: setattr(self, "picked", None))

    def add_example(self) -> None:
        """A copy of the shown example, shown next (its markers to be dragged)."""
        ses = self.session

        def then():
            ses.example = ses.trainer.task.n_examples - 1  # new examples go last
            self.say(f"example {ses.example} added (a copy of the shown one): drag its markers")
        self.change(editor.add_example, ses.example, then=then)

    def markers(self) -> tuple[np.ndarray, np.ndarray]:
        """World positions of the shown example's targets (P', 2) and input clamps (M, 2)."""
        ses = self.session
        task = ses.trainer.task
        targets = task.target_points(self.net, ses.example, ses.x)
        clamps = self.net.pos[task.inputs] + task.clamps[ses.example]
        g = self.grip
        if g is not None and g["what"] == "target" and g["index"] < len(targets):
            targets[g["index"]] = g["at"]
        elif g is not None and g["what"] == "clamp" and g["index"] < len(clamps):
            clamps[g["index"]] = g["at"]
        return targets, clamps

    def take(self, what: str, index: int, p) -> None:
        """Start an edit drag at world point p: "link" draws a spring out of node `index`,
        "node" moves it, "target" and "clamp" move the shown example's marker of output or
        input `index`."""
        self.grip = {"what": what, "index": int(index), "at": np.asarray(p, float), "moved": False}

    def move_to(self, p) -> None:
        """The edit drag goes on at world point p."""
        if self.grip is None:
            return
        self.grip["at"] = np.asarray(p, float)
        self.grip["moved"] = True
        if self.grip["what"] == "node":
            self.session.x[self.grip["index"]] = p

    def let_go(self, onto: int | None = None) -> None:
        """End an edit drag over node `onto` (or none), committing it as one edit. A link that
        did not move is a click: it picks the node (or unpicks it)."""
        ses = self.session
        g, self.grip = self.grip, None
        if g is None:
            return
        i, at, task = g["index"], g["at"], ses.trainer.task
        if g["what"] == "link":
            if not g["moved"] or onto == i:
                self.picked = None if self.picked == i else i
            else:
                self.link(i, onto, at)
        elif g["what"] == "node" and g["moved"]:
            self.change(editor.move_node, self.node_id(i), at)
        elif g["what"] == "target" and g["moved"]:
            if task.kind == "distance":  # the pair's target distance is where its two ends are
                n_pairs = len(task.outputs)
                other = self.markers()[0][(i + n_pairs) % (2 * n_pairs)]
                a, b = task.outputs[i % n_pairs]
                d0 = np.linalg.norm(self.net.pos[b] - self.net.pos[a])
                self.change(editor.set_strain, ses.example, "targets", np.linalg.norm(at - other) / d0 - 1, i % n_pairs)
            else:
                o = int(task.outputs[i])
                self.change(editor.set_target, ses.example, self.node_id(o), at - self.net.pos[o])
        elif g["what"] == "clamp" and g["moved"]:
            m = int(task.inputs[i])
            if ses.scene.spec.task.input == "strain":  # the pair stretches along itself, both ends alike
                a, b = task.inputs
                d = self.net.pos[b] - self.net.pos[a]
                along = 2 * float((at - self.net.pos[m]) @ d) / float(d @ d)
                self.change(editor.set_strain, ses.example, "inputs", along if i == 1 else -along)
            else:
                self.change(editor.set_clamp, ses.example, self.node_id(m), at - self.net.pos[m])
        if self.on:
            ses.x = self.net.pos.copy()

