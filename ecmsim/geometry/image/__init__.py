"""FIB-SEM / SEM cross-sections -> phase labels -> contours -> :class:`~ecmsim.geometry.Geometry`.

The pipeline (each step a function below; :func:`image_to_geometry` runs them all):

1. **read** a PNG or TIFF (8/16 bit, grey or RGB; RGB becomes grey by Rec. 601 luma), or a
   label image whose integer values name the phases (``label_values``).
2. **segment** grey images into void / electrode / electrolyte: a median filter
   (``median_px``, default 5x5: removes shot noise and the 1-2 pixel bright rims that edge
   charging draws around pores); the phases are the clear peaks of the grey-level histogram
   (:func:`histogram_levels`), the darkest of three is void; thresholds start in the valleys
   between them and move midway between neighbouring phases' grey levels, the modes of each
   class (:func:`phase_levels`), or are the user's ``levels``. A flattening step subtracts curtaining
   stripes (column offsets) and smooth shading (charging near the edges) estimated from the
   residual of each phase, and the pixels are classified again.
3. **assign** the two solid phases: the one bordering most void is the electrode (voids open on
   the Li side when it is stripped), else the more textured one is the electrolyte (PLL holds
   LLZTO particles), or the user says which (``electrode_side`` or ``phases``).
4. **crop** to the window (x from the image's left edge, y from its top, as image viewers show).
5. **clean**: connected pieces of any phase smaller than ``min_feature_px**2`` pixels (specks,
   and holes inside another phase) join the phase around them; material that touches neither
   the bottom nor other material through a chain of pixels is floating (dead weight in a pore
   with no support) and becomes void; pixels touching only by a corner are bridged so that
   every boundary is a manifold curve.
6. **orient** so that the electrode is on top (the mesh convention: electrolyte bottom fixed).
7. **contours**: the boundary between pixels of different phases is cut at junctions (where
   three phases or the window border meet) into chains; each chain is drawn through the
   midpoints of its pixel edges and simplified to ``tolerance_px`` by Douglas-Peucker with its
   enclosed area restored, so pixel counts and mesh areas agree. Chains that would cross after
   simplification are simplified less (down to the exact pixel staircase). Every chain is
   stored once, so neighbouring regions share their boundary vertex for vertex.

Voids are what no region covers; electrode pieces inside the electrolyte (dead Li) stay
electrode regions (:mod:`ecmsim.mesh` tags their boundary ``island``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecmsim.core.errors import GeometryError, InputFileError
from ecmsim.geometry import Geometry, Region
from ecmsim.geometry.polyline import crossing_segments, simplify

#: Phase codes of a label array, and their names.
VOID, ELECTRODE, ELECTROLYTE = 0, 1, 2
#: Further named solid phases of N-phase layouts (composite, porous or multi-layer windows).
PARTICLE, DEAD_LI, SEPARATOR = 3, 4, 5
PHASE_NAMES = {"void": VOID, "electrode": ELECTRODE, "electrolyte": ELECTROLYTE,
               "particle": PARTICLE, "dead_li": DEAD_LI, "separator": SEPARATOR}
_ISLAND = 250  # electrode cut off from the top, in pixel measures
_OUTSIDE = 255  # beyond the window, in contour extraction

#: A histogram peak is a phase only if the smoothed histogram dips below this fraction of the
#: peak's height on both sides (before a higher peak): noise bumps on one mode have no such dip.
VALLEY_RATIO = 0.5


@dataclass(frozen=True)
class ImageOptions:
    """How to turn an image into a geometry. Lengths in metres, sizes in pixels.

    Attributes:
        pixel_size_m: edge of one pixel [m].
        phases: phase names of the grey classes from dark to bright, e.g.
            ``("void", "electrode", "electrolyte")``; None: found from the histogram.
        levels: grey thresholds between the classes (image units); None: multi-level Otsu.
        label_values: the image is a label image: phase name -> integer pixel value.
        electrode_side: ``auto``, ``top`` or ``bottom`` (where the electrode is in the image).
        window_x_m, window_y_m: top-left corner of the crop window from the image's top-left
            corner [m]; None: centred horizontally, from the top.
        window_width_m, window_height_m: crop window size [m]; None: the whole image.
        median_px: median filter size [px] before thresholding (1: none).
        method: ``auto`` (histogram peaks; the Gaussian-mixture route of
            :mod:`ecmsim.geometry.image.segment` when the histogram shows fewer phases than there are,
            or misses a dark minority phase with sharp edges), ``histogram`` or ``mixture``.
        scribbles: path of a sparse label image (0 = unmarked, k = the k-th of ``phases``)
            that trains a pixel classifier (:func:`ecmsim.geometry.image.segment.classify_scribbles`).
        thin_parts: give parts thinner than 3 px (slivers, necks, needle tips) to their
            neighbours (:func:`remove_thin_parts`): better mesh angles, fractions move by the
            pixels moved (reported). None: on for every grey route, scribbles and label maps;
            off for label images (given labels are taken as they are).
        label_map: path of a label or probability map from ilastik / Weka (TIFF, PNG, HDF5);
            value k (or channel k) is the k-th of ``phases``.
        min_feature_m: pieces smaller than this squared are cleaned away [m] (physical, so the
            result does not change with resolution); overrides ``min_feature_px``.
        flatten: remove curtaining stripes and smooth shading before the final thresholds.
        min_feature_px: pieces smaller than min_feature_px**2 pixels are cleaned away.
        tolerance_px: contour simplification tolerance [px].
    """

    pixel_size_m: float
    phases: tuple[str, ...] | None = None
    levels: tuple[float, ...] | None = None
    label_values: Mapping[str, int] | None = None
    electrode_side: str = "auto"
    window_x_m: float | None = None
    window_y_m: float | None = None
    window_width_m: float | None = None
    window_height_m: float | None = None
    median_px: int = 5
    method: str = "auto"
    min_feature_m: float | None = None
    scribbles: str | None = None
    label_map: str | None = None
    thin_parts: bool | None = None
    flatten: bool = True
    min_feature_px: int = 4
    tolerance_px: float = 1.0
    median_m: float | None = None
    thin_part_m: float | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.pixel_size_m, int | float) and math.isfinite(self.pixel_size_m)
                and self.pixel_size_m > 0):
            raise GeometryError(f"pixel size must be > 0 m (got {self.pixel_size_m})")
        if self.method not in ("auto", "histogram", "mixture"):
            raise GeometryError(f"segmentation method must be auto, histogram or mixture (got '{self.method}')")
        if self.min_feature_m is not None and not (math.isfinite(self.min_feature_m) and self.min_feature_m >= 0):
            raise GeometryError(f"min_feature_m must be >= 0 m (got {self.min_feature_m})")
        if self.electrode_side not in ("auto", "top", "bottom"):
            raise GeometryError(f"electrode side must be auto, top or bottom (got '{self.electrode_side}')")
        if self.phases is not None:
            _check_phase_names(self.phases, "phases")
            if self.levels is not None and len(self.levels) != len(self.phases) - 1:
                raise GeometryError(f"{len(self.phases)} phases need {len(self.phases) - 1} levels "
                                    f"(got {len(self.levels)})")
        if self.levels is not None:
            if not 1 <= len(self.levels) <= 5 or list(self.levels) != sorted(set(self.levels)):
                raise GeometryError(f"levels must be 1 to 5 increasing grey values (got {list(self.levels)})")
            if self.phases is None:
                raise GeometryError("levels need the phases they separate (dark to bright)")
        if (self.scribbles is not None or self.label_map is not None) and self.phases is None:
            raise GeometryError("scribbles and label maps need the phases their values 1, 2, ... stand for")
        if self.label_values is not None:
            _check_phase_names(tuple(self.label_values), "labels")
            values = list(self.label_values.values())
            if len(set(values)) != len(values) or not all(isinstance(v, int) for v in values):
                raise GeometryError(f"labels must map phases to distinct integers (got {dict(self.label_values)})")
        for name in ("window_x_m", "window_y_m", "window_width_m", "window_height_m"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v >= (0 if name in ("window_x_m", "window_y_m")
                                                                 else 1e-300)):
                raise GeometryError(f"{name} must be {'>= 0' if name.endswith(('x_m', 'y_m')) else '> 0'} m "
                                    f"(got {v})")
        for name in ("median_m", "thin_part_m"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and 0 <= v <= 15 * self.pixel_size_m):
                raise GeometryError(f"{name} must be from 0 to 15 pixels ({15 * self.pixel_size_m:.3g} m; got {v})")
        if not (isinstance(self.median_px, int) and 1 <= self.median_px <= 15):
            raise GeometryError(f"median_px must be a whole number from 1 to 15 (got {self.median_px})")
        if not (isinstance(self.min_feature_px, int) and 0 <= self.min_feature_px <= 100):
            raise GeometryError(f"min_feature_px must be a whole number from 0 to 100 (got {self.min_feature_px})")
        if not (math.isfinite(self.tolerance_px) and 0 <= self.tolerance_px <= 10):
            raise GeometryError(f"tolerance_px must be from 0 to 10 px (got {self.tolerance_px})")


    @property
    def median_size_px(self) -> int:
        """Median filter size [px]: from ``median_m`` when given (the odd pixel count nearest to
        it, at least 1: the same physical filter at any resolution), else ``median_px``."""
        if self.median_m is None:
            return self.median_px
        x = self.median_m / self.pixel_size_m
        n = int(round(x))
        if n % 2 == 0:
            n = n + 1 if x >= n else n - 1
        return max(1, n)

    @property
    def thin_part_px(self) -> int:
        """Parts thinner than this many pixels go to their neighbours: from ``thin_part_m`` when
        given (nearest pixel count, at least 2), else 3."""
        if self.thin_part_m is None:
            return 3
        return max(2, int(round(self.thin_part_m / self.pixel_size_m)))

    @property
    def min_area_px(self) -> int:
        """Pieces smaller than this many pixels are cleaned away (from ``min_feature_m`` if given)."""
        if self.min_feature_m is not None:
            return int(round((self.min_feature_m / self.pixel_size_m) ** 2))
        return self.min_feature_px**2


@dataclass
class ImageResult:
    """What the pipeline made of an image.

    Attributes:
        geometry: the regions in metres (window origin at its bottom-left corner).
        labels: the cleaned, cropped, oriented phase labels (row 0 = window top).
        grey: the grey image over the same window and orientation (for previews).
        pixel_size_m: pixel edge [m].
        info: thresholds, phases, orientation, cleaning counts, pixel measures.
    """

    geometry: Geometry
    labels: np.ndarray
    grey: np.ndarray | None
    pixel_size_m: float
    info: dict = field(default_factory=dict)


def _check_phase_names(names, what: str) -> None:
    unknown = [n for n in names if n not in PHASE_NAMES]
    if unknown:
        raise GeometryError(f"{what}: unknown phase '{unknown[0]}' (known: {', '.join(PHASE_NAMES)})")
    if len(set(names)) != len(names):
        raise GeometryError(f"{what}: each phase may appear once (got {', '.join(names)})")
    if "electrolyte" not in names:
        raise GeometryError(f"{what}: 'electrolyte' is missing (every layout needs the electrolyte; "
                            f"the electrode is optional)")


# ----------------------------------------------------------------------------------------- reading

def read_image(path: str | Path) -> np.ndarray:
    """Pixel values of the first frame of a PNG/TIFF: (H, W) or (H, W, channels), as stored."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: image file not found")
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("P", "PA", "1"):
                img = img.convert("RGB" if mode != "1" else "L")
            data = np.asarray(img)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise InputFileError(f"{path}: cannot read it as an image (PNG or TIFF expected): {err}") from None
    if data.ndim not in (2, 3) or min(data.shape[:2]) < 8:
        raise InputFileError(f"{path}: need a 2D image of at least 8 x 8 pixels (got shape {data.shape})")
    return data


