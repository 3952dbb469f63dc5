"""Files that a scene (or any file a user opens) names are untrusted input. A name resolves only
inside the naming file's folder (or below it) or the project's assets/; a file is read with its
bounds (size, line length, no NUL byte, UTF-8 only) checked while streaming, before anything
large is held; messages quote only short excerpts, never a whole line of a file."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..files import write_atomic
from ..paths import ASSETS

NAME_EXCERPT = 60  # characters of a file name quoted in a message
CELL_EXCERPT = 32  # characters of a column name or cell quoted in a message
LIST_EXCERPT = 12  # names listed in a message
NEWLINE = b"\n"


class UnsafeFile(ValueError):
    """A file name or a file's content breaks a rule; the message says which, quoting no content
    beyond short excerpts."""


def excerpt(text: str, limit: int = CELL_EXCERPT) -> str:
    """text safe to quote in a message: at most `limit` characters (then '...'), control
    characters escaped (\\x1b), so a file cannot paint the terminal or flood the message."""
    cut = str(text)[: limit + 1]
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in cut)
    return shown[:limit] + "..." if len(shown) > limit else shown


def excerpt_list(names, limit: int = LIST_EXCERPT, each: int = CELL_EXCERPT) -> str:
    """At most `limit` names, each cut by excerpt(), then 'and N more'."""
    names = list(names)
    shown = ", ".join(excerpt(n, each) for n in names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


def rule(what: str = "scene", roots=(ASSETS,)) -> str:
    """The rule confined_path() enforces, for messages."""
    return f"files named in a {what} must lie in its folder (or below it) or {_in_roots(roots)}"


def _in_roots(roots, conj: str = "or") -> str:
    return f" {conj} ".join(f"in {Path(r).name}/" for r in roots)


def confined_path(name: str, base_dir, roots=(ASSETS,), what: str = "scene") -> Path:
    """The real path of the regular file that `name`, written in a file in base_dir, names:
    base_dir/name, else root/name for each root (default: assets/). Raises UnsafeFile, without
    looking outside base_dir and the roots, for an absolute name, a name whose '..' leads out
    of them, a symbolic link that points out of them, anything but a regular file (a folder, a
    device, a pipe), a name found nowhere. `what` names the naming file in messages."""
    shown = f"'{excerpt(name, NAME_EXCERPT)}'"
    if not isinstance(name, str) or not name.strip() or "\0" in name:
        raise UnsafeFile(f"{shown} is not a file name")
    if os.path.isabs(name):
        raise UnsafeFile(f"{shown} is an absolute path; {rule(what, roots)}: name it relative to the "
                         f"{what}'s folder, or by its name {_in_roots(roots)}")
    places = [Path(os.path.realpath(p)) for p in (base_dir, *roots)]
    for place in places:
        if not any(Path(os.path.normpath(place / name)).is_relative_to(p) for p in places):
            raise UnsafeFile(f"{shown} leads out of the {what}'s folder with '..'; {rule(what, roots)}")
        real = Path(os.path.realpath(place / name))
        if not any(real.is_relative_to(p) for p in places):
            raise UnsafeFile(f"{shown} is a symbolic link that leads out of the {what}'s folder; {rule(what, roots)}")
        if not os.path.exists(real):  # also a name too long for the system
            continue
        if not os.path.isfile(real):
            raise UnsafeFile(f"{shown} is not a regular file (a folder, device or pipe)")
        return real
    raise UnsafeFile(f"{shown} not found (looked in the {what}'s folder and {_in_roots(roots, 'and')})")


def open_regular(path) -> BinaryIO:
    """path opened for binary reading, refused unless it is a regular file: a pipe would block
    (so it is opened without waiting, then refused), a device would never end."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise UnsafeFile("no such file") from None
    except OSError as exc:
        raise UnsafeFile(f"cannot open it: {exc.strerror or type(exc).__name__}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UnsafeFile("is a directory, not a file" if stat.S_ISDIR(mode)
                         else "is not a regular file (a device, pipe or socket)")
    return os.fdopen(fd, "rb")


def _too_big(size: int, max_bytes: int, what: str) -> UnsafeFile:
    return UnsafeFile(f"file is {_mb(size)}; {what} are limited to {_mb(max_bytes)}")


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n >= 1e6 else f"{n:,} bytes"


