"""Geometry -> gmsh model -> dolfinx mesh with named cell and facet tags.

Contract (see docs/architecture.md): cells are tagged ``electrode``, ``electrolyte`` (``fibre``);
facets ``top``, ``bottom``, ``left``, ``right`` (the window's edges), ``interface`` (between
electrode and electrolyte) and ``void`` (edges of uncovered holes). A facet between two other
labels is named ``<a>_<b>`` with the labels in alphabetical order. The name <-> id map travels
with the mesh (:class:`TaggedMesh`) and is written into ``.msh`` files as physical names, so a
mesh made elsewhere can be read back by name.

Electrode pieces that reach the top edge neither directly nor through other electrode pieces
(dead Li islands inside the electrolyte) keep the ``electrode`` cell tag, but their boundary
with the electrolyte is tagged ``island``, not ``interface``: it is electronically cut off.

Two routes build the gmsh model. OpenCASCADE's boolean fragment finds the shared curves of any
set of regions itself, but slows down badly with many vertices (1.3 s at 600, 17 s at 8700).
A geometry whose regions share their boundaries vertex for vertex (a conforming partition: what
the generators and the image pipeline make) with at least ``GEO_ROUTE_MIN_VERTICES`` vertices
goes through gmsh's built-in kernel instead, with one explicitly shared line per boundary
segment: linear in the number of vertices (1.0 s at 8700). Smaller geometries keep the
OpenCASCADE route, so their meshes do not change with this choice.

gmsh runs on rank 0 only; :func:`dolfinx.io.gmsh.model_to_mesh` distributes the mesh with
facet-sharing ghosts (needed by interior-facet integrals on the interface).

3D: with a depth (``geometry.depth_m``), the 2D model is extruded along z from z = 0 to
z = depth before meshing (tetrahedra): every region becomes a prism-shaped volume, every tagged
curve a tagged surface with the same name, and the two new window faces are ``front`` (z = 0)
and ``back`` (z = depth). x is the width, y the height (stacking direction), z the depth.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecmsim.core.errors import MeshError
from ecmsim.geometry import Geometry, Region

#: Canonical ids of the named tags (physical groups). Other names get ids from 100 up.
CELL_IDS = {"electrode": 1, "electrolyte": 2, "fibre": 3}
FACET_IDS = {"top": 11, "bottom": 12, "left": 13, "right": 14, "interface": 15, "void": 16, "island": 17,
             "front": 18, "back": 19}

#: A void corner sharper than this (the void's inner angle below 180 - 60 degrees) is a tip.
TIP_TURN_DEG = 60.0

#: Conforming geometries with at least this many distinct vertices take the built-in kernel.
GEO_ROUTE_MIN_VERTICES = 1000


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
            a conforming geometry (see the module docstring). 2D only.
        depth_m: extent along z [m]: a 3D window (tetrahedra) extruded from the 2D geometry;
            None: 2D (triangles). ``max_cells`` then counts tetrahedra.
    """

    size_m: float
    interface_size_m: float | None = None
    refine_distance_m: float | None = None
    max_cells: int = 2_000_000
    tip_size_m: float | None = None
    depth_m: float | None = None

    @property
    def fine_size_m(self) -> float:
        return self.interface_size_m or self.size_m

    @property
    def tip_size(self) -> float:
        return self.tip_size_m or 0.5 * self.fine_size_m


@dataclass
class TaggedMesh:
    """A dolfinx mesh with its cell and facet tags and the name <-> id maps."""

    mesh: object  # dolfinx.mesh.Mesh
    cell_tags: object  # dolfinx.mesh.MeshTags
    facet_tags: object
    cell_ids: dict[str, int] = field(default_factory=dict)
    facet_ids: dict[str, int] = field(default_factory=dict)

    @property
    def comm(self):
        return self.mesh.comm

    def cells(self, name: str) -> np.ndarray:
        """Local indices of the cells tagged ``name``."""
        return self.cell_tags.find(self._id(self.cell_ids, name, "cell"))

    def facets(self, name: str) -> np.ndarray:
        """Local indices of the facets tagged ``name``."""
        return self.facet_tags.find(self._id(self.facet_ids, name, "facet"))

    @staticmethod
    def _id(ids: dict[str, int], name: str, kind: str) -> int:
        try:
            return ids[name]
        except KeyError:
            raise MeshError(f"the mesh has no {kind} tag '{name}' (it has: {', '.join(ids)})") from None

    def num_cells_global(self) -> int:
        imap = self.mesh.topology.index_map(self.mesh.topology.dim)
        return imap.size_global

    def stats(self) -> dict[str, float]:
        """Global counts and element sizes (same on every rank)."""
        from ecmsim.core.fem import MPI, dolfinx

        msh = self.mesh
        tdim = msh.topology.dim
        n_local = msh.topology.index_map(tdim).size_local
        h = dolfinx.cpp.mesh.h(msh._cpp_object, tdim, np.arange(n_local, dtype=np.int32))
        comm = msh.comm
        return {
            "cells": int(self.num_cells_global()),
            "vertices": int(msh.topology.index_map(0).size_global),
            "h_min_m": comm.allreduce(float(h.min()) if len(h) else math.inf, op=MPI.MIN),
            "h_max_m": comm.allreduce(float(h.max()) if len(h) else 0.0, op=MPI.MAX),
        }


