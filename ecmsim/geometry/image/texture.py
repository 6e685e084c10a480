"""Segmentation by texture and context (part of step 2, **segment**; ``method = "texture"``, and
``auto`` when the texture reading is a confident electrode/composite-electrolyte bilayer that the
grey levels misread: :mod:`ecmsim.geometry.image.classes`).

A composite electrolyte (PLL: PEO-LiTFSI with LLZTO particles) is *one* phase made of two grey
levels, a dark polymer and bright particles; plated Li is about as dark as the polymer. By grey level
alone the polymer joins the Li and the particles become "the electrolyte". Read by local statistics
(how many bright grains, how rough, at scales of a few to 16 pixels) the polymer with its particles
is one region, and the Li another.

The route (:func:`texture_route`):

1. **destripe** with a depth-dependent stripe amplitude
   (:func:`~ecmsim.geometry.image.flatten.destripe_bands`);
2. **pore rims** (:func:`~ecmsim.geometry.image.rims.pore_rims`): the pores with their bright rims
   are found and painted dark; those pixels are void;
3. **classify** every pixel with a random forest on texture features (:func:`features`:
   scikit-image's multi-scale intensity, edge and Hessian features at sigma 1-16 px, plus the local
   standard deviation at 2, 4 and 8 px) into void, electrode, polymer matrix and particle. The
   forest is trained on synthetic FIB-SEM renderings of known truth
   (:mod:`ecmsim.geometry.fibsem`), drawn with random grey levels, particle loadings, pore
   fractions, alloy networks and artefact strengths (:func:`trained_forest`: seeded, a few
   seconds, once per process or read from a disk cache; no image is shipped);
4. **flatten shading** per phase of that first reading
   (:func:`~ecmsim.geometry.image.flatten.flatten_phases`) and classify again;
5. the **regions**: the class probabilities averaged over 1.5 px, electrolyte = matrix + particle;
   the rim step's pores are void, and so are bright specks in the electrode that are pores all
   rim (:func:`~ecmsim.geometry.image.rims.bright_pores`); with ``particles`` the particle pixels
   of the electrolyte are kept as ``particle``.

How sure it is: the margin between the two most probable regions, averaged over the solid pixels,
and the share of solid pixels whose margin is under 0.2 (``unsure_fraction``), are reported; the
caller says so when they show that two readings fit about equally.
"""

from __future__ import annotations

import time
from functools import cache

import numpy as np

from ecmsim.geometry.image.flatten import destripe_bands, flatten_phases
from ecmsim.geometry.image.phases import ELECTRODE, ELECTROLYTE, PARTICLE, VOID
from ecmsim.geometry.image.rims import bright_pores, pore_rims

#: The forest's classes (pixel truth of the training renderings).
CLASSES = ("void", "electrode", "matrix", "particle")
#: Seed of the training renderings and the forest.
TRAINING_SEED = 25
#: Training renderings and their size [px]; pixels sampled per class and rendering.
TRAINING_IMAGES, TRAINING_SHAPE, SAMPLES_PER_CLASS = 10, (192, 384), 700
#: Forest size: trees, depth, smallest leaf.
TREES, DEPTH, MIN_LEAF = 40, 14, 3
#: Regions whose probability margin is below this are undecided.
UNSURE_MARGIN = 0.2


def features(g: np.ndarray) -> np.ndarray:
    """Texture features per pixel (H, W, F) of a destriped, rim-painted grey image: multi-scale
    intensity, gradient and Hessian eigenvalues (sigma 1-16 px), and the local standard deviation
    at 2, 4 and 8 px; grey values scaled by their 0.5-99.5 % range first."""
    from scipy.ndimage import gaussian_filter
    from skimage.feature import multiscale_basic_features

    lo, hi = np.percentile(g, [0.5, 99.5])
    x = np.clip((g - lo) / ((hi - lo) or 1.0), 0, 1)
    basic = multiscale_basic_features(x, intensity=True, edges=True, texture=True, sigma_min=1.0, sigma_max=16.0)
    spread = []
    for s in (2.0, 4.0, 8.0):
        m = gaussian_filter(x, s)
        spread.append(np.sqrt(np.maximum(gaussian_filter(x * x, s) - m * m, 0.0)))
    return np.concatenate([basic, np.stack(spread, axis=-1)], axis=-1).astype(np.float32)


