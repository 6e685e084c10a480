"""The image pipeline run step by step: an image file or pixel array -> :class:`ImageResult`
(:func:`image_to_geometry`, :func:`array_to_geometry`; the steps are listed in
:mod:`ecmsim.geometry.image`), with the bookkeeping between the steps: the phase fractions before
and after cleaning (warnings for surprising changes) and the check that the phases an interface
needs are there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecmsim.core.errors import GeometryError
from ecmsim.geometry import Geometry
from ecmsim.geometry.image.classes import segment_grey
from ecmsim.geometry.image.clean import clean_labels, drop_floating, fix_pinches, remove_thin_parts, widen_particle_gaps
from ecmsim.geometry.image.contour import MIN_CORNER_DEG, labels_to_geometry
from ecmsim.geometry.image.measure import pixel_measures
from ecmsim.geometry.image.phases import ELECTRODE, ELECTROLYTE, PARTICLE, PHASE_NAMES, VOID_CHANGE_WARNING
from ecmsim.geometry.image.read import ImageOptions, labels_from_label_image, read_image, to_grey
from ecmsim.geometry.image.window import _orient, crop_window


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


def image_to_geometry(path: str | Path, options: ImageOptions) -> ImageResult:
    """Run the whole pipeline (the steps of :mod:`ecmsim.geometry.image`) on an image file."""
    path = Path(path)
    data = read_image(path)
    return array_to_geometry(data, options, source=str(path))


def array_to_geometry(data: np.ndarray, options: ImageOptions, source: str = "image") -> ImageResult:
    """The pipeline on pixel values already in memory (grey, RGB or a label image)."""
    info: dict = {"source": source, "image_shape_px": list(data.shape[:2])}
    # the window needs only the image size: checked before the segmentation (seconds on a
    # composite), so that a window outside the image is said at once
    rows, cols = crop_window(data.shape, options, source)
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
    # particles on request (LLZTO in the polymer), not on label images (like thin parts): a grey
    # route's bright class (a cathode's grains) keeps its pixels
    particles = thin and options.particles and bool((labels == PARTICLE).any())
    if particles:
        info["particle_gap_pixels"] = 0   # particle pixels given to the polymer to widen 1 px gaps
    for _ in range(10):
        labels, n_float = drop_floating(labels)
        n_gap = 0
        if particles:
            labels, n_gap = widen_particle_gaps(labels)
            info["particle_gap_pixels"] += n_gap
        labels, n_pinch = fix_pinches(labels)
        info["floating_pieces_removed"] += n_float
        info["corner_bridges"] += n_pinch
        if n_pinch == 0 and n_gap == 0:
            break
    _require_both(labels, source, electrode=has_electrode)
    info["pixels"] = pixel_measures(labels, options.pixel_size_m)
    _warn_changes(info, before, _fractions(labels))
    min_radius_px = (options.min_radius_m or 0.0) / options.pixel_size_m
    geometry = labels_to_geometry(labels, options.pixel_size_m, options.tolerance_px,
                                  f"image {Path(source).name}, {options.pixel_size_m:g} m/px, "
                                  f"window {labels.shape[1]} x {labels.shape[0]} px", min_radius_px, info)
    if "corner_rounding" in info:
        _report_rounding(info, options.pixel_size_m)
    return ImageResult(geometry, labels, grey, options.pixel_size_m, info)


def _report_rounding(info: dict, pixel_size_m: float) -> None:
    """The rounding's radii in metres too, and a warning where chains kept their corners."""
    r = info["corner_rounding"]
    r["min_radius_m"] = r["min_radius_px"] * pixel_size_m
    r["smallest_radius_m"] = {pair: v * pixel_size_m for pair, v in r["smallest_radius_px"].items()}
    if r["chains_kept"]:
        info.setdefault("warnings", []).append(
            f"{r['chains_kept']} of {r['chains']} contour chains keep their corners: rounded to "
            f"{r['min_radius_m']:.3g} m they would cross a neighbour or make a corner sharper than "
            f"{MIN_CORNER_DEG:g} degrees")


def rounding_line(rounding: dict) -> str:
    """One line on what the corner rounding reached (``info["corner_rounding"]``), for a person."""
    reached = ", ".join(f"{pair} {r * 1e6:.2f}" for pair, r in rounding["smallest_radius_m"].items())
    return (f"corners rounded to {rounding['min_radius_m'] * 1e6:.3g} um ({rounding['chains_rounded']} of "
            f"{rounding['chains']} chains); smallest radius reached [um]: {reached}")


def _fractions(labels: np.ndarray) -> dict[str, float]:
    counts = np.bincount(labels.ravel(), minlength=256)
    return {name: float(counts[k] / labels.size) for name, k in PHASE_NAMES.items()}


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