def to_grey(data: np.ndarray) -> np.ndarray:
    """Grey values as float64: RGB(A) by Rec. 601 luma, grey as stored."""
    if data.ndim == 3:
        rgb = data[..., :3].astype(np.float64)
        if data.shape[2] < 3 or (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
            return rgb[..., 0]  # grey stored as RGB: keep its exact values
        return rgb @ np.array([0.299, 0.587, 0.114])
    return data.astype(np.float64)


def read_sidecar(image_path: str | Path) -> dict:
    """The JSON beside an image (same name, ``.json``), or {} when there is none."""
    path = Path(image_path).with_suffix(".json")
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise InputFileError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: expected a JSON object")
    return data


def options_with_sidecar(image_path: str | Path, **given) -> ImageOptions:
    """ImageOptions from the given values, filling unset ones from the image's sidecar JSON.

    Sidecar keys used: ``pixel_size_m``, ``phases``, ``electrode_side``. Given values win.
    """
    if not Path(image_path).is_file():
        raise InputFileError(f"{image_path}: image file not found")
    side = read_sidecar(image_path)
    given = {k: v for k, v in given.items() if v is not None}
    for key in ("pixel_size_m", "phases", "electrode_side"):
        if key not in given and key in side:
            given[key] = tuple(side[key]) if key == "phases" else side[key]
    if "pixel_size_m" not in given:
        raise GeometryError(f"{image_path}: pixel size missing: give it (e.g. --pixel-size 20nm or "
                            f"pixel_size_m) or put pixel_size_m in {Path(image_path).with_suffix('.json').name}")
    return ImageOptions(**given)


# ------------------------------------------------------------------------------------ segmentation

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


def _classify(grey: np.ndarray, thresholds) -> np.ndarray:
    return np.digitize(grey, np.asarray(thresholds, dtype=float)).astype(np.uint8)


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


def _quantum(grey: np.ndarray) -> float:
    """Smallest step between the grey values as recorded (1 for 8 bit, 257 for 8 bit in 16)."""
    distinct = np.unique(grey)
    return float(np.min(np.diff(distinct))) if len(distinct) > 1 else 0.0


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


def _partial_volume(g: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, int]:
    """Reassign the false middle phase along edges between the darkest and brightest phase.

    Where a pore (darkest) meets the brightest phase, blur and the median filter make grey
    values pass through the middle phase's level: a film of the middle phase, at most 2 pixels
    thick, appears along the edge (Li under every void on PLL). Pixels of the middle class that
    lie in a part narrower than 3 pixels and within 2 pixels of both other classes take the
    nearer of those two by grey value. A real film that thin is below the image's resolution.
    """
    from scipy.ndimage import binary_dilation, binary_opening

    square = np.ones((3, 3), dtype=bool)
    middle = classes == 1
    thin = middle & ~binary_opening(middle, structure=square, border_value=1)
    near_dark = binary_dilation(classes == 0, structure=square, iterations=2)
    near_bright = binary_dilation(classes == 2, structure=square, iterations=2)
    band = thin & near_dark & near_bright
    if not band.any():
        return classes, 0
    dark, bright = np.median(g[classes == 0]), np.median(g[classes == 2])
    out = classes.copy()
    out[band] = np.where(g[band] < 0.5 * (dark + bright), 0, 2)
    return out, int(band.sum())


def segment_grey(grey: np.ndarray, options: ImageOptions, source: str = "image") -> tuple[np.ndarray, dict]:
    """Phase labels (VOID, ELECTRODE, ELECTROLYTE) of a grey image, and what was decided."""
    from scipy.ndimage import median_filter

    quantum = _quantum(grey)
    size = options.median_size_px
    g = median_filter(grey, size=size, mode="nearest") if size > 1 else grey
    if options.flatten:
        g = _destripe(g)
    info: dict = {}
    method = "levels" if options.levels is not None else options.method
    if options.levels is not None:
        n = len(options.levels) + 1
        thresholds = np.asarray(options.levels, dtype=float)
        classes = _classify(g, thresholds)
        present = np.bincount(classes.ravel(), minlength=n)
        if np.count_nonzero(present) < 2:
            raise GeometryError(f"{source}: levels {list(options.levels)} leave one phase only "
                                f"(grey values from {grey.min():g} to {grey.max():g})")
    if method in ("auto", "histogram"):
        try:
            n, thresholds, classes = _histogram_route(g, options, quantum, info, source)
            method = "histogram"
        except GeometryError as err:
            if method == "histogram":
                raise
            info["warnings"] = [f"grey histogram: {err}".replace(f"{source}: ", "")
                                + "; used the Gaussian mixture instead"]
            method = "mixture"
        if method == "histogram" and options.method == "auto" and options.phases is None and n == 2:
            dark = _missed_dark_phase(g, thresholds)
            if dark is not None:
                info.setdefault("warnings", []).append(
                    f"the histogram showed 2 phases but a dark class of {100 * dark:.1f} % of the image "
                    f"with sharp edges is there (pores?): used the Gaussian mixture")
                method = "mixture"
    if method == "mixture":
        from ecmsim.geometry.image import segment as seg

        # non-local means instead of the median: the median erases pores a few pixels wide
        g, sigma = seg.denoise(_destripe(grey) if options.flatten else grey)
        want = len(options.phases) if options.phases is not None else None
        # shading first: classes -> per-class flattening -> classes again on the flat image
        # over-split (OVERSPLIT classes), merge neighbours whose common boundary is soft
        # (shading, pore-edge blur), flatten per class, fit again with the merged count
        count = want
        for rnd in range(2 if options.flatten else 1):
            previous = (thresholds, minfo) if rnd == 1 else None
            thresholds, minfo = seg.mixture_classes(g, n_classes=count, min_contrast=sigma)
            if previous is not None and len(previous[0]) == len(thresholds) and len(thresholds) > 0:
                sep = minfo["separation_by_count"].get(str(len(thresholds) + 1), [])
                if sep and min(sep) < NESTED_SEPARATION:
                    # on the flat image a phase can be a spike of a few grey levels: the fit then
                    # spends a broad component on the pores and all edges together, nested on the
                    # spike (separation 0.1 on the shipped composite window: its 3 % pores were
                    # lost); the first fit's thresholds hold on the flattened image (flattened
                    # with them fixed)
                    thresholds, minfo = previous[0], {**previous[1], "second_fit_rejected": {
                        "separation": sep, "why": f"two components nested on one grey level "
                                                  f"(separation < {NESTED_SEPARATION:g})"}}
            classes = _classify(g, thresholds)
            if want is None:
                thresholds, classes, merged = _merge_soft_classes(g, classes, thresholds)
                if merged:
                    minfo["merged_soft_boundaries"] = merged
                count = len(thresholds) + 1
            if rnd == 0 and options.flatten and len(thresholds) > 0:
                g, classes, thresholds = _flatten(g, classes, thresholds, fixed=True)
        if len(thresholds) > 0:
            # a blurred edge crosses the midpoint of its two phases' levels where the edge is:
            # levels from each class's interior (1 px in), not from the mixture, whose minority
            # components are pulled towards the edges
            thresholds = _interior_midpoints(g, classes, len(thresholds) + 1, thresholds)
            classes = _classify(g, thresholds)
            minfo["thresholds_interior_midpoints"] = [float(t) for t in thresholds]
        minfo["noise_sigma"] = sigma
        n = len(thresholds) + 1
        if n < 2:
            raise GeometryError(f"{source}: the image shows one phase only (one grey-level peak, one mixture "
                                f"class after denoising); give the levels or a label image, or check the image")
        if want is not None and n != want:
            raise GeometryError(f"{source}: the grey values hold {n} classes, {want} phases were asked for: "
                                f"give the levels or a label image")
        info["mixture"] = minfo
        info["grey_peaks"] = minfo["class_means"]
    info["segmentation_method"] = method
    if options.flatten:
        # mixture thresholds stay: class modes are ill-defined for small blurred pores
        g, classes, thresholds = _flatten(g, classes, thresholds,
                                          fixed=options.levels is not None or method == "mixture")
    info["thresholds"] = [float(t) for t in thresholds]
    if n == 3 and (options.phases is None or options.phases[0] == "void"):
        classes, info["partial_volume_pixels"] = _partial_volume(g, classes)

    if options.phases is not None:
        names = list(options.phases)
    elif method == "mixture":
        from ecmsim.geometry.image import segment as seg

        names, info["layout"] = seg.name_classes(classes, n)
        unknown = [k for k, name in enumerate(names) if name == "?"]
        if unknown:
            electrode, reason = _which_is_electrode(g, classes, unknown, options.electrode_side,
                                                    void_class=names.index("void") if "void" in names else None,
                                                    source=source)
            names[electrode] = "electrode"
            names[unknown[0] if unknown[1] == electrode else unknown[1]] = "electrolyte"
            info["electrode_rule"] = reason
        for k, name in enumerate(names):
            if name.startswith("="):
                host = int(name[1:])
                info.setdefault("merged_classes", []).append(
                    {"class": k, "fraction": float(np.mean(classes == k)), "into": names[host],
                     "why": "darker than the layer phase but not the darkest (pore edges or shading)"})
                names[k] = names[host]
        if "particle" in names and "electrode" in names:
            # inclusions in a bilayer join the phase around them (recorded), so the standard
            # electrode/electrolyte materials apply; ask for phases with 'particle' to keep them
            for k in [k for k, name in enumerate(names) if name == "particle"]:
                host = _host_class(classes, k, [j for j, nm in enumerate(names) if nm in ("electrode", "electrolyte")])
                info.setdefault("merged_classes", []).append(
                    {"class": k, "fraction": float(np.mean(classes == k)), "into": names[host],
                     "why": "inclusions in a bilayer join the phase around them (give phases with "
                            "'particle' to keep them)"})
                names[k] = names[host]
    else:
        names = ["void", "?", "?"] if n == 3 else ["?", "?"]
        solid = [k for k, name in enumerate(names) if name == "?"]
        electrode, reason = _which_is_electrode(g, classes, solid, options.electrode_side,
                                                void_class=0 if n == 3 else None, source=source)
        names[electrode] = "electrode"
        names[solid[0] if solid[1] == electrode else solid[1]] = "electrolyte"
        info["electrode_rule"] = reason
    if method == "mixture" and options.phases is None and n >= 2 and names[0] == "void" and names[1] != "void":
        host = [k for k, name in enumerate(names) if name == names[1]]
        classes, info["pore_growth"] = _grow_pores(g, classes, 0, host, max(3, options.median_size_px))
        grown = info["pore_growth"]
        if grown.get("applied") and grown["pore_fraction_after"] > (1 + VOID_CHANGE_WARNING) * grown["pore_fraction_before"]:
            info.setdefault("warnings", []).append(
                f"pores grown into {grown['pixels_added']} px of mid-grey patches attached to them (far pore walls "
                f"seen through open pores?): void fraction {grown['pore_fraction_before']:.3f} -> "
                f"{grown['pore_fraction_after']:.3f}; give the phases, levels or scribbles to decide otherwise")
    info["class_phases"] = names
    info["phases"] = list(dict.fromkeys(names))
    lut = np.array([PHASE_NAMES[name] for name in names], dtype=np.uint8)
    return lut[classes], info


#: Pore growth (hysteresis): patches of the phase next to the pores, darker than its grey peak
#: minus PORE_GROWTH_Z of its spread and at least the median filter size across, join a pore
#: they touch.
PORE_GROWTH_Z = 1.0


def _grow_pores(g: np.ndarray, classes: np.ndarray, void: int, host: list[int], width_px: int = 5
                ) -> tuple[np.ndarray, dict]:
    """Grow the pore class into the dark side of its neighbour phase (the classes ``host``, e.g.
    a middle grey class merged into the solid) by hysteresis from the pores. Returns the
    classes and what was decided.

    In a porous ceramic seen by SEM the pores are not flat: the deepest parts are dark, but the
    far walls of an open pore show through in mid grey, between the pore core and the solid.
    An intensity threshold misses them (the mixture found about half the hand-masked pore area
    on public micrographs, IoU 0.31-0.49). The solid's grey peak (mode; spread from the half
    width at half maximum on its bright side, away from the pores) gives a cut at mode -
    PORE_GROWTH_Z x spread; the pixels below it form a band, of which only the parts at least
    ``width_px`` across count (an opening: a blurred pore edge, a 1-2 px rim, and the solid's
    noise speckles are thinner; far-wall patches are not), and those connected to a pore core
    become pore (hysteresis, as in Canny edge linking). Runs on the flattened image of the
    mixture route, only when the phases are not given. ``width_px`` is the median filter size
    (5 px by default): at 3 px the blurred rims of flat pores grow too (10 % pores read as
    15 % in a test), at 7 px less of the far walls is found.
    """
    from scipy.ndimage import binary_opening, gaussian_filter1d
    from scipy.ndimage import label as cc

    in_host = np.isin(classes, host)
    v = g[in_host]
    if len(v) < 100:
        return classes, {"applied": False, "why": "too few pixels"}
    lo, hi = np.percentile(v, [0.5, 99.5])
    hist, edges = np.histogram(v, bins=128, range=(lo, hi))
    centres = 0.5 * (edges[1:] + edges[:-1])
    smooth = gaussian_filter1d(hist.astype(float), 1.5)
    m = int(np.argmax(smooth))
    mu, top = float(centres[m]), float(smooth[m])
    j = m
    while j < len(smooth) - 1 and smooth[j] > 0.5 * top:
        j += 1
    if j == m or smooth[j] > 0.5 * top:
        return classes, {"applied": False, "why": "no half maximum on the bright side of the peak"}
    x_half = centres[j - 1] + (centres[j] - centres[j - 1]) * (smooth[j - 1] - 0.5 * top) / max(
        smooth[j - 1] - smooth[j], 1e-12)
    sd = float((x_half - mu) / math.sqrt(2 * math.log(2)))
    cut = mu - PORE_GROWTH_Z * sd
    decided = {"host_peak": round(mu, 3), "host_spread": round(sd, 3), "cut": round(cut, 3)}
    if not sd > 0:
        return classes, {"applied": False, "why": "no spread", **decided}
    band = in_host & (g < cut)
    # only parts of the band at least width_px across: a blurred pore edge (a 1-2 px rim) and
    # the solid's noise speckles are thinner; the far walls of an open pore are patches
    thick = binary_opening(band, structure=np.ones((width_px, width_px), dtype=bool))
    decided.update({"band_pixels": int(band.sum()), "thick_band_pixels": int(thick.sum()),
                    "min_width_px": width_px})
    band = thick
    comp, n = cc(band | (classes == void))
    seeded = np.zeros(n + 1, dtype=bool)
    seeded[np.unique(comp[classes == void])] = True
    seeded[0] = False
    grow = band & seeded[comp]
    out = classes.copy()
    out[grow] = void
    decided.update({"applied": True, "pixels_added": int(grow.sum()),
                    "pore_fraction_before": round(float(np.mean(classes == void)), 4),
                    "pore_fraction_after": round(float(np.mean(out == void)), 4),
                    "rule": f"patches of the next phase darker than its peak - {PORE_GROWTH_Z:g} x its spread, "
                            f"at least {width_px} px across, connected to a pore, join it (hysteresis)"})
    return out, decided


def _histogram_route(g, options: ImageOptions, quantum: float, info: dict, source: str):
    """Thresholds from histogram peaks (the original route); raises when the peaks do not fit."""
    found, peaks = histogram_levels(g, quantum=quantum)
    if len(peaks) < 2:
        raise GeometryError(f"{source}: the image shows one phase only (its grey-level histogram "
                            f"has a single peak); give the levels or check the image")
    n = len(options.phases) if options.phases is not None else len(peaks)
    thresholds = found if n == len(peaks) else histogram_levels(g, n, quantum=quantum)[0]
    if len(thresholds) != n - 1:
        raise GeometryError(f"{source}: found {len(peaks)} grey phases, {n} were asked for: give the levels")
    info["grey_peaks"] = peaks
    thresholds = phase_levels(g, _classify(g, thresholds), n)
    return n, thresholds, _classify(g, thresholds)


#: Edge contrast (step across a class boundary / class difference) below which two grey classes
#: are one phase split by shading, and above which a dark class is a real phase.
SOFT_EDGE, SHARP_EDGE = 0.3, 0.4
#: Grey classes of the first mixture fit when the phases are not given (then merged).
OVERSPLIT = 5
#: A second mixture fit (on the flattened image) with two neighbouring components closer than
#: this (difference of means over their pooled spread) has nested a broad component on a
#: narrow one: it is rejected for the first fit. Real overlapping phases of the public
#: micrographs separate by 1.0-1.4.
NESTED_SEPARATION = 0.5


def _missed_dark_phase(g: np.ndarray, thresholds) -> float | None:
    """Fraction of a dark minority class that a 3-class mixture finds below the histogram's two
    phases with a sharp edge to them (pores that are a tail of the histogram), else None."""
    from ecmsim.geometry.image import segment as seg

    d, _ = seg.denoise(g)
    cuts, _ = seg.mixture_classes(d, n_classes=3)
    if len(cuts) != 2 or cuts[0] >= thresholds[0]:
        return None
    cl = _classify(d, cuts)
    frac = float(np.mean(cl == 0))
    if not 0.005 <= frac <= 0.5:
        return None
    contrast = seg.edge_contrast(d, cl, 0, 1)
    return frac if contrast is not None and contrast >= SHARP_EDGE else None


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


def _merge_soft_classes(g, classes, thresholds):
    """Merge neighbouring grey classes whose common boundary is soft (shading, not an edge)."""
    from ecmsim.geometry.image import segment as seg

    merged = []
    while len(thresholds) > 1:
        contrast = [seg.edge_contrast(g, classes, k, k + 1) for k in range(len(thresholds))]
        soft = [(c, k) for k, c in enumerate(contrast) if c is not None and c < SOFT_EDGE]
        if not soft:
            break
        c, k = min(soft)
        merged.append({"threshold": float(thresholds[k]), "edge_contrast": round(c, 3)})
        thresholds = np.delete(thresholds, k)
        classes = _classify(g, thresholds)
    return thresholds, classes, merged


def _host_class(classes: np.ndarray, k: int, hosts: list[int]) -> int:
    """The class of ``hosts`` sharing the longest boundary with class ``k``."""
    m = classes == k
    votes = {}
    for h in hosts:
        o = classes == h
        votes[h] = int((m[:-1] & o[1:]).sum() + (m[1:] & o[:-1]).sum() + (m[:, :-1] & o[:, 1:]).sum()
                       + (m[:, 1:] & o[:, :-1]).sum())
    return max(hosts, key=lambda h: votes[h])


def _which_is_electrode(g, classes, solid, side, void_class, source) -> tuple[int, str]:
    """Index (of ``solid``'s two classes) of the electrode, and the rule that decided."""
    from scipy.ndimage import binary_erosion

    a, b = solid
    rows = np.arange(g.shape[0])[:, None]
    centre = {k: float((rows * (classes == k)).sum() / max((classes == k).sum(), 1)) for k in solid}
    if side != "auto":
        upper = a if centre[a] < centre[b] else b
        return (upper if side == "top" else (b if upper == a else a)), f"electrode_side = {side}"
    if void_class is not None:
        void = classes == void_class
        contact = {}
        for k in solid:
            mask = classes == k
            contact[k] = int((void[:-1] & mask[1:]).sum() + (void[1:] & mask[:-1]).sum()
                             + (void[:, :-1] & mask[:, 1:]).sum() + (void[:, 1:] & mask[:, :-1]).sum())
        total = contact[a] + contact[b]
        if total > 0 and max(contact.values()) >= 0.6 * total:
            k = max(solid, key=lambda c: contact[c])
            return k, f"borders {100 * contact[k] / total:.0f} % of the void boundary"
    texture = {}
    for k in solid:
        inner = binary_erosion(classes == k, iterations=3)
        texture[k] = float(np.std(g[inner])) if inner.sum() > 100 else 0.0
    lo_t, hi_t = sorted(texture.values())
    if lo_t > 0 and hi_t >= 1.25 * lo_t:
        electrolyte = max(solid, key=lambda c: texture[c])
        k = a if electrolyte == b else b
        return k, f"smoother phase (grey std {texture[k]:.3g} vs {texture[electrolyte]:.3g})"
    raise GeometryError(f"{source}: cannot tell which phase is the electrode (no void and no texture "
                        f"difference): give the electrode side (top or bottom) or the phases")


def labels_from_label_image(data: np.ndarray, label_values: Mapping[str, int], source: str = "image",
                            info: dict | None = None) -> np.ndarray:
    """Phase labels from an integer label image and the user's phase -> value map."""
    if data.ndim == 3:
        if not np.all(data[..., :3] == data[..., :1]):
            raise GeometryError(f"{source}: a label image must have one channel (or equal RGB channels)")
        data = data[..., 0]
    if not np.issubdtype(data.dtype, np.integer):
        raise GeometryError(f"{source}: a label image must hold whole numbers (got {data.dtype})")
    present = np.unique(data)
    for name, value in label_values.items():
        if value not in present:
            shown = ", ".join(str(v) for v in present[:10])
            raise GeometryError(f"{source}: label {name} = {value} does not occur in the image "
                                f"(values present: {shown})")
    out = np.full(data.shape, 255, dtype=np.uint8)
    for name, value in label_values.items():
        out[data == value] = PHASE_NAMES[name]
    stray_px = out == 255
    if stray_px.any() and stray_px.mean() <= ANTIALIAS_MAX_FRACTION and _all_on_edges(stray_px, data, label_values):
        # anti-aliased edges: in-between values take the nearest assigned value
        values = np.array(sorted(label_values.values()))
        names = {v: n for n, v in label_values.items()}
        nearest = values[np.argmin(np.abs(data[stray_px][:, None].astype(float) - values[None, :]), axis=1)]
        out[stray_px] = np.array([PHASE_NAMES[names[v]] for v in values], dtype=np.uint8)[
            np.searchsorted(values, nearest)]
        if info is not None:
            info.setdefault("notes", []).append(
                f"{int(stray_px.sum())} pixels with unassigned (anti-aliased) values took the nearest "
                f"assigned value")
    if (out == 255).any():
        stray = sorted(set(np.unique(data[out == 255]).tolist()))
        raise GeometryError(f"{source}: pixel values {stray[:10]} are not assigned to a phase "
                            f"(labels: {dict(label_values)})")
    return out


# -------------------------------------------------------------------------------- window, cleaning

def crop_window(labels: np.ndarray, options: ImageOptions, source: str = "image") -> tuple[slice, slice]:
    """Row and column slices of the crop window (x from the left, y from the top of the image)."""
    h, w = labels.shape
    px = options.pixel_size_m
    width = w if options.window_width_m is None else int(round(options.window_width_m / px))
    height = h if options.window_height_m is None else int(round(options.window_height_m / px))
    x0 = (w - width) // 2 if options.window_x_m is None else int(round(options.window_x_m / px))
    y0 = 0 if options.window_y_m is None else int(round(options.window_y_m / px))
    if x0 < 0 or y0 < 0 or x0 + width > w or y0 + height > h or width < 8 or height < 8:
        um = px * 1e6
        raise GeometryError(
            f"{source}: crop window x {x0 * um:.4g}..{(x0 + width) * um:.4g} um, y {y0 * um:.4g}.."
            f"{(y0 + height) * um:.4g} um is not inside the image (0..{w * um:.4g} x 0..{h * um:.4g} um "
            f"at {px:g} m per pixel) or is smaller than 8 x 8 pixels")
    return slice(y0, y0 + height), slice(x0, x0 + width)


def clean_labels(labels: np.ndarray, min_area_px: int) -> tuple[np.ndarray, int]:
    """Merge every 4-connected piece smaller than ``min_area_px`` into the phase that borders
    it most; repeat until nothing changes. Returns the labels and the number of pieces merged."""
    from scipy.ndimage import label as cc

    out = labels.copy()
    merged = 0
    if min_area_px <= 1:
        return out, 0
    for _ in range(5):
        changed = 0
        for phase in np.unique(out).tolist():
            comp, n = cc(out == phase)
            if n == 0:
                continue
            sizes = np.bincount(comp.ravel(), minlength=n + 1)
            small = (sizes < min_area_px)
            small[0] = False
            if not small.any():
                continue
            votes = np.zeros((n + 1, 256), dtype=np.int64)
            for a, b in ((comp[:-1], out[1:]), (comp[1:], out[:-1]), (comp[:, :-1], out[:, 1:]),
                         (comp[:, 1:], out[:, :-1])):
                sel = small[a] & (b != phase)
                np.add.at(votes, (a[sel], b[sel]), 1)
            target = np.argmax(votes, axis=1)
            has = votes.sum(axis=1) > 0
            move = small & has
            if not move.any():
                continue
            pix = move[comp]
            out[pix] = target[comp[pix]].astype(np.uint8)
            changed += int(move.sum())
        merged += changed
        if not changed:
            break
    return out, merged


def remove_thin_parts(labels: np.ndarray, passes: int = 3, width_px: int = 3) -> tuple[np.ndarray, int]:
    """Give away the parts of every phase thinner than 3 px (what a 3 x 3 opening removes:
    slivers, 1-2 px necks between grains, needle tips, strips along the window edge) to the
    phase that borders them most. A mesh with 5 px elements on the boundary can only follow
    such parts with needle triangles (minimum angles of 5-10 degrees); they are also below the
    resolution of the image. Returns the labels and the pixel count moved."""
    from scipy.ndimage import binary_opening, maximum_filter

    out = labels.copy()
    moved = 0
    square = np.ones((width_px, width_px), dtype=bool)
    for _ in range(passes):
        changed = 0
        for phase in np.unique(out).tolist():
            mask = out == phase
            thin = mask & ~binary_opening(mask, structure=square, border_value=1)
            if not thin.any():
                continue
            # the most common other phase in the 5 x 5 neighbourhood
            best, best_count = np.full(out.shape, 255, np.uint8), np.zeros(out.shape)
            for other in np.unique(out).tolist():
                if other == phase:
                    continue
                count = _box_count(out == other, 2)
                take = thin & (count > best_count)
                best[take], best_count[take] = other, count[take]
            go = thin & (best != 255)
            out[go] = best[go]
            changed += int(go.sum())
        moved += changed
        if not changed:
            break
    del maximum_filter
    return out, moved


def _box_count(mask: np.ndarray, r: int) -> np.ndarray:
    from scipy.ndimage import uniform_filter

    return uniform_filter(mask.astype(float), size=2 * r + 1, mode="nearest")


def drop_floating(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Make void every piece of material (electrode or electrolyte, 4-connected) that does not
    reach the bottom row: with the bottom fixed it would have no support. Returns the count."""
    from scipy.ndimage import label as cc

    comp, n = cc(labels != VOID)
    if n == 0:
        return labels, 0
    grounded = np.zeros(n + 1, dtype=bool)
    grounded[np.unique(comp[-1])] = True
    grounded[0] = True
    floating = ~grounded[comp]
    out = labels.copy()
    out[floating] = VOID
    return out, int(n + 1 - grounded.sum())


def fix_pinches(labels: np.ndarray, max_passes: int = 50) -> tuple[np.ndarray, int]:
    """Bridge pixels that touch only by a corner (2x2 blocks a b / c a with b, c != a).

    Such a corner would make a region boundary touch itself, which no mesher accepts. The
    bridge takes one off-diagonal pixel into the pinched phase, preferring material over void.
    """
    out = labels.copy()
    fixed = 0
    for _ in range(max_passes):
        p00, p01, p10, p11 = out[:-1, :-1], out[:-1, 1:], out[1:, :-1], out[1:, 1:]
        main = (p00 == p11) & (p01 != p00) & (p10 != p00)
        anti = (p01 == p10) & (p00 != p01) & (p11 != p01)
        rows, cols = np.nonzero(main | anti)
        if len(rows) == 0:
            return out, fixed
        done = np.zeros(out.shape, dtype=bool)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if done[r:r + 2, c:c + 2].any():
                continue  # a neighbouring fix changed this block: look again next pass
            a00, a01, a10, a11 = out[r, c], out[r, c + 1], out[r + 1, c], out[r + 1, c + 1]
            options = []
            if a00 == a11 and a01 != a00 and a10 != a00:
                options.append((a00, (r, c + 1)))
            if a01 == a10 and a00 != a01 and a11 != a01:
                options.append((a01, (r, c)))
            options.sort(key=lambda o: o[0] == VOID)  # bridge material first
            value, (rr, cc) = options[0]
            out[rr, cc] = value
            done[r:r + 2, c:c + 2] = True
            fixed += 1
    raise GeometryError("could not resolve pixels touching by a corner (the segmentation is too noisy): "
                        "raise min_feature_px or median_px")


# -------------------------------------------------------------------------------------- contours

def labels_to_geometry(labels: np.ndarray, pixel_size_m: float, tolerance_px: float = 1.0,
                       description: str = "") -> Geometry:
    """Regions of the phase labels (row 0 = top of the window) with exactly shared boundaries.

    Needs labels without corner-touching pixels (:func:`fix_pinches`). Coordinates: x to the
    right from the window's left edge, y up from its bottom edge, in metres.
    """
    h, w = labels.shape
    chains = _boundary_chains(labels)
    shapes = _simplified_chains(chains, h, w, tolerance_px)
    regions = []
    for name, label in PHASE_NAMES.items():
        if label == VOID:
            continue
        loops = _loops_of(label, chains, shapes)
        regions.extend(_regions_from_loops(name, loops, pixel_size_m))
    if not regions:
        raise GeometryError("the image holds no electrode or electrolyte after cleaning")
    return Geometry(w * pixel_size_m, h * pixel_size_m, regions, description)


@dataclass
class _Chain:
    corners: list[int]       # corner ids (i * (w + 1) + j), in order
    left: int                # phase on the left of the walk
    right: int
    closed: bool


def _boundary_chains(labels: np.ndarray) -> list[_Chain]:
    """Cut the boundary between different phases (and the window border) into chains that run
    from junction to junction, or around closed loops."""
    h, w = labels.shape
    pad = np.full((h + 2, w + 2), _OUTSIDE, dtype=np.uint8)
    pad[1:-1, 1:-1] = labels
    # horizontal edges on corner row i (i = 0..h), columns j..j+1: above = pad[i, j+1], below = pad[i+1, j+1]
    above, below = pad[:-1, 1:-1], pad[1:, 1:-1]
    hmask = (above != below) & ~(_nothing(above) & _nothing(below))
    hi, hj = np.nonzero(hmask)
    # vertical edges on corner column j (j = 0..w), rows i..i+1: left pixel pad[i+1, j], right pad[i+1, j+1]
    lpx, rpx = pad[1:-1, :-1], pad[1:-1, 1:]
    vmask = (lpx != rpx) & ~(_nothing(lpx) & _nothing(rpx))
    vi, vj = np.nonzero(vmask)
    stride = w + 1
    # walking +x along a horizontal edge the phase above is on the left; walking down (-y) along
    # a vertical edge, the pixel on its right (+x) is on the left
    a = np.concatenate([hi * stride + hj, vi * stride + vj])
    b = np.concatenate([hi * stride + hj + 1, (vi + 1) * stride + vj])
    left = np.concatenate([above[hi, hj], rpx[vi, vj]]).astype(np.int64)
    right = np.concatenate([below[hi, hj], lpx[vi, vj]]).astype(np.int64)
    n_edges = len(a)
    pair = np.minimum(left, right) * 256 + np.maximum(left, right)

    ends = np.concatenate([a, b])
    order = np.argsort(ends, kind="stable")
    corner_sorted = ends[order]
    edge_of = order % n_edges
    uniq, start, degree = np.unique(corner_sorted, return_index=True, return_counts=True)
    # a corner is a junction unless exactly two edges of the same phase pair meet there
    first_pair = pair[edge_of[start]]
    second_pair = pair[edge_of[np.minimum(start + 1, len(edge_of) - 1)]]
    junction = (degree != 2) | (first_pair != second_pair)
    window_corners = np.array([0, w, h * stride, h * stride + w])
    junction |= np.isin(uniq, window_corners)

    incident: dict[int, list[int]] = {}
    for c, s, d in zip(uniq.tolist(), start.tolist(), degree.tolist(), strict=True):
        incident[c] = edge_of[s:s + d].tolist()
    is_junction = dict(zip(uniq.tolist(), junction.tolist(), strict=True))
    a_l, b_l, left_l, right_l = a.tolist(), b.tolist(), left.tolist(), right.tolist()
    used = [False] * n_edges
    chains: list[_Chain] = []

    def walk(corner: int, edge: int) -> _Chain:
        forward = a_l[edge] == corner
        lft, rgt = (left_l[edge], right_l[edge]) if forward else (right_l[edge], left_l[edge])
        corners = [corner]
        while True:
            used[edge] = True
            nxt = b_l[edge] if a_l[edge] == corner else a_l[edge]
            corners.append(nxt)
            if is_junction[nxt] or nxt == corners[0]:
                return _Chain(corners, lft, rgt, closed=not is_junction[nxt])
            e1, e2 = incident[nxt]
            edge = e2 if e1 == edge else e1
            corner = nxt
            if used[edge]:
                return _Chain(corners, lft, rgt, closed=True)

    for c in uniq[junction].tolist():
        for e in incident[c]:
            if not used[e]:
                chains.append(walk(c, e))
    for e in range(n_edges):
        if not used[e]:
            chains.append(walk(a_l[e], e))
    for ch in chains:
        if ch.closed and ch.corners[-1] == ch.corners[0]:
            ch.corners.pop()
    return chains


def _nothing(phase: np.ndarray) -> np.ndarray:
    return (phase == VOID) | (phase == _OUTSIDE)


def _simplified_chains(chains: list[_Chain], h: int, w: int, tolerance_px: float) -> list[np.ndarray]:
    """Pixel-unit polylines of the chains, simplified where nothing crosses (see module doc)."""
    stride = w + 1

    def xy(corners) -> np.ndarray:
        c = np.asarray(corners)
        return np.column_stack([c % stride, h - c // stride]).astype(float)

    raw = [xy(ch.corners) for ch in chains]
    border = [_OUTSIDE in (ch.left, ch.right) for ch in chains]
    ladder = [tolerance_px, tolerance_px / 2, tolerance_px / 4, 0.0, None]  # None: pixel staircase

    def shape(k: int, level: int) -> np.ndarray:
        pts = raw[k]
        if border[k]:
            return pts[[0, -1]]  # straight along one window side (window corners are junctions)
        tol = ladder[level]
        if tol is None:
            return _drop_collinear(pts, chains[k].closed)
        if chains[k].closed:
            mids = 0.5 * (pts + np.roll(pts, -1, axis=0))
            return simplify(mids, tol, closed=True) if tol > 0 else mids
        mids = np.vstack([pts[:1], 0.5 * (pts[:-1] + pts[1:]), pts[-1:]])
        if tol <= 0:
            return mids
        return _clear_window_edge(simplify(mids, tol, closed=False), h, w)

    level = np.zeros(len(chains), dtype=int)
    shapes = [shape(k, 0) for k in range(len(chains))]
    while True:
        crossing = sorted(set(_crossing_chains(shapes, chains, stride)) | set(_sharp_chains(shapes, chains)))
        if not crossing:
            return shapes
        lower = [k for k in crossing if level[k] < len(ladder) - 1 and not border[k]]
        if not lower:  # pixel staircases never cross: this would be a bug
            raise GeometryError("contours cross even as pixel staircases (internal error)")
        for k in lower:
            level[k] += 1
            shapes[k] = shape(k, level[k])


#: A contour corner sharper than this (inside a chain, or between two chains at a junction)
#: makes the chains simplify less: a needle tip that simplification turned into a 5 degree spike
#: forces a 5 degree triangle whatever the mesher does. The pixel staircase has 90 degree corners
#: (45 between pixel-edge midpoints), so the ladder always ends.
MIN_CORNER_DEG = 30.0


def _sharp_chains(shapes: list[np.ndarray], chains: list[_Chain]) -> list[int]:
    """Chains with a corner sharper than MIN_CORNER_DEG, inside them or at a junction."""
    limit = math.radians(MIN_CORNER_DEG)
    out = set()
    leaving: dict[int, list[tuple[float, int]]] = {}
    for k, (pts, ch) in enumerate(zip(shapes, chains, strict=True)):
        if len(pts) >= 3:
            p = np.vstack([pts[-1:], pts, pts[:1]]) if ch.closed else pts
            u, v = p[:-2] - p[1:-1], p[2:] - p[1:-1]
            ang = np.abs(np.arctan2(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0], np.einsum("ij,ij->i", u, v)))
            if np.any(ang < limit):
                out.add(k)
        if not ch.closed and len(pts) >= 2:
            for end, nxt, corner in ((pts[0], pts[1], ch.corners[0]), (pts[-1], pts[-2], ch.corners[-1])):
                d = nxt - end
                leaving.setdefault(corner, []).append((math.atan2(d[1], d[0]), k))
    for items in leaving.values():
        if len(items) < 2:
            continue
        items.sort()
        for (a1, k1), (a2, k2) in zip(items, items[1:] + [(items[0][0] + 2 * math.pi, items[0][1])], strict=True):
            if a2 - a1 < limit:
                out.update((k1, k2))
    return sorted(out)


#: A chain that ends on the window edge drops its inner vertices lying closer to that edge
#: than this [px] (the crossing check puts them back if that makes contours cross): a contour running into the edge at a shallow angle would otherwise
#: leave a sliver between itself and the edge, meshed with needle triangles (13 -> 19 degrees).
EDGE_CLEARANCE_PX = 1.5


def _clear_window_edge(pts: np.ndarray, h: int, w: int) -> np.ndarray:
    def side_distance(p, end):
        d = []
        if end[0] in (0.0, float(w)):
            d.append(abs(p[0] - end[0]))
        if end[1] in (0.0, float(h)):
            d.append(abs(p[1] - end[1]))
        return min(d) if d else np.inf

    keep = np.ones(len(pts), dtype=bool)
    for end in (pts[0], pts[-1]):
        for k in range(1, len(pts) - 1):
            if side_distance(pts[k], end) < EDGE_CLEARANCE_PX:
                keep[k] = False
    return pts[keep] if keep.sum() >= 2 else pts


def _drop_collinear(pts: np.ndarray, closed: bool) -> np.ndarray:
    prev = np.roll(pts, 1, axis=0)
    nxt = np.roll(pts, -1, axis=0)
    turn = np.abs((pts[:, 0] - prev[:, 0]) * (nxt[:, 1] - pts[:, 1]) - (pts[:, 1] - prev[:, 1]) * (nxt[:, 0] - pts[:, 0]))
    keep = turn > 0
    if not closed:
        keep[0] = keep[-1] = True
    return pts[keep]


def _crossing_chains(shapes: list[np.ndarray], chains: list[_Chain], stride: int) -> list[int]:
    starts, ends, sid, eid, owner = [], [], [], [], []
    next_id = -1
    for k, (pts, ch) in enumerate(zip(shapes, chains, strict=True)):
        n = len(pts)
        ids = np.arange(next_id, next_id - n, -1)
        next_id -= n
        if not ch.closed:
            ids[0], ids[-1] = ch.corners[0], ch.corners[-1]  # junctions are shared by id
            seg_a, seg_b = pts[:-1], pts[1:]
            ia, ib = ids[:-1], ids[1:]
        else:
            seg_a, seg_b = pts, np.roll(pts, -1, axis=0)
            ia, ib = ids, np.roll(ids, -1)
        starts.append(seg_a)
        ends.append(seg_b)
        sid.append(ia)
        eid.append(ib)
        owner.append(np.full(len(seg_a), k))
    bad = crossing_segments(np.concatenate(starts), np.concatenate(ends), np.concatenate(sid),
                            np.concatenate(eid))
    return sorted(set(np.concatenate(owner)[bad].tolist()))


def _loops_of(label: int, chains: list[_Chain], shapes: list[np.ndarray]) -> list[np.ndarray]:
    """Closed loops (pixel units) bounding ``label``, the label on their left."""
    loops = []
    outgoing: dict[int, list[tuple[int, bool]]] = {}
    for k, ch in enumerate(chains):
        if label not in (ch.left, ch.right):
            continue
        forward = ch.left == label
        if ch.closed:
            loops.append(shapes[k] if forward else shapes[k][::-1])
            continue
        start = ch.corners[0] if forward else ch.corners[-1]
        outgoing.setdefault(start, []).append((k, forward))
    used = set()
    for start, items in outgoing.items():
        for item in items:
            if item in used:
                continue
            parts = []
            k, forward = item
            first = start
            while True:
                used.add((k, forward))
                pts = shapes[k] if forward else shapes[k][::-1]
                parts.append(pts[:-1])
                end = chains[k].corners[-1] if forward else chains[k].corners[0]
                if end == first:
                    break
                nxt = [it for it in outgoing.get(end, []) if it not in used]
                if len(nxt) != 1:
                    raise GeometryError(f"boundary of {label} does not close at a junction (internal error)")
                k, forward = nxt[0]
            loops.append(np.vstack(parts))
    return loops


def _regions_from_loops(name: str, loops: list[np.ndarray], pixel_size_m: float) -> list[Region]:
    from matplotlib.path import Path as MplPath

    from ecmsim.geometry import polygon_area

    areas = [polygon_area(lp) for lp in loops]
    outers = [(lp, a) for lp, a in zip(loops, areas, strict=True) if a > 0]
    holes = [lp for lp, a in zip(loops, areas, strict=True) if a < 0]
    outers.sort(key=lambda o: o[1])  # smallest first: a hole belongs to the smallest outer around it
    paths = [MplPath(lp) for lp, _ in outers]
    assigned: list[list[np.ndarray]] = [[] for _ in outers]
    for hole in holes:
        probe = hole[0]
        for i, path in enumerate(paths):
            if path.contains_point(probe):
                assigned[i].append(hole)
                break
        else:
            raise GeometryError(f"a hole of the {name} lies in no {name} piece (internal error)")
    return [Region(name, lp * pixel_size_m, [hl * pixel_size_m for hl in hs])
            for (lp, _), hs in zip(outers, assigned, strict=True)]


# -------------------------------------------------------------------------------------- measures

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


# -------------------------------------------------------------------------------------- pipeline

def image_to_geometry(path: str | Path, options: ImageOptions) -> ImageResult:
    """Run the whole pipeline of the module docstring on an image file."""
    path = Path(path)
    data = read_image(path)
    return array_to_geometry(data, options, source=str(path))


def array_to_geometry(data: np.ndarray, options: ImageOptions, source: str = "image") -> ImageResult:
    """The pipeline on pixel values already in memory (grey, RGB or a label image)."""
    info: dict = {"source": source, "image_shape_px": list(data.shape[:2])}
    grey = None
    if options.label_values is not None:
        labels = labels_from_label_image(data, options.label_values, source, info)
        info["phases"] = sorted(options.label_values, key=lambda n: options.label_values[n])
        info["segmentation_method"] = "label image"
    elif options.label_map is not None or options.scribbles is not None:
        from ecmsim.geometry.image import segment as seg

        grey = to_grey(data)
        if options.label_map is not None:
            classes = seg.read_label_map(options.label_map)
            info["segmentation_method"] = f"label map {Path(options.label_map).name}"
        else:
            marks = np.asarray(to_grey(read_image(options.scribbles)), dtype=np.int64)
            classes, info["scribbles"] = seg.classify_scribbles(grey, marks)
            info["segmentation_method"] = "random forest on scribbles"
        if classes.shape != grey.shape:
            raise GeometryError(f"{source}: the label map is {classes.shape[1]} x {classes.shape[0]} px, the "
                                f"image {grey.shape[1]} x {grey.shape[0]} px: they must match")
        lut = np.full(max(int(classes.max()) + 1, len(options.phases) + 1), 255, dtype=np.uint8)
        for k, name in enumerate(options.phases, start=1):
            lut[k] = PHASE_NAMES[name]
        labels = lut[np.clip(classes, 0, len(lut) - 1)]
        if (labels == 255).any():
            stray = sorted(set(np.unique(classes[labels == 255]).tolist()))
            raise GeometryError(f"{source}: label map values {stray[:10]} name no phase "
                                f"(values 1..{len(options.phases)} are {', '.join(options.phases)})")
        info["phases"] = list(options.phases)
    else:
        grey = to_grey(data)
        if not np.all(np.isfinite(grey)):
            raise GeometryError(f"{source}: the image holds non-finite values")
        labels, seg = segment_grey(grey, options, source)
        info.update(seg)
    rows, cols = crop_window(labels, options, source)
    labels = labels[rows, cols]
    grey = grey[rows, cols] if grey is not None else None
    info["window_px"] = {"x0": cols.start, "y0": rows.start, "width": cols.stop - cols.start,
                         "height": rows.stop - rows.start}
    before = _fractions(labels)
    min_area = options.min_area_px
    info["min_feature_area"] = {"px": min_area, "m2": min_area * options.pixel_size_m**2}
    info["median_filter"] = {"px": options.median_size_px, "m": options.median_size_px * options.pixel_size_m}
    labels, info["pieces_merged"] = clean_labels(labels, min_area)
    thin = options.thin_parts
    if thin is None:
        thin = info.get("segmentation_method") != "label image"
    if thin:
        labels, info["thin_part_pixels_moved"] = remove_thin_parts(labels, width_px=options.thin_part_px)
        info["thin_part_width"] = {"px": options.thin_part_px, "m": options.thin_part_px * options.pixel_size_m}
        labels, more = clean_labels(labels, min_area)
        info["pieces_merged"] += more
    has_electrode = bool((labels == ELECTRODE).any()) or "electrode" in info.get("phases", [])
    _require_both(labels, source, electrode=has_electrode)
    labels, grey, info["flipped"] = _orient(labels, grey)
    if info["flipped"]:
        info.setdefault("notes", []).append("image flipped upside down so that the electrode is on top")
    if options.electrode_side != "auto" and info["flipped"] != (options.electrode_side == "bottom"):
        where = "bottom" if info["flipped"] else "top"
        raise GeometryError(f"{source}: the phases put the electrode at the {where} of the image, but the "
                            f"electrode side is given as {options.electrode_side}: check phases/labels")
    info["floating_pieces_removed"] = 0
    info["corner_bridges"] = 0
    for _ in range(10):
        labels, n_float = drop_floating(labels)
        labels, n_pinch = fix_pinches(labels)
        info["floating_pieces_removed"] += n_float
        info["corner_bridges"] += n_pinch
        if n_pinch == 0:
            break
    _require_both(labels, source, electrode=has_electrode)
    info["pixels"] = pixel_measures(labels, options.pixel_size_m)
    _warn_changes(info, before, _fractions(labels))
    geometry = labels_to_geometry(labels, options.pixel_size_m, options.tolerance_px,
                                  f"image {Path(source).name}, {options.pixel_size_m:g} m/px, "
                                  f"window {labels.shape[1]} x {labels.shape[0]} px")
    return ImageResult(geometry, labels, grey, options.pixel_size_m, info)


def _all_on_edges(stray: np.ndarray, data: np.ndarray, label_values: Mapping[str, int]) -> bool:
    """Unassigned pixels are anti-aliasing: each has two assigned phases within 2 px and lies
    between the smallest and largest assigned value."""
    from scipy.ndimage import binary_dilation

    values = np.array(sorted(label_values.values()))
    inside = (data[stray] > values[0]) & (data[stray] < values[-1])
    square = np.ones((3, 3), bool)
    phases_near = sum(binary_dilation(data == v, structure=square, iterations=2)[stray].astype(int)
                      for v in values)
    return bool(np.all(inside & (phases_near >= 2)))


#: A label image may hold up to this fraction of pixels with unassigned values (anti-aliased
#: edges between phases); they take the nearest assigned value. More is an error.
ANTIALIAS_MAX_FRACTION = 0.05


def _fractions(labels: np.ndarray) -> dict[str, float]:
    counts = np.bincount(labels.ravel(), minlength=256)
    return {name: float(counts[k] / labels.size) for name, k in PHASE_NAMES.items()}


#: Cleaning that changes the void fraction by more than this (relative, and 0.2 % absolute) is
#: reported as a warning.
VOID_CHANGE_WARNING = 0.2


def _warn_changes(info: dict, before: dict[str, float], after: dict[str, float]) -> None:
    """Phase fractions before/after cleaning in ``info``; warnings for surprising changes."""
    info["phase_fraction_segmented"] = {k: round(v, 6) for k, v in before.items() if v > 0}
    info["phase_fraction_cleaned"] = {k: round(v, 6) for k, v in after.items() if v > 0}
    warnings = info.setdefault("warnings", [])
    for name, f in before.items():
        if f > 0 and after[name] == 0:
            warnings.append(f"phase '{name}' ({100 * f:.2f} % of the window) vanished in cleaning "
                            f"(pieces smaller than {info['min_feature_area']['px']} px)")
    v0, v1 = before["void"], after["void"]
    if abs(v1 - v0) > 0.002 and abs(v1 - v0) > VOID_CHANGE_WARNING * max(v0, 1e-12):
        warnings.append(f"cleaning changed the void fraction from {v0:.4f} to {v1:.4f}")
    if not warnings:
        del info["warnings"]


def _require_both(labels: np.ndarray, source: str, electrode: bool = True) -> None:
    """The electrolyte must be there, and the electrode too when the layout has one."""
    counts = np.bincount(labels.ravel(), minlength=256)
    for phase, name in ((ELECTRODE, "electrode"), (ELECTROLYTE, "electrolyte"))[0 if electrode else 1:]:
        if counts[phase] == 0:
            other = [n for n, k in PHASE_NAMES.items() if counts[k] > 0]
            raise GeometryError(f"{source}: no {name} in the window after segmentation and cleaning "
                                f"(found: {', '.join(other) or 'nothing'}); an interface needs both phases")


def _orient(labels: np.ndarray, grey):
    if not (labels == ELECTRODE).any():
        return labels, grey, False
    rows = np.arange(labels.shape[0])[:, None]
    centre = {k: float((rows * (labels == k)).sum() / max((labels == k).sum(), 1))
              for k in (ELECTRODE, ELECTROLYTE)}
    if centre[ELECTRODE] > centre[ELECTROLYTE]:
        return labels[::-1].copy(), (grey[::-1].copy() if grey is not None else None), True
    return labels, grey, False


__all__ = ["ImageOptions", "ImageResult", "read_image", "to_grey", "read_sidecar", "options_with_sidecar",
           "histogram_levels", "phase_levels", "segment_grey", "labels_from_label_image", "crop_window", "clean_labels",
           "drop_floating", "fix_pinches", "labels_to_geometry", "crofton_length", "pixel_measures",
           "image_to_geometry", "array_to_geometry", "VOID", "ELECTRODE", "ELECTROLYTE",
           "PHASE_NAMES"]
