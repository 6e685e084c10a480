"""Tag names and ids: the naming half of the mesh contract (:mod:`ecmsim.mesh`).

The canonical ids of the named cell and facet tags, which facet groups are refined to the
interface size, and how a boundary gets its name from the pieces on its sides: a window edge,
``void`` (one piece), ``interface`` or ``island`` (electrode against electrolyte, the electrode
piece connected to the top edge or not) or ``<a>_<b>``. Both gmsh routes (:mod:`ecmsim.mesh.build`),
the 3D windows (:mod:`ecmsim.mesh.mesh3d`), the conforming partition
(:mod:`ecmsim.mesh.partition`) and the voxel and cell meshes name their tags here.
"""

from __future__ import annotations

import numpy as np

from ecmsim.geometry import Geometry

#: Canonical ids of the named tags (physical groups). Other names get ids from 100 up.
CELL_IDS = {"electrode": 1, "electrolyte": 2, "fibre": 3}
FACET_IDS = {"top": 11, "bottom": 12, "left": 13, "right": 14, "interface": 15, "void": 16, "island": 17,
             "front": 18, "back": 19}


#: Facet groups refined to the interface size.
_REFINED = ("interface", "void", "island")
#: Phases of N-phase image layouts: boundaries that involve them are refined too.
_EXTRA_PHASES = ("particle", "dead_li", "separator")


def _refined(name: str) -> bool:
    return name in _REFINED or any(p in name.split("_") or name.startswith(p) or name.endswith(p)
                                   for p in _EXTRA_PHASES)


def _ids(names: list[str], canonical: dict[str, int]) -> dict[str, int]:
    out, spare = {}, 100
    for name in names:
        if name in canonical:
            out[name] = canonical[name]
        else:
            out[name] = spare
            spare += 1
    return out


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
