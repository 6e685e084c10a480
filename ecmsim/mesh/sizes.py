"""Element sizes as gmsh size fields: the interface size near the refined boundaries, the tip
size at void tips, both growing linearly to the coarse size over the refinement distance, and
the narrow-feature sizing: where boundaries come closer to each other than the interface size
allows (a gap, a neck, a needle, a strip along the window edge), elements small enough to span
the gap with good angles (2D, both routes)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ecmsim.geometry import Geometry
from ecmsim.mesh.options import MeshOptions
from ecmsim.mesh.partition import _Partition


def _set_size_fields(options: MeshOptions, refine_curves: list[int], refine_lines: list[int] = (),
                     tip_points: list[int] = (), extra: list[int] = ()) -> None:
    """Interface size near the refined curves (long ones, or short lines), tip size near tips,
    growing linearly to the coarse size over the refinement distance; ``extra`` fields (narrow
    features) join the minimum."""
    import gmsh

    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", options.size_m)
    fine = options.fine_size_m
    field = gmsh.model.mesh.field
    distance = options.refine_distance_m or 10 * fine
    thresholds = []

    def threshold(list_name: str, entities, size: float, sampling: int = 200) -> None:
        dist = field.add("Distance")
        field.setNumbers(dist, list_name, list(entities))
        if list_name == "CurvesList":
            field.setNumber(dist, "Sampling", sampling)
        thr = field.add("Threshold")
        field.setNumber(thr, "InField", dist)
        field.setNumber(thr, "SizeMin", size)
        field.setNumber(thr, "SizeMax", options.size_m)
        field.setNumber(thr, "DistMin", 0.0)
        field.setNumber(thr, "DistMax", distance)
        thresholds.append(thr)

    if fine < options.size_m:
        if len(refine_curves):
            threshold("CurvesList", refine_curves, fine)
        if len(refine_lines):
            # the conforming route split these lines to at most the fine size: a few samples
            # each are as good as OpenCASCADE's 200 on its long curves, and stay cheap
            threshold("CurvesList", refine_lines, fine, sampling=5)
    if len(tip_points) and options.tip_size < min(fine, options.size_m):
        threshold("PointsList", tip_points, options.tip_size)
    thresholds.extend(extra)
    if not thresholds:
        gmsh.option.setNumber("Mesh.MeshSizeMin", options.size_m)
        return
    if len(thresholds) == 1:
        field.setAsBackgroundMesh(thresholds[0])
        return
    smallest = field.add("Min")
    field.setNumbers(smallest, "FieldsList", thresholds)
    field.setAsBackgroundMesh(smallest)


# ------------------------------------------------------------------------ narrow features

#: A boundary point closer than interface size / NARROW_SIZE_FACTOR to boundary across a gap, a
#: neck, a needle or the window edge gets elements of NARROW_SIZE_FACTOR times that width w:
#: triangles of base 2 w spanning a strip of width w have 45 degree base angles, while 5 px
#: elements in a 1 px gap between two particles give 9 degree slivers. (Measured on the
#: composite-cathode micrograph: factor 1 -> 22100 triangles, 21.3 deg; 2 -> 15060, 22.7 deg;
#: 3 -> 14520, 17.6 deg; no narrow sizing: 14240, 9.3 deg.)
NARROW_SIZE_FACTOR = 2.0
#: ... but never smaller than this fraction of the interface size (bounds the cost of gaps that
#: are nearly closed; their triangles then lose angle instead).
NARROW_SIZE_FLOOR = 0.1
#: Size growth per unit distance away from a narrow feature (0.5: a 1 px element grows to 5 px
#: over 8 px).
NARROW_GRADING = 0.5
#: Two boundary points count as the sides of a narrow feature only if the way between them
#: along the boundaries is more than this many times their distance (or there is none).
NARROW_GEODESIC_RATIO = 2.0
#: A short segment counts as a narrow feature only where the boundary turns by more than this
#: at one of its ends (a chamfered pixel corner turns by 45 degrees, a 200-gon circle by 1.8).
SHORT_CORNER_TURN_DEG = 20.0
#: A boundary point across a narrow feature is one seen at more than this angle from the
#: boundary's own direction (its neighbours along the same boundary do not count).
NARROW_CONE_DEG = 60.0


@dataclass
class _Narrow:
    """Sample points of boundaries lying in narrow features and the element size each needs."""

    points: np.ndarray      # (N, 2) in the model's length unit
    sizes: np.ndarray       # (N,)
    widths: np.ndarray      # (N,) local width of the feature
    fine: float

    def summary(self, unit: float) -> dict:
        return {"sample_points": int(len(self.points)),
                "narrowest_width_m": float(self.widths.min() * unit),
                "smallest_element_size_m": float(self.sizes.min() * unit),
                "rule": f"boundary closer than {self.fine / NARROW_SIZE_FACTOR * unit:.3g} m (interface size / "
                        f"{NARROW_SIZE_FACTOR:g}) to boundary across a gap, neck, needle or the window edge: "
                        f"element size {NARROW_SIZE_FACTOR:g} x that width (at least {NARROW_SIZE_FLOOR:g} x "
                        f"the interface size), growing by {NARROW_GRADING:g} per unit distance"}


def _narrow_sizes(part: _Partition, options: MeshOptions) -> _Narrow | None:
    """Where the partition's boundaries come closer to each other than interface size /
    NARROW_SIZE_FACTOR (a gap, a neck, a needle, a strip along the window edge).

    Every boundary segment is sampled at a quarter of the interface size; each sample finds the
    nearest point of any other segment (the window edge included) seen at more than
    NARROW_CONE_DEG from its own segment's direction and farther along the boundaries than
    NARROW_GEODESIC_RATIO times the distance, so that its neighbours along the same boundary
    and round an open corner do not count but the far side of a gap, a neck, a needle or a
    strip along the window edge does. None when nothing is narrow.
    """
    from scipy.spatial import cKDTree

    fine = min(options.fine_size_m, options.size_m)
    pts, edges = part.points, part.edges
    a, b = pts[edges[:, 0]], pts[edges[:, 1]]
    length = np.hypot(*(b - a).T)
    ok = length > 0
    n_samp = np.maximum(2, np.ceil(length / (0.25 * fine)).astype(int) + 1)
    n_samp[~ok] = 0
    owner = np.repeat(np.arange(len(edges)), n_samp)
    t = np.concatenate([np.linspace(0.0, 1.0, k) for k in n_samp if k]) if n_samp.sum() else np.empty(0)
    if not len(t):
        return None
    samples = a[owner] + t[:, None] * (b - a)[owner]
    tangent = ((b - a) / np.where(ok, length, 1.0)[:, None])[owner]
    tree = cKDTree(samples)
    # candidate segments: those owning a sample within fine + half a sample spacing
    pairs = tree.query_pairs(fine / NARROW_SIZE_FACTOR + 0.25 * fine, output_type="ndarray")
    pairs = pairs.reshape(-1, 2).astype(np.int64)
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    j_edge = np.concatenate([owner[pairs[:, 1]], owner[pairs[:, 0]]])
    # not the own segment, nor a neighbour reached only at the vertex they share
    keep = owner[i] != j_edge
    i, j_edge = i[keep], j_edge[keep]
    key = np.unique(i.astype(np.int64) * len(edges) + j_edge)
    i, j_edge = key // len(edges), key % len(edges)
    p = samples[i]
    sa, sb = a[j_edge], b[j_edge]
    d = sb - sa
    s = np.clip(np.einsum("ij,ij->i", p - sa, d) / np.maximum(np.einsum("ij,ij->i", d, d), 1e-300), 0.0, 1.0)
    q = sa + s[:, None] * d
    v = q - p
    dist = np.hypot(*v.T)
    cos = np.abs(np.einsum("ij,ij->i", v, tangent[i])) / np.maximum(dist, 1e-300)
    own = edges[owner[i]]
    at_shared = (((s <= 0.0) & ((own[:, 0] == edges[j_edge, 0]) | (own[:, 1] == edges[j_edge, 0])))
                 | ((s >= 1.0) & ((own[:, 0] == edges[j_edge, 1]) | (own[:, 1] == edges[j_edge, 1]))))
    across = ((cos < math.cos(math.radians(NARROW_CONE_DEG))) & (dist < fine / NARROW_SIZE_FACTOR)
              & (dist > 1e-9 * fine) & ~at_shared)
    across[across] = _far_along_boundary(edges, length, owner[i[across]], t[i[across]], j_edge[across],
                                         s[across], dist[across], NARROW_GEODESIC_RATIO * fine / NARROW_SIZE_FACTOR)
    width = np.full(len(samples), np.inf)
    np.minimum.at(width, i[across], dist[across])
    # a segment shorter than the same limit at a corner (a chamfered pixel corner the OpenCASCADE
    # route keeps) is a narrow feature of its own length; not one of the many short segments of a
    # smooth curve (a generator's circle), which turn by a few degrees only
    short = np.flatnonzero(ok & (length < fine / NARROW_SIZE_FACTOR))
    if len(short):
        unit_dir = (b - a) / np.where(ok, length, 1.0)[:, None]
        incident: dict[int, list[int]] = {}
        for e, (p0, p1) in enumerate(edges.tolist()):
            incident.setdefault(p0, []).append(e)
            incident.setdefault(p1, []).append(e)
        limit = math.cos(math.radians(SHORT_CORNER_TURN_DEG))
        for e in short.tolist():
            corner = False
            for v in edges[e].tolist():
                others = [f for f in incident[v] if f != e]
                if len(others) != 1:
                    corner = True      # a junction of three boundaries (a 1 px segment there made 17 deg)
                    break
                f = others[0]
                # directions leaving v along e and along f: straight on means they are opposite
                de = unit_dir[e] if edges[e, 0] == v else -unit_dir[e]
                df = unit_dir[f] if edges[f, 0] == v else -unit_dir[f]
                if -float(np.dot(de, df)) < limit:
                    corner = True
                    break
            if corner:
                sel = owner == e
                width[sel] = np.minimum(width[sel], length[e])
    hit = np.isfinite(width)
    if not hit.any():
        return None
    sizes = np.clip(NARROW_SIZE_FACTOR * width[hit], NARROW_SIZE_FLOOR * fine, fine)
    return _Narrow(samples[hit], sizes, width[hit], fine)


def _far_along_boundary(edges: np.ndarray, length: np.ndarray, e: np.ndarray, t: np.ndarray, f: np.ndarray,
                        s: np.ndarray, dist: np.ndarray, cutoff: float) -> np.ndarray:
    """For point pairs (at parameter t on edge e, at s on edge f, ``dist`` apart): is the way
    between them along the boundaries longer than NARROW_GEODESIC_RATIO x dist? Two sides of a
    gap or of a needle are far apart along the boundary (or not connected); a vertex two
    segments round a 90 degree corner is not (ratio <= sqrt 2), nor any wedge wider than about
    53 degrees. Bounded Dijkstra (up to ``cutoff``) from the end vertices of the e edges."""
    import heapq

    adj: dict[int, list[tuple[int, float]]] = {}
    for k, (u, w) in enumerate(edges.tolist()):
        adj.setdefault(u, []).append((w, float(length[k])))
        adj.setdefault(w, []).append((u, float(length[k])))
    reach: dict[int, dict[int, float]] = {}

    def from_vertex(u: int) -> dict[int, float]:
        if u not in reach:
            done: dict[int, float] = {}
            heap = [(0.0, u)]
            while heap:
                d0, x = heapq.heappop(heap)
                if x in done:
                    continue
                done[x] = d0
                for y, w in adj.get(x, ()):
                    if y not in done and d0 + w <= cutoff:
                        heapq.heappush(heap, (d0 + w, y))
            reach[u] = done
        return reach[u]

    far = np.ones(len(e), dtype=bool)
    for k in range(len(e)):
        ek, fk = int(e[k]), int(f[k])
        limit = NARROW_GEODESIC_RATIO * float(dist[k])
        le, lf = float(length[ek]), float(length[fk])
        best = math.inf
        for u, cu in ((int(edges[ek, 0]), t[k] * le), (int(edges[ek, 1]), (1.0 - t[k]) * le)):
            r = from_vertex(u)
            for w, cw in ((int(edges[fk, 0]), s[k] * lf), (int(edges[fk, 1]), (1.0 - s[k]) * lf)):
                if w in r:
                    best = min(best, cu + r[w] + cw)
        far[k] = best > limit
    return far


#: Cells of the size grid along the longer window side, at most (the grid spacing is a quarter
#: of the interface size unless that needs more).
NARROW_GRID_MAX = 800


def _narrow_field(narrow: _Narrow, options: MeshOptions, geometry: Geometry) -> int:
    """A gmsh PostView size field of the narrow-feature sizes on a regular grid over the window:
    min over samples k of s_k + NARROW_GRADING * distance, from one Euclidean distance transform
    per size level (sizes rounded down to levels 10 % apart), the coarse size far away."""
    import gmsh
    from scipy.ndimage import distance_transform_edt

    fine = narrow.fine
    W, H = geometry.width_m, geometry.height_m
    step = max(0.25 * fine, max(W, H) / NARROW_GRID_MAX)
    nx, ny = max(2, math.ceil(W / step) + 1), max(2, math.ceil(H / step) + 1)
    hx, hy = W / (nx - 1), H / (ny - 1)
    ix = np.clip(np.rint(narrow.points[:, 0] / hx).astype(int), 0, nx - 1)
    iy = np.clip(np.rint(narrow.points[:, 1] / hy).astype(int), 0, ny - 1)
    # a sample lies within half a diagonal of its node: count that distance as zero (finer, not coarser)
    slack = 0.5 * math.hypot(hx, hy)
    level = np.floor(np.log(narrow.sizes / narrow.sizes.min()) / math.log(1.1)).astype(int)
    values = np.full((ny, nx), float(options.size_m))
    for lv in np.unique(level).tolist():
        seed = np.ones((ny, nx), dtype=bool)
        sel = level == lv
        seed[iy[sel], ix[sel]] = False
        dist = distance_transform_edt(seed, sampling=(hy, hx))
        size = float(narrow.sizes[sel].min())
        values = np.minimum(values, size + NARROW_GRADING * np.maximum(dist - slack, 0.0))
    # two triangles per grid cell, as gmsh list data: x1 x2 x3 y1 y2 y3 z1 z2 z3 v1 v2 v3
    X, Y = np.meshgrid(np.arange(nx) * hx, np.arange(ny) * hy)
    corner = [(slice(0, -1), slice(0, -1)), (slice(0, -1), slice(1, None)), (slice(1, None), slice(1, None)),
              (slice(1, None), slice(0, -1))]
    c = [(X[r, q].ravel(), Y[r, q].ravel(), values[r, q].ravel()) for r, q in corner]
    tris = []
    for a, b, d in ((0, 1, 2), (0, 2, 3)):
        zero = np.zeros_like(c[a][0])
        tris.append(np.column_stack([c[a][0], c[b][0], c[d][0], c[a][1], c[b][1], c[d][1], zero, zero, zero,
                                     c[a][2], c[b][2], c[d][2]]))
    data = np.vstack(tris)
    view = gmsh.view.add("narrow features")
    gmsh.view.addListData(view, "ST", len(data), data.ravel())
    field = gmsh.model.mesh.field.add("PostView")
    gmsh.model.mesh.field.setNumber(field, "ViewTag", view)
    return field
