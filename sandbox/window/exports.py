"""What the window writes: a screenshot, a GIF of the window, the network as a new scene.
Each is written atomically in the background; the caption says when it is done, and where."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pygame

from ..drawing.film import Film
from ..files import write_atomic
from ..scenes.messages import SceneError
from ..scenes.save import save_scene
from .background import Job

RECORD_MS = 100  # a GIF frame every 100 ms of the recording
RECORD_MAX_S = 60


def shown_path(path: Path) -> str:
    """A path as a message names it: relative to the folder the window runs in, if inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):  # (elsewhere, or no working folder any more)
        return str(path)


def fresh_path(folder: Path, stem: str, suffix: str) -> Path:
    """folder/stem-<date-time>suffix, numbered on if that file exists (nothing is overwritten)."""
    base = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = folder / f"{base}{suffix}", 2
    while path.exists():
        path, n = folder / f"{base}-{n}{suffix}", n + 1
    return path


class Exports:
    """film: the GIF being recorded (None when not recording); writes: files being written."""

    def __init__(self, app):
        self.app = app
        self.film: Film | None = None
        self.writes: list[Job] = []

    @property
    def session(self):
        return self.app.session

    def record(self, folder: Path | None = None) -> Path | None:
        """Start recording the window into a GIF, or stop and save it (in the background;
        returns the path it will have). The GIF lasts as long as the recording did."""
        if self.film is None:
            self.film = Film(scale=0.5, max_frames=RECORD_MAX_S * 1000 // RECORD_MS, frame_ms=RECORD_MS, timed=True)
            self.session.say("recording: G stops", banner=True)
            return None
        film, self.film = self.film, None
        film.end()
        if not len(film):
            return None
        path = fresh_path(folder or (Path.cwd() / "recordings"), self.session.source.stem, ".gif")
        self._write(path, film.gif, f" ({len(film)} frames, {film.seconds:.1f} s)")
        return path

    def frame(self, screen) -> None:
        """A frame was drawn: the recording keeps it if its time has come."""
        if self.film is not None:
            self.film.offer(screen)
            if self.film.full:
                self.record()  # a recording stops by itself after RECORD_MAX_S

    def screenshot(self, folder: Path | None = None) -> Path:
        """Save what the window shows as a PNG (atomically, in the background); its path."""
        path = fresh_path(folder or (Path.cwd() / "screenshots"), self.session.source.stem, ".png")
        shot = self.app.screen.copy()

        def encode():
            buf = io.BytesIO()
            pygame.image.save(shot, buf, "png")
            return buf.getvalue()
        self._write(path, encode)
        return path

    def _write(self, path: Path, data, note: str = "") -> None:
        """Write data() to path in the background; the caption says when it is done."""
        def compute():
            try:
                write_atomic(path, data())
            except OSError as exc:
                return f"not saved: {exc}"
            return f"saved {shown_path(path)}{note}"
        self.session.say(f"writing {shown_path(path)}...")
        self.writes.append(Job(f"writing {path.name}", compute, self.session.say))

    def poll(self) -> None:
        for job in [j for j in self.writes if j.done()]:
            self.writes.remove(job)
            try:
                job.then(job.future.result())
            except Exception as exc:  # noqa: BLE001
                self.session.warn(f"not saved: {exc}")

    def wait(self, timeout: float = 60.0) -> None:
        """Block until every file being written is (for tests and closing)."""
        from concurrent.futures import wait

        wait([j.future for j in self.writes], timeout=timeout)
        self.poll()

    def save_copy(self, folder: Path | None = None, over_source: bool = False, autosave: bool = False) -> Path | None:
        """Save the network as it is now: as a new scene in saved/ (W), or over the scene it was
        opened from (Shift+W, asked twice: the file's comments and layout are not kept); in the
        background, after the stage computing now. autosave: the window is closing with unsaved
        work (saved at once, even if nodes are loose). Returns the path it is saved to."""
        s, app = self.session, self.app
        loose = s.edit.loose
        if s.editing and loose and not autosave:
            s.warn(f"not saved: {s.edit.names(loose)} can move freely; add springs or hold them")
            return None
        if over_source and app.asking != "overwrite":
            app.asking = "overwrite"
            s.warn(f"Shift+W again overwrites {s.source.name} (its comments and layout are not kept); "
                   "any other key keeps it")
            return None
        app.asking = None
        stem = s.source.stem + ("-autosave" if autosave else "")
        path = s.source if over_source else fresh_path(folder or (Path.cwd() / "saved"), stem, ".yaml")

        def compute():
            if s.editing and s.edit.loose and not autosave:  # (as checked after the edits before it)
                return f"not saved: {s.edit.names(s.edit.loose)} can move freely; add springs or hold them"
            return self._writer(path, s.net, over_source)()

        def then(why: str):
            if why:
                s.warn(why)
                return
            s.say(f"saved {shown_path(path)}", banner=True)
            s.mark_saved()
            app.controls.saves += 1  # the copy joins the scene menu

        if autosave:
            s.cancel()
            then(compute())
        else:
            s.jobs.submit("save", f"saving {path.name}", compute, then)
        return path

    def keep_work(self) -> Path | None:
        """Another scene is about to open: unsaved work on this one (training, cuts, edits,
        examples) is saved as it is now to saved/<scene>-autosave-<time>.yaml, in the background
        (the next scene opens meanwhile). Returns the path (None: nothing to keep)."""
        s = self.session
        if not s.unsaved:
            return None
        path = fresh_path(Path.cwd() / "saved", s.source.stem + "-autosave", ".yaml")
        write = self._writer(path, s.net.copy(), False)

        def compute():
            why = write()
            return why or f"your work on {s.scene.name} is kept in {shown_path(path)}"
        self.writes.append(Job(f"saving {path.name}", compute, s.say))
        self.app.controls.saves += 1
        return path

    def _writer(self, path: Path, net, over_source: bool):
        """A function that saves the scene with network `net` (and the settings as tuned in the
        window) to path: '' if saved, else why not."""
        s = self.session
        scene, r, source = s.scene, s.rule, s.source
        origin = {"scene": source.name, "epochs": s.trainer.epochs_done, "steps": s.trainer.steps, "rule": r.kind}
        settings = {"learning": {"rule": r.kind, "beta": r.beta, "lr": r.lr, "learn": r.learn},
                    "physics": {"drag": scene.spec.physics.drag}}

        def write() -> str:
            try:
                save_scene(scene, path, net=net, origin=origin, overwrite_source=over_source, settings=settings)
            except (OSError, SceneError) as exc:
                return f"not saved: {getattr(exc, 'problems', [exc])[0]}"
            return ""
        return write
