"""Work off the window's thread: a stage of training computed while the window keeps drawing."""

from __future__ import annotations

import functools
import threading
from concurrent.futures import Future


def in_background(compute) -> Future:
    """Run compute() in a daemon thread (quitting never waits for it); its Future."""
    job = Future()

    def run():
        try:
            job.set_result(compute())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever collects the job
            job.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return job


def exclusive(method):
    """For methods of an object with a `_finish_job()`: let the job computing in the background
    finish first, so the method works on a network that nothing else is changing."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        self._finish_job()
        return method(self, *args, **kwargs)

    return run
