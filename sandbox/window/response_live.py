"""The response view's model, with no pygame: the network's answer over its inputs, kept up to
date off the window's thread, and the examples, added, moved and removed through the scene
document (so Z undoes them and W saves them).

How often: a new response is computed when the network changed (an update, a cut, an edit) and
the last one is done, at most every max(MIN_INTERVAL, 3 x the last computation's time), so it
takes at most a third of a core: on XOR (21 x 21 relaxations, about 0.4 s) about one map a
second while training; on Regression (41 relaxations, about 0.1 s) about three curves a second.
"""

from __future__ import annotations

import time
from concurrent.futures import Future

import numpy as np

from ..drawing.names import input_names, output_names
from ..drawing.response_picture import y_range_of
from ..learning.response import Probe, Response, example_numbers, free_response, probe_of_scene
from ..physics.equilibrium import FloppyNetworkError
from ..scenes import editor
from .background import in_background

MIN_INTERVAL = 0.25  # seconds between two computations, at least


class LiveResponse:
    """probe: how the shown scene's numbers map to its network (None: not one or two inputs);
    response: the last computed Response (None before the first); inputs (S, D), targets
    (S, P') or None, labels (S,) or None, test (S,) bool: the examples, as numbers; y_range:
    the output axis of a curve, fixed per scene at its first response (it only grows, for an
    example added beyond it), None until then."""

    def __init__(self, session):
        self.session = session
        self.response: Response | None = None
        self.probe: Probe | None = None
        self._job: Future | None = None
        self._job_key = None
        self._shown_key = None
        self._last_start = -1e9
        self._last_cost = 0.0
        self._scene = None
        self._generation = None
        self.y_range = None
        self.refresh_examples()

    # ------------------------------------------------------------ keeping up

    def _key(self):
        s = self.session
        return (id(s.scene), s.version, s.trainer.steps, s.generation)

    def refresh_examples(self) -> None:
        """Read the examples (and the range) from the session's scene as it is now."""
        s = self.session
        self._scene = s.scene
        if s.generation != self._generation:  # another scene: its own axes
            self._generation, self.y_range, self.response = s.generation, None, None
        self.probe = probe_of_scene(s.scene)
        ex = example_numbers(s.trainer.task, s.net, s.scene.spec.task.input, s.scene.spec.task.output)
        self.inputs, self.targets, self.labels, self.test = ex.inputs, ex.targets, ex.labels, ex.test
        if self.y_range is not None and self.targets is not None:  # an example beyond the axis widens it
            lo, hi = y_range_of(self, with_response=False)
            self.y_range = (min(lo, self.y_range[0]), max(hi, self.y_range[1]))

    def tick(self, now: float | None = None) -> None:
        """Collect a finished computation; start the next one if the network changed."""
        now = time.perf_counter() if now is None else now
        if self.session.scene is not self._scene or self.session.generation != self._generation:
            self.refresh_examples()
        if self._job is not None and self._job.done():
            job, self._job = self._job, None
            try:
                response = job.result()
                if self._job_key[3] == self._generation:  # (not of a scene since replaced)
                    self.response = response
                    if self.y_range is None and response.values.ndim == 2:
                        self.y_range = y_range_of(self)
                self._shown_key = self._job_key
            except FloppyNetworkError:
                self._shown_key = self._job_key  # nothing to show until the network changes
        if self.probe is None or self._job is not None or self.session.editing:
            return
        key = self._key()
        if key != self._shown_key and now - self._last_start >= max(MIN_INTERVAL, 3 * self._last_cost):
            self._start(key, now)

    def _start(self, key, now) -> None:
        s = self.session
        net, task, probe = s.net.copy(), s.trainer.task, self.probe
        self._job_key, self._last_start = key, now

        def compute():
            t0 = time.perf_counter()
            r = free_response(net, task, probe)
            self._last_cost = time.perf_counter() - t0
            return r

        self._job = in_background(compute)

    def wait(self, timeout: float = 30.0) -> Response | None:
        """Block until the computation under way is done and collected (for tests and headless
        use; the window never calls it)."""
        if self._job is not None:
            self._job.exception(timeout)
            self.tick()
        return self.response

    @property
    def current(self) -> bool:
        """The response shown is of the network as it is now."""
        return self.response is not None and self._shown_key == self._key()

    # ------------------------------------------------------------ examples

    def numbers_of(self, s: int) -> tuple[np.ndarray, np.ndarray | None, int | None]:
        """Example s's input numbers (D,), target numbers (P',) or None, label or None."""
        return (self.inputs[s].copy(), None if self.targets is None else self.targets[s].copy(),
                None if self.labels is None else int(self.labels[s]))

    def _inputs_at(self, shown, base=None) -> np.ndarray:
        """Input numbers (D,) with the shown ones (n,) replaced, the rest from base (or the probe's)."""
        v = np.array(self.probe.base if base is None else base, float)
        v[list(self.probe.dims)] = shown
        return v

    def _targets_at(self, shown, value: float | None) -> np.ndarray | None:
        """Target numbers for a new example at input `shown`: on a curve, the first output at
        `value` and the others where the network puts them now; on a map, the nearest
        example's targets."""
        if self.targets is None:
            return None
        near = int(np.argmin(np.linalg.norm(self.inputs[:, list(self.probe.dims)] - shown, axis=1)))
        t = self.targets[near].copy()
        r = self.response
        if self.probe.n_dims == 1 and r is not None and r.values.ndim == 2 and r.values.shape[1] == len(t):
            for j in range(1, len(t)):
                t[j] = np.interp(shown[0], r.axes[0], r.values[:, j])
        if value is not None:
            t[0] = value
        return t

    def add(self, shown, value: float | None = None, label: int | None = None) -> None:
        """A new example at shown input numbers (n,): with target `value` (on a curve) or class
        `label` (a classifier). Goes through the session's edit (built in the background,
        undoable); the message says when it is done, or why it was refused."""
        shown = np.atleast_1d(np.asarray(shown, float))
        self._edit(lambda: f"example {self.session.trainer.task.n_examples - 1} added", "new example",
                   editor.add_example_at, self._inputs_at(shown), self._targets_at(shown, value), label)

    def move(self, s: int, shown, value: float | None = None) -> None:
        """Move example s to shown input numbers (n,) (and, on a curve, target `value`)."""
        inputs, targets, label = self.numbers_of(s)
        if targets is not None and value is not None:
            targets[0] = value
        self._edit(lambda: f"example {s} moved", "example moved", editor.set_example, s,
                   self._inputs_at(np.atleast_1d(shown), inputs), targets, label)

    def remove(self, s: int) -> None:
        self._edit(lambda: f"example {s} removed", "example removed", editor.remove_example, s)

    def _edit(self, said, mark: str, change, *args) -> None:
        def then():
            self.session.say(f"{said()}: Z undoes")
            self.refresh_examples()
        self.session.history.edit(change, *args, then=then, mark=mark)

    # ------------------------------------------------------------ names for the axes

    @property
    def margin(self) -> float:
        return self.session.trainer.task.margin

    @property
    def accuracy(self) -> float:
        """The training accuracy of the network now (nan if not a classifier)."""
        hist = self.session.trainer.history
        return hist[-1]["accuracy"] if hist else float("nan")

    def input_names(self) -> list[str]:
        return input_names(self.session.scene, self.session.trainer.task, self.probe)

    def output_names(self) -> list[str]:
        return output_names(self.session.scene, self.session.trainer.task, self.probe)
