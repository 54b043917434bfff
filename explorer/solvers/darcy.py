"""Finite differences for Darcy flow  −∇·(a ∇u) = f  on the unit square, u = 0 on ∂Ω.

The coefficient a is given at the nodes of a uniform (s × s) vertex grid
x_i = i/(s − 1) (boundary included). The five-point scheme uses face coefficients
a_{i+½,j} = 2 a_{i,j} a_{i+1,j} / (a_{i,j} + a_{i+1,j}) (harmonic means, which keep the
flux continuous across jumps of a, as for the piecewise-constant permeabilities of
the Fourier neural operator paper's data):

    (1/h²) Σ_faces a_f (u_P − u_nb) = f_P   at every interior node P.

Second order for smooth a (checked by refinement on a manufactured solution); about
first order where a jumps. Cost: one sparse LU (SuperLU) per sample; a 64² grid
takes a few milliseconds, 421² about a second.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

__all__ = ["darcy_matrix", "solve_darcy"]


def darcy_matrix(a: np.ndarray) -> sp.csr_matrix:
    """The matrix of −∇·(a∇·) on the interior nodes of the vertex grid of ``a``.

    Args:
        a: ``(s, s)`` positive coefficient at the nodes (axis 0 is x, axis 1 is y).

    Returns:
        CSR ``((s−2)², (s−2)²)``, unknowns ordered with y fastest.
    """
    s = a.shape[0]
    if a.ndim != 2 or a.shape[1] != s or s < 3:
        raise ValueError(f"a has shape {a.shape}; allowed: (s, s) with s >= 3")
    if not np.all(a > 0):
        raise ValueError("the Darcy coefficient a must be positive everywhere")
    h2 = (1.0 / (s - 1)) ** 2
    fx = 2 * a[1:] * a[:-1] / (a[1:] + a[:-1])  # faces between x-neighbours (s-1, s)
    fy = 2 * a[:, 1:] * a[:, :-1] / (a[:, 1:] + a[:, :-1])  # (s, s-1)
    m = s - 2
    west, east = fx[:-1, 1:-1], fx[1:, 1:-1]  # faces of interior nodes, (m, m)
    south, north = fy[1:-1, :-1], fy[1:-1, 1:]
    idx = np.arange(m * m).reshape(m, m)
    rows = [idx.ravel()]
    cols = [idx.ravel()]
    vals = [(west + east + south + north).ravel() / h2]
    # Off-diagonals only between interior neighbours (boundary values are 0).
    for face, di, dj in ((west, -1, 0), (east, 1, 0), (south, 0, -1), (north, 0, 1)):
        i0, i1 = max(0, -di), m - max(0, di)
        j0, j1 = max(0, -dj), m - max(0, dj)
        rows.append(idx[i0:i1, j0:j1].ravel())
        cols.append(idx[i0 + di : i1 + di, j0 + dj : j1 + dj].ravel())
        vals.append(-face[i0:i1, j0:j1].ravel() / h2)
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(m * m, m * m),
    )


def solve_darcy(a: np.ndarray, f: np.ndarray | float = 1.0) -> np.ndarray:
    """u on the vertex grid of ``a`` with −∇·(a∇u) = f inside and u = 0 on ∂Ω.

    Args:
        a: ``(s, s)`` coefficient at the nodes.
        f: the right-hand side at the nodes, ``(s, s)``, or a constant.

    Returns:
        ``(s, s)`` float64, zero on the boundary rows and columns.
    """
    s = a.shape[0]
    rhs = np.broadcast_to(np.asarray(f, dtype=np.float64), (s, s))[1:-1, 1:-1]
    u = np.zeros((s, s))
    u[1:-1, 1:-1] = spsolve(
        darcy_matrix(np.asarray(a, np.float64)), rhs.ravel()
    ).reshape(s - 2, s - 2)
    return u
