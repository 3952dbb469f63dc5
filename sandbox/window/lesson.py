"""A lesson's progress, with no pygame: the step shown now, Back and Next, and the events that
move it on by themselves.

A scene's optional `lesson:` section lists steps, each a short text and optionally what it
waits for (sandbox.scenes.schema.Wait): a training stage reached, a number of epochs trained
since the step began, a key pressed, a node dragged, the temperature or beta raised to a value.
When the shown step's wait is met the lesson moves to the next step; Next moves on at any time,
Back goes back.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scenes.schema import Lesson


@dataclass
class Event:
    """Something that happened in the window. kind: "stage" (value: free, nudged, update),
    "epochs" (value: epochs trained so far), "key" (value: the key's name), "drag" (value: the
    dragged node's id), "temperature" or "beta" (value: the setting now)."""

    kind: str
    value: object


class LessonProgress:
    """index: the step shown now (0-based); met: the steps whose wait was met (or that had
    none and were passed)."""

    def __init__(self, lesson: Lesson, epochs_done: int = 0, names: dict | None = None):
        self.lesson = lesson
        self.names = names or {}  # node id -> the name a student reads
        self.index = 0
        self.met: set[int] = set()
        self._epochs_at_start = epochs_done  # when the shown step began
        self._epochs_now = epochs_done

    @property
    def steps(self):
        return self.lesson.steps

    @property
    def step(self):
        return self.steps[self.index]

    @property
    def is_last(self) -> bool:
        return self.index == len(self.steps) - 1

    @property
    def waiting(self) -> bool:
        """The shown step waits for something that has not happened yet."""
        return self.step.wait is not None and self.index not in self.met

    def what_it_waits_for(self) -> str:
        """The shown step's condition in words ('' if none), for the card."""
        w = self.step.wait
        if w is None or self.index in self.met:
            return ""
        if w.stage is not None:
            return f"waiting for the {w.stage} stage"
        if w.epochs is not None:
            left = max(0, w.epochs - (self._epochs_now - self._epochs_at_start))
            return f"waiting for {left} more epoch{'s' if left != 1 else ''}"
        if w.key is not None:
            return f"waiting for the key {w.key.upper() if len(w.key) == 1 else w.key.capitalize()}"
        if w.temperature is not None:
            return f"waiting for the temperature kT = {w.temperature:g}"
        if w.beta is not None:
            return f"waiting for beta = {w.beta:g}"
        return "waiting for you to drag " + ("a node" if str(w.drag) == "any" else self.names.get(str(w.drag)) or f"node {w.drag}")

    def asked_for(self, key: str) -> bool:
        """Whether the step just met (the one before the shown one) waited for this key."""
        w = self.steps[self.index - 1].wait if self.index > 0 else None
        return w is not None and w.key == key and self.index - 1 in self.met

    def go(self, index: int) -> None:
        """Show step `index` (clipped to the lesson); its epoch count starts now."""
        self.index = max(0, min(len(self.steps) - 1, index))
        self._epochs_at_start = self._epochs_now

    def next(self) -> None:
        self.met.add(self.index)
        self.go(self.index + 1)

    def back(self) -> None:
        self.go(self.index - 1)

    def notify(self, event: Event) -> bool:
        """Tell the lesson what happened; True if it met the shown step's wait (and moved on)."""
        if event.kind == "epochs":
            if event.value < self._epochs_at_start:  # training was reset: count from here
                self._epochs_at_start = int(event.value)
            self._epochs_now = int(event.value)
        w = self.step.wait
        if w is None or self.index in self.met:
            return False
        hit = ((event.kind == "stage" and w.stage == event.value)
               or (event.kind == "epochs" and w.epochs is not None
                   and self._epochs_now - self._epochs_at_start >= w.epochs)
               or (event.kind == "key" and w.key == str(event.value).lower())
               or (event.kind == "drag" and w.drag is not None and str(w.drag) in ("any", str(event.value)))
               or (event.kind in ("temperature", "beta") and getattr(w, event.kind) is not None
                   and float(event.value) >= getattr(w, event.kind) * (1 - 1e-9)))
        if hit:
            self.next()
        return hit
