"""What the phase labels themselves say, for comparison with the mesh: areas by pixel count and
boundary lengths by the Cauchy-Crofton formula (:func:`pixel_measures`, :func:`crofton_length`).
"""

from __future__ import annotations

import math

import numpy as np

from ecmsim.geometry.image.phases import ELECTRODE, ELECTROLYTE, PHASE_NAMES, VOID

_ISLAND = 250  # electrode cut off from the top, in pixel measures


#: Lattice directions of the Crofton estimate and their angular weights (they sum to pi).
_CROFTON_STEPS = ((1, 0), (2, 1), (1, 1), (1, 2), (0, 1), (-1, 2), (-1, 1), (-2, 1))


def crofton_length(labels: np.ndarray, phase_a: int, phase_b: int, pixel_size_m: float = 1.0) -> float:
    """Length of the boundary between two phases by the Cauchy-Crofton formula [m].

    L = 1/2 * integral over directions of (crossings x line spacing): the crossings between
    pixels of ``phase_a`` and ``phase_b`` are counted along the lattice lines of 8 directions
    (0, 26.6, 45, 63.4 ... degrees), whose spacings are 1/|step|. Independent of any contour:
    it sees only pixel pairs. For straight boundaries its error is below 1.5 % at any angle.
    """
    angles = np.array([math.atan2(dy, dx) % math.pi for dx, dy in _CROFTON_STEPS])
    order = np.argsort(angles)
    srt = angles[order]
    gaps = np.diff(np.concatenate([srt, [srt[0] + math.pi]]))
    weight_sorted = 0.5 * (gaps + np.roll(gaps, 1))
    weights = np.empty_like(weight_sorted)
    weights[order] = weight_sorted
    total = 0.0
    h, w = labels.shape
    for (dx, dy), wt in zip(_CROFTON_STEPS, weights, strict=True):
        r0, r1 = max(0, -dy), h - max(0, dy)
        c0, c1 = max(0, -dx), w - max(0, dx)
        p = labels[r0:r1, c0:c1]
        q = labels[r0 + dy:r1 + dy, c0 + dx:c1 + dx]
        crossings = int(np.count_nonzero(((p == phase_a) & (q == phase_b)) | ((p == phase_b) & (q == phase_a))))
        total += wt * crossings / math.hypot(dx, dy)
    return float(0.5 * total * pixel_size_m)


def pixel_measures(labels: np.ndarray, pixel_size_m: float) -> dict[str, float]:
    """What the labels (row 0 = window top) say, for comparison with the mesh: areas by pixel
    count [m^2], void area fraction [-], boundary lengths by :func:`crofton_length` [m].

    As in the mesh, electrode pieces not reaching the top row (4-connected) are islands: their
    boundary with the electrolyte is ``island_length_m``, not ``interface_length_m``.
    """
    from scipy.ndimage import label as cc

    h, w = labels.shape
    area = pixel_size_m**2
    counts = np.bincount(labels.ravel(), minlength=256)
    comp, _ = cc(labels == ELECTRODE)
    top = np.unique(comp[0])
    work = labels.copy()
    island = _ISLAND
    work[(labels == ELECTRODE) & ~np.isin(comp, top[top > 0])] = island
    return {
        "window_width_m": w * pixel_size_m,
        "window_height_m": h * pixel_size_m,
        "electrode_area_m2": float(counts[ELECTRODE] * area),
        "electrolyte_area_m2": float(counts[ELECTROLYTE] * area),
        "void_area_fraction": float(counts[VOID] / labels.size),
        "phase_area_fraction": {name: float(counts[k] / labels.size) for name, k in PHASE_NAMES.items()
                                if counts[k] > 0},
        "interface_length_m": crofton_length(work, ELECTRODE, ELECTROLYTE, pixel_size_m),
        "island_length_m": crofton_length(work, island, ELECTROLYTE, pixel_size_m),
        "void_boundary_length_m": sum(crofton_length(work, VOID, k, pixel_size_m)
                                      for k in (*[c for c in PHASE_NAMES.values() if c != VOID], island)),
    }
