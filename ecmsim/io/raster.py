"""A piecewise-linear field on triangles, sampled at the centres of an image's pixels.

The stress map of a run (:mod:`ecmsim.io.plots`) is an image, not a drawing of every triangle: each
rank samples the field of its own cells at the pixel centres its triangles cover (the exact linear
interpolation inside the triangle, what Gouraud shading approximates in colour space), and only the
image goes to the drawing rank. Drawing 257 000 Gouraud triangles twice took matplotlib 1.2 s on one
rank at the end of a 10^6-dof run, and gathering them moved 25 MB; the image of the same map is drawn
in about 0.1 s, its size is set by the figure, not by the mesh.

Pure numpy: a pixel is inside a triangle when its barycentric coordinates are all >= -1e-12 (a
centre on an edge shared by two cells takes one of them; both give the same value for a continuous
field). Pixels no triangle covers (voids, outside the window) are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: At most this many (triangle, pixel) candidates are tested at once [-]: bounds the memory of
#: :func:`rasterize` for any triangle sizes (a few hundred MB of temporaries at most).
CHUNK_CANDIDATES = 4_000_000


@dataclass(frozen=True)
class PixelGrid:
    """``nx`` x ``ny`` pixels covering [x0, x0 + nx dx] x [y0, y0 + ny dy] [m]; row 0 is the bottom
    row (``imshow(..., origin="lower")``)."""

    x0: float
    y0: float
    dx: float
    dy: float
    nx: int
    ny: int

    @classmethod
    def covering(cls, lo, hi, nx: int, max_ny: int | None = None) -> "PixelGrid":
        """Square pixels over the box from ``lo`` to ``hi`` (x, y) [m], ``nx`` across (``ny`` from the
        aspect ratio, at least 1, at most ``max_ny``: then the pixels are taller than wide)."""
        width, height = float(hi[0] - lo[0]), float(hi[1] - lo[1])
        if not (width > 0 and height > 0 and nx >= 1):
            raise ValueError(f"pixel grid over a box {width} x {height} m with {nx} pixels across")
        ny = max(1, round(nx * height / width))
        if max_ny is not None:
            ny = min(ny, max_ny)
        return cls(float(lo[0]), float(lo[1]), width / nx, height / ny, nx, ny)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) [m], for ``imshow(extent=...)``."""
        return (self.x0, self.x0 + self.nx * self.dx, self.y0, self.y0 + self.ny * self.dy)


def rasterize(corners: np.ndarray, values: np.ndarray, grid: PixelGrid) -> np.ndarray:
    """Sample a field linear on each triangle at ``grid``'s pixel centres.

    ``corners`` (n, 3, 2): the triangles' vertices [m]; ``values`` (n, 3, k): the field at them (each
    triangle its own values: a discontinuous field is allowed). Returns (ny, nx, k), NaN where no
    triangle covers the pixel centre.
    """
    corners = np.asarray(corners, dtype=float)
    values = np.asarray(values, dtype=float)
    if corners.ndim != 3 or corners.shape[1:] != (3, 2) or values.shape[:2] != corners.shape[:2]:
        raise ValueError(f"rasterize: corners {corners.shape} and values {values.shape}; need (n, 3, 2) and (n, 3, k)")
    k = values.shape[2]
    image = np.full((grid.ny * grid.nx, k), np.nan)
    if len(corners) == 0:
        return image.reshape(grid.ny, grid.nx, k)
    # pixel (i, j) has its centre at x0 + (i + 1/2) dx, y0 + (j + 1/2) dy: the centres inside a
    # triangle's bounding box are i from ceil(xmin/dx - 1/2) to floor(xmax/dx - 1/2)
    u = (corners[:, :, 0] - grid.x0) / grid.dx - 0.5
    v = (corners[:, :, 1] - grid.y0) / grid.dy - 0.5
    i0 = np.clip(np.ceil(u.min(axis=1)), 0, grid.nx).astype(np.int64)
    i1 = np.clip(np.floor(u.max(axis=1)), -1, grid.nx - 1).astype(np.int64)
    j0 = np.clip(np.ceil(v.min(axis=1)), 0, grid.ny).astype(np.int64)
    j1 = np.clip(np.floor(v.max(axis=1)), -1, grid.ny - 1).astype(np.int64)
    w = np.maximum(i1 - i0 + 1, 0)
    count = w * np.maximum(j1 - j0 + 1, 0)
    # barycentric coordinates in pixel units: l1, l2 from the inverse of [p1 - p0, p2 - p0]
    e1u, e1v = u[:, 1] - u[:, 0], v[:, 1] - v[:, 0]
    e2u, e2v = u[:, 2] - u[:, 0], v[:, 2] - v[:, 0]
    det = e1u * e2v - e2u * e1v
    keep = (count > 0) & (det != 0.0)
    ends = np.cumsum(np.where(keep, count, 0))
    start = 0
    while start < len(corners):
        # the triangles [start, stop) whose candidates fit in one chunk (always at least one)
        done = ends[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, done + CHUNK_CANDIDATES, side="right")))
        t = np.nonzero(keep[start:stop])[0] + start
        start = stop
        if len(t) == 0:
            continue
        tri = np.repeat(t, count[t])
        offset = np.arange(len(tri)) - np.repeat(np.cumsum(count[t]) - count[t], count[t])
        i = i0[tri] + offset % w[tri]
        j = j0[tri] + offset // w[tri]
        du, dv = i - u[tri, 0], j - v[tri, 0]
        l1 = (du * e2v[tri] - dv * e2u[tri]) / det[tri]
        l2 = (dv * e1u[tri] - du * e1v[tri]) / det[tri]
        l0 = 1.0 - l1 - l2
        inside = (l0 >= -1e-12) & (l1 >= -1e-12) & (l2 >= -1e-12)
        tri, l0, l1, l2 = tri[inside], l0[inside, None], l1[inside, None], l2[inside, None]
        image[j[inside] * grid.nx + i[inside]] = l0 * values[tri, 0] + l1 * values[tri, 1] + l2 * values[tri, 2]
    return image.reshape(grid.ny, grid.nx, k)


def merge(images) -> np.ndarray:
    """One image from the images of several ranks (each NaN where its cells do not reach): the first
    value found per pixel, in rank order."""
    images = list(images)
    out = images[0].copy()
    for other in images[1:]:
        empty = np.isnan(out)
        out[empty] = other[empty]
    return out


__all__ = ["CHUNK_CANDIDATES", "PixelGrid", "rasterize", "merge"]
