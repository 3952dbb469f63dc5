"""Work off the window's thread: anything that can take longer than a frame (opening a scene, a
stage of training, settling, evaluating, writing a file) runs as a Job in a worker thread while
the window keeps drawing and answering keys.

A job is cancelled by setting its token; the work notices at its next `checkpoint()` (every
relaxation, every check of a settling world) and stops by raising Cancelled, so a cancelled
job never goes on changing a network the window has moved on from.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

_local = threading.local()


class Cancelled(Exception):
    """The job this thread runs was cancelled (raised at a checkpoint)."""


def checkpoint() -> None:
    """In a job's thread: raise Cancelled if the job was cancelled. Elsewhere: nothing."""
    token = getattr(_local, "token", None)
    if token is not None and token.is_set():
        raise Cancelled()


def in_background(compute, token: threading.Event | None = None) -> Future:
    """Run compute() in a daemon thread (quitting never waits for it); its Future. With a
    token, checkpoint() in that thread raises Cancelled once the token is set."""
    job = Future()

    def run():
        _local.token = token
        try:
            job.set_result(compute())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever collects the job
            job.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return job


class Job:
    """One piece of work in the background: `label` says what it is doing (the progress
    caption), `then(result)` is called on the window's thread when it is done and was not
    cancelled. `touches_network`: it may change the shown network (a stage, an undo)."""

    def __init__(self, label: str, compute, then=None, touches_network: bool = True):
        self.label = label
        self.then = then
        self.touches_network = touches_network
        self.token = threading.Event()
        self.started = time.perf_counter()
        self.future = in_background(compute, self.token)

    def cancel(self) -> None:
        self.token.set()

    @property
    def cancelled(self) -> bool:
        return self.token.is_set()

    def done(self) -> bool:
        return self.future.done()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started
