"""Grey thresholds between the phases of an image (part of step 2, **segment**).

The phases are the clear peaks of the grey-level histogram (:func:`histogram_levels`); the
thresholds start in the valleys between them and move midway between neighbouring phases' grey
levels, the modes of each class (:func:`phase_levels`): a blurred edge crosses the midpoint of
its two grey levels where the edge is. The mixture route of :mod:`ecmsim.geometry.image.classes`
places its thresholds midway between the medians of the class interiors instead
(:func:`_interior_midpoints`). :func:`_classify` turns thresholds into classes (0 = darkest).
"""

from __future__ import annotations

import numpy as np

#: A histogram peak is a phase only if the smoothed histogram dips below this fraction of the
#: peak's height on both sides (before a higher peak): noise bumps on one mode have no such dip.
VALLEY_RATIO = 0.5


def histogram_levels(values: np.ndarray, classes: int | None = None, bins: int = 256, quantum: float = 0.0
                     ) -> tuple[np.ndarray, list[float]]:
    """Grey thresholds between the phases of an image, from the modes of its histogram.

    The histogram (``bins`` bins over the value range, Gaussian-smoothed over 2 bins) has one
    peak per phase. A peak counts when the histogram falls below ``VALLEY_RATIO`` of its height
    on both sides before reaching a higher peak (prominence >= (1 - VALLEY_RATIO) x height),
    and when at least 0.1 % of the pixels lie in its class. ``classes`` None: all such peaks
    (at most 3), else the ``classes`` most prominent ones. Each threshold is the lowest point of
    the smoothed histogram between two neighbouring peaks. ``quantum``: the step of the grey
    values as recorded (1 for 8 bit): bins are never narrower, or the empty bins between
    recorded values of a low-contrast image would look like valleys.

    Multi-level Otsu (maximum between-class variance) is the usual choice, but it weighs
    classes by their pixel count: with pores covering 2 % of an image it splits the Li peak in
    two instead of separating the pores. Valleys do not care how small a phase is.

    Returns:
        thresholds (len = peaks - 1) and the grey value of each peak.
    """
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    values = np.asarray(values, dtype=float).ravel()
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return np.empty(0), [lo]
    if quantum > 0 and (hi - lo) / quantum < bins:
        bins = int(np.ceil((hi - lo) / quantum)) + 1
        edges = lo - 0.5 * quantum + quantum * np.arange(bins + 1)
    else:
        edges = np.linspace(lo, hi, bins + 1)
    hist = np.histogram(values, bins=edges)[0]
    centres = 0.5 * (edges[:-1] + edges[1:])
    smooth = gaussian_filter1d(hist.astype(float), 2.0, mode="constant")
    padded = np.concatenate([[0.0], smooth, [0.0]])  # a peak at either end of the range counts too
    peaks, props = find_peaks(padded, prominence=0.0)
    peaks = peaks - 1
    prominence = props["prominences"]
    strong = prominence >= (1.0 - VALLEY_RATIO) * smooth[peaks]
    order = np.argsort(-prominence)
    chosen = [p for p in order if strong[p]] if classes is None else list(order[:classes])
    chosen = sorted(int(peaks[p]) for p in chosen[:3 if classes is None else classes])
    while True:
        cuts = [a + int(np.argmin(smooth[a:b + 1])) for a, b in zip(chosen[:-1], chosen[1:], strict=True)]
        bounds = [0, *cuts, bins]
        mass = [hist[bounds[k]:bounds[k + 1]].sum() for k in range(len(chosen))]
        small = [k for k, m in enumerate(mass) if m < 1e-3 * hist.sum()]
        if not small or len(chosen) <= 1:
            break
        chosen.pop(small[0])
    return edges[np.array(cuts, dtype=int) + 1], [_vertex(smooth, centres, p) for p in chosen]


def _vertex(smooth: np.ndarray, centres: np.ndarray, p: int) -> float:
    """Grey value of a histogram peak to a fraction of a bin (parabola through 3 bins)."""
    if 0 < p < len(smooth) - 1:
        a, b, c = smooth[p - 1], smooth[p], smooth[p + 1]
        den = a - 2 * b + c
        if den < 0:
            return float(centres[p] + 0.5 * (a - c) / den * (centres[p + 1] - centres[p]))
    return float(centres[p])


def phase_levels(g: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Thresholds midway between the grey levels (modes) of neighbouring classes.

    A blurred edge crosses the midpoint of its two grey levels where the edge is, so this
    places boundaries without bias. Each level is the mode of its class's own histogram: unlike
    a class mean or median (Ridler-Calvard intermeans) it is not dragged by pixels of the next
    phase in the class's tail; with pores on 1 % of an image, intermeans let the pore class
    swallow the dark tail of the Li, moved its threshold up and ran away.
    """
    from scipy.ndimage import gaussian_filter1d

    levels = []
    for k in range(n_classes):
        v = g[classes == k]
        lo, hi = np.percentile(v, [1, 99]) if len(v) else (0.0, 0.0)
        if len(v) < 10 or hi <= lo:
            levels.append(float(np.median(v)) if len(v) else 0.0)
            continue
        hist, edges = np.histogram(v, bins=64, range=(lo, hi))
        smooth = gaussian_filter1d(hist.astype(float), 1.5)
        levels.append(_vertex(smooth, 0.5 * (edges[:-1] + edges[1:]), int(np.argmax(smooth))))
    levels = np.array(levels)
    return 0.5 * (levels[:-1] + levels[1:])


def _classify(grey: np.ndarray, thresholds) -> np.ndarray:
    return np.digitize(grey, np.asarray(thresholds, dtype=float)).astype(np.uint8)


def _quantum(grey: np.ndarray) -> float:
    """Smallest step between the grey values as recorded (1 for 8 bit, 257 for 8 bit in 16)."""
    distinct = np.unique(grey)
    return float(np.min(np.diff(distinct))) if len(distinct) > 1 else 0.0


def _interior_midpoints(g, classes, n, fallback):
    from scipy.ndimage import binary_erosion

    levels = []
    for k in range(n):
        inner = binary_erosion(classes == k, iterations=1, border_value=1)
        v = g[inner] if inner.sum() >= 20 else g[classes == k]
        levels.append(float(np.median(v)) if len(v) else np.nan)
    levels = np.array(levels)
    mids = 0.5 * (levels[1:] + levels[:-1])
    ok = np.isfinite(mids) & (np.diff(levels) > 0)
    return np.where(ok, mids, fallback)
