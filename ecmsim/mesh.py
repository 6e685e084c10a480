"""Geometry -> gmsh model -> dolfinx mesh with named cell and facet tags.

Contract (see ARCHITECTURE.md): cells are tagged ``electrode``, ``electrolyte`` (``fibre``);
facets ``top``, ``bottom``, ``left``, ``right`` (the window's edges), ``interface`` (between
electrode and electrolyte) and ``void`` (edges of uncovered holes). A facet between two other
labels is named ``<a>_<b>`` with the labels in alphabetical order. The name <-> id map travels
with the mesh (:class:`TaggedMesh`) and is written into ``.msh`` files as physical names, so a
mesh made elsewhere can be read back by name.

gmsh runs on rank 0 only; :func:`dolfinx.io.gmsh.model_to_mesh` distributes the mesh with
facet-sharing ghosts (needed by interior-facet integrals on the interface).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecmsim.errors import MeshError
from ecmsim.geometry import Geometry, Region

#: Canonical ids of the named tags (physical groups). Other names get ids from 100 up.
CELL_IDS = {"electrode": 1, "electrolyte": 2, "fibre": 3}
FACET_IDS = {"top": 11, "bottom": 12, "left": 13, "right": 14, "interface": 15, "void": 16}


@dataclass(frozen=True)
class MeshOptions:
    """How to mesh a geometry.

    Attributes:
        size_m: target element size away from the interface [m].
        interface_size_m: element size on the interface and void edges [m] (default: size_m).
        refine_distance_m: distance over which the size grows from interface_size_m to size_m
            [m] (default: 10 interface sizes).
        max_cells: refuse to mesh when the estimated triangle count exceeds this.
    """

    size_m: float
    interface_size_m: float | None = None
    refine_distance_m: float | None = None
    max_cells: int = 2_000_000

    @property
    def fine_size_m(self) -> float:
        return self.interface_size_m or self.size_m


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
        from ecmsim.fem import MPI, dolfinx

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
    gmsh.model.add(name)
    try:
        yield gmsh.model
    finally:
        gmsh.model.remove()


def build_gmsh_model(geometry: Geometry, options: MeshOptions) -> dict[str, dict[str, int]]:
    """Fill the current gmsh model with the geometry, tagged and meshed (2D, linear triangles).

    Returns ``{"cells": {name: id}, "facets": {name: id}}`` of the physical groups created.
    Raises MeshError for overlapping regions, too many cells, or a gmsh failure.
    """
    import gmsh

    occ = gmsh.model.occ
    # OpenCASCADE's tolerances are absolute (~1e-7): build in a length unit that makes the
    # window O(1-10), then scale the mesh nodes back to metres.
    estimate = _estimate_cells(geometry, options)
    if estimate > options.max_cells:
        raise MeshError(f"about {estimate:.3g} triangles at mesh.size_m = {options.size_m:g} m"
                        + (f", mesh.interface_size_m = {options.interface_size_m:g} m" if options.interface_size_m
                           else "") + f" (limit mesh.max_cells = {options.max_cells}): use a larger mesh size")
    unit = 10.0 ** math.floor(math.log10(max(geometry.width_m, geometry.height_m)))
    geometry = _scaled(geometry, 1.0 / unit)
    options = _scaled_options(options, 1.0 / unit)
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

    facet_groups = _classify_curves(geometry, surface_label)
    cell_ids = _ids(sorted(set(surface_label.values())), CELL_IDS)
    facet_ids = _ids(sorted(facet_groups), FACET_IDS)
    for name, ident in cell_ids.items():
        gmsh.model.addPhysicalGroup(2, [t for t, lab in surface_label.items() if lab == name], ident, name)
    for name, ident in facet_ids.items():
        gmsh.model.addPhysicalGroup(1, facet_groups[name], ident, name)

    _set_size_fields(options, facet_groups.get("interface", []) + facet_groups.get("void", []))
    gmsh.option.setNumber("Mesh.Algorithm", 6)  # Frontal-Delaunay: good angles in 2D
    gmsh.option.setNumber("Mesh.ElementOrder", 1)
    try:
        gmsh.model.mesh.generate(2)
    except Exception as err:
        raise MeshError(f"gmsh failed to mesh the geometry ({geometry.description}): {err}") from None
    n_tri = sum(len(t) for t in gmsh.model.mesh.getElements(2)[1])
    if n_tri == 0:
        raise MeshError(f"gmsh produced no triangles for the geometry ({geometry.description})")
    gmsh.model.mesh.affineTransform([unit, 0, 0, 0, 0, unit, 0, 0, 0, 0, 1, 0])
    return {"cells": cell_ids, "facets": facet_ids}


def _scaled(geometry: Geometry, factor: float) -> Geometry:
    regions = [Region(r.label, r.outer * factor, [h * factor for h in r.holes]) for r in geometry.regions]
    return Geometry(geometry.width_m * factor, geometry.height_m * factor, regions, geometry.description)


def _scaled_options(options: MeshOptions, factor: float) -> MeshOptions:
    def s(v):
        return None if v is None else v * factor
    return MeshOptions(options.size_m * factor, s(options.interface_size_m), s(options.refine_distance_m),
                       options.max_cells)


def mesh_geometry(geometry: Geometry, options: MeshOptions, comm=None, msh_path: str | Path | None = None
                  ) -> TaggedMesh:
    """Mesh a geometry on rank 0 and distribute it as a :class:`TaggedMesh` on ``comm``.

    ``msh_path``: also write the gmsh mesh (with physical names) there, from rank 0.
    """
    from ecmsim.fem import MPI

    comm = comm or MPI.COMM_WORLD
    error = None
    with gmsh_model() if comm.rank == 0 else _nothing() as model:
        if comm.rank == 0:
            try:
                build_gmsh_model(geometry, options)
                if msh_path is not None:
                    import gmsh
                    gmsh.write(str(msh_path))
            except MeshError as err:
                error = str(err)
        error = comm.bcast(error, root=0)
        if error:
            raise MeshError(error)
        return _to_dolfinx(model if comm.rank == 0 else None, comm)


def read_msh(path: str | Path, comm=None) -> TaggedMesh:
    """A TaggedMesh from a gmsh ``.msh`` file with named 2D physical groups."""
    from ecmsim.fem import MPI

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


def _to_dolfinx(model, comm) -> TaggedMesh:
    from ecmsim.fem import dolfinx

    partitioner = dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet, 2)
    try:
        data = dolfinx.io.gmsh.model_to_mesh(model, comm, 0, gdim=2, partitioner=partitioner)
    except RuntimeError as err:
        raise MeshError(f"the gmsh model cannot become a dolfinx mesh: {err}") from None
    cell_ids = {name: g.tag for name, g in data.physical_groups.items() if g.dim == 2}
    facet_ids = {name: g.tag for name, g in data.physical_groups.items() if g.dim == 1}
    msh = data.mesh
    msh.topology.create_connectivity(1, 2)
    return TaggedMesh(msh, data.cell_tags, data.facet_tags, cell_ids, facet_ids)


def _occ_loop(occ, loop: np.ndarray) -> int:
    pts = [occ.addPoint(float(x), float(y), 0.0) for x, y in loop]
    lines = [occ.addLine(pts[i], pts[(i + 1) % len(pts)]) for i in range(len(pts))]
    return occ.addCurveLoop(lines)


def _classify_curves(geometry: Geometry, surface_label: dict[int, str]) -> dict[str, list[int]]:
    """Name every boundary curve by the labels on its two sides or the window edge it lies on."""
    import gmsh

    tol = 1e-9 * max(geometry.width_m, geometry.height_m)
    W, H = geometry.width_m, geometry.height_m
    groups: dict[str, list[int]] = {}
    for _, curve in gmsh.model.getEntities(1):
        up, _ = gmsh.model.getAdjacencies(1, curve)
        sides = sorted({surface_label[s] for s in up if s in surface_label})
        if len(up) == 2:
            if len(sides) == 1:
                continue  # between two pieces of the same region: interior
            name = "interface" if sides == ["electrode", "electrolyte"] else "_".join(sides)
        else:
            # all curves are straight segments: their end points decide the window edge
            ends = np.array([gmsh.model.getValue(0, p, [])[:2]
                             for _, p in gmsh.model.getBoundary([(1, curve)], oriented=False)])
            x, y = ends[:, 0], ends[:, 1]
            if np.all(np.abs(x) < tol):
                name = "left"
            elif np.all(np.abs(x - W) < tol):
                name = "right"
            elif np.all(np.abs(y) < tol):
                name = "bottom"
            elif np.all(np.abs(y - H) < tol):
                name = "top"
            else:
                name = "void"
        groups.setdefault(name, []).append(curve)
    return groups


def _ids(names: list[str], canonical: dict[str, int]) -> dict[str, int]:
    out, spare = {}, 100
    for name in names:
        if name in canonical:
            out[name] = canonical[name]
        else:
            out[name] = spare
            spare += 1
    return out


def _set_size_fields(options: MeshOptions, refine_curves: list[int]) -> None:
    import gmsh

    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", options.size_m)
    fine = options.fine_size_m
    if not refine_curves or fine >= options.size_m:
        gmsh.option.setNumber("Mesh.MeshSizeMin", options.size_m)
        return
    field = gmsh.model.mesh.field
    dist = field.add("Distance")
    field.setNumbers(dist, "CurvesList", refine_curves)
    field.setNumber(dist, "Sampling", 200)
    thr = field.add("Threshold")
    field.setNumber(thr, "InField", dist)
    field.setNumber(thr, "SizeMin", fine)
    field.setNumber(thr, "SizeMax", options.size_m)
    field.setNumber(thr, "DistMin", 0.0)
    field.setNumber(thr, "DistMax", options.refine_distance_m or 10 * fine)
    field.setAsBackgroundMesh(thr)


def _estimate_cells(geometry: Geometry, options: MeshOptions) -> float:
    """Triangles of an equilateral mesh at the coarse size, plus the refined band."""
    area = geometry.width_m * geometry.height_m
    tri = math.sqrt(3) / 4
    coarse = area / (tri * options.size_m**2)
    fine = options.fine_size_m
    if fine < options.size_m:
        band = geometry.width_m * (options.refine_distance_m or 10 * fine)
        coarse += band / (tri * fine**2)
    return coarse
