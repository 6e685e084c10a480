"""Steps 4 and 6 of the image pipeline: **crop** to the window, and **orient** it so that the
electrode is on top.

The window is given from the image's top-left corner (x from its left edge, y from its top, as
image viewers show); unset, it is centred horizontally, from the top, and as large as the image
(:func:`crop_window`). The window is checked against the image size before segmentation (a
window outside the image is refused at once), and the labels are cropped after it, so that the
thresholds see the whole image. :func:`_orient` flips the labels (and grey values) upside down
when the electrode lies below the electrolyte: the mesh convention has the electrode on top and
the electrolyte bottom fixed.
"""

from __future__ import annotations

import numpy as np

from ecmsim.core.errors import GeometryError
from ecmsim.geometry.image.phases import ELECTRODE, ELECTROLYTE
from ecmsim.geometry.image.read import ImageOptions


def crop_window(shape: tuple[int, ...], options: ImageOptions, source: str = "image") -> tuple[slice, slice]:
    """Row and column slices of the crop window (x from the left, y from the top of the image) in
    an image of ``shape`` (rows, columns[, channels]) pixels."""
    h, w = shape[:2]
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


def _orient(labels: np.ndarray, grey):
    """Labels and grey values flipped upside down if the electrode lies below the electrolyte
    (centres of their rows), and whether they were."""
    if not (labels == ELECTRODE).any():
        return labels, grey, False
    rows = np.arange(labels.shape[0])[:, None]
    centre = {k: float((rows * (labels == k)).sum() / max((labels == k).sum(), 1))
              for k in (ELECTRODE, ELECTROLYTE)}
    if centre[ELECTRODE] > centre[ELECTROLYTE]:
        return labels[::-1].copy(), (grey[::-1].copy() if grey is not None else None), True
    return labels, grey, False
