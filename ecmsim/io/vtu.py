"""Fields as VTU/PVD: files that ParaView, pyvista and meshio open without ADIOS2.

``fields/fields.vtu`` holds the whole mesh as quadratic triangles (VTK type 22) or, for a 3D
window, quadratic tetrahedra (type 24), the P2 nodes, gathered onto rank 0 and written by VTK's own
XML writer (``vtkmodules``), which keeps the names of each array's components:

- point data ``displacement_m`` (3 components, z = 0 in 2D): the displacement at the P2 nodes,
  exact for a P1 or P2 solve, the P2 interpolant of a P3 one;
- cell data ``region`` (the cell tag id; names in ``summary.json`` -> ``mesh.cell_tags``);
- ``stress_Pa``: the symmetric stress tensor at the cell centroid (the cell mean for a P2 solve)
  as six components named ``XX, YY, ZZ, XY, YZ, XZ``, the order in which ParaView (VTK) reads a
  6-component array as a symmetric tensor (its Tensor Glyph and Tensor Principal Invariants
  filters take it as it is); plane strain has YZ = XZ = 0 and ZZ = lambda tr(eps);
- ``principal_stress_Pa``: the eigenvalues of that tensor, components ``sigma_1 >= sigma_2 >=
  sigma_3`` (most tensile first; compression is negative);
- ``von_mises_Pa`` (at the centroid) and ``von_mises_max_Pa`` (the largest over the cell's stress
  nodes, which bounds it in the cell: von Mises is convex in the linear stress).

``fields/boundaries.vtu``: the tagged facets (window edges, interface, void edges) as line cells
(triangles in 3D) with cell data ``boundary`` (facet tag id; names in ``summary.json`` ->
``mesh.facet_tags``). ``fields/fields.pvd``: a ParaView collection naming ``fields.vtu`` at the
time of the state it holds (0 for a static run, the end time of a protocol run). A time series
(:class:`ecmsim.io.history.FieldSeries`) writes the same arrays per snapshot.

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
#: VTK cell types: quadratic triangle / tetrahedron; facets as lines / triangles.
_VTK_P2 = {2: 22, 3: 24}
_VTK_FACET = {2: 3, 3: 5}

FIELDS_VTU, BOUNDARIES_VTU, FIELDS_PVD = "fields.vtu", "boundaries.vtu", "fields.pvd"
#: the result folder's names of the three files :func:`write_vtu_gathered` writes
VTU_FILES = (f"fields/{FIELDS_VTU}", f"fields/{BOUNDARIES_VTU}", f"fields/{FIELDS_PVD}")
#: zlib compression level of every VTU written (1: fastest; VTK's default is 5)
ZLIB_LEVEL = 1

#: Component names of the symmetric stress tensor in ParaView's order (VTK: XX, YY, ZZ, XY, YZ, XZ).
TENSOR_COMPONENTS = ("XX", "YY", "ZZ", "XY", "YZ", "XZ")
#: Component names of the principal stresses, largest first.
PRINCIPAL_COMPONENTS = ("sigma_1", "sigma_2", "sigma_3")
COMPONENT_NAMES = {"stress_Pa": TENSOR_COMPONENTS, "principal_stress_Pa": PRINCIPAL_COMPONENTS,
                   "displacement_m": ("X", "Y", "Z")}


def paraview_tensor(s: np.ndarray) -> np.ndarray:
    """Stress rows (xx, yy, zz, xy) or (xx, yy, zz, xy, xz, yz) -> (n, 6) in ParaView's order
    (XX, YY, ZZ, XY, YZ, XZ); the missing shear components of plane strain are 0."""
    s = np.asarray(s, dtype=float)
    out = np.zeros((len(s), 6))
    out[:, :4] = s[:, :4]
    if s.shape[1] == 6:
        out[:, 4], out[:, 5] = s[:, 5], s[:, 4]
    return out


def gather_fields(solution, tmesh, extra_cell_data: dict[str, np.ndarray] | None = None, root: int = 0) -> dict | None:
    """The fields of ``solution`` on the P2 nodes and cells of the whole mesh, gathered to rank ``root``
    (collective): a dict for :func:`write_grid` on ``root``, None elsewhere.

    ``extra_cell_data``: more per-cell arrays (values of the owned cells, in local order)."""
    from ecmsim.core.fem import dolfinx, fem

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

    region = np.zeros(n_cells, dtype=np.int32)
    tags = tmesh.cell_tags
    own = tags.indices < n_cells
    region[tags.indices[own]] = tags.values[own]
    cell_data = {"region": region, "stress": _cell_stress(solution, n_cells),
                 "von_mises_max_Pa": _cell_max_von_mises(solution, n_cells)}
    cell_data.update({k: np.asarray(v)[:n_cells] for k, v in (extra_cell_data or {}).items()})

    ftags = tmesh.facet_tags
    n_facets = msh.topology.index_map(tdim - 1).size_local
    fown = ftags.indices < n_facets
    fverts = dolfinx.mesh.entities_to_geometry(msh, tdim - 1, ftags.indices[fown].astype(np.int32))
    fpoints = msh.geometry.x[fverts.ravel()].reshape(-1, tdim, 3)
    fvalues = ftags.values[fown]

    parts = comm.gather((ids, coords, disp, nodes_global, cell_data, fpoints, fvalues), root=root)
    if comm.rank != root:
        return None
    from ecmsim.mechanics.elasticity import principal_stresses, von_mises

    points = np.zeros((imap.size_global, 3))
    displacement = np.zeros((imap.size_global, 3))
    for p in parts:
        points[p[0]] = p[1]
        displacement[p[0], :gdim] = p[2]
    cells = np.concatenate([p[3] for p in parts])[:, _BASIX_TO_VTK_P2[tdim]]
    gathered = {k: np.concatenate([p[4][k] for p in parts]) for k in parts[0][4]}
    stress = gathered.pop("stress")
    data = {"region": gathered.pop("region"), "stress_Pa": paraview_tensor(stress),
            "principal_stress_Pa": principal_stresses(stress), "von_mises_Pa": von_mises(stress), **gathered}
    return {"tdim": tdim, "points": points, "cells": cells, "point_data": {"displacement_m": displacement},
            "cell_data": data, "facets": np.concatenate([p[5] for p in parts]),
            "facet_values": np.concatenate([p[6] for p in parts]).astype(np.int32)}


def write_grid(path: Path, points: np.ndarray, cell_type: int, cells: np.ndarray,
               point_data: dict[str, np.ndarray] | None = None, cell_data: dict[str, np.ndarray] | None = None) -> None:
    """One VTK XML unstructured grid (binary), arrays' component names from :data:`COMPONENT_NAMES`.

    Built with VTK's own classes (``vtkmodules``), not through pyvista: importing pyvista took the
    writing rank about 0.4 s more, at a time when the other rank waits for it (the mesh's hand-over)."""
    from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkUnstructuredGrid
    from vtkmodules.vtkIOXML import vtkXMLUnstructuredGridWriter

    cells = np.asarray(cells, dtype=np.int64)
    grid = vtkUnstructuredGrid()
    vtk_points = vtkPoints()
    vtk_points.SetData(numpy_to_vtk(np.ascontiguousarray(points, dtype=float), deep=True))
    grid.SetPoints(vtk_points)
    offsets = np.arange(0, cells.size + 1, cells.shape[1], dtype=np.int64)
    connectivity = vtkCellArray()
    connectivity.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True), numpy_to_vtkIdTypeArray(cells.ravel(), deep=True))
    grid.SetCells(cell_type, connectivity)
    for arrays, vtk_data in ((point_data, grid.GetPointData()), (cell_data, grid.GetCellData())):
        for name, values in (arrays or {}).items():
            values = np.ascontiguousarray(values)
            array = numpy_to_vtk(values, deep=True)
            array.SetName(name)
            for k, component in enumerate(COMPONENT_NAMES.get(name, ())):
                array.SetComponentName(k, component)
            vtk_data.AddArray(array)
    writer = vtkXMLUnstructuredGridWriter()
    writer.SetInputData(grid)
    writer.SetFileName(str(path))
    writer.SetDataModeToAppended()
    writer.SetCompressorTypeToZLib()
    # zlib at level 1, not VTK's default 5: on the 1 M-dof window's fields.vtu (39 MB) 1.3 % larger,
    # written 3.8 times faster (1.5 s against 5.8 s); readable by ParaView, pyvista and meshio alike
    writer.SetCompressionLevel(ZLIB_LEVEL)
    if not writer.Write():
        raise OSError(f"{path}: VTK could not write the file")


