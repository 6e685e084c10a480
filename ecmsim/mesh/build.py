"""Geometry -> meshed gmsh model: :func:`build_gmsh_model` and its two routes.

Two routes build the gmsh model. OpenCASCADE's boolean fragment finds the shared curves of any
set of regions itself, but slows down badly with many vertices (1.3 s at 600, 17 s at 8700).
A geometry whose regions share their boundaries vertex for vertex (a conforming partition: what
the generators and the image pipeline make, :mod:`ecmsim.mesh.partition`) with at least
``GEO_ROUTE_MIN_VERTICES`` vertices goes through gmsh's built-in kernel instead, with one
explicitly shared line per boundary segment: linear in the number of vertices (1.0 s at 8700).
Smaller geometries keep the OpenCASCADE route, so their meshes do not change with this choice.

Both routes tag with :mod:`ecmsim.mesh.tags` and size with :mod:`ecmsim.mesh.sizes`; a depth
hands the 2D model on to :mod:`ecmsim.mesh.mesh3d`. The route tunables below are read here at
call time: patch them on this module.
"""

from __future__ import annotations

import math

import numpy as np

from ecmsim.core.errors import MeshError
from ecmsim.geometry import Geometry
from ecmsim.mesh.mesh3d import _extrude_and_mesh, _solid_and_mesh
from ecmsim.mesh.options import MeshOptions, _estimate_cells, _scaled, _scaled_options
from ecmsim.mesh.partition import _conforming_partition, _merge_short_edges, _Partition, _tip_vertices
from ecmsim.mesh.refine import coarse_options
from ecmsim.mesh.session import generate_scaled
from ecmsim.mesh.sizes import _narrow_field, _narrow_sizes, _set_size_fields
from ecmsim.mesh.tags import _REFINED, CELL_IDS, FACET_IDS, _classify_curves, _ids, _refined

#: Conforming geometries with at least this many distinct vertices take the built-in kernel.
GEO_ROUTE_MIN_VERTICES = 1000

#: Boundary segments shorter than this fraction of the interface size are merged into a
#: neighbour (their middle vertex dropped): a 1 px segment in a 5 px field makes a sliver.
SHORT_EDGE_FRACTION = 0.5


def build_gmsh_model(geometry: Geometry, options: MeshOptions) -> dict[str, dict[str, int]]:
    """Fill the current gmsh model with the geometry, tagged and meshed (2D, linear triangles; with
    ``options.depth_m`` extruded to 3D, linear tetrahedra). With ``options.refine_levels`` = L > 0
    (2D) the mesh is made at 2^L times every size, for refinement afterwards (:mod:`ecmsim.mesh.refine`);
    the cell limit applies to the refined mesh.

    Returns ``{"cells": {name: id}, "facets": {name: id}}`` of the physical groups created.
    Raises MeshError for overlapping regions, too many cells, or a gmsh failure.
    """
    import gmsh

    # OpenCASCADE's tolerances are absolute (~1e-7): build in a length unit that makes the
    # window O(1-10), then scale the mesh nodes back to metres.
    unit = 10.0 ** math.floor(math.log10(max(geometry.width_m, geometry.height_m)))
    scaled = _scaled(geometry, 1.0 / unit)
    partition = _conforming_partition(scaled)
    refine_length = partition.refine_length() * unit if partition is not None else geometry.width_m
    estimate = _estimate_cells(geometry, options, refine_length)
    if estimate > options.max_cells:
        raise MeshError(f"about {estimate:.3g} {'tetrahedra' if options.depth_m else 'triangles'} at "
                        f"mesh.size_m = {options.size_m:g} m"
                        + (f", mesh.interface_size_m = {options.interface_size_m:g} m" if options.interface_size_m
                           else "") + f" (limit mesh.max_cells = {options.max_cells}): use a larger mesh size")
    if options.depth_m and getattr(geometry, "solid", None) is not None:
        return _solid_and_mesh(geometry, options, unit)     # genuinely 3D shapes (geometry/solid3d.py)
    if options.refine_levels and not options.depth_m:
        options = coarse_options(options, options.refine_levels)
    geometry = scaled
    options = _scaled_options(options, 1.0 / unit)
    if partition is not None and len(partition.points) >= GEO_ROUTE_MIN_VERTICES:
        partition = _merge_short_edges(partition, SHORT_EDGE_FRACTION * options.fine_size_m)
        surface_label, facet_groups, tips = _build_geo(partition, options)
        refine_lines, refine_curves = [c for name in facet_groups if _refined(name) for c in facet_groups[name]], []
    else:
        surface_label, facet_groups = _build_occ(geometry)
        tips = _occ_points_at(partition.points[_tip_vertices(partition)]) if partition is not None else []
        refine_lines, refine_curves = [], [c for name in facet_groups if _refined(name) for c in facet_groups[name]]

    if options.depth_m:
        return _extrude_and_mesh(geometry, options, surface_label, facet_groups, unit)

    cell_ids = _ids(sorted(set(surface_label.values())), CELL_IDS)
    facet_ids = _ids(sorted(facet_groups), FACET_IDS)
    for name, ident in cell_ids.items():
        gmsh.model.addPhysicalGroup(2, [t for t, lab in surface_label.items() if lab == name], ident, name)
    for name, ident in facet_ids.items():
        gmsh.model.addPhysicalGroup(1, facet_groups[name], ident, name)

    narrow = _narrow_sizes(partition, options) if partition is not None else None
    _set_size_fields(options, refine_curves, refine_lines, tips,
                     extra=[_narrow_field(narrow, options, geometry)] if narrow is not None else [])
    gmsh.option.setNumber("Mesh.Algorithm", 6)  # Frontal-Delaunay: good angles in 2D
    gmsh.option.setNumber("Mesh.ElementOrder", 1)
    generate_scaled(2, unit, f"the geometry ({geometry.description})")
    out = {"cells": cell_ids, "facets": facet_ids}
    if narrow is not None:
        out["narrow_features"] = narrow.summary(unit)
    return out