@contextmanager
def gmsh_model(name: str = "ecmsim") -> Iterator[object]:
    """An empty gmsh model, removed afterwards; gmsh quiet unless ECMSIM_GMSH_VERBOSE is set."""
    import os

    import gmsh

    if not gmsh.isInitialized():
        gmsh.initialize(interruptible=False)
    gmsh.option.restoreDefaults()  # options are global: one model's sizes must not leak into the next
    gmsh.option.setNumber("General.Terminal", 1 if os.environ.get("ECMSIM_GMSH_VERBOSE") else 0)
    from ecmsim.core.interrupt import hard_interrupt

    gmsh.model.add(name)
    try:
        with hard_interrupt():  # gmsh's C++ would hold Ctrl-C for minutes
            yield gmsh.model
    finally:
        gmsh.model.remove()


def generate_scaled(dim: int, unit: float, what: str) -> None:
    """Mesh the current gmsh model in ``dim`` dimensions and scale it by ``unit`` (model units -> m).

    MeshError naming ``what`` when gmsh fails or produces no element of that dimension."""
    import gmsh

    try:
        gmsh.model.mesh.generate(dim)
    except Exception as err:  # gmsh raises bare Exception
        raise MeshError(f"gmsh failed to mesh {what}: {err}") from None
    if sum(len(t) for t in gmsh.model.mesh.getElements(dim)[1]) == 0:
        raise MeshError(f"gmsh produced no {'triangles' if dim == 2 else 'tetrahedra'} for {what}")
    gmsh.model.mesh.affineTransform([unit, 0, 0, 0, 0, unit, 0, 0, 0, 0, unit, 0])  # 2D: z = 0 stays 0


def build_gmsh_model(geometry: Geometry, options: MeshOptions) -> dict[str, dict[str, int]]:
    """Fill the current gmsh model with the geometry, tagged and meshed (2D, linear triangles; with
    ``options.depth_m`` extruded to 3D, linear tetrahedra).

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


#: Facet groups refined to the interface size.
_REFINED = ("interface", "void", "island")
#: Phases of N-phase image layouts: boundaries that involve them are refined too.
_EXTRA_PHASES = ("particle", "dead_li", "separator")


def _refined(name: str) -> bool:
    return name in _REFINED or any(p in name.split("_") or name.startswith(p) or name.endswith(p)
                                   for p in _EXTRA_PHASES)


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


def _scaled(geometry: Geometry, factor: float) -> Geometry:
    regions = [Region(r.label, r.outer * factor, [h * factor for h in r.holes]) for r in geometry.regions]
    return Geometry(geometry.width_m * factor, geometry.height_m * factor, regions, geometry.description)


def _scaled_options(options: MeshOptions, factor: float) -> MeshOptions:
    def s(v):
        return None if v is None else v * factor
    return MeshOptions(options.size_m * factor, s(options.interface_size_m), s(options.refine_distance_m),
                       options.max_cells, s(options.tip_size_m), s(options.depth_m))


def mesh_geometry(geometry: Geometry, options: MeshOptions, comm=None, msh_path: str | Path | None = None
                  ) -> TaggedMesh:
    """Mesh a geometry on rank 0 and distribute it as a :class:`TaggedMesh` on ``comm``.

    ``msh_path``: also write the gmsh mesh (with physical names) there, from rank 0, and its
    :mod:`~ecmsim.mesh.report` beside it (``name.report.json``).
    """
    from ecmsim.core.fem import MPI

    comm = comm or MPI.COMM_WORLD
    error = None
    with gmsh_model() if comm.rank == 0 else _nothing() as model:
        if comm.rank == 0:
            try:
                built = build_gmsh_model(geometry, options)
                if msh_path is not None:
                    import gmsh

                    from ecmsim.mesh import report as mesh_report
                    gmsh.write(str(msh_path))
                    if options.depth_m:
                        report = _report_3d(geometry, options)
                    else:
                        report = mesh_report.mesh_report(mesh_report.gmsh_arrays(), geometry.width_m,
                                                         geometry.height_m)
                        if "narrow_features" in built:
                            report["narrow_features"] = built["narrow_features"]
                    mesh_report.write_report(report, mesh_report.report_path(msh_path))
            except MeshError as err:
                error = str(err)
        error = comm.bcast(error, root=0)
        if error:
            raise MeshError(error)
        return _to_dolfinx(model if comm.rank == 0 else None, comm)


def read_msh(path: str | Path, comm=None) -> TaggedMesh:
    """A TaggedMesh from a gmsh ``.msh`` file with named 2D physical groups."""
    from ecmsim.core.fem import MPI

    comm = comm or MPI.COMM_WORLD
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"mesh file not found: {path}")
    error = None
    with gmsh_model() if comm.rank == 0 else _nothing() as model:
        if comm.rank == 0:
            import gmsh
            try:
                gmsh.merge(str(path))
            except Exception as err:
                error = f"{path}: gmsh cannot read it: {err}"
            else:
                if not gmsh.model.getPhysicalGroups(2):
                    error = (f"{path}: no 2D physical groups (named regions such as 'electrode', "
                             "'electrolyte') in the file, or not a gmsh mesh")
        error = comm.bcast(error, root=0)
        if error:
            raise MeshError(error)
        return _to_dolfinx(model if comm.rank == 0 else None, comm)


@contextmanager
def _nothing():
    yield None


def _report_3d(geometry: Geometry, options: MeshOptions) -> dict:
    """Counts of a 3D mesh per physical group (the 2D report's quality measures are for triangles)."""
    import gmsh

    report = {"dimension": 3, "window_m": [geometry.width_m, geometry.height_m, options.depth_m], "cells": {},
              "facets": {}}
    for dim, ident in gmsh.model.getPhysicalGroups():
        count = sum(len(t) for e in gmsh.model.getEntitiesForPhysicalGroup(dim, ident)
                    for t in gmsh.model.mesh.getElements(dim, int(e))[1])
        report["cells" if dim == 3 else "facets"][gmsh.model.getPhysicalName(dim, ident)] = count
    report["tetrahedra"] = sum(report["cells"].values())
    return report


def _to_dolfinx(model, comm) -> TaggedMesh:
    from ecmsim.core.fem import dolfinx

    dim = comm.bcast(model.getDimension() if comm.rank == 0 else None, root=0)
    partitioner = dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet, dim)
    try:
        data = dolfinx.io.gmsh.model_to_mesh(model, comm, 0, gdim=dim, partitioner=partitioner)
    except RuntimeError as err:
        raise MeshError(f"the gmsh model cannot become a dolfinx mesh: {err}") from None
    cell_ids = {name: g.tag for name, g in data.physical_groups.items() if g.dim == dim}
    facet_ids = {name: g.tag for name, g in data.physical_groups.items() if g.dim == dim - 1}
    msh = data.mesh
    msh.topology.create_connectivity(dim - 1, dim)
    return TaggedMesh(msh, data.cell_tags, data.facet_tags, cell_ids, facet_ids)


