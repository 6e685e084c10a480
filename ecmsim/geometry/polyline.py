"""Polylines: simplification that keeps areas, and crossing tests for planar partitions.

Used by the image pipeline (contours simplified to a tolerance must stay a valid partition of
the window) and by :mod:`ecmsim.mesh` (is a geometry a conforming partition whose regions share
their vertices, so that gmsh can be given explicitly shared curves?). Pure numpy.
"""

from __future__ import annotations

import numpy as np


def douglas_peucker(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the vertices kept by Douglas-Peucker on an open chain (both ends kept).

    Every dropped vertex lies within ``tolerance`` of the segment that replaces it.
    """
    n = len(points)
    if n <= 2:
        return np.arange(n)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        a, b = points[i], points[j]
        d = b - a
        inner = points[i + 1:j] - a
        length = np.hypot(*d)
        if length > 0:
            dist = np.abs(d[0] * inner[:, 1] - d[1] * inner[:, 0]) / length
        else:
            dist = np.hypot(inner[:, 0], inner[:, 1])
        k = int(np.argmax(dist))
        if dist[k] > tolerance:
            m = i + 1 + k
            keep[m] = True
            stack.append((i, m))
            stack.append((m, j))
    return np.flatnonzero(keep)


def chain_area(points: np.ndarray, closed: bool) -> float:
    """Shoelace sum 1/2 sum(x_k y_k+1 - x_k+1 y_k) over the segments of a chain.

    For a closed chain it is the signed area; for two open chains with the same end points the
    difference of their sums is the signed area between them.
    """
    x, y = points[:, 0], points[:, 1]
    if closed:
        return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    return 0.5 * float(np.dot(x[:-1], y[1:]) - np.dot(y[:-1], x[1:]))


def simplify(points: np.ndarray, tolerance: float, closed: bool = False,
             preserve_area: bool = True) -> np.ndarray:
    """Douglas-Peucker to ``tolerance``, then (optionally) restore the enclosed area.

    Chords cut convex bends, so plain Douglas-Peucker shrinks every convex blob (a void of 10
    pixels radius loses ~7 % of its area at a 0.5 pixel tolerance). With ``preserve_area`` the
    free vertices (all but the end points of an open chain) are moved along the gradient of the
    area so that the chain encloses the same area as before: the area between the original
    and the simplified chain sums to zero. The moves are at most about the tolerance.
    """
    pts = np.asarray(points, dtype=float)
    if closed:
        if len(pts) <= 4:
            return pts.copy()
        # anchor the closed loop at vertex 0 and the vertex farthest from it
        far = int(np.argmax(np.hypot(*(pts - pts[0]).T)))
        loop = np.vstack([pts, pts[:1]])
        first = douglas_peucker(loop[:far + 1], tolerance)
        second = douglas_peucker(loop[far:], tolerance) + far
        idx = np.concatenate([first, second[1:-1]])
        if len(idx) < 3:  # a loop needs three corners: keep the vertex farthest from the chord
            # |2-D cross product| written out: np.cross on 2-vectors is deprecated (NumPy 2)
            chord, rel = pts[far] - pts[0], pts - pts[0]
            d = np.abs(chord[0] * rel[:, 1] - chord[1] * rel[:, 0])
            idx = np.unique(np.array([0, far, int(np.argmax(d))]))
        out = pts[idx]
        free = np.ones(len(out), dtype=bool)
    else:
        idx = douglas_peucker(pts, tolerance)
        out = pts[idx]
        free = np.ones(len(out), dtype=bool)
        free[0] = free[-1] = False
    if preserve_area and free.any():
        out = _restore_area(out, chain_area(pts, closed), closed, free)
    return out


def _restore_area(out: np.ndarray, target: float, closed: bool, free: np.ndarray) -> np.ndarray:
    """Move the free vertices along the gradient of the chain's area until it is ``target``."""
    for _ in range(4):  # the correction is linear in the move up to a small quadratic term
        nxt = np.roll(out, -1, axis=0)
        prv = np.roll(out, 1, axis=0)
        grad = 0.5 * np.column_stack([nxt[:, 1] - prv[:, 1], prv[:, 0] - nxt[:, 0]])
        grad[~free] = 0.0
        norm2 = float(np.sum(grad**2))
        if norm2 == 0.0:
            break
        out = out + (target - chain_area(out, closed)) / norm2 * grad
    return out


def turning_radii(points: np.ndarray, closed: bool) -> np.ndarray:
    """Discrete curvature radius at each inner vertex: mean length of its two segments over its
    turning angle, (L_k-1 + L_k) / (2 |theta_k|) (inf where the chain runs straight on). For a
    polygon inscribed in a circle of radius R it tends to R as the segments shrink. Open chains
    give one value per inner vertex, closed chains one per vertex."""
    p = np.asarray(points, dtype=float)
    if closed:
        p = np.vstack([p[-1:], p, p[:1]])
    if len(p) < 3:
        return np.full(0, np.inf)
    d = np.diff(p, axis=0)
    length = np.hypot(d[:, 0], d[:, 1])
    cross = d[:-1, 0] * d[1:, 1] - d[:-1, 1] * d[1:, 0]
    theta = np.abs(np.arctan2(cross, np.einsum("ij,ij->i", d[:-1], d[1:])))
    with np.errstate(divide="ignore"):
        return np.where(theta > 0, 0.5 * (length[:-1] + length[1:]) / theta, np.inf)


def resample(points: np.ndarray, spacing: float, closed: bool = False) -> np.ndarray:
    """Points at equal arc-length steps of at most ``spacing`` along the chain (the ends of an
    open chain, and vertex 0 of a closed one, stay). A loop keeps at least 3 points and a bent
    open chain 3 (one inner vertex to carry its area), however short."""
    p = np.asarray(points, dtype=float)
    loop = np.vstack([p, p[:1]]) if closed else p
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(loop, axis=0).T))])
    n = max(int(np.ceil(s[-1] / spacing)), 3 if closed else min(2, len(p) - 1))
    t = np.linspace(0.0, s[-1], n + 1)
    out = np.column_stack([np.interp(t, s, loop[:, 0]), np.interp(t, s, loop[:, 1])])
    return out[:-1] if closed else out