def _build_occ(geometry: Geometry) -> tuple[dict[int, str], dict[str, list[int]]]:
    """OpenCASCADE route: surfaces fragmented into shared curves; returns labels and groups."""
    import gmsh

    occ = gmsh.model.occ
    window_area = geometry.width_m * geometry.height_m
    # One OCC surface per region piece, then fragment so that touching pieces share curves.
    inputs: list[tuple[int, int]] = []
    labels: list[str] = []
    for region in geometry.regions:
        outer = _occ_loop(occ, region.outer)
        holes = [_occ_loop(occ, h) for h in region.holes]
        inputs.append((2, occ.addPlaneSurface([outer, *holes])))
        labels.append(region.label)
    if len(inputs) == 1:  # nothing to share (OCC returns no map for a lone object)
        piece_map = [[inputs[0]]]
    else:
        try:
            _, piece_map = occ.fragment(inputs, [])
        except Exception as err:  # gmsh raises bare Exception with its last error
            raise MeshError(f"gmsh could not combine the regions: {err}") from None
    occ.synchronize()

    surface_label: dict[int, str] = {}
    for label, pieces in zip(labels, piece_map, strict=True):
        for dim, tag in pieces:
            if dim != 2:
                continue
            if tag in surface_label and surface_label[tag] != label:
                raise MeshError(f"regions '{surface_label[tag]}' and '{label}' overlap")
            surface_label[tag] = label
    overlap = sum(occ.getMass(2, t) for t in surface_label) - sum(r.area_m2 for r in geometry.regions)
    if overlap < -1e-6 * window_area:
        raise MeshError("regions overlap (the fragmented area is smaller than the sum of the regions)")

    return surface_label, _classify_curves(geometry, surface_label)


def _occ_loop(occ, loop: np.ndarray) -> int:
    pts = [occ.addPoint(float(x), float(y), 0.0) for x, y in loop]
    lines = [occ.addLine(pts[i], pts[(i + 1) % len(pts)]) for i in range(len(pts))]
    return occ.addCurveLoop(lines)


def _build_geo(part: _Partition, options: MeshOptions):
    """Built-in kernel route: one gmsh line per boundary segment, shared by both neighbours.

    Refined segments longer than the interface size are split, so that a few samples per line
    give the refinement's distance field. Returns surface labels, facet groups and tip points
    (point tags).
    """
    import gmsh

    geo = gmsh.model.geo
    fine = options.fine_size_m
    point_tag = [geo.addPoint(float(x), float(y), 0.0) for x, y in part.points]
    line_tags: list[list[int]] = []
    groups: dict[str, list[int]] = {}
    for e, (a, b) in enumerate(part.edges.tolist()):
        name = part.names[e]
        chain = [point_tag[a]]
        if name in _REFINED:
            pa, pb = part.points[a], part.points[b]
            pieces = max(1, math.ceil(float(np.hypot(*(pb - pa))) / fine - 1e-9))
            for k in range(1, pieces):
                x, y = pa + (pb - pa) * (k / pieces)
                chain.append(geo.addPoint(float(x), float(y), 0.0))
            chain.append(point_tag[b])
        else:
            chain.append(point_tag[b])
        lines = [geo.addLine(chain[k], chain[k + 1]) for k in range(len(chain) - 1)]
        line_tags.append(lines)
        if name:
            groups.setdefault(name, []).extend(lines)
    surface_label: dict[int, str] = {}
    for piece, loops in enumerate(part.loops):
        wires = []
        for edge_ids, forward in loops:
            signed: list[int] = []
            for e, fwd in zip(edge_ids.tolist(), forward.tolist(), strict=True):
                signed.extend(line_tags[e] if fwd else [-t for t in reversed(line_tags[e])])
            wires.append(geo.addCurveLoop(signed))
        surface_label[geo.addPlaneSurface(wires)] = part.pieces[piece]
    geo.synchronize()
    tips = [point_tag[v] for v in _tip_vertices(part)]
    return surface_label, groups, tips


def _occ_points_at(xy: np.ndarray) -> list[int]:
    """Tags of the model points at the coordinates ``xy`` (those that exist)."""
    import gmsh
    from scipy.spatial import cKDTree

    points = gmsh.model.getEntities(0)
    if not len(xy) or not points:
        return []
    tags = np.array([t for _, t in points])
    coords = np.array([gmsh.model.getValue(0, int(t), [])[:2] for t in tags])
    dist, idx = cKDTree(coords).query(xy)
    scale = float(np.ptp(coords, axis=0).max()) or 1.0
    return sorted(set(tags[idx[dist < 1e-9 * scale]].tolist()))
