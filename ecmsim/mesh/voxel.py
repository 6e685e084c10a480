"""Voxel stacks -> conforming tetrahedral meshes with the tag names of the 2D meshes.

Each material voxel becomes 6 tetrahedra (the Kuhn split, which matches across neighbouring
cubes, so the mesh is conforming); void voxels are left out. Cells are tagged by phase
(``electrode``, ``electrolyte``, ``particle``...), boundary triangles like 2D: ``top`` (electrode
side, y = H), ``bottom`` (y = 0), ``left``/``right`` (x), ``front``/``back`` (z, the milling
direction), ``interface`` (electrode-electrolyte), ``void`` (faces against void), ``<a>_<b>`` for
other pairs. The surfaces are voxel staircases: areas are those of the voxels (the 3D interface
metrics say so), not smoothed surfaces.

:func:`mesh_stack` runs the whole route: read, align and segment (:mod:`ecmsim.geometry.stack`),
mesh, write the ``.msh`` on rank 0 and read it back on every rank as a 3D
:class:`~ecmsim.mesh.TaggedMesh`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

#: Kuhn (Freudenthal) split of the unit cube into 6 tetrahedra: corner index = x + 2 y + 4 z.
#: Every tetrahedron runs from corner 0 to corner 7 along one monotone path, so neighbouring
#: cubes split their shared faces along the same diagonal.
_KUHN = np.array([[0, 1, 3, 7], [0, 1, 5, 7], [0, 2, 3, 7], [0, 2, 6, 7], [0, 4, 5, 7], [0, 4, 6, 7]])
_CORNERS = np.array([[(c >> 0) & 1, (c >> 1) & 1, (c >> 2) & 1] for c in range(8)])  # (dx, dy, dz)


def voxel_tetra_mesh(labels: np.ndarray, voxel_size_m: tuple[float, float, float]):
    """Points (N, 3) [m], tetrahedra (M, 4), their phase code (M,), boundary triangles (K, 3)
    with their tag names (K,). Void voxels (code 0) are left out."""
    from ecmsim.geometry.image import PHASE_NAMES, VOID

    dz, dy, dx = voxel_size_m
    nz, ny, nx = labels.shape
    # voxel (k, i, j): image row i counts down; y up -> y index = ny - 1 - i
    k, i, j = np.nonzero(labels != VOID)
    code = labels[k, i, j]
    yi = ny - 1 - i
    base = np.column_stack([j, yi, k])  # (x, y, z) voxel origins
    corner = base[:, None, :] + _CORNERS[None, :, :]  # (V, 8, 3)
    pid = (corner[..., 2] * (ny + 1) + corner[..., 1]) * (nx + 1) + corner[..., 0]
    tets_g = pid[:, _KUHN].reshape(-1, 4)
    tet_code = np.repeat(code, 6).astype(np.int64)
    used, inverse = np.unique(tets_g, return_inverse=True)
    tets = inverse.reshape(-1, 4)
    gx = used % (nx + 1)
    gy = (used // (nx + 1)) % (ny + 1)
    gz = used // ((nx + 1) * (ny + 1))
    points = np.column_stack([gx * dx, gy * dy, gz * dz]).astype(float)
    # faces: each tet face; a face shared by two tets of the same phase is interior
    faces = np.concatenate([tets[:, [1, 2, 3]], tets[:, [0, 2, 3]], tets[:, [0, 1, 3]], tets[:, [0, 1, 2]]])
    owner = np.tile(np.arange(len(tets)), 4)
    key = np.sort(faces, axis=1)
    order = np.lexsort(key.T[::-1])
    key, owner, faces = key[order], owner[order], faces[order]
    same_next = np.all(key[1:] == key[:-1], axis=1)
    first = np.concatenate([[True], ~same_next])
    group = np.cumsum(first) - 1
    n_groups = group[-1] + 1
    count = np.bincount(group, minlength=n_groups)
    start = np.flatnonzero(first)
    a_tet = owner[start]
    b_tet = np.where(count == 2, owner[np.minimum(start + 1, len(owner) - 1)], -1)
    names_of = {v: n for n, v in PHASE_NAMES.items()}
    a_code = tet_code[a_tet]
    b_code = np.where(b_tet >= 0, tet_code[np.maximum(b_tet, 0)], -1)
    tri = key[start]
    P = points[tri]
    tol = 1e-6 * min(voxel_size_m)
    X, Y, Z = nx * dx, ny * dy, nz * dz
    side = np.full(len(tri), "", dtype=object)
    for name, axis, value in (("left", 0, 0.0), ("right", 0, X), ("bottom", 1, 0.0), ("top", 1, Y),
                              ("front", 2, 0.0), ("back", 2, Z)):
        on = np.all(np.abs(P[:, :, axis] - value) < tol, axis=1) & (b_tet < 0)
        side[on] = name
    boundary = b_tet < 0
    void_face = boundary & (side == "")
    side[void_face] = "void"
    inner = (b_tet >= 0) & (a_code != b_code)
    for f in np.flatnonzero(inner):
        pair = sorted((names_of[int(a_code[f])], names_of[int(b_code[f])]))
        side[f] = "interface" if pair == ["electrode", "electrolyte"] else "_".join(pair)
    keep = side != ""
    return points, tets, tet_code, tri[keep], side[keep].astype(str)


def write_msh(path: str | Path, points, tets, tet_code, tri, tri_names) -> dict[str, dict[str, int]]:
    """Write the tetrahedral mesh as gmsh .msh with named physical groups (same ids as 2D)."""
    import gmsh

    from ecmsim.geometry.image import PHASE_NAMES
    from ecmsim.mesh.session import gmsh_model
    from ecmsim.mesh.tags import CELL_IDS, FACET_IDS, _ids

    names_of = {v: n for n, v in PHASE_NAMES.items()}
    cell_names = sorted({names_of[int(c)] for c in np.unique(tet_code)})
    cell_ids = _ids(cell_names, CELL_IDS)
    facet_names = sorted(set(tri_names.tolist()))
    facet_ids = _ids(facet_names, {**FACET_IDS, "front": 18, "back": 19})
    with gmsh_model("stack"):
        node_entity = gmsh.model.addDiscreteEntity(3)
        gmsh.model.mesh.addNodes(3, node_entity, list(range(1, len(points) + 1)), points.ravel().tolist())
        next_el = 1
        for name in cell_names:
            sel = tets[tet_code == PHASE_NAMES[name]]
            ent = node_entity if name == cell_names[0] else gmsh.model.addDiscreteEntity(3)
            gmsh.model.mesh.addElementsByType(ent, 4, list(range(next_el, next_el + len(sel))), (sel + 1).ravel().tolist())
            next_el += len(sel)
            gmsh.model.addPhysicalGroup(3, [ent], cell_ids[name], name)
        for name in facet_names:
            sel = tri[tri_names == name]
            ent = gmsh.model.addDiscreteEntity(2)
            gmsh.model.mesh.addElementsByType(ent, 2, list(range(next_el, next_el + len(sel))), (sel + 1).ravel().tolist())
            next_el += len(sel)
            gmsh.model.addPhysicalGroup(2, [ent], facet_ids[name], name)
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.write(str(path))
    return {"cells": cell_ids, "facets": facet_ids}


def interface_metrics_3d(points, tets, tet_code, tri, tri_names, voxel_size_m) -> dict:
    """Volumes per phase, void volume fraction and tagged surface areas (voxel faces) [SI]."""
    from ecmsim.geometry.image import PHASE_NAMES

    p = points[tets]
    vol = np.abs(np.einsum("ij,ij->i", p[:, 1] - p[:, 0], np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 0]))) / 6
    q = points[tri]
    area = 0.5 * np.linalg.norm(np.cross(q[:, 1] - q[:, 0], q[:, 2] - q[:, 0]), axis=1)
    box = float(np.prod(points.max(axis=0) - points.min(axis=0)))
    names_of = {v: n for n, v in PHASE_NAMES.items()}
    volumes = {names_of[int(c)]: float(vol[tet_code == c].sum()) for c in np.unique(tet_code)}
    areas = {n: float(area[tri_names == n].sum()) for n in sorted(set(tri_names.tolist()))}
    footprint = float((points[:, 0].max() - points[:, 0].min()) * (points[:, 2].max() - points[:, 2].min()))
    return {"tetrahedra": int(len(tets)), "vertices": int(len(points)), "box_volume_m3": box,
            "phase_volume_m3": volumes, "void_volume_fraction": 1.0 - sum(volumes.values()) / box,
            "surface_area_m2": areas,
            "interface_area_per_footprint": areas.get("interface", 0.0) / footprint if footprint else None,
            "surface_note": "voxel-face (staircase) areas: a smooth surface at 45 deg reads up to sqrt(3) larger"}


def tagged_mesh_3d(path: str | Path, comm=None):
    """A 3D :class:`~ecmsim.mesh.TaggedMesh` (tetrahedra, same tag names) from :func:`write_msh`'s file."""
    from ecmsim.core.fem import MPI, dolfinx
    from ecmsim.mesh.session import _nothing, gmsh_model
    from ecmsim.mesh.tagged import TaggedMesh

    comm = comm or MPI.COMM_WORLD
    with gmsh_model("stack-read") if comm.rank == 0 else _nothing() as model:
        if comm.rank == 0:
            import gmsh
            gmsh.merge(str(path))
        partitioner = dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet, 3)
        data = dolfinx.io.gmsh.model_to_mesh(model if comm.rank == 0 else None, comm, 0, gdim=3,
                                             partitioner=partitioner)
    cell_ids = {name: g.tag for name, g in data.physical_groups.items() if g.dim == 3}
    facet_ids = {name: g.tag for name, g in data.physical_groups.items() if g.dim == 2}
    return TaggedMesh(data.mesh, data.cell_tags, data.facet_tags, cell_ids, facet_ids)


