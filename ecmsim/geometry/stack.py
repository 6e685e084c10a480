"""FIB-SEM stacks (3D): slices -> aligned volume -> phase labels -> tetrahedral mesh with the
same physical tags as the 2D meshes.

1. **read** a multi-page TIFF (tifffile) or a folder of PNG/TIFF slices (sorted by name) into
   a (slices, rows, columns) volume; the voxel size is (slice spacing, pixel, pixel).
2. **align**: FIB-SEM slices drift. The shift between consecutive slices is measured by phase
   cross-correlation (:func:`skimage.registration.phase_cross_correlation`, 1/10 px), summed
   into a drift per slice and undone (integer-pixel roll, so labels stay labels); the drift
   table is reported. Shifts beyond ``max_drift_px`` are refused as misregistration.
3. **segment** like 2D (:mod:`ecmsim.geometry.image`): the slices around the middle one, side
   by side (up to ``MOSAIC_MAX_PIXELS``), fix the thresholds and phase names, every slice is
   classified with them (same phases throughout the stack); or a label stack with
   ``label_values``.
4. **coarsen** by an integer ``voxel_factor`` (majority vote) to bound the mesh size.
5. **mesh**: the labels become tetrahedra in :mod:`ecmsim.mesh.voxel`.

Coordinates: x along image columns, y up (electrode on top, as in 2D), z along the stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecmsim.core.errors import GeometryError, InputFileError

@dataclass
class StackResult:
    """A segmented, aligned stack. labels: (slices, rows, cols), row 0 at the top."""

    labels: np.ndarray
    voxel_size_m: tuple[float, float, float]  # (z, y, x)
    info: dict = field(default_factory=dict)


def read_stack(path: str | Path) -> np.ndarray:
    """(slices, rows, cols) volume from a multi-page TIFF or a folder of PNG/TIFF slices."""
    import tifffile

    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".png", ".tif", ".tiff", ".bmp"))
        if len(files) < 2:
            raise InputFileError(f"{path}: a stack folder needs at least 2 slices (PNG/TIFF), found {len(files)}")
        from ecmsim.geometry.image import read_image, to_grey

        slices = [to_grey(read_image(f)) for f in files]
        if len({s.shape for s in slices}) != 1:
            raise InputFileError(f"{path}: the slices differ in size ({sorted({s.shape for s in slices})[:3]})")
        return np.stack(slices)
    if not path.is_file():
        raise InputFileError(f"{path}: stack not found")
    try:
        data = tifffile.imread(path)
    except Exception as err:  # noqa: BLE001 - any reader failure is one bad-input line
        raise InputFileError(f"{path}: cannot read it as a multi-page TIFF: {err}") from None
    if data.ndim == 4 and data.shape[-1] in (3, 4):
        data = data[..., :3].astype(float) @ np.array([0.299, 0.587, 0.114])
    if data.ndim != 3 or data.shape[0] < 2:
        raise InputFileError(f"{path}: need a stack of at least 2 slices (shape {data.shape})")
    return data


def align(volume: np.ndarray, max_drift_px: float = 50.0) -> tuple[np.ndarray, dict]:
    """Undo slice-to-slice drift (integer pixels); returns the aligned volume and the drift table."""
    from scipy.ndimage import gaussian_filter
    from skimage.registration import phase_cross_correlation

    from ecmsim.geometry.image.flatten import _destripe

    # registered on destriped, smoothed slices: curtains differ from slice to slice and would
    # pull the column shift towards zero
    reg = [gaussian_filter(_destripe(s.astype(float)), 1.0) for s in volume]
    steps = [np.zeros(2)]
    for k in range(1, len(volume)):
        shift, _, _ = phase_cross_correlation(reg[k - 1], reg[k], upsample_factor=10, normalization=None)
        steps.append(np.asarray(shift, dtype=float))
    drift = np.cumsum(steps, axis=0)  # shift that brings slice k onto slice 0 (rows, cols)
    if np.abs(drift).max() > max_drift_px:
        raise GeometryError(f"slice drift up to {np.abs(drift).max():.1f} px (> {max_drift_px:g} px): the stack "
                            f"looks misregistered; align it first or raise max_drift_px")
    out = np.empty_like(volume)
    whole = np.round(drift).astype(int)
    for k in range(len(volume)):
        out[k] = np.roll(volume[k], tuple(whole[k]), axis=(0, 1))
    margin = np.abs(whole).max(axis=0)
    info = {"drift_px": drift.round(2).tolist(), "max_drift_px": float(np.abs(drift).max()),
            "cropped_margin_px": margin.tolist()}
    r, c = margin
    out = out[:, r:out.shape[1] - r or None, c:out.shape[2] - c or None]  # rolled-in edges
    return out, info


#: The grey classes of a stack come from the slices around the middle one, side by side, up to
#: this many pixels: a single small slice (76 x 60 px) gave the histogram route a noise peak
#: (void 0.50 of the window against 0.06); the whole stack (8 slices) finds the three phases.
MOSAIC_MAX_PIXELS = 1_000_000


def mosaic_slices(shape: tuple[int, int, int], middle: int) -> list[int]:
    """Indices of the slices pooled for segmentation: the middle one and its neighbours, nearest
    first, while the mosaic holds at most MOSAIC_MAX_PIXELS (at least the middle slice)."""
    n, h, w = shape
    count = max(1, min(n, MOSAIC_MAX_PIXELS // max(h * w, 1)))
    order = sorted(range(n), key=lambda k: (abs(k - middle), k))[:count]
    return sorted(order)


def segment_stack(volume: np.ndarray, pixel_size_m: float, slice_spacing_m: float, label_values=None,
                  do_align: bool = True, voxel_factor: int = 1, **image_options) -> StackResult:
    """Aligned, segmented, coarsened labels of a grey (or label) stack."""
    from ecmsim.geometry import image as img

    info: dict = {"shape_in": list(volume.shape)}
    if label_values is None:
        volume = volume.astype(float)  # integer grey would wrap in differences
    if do_align and label_values is None:
        volume, info["alignment"] = align(volume)
    if label_values is not None:
        present = set(np.unique(volume).tolist())
        shown = ", ".join(str(v) for v in sorted(present)[:10])
        if label_values.get("electrolyte") not in present:
            raise GeometryError(f"label stack: label electrolyte = {label_values.get('electrolyte')} occurs in no "
                                f"slice (values present: {shown})")
        # a phase may be absent from some slices (a pore through a few of them) or from all of them
        # (a stack without voids): said, not refused; unassigned values are still refused per slice
        warnings = info.setdefault("warnings", [])
        for name, value in label_values.items():
            slices = [k for k, s in enumerate(volume) if (s == value).any()]
            if not slices:
                warnings.append(f"label {name} = {value} occurs in no slice (values present: {shown})")
            elif len(slices) < len(volume):
                warnings.append(f"label {name} = {value} occurs in {len(slices)} of {len(volume)} slices")
        if not warnings:
            del info["warnings"]
        labels = np.stack([img.labels_from_label_image(s, {n: v for n, v in label_values.items() if (s == v).any()},
                                                       source=f"label stack, slice {k}")
                           for k, s in enumerate(volume)])
        info["phases"] = sorted(label_values, key=lambda n: label_values[n])
    else:
        middle = len(volume) // 2
        opts = img.ImageOptions(pixel_size_m=pixel_size_m, **image_options)
        take = mosaic_slices(volume.shape, middle)
        if len(take) == 1:
            lab_mid, seg = img.segment_grey(volume[middle], opts)
        else:
            # the slices around the middle side by side: the same rows (the layout, top to
            # bottom, stays), len(take) times the pixels in the histogram
            mosaic, seg = img.segment_grey(np.hstack([volume[k] for k in take]), opts)
            w = volume.shape[2]
            at = take.index(middle)
            lab_mid = mosaic[:, at * w:(at + 1) * w]
        info["middle_slice"] = {k: v for k, v in seg.items() if k in (
            "segmentation_method", "thresholds", "class_phases", "phases", "warnings", "electrode_rule")}
        info["middle_slice"]["slices_pooled"] = [int(k) for k in take]
        if seg.get("segmentation_method") == "texture":
            labels = _texture_slices(volume, middle, lab_mid, opts)
            info["phases"] = [n for n, k in img.PHASE_NAMES.items() if (labels == k).any()]
        else:
            labels = _grey_level_slices(volume, middle, lab_mid, seg, pixel_size_m, image_options)
            info["phases"] = seg["phases"]
    if voxel_factor > 1:
        labels = coarsen(labels, voxel_factor)
    # electrode on top (row 0): flip rows if the electrode sits lower than the electrolyte
    rows = np.arange(labels.shape[1])[None, :, None]
    e, s = labels == img.ELECTRODE, labels == img.ELECTROLYTE
    info["flipped"] = bool(e.any() and s.any() and (rows * e).sum() / e.sum() > (rows * s).sum() / s.sum())
    if info["flipped"]:
        labels = labels[:, ::-1].copy()
    fractions = np.bincount(labels.ravel(), minlength=256) / labels.size
    info["phase_fraction"] = {n: float(fractions[k]) for n, k in img.PHASE_NAMES.items() if fractions[k] > 0}
    size = (slice_spacing_m * voxel_factor, pixel_size_m * voxel_factor, pixel_size_m * voxel_factor)
    return StackResult(labels, size, info)


def _grey_level_slices(volume: np.ndarray, middle: int, lab_mid: np.ndarray, seg: dict, pixel_size_m: float,
                       image_options: dict) -> np.ndarray:
    """Every slice classified with the thresholds and phase names found on the pooled slices."""
    from ecmsim.geometry import image as img

    names = seg["class_phases"]
    fixed = img.ImageOptions(pixel_size_m=pixel_size_m, levels=tuple(seg["thresholds"]),
                             phases=tuple(names) if len(set(names)) == len(names) else None,
                             **{k: v for k, v in image_options.items() if k not in ("phases", "levels", "method")})
    labels = np.empty(volume.shape, np.uint8)
    lut = np.array([img.PHASE_NAMES[n] for n in names], np.uint8)
    for k, sl in enumerate(volume):
        if k == middle:
            labels[k] = lab_mid
            continue
        if fixed.phases is not None:
            labels[k] = img.segment_grey(sl, fixed)[0]
        else:  # merged classes: classify with the thresholds and map through the class names
            g = sl.astype(float)
            labels[k] = lut[np.digitize(g, np.asarray(seg["thresholds"]))]
    return labels


def _texture_slices(volume: np.ndarray, middle: int, lab_mid: np.ndarray, opts) -> np.ndarray:
    """Every slice read by texture (the pooled slices were: a composite electrolyte, issue 25). The
    texture route has no thresholds to carry over: each slice is read on its own by the same
    forest (trained once per process), about 5 s of CPU per 800 x 400 px slice."""
    from dataclasses import replace

    from ecmsim.geometry import image as img

    texture = replace(opts, method="texture")
    labels = np.empty(volume.shape, np.uint8)
    for k, sl in enumerate(volume):
        labels[k] = lab_mid if k == middle else img.segment_grey(sl, texture)[0]
    return labels


def coarsen(labels: np.ndarray, f: int) -> np.ndarray:
    """Majority vote over f x f x f blocks (the volume is trimmed to whole blocks)."""
    z, y, x = (s // f for s in labels.shape)
    blocks = labels[:z * f, :y * f, :x * f].reshape(z, f, y, f, x, f).transpose(0, 2, 4, 1, 3, 5).reshape(z, y, x, -1)
    counts = np.stack([(blocks == v).sum(-1) for v in range(int(labels.max()) + 1)], axis=-1)
    return np.argmax(counts, axis=-1).astype(np.uint8)
