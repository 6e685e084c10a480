"""Conforming partitions: regions that share their boundaries vertex for vertex (what the
generators and the image pipeline make).

:func:`_conforming_partition` finds the shared-vertex structure of a geometry (or says it has
none); the built-in kernel route of :mod:`ecmsim.mesh.build` meshes it with one shared line per
boundary segment after :func:`_merge_short_edges` has dropped jitter vertices, both routes
refine at its void tips (:func:`_tip_vertices`), and the narrow-feature sizing
(:mod:`ecmsim.mesh.sizes`) measures its gaps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ecmsim.geometry import Geometry
from ecmsim.mesh.tags import _name_boundaries, _refined, _window_side


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


#: A void corner sharper than this (the void's inner angle below 180 - 60 degrees) is a tip.
TIP_TURN_DEG = 60.0


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
