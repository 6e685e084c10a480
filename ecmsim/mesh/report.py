"""What a mesh holds, measured on its triangles and tagged facets: counts, quality, areas,
lengths, void fraction and contact fraction. Written as JSON beside every mesh.

Definitions (all measured on the mesh, not on the geometry it came from):

- ``void_area_fraction`` = 1 - (area of all triangles) / (window area).
- ``interface_length_m``: sum of the ``interface`` facet lengths (electrode against
  electrolyte; dead-Li ``island`` facets are counted apart).
- ``interface_contact_fraction_geometric`` = L_interface / (L_interface + L_lost), L_lost being the electrolyte-side
  boundary of the voids that touch both electrode and electrolyte (interfacial voids): the part
  of the electrolyte surface the electrode has let go of. Pores closed inside one phase do not
  count. 1 for a conformal interface. Geometric, from the mesh alone; not the run metric
  ``contact_fraction`` (the mechanical one: the part of the interface in contact under load).
- ``narrow_features`` (when present): where boundaries came closer than interface size / 2
  across a gap, a neck, a needle or the window edge, and the mesh was refined to resolve them
  (:func:`ecmsim.mesh.sizes._narrow_sizes`): the narrowest width and the smallest element size.
- quality: the radius ratio q = 2 r_inscribed / r_circumscribed (1 equilateral, 0 degenerate)
  and the smallest angle of each triangle, with histograms.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Histogram bin edges of the report.
QUALITY_BINS = tuple(round(0.1 * k, 1) for k in range(11))
ANGLE_BINS_DEG = (0, 10, 20, 30, 40, 50, 60)


@dataclass
class MeshArrays:
    """A linear triangle mesh as plain arrays [m], with the tag ids and their names."""

    points: np.ndarray           # (N, 2)
    triangles: np.ndarray        # (M, 3) point indices
    triangle_tags: np.ndarray    # (M,) cell tag id
    facets: np.ndarray           # (K, 2) point indices
    facet_tags: np.ndarray       # (K,) facet tag id
    cell_names: dict[int, str]
    facet_names: dict[int, str]

    def cells_named(self, name: str) -> np.ndarray:
        ident = {v: k for k, v in self.cell_names.items()}[name]
        return self.triangles[self.triangle_tags == ident]

    def facets_named(self, name: str) -> np.ndarray:
        ident = {v: k for k, v in self.facet_names.items()}.get(name)
        return self.facets[self.facet_tags == ident] if ident is not None else np.empty((0, 2), int)


def gmsh_arrays() -> MeshArrays:
    """The meshed current gmsh model as :class:`MeshArrays` (physical groups only)."""
    import gmsh

    tags, coords, _ = gmsh.model.mesh.getNodes()
    points = coords.reshape(-1, 3)[:, :2]
    index = np.full(int(tags.max()) + 1, -1, dtype=np.int64)
    index[tags.astype(np.int64)] = np.arange(len(tags))
    blocks: dict[int, tuple[list, list, dict]] = {2: ([], [], {}), 1: ([], [], {})}
    for dim, ident in gmsh.model.getPhysicalGroups():
        if dim not in blocks:
            continue
        conn, tag_list, names = blocks[dim]
        names[ident] = gmsh.model.getPhysicalName(dim, ident)
        for entity in gmsh.model.getEntitiesForPhysicalGroup(dim, ident):
            etypes, _, enodes = gmsh.model.mesh.getElements(dim, int(entity))
            for etype, nodes in zip(etypes, enodes, strict=True):
                nv = gmsh.model.mesh.getElementProperties(etype)[3]
                elems = index[nodes.astype(np.int64)].reshape(-1, nv)[:, :dim + 1]
                conn.append(elems)
                tag_list.append(np.full(len(elems), ident))
    tri, tri_tags, cell_names = blocks[2]
    fac, fac_tags, facet_names = blocks[1]
    return MeshArrays(points, np.concatenate(tri) if tri else np.empty((0, 3), int),
                      np.concatenate(tri_tags) if tri else np.empty(0, int),
                      np.concatenate(fac) if fac else np.empty((0, 2), int),
                      np.concatenate(fac_tags) if fac else np.empty(0, int), cell_names, facet_names)


def triangle_quality(points: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area [m^2], radius ratio [-] and smallest angle [deg] of each triangle."""
    p = points[triangles]
    a = np.hypot(*(p[:, 1] - p[:, 2]).T)
    b = np.hypot(*(p[:, 2] - p[:, 0]).T)
    c = np.hypot(*(p[:, 0] - p[:, 1]).T)
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(a * b * c > 0, (b + c - a) * (c + a - b) * (a + b - c) / (a * b * c), 0.0)
        cos = np.stack([(b**2 + c**2 - a**2) / (2 * b * c), (c**2 + a**2 - b**2) / (2 * c * a),
                        (a**2 + b**2 - c**2) / (2 * a * b)])
    angles = np.degrees(np.arccos(np.clip(np.nan_to_num(cos, nan=1.0), -1, 1)))
    return area, np.clip(q, 0, 1), angles.min(axis=0)


