"""One undo stack for every action that changes the network or its task: an update, a cut,
an edit of the network, an example added, moved or removed. The loss plot marks each action
that is not an update.

What Z undoes: the student's last action, exactly, and the training played since it. An
update stepped (S, N) is an action of the student's; the updates of training played (Space, F)
are not, one by one: they arrive several a second, so a Z pressed while they arrive would undo
the update that just came (and the next one would come at once), never the example the student
just added. They gather into one "training" action, and Z takes it back together with the
action under it: the example added while training runs is gone, and the springs are as they
were when it was added. Training pauses, so that what Z brought back stays to be looked at. With
no action of the student's under it, Z undoes the training played.

An update or a cut is undone by putting the springs back (edges, k, L); an edit (of the
network or of the examples) by going back to the scene before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenes import editor
from ..scenes.build import Scene, build_scene
from ..scenes.messages import SceneError

UNDO_DEPTH = 50


@dataclass
class Action:
    """One undoable action. kind: "update" (stepped), "training" (the updates played in a row),
    "cut", "edit" or "example"; springs: (edges, k, L, change) before it, or scene: the scene
    before it; steps: the trainer's update count after it (an update the guard rolled back is no
    longer there to undo); updates: how many updates it holds (training: more than one)."""

    kind: str
    springs: tuple | None = None
    scene: Scene | None = None
    steps: int = 0
    updates: int = 0

    @property
    def words(self) -> str:
        """What it was, for the caption that says it was undone."""
        if self.kind in ("update", "training"):
            return f"{self.updates} update{'s' if self.updates != 1 else ''}"
        return {"cut": "the cut", "edit": "the edit", "example": "the change of the examples"}[self.kind]


class History:
    """stack: the actions, last on top (at most UNDO_DEPTH); marks: (history row, label) of the
    actions the loss plot marks (cuts, edits, examples, undos)."""

    def __init__(self, session):
        self.session = session
        self.stack: list[Action] = []
        self.marks: list[tuple[int, str]] = []

    def push(self, action: Action) -> None:
        self.stack.append(action)
        del self.stack[:-UNDO_DEPTH]

    def trained(self, before, played: bool) -> None:
        """An update was made from `before` (k, L): stepped, an action of its own; played, part
        of the training action on top (a new one if the top is not one)."""
        steps = self.session.trainer.steps
        top = self.stack[-1] if self.stack else None
        if played and top is not None and top.kind == "training":
            top.steps, top.updates = steps, top.updates + 1
            return
        self.push(Action("training" if played else "update", springs=self.springs_now(before), steps=steps, updates=1))

    def springs_now(self, before=None) -> tuple:
        s = self.session
        k, L = before if before is not None else (s.net.k, s.net.L)
        return s.net.edges.copy(), np.array(k, float), np.array(L, float), s.change.copy()

    def rolled_back(self, steps: int) -> None:
        """The guard rolled training back to `steps` updates: the updates after it are gone."""
        while self.stack and self.stack[-1].kind in ("update", "training") and self.stack[-1].steps > steps:
            top = self.stack[-1]
            if top.kind == "training" and top.steps - top.updates < steps:  # (some of it stays)
                top.updates, top.steps = top.updates - (top.steps - steps), steps
                break
            self.stack.pop()

    # ------------------------------------------------------------ commands

    def undo(self) -> bool:
        """Pause, and go back to the network (and task) before the student's last action,
        exactly, with the training played since it (see the module's docstring); the loss plot
        and the panel then show the network as it is again. False if nothing was left to undo."""
        s = self.session
        s.command()
        s.training.pause()
        if not self.stack and s.jobs.idle:
            s.say("nothing to undo")
            return False

        def apply():
            if not self.stack:
                s.say("nothing to undo")
                return
            s.training.pause()
            undone = [self.stack.pop()]
            if undone[0].kind == "training" and self.stack:  # (the action the training followed)
                undone.append(self.stack.pop())
            last = undone[-1]
            if last.scene is not None:
                s.adopt(last.scene)
            else:
                edges, k, L, change = last.springs
                s.net.edges, s.net.k, s.net.L = edges, k, L
                s.change = change if len(change) == len(k) else np.zeros(len(k))
                s.structure_changed()
            said = " and ".join(a.words + (" trained since" if a.kind == "training" and len(undone) > 1 else "")
                                for a in reversed(undone))
            s.say(f"undone: {said}; paused", banner=True)
            self.remeasure("undo")
        s.jobs.after(apply, cancel=("stage",), bound=True)  # (not applied to a scene opened meanwhile)
        return True

    def cut(self, springs) -> None:
        """Remove springs (indices) from the model, the world and the picture; undoable."""
        s = self.session
        s.command()
        springs = sorted({int(e) for e in np.atleast_1d(springs)})
        if not springs:
            return

        def apply():
            if max(springs) >= s.net.n_springs:
                return
            self.push(Action("cut", springs=self.springs_now(), steps=s.trainer.steps))
            s.net.remove_springs(springs)
            s.change = np.zeros(s.net.n_springs)
            s.say(f"cut {len(springs)} spring{'s' if len(springs) > 1 else ''}: Z undoes", banner=True)
            s.structure_changed()
            self.remeasure(f"cut {len(springs)}")
        s.jobs.after(apply, cancel=("stage",), bound=True)

    def cut_selected(self) -> None:
        if self.session.hands.selected is not None:
            self.cut([self.session.hands.selected])

    def damage(self, fraction: float = 0.1, seed: int | None = None) -> None:
        """Cut a random fraction of the springs."""
        net = self.session.net
        if not net.n_springs:
            self.session.say("no springs left to cut")
            return
        rng = np.random.default_rng(seed)
        n = max(1, int(round(fraction * net.n_springs)))
        self.cut(rng.choice(net.n_springs, size=n, replace=False))

    def edit(self, change, *args, then=None, mark: str = "edit") -> None:
        """Apply change(document, *args) (a function of sandbox.scenes.editor) to the scene,
        after the edits before it. The new document is built (in the background) as a file would
        be; if it does not build, nothing changes and the message says why; else then() runs.
        Undoable. Outside edit mode (an example edited in the response panel) the network is
        evaluated on the new task at once: a point on the loss plot marked `mark`, and the
        divergence guard's new baseline."""
        s = self.session

        def compute():
            doc = editor.document(s.scene)
            try:
                change(doc, *args)
                scene = build_scene(doc, s.source, lenient=True)
            except editor.EditError as exc:
                return None, f"cannot: {exc}", []
            except SceneError as exc:
                return None, f"cannot: {exc.problems[0]}", []
            return scene, "", editor.loose_nodes(scene.net)

        def done(result):
            scene, why, loose = result
            if scene is None:
                s.say(why)
                return
            self.push(Action("edit" if s.editing else "example", scene=s.scene, steps=s.trainer.steps))
            s.adopt(scene, loose)
            s.edit.edits += 1
            s.say("")
            if not s.editing:
                self.remeasure(mark)
            if then is not None:
                then()
        s.jobs.submit("edit", "building the edited network", compute, done, bound=True)

    def remeasure(self, label: str) -> None:
        """Evaluate the network as it is now: a point on the loss plot, marked `label`, and the
        divergence guard's new baseline (the network or the task changed from outside training)."""
        s = self.session
        trainer, version = s.trainer, s.version

        def then(_row):
            if s.version != version:
                return
            row = len(trainer.history) - 1
            last = self.marks[-1] if self.marks else None
            if label == "undo" and last is not None and last[1].startswith("undo") and last[0] == row - 1:
                n = int(last[1].split("x")[-1]) if "x" in last[1] else 1  # (undos in a row: one mark)
                self.marks[-1] = (row, f"undo x{n + 1}")
                return
            self.marks.append((row, label))
        s.jobs.submit("state", "evaluating", trainer.new_baseline, then)
