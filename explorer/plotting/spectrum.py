"""The error of a PINN run by wavenumber and step: spectral bias made visible.

:func:`error_spectrum_data` computes the spectrum (numpy and xarray only, testable
against analytic modes); :func:`error_spectrum` draws it against training step.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import xarray as xr

from explorer.plotting._history import STEP, check_history
from explorer.plotting.fields import HEIGHT, _bokeh

__all__ = ["error_spectrum", "error_spectrum_data"]


def _uniform(err: xr.DataArray, dim: str) -> xr.DataArray:
    """``err`` on an evenly spaced grid along ``dim`` (linear interpolation if not)."""
    x = err[dim].values.astype(float)
    if x.size < 4:
        raise ValueError(
            f"history: the {dim!r} grid has {x.size} point; need 2 or more"
        )
    steps = np.diff(x)
    if np.allclose(steps, steps[0], rtol=1e-6, atol=0.0):
        return err
    even = np.linspace(x[0], x[-1], x.size)
    if np.iscomplexobj(err.values):
        return err.real.interp({dim: even}) + 1j * err.imag.interp({dim: even})
    return err.interp({dim: even})


def error_spectrum_data(history: xr.Dataset, *, window: str = "none") -> xr.DataArray:
    """RMS amplitude of the error at each wavenumber shell and step, dims ``(step, k)``.

    The FFT runs over the spatial dims (``x``, or ``x`` and ``y``), treating the
    sampled window of N points, spacing Δx, as one period L = N·Δx; ``k`` is the
    angular wavenumber 2πm/L (radians per unit length). The power |ĉ|²/N² is summed
    over shells of |k| one Δk wide (so ± modes, and in 2-D the ring of (kx, ky), fall
    in one shell), averaged over ``t`` for space-time fields, and square-rooted. By
    Parseval, Σₖ S(k)² = mean(error²) (in 2-D, up to the shells beyond the smaller
    Nyquist wavenumber, which are left out): a pure mode a·sin(k₀x) gives a/√2 at
    k₀ and zero elsewhere. Two components are one complex error u + iv. Grids that
    are not evenly spaced are linearly interpolated onto even ones first.

    Args:
        history: a run history (or one snapshot) with ``u_err`` (and ``v_err``).
        window: ``"none"`` (the plain FFT above) or ``"hann"``: a Hann taper along
            each spatial dim, scaled to keep mean(error²). Without one, an error that
            does not match across the ends of a non-periodic grid (a Dirichlet
            problem before its boundary is learned) leaks into a k⁻¹ tail; with
            one, a pure mode spreads over k₀ ± Δk.
    """
    if window not in ("none", "hann"):
        raise ValueError(f"window = {window!r} is unknown; allowed: none, hann")
    if not isinstance(history, xr.Dataset) or "u_err" not in history:
        raise ValueError(
            "history must be a run history with a 'u_err' variable, got "
            f"{type(history).__name__}"
        )
    err = history["u_err"].astype(complex)
    if "v_err" in history:
        err = err + 1j * history["v_err"]
    if "step" not in err.dims:
        err = err.expand_dims(step=[0])
    space = [str(d) for d in err.dims if d not in ("step", "t")]
    if not 1 <= len(space) <= 2:
        raise ValueError(f"history: no error spectrum for field dims {err.dims}")
    for dim in space:
        err = _uniform(err, dim)
    batch = ["step"] + (["t"] if "t" in err.dims else [])
    err = err.transpose(*batch, *space)
    values = err.values.reshape(-1, *err.shape[len(batch) :])
    if window == "hann":
        for axis, n in enumerate(values.shape[1:], start=1):
            taper = np.hanning(n + 2)[1:-1]  # no zero weights at the ends
            taper /= np.sqrt(np.mean(taper**2))
            values = values * np.expand_dims(
                taper, [a for a in range(values.ndim) if a != axis]
            )
    axes = tuple(range(1, values.ndim))
    points = int(np.prod(values.shape[1:]))
    power = np.abs(np.fft.fftn(values, axes=axes)) ** 2 / points**2

    spacing = [float(err[d].values[1] - err[d].values[0]) for d in space]
    waves = [
        2 * np.pi * np.fft.fftfreq(n, h) for n, h in zip(values.shape[1:], spacing)
    ]
    dk = max(2 * np.pi / (n * h) for n, h in zip(values.shape[1:], spacing))
    modulus = np.sqrt(sum(k**2 for k in np.meshgrid(*waves, indexing="ij")))
    shell = np.rint(modulus / dk).astype(int).ravel()
    n_shells = int(min(np.pi / h for h in spacing) / dk + 1e-9) + 1
    keep = shell < n_shells
    rows = power.reshape(power.shape[0], -1)[:, keep]
    offsets = shell[keep][None, :] + n_shells * np.arange(rows.shape[0])[:, None]
    summed = np.bincount(
        offsets.ravel(), weights=rows.ravel(), minlength=rows.shape[0] * n_shells
    ).reshape(rows.shape[0], n_shells)
    summed = summed.reshape(*[err.sizes[d] for d in batch], n_shells)
    if "t" in batch:
        summed = summed.mean(axis=1)
    k = xr.Variable(
        "k",
        dk * np.arange(n_shells),
        {"long_name": "wavenumber k (rad per unit length)"},
    )
    return xr.DataArray(
        np.sqrt(summed),
        dims=("step", "k"),
        coords={"step": err["step"].values, "k": k},
        name="error_spectrum",
        attrs={
            "long_name": "RMS error amplitude per wavenumber shell",
            "space": ", ".join(space),
        },
    )


_K_BANDS = 64  # at most this many rows: finer shells would be < 1 px on a log axis


def error_spectrum(history: xr.Dataset, *, window: str = "none") -> hv.QuadMesh:
    """RMS error amplitude by wavenumber (up, log scale) and step (across), log colour.

    Spectral bias made visible: a PINN fits low wavenumbers first. The k = 0 shell
    (the mean error) has no place on a log axis and is left out. Above 64 shells,
    neighbouring shells are pooled into log-spaced bands (the RMS over the band's
    shells), so that every row stays visible. See :func:`error_spectrum_data` for
    the definition and ``window``.
    """
    _bokeh()
    spec = error_spectrum_data(check_history(history), window=window)
    if spec.sizes["k"] < 2:
        raise ValueError("history: the grid is too coarse for an error spectrum")
    k = spec["k"].values[1:]
    power = spec.transpose("k", "step").values[1:] ** 2
    dk = k[0]
    # Shells m = 1..M grouped by log-spaced bands; every band keeps >= 1 shell.
    band = (
        np.digitize(np.log(k), np.linspace(np.log(k[0]), np.log(k[-1]), _K_BANDS))
        if k.size > _K_BANDS
        else np.arange(k.size)
    )
    _, first, count = np.unique(band, return_index=True, return_counts=True)
    values = np.sqrt(np.add.reduceat(power, first, axis=0) / count[:, None])
    edges = np.append(k[first] - dk / 2, k[-1] + dk / 2)
    positive = values[np.isfinite(values) & (values > 0)]
    hi = float(positive.max()) if positive.size else 1.0
    lo = max(float(positive.min()) if positive.size else hi * 1e-8, hi * 1e-8)
    mesh = hv.QuadMesh(
        (
            _step_edges(spec["step"].values.astype(float)),
            edges,
            np.clip(values, lo, None),
        ),
        kdims=[STEP, hv.Dimension("k", label=spec["k"].attrs["long_name"])],
        vdims=[hv.Dimension("amplitude", label=spec.attrs["long_name"])],
    )
    return mesh.opts(
        logz=True,
        logy=True,
        cmap="viridis",
        clim=(lo, hi if hi > lo else lo * 10),
        colorbar=True,
        clabel="RMS error amplitude (log scale)",
        title="Error spectrum against training step"
        + (", Hann window" if window == "hann" else ""),
        tools=["hover"],
        responsive=True,
        height=HEIGHT,
        framewise=True,
    )


def _step_edges(steps: np.ndarray) -> np.ndarray:
    """Cell edges around the snapshot steps: the midpoints, the ends mirrored."""
    if steps.size == 1:
        return steps[0] + np.array([-0.5, 0.5])
    mid = 0.5 * (steps[1:] + steps[:-1])
    return np.concatenate([[2 * steps[0] - mid[0]], mid, [2 * steps[-1] - mid[-1]]])