def mesh_report(mesh: MeshArrays, width_m: float, height_m: float) -> dict:
    """The report of the module docstring as a JSON-ready dict (SI names)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    area, q, min_angle = triangle_quality(mesh.points, mesh.triangles)
    window = width_m * height_m
    regions = {name: float(area[mesh.triangle_tags == ident].sum()) for ident, name in mesh.cell_names.items()}
    seg = mesh.points[mesh.facets]
    lengths = np.hypot(*(seg[:, 1] - seg[:, 0]).T) if len(seg) else np.empty(0)
    facet_length = {name: float(lengths[mesh.facet_tags == ident].sum()) for ident, name in mesh.facet_names.items()}

    # the region on the material side of each void facet, from the triangle that owns its edge
    void_ident = {v: k for k, v in mesh.facet_names.items()}.get("void")
    lost = 0.0
    void_count = 0
    if void_ident is not None:
        edge_keys = np.sort(mesh.triangles[:, [[0, 1], [1, 2], [2, 0]]].reshape(-1, 2), axis=1)
        n = len(mesh.points)
        tri_key = edge_keys[:, 0] * n + edge_keys[:, 1]
        tri_of_edge = np.repeat(np.arange(len(mesh.triangles)), 3)
        order = np.argsort(tri_key)
        vf = mesh.facets[mesh.facet_tags == void_ident]
        vlen = lengths[mesh.facet_tags == void_ident]
        fkey = np.sort(vf, axis=1)
        pos = np.searchsorted(tri_key[order], fkey[:, 0] * n + fkey[:, 1])
        owner = tri_of_edge[order[np.minimum(pos, len(order) - 1)]]
        side = mesh.triangle_tags[owner]
        # the boundary of one void: void facets connected through shared vertices
        graph = coo_matrix((np.ones(len(vf)), (vf[:, 0], vf[:, 1])), shape=(n, n))
        _, comp_of_point = connected_components(graph, directed=False)
        comp = comp_of_point[vf[:, 0]]
        uniq, comp = np.unique(comp, return_inverse=True)
        void_count = len(uniq)
        ids = {name: ident for ident, name in mesh.cell_names.items()}
        on_electrode = np.bincount(comp, weights=(side == ids.get("electrode")), minlength=len(uniq)) > 0
        electrolyte_len = np.bincount(comp, weights=vlen * (side == ids.get("electrolyte")), minlength=len(uniq))
        lost = float(electrolyte_len[on_electrode].sum())
    contact = facet_length.get("interface", 0.0)
    edges = _edge_lengths(mesh) if len(mesh.triangles) else None
    return {
        "cells": int(len(mesh.triangles)),
        "vertices": int(len(np.unique(mesh.triangles))),
        "min_angle_deg": float(min_angle.min()) if len(min_angle) else None,
        "min_angle_histogram_deg": {"edges": list(ANGLE_BINS_DEG),
                                    "counts": np.histogram(min_angle, bins=ANGLE_BINS_DEG)[0].tolist()},
        "radius_ratio_min": float(q.min()) if len(q) else None,
        "radius_ratio_mean": float(q.mean()) if len(q) else None,
        "radius_ratio_histogram": {"edges": list(QUALITY_BINS),
                                   "counts": np.histogram(q, bins=QUALITY_BINS)[0].tolist()},
        "edge_length_min_m": float(edges.min()) if edges is not None else None,
        "edge_length_max_m": float(edges.max()) if edges is not None else None,
        "window_width_m": width_m,
        "window_height_m": height_m,
        "region_area_m2": regions,
        "void_area_fraction": float(1.0 - sum(regions.values()) / window),
        "interface_length_m": contact,
        "island_length_m": facet_length.get("island", 0.0),
        "void_boundary_length_m": facet_length.get("void", 0.0),
        "lost_contact_length_m": lost,
        "interface_contact_fraction_geometric": contact / (contact + lost) if contact + lost > 0 else 0.0,
        "void_count": void_count,
        "facet_length_m": facet_length,
    }


def _edge_lengths(mesh: MeshArrays) -> np.ndarray:
    p = mesh.points[mesh.triangles]
    return np.hypot(*(p[:, [1, 2, 0]] - p).reshape(-1, 2).T)


def write_report(report: dict, path: str | Path) -> Path:
    """Write the report as indented JSON; returns the path."""
    path = Path(path)
    path.write_text(json.dumps(report, indent=2, default=_plain) + "\n")
    return path


def report_path(msh_path: str | Path) -> Path:
    """Where the report of a mesh file goes: ``name.msh`` -> ``name.report.json``."""
    return Path(msh_path).with_suffix(".report.json")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"not JSON: {type(value)}")


def write_mesh_files(geometry, options, msh_path: str | Path, grey: np.ndarray | None = None,
                     image_measures: dict | None = None, preview: bool = True, title: str = "",
                     decisions: dict | None = None) -> dict:
    """Mesh a geometry with gmsh (this process only, no dolfinx) and write ``name.msh``,
    ``name.report.json`` and (``preview``) ``name.preview.png`` over ``grey``.

    ``decisions``: what the image pipeline decided (method, thresholds, classes, merges, flips,
    cleaning, warnings), stored under ``segmentation``; its warnings also under ``warnings``.
    ``image_measures``: the image's own numbers (:func:`ecmsim.geometry.image.pixel_measures`),
    stored in the report under ``image`` beside the mesh's, with their relative differences.
    Returns the report.
    """
    from ecmsim.mesh.build import build_gmsh_model
    from ecmsim.mesh.session import gmsh_model

    msh_path = Path(msh_path)
    msh_path.parent.mkdir(parents=True, exist_ok=True)
    with gmsh_model():
        import gmsh

        built = build_gmsh_model(geometry, options)
        gmsh.write(str(msh_path))
        arrays = gmsh_arrays()
    report = mesh_report(arrays, geometry.width_m, geometry.height_m)
    if "narrow_features" in built:   # where the mesh was refined to resolve gaps, necks and needles
        report["narrow_features"] = built["narrow_features"]
    report["mesh_file"] = msh_path.name
    # the files written together: this report is their manifest (ecmsim.io.folders.result_files)
    report["files"] = [msh_path.name] + ([msh_path.with_suffix(".preview.png").name] if preview else [])
    report["geometry"] = geometry.description
    if image_measures is not None:
        report["image"] = {k: v for k, v in image_measures.items()}
        report["mesh_vs_image"] = {
            "void_area_fraction_difference": report["void_area_fraction"] - image_measures["void_area_fraction"],
            "interface_length_relative_difference": _relative(
                report["interface_length_m"] + report["island_length_m"], image_measures["interface_length_m"]
                + image_measures.get("island_length_m", 0.0)),
            "void_boundary_length_relative_difference": _relative(
                report["void_boundary_length_m"], image_measures["void_boundary_length_m"]),
        }
    if decisions is not None:
        report["segmentation"] = {k: v for k, v in decisions.items() if k != "pixels"}
        if decisions.get("warnings"):
            report["warnings"] = list(decisions["warnings"])
    write_report(report, report_path(msh_path))
    if preview:
        from ecmsim.mesh.preview import preview_png
        from ecmsim.core.figures import draw_or_warn
        draw_or_warn(msh_path.with_suffix(".preview.png"), lambda p: preview_png(
            p, arrays, grey, title or geometry.description, geometry.width_m, geometry.height_m))
    return report


def _relative(value: float, reference: float) -> float | None:
    return (value - reference) / reference if reference else None
