"""Files written whole or not at all: the sealed audio of a dictation, the sealed export archive.

Written under a temporary name, fsynced, then renamed into place (and the folder fsynced, so the
rename itself survives a power cut). Whatever stops the write (the disk filling up, a killed
process) leaves no half-written file under the real name; a failure that raises also removes
the temporary one, so a full disk is not left fuller by the attempt.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PARTIAL_SUFFIX = ".partial"


def partial_path(target: Path) -> Path:
    return target.with_suffix(PARTIAL_SUFFIX)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_whole(target: Path, data: bytes) -> None:
    """`data` at `target`, durable before this returns; OSError (ENOSPC...) leaves nothing."""
    partial = partial_path(target)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, data)
            os.fsync(fd)  # a crash right after must not lose what the caller is about to commit
        finally:
            os.close(fd)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # not every filesystem fsyncs a folder
            os.fsync(folder)
    finally:
        os.close(folder)
