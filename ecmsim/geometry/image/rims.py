"""Pore rims (part of step 2, **segment**, on the texture route): the bright rims that FIB-SEM edge
contrast draws around pores belong to the pores (:func:`pore_rims`).

A pore in a FIB-SEM cross-section is a dark core with a bright edge: where the section plane meets
the pore wall, secondary electrons escape from two surfaces and the wall's edge lights up over a
pixel or two. Read by grey level, the rim is "solid" (or a particle: it is as bright), and every
pore looks one rim width smaller than it is; pores narrower than two rims look like bright streaks.

1. **Cores**: a lightly smoothed image (Gaussian, 1 px) is compared with its local level (the median
   over about 50 px, 30th percentile of 4 x 4 block medians): seeds are darker than that by 1.3 ``delta`` and
   pores grow from them into pixels darker by ``delta`` (hysteresis); ``delta`` is 6 noise sigmas
   of the smoothed image, and at least 15 % of its grey range. A particle-poor gap in a particle-
   filled polymer is darker than its surroundings by less than the seeds need.
2. **Rim present?** The radial profile of grey minus the local solid level (pixels more than
   ``RIM_MAX_PX`` + 1 from a core, no particles) against the distance to the nearest core, as the
   median over all pores: a rim is a peak within ``RIM_MAX_PX`` higher than 3 noise sigmas.
3. **Rim pixels**: within ``RIM_MAX_PX`` of a core, not in a bright part thicker than the rims (an
   opening removes the rims and keeps the particles), and brighter than the local solid by half
   the local rim height (its maximum over 5 x 5 px): the rim's outer edge is where its blurred
   profile falls to half its height. The pore is its core grown through its rim pixels and the
   1.5 px between core and rim (geodesic growth from the cores).
   Pores narrower than about three rim widths have no dark core: their rims meet across them and
   they are closed bright rings round a small basin (:func:`ringed_cores`, step 2b); those that are
   all rim, bright specks, are found after classification, in the electrode (:func:`bright_pores`).
4. The pores are painted with the median grey of the cores, so that the texture classifier sees
   pores as dark areas (it is trained on renderings painted the same way), and the pore mask is
   returned: these pixels are void whatever the classifier says.
"""

from __future__ import annotations

import numpy as np

from ecmsim.geometry.image.segment import noise_sigma

#: Pore rims are looked for within this distance of a pore's dark core [px].
RIM_MAX_PX = 4.0
#: Pore seeds are darker than the local level by this many ``delta``, and this many pixels across.
SEED_CONTRAST, SEED_PX = 1.3, 2
#: Pores whose rims meet across them (no dark core; :func:`ringed_cores`): the basin inside the
#: ring is deeper than RING_HEIGHT x the rims' profile peak and at most RING_CORE_MAX_PX pixels;
#: RING_SHARE of its surroundings within RIM_MAX_PX are bright, at most BEYOND_SHARE from there to
#: BEYOND_PX further out, and the ring is at most RING_EXCESS_MAX x the peak above the solid.
RING_HEIGHT, RING_CORE_MAX_PX, RING_SHARE = 0.5, 40, 0.5
BEYOND_SHARE, BEYOND_PX, RING_EXCESS_MAX = 0.15, 10.0, 1.5
#: No ring is a pore where thin bright pixels away from the pores cover more than this share of
#: the window (renderings of plated Li | PLL: 3-8 %, its small particles; Li-Sn: 3-18 %, the
#: Li22Sn5 lines; at strength 0.5, where the lines outshine the rims, 18 %).
RING_NETWORK_SHARE = 0.12
#: Pores that are all rim (:func:`bright_pores`): bright specks of this many pixels.
SPECK_MIN_PX, SPECK_MAX_PX = 4, 200
#: ... at least this wide (their largest inscribed disc's radius, px; a pore of 3-4 px and more
#: across: narrower bright specks are mostly noise), and only where bright pixels cover at most
#: this share of the electrode (plated Li: 0.3-1.2 %; Li-Sn with its Li22Sn5 network: 2-24 %).
SPECK_MIN_WIDTH_PX, SPECK_NETWORK_SHARE = 2.0, 0.015


