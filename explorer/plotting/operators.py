"""Plots of an operator-learning run: errors, samples, spectra, resolution, rollouts.

A history is what :func:`explorer.training.concat_operator_history` returns (dim
``epoch``; see :mod:`explorer.training.operator_snapshot` for its variables); a
learning curve is :attr:`explorer.training.LearningCurve.result`. Every function
takes those xarray objects and returns a HoloViews object with bokeh options; the
toolbar's save tool exports PNG. Pure: no torch, no widgets, no param.
"""

from __future__ import annotations

from collections.abc import Sequence

import holoviews as hv
import numpy as np
import xarray as xr

from explorer.plotting._history import CURVE, log_axis, log_safe
from explorer.plotting.fields import _PALETTE, HEIGHT, _bokeh, field_image

__all__ = [
    "band_error_curves",
    "learning_curve",
    "operator_error_curves",
    "operator_fields",
    "operator_samples",
    "operator_spectra",
    "rollout_errors",
    "superres_errors",
]

EPOCH = hv.Dimension("epoch", label="epoch")
_SHOWN_MAX = 3  # 1-D samples in one plot: more is a tangle
_FLOOR = 1e-14  # spectra below max·floor are rounding noise, not physics


# ---- checks and selections -----------------------------------------------------------
def _check(history: object, names: Sequence[str] = ()) -> xr.Dataset:
    if not isinstance(history, xr.Dataset) or "epoch" not in history.dims:
        raise ValueError(
            "history must be an operator-run history (an xarray Dataset with an "
            f"'epoch' dim, as concat_operator_history returns), got "
            f"{type(history).__name__}"
        )
    if history.sizes["epoch"] == 0:
        raise ValueError("history holds no snapshots (its 'epoch' dim is empty)")
    missing = [n for n in names if n not in history]
    if missing:
        raise ValueError(
            f"history has no variable {', '.join(map(repr, missing))}; it has "
            f"{', '.join(sorted(map(str, history.data_vars)))}"
        )
    return history


def at_epoch(history: xr.Dataset, epoch: int | None = None) -> xr.Dataset:
    """The snapshot at ``epoch`` (default: the newest), without the epoch dim."""
    epochs = history["epoch"].values
    if epoch is None:
        return history.isel(epoch=-1)
    hits = np.nonzero(epochs == epoch)[0]
    if hits.size == 0:
        raise ValueError(
            f"epoch = {epoch!r} is not in the history; its snapshots are at epochs "
            f"{', '.join(str(e) for e in epochs[:8])}"
            + (", ..." if epochs.size > 8 else "")
        )
    return history.isel(epoch=int(hits[-1]))


def _epoch_series(
    epochs: np.ndarray, values: np.ndarray, label: str, color: str, ydim: hv.Dimension
) -> list[hv.Element]:
    # Markers as well as the line: a history of one snapshot is a single point.
    dash = "dashed" if label.startswith("train") else "solid"
    return [
        hv.Curve((epochs, values), EPOCH, ydim, label=label).opts(
            color=color, line_width=2, line_dash=dash, tools=["hover"]
        ),
        hv.Scatter((epochs, values), EPOCH, ydim, label=label).opts(
            color=color, size=4, tools=["hover"]
        ),
    ]


def _log_overlay(items: list[hv.Element], values: np.ndarray, **opts) -> hv.Overlay:
    return hv.Overlay(items).opts(
        logy=True,
        **log_axis(np.asarray(values, float).ravel()),
        legend_position="right",
        show_legend=True,
        **CURVE,
        **opts,
    )


# ---- against epoch -------------------------------------------------------------------
def operator_error_curves(history: xr.Dataset) -> hv.Overlay:
    """The training loss and the train/test relative L² and H¹ errors against epoch.

    Train is dashed, test solid; the H¹ norm weighs derivatives, so it is the one
    that sees wiggles the L² error averages away.
    """
    _bokeh()
    series = {
        "training loss": ("loss", "black"),
        "train rel L²": ("train_rel_l2", _PALETTE[0]),
        "test rel L²": ("test_rel_l2", _PALETTE[0]),
        "train rel H¹": ("train_rel_h1", _PALETTE[1]),
        "test rel H¹": ("test_rel_h1", _PALETTE[1]),
    }
    _check(history, [v for v, _ in series.values()])
    epochs = history["epoch"].values
    ydim = hv.Dimension("error", label="relative error (loss: its own metric)")
    items: list[hv.Element] = []
    for label, (var, color) in series.items():
        items += _epoch_series(
            epochs, log_safe(history[var].values), label, color, ydim
        )
    every = np.concatenate([history[v].values for v, _ in series.values()])
    return _log_overlay(items, every, title="Training loss and errors")


