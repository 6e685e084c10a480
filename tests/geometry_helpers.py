"""Shared by the geometry and image tests: paths, small meshes without dolfinx, measures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import ROOT, SCENARIOS  # noqa: F401  (re-exported for the geometry tests)

from ecmsim.mesh import MeshOptions, build_gmsh_model, gmsh_model
from ecmsim.mesh.report import MeshArrays, gmsh_arrays, mesh_report

MESHES = ROOT / "meshes"


def mesh_arrays(geometry, options: MeshOptions) -> MeshArrays:
    """Mesh with gmsh in this process and return the arrays (no dolfinx)."""
    with gmsh_model():
        build_gmsh_model(geometry, options)
        return gmsh_arrays()


def report_of(geometry, options: MeshOptions) -> tuple[dict, MeshArrays]:
    arrays = mesh_arrays(geometry, options)
    return mesh_report(arrays, geometry.width_m, geometry.height_m), arrays


def read_png(path: Path) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im)


def circular_correlation_length(x: np.ndarray, h: np.ndarray) -> float:
    """Lag where the circular autocorrelation of a periodic profile (h[-1] == h[0]) falls to 1/e,
    after resampling it on a uniform grid."""
    n = len(x) - 1
    grid = np.linspace(x[0], x[-1], n + 1)[:-1]
    f = np.interp(grid, x, h)
    f = f - f.mean()
    c = np.fft.irfft(np.abs(np.fft.rfft(f)) ** 2, n)
    c /= c[0]
    lags = grid - grid[0]
    i = int(np.argmax(c[: n // 2] < np.exp(-1)))
    return float(np.interp(np.exp(-1), [c[i], c[i - 1]], [lags[i], lags[i - 1]]))


def interface_polyline(geometry) -> np.ndarray:
    """The electrolyte's top boundary from x = 0 to x = width (the generators' layout)."""
    lyte = [r for r in geometry.regions if r.label == "electrolyte"][0].outer
    top = lyte[2:][::-1]  # the generators write [bottom-left, bottom-right, interface reversed]
    assert abs(top[0, 0]) <= 1e-9 * geometry.width_m and np.isclose(top[-1, 0], geometry.width_m, atol=0)
    return top