def _occ_loop(occ, loop: np.ndarray) -> int:
    pts = [occ.addPoint(float(x), float(y), 0.0) for x, y in loop]
    lines = [occ.addLine(pts[i], pts[(i + 1) % len(pts)]) for i in range(len(pts))]
    return occ.addCurveLoop(lines)


def _classify_curves(geometry: Geometry, surface_label: dict[int, str]) -> dict[str, list[int]]:
    """Name every boundary curve by the labels on its two sides or the window edge it lies on."""
    import gmsh

    W, H = geometry.width_m, geometry.height_m
    sides_of: dict[int, list[int]] = {}
    border_of: dict[int, str | None] = {}
    for _, curve in gmsh.model.getEntities(1):
        up, _ = gmsh.model.getAdjacencies(1, curve)
        sides_of[curve] = [s for s in up if s in surface_label]
        border_of[curve] = None
        if len(up) == 1:
            # all curves are straight segments: their end points decide the window edge
            ends = np.array([gmsh.model.getValue(0, p, [])[:2]
                             for _, p in gmsh.model.getBoundary([(1, curve)], oriented=False)])
            border_of[curve] = _window_side(ends, W, H)
    groups: dict[str, list[int]] = {}
    for curve, name in _name_boundaries(sides_of, border_of, surface_label).items():
        groups.setdefault(name, []).append(curve)
    return groups


def _window_side(ends: np.ndarray, W: float, H: float, tol: float | None = None) -> str | None:
    """Which window edge a segment with end points ``ends`` (2, 2) lies on, if any."""
    tol = tol or 1e-9 * max(W, H)
    x, y = ends[:, 0], ends[:, 1]
    for name, near in (("left", np.abs(x)), ("right", np.abs(x - W)), ("bottom", np.abs(y)),
                       ("top", np.abs(y - H))):
        if np.all(near < tol):
            return name
    return None


def _name_boundaries(sides_of: dict, border_of: dict, piece_label: dict) -> dict:
    """Tag name of each boundary from the pieces on its sides (one piece: a window edge or a
    void; two: their labels) — ``island`` where the electrode piece is cut off from the top.

    Boundaries between two pieces of the same label are interior and get no name.
    """
    links = [tuple(p) for p in sides_of.values()
             if len(p) == 2 and piece_label[p[0]] == piece_label[p[1]]]
    at_top = {p[0] for c, p in sides_of.items() if border_of[c] == "top" and p}
    reached = {p for p in at_top if piece_label[p] == "electrode"}
    frontier = list(reached)
    neighbours: dict = {}
    for a, b in links:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    while frontier:
        for q in neighbours.get(frontier.pop(), []):
            if q not in reached and piece_label[q] == "electrode":
                reached.add(q)
                frontier.append(q)
    names = {}
    for c, pieces in sides_of.items():
        labels = sorted(piece_label[p] for p in pieces)
        if len(pieces) == 2:
            if labels[0] == labels[1]:
                continue
            if labels == ["electrode", "electrolyte"]:
                electrode = pieces[0] if piece_label[pieces[0]] == "electrode" else pieces[1]
                names[c] = "interface" if electrode in reached else "island"
            else:
                names[c] = "_".join(labels)
        else:
            names[c] = border_of[c] or "void"
    return names


def _ids(names: list[str], canonical: dict[str, int]) -> dict[str, int]:
    out, spare = {}, 100
    for name in names:
        if name in canonical:
            out[name] = canonical[name]
        else:
            out[name] = spare
            spare += 1
    return out


def _set_size_fields(options: MeshOptions, refine_curves: list[int], refine_lines: list[int] = (),
                     tip_points: list[int] = (), extra: list[int] = ()) -> None:
    """Interface size near the refined curves (long ones, or short lines), tip size near tips,
    growing linearly to the coarse size over the refinement distance; ``extra`` fields (narrow
    features) join the minimum."""
    import gmsh

    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", options.size_m)
    fine = options.fine_size_m
    field = gmsh.model.mesh.field
    distance = options.refine_distance_m or 10 * fine
    thresholds = []

    def threshold(list_name: str, entities, size: float, sampling: int = 200) -> None:
        dist = field.add("Distance")
        field.setNumbers(dist, list_name, list(entities))
        if list_name == "CurvesList":
            field.setNumber(dist, "Sampling", sampling)
        thr = field.add("Threshold")
        field.setNumber(thr, "InField", dist)
        field.setNumber(thr, "SizeMin", size)
        field.setNumber(thr, "SizeMax", options.size_m)
        field.setNumber(thr, "DistMin", 0.0)
        field.setNumber(thr, "DistMax", distance)
        thresholds.append(thr)

    if fine < options.size_m:
        if len(refine_curves):
            threshold("CurvesList", refine_curves, fine)
        if len(refine_lines):
            # the conforming route split these lines to at most the fine size: a few samples
            # each are as good as OpenCASCADE's 200 on its long curves, and stay cheap
            threshold("CurvesList", refine_lines, fine, sampling=5)
    if len(tip_points) and options.tip_size < min(fine, options.size_m):
        threshold("PointsList", tip_points, options.tip_size)
    thresholds.extend(extra)
    if not thresholds:
        gmsh.option.setNumber("Mesh.MeshSizeMin", options.size_m)
        return
    if len(thresholds) == 1:
        field.setAsBackgroundMesh(thresholds[0])
        return
    smallest = field.add("Min")
    field.setNumbers(smallest, "FieldsList", thresholds)
    field.setAsBackgroundMesh(smallest)


