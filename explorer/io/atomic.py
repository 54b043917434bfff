"""Atomic file writes: a reader never sees a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "check_writable"]


def check_writable(path: str | os.PathLike, *, what: str = "output") -> Path:
    """Fail early, before any work, when ``path`` cannot be written."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise ValueError(f"{what} {str(p)!r} is a directory; allowed: a file path")
    if not parent.is_dir():
        raise ValueError(
            f"{what} {str(p)!r}: directory {str(parent)!r} does not exist; "
            "allowed: a path in an existing, writable directory"
        )
    if not os.access(parent, os.W_OK):
        raise ValueError(
            f"{what} {str(p)!r}: directory {str(parent)!r} is not writable; "
            "allowed: a path in an existing, writable directory"
        )
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only on success.

    The temporary file lives in the same directory, so the final ``os.replace`` is
    atomic; on any exception (KeyboardInterrupt included) it is removed.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
