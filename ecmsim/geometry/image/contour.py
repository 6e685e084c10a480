"""Step 7 of the image pipeline, **contours**: phase labels -> regions of a
:class:`~ecmsim.geometry.Geometry` with exactly shared boundaries (:func:`labels_to_geometry`).

The boundary between pixels of different phases is cut at junctions (where three phases or the
window border meet) into chains; each chain is drawn through the midpoints of its pixel edges
and simplified to ``tolerance_px`` by Douglas-Peucker with its enclosed area restored
(:func:`ecmsim.geometry.polyline.simplify`), so pixel counts and mesh areas agree. Chains that
would cross after simplification, or that would get a corner sharper than ``MIN_CORNER_DEG``,
are simplified less (down to the exact pixel staircase). Every chain is stored once, so
neighbouring regions share their boundary vertex for vertex.

Voids are what no region covers; electrode pieces inside the electrolyte (dead Li) stay
electrode regions (:mod:`ecmsim.mesh` tags their boundary ``island``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ecmsim.core.errors import GeometryError
from ecmsim.geometry import Geometry, Region
from ecmsim.geometry.image.phases import PHASE_NAMES, VOID
from ecmsim.geometry.polyline import crossing_segments, round_corners, simplify, turning_radii

_OUTSIDE = 255  # beyond the window, in contour extraction
_PHASE_OF = {label: name for name, label in PHASE_NAMES.items()}


def labels_to_geometry(labels: np.ndarray, pixel_size_m: float, tolerance_px: float = 1.0,
                       description: str = "", min_radius_px: float = 0.0,
                       info: dict | None = None) -> Geometry:
    """Regions of the phase labels (row 0 = top of the window) with exactly shared boundaries.

    Needs labels without corner-touching pixels (:func:`~ecmsim.geometry.image.clean.fix_pinches`).
    Coordinates: x to the right from the window's left edge, y up from its bottom edge, in metres.
    ``min_radius_px`` > 0 rounds the inner chains' corners to that curvature radius
    (:func:`round_corners`); ``info`` (if given) receives what the rounding did.
    """
    h, w = labels.shape
    chains = _boundary_chains(labels)
    shapes = _simplified_chains(chains, h, w, tolerance_px, min_radius_px, info)
    regions = []
    for name, label in PHASE_NAMES.items():
        if label == VOID:
            continue
        loops = _loops_of(label, chains, shapes)
        regions.extend(_regions_from_loops(name, loops, pixel_size_m))
    if not regions:
        raise GeometryError("the image holds no electrode or electrolyte after cleaning")
    return Geometry(w * pixel_size_m, h * pixel_size_m, regions, description)


@dataclass
class _Chain:
    corners: list[int]       # corner ids (i * (w + 1) + j), in order
    left: int                # phase on the left of the walk
    right: int
    closed: bool


def _boundary_chains(labels: np.ndarray) -> list[_Chain]:
    """Cut the boundary between different phases (and the window border) into chains that run
    from junction to junction, or around closed loops."""
    h, w = labels.shape
    pad = np.full((h + 2, w + 2), _OUTSIDE, dtype=np.uint8)
    pad[1:-1, 1:-1] = labels
    # horizontal edges on corner row i (i = 0..h), columns j..j+1: above = pad[i, j+1], below = pad[i+1, j+1]
    above, below = pad[:-1, 1:-1], pad[1:, 1:-1]
    hmask = (above != below) & ~(_nothing(above) & _nothing(below))
    hi, hj = np.nonzero(hmask)
    # vertical edges on corner column j (j = 0..w), rows i..i+1: left pixel pad[i+1, j], right pad[i+1, j+1]
    lpx, rpx = pad[1:-1, :-1], pad[1:-1, 1:]
    vmask = (lpx != rpx) & ~(_nothing(lpx) & _nothing(rpx))
    vi, vj = np.nonzero(vmask)
    stride = w + 1
    # walking +x along a horizontal edge the phase above is on the left; walking down (-y) along
    # a vertical edge, the pixel on its right (+x) is on the left
    a = np.concatenate([hi * stride + hj, vi * stride + vj])
    b = np.concatenate([hi * stride + hj + 1, (vi + 1) * stride + vj])
    left = np.concatenate([above[hi, hj], rpx[vi, vj]]).astype(np.int64)
    right = np.concatenate([below[hi, hj], lpx[vi, vj]]).astype(np.int64)
    n_edges = len(a)
    pair = np.minimum(left, right) * 256 + np.maximum(left, right)

    ends = np.concatenate([a, b])
    order = np.argsort(ends, kind="stable")
    corner_sorted = ends[order]
    edge_of = order % n_edges
    uniq, start, degree = np.unique(corner_sorted, return_index=True, return_counts=True)
    # a corner is a junction unless exactly two edges of the same phase pair meet there
    first_pair = pair[edge_of[start]]
    second_pair = pair[edge_of[np.minimum(start + 1, len(edge_of) - 1)]]
    junction = (degree != 2) | (first_pair != second_pair)
    window_corners = np.array([0, w, h * stride, h * stride + w])
    junction |= np.isin(uniq, window_corners)

    incident: dict[int, list[int]] = {}
    for c, s, d in zip(uniq.tolist(), start.tolist(), degree.tolist(), strict=True):
        incident[c] = edge_of[s:s + d].tolist()
    is_junction = dict(zip(uniq.tolist(), junction.tolist(), strict=True))
    a_l, b_l, left_l, right_l = a.tolist(), b.tolist(), left.tolist(), right.tolist()
    used = [False] * n_edges
    chains: list[_Chain] = []

    def walk(corner: int, edge: int) -> _Chain:
        forward = a_l[edge] == corner
        lft, rgt = (left_l[edge], right_l[edge]) if forward else (right_l[edge], left_l[edge])
        corners = [corner]
        while True:
            used[edge] = True
            nxt = b_l[edge] if a_l[edge] == corner else a_l[edge]
            corners.append(nxt)
            if is_junction[nxt] or nxt == corners[0]:
                return _Chain(corners, lft, rgt, closed=not is_junction[nxt])
            e1, e2 = incident[nxt]
            edge = e2 if e1 == edge else e1
            corner = nxt
            if used[edge]:
                return _Chain(corners, lft, rgt, closed=True)

    for c in uniq[junction].tolist():
        for e in incident[c]:
            if not used[e]:
                chains.append(walk(c, e))
    for e in range(n_edges):
        if not used[e]:
            chains.append(walk(a_l[e], e))
    for ch in chains:
        if ch.closed and ch.corners[-1] == ch.corners[0]:
            ch.corners.pop()
    return chains


def _nothing(phase: np.ndarray) -> np.ndarray:
    return (phase == VOID) | (phase == _OUTSIDE)


def _simplified_chains(chains: list[_Chain], h: int, w: int, tolerance_px: float,
                       min_radius_px: float = 0.0, info: dict | None = None) -> list[np.ndarray]:
    """Pixel-unit polylines of the chains, simplified where nothing crosses (see module doc), and
    with ``min_radius_px`` their corners rounded where that makes nothing cross."""
    stride = w + 1

    def xy(corners) -> np.ndarray:
        c = np.asarray(corners)
        return np.column_stack([c % stride, h - c // stride]).astype(float)

    raw = [xy(ch.corners) for ch in chains]
    border = [_OUTSIDE in (ch.left, ch.right) for ch in chains]
    ladder = [tolerance_px, tolerance_px / 2, tolerance_px / 4, 0.0, None]  # None: pixel staircase
    rounding = min_radius_px > 0
    if rounding:
        ladder.insert(0, "round")   # the rounded chain first; where it crosses or has a sharp corner, the simplified ones

    def shape(k: int, level: int) -> np.ndarray:
        pts = raw[k]
        if border[k]:
            return pts[[0, -1]]  # straight along one window side (window corners are junctions)
        tol = ladder[level]
        if tol == "round":
            rounded = round_corners(shape(k, 1), min_radius_px, chains[k].closed)[0]
            return rounded if chains[k].closed else _clear_window_edge(rounded, h, w)
        if tol is None:
            return _drop_collinear(pts, chains[k].closed)
        if chains[k].closed:
            mids = 0.5 * (pts + np.roll(pts, -1, axis=0))
            return simplify(mids, tol, closed=True) if tol > 0 else mids
        mids = np.vstack([pts[:1], 0.5 * (pts[:-1] + pts[1:]), pts[-1:]])
        if tol <= 0:
            return mids
        return _clear_window_edge(simplify(mids, tol, closed=False), h, w)

    level = np.zeros(len(chains), dtype=int)
    shapes = [shape(k, 0) for k in range(len(chains))]
    while True:
        crossing = sorted(set(_crossing_chains(shapes, chains, stride)) | set(_sharp_chains(shapes, chains)))
        if not crossing:
            break
        lower = [k for k in crossing if level[k] < len(ladder) - 1 and not border[k]]
        if not lower:  # pixel staircases never cross: this would be a bug
            raise GeometryError("contours cross even as pixel staircases (internal error)")
        for k in lower:
            level[k] += 1
            shapes[k] = shape(k, level[k])
    if rounding and info is not None:
        inner = [k for k in range(len(chains)) if not border[k]]
        rounded = [k for k in inner if level[k] == 0]
        smallest: dict[str, float] = {}
        for k in rounded:
            r = float(np.min(turning_radii(shapes[k], chains[k].closed), initial=np.inf))
            pair = "/".join(_PHASE_OF[p] for p in sorted((chains[k].left, chains[k].right)))
            pair += " loops" if chains[k].closed else ""
            smallest[pair] = min(smallest.get(pair, float("inf")), r)
        info["corner_rounding"] = {
            "min_radius_px": min_radius_px,
            "chains": len(inner),
            "chains_rounded": len(rounded),
            "chains_kept": len(inner) - len(rounded),   # rounding made them cross or gave a sharp corner
            # per phase pair, chains between junctions and closed loops apart; below min_radius_px
            # where junctions and kept areas forbid it (a void's cap) and for loops smaller than
            # the radius (round_corners)
            "smallest_radius_px": smallest,
        }
    return shapes


#: A contour corner sharper than this (inside a chain, or between two chains at a junction)
#: makes the chains simplify less: a needle tip that simplification turned into a 5 degree spike
#: forces a 5 degree triangle whatever the mesher does. The pixel staircase has 90 degree corners
#: (45 between pixel-edge midpoints), so the ladder always ends.
MIN_CORNER_DEG = 30.0


def _sharp_chains(shapes: list[np.ndarray], chains: list[_Chain]) -> list[int]:
    """Chains with a corner sharper than MIN_CORNER_DEG, inside them or at a junction."""
    limit = math.radians(MIN_CORNER_DEG)
    out = set()
    leaving: dict[int, list[tuple[float, int]]] = {}
    for k, (pts, ch) in enumerate(zip(shapes, chains, strict=True)):
        if len(pts) >= 3:
            p = np.vstack([pts[-1:], pts, pts[:1]]) if ch.closed else pts
            u, v = p[:-2] - p[1:-1], p[2:] - p[1:-1]
            ang = np.abs(np.arctan2(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0], np.einsum("ij,ij->i", u, v)))
            if np.any(ang < limit):
                out.add(k)
        if not ch.closed and len(pts) >= 2:
            for end, nxt, corner in ((pts[0], pts[1], ch.corners[0]), (pts[-1], pts[-2], ch.corners[-1])):
                d = nxt - end
                leaving.setdefault(corner, []).append((math.atan2(d[1], d[0]), k))
    for items in leaving.values():
        if len(items) < 2:
            continue
        items.sort()
        for (a1, k1), (a2, k2) in zip(items, items[1:] + [(items[0][0] + 2 * math.pi, items[0][1])], strict=True):
            if a2 - a1 < limit:
                out.update((k1, k2))
    return sorted(out)


#: A chain that ends on the window edge drops its inner vertices lying closer to that edge
#: than this [px] (the crossing check puts them back if that makes contours cross): a contour running into the edge at a shallow angle would otherwise
#: leave a sliver between itself and the edge, meshed with needle triangles (13 -> 19 degrees).
EDGE_CLEARANCE_PX = 1.5


def _clear_window_edge(pts: np.ndarray, h: int, w: int) -> np.ndarray:
    def side_distance(p, end):
        d = []
        if end[0] in (0.0, float(w)):
            d.append(abs(p[0] - end[0]))
        if end[1] in (0.0, float(h)):
            d.append(abs(p[1] - end[1]))
        return min(d) if d else np.inf

    keep = np.ones(len(pts), dtype=bool)
    for end in (pts[0], pts[-1]):
        for k in range(1, len(pts) - 1):
            if side_distance(pts[k], end) < EDGE_CLEARANCE_PX:
                keep[k] = False
    return pts[keep] if keep.sum() >= 2 else pts


def _drop_collinear(pts: np.ndarray, closed: bool) -> np.ndarray:
    prev = np.roll(pts, 1, axis=0)
    nxt = np.roll(pts, -1, axis=0)
    turn = np.abs((pts[:, 0] - prev[:, 0]) * (nxt[:, 1] - pts[:, 1]) - (pts[:, 1] - prev[:, 1]) * (nxt[:, 0] - pts[:, 0]))
    keep = turn > 0
    if not closed:
        keep[0] = keep[-1] = True
    return pts[keep]


def _crossing_chains(shapes: list[np.ndarray], chains: list[_Chain], stride: int) -> list[int]:
    starts, ends, sid, eid, owner = [], [], [], [], []
    next_id = -1
    for k, (pts, ch) in enumerate(zip(shapes, chains, strict=True)):
        n = len(pts)
        ids = np.arange(next_id, next_id - n, -1)
        next_id -= n
        if not ch.closed:
            ids[0], ids[-1] = ch.corners[0], ch.corners[-1]  # junctions are shared by id
            seg_a, seg_b = pts[:-1], pts[1:]
            ia, ib = ids[:-1], ids[1:]
        else:
            seg_a, seg_b = pts, np.roll(pts, -1, axis=0)
            ia, ib = ids, np.roll(ids, -1)
        starts.append(seg_a)
        ends.append(seg_b)
        sid.append(ia)
        eid.append(ib)
        owner.append(np.full(len(seg_a), k))
    bad = crossing_segments(np.concatenate(starts), np.concatenate(ends), np.concatenate(sid),
                            np.concatenate(eid))
    return sorted(set(np.concatenate(owner)[bad].tolist()))


def _loops_of(label: int, chains: list[_Chain], shapes: list[np.ndarray]) -> list[np.ndarray]:
    """Closed loops (pixel units) bounding ``label``, the label on their left."""
    loops = []
    outgoing: dict[int, list[tuple[int, bool]]] = {}
    for k, ch in enumerate(chains):
        if label not in (ch.left, ch.right):
            continue
        forward = ch.left == label
        if ch.closed:
            loops.append(shapes[k] if forward else shapes[k][::-1])
            continue
        start = ch.corners[0] if forward else ch.corners[-1]
        outgoing.setdefault(start, []).append((k, forward))
    used = set()
    for start, items in outgoing.items():
        for item in items:
            if item in used:
                continue
            parts = []
            k, forward = item
            first = start
            while True:
                used.add((k, forward))
                pts = shapes[k] if forward else shapes[k][::-1]
                parts.append(pts[:-1])
                end = chains[k].corners[-1] if forward else chains[k].corners[0]
                if end == first:
                    break
                nxt = [it for it in outgoing.get(end, []) if it not in used]
                if len(nxt) != 1:
                    raise GeometryError(f"boundary of {label} does not close at a junction (internal error)")
                k, forward = nxt[0]
            loops.append(np.vstack(parts))
    return loops


def _regions_from_loops(name: str, loops: list[np.ndarray], pixel_size_m: float) -> list[Region]:
    from matplotlib.path import Path as MplPath

    from ecmsim.geometry import polygon_area

    areas = [polygon_area(lp) for lp in loops]
    outers = [(lp, a) for lp, a in zip(loops, areas, strict=True) if a > 0]
    holes = [lp for lp, a in zip(loops, areas, strict=True) if a < 0]
    outers.sort(key=lambda o: o[1])  # smallest first: a hole belongs to the smallest outer around it
    paths = [MplPath(lp) for lp, _ in outers]
    assigned: list[list[np.ndarray]] = [[] for _ in outers]
    for hole in holes:
        probe = hole[0]
        for i, path in enumerate(paths):
            if path.contains_point(probe):
                assigned[i].append(hole)
                break
        else:
            raise GeometryError(f"a hole of the {name} lies in no {name} piece (internal error)")
    return [Region(name, lp * pixel_size_m, [hl * pixel_size_m for hl in hs])
            for (lp, _), hs in zip(outers, assigned, strict=True)]
