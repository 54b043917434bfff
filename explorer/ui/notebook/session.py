"""``explorer.Session``: the notebook front door to a live PINN run.

``Session("burgers", nu=0.005)`` as a cell's last line shows the whole lab (knobs,
buttons, live figures); ``s.train(2000)`` trains headless in the calling thread with
a progress bar and returns the history. Both drive one :class:`PINNSession`, so a
headless run shows up in the widgets and the widgets' knobs shape the next run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xarray as xr
from tqdm.auto import tqdm

from explorer.state import (
    ModelState,
    PINNSession,
    ProblemState,
    RunStatus,
    TrainingState,
)
from explorer.training import RunSpec
from explorer.ui.notebook.view import SessionView

__all__ = ["Session"]

_POSTFIX_EVERY = 25  # steps between progress-bar postfix updates (cheap, not free)


class Session:
    """A PINN lab for notebooks: widgets when displayed, headless when told to train.

    Args:
        problem: a problem name from :data:`explorer.PROBLEMS`.
        model: network knobs, e.g. ``{"width": 64}`` (see :class:`ModelState`).
        training: training knobs, e.g. ``{"lr": 3e-3}`` (see :class:`TrainingState`).
        seed: seeds the network, the points and adaptivity.
        **values: the problem's parameters, e.g. ``nu=0.005``.

    Raises:
        ValueError: an unknown problem, parameter or knob, or a bad value.

    Example:
        >>> from explorer import Session
        >>> s = Session("burgers", nu=0.005, training={"steps": 500})
        >>> history = s.train()          # headless, with a progress bar
        >>> float(history.rel_l2[-1])    # relative L2 error of the last snapshot
        >>> s                            # the lab, live (in a notebook)
    """

    def __init__(
        self,
        problem: str = "burgers",
        *,
        model: Mapping[str, Any] | None = None,
        training: Mapping[str, Any] | None = None,
        seed: int = 0,
        **values: Any,
    ) -> None:
        self.state = PINNSession(
            problem, values, model=model, training=training, seed=seed
        )
        self._view: SessionView | None = None

    # ---- the knobs -------------------------------------------------------------------
    @property
    def problem(self) -> ProblemState:
        return self.state.problem

    @property
    def model(self) -> ModelState:
        return self.state.model

    @property
    def training(self) -> TrainingState:
        return self.state.training

    @property
    def seed(self) -> int:
        return self.state.seed

    @seed.setter
    def seed(self, value: int) -> None:
        self.state.seed = value

    def to_spec(self) -> RunSpec:
        """The frozen recipe of the current knobs."""
        return self.state.to_spec()

    # ---- what the run produced -------------------------------------------------------
    @property
    def history(self) -> xr.Dataset | None:
        """The snapshots along ``step`` (xarray), or None before the first."""
        return self.state.history

    @property
    def latest(self) -> xr.Dataset | None:
        return self.state.latest

    @property
    def status(self) -> RunStatus:
        return self.state.status

    @property
    def error(self) -> str:
        """Why the current knobs make no valid run ("" when they do)."""
        return self.state.error

    # ---- actions ---------------------------------------------------------------------
    def train(
        self, steps: int | None = None, *, progress: bool = True
    ) -> xr.Dataset | None:
        """Train in this thread with a progress bar; return the history.

        Continues the current run (a stale one restarts from the knobs); a
        background run is stopped first. Interrupting the kernel stops cleanly.

        Args:
            steps: steps to take (None: up to ``training.steps``).
            progress: show a tqdm bar (a widget in notebooks, text elsewhere).

        Raises:
            ValueError: the knobs make no valid run (the message says why).
        """
        events = self.state.iterate(steps)
        run = self.state.run
        start = run.trainer.step
        total = (run.trainer.config.steps if steps is None else start + steps) - start
        with tqdm(
            total=max(total, 0),
            desc=run.spec.problem,
            unit="step",
            disable=not progress,
            leave=True,
        ) as bar:
            for event in events:
                bar.update(event.step - start - bar.n)
                if event.step % _POSTFIX_EVERY == 0 or event.snapshot is not None:
                    st = self.state.status
                    bar.set_postfix(loss=f"{st.loss:.3g}", rel_l2=f"{st.rel_l2:.3g}")
        status = self.state.status
        if status.state == "diverged":
            print(status.message)
        return self.history

    def start(self, steps: int | None = None) -> bool:
        """Train in the background worker thread (what the Train button does)."""
        return self.state.train(steps)

    def pause(self) -> None:
        self.state.pause()

    def step(self) -> bool:
        return self.state.step()

    def reset(self) -> bool:
        return self.state.reset()

    def stop(self) -> None:
        self.state.stop()

    def close(self) -> None:
        """Stop training, free the trainer and close the widgets."""
        if self._view is not None:
            self._view.close()
        self.state.close()

    def export(self, path: str | os.PathLike) -> Path:
        """Write the history as netCDF, atomically."""
        return self.state.export(path)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write a resumable run record (``explorer resume`` continues it)."""
        return self.state.save(directory)

    def to_query(self) -> dict[str, str]:
        return self.state.to_query()

    def from_query(self, query: Mapping[str, str]) -> list[str]:
        return self.state.from_query(query)

    # ---- display ---------------------------------------------------------------------
    @property
    def view(self) -> SessionView:
        """The widgets (built on first use)."""
        if self._view is None:
            self._view = SessionView(self.state)
        return self._view

    def _ipython_display_(self) -> None:
        self.view.display()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.view._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"Session({self.state.problem.problem!r}: {self.state.status})"