def band_error_curves(history: xr.Dataset) -> hv.Overlay:
    """Relative test error in each wavenumber band against epoch.

    A band's error is ‖P_b(prediction − truth)‖ / ‖P_b truth‖; in a band where the
    truth has almost no energy (high |k| of a smooth solution) any stray energy of
    the prediction reads as an error far above 1.
    """
    _bokeh()
    _check(history, ["band_error"])
    epochs = history["epoch"].values
    lo, hi = history["band_lo"].values, history["band_hi"].values
    ydim = hv.Dimension("band_error", label="relative error in the band")
    items: list[hv.Element] = []
    for b in range(history.sizes["band"]):
        label = (
            f"|k| ≥ {lo[b]:g}"
            if not np.isfinite(hi[b])
            else f"{lo[b]:g} ≤ |k| < {hi[b]:g}"
        )
        values = log_safe(history["band_error"].values[:, b])
        items += _epoch_series(epochs, values, label, _PALETTE[b % 6], ydim)
    return _log_overlay(
        items, history["band_error"].values, title="Test error by wavenumber band"
    )


# ---- one snapshot --------------------------------------------------------------------
def operator_samples(
    history: xr.Dataset,
    *,
    epoch: int | None = None,
    samples: Sequence[int] | None = None,
    show_input: bool = False,
) -> hv.Overlay:
    """Test samples of a 1-D operator: truth (solid) and prediction (dashed).

    Args:
        history: a run history (or one snapshot with an ``epoch`` dim).
        epoch: the snapshot (default: the newest).
        samples: indices along ``shown`` (default: the first three).
        show_input: also draw each input function (thin, dotted).
    """
    _bokeh()
    snap = at_epoch(_check(history, ["input", "prediction", "truth"]), epoch)
    grid = [d for d in snap["truth"].dims if d != "shown"]
    if len(grid) != 1:
        raise ValueError(
            f"operator_samples draws 1-D samples; these have dims {tuple(grid)}: use "
            "operator_fields for 2-D ones"
        )
    n = snap.sizes["shown"]
    if n == 0:
        raise ValueError("history shows no test samples (show_samples = 0)")
    picked = list(range(min(n, _SHOWN_MAX))) if samples is None else list(samples)
    bad = [i for i in picked if not 0 <= i < n]
    if bad:
        raise ValueError(f"samples = {bad!r} out of range; allowed: 0 to {n - 1}")
    x = snap[grid[0]].values
    xdim = hv.Dimension(grid[0], label=grid[0])
    ydim = hv.Dimension("u", label="u")
    items: list[hv.Element] = []
    for j, i in enumerate(picked):
        color = _PALETTE[j % len(_PALETTE)]
        if show_input:
            items.append(
                hv.Curve(
                    (x, snap["input"].values[i]), xdim, ydim, label=f"input {i}"
                ).opts(color=color, line_width=1, line_dash="dotted", alpha=0.7)
            )
        items.append(
            hv.Curve((x, snap["truth"].values[i]), xdim, ydim, label=f"truth {i}").opts(
                color=color, line_width=2, alpha=0.6
            )
        )
        items.append(
            hv.Curve(
                (x, snap["prediction"].values[i]), xdim, ydim, label=f"prediction {i}"
            ).opts(color=color, line_width=2, line_dash="dashed")
        )
    e = int(snap["epoch"].values)
    return hv.Overlay(items).opts(
        title=f"Test samples at epoch {e}: truth and prediction",
        legend_position="right",
        show_legend=True,
        responsive=True,
        height=HEIGHT,
        tools=["hover"],
    )


def operator_fields(
    history: xr.Dataset, *, epoch: int | None = None, sample: int = 0
) -> hv.Layout:
    """One 2-D test sample: input, truth, prediction and error as images."""
    _bokeh()
    snap = at_epoch(_check(history, ["input", "prediction", "truth"]), epoch)
    n = snap.sizes["shown"]
    if not 0 <= sample < n:
        raise ValueError(f"sample = {sample!r} out of range; allowed: 0 to {n - 1}")
    one = snap.isel(shown=sample)
    if one["truth"].ndim != 2:
        raise ValueError(
            f"operator_fields draws 2-D samples; these have dims {one['truth'].dims}: "
            "use operator_samples for 1-D ones"
        )
    e = int(snap["epoch"].values)
    error = (one["prediction"] - one["truth"]).rename("error")
    return hv.Layout(
        [
            field_image(one["input"].rename("input"), title=f"Input (sample {sample})"),
            field_image(one["truth"].rename("truth"), title="Truth"),
            field_image(
                one["prediction"].rename("prediction"), title=f"Prediction, epoch {e}"
            ),
            field_image(error, title="Prediction − truth"),
        ]
    ).cols(4)