def check_text(data: bytes, line: int = 1, unit: str = "line") -> str:
    """data decoded as UTF-8; raises UnsafeFile naming the line and column (counted from `line`)
    of a NUL byte (a binary file) or of bytes that are not UTF-8."""
    nul = data.find(b"\0")
    try:
        if nul >= 0:
            raise UnsafeFile(f"{_place(data, nul, line, unit)}: a NUL byte: a binary file, not text")
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeFile(f"{_place(data, exc.start, line, unit)}: not UTF-8 text") from None


def _place(data: bytes, pos: int, line: int, unit: str) -> str:
    start = data.rfind(NEWLINE, 0, pos) + 1
    column = len(data[start:pos].decode("utf-8", "replace")) + 1
    return f"{unit} {line + data.count(NEWLINE, 0, pos):,}, column {column:,}"


def read_text(path, max_bytes: int, what: str = "files") -> str:
    """The UTF-8 text of the regular file at path, read only up to max_bytes + 1 (a file under
    /proc says it has 0 bytes). Raises UnsafeFile: missing, not a regular file, too big, NUL
    byte or not UTF-8 (with line and column). what: their name in messages ('scene files')."""
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise _too_big(size, max_bytes, what)
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafeFile(f"file is over {_mb(max_bytes)}; {what} are limited to {_mb(max_bytes)}")
    return check_text(data)


def text_lines(fh: BinaryIO, max_bytes: int, max_line: int, what: str = "files",
               unit: str = "line") -> Iterator[str]:
    """The lines of a binary file, decoded, each read with at most max_line + 1 bytes, so
    memory stays bounded whatever the file holds. Raises UnsafeFile naming the line (and
    column) of the first problem: a line over max_line bytes, more than max_bytes in all, a NUL
    byte, bytes that are not UTF-8. unit: what a line is called in messages ('row')."""
    total = 0
    n = 0
    while True:
        line = fh.readline(max_line + 1)
        if not line:
            return
        n += 1
        total += len(line)
        if len(line) > max_line and b"\0" not in line:  # a binary file is called one
            raise UnsafeFile(f"{unit} {n:,} is longer than {max_line:,} bytes, the limit for one {unit}")
        if total > max_bytes:
            raise UnsafeFile(f"{unit} {n:,}: over {_mb(max_bytes)}; {what} are limited to {_mb(max_bytes)}")
        yield check_text(line, n, unit)


def open_lines(path, max_bytes: int, max_line: int, what: str = "files", unit: str = "line"):
    """(file, lines): the regular file at path, refused at once if its size is over max_bytes,
    and text_lines() over it. Close the file (a with-block on it) when done."""
    fh = open_regular(path)
    size = os.fstat(fh.fileno()).st_size
    if size > max_bytes:
        fh.close()
        raise _too_big(size, max_bytes, what)
    return fh, text_lines(fh, max_bytes, max_line, what, unit)


def carry_file(name: str, from_dir, to_dir, max_bytes: int, roots=(ASSETS,), what: str = "scene") -> str:
    """The name to write for a data file `name` (named in a file in from_dir) in a copy of that
    file saved in to_dir, so the copy opens from where it lands: the path below to_dir, else
    the name in assets/ (when to_dir holds no other file of that name), else the file is copied
    into to_dir (atomically; a new name if another file has its name) and its name returned."""
    src = confined_path(name, from_dir, roots, what)
    to_dir = Path(os.path.realpath(to_dir))
    if src.is_relative_to(to_dir):
        return src.relative_to(to_dir).as_posix()
    for root in roots:
        real_root = Path(os.path.realpath(root))
        if src.is_relative_to(real_root):
            ref = src.relative_to(real_root).as_posix()
            try:
                if confined_path(ref, to_dir, roots, what) == src:
                    return ref
            except UnsafeFile:
                pass
    data = _read_bounded(src, max_bytes)
    digest = hashlib.sha256(data).digest()
    dest, i = to_dir / src.name, 1
    while os.path.lexists(dest) and not (dest.is_file() and not dest.is_symlink()
                                         and _digest_file(dest, max_bytes) == digest):
        i += 1
        dest = to_dir / f"{src.stem}-{i}{src.suffix}"
    if not dest.exists():
        write_atomic(dest, data)
    return dest.name


def _read_bounded(path: Path, max_bytes: int) -> bytes:
    with open_regular(path) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafeFile(f"'{excerpt(path.name, NAME_EXCERPT)}' is over {_mb(max_bytes)}")
    return data


def _digest_file(path: Path, max_bytes: int) -> bytes | None:
    try:
        return hashlib.sha256(_read_bounded(path, max_bytes)).digest()
    except UnsafeFile:
        return None
