"""The window's edit mode: the network as drawn, changed by the mouse and a few keys.

A mixin of Session (it works on the session's scene, network, trainer and undo stack). Every
change goes through `edit`, which applies a function of sandbox.editor to the scene's document
and builds the result as a file would be built.
"""

from __future__ import annotations

import numpy as np

from ..physics.equilibrium import FloppyNetworkError
from ..physics.network import ROLE_NAMES
from ..scenes import editor
from ..scenes.build import build_scene
from ..scenes.messages import SceneError
from ..window.background import exclusive

EDITING = "editing: click adds a node, drag from a node draws a spring; Tab ends"


class EditMode:
    """editing: whether edit mode is on; picked: the node an edit works on (new springs start
    from it); grip: what an edit drag holds (a node, a target or a clamp); loose: nodes nothing
    holds yet (marked, and training waits for them); edits: edits made since editing began;
    pending: (role, node) waiting for the second node of a strain pair."""

    @exclusive
    def start_editing(self) -> None:
        """Edit mode: the network is shown as drawn (its reference positions), with the shown
        example's clamps and targets as markers; training waits until editing ends."""
        self.paused, self.editing, self.edits = True, True, 0
        self.frames.clear()
        self.world, self.dragging, self.ghost, self.stage = None, None, None, None
        self._stages = None
        self.x = self.net.pos.copy()
        self.loose = editor.loose_nodes(self.net)
        self.message = ""

    @exclusive
    def stop_editing(self) -> bool:
        """Back to training, if every node is held in place; else say which are not (False)."""
        if not self.editing:
            return True
        self.loose = editor.loose_nodes(self.net)
        if self.loose:
            self.message = f"cannot leave editing: {self.names(self.loose)} can move freely; add springs or hold them"
            return False
        self.editing, self.picked, self.grip = False, None, None
        self.message = ""
        try:
            x = self.trainer.free_state(self.example).x
        except FloppyNetworkError:
            self.editing = True
            self.message = "cannot leave editing: the network is floppy (a part moves freely); add springs"
            return False
        self.frames.extend(self.x + (x - self.x) * t for t in np.linspace(0, 1, 20)[1:])
        if self.edits:  # the loss of the edited scene, marked on the plot
            self.trainer.record()
            self.events.append((len(self.trainer.history) - 1, "edit"))
        return True

    def names(self, nodes) -> str:
        """'node a' or 'nodes a, b, ...' (at most six named), for messages."""
        ids = [self.net.ids[i] for i in nodes]
        return "node" + ("s " if len(ids) > 1 else " ") + ", ".join(ids[:6]) + (" ..." if len(ids) > 6 else "")

    @exclusive
    def edit(self, change, *args) -> bool:
        """Apply change(document, *args) (a function of sandbox.editor) to the scene. The new
        document is built as a file would be; if it does not build, nothing changes and the
        message says why (False). Undoable."""
        doc = editor.document(self.scene)
        try:
            change(doc, *args)
            scene = build_scene(doc, self.source, lenient=True)
        except editor.EditError as exc:
            self.message = f"cannot: {exc}"
            return False
        except SceneError as exc:
            self.message = f"cannot: {exc.problems[0]}"
            return False
        self._push_undo(scene=self.scene)
        self._adopt(scene)
        self.edits += 1
        self.message = ""
        return True

    def node_id(self, i: int):
        """The id the scene file gives node i."""
        return self.net.ids[i]

    def set_role(self, role: str) -> None:
        """Give the picked node a role (fixed, input, hidden or output). Where the inputs or the
        outputs are strains of node pairs, the first node asked waits (`pending`) for the second."""
        i = self.picked
        if i is None:
            return
        if role in ("input", "output") and getattr(self.scene.spec.task, role) == "strain" \
                and ROLE_NAMES[self.net.roles[i]] != role:
            first = self.pending
            if first is None or first[0] != role or first[1] == i:
                self.pending = (role, i)
                self.message = f"node {self.node_id(i)}: one end of the {role} pair; pick the other end, same key"
                return
            if self.edit(editor.set_pair, role, self.node_id(first[1]), self.node_id(i)):
                self.message = f"nodes {self.node_id(first[1])} and {self.node_id(i)} are {'the' if role == 'input' else 'an'} {role} pair now"
            return
        if self.edit(editor.set_role, self.node_id(i), role):
            self.message = f"node {self.node_id(i)} is {role} now"

    def link(self, a: int, b: int | None, p=None) -> None:
        """Add (or remove) the spring between nodes a and b; with b None, a new node at world
        point p joined to a. The far end is picked, so a chain goes on from it."""
        if b is None:
            if self.edit(editor.add_node, p, self.node_id(a)):
                self.picked = self.net.n_nodes - 1  # new nodes go last
            return
        before = self.net.n_springs
        if self.edit(editor.toggle_spring, self.node_id(a), self.node_id(b)):
            added = self.net.n_springs > before
            self.message = f"spring {self.node_id(a)}-{self.node_id(b)} {'added' if added else 'removed'}"
            self.picked = b

    def scale_selected(self, factor: float) -> None:
        """Make the selected spring stiffer (factor > 1) or softer; it stays selected."""
        e = self.selected
        if e is not None and self.edit(editor.scale_stiffness, e, factor):
            self.selected = e
            self.message = f"spring {e}: k = {self.net.k[e]:.4g}"

    def click_empty(self, p) -> None:
        """An edit click on empty space at world point p: a new node there, picked."""
        if self.edit(editor.add_node, p):
            self.picked = self.net.n_nodes - 1

    def remove_picked(self) -> None:
        """Remove the picked node, its springs and its place in the task."""
        if self.picked is not None and self.edit(editor.remove_node, self.node_id(self.picked)):
            self.picked = None

    def add_example(self) -> None:
        """A copy of the shown example, shown next (its markers to be dragged)."""
        if self.edit(editor.add_example, self.example):
            self.example = self.trainer.task.n_examples - 1  # new examples go last
            self.message = f"example {self.example} added (a copy of the shown one): drag its markers"

    def markers(self) -> tuple[np.ndarray, np.ndarray]:
        """World positions of the shown example's targets (P', 2) and input clamps (M, 2)."""
        task = self.trainer.task
        targets = task.target_points(self.net, self.example, self.x)
        clamps = self.net.pos[task.inputs] + task.clamps[self.example]
        g = self.grip
        if g is not None and g["what"] == "target":
            targets[g["index"]] = g["at"]
        elif g is not None and g["what"] == "clamp":
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
            self.x[self.grip["index"]] = p

    def let_go(self, onto: int | None = None) -> None:
        """End an edit drag over node `onto` (or none), committing it as one edit. A link that
        did not move is a click: it picks the node (or unpicks it)."""
        g, self.grip = self.grip, None
        if g is None:
            return
        i, at, task = g["index"], g["at"], self.trainer.task
        if g["what"] == "link":
            if not g["moved"] or onto == i:
                self.picked = None if self.picked == i else i
            else:
                self.link(i, onto, at)
        elif g["what"] == "node" and g["moved"]:
            self.edit(editor.move_node, self.node_id(i), at)
        elif g["what"] == "target" and g["moved"]:
            if task.kind == "distance":  # the pair's target distance is where its two ends are
                n_pairs = len(task.outputs)
                other = self.markers()[0][(i + n_pairs) % (2 * n_pairs)]
                a, b = task.outputs[i % n_pairs]
                d0 = np.linalg.norm(self.net.pos[b] - self.net.pos[a])
                self.edit(editor.set_strain, self.example, "targets", np.linalg.norm(at - other) / d0 - 1, i % n_pairs)
            else:
                o = int(task.outputs[i])
                self.edit(editor.set_target, self.example, self.node_id(o), at - self.net.pos[o])
        elif g["what"] == "clamp" and g["moved"]:
            m = int(task.inputs[i])
            if self.scene.spec.task.input == "strain":  # the pair stretches along itself, both ends alike
                a, b = task.inputs
                d = self.net.pos[b] - self.net.pos[a]
                along = 2 * float((at - self.net.pos[m]) @ d) / float(d @ d)
                self.edit(editor.set_strain, self.example, "inputs", along if i == 1 else -along)
            else:
                self.edit(editor.set_clamp, self.example, self.node_id(m), at - self.net.pos[m])
        if self.editing:
            self.x = self.net.pos.copy()