def round_corners(points: np.ndarray, min_radius: float, closed: bool = False,
                  max_sweeps: int = 20000) -> tuple[np.ndarray, float]:
    """The chain resampled at a fifth of ``min_radius`` and smoothed until no vertex turns on a
    radius (:func:`turning_radii`) below ``min_radius``, its enclosed area restored.

    Only the vertices that turn too sharply, and two on each side, move: each sweep takes them
    half-way to the mean of their neighbours (a local discrete curvature flow), and the chain is
    resampled every 20 sweeps so its segments stay even. The ends of an open chain stay. A closed
    chain smaller than the radius asks for less: 0.9 of the radius of the circle of its area.
    Fixed ends and a kept area can forbid the radius (a cap of chord c and area A between two
    junctions is at best a circular arc): the sweeps stop when 200 of them raised the smallest
    radius by less than 1 %. Returns the chain and the smallest radius it reached.
    """
    pts = np.asarray(points, dtype=float)
    target_area = chain_area(pts, closed)
    if closed:
        min_radius = min(min_radius, 0.9 * float(np.sqrt(abs(target_area) / np.pi)))
    spacing = min_radius / 5.0
    out = resample(pts, spacing, closed)
    free = _free(len(out), closed)
    restored, history = True, []
    for sweep in range(1, max_sweeps + 1):
        if sweep % 20 == 0:
            out = resample(out, spacing, closed)
            free = _free(len(out), closed)
            out, restored = _restore_area(out, target_area, closed, free), True
            history.append(float(turning_radii(out, closed).min()))
            if len(history) > 10 and max(history[-10:]) < 1.01 * max(history[:-10]):
                break   # stalled: the ends and the area allow no larger radius (a void's cap between junctions)
        radius = turning_radii(out, closed)
        bad = radius < min_radius
        if not bad.any():
            if restored:
                break
            out, restored = _restore_area(out, target_area, closed, free), True
            continue
        if not closed:
            bad = np.concatenate([[False], bad, [False]])
        move = bad.copy()
        for shift in (1, 2):  # two neighbours on each side move with a sharp vertex
            move |= np.roll(bad, shift) | np.roll(bad, -shift)
        move &= free
        mean = 0.5 * (np.roll(out, 1, axis=0) + np.roll(out, -1, axis=0))
        out[move] += 0.5 * (mean[move] - out[move])
        restored = False
    if not restored:
        out = _restore_area(out, target_area, closed, free)
    radius = turning_radii(out, closed)
    return out, float(radius.min()) if len(radius) else float("inf")


