"""How to mesh a geometry (:class:`MeshOptions`), the cell-count estimate checked against
``max_cells`` before meshing, and the scaling of a geometry and its options into the length unit
gmsh builds in."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ecmsim.geometry import Geometry, Region


@dataclass(frozen=True)
class MeshOptions:
    """How to mesh a geometry.

    Attributes:
        size_m: target element size away from the interface [m].
        interface_size_m: element size on the interface and void edges [m] (default: size_m).
        refine_distance_m: distance over which the size grows from interface_size_m to size_m
            [m] (default: 10 interface sizes).
        max_cells: refuse to mesh when the estimated triangle count exceeds this.
        tip_size_m: element size at void tips [m] — where the interface meets a void, and at
            void corners sharper than 120 degrees (default: half the interface size). Needs
            a conforming geometry (:mod:`ecmsim.mesh.partition`). 2D only.
        depth_m: extent along z [m]: a 3D window (tetrahedra) extruded from the 2D geometry;
            None: 2D (triangles). ``max_cells`` then counts tetrahedra.
        refine_levels: 2D: mesh with gmsh at 2^L times every size, then split every triangle
            into four L times in dolfinx, in parallel (:mod:`ecmsim.mesh.refine`); None: L from
            the estimated cell count (0 below ``REFINE_MIN_CELLS``).
    """

    size_m: float
    interface_size_m: float | None = None
    refine_distance_m: float | None = None
    max_cells: int = 2_000_000
    tip_size_m: float | None = None
    depth_m: float | None = None
    refine_levels: int | None = None

    @property
    def fine_size_m(self) -> float:
        return self.interface_size_m or self.size_m

    @property
    def tip_size(self) -> float:
        return self.tip_size_m or 0.5 * self.fine_size_m


def estimated_cells(geometry: Geometry, options: MeshOptions) -> float:
    """A quick estimate of the triangle count before meshing (for progress lines and the run's
    cost line): the refined band runs along every boundary between two regions (interface,
    pores, islands, particles: :func:`inner_boundary_length`), at least the window width."""
    return _estimate_cells(geometry, options, max(geometry.width_m, inner_boundary_length(geometry)))


def inner_boundary_length(geometry: Geometry) -> float:
    """Length of the boundaries between regions [m]: the regions' loops without the parts on the
    window's edges, halved (each inner boundary belongs to the two regions that meet there).
    A particle-filled electrolyte has many times the window width of it (a rendering of Li | PLL:
    about 60 widths with its particles, 7 without)."""
    tol = 1e-9 * max(geometry.width_m, geometry.height_m)
    total = 0.0
    for region in geometry.regions:
        for loop in (region.outer, *region.holes):
            a, b = loop, np.roll(loop, -1, axis=0)
            on_edge = np.zeros(len(loop), bool)
            for axis, value in ((0, 0.0), (0, geometry.width_m), (1, 0.0), (1, geometry.height_m)):
                on_edge |= (np.abs(a[:, axis] - value) < tol) & (np.abs(b[:, axis] - value) < tol)
            total += float(np.hypot(*(b - a).T)[~on_edge].sum())
    return 0.5 * total


def _estimate_cells(geometry: Geometry, options: MeshOptions, refine_length: float) -> float:
    """Triangles of an equilateral mesh at the coarse size, plus the band refined around
    ``refine_length`` of interface and void boundary."""
    area = geometry.width_m * geometry.height_m
    fine = options.fine_size_m
    band = min(area, refine_length * (options.refine_distance_m or 10 * fine)) if fine < options.size_m else 0.0
    if options.depth_m:
        tet = 1 / (6 * math.sqrt(2))   # regular tetrahedron of edge h: h^3 / (6 sqrt 2)
        return options.depth_m * ((area - band) / (tet * options.size_m**3) + band / (tet * fine**3))
    tri = math.sqrt(3) / 4
    coarse = area / (tri * options.size_m**2)
    if fine < options.size_m:
        coarse += band / (tri * fine**2)
    return coarse


def _scaled(geometry: Geometry, factor: float) -> Geometry:
    regions = [Region(r.label, r.outer * factor, [h * factor for h in r.holes]) for r in geometry.regions]
    return Geometry(geometry.width_m * factor, geometry.height_m * factor, regions, geometry.description)


def _scaled_options(options: MeshOptions, factor: float) -> MeshOptions:
    def s(v):
        return None if v is None else v * factor
    return MeshOptions(options.size_m * factor, s(options.interface_size_m), s(options.refine_distance_m),
                       options.max_cells, s(options.tip_size_m), s(options.depth_m), options.refine_levels)
