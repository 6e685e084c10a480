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


#: Rows per band of :func:`destripe_bands` (at least; the bands split the height evenly).
STRIPE_BAND_ROWS = 48
#: Columns over which :func:`destripe_bands` separates stripes (narrower) from real features.
STRIPE_WIDTH_PX = 25.0


def destripe_bands(g: np.ndarray) -> tuple[np.ndarray, dict]:
    """Remove curtaining whose strength changes with depth (the texture route's destriping).

    FIB curtains start at the milled top edge and fade (or grow) downwards: one column profile
    for the whole height (:func:`_destripe`) leaves stripes where they are strong and draws them
    where they are weak. Here each row is high-passed across the columns (minus a Gaussian
    average over ``STRIPE_WIDTH_PX``); in bands of at least ``STRIPE_BAND_ROWS`` rows the
    median over the band's rows is that band's column profile (a median: pores, particles and
    the interface fill a minority of any column's rows). The stripes are modelled as one column
    pattern whose amplitude changes with depth, s(y, x) = f(y) a(x): the first singular pair of
    the band profiles (noise in any one band averages out over all of them), f interpolated
    linearly between band centres (and extrapolated beyond the outer ones). Returns the
    destriped image and what was removed.
    """
    from scipy.ndimage import gaussian_filter1d

    h, w = g.shape
    high = g - gaussian_filter1d(g, STRIPE_WIDTH_PX, axis=1, mode="nearest")
    n_bands = max(1, h // STRIPE_BAND_ROWS)
    edges = np.linspace(0, h, n_bands + 1).round().astype(int)
    profiles = np.stack([np.median(high[a:b], axis=0) for a, b in zip(edges[:-1], edges[1:], strict=True)])
    profiles -= gaussian_filter1d(profiles, STRIPE_WIDTH_PX, axis=1, mode="nearest")
    if n_bands == 1:
        stripes = np.broadcast_to(profiles[0], (h, w))
        amplitude = np.ones(1)
    else:
        u, s, vt = np.linalg.svd(profiles, full_matrices=False)
        sign = 1.0 if u[:, 0].sum() >= 0 else -1.0   # the pair's sign is arbitrary: amplitudes > 0
        pattern, amplitude = sign * vt[0], sign * u[:, 0] * s[0]
        centres = 0.5 * (edges[:-1] + edges[1:]) - 0.5
        f = np.interp(np.arange(h), centres, amplitude)
        # beyond the first and last band centres: on the line through the two nearest centres
        for rows, (a, b) in ((np.arange(h) < centres[0], (0, 1)), (np.arange(h) > centres[-1], (-1, -2))):
            slope = (amplitude[b] - amplitude[a]) / (centres[b] - centres[a])
            f[rows] = amplitude[a] + slope * (np.arange(h)[rows] - centres[a])
        stripes = f[:, None] * pattern[None, :]
    out = g - stripes
    return out, {"bands": n_bands, "stripe_std_top": round(float(np.std(stripes[0])), 3),
                 "stripe_std_bottom": round(float(np.std(stripes[-1])), 3)}


#: Gaussian width [px] of the shading that :func:`flatten_phases` removes.
SHADING_SIGMA_PX = 20.0


def flatten_phases(g: np.ndarray, phases: np.ndarray, trusted: np.ndarray) -> tuple[np.ndarray, dict]:
    """Subtract smooth shading (charging glow, ramps) measured on the phases' residuals.

    The residual r = grey - level of the pixel's phase, on ``trusted`` pixels (the caller leaves
    out particles, pore rims) 2 px inside their phase, averaged by a normalised Gaussian (sigma
    ``SHADING_SIGMA_PX``), is the shading. Measured per phase, so the contrast between phases
    stays (an average over all pixels would take a small Li/polymer contrast for shading and
    remove it). The levels: the largest phase's is its median; every other phase's is that plus
    the contrast across their common boundary (medians of the two sides, 2-8 px from it, where a
    smooth shading is the same on both sides): a glow that covers one phase more than the other
    would otherwise bias that phase's median and change the contrast. A phase without such a
    boundary takes its own median. Returns the flattened image and the shading's range.
    """
    from scipy.ndimage import binary_erosion, distance_transform_edt, gaussian_filter

    inner = np.zeros(g.shape, bool)
    codes = [k for k in np.unique(phases)
             if (binary_erosion(phases == k, iterations=2, border_value=1) & trusted).sum() >= 50]
    if not codes:
        return g, {"applied": False}
    sizes = {k: int((phases == k).sum()) for k in codes}
    ref = max(codes, key=sizes.get)
    ref_mask = phases == ref
    level = np.zeros(g.shape)
    levels = {}
    for k in codes:
        m = phases == k
        sel = binary_erosion(m, iterations=2, border_value=1) & trusted
        inner |= sel
        if k == ref:
            levels[k] = float(np.median(g[sel]))
            continue
        near_k = (distance_transform_edt(~m) <= 8) & ref_mask & trusted
        near_ref = (distance_transform_edt(~ref_mask) <= 8) & m & trusted
        side_k = near_ref & (distance_transform_edt(m) >= 2)
        side_ref = near_k & (distance_transform_edt(ref_mask) >= 2)
        levels[k] = (None if min(side_k.sum(), side_ref.sum()) < 200
                     else float(np.median(g[side_k]) - np.median(g[side_ref])))
    base = levels[ref]
    for k in codes:
        m = phases == k
        sel = binary_erosion(m, iterations=2, border_value=1) & trusted
        level[m] = base if k == ref else (base + levels[k] if levels[k] is not None else float(np.median(g[sel])))
    if inner.sum() < 100:
        return g, {"applied": False}
    res = np.where(inner, g - level, 0.0)
    num = gaussian_filter(res, SHADING_SIGMA_PX, mode="nearest")
    den = gaussian_filter(inner.astype(float), SHADING_SIGMA_PX, mode="nearest")
    shading = np.where(den > 1e-3, num / np.maximum(den, 1e-3), 0.0)
    return g - shading, {"applied": True, "shading_min": round(float(shading.min()), 3),
                         "shading_max": round(float(shading.max()), 3),
                         "contrast_across_boundaries": {int(k): round(v, 3) for k, v in levels.items()
                                                        if k != ref and v is not None}}
