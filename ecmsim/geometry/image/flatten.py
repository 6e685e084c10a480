"""Flattening of the grey image (part of step 2, **segment**): curtaining stripes and shading.

Before the phases are known, :func:`_destripe` removes curtaining (column steps) from the
median-filtered image, so that stripes do not smear a small phase's histogram peak into its
neighbour's. Once there are classes, :func:`_flatten` subtracts curtaining stripes (column
offsets) and smooth shading (charging near the edges) estimated from the residual of each phase,
and the pixels are classified again.
"""

from __future__ import annotations

import numpy as np

from ecmsim.geometry.image.levels import _classify, phase_levels


def _destripe(g: np.ndarray) -> np.ndarray:
    """Remove curtaining before the phases are known.

    The step between neighbouring columns is the median, over all rows, of their grey
    difference: most rows see the same phase in both columns, so the median is the stripe
    step, whatever the pores, filaments or interface do in a minority of rows (column means or
    medians would carry those features into the correction). The steps are summed into a
    profile, high-passed over 25 columns, and subtracted. Without this, stripes smear a small
    phase's histogram peak (the pores) into its neighbour's.
    """
    from scipy.ndimage import gaussian_filter1d

    steps = np.median(np.diff(g, axis=1), axis=0)
    profile = np.concatenate([[0.0], np.cumsum(steps)])
    return g - (profile - gaussian_filter1d(profile, 25.0, mode="nearest"))[None, :]


def _flatten(grey: np.ndarray, classes: np.ndarray, thresholds: np.ndarray, fixed: bool, iterations: int = 3
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Subtract curtaining (column offsets) and smooth shading from the residual of each phase.

    The residual r = grey - median grey of the pixel's class is measured only where the class
    is trusted: 2 px inside the class (the image edge does not count as a class edge) and
    with a grey value at least 30 % of the gap between neighbouring class medians away from
    the thresholds (a wrongly classified pixel sits near a threshold and would pull the
    estimate the wrong way). The per-column median of r, high-passed over 25 columns, is the
    curtaining; its normalised Gaussian average (sigma 15 px) is the shading (charging).
    Both are subtracted and the pixels classified again (with new :func:`phase_levels`
    unless the levels are ``fixed`` by the user).
    """
    from scipy.ndimage import binary_erosion, gaussian_filter, gaussian_filter1d

    g = grey.copy()
    thresholds = np.asarray(thresholds, dtype=float)
    n_classes = len(thresholds) + 1
    for _ in range(iterations):
        means = np.array([np.median(g[classes == k]) if (classes == k).any() else 0.0 for k in range(n_classes)])
        margin = 0.3 * np.diff(means)
        trusted = np.zeros(g.shape, dtype=bool)
        for k in range(n_classes):
            inner = binary_erosion(classes == k, iterations=2, border_value=1)  # the image edge is no phase edge
            if k > 0:
                inner &= g >= thresholds[k - 1] + margin[k - 1]
            if k < n_classes - 1:
                inner &= g <= thresholds[k] - margin[k]
            trusted |= inner
        r = np.where(trusted, g - means[classes], np.nan)
        counted = trusted.sum(axis=0)
        col = np.zeros(g.shape[1])
        ok = counted > 0
        if ok.any():
            col[ok] = np.nanmedian(r[:, ok], axis=0)
        stripes = col - gaussian_filter1d(col, 25.0, mode="nearest")
        g -= stripes[None, :]
        res = np.where(trusted, g - means[classes], 0.0)
        num = gaussian_filter(res, 15.0, mode="nearest")
        den = gaussian_filter(trusted.astype(float), 15.0, mode="nearest")
        g -= np.where(den > 1e-3, num / np.maximum(den, 1e-3), 0.0)
        classes = _classify(g, thresholds)
        if not fixed:
            thresholds = phase_levels(g, classes, n_classes)
            classes = _classify(g, thresholds)
    return g, classes, thresholds
