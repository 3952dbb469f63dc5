"""Files written so that nothing is lost: atomic replacement, a set of files replaced together,
and a lock so that two processes never write one folder."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from pathlib import Path

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def write_atomic(path, text: str | bytes) -> None:
    """Write a file so that a crash leaves either the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def save_figure(fig, path) -> None:
    """A matplotlib figure as a PNG at path, encoded in memory and written atomically; the
    figure is closed."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_atomic(Path(path), buf.getvalue())


def write_together(folder, files: dict) -> None:
    """Replace several files of one folder as one set: each is written in full (and synced) under
    a temporary name first, then all are renamed in one go, SIGINT, SIGTERM and SIGHUP held back
    (held_signals), and the folder synced. A failure while writing (a full disk) leaves the previous set
    and no temporary file. files: {name: text or bytes}, renamed in that order."""
    folder = Path(folder)
    temps = {}
    with held_signals():
        try:
            for name, data in files.items():
                temps[name] = _temporary(folder / name, data)
            for name, tmp in temps.items():
                os.replace(tmp, folder / name)
        except BaseException:
            for tmp in temps.values():
                _remove(tmp)
            raise
        sync_folder(folder)


def probe_writable(folder, size: int = 1024) -> None:
    """Write (and sync) size bytes into a temporary file in folder, then remove it: OSError
    (read-only, full, not a folder) if the folder cannot take them."""
    _remove(_temporary(Path(folder) / "probe", b"\0" * size))


def _temporary(path: Path, data: str | bytes) -> str:
    """data written and synced into a new temporary file beside path; returns its name."""
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; a saved scene is an ordinary file
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        _remove(tmp)
        raise
    return tmp


def _remove(path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def sync_folder(folder) -> None:
    """Make the folder's entries (renames, removals) durable, where the system allows it."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def held_signals():
    """SIGINT, SIGTERM and SIGHUP held back while the block runs, so that what it writes is never
    cut in the middle, then acted on as they would have been (a KeyboardInterrupt, the end of the
    process). Python runs signal handlers in the main thread only, so elsewhere nothing is to be
    held. (Masking the signals, pthread_sigmask, is not enough: the system hands a signal to any
    thread that does not mask it, a progress bar's for one.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught, old = [], {}
    for s in STOP_SIGNALS:
        old[s] = signal.signal(s, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if caught:
            handler = old[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(caught[0])


class FolderBusy(Exception):
    """Another process holds the folder's lock."""


class FolderLock:
    """An exclusive lock on a folder, held by this process until release() (or its end: the
    system releases it even after kill -9), kept in `.lock` inside the folder with the holder's
    process id."""

    NAME = ".lock"

    def __init__(self, folder):
        self.path = Path(folder) / self.NAME
        self.fd = None

    def acquire(self) -> FolderLock:
        """Take the lock; raises FolderBusy naming the holder if another process has it."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                _lock(fd)
            except OSError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip()
                os.close(fd)
                raise FolderBusy(f"process {holder}" if holder.isdigit() else "another process") from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:  # not a lock file its last holder removed while we waited
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            _remove(self.path)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _lock(fd: int) -> None:
    """An exclusive, non-blocking lock on the open file fd; OSError if another process has one."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
