"""FIB-SEM stacks (3D): slices -> aligned volume -> phase labels -> tetrahedral mesh with the
same physical tags as the 2D meshes.

1. **read** a multi-page TIFF (tifffile) or a folder of PNG/TIFF slices (sorted by name) into
   a (slices, rows, columns) volume; the voxel size is (slice spacing, pixel, pixel).
2. **align**: FIB-SEM slices drift. The shift between consecutive slices is measured by phase
   cross-correlation (:func:`skimage.registration.phase_cross_correlation`, 1/10 px), summed
   into a drift per slice and undone (integer-pixel roll, so labels stay labels); the drift
   table is reported. Shifts beyond ``max_drift_px`` are refused as misregistration.
3. **segment** like 2D (:mod:`ecmsim.geometry.image`): the slices around the middle one, side
   by side (up to ``MOSAIC_MAX_PIXELS``), fix the thresholds and phase names, every slice is
   classified with them (same phases throughout the stack); or a label stack with
   ``label_values``.
4. **coarsen** by an integer ``voxel_factor`` (majority vote) to bound the mesh size.
5. **mesh**: each material voxel becomes 6 tetrahedra (the Kuhn split, which matches across
   neighbouring cubes, so the mesh is conforming); void voxels are left out. Cells are tagged by
   phase (``electrode``, ``electrolyte``, ``particle``...), boundary triangles like 2D:
   ``top`` (electrode side, y = H), ``bottom`` (y = 0), ``left``/``right`` (x), ``front``/
   ``back`` (z, the milling direction), ``interface`` (electrode-electrolyte), ``void``
   (faces against void), ``<a>_<b>`` for other pairs. The surfaces are voxel staircases: areas
   are those of the voxels (the 3D interface metrics below say so), not smoothed surfaces.

Coordinates: x along image columns, y up (electrode on top, as in 2D), z along the stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecmsim.errors import GeometryError, InputFileError

#: Kuhn (Freudenthal) split of the unit cube into 6 tetrahedra: corner index = x + 2 y + 4 z.
#: Every tetrahedron runs from corner 0 to corner 7 along one monotone path, so neighbouring
#: cubes split their shared faces along the same diagonal.
_KUHN = np.array([[0, 1, 3, 7], [0, 1, 5, 7], [0, 2, 3, 7], [0, 2, 6, 7], [0, 4, 5, 7], [0, 4, 6, 7]])
_CORNERS = np.array([[(c >> 0) & 1, (c >> 1) & 1, (c >> 2) & 1] for c in range(8)])  # (dx, dy, dz)


@dataclass
class StackResult:
    """A segmented, aligned stack. labels: (slices, rows, cols), row 0 at the top."""

    labels: np.ndarray
    voxel_size_m: tuple[float, float, float]  # (z, y, x)
    info: dict = field(default_factory=dict)


def read_stack(path: str | Path) -> np.ndarray:
    """(slices, rows, cols) volume from a multi-page TIFF or a folder of PNG/TIFF slices."""
    import tifffile

    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".png", ".tif", ".tiff", ".bmp"))
        if len(files) < 2:
            raise InputFileError(f"{path}: a stack folder needs at least 2 slices (PNG/TIFF), found {len(files)}")
        from ecmsim.geometry.image import read_image, to_grey

        slices = [to_grey(read_image(f)) for f in files]
        if len({s.shape for s in slices}) != 1:
            raise InputFileError(f"{path}: the slices differ in size ({sorted({s.shape for s in slices})[:3]})")
        return np.stack(slices)
    if not path.is_file():
        raise InputFileError(f"{path}: stack not found")
    try:
        data = tifffile.imread(path)
    except Exception as err:  # noqa: BLE001 - any reader failure is one bad-input line
        raise InputFileError(f"{path}: cannot read it as a multi-page TIFF: {err}") from None
    if data.ndim == 4 and data.shape[-1] in (3, 4):
        data = data[..., :3].astype(float) @ np.array([0.299, 0.587, 0.114])
    if data.ndim != 3 or data.shape[0] < 2:
        raise InputFileError(f"{path}: need a stack of at least 2 slices (shape {data.shape})")
    return data


def align(volume: np.ndarray, max_drift_px: float = 50.0) -> tuple[np.ndarray, dict]:
    """Undo slice-to-slice drift (integer pixels); returns the aligned volume and the drift table."""
    from scipy.ndimage import gaussian_filter
    from skimage.registration import phase_cross_correlation

    from ecmsim.geometry.image import _destripe

    # registered on destriped, smoothed slices: curtains differ from slice to slice and would
    # pull the column shift towards zero
    reg = [gaussian_filter(_destripe(s.astype(float)), 1.0) for s in volume]
    steps = [np.zeros(2)]
    for k in range(1, len(volume)):
        shift, _, _ = phase_cross_correlation(reg[k - 1], reg[k], upsample_factor=10, normalization=None)
        steps.append(np.asarray(shift, dtype=float))
    drift = np.cumsum(steps, axis=0)  # shift that brings slice k onto slice 0 (rows, cols)
    if np.abs(drift).max() > max_drift_px:
        raise GeometryError(f"slice drift up to {np.abs(drift).max():.1f} px (> {max_drift_px:g} px): the stack "
                            f"looks misregistered; align it first or raise max_drift_px")
    out = np.empty_like(volume)
    whole = np.round(drift).astype(int)
    for k in range(len(volume)):
        out[k] = np.roll(volume[k], tuple(whole[k]), axis=(0, 1))
    margin = np.abs(whole).max(axis=0)
    info = {"drift_px": drift.round(2).tolist(), "max_drift_px": float(np.abs(drift).max()),
            "cropped_margin_px": margin.tolist()}
    r, c = margin
    out = out[:, r:out.shape[1] - r or None, c:out.shape[2] - c or None]  # rolled-in edges
    return out, info


#: The grey classes of a stack come from the slices around the middle one, side by side, up to
#: this many pixels: a single small slice (76 x 60 px) gave the histogram route a noise peak
#: (void 0.50 of the window against 0.06); the whole stack (8 slices) finds the three phases.
MOSAIC_MAX_PIXELS = 1_000_000


def mosaic_slices(shape: tuple[int, int, int], middle: int) -> list[int]:
    """Indices of the slices pooled for segmentation: the middle one and its neighbours, nearest
    first, while the mosaic holds at most MOSAIC_MAX_PIXELS (at least the middle slice)."""
    n, h, w = shape
    count = max(1, min(n, MOSAIC_MAX_PIXELS // max(h * w, 1)))
    order = sorted(range(n), key=lambda k: (abs(k - middle), k))[:count]
    return sorted(order)


def segment_stack(volume: np.ndarray, pixel_size_m: float, slice_spacing_m: float, label_values=None,
                  do_align: bool = True, voxel_factor: int = 1, **image_options) -> StackResult:
    """Aligned, segmented, coarsened labels of a grey (or label) stack."""
    from ecmsim.geometry import image as img

    info: dict = {"shape_in": list(volume.shape)}
    if label_values is None:
        volume = volume.astype(float)  # integer grey would wrap in differences
    if do_align and label_values is None:
        volume, info["alignment"] = align(volume)
    if label_values is not None:
        present = set(np.unique(volume).tolist())
        missing = [n for n, v in label_values.items() if v not in present]
        if missing:
            raise GeometryError(f"label stack: label {missing[0]} = {label_values[missing[0]]} occurs in no slice "
                                f"(values present: {', '.join(str(v) for v in sorted(present)[:10])})")
        # a phase may be absent from some slices (a pore through a few of them): check per stack
        labels = np.stack([img.labels_from_label_image(s, {n: v for n, v in label_values.items() if (s == v).any()})
                           for s in volume])
        info["phases"] = sorted(label_values, key=lambda n: label_values[n])
    else:
        middle = len(volume) // 2
        opts = img.ImageOptions(pixel_size_m=pixel_size_m, **image_options)
        take = mosaic_slices(volume.shape, middle)
        if len(take) == 1:
            lab_mid, seg = img.segment_grey(volume[middle], opts)
        else:
            # the slices around the middle side by side: the same rows (the layout, top to
            # bottom, stays), len(take) times the pixels in the histogram
            mosaic, seg = img.segment_grey(np.hstack([volume[k] for k in take]), opts)
            w = volume.shape[2]
            at = take.index(middle)
            lab_mid = mosaic[:, at * w:(at + 1) * w]
        info["middle_slice"] = {k: v for k, v in seg.items() if k in (
            "segmentation_method", "thresholds", "class_phases", "phases", "warnings", "electrode_rule")}
        info["middle_slice"]["slices_pooled"] = [int(k) for k in take]
        names = seg["class_phases"]
        fixed = img.ImageOptions(pixel_size_m=pixel_size_m, levels=tuple(seg["thresholds"]),
                                 phases=tuple(names) if len(set(names)) == len(names) else None,
                                 **{k: v for k, v in image_options.items() if k not in ("phases", "levels", "method")})
        labels = np.empty(volume.shape, np.uint8)
        lut = np.array([img.PHASE_NAMES[n] for n in names], np.uint8)
        for k, sl in enumerate(volume):
            if k == middle:
                labels[k] = lab_mid
                continue
            if fixed.phases is not None:
                labels[k] = img.segment_grey(sl, fixed)[0]
            else:  # merged classes: classify with the thresholds and map through the class names
                g = sl.astype(float)
                labels[k] = lut[np.digitize(g, np.asarray(seg["thresholds"]))]
        info["phases"] = seg["phases"]
    if voxel_factor > 1:
        labels = coarsen(labels, voxel_factor)
    # electrode on top (row 0): flip rows if the electrode sits lower than the electrolyte
    rows = np.arange(labels.shape[1])[None, :, None]
    e, s = labels == img.ELECTRODE, labels == img.ELECTROLYTE
    info["flipped"] = bool(e.any() and s.any() and (rows * e).sum() / e.sum() > (rows * s).sum() / s.sum())
    if info["flipped"]:
        labels = labels[:, ::-1].copy()
    fractions = np.bincount(labels.ravel(), minlength=256) / labels.size
    info["phase_fraction"] = {n: float(fractions[k]) for n, k in img.PHASE_NAMES.items() if fractions[k] > 0}
    size = (slice_spacing_m * voxel_factor, pixel_size_m * voxel_factor, pixel_size_m * voxel_factor)
    return StackResult(labels, size, info)


def coarsen(labels: np.ndarray, f: int) -> np.ndarray:
    """Majority vote over f x f x f blocks (the volume is trimmed to whole blocks)."""
    z, y, x = (s // f for s in labels.shape)
    blocks = labels[:z * f, :y * f, :x * f].reshape(z, f, y, f, x, f).transpose(0, 2, 4, 1, 3, 5).reshape(z, y, x, -1)
    counts = np.stack([(blocks == v).sum(-1) for v in range(int(labels.max()) + 1)], axis=-1)
    return np.argmax(counts, axis=-1).astype(np.uint8)


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
    from ecmsim.mesh import CELL_IDS, FACET_IDS, _ids, gmsh_model

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
    from ecmsim.fem import MPI, dolfinx
    from ecmsim.mesh import TaggedMesh, _nothing, gmsh_model

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
