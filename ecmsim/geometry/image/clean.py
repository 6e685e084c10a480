"""Step 5 of the image pipeline, **clean**: phase labels made fit for contours and a mesher.

- :func:`clean_labels`: connected pieces of any phase smaller than ``min_feature_px**2``
  pixels (specks, and holes inside another phase) join the phase around them;
- :func:`remove_thin_parts`: parts thinner than 3 px (slivers, necks, needle tips) go to their
  neighbours;
- :func:`drop_floating`: material that touches neither the bottom nor other material through a
  chain of pixels is floating (dead weight in a pore with no support) and becomes void;
- :func:`fix_pinches`: pixels touching only by a corner are bridged so that every boundary is
  a manifold curve.
"""

from __future__ import annotations

import numpy as np

from ecmsim.core.errors import GeometryError
from ecmsim.geometry.image.phases import ELECTROLYTE, PARTICLE, VOID


def clean_labels(labels: np.ndarray, min_area_px: int) -> tuple[np.ndarray, int]:
    """Merge every 4-connected piece smaller than ``min_area_px`` into the phase that borders
    it most; repeat until nothing changes. Returns the labels and the number of pieces merged."""
    from scipy.ndimage import label as cc

    out = labels.copy()
    merged = 0
    if min_area_px <= 1:
        return out, 0
    for _ in range(5):
        changed = 0
        for phase in np.unique(out).tolist():
            comp, n = cc(out == phase)
            if n == 0:
                continue
            sizes = np.bincount(comp.ravel(), minlength=n + 1)
            small = (sizes < min_area_px)
            small[0] = False
            if not small.any():
                continue
            votes = np.zeros((n + 1, 256), dtype=np.int64)
            for a, b in ((comp[:-1], out[1:]), (comp[1:], out[:-1]), (comp[:, :-1], out[:, 1:]),
                         (comp[:, 1:], out[:, :-1])):
                sel = small[a] & (b != phase)
                np.add.at(votes, (a[sel], b[sel]), 1)
            target = np.argmax(votes, axis=1)
            has = votes.sum(axis=1) > 0
            move = small & has
            if not move.any():
                continue
            pix = move[comp]
            out[pix] = target[comp[pix]].astype(np.uint8)
            changed += int(move.sum())
        merged += changed
        if not changed:
            break
    return out, merged


def remove_thin_parts(labels: np.ndarray, passes: int = 3, width_px: int = 3) -> tuple[np.ndarray, int]:
    """Give away the parts of every phase thinner than 3 px (what a 3 x 3 opening removes:
    slivers, 1-2 px necks between grains, needle tips, strips along the window edge) to the
    phase that borders them most. A mesh with 5 px elements on the boundary can only follow
    such parts with needle triangles (minimum angles of 5-10 degrees); they are also below the
    resolution of the image. Returns the labels and the pixel count moved."""
    from scipy.ndimage import binary_opening, maximum_filter

    out = labels.copy()
    moved = 0
    square = np.ones((width_px, width_px), dtype=bool)
    for _ in range(passes):
        changed = 0
        for phase in np.unique(out).tolist():
            mask = out == phase
            thin = mask & ~binary_opening(mask, structure=square, border_value=1)
            if not thin.any():
                continue
            # the most common other phase in the 5 x 5 neighbourhood
            best, best_count = np.full(out.shape, 255, np.uint8), np.zeros(out.shape)
            for other in np.unique(out).tolist():
                if other == phase:
                    continue
                count = _box_count(out == other, 2)
                take = thin & (count > best_count)
                best[take], best_count[take] = other, count[take]
            go = thin & (best != 255)
            out[go] = best[go]
            changed += int(go.sum())
        moved += changed
        if not changed:
            break
    del maximum_filter
    return out, moved


def _box_count(mask: np.ndarray, r: int) -> np.ndarray:
    from scipy.ndimage import uniform_filter

    return uniform_filter(mask.astype(float), size=2 * r + 1, mode="nearest")