def write_gathered(path: Path, g: dict) -> None:
    """The mesh and fields of :func:`gather_fields` as one VTU (rank 0)."""
    write_grid(path, g["points"], _VTK_P2[g["tdim"]], g["cells"], g["point_data"], g["cell_data"])


def write_vtu(folder: Path, solution, tmesh, time_s: float = 0.0) -> list[str]:
    """Write fields.vtu, boundaries.vtu and fields.pvd into ``folder`` (collective; rank 0 writes).

    ``time_s``: the time of the state [s] that fields.pvd names (the end time of a protocol run)."""
    g = gather_fields(solution, tmesh)
    if g is not None:
        write_vtu_gathered(folder, g, time_s)
    return list(VTU_FILES)


def write_vtu_gathered(folder: Path, g: dict, time_s: float = 0.0) -> list[str]:
    """fields.vtu, boundaries.vtu and fields.pvd from the fields of :func:`gather_fields` (on the rank
    they were gathered to)."""
    tdim = g["tdim"]
    write_gathered(folder / FIELDS_VTU, g)
    seg = g["facets"]
    write_grid(folder / BOUNDARIES_VTU, seg.reshape(-1, 3), _VTK_FACET[tdim],
               np.arange(tdim * len(seg)).reshape(-1, tdim), cell_data={"boundary": g["facet_values"]})
    write_pvd(folder / FIELDS_PVD, [(time_s, FIELDS_VTU)])
    return list(VTU_FILES)


