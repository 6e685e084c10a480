"""The stress map's sampling of a field linear on triangles at pixel centres (ecmsim/io/raster.py)."""

from __future__ import annotations

import numpy as np
import pytest

from ecmsim.io import raster
from ecmsim.io.raster import PixelGrid, merge, rasterize


def _mesh(seed: int = 0, n: int = 12):
    """An irregular triangulation of [0, 2] x [0, 1] (jittered interior nodes): corners (m, 3, 2)."""
    import matplotlib.tri as mtri

    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.linspace(0, 2, 2 * n + 1), np.linspace(0, 1, n + 1))
    x, y = x.ravel(), y.ravel()
    inner = (x > 0) & (x < 2) & (y > 0) & (y < 1)
    x[inner] += rng.uniform(-0.3, 0.3, inner.sum()) / n
    y[inner] += rng.uniform(-0.3, 0.3, inner.sum()) / n
    t = mtri.Triangulation(x, y)
    return np.column_stack([x, y])[t.triangles], t


def _centres(grid: PixelGrid):
    x = grid.x0 + (np.arange(grid.nx) + 0.5) * grid.dx
    y = grid.y0 + (np.arange(grid.ny) + 0.5) * grid.dy
    return np.meshgrid(x, y)


def test_a_linear_field_is_sampled_exactly_at_every_pixel_centre():
    corners, _ = _mesh()
    f = lambda p: np.stack([3.0 * p[..., 0] - 2.0 * p[..., 1] + 1.0, -p[..., 0] + 5.0 * p[..., 1]], axis=-1)  # noqa: E731
    grid = PixelGrid.covering((0, 0), (2, 1), 160)
    image = rasterize(corners, f(corners), grid)
    assert image.shape == (80, 160, 2)
    X, Y = _centres(grid)
    exact = f(np.stack([X, Y], axis=-1))
    assert not np.isnan(image).any()                   # the triangles tile the box: every pixel covered
    assert np.abs(image - exact).max() <= 1e-12 * np.abs(exact).max()


def test_each_pixel_takes_the_triangle_its_centre_lies_in():
    """A discontinuous field, one constant per triangle: the pixel's value names its triangle, which
    matplotlib's point location must confirm (pixel centres on an edge excluded)."""
    corners, t = _mesh(seed=3)
    ids = np.arange(len(corners), dtype=float)
    grid = PixelGrid.covering((0, 0), (2, 1), 97)     # centres not aligned with the mesh
    sampled = rasterize(corners, np.repeat(ids[:, None, None], 3, axis=1), grid)[:, :, 0]
    image = np.rint(sampled)
    assert np.abs(sampled - image).max() < 1e-9           # a constant comes back a constant
    X, Y = _centres(grid)
    found = t.get_trifinder()(X, Y)
    assert (found >= 0).all()
    # matplotlib's triangles are in the same order as the corners
    agree = image == found
    assert agree.mean() > 0.99, agree.mean()
    # where they differ the centre lies on an edge shared by both triangles (either is right)
    for j, i in zip(*np.nonzero(~agree)):
        a, b = int(image[j, i]), int(found[j, i])
        assert len({tuple(p) for p in corners[a]} & {tuple(p) for p in corners[b]}) >= 1


def test_pixels_no_triangle_covers_are_nan():
    corners, _ = _mesh()
    centroid = corners.mean(axis=1)
    hole = np.hypot(centroid[:, 0] - 1.0, centroid[:, 1] - 0.5) < 0.25
    values = np.ones((len(corners), 3, 1))
    grid = PixelGrid.covering((0, 0), (2, 1), 200)
    image = rasterize(corners[~hole], values[~hole], grid)[:, :, 0]
    empty = np.isnan(image)
    X, Y = _centres(grid)
    assert not empty[np.hypot(X - 1.0, Y - 0.5) > 0.35].any()   # far from the hole: covered
    assert empty[np.hypot(X - 1.0, Y - 0.5) < 0.15].all()       # inside it: blank
    e1, e2 = corners[hole, 1] - corners[hole, 0], corners[hole, 2] - corners[hole, 0]
    area = np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]).sum() / 2
    assert empty.mean() * 2.0 == pytest.approx(area, rel=0.05, abs=0)   # the hole's area, to the pixel
    assert np.abs(image[~empty] - 1.0).max() < 1e-12


def test_small_chunks_give_the_same_image(monkeypatch):
    corners, _ = _mesh(seed=1)
    values = np.stack([corners[..., 0] ** 2, corners[..., 1]], axis=-1)
    grid = PixelGrid.covering((0, 0), (2, 1), 120)
    whole = rasterize(corners, values, grid)
    monkeypatch.setattr(raster, "CHUNK_CANDIDATES", 7)   # fewer than one triangle's candidates
    assert np.array_equal(rasterize(corners, values, grid), whole, equal_nan=True)


def test_ranks_images_merge_into_the_whole():
    corners, _ = _mesh(seed=2)
    values = np.stack([corners[..., 0], corners[..., 1]], axis=-1)
    grid = PixelGrid.covering((0, 0), (2, 1), 100)
    left = corners.mean(axis=1)[:, 0] < 1.0
    parts = [rasterize(corners[left], values[left], grid), rasterize(corners[~left], values[~left], grid)]
    assert np.allclose(merge(parts), rasterize(corners, values, grid), rtol=0, atol=1e-14)
    assert not np.isnan(merge(parts)).any()


def test_grid_of_a_tall_box_is_capped_and_bad_boxes_are_refused():
    grid = PixelGrid.covering((0, 0), (1e-6, 10e-6), 100, max_ny=300)
    assert (grid.nx, grid.ny) == (100, 300) and grid.extent == pytest.approx((0, 1e-6, 0, 10e-6), rel=1e-12, abs=0)
    with pytest.raises(ValueError, match="pixel grid"):
        PixelGrid.covering((0, 0), (0, 1), 10)
    with pytest.raises(ValueError, match="rasterize"):
        rasterize(np.zeros((2, 3)), np.zeros((2, 3, 1)), grid)
