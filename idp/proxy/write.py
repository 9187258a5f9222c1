"""Writing a generated file: an ownership marker, and an atomic swap that respects hand edits.

The first line of every file the generator writes is a marker carrying the SHA-256 of the rest.
While the file still matches it, the file is ours and is replaced freely; once someone edits it
(or if it never had the marker), it is theirs and is replaced only with ``--force``. The new
content goes to a temporary file in the same folder, is flushed to disk, then renamed over the
old one, so nginx never reads a half-written file.

A symbolic link is refused rather than followed: writing through it would replace whatever file
it points to (an --output given by someone who may place links, onto /etc/passwd say). The old
file is read with O_NOFOLLOW, and the rename replaces the directory entry itself, never a
link's target.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from idp.errors import ProxyConfigError

MARKER = "# cic-sts generated sha256="
_MARKER_LINE = re.compile(re.escape(MARKER) + r"([0-9a-f]{64})")


def stamp(body: str) -> str:
    """`body` behind a first line that says who wrote it and what it contained."""
    return f"{MARKER}{hashlib.sha256(body.encode()).hexdigest()}\n{body}"


def ownership(text: str) -> Literal["ours", "edited", "foreign"]:
    """Whether `text` is what the generator wrote, was written by it then edited, or neither."""
    first, _, body = text.partition("\n")
    match = _MARKER_LINE.fullmatch(first)
    if match is None:
        return "foreign"
    return "ours" if hashlib.sha256(body.encode()).hexdigest() == match.group(1) else "edited"


@dataclass(frozen=True)
class WriteResult:
    path: Path
    outcome: Literal["created", "replaced", "unchanged", "forced"]


def write_owned(path: Path, text: str, force: bool = False) -> WriteResult:
    """Write `text` to `path` atomically, refusing to replace a file the generator does not own
    unless `force`, and refusing a symbolic link whatever `force` says."""
    if path.is_symlink():
        raise ProxyConfigError(f"{path}: is a symbolic link (to {os.readlink(path)}); not "
                               "written: name the file itself with --output")
    target = path
    if not target.parent.is_dir():
        raise ProxyConfigError(f"{path}: folder {target.parent} does not exist")
    outcome: Literal["created", "replaced", "unchanged", "forced"] = "created"
    mode, owner = 0o644, None
    if target.exists():
        if not target.is_file():
            raise ProxyConfigError(f"{path}: exists and is not a regular file")
        try:
            current = _read_no_follow(target)
        except (OSError, UnicodeDecodeError) as exc:
            raise ProxyConfigError(f"{path}: cannot read the existing file: {exc}") from None
        if current == text:
            return WriteResult(path, "unchanged")
        state = ownership(current)
        if state != "ours" and not force:
            why = ("was not written by cic-sts" if state == "foreign" else
                   "was written by cic-sts but has been edited since")
            raise ProxyConfigError(f"{path}: not replaced: it {why}; use --force to replace it "
                                   "(or write elsewhere with --output)")
        outcome = "replaced" if state == "ours" else "forced"
        info = target.stat()
        mode, owner = info.st_mode & 0o7777, (info.st_uid, info.st_gid)
    _atomic_write(target, text, mode, owner)
    return WriteResult(path, outcome)


def _read_no_follow(path: Path) -> str:
    """The file's text; fails (ELOOP) if it was replaced by a symbolic link meanwhile."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as source:
        return source.read().decode("utf-8")


def _atomic_write(target: Path, text: str, mode: int, owner: tuple[int, int] | None) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                     dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        if owner is not None:
            try:
                os.chown(temporary, *owner)
            except PermissionError:
                pass  # not root: the file becomes ours, which is all we can do
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)