def estimated_cells(geometry: Geometry, options: MeshOptions) -> float:
    """A quick estimate of the triangle count before meshing (for progress lines), taking the
    window width as the length of refined interface."""
    return _estimate_cells(geometry, options, geometry.width_m)


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


# ------------------------------------------------------------------------ narrow features

#: A boundary point closer than interface size / NARROW_SIZE_FACTOR to boundary across a gap, a
#: neck, a needle or the window edge gets elements of NARROW_SIZE_FACTOR times that width w:
#: triangles of base 2 w spanning a strip of width w have 45 degree base angles, while 5 px
#: elements in a 1 px gap between two particles give 9 degree slivers. (Measured on the
#: composite-cathode micrograph: factor 1 -> 22100 triangles, 21.3 deg; 2 -> 15060, 22.7 deg;
#: 3 -> 14520, 17.6 deg; no narrow sizing: 14240, 9.3 deg.)
NARROW_SIZE_FACTOR = 2.0
#: ... but never smaller than this fraction of the interface size (bounds the cost of gaps that
#: are nearly closed; their triangles then lose angle instead).
NARROW_SIZE_FLOOR = 0.1
#: Size growth per unit distance away from a narrow feature (0.5: a 1 px element grows to 5 px
#: over 8 px).
NARROW_GRADING = 0.5
#: Two boundary points count as the sides of a narrow feature only if the way between them
#: along the boundaries is more than this many times their distance (or there is none).
NARROW_GEODESIC_RATIO = 2.0
#: A short segment counts as a narrow feature only where the boundary turns by more than this
#: at one of its ends (a chamfered pixel corner turns by 45 degrees, a 200-gon circle by 1.8).
SHORT_CORNER_TURN_DEG = 20.0
#: A boundary point across a narrow feature is one seen at more than this angle from the
#: boundary's own direction (its neighbours along the same boundary do not count).
NARROW_CONE_DEG = 60.0


@dataclass
class _Narrow:
    """Sample points of boundaries lying in narrow features and the element size each needs."""

    points: np.ndarray      # (N, 2) in the model's length unit
    sizes: np.ndarray       # (N,)
    widths: np.ndarray      # (N,) local width of the feature
    fine: float

    def summary(self, unit: float) -> dict:
        return {"sample_points": int(len(self.points)),
                "narrowest_width_m": float(self.widths.min() * unit),
                "smallest_element_size_m": float(self.sizes.min() * unit),
                "rule": f"boundary closer than {self.fine / NARROW_SIZE_FACTOR * unit:.3g} m (interface size / "
                        f"{NARROW_SIZE_FACTOR:g}) to boundary across a gap, neck, needle or the window edge: "
                        f"element size {NARROW_SIZE_FACTOR:g} x that width (at least {NARROW_SIZE_FLOOR:g} x "
                        f"the interface size), growing by {NARROW_GRADING:g} per unit distance"}


