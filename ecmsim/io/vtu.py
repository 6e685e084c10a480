"""Fields as VTU/PVD: files that ParaView, pyvista and meshio open without ADIOS2.

``fields/fields.vtu`` holds the whole mesh as quadratic triangles (VTK type 22) or, for a 3D
window, quadratic tetrahedra (type 24), the P2 nodes, gathered onto rank 0 and written with meshio:

- point data ``displacement_m`` (3 components, z = 0 in 2D): the displacement at the P2 nodes,
  exact for a P1 or P2 solve, the P2 interpolant of a P3 one;
- cell data ``region`` (the cell tag id; names in ``summary.json`` -> ``mesh.cell_tags``),
  ``stress_Pa`` (xx, yy, zz, xy [, xz, yz in 3D] at the cell centroid, the cell mean for a P2 solve),
  ``von_mises_Pa`` (at the centroid) and ``von_mises_max_Pa`` (the largest over the cell's
  stress nodes, which bounds it in the cell: von Mises is convex in the linear stress).

``fields/boundaries.vtu``: the tagged facets (window edges, interface, void edges) as line cells
(triangles in 3D)
with cell data ``boundary`` (facet tag id; names in ``summary.json`` -> ``mesh.facet_tags``).
``fields/fields.pvd``: a ParaView collection naming ``fields.vtu`` at time 0, so a time series
can add one VTU per step to the same collection.

The full-resolution stress (discontinuous, linear per cell for P2) stays in ``stress.bp``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: basix P2 node order -> VTK's quadratic cells, per topological dimension.
#: Triangle: basix (v0, v1, v2, e(1,2), e(0,2), e(0,1)) -> VTK (v0, v1, v2, m01, m12, m20).
#: Tetrahedron: basix (v0..v3, e(2,3), e(1,3), e(1,2), e(0,3), e(0,2), e(0,1)) -> VTK
#: (v0..v3, m01, m12, m02, m03, m13, m23).
_BASIX_TO_VTK_P2 = {2: np.array([0, 1, 2, 5, 3, 4]), 3: np.array([0, 1, 2, 3, 9, 6, 8, 7, 5, 4])}
_MESHIO_P2 = {2: "triangle6", 3: "tetra10"}
_MESHIO_FACET = {2: "line", 3: "triangle"}

FIELDS_VTU, BOUNDARIES_VTU, FIELDS_PVD = "fields.vtu", "boundaries.vtu", "fields.pvd"


def write_vtu(folder: Path, solution, tmesh) -> list[str]:
    """Write fields.vtu, boundaries.vtu and fields.pvd into ``folder`` (collective; rank 0 writes).

    2D (quadratic triangles) only: a 3D window's fields are the VTX files (fields/*.bp), nothing
    is written here for it."""
    from ecmsim.core.fem import fem

    comm = tmesh.comm
    msh = tmesh.mesh
    tdim = msh.topology.dim
    gdim = msh.geometry.dim
    n_cells = msh.topology.index_map(tdim).size_local
    V = fem.functionspace(msh, ("Lagrange", 2, (gdim,)))
    u2 = fem.Function(V)
    u2.interpolate(solution.u)
    imap = V.dofmap.index_map
    n_own = imap.size_local
    per_cell = V.dofmap.list.shape[1]
    nodes_global = imap.local_to_global(V.dofmap.list[:n_cells].ravel().astype(np.int32)).reshape(-1, per_cell)
    coords = V.tabulate_dof_coordinates()[:n_own]
    disp = u2.x.array.reshape(-1, gdim)[:n_own]
    ids = np.arange(imap.local_range[0], imap.local_range[1])

    stress = _cell_stress(solution, n_cells)
    vm_max = _cell_max_von_mises(solution, n_cells)
    region = np.zeros(n_cells, dtype=np.int32)
    tags = tmesh.cell_tags
    own = tags.indices < n_cells
    region[tags.indices[own]] = tags.values[own]

    ftags = tmesh.facet_tags
    n_facets = msh.topology.index_map(tdim - 1).size_local
    fown = ftags.indices < n_facets
    from ecmsim.core.fem import dolfinx
    fverts = dolfinx.mesh.entities_to_geometry(msh, tdim - 1, ftags.indices[fown].astype(np.int32))
    fpoints = msh.geometry.x[fverts.ravel()].reshape(-1, tdim, 3)
    fvalues = ftags.values[fown]

    parts = comm.gather((ids, coords, disp, nodes_global, region, stress, vm_max, fpoints, fvalues), root=0)
    files = [f"fields/{FIELDS_VTU}", f"fields/{BOUNDARIES_VTU}", f"fields/{FIELDS_PVD}"]
    if comm.rank != 0:
        return files
    import meshio

    n_global = imap.size_global
    points = np.zeros((n_global, 3))
    displacement = np.zeros((n_global, 3))
    for p in parts:
        points[p[0]] = p[1]
        displacement[p[0], :gdim] = p[2]
    cells = np.concatenate([p[3] for p in parts])[:, _BASIX_TO_VTK_P2[tdim]]
    stress = np.concatenate([p[5] for p in parts])
    from ecmsim.mechanics.elasticity import von_mises
    cell_data = {"region": [np.concatenate([p[4] for p in parts])], "stress_Pa": [stress],
                 "von_mises_Pa": [von_mises(stress)], "von_mises_max_Pa": [np.concatenate([p[6] for p in parts])]}
    meshio.Mesh(points, [(_MESHIO_P2[tdim], cells)], point_data={"displacement_m": displacement},
                cell_data=cell_data).write(folder / FIELDS_VTU, binary=True, compression=None)

    seg = np.concatenate([p[7] for p in parts]) if parts else np.zeros((0, tdim, 3))
    lines = np.arange(tdim * len(seg)).reshape(-1, tdim)
    meshio.Mesh(seg.reshape(-1, 3), [(_MESHIO_FACET[tdim], lines)],
                cell_data={"boundary": [np.concatenate([p[8] for p in parts]).astype(np.int32)]}
                ).write(folder / BOUNDARIES_VTU, binary=True, compression=None)
    write_pvd(folder / FIELDS_PVD, [(0.0, FIELDS_VTU)])
    return files


def write_pvd(path: Path, steps: list[tuple[float, str]]) -> None:
    """A ParaView collection: one (time, VTU file name relative to ``path``) per step."""
    rows = "\n".join(f'    <DataSet timestep="{t!r}" part="0" file="{name}"/>' for t, name in steps)
    Path(path).write_text('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n  <Collection>\n'
                          f"{rows}\n  </Collection>\n</VTKFile>\n")


def _cell_stress(solution, n_cells: int) -> np.ndarray:
    """Stress (xx, yy, zz, xy) at each owned cell's centroid [Pa]: the mean of its stress nodes,
    which for a linear (P2 solve) or constant (P1) stress per cell is the centroid value."""
    S = solution.stress.function_space
    dofs = S.dofmap.list[:n_cells]
    values = solution.stress.x.array.reshape(-1, S.dofmap.index_map_bs)
    degree = S.element.basix_element.degree
    if degree > 1:  # a P3 solve: quadratic stress, evaluate at the centroid itself
        from ecmsim.core.fem import dolfinx
        msh = solution.tmesh.mesh
        centroids = dolfinx.mesh.compute_midpoints(msh, msh.topology.dim, np.arange(n_cells, dtype=np.int32))
        return solution.stress.eval(centroids, np.arange(n_cells, dtype=np.int32))
    return values[dofs].mean(axis=1)


def _cell_max_von_mises(solution, n_cells: int) -> np.ndarray:
    from ecmsim.mechanics.elasticity import von_mises

    S = solution.stress.function_space
    dofs = S.dofmap.list[:n_cells]
    values = solution.stress.x.array.reshape(-1, S.dofmap.index_map_bs)
    return von_mises(values[dofs.ravel()]).reshape(dofs.shape).max(axis=1)


#: Above this many cells the single-file VTU (gathered to rank 0) is not written: large, parallel
#: runs keep only the VTX files, which every rank writes its own part of (docs/cluster.md).
VTU_MAX_CELLS = 2_000_000


def write_fields(folder: Path, solution, tmesh) -> list[str]:
    """Fields for ParaView, pyvista and meshio (see :mod:`ecmsim.io.vtu` and docs/results.md).

    - ``fields.vtu`` / ``fields.pvd``: mesh (quadratic triangles or tetrahedra), displacement [m]
      at the nodes, region ids, cell stress and von Mises [Pa]; ``boundaries.vtu``: tagged facets.
      Plain VTK XML: no extra package needed to open them. Gathered to rank 0, so written only up
      to :data:`VTU_MAX_CELLS` cells.
    - ``displacement.bp``, ``stress.bp``: VTX (ADIOS2) at the solve's full degree: u [m] and the
      discontinuous stress (xx, yy, zz, xy) and von Mises [Pa] of degree - 1. ParaView opens them
      with its "ADIOS2VTXReader"; pyvista and meshio cannot.
    """
    from ecmsim.core.fem import dolfinx, fem

    comm = tmesh.comm
    folder.mkdir(exist_ok=True) if comm.rank == 0 else None
    comm.barrier()
    files = write_vtu(folder, solution, tmesh) if tmesh.num_cells_global() <= VTU_MAX_CELLS else []
    with dolfinx.io.VTXWriter(comm, folder / "displacement.bp", [solution.u], engine="BP4") as w:
        w.write(0.0)
    S = solution.stress.function_space
    Q = fem.functionspace(tmesh.mesh, ("Discontinuous Lagrange", S.element.basix_element.degree))
    vm = fem.Function(Q, name="von_mises_Pa")
    vm.x.array[:] = solution.von_mises_values(owned_only=False)
    with dolfinx.io.VTXWriter(comm, folder / "stress.bp", [solution.stress, vm], engine="BP4") as w:
        w.write(0.0)
    return files + ["fields/displacement.bp", "fields/stress.bp"]