def operator_spectra(
    history: xr.Dataset, *, epoch: int | None = None, modes: int | None = None
) -> hv.Overlay:
    """Energy spectra E(|k|) of the test predictions and the truth, log-log.

    k = 0 (the mean) is left out of a log axis. ``modes`` (an FNO's kept Fourier
    modes) draws a line where its spectral layers stop: above it the network
    makes its output only from pointwise maps of lower modes.
    """
    _bokeh()
    snap = at_epoch(_check(history, ["spectrum_prediction", "spectrum_truth"]), epoch)
    k = snap["k"].values[1:].astype(float)
    truth = snap["spectrum_truth"].values[1:]
    pred = snap["spectrum_prediction"].values[1:]
    if k.size == 0:
        raise ValueError("history: the spectra have no wavenumber above 0")
    top = np.nanmax(np.concatenate([truth, pred]))
    floor = top * _FLOOR if np.isfinite(top) and top > 0 else 0.0

    def shown(v: np.ndarray) -> np.ndarray:
        return log_safe(np.where(v >= floor, v, np.nan))

    kdim = hv.Dimension("k", label="wavenumber |k|")
    edim = hv.Dimension("E", label="energy E(|k|)")
    items: list[hv.Element] = [
        hv.Curve((k, shown(truth)), kdim, edim, label="truth").opts(
            color="black", line_width=2
        ),
        hv.Curve((k, shown(pred)), kdim, edim, label="prediction").opts(
            color=_PALETTE[0], line_width=2, line_dash="dashed"
        ),
    ]
    values = np.concatenate([shown(truth), shown(pred)])
    axis = log_axis(values)
    if modes is not None and 0 < modes <= k[-1]:
        # A line segment, not a VLine: bokeh gives a VLine no legend entry.
        lo, hi = axis.get("ylim", (np.nanmin(values), np.nanmax(values)))
        items.append(
            hv.Curve(
                ([modes, modes], [lo, hi]), kdim, edim, label=f"{modes} kept modes"
            ).opts(color=_PALETTE[2], line_dash="dotted", line_width=2)
        )
    return hv.Overlay(items).opts(
        logx=True,
        logy=True,
        **axis,
        title=f"Energy spectra, epoch {int(snap['epoch'].values)}",
        legend_position="bottom_left",
        show_legend=True,
        responsive=True,
        height=HEIGHT,
        tools=["hover"],
    )


def superres_errors(history: xr.Dataset, *, epoch: int | None = None) -> hv.Bars:
    """Test relative L² at 1×, 2×, 4× … the training grid, the same weights.

    Zero-shot super-resolution: an FNO evaluates on any grid; a U-Net's receptive
    field is a number of points, so finer grids change what it computes.
    """
    _bokeh()
    snap = at_epoch(_check(history, ["superres_rel_l2"]), epoch)
    factors = snap["factor"].values
    errors = snap["superres_rel_l2"].values
    grid = [d for d in snap["truth"].dims if d != "shown"] if "truth" in snap else []
    n = snap.sizes[grid[0]] if grid else None
    closed = n is not None and np.isclose(float(snap[grid[0]].values[-1]), 1.0)

    def name(f: int) -> str:
        if n is None:
            return f"{f}×"
        s = (n - 1) * f + 1 if closed else n * f
        return f"{f}× (s = {s})"

    e = int(snap["epoch"].values)
    bars = hv.Bars(
        [(name(int(f)), float(v)) for f, v in zip(factors, errors)],
        hv.Dimension("grid", label="test grid"),
        hv.Dimension("rel_l2", label="test relative L²"),
    )
    return bars.opts(
        title=f"Zero-shot super-resolution, epoch {e}",
        color=_PALETTE[0],
        responsive=True,
        height=HEIGHT,
        tools=["hover"],
        ylim=(0, float(np.nanmax(errors)) * 1.15 if np.isfinite(errors).any() else 1),
    )