def pore_rims(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """The image with every pore (core and rim) painted dark, the pore mask, and what was found
    (see the module docstring). ``g`` is destriped."""
    from scipy.ndimage import gaussian_filter

    d = gaussian_filter(g, 1.0)
    sd = noise_sigma(g) / (2.0 * np.sqrt(np.pi))   # white noise after a 1 px Gaussian
    cores, level, info = pore_cores(d, sd)
    if cores.sum() < 4:
        return g, cores, {**info, "rims": False, "why": "no dark pore cores"}
    pores, rim_info = grow_through_rims(g, d, sd, cores, level)
    info.update(rim_info)
    out = g.copy()
    out[pores] = float(np.median(g[cores]))
    info["pore_fraction"] = round(float(pores.mean()), 5)
    return out, pores, info


def pore_cores(d: np.ndarray, sd: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """Step 1: the dark cores of the pores in the smoothed image ``d`` (noise sigma ``sd``), the
    local level, and the contrast used."""
    from scipy.ndimage import binary_opening, binary_propagation

    lo, hi = np.percentile(d, [0.5, 99.5])
    delta = max(5.0 * sd, 0.15 * (hi - lo))
    level = local_level(d)
    seeds = binary_opening(d < level - SEED_CONTRAST * delta, np.ones((SEED_PX, SEED_PX), bool))
    cores = binary_propagation(seeds, mask=d < level - 0.7 * delta)
    return cores, level, {"noise_sigma_smoothed": round(float(sd), 3), "core_contrast": round(float(delta), 3),
                          "core_fraction": round(float(cores.mean()), 5)}


def grow_through_rims(g: np.ndarray, d: np.ndarray, sd: float, cores: np.ndarray, level: np.ndarray
                      ) -> tuple[np.ndarray, dict]:
    """Steps 2-3: the pores, grown from their ``cores`` through their bright rims when the rims
    are there (module docstring), and what was found."""
    from scipy.ndimage import binary_propagation, distance_transform_edt, maximum_filter

    particles, dist, local = solid_level(d, sd, cores, level)
    ring = (dist > 0) & (dist <= RIM_MAX_PX + 2) & ~particles
    keys = np.round(dist[ring] * 4) / 4
    excess = (d - local)[ring]
    dists = np.unique(keys)
    profile = np.array([np.median(excess[keys == k]) for k in dists])
    inner = dists <= RIM_MAX_PX
    peak = float(np.max(profile[inner])) if inner.any() else 0.0
    info: dict = {"rim_profile_peak": round(peak, 3)}
    if not (peak > 3.0 * sd and peak > 0):
        return cores, {**info, "rims": False, "why": "no bright rim around the pores"}
    ringed = ringed_cores(d, local, cores, particles, peak, sd)
    if ringed.any():
        cores = cores | ringed
        dist = distance_transform_edt(~cores)
    near = (dist <= RIM_MAX_PX) & ~particles & ~cores
    above = np.where(near, g - local, 0.0)
    height = maximum_filter(np.where(near, d - local, 0.0), size=5)
    rim = near & (above > 0.5 * height) & (height > 4.0 * sd) & (height > 0.5 * peak)
    pores = binary_propagation(cores, mask=cores | (near & (rim | (dist <= 1.5))))
    return pores, {**info, "rims": True, "rim_pixels": int((pores & ~cores).sum()),
                   "ringed_cores": int(ringed.sum())}


def ringed_cores(d: np.ndarray, local: np.ndarray, cores: np.ndarray, particles: np.ndarray, peak: float,
                 sd: float) -> np.ndarray:
    """Step 2b: the cores of pores narrower than about three rim widths, which are not darker than
    the solid: their rims, on the pore side of the wall, meet across the pore, and what is left of
    the dark inside is lifted by the blur to the solid's grey. Such a pore is a closed bright ring
    (its rim) around a small basin. The basins are the pixels that a grey-level hole filling
    (reconstruction by erosion) lifts by more than ``RING_HEIGHT`` x the rims' profile ``peak``
    and more than 4 ``sd``, with particles (bright parts thicker than a rim) lowered to the local
    level first, so that particles crowding round a patch of polymer enclose nothing. A basin
    counts if it is small (at most ``RING_CORE_MAX_PX`` px), at least ``RING_SHARE`` of the pixels
    within ``RIM_MAX_PX`` of it are bright, at most ``BEYOND_SHARE`` from there to ``BEYOND_PX``
    further out (the rims of pores already found left out), and its ring is at most
    ``RING_EXCESS_MAX`` x the peak above the solid: the loops of an alloy network look like rings
    but have lines all around and, where they outshine the rims, are brighter. Where thin bright
    lines cover more than ``RING_NETWORK_SHARE`` of the window, no ring counts."""
    from scipy.ndimage import binary_dilation, binary_fill_holes, distance_transform_edt, label
    from skimage.morphology import reconstruction

    e = np.where(binary_dilation(particles), np.minimum(d, local), d)
    e = np.where(cores, e.min(), e)   # known pores are basins already (filled below, then left out)
    seed = e.copy()
    seed[1:-1, 1:-1] = e.max()
    filled = reconstruction(seed, e, method="erosion")
    height = max(RING_HEIGHT * peak, 4.0 * sd)
    basins = ((filled - e) > height) & ~binary_dilation(cores, iterations=2)
    if not basins.any():
        return basins
    lab, n = label(basins)
    size = np.bincount(lab.ravel(), minlength=n + 1)
    bright = (d - local > height) & ~particles
    dist = distance_transform_edt(~basins)
    ring = (dist > 0) & (dist <= RIM_MAX_PX)
    owner = lab[_nearest(basins)]
    ring_bright = np.bincount(owner[ring & bright], minlength=n + 1) / np.maximum(
        np.bincount(owner[ring], minlength=n + 1), 1)
    # the rims of the pores already found are no network: left out around the basin
    free = bright & (distance_transform_edt(~cores) > RIM_MAX_PX + 1)
    if float(free.mean()) > RING_NETWORK_SHARE:
        return np.zeros_like(basins)   # thin bright lines all over (an alloy network): rings are no evidence
    beyond_bright = _annulus_share(free, lab, n, RIM_MAX_PX + 1, RIM_MAX_PX + BEYOND_PX)
    sel = ring & bright
    ring_excess = _median_by_label((d - local)[sel], owner[sel], n)
    keep = ((size <= RING_CORE_MAX_PX) & (ring_bright >= RING_SHARE) & (beyond_bright <= BEYOND_SHARE)
            & (ring_excess <= RING_EXCESS_MAX * peak))
    keep[0] = False
    return binary_fill_holes(keep[lab])


def _median_by_label(values: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """The median of ``values`` per label 1..n (0 where a label has none)."""
    out = np.zeros(n + 1)
    order = np.argsort(labels, kind="stable")
    keys, start = np.unique(labels[order], return_index=True)
    for k, part in zip(keys, np.split(values[order], start[1:]), strict=True):
        out[k] = np.median(part)
    return out


def _annulus_share(mask: np.ndarray, lab: np.ndarray, n: int, inner: float, outer: float) -> np.ndarray:
    """For each labelled piece, the share of ``mask`` pixels in the square annulus from ``inner``
    to ``outer`` px beyond its bounding box (box sums on a summed-area table)."""
    from scipy.ndimage import find_objects

    h, w = mask.shape
    sat = np.zeros((h + 1, w + 1))
    sat[1:, 1:] = np.cumsum(np.cumsum(mask, axis=0), axis=1)

    def box(sl, grow):
        y0, y1 = max(sl[0].start - int(grow), 0), min(sl[0].stop + int(grow), h)
        x0, x1 = max(sl[1].start - int(grow), 0), min(sl[1].stop + int(grow), w)
        return sat[y1, x1] - sat[y0, x1] - sat[y1, x0] + sat[y0, x0], (y1 - y0) * (x1 - x0)

    share = np.zeros(n + 1)
    for k, sl in enumerate(find_objects(lab), 1):
        if sl is None:
            continue
        (c_out, a_out), (c_in, a_in) = box(sl, outer), box(sl, inner)
        share[k] = (c_out - c_in) / max(a_out - a_in, 1)
    return share


def _nearest(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every pixel, the indices of the nearest pixel of ``mask``."""
    from scipy.ndimage import distance_transform_edt

    idx = distance_transform_edt(~mask, return_distances=False, return_indices=True)
    return idx[0], idx[1]


def solid_level(d: np.ndarray, sd: float, cores: np.ndarray, level: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The particles (bright parts thicker than a rim), the distance to the nearest core, and the
    local grey of the solid away from pores and particles (Gaussian over 6 px)."""
    from scipy.ndimage import binary_dilation, binary_opening, distance_transform_edt, generate_binary_structure

    hi = float(np.percentile(d, 99.5))
    bright = d > level + max(5.0 * sd, 0.3 * (hi - float(np.median(level))))
    particles = binary_opening(bright, generate_binary_structure(2, 1), iterations=2)
    dist = distance_transform_edt(~cores)
    solid = ~cores & ~binary_dilation(particles) & (dist > RIM_MAX_PX + 1)
    return particles, dist, _normalised_mean(d, solid, 6.0, fallback=level)


def bright_pores(g: np.ndarray, pores: np.ndarray, within: np.ndarray, rims: dict) -> np.ndarray:
    """Pores narrower than two rim widths, found after classification (step 5b of the texture
    route): such a pore is all rim, a small bright speck with no dark inside, which by grey level
    alone could be a small particle. Inside the electrode (``within``, where there are no
    particles) a speck is a pore when it is as bright as the rims measured round the other pores
    (``rims``: from ``RING_HEIGHT`` to ``RING_EXCESS_MAX`` x their profile peak above the solid),
    at most ``SPECK_MAX_PX`` px, away from the known ``pores`` and the electrode's edge, and alone
    (at most ``BEYOND_SHARE`` bright pixels around it: an alloy network is lines everywhere)."""
    from scipy.ndimage import binary_dilation, binary_erosion, distance_transform_edt, gaussian_filter, label, maximum

    empty = np.zeros(g.shape, bool)
    if not rims.get("rims"):
        return empty
    peak = float(rims["rim_profile_peak"])
    d = gaussian_filter(g, 1.0)
    sd = noise_sigma(g) / (2.0 * np.sqrt(np.pi))
    _, _, local = solid_level(d, sd, pores, local_level(d))
    height = max(RING_HEIGHT * peak, 4.0 * sd)
    # no particles where these pores are looked for; the pores found (with their rims) left out
    bright = (d - local > height) & ~binary_dilation(pores, iterations=2)
    if not within.any() or float(bright[within].mean()) > SPECK_NETWORK_SHARE:
        return empty   # bright lines all over the electrode (an alloy network): specks are no evidence
    lab, n = label(bright)
    if n == 0:
        return empty
    size = np.bincount(lab.ravel(), minlength=n + 1)
    outside = ~binary_erosion(within, iterations=2)
    out_count = np.bincount(lab[outside].ravel(), minlength=n + 1)
    sel = lab > 0
    excess = _median_by_label((d - local)[sel], lab[sel], n)
    beyond = _annulus_share(bright, lab, n, 1, BEYOND_PX)
    width = np.zeros(n + 1)
    width[1:] = maximum(distance_transform_edt(bright), lab, np.arange(1, n + 1))
    keep = ((size >= SPECK_MIN_PX) & (size <= SPECK_MAX_PX) & (out_count == 0) & (excess <= RING_EXCESS_MAX * peak)
            & (beyond <= BEYOND_SHARE) & (width >= SPECK_MIN_WIDTH_PX))
    keep[0] = False
    return keep[lab]


def local_level(d: np.ndarray, block: int = 4, size: int = 13, percentile: float = 30.0) -> np.ndarray:
    """The local grey level of the solid: medians of ``block`` x ``block`` pixel blocks, their
    ``percentile`` over ``size`` x ``size`` blocks (about 50 px), interpolated back to the pixels.
    Below the median, because bright particles can fill half of a crowded patch of polymer; above
    the darkest blocks, because pores fill some of them."""
    from scipy.ndimage import percentile_filter, zoom

    h, w = d.shape
    hh, ww = -(-h // block) * block, -(-w // block) * block
    pad = np.pad(d, ((0, hh - h), (0, ww - w)), mode="edge")
    small = np.median(pad.reshape(hh // block, block, ww // block, block), axis=(1, 3))
    small = percentile_filter(small, percentile, size=size, mode="nearest")
    return zoom(small, block, order=1, mode="nearest", grid_mode=True)[:h, :w]


def _normalised_mean(values: np.ndarray, weight: np.ndarray, sigma: float, fallback: np.ndarray) -> np.ndarray:
    """Gaussian average of ``values`` over the ``weight`` pixels only (normalised convolution)."""
    from scipy.ndimage import gaussian_filter

    num = gaussian_filter(np.where(weight, values, 0.0), sigma, mode="nearest")
    den = gaussian_filter(weight.astype(float), sigma, mode="nearest")
    return np.where(den > 1e-3, num / np.maximum(den, 1e-3), fallback)

