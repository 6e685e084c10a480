"""Large 2D meshes in parallel: gmsh meshes a coarser mesh, dolfinx refines it on every rank.

gmsh meshes on rank 0 alone, and its cost grows with the number of triangles (about 8 s for the
260 000 triangles of a 10^6-dof P2 window on this machine, while the other ranks wait; the serial
hand-over of the mesh to dolfinx grows alike). Above :data:`REFINE_MIN_CELLS` estimated triangles,
:func:`~ecmsim.mesh.tagged.mesh_geometry` therefore asks gmsh for the mesh at ``2^L`` times every
size (:func:`coarse_options`: 4^L times fewer triangles), distributes that, and splits every
triangle into four by its edge midpoints L times in dolfinx (:func:`refine_tagged`), on all ranks
at once. Uniform splitting keeps every angle (the four children are similar to their parent), so
the quality report of the coarse mesh holds for the fine one; the grading towards the interface
and the void tips is kept, at half the size per level.

Tags are carried: a child cell has its parent's region, a child facet lies on its parent facet and
keeps its tag (``dolfinx.mesh.transfer_meshtag``). No boundary projection is needed: every window
geometry here is polygonal (regions are polygons, gmsh lines are straight segments between their
vertices), so an edge midpoint on the boundary lies exactly on it, and the refined mesh has the
coarse one's region areas and interface length to round-off. Geometries with curved boundaries
(the fibre cell's circles, :mod:`~ecmsim.mesh.cell`) do not take this route.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ecmsim.mesh.options import MeshOptions

#: Estimated triangles from which a 2D window is meshed coarser and refined in dolfinx [-].
REFINE_MIN_CELLS = 100_000
#: The coarse mesh keeps at least this many estimated triangles (it must still follow the geometry) [-].
#: 15 000: a 10^6-dof window (257 000 triangles) takes two levels (gmsh at 4h: 1.1 s less of meshing
#: on rank 0 alone); two levels were checked on the sinusoidal window against gmsh's own mesh at h
#: (tests/test_mesh_refine.py: within 0.2 of the 2h -> h change, as one level).
COARSE_MIN_CELLS = 15_000
#: At most this many automatic refinement levels [-].
MAX_AUTO_LEVELS = 2


def auto_refine_levels(estimated_cells: float) -> int:
    """Refinement levels for a 2D window of about ``estimated_cells`` triangles (0: mesh directly)."""
    if estimated_cells < REFINE_MIN_CELLS:
        return 0
    levels = 0
    while levels < MAX_AUTO_LEVELS and estimated_cells / 4 ** (levels + 1) >= COARSE_MIN_CELLS:
        levels += 1
    return levels


def coarse_options(options: MeshOptions, levels: int) -> MeshOptions:
    """The options of the coarse mesh: every element size times 2^levels; the refined band keeps
    its width (a distance, not a size)."""
    f = 2.0 ** levels

    def scaled(value):
        return None if value is None else value * f

    return replace(options, size_m=options.size_m * f, interface_size_m=scaled(options.interface_size_m),
                   tip_size_m=options.tip_size * f, refine_distance_m=options.refine_distance_m or 10 * options.fine_size_m)


def refine_tagged(mesh, cell_tags, facet_tags, levels: int, ancestry: list | None = None):
    """Split every cell of a distributed dolfinx mesh ``levels`` times, carrying both tag sets.

    Collective. The refined cells stay on their parent's rank (no repartitioning) and the ghost
    layer is rebuilt (shared facets, as the parent's). Returns (mesh, cell_tags, facet_tags).
    ``ancestry``: a list; if given, the local index in ``mesh`` (the coarse mesh) of the cell that
    each owned cell of the result lies in is appended to it (an array over the owned cells)."""
    from ecmsim.core.fem import dolfinx

    tdim = mesh.topology.dim
    ancestor = None
    for _ in range(levels):
        mesh.topology.create_entities(tdim - 1)
        mesh.topology.create_connectivity(tdim, tdim - 1)
        fine, parent_cell, parent_facet = dolfinx.mesh.refine(
            mesh, option=dolfinx.mesh.RefinementOption.parent_cell_and_facet)
        cell_tags, facet_tags = _transfer(mesh, fine, cell_tags, facet_tags, parent_cell, parent_facet)
        parent = _parent_of_owned(fine, parent_cell)
        ancestor = parent if ancestor is None else ancestor[parent]
        mesh = fine
    if ancestry is not None and ancestor is not None:
        ancestry.append(ancestor)
    return mesh, cell_tags, facet_tags


def _original_order(fine) -> np.ndarray:
    """For every owned cell j of ``fine`` (its local order), the position of that cell among this rank's
    refined cells before dolfinx reordered them: the order of ``refine``'s ``parent_cell`` and
    ``parent_facet``."""
    imap = fine.topology.index_map(fine.topology.dim)
    return np.asarray(fine.topology.original_cell_index, dtype=np.int64)[:imap.size_local] - imap.local_range[0]


def _parent_of_owned(fine, parent_cell) -> np.ndarray:
    """The parent's local index of every owned cell of ``fine``, in ``fine``'s local order."""
    return np.asarray(parent_cell, dtype=np.int64)[_original_order(fine)]


def prolongate(u_coarse, V_fine, ancestor) -> np.ndarray:
    """``u_coarse`` at the dofs of ``V_fine``, a Lagrange space on a mesh split from ``u_coarse``'s
    (:func:`refine_tagged`; ``ancestor``: the coarse cell of each owned fine cell): the values of this
    rank's dofs, owned and ghost (``Function.x.array``'s layout). Exact where ``u_coarse`` lies in the
    fine space (the split meshes are nested): a start for an iterative solve on the fine mesh.

    Collective (the ghosts are scattered). Each owned dof is evaluated in the coarse cell of an owned
    fine cell that holds it (children stay on their parent's rank, so that cell is local)."""
    from ecmsim.core.fem import fem

    dofmap = V_fine.dofmap
    bs = dofmap.index_map_bs
    n_owned = dofmap.index_map.size_local
    cell_dofs = dofmap.list[:len(ancestor)]
    cells = np.repeat(np.arange(len(ancestor)), cell_dofs.shape[1])
    flat = cell_dofs.ravel()
    keep = flat < n_owned
    dofs, first = np.unique(flat[keep], return_index=True)
    points = V_fine.tabulate_dof_coordinates()[dofs]
    values = u_coarse.eval(points, ancestor[cells[keep][first]].astype(np.int32))
    u = fem.Function(V_fine)
    u.x.array.reshape(-1, bs)[dofs] = values.reshape(len(dofs), bs)
    u.x.scatter_forward()
    return u.x.array.copy()


def _transfer(coarse, fine, cell_tags, facet_tags, parent_cell, parent_facet):
    """Tags of a refined mesh from its parent's (``dolfinx.mesh.transfer_meshtag`` refuses ghosted
    meshes). ``parent_cell`` names the local parent of every owned fine cell, ``parent_facet`` for
    each of its facets the parent's local facet it lies on (-1: inside the parent). Owned cells take
    their parent's tag, ghost cells their owner's (scattered); a facet of an owned cell takes the tag
    of the parent facet it lies on, which tags every facet a rank integrates over."""
    from ecmsim.core.fem import dolfinx

    tdim = coarse.topology.dim
    fdim = tdim - 1
    cmap = fine.topology.index_map(tdim)
    n_owned = cmap.size_local
    # parent_cell and parent_facet follow the refined cells' order before dolfinx reordered them:
    # local_of[k] is the local index of the k-th of this rank's refined cells
    local_of = np.empty(n_owned, dtype=np.int64)
    local_of[_original_order(fine)] = np.arange(n_owned)

    def local_values(tags, dim):
        imap = coarse.topology.index_map(dim)
        values = np.full(imap.size_local + imap.num_ghosts, -1, dtype=np.int64)
        values[tags.indices] = tags.values
        return values

    # cells: the parent's tag on owned cells, scattered to the ghosts
    vec = dolfinx.la.vector(cmap, 1)
    vec.array[local_of] = local_values(cell_tags, tdim)[parent_cell]
    vec.scatter_forward()
    cell_values = np.rint(vec.array).astype(np.int32)
    cells = np.flatnonzero(cell_values >= 0).astype(np.int32)
    new_cells = dolfinx.mesh.meshtags(fine, tdim, cells, cell_values[cells])

    # facets: through the parent facet each owned cell's facet lies on
    fine.topology.create_entities(fdim)
    fine.topology.create_connectivity(tdim, fdim)
    per_cell = coarse.topology.connectivity(tdim, fdim).links(0).size
    fine_c2f = fine.topology.connectivity(tdim, fdim).array.reshape(-1, per_cell)
    coarse_c2f = coarse.topology.connectivity(tdim, fdim).array.reshape(-1, per_cell)
    on_parent = np.asarray(parent_facet, dtype=np.int64).reshape(n_owned, per_cell)
    k, i = np.nonzero(on_parent >= 0)
    values = local_values(facet_tags, fdim)[coarse_c2f[parent_cell[k], on_parent[k, i]]]
    keep = values >= 0
    facets, first = np.unique(fine_c2f[local_of[k], i][keep], return_index=True)
    new_facets = dolfinx.mesh.meshtags(fine, fdim, facets.astype(np.int32), values[keep][first].astype(np.int32))
    fine.topology.create_connectivity(fdim, tdim)
    return new_cells, new_facets


__all__ = ["REFINE_MIN_CELLS", "COARSE_MIN_CELLS", "MAX_AUTO_LEVELS", "auto_refine_levels", "coarse_options",
           "refine_tagged", "prolongate"]