def rollout_errors(history: xr.Dataset, *, epoch: int | None = None) -> hv.Overlay:
    """Relative L² of the autoregressive test rollout against time.

    The newest snapshot (or ``epoch``) solid, the first snapshot dashed: the
    one-step model's error compounds along the rollout.
    """
    _bokeh()
    _check(history, ["rollout_rel_l2"])
    t = history["t"].values
    tdim = hv.Dimension("t", label="time t of the rollout")
    ydim = hv.Dimension("rollout", label="relative L² of the rollout")
    snap = at_epoch(history, epoch)
    first = history.isel(epoch=0)
    items: list[hv.Element] = []
    values = [snap["rollout_rel_l2"].values]
    if int(first["epoch"].values) != int(snap["epoch"].values):
        y0 = first["rollout_rel_l2"].values
        values.append(y0)
        items.append(
            hv.Curve((t, y0), tdim, ydim, label=f"epoch {int(first['epoch'])}").opts(
                color="gray", line_width=2, line_dash="dashed"
            )
        )
    y = snap["rollout_rel_l2"].values
    e = int(snap["epoch"].values)
    items += [
        hv.Curve((t, y), tdim, ydim, label=f"epoch {e}").opts(
            color=_PALETTE[0], line_width=2
        ),
        hv.Scatter((t, y), tdim, ydim, label=f"epoch {e}").opts(
            color=_PALETTE[0], size=5
        ),
    ]
    top = float(np.nanmax(np.concatenate(values)))
    return hv.Overlay(items).opts(
        title="Rollout error against time (test trajectories)",
        ylim=(0, top * 1.1 if np.isfinite(top) and top > 0 else 1.0),
        legend_position="right",
        show_legend=True,
        responsive=True,
        height=HEIGHT,
        tools=["hover"],
    )


# ---- learning curves -----------------------------------------------------------------
_AXIS = {"n_train": "training samples N", "sensors": "DeepONet sensors m"}


def learning_curve(result: xr.Dataset) -> hv.Overlay:
    """Test error against N (or sensors), log-log, with the fitted power law.

    Each seed's error is a dot, their geometric mean a line; the least-squares fit
    (slope in the legend) is dashed. Against N the Monte-Carlo rate N^(−1/2) is
    drawn through the first mean, for comparison: a steeper fit means the operator
    is learned faster than an average of independent samples converges.
    """
    _bokeh()
    needed = ["test_rel_l2", "error", "fit"]
    if not isinstance(result, xr.Dataset) or "value" not in result.dims:
        raise ValueError(
            "result must be a learning curve (LearningCurve.result: a Dataset with a "
            f"'value' dim), got {type(result).__name__}"
        )
    missing = [n for n in needed if n not in result]
    if missing:
        raise ValueError(f"result has no variable {', '.join(map(repr, missing))}")
    parameter = str(result.attrs.get("parameter", "n_train"))
    slope = float(result.attrs.get("slope", np.nan))
    values = result["value"].values.astype(float)
    vdim = hv.Dimension("value", label=_AXIS.get(parameter, parameter))
    edim = hv.Dimension("error", label="test relative L²")
    seeds = result["test_rel_l2"].transpose("value", "seed").values
    dots = [(v, e) for v, row in zip(values, seeds) for e in row if np.isfinite(e)]
    items: list[hv.Element] = []
    if seeds.shape[1] > 1:  # with one seed the mean is the seed
        items.append(
            hv.Scatter(dots, vdim, edim, label="each seed").opts(
                color=_PALETTE[0], alpha=0.5, size=6
            )
        )
    items += [
        hv.Curve((values, result["error"].values), vdim, edim, label="mean").opts(
            color=_PALETTE[0], line_width=2
        ),
        hv.Scatter((values, result["error"].values), vdim, edim, label="mean").opts(
            color=_PALETTE[0], size=8
        ),
        hv.Curve(
            (values, result["fit"].values), vdim, edim, label=f"fit: slope {slope:.2f}"
        ).opts(color=_PALETTE[1], line_width=2, line_dash="dashed"),
    ]
    shown = [seeds.ravel(), result["fit"].values]
    if parameter == "n_train":
        ref = float(result.attrs.get("reference_slope", -0.5))
        line = result["error"].values[0] * (values / values[0]) ** ref
        shown.append(line)
        items.append(
            hv.Curve(
                (values, line), vdim, edim, label=f"Monte Carlo: slope {ref:g}"
            ).opts(color="gray", line_width=2, line_dash="dotted")
        )
    model = str(result.attrs.get("model", "")).removesuffix("Config")
    what = "training samples" if parameter == "n_train" else "sensors"
    return _log_overlay(
        items,
        np.concatenate(shown),
        logx=True,
        title=f"Learning curve: {model} test error against {what}".replace("  ", " "),
    )
