"""Progress reports, cancellation and size limits shared by the long diagnostics.

A diagnostic that runs in a worker thread takes ``progress`` (called with the
fraction done, 0 to 1) and ``cancel`` (a ``threading.Event`` or a callable returning
True to stop). Between batches it checks ``cancel`` and raises :class:`Cancelled`,
so the caller's thread ends promptly and no partial result pretends to be whole.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from explorer._validate import check_range

__all__ = ["Cancel", "Cancelled", "Job", "Progress", "check_limits"]

Progress = Callable[[float], None]
Cancel = Callable[[], bool] | threading.Event


class Cancelled(RuntimeError):
    """A diagnostic stopped early because its ``cancel`` was set."""


class Job:
    """Reports progress and honours cancellation for one diagnostic run."""

    def __init__(
        self, what: str, progress: Progress | None, cancel: Cancel | None
    ) -> None:
        if cancel is not None and not (
            isinstance(cancel, threading.Event) or callable(cancel)
        ):
            raise ValueError(
                f"cancel = {cancel!r} is not allowed; allowed: None, a "
                "threading.Event or a callable returning bool"
            )
        self.what = what
        self._progress = progress
        self._cancel = cancel

    @property
    def cancelled(self) -> bool:
        c = self._cancel
        if c is None:
            return False
        return c.is_set() if isinstance(c, threading.Event) else bool(c())

    def check(self, fraction: float) -> None:
        """Raise :class:`Cancelled` if asked to stop; otherwise report ``fraction``."""
        if self.cancelled:
            raise Cancelled(f"{self.what} cancelled at {100 * fraction:.0f}%")
        if self._progress is not None:
            self._progress(min(max(fraction, 0.0), 1.0))


def check_limits(
    what: str, limits: Mapping[str, tuple[float, float]], **values: float
) -> None:
    """Refuse any value outside its declared range, naming it, e.g.
    "loss_plane steps = 1001 is out of range; allowed: 3 to 201"."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(
                f"{what} {name} = {value!r} is not a number; allowed: "
                f"{limits[name][0]:g} to {limits[name][1]:g}"
            )
        check_range(f"{what} {name}", value, *limits[name])
