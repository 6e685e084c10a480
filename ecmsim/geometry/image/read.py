"""Step 1 of the image pipeline, **read**: image files, grey values, the sidecar JSON, label
images, and the options of the whole pipeline (:class:`ImageOptions`).

- :func:`read_image` reads the first frame of a PNG or TIFF (8/16 bit, grey or RGB) as stored;
  :func:`to_grey` turns RGB into grey by Rec. 601 luma (grey stored as RGB keeps its exact
  values).
- :func:`options_with_sidecar` fills the options not given from the JSON beside the image
  (same name, ``.json``: ``pixel_size_m``, ``phases``, ``electrode_side``); given values win.
- :func:`labels_from_label_image`: an image whose integer values name the phases
  (``label_values``) is taken as phase labels, skipping segmentation. Every value must be
  assigned a phase and every assigned value must occur, except that up to
  ``ANTIALIAS_MAX_FRACTION`` of the pixels may hold in-between values on the edges between
  phases (anti-aliasing): they take the nearest assigned value.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecmsim.core.errors import GeometryError, InputFileError
from ecmsim.geometry.image.phases import PHASE_NAMES, _check_phase_names


#: Segmentation routes of grey images (``ImageOptions.method``).
METHODS = ("auto", "histogram", "mixture", "texture")


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
            or misses a dark minority phase with sharp edges; the texture route of
            :mod:`ecmsim.geometry.image.texture` when it reads an electrode over a composite
            electrolyte that the grey levels misread), ``histogram``, ``mixture`` or ``texture``.
        particles: keep the bright particles of a composite electrolyte as ``particle`` regions
            (LLZTO in the polymer of PLL) instead of giving them to the phase around them.
        scribbles: path of a sparse label image (0 = unmarked, k = the k-th of ``phases``)
            that trains a pixel classifier (:func:`ecmsim.geometry.image.segment.classify_scribbles`).
        thin_parts: give parts thinner than 3 px (slivers, necks, needle tips) to their
            neighbours (:func:`~ecmsim.geometry.image.clean.remove_thin_parts`): better mesh
            angles, fractions move by the pixels moved (reported). None: on for every grey route,
            scribbles and label maps; off for label images (given labels are taken as they are).
        label_map: path of a label or probability map from ilastik / Weka (TIFF, PNG, HDF5);
            value k (or channel k) is the k-th of ``phases``.
        min_feature_m: pieces smaller than this squared are cleaned away [m] (physical, so the
            result does not change with resolution); overrides ``min_feature_px``.
        flatten: remove curtaining stripes and smooth shading before the final thresholds.
        min_feature_px: pieces smaller than min_feature_px**2 pixels are cleaned away.
        tolerance_px: contour simplification tolerance [px].
        min_radius_m: round the contours' corners to this curvature radius [m]
            (:func:`ecmsim.geometry.polyline.round_corners`, enclosed areas kept): for a moving
            interface whose offset along fixed normals needs radii above the plated thickness.
            None: the simplified contour, corners as the pixels give them.
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
    particles: bool = False
    min_radius_m: float | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.pixel_size_m, int | float) and math.isfinite(self.pixel_size_m)
                and self.pixel_size_m > 0):
            raise GeometryError(f"pixel size must be > 0 m (got {self.pixel_size_m})")
        if self.method not in METHODS:
            raise GeometryError(f"segmentation method must be {', '.join(METHODS[:-1])} or {METHODS[-1]} "
                                f"(got '{self.method}')")
        if self.method == "texture" and (self.phases is not None or self.levels is not None):
            raise GeometryError("the texture route names its phases itself (void, electrode, electrolyte, "
                                "particle): give no phases or levels with method = texture")
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
        if self.min_radius_m is not None and not (math.isfinite(self.min_radius_m)
                                                  and 0 < self.min_radius_m <= 200 * self.pixel_size_m):
            raise GeometryError(f"min_radius_m must be > 0 and at most 200 pixels ({200 * self.pixel_size_m:.3g} m; "
                                f"got {self.min_radius_m:.3g})")


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


#: Largest image read (pixels): a 144 Mpx image took minutes before meshing even started.
MAX_IMAGE_PIXELS = 50_000_000


def read_image(path: str | Path) -> np.ndarray:
    """Pixel values of the first frame of a PNG/TIFF: (H, W) or (H, W, channels), as stored."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: image file not found")
    try:
        with warnings.catch_warnings():   # our own limit below says it in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            width, height = img.size    # from the header: refuse before decoding
            if width * height > MAX_IMAGE_PIXELS:
                raise InputFileError(f"{path}: {width} x {height} px ({width * height / 1e6:.0f} Mpx), more than the "
                                     f"{MAX_IMAGE_PIXELS / 1e6:.0f} Mpx ecmsim segments and meshes in reasonable time "
                                     "and memory: crop it to the region of interest (or downsample it) first")
            img.load()
            mode = img.mode
            if mode in ("P", "PA", "1"):
                img = img.convert("RGB" if mode != "1" else "L")
            data = np.asarray(img)
    except Image.DecompressionBombError:  # PIL refuses at open: beyond twice its own limit
        raise InputFileError(f"{path}: more than the {MAX_IMAGE_PIXELS / 1e6:.0f} Mpx ecmsim segments and meshes in "
                             "reasonable time and memory: crop it to the region of interest first") from None
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


#: A label image may hold up to this fraction of pixels with unassigned values (anti-aliased
#: edges between phases); they take the nearest assigned value. More is an error.
ANTIALIAS_MAX_FRACTION = 0.05


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
    shown = ", ".join(str(v) for v in present[:10])
    absent = [name for name, value in label_values.items() if value not in present]
    if "electrolyte" in absent:
        raise GeometryError(f"{source}: label electrolyte = {label_values['electrolyte']} does not occur in the "
                            f"image (values present: {shown}); every window needs its electrolyte")
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
        typo = "".join(f"; label {n} = {label_values[n]} does not occur in the image (values present: {shown})"
                       for n in absent)
        raise GeometryError(f"{source}: pixel values {stray[:10]} are not assigned to a phase "
                            f"(labels: {dict(label_values)}){typo}")
    if absent and info is not None:
        # a label map shared by several images names phases that one of them lacks (a section
        # without voids): legal, but worth a word in case a value is wrong
        info.setdefault("warnings", []).append(
            f"label{'s' if len(absent) > 1 else ''} {', '.join(f'{n} = {label_values[n]}' for n in absent)} "
            f"{'do' if len(absent) > 1 else 'does'} not occur in this image (values present: {shown})")
    return out


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
