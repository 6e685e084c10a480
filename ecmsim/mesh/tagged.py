"""The dolfinx side: :class:`TaggedMesh` (a mesh with named cell and facet tags) and the ways to
get one: :func:`mesh_geometry` (mesh a geometry), :func:`read_msh` (a gmsh file made elsewhere),
:func:`restrict` (the part of a mesh made of some regions).

gmsh runs on rank 0 only; :func:`dolfinx.io.gmsh.model_to_mesh` distributes the mesh with
facet-sharing ghosts (needed by interior-facet integrals on the interface). A large 2D window is
meshed coarser by gmsh and refined in dolfinx on every rank (:mod:`ecmsim.mesh.refine`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ecmsim.core.errors import MeshError
from ecmsim.geometry import Geometry
from ecmsim.mesh.build import build_gmsh_model
from ecmsim.mesh.options import MeshOptions, _estimate_cells
from ecmsim.mesh.refine import auto_refine_levels, refine_tagged
from ecmsim.mesh.session import _nothing, gmsh_model, on_rank0


@dataclass
class TaggedMesh:
    """A dolfinx mesh with its cell and facet tags and the name <-> id maps."""

    mesh: object  # dolfinx.mesh.Mesh
    cell_tags: object  # dolfinx.mesh.MeshTags
    facet_tags: object
    cell_ids: dict[str, int] = field(default_factory=dict)
    facet_ids: dict[str, int] = field(default_factory=dict)
    #: times every cell was split after gmsh (:mod:`ecmsim.mesh.refine`)
    refine_levels: int = 0
    #: the mesh before the splits (a TaggedMesh, on the same ranks) and, per owned cell of this mesh,
    #: the local index of the coarse cell it lies in: a start for iterative solves (nested meshes)
    coarse: "TaggedMesh | None" = None
    ancestor: object = None

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
            **({"refine_levels": self.refine_levels} if self.refine_levels else {}),
        }


def mesh_geometry(geometry: Geometry, options: MeshOptions, comm=None, msh_path: str | Path | None = None,
                  msh_later: list | None = None, meanwhile=None) -> TaggedMesh:
    """Mesh a geometry on rank 0 and distribute it as a :class:`TaggedMesh` on ``comm``.

    ``msh_path``: also write the gmsh mesh (with physical names) there, from rank 0, and its
    :mod:`~ecmsim.mesh.report` beside it (``name.report.json``). A 2D window of more than
    ``REFINE_MIN_CELLS`` estimated triangles (or ``options.refine_levels`` > 0) is meshed at
    coarser sizes and refined on all ranks (:mod:`ecmsim.mesh.refine`); the file is then the
    coarse mesh split by gmsh the same way (the same triangles).

    ``msh_later``: a list; if given with ``msh_path``, the writing of the file and its report is
    appended to it as a function (``write()``: rank 0 writes and then removes the gmsh model it
    kept; the other ranks do nothing) instead of done before returning, so that rank 0 can write
    them while the other ranks do other work (``ecmsim run``: draw the plots). Call it (or its
    ``discard()``, which writes nothing) on rank 0 once, or the model stays in gmsh's memory.
    ``meanwhile``: a function the other ranks call while rank 0 runs gmsh (see :func:`on_rank0`).
    """
    from ecmsim.core.fem import MPI
    from ecmsim.mesh.session import keep_model, release_model

    comm = comm or MPI.COMM_WORLD
    levels = 0
    if not options.depth_m:
        levels = options.refine_levels
        if levels is None:
            levels = auto_refine_levels(_estimate_cells(geometry, options, geometry.width_m))
    built: dict = {}
    later = msh_path is not None and msh_later is not None
    name = f"ecmsim_{next(_MODEL_NUMBER)}" if later else "ecmsim"

    def build() -> None:
        built.update(build_gmsh_model(geometry, replace(options, refine_levels=levels)))

    def write_msh() -> None:
        _write_msh(msh_path, geometry, options, built, levels)

    with gmsh_model(name) if comm.rank == 0 else _nothing() as model:
        on_rank0(comm, build, meanwhile)
        tmesh = _to_dolfinx(model if comm.rank == 0 else None, comm)
        if levels:
            coarse, ancestry = replace(tmesh), []
            tmesh.mesh, tmesh.cell_tags, tmesh.facet_tags = refine_tagged(tmesh.mesh, tmesh.cell_tags,
                                                                          tmesh.facet_tags, levels, ancestry)
            tmesh.refine_levels, tmesh.coarse, tmesh.ancestor = levels, coarse, ancestry[0]
        if msh_path is not None and not later:
            on_rank0(comm, write_msh)
        elif later and comm.rank == 0:
            keep_model(name)   # written from, then removed, by write_later

    def write_later() -> list[str]:
        if comm.rank != 0:
            return []
        import gmsh

        from ecmsim.mesh.report import report_path
        try:
            gmsh.model.setCurrent(name)
            write_msh()
        finally:
            release_model(name)
        return [Path(msh_path).name, Path(report_path(msh_path)).name]

    if later:
        write_later.discard = lambda: release_model(name) if comm.rank == 0 else None   # a run that failed
        msh_later.append(write_later)
    return tmesh


#: numbers the gmsh models kept for a later mesh file (mesh_geometry's msh_later)
_MODEL_NUMBER = itertools.count()


def _write_msh(msh_path: str | Path, geometry: Geometry, options: MeshOptions, built: dict, levels: int) -> None:
    """The current gmsh model's mesh (split ``levels`` times, as dolfinx did) and its report (rank 0)."""
    import gmsh

    from ecmsim.mesh.report import gmsh_arrays, mesh_report, report_path, write_report
    # straight midpoints, as dolfinx splits (the mesh is in metres, the geometry in gmsh's units)
    gmsh.option.setNumber("Mesh.SecondOrderLinear", 1)
    for _ in range(levels):
        gmsh.model.mesh.refine()
    gmsh.write(str(msh_path))
    if options.depth_m:
        report = _report_3d(geometry, options)
    else:
        report = mesh_report(gmsh_arrays(), geometry.width_m, geometry.height_m)
        if "narrow_features" in built:
            report["narrow_features"] = built["narrow_features"]
        if levels:
            report["refined_uniformly"] = {"levels": levels, "note": "meshed by gmsh at 2^levels times every "
                                           "size, every triangle split into four per level (ecmsim.mesh.refine)"}
    write_report(report, report_path(msh_path))


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