def _narrow_sizes(part: _Partition, options: MeshOptions) -> _Narrow | None:
    """Where the partition's boundaries come closer to each other than interface size /
    NARROW_SIZE_FACTOR (a gap, a neck, a needle, a strip along the window edge).

    Every boundary segment is sampled at a quarter of the interface size; each sample finds the
    nearest point of any other segment (the window edge included) seen at more than
    NARROW_CONE_DEG from its own segment's direction and farther along the boundaries than
    NARROW_GEODESIC_RATIO times the distance, so that its neighbours along the same boundary
    and round an open corner do not count but the far side of a gap, a neck, a needle or a
    strip along the window edge does. None when nothing is narrow.
    """
    from scipy.spatial import cKDTree

    fine = min(options.fine_size_m, options.size_m)
    pts, edges = part.points, part.edges
    a, b = pts[edges[:, 0]], pts[edges[:, 1]]
    length = np.hypot(*(b - a).T)
    ok = length > 0
    n_samp = np.maximum(2, np.ceil(length / (0.25 * fine)).astype(int) + 1)
    n_samp[~ok] = 0
    owner = np.repeat(np.arange(len(edges)), n_samp)
    t = np.concatenate([np.linspace(0.0, 1.0, k) for k in n_samp if k]) if n_samp.sum() else np.empty(0)
    if not len(t):
        return None
    samples = a[owner] + t[:, None] * (b - a)[owner]
    tangent = ((b - a) / np.where(ok, length, 1.0)[:, None])[owner]
    tree = cKDTree(samples)
    # candidate segments: those owning a sample within fine + half a sample spacing
    pairs = tree.query_pairs(fine / NARROW_SIZE_FACTOR + 0.25 * fine, output_type="ndarray")
    pairs = pairs.reshape(-1, 2).astype(np.int64)
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    j_edge = np.concatenate([owner[pairs[:, 1]], owner[pairs[:, 0]]])
    # not the own segment, nor a neighbour reached only at the vertex they share
    keep = owner[i] != j_edge
    i, j_edge = i[keep], j_edge[keep]
    key = np.unique(i.astype(np.int64) * len(edges) + j_edge)
    i, j_edge = key // len(edges), key % len(edges)
    p = samples[i]
    sa, sb = a[j_edge], b[j_edge]
    d = sb - sa
    s = np.clip(np.einsum("ij,ij->i", p - sa, d) / np.maximum(np.einsum("ij,ij->i", d, d), 1e-300), 0.0, 1.0)
    q = sa + s[:, None] * d
    v = q - p
    dist = np.hypot(*v.T)
    cos = np.abs(np.einsum("ij,ij->i", v, tangent[i])) / np.maximum(dist, 1e-300)
    own = edges[owner[i]]
    at_shared = (((s <= 0.0) & ((own[:, 0] == edges[j_edge, 0]) | (own[:, 1] == edges[j_edge, 0])))
                 | ((s >= 1.0) & ((own[:, 0] == edges[j_edge, 1]) | (own[:, 1] == edges[j_edge, 1]))))
    across = ((cos < math.cos(math.radians(NARROW_CONE_DEG))) & (dist < fine / NARROW_SIZE_FACTOR)
              & (dist > 1e-9 * fine) & ~at_shared)
    across[across] = _far_along_boundary(edges, length, owner[i[across]], t[i[across]], j_edge[across],
                                         s[across], dist[across], NARROW_GEODESIC_RATIO * fine / NARROW_SIZE_FACTOR)
    width = np.full(len(samples), np.inf)
    np.minimum.at(width, i[across], dist[across])
    # a segment shorter than the same limit at a corner (a chamfered pixel corner the OpenCASCADE
    # route keeps) is a narrow feature of its own length; not one of the many short segments of a
    # smooth curve (a generator's circle), which turn by a few degrees only
    short = np.flatnonzero(ok & (length < fine / NARROW_SIZE_FACTOR))
    if len(short):
        unit_dir = (b - a) / np.where(ok, length, 1.0)[:, None]
        incident: dict[int, list[int]] = {}
        for e, (p0, p1) in enumerate(edges.tolist()):
            incident.setdefault(p0, []).append(e)
            incident.setdefault(p1, []).append(e)
        limit = math.cos(math.radians(SHORT_CORNER_TURN_DEG))
        for e in short.tolist():
            corner = False
            for v in edges[e].tolist():
                others = [f for f in incident[v] if f != e]
                if len(others) != 1:
                    corner = True      # a junction of three boundaries (a 1 px segment there made 17 deg)
                    break
                f = others[0]
                # directions leaving v along e and along f: straight on means they are opposite
                de = unit_dir[e] if edges[e, 0] == v else -unit_dir[e]
                df = unit_dir[f] if edges[f, 0] == v else -unit_dir[f]
                if -float(np.dot(de, df)) < limit:
                    corner = True
                    break
            if corner:
                sel = owner == e
                width[sel] = np.minimum(width[sel], length[e])
    hit = np.isfinite(width)
    if not hit.any():
        return None
    sizes = np.clip(NARROW_SIZE_FACTOR * width[hit], NARROW_SIZE_FLOOR * fine, fine)
    return _Narrow(samples[hit], sizes, width[hit], fine)


#: Cells of the size grid along the longer window side, at most (the grid spacing is a quarter
#: of the interface size unless that needs more).
NARROW_GRID_MAX = 800


def _far_along_boundary(edges: np.ndarray, length: np.ndarray, e: np.ndarray, t: np.ndarray, f: np.ndarray,
                        s: np.ndarray, dist: np.ndarray, cutoff: float) -> np.ndarray:
    """For point pairs (at parameter t on edge e, at s on edge f, ``dist`` apart): is the way
    between them along the boundaries longer than NARROW_GEODESIC_RATIO x dist? Two sides of a
    gap or of a needle are far apart along the boundary (or not connected); a vertex two
    segments round a 90 degree corner is not (ratio <= sqrt 2), nor any wedge wider than about
    53 degrees. Bounded Dijkstra (up to ``cutoff``) from the end vertices of the e edges."""
    import heapq

    adj: dict[int, list[tuple[int, float]]] = {}
    for k, (u, w) in enumerate(edges.tolist()):
        adj.setdefault(u, []).append((w, float(length[k])))
        adj.setdefault(w, []).append((u, float(length[k])))
    reach: dict[int, dict[int, float]] = {}

    def from_vertex(u: int) -> dict[int, float]:
        if u not in reach:
            done: dict[int, float] = {}
            heap = [(0.0, u)]
            while heap:
                d0, x = heapq.heappop(heap)
                if x in done:
                    continue
                done[x] = d0
                for y, w in adj.get(x, ()):
                    if y not in done and d0 + w <= cutoff:
                        heapq.heappush(heap, (d0 + w, y))
            reach[u] = done
        return reach[u]

    far = np.ones(len(e), dtype=bool)
    for k in range(len(e)):
        ek, fk = int(e[k]), int(f[k])
        limit = NARROW_GEODESIC_RATIO * float(dist[k])
        le, lf = float(length[ek]), float(length[fk])
        best = math.inf
        for u, cu in ((int(edges[ek, 0]), t[k] * le), (int(edges[ek, 1]), (1.0 - t[k]) * le)):
            r = from_vertex(u)
            for w, cw in ((int(edges[fk, 0]), s[k] * lf), (int(edges[fk, 1]), (1.0 - s[k]) * lf)):
                if w in r:
                    best = min(best, cu + r[w] + cw)
        far[k] = best > limit
    return far


