"""3D windows: [0, W] x [0, H] x [0, depth] in tetrahedra, with the tag names of the 2D meshes.

With a depth (``geometry.depth_m``), the 2D model is extruded along z from z = 0 to z = depth
before meshing: every region becomes a prism-shaped volume, every tagged curve a tagged surface
with the same name, and the two new window faces are ``front`` (z = 0) and ``back`` (z = depth).
A geometry with a ``solid`` (:mod:`ecmsim.geometry.solid3d`: a rough surface, half-spheroidal
voids) is built as genuine 3D shapes in OpenCASCADE instead; both are then tagged by the pieces
on the sides of each surface and meshed the same way.
"""

from __future__ import annotations

import numpy as np

from ecmsim.core.errors import MeshError
from ecmsim.geometry import Geometry
from ecmsim.mesh.options import MeshOptions, _scaled, _scaled_options
from ecmsim.mesh.session import generate_scaled
from ecmsim.mesh.tags import _REFINED, CELL_IDS, FACET_IDS, _ids, _name_boundaries, _window_side


def _extrude_and_mesh(geometry: Geometry, options: MeshOptions, surface_label: dict[int, str],
                      facet_groups: dict[str, list[int]], unit: float) -> dict[str, dict[str, int]]:
    """Extrude the (scaled) 2D model along z by ``options.depth_m``, tag volumes and surfaces, mesh
    with tetrahedra and scale back to metres (see the module docstring)."""
    import gmsh

    depth = options.depth_m
    occ = bool(gmsh.model.occ.getEntities(2))
    kernel = gmsh.model.occ if occ else gmsh.model.geo
    sources = sorted(surface_label)
    out = kernel.extrude([(2, s) for s in sources], 0.0, 0.0, depth)
    kernel.synchronize()
    volumes = [t for d, t in out if d == 3]
    if len(volumes) != len(sources):
        raise MeshError(f"gmsh extruded {len(sources)} surfaces into {len(volumes)} volumes")
    volume_label = {v: surface_label[s] for v, s in zip(volumes, sources, strict=True)}
    if occ:   # separately extruded prisms: make their shared faces one face
        try:
            _, piece_map = gmsh.model.occ.fragment([(3, v) for v in volumes], [])
        except Exception as err:
            raise MeshError(f"gmsh could not join the extruded regions: {err}") from None
        gmsh.model.occ.synchronize()
        volume_label = {t: volume_label[v] for v, pieces in zip(volumes, piece_map, strict=True)
                        for d, t in pieces if d == 3}

    return _tag_and_mesh_3d(geometry, options, volume_label, unit)


def _solid_and_mesh(geometry, options: MeshOptions, unit: float) -> dict[str, dict[str, int]]:
    """A genuinely 3D window (``geometry.solid``, ecmsim.geometry.solid3d) built in OpenCASCADE in
    the scaled length unit, then tagged and meshed like an extruded one."""
    import gmsh

    try:
        volume_label = geometry.solid.build(gmsh.model.occ, 1.0 / unit)
    except MeshError:
        raise
    except Exception as err:
        raise MeshError(f"gmsh could not build the 3D window ({geometry.description}): {err}") from None
    gmsh.model.occ.synchronize()
    band = tuple(y / unit for y in geometry.solid.refine_band_m())
    return _tag_and_mesh_3d(_scaled(geometry, 1.0 / unit), _scaled_options(options, 1.0 / unit), volume_label, unit,
                            band)


def _tag_and_mesh_3d(geometry: Geometry, options: MeshOptions, volume_label: dict[int, str],
                     unit: float, band: tuple[float, float] | None = None) -> dict[str, dict[str, int]]:
    """Tag the volumes and the boundary surfaces of a 3D window [0, W] x [0, H] x [0, depth] (scaled
    units) by the pieces on their sides, mesh with tetrahedra, scale back to metres.

    ``band`` = (y_low, y_high): refine in that slab (growing to the coarse size over the refinement
    distance) instead of around the refined surfaces: a distance field to a large curved
    OpenCASCADE surface (the 3D rough interface) costs minutes, the slab nothing."""
    import gmsh

    depth = options.depth_m
    W, H = geometry.width_m, geometry.height_m
    tol = 1e-5 * max(W, H, depth)    # OpenCASCADE pads bounding boxes by its tolerance (~1e-7)
    sides_of, border_of = {}, {}
    for _, surf in gmsh.model.getEntities(2):
        up, _ = gmsh.model.getAdjacencies(2, surf)
        sides_of[surf] = [v for v in up if v in volume_label]
        xmin, ymin, zmin, xmax, ymax, zmax = gmsh.model.getBoundingBox(2, surf)
        border_of[surf] = None
        if len(up) == 1:
            if zmax < tol:
                border_of[surf] = "front"
            elif zmin > depth - tol:
                border_of[surf] = "back"
            else:
                border_of[surf] = _window_side(np.array([[xmin, ymin], [xmax, ymax]]), W, H, tol)
    groups: dict[str, list[int]] = {}
    for surf, name in _name_boundaries(sides_of, border_of, volume_label).items():
        groups.setdefault(name, []).append(surf)

    cell_ids = _ids(sorted(set(volume_label.values())), CELL_IDS)
    facet_ids = _ids(sorted(groups), FACET_IDS)
    for name, ident in cell_ids.items():
        gmsh.model.addPhysicalGroup(3, [t for t, lab in volume_label.items() if lab == name], ident, name)
    for name, ident in facet_ids.items():
        gmsh.model.addPhysicalGroup(2, groups[name], ident, name)

    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", options.size_m)
    refined = [s for name in _REFINED for s in groups.get(name, [])]
    fine = options.fine_size_m
    if band is not None and fine < options.size_m:
        grow = options.refine_distance_m or 10 * fine
        field = gmsh.model.mesh.field
        slab = field.add("MathEval")
        field.setString(slab, "F", f"{fine} + {options.size_m - fine} * Min(1, Max(0, Max({band[0]} - y, "
                                   f"y - {band[1]})) / {grow})")
        field.setAsBackgroundMesh(slab)
    elif refined and fine < options.size_m:
        field = gmsh.model.mesh.field
        dist = field.add("Distance")
        field.setNumbers(dist, "SurfacesList", refined)
        field.setNumber(dist, "Sampling", 20)
        thr = field.add("Threshold")
        field.setNumber(thr, "InField", dist)
        field.setNumber(thr, "SizeMin", fine)
        field.setNumber(thr, "SizeMax", options.size_m)
        field.setNumber(thr, "DistMin", 0.0)
        field.setNumber(thr, "DistMax", options.refine_distance_m or 10 * fine)
        field.setAsBackgroundMesh(thr)
    else:
        gmsh.option.setNumber("Mesh.MeshSizeMin", options.size_m)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.option.setNumber("Mesh.Algorithm3D", 10)   # HXT: parallel Delaunay, fast on large meshes
    gmsh.option.setNumber("Mesh.ElementOrder", 1)
    generate_scaled(3, unit, f"the 3D window ({geometry.description})")
    return {"cells": cell_ids, "facets": facet_ids}