def drop_floating(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Make void every piece of material (electrode or electrolyte, 4-connected) that does not
    reach the bottom row: with the bottom fixed it would have no support. Returns the count."""
    from scipy.ndimage import label as cc

    comp, n = cc(labels != VOID)
    if n == 0:
        return labels, 0
    grounded = np.zeros(n + 1, dtype=bool)
    grounded[np.unique(comp[-1])] = True
    grounded[0] = True
    floating = ~grounded[comp]
    out = labels.copy()
    out[floating] = VOID
    return out, int(n + 1 - grounded.sum())


def fix_pinches(labels: np.ndarray, max_passes: int = 50) -> tuple[np.ndarray, int]:
    """Bridge pixels that touch only by a corner (2x2 blocks a b / c a with b, c != a).

    Such a corner would make a region boundary touch itself, which no mesher accepts. The
    bridge takes one off-diagonal pixel into the pinched phase, preferring material over void.
    """
    out = labels.copy()
    fixed = 0
    for _ in range(max_passes):
        p00, p01, p10, p11 = out[:-1, :-1], out[:-1, 1:], out[1:, :-1], out[1:, 1:]
        main = (p00 == p11) & (p01 != p00) & (p10 != p00)
        anti = (p01 == p10) & (p00 != p01) & (p11 != p01)
        rows, cols = np.nonzero(main | anti)
        if len(rows) == 0:
            return out, fixed
        done = np.zeros(out.shape, dtype=bool)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if done[r:r + 2, c:c + 2].any():
                continue  # a neighbouring fix changed this block: look again next pass
            a00, a01, a10, a11 = out[r, c], out[r, c + 1], out[r + 1, c], out[r + 1, c + 1]
            options = []
            if a00 == a11 and a01 != a00 and a10 != a00:
                options.append((a00, (r, c + 1)))
            if a01 == a10 and a00 != a01 and a11 != a01:
                options.append((a01, (r, c)))
            options.sort(key=lambda o: o[0] == VOID)  # bridge material first
            value, (rr, cc) = options[0]
            out[rr, cc] = value
            done[r:r + 2, c:c + 2] = True
            fixed += 1
    raise GeometryError("could not resolve pixels touching by a corner (the segmentation is too noisy): "
                        "raise min_feature_px or median_px")


def widen_particle_gaps(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Widen the one-pixel gaps of polymer (electrolyte) between a particle and another phase
    (two particles a pixel apart, a particle a pixel from the Li or a pore) to three pixels: the
    particle pixels next to the gap become polymer. A 1 px gap is below what the image resolves,
    and the mesh can fill it only with triangles of 15-17 degrees (renderings of Li | PLL with
    their particles). The particles, read 10-15 % too large at their blurred edges before, come
    out 0-9 % small on the renderings (docs/geometry.md).
    A gap pixel is polymer with other phases on two opposite sides (N-S, W-E or a diagonal), one
    of them a particle. Returns the labels and the particle pixels given to the polymer."""
    out = labels.copy()
    moved = 0
    for _ in range(5):
        p = np.pad(out, 1, mode="edge")
        h, w = out.shape

        def at(dy: int, dx: int) -> np.ndarray:
            return p[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]

        widen = np.zeros(out.shape, bool)
        matrix = out == ELECTROLYTE
        for (ay, ax), (by, bx) in (((-1, 0), (1, 0)), ((0, -1), (0, 1)), ((-1, -1), (1, 1)), ((-1, 1), (1, -1))):
            a, b = at(ay, ax), at(by, bx)
            gap = matrix & (a != ELECTROLYTE) & (b != ELECTROLYTE) & ((a == PARTICLE) | (b == PARTICLE))
            # the particle pixels on either side of the gap, across it
            for dy, dx in ((ay, ax), (by, bx)):
                shifted = np.zeros(out.shape, bool)
                ys, xs = np.nonzero(gap)
                ys, xs = ys + dy, xs + dx
                ok = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
                shifted[ys[ok], xs[ok]] = True
                widen |= shifted & (out == PARTICLE)
        if not widen.any():
            break
        out[widen] = ELECTROLYTE
        moved += int(widen.sum())
    return out, moved