def _narrow_field(narrow: _Narrow, options: MeshOptions, geometry: Geometry) -> int:
    """A gmsh PostView size field of the narrow-feature sizes on a regular grid over the window:
    min over samples k of s_k + NARROW_GRADING * distance, from one Euclidean distance transform
    per size level (sizes rounded down to levels 10 % apart), the coarse size far away."""
    import gmsh
    from scipy.ndimage import distance_transform_edt

    fine = narrow.fine
    W, H = geometry.width_m, geometry.height_m
    step = max(0.25 * fine, max(W, H) / NARROW_GRID_MAX)
    nx, ny = max(2, math.ceil(W / step) + 1), max(2, math.ceil(H / step) + 1)
    hx, hy = W / (nx - 1), H / (ny - 1)
    ix = np.clip(np.rint(narrow.points[:, 0] / hx).astype(int), 0, nx - 1)
    iy = np.clip(np.rint(narrow.points[:, 1] / hy).astype(int), 0, ny - 1)
    # a sample lies within half a diagonal of its node: count that distance as zero (finer, not coarser)
    slack = 0.5 * math.hypot(hx, hy)
    level = np.floor(np.log(narrow.sizes / narrow.sizes.min()) / math.log(1.1)).astype(int)
    values = np.full((ny, nx), float(options.size_m))
    for lv in np.unique(level).tolist():
        seed = np.ones((ny, nx), dtype=bool)
        sel = level == lv
        seed[iy[sel], ix[sel]] = False
        dist = distance_transform_edt(seed, sampling=(hy, hx))
        size = float(narrow.sizes[sel].min())
        values = np.minimum(values, size + NARROW_GRADING * np.maximum(dist - slack, 0.0))
    # two triangles per grid cell, as gmsh list data: x1 x2 x3 y1 y2 y3 z1 z2 z3 v1 v2 v3
    X, Y = np.meshgrid(np.arange(nx) * hx, np.arange(ny) * hy)
    corner = [(slice(0, -1), slice(0, -1)), (slice(0, -1), slice(1, None)), (slice(1, None), slice(1, None)),
              (slice(1, None), slice(0, -1))]
    c = [(X[r, q].ravel(), Y[r, q].ravel(), values[r, q].ravel()) for r, q in corner]
    tris = []
    for a, b, d in ((0, 1, 2), (0, 2, 3)):
        zero = np.zeros_like(c[a][0])
        tris.append(np.column_stack([c[a][0], c[b][0], c[d][0], c[a][1], c[b][1], c[d][1], zero, zero, zero,
                                     c[a][2], c[b][2], c[d][2]]))
    data = np.vstack(tris)
    view = gmsh.view.add("narrow features")
    gmsh.view.addListData(view, "ST", len(data), data.ravel())
    field = gmsh.model.mesh.field.add("PostView")
    gmsh.model.mesh.field.setNumber(field, "ViewTag", view)
    return field


# ------------------------------------------------------------------------ the conforming route

@dataclass
class _Partition:
    """Regions that share their boundaries vertex for vertex.

    points: (V, 2) distinct vertices; edges: (E, 2) vertex ids (each undirected edge once);
    loops: per region piece, its boundary loops as (edge ids, traversed forward?) with the
    piece on the left; pieces: label per piece; names: tag name per edge ("" = interior).
    """

    points: np.ndarray
    edges: np.ndarray
    loops: list[list[tuple[np.ndarray, np.ndarray]]]
    pieces: list[str]
    names: list[str]

    def refine_length(self) -> float:
        d = self.points[self.edges[:, 1]] - self.points[self.edges[:, 0]]
        length = np.hypot(d[:, 0], d[:, 1])
        return float(sum(length[e] for e, n in enumerate(self.names) if _refined(n)))