def prepare(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Steps 1-2: the destriped image with its pores painted dark, the pore mask, what was done."""
    return _prepare(grey)[1:]


def _prepare(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """:func:`prepare`, with the destriped image before the pores were painted first."""
    destriped, stripes = destripe_bands(np.asarray(grey, dtype=float))
    g, pores, rims = pore_rims(destriped)
    return destriped, g, pores, {"destripe": stripes, "pore_rims": rims}


def classify(g: np.ndarray, forest) -> np.ndarray:
    """Class probabilities (H, W, 4: void, electrode, matrix, particle) of a prepared image."""
    from threadpoolctl import threadpool_limits

    f = features(g)
    with threadpool_limits(1):
        p = forest.predict_proba(f.reshape(-1, f.shape[-1]))
    out = np.zeros((f.shape[0] * f.shape[1], len(CLASSES)), np.float32)
    out[:, forest.classes_.astype(int)] = p
    return out.reshape(*g.shape, len(CLASSES))


def regions(p: np.ndarray, pores: np.ndarray, smooth_px: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Region of every pixel (0 void, 1 electrode, 2 electrolyte): the rim step's pores are void
    (darkness and rims decide what is a pore, not texture); elsewhere the more probable of
    electrode and electrolyte (= matrix + particle), probabilities averaged over ``smooth_px``.
    Also the margin between the two (0: a toss-up, 1: certain)."""
    from scipy.ndimage import gaussian_filter

    e = gaussian_filter(p[..., 1], smooth_px)
    m = gaussian_filter(p[..., 2] + p[..., 3], smooth_px)
    total = np.maximum(e + m, 1e-6)
    region = np.where(m > e, 2, 1).astype(np.uint8)
    region[pores] = 0
    return region, np.abs(m - e) / total


def texture_route(grey: np.ndarray, particles: bool = False) -> tuple[np.ndarray, dict]:
    """Phase labels (VOID, ELECTRODE, ELECTROLYTE, and PARTICLE with ``particles``) of a grey
    image by texture (see the module docstring), and what was decided."""
    start = time.perf_counter()
    forest, trained = trained_forest()
    g0, g, pores, info = _prepare(grey)
    p = classify(g, forest)
    region, _ = regions(p, pores)
    # shading per phase of the first reading: electrode and polymer matrix, particles and pore
    # surroundings left out; the painted pores take the flattened cores' level again
    from scipy.ndimage import binary_dilation

    phase = np.where(region == 2, 2, region)
    trusted = (region > 0) & (p[..., 3] < 0.5) & ~binary_dilation(pores, iterations=3)
    g, info["shading"] = flatten_phases(g, phase, trusted)
    if pores.any():
        g[pores] = float(np.median(g[pores]))
    p = classify(g, forest)
    region, margin = regions(p, pores)
    region, info["context"] = _context(region, margin)
    specks = bright_pores(g0, pores, (region > 0) & ~_largest(region == 2), info["pore_rims"])
    region[specks] = 0
    info["pore_rims"]["speck_pixels"] = int(specks.sum())
    lut = np.array([VOID, ELECTRODE, ELECTROLYTE], np.uint8)
    labels = lut[region]
    from scipy.ndimage import gaussian_filter

    part = (region == 2) & (gaussian_filter(p[..., 3], 0.7) > gaussian_filter(p[..., 2], 0.7))
    if particles:
        labels[part] = PARTICLE
    solid = region > 0
    info.update({
        "forest": trained,
        "region_fraction": {name: round(float(np.mean(region == k)), 5)
                            for k, name in enumerate(("void", "electrode", "electrolyte"))},
        "particle_fraction_of_electrolyte": round(float(part.sum() / max((region == 2).sum(), 1)), 4),
        "coarse_grain_share": _coarse_grain_share(g, region == 2),
        "particle_contrast_sigma": _particle_contrast(g, part, (region == 2) & ~part, info["pore_rims"]),
        "mean_margin": round(float(margin[solid].mean()) if solid.any() else 0.0, 4),
        "unsure_fraction": round(float(np.mean(margin[solid] < UNSURE_MARGIN)) if solid.any() else 0.0, 4),
        "seconds": round(time.perf_counter() - start, 2)})
    return labels, info


#: Particles of the composite electrolyte are finer than this radius [px] (the forest learnt
#: radii of 1.5-7 px).
FINE_GRAIN_RADIUS_PX = 8


def _coarse_grain_share(g: np.ndarray, electrolyte: np.ndarray) -> float:
    """Share of the bright grains of the ``electrolyte`` region (Otsu's threshold within it) that
    holds a disc of radius ``FINE_GRAIN_RADIUS_PX``: near 0 for fine particles in a polymer (the
    composites the forest was trained on), large for the coarse grains of a composite cathode."""
    from scipy.ndimage import binary_opening, gaussian_filter
    from skimage.filters import threshold_otsu
    from skimage.morphology import disk

    if electrolyte.sum() < 100:
        return 0.0
    d = gaussian_filter(g, 1.0)
    bright = electrolyte & (d > threshold_otsu(d[electrolyte]))
    if not bright.any():
        return 0.0
    return round(float(binary_opening(bright, disk(FINE_GRAIN_RADIUS_PX)).sum() / bright.sum()), 4)


def _particle_contrast(g: np.ndarray, particles: np.ndarray, matrix: np.ndarray, rims: dict) -> float:
    """How much brighter the particles are than the matrix, in noise sigmas of the image (noise
    specks that the forest takes for particles in a featureless image are 1-2 sigma)."""
    if particles.sum() < 20 or matrix.sum() < 20:
        return 0.0
    sigma = 2.0 * np.sqrt(np.pi) * rims["noise_sigma_smoothed"]   # back to the raw image's noise
    return round(float((np.median(g[particles]) - np.median(g[matrix])) / max(sigma, 1e-9)), 2)


#: A piece of electrode or electrolyte cut off from its layer (not in the region's largest piece)
#: stays only when its texture says so clearly: mean margin at least this.
ISLAND_MARGIN = 0.5


def _largest(mask: np.ndarray) -> np.ndarray:
    """The largest connected piece of ``mask``."""
    from scipy.ndimage import label as cc

    comp, n = cc(mask)
    if n == 0:
        return mask
    sizes = np.bincount(comp.ravel())
    sizes[0] = 0
    return comp == int(np.argmax(sizes))


def _context(region: np.ndarray, margin: np.ndarray) -> tuple[np.ndarray, dict]:
    """Context: the electrode and the electrolyte are layers. A piece of either that is cut off
    from its region's largest piece (an "island" of polymer in the Li where alloy lines cross, a
    particle-poor patch of polymer that looks like Li) joins the region around it unless its
    texture is clear (mean margin >= ``ISLAND_MARGIN``: dead Li in the polymer stays)."""
    from scipy.ndimage import label as cc
    from scipy.ndimage import mean as label_mean

    from ecmsim.geometry.image.segment import _band_share

    out = region.copy()
    moved = {"electrode": 0, "electrolyte": 0}
    band = max(2, region.shape[0] // 10)
    if max(_band_share(region == 1, slice(0, band)), _band_share(region == 1, slice(-band, None))) < 0.5:
        # no electrode layer at the top or the bottom: a window of electrolyte only, whose
        # "electrode" pieces are particle-poor patches of polymer (dead Li needs an electrode)
        moved["electrode"] = int((region == 1).sum())
        out[region == 1] = 2
        return out, {"island_pixels_moved": moved, "moved_fraction": round(moved["electrode"] / region.size, 4),
                     "rule": "no electrode layer: every electrode piece is electrolyte"}
    for k, other, name in ((1, 2, "electrode"), (2, 1, "electrolyte")):
        comp, n = cc(region == k)
        if n < 2:
            continue
        sizes = np.bincount(comp.ravel(), minlength=n + 1)
        sizes[0] = 0
        main = int(np.argmax(sizes))
        clear = np.asarray(label_mean(margin, comp, index=np.arange(n + 1))) >= ISLAND_MARGIN
        flip = ~clear
        flip[[0, main]] = False
        pix = flip[comp]
        out[pix] = other
        moved[name] = int(pix.sum())
    return out, {"island_pixels_moved": moved, "moved_fraction": round(sum(moved.values()) / region.size, 4),
                 "rule": f"pieces cut off from their layer with mean margin < {ISLAND_MARGIN:g} join the region "
                         f"around them"}


# ------------------------------------------------------------------------------ training

def _training_rendering(k: int, rng: np.random.Generator):
    """The k-th training rendering: a plated-Li or Li-Sn over PLL scene (flipped every other
    time) with random grey levels, particle loading, network, pores and artefact strength."""
    from dataclasses import replace

    from ecmsim.geometry import fibsem as fs

    h, w = TRAINING_SHAPE
    li = rng.uniform(60, 120)
    matrix = li + (rng.uniform(-15, 15) if k % 2 == 0 else rng.uniform(-40, 60))   # little contrast, or any
    void = min(li, matrix) - rng.uniform(30, 70)
    look = fs.Look(
        phases={VOID: fs.PhaseLook(void), ELECTRODE: fs.PhaseLook(li, rng.uniform(0, 6), rng.uniform(2, 8)),
                ELECTROLYTE: fs.PhaseLook(matrix, rng.uniform(0, 4), rng.uniform(1, 4))},
        particles=fs.Particles(fraction=rng.uniform(0.08, 0.32), radius_px=(rng.uniform(1.5, 3), rng.uniform(3.5, 7)),
                               grey=min(max(li, matrix) + rng.uniform(40, 100), 245), texture=rng.uniform(0, 10)),
        network=fs.Network(grey=li + rng.uniform(20, 60), cell_px=rng.uniform(10, 20)) if k % 3 == 1 else None,
        artefacts=replace(fs.Artefacts(), rim_contrast=rng.uniform(30, 80), rim_width_px=rng.uniform(1.0, 2.0),
                          blur_px=rng.uniform(0.5, 1.2), curtain_fade=rng.uniform(0, 1)))
    seed = TRAINING_SEED * 1000 + k
    if k % 3 == 1:
        labels = fs.li_sn_pll_labels(h, w, seed, electrode_fraction=rng.uniform(0.3, 0.6))
    else:
        labels = fs.plated_li_pll_labels(h, w, seed, electrode_fraction=rng.uniform(0.3, 0.6),
                                         pore_fraction=rng.uniform(0.03, 0.2))
    if k % 2 == 1:
        labels = labels[::-1].copy()
    return fs.render(labels, look, strength=rng.uniform(0.2, 1.7), seed=seed)


def training_set(n_images: int = TRAINING_IMAGES, seed: int = TRAINING_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Features and classes of pixels sampled from ``n_images`` training renderings, each prepared
    as the route prepares an image (destriped, rims painted) and flattened per true phase; pixels
    whose pore/solid reading by the rim step is wrong are left out."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k in range(n_images):
        r = _training_rendering(k, rng)
        g, pores, _ = prepare(r.grey)
        truth = np.select([r.labels == VOID, r.particles, r.labels == ELECTROLYTE], [0, 3, 2], 1).astype(np.uint8)
        trusted = (truth == 1) | (truth == 2)
        g, _ = flatten_phases(g, truth, trusted)
        f = features(g).reshape(-1, features_count())
        # pixels the rim step got wrong (a pore narrower than its rims is a bright streak, left
        # unpainted) are not what the forest shall learn: left out
        agree = (pores == (r.labels == VOID)).ravel()
        cls = np.where(agree, truth.ravel(), 255)
        for c in range(len(CLASSES)):
            idx = np.flatnonzero(cls == c)
            # as many electrode pixels as matrix and particle pixels together: the electrolyte
            # region is their sum, and the forest must not favour it where the two regions meet
            want = 2 * SAMPLES_PER_CLASS if CLASSES[c] == "electrode" else SAMPLES_PER_CLASS
            if len(idx):
                pick = rng.choice(idx, min(want, len(idx)), replace=False)
                xs.append(f[pick])
                ys.append(np.full(len(pick), c, np.int8))
    return np.concatenate(xs), np.concatenate(ys)


def features_count() -> int:
    """Number of features of :func:`features` (5 scales x 4 + 3)."""
    return 23


@cache
def trained_forest():
    """The random forest of the texture route, trained on :func:`training_set` (seeded: the same
    forest every time) once per process, or read from the disk cache where an earlier process
    stored it (:mod:`ecmsim.geometry.image.diskcache`); returns it and a record of the training."""
    from ecmsim.geometry.image.diskcache import cached

    parameters = {"images": TRAINING_IMAGES, "shape": TRAINING_SHAPE, "samples": SAMPLES_PER_CLASS,
                  "seed": TRAINING_SEED, "trees": TREES, "depth": DEPTH, "min_leaf": MIN_LEAF}
    (forest, record), path = cached("texture-forest", parameters, _train_forest)
    return forest, {**record, "read_from_cache": path is not None}


def _train_forest():
    """The forest of :func:`trained_forest`, trained now, and the record of its training."""
    from sklearn.ensemble import RandomForestClassifier
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    x, y = training_set()
    with threadpool_limits(1):
        forest = RandomForestClassifier(TREES, max_depth=DEPTH, min_samples_leaf=MIN_LEAF, n_jobs=1,
                                        random_state=TRAINING_SEED, oob_score=True).fit(x, y)
    return forest, {"trained_on": f"{TRAINING_IMAGES} synthetic renderings {TRAINING_SHAPE[1]} x {TRAINING_SHAPE[0]} px "
                                  f"(ecmsim.geometry.fibsem, seed {TRAINING_SEED})",
                    "pixels": int(len(y)), "trees": TREES, "depth": DEPTH,
                    "oob_accuracy": round(float(forest.oob_score_), 4),
                    "training_seconds": round(time.perf_counter() - start, 2)}
