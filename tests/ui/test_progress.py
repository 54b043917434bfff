"""The progress bars: a run that grows past the old maximum, or shrinks below it."""

from __future__ import annotations

import panel as pn
import pytest

from explorer.ui.panel.widgets import set_progress


def test_a_joint_update_past_the_old_max_fails_in_panel() -> None:
    # Why set_progress exists: Panel checks the value against the old max.
    bar = pn.indicators.Progress(value=60, max=60)
    with pytest.raises(ValueError, match="at most 60"):
        bar.param.update(max=120, value=61)


@pytest.mark.parametrize(
    ("value", "total", "shown"),
    [(61, 120, (61, 120)), (5, 10, (5, 10)), (99, 10, (10, 10)), (3, 0, (1, 1))],
)
def test_set_progress_grows_shrinks_and_clips(value, total, shown) -> None:
    bar = pn.indicators.Progress(value=60, max=60)
    set_progress(bar, value, total)
    assert (bar.value, bar.max) == shown