def _conforming_partition(geometry: Geometry) -> _Partition | None:
    """The shared-vertex structure of the geometry, or None when its regions do not form a
    conforming partition: an edge used by more than two loops or twice in the same direction,
    a loop through one vertex twice, segments crossing or touching away from shared vertices,
    or one piece inside another."""
    from matplotlib.path import Path as MplPath

    from ecmsim.geometry import polygon_area
    from ecmsim.geometry.polyline import crossing_segments

    loops_xy, owner = [], []
    for p, region in enumerate(geometry.regions):
        for k, loop in enumerate([region.outer, *region.holes]):
            ccw = polygon_area(loop) > 0
            loops_xy.append(loop if ccw == (k == 0) else loop[::-1])  # piece on the left
            owner.append(p)
    coords = np.concatenate(loops_xy)
    points, inverse = np.unique(coords, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    starts = np.cumsum([0] + [len(lp) for lp in loops_xy])
    directed_a, directed_b, loop_of = [], [], []
    for i in range(len(loops_xy)):
        ids = inverse[starts[i]:starts[i + 1]]
        if len(np.unique(ids)) != len(ids):
            return None  # repeated or touching vertex in one loop
        directed_a.append(ids)
        directed_b.append(np.roll(ids, -1))
        loop_of.append(np.full(len(ids), i))
    da, db, lo = np.concatenate(directed_a), np.concatenate(directed_b), np.concatenate(loop_of)
    key = np.minimum(da, db) * len(points) + np.maximum(da, db)
    uniq, edge_of, count = np.unique(key, return_inverse=True, return_counts=True)
    if count.max() > 2:
        return None
    edges = np.column_stack([uniq // len(points), uniq % len(points)])
    forward = da == edges[edge_of, 0]
    owner_arr = np.asarray(owner)[lo]
    # each shared edge: used once in each direction, by two different pieces
    order = np.argsort(edge_of, kind="stable")
    e_sorted = edge_of[order]
    twice = np.flatnonzero(e_sorted[1:] == e_sorted[:-1])
    first, second = order[twice], order[twice + 1]
    if np.any(forward[first] == forward[second]) or np.any(owner_arr[first] == owner_arr[second]):
        return None
    if len(crossing_segments(points[edges[:, 0]], points[edges[:, 1]], edges[:, 0], edges[:, 1])):
        return None
    # no piece inside another one: a point just inside each piece lies in no other piece
    paths = []
    for region in geometry.regions:
        paths.append((MplPath(region.outer), [MplPath(h) for h in region.holes]))
    for p in range(len(geometry.regions)):
        i = owner.index(p)
        a, b = loops_xy[i][0], loops_xy[i][1]
        t = b - a
        probe = 0.5 * (a + b) + 1e-6 * np.array([-t[1], t[0]])  # left of the edge: inside
        for q, (outer, holes) in enumerate(paths):
            if q != p and outer.contains_point(probe) and not any(h.contains_point(probe) for h in holes):
                return None

    n_pieces = len(geometry.regions)
    pieces = [r.label for r in geometry.regions]
    sides_of = {e: [] for e in range(len(edges))}
    for occurrence in range(len(da)):
        sides_of[int(edge_of[occurrence])].append(int(owner_arr[occurrence]))
    border_of = {e: (_window_side(points[edges[e]], geometry.width_m, geometry.height_m)
                     if len(sides_of[e]) == 1 else None) for e in range(len(edges))}
    names_of = _name_boundaries(sides_of, border_of, dict(enumerate(pieces)))
    names = [names_of.get(e, "") for e in range(len(edges))]
    loops: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n_pieces)]
    for i in range(len(loops_xy)):
        sel = slice(starts[i], starts[i + 1])
        loops[owner[i]].append((edge_of[sel], forward[sel]))
    return _Partition(points, edges, loops, pieces, names)


#: Boundary segments shorter than this fraction of the interface size are merged into a
#: neighbour (their middle vertex dropped): a 1 px segment in a 5 px field makes a sliver.
SHORT_EDGE_FRACTION = 0.5


#: A junction near a window corner moves into the corner only if the boundaries then leave the
#: corner at least this far from both window sides.
CORNER_MOVE_MIN_DEG = 30.0


def _merge_short_edges(part: _Partition, min_length: float) -> _Partition:
    """Drop vertices joining two edges of the same tag where one of them is shorter than
    ``min_length``: only vertices of degree 2 (not junctions of three phases, not window
    corners or points where a boundary meets the window edge), and only if the merged edge
    passes within ``min_length / 4`` of the dropped vertex (jitter, not a bend). Both
    neighbouring pieces share the edge, so the partition stays conforming."""
    points, edges = part.points, part.edges.copy()
    names = list(part.names)
    n_v = len(points)
    alive = np.ones(len(edges), bool)
    inc: list[list[int]] = [[] for _ in range(n_v)]
    for e, (a, b) in enumerate(edges.tolist()):
        inc[a].append(e)
        inc[b].append(e)

    def length(e):
        a, b = edges[e]
        return float(np.hypot(*(points[b] - points[a])))

    replaced: dict[int, int] = {}   # dropped edge -> the edge that absorbed it
    order = np.argsort([length(e) for e in range(len(edges))])
    for e0 in order.tolist():
        if not alive[e0] or length(e0) >= min_length:
            continue
        for v in edges[e0].tolist():
            es = [e for e in inc[v] if alive[e]]
            if len(es) != 2 or names[es[0]] != names[es[1]]:
                continue
            e1, e2 = es
            a = edges[e1][0] if edges[e1][1] == v else edges[e1][1]
            b = edges[e2][0] if edges[e2][1] == v else edges[e2][1]
            if a == b:
                continue
            pa, pb, pv = points[a], points[b], points[v]
            d = pb - pa
            dist = abs(d[0] * (pv - pa)[1] - d[1] * (pv - pa)[0]) / max(float(np.hypot(*d)), 1e-300)
            if dist > 0.25 * min_length:   # a bend, not jitter: keep it
                continue
            edges[e1] = (a, b)
            alive[e2] = False
            replaced[e2] = e1
            inc[b] = [e1 if e == e2 else e for e in inc[b]]
            break
    # a boundary meeting the window edge within min_length of a corner: the junction moves
    # into the corner (the tiny window-edge segment goes; the boundary shifts by < min_length)
    lo, hi = points.min(axis=0), points.max(axis=0)
    corners = {i for i in range(n_v) if np.all(np.isclose(points[i], lo) | np.isclose(points[i], hi))}
    for e in range(len(edges)):
        if not alive[e] or names[e] not in ("top", "bottom", "left", "right") or length(e) >= min_length:
            continue
        a, b = edges[e].tolist()
        keep, v = (a, b) if a in corners else (b, a) if b in corners else (None, None)
        if keep is None or v in corners:
            continue
        # the boundaries that ran into the window edge at v would leave the corner at a sharp
        # angle to a window side: a wedge no triangle fills well (13 degrees on a 2 px strip)
        sharp = False
        for f in inc[v]:
            if f == e or not alive[f]:
                continue
            w_ = edges[f][1] if edges[f][0] == v else edges[f][0]
            u = points[w_] - points[keep]
            x_side = abs(u[0]) / max(float(np.hypot(*u)), 1e-300)
            angle = math.degrees(math.acos(min(1.0, x_side)))   # from the horizontal side
            if min(angle, 90.0 - angle) < CORNER_MOVE_MIN_DEG:
                sharp = True
        if sharp:
            continue
        alive[e] = False
        replaced[e] = -1
        edges[edges == v] = keep
    if not replaced:
        return part
    if np.any(alive & (edges[:, 0] == edges[:, 1])):
        return part
    loops = []
    for piece_loops in part.loops:
        new_piece = []
        for edge_ids, _ in piece_loops:
            ids = [e for e in edge_ids.tolist() if alive[e]]
            # orientation from vertex continuity (the piece stays on the left: same cyclic order)
            fwd = []
            for k, e in enumerate(ids):
                nxt = edges[ids[(k + 1) % len(ids)]]
                fwd.append(bool(edges[e][1] in nxt.tolist()) if len(ids) > 1 else True)
            if len(ids) == 2:   # two edges between the same two vertices: continuity is ambiguous
                return part
            new_piece.append((np.array(ids), np.array(fwd)))
        loops.append(new_piece)
    keep = np.flatnonzero(alive)
    remap = -np.ones(len(edges), int)
    remap[keep] = np.arange(len(keep))
    loops = [[(remap[ids], fwd) for ids, fwd in pl] for pl in loops]
    return _Partition(points, edges[keep], loops, part.pieces, [names[e] for e in keep])


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


def _tip_vertices(part: _Partition) -> list[int]:
    """Vertices where a void boundary meets the interface (or an island), and void corners
    turning by more than TIP_TURN_DEG into the material (sharp ends of a void)."""
    void = np.array([n == "void" for n in part.names])
    contact = np.array([n in ("interface", "island") for n in part.names])
    tips = set(np.intersect1d(np.unique(part.edges[void]), np.unique(part.edges[contact])).tolist())
    for loops in part.loops:
        for edge_ids, forward in loops:
            a = np.where(forward, part.edges[edge_ids, 0], part.edges[edge_ids, 1])
            b = np.where(forward, part.edges[edge_ids, 1], part.edges[edge_ids, 0])
            is_void = void[edge_ids]
            nxt = np.roll(np.arange(len(edge_ids)), -1)
            both = is_void & is_void[nxt]
            if not both.any():
                continue
            u = part.points[b] - part.points[a]
            v = u[nxt]
            cross = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
            dot = np.einsum("ij,ij->i", u, v)
            turn = np.arctan2(cross, dot)  # piece on the left: a right turn points into the void
            sharp = both & (turn < -math.radians(TIP_TURN_DEG))
            tips.update(b[sharp].tolist())
    return sorted(tips)


def restrict(tmesh: TaggedMesh, regions: tuple[str, ...] | list[str]) -> tuple[TaggedMesh, object]:
    """The part of ``tmesh`` made of the cells tagged ``regions``, with its own tags.

    Cell tags carry over; every tagged facet of the parent that is a facet of the part carries
    its tag over, so a facet group between the part and the rest (``interface``) becomes a group
    of the part's boundary. Returns the part and the dolfinx entity map (part cell -> parent cell).
    Works in any dimension and in parallel (ghost cells included).
    """
    from ecmsim.core.fem import dolfinx

    msh = tmesh.mesh
    tdim = msh.topology.dim
    fdim = tdim - 1
    cells = np.unique(np.concatenate([tmesh.cells(r) for r in regions])).astype(np.int32)
    sub, cell_map, vertex_map, _ = dolfinx.mesh.create_submesh(msh, tdim, cells)
    sub.topology.create_connectivity(fdim, tdim)
    sub.topology.create_connectivity(fdim, 0)
    msh.topology.create_connectivity(fdim, 0)

    n_cells = sub.topology.index_map(tdim).size_local + sub.topology.index_map(tdim).num_ghosts
    parent_cells = cell_map.sub_topology_to_topology(np.arange(n_cells, dtype=np.int32), inverse=False)
    cell_value = np.zeros(msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts,
                          dtype=np.int32)
    cell_value[tmesh.cell_tags.indices] = tmesh.cell_tags.values
    cell_tags = dolfinx.mesh.meshtags(sub, tdim, np.arange(n_cells, dtype=np.int32), cell_value[parent_cells])

    # facets match by their parent vertices
    p_f2v = msh.topology.connectivity(fdim, 0)
    tagged = {tuple(sorted(p_f2v.links(f))): v
              for f, v in zip(tmesh.facet_tags.indices, tmesh.facet_tags.values, strict=True)}
    n_facets = sub.topology.index_map(fdim).size_local + sub.topology.index_map(fdim).num_ghosts
    s_f2v = sub.topology.connectivity(fdim, 0)
    parent_vertex = vertex_map.sub_topology_to_topology(
        np.arange(sub.topology.index_map(0).size_local + sub.topology.index_map(0).num_ghosts, dtype=np.int32),
        inverse=False)
    facets, values = [], []
    for f in range(n_facets):
        v = tagged.get(tuple(sorted(parent_vertex[s_f2v.links(f)])))
        if v is not None:
            facets.append(f)
            values.append(v)
    values = np.asarray(values, dtype=np.int32)
    facet_tags = dolfinx.mesh.meshtags(sub, fdim, np.asarray(facets, dtype=np.int32), values)
    cell_ids = {name: i for name, i in tmesh.cell_ids.items() if name in regions}
    present = {name: tmesh.comm.allreduce(int(np.count_nonzero(values == i))) for name, i in tmesh.facet_ids.items()}
    facet_ids = {name: i for name, i in tmesh.facet_ids.items() if present[name]}
    return TaggedMesh(sub, cell_tags, facet_tags, cell_ids, facet_ids), cell_map