def write_pvd(path: Path, steps: list[tuple[float, str]]) -> None:
    """A ParaView collection: one (time [s], VTU file name relative to ``path``) per step."""
    rows = "\n".join(f'    <DataSet timestep="{float(t)!r}" part="0" file="{name}"/>' for t, name in steps)
    Path(path).write_text('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n  <Collection>\n'
                          f"{rows}\n  </Collection>\n</VTKFile>\n")


def read_pvd(path: Path) -> list[tuple[float, Path]]:
    """The (time [s], file) entries of a ParaView collection, files relative to its folder."""
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    return [(float(d.get("timestep", 0.0)), Path(path).parent / d.get("file", ""))
            for d in root.iter("DataSet")]


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


def write_fields(folder: Path, solution, tmesh, time_s: float = 0.0, later: list | None = None,
                 root: int = 0) -> list[str]:
    """Fields for ParaView, pyvista and meshio (see :mod:`ecmsim.io.vtu` and docs/results.md).

    - ``fields.vtu`` / ``fields.pvd``: mesh (quadratic triangles or tetrahedra), displacement [m]
      at the nodes, region ids, cell stress tensor, principal stresses and von Mises [Pa];
      ``boundaries.vtu``: tagged facets; ``time_s``: the time of the state [s] (fields.pvd, VTX).
      Plain VTK XML: no extra package needed to open them. Gathered to rank 0, so written only up
      to :data:`VTU_MAX_CELLS` cells.
    - ``displacement.bp``, ``stress.bp``: VTX (ADIOS2) at the solve's full degree: u [m] and the
      discontinuous stress (xx, yy, zz, xy) and von Mises [Pa] of degree - 1. ParaView opens them
      with its "ADIOS2VTXReader"; pyvista and meshio cannot.

    Collective. ``later``: a list; if given, the writing of the VTU files, gathered to rank ``root``,
    is appended to it as a function (returning the names written there, nothing elsewhere) to call
    after other collective work, and the names returned here are those of the VTX files only
    (``ecmsim run``: the last rank writes the VTU while rank 0 writes mesh.msh).
    """
    from ecmsim.core.fem import dolfinx, fem

    comm = tmesh.comm
    folder.mkdir(exist_ok=True) if comm.rank == 0 else None
    comm.barrier()
    files = []
    if tmesh.num_cells_global() <= VTU_MAX_CELLS:
        if later is None:
            files = write_vtu(folder, solution, tmesh, time_s)
        else:
            g = gather_fields(solution, tmesh, root=root)
            later.append(lambda: [] if g is None else write_vtu_gathered(folder, g, time_s))
    with dolfinx.io.VTXWriter(comm, folder / "displacement.bp", [solution.u], engine="BP4") as w:
        w.write(float(time_s))
    S = solution.stress.function_space
    Q = fem.functionspace(tmesh.mesh, ("Discontinuous Lagrange", S.element.basix_element.degree))
    vm = fem.Function(Q, name="von_mises_Pa")
    vm.x.array[:] = solution.von_mises_values(owned_only=False)
    with dolfinx.io.VTXWriter(comm, folder / "stress.bp", [solution.stress, vm], engine="BP4") as w:
        w.write(float(time_s))
    return files + ["fields/displacement.bp", "fields/stress.bp"]
