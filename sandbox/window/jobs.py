"""A session's work in the background, one job at a time: what starts it, what waits behind
it, what cancels it, and what happens on the window's thread when it is done.

A job that changes what is shown (a stage, opening a scene, an edit) runs alone; actions that
must follow it wait in a queue and run, in order, on the window's thread as soon as it ends. A
read-only side job (inspecting a spring, EP against the exact gradient) runs beside it.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import wait

from .background import Cancelled, Job

CANCELLABLE = ("stage", "open", "state", "check", "grab", "edit")


class Jobs:
    """job: the job running now (None when idle); side: the read-only job beside it; last: the
    job whose result is being shown (its `seconds` say how long it took).

    on_error(exc) is called on the window's thread for whatever a job raised (but Cancelled);
    generation() counts the scenes opened: a `bound` action waits for its own scene only."""

    def __init__(self, on_error, generation):
        self.on_error = on_error
        self.generation = generation
        self.job: Job | None = None
        self.side: Job | None = None
        self.last: Job | None = None
        self.succeeded = 0  # jobs that ended well (a failure after none since the last is a loop)
        self._queue: deque = deque()  # (generation or None, action) waiting for the job to end

    @property
    def busy(self) -> bool:
        """Something is being computed in the background."""
        return self.job is not None

    @property
    def idle(self) -> bool:
        """No job runs and none waits."""
        return self.job is None and not self._queue

    def kind(self) -> str | None:
        return self.job.kind if self.job is not None else None

    def submit(self, kind: str, label: str, compute, then=None, bound: bool = False) -> None:
        """Run compute() in the background once no other job runs; then(result) on this thread."""
        def start():
            self.job = Job(label, compute, then, kind)
        self.after(start, bound=bound)

    def after(self, action, cancel: tuple = (), bound: bool = False) -> None:
        """Run action() on this thread as soon as no job runs (now, if none does). A running job
        of a kind in `cancel` is cancelled first (what it computes has become moot). A `bound`
        action is about the scene shown now (a spring, a node): dropped if another opens first."""
        if self.idle:
            action()
            return
        if self.job is not None and self.job.kind in cancel:
            self.job.cancel()
        self._queue.append((self.generation() if bound else None, action))

    def cancel(self, kinds=CANCELLABLE) -> bool:
        """Cancel the running job if of one of these kinds, and what waits behind it. True if
        something was cancelled."""
        hit = False
        if self.job is not None and self.job.kind in kinds and not self.job.cancelled:
            self.job.cancel()
            hit = True
        if self._queue:
            self._queue.clear()
            hit = True
        return hit

    def give_time(self, seconds: float) -> None:
        """Wait up to `seconds` for the running job (the worker gets the interpreter meanwhile)."""
        if self.job is not None and not self.job.done():
            wait([self.job.future], timeout=seconds)

    def poll(self) -> None:
        """Collect a finished job, then start what waits for it; collect a finished side job."""
        while True:
            if self.job is not None:
                if not self.job.done():
                    break
                job, self.job = self.job, None
                self._collect(job, shown_if_cancelled=job.kind == "stage")
                continue  # (what it did may have started another job: the queue waits for that too)
            if not self._queue:
                break
            generation, action = self._queue.popleft()
            if generation in (None, self.generation()):  # (not about a scene since replaced)
                action()
        if self.side is not None and self.side.done():
            side, self.side = self.side, None
            self._collect(side)

    def _collect(self, job: Job, shown_if_cancelled: bool = False) -> None:
        try:
            result = job.future.result()
        except Cancelled:
            return
        except Exception as exc:  # noqa: BLE001 - nothing unexpected may leave a frame
            self.on_error(exc)
            return
        if job.cancelled and not shown_if_cancelled:
            return  # moot (a cancelled stage that finished anyway is still shown: it changed k)
        self.succeeded += 1
        if job.then is not None:
            self.last = job
            job.then(result)

    def beside(self, compute, then, key=None) -> None:
        """A read-only job beside the running one (the one before it is cancelled)."""
        if self.side is not None:
            self.side.cancel()
        self.side = Job("inspecting", compute, then, "side")
        self.side.key = key

    def wait(self, timeout: float = 600.0) -> None:
        """Block until no job runs or waits (for scripts and tests; the window never calls it)."""
        end = time.perf_counter() + timeout
        while not self.idle:
            if self.job is not None:
                wait([self.job.future], timeout=max(0.0, end - time.perf_counter()))
                if not self.job.done():
                    raise TimeoutError(f"{self.job.label} still running after {timeout} s")
            self.poll()
        if self.side is not None:
            wait([self.side.future], timeout=max(0.0, end - time.perf_counter()))
            self.poll()
