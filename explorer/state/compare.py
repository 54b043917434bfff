"""Compare mode: two PINN sessions, identical but for one setting, trained together.

Both sessions are copies of a base session through its URL state (so every knob,
the seed included, matches), then one query key is set to a different value on each.
Each trains in its own worker thread; on a 2-core CPU they share the cores, so
compare steps per second only between runs of one comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import xarray as xr

from explorer.state.query import encode
from explorer.state.run import RunStatus
from explorer.state.session import PINNSession

__all__ = ["COMPARISONS", "CompareSession"]

#: Named comparisons: (query key, value of run A, value of run B).
COMPARISONS: Mapping[str, tuple[str, str, str]] = {
    "adaptive": ("training.adaptive", "none", "rad"),
    "causal": ("training.causal_eps", "0.0", "10.0"),
    "fourier": ("model.fourier_features", "0", "64"),
    "weighting": ("training.weighting", "fixed", "gradnorm"),
    "hard_bc": ("model.hard_bc", "false", "true"),
    "optimizer": ("training.optimizer", "adam", "adam+lbfgs"),
    "quasi_newton": ("training.optimizer", "adam+lbfgs", "adam+bfgs"),
}


class CompareSession:
    """Two sessions on the same seed with one setting different.

    Args:
        base: the session to copy (default: a new default session).
        setting: a name from :data:`COMPARISONS`, or a query key such as
            ``"training.lr"`` (see :meth:`PINNSession.to_query`).
        values: the setting's two values (default: the named comparison's).

    Raises:
        ValueError: an unknown setting, or a value the setting does not accept
            (the message is the session's notice).

    Example:
        >>> c = CompareSession(PINNSession("burgers"), "fourier")
        >>> c.train()
        >>> c.histories            # {"fourier_features=0": ..., "...=64": ...}
        >>> c.close()
    """

    def __init__(
        self,
        base: PINNSession | None = None,
        setting: str = "adaptive",
        values: Sequence[Any] | None = None,
    ) -> None:
        key, *preset = COMPARISONS.get(setting, (setting, None, None))
        if values is None:
            if preset[0] is None:
                raise ValueError(
                    f"comparison {setting!r} is unknown and no values were given; "
                    f"allowed: {', '.join(COMPARISONS)}, or a query key with values"
                )
            values = preset
        if len(values) != 2:
            raise ValueError(f"values = {values!r}: allowed: exactly two values")
        query = (base or PINNSession()).to_query()
        if key not in query:
            raise ValueError(
                f"setting {setting!r} is unknown; allowed: {', '.join(COMPARISONS)} "
                f"or one of the query keys: {', '.join(query)}"
            )
        self.setting = key
        self.sessions: dict[str, PINNSession] = {}
        for value in values:
            text = value if isinstance(value, str) else encode(value)
            session = PINNSession(query["problem"])
            notices = session.from_query({**query, key: text})
            if notices:
                raise ValueError("; ".join(notices))
            label = f"{key.rpartition('.')[2]}={text}"
            self.sessions[label] = session
        if len(self.sessions) != 2:
            raise ValueError(f"values = {values!r}: allowed: two different values")

    @property
    def labels(self) -> list[str]:
        return list(self.sessions)

    @property
    def a(self) -> PINNSession:
        return self.sessions[self.labels[0]]

    @property
    def b(self) -> PINNSession:
        return self.sessions[self.labels[1]]

    @property
    def histories(self) -> dict[str, xr.Dataset | None]:
        """Each run's history by label (for ``plotting.training.compare_curves``)."""
        return {k: s.history for k, s in self.sessions.items()}

    @property
    def statuses(self) -> dict[str, RunStatus]:
        return {k: s.status for k, s in self.sessions.items()}

    @property
    def running(self) -> bool:
        return any(s.running for s in self.sessions.values())

    @property
    def version(self) -> int:
        """Increases whenever either run changes observably."""
        return sum(s.version for s in self.sessions.values())

    @property
    def error(self) -> str:
        return "; ".join(f"{k}: {s.error}" for k, s in self.sessions.items() if s.error)

    def train(self, steps: int | None = None) -> bool:
        """Start or resume both runs, each in its own worker thread."""
        started = [s.train(steps) for s in self.sessions.values()]
        return all(started)

    def pause(self) -> None:
        for s in self.sessions.values():
            s.pause()

    def step(self) -> bool:
        return all([s.step() for s in self.sessions.values()])

    def reset(self) -> bool:
        return all([s.reset() for s in self.sessions.values()])

    def stop(self) -> None:
        for s in self.sessions.values():
            s.stop()

    def close(self) -> None:
        for s in self.sessions.values():
            s.close()
