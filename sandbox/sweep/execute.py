"""Running a sweep on Dask: a client (an embedded LocalCluster, or an existing scheduler: the
same path after that), one task per run not yet done, rows recorded as runs finish.

Dask does the scheduling, the retries (a run that raises is tried `retries` more times) and the
recovery from lost workers (their runs are rescheduled elsewhere); this module only writes.
"""

from __future__ import annotations

import logging
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..files import write_atomic
from .results import Results
from .spec import Sweep
from .work import run_one


class SchedulerUnreachable(Exception):
    """The --scheduler address is malformed or nothing answers there."""


@contextmanager
def open_client(scheduler: str | None = None, workers: int | None = None):
    """A dask.distributed Client: on the scheduler at `scheduler` (tcp://host:port), or on a
    LocalCluster of `workers` single-threaded processes (default: one per core) on loopback."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, ValueError) as exc:  # timeouts are OSErrors; a malformed address a ValueError
            raise SchedulerUnreachable(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


@dataclass
class Outcome:
    total: int
    skipped: int  # already done before this invocation
    done: int
    failed: int
    interrupted: bool = False
    set_aside: list = field(default_factory=list)  # rows of results.csv that did not hold up: their runs are redone


def run_sweep(sweep: Sweep, out: Path, client, retries: int = 2, progress: bool = True) -> Outcome:
    """Run every run of `sweep` that `out/results.csv` does not have as done; returns the counts.
    Rows of results.csv that do not hold up are set aside first (results.rejected.csv) and their
    runs done again. Ctrl+C cancels what is left and returns (interrupted=True) with every
    finished row kept. A results file that cannot be written raises OSError."""
    from distributed import as_completed
    from tqdm import tqdm

    out = Path(out)
    results = Results(out)
    set_aside = results.set_aside()
    write_atomic(out / "sweep.yaml", sweep.path.read_bytes())
    finished = results.done()
    todo = [run for run in sweep.runs if run.id not in finished]
    outcome = Outcome(len(sweep.runs), len(sweep.runs) - len(todo), 0, 0, set_aside=set_aside)
    bar = tqdm(total=outcome.total, initial=outcome.skipped, unit="run", desc="sweep", disable=not progress)
    futures = {}
    for run in todo:
        source = sweep.scenes[run.scene]
        key = f"{run.id}-{uuid.uuid4().hex[:8]}"  # the dashboard names the run; fresh for each invocation
        futures[client.submit(run_one, source.raw, str(source.path), dict(run.overrides), sweep.spec.run,
                              key=key, retries=retries, pure=False)] = run
    try:
        for future in as_completed(futures):
            run = futures.pop(future)
            if future.status == "finished":
                got = future.result()
                history = results.write_history(run, got["history"])
                results.record(run, status="done", history=history, error="", **got["row"])
                outcome.done += 1
            else:
                results.record(run, status="failed", error=_message(future))
                outcome.failed += 1
            future.release()
            bar.update(1)
            if outcome.failed:
                bar.set_postfix_str(f"{outcome.failed} failed")
    except KeyboardInterrupt:
        client.cancel(list(futures))
        outcome.interrupted = True
    finally:
        bar.close()
    return outcome


def _message(future) -> str:
    """Why a run failed, on one line."""
    try:
        exc = future.exception()
    except Exception as cancelled:  # noqa: BLE001 - a cancelled future raises instead of returning
        exc = cancelled
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:500]