def mesh_stack(path: str | Path, pixel_size_m: float, slice_spacing_m: float, msh_path: str | Path, comm=None,
               voxel_factor: int = 1, align: bool = True, label_values: Mapping[str, int] | None = None,
               **image_options):
    """Stack file or folder -> (3D TaggedMesh, report dict). The mesh is written to ``msh_path``
    (rank 0) and read back on every rank. ``image_options``: segmentation options of
    :class:`~ecmsim.geometry.image.ImageOptions` (``phases``, ``method``...)."""
    from ecmsim.core.fem import MPI
    from ecmsim.geometry import stack as st

    comm = comm or MPI.COMM_WORLD
    report = None
    if comm.rank == 0:
        res = st.segment_stack(st.read_stack(path), pixel_size_m, slice_spacing_m, label_values=label_values,
                               do_align=align, voxel_factor=voxel_factor, **image_options)
        pts, tets, code, tri, names = voxel_tetra_mesh(res.labels, res.voxel_size_m)
        write_msh(msh_path, pts, tets, code, tri, names)
        report = {**interface_metrics_3d(pts, tets, code, tri, names, res.voxel_size_m),
                  "voxel_size_m": list(res.voxel_size_m), "labels_shape": list(res.labels.shape),
                  "width_m": float(res.labels.shape[2] * res.voxel_size_m[2]), "segmentation": res.info}
    report = comm.bcast(report, root=0)
    return tagged_mesh_3d(msh_path, comm), report


__all__ = ["voxel_tetra_mesh", "write_msh", "interface_metrics_3d", "tagged_mesh_3d", "mesh_stack"]
