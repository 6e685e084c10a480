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
    from scipy.ndimage import binary_dilation, binary_opening, binary_propagation, distance_transform_edt
    from scipy.ndimage import generate_binary_structure, maximum_filter

    hi = float(np.percentile(d, 99.5))
    bright = d > level + max(5.0 * sd, 0.3 * (hi - float(np.median(level))))
    particles = binary_opening(bright, generate_binary_structure(2, 1), iterations=2)
    dist = distance_transform_edt(~cores)
    solid = ~cores & ~binary_dilation(particles) & (dist > RIM_MAX_PX + 1)
    local = _normalised_mean(d, solid, 6.0, fallback=level)
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
    near = (dist <= RIM_MAX_PX) & ~particles & ~cores
    above = np.where(near, g - local, 0.0)
    height = maximum_filter(np.where(near, d - local, 0.0), size=5)
    rim = near & (above > 0.5 * height) & (height > 4.0 * sd) & (height > 0.5 * peak)
    pores = binary_propagation(cores, mask=cores | (near & (rim | (dist <= 1.5))))
    return pores, {**info, "rims": True, "rim_pixels": int((pores & ~cores).sum())}


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

