"""Work off the window's thread: anything that can take longer than a frame (opening a scene, a
stage of training, settling, evaluating, writing a file) runs as a Job in a worker thread while
the window keeps drawing and answering keys.

A job is cancelled by setting its token; the work notices at its next `checkpoint()` (every
relaxation, every check of a settling world) and stops by raising Cancelled, so a cancelled
job never goes on changing a network the window has moved on from.
"""

from __future__ import annotations

import queue
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


_work: queue.SimpleQueue = queue.SimpleQueue()
_idle = threading.Semaphore(0)  # counts workers waiting for work
_workers: list = []


def _worker() -> None:
    while True:
        _idle.release()
        job, compute, token = _work.get()
        _local.token = token
        try:
            job.set_result(compute())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever collects the job
            job.set_exception(exc)
        finally:
            _local.token = None


def in_background(compute, token: threading.Event | None = None) -> Future:
    """Run compute() in a worker thread (daemon: quitting never waits for it); its Future. With
    a token, checkpoint() in that thread raises Cancelled once the token is set. Workers are
    kept and reused: handing work over never waits for a thread to start (under load, starting
    one can take the main thread tens of milliseconds)."""
    job = Future()
    if not _idle.acquire(blocking=False):  # every worker is busy: one more
        thread = threading.Thread(target=_worker, daemon=True, name=f"sandbox-worker-{len(_workers)}")
        _workers.append(thread)
        thread.start()
        _idle.acquire()
    _work.put((job, compute, token))
    return job


class Job:
    """One piece of work in the background: `label` says what it is doing (the progress
    caption), `kind` what sort of work it is (a stage, opening a scene...), `then(result)` is
    called on the window's thread when it is done and was not cancelled."""

    def __init__(self, label: str, compute, then=None, kind: str = ""):
        self.label = label
        self.then = then
        self.kind = kind
        self.key = None  # what a side job computes for (it is not started twice)
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