def _free(n: int, closed: bool) -> np.ndarray:
    """Which of n vertices may move: all of a closed chain, the inner ones of an open chain."""
    free = np.ones(n, dtype=bool)
    if not closed:
        free[0] = free[-1] = False
    return free


def crossing_segments(starts: np.ndarray, ends: np.ndarray, start_ids: np.ndarray, end_ids: np.ndarray,
                      rtol: float = 1e-9) -> np.ndarray:
    """Indices of segments that cross, touch or overlap another one.

    Segments k run from ``starts[k]`` to ``ends[k]``; ``start_ids``/``end_ids`` name their end
    vertices, and two segments may meet only at a vertex they share by id. Anything else — a
    proper crossing, a vertex lying on another segment (a T-junction), collinear overlap — is
    reported. Candidate pairs come from a uniform grid, so the cost is about linear.
    """
    n = len(starts)
    if n < 2:
        return np.empty(0, dtype=np.int64)
    lo = np.minimum(starts, ends)
    hi = np.maximum(starts, ends)
    span = float(np.max(hi.max(axis=0) - lo.min(axis=0))) or 1.0
    eps = rtol * span
    lengths = np.hypot(*(ends - starts).T)
    cell = max(2.0 * float(np.median(lengths)), span / 512)  # bounds the cells of a long box
    origin = lo.min(axis=0)
    c0 = np.floor((lo - origin - eps) / cell).astype(np.int64)
    c1 = np.floor((hi - origin + eps) / cell).astype(np.int64)
    counts = (c1[:, 0] - c0[:, 0] + 1) * (c1[:, 1] - c0[:, 1] + 1)
    seg = np.repeat(np.arange(n), counts)
    # enumerate the cells of each segment's box
    offset = np.arange(len(seg)) - np.repeat(np.cumsum(counts) - counts, counts)
    nx = np.repeat(c1[:, 0] - c0[:, 0] + 1, counts)
    cx = np.repeat(c0[:, 0], counts) + offset % nx
    cy = np.repeat(c0[:, 1], counts) + offset // nx
    ny_total = int(cy.max()) + 2
    key = cx * ny_total + cy
    order = np.lexsort((seg, key))
    key, seg = key[order], seg[order]
    pairs = []
    for d in range(1, len(key)):
        same = key[d:] == key[:-d]
        if not same.any():
            break
        pairs.append(np.column_stack([seg[:-d][same], seg[d:][same]]))
    if not pairs:
        return np.empty(0, dtype=np.int64)
    p = np.unique(np.sort(np.concatenate(pairs), axis=1), axis=0)
    i, j = p[:, 0], p[:, 1]
    box = np.all((lo[i] <= hi[j] + eps) & (lo[j] <= hi[i] + eps), axis=1)
    i, j = i[box], j[box]
    a, b, c, d = starts[i], ends[i], starts[j], ends[j]

    def orient(p, q, r):
        v = (q[:, 0] - p[:, 0]) * (r[:, 1] - p[:, 1]) - (q[:, 1] - p[:, 1]) * (r[:, 0] - p[:, 0])
        scale = np.maximum(np.hypot(*(q - p).T), eps)
        return np.where(np.abs(v) <= eps * scale, 0.0, np.sign(v))

    o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
    share_a = (start_ids[i] == start_ids[j]) | (start_ids[i] == end_ids[j])
    share_b = (end_ids[i] == start_ids[j]) | (end_ids[i] == end_ids[j])
    shared = share_a | share_b
    hit = (o1 * o2 <= 0) & (o3 * o4 <= 0)
    # collinear overlap counts only when the boxes overlap in more than the shared point
    collinear = (o1 == 0) & (o2 == 0)
    # a shared vertex: only collinear overlap (a fold back along itself) is a defect
    if collinear.any():
        t = b - a
        tt = np.maximum(np.einsum("ij,ij->i", t, t), eps**2)
        s_c = np.einsum("ij,ij->i", c - a, t) / tt
        s_d = np.einsum("ij,ij->i", d - a, t) / tt
        overlap = (np.minimum(np.maximum(s_c, s_d), 1) - np.maximum(np.minimum(s_c, s_d), 0)) > 1e-9
    else:
        overlap = np.zeros(len(i), dtype=bool)
    bad = np.where(shared, collinear & overlap, hit & (~collinear | overlap))
    return np.unique(np.concatenate([i[bad], j[bad]]))
